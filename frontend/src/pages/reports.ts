import { gql } from "../api";
import { h, attempt, field, formValues, fmtTime, today } from "../dom";
import type { Page } from "../main";

function photo(ref?: string | null): HTMLElement | null {
  return ref ? h("a", { href: `/api/files/${ref}`, target: "_blank" }, h("img.h-12.w-16.object-cover.rounded", { src: `/api/files/${ref}`, alt: "snapshot", loading: "lazy" })) : null;
}

function query(params: Record<string, string>): string {
  return new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();
}

/** `<input type=date>` values as the [start of from, start of the day after to) instants in UTC. */
function dayRange(from: string, to: string): { from: string; to: string } {
  const end = new Date(`${to || from}T00:00:00Z`);
  end.setUTCDate(end.getUTCDate() + 1);
  return { from: `${from}T00:00:00Z`, to: end.toISOString() };
}

async function employeeOptions(): Promise<HTMLElement[]> {
  const employees = (await gql(`{ employees { id name status } }`)).employees.filter((e: any) => e.status !== "DELETED");
  return [h("option", { value: "" }, "All employees"), ...employees.map((e: any) => h("option", { value: e.id }, e.name))];
}

function attendanceSection(options: HTMLElement[]): HTMLElement {
  const table = h("div.overflow-auto", { id: "attendance-table" });
  const exportLink = h("a.btn-ghost", { id: "export-attendance", download: true }, "Export Excel") as HTMLAnchorElement;
  const form = h("form.flex.gap-2.items-end.flex-wrap",
    field("Day", h("input.input", { type: "date", name: "date", value: today(), required: true })),
    field("To (optional)", h("input.input", { type: "date", name: "date_to" })),
    field("Employee", h("select.input", { name: "employee_id" }, ...options.map((o) => o.cloneNode(true) as HTMLElement))),
    h("button.btn", { type: "submit" }, "Show"), exportLink) as HTMLFormElement;
  const load = async () => {
    const f = formValues(form);
    exportLink.href = `/api/report/attendance?${query({ ...f, format: "xlsx" })}`;
    const rows = (await gql(`query($from: NaiveDate!, $to: NaiveDate, $e: String) { attendance(from: $from, to: $to, employeeId: $e) {
      employeeId employeeName employeeCode department day firstIn firstInCamera firstInPhoto lastOut lastOutCamera lastOutPhoto entryType note } }`,
      { from: f.date, to: f.date_to || null, e: f.employee_id || null })).attendance;
    table.replaceChildren(h("table.table",
      h("thead", h("tr", ...["Day", "Employee", "Code", "First In", "", "Last Out", "", "Entry type", "Note"].map((t) => h("th", t)))),
      h("tbody", ...(rows.length ? rows.map((r: any) => h("tr",
        h("td", r.day), h("td", r.employeeName), h("td", r.employeeCode),
        h("td", fmtTime(r.firstIn), h("div.text-xs.text-slate-500", r.firstInCamera ?? "")), h("td", photo(r.firstInPhoto)),
        h("td", fmtTime(r.lastOut), h("div.text-xs.text-slate-500", r.lastOutCamera ?? "")), h("td", photo(r.lastOutPhoto)),
        h("td", r.entryType), h("td", r.note))) : [h("tr", h("td.text-slate-500", { colspan: 9 }, "No attendance for this filter"))]))));
  };
  form.onsubmit = (e) => { e.preventDefault(); attempt(load); };
  form.onchange = () => attempt(load);
  attempt(load);
  return h("section.card.space-y-3", h("h2.h2", "Attendance"), form, table);
}

function alertsSection(options: HTMLElement[]): HTMLElement {
  const table = h("div.overflow-auto", { id: "alerts-table" });
  const exportLink = h("a.btn-ghost", { id: "export-alerts", download: true }, "Export Excel") as HTMLAnchorElement;
  const form = h("form.flex.gap-2.items-end.flex-wrap",
    field("From", h("input.input", { type: "date", name: "date_from", value: today(), required: true })),
    field("To", h("input.input", { type: "date", name: "date_to", value: today(), required: true })),
    field("Employee", h("select.input", { name: "employee_id" }, ...options.map((o) => o.cloneNode(true) as HTMLElement))),
    h("button.btn", { type: "submit" }, "Show"), exportLink) as HTMLFormElement;
  const load = async () => {
    const f = formValues(form);
    exportLink.href = `/api/report/alerts?${query({ ...f, format: "xlsx" })}`;
    const range = dayRange(f.date_from, f.date_to);
    const rows = (await gql(`query($from: DateTime!, $to: DateTime!, $e: String) { alerts(from: $from, to: $to, employeeId: $e) {
      id employeeName cameraId cameraName raisedAt detectedAt resolvedAt open reason } }`, { ...range, e: f.employee_id || null })).alerts;
    table.replaceChildren(h("table.table",
      h("thead", h("tr", ...["Raised", "Employee", "Camera", "Reason", "Resolved"].map((t) => h("th", t)))),
      h("tbody", ...(rows.length ? rows.map((a: any) => h("tr",
        h("td", fmtTime(a.raisedAt)), h("td", a.employeeName), h("td", a.cameraName ?? a.cameraId), h("td", a.reason),
        h("td", a.open ? h("span.pill.bg-rose-100.text-rose-800", "open") : fmtTime(a.resolvedAt)))) : [h("tr", h("td.text-slate-500", { colspan: 5 }, "No alerts in this range"))]))));
  };
  form.onsubmit = (e) => { e.preventDefault(); attempt(load); };
  form.onchange = () => attempt(load);
  attempt(load);
  return h("section.card.space-y-3", h("h2.h2", "Alert log"), form, table);
}

function correctionSection(options: HTMLElement[]): HTMLElement {
  const toIso = (local: string) => (local ? new Date(local).toISOString() : null);
  const form = h("form.grid.gap-2.sm:grid-cols-3.items-end", { id: "correction-form" },
    field("Employee", h("select.input.w-full", { name: "employeeId", required: true }, ...options.slice(1).map((o) => o.cloneNode(true) as HTMLElement))),
    field("Day", h("input.input.w-full", { type: "date", name: "day", value: today(), required: true })),
    field("First in", h("input.input.w-full", { type: "datetime-local", name: "firstIn" })),
    field("Last out", h("input.input.w-full", { type: "datetime-local", name: "lastOut" })),
    field("Note", h("input.input.w-full", { name: "note", placeholder: "reason for the correction" })),
    h("button.btn", { type: "submit" }, "Save correction")) as HTMLFormElement;
  form.onsubmit = (event) => {
    event.preventDefault();
    const f = formValues(form);
    attempt(() => gql(`mutation($i: AttendanceCorrectionInput!) { correctAttendance(input: $i) { day } }`,
      { i: { employeeId: f.employeeId, day: f.day, firstIn: toIso(f.firstIn), lastOut: toIso(f.lastOut), note: f.note } }), "Attendance corrected");
  };
  return h("section.card.space-y-3", h("h2.h2", "Manual attendance correction"), form);
}

function resetSection(): HTMLElement {
  const result = h("p.text-sm", { id: "reset-result" });
  const form = h("form.flex.gap-2.items-end.flex-wrap",
    field("What", h("select.input", { name: "scope" }, h("option", { value: "EVENTS" }, "events"), h("option", { value: "ALERTS" }, "alerts"), h("option", { value: "BOTH" }, "both"))),
    field("From (optional)", h("input.input", { type: "date", name: "from" })),
    field("To (optional)", h("input.input", { type: "date", name: "to" })),
    h("button.btn-danger", { type: "submit" }, "Reset logs")) as HTMLFormElement;
  form.onsubmit = (event) => {
    event.preventDefault();
    const f = formValues(form);
    const range = f.from || f.to ? ` from ${f.from || "the beginning"} to ${f.to || "now"}` : " (all dates)";
    if (!confirm(`Delete ${f.scope.toLowerCase()} log rows${range}? The event store keeps the facts.`)) return;
    attempt(async () => {
      const r = (await gql(`mutation($s: LogScope!, $f: NaiveDate, $t: NaiveDate) { resetLogs(scope: $s, from: $f, to: $t) { eventRows alertRows } }`,
        { s: f.scope, f: f.from || null, t: f.to || null })).resetLogs;
      result.textContent = `Deleted ${r.eventRows} event rows and ${r.alertRows} alert rows.`;
    });
  };
  return h("section.card.space-y-3", h("h2.h2", "Reset logs"), form, result);
}

export const reportsPage: Page = (root, user) => {
  attempt(async () => {
    const options = await employeeOptions();
    root.append(h("div.space-y-4", attendanceSection(options), alertsSection(options),
      user.role === "ADMIN" ? [correctionSection(options), resetSection()] : null));
  });
  return () => {};
};
