// The schedule: work hours per weekday, lunch, the time zone every time on the dashboard is in,
// the alert interval, mode and pause. A viewer sees it all disabled.
import { gql, subscribe } from "../../api";
import { h, attempt, field, fmtTime, formValues } from "../../dom";
import { setTimeZone } from "../../time";
import { section } from "./section";

const WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"];
export const SCHEDULE_FIELDS = "workHours { weekday start end } lunch { start end } timezone mode manualTracking pausedUntil alertMinIntervalSec monitoringState";

/** Every IANA zone the browser knows, with the current one first if it is unusual. */
function zoneOptions(current: string): HTMLElement[] {
  const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  const all = [...new Set(["UTC", current, ...zones])];
  return all.map((z) => h("option", { value: z, selected: z === current }, z));
}

export function scheduleSection(admin: boolean): [HTMLElement, () => Promise<void>, () => void] {
  const body = h("div.space-y-3");
  const render = (s: any) => {
    setTimeZone(s.timezone);
    const hours = new Map(s.workHours.map((d: any) => [d.weekday, d]));
    const rows = WEEKDAYS.map((day) => {
      const d: any = hours.get(day);
      return h("tr",
        h("td", h("label.flex.gap-2.items-center", h("input", { type: "checkbox", name: `on-${day}`, checked: !!d }), day.toLowerCase())),
        h("td", h("input.input.w-28", { type: "time", name: `start-${day}`, value: d?.start?.slice(0, 5) ?? "09:00", "aria-label": `${day.toLowerCase()} start` })),
        h("td", h("input.input.w-28", { type: "time", name: `end-${day}`, value: d?.end?.slice(0, 5) ?? "17:00", "aria-label": `${day.toLowerCase()} end` })));
    });
    const fields = h("fieldset.space-y-3.min-w-0", { disabled: !admin },
      h("div.overflow-x-auto", h("table.table.max-w-lg", h("thead", h("tr", h("th", "Day"), h("th", "Start"), h("th", "End"))), h("tbody", ...rows))),
      h("div.flex.gap-3.flex-wrap",
        field("Lunch start", h("input.input", { type: "time", name: "lunchStart", value: s.lunch?.start?.slice(0, 5) ?? "" })),
        field("Lunch end", h("input.input", { type: "time", name: "lunchEnd", value: s.lunch?.end?.slice(0, 5) ?? "" })),
        field("Time zone (all times on this dashboard)", h("select.input.max-w-full", { name: "timezone" }, ...zoneOptions(s.timezone))),
        field("Min. seconds between alerts", h("input.input", { type: "number", name: "alertMinIntervalSec", value: s.alertMinIntervalSec, min: 0 }))),
      admin ? h("button.btn", { type: "submit" }, "Save schedule") : null);
    const form = h("form.space-y-3", { id: "schedule-form" }, fields) as HTMLFormElement;
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
    const minutes = h("input.input.w-20", { type: "number", value: 15, min: 1, name: "pauseMinutes", "aria-label": "pause minutes" }) as HTMLInputElement;
    const controls = h("fieldset.flex.gap-2.items-center.flex-wrap", { disabled: !admin },
      h("span.text-sm", "Mode:"),
      h("select.input", { name: "mode", onchange: (ev: Event) => attempt(() => gql(`mutation($m: Mode!) { setScheduleMode(mode: $m) { mode } }`, { m: (ev.target as HTMLSelectElement).value }), "Mode changed") },
        ...["AUTO", "MANUAL"].map((m) => h("option", { value: m, selected: s.mode === m }, m.toLowerCase()))),
      s.mode === "MANUAL" ? h("label.flex.gap-1.items-center.text-sm", h("input", { type: "checkbox", checked: s.manualTracking, onchange: (ev: Event) => attempt(() => gql(`mutation($on: Boolean!) { setManualTracking(on: $on) { mode } }`, { on: (ev.target as HTMLInputElement).checked })) }), "tracking on") : null,
      h("span.text-sm.sm:ml-4", "Pause for"), minutes, h("span.text-sm", "min"),
      h("button.btn-ghost", { type: "button", onclick: () => attempt(() => gql(`mutation($n: Int!) { pauseSchedule(minutes: $n) { pausedUntil } }`, { n: Number(minutes.value) }), "Monitoring paused") }, "Pause"),
      h("button.btn-ghost", { type: "button", onclick: () => attempt(() => gql(`mutation { resumeSchedule { pausedUntil } }`), "Monitoring resumed") }, "Resume"));
    body.replaceChildren(
      h("p.text-sm", "Monitoring now: ", h("span.pill.bg-indigo-100.text-indigo-800", { id: "monitoring-state" }, s.monitoringState), s.pausedUntil ? ` (paused until ${fmtTime(s.pausedUntil)})` : ""),
      controls, form);
  };
  const load = async () => render((await gql(`{ schedule { ${SCHEDULE_FIELDS} } }`)).schedule);
  const stop = subscribe(`subscription { scheduleChanged { ${SCHEDULE_FIELDS} } }`, (d) => render(d.scheduleChanged));
  return [section("Schedule", body), load, stop];
}
