// End-to-end: a real `facewatch serve` on its own PostgreSQL database, driven through headless
// Debian Chromium. Log in, add an employee and a camera, change the schedule, post a sighting through
// the API and watch the presence card and the alert badge change live, download an xlsx, replay.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SHOTS, openBrowser, startFacewatch, waitFor as waitOn } from "./support.mjs";

const ADMIN = "admin";
const PASSWORD = "e2e-admin-password";

let server, browser, page, base, token;
const waitFor = (what, probe, timeoutMs = 60_000) => waitOn(server, what, probe, timeoutMs);

/** The test itself acts as an API client (like a camera pipeline would) with a bearer token. */
async function gql(query, variables = {}) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

const hhmm = (date) => date.toISOString().slice(11, 16);

async function screenshot(name, fullPage = true) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });
}

before(async () => {
  server = await startFacewatch("dashboard", ["serve"], {
    FACEWATCH_CAMERAS__ENABLED: "false",
    FACEWATCH_PRESENCE__PRESENT_TIMEOUT_SEC: "2",
    FACEWATCH_PRESENCE__ABSENCE_CHECK_INTERVAL_SEC: "1",
    FACEWATCH_ADMIN_USER: ADMIN,
    FACEWATCH_ADMIN_PASSWORD: PASSWORD,
  });
  base = server.base;
  const login = await waitFor("the admin to log in", async () => {
    const r = await fetch(`${base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: ADMIN, password: PASSWORD }),
    });
    return r.ok && r.json();
  });
  token = login.token;
  ({ browser, page } = await openBrowser({ acceptDownloads: true }));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("dashboard: login, settings, live presence and alerts, reports, audit", async () => {
  // Login: a wrong password is refused, the right one opens the dashboard.
  await page.goto(base);
  await page.fill("input[name=username]", ADMIN);
  await page.fill("input[name=password]", "wrong-password");
  await page.click("button[type=submit]");
  await page.waitForSelector("#login-error:has-text('invalid username or password')");
  await screenshot("login", false);
  await page.fill("input[name=password]", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector(`#whoami:has-text('${ADMIN} (admin)')`);

  // Settings: add an employee and a camera, change the schedule.
  await page.click("a[href='#/settings']");
  const employeeForm = page.locator("#employee-form");
  await employeeForm.locator("input[name=name]").fill("Ana Lopez");
  await employeeForm.locator("input[name=code]").fill("E-001");
  await employeeForm.locator("input[name=department]").fill("Operations");
  await employeeForm.locator("button[type=submit]").click();
  await page.waitForSelector("td:has-text('Ana Lopez')");
  const cameraForm = page.locator("#camera-form");
  await cameraForm.locator("input[name=id]").fill("CAM1");
  await cameraForm.locator("input[name=name]").fill("Front door");
  await cameraForm.locator("input[name=location]").fill("Lobby");
  await cameraForm.locator("input[name=streamUrl]").fill("rtsp://10.0.0.5/stream1");
  await cameraForm.locator("button[type=submit]").click();
  await page.waitForSelector("td:has-text('Front door')");

  // Work hours around now on every day, so that leaving now is a violation.
  const now = new Date();
  const start = hhmm(new Date(now.getTime() - 2 * 3600_000));
  const end = hhmm(new Date(now.getTime() + 2 * 3600_000));
  const schedule = page.locator("#schedule-form");
  for (const day of ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]) {
    await schedule.locator(`input[name=on-${day}]`).check();
    await schedule.locator(`input[name=start-${day}]`).fill(start);
    await schedule.locator(`input[name=end-${day}]`).fill(end);
  }
  await schedule.locator("input[name=lunchStart]").fill("");
  await schedule.locator("input[name=lunchEnd]").fill("");
  await schedule.locator("select[name=timezone]").selectOption("UTC");
  await schedule.locator("button[type=submit]").click();
  // Wait for the save itself: within the default schedule's hours the state is ACTIVE already.
  await page.locator("[role=status]:has-text('Schedule saved')").waitFor();
  await page.waitForSelector("#monitoring-state:has-text('ACTIVE')");
  const saved = (await gql("{ schedule { workHours { weekday start } timezone } }")).schedule;
  assert.equal(saved.workHours.length, 7);
  assert.equal(saved.workHours[0].start.slice(0, 5), start);
  await screenshot("settings");

  // Live: a sighting posted through the API flips the card to IN without a reload; when the
  // absence watcher records the exit during work hours, the alert badge counts it.
  await page.click("a[href='#/live']");
  const ana = (await gql("{ employees { id name } }")).employees.find((e) => e.name === "Ana Lopez");
  const card = page.locator(`[data-employee='${ana.id}']`);
  await card.locator(".presence:has-text('OUT')").waitFor();
  await page.evaluate(() => (window.__noReload = true));
  await gql("mutation($i: SightingInput!) { recordSighting(input: $i) { id } }", {
    i: { employeeId: ana.id, cameraId: "CAM1", similarity: 0.93 },
  });
  await card.locator(".presence:has-text('IN')").waitFor({ timeout: 15_000 });
  await page.locator("#alert-badge:has-text('1')").waitFor({ timeout: 30_000 });
  assert.equal(await page.evaluate(() => window.__noReload), true, "the page must not reload");
  await screenshot("live");
  await page.click("#alert-bell");
  await page.locator("#alert-list:has-text('Ana Lopez')").waitFor();
  await screenshot("notifications", false);
  await page.click("#alert-bell");
  // Coming back resolves the alert: it leaves the badge and the dropdown, still without a reload.
  await gql("mutation($i: SightingInput!) { recordSighting(input: $i) { id } }", {
    i: { employeeId: ana.id, cameraId: "CAM1", similarity: 0.91 },
  });
  await page.locator("#alert-badge").waitFor({ state: "hidden", timeout: 15_000 });
  await page.locator("#alert-list:has-text('No open alerts')").waitFor({ state: "attached" });
  assert.equal(await page.evaluate(() => window.__noReload), true, "the page must not reload");

  // Reports: today's attendance shows Ana; "Export Excel" downloads the filtered table as xlsx.
  await page.click("a[href='#/reports']");
  await page.locator("#attendance-table td:has-text('Ana Lopez')").waitFor();
  await page.locator("#alerts-table td:has-text('Ana Lopez')").first().waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export-attendance")]);
  const file = await download.path();
  const bytes = readFileSync(file);
  assert.equal(bytes.subarray(0, 2).toString(), "PK", "an xlsx is a zip file");
  assert.match(download.suggestedFilename(), /\.xlsx$/);
  await screenshot("reports");

  // Audit: the event log lists the sighting with who caused it, and a replay matches every read
  // model.
  await page.click("a[href='#/audit']");
  await page.locator("#events-table .event-type:text-is('EmployeeEntered')").first().waitFor();
  await page.locator("#events-table .event-actor:text-is('admin')").first().waitFor();
  await page.locator("#events-table .event-summary:has-text('Enrolled Ana Lopez (E-001)')").waitFor();
  await page.locator("#events-table .event-summary:has-text('Ana Lopez came in at Front door')").first().waitFor();
  await page.click("#replay");
  await page.locator("#replay-result:has-text('All read models match')").waitFor({ timeout: 60_000 });
  await screenshot("audit");

  // Roles: the admin creates a viewer, who sees the dashboard read-only and whose cookie session
  // cannot mutate even when bypassing the UI.
  await page.click("a[href='#/settings']");
  const userForm = page.locator("#user-form");
  await userForm.locator("input[name=username]").fill("viewer1");
  await userForm.locator("input[name=password]").fill("viewer-password");
  await userForm.locator("button[type=submit]").click();
  await page.locator("[role=status]:has-text('User created')").waitFor();
  await page.click("text=Sign out");
  // The settings page has a username field too: wait until the login screen has replaced it.
  await page.locator("text=Sign in to the dashboard").waitFor();
  await page.fill("input[name=username]", "viewer1");
  await page.fill("input[name=password]", "viewer-password");
  await page.click("button[type=submit]");
  await page.waitForSelector("#whoami:has-text('viewer1 (viewer)')");
  await page.click("a[href='#/settings']");
  await page.locator("#read-only-note").waitFor();
  assert.equal(await page.locator("#employee-form").count(), 0);
  const refused = await page.evaluate(async () => {
    const body = JSON.stringify({ query: "mutation { resumeSchedule { mode } }" });
    const r = await fetch("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body });
    return r.json();
  });
  assert.equal(refused.errors[0].message, "forbidden: admin role required");
});
