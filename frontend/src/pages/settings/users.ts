// Users: a table with role and status; create, change password, change role, disable. Nobody
// can disable or demote themself, nor the last enabled admin (the server refuses both too).
import { gql, type Me } from "../../api";
import type { UserEntry } from "../../generated/graphql";
import { h, attempt, confirmDialog, field, fmtTime, formValues, modal } from "../../dom";
import { section } from "./section";

type UserRow = Pick<UserEntry, "username" | "role" | "disabled" | "createdAt">;

function passwordDialog(u: UserRow) {
  const form = h("form.space-y-2", field("New password (12+ characters)", h("input.input.w-full", { name: "password", type: "password", required: true, minlength: 12, autocomplete: "new-password" }))) as HTMLFormElement;
  modal(`Password of ${u.username}`, form, (close) => [
    h("button.btn-ghost", { type: "button", onclick: close }, "Cancel"),
    h("button.btn", { type: "button", onclick: () => form.reportValidity() && attempt(async () => {
      await gql(`mutation($u: String!, $p: String!) { changePassword(username: $u, password: $p) }`, { u: u.username, p: formValues(form).password });
      close();
    }, "Password changed; their sessions ended") }, "Change password"),
  ]);
}

export function usersSection(me: Me): [HTMLElement, () => Promise<void>] {
  const list = h("div.overflow-auto");
  const create = h("form.grid.gap-2.sm:grid-cols-4.items-end", { id: "user-form" },
    field("Username", h("input.input.w-full", { name: "username", required: true, autocomplete: "off" })),
    field("Password (12+ characters)", h("input.input.w-full", { name: "password", type: "password", required: true, minlength: 12, autocomplete: "new-password" })),
    field("Role", h("select.input.w-full", { name: "role" }, h("option", { value: "VIEWER" }, "viewer"), h("option", { value: "ADMIN" }, "admin"))),
    h("button.btn", { type: "submit" }, "Create user")) as HTMLFormElement;
  create.onsubmit = (event) => {
    event.preventDefault();
    const v = formValues(create);
    attempt(async () => {
      await gql(`mutation($u: String!, $p: String!, $r: UserRole!) { createUser(username: $u, password: $p, role: $r) { username } }`, { u: v.username, p: v.password, r: v.role });
      create.reset();
      await load();
    }, "User created");
  };
  const load = async () => {
    const users: UserRow[] = (await gql(`{ users { username role disabled createdAt } }`)).users;
    const admins = users.filter((u) => u.role === "ADMIN" && !u.disabled).length;
    const row = (u: UserRow) => {
      const self = u.username === me.username;
      const lastAdmin = u.role === "ADMIN" && !u.disabled && admins <= 1;
      // Why a control is off, said on the control itself.
      const locked = self ? "You cannot change your own role or disable yourself" : lastAdmin ? "The last admin cannot be demoted or disabled" : "";
      const role = h("select.input.text-sm", { disabled: !!locked || u.disabled, title: locked, "aria-label": `role of ${u.username}`,
        onchange: async (ev: Event) => {
          const select = ev.target as HTMLSelectElement;
          if (!(await confirmDialog(`Make ${u.username} ${select.value.toLowerCase()}?`, "Change role", false))) {
            select.value = u.role;
            return;
          }
          attempt(async () => {
            await gql(`mutation($u: String!, $r: UserRole!) { setUserRole(username: $u, role: $r) { username } }`, { u: u.username, r: select.value });
            await load();
          }, "Role changed");
        } },
        h("option", { value: "ADMIN", selected: u.role === "ADMIN" }, "admin"), h("option", { value: "VIEWER", selected: u.role === "VIEWER" }, "viewer"));
      return h("tr", { "data-user": u.username },
        h("td", { "data-label": "User" }, u.username, self ? h("span.text-xs.text-slate-500", " (you)") : null),
        h("td", { "data-label": "Role" }, role),
        h("td", { "data-label": "Status" }, u.disabled ? h("span.pill.bg-slate-200.text-slate-700", "disabled") : h("span.pill.bg-emerald-100.text-emerald-800", "active")),
        h("td", { "data-label": "Created" }, fmtTime(u.createdAt)),
        h("td.space-x-1.whitespace-nowrap", u.disabled ? null : [
          h("button.btn-ghost", { type: "button", onclick: () => passwordDialog(u) }, "Password…"),
          h("button.btn-danger.disable-user", { type: "button", disabled: !!locked, title: locked, onclick: async () => {
            if (!(await confirmDialog(`Disable ${u.username}? Their sessions end now.`, "Disable user"))) return;
            attempt(async () => {
              await gql(`mutation($u: String!) { disableUser(username: $u) }`, { u: u.username });
              await load();
            }, "User disabled");
          } }, "Disable"),
        ]));
    };
    list.replaceChildren(h("table.table.stack", { id: "users-table" },
      h("thead", h("tr", ...["User", "Role", "Status", "Created", ""].map((t) => h("th", t)))),
      h("tbody", ...users.map(row))));
  };
  return [section("Users", create, list), load];
}
