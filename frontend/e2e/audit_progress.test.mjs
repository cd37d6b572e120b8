// End-to-end, issue 15 "progress shown on the CLI and on the Audit page": a real `facewatch serve`
// and, next to it, real `facewatch replay --from-snapshot` processes on the same database, watched
// through headless Debian Chromium. The replay is held part-way by a row lock that the test takes
// on the audit snapshot (so that "running" lasts as long as the test needs, not as long as the
// machine is slow): the Audit page shows its progress bar, position, events/s and ETA, refreshing
// by itself; once the lock goes, the run finishes and the page shows the result instead. A run
// killed part-way is shown as stopped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { SHOTS, apiClient, openBrowser, runFacewatch, signIn, startFacewatch, waitFor as waitOn } from "./support.mjs";

const ADMIN = "admin";
const PASSWORD = "e2e-audit-password";

let server, browser, page, api;
const waitFor = (what, probe, timeoutMs = 60_000) => waitOn(server, what, probe, timeoutMs);

/** A psql session that holds a row lock until `release()`. */
async function lockRow(sql) {
  const psql = spawn("psql", ["-h", "127.0.0.1", "-U", "postgres", "-d", server.database, "-v", "ON_ERROR_STOP=1"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  psql.stdout.on("data", (d) => (output += d));
  psql.stderr.on("data", (d) => (output += d));
  psql.stdin.write(`BEGIN;\n${sql};\n`);
  await waitFor(`the row lock (psql: ${output})`, () => output.includes("(1 row)"));
  return {
    release: () => new Promise((ok) => {
      psql.on("close", ok);
      psql.stdin.end("COMMIT;\n");
    }),
  };
}

async function sightings(employeeId, count) {
  for (let i = 0; i < count; i++) {
    await api.gql("mutation($i: SightingInput!) { recordSighting(input: $i) { id } }", {
      i: { employeeId, cameraId: "CAM1", similarity: 0.9 },
    });
  }
}

/** Appends a run of A's sightings then one of B's, and holds the replay at B: B's row is locked. */
async function heldReplay(a, b) {
  await sightings(a, 40);
  await sightings(b, 1);
  const lock = await lockRow(`SELECT employee_id FROM audit_snapshot.presence WHERE employee_id = '${b}' FOR UPDATE`);
  // Five events per transaction, so that the run advances a few batches before it reaches B.
  const run = runFacewatch(server, ["replay", "--from-snapshot"], { FACEWATCH_AUDIT__REPLAY_BATCH: "5" });
  return { lock, run };
}

before(async () => {
  server = await startFacewatch("audit", ["serve"], {
    FACEWATCH_CAMERAS__ENABLED: "false",
    FACEWATCH_PRESENCE__PRESENT_TIMEOUT_SEC: "3600",
    FACEWATCH_ADMIN_USER: ADMIN,
    FACEWATCH_ADMIN_PASSWORD: PASSWORD,
  });
  api = await apiClient(server, ADMIN, PASSWORD);
  ({ browser, page } = await openBrowser());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("audit page: a running replay's progress, its result, and a run that died", async () => {
  const enrol = async (name, code) => (await api.gql("mutation($i: EmployeeInput!) { enrollEmployee(input: $i) { id } }", { i: { name, code } })).enrollEmployee.id;
  const a = await enrol("Ana Lopez", "E-001");
  const b = await enrol("Ben Okafor", "E-002");
  await api.gql(`mutation { addCamera(input: { id: "CAM1", name: "Front door", location: "Lobby", streamUrl: "rtsp://10.0.0.5/stream1" }) { id } }`);
  await sightings(b, 1);
  await sightings(a, 1);
  // A full replay keeps its read models as the snapshot the incremental ones start from.
  const full = await runFacewatch(server, ["replay"]).done;
  assert.equal(full.code, 0, full.output);

  await signIn(page, server.base, ADMIN, PASSWORD);
  await page.click("a[href='#/audit']");
  await page.locator("#last-replay:has-text('matches')").waitFor();
  assert.equal(await page.locator("#audit-running .audit-run").count(), 0, "nothing runs yet");

  // A run held part-way: the page notices it by itself and shows how far it got.
  const held = await heldReplay(a, b);
  const run = page.locator("#audit-running .audit-run[data-kind=REPLAY_INCREMENTAL][data-stale=false]");
  await run.waitFor({ timeout: 30_000 });
  await run.locator(".audit-run-numbers:has-text('events/s, ETA')").waitFor({ timeout: 30_000 });
  const text = await run.innerText();
  assert.match(text, /Incremental replay audit/);
  assert.match(text, /replaying events/);
  const [, reached, target, percent, events, perSec] = text.match(/#(\d+) of #(\d+) \((\d+)%\), (\d+) events at ([\d.]+) events\/s, ETA/);
  assert.ok(Number(events) >= 5 && Number(reached) < Number(target), text);
  assert.ok(Number(percent) > 0 && Number(percent) < 100, text);
  assert.ok(Number(perSec) > 0, text);
  const bar = await run.locator("progress").evaluate((p) => [p.value, p.max]);
  assert.ok(bar[0] > 0 && bar[0] < bar[1], `progress bar ${bar}`);
  await page.screenshot({ path: join(SHOTS, "audit-progress.png"), fullPage: true });

  // Let it go: the run finishes, its progress leaves the page and the result takes its place.
  await held.lock.release();
  const finished = await held.run.done;
  assert.equal(finished.code, 0, finished.output);
  await page.locator("#last-replay:has-text('incremental')").waitFor({ timeout: 30_000 });
  await page.locator("#audit-running .audit-run").waitFor({ state: "detached", timeout: 30_000 });

  // A run killed part-way is shown as stopped, not as running for ever.
  const killed = await heldReplay(a, b);
  await run.locator(".audit-run-numbers:has-text('events/s')").waitFor({ timeout: 30_000 });
  killed.run.child.kill("SIGKILL");
  await killed.run.done;
  const dead = page.locator("#audit-running .audit-run[data-stale=true]");
  await dead.locator(":text('stopped')").waitFor({ timeout: 30_000 });
  await killed.lock.release();
});
