import { gql, subscribe, onReconnect } from "../api";
import { h, ago, fmtTime } from "../dom";
import type { Page } from "../main";
import { frameCounters, rateText } from "../camera-health";

const EMPLOYEE = "id name code department status presence { present since lastSeen cameraId cameraName }";
const CAMERA = "id name location enabled source";
const HEALTH = "health { state fps idle droppedFrames undecodedFrames lastFrameAt onlineSince uptimeSec reconnects lastError }";
// Health (state, fps, uptime) is pushed by the server at this period (camerasLive); frames come
// as a live MJPEG stream.
const HEALTH_PUSH_SEC = 2;
// A stream that failed (camera not running yet, restarted) is retried after this long.
const STREAM_RETRY_MS = 3000;

async function cameras(): Promise<any[]> {
  try {
    return (await gql(`{ cameras { ${CAMERA} ${HEALTH} } }`)).cameras;
  } catch {
    // Servers without camera health yet still list cameras.
    return (await gql(`{ cameras { id name location enabled } }`)).cameras;
  }
}

export function streamUrl(cameraId: string): string {
  return `/api/cameras/${encodeURIComponent(cameraId)}/live.mjpeg`;
}

function uptime(seconds?: number | null): string {
  if (seconds == null) return "";
  if (seconds < 60) return `up ${seconds}s`;
  if (seconds < 3600) return `up ${Math.floor(seconds / 60)} min`;
  return `up ${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** One camera: its live stream (click: full screen) and its current health. */
function cameraTile(camera: any, openFull: (camera: any) => void): { tile: HTMLElement; update: (c: any) => void; stop: () => void } {
  const img = h("img.w-full.aspect-video.object-contain.bg-slate-900.rounded-lg.cursor-zoom-in.live-stream", {
    alt: `${camera.name} live`,
    title: "Click for full screen",
    onclick: () => openFull(camera),
  }) as HTMLImageElement;
  const placeholder = h("div.w-full.aspect-video.bg-slate-800.rounded-lg.text-slate-300.flex.items-center.justify-center.text-sm", "no live picture yet");
  const frame = h("div", img);
  let retry: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const connect = () => {
    if (stopped || !camera.enabled) return;
    img.src = `${streamUrl(camera.id)}?t=${Date.now()}`;
  };
  img.onload = () => frame.replaceChildren(img);
  img.onerror = () => {
    frame.replaceChildren(placeholder);
    clearTimeout(retry);
    retry = setTimeout(connect, STREAM_RETRY_MS);
  };
  connect();
  const status = h("div.text-right");
  const error = h("div.text-xs.text-rose-600.camera-error");
  const meta = h("div.text-xs.text-slate-500.camera-meta");
  let onlineSince = camera.health?.onlineSince ?? null;
  const update = (c: any) => {
    const health = c.health;
    // A new connection (camera restarted, stream back after an outage): the old stream has
    // ended, so open the new one.
    if (health?.onlineSince && health.onlineSince !== onlineSince) {
      onlineSince = health.onlineSince;
      clearTimeout(retry);
      connect();
    }
    // Without health data (older servers) a camera cannot be shown as online.
    const state = !c.enabled ? "disabled" : health ? String(health.state).toLowerCase() : "offline";
    const online = state === "online";
    const counters = frameCounters(health);
    status.replaceChildren(
      h(`span.pill.camera-state.${online ? "bg-emerald-100.text-emerald-800" : state === "offline" ? "bg-rose-100.text-rose-800" : "bg-slate-200.text-slate-700"}`, state),
      // Idle (motion gating, key frames only): "idle", not the ~1 fps of the key frames.
      h("div.text-xs.text-slate-500.camera-rate", online ? rateText(health) : "— fps"),
      // Frames the inference workers could not keep up with (the machine is short of CPU).
      ...(counters.dropped ? [h("div.text-xs.text-amber-700.dropped-frames", counters.dropped)] : []),
      // Frames skipped before decoding while the camera was idle (saved CPU, not a fault).
      ...(counters.undecoded ? [h("div.text-xs.text-slate-400.undecoded-frames", counters.undecoded)] : []),
    );
    const parts = [
      c.source === "FILE" ? "video file (looped)" : c.source ? String(c.source).toLowerCase() : null,
      online ? uptime(health?.uptimeSec) : null,
      health?.lastFrameAt ? `last frame ${ago(health.lastFrameAt)}` : null,
    ].filter(Boolean);
    meta.textContent = parts.join(" · ");
    // The error is shown only while the camera is offline (older ones are in the server log).
    error.textContent = state === "offline" && health?.lastError ? health.lastError : "";
  };
  update(camera);
  const tile = h("div.card.space-y-2", { "data-camera": camera.id },
    frame,
    h("div.flex.items-center.justify-between",
      h("div",
        h("div.font-medium", camera.name, camera.source === "FILE" ? h("span.pill.bg-indigo-100.text-indigo-800.ml-2.camera-source", "FILE") : null),
        h("div.text-xs.text-slate-500", camera.location || camera.id)),
      status),
    meta,
    error);
  const stop = () => {
    stopped = true;
    clearTimeout(retry);
    // Closes the stream: the server stops encoding for this watcher.
    img.removeAttribute("src");
  };
  return { tile, update, stop };
}

/** One camera's stream over the whole window; click or Escape closes it. */
function fullScreen(camera: any): () => void {
  const img = h("img.w-full.flex-1.min-h-0.object-contain", { src: `${streamUrl(camera.id)}?full=${Date.now()}`, alt: `${camera.name} live, full screen` }) as HTMLImageElement;
  const overlay = h("div.fixed.inset-0.z-50.bg-black.flex.flex-col.items-center.justify-center.cursor-zoom-out", { id: "camera-full", "data-camera": camera.id },
    h("div.text-white.text-sm.mb-2", `${camera.name} — click or press Escape to close`),
    img);
  const close = () => {
    img.removeAttribute("src");
    overlay.remove();
    document.removeEventListener("keydown", onKey);
  };
  const onKey = (e: KeyboardEvent) => e.key === "Escape" && close();
  overlay.addEventListener("click", close);
  document.addEventListener("keydown", onKey);
  document.body.append(overlay);
  return close;
}

function employeeCard(e: any): HTMLElement {
  const p = e.presence;
  return h(`div.card.border-l-4.${p.present ? "border-emerald-500" : "border-slate-300"}`, { "data-employee": e.id },
    h("div.flex.justify-between.items-start",
      h("div", h("div.font-medium", e.name), h("div.text-xs.text-slate-500", `${e.code} · ${e.department || "—"}`)),
      h(`span.pill.presence.${p.present ? "bg-emerald-100.text-emerald-800" : "bg-slate-200.text-slate-700"}`, p.present ? "IN" : "OUT")),
    h("div.text-xs.text-slate-500.mt-2", `Last seen: ${ago(p.lastSeen)}${p.cameraName || p.cameraId ? ` · ${p.cameraName ?? p.cameraId}` : ""}`),
    p.since ? h("div.text-xs.text-slate-400", `${p.present ? "In" : "Out"} since ${fmtTime(p.since)}`) : null);
}

export const livePage: Page = (root) => {
  const cameraGrid = h("div.grid.gap-4.sm:grid-cols-2.xl:grid-cols-3", { id: "cameras" });
  const people = h("div.grid.gap-3.grid-cols-2.lg:grid-cols-4", { id: "presence" });
  // Presence first on small screens (a guard's phone), cameras first on wide ones.
  root.append(h("div.flex.flex-col.gap-6",
    h("section.order-first.md:order-last", h("h2.h2", "Employees"), people),
    h("section", h("h2.h2", "Cameras"), cameraGrid)));
  let tiles = new Map<string, ReturnType<typeof cameraTile>>();
  let closeFull: (() => void) | undefined;
  const openFull = (camera: any) => {
    closeFull?.();
    closeFull = fullScreen(camera);
  };
  const employees = new Map<string, any>();

  const renderPeople = () => {
    const active = [...employees.values()].filter((e) => e.status !== "DELETED");
    people.replaceChildren(...(active.length ? active.sort((a, b) => a.name.localeCompare(b.name)).map(employeeCard) : [h("p.text-sm.text-slate-500", "No employees yet")]));
  };
  const loadCameras = async () => {
    tiles.forEach((t) => t.stop());
    const list = await cameras();
    tiles = new Map(list.map((c) => [c.id, cameraTile(c, openFull)]));
    cameraGrid.replaceChildren(...(tiles.size ? [...tiles.values()].map((t) => t.tile) : [h("p.text-sm.text-slate-500", "No cameras yet")]));
  };
  const loadEmployees = async () => {
    const list = (await gql(`{ employees { ${EMPLOYEE} } }`)).employees;
    employees.clear();
    for (const e of list) employees.set(e.id, e);
    renderPeople();
  };
  loadCameras();
  loadEmployees();
  const stops = [
    subscribe(`subscription { presenceChanged { ${EMPLOYEE} } }`, (d) => {
      employees.set(d.presenceChanged.id, d.presenceChanged);
      renderPeople();
    }),
    subscribe(`subscription { directoryChanged }`, () => {
      loadCameras();
      loadEmployees();
    }),
    // Health changes without events (fps, uptime, going offline): updated in place, keeping the
    // streams open.
    subscribe(`subscription { camerasLive(intervalSec: ${HEALTH_PUSH_SEC}) { ${CAMERA} ${HEALTH} } }`, (d) => {
      for (const c of d.camerasLive) tiles.get(c.id)?.update(c);
    }),
    onReconnect(() => {
      loadCameras();
      loadEmployees();
    }),
  ];
  // "Last seen 5s ago" ages without events.
  const tick = setInterval(renderPeople, 15000);
  return () => {
    stops.forEach((s) => s());
    tiles.forEach((t) => t.stop());
    closeFull?.();
    clearInterval(tick);
  };
};
