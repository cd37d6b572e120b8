import { gql } from "../api";
import { h, ago, attempt, field, formValues, fmtTime } from "../dom";
import type { Page } from "../main";

const QUERY = `{ visitors { id firstSeen lastSeen cameras faces { id cameraId seenAt snapshotUrl } }
  employees { id name code status } }`;

/** Unknown visitors, one card per stranger (grouped server-side by face similarity). Admins can
 *  enrol a group as a new employee, attach it to an existing one, or dismiss it. */
export const visitorsPage: Page = (root, user) => {
  const list = h("div.space-y-4", { id: "visitor-groups" });
  let employees: any[] = [];

  const act = (action: () => Promise<unknown>, done: string) =>
    attempt(async () => {
      await action();
      await load();
    }, done);

  const group = (g: any): HTMLElement => {
    const faces = h("div.flex.gap-2.flex-wrap",
      ...g.faces.map((f: any) => f.snapshotUrl
        ? h("img.h-24.w-24.object-cover.rounded-lg.bg-slate-200.visitor-face", {
            src: f.snapshotUrl, alt: `Unknown face, ${f.cameraId}, ${fmtTime(f.seenAt)}`, title: `${f.cameraId} · ${fmtTime(f.seenAt)}` })
        : h("div.h-24.w-24.rounded-lg.bg-slate-200.text-xs.p-1.visitor-face", `${f.cameraId} (no photo)`)));
    const enrol = h("form.flex.gap-2.items-end.flex-wrap.enrol-visitor",
      field("Name", h("input.input", { name: "name", required: true })),
      field("Code", h("input.input", { name: "code", required: true })),
      field("Department", h("input.input", { name: "department" })),
      h("button.btn", { type: "submit" }, "Enrol as new employee")) as HTMLFormElement;
    enrol.onsubmit = (e) => {
      e.preventDefault();
      const input = formValues(enrol);
      act(() => gql(`mutation($g: String!, $i: EmployeeInput!) { enrolVisitor(groupId: $g, input: $i) { id } }`,
        { g: g.id, i: input }), `${input.name} enrolled`);
    };
    const choice = h("select.input", { name: "employeeId", required: true },
      h("option", { value: "" }, "Choose an employee…"),
      ...employees.filter((e) => e.status === "ACTIVE").map((e) => h("option", { value: e.id }, `${e.name} (${e.code})`)));
    const attach = h("form.flex.gap-2.items-end.flex-wrap.attach-visitor",
      field("Existing employee", choice),
      h("button.btn", { type: "submit" }, "Attach")) as HTMLFormElement;
    attach.onsubmit = (e) => {
      e.preventDefault();
      act(() => gql(`mutation($g: String!, $e: String!) { attachVisitor(groupId: $g, employeeId: $e) { id } }`,
        { g: g.id, e: formValues(attach).employeeId }), "Faces attached");
    };
    const dismiss = h("button.btn-ghost.dismiss-visitor", {
      onclick: () => act(() => gql(`mutation($g: String!) { dismissVisitor(groupId: $g) }`, { g: g.id }), "Dismissed"),
    }, "Dismiss");
    return h("section.card.space-y-3.visitor-group", { "data-group": g.id },
      h("div.flex.items-baseline.gap-3.flex-wrap",
        h("h3.font-semibold", `Unknown visitor · ${g.faces.length} ${g.faces.length === 1 ? "track" : "tracks"}`),
        h("span.text-sm.text-slate-500", `${g.cameras.join(", ")} · first ${fmtTime(g.firstSeen)} · last ${ago(g.lastSeen)}`)),
      faces,
      user.role === "ADMIN" ? h("div.space-y-2", enrol, h("div.flex.gap-4.items-end.flex-wrap", attach, dismiss)) : null);
  };

  const load = async () => {
    const d = await gql(QUERY);
    employees = d.employees;
    list.replaceChildren(...(d.visitors.length
      ? d.visitors.map(group)
      : [h("p.text-sm.text-slate-500", { id: "no-visitors" }, "No unknown visitors.")]));
  };

  root.append(h("div.space-y-4",
    h("div.flex.items-center.gap-3",
      h("h2.h2", "Unknown visitors"),
      h("button.btn-ghost", { id: "refresh-visitors", onclick: () => attempt(load) }, "Refresh")),
    list));
  attempt(load);
  return () => {};
};
