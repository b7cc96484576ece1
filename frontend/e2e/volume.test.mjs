// Every page of the dashboard and the portal under volume — 1,000 artifacts, 10,000
// tags, 100,000 download events (scripts/seed-volume.mjs) — on a fresh server of its
// own (scripts/serve-test.sh), so the other tests stay fast: full-page screenshots at
// 1280 px and at a phone's 390 px into frontend/test-results/, and how long each page
// took to show its data (printed and written to test-results/timings.json; recorded,
// not asserted).
//
// TOLLGATE_E2E_VOLUME=0 skips it. It needs what serve-test.sh needs: the built
// workers and frontend/dist.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { launch, newPage, server, signIn } from "./lib.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const out = join(here, "../test-results");
const skip = process.env.TOLLGATE_E2E_VOLUME === "0";
const WIDTHS = [1280, 390];

/** Runs `cmd`; resolves to its stdout, or rejects with all it said. */
function run(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${stdout}\n${stderr}`))));
  });
}

let env, srv, seeded, browser;
const timings = [];

before(async () => {
  if (skip) return;
  mkdirSync(out, { recursive: true });
  // a server of our own: serve-test.sh prints one `export A=1 B=2 …` line
  const exports = await run("scripts/serve-test.sh", []);
  env = { ...process.env };
  for (const [, k, v] of exports.matchAll(/(\w+)=(\S+)/g)) env[k] = v;
  srv = server(env);
  const t0 = Date.now();
  const lines = (await run("node", ["scripts/seed-volume.mjs"], env)).trim().split("\n");
  seeded = JSON.parse(lines[lines.length - 1]);
  console.log(`seeded ${seeded.artifacts} artifacts, ${seeded.tags} tags, ${seeded.downloads} download events in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  if (env?.TOLLGATE_PID) {
    try {
      process.kill(-Number(env.TOLLGATE_PID));
    } catch {}
    if (env.TOLLGATE_STATE && !process.env.TOLLGATE_E2E_KEEP) rmSync(env.TOLLGATE_STATE, { recursive: true, force: true });
  }
  if (timings.length) {
    writeFileSync(join(out, "timings.json"), JSON.stringify(timings, null, 2) + "\n");
    console.log("page                   shows its data after   (page width at 390 px if wider)");
    for (const t of timings) {
      const wide = t.widths[390] > 390 ? `   [${t.widths[390]} px wide at 390]` : "";
      console.log(`${t.page.padEnd(22)} ${(t.ms / 1000).toFixed(2).padStart(6)} s   ${t.path}${wide}`);
    }
  }
});

/**
 * Loads `path`, waits until `ready` (a locator of the page's data) shows and nothing
 * says "Loading…", records how long that took, and screenshots the page at each width.
 */
async function visit(page, name, path, ready) {
  await page.setViewportSize({ width: WIDTHS[0], height: 900 });
  const t0 = Date.now();
  await page.goto(path);
  await ready(page).first().waitFor({ timeout: 120_000 });
  await page.locator("main [role=status]").first().waitFor({ state: "detached", timeout: 120_000 }).catch(() => {});
  const entry = { page: name, path, ms: Date.now() - t0, widths: {} };
  timings.push(entry);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: width > 500 ? 900 : 844 });
    await page.waitForTimeout(100);
    await page.screenshot({ path: join(out, `${name}-${width}.png`), fullPage: true });
    // wider than the window means sideways scrolling (recorded, not asserted)
    entry.widths[width] = await page.evaluate(() => document.documentElement.scrollWidth);
  }
  assert.deepEqual(page.problems, [], `${name}: no script errors`);
}

const rows = (page) => page.locator("main table tbody tr");

test("g. every page under volume: screenshots at 1280 and 390 px, and load times", { skip }, async () => {
  const vendor = await newPage(browser, srv);
  vendor.context().setDefaultTimeout(120_000);
  // the sign-in form, then signed in
  await visit(vendor, "sign-in", "/", (p) => p.getByRole("button", { name: "Sign in" }));
  await signIn(vendor, srv.user, srv.password);

  const customer = seeded.customers.find((c) => c.users.length > 0 && c.artifacts.length > 0);
  const licensed = customer.artifacts[0];
  await visit(vendor, "artifacts", "/artifacts", rows);
  await visit(vendor, "artifacts-by-pulls", "/artifacts?sort=pulls", rows);
  await visit(vendor, "artifact-details", `/artifacts/${seeded.sample}`, (p) => p.getByRole("heading", { name: "Tags" }));
  await visit(vendor, "downloads", "/downloads", rows);
  await visit(vendor, "dashboard", "/dashboard", (p) => p.locator("main article"));
  await visit(vendor, "customers", "/customers", rows);
  await visit(vendor, "customer", `/customers/${customer.id}`, (p) => p.getByRole("cell", { name: customer.users[0].email }));
  await visit(vendor, "licenses", "/licenses", rows);
  await visit(vendor, "license-editor", `/licenses/${customer.licenses[0]}`, (p) => p.getByRole("group", { name: "Item 1" }));
  await visit(vendor, "tokens", "/tokens", rows);
  await visit(vendor, "users", "/users", rows);
  await vendor.context().close();

  const portal = await newPage(browser, srv);
  portal.context().setDefaultTimeout(120_000);
  await signIn(portal, customer.users[0].email, seeded.password);
  await visit(portal, "portal", "/portal", rows);
  await visit(portal, "portal-artifact", `/portal/${licensed}`, (p) => p.getByRole("heading", { name: "Versions you may pull" }));
  await portal.context().close();
});
