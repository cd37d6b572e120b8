// The Audit page: sections side by side, each its own module (replay, tamper evidence, event log,
// dead letters).
import { gql } from "../../api";
import { h, attempt } from "../../dom";
import type { Me } from "../../api";
import type { Page } from "../../main";
import { deadLettersSection } from "./deadletters";
import { eventLogSection } from "./eventlog";
import { auditStatusSection } from "./status";

function replaySection(user: Me): HTMLElement {
  const verdict = h("div", { id: "replay-result" });
  const replay = () => attempt(async () => {
    verdict.replaceChildren(h("p.text-sm", "Replaying the event log…"));
    const r = (await gql(`mutation { runReplayAudit { position allMatch tables { table liveRows replayedRows matches } } }`)).runReplayAudit;
    verdict.replaceChildren(
      h(`p.font-medium.${r.allMatch ? "text-emerald-700" : "text-rose-700"}`, r.allMatch ? `All read models match a replay up to event #${r.position}.` : `Mismatch found (replayed up to #${r.position}).`),
      h("div.overflow-auto", h("table.table.max-w-xl", h("thead", h("tr", ...["Read model", "Live rows", "Replayed rows", "Verdict"].map((t) => h("th", t)))),
        h("tbody", ...r.tables.map((t: any) => h("tr", h("td", t.table), h("td", t.liveRows), h("td", t.replayedRows),
          h("td", h(`span.pill.${t.matches ? "bg-emerald-100.text-emerald-800" : "bg-rose-100.text-rose-800"}`, t.matches ? "matches" : "differs"))))))));
  });
  return h("section.card.space-y-3", h("h2.h2", "Replay and verify"),
    h("p.text-sm.text-slate-500", "Rebuilds every read model from the event log in a scratch schema and compares it with the live one."),
    user.role === "ADMIN" ? h("button.btn", { id: "replay", onclick: replay }, "Replay and verify") : h("p.text-sm", "Admins only."), verdict);
}

/** A section, or a section and what stops its live updates. */
type Section = (user: Me) => HTMLElement | [HTMLElement, () => void];

/** The page's sections in order; another section is one more entry here. */
const SECTIONS: Section[] = [
  replaySection,
  () => auditStatusSection(),
  () => eventLogSection(),
  deadLettersSection,
];

export const auditPage: Page = (root, user) => {
  const stops: (() => void)[] = [];
  const sections = SECTIONS.map((section) => {
    const made = section(user);
    if (!Array.isArray(made)) return made;
    stops.push(made[1]);
    return made[0];
  });
  root.append(h("div.space-y-4", ...sections));
  return () => stops.forEach((stop) => stop());
};
