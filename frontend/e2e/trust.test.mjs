// End-to-end, issue "a dashboard a guard and an office manager can trust": a real `facewatch serve`
// with the real face models (no cameras), driven through headless Debian Chromium whose time zone
// is 25 hours away from the schedule's. A wrong face is refused naming whom it matches; Cancel in
// the edit dialog changes nothing; a stopped server shows the banner until it is back; a deleted
// cookie lands on the login screen; days and times follow the schedule's zone; acknowledging an
// alert records who; a viewer cannot type into Settings; the last admin cannot be disabled.
// Screenshots at 1280 and 390 px wide go to docs/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { ROOT, SHOTS, apiClient, openBrowser, signIn, startFacewatch, waitFor as waitOn } from "./support.mjs";

const ADMIN = "admin";
const PASSWORD = "e2e-trust-password";
// The schedule's zone and the browser's: UTC+14 and UTC−11, so their dates always differ.
const SCHEDULE_ZONE = "Pacific/Kiritimati";
const BROWSER_ZONE = "Pacific/Pago_Pago";
const PHOTOS = join(ROOT, "models/test-images");

let server, browser, page, api;
const waitFor = (what, probe, timeoutMs = 60_000) => waitOn(server, what, probe, timeoutMs);
const photo = (name) => readFileSync(join(PHOTOS, name)).toString("base64");

/** Today in `zone`, "YYYY-MM-DD". */
const dayIn = (zone, at = new Date()) => new Intl.DateTimeFormat("en-CA", { timeZone: zone }).format(at);

async function shot(name, width = 1280) {
  await page.setViewportSize({ width, height: width === 1280 ? 860 : 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  if (width < 640) {
    // A phone never scrolls sideways: everything fits the width.
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= width, `${name}: the page is ${wide} px wide on a ${width} px screen`);
  }
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: width !== 1280 });
  await page.setViewportSize({ width: 1280, height: 860 });
}

async function employee(name, code) {
  const d = await api.gql("mutation($i: EmployeeInput!) { enrollEmployee(input: $i) { id } }", { i: { name, code } });
  return d.enrollEmployee.id;
}

before(async () => {
  // Presence times out after 2 s, so a camera may report at most every second.
  const aiParams = join(mkdtempSync(join(tmpdir(), "fw-e2e-ai-")), "ai.toml");
  writeFileSync(aiParams, "sighting_interval_sec = 1\n");
  server = await startFacewatch("trust", ["serve"], {
    FACEWATCH_CAMERAS__AI_PARAMS_FILE: aiParams,
    FACEWATCH_PRESENCE__PRESENT_TIMEOUT_SEC: "2",
    FACEWATCH_PRESENCE__ABSENCE_CHECK_INTERVAL_SEC: "1",
    FACEWATCH_ADMIN_USER: ADMIN,
    FACEWATCH_ADMIN_PASSWORD: PASSWORD,
  });
  api = await apiClient(server, ADMIN, PASSWORD);
  // Work hours all day in the schedule's zone: leaving now is a violation.
  const allDay = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"].map((weekday) => ({ weekday, start: "00:00", end: "23:59" }));
  await api.gql("mutation($i: ScheduleInput!) { saveSchedule(input: $i) { timezone } }",
    { i: { workHours: allDay, timezone: SCHEDULE_ZONE, alertMinIntervalSec: 0 } });
  ({ browser, page } = await openBrowser({ timezoneId: BROWSER_ZONE, locale: "en-GB" }));
  await signIn(page, server.base, ADMIN, PASSWORD);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a photo of somebody else is refused naming them; the face library shows, confirms and deletes", async () => {
  const obama = await employee("Barack Obama", "T-OBAMA");
  const ana = await employee("Ana Lopez", "T-ANA");
  await api.gql("mutation($e: String!, $b: String!) { enrollFacePhoto(employeeId: $e, pose: FRONT, photoBase64: $b) { id } }", { e: obama, b: photo("obama.jpg") });

  // The API refuses it for any client, with a code and the name.
  const refused = await api.raw("mutation($e: String!, $b: String!) { enrollFacePhoto(employeeId: $e, pose: LEFT, photoBase64: $b) { id } }", { e: ana, b: photo("obama3.jpg") });
  assert.equal(refused.errors?.[0]?.extensions?.code, "FACE_MATCHES_OTHER", JSON.stringify(refused));
  assert.match(refused.errors[0].message, /this face matches Barack Obama/);
  const form = new FormData();
  form.append("left", new Blob([readFileSync(join(PHOTOS, "obama3.jpg"))], { type: "image/jpeg" }), "left.jpg");
  const rest = await fetch(`${server.base}/api/employees/${ana}/face_templates`, { method: "POST", headers: { authorization: `Bearer ${api.token}` }, body: form });
  assert.equal(rest.status, 409);
  assert.match((await rest.json()).error, /this face matches Barack Obama/);

  await page.click("a[href='#/settings']");
  const row = page.locator(`[data-employee-row='${ana}']`);
  await row.locator("button.face-library").click();
  await page.locator("#face-library:has-text('No face enrolled yet')").waitFor();
  await page.selectOption("select[name=pose]", "LEFT");
  await page.setInputFiles("input[name=photo]", join(PHOTOS, "obama3.jpg"));
  await page.click("#upload-face");
  await page.locator(".face-check-message:has-text('this face matches Barack Obama')").waitFor();
  const stored = await api.gql("query($id: String!) { employee(id: $id) { faceTemplates } }", { id: ana });
  assert.equal(stored.employee.faceTemplates, 0, "nothing stored before the admin confirms");
  await shot("face-check");

  // An admin may still confirm it (a look-alike); the library then shows it with its photo.
  await page.click("#enrol-anyway");
  const tile = page.locator("#face-library .face-template");
  await tile.first().waitFor();
  assert.match(await tile.first().textContent(), /left.*uploaded photo/s);
  await waitFor("the template's photo", () => page.evaluate(() => document.querySelector("#face-library img")?.naturalWidth > 0));
  // Deleting asks first; then the cameras stop matching it.
  await tile.first().locator("button.delete-template").click();
  await page.click(".confirm-yes");
  await page.locator("#face-library:has-text('No face enrolled yet')").waitFor();
  const after = await api.gql("query($id: String!) { employee(id: $id) { faceTemplates faces { id } } }", { id: ana });
  assert.deepEqual([after.employee.faceTemplates, after.employee.faces.length], [0, 0]);
  await page.click("#close-faces");
});

test("edit dialog: Cancel changes nothing, Save renames, adding never edits", async () => {
  const ana = (await api.gql("{ employees { id name } }")).employees.find((e) => e.name === "Ana Lopez").id;
  await page.click("a[href='#/settings']");
  const row = page.locator(`[data-employee-row='${ana}']`);
  await row.locator("button.edit-employee").click();
  const dialog = page.locator("[role=dialog][aria-label='Editing Ana Lopez']");
  await dialog.waitFor();
  await dialog.locator("input[name=name]").fill("Somebody Else");
  await page.click("#edit-cancel");
  await dialog.waitFor({ state: "detached" });
  assert.equal((await api.gql("query($id: String!) { employee(id: $id) { name } }", { id: ana })).employee.name, "Ana Lopez");
  await row.locator("td:has-text('Ana Lopez')").waitFor();

  // Escape closes it without saving as well; Save renames.
  await row.locator("button.edit-employee").click();
  await dialog.locator("input[name=name]").fill("Somebody Else");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.equal((await api.gql("query($id: String!) { employee(id: $id) { name } }", { id: ana })).employee.name, "Ana Lopez");
  await row.locator("button.edit-employee").click();
  await dialog.locator("input[name=name]").fill("Ana María Lopez");
  await page.click("#edit-save");
  await page.locator(`[data-employee-row='${ana}'] td:has-text('Ana María Lopez')`).waitFor();
  // The add form always adds: a new hire typed there is a new employee.
  const form = page.locator("#employee-form");
  await form.locator("input[name=name]").fill("New Hire");
  await form.locator("input[name=code]").fill("T-NEW");
  await form.locator("button[type=submit]").click();
  await page.locator("td:has-text('New Hire')").waitFor();
  const names = (await api.gql("{ employees { name } }")).employees.map((e) => e.name).sort();
  assert.deepEqual(names, ["Ana María Lopez", "Barack Obama", "New Hire"]);
});

test("one time zone: default day, day window and times follow the schedule's, not the browser's", async () => {
  const ana = (await api.gql("{ employees { id name } }")).employees.find((e) => e.name.startsWith("Ana")).id;
  const day = dayIn(SCHEDULE_ZONE);
  assert.notEqual(day, dayIn(BROWSER_ZONE), "the zones are a day apart");
  await page.click("a[href='#/reports']");
  await page.locator("#time-zone:has-text('times in Pacific/Kiritimati')").waitFor();
  assert.equal(await page.inputValue("#correction-form input[name=day]"), day, "today is the schedule's today");
  const form = page.locator("#correction-form");
  await form.locator("select[name=employeeId]").selectOption(ana);
  await form.locator("input[name=firstIn]").fill("08:55");
  await form.locator("input[name=lastOut]").fill("17:05");
  await form.locator("input[name=note]").fill("forgot the badge");
  await form.locator("button[type=submit]").click();
  await page.locator("[role=status]:has-text('Attendance corrected')").waitFor();
  // Stored as 08:55 on the schedule's clock (UTC+14), shown as typed, the form reset.
  const row = (await api.gql("query($d: NaiveDate!) { attendance(from: $d) { employeeId firstIn lastOut note } }", { d: day })).attendance.find((r) => r.employeeId === ana);
  const expected = new Date(Date.parse(`${day}T08:55:00Z`) - 14 * 3600_000).toISOString();
  assert.equal(new Date(row.firstIn).toISOString(), expected);
  assert.equal(row.note, "forgot the badge");
  const table = page.locator("#attendance-table");
  await table.locator("td:has-text('08:55')").waitFor();
  await table.locator("td:has-text('17:05')").waitFor();
  assert.equal(await form.locator("input[name=note]").inputValue(), "", "the form is reset after saving");

  // A time that is not on the chosen day is refused by the server as well.
  const wrongDay = await api.raw("mutation($e: String!, $d: NaiveDate!, $t: DateTime!) { correctAttendance(input: {employeeId: $e, day: $d, firstIn: $t}) { day } }",
    { e: ana, d: day, t: new Date(Date.parse(`${day}T08:55:00Z`) + 86_400_000).toISOString() });
  assert.match(wrongDay.errors?.[0]?.message ?? "", /not on/);
  // A reversed range is said, not shown as "no alerts", and there is nothing to export.
  const alertLog = page.locator("section:has(#alerts-table)");
  await alertLog.locator("input[name=date_from]").fill("2099-12-31");
  await alertLog.locator("input[name=date_from]").dispatchEvent("change");
  await page.locator("#alerts-problem:has-text('is before')").waitFor();
  assert.equal(await page.locator("#alerts-table").innerHTML(), "", "no stale rows");
  await alertLog.locator("input[name=date_from]").fill(day);
  await alertLog.locator("input[name=date_from]").dispatchEvent("change");
  await page.locator("#alerts-table table").waitFor();
  await shot("reports-390", 390);
});

test("acknowledging an alert records who did it, with the note", async () => {
  const ana = (await api.gql("{ employees { id name } }")).employees.find((e) => e.name.startsWith("Ana")).id;
  await api.gql("mutation { addCamera(input: {id: \"CAM1\", name: \"Front door\", streamUrl: \"rtsp://127.0.0.1:9/none\"}) { id } }");
  await api.gql("mutation($e: String!) { recordSighting(input: {employeeId: $e, cameraId: \"CAM1\", similarity: 0.9}) { id } }", { e: ana });
  await page.click("nav a[href='#/alerts']");
  const card = page.locator(".alert-card").first();
  await card.waitFor({ timeout: 30_000 });
  assert.match(await card.locator(".alert-text").textContent(), /Ana María Lopez left during work hours at .*Front door/);
  await page.locator("#presence-counts:has-text('0 in / 3 out')").waitFor();
  await card.locator("input[name=note]").fill("went to the bank, approved");
  await card.locator("button[type=submit]").click();
  await card.locator(".alert-ack:has-text('Acknowledged by admin')").waitFor();
  const alerts = (await api.gql("{ openAlerts { acknowledgedBy ackNote } }")).openAlerts;
  assert.deepEqual(alerts[0], { acknowledgedBy: "user:admin", ackNote: "went to the bank, approved" });
  const audit = (await api.gql("{ events(eventType: \"Acknowledged\", limit: 5) { actor employeeId } }")).events;
  assert.deepEqual(audit[0], { actor: "user:admin", employeeId: ana });
  await shot("alerts");
  await shot("alerts-390", 390);
  // The audit page says it in words, with who.
  await page.click("a[href='#/audit']");
  await page.selectOption("#event-type", "Acknowledged");
  await page.locator("#events-table .event-summary:has-text('Acknowledged the alert about Ana María Lopez')").waitFor();
  await page.locator("#events-table .event-actor:text-is('admin')").first().waitFor();
});

test("users: the last admin cannot be disabled or demoted; a viewer cannot type into Settings", async () => {
  await page.click("a[href='#/settings']");
  const userForm = page.locator("#user-form");
  await userForm.locator("input[name=username]").fill("guard");
  await userForm.locator("input[name=password]").fill("guard-password-1");
  await userForm.locator("button[type=submit]").click();
  const me = page.locator("#users-table [data-user='admin']");
  await page.locator("#users-table [data-user='guard']").waitFor();
  assert.equal(await me.locator("button.disable-user").isDisabled(), true, "the last admin's Disable is off");
  assert.equal(await me.locator("select").isDisabled(), true, "and so is their role");
  // The camera of the alert test points at a closed port: its live status and the connection test say so.
  await page.locator("[data-camera-row='CAM1'] .camera-status").filter({ hasText: /offline|connecting/ }).waitFor();
  await page.click("[data-camera-row='CAM1'] button.test-connection");
  await page.locator("#connection-answer").filter({ hasText: /^Not connected/ }).waitFor();
  await page.keyboard.press("Escape");
  const refused = await api.raw("mutation { disableUser(username: \"admin\") }");
  assert.match(refused.errors?.[0]?.message ?? "", /cannot disable your own account/);
  await shot("users");
  await shot("settings-390", 390);

  const viewerContext = await browser.newContext({ viewport: { width: 1280, height: 860 }, timezoneId: BROWSER_ZONE });
  const viewer = await viewerContext.newPage();
  await signIn(viewer, server.base, "guard", "guard-password-1");
  await viewer.click("a[href='#/settings']");
  await viewer.locator("#read-only-note").waitFor();
  await viewer.locator("#schedule-form input[name=lunchStart]").waitFor();
  const editable = await viewer.evaluate(() =>
    [...document.querySelectorAll("#settings input, #settings select, #settings textarea")].filter((el) => !el.matches(":disabled")).length);
  assert.equal(editable, 0, "every control of a viewer's Settings is disabled");
  assert.equal(await viewer.locator("#schedule-form input[name=lunchStart]").isEditable(), false);
  await viewerContext.close();
});

test("connection: a stopped server shows the banner until it is back; a deleted cookie lands on the login screen", async () => {
  await page.click("a[href='#/live']");
  const banner = page.locator("#connection-banner");
  assert.equal(await banner.isHidden(), true);
  await shot("live-390", 390);
  await server.halt();
  await banner.waitFor({ state: "visible", timeout: 15_000 });
  await server.restart();
  await banner.waitFor({ state: "hidden", timeout: 30_000 });

  await page.context().clearCookies();
  await page.click("a[href='#/reports']");
  await page.locator("#session-notice:has-text('Your session has ended')").waitFor({ timeout: 15_000 });
  assert.equal(await page.locator("#whoami").count(), 0);
  await signIn(page, server.base, ADMIN, PASSWORD);
});
