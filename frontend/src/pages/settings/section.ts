import { h } from "../../dom";

/** A titled card of the Settings page. */
export function section(title: string, ...children: (HTMLElement | null)[]): HTMLElement {
  return h("section.card.space-y-3.min-w-0", h("h2.h2", title), ...children);
}
