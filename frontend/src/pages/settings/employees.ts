// Employees: an add form, a table, editing in an explicit dialog ("Editing X", Save/Cancel),
// deletion after a confirmation, and each employee's face library.
import { gql } from "../../api";
import type { Employee } from "../../generated/graphql";
import { h, attempt, confirmDialog, field, formValues, modal } from "../../dom";
import { faceLibrary } from "./faces";
import { section } from "./section";

export type EmployeeRow = Pick<Employee, "id" | "name" | "code" | "department" | "status" | "faceTemplates">;

function employeeFields(e?: EmployeeRow): HTMLElement[] {
  return [
    field("Name", h("input.input.w-full", { name: "name", required: true, value: e?.name ?? "" })),
    field("Code", h("input.input.w-full", { name: "code", required: true, value: e?.code ?? "" })),
    field("Department", h("input.input.w-full", { name: "department", value: e?.department ?? "" })),
  ];
}

/** "Editing Ana Lopez": the only way to change an existing employee; Cancel changes nothing. */
function editDialog(e: EmployeeRow, saved: () => void) {
  const form = h("form.grid.gap-2.sm:grid-cols-3", { id: "edit-employee-form" }, ...employeeFields(e)) as HTMLFormElement;
  const save = h("button.btn", { type: "button", id: "edit-save" }, "Save changes");
  const cancel = h("button.btn-ghost", { type: "button", id: "edit-cancel", onclick: () => close() }, "Cancel");
  const submit = () => {
    if (!form.reportValidity()) return;
    attempt(async () => {
      await gql(`mutation($id: String!, $i: EmployeeInput!) { updateEmployee(id: $id, input: $i) { id } }`, { id: e.id, i: formValues(form) });
      close();
      saved();
    }, `${e.name} updated`);
  };
  save.onclick = submit;
  form.onsubmit = (ev) => { ev.preventDefault(); submit(); };
  const close = modal(`Editing ${e.name}`, form, [cancel, save]);
}

export function employeesSection(admin: boolean): [HTMLElement, () => Promise<void>] {
  const list = h("div.overflow-auto");
  const form = h("form.grid.gap-2.sm:grid-cols-4.items-end", { id: "employee-form" },
    ...employeeFields(), h("button.btn", { type: "submit" }, "Add employee")) as HTMLFormElement;
  form.onsubmit = (event) => {
    event.preventDefault();
    attempt(async () => {
      await gql(`mutation($i: EmployeeInput!) { enrollEmployee(input: $i) { id } }`, { i: formValues(form) });
      form.reset();
      await load();
    }, "Employee added");
  };
  const remove = async (e: EmployeeRow) => {
    if (!(await confirmDialog(`Delete ${e.name}? Their face templates and presence go; their history stays in the log.`, "Delete employee"))) return;
    attempt(async () => {
      await gql(`mutation($id: String!) { deleteEmployee(id: $id) }`, { id: e.id });
      await load();
    }, `${e.name} deleted`);
  };
  const load = async () => {
    const employees: EmployeeRow[] = (await gql(`{ employees { id name code department status faceTemplates } }`)).employees
      .filter((e: EmployeeRow) => e.status !== "DELETED");
    list.replaceChildren(h("table.table.stack", { id: "employees-table" },
      h("thead", h("tr", ...["Name", "Code", "Department", "Status", "Faces", ""].map((t) => h("th", t)))),
      h("tbody", ...employees.map((e) => h("tr", { "data-employee-row": e.id },
        h("td", { "data-label": "Name" }, e.name), h("td", { "data-label": "Code" }, e.code),
        h("td", { "data-label": "Department" }, e.department || "—"), h("td", { "data-label": "Status" }, e.status.toLowerCase()),
        h("td", { "data-label": "Faces" }, h("button.btn-ghost.face-library", { onclick: () => faceLibrary(e, admin, load) }, `${e.faceTemplates} · view`)),
        h("td.space-x-1.whitespace-nowrap", admin ? [
          h("button.btn-ghost.edit-employee", { onclick: () => editDialog(e, () => attempt(load)) }, "Edit"),
          h("button.btn-danger.delete-employee", { onclick: () => remove(e) }, "Delete"),
        ] : null))))));
  };
  const intro = admin ? h("p.text-sm.text-slate-500", "Add a new employee here; use Edit on a row to change an existing one.") : null;
  return [section("Employees", ...(admin ? [intro!, form] : []), list), load];
}
