import { gql, subscribe } from "../api";
import { h, ago, fmtTime } from "../dom";
import type { Page } from "../main";

const EMPLOYEE = "id name code department status presence { present since lastSeen cameraId cameraName }";
const CAMERA = "id name location enabled";
const HEALTH = "health { state fps lastFrameAt reconnects lastError }";
// Frames have no subscription (they are images): refresh the <img> at this period.
const FRAME_REFRESH_MS = 2000;

async function cameras(): Promise<any[]> {
  try {
    return (await gql(`{ cameras { ${CAMERA} ${HEALTH} } }`)).cameras;
  } catch {
    // Servers without camera health yet still list cameras.
    return (await gql(`{ cameras { ${CAMERA} } }`)).cameras;
  }
}

function cameraTile(camera: any): [HTMLElement, () => void] {
  const health = camera.health;
  // Without health data (older servers) a camera cannot be shown as online.
  const status = !camera.enabled ? "disabled" : health ? String(health.state).toLowerCase() : "offline";
  const online = status === "online";
  const img = h("img.w-full.aspect-video.object-cover.bg-slate-900.rounded-lg", { alt: `${camera.name} latest frame` }) as HTMLImageElement;
  const placeholder = h("div.w-full.aspect-video.bg-slate-800.rounded-lg.text-slate-300.flex.items-center.justify-center.text-sm", "no frame yet");
  const frame = h("div", placeholder);
  const load = () => {
    img.src = `/api/cameras/${encodeURIComponent(camera.id)}/latest.jpg?annotated=true&t=${Date.now()}`;
  };
  img.onload = () => frame.replaceChildren(img);
  img.onerror = () => frame.replaceChildren(placeholder);
  load();
  const timer = setInterval(load, FRAME_REFRESH_MS);
  const tile = h("div.card.space-y-2", { "data-camera": camera.id },
    frame,
    h("div.flex.items-center.justify-between",
      h("div", h("div.font-medium", camera.name), h("div.text-xs.text-slate-500", camera.location || camera.id)),
      h("div.text-right",
        h(`span.pill.${online ? "bg-emerald-100.text-emerald-800" : "bg-slate-200.text-slate-700"}`, status),
        h("div.text-xs.text-slate-500", health?.fps != null ? `${Number(health.fps).toFixed(1)} fps` : "— fps"))),
    health?.lastError ? h("div.text-xs.text-rose-600", health.lastError) : null);
  return [tile, () => clearInterval(timer)];
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
  const people = h("div.grid.gap-3.sm:grid-cols-2.lg:grid-cols-4", { id: "presence" });
  root.append(h("h2.h2", "Cameras"), cameraGrid, h("h2.h2.mt-6", "Employees"), people);
  let stopFrames: (() => void)[] = [];
  const employees = new Map<string, any>();

  const renderPeople = () => {
    const active = [...employees.values()].filter((e) => e.status !== "DELETED");
    people.replaceChildren(...(active.length ? active.sort((a, b) => a.name.localeCompare(b.name)).map(employeeCard) : [h("p.text-sm.text-slate-500", "No employees yet")]));
  };
  const loadCameras = async () => {
    stopFrames.forEach((s) => s());
    const list = await cameras();
    const tiles = list.map(cameraTile);
    stopFrames = tiles.map(([, stop]) => stop);
    cameraGrid.replaceChildren(...(tiles.length ? tiles.map(([tile]) => tile) : [h("p.text-sm.text-slate-500", "No cameras yet")]));
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
  ];
  // "Last seen 5s ago" ages without events.
  const tick = setInterval(renderPeople, 15000);
  return () => {
    stops.forEach((s) => s());
    stopFrames.forEach((s) => s());
    clearInterval(tick);
  };
};
