import { gql } from "../../api";
import { h, attempt, fmtTime } from "../../dom";

/** Looks again this often while an audit runs (its process reports about once a second)… */
const RUNNING_POLL_MS = 1000;
/** …and this often otherwise, to notice one starting. */
const IDLE_POLL_MS = 5000;

const KINDS: Record<string, string> = {
  REPLAY: "Replay audit",
  REPLAY_INCREMENTAL: "Incremental replay audit",
  VERIFY: "Chain verification",
};
const PHASES: Record<string, string> = {
  REPLAYING: "replaying events",
  VERIFYING: "checking hashes",
  COMPARING: "comparing the read models",
  RECORDING: "recording the result",
};

/** "1 h 02 min", "3 min 05 s", "12 s". */
function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${s} s`;
}

/** Events/s: whole numbers, one decimal below 10. */
function rate(perSec: number): string {
  return perSec < 10 ? perSec.toFixed(1) : String(Math.round(perSec));
}

/** One running `facewatch replay` / `verify`: a progress bar, events/s and ETA. */
function runningAudit(r: any): HTMLElement {
  const total = Math.max(0, r.targetPosition - r.fromPosition);
  const done = Math.min(total, Math.max(0, r.positionReached - r.fromPosition));
  const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
  const state = r.stale
    ? h("span.pill.bg-amber-100.text-amber-800", "stopped — the process died or stopped reporting")
    : h("span.pill.bg-sky-100.text-sky-800", PHASES[r.phase] ?? r.phase.toLowerCase());
  const eta = r.etaSeconds == null ? "" : `, ETA ${duration(r.etaSeconds)}`;
  return h("div.audit-run.space-y-1", { "data-kind": r.kind, "data-stale": String(r.stale) },
    h("p", h("span.font-medium", KINDS[r.kind] ?? r.kind), " ", state,
      h("span.text-slate-500", ` started ${fmtTime(r.startedAt)} on ${r.host} (pid ${r.pid})`)),
    h("progress.w-full.accent-indigo-600", { max: Math.max(total, 1), value: total > 0 ? done : 1, "aria-label": `${KINDS[r.kind] ?? r.kind} progress` }),
    h("p.audit-run-numbers.text-slate-600",
      `#${r.positionReached} of #${r.targetPosition} (${percent}%), ${r.events} events at ${rate(r.eventsPerSec)} events/s${eta}`));
}

/**
 * Tamper evidence (GraphQL auditStatus): the event log's chain head, the last `facewatch verify`
 * and the last replay audit, and the progress of the audits running now. Returns the section and
 * what stops its refreshing.
 */
export function auditStatusSection(): [HTMLElement, () => void] {
  const running = h("div.space-y-3.text-sm", { id: "audit-running" });
  const body = h("div.space-y-2.text-sm", { id: "audit-status" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const load = async () => {
    const s = (await gql(`{ auditStatus { chainHead
      lastVerification { finishedAt events intact problem problemPosition eventsPerSec }
      lastReplay { finishedAt incremental fromPosition position events matches eventsPerSec }
      running { id kind phase host pid startedAt fromPosition positionReached: position targetPosition events eventsPerSec etaSeconds stale } } }`)).auditStatus;
    const v = s.lastVerification;
    const r = s.lastReplay;
    const ok = (good: boolean, text: string) => h(`span.pill.${good ? "bg-emerald-100.text-emerald-800" : "bg-rose-100.text-rose-800"}`, text);
    running.replaceChildren(...s.running.map(runningAudit));
    body.replaceChildren(
      h("p", "Chain head: ", h("code.text-xs.break-all", { id: "chain-head" }, s.chainHead ?? "— (empty log)")),
      h("p", "Last verification: ", v
        ? h("span", ok(v.intact, v.intact ? "intact" : `${v.problem} at #${v.problemPosition}`), ` ${fmtTime(v.finishedAt)}, ${v.events} events at ${Math.round(v.eventsPerSec)}/s`)
        : "never (run facewatch verify)"),
      h("p", { id: "last-replay" }, "Last replay audit: ", r
        ? h("span", ok(r.matches, r.matches ? "matches" : "differs"), ` ${fmtTime(r.finishedAt)}, ${r.incremental ? `incremental #${r.fromPosition}→` : "full to "}#${r.position}, ${r.events} events at ${Math.round(r.eventsPerSec)}/s`)
        : "never (run facewatch replay)"));
    return s.running.some((run: any) => !run.stale);
  };
  const poll = async () => {
    const busy = await attempt(load);
    if (!stopped) timer = setTimeout(poll, busy ? RUNNING_POLL_MS : IDLE_POLL_MS);
  };
  poll();
  const section = h("section.card.space-y-3", h("h2.h2", "Tamper evidence"),
    h("p.text-sm.text-slate-500", "Every event is hash-chained to the one before it. Keep the chain head outside the database; facewatch verify --expect checks the log still leads to it."),
    running, body);
  return [section, () => {
    stopped = true;
    clearTimeout(timer);
  }];
}
