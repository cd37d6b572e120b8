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

export function fmtTime(iso?: string | null): string {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function ago(iso?: string | null): string {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** Shows a transient message; errors stay until clicked. */
export function toast(message: string, kind: "ok" | "error" = "ok") {
  const el = h(
    `div.fixed.bottom-4.right-4.z-50.rounded-lg.px-4.py-2.shadow-lg.text-sm.text-white.${kind === "ok" ? "bg-emerald-600" : "bg-rose-600"}`,
    { role: kind === "ok" ? "status" : "alert", onclick: () => el.remove() },
    message,
  );
  document.body.append(el);
  if (kind === "ok") setTimeout(() => el.remove(), 3000);
}

/** Runs an action and reports its failure instead of throwing into the void. */
export async function attempt<T>(action: () => Promise<T>, success?: string): Promise<T | undefined> {
  try {
    const result = await action();
    if (success) toast(success);
    return result;
  } catch (error) {
    toast((error as Error).message, "error");
    return undefined;
  }
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h("label.block", h("span.label", label), input);
}

export function formValues(form: HTMLFormElement): Record<string, string> {
  return Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v)]));
}
