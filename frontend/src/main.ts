import "./style.css";
import { gql, login, logout, me, subscribe, onConnectionChange, onReconnect, onSessionEnded, closeSubscriptions, type Me } from "./api";
import { h, ago, attempt } from "./dom";
import { ALERT_FIELDS, announce, describeAlert, type AlertItem } from "./alerting";
import { onTimeZoneChange, setTimeZone, timeZone } from "./time";
import { livePage } from "./pages/live";
import { settingsPage } from "./pages/settings";
import { reportsPage } from "./pages/reports";
import { alertsPage } from "./pages/alerts";
import { auditPage } from "./pages/audit/index";
import { visitorsPage } from "./pages/visitors";

/** A page renders into `root` and returns what stops its live updates. */
export type Page = (root: HTMLElement, user: Me) => () => void;

const pages: Record<string, [string, Page]> = {
  live: ["Live / CCTV", livePage],
  alerts: ["Alerts", alertsPage],
  reports: ["Reports", reportsPage],
  visitors: ["Visitors", visitorsPage],
  settings: ["Settings", settingsPage],
  audit: ["Audit", auditPage],
};

const app = document.getElementById("app")!;
let stopPage = () => {};
let stopShell = () => {};

function loginScreen(notice = "") {
  stopPage();
  stopShell();
  stopPage = stopShell = () => {};
  window.onhashchange = null;
  document.querySelectorAll(".dialog-overlay").forEach((d) => d.remove());
  const message = h("p.text-sm.text-rose-600.min-h-5", { id: "login-error" });
  const form = h(
    "form.card.w-full.max-w-sm.space-y-3",
    {
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const data = new FormData(event.target as HTMLFormElement);
        try {
          await login(String(data.get("username")), String(data.get("password")));
          start();
        } catch (e) {
          message.textContent = (e as Error).message;
        }
      },
    },
    h("h1.text-xl.font-semibold", "facewatch"),
    h("p.text-sm.text-slate-500", "Sign in to the dashboard"),
    notice ? h("p.text-sm.rounded-lg.bg-amber-50.border.border-amber-200.text-amber-900.p-2", { id: "session-notice", role: "status" }, notice) : null,
    h("input.input.w-full", { name: "username", placeholder: "Username", autocomplete: "username", required: true }),
    h("input.input.w-full", { name: "password", type: "password", placeholder: "Password", autocomplete: "current-password", required: true }),
    message,
    h("button.btn.w-full.justify-center", { type: "submit" }, "Sign in"),
  );
  app.replaceChildren(h("div.min-h-screen.flex.items-center.justify-center.p-4", form));
}

// Only once per ended session: several requests may fail together.
onSessionEnded((message) => document.getElementById("whoami") && loginScreen(message));

function bellIcon(): SVGElement {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "h-5 w-5");
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.innerHTML = '<path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9"/><path d="M13.7 21a2 2 0 0 1-3.4 0"/>';
  return svg;
}

/** The alert bell: open alerts, kept current by alertRaised / alertResolved; Escape or a click
 *  elsewhere closes the list. */
function notifications(): [HTMLElement, () => void] {
  const open = new Map<number, AlertItem>();
  const badge = h("span.absolute.-top-1.-right-1.rounded-full.bg-rose-600.text-white.text-xs.px-1.5.hidden", { id: "alert-badge" });
  const list = h("div.absolute.right-0.mt-2.w-80.max-w-[calc(100vw-1.5rem)].card.hidden.z-40.max-h-96.overflow-auto", { id: "alert-list" });
  const render = () => {
    badge.textContent = String(open.size);
    badge.classList.toggle("hidden", open.size === 0);
    const alerts = [...open.values()].sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
    list.replaceChildren(
      h("h3.font-semibold.mb-2", "Open alerts"),
      alerts.length
        ? h("ul.space-y-2", ...alerts.map((a) =>
            h("li.text-sm.border-l-4.border-rose-500.pl-2",
              h("div", describeAlert(a)),
              h("div.text-xs.text-slate-500", `${ago(a.raisedAt)}${a.acknowledgedBy ? ` · acknowledged by ${a.acknowledgedBy.replace(/^user:/, "")}` : ""}`))))
        : h("p.text-sm.text-slate-500", "No open alerts"),
      h("a.block.text-sm.text-indigo-700.mt-2", { href: "#/alerts", onclick: () => list.classList.add("hidden") }, "Open the alert centre →"),
    );
  };
  const load = () => attempt(async () => {
    const d = await gql(`{ openAlerts { ${ALERT_FIELDS} } }`);
    open.clear();
    for (const a of d.openAlerts) open.set(a.id, a);
    render();
  });
  load();
  const bell = h("div.relative",
    h("button.btn-ghost.relative", { id: "alert-bell", "aria-label": "Alerts", "aria-expanded": "false", onclick: () => list.classList.toggle("hidden") }, bellIcon(), badge),
    list);
  const onKey = (e: KeyboardEvent) => e.key === "Escape" && list.classList.add("hidden");
  const onClick = (e: MouseEvent) => !bell.contains(e.target as Node) && list.classList.add("hidden");
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onClick);
  const stops = [
    subscribe(`subscription { alertRaised { ${ALERT_FIELDS} } }`, (d) => {
      open.set(d.alertRaised.id, d.alertRaised);
      announce(d.alertRaised);
      render();
    }),
    subscribe(`subscription { alertResolved { id } }`, (d) => {
      open.delete(d.alertResolved.id);
      render();
    }),
    subscribe(`subscription { alertAcknowledged { ${ALERT_FIELDS} } }`, (d) => {
      if (open.has(d.alertAcknowledged.id)) open.set(d.alertAcknowledged.id, d.alertAcknowledged);
      render();
    }),
    onReconnect(load),
  ];
  render();
  return [bell, () => {
    stops.forEach((s) => s());
    document.removeEventListener("keydown", onKey);
    document.removeEventListener("click", onClick);
  }];
}

const STATES: Record<string, [string, string]> = {
  ACTIVE: ["monitoring", "bg-emerald-100.text-emerald-800"],
  LUNCH_BREAK: ["lunch break", "bg-amber-100.text-amber-800"],
  PAUSED: ["paused", "bg-amber-100.text-amber-800"],
  OFF_HOURS: ["off hours", "bg-slate-200.text-slate-700"],
  TRACKING_OFF: ["tracking off", "bg-slate-200.text-slate-700"],
};

/** Header status: is monitoring active (or lunch, paused, off hours), who is in, which zone. */
function statusLine(): [HTMLElement, () => void] {
  const state = h("span", { id: "monitoring-status" });
  const counts = h("span.text-sm.text-slate-600", { id: "presence-counts" });
  const zone = h("span.text-xs.text-slate-500", { id: "time-zone", title: "Every date and time on this dashboard is in the schedule's time zone" });
  const showZone = () => (zone.textContent = `times in ${timeZone()}`);
  const showState = (s: { monitoringState: string; timezone: string }) => {
    setTimeZone(s.timezone);
    const [label, tone] = STATES[s.monitoringState] ?? [s.monitoringState.toLowerCase(), "bg-slate-200.text-slate-700"];
    state.replaceChildren(h(`span.pill.${tone}`, label));
  };
  const present = new Map<string, boolean>();
  const showCounts = () => {
    const inside = [...present.values()].filter(Boolean).length;
    counts.textContent = `${inside} in / ${present.size - inside} out`;
  };
  const load = () => attempt(async () => {
    const d = await gql(`{ schedule { monitoringState timezone } employees { id status presence { present } } }`);
    showState(d.schedule);
    present.clear();
    for (const e of d.employees) if (e.status === "ACTIVE") present.set(e.id, e.presence.present);
    showCounts();
  });
  load();
  showZone();
  // The state changes with the clock too (work hours start, lunch ends): look again each minute.
  const tick = setInterval(load, 60_000);
  const stops = [
    onTimeZoneChange(showZone),
    subscribe(`subscription { scheduleChanged { monitoringState timezone } }`, (d) => showState(d.scheduleChanged)),
    subscribe(`subscription { presenceChanged { id status presence { present } } }`, (d) => {
      const e = d.presenceChanged;
      if (e.status === "ACTIVE") present.set(e.id, e.presence.present);
      else present.delete(e.id);
      showCounts();
    }),
    subscribe(`subscription { directoryChanged }`, load),
    onReconnect(load),
  ];
  return [h("div.flex.items-center.gap-2.flex-wrap", state, counts, zone), () => {
    clearInterval(tick);
    stops.forEach((s) => s());
  }];
}

/** "Connection lost" while the server cannot be reached; it goes when the connection is back. */
function connectionBanner(): [HTMLElement, () => void] {
  const banner = h("div.hidden.bg-rose-600.text-white.text-sm.text-center.px-3.py-1.5", { id: "connection-banner", role: "alert" },
    "Connection to the server lost — reconnecting… What you see may be out of date.");
  const stop = onConnectionChange((state) => banner.classList.toggle("hidden", state === "online"));
  return [banner, stop];
}

async function start() {
  let user: Me | null;
  try {
    user = await me();
  } catch {
    user = null;
  }
  if (!user) return loginScreen();
  const signedIn = user;
  stopShell();
  const content = h("main.p-3.sm:p-4.max-w-7xl.mx-auto");
  const nav = h("nav.flex.gap-1.flex-wrap");
  const [bell, stopBell] = notifications();
  const [status, stopStatus] = statusLine();
  const [banner, stopBanner] = connectionBanner();
  stopShell = () => {
    stopBell();
    stopStatus();
    stopBanner();
  };
  const header = h("header.bg-white.border-b.border-slate-200.sticky.top-0.z-30",
    banner,
    h("div.max-w-7xl.mx-auto.flex.items-center.gap-x-4.gap-y-2.p-3.flex-wrap",
      h("span.font-bold.text-indigo-700", "facewatch"),
      status,
      h("div.ml-auto.flex.items-center.gap-3",
        bell,
        h("span.text-sm.text-slate-500", { id: "whoami" }, `${signedIn.username} (${signedIn.role.toLowerCase()})`),
        h("button.btn-ghost", { onclick: async () => { await logout(); loginScreen(); } }, "Sign out")),
      h("div.w-full.overflow-x-auto", nav)));
  app.replaceChildren(header, content);

  const show = () => {
    const key = location.hash.replace(/^#\/?/, "") || "live";
    const [, page] = pages[key] ?? pages.live;
    nav.replaceChildren(...Object.entries(pages).map(([k, [title]]) =>
      h(`a.px-3.py-1.5.rounded-lg.text-sm.whitespace-nowrap${k === key ? ".bg-indigo-100.text-indigo-800" : ".hover:bg-slate-100"}`, { href: `#/${k}` }, title)));
    stopPage();
    content.replaceChildren();
    stopPage = page(content, signedIn);
  };
  window.onhashchange = show;
  show();
}

// Leaving the page closes the WebSocket cleanly.
window.addEventListener("pagehide", () => closeSubscriptions());

attempt(start);
