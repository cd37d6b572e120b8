import { gql } from "../../api";
import { h, attempt, fmtTime } from "../../dom";

/** Tamper evidence (GraphQL auditStatus): the event log's chain head, the last `facewatch verify` and the last replay audit. */
export function auditStatusSection(): HTMLElement {
  const body = h("div.space-y-2.text-sm", { id: "audit-status" });
  const load = async () => {
    const s = (await gql(`{ auditStatus { chainHead
      lastVerification { finishedAt events intact problem problemPosition eventsPerSec }
      lastReplay { finishedAt incremental fromPosition position events matches eventsPerSec } } }`)).auditStatus;
    const v = s.lastVerification;
    const r = s.lastReplay;
    const ok = (good: boolean, text: string) => h(`span.pill.${good ? "bg-emerald-100.text-emerald-800" : "bg-rose-100.text-rose-800"}`, text);
    body.replaceChildren(
      h("p", "Chain head: ", h("code.text-xs.break-all", { id: "chain-head" }, s.chainHead ?? "— (empty log)")),
      h("p", "Last verification: ", v
        ? h("span", ok(v.intact, v.intact ? "intact" : `${v.problem} at #${v.problemPosition}`), ` ${fmtTime(v.finishedAt)}, ${v.events} events at ${Math.round(v.eventsPerSec)}/s`)
        : "never (run facewatch verify)"),
      h("p", "Last replay audit: ", r
        ? h("span", ok(r.matches, r.matches ? "matches" : "differs"), ` ${fmtTime(r.finishedAt)}, ${r.incremental ? `incremental #${r.fromPosition}→` : "full to "}#${r.position}, ${r.events} events at ${Math.round(r.eventsPerSec)}/s`)
        : "never (run facewatch replay)"));
  };
  attempt(load);
  return h("section.card.space-y-3", h("h2.h2", "Tamper evidence"),
    h("p.text-sm.text-slate-500", "Every event is hash-chained to the one before it. Keep the chain head outside the database; facewatch verify --expect checks the log still leads to it."), body);
}
