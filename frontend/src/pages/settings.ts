import { gql, subscribe, onReconnect, type Me } from "../api";
import { h, attempt, fmtTime } from "../dom";
import type { Page } from "../main";
import { camerasSection } from "./settings/cameras";
import { employeesSection } from "./settings/employees";
import { scheduleSection } from "./settings/schedule";
import { section } from "./settings/section";
import { usersSection } from "./settings/users";

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

export const settingsPage: Page = (root, user: Me) => {
  const admin = user.role === "ADMIN";
  const [employees, loadEmployees] = employeesSection(admin);
  const [cameras, loadCameras, stopCameras] = camerasSection(admin);
  const [schedule, loadSchedule, stopSchedule] = scheduleSection(admin);
  const [system, loadSystem] = systemSection();
  const [users, loadUsers] = admin ? usersSection(user) : [null, async () => {}];
  root.append(h("div.space-y-4", { id: "settings" },
    admin ? null : h("p.text-sm.text-amber-800.bg-amber-50.border.border-amber-200.rounded-lg.p-2", { id: "read-only-note" }, "Read-only: viewers cannot change settings; the controls below are disabled."),
    employees, cameras, schedule, users, system));
  const loadAll = () => [loadEmployees, loadCameras, loadSchedule, loadSystem, loadUsers].forEach((load) => attempt(load));
  loadAll();
  const stops = [
    stopCameras,
    stopSchedule,
    subscribe(`subscription { directoryChanged }`, () => {
      attempt(loadEmployees);
      attempt(loadCameras);
    }),
    onReconnect(loadAll),
  ];
  return () => stops.forEach((s) => s());
};
