import "./style.css";
import { gql, login, logout, me, subscribe, LoginRequired, type Me } from "./api";
import { h, ago, attempt } from "./dom";
import { livePage } from "./pages/live";
import { settingsPage } from "./pages/settings";
import { reportsPage } from "./pages/reports";
import { auditPage } from "./pages/audit";
import { visitorsPage } from "./pages/visitors";

/** A page renders into `root` and returns what stops its live updates. */
export type Page = (root: HTMLElement, user: Me) => () => void;

const pages: Record<string, [string, Page]> = {
  live: ["Live / CCTV", livePage],
  settings: ["Settings", settingsPage],
  reports: ["Reports", reportsPage],
  visitors: ["Visitors", visitorsPage],
  audit: ["Audit", auditPage],
};

const app = document.getElementById("app")!;

function loginScreen(error = "") {
  const message = h("p.text-sm.text-rose-600.h-5", { id: "login-error" }, error);
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
    h("input.input.w-full", { name: "username", placeholder: "Username", autocomplete: "username", required: true }),
    h("input.input.w-full", { name: "password", type: "password", placeholder: "Password", autocomplete: "current-password", required: true }),
    message,
    h("button.btn.w-full.justify-center", { type: "submit" }, "Sign in"),
  );
  app.replaceChildren(h("div.min-h-screen.flex.items-center.justify-center.p-4", form));
}

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

/** The alert bell: open alerts, kept current by alertRaised / alertResolved. */
function notifications(): [HTMLElement, () => void] {
  const open = new Map<number, any>();
  const badge = h("span.absolute.-top-1.-right-1.rounded-full.bg-rose-600.text-white.text-xs.px-1.5.hidden", { id: "alert-badge" });
  const list = h("div.absolute.right-0.mt-2.w-80.card.hidden.z-40.max-h-96.overflow-auto", { id: "alert-list" });
  const render = () => {
    badge.textContent = String(open.size);
    badge.classList.toggle("hidden", open.size === 0);
    const alerts = [...open.values()].sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
    list.replaceChildren(
      h("h3.font-semibold.mb-2", "Open alerts"),
      alerts.length
        ? h("ul.space-y-2", ...alerts.map((a) =>
            h("li.text-sm.border-l-4.border-rose-500.pl-2",
              h("div.font-medium", a.employeeName),
              h("div.text-slate-500", `${a.reason} · ${a.cameraName ?? a.cameraId} · ${ago(a.raisedAt)}`))))
        : h("p.text-sm.text-slate-500", "No open alerts"),
    );
  };
  const fields = "id employeeName cameraId cameraName raisedAt reason open";
  gql(`{ openAlerts { ${fields} } }`).then((d) => {
    for (const a of d.openAlerts) open.set(a.id, a);
    render();
  });
  const stops = [
    subscribe(`subscription { alertRaised { ${fields} } }`, (d) => {
      open.set(d.alertRaised.id, d.alertRaised);
      render();
    }),
    subscribe(`subscription { alertResolved { id } }`, (d) => {
      open.delete(d.alertResolved.id);
      render();
    }),
  ];
  render();
  const bell = h("div.relative",
    h("button.btn-ghost.relative", { id: "alert-bell", "aria-label": "Alerts", onclick: () => list.classList.toggle("hidden") }, bellIcon(), badge),
    list);
  return [bell, () => stops.forEach((s) => s())];
}

let stopPage = () => {};
let stopShell = () => {};

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
  const content = h("main.p-4.max-w-7xl.mx-auto");
  const nav = h("nav.flex.gap-1.flex-wrap");
  const [bell, stopBell] = notifications();
  stopShell = stopBell;
  const header = h("header.bg-white.border-b.border-slate-200.sticky.top-0.z-30",
    h("div.max-w-7xl.mx-auto.flex.items-center.gap-4.p-3.flex-wrap",
      h("span.font-bold.text-indigo-700", "facewatch"),
      nav,
      h("div.ml-auto.flex.items-center.gap-3",
        bell,
        h("span.text-sm.text-slate-500", { id: "whoami" }, `${signedIn.username} (${signedIn.role.toLowerCase()})`),
        h("button.btn-ghost", { onclick: async () => { stopPage(); stopShell(); await logout(); loginScreen(); } }, "Sign out"))));
  app.replaceChildren(header, content);

  const show = () => {
    const key = location.hash.replace(/^#\/?/, "") || "live";
    const [, page] = pages[key] ?? pages.live;
    nav.replaceChildren(...Object.entries(pages).map(([k, [title]]) =>
      h(`a.px-3.py-1.5.rounded-lg.text-sm${k === key ? ".bg-indigo-100.text-indigo-800" : ".hover:bg-slate-100"}`, { href: `#/${k}` }, title)));
    stopPage();
    content.replaceChildren();
    stopPage = page(content, signedIn);
  };
  window.onhashchange = show;
  show();
}

// A session that expires mid-use sends the user back to the login screen.
window.addEventListener("unhandledrejection", (event) => {
  if (event.reason instanceof LoginRequired) loginScreen("Your session has ended, please sign in again.");
});

attempt(start);
