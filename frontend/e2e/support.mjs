// The one harness of the browser tests: start the real `facewatch` binary (serve or demo) on its
// own PostgreSQL database and a free port, wait for it, drive headless Debian Chromium, and clean
// up (process, database, data folder) afterwards. Not a test file itself (node --test runs
// *.test.mjs only).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

export const ROOT = resolve(import.meta.dirname, "../..");
export const SHOTS = join(ROOT, "docs/screenshots");
const BINARY = process.env.E2E_FACEWATCH_BIN ?? join(ROOT, "target/debug/facewatch");
const PG = process.env.E2E_PG_SERVER ?? "postgres://postgres@127.0.0.1:5432";

function freePort() {
  return new Promise((ok) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * `facewatch <args>` from the repository root, its own database and data folder, and `env` on
 * top; resolves once it answers HTTP. `server.log()` is what it printed so far.
 */
export async function startFacewatch(name, args, env = {}) {
  const port = await freePort();
  const database = `fw_e2e_${name}_${Date.now().toString(36)}_${process.pid}`;
  const dataDir = mkdtempSync(join(tmpdir(), `fw-e2e-${name}-`));
  let log = "";
  const processEnv = {
    ...process.env,
    DATABASE_URL: `${PG}/${database}`,
    FACEWATCH_SERVER__LISTEN: `127.0.0.1:${port}`,
    FACEWATCH_DATA_DIR: dataDir,
    ...env,
  };
  delete processEnv.RUST_LOG;
  let child;
  const launch = () => {
    child = spawn(BINARY, args, { cwd: ROOT, env: processEnv, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.on("data", (d) => (log += d));
    child.stderr.on("data", (d) => (log += d));
    child.on("error", (e) => (log += `cannot start ${BINARY}: ${e}\n`));
  };
  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGINT");
      await exited;
    }
  };
  launch();
  const server = {
    base: `http://127.0.0.1:${port}`,
    /** Its database's name, and the environment it runs in (for other `facewatch` commands). */
    database,
    env: processEnv,
    log: () => log,
    /** Stops the process, keeping its database and data folder (see `restart`). */
    halt,
    /** Starts the process again on the same port, database and data folder. */
    async restart() {
      await halt();
      launch();
      await waitFor(server, `facewatch ${args[0]} to listen again`, async () => (await fetch(`${server.base}/api/auth/me`)).status === 401);
    },
    async stop() {
      await halt();
      execFileSync("dropdb", ["--if-exists", "--force", "-h", "127.0.0.1", "-U", "postgres", database]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  await waitFor(server, `facewatch ${args[0]} to listen`, async () => (await fetch(`${server.base}/api/auth/me`)).status === 401);
  return server;
}

/**
 * Another `facewatch <args>` process (`replay`, `verify`, …) on `server`'s database and settings.
 * `done` resolves with its exit code (or signal) and everything it printed.
 */
export function runFacewatch(server, args, env = {}) {
  const child = spawn(BINARY, args, { cwd: ROOT, env: { ...server.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const done = new Promise((ok) => child.on("close", (code, signal) => ok({ code, signal, output })));
  return { child, done, output: () => output };
}

/** Polls `probe` until it returns something truthy; fails with the end of the server's log. */
export async function waitFor(server, what, probe, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- server log ---\n${server.log().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Headless Chromium and a page of `viewport` size. */
export async function openBrowser(contextOptions = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...contextOptions });
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e));
  mkdirSync(SHOTS, { recursive: true });
  return { browser, page };
}

/**
 * An API client of `server` signed in as `username` (like a script or a camera pipeline would be):
 * `gql(query, variables)` returns `data` and throws on errors; `raw` returns the whole answer.
 */
export async function apiClient(server, username, password) {
  const login = await waitFor(server, `${username} to log in`, async () => {
    const r = await fetch(`${server.base}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    return r.ok && r.json();
  });
  const raw = async (query, variables = {}) => {
    const response = await fetch(`${server.base}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${login.token}` },
      body: JSON.stringify({ query, variables }),
    });
    return response.json();
  };
  const gql = async (query, variables = {}) => {
    const body = await raw(query, variables);
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  return { token: login.token, gql, raw };
}

/** Signs in through the login screen and waits for the dashboard. */
export async function signIn(page, base, username, password) {
  await page.goto(base);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  await page.click("button[type=submit]");
  await page.waitForSelector(`#whoami:has-text('${username} (')`);
}
