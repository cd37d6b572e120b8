// End-to-end: `facewatch demo` (real GStreamer, real face models, its looping demo video) on its own
// PostgreSQL database, driven through headless Debian Chromium. The Live page plays each camera's
// MJPEG stream: the picture is loaded, not blank, moves, and shows a recognised face's green
// overlay; a click opens it full screen; the stream refuses a request without a session. The
// Visitors page shows the demo's unknown visitor with photos and can dismiss them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { SHOTS, openBrowser, startFacewatch, waitFor as waitOn } from "./support.mjs";

const PASSWORD = "e2e-live-password";

let server, browser, page, base;
const waitFor = (what, probe, timeoutMs = 90_000) => waitOn(server, what, probe, timeoutMs);

before(async () => {
  server = await startFacewatch("live", ["demo"], { FACEWATCH_ADMIN_PASSWORD: PASSWORD });
  base = server.base;
  ({ browser, page } = await openBrowser());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Statistics of the stream <img>'s current picture, drawn into a canvas. */
function pictureStats(selector) {
  return page.evaluate((selector) => {
    const img = document.querySelector(selector);
    if (!img || !img.naturalWidth) return null;
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let sum = 0, sumSq = 0, green = 0;
    for (let i = 0; i < data.length; i += 4) {
      const y = (data[i] + data[i + 1] + data[i + 2]) / 3;
      sum += y;
      sumSq += y * y;
      // The overlay of a recognised face: its box and name bar are pure green (0, 200, 0).
      if (data[i] < 60 && data[i + 1] > 160 && data[i + 2] < 60) green++;
    }
    const n = data.length / 4;
    return { width: canvas.width, height: canvas.height, mean: sum / n, std: Math.sqrt(sumSq / n - (sum / n) ** 2), green };
  }, selector);
}

test("live page: MJPEG stream per camera, moving, with overlays, full screen; stream needs a session", async () => {
  // Without a session the stream is refused.
  const anonymous = await fetch(`${base}/api/cameras/DEMO/live.mjpeg`);
  assert.equal(anonymous.status, 401);

  await page.goto(base);
  await page.fill("input[name=username]", "admin");
  await page.fill("input[name=password]", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#whoami:has-text('admin (admin)')");
  await page.click("a[href='#/live']");

  const tile = page.locator("[data-camera='DEMO']");
  const stream = "[data-camera='DEMO'] img.live-stream";
  assert.match(await page.locator(stream).getAttribute("src"), /\/api\/cameras\/DEMO\/live\.mjpeg/);
  await tile.locator(".camera-source:has-text('FILE')").waitFor();

  // Loaded and not blank (the synthetic corridor is a grey wall: a person or an overlay adds contrast).
  const first = await waitFor("a non-blank live picture", async () => {
    const s = await pictureStats(stream);
    return s && s.width === 720 && s.std > 8 && s;
  });
  assert.ok(first.mean > 10, JSON.stringify(first));

  // Moving: two screenshots of the picture a second apart differ (people walk past; the empty
  // corridor between them is still, so poll until a pair differs).
  await waitFor("two different pictures a second apart", async () => {
    const a = await page.locator(stream).screenshot();
    await new Promise((r) => setTimeout(r, 1000));
    const b = await page.locator(stream).screenshot();
    return !a.equals(b);
  }, 60_000);

  // A recognised face gets a green box and name bar drawn by the server (the label's text itself
  // is checked by the overlay's unit tests).
  await waitFor("a recognised face's overlay", async () => (await pictureStats(stream))?.green > 300, 60_000);
  await tile.locator(".camera-state:has-text('online')").waitFor({ timeout: 15_000 });
  assert.equal((await tile.locator(".camera-error").textContent()).trim(), "", "no stale error while online");
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, "live-view.png") });

  // A click opens the camera full screen; Escape closes it.
  await page.click(stream);
  const full = page.locator("#camera-full img");
  await full.waitFor();
  await waitFor("the full-screen stream", async () => page.evaluate(() => document.querySelector("#camera-full img")?.naturalWidth > 0));
  const box = await full.boundingBox();
  assert.ok(box.width > 1000, `full screen is wide: ${JSON.stringify(box)}`);
  await page.keyboard.press("Escape");
  await full.waitFor({ state: "detached" });
});

test("visitors page: the demo's unknown visitor is one group with photos; dismissing removes it", async () => {
  // Signed in by the test above (same page and session).
  await page.goto(`${base}/#/visitors`);
  // The stranger walks in about 10 s into each loop of the video; Refresh until they are listed.
  await waitFor("an unknown visitor group", async () => {
    await page.click("#refresh-visitors");
    await new Promise((r) => setTimeout(r, 1000));
    return (await page.locator(".visitor-group").count()) > 0;
  });
  const group = page.locator(".visitor-group").first();
  await waitFor("a loaded visitor photo", async () => page.evaluate(() =>
    [...document.querySelectorAll(".visitor-group img.visitor-face")].some((img) => img.naturalWidth > 20)), 60_000);
  assert.match(await group.textContent(), /DEMO/);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, "visitors.png") });

  const id = await group.getAttribute("data-group");
  await group.locator("button.dismiss-visitor").click();
  await page.locator("[role=status]:has-text('Dismissed')").waitFor();
  await page.locator(`.visitor-group[data-group='${id}']`).waitFor({ state: "detached" });
});
