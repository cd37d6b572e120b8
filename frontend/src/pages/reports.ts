// Reports: attendance and the alert log of a range of days (the schedule's days), refreshed live,
// emptied when a load fails, ranges checked before asking; manual corrections whose times must
// fall on the chosen day; Excel export of exactly the filtered table; log reset.
import { gql, subscribe, onReconnect } from "../api";
import { h, attempt, confirmDialog, field, formValues, fmtTime, today } from "../dom";
import { ALERT_FIELDS, actorName, alertStatus, type AlertItem } from "../alerting";
import { dayOf, dayWindow, zonedInstant, zoneNote } from "../time";
import type { Page } from "../main";

function photo(ref?: string | null): HTMLElement | null {
  return ref ? h("a", { href: `/api/files/${ref}`, target: "_blank" }, h("img.h-12.w-16.object-cover.rounded", { src: `/api/files/${ref}`, alt: "snapshot", loading: "lazy" })) : null;
}

function query(params: Record<string, string>): string {
  return new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
}

async function employeeOptions(): Promise<HTMLElement[]> {
  const employees = (await gql(`{ employees { id name status } }`)).employees.filter((e: any) => e.status !== "DELETED");
  return [h("option", { value: "" }, "All employees"), ...employees.map((e: any) => h("option", { value: e.id }, e.name))];
}

/** A range problem in words, or "" when `from`–`to` is fine. */
function rangeProblem(from: string, to: string): string {
  if (!from) return "Choose a day.";
  if (to && to < from) return `"To" (${to}) is before "From" (${from}).`;
  return "";
}

/** A table section whose rows come from `fetchRows`; on a failed load it shows nothing stale. */
function reportTable(id: string, problem: HTMLElement) {
  const table = h("div.overflow-auto", { id });
  const fail = (message: string) => {
    table.replaceChildren();
    problem.textContent = message;
  };
  return { table, fail, ok: () => (problem.textContent = "") };
}

function attendanceSection(options: HTMLElement[]): [HTMLElement, () => void] {
  const problem = h("p.text-sm.text-rose-700", { role: "alert", id: "attendance-problem" });
  const { table, fail, ok } = reportTable("attendance-table", problem);
  const exportLink = h("a.btn-ghost", { id: "export-attendance", download: true }, "Export Excel") as HTMLAnchorElement;
  const form = h("form.flex.gap-2.items-end.flex-wrap",
    field("Day", h("input.input", { type: "date", name: "date", value: today(), required: true })),
    field("To (optional)", h("input.input", { type: "date", name: "date_to" })),
    field("Employee", h("select.input", { name: "employee_id" }, ...options.map((o) => o.cloneNode(true) as HTMLElement))),
    h("button.btn", { type: "submit" }, "Show"), exportLink, h("span.text-xs.text-slate-500.pb-2", zoneNote())) as HTMLFormElement;
  const load = async () => {
    const f = formValues(form);
    const wrong = rangeProblem(f.date, f.date_to);
    exportLink.classList.toggle("pointer-events-none", !!wrong);
    exportLink.classList.toggle("opacity-50", !!wrong);
    if (wrong) return fail(wrong);
    exportLink.href = `/api/report/attendance?${query({ ...f, format: "xlsx" })}`;
    let rows: any[];
    try {
      rows = (await gql(`query($from: NaiveDate!, $to: NaiveDate, $e: String) { attendance(from: $from, to: $to, employeeId: $e) {
        employeeId employeeName employeeCode department day firstIn firstInCamera firstInPhoto lastOut lastOutCamera lastOutPhoto entryType note } }`,
        { from: f.date, to: f.date_to || null, e: f.employee_id || null })).attendance;
    } catch (error) {
      fail(`Could not load attendance: ${(error as Error).message}`);
      throw error;
    }
    ok();
    table.replaceChildren(h("table.table.stack",
      h("thead", h("tr", ...["Day", "Employee", "Code", "First In", "", "Last Out", "", "Entry type", "Note"].map((t) => h("th", t)))),
      h("tbody", ...(rows.length ? rows.map((r: any) => h("tr",
        h("td", { "data-label": "Day" }, r.day), h("td", { "data-label": "Employee" }, r.employeeName), h("td", { "data-label": "Code" }, r.employeeCode),
        h("td", { "data-label": "First in" }, fmtTime(r.firstIn), h("div.text-xs.text-slate-500", r.firstInCamera ?? "")), h("td", photo(r.firstInPhoto)),
        h("td", { "data-label": "Last out" }, fmtTime(r.lastOut), h("div.text-xs.text-slate-500", r.lastOutCamera ?? "")), h("td", photo(r.lastOutPhoto)),
        h("td", { "data-label": "Entry" }, r.entryType.toLowerCase()), h("td", { "data-label": "Note" }, r.note))) : [h("tr", h("td.text-slate-500", { colspan: 9 }, "No attendance for this filter"))]))));
  };
  form.onsubmit = (e) => { e.preventDefault(); attempt(load); };
  form.onchange = () => attempt(load);
  attempt(load);
  return [h("section.card.space-y-3.min-w-0", h("h2.h2", "Attendance"), form, problem, table), () => attempt(load)];
}

function alertsSection(options: HTMLElement[]): [HTMLElement, () => void] {
  const problem = h("p.text-sm.text-rose-700", { role: "alert", id: "alerts-problem" });
  const { table, fail, ok } = reportTable("alerts-table", problem);
  const exportLink = h("a.btn-ghost", { id: "export-alerts", download: true }, "Export Excel") as HTMLAnchorElement;
  const form = h("form.flex.gap-2.items-end.flex-wrap",
    field("From", h("input.input", { type: "date", name: "date_from", value: today(), required: true })),
    field("To", h("input.input", { type: "date", name: "date_to", value: today(), required: true })),
    field("Employee", h("select.input", { name: "employee_id" }, ...options.map((o) => o.cloneNode(true) as HTMLElement))),
    h("button.btn", { type: "submit" }, "Show"), exportLink, h("span.text-xs.text-slate-500.pb-2", zoneNote())) as HTMLFormElement;
  const load = async () => {
    const f = formValues(form);
    const wrong = rangeProblem(f.date_from, f.date_to);
    exportLink.classList.toggle("pointer-events-none", !!wrong);
    exportLink.classList.toggle("opacity-50", !!wrong);
    if (wrong) return fail(wrong);
    exportLink.href = `/api/report/alerts?${query({ ...f, format: "xlsx" })}`;
    let rows: AlertItem[];
    try {
      rows = (await gql(`query($from: DateTime!, $to: DateTime!, $e: String) { alerts(from: $from, to: $to, employeeId: $e) { ${ALERT_FIELDS} } }`,
        { ...dayWindow(f.date_from, f.date_to), e: f.employee_id || null })).alerts;
    } catch (error) {
      fail(`Could not load alerts: ${(error as Error).message}`);
      throw error;
    }
    ok();
    table.replaceChildren(h("table.table.stack",
      h("thead", h("tr", ...["Left at", "Employee", "Camera", "Status", "Acknowledged"].map((t) => h("th", t)))),
      h("tbody", ...(rows.length ? rows.map((a) => h("tr",
        h("td", { "data-label": "Left at" }, fmtTime(a.raisedAt)), h("td", { "data-label": "Employee" }, a.employeeName),
        h("td", { "data-label": "Camera" }, a.cameraName ?? a.cameraId),
        h("td", { "data-label": "Status" }, a.open ? h("span.pill.bg-rose-100.text-rose-800", alertStatus(a)) : alertStatus(a)),
        h("td", { "data-label": "Acknowledged" }, a.acknowledgedAt ? `${actorName(a.acknowledgedBy)}${a.ackNote ? `: ${a.ackNote}` : ""}` : "—"))) : [h("tr", h("td.text-slate-500", { colspan: 5 }, "No alerts in this range"))]))));
  };
  form.onsubmit = (e) => { e.preventDefault(); attempt(load); };
  form.onchange = () => attempt(load);
  attempt(load);
  return [h("section.card.space-y-3.min-w-0", h("h2.h2", "Alert log"), form, problem, table), () => attempt(load)];
}

function correctionSection(options: HTMLElement[], saved: () => void): HTMLElement {
  const problem = h("p.text-sm.text-rose-700", { role: "alert", id: "correction-problem" });
  const form = h("form.grid.gap-2.sm:grid-cols-3.items-end", { id: "correction-form" },
    field("Employee", h("select.input.w-full", { name: "employeeId", required: true }, ...options.slice(1).map((o) => o.cloneNode(true) as HTMLElement))),
    field("Day", h("input.input.w-full", { type: "date", name: "day", value: today(), required: true })),
    field("First in (time)", h("input.input.w-full", { type: "time", name: "firstIn" })),
    field("Last out (time)", h("input.input.w-full", { type: "time", name: "lastOut" })),
    field("Note", h("input.input.w-full", { name: "note", placeholder: "reason for the correction" })),
    h("button.btn", { type: "submit" }, "Save correction")) as HTMLFormElement;
  form.onsubmit = (event) => {
    event.preventDefault();
    const f = formValues(form);
    problem.textContent = "";
    if (f.firstIn && f.lastOut && f.lastOut < f.firstIn) {
      problem.textContent = "Last out is before first in.";
      return;
    }
    // Times are wall-clock times of the chosen day in the schedule's zone.
    const at = (time: string) => {
      if (!time) return null;
      const instant = zonedInstant(f.day, time);
      return dayOf(instant) === f.day ? instant.toISOString() : null;
    };
    attempt(async () => {
      await gql(`mutation($i: AttendanceCorrectionInput!) { correctAttendance(input: $i) { day } }`,
        { i: { employeeId: f.employeeId, day: f.day, firstIn: at(f.firstIn), lastOut: at(f.lastOut), note: f.note } });
      form.reset();
      (form.elements.namedItem("day") as HTMLInputElement).value = today();
      saved();
    }, "Attendance corrected");
  };
  return h("section.card.space-y-3", h("h2.h2", "Manual attendance correction"),
    h("p.text-xs.text-slate-500", `${zoneNote()}: type the times as the schedule's clock shows them on that day.`), form, problem);
}

function resetSection(): HTMLElement {
  const result = h("p.text-sm", { id: "reset-result" });
  const form = h("form.flex.gap-2.items-end.flex-wrap",
    field("What", h("select.input", { name: "scope" }, h("option", { value: "EVENTS" }, "events"), h("option", { value: "ALERTS" }, "alerts"), h("option", { value: "BOTH" }, "both"))),
    field("From (optional)", h("input.input", { type: "date", name: "from" })),
    field("To (optional)", h("input.input", { type: "date", name: "to" })),
    h("button.btn-danger", { type: "submit" }, "Reset logs")) as HTMLFormElement;
  form.onsubmit = async (event) => {
    event.preventDefault();
    const f = formValues(form);
    const wrong = f.from && f.to ? rangeProblem(f.from, f.to) : "";
    if (wrong) return void (result.textContent = wrong);
    const range = f.from || f.to ? ` from ${f.from || "the beginning"} to ${f.to || "now"}` : " (all dates)";
    if (!(await confirmDialog(`Delete ${f.scope.toLowerCase()} log rows${range}? The event store keeps the facts.`, "Reset logs"))) return;
    attempt(async () => {
      const r = (await gql(`mutation($s: LogScope!, $f: NaiveDate, $t: NaiveDate) { resetLogs(scope: $s, from: $f, to: $t) { eventRows alertRows } }`,
        { s: f.scope, f: f.from || null, t: f.to || null })).resetLogs;
      result.textContent = `Deleted ${r.eventRows} event rows and ${r.alertRows} alert rows.`;
    });
  };
  return h("section.card.space-y-3", h("h2.h2", "Reset logs"), form, result);
}

export const reportsPage: Page = (root, user) => {
  const stops: (() => void)[] = [];
  attempt(async () => {
    const options = await employeeOptions();
    const [attendance, reloadAttendance] = attendanceSection(options);
    const [alerts, reloadAlerts] = alertsSection(options);
    root.append(h("div.space-y-4", attendance, alerts,
      user.role === "ADMIN" ? [correctionSection(options, reloadAttendance), resetSection()] : null));
    stops.push(
      subscribe(`subscription { attendanceUpdated { day } }`, reloadAttendance),
      subscribe(`subscription { alertRaised { id } }`, reloadAlerts),
      subscribe(`subscription { alertResolved { id } }`, reloadAlerts),
      subscribe(`subscription { alertAcknowledged { id } }`, reloadAlerts),
      onReconnect(() => { reloadAttendance(); reloadAlerts(); }),
    );
  });
  return () => stops.forEach((s) => s());
};
