import { gql } from "../../api";
import { h, attempt, fmtTime } from "../../dom";
import type { Me } from "../../api";

/** Webhook deliveries that used up their attempts (GraphQL webhookDeadLetters); admins can send one again. */
export function deadLettersSection(user: Me): HTMLElement {
  const table = h("div.overflow-auto", { id: "dead-letters" });
  const load = async () => {
    const letters = (await gql(`{ webhookDeadLetters(limit: 100) { id endpoint eventType seq attempts lastError failedAt body } }`)).webhookDeadLetters;
    const retry = (id: number) => attempt(async () => {
      await gql(`mutation($id: Int!) { retryWebhookDelivery(id: $id) }`, { id });
      await load();
    }, "Queued again");
    table.replaceChildren(letters.length
      ? h("table.table",
          h("thead", h("tr", ...["Failed", "Endpoint", "Event", "#", "Attempts", "Last error", "Body", ""].map((t) => h("th", t)))),
          h("tbody", ...letters.map((d: any) => h("tr",
            h("td.whitespace-nowrap", fmtTime(d.failedAt)), h("td", d.endpoint), h("td", d.eventType), h("td", d.seq), h("td", d.attempts),
            h("td.text-rose-700", d.lastError ?? "—"), h("td", h("code.text-xs.break-all", JSON.stringify(d.body))),
            h("td", user.role === "ADMIN" ? h("button.btn", { onclick: () => retry(d.id) }, "Retry") : "")))))
      : h("p.text-sm.text-slate-500", "No dead letters: every webhook was delivered or is still being retried."));
  };
  attempt(load);
  return h("section.card.space-y-3", h("h2.h2", "Webhook dead letters"),
    h("p.text-sm.text-slate-500", "Webhook deliveries that failed every attempt ([webhooks] in the configuration)."), table);
}
