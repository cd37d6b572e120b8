// The alert centre: alerts in plain words with the exit snapshot, acknowledged with a note (an
// event recording who), history with filters, and the switches for notifications and sound.
import { gql, subscribe, onReconnect } from "../api";
import { h, attempt, field, formValues, today } from "../dom";
import { ALERT_FIELDS, actorName, alertPrefs, alertStatus, describeAlert, type AlertItem } from "../alerting";
import { addDays, dayWindow, formatInstant, zoneNote } from "../time";
import type { Page } from "../main";

function alertCard(a: AlertItem, admin: boolean, changed: () => void): HTMLElement {
  const ack = a.acknowledgedAt
    ? h("p.text-sm.text-emerald-800.alert-ack", `Acknowledged by ${actorName(a.acknowledgedBy)} at ${formatInstant(a.acknowledgedAt)}${a.ackNote ? ` — “${a.ackNote}”` : ""}`)
    : admin
      ? (() => {
          const form = h("form.flex.gap-2.items-end.flex-wrap.ack-form",
            field("Note (optional)", h("input.input.w-64.max-w-full", { name: "note", maxlength: 1000, placeholder: "e.g. went to the bank, approved" })),
            h("button.btn", { type: "submit" }, "Acknowledge")) as HTMLFormElement;
          form.onsubmit = (ev) => {
            ev.preventDefault();
            attempt(async () => {
              await gql(`mutation($id: Int!, $n: String!) { acknowledgeAlert(id: $id, note: $n) { id } }`, { id: a.id, n: formValues(form).note });
              changed();
            }, "Alert acknowledged");
          };
          return form;
        })()
      : h("p.text-sm.text-slate-500", "Not acknowledged yet.");
  return h(`article.card.flex.gap-3.flex-col.sm:flex-row.alert-card.border-l-4.${a.open ? "border-rose-500" : "border-slate-300"}`, { "data-alert": a.id },
    a.snapshotUrl
      ? h("a.shrink-0", { href: a.snapshotUrl, target: "_blank" }, h("img.h-24.w-32.object-cover.rounded.bg-slate-200", { src: a.snapshotUrl, alt: `${a.employeeName}, last seen`, loading: "lazy" }))
      : h("div.h-24.w-32.shrink-0.rounded.bg-slate-100.text-xs.text-slate-500.flex.items-center.justify-center", "no snapshot"),
    h("div.space-y-1.min-w-0",
      h("p.font-medium.alert-text", describeAlert(a)),
      h("p.text-sm", h(`span.pill.${a.open ? "bg-rose-100.text-rose-800" : "bg-slate-200.text-slate-700"}`, alertStatus(a))),
      ack));
}

export const alertsPage: Page = (root, user) => {
  const admin = user.role === "ADMIN";
  const list = h("div.space-y-3", { id: "alert-centre" });
  const employees = h("select.input", { name: "employee" }, h("option", { value: "" }, "All employees"));
  const form = h("form.flex.gap-2.items-end.flex-wrap", { id: "alert-filters" },
    field("From", h("input.input", { type: "date", name: "from", value: addDays(today(), -6), required: true })),
    field("To", h("input.input", { type: "date", name: "to", value: today(), required: true })),
    field("Employee", employees),
    field("Show", h("select.input", { name: "status" },
      ...[["all", "all alerts"], ["open", "still away"], ["unacknowledged", "not acknowledged"], ["acknowledged", "acknowledged"]].map(([v, t]) => h("option", { value: v }, t)))),
    h("span.text-xs.text-slate-500.pb-2", zoneNote())) as HTMLFormElement;
  const problem = h("p.text-sm.text-rose-700", { role: "alert" });
  const load = async () => {
    const f = formValues(form);
    problem.textContent = "";
    if (f.from > f.to) {
      list.replaceChildren();
      problem.textContent = `"From" (${f.from}) is after "To" (${f.to}).`;
      return;
    }
    try {
      const rows: AlertItem[] = (await gql(`query($from: DateTime!, $to: DateTime!, $e: String) { alerts(from: $from, to: $to, employeeId: $e) { ${ALERT_FIELDS} } }`,
        { ...dayWindow(f.from, f.to), e: f.employee || null })).alerts;
      const shown = rows.filter((a) => f.status === "all" || (f.status === "open" ? a.open : f.status === "acknowledged" ? !!a.acknowledgedAt : !a.acknowledgedAt));
      list.replaceChildren(...(shown.length ? shown.map((a) => alertCard(a, admin, () => attempt(load))) : [h("p.text-sm.text-slate-500", "No alerts for this filter.")]));
    } catch (error) {
      list.replaceChildren();
      throw error;
    }
  };
  form.onchange = () => attempt(load);
  form.onsubmit = (e) => { e.preventDefault(); attempt(load); };
  const toggles = h("div.flex.gap-4.flex-wrap.text-sm",
    h("label.flex.gap-1.items-center", h("input", { type: "checkbox", id: "alert-notify", checked: alertPrefs.notify, onchange: async (ev: Event) => {
      const box = ev.target as HTMLInputElement;
      box.checked = await alertPrefs.enableNotify(box.checked);
    } }), "Browser notification for new alerts"),
    h("label.flex.gap-1.items-center", h("input", { type: "checkbox", id: "alert-sound", checked: alertPrefs.sound, onchange: (ev: Event) => (alertPrefs.sound = (ev.target as HTMLInputElement).checked) }), "Sound"));
  root.append(h("div.space-y-4",
    h("section.card.space-y-3", h("h2.h2", "Alert centre"), toggles, form, problem),
    list));
  attempt(async () => {
    const d = await gql(`{ employees { id name } }`);
    employees.append(...d.employees.map((e: { id: string; name: string }) => h("option", { value: e.id }, e.name)));
  });
  attempt(load);
  const reload = () => attempt(load);
  const stops = [
    subscribe(`subscription { alertRaised { id } }`, reload),
    subscribe(`subscription { alertResolved { id } }`, reload),
    subscribe(`subscription { alertAcknowledged { id } }`, reload),
    onReconnect(reload),
  ];
  return () => stops.forEach((s) => s());
};
