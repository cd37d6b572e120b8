import { gql, subscribe, callMutation, type Me } from "../api";
import { h, attempt, field, formValues, fmtTime } from "../dom";
import type { Page } from "../main";

const WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"];
const POSES = ["FRONT", "LEFT", "RIGHT"];

function section(title: string, ...children: HTMLElement[]): HTMLElement {
  return h("section.card.space-y-3", h("h2.h2", title), ...children);
}

function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function enrolPhoto(employeeId: string, pose: string, photoBase64: string) {
  await gql(`mutation($e: String!, $p: Pose!, $b: String!) { enrollFacePhoto(employeeId: $e, pose: $p, photoBase64: $b) { id faceTemplates } }`, { e: employeeId, p: pose, b: photoBase64 });
}

/** One webcam frame as base64 JPEG. */
async function captureWebcam(): Promise<string> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: true });
  try {
    const video = h("video", { autoplay: true, playsInline: true, muted: true }) as HTMLVideoElement;
    video.srcObject = stream;
    await video.play();
    await new Promise((r) => setTimeout(r, 500));
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d")!.drawImage(video, 0, 0);
    return canvas.toDataURL("image/jpeg", 0.92).replace(/^data:[^,]*,/, "");
  } finally {
    stream.getTracks().forEach((t) => t.stop());
  }
}

function enrolDialog(employee: any, done: () => void): HTMLElement {
  const rows = POSES.map((pose) => {
    const input = h("input.text-sm", { type: "file", accept: "image/*", "data-pose": pose }) as HTMLInputElement;
    return h("div.flex.items-center.gap-2.flex-wrap",
      h("span.w-14.text-sm.font-medium", pose.toLowerCase()),
      input,
      h("button.btn-ghost", { type: "button", onclick: () => attempt(async () => {
        const file = input.files?.[0];
        if (!file) throw new Error("choose a photo first");
        await enrolPhoto(employee.id, pose, await fileToBase64(file));
      }, `${pose.toLowerCase()} face enrolled`) }, "Upload"),
      h("button.btn-ghost", { type: "button", onclick: () => attempt(async () => enrolPhoto(employee.id, pose, await captureWebcam()), `${pose.toLowerCase()} face enrolled`) }, "Webcam"));
  });
  return h("div.border.border-indigo-200.rounded-lg.p-3.space-y-2.bg-indigo-50",
    h("div.flex.justify-between", h("span.font-medium", `Enrol faces of ${employee.name}`), h("button.btn-ghost", { type: "button", onclick: done }, "Close")),
    ...rows);
}

function employeesSection(admin: boolean): [HTMLElement, () => Promise<void>] {
  const list = h("div");
  const extra = h("div");
  let editing: any = null;
  const form = h("form.grid.gap-2.sm:grid-cols-4.items-end", { id: "employee-form" },
    field("Name", h("input.input.w-full", { name: "name", required: true })),
    field("Code", h("input.input.w-full", { name: "code", required: true })),
    field("Department", h("input.input.w-full", { name: "department" })),
    h("button.btn", { type: "submit" }, "Save employee")) as HTMLFormElement;
  form.onsubmit = (event) => {
    event.preventDefault();
    const input = formValues(form);
    attempt(async () => {
      if (editing) {
        await gql(`mutation($id: String!, $i: EmployeeInput!) { updateEmployee(id: $id, input: $i) { id } }`, { id: editing.id, i: input });
      } else {
        await gql(`mutation($i: EmployeeInput!) { enrollEmployee(input: $i) { id } }`, { i: input });
      }
      editing = null;
      form.reset();
      await load();
    }, "Employee saved");
  };
  const load = async () => {
    const employees = (await gql(`{ employees { id name code department status faceTemplates } }`)).employees.filter((e: any) => e.status !== "DELETED");
    list.replaceChildren(h("table.table",
      h("thead", h("tr", ...["Name", "Code", "Department", "Status", "Faces", ""].map((t) => h("th", t)))),
      h("tbody", ...employees.map((e: any) => h("tr",
        h("td", e.name), h("td", e.code), h("td", e.department), h("td", e.status), h("td", e.faceTemplates),
        h("td.space-x-1.whitespace-nowrap", admin ? [
          h("button.btn-ghost", { onclick: () => {
            editing = e;
            (form.elements.namedItem("name") as HTMLInputElement).value = e.name;
            (form.elements.namedItem("code") as HTMLInputElement).value = e.code;
            (form.elements.namedItem("department") as HTMLInputElement).value = e.department;
          } }, "Edit"),
          h("button.btn-ghost", { onclick: () => extra.replaceChildren(enrolDialog(e, () => { extra.replaceChildren(); load(); })) }, "Enrol faces"),
          h("button.btn-danger", { onclick: () => confirm(`Delete ${e.name}?`) && attempt(async () => { await gql(`mutation($id: String!) { deleteEmployee(id: $id) }`, { id: e.id }); await load(); }, "Employee deleted") }, "Delete"),
        ] : null))))));
  };
  return [section("Employees", ...(admin ? [form] : []), extra, list), load];
}

function camerasSection(admin: boolean): [HTMLElement, () => Promise<void>] {
  const list = h("div");
  const form = h("form.grid.gap-2.sm:grid-cols-5.items-end", { id: "camera-form" },
    field("Id (optional)", h("input.input.w-full", { name: "id", placeholder: "CAM1" })),
    field("Name", h("input.input.w-full", { name: "name", required: true })),
    field("Location", h("input.input.w-full", { name: "location" })),
    field("Stream URL", h("input.input.w-full", { name: "streamUrl", required: true, placeholder: "rtsp://…" })),
    h("button.btn", { type: "submit" }, "Add camera")) as HTMLFormElement;
  form.onsubmit = (event) => {
    event.preventDefault();
    const { id, ...input } = formValues(form);
    attempt(async () => {
      await gql(`mutation($i: CameraInput!) { addCamera(input: $i) { id } }`, { i: { ...input, id: id || null } });
      form.reset();
      await load();
    }, "Camera added");
  };
  const load = async () => {
    const cameras = (await gql(`{ cameras { id name location enabled streamUrlRedacted } }`)).cameras;
    list.replaceChildren(h("table.table",
      h("thead", h("tr", ...["Id", "Name", "Location", "Stream", "Enabled", ""].map((t) => h("th", t)))),
      h("tbody", ...cameras.map((c: any) => h("tr",
        h("td", c.id), h("td", c.name), h("td", c.location), h("td.text-xs.text-slate-500", c.streamUrlRedacted),
        h("td", admin
          ? h("input", { type: "checkbox", checked: c.enabled, "aria-label": `enable ${c.name}`, onchange: (ev: Event) => attempt(async () => {
              await gql(`mutation($id: String!, $on: Boolean!) { setCameraEnabled(id: $id, enabled: $on) { id } }`, { id: c.id, on: (ev.target as HTMLInputElement).checked });
            }, "Camera updated") })
          : (c.enabled ? "yes" : "no")),
        h("td", admin ? h("button.btn-ghost", { onclick: () => attempt(async () => {
          const result = await callMutation("testCameraConnection", "$id: String!", "id: $id", { id: c.id });
          alert(`Connection test for ${c.name}:\n${JSON.stringify(result, null, 2)}`);
        }) }, "Test connection") : null))))));
  };
  return [section("Cameras", ...(admin ? [form] : []), list), load];
}

function scheduleSection(admin: boolean): [HTMLElement, () => Promise<void>, () => void] {
  const body = h("div.space-y-3");
  const fields = "workHours { weekday start end } lunch { start end } timezone mode manualTracking pausedUntil alertMinIntervalSec monitoringState";
  const render = (s: any) => {
    const hours = new Map(s.workHours.map((d: any) => [d.weekday, d]));
    const rows = WEEKDAYS.map((day) => {
      const d: any = hours.get(day);
      return h("tr",
        h("td", h("label.flex.gap-2.items-center", h("input", { type: "checkbox", name: `on-${day}`, checked: !!d }), day.toLowerCase())),
        h("td", h("input.input", { type: "time", name: `start-${day}`, value: d?.start?.slice(0, 5) ?? "09:00" })),
        h("td", h("input.input", { type: "time", name: `end-${day}`, value: d?.end?.slice(0, 5) ?? "17:00" })));
    });
    const form = h("form.space-y-3", { id: "schedule-form" },
      h("table.table.max-w-lg", h("thead", h("tr", h("th", "Day"), h("th", "Start"), h("th", "End"))), h("tbody", ...rows)),
      h("div.flex.gap-3.flex-wrap",
        field("Lunch start", h("input.input", { type: "time", name: "lunchStart", value: s.lunch?.start?.slice(0, 5) ?? "" })),
        field("Lunch end", h("input.input", { type: "time", name: "lunchEnd", value: s.lunch?.end?.slice(0, 5) ?? "" })),
        field("Time zone", h("input.input", { name: "timezone", value: s.timezone })),
        field("Min. seconds between alerts", h("input.input", { type: "number", name: "alertMinIntervalSec", value: s.alertMinIntervalSec, min: 0 }))),
      admin ? h("button.btn", { type: "submit" }, "Save schedule") : null) as HTMLFormElement;
    form.onsubmit = (event) => {
      event.preventDefault();
      const v = formValues(form);
      const input = {
        workHours: WEEKDAYS.filter((d) => v[`on-${d}`]).map((d) => ({ weekday: d, start: v[`start-${d}`], end: v[`end-${d}`] })),
        lunchStart: v.lunchStart || null,
        lunchEnd: v.lunchEnd || null,
        timezone: v.timezone,
        alertMinIntervalSec: Number(v.alertMinIntervalSec),
      };
      attempt(() => gql(`mutation($i: ScheduleInput!) { saveSchedule(input: $i) { timezone } }`, { i: input }), "Schedule saved");
    };
    const minutes = h("input.input.w-20", { type: "number", value: 15, min: 1, name: "pauseMinutes" }) as HTMLInputElement;
    const controls = admin ? h("div.flex.gap-2.items-center.flex-wrap",
      h("span.text-sm", "Mode:"),
      h("select.input", { name: "mode", onchange: (ev: Event) => attempt(() => gql(`mutation($m: Mode!) { setScheduleMode(mode: $m) { mode } }`, { m: (ev.target as HTMLSelectElement).value }), "Mode changed") },
        ...["AUTO", "MANUAL"].map((m) => h("option", { value: m, selected: s.mode === m }, m.toLowerCase()))),
      s.mode === "MANUAL" ? h("label.flex.gap-1.items-center.text-sm", h("input", { type: "checkbox", checked: s.manualTracking, onchange: (ev: Event) => attempt(() => gql(`mutation($on: Boolean!) { setManualTracking(on: $on) { mode } }`, { on: (ev.target as HTMLInputElement).checked })) }), "tracking on") : null,
      h("span.text-sm.ml-4", "Pause for"), minutes, h("span.text-sm", "min"),
      h("button.btn-ghost", { onclick: () => attempt(() => gql(`mutation($n: Int!) { pauseSchedule(minutes: $n) { pausedUntil } }`, { n: Number(minutes.value) }), "Monitoring paused") }, "Pause"),
      h("button.btn-ghost", { onclick: () => attempt(() => gql(`mutation { resumeSchedule { pausedUntil } }`), "Monitoring resumed") }, "Resume")) : null;
    body.replaceChildren(
      h("p.text-sm", "Monitoring now: ", h("span.pill.bg-indigo-100.text-indigo-800", { id: "monitoring-state" }, s.monitoringState), s.pausedUntil ? ` (paused until ${fmtTime(s.pausedUntil)})` : ""),
      controls ?? h("span"), form);
  };
  const load = async () => render((await gql(`{ schedule { ${fields} } }`)).schedule);
  const stop = subscribe(`subscription { scheduleChanged { ${fields} } }`, (d) => render(d.scheduleChanged));
  return [section("Schedule", body), load, stop];
}

function systemSection(): [HTMLElement, () => Promise<void>] {
  const body = h("div.text-sm.space-y-1");
  const ai = h("pre.text-xs.bg-slate-50.rounded.p-2.overflow-auto.max-h-64", { id: "ai-parameters" }, "…");
  const load = async () => {
    const s = (await gql(`{ system { startedAt uptimeSeconds eventsStored projectedUpTo } }`)).system;
    const up = s.uptimeSeconds;
    body.replaceChildren(
      h("div", { id: "uptime" }, `Uptime: ${Math.floor(up / 86400)}d ${Math.floor((up % 86400) / 3600)}h ${Math.floor((up % 3600) / 60)}m (since ${fmtTime(s.startedAt)})`),
      h("div", `Events stored: ${s.eventsStored} · projected up to #${s.projectedUpTo}`));
    try {
      ai.textContent = JSON.stringify((await gql(`{ aiParameters }`)).aiParameters, null, 2);
    } catch {
      ai.textContent = "AI parameters are not available from this server.";
    }
  };
  return [section("System", body, h("h3.font-medium.text-sm", "AI parameters (read-only)"), ai), load];
}

function usersSection(): HTMLElement {
  const create = h("form.grid.gap-2.sm:grid-cols-4.items-end", { id: "user-form" },
    field("Username", h("input.input.w-full", { name: "username", required: true, autocomplete: "off" })),
    field("Password (8+ characters)", h("input.input.w-full", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" })),
    field("Role", h("select.input.w-full", { name: "role" }, h("option", { value: "VIEWER" }, "viewer"), h("option", { value: "ADMIN" }, "admin"))),
    h("button.btn", { type: "submit" }, "Create user")) as HTMLFormElement;
  create.onsubmit = (event) => {
    event.preventDefault();
    const v = formValues(create);
    attempt(async () => {
      await gql(`mutation($u: String!, $p: String!, $r: UserRole!) { createUser(username: $u, password: $p, role: $r) { username } }`, { u: v.username, p: v.password, r: v.role });
      create.reset();
    }, "User created");
  };
  const manage = h("form.grid.gap-2.sm:grid-cols-4.items-end",
    field("Username", h("input.input.w-full", { name: "username", required: true, autocomplete: "off" })),
    field("New password", h("input.input.w-full", { name: "password", type: "password", minlength: 8, autocomplete: "new-password" })),
    h("button.btn-ghost", { type: "submit", name: "action", value: "password" }, "Change password"),
    h("button.btn-danger", { type: "submit", name: "action", value: "disable", formnovalidate: true }, "Disable user")) as HTMLFormElement;
  manage.onsubmit = (event) => {
    event.preventDefault();
    const v = formValues(manage);
    const action = ((event as SubmitEvent).submitter as HTMLButtonElement | null)?.value;
    if (action === "disable") {
      if (!confirm(`Disable ${v.username}? Their sessions end now.`)) return;
      attempt(() => gql(`mutation($u: String!) { disableUser(username: $u) }`, { u: v.username }), "User disabled");
    } else {
      attempt(() => gql(`mutation($u: String!, $p: String!) { changePassword(username: $u, password: $p) }`, { u: v.username, p: v.password }), "Password changed");
    }
  };
  return section("Users", create, manage);
}

export const settingsPage: Page = (root, user: Me) => {
  const admin = user.role === "ADMIN";
  const [employees, loadEmployees] = employeesSection(admin);
  const [cameras, loadCameras] = camerasSection(admin);
  const [schedule, loadSchedule, stopSchedule] = scheduleSection(admin);
  const [system, loadSystem] = systemSection();
  root.append(h("div.space-y-4", admin ? null : h("p.text-sm.text-amber-700", "Read-only: viewers cannot change settings."), employees, cameras, schedule, admin ? usersSection() : null, system));
  attempt(loadEmployees);
  attempt(loadCameras);
  attempt(loadSchedule);
  attempt(loadSystem);
  const stopDirectory = subscribe(`subscription { directoryChanged }`, () => {
    attempt(loadEmployees);
    attempt(loadCameras);
  });
  return () => {
    stopSchedule();
    stopDirectory();
  };
};
