// Cameras: add form, a table with a live status column (the camerasLive subscription), enable /
// disable, and "Test connection" that answers connected or not, with the reason.
import { gql, subscribe } from "../../api";
import type { Camera, CameraStatus } from "../../generated/graphql";
import { h, ago, attempt, confirmDialog, field, formValues, modal } from "../../dom";
import { section } from "./section";
import { rateText } from "../../camera-health";

type Health = Pick<CameraStatus, "state" | "fps" | "idle" | "lastFrameAt" | "lastError">;
type CameraRow = Pick<Camera, "id" | "name" | "location" | "enabled" | "streamUrlRedacted"> & { health: Health | null };

const HEALTH = "health { state fps idle lastFrameAt lastError }";

/** The status cell: state, fps and last frame; the error only while offline. */
export function statusCell(c: Pick<CameraRow, "enabled" | "health">): HTMLElement {
  const health = c.health;
  const state = !c.enabled ? "disabled" : health ? health.state.toLowerCase() : "not running";
  const online = state === "online";
  const tone = online ? "bg-emerald-100.text-emerald-800" : state === "offline" ? "bg-rose-100.text-rose-800" : "bg-slate-200.text-slate-700";
  return h("div.space-y-0.5",
    h(`span.pill.camera-status.${tone}`, state),
    online && health ? h("div.text-xs.text-slate-500", `${rateText(health)} · last frame ${ago(health.lastFrameAt)}`) : null,
    state === "offline" && health?.lastError ? h("div.text-xs.text-rose-700", health.lastError) : null);
}

/** A plain answer to "does this camera connect?". */
function connectionAnswer(c: CameraRow): [boolean, string] {
  const health = c.health;
  if (!c.enabled) return [false, "Not connected: the camera is disabled. Enable it to start its stream."];
  if (!health) return [false, "Not connected: the camera is not running on this server (cameras are turned off in its configuration)."];
  switch (health.state) {
    case "ONLINE":
      return [true, health.idle
        ? `Connected: idle (nothing moves, so the detector waits for motion), last frame ${ago(health.lastFrameAt)}.`
        : `Connected: ${Number(health.fps ?? 0).toFixed(1)} frames per second, last frame ${ago(health.lastFrameAt)}.`];
    case "OFFLINE":
      return [false, `Not connected: ${health.lastError ?? "the stream stopped without a reason"}.`];
    case "CONNECTING":
      return [false, "Not connected yet: still connecting to the stream. Test again in a few seconds."];
    default:
      return [false, `Not connected: ${health.state.toLowerCase()}.`];
  }
}

export function camerasSection(admin: boolean): [HTMLElement, () => Promise<void>, () => void] {
  const list = h("div.overflow-auto");
  const statusCells = new Map<string, HTMLElement>();
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
  const test = (c: CameraRow) => attempt(async () => {
    const tested: CameraRow = (await gql(`mutation($id: String!) { testCameraConnection(id: $id) { id name location enabled streamUrlRedacted ${HEALTH} } }`, { id: c.id })).testCameraConnection;
    const [ok, message] = connectionAnswer(tested);
    modal(`Connection test: ${c.name}`, h(`p.text-sm.font-medium.${ok ? "text-emerald-700" : "text-rose-700"}`, { id: "connection-answer" }, message),
      (close) => [h("button.btn", { type: "button", onclick: close }, "OK")]);
  });
  const setEnabled = async (c: CameraRow, box: HTMLInputElement) => {
    if (!box.checked && !(await confirmDialog(`Disable ${c.name}? Nobody is recognised on it until it is enabled again.`, "Disable camera"))) {
      box.checked = true;
      return;
    }
    attempt(() => gql(`mutation($id: String!, $on: Boolean!) { setCameraEnabled(id: $id, enabled: $on) { id } }`, { id: c.id, on: box.checked }), box.checked ? "Camera enabled" : "Camera disabled");
  };
  const load = async () => {
    const cameras: CameraRow[] = (await gql(`{ cameras { id name location enabled streamUrlRedacted ${HEALTH} } }`)).cameras;
    statusCells.clear();
    list.replaceChildren(h("table.table.stack", { id: "cameras-table" },
      h("thead", h("tr", ...["Id", "Name", "Location", "Stream", "Status", "Enabled", ""].map((t) => h("th", t)))),
      h("tbody", ...cameras.map((c) => {
        const status = h("td", { "data-label": "Status" }, statusCell(c));
        statusCells.set(c.id, status);
        return h("tr", { "data-camera-row": c.id },
          h("td", { "data-label": "Id" }, c.id), h("td", { "data-label": "Name" }, c.name), h("td", { "data-label": "Location" }, c.location || "—"),
          h("td.text-xs.text-slate-500.break-all", { "data-label": "Stream" }, c.streamUrlRedacted), status,
          h("td", { "data-label": "Enabled" }, h("input", { type: "checkbox", checked: c.enabled, disabled: !admin, "aria-label": `enable ${c.name}`,
            onchange: (ev: Event) => setEnabled(c, ev.target as HTMLInputElement) })),
          h("td", admin ? h("button.btn-ghost.test-connection", { onclick: () => test(c) }, "Test connection") : null));
      }))));
  };
  // Health changes without events (fps, going offline): the server pushes it every 2 s.
  const stop = subscribe(`subscription { camerasLive(intervalSec: 2) { id enabled ${HEALTH} } }`, (d) => {
    for (const c of d.camerasLive) statusCells.get(c.id)?.replaceChildren(statusCell(c));
  });
  return [section("Cameras", ...(admin ? [form] : []), list), load, stop];
}
