import { gql } from "../api";
import { h, attempt, field, formValues, fmtTime } from "../dom";
import type { Page } from "../main";
import { deadLettersSection } from "./deadletters";
import { auditStatusSection } from "./audit-status";

export const auditPage: Page = (root, user) => {
  const table = h("div.overflow-auto", { id: "events-table" });
  const verdict = h("div", { id: "replay-result" });
  const form = h("form.flex.gap-2.items-end.flex-wrap",
    field("Event type", h("input.input", { name: "eventType", placeholder: "e.g. EmployeeEntered" })),
    field("Employee id", h("input.input", { name: "employeeId" })),
    field("From", h("input.input", { type: "datetime-local", name: "from" })),
    field("To", h("input.input", { type: "datetime-local", name: "to" })),
    h("button.btn", { type: "submit" }, "Filter")) as HTMLFormElement;
  const iso = (v: string) => (v ? new Date(v).toISOString() : null);
  const load = async () => {
    const f = formValues(form);
    const events = (await gql(`query($f: DateTime, $t: DateTime, $ty: String, $e: String) { events(from: $f, to: $t, eventType: $ty, employeeId: $e, limit: 200) {
      seq at aggregateType aggregateId eventType actor payload } }`, { f: iso(f.from), t: iso(f.to), ty: f.eventType || null, e: f.employeeId || null })).events;
    table.replaceChildren(h("table.table",
      h("thead", h("tr", ...["#", "At", "Who", "Aggregate", "Event", "Payload"].map((t) => h("th", t)))),
      h("tbody", ...events.map((e: any) => h("tr",
        h("td", e.seq), h("td.whitespace-nowrap", fmtTime(e.at)), h("td.whitespace-nowrap", e.actor ?? "—"), h("td", `${e.aggregateType} ${e.aggregateId}`), h("td", e.eventType),
        h("td", h("code.text-xs.break-all", JSON.stringify(e.payload))))))));
  };
  const replay = () => attempt(async () => {
    verdict.replaceChildren(h("p.text-sm", "Replaying the event log…"));
    const r = (await gql(`mutation { runReplayAudit { position allMatch tables { table liveRows replayedRows matches } } }`)).runReplayAudit;
    verdict.replaceChildren(
      h(`p.font-medium.${r.allMatch ? "text-emerald-700" : "text-rose-700"}`, r.allMatch ? `All read models match a replay up to event #${r.position}.` : `Mismatch found (replayed up to #${r.position}).`),
      h("table.table.max-w-xl", h("thead", h("tr", ...["Read model", "Live rows", "Replayed rows", "Verdict"].map((t) => h("th", t)))),
        h("tbody", ...r.tables.map((t: any) => h("tr", h("td", t.table), h("td", t.liveRows), h("td", t.replayedRows),
          h("td", h(`span.pill.${t.matches ? "bg-emerald-100.text-emerald-800" : "bg-rose-100.text-rose-800"}`, t.matches ? "matches" : "differs")))))));
  });
  form.onsubmit = (e) => { e.preventDefault(); attempt(load); };
  root.append(h("div.space-y-4",
    h("section.card.space-y-3", h("h2.h2", "Replay and verify"),
      h("p.text-sm.text-slate-500", "Rebuilds every read model from the event log in a scratch schema and compares it with the live one."),
      user.role === "ADMIN" ? h("button.btn", { id: "replay", onclick: replay }, "Replay and verify") : h("p.text-sm", "Admins only."), verdict),
    auditStatusSection(),
    h("section.card.space-y-3", h("h2.h2", "Event log"), form, table),
    deadLettersSection(user)));
  attempt(load);
  return () => {};
};
