// The event log browser: who did what, one line each, filtered by event type and employee
// (pickers, not ids), newest first, page by page; the raw payload stays one click away.
import { gql } from "../../api";
import { h, attempt, field, fmtTime, formValues } from "../../dom";
import { zonedInstant, zoneNote } from "../../time";
import { summary, who, type AuditEvent, type Names } from "./summary";

const PAGE = 50;

export function eventLogSection(): HTMLElement {
  const table = h("div.overflow-auto", { id: "events-table" });
  const types = h("select.input", { name: "eventType", id: "event-type" }, h("option", { value: "" }, "All events"));
  const employees = h("select.input", { name: "employeeId", id: "event-employee" }, h("option", { value: "" }, "Everybody"));
  const form = h("form.flex.gap-2.items-end.flex-wrap",
    field("Event type", types),
    field("Employee", employees),
    field("From day", h("input.input", { type: "date", name: "from" })),
    field("To day", h("input.input", { type: "date", name: "to" })),
    h("span.text-xs.text-slate-500.pb-2", zoneNote())) as HTMLFormElement;
  const pageInfo = h("span.text-sm.text-slate-500", { id: "events-page" });
  const newer = h("button.btn-ghost", { type: "button", id: "events-newer" }, "← Newer") as HTMLButtonElement;
  const older = h("button.btn-ghost", { type: "button", id: "events-older" }, "Older →") as HTMLButtonElement;
  const names: Names = { employees: new Map(), cameras: new Map() };
  // Cursors of the pages shown so far: cursors[i] is the `beforeSeq` of page i (null: newest).
  let cursors: (number | null)[] = [null];
  let last: AuditEvent[] = [];

  const load = async () => {
    const f = formValues(form);
    const day = (d: string, next = false) => (d ? zonedInstant(d, "00:00").getTime() + (next ? 86_400_000 : 0) : null);
    const from = day(f.from);
    const to = day(f.to, true);
    const events: AuditEvent[] = (await gql(`query($f: DateTime, $t: DateTime, $ty: String, $e: String, $b: Int, $n: Int!) {
      events(from: $f, to: $t, eventType: $ty, employeeId: $e, beforeSeq: $b, limit: $n) {
        seq at aggregateType aggregateId eventType employeeId cameraId actor payload } }`, {
      f: from ? new Date(from).toISOString() : null, t: to ? new Date(to).toISOString() : null,
      ty: f.eventType || null, e: f.employeeId || null, b: cursors[cursors.length - 1], n: PAGE })).events;
    last = events;
    pageInfo.textContent = `Page ${cursors.length}${events.length ? ` · events #${events[events.length - 1].seq}–#${events[0].seq}` : ""}`;
    newer.disabled = cursors.length === 1;
    older.disabled = events.length < PAGE;
    table.replaceChildren(events.length
      ? h("table.table.stack",
          h("thead", h("tr", ...["#", "When", "Who", "What", ""].map((t) => h("th", t)))),
          h("tbody", ...events.map((e) => h("tr", { "data-seq": e.seq },
            h("td.text-slate-500", { "data-label": "#" }, e.seq),
            h("td.whitespace-nowrap", { "data-label": "When" }, fmtTime(e.at)),
            h("td.whitespace-nowrap.event-actor", { "data-label": "Who" }, who(e.actor)),
            h("td.event-summary", { "data-label": "What" }, summary(e, names), h("div.text-xs.text-slate-400.event-type", e.eventType)),
            h("td", h("details.text-xs", h("summary.cursor-pointer.text-slate-500", "details"), h("code.break-all", JSON.stringify(e.payload))))))))
      : h("p.text-sm.text-slate-500", "No events for this filter."));
  };
  const restart = () => {
    cursors = [null];
    attempt(load);
  };
  newer.onclick = () => {
    cursors.pop();
    attempt(load);
  };
  older.onclick = () => {
    if (!last.length) return;
    cursors.push(last[last.length - 1].seq);
    attempt(load);
  };
  form.onchange = restart;
  form.onsubmit = (e) => { e.preventDefault(); restart(); };
  attempt(async () => {
    const d = await gql(`{ eventTypes { aggregateType eventType } employees { id name } cameras { id name } }`);
    for (const e of d.employees) names.employees.set(e.id, e.name);
    for (const c of d.cameras) names.cameras.set(c.id, c.name);
    employees.append(...d.employees.map((e: { id: string; name: string }) => h("option", { value: e.id }, e.name)));
    const groups = new Map<string, string[]>();
    for (const t of d.eventTypes) groups.set(t.aggregateType, [...(groups.get(t.aggregateType) ?? []), t.eventType]);
    types.append(...[...groups].map(([aggregate, list]) => h("optgroup", { label: aggregate }, ...list.map((t) => h("option", { value: t }, t)))));
    await load();
  });
  return h("section.card.space-y-3.min-w-0", h("h2.h2", "Event log"), form, table, h("div.flex.gap-2.items-center", newer, older, pageInfo));
}
