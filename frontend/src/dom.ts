import { ConnectionLost, LoginRequired } from "./api";
import { dayOf, formatInstant } from "./time";
// A tiny element builder: h("div.card", {onclick}, child, ...). Text children are escaped by the DOM.
type Child = Node | string | number | null | undefined | false | Child[];
type Props = Record<string, any>;

export function h(tag: string, props: Props | Child = {}, ...children: Child[]): HTMLElement {
  const [name, ...classes] = tag.split(".");
  const el = document.createElement(name || "div");
  if (classes.length) el.className = classes.join(" ");
  if (props instanceof Node || Array.isArray(props) || typeof props !== "object" || props === null) {
    children.unshift(props as Child);
    props = {};
  }
  for (const [key, value] of Object.entries(props as Props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className += ` ${value}`;
    else if (key in el && typeof value !== "string") (el as any)[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity as 1) as Child[]) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A date and time in the schedule's time zone (see time.ts). */
export function fmtTime(iso?: string | null): string {
  return formatInstant(iso);
}

export function ago(iso?: string | null): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

/** Today's date in the schedule's time zone. */
export function today(): string {
  return dayOf();
}

/** The one toast area: toasts stack (newest last) and expire; a click dismisses one early. */
function toastArea(): HTMLElement {
  let area = document.getElementById("toasts");
  if (!area) {
    area = h("div.fixed.bottom-4.right-4.left-4.sm:left-auto.z-[60].flex.flex-col.items-end.gap-2.pointer-events-none", { id: "toasts" });
    document.body.append(area);
  }
  return area;
}

/** Shows a transient message: successes for 3 s, errors for 8 s; at most 4 at once. The same
 *  message twice in a row is shown once. */
export function toast(message: string, kind: "ok" | "error" = "ok") {
  const area = toastArea();
  const last = area.lastElementChild as HTMLElement | null;
  if (last?.textContent === message) return;
  const el = h(
    `div.pointer-events-auto.max-w-sm.rounded-lg.px-4.py-2.shadow-lg.text-sm.text-white.cursor-pointer.${kind === "ok" ? "bg-emerald-600" : "bg-rose-600"}`,
    { role: kind === "ok" ? "status" : "alert", onclick: () => el.remove() },
    message,
  );
  area.append(el);
  while (area.children.length > 4) area.firstElementChild!.remove();
  setTimeout(() => el.remove(), kind === "ok" ? 3000 : 8000);
}

/** A modal dialog with a title and a body; Escape, Cancel and a click outside close it.
 *  Returns the close function. */
export function modal(title: string, body: Node, actions: HTMLElement[] | ((close: () => void) => HTMLElement[]), onClose: () => void = () => {}): () => void {
  const close = () => {
    overlay.remove();
    document.removeEventListener("keydown", onKey);
    onClose();
  };
  // Escape closes only the topmost dialog (a confirmation over the face library).
  const onKey = (e: KeyboardEvent) => e.key === "Escape" && [...document.querySelectorAll(".dialog-overlay")].pop() === overlay && close();
  const panel = h("div.card.w-full.max-w-lg.max-h-[90vh].overflow-auto.space-y-3", { role: "dialog", "aria-modal": "true", "aria-label": title },
    h("h2.h2.mb-0", title), body, h("div.flex.justify-end.gap-2.flex-wrap", ...(typeof actions === "function" ? actions(close) : actions)));
  const overlay = h("div.fixed.inset-0.z-50.bg-slate-900/40.flex.items-center.justify-center.p-3", { class: "dialog-overlay" }, panel);
  overlay.addEventListener("mousedown", (e) => e.target === overlay && close());
  document.addEventListener("keydown", onKey);
  document.body.append(overlay);
  (panel.querySelector("input, select, textarea, button") as HTMLElement | null)?.focus();
  return close;
}

/** Asks before a destructive or unusual action; resolves true only on the confirm button. */
export function confirmDialog(message: string, confirmLabel = "Confirm", danger = true): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = false;
    const yes = h(danger ? "button.btn-danger" : "button.btn", { type: "button", class: "confirm-yes", onclick: () => { answer = true; close(); } }, confirmLabel);
    const no = h("button.btn-ghost", { type: "button", class: "confirm-no", onclick: () => close() }, "Cancel");
    const close = modal("Please confirm", h("p.text-sm", message), [no, yes], () => resolve(answer));
  });
}

/** Runs an action and reports its failure instead of throwing into the void. */
export async function attempt<T>(action: () => Promise<T>, success?: string): Promise<T | undefined> {
  try {
    const result = await action();
    if (success) toast(success);
    return result;
  } catch (error) {
    // An ended session shows the login screen and a lost connection the banner: no toast.
    if (!(error instanceof LoginRequired || error instanceof ConnectionLost)) toast((error as Error).message, "error");
    return undefined;
  }
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h("label.block", h("span.label", label), input);
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  return Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v)]));
}
