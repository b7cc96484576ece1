// Shared helpers of the dashboard's end-to-end tests (node --test): the server
// under test (the environment scripts/serve-test.sh exports), the management API,
// OCI layouts and skopeo, and a headless Chromium driven by playwright-core.
import { execFile, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run these tests against a server from scripts/serve-test.sh (eval "$(scripts/serve-test.sh)")`);
  return value;
}

/** The server under test, as serve-test.sh describes it. */
export function server(env = process.env) {
  const url = (env.TOLLGATE_URL ?? required("TOLLGATE_URL")).replace(/\/$/, "");
  return {
    // what registry clients and the API helpers use
    url,
    registry: url.replace(/^https?:\/\//, ""),
    // what the browser loads: the session cookie is Secure, and Chromium accepts Secure
    // cookies over plain http only from localhost
    origin: url.replace("//127.0.0.1:", "//localhost:"),
    user: env.TOLLGATE_USER ?? required("TOLLGATE_USER"),
    token: env.TOLLGATE_PASSWORD ?? required("TOLLGATE_PASSWORD"),
    password: env.TOLLGATE_ADMIN_PASSWORD ?? required("TOLLGATE_ADMIN_PASSWORD"),
  };
}

/** A short random suffix for names, so tests can run again against the same server. */
export const unique = (label) => `${label}-${randomBytes(4).toString("hex")}`;

/** The management API as `creds` ("email:secret", the admin's token by default). */
export async function api(srv, method, path, body, creds = `${srv.user}:${srv.token}`) {
  const res = await fetch(srv.url + path, {
    method,
    headers: { Authorization: "Basic " + Buffer.from(creds).toString("base64"), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A customer, one user of it (with a token) and a license to `items`, through the API. */
export async function licensedCustomer(srv, items, label = "cust") {
  const name = unique(label);
  const customer = await api(srv, "POST", "/api/v1/customers", { name });
  const email = `${name}@customer.example`;
  const user = await api(srv, "POST", `/api/v1/customers/${customer.id}/users`, { email, password: "customer-password-1" });
  const token = await api(srv, "POST", "/api/v1/tokens", { name: "e2e", user_id: user.id });
  const license = await api(srv, "POST", "/api/v1/licenses", { name: `${name} license`, customer_id: customer.id, items });
  return { customer, user, email, password: "customer-password-1", secret: token.secret, license };
}

// --- OCI layouts and skopeo ----------------------------------------------------------

const sha256 = (b) => "sha256:" + createHash("sha256").update(b).digest("hex");

/** A one-file tar archive (enough for a layer), made with the system's tar. */
function tar(name, content) {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-ui-layer-"));
  writeFileSync(join(dir, name), content);
  const archive = execFileSync("tar", ["-C", dir, "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", name]);
  rmSync(dir, { recursive: true, force: true });
  return archive;
}

/** An OCI image layout in a new directory holding one small image tagged `tag`. */
export function imageLayout(tag = "v1") {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-ui-layout-"));
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  const blob = (mediaType, bytes) => {
    const digest = sha256(bytes);
    writeFileSync(join(dir, "blobs/sha256", digest.slice(7)), bytes);
    return { mediaType, digest, size: bytes.length };
  };
  const layerTar = tar("hello.txt", Buffer.from(`hello from the dashboard tests ${randomBytes(8).toString("hex")}\n`));
  const layer = blob("application/vnd.oci.image.layer.v1.tar+gzip", gzipSync(layerTar));
  const config = blob(
    "application/vnd.oci.image.config.v1+json",
    Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [sha256(layerTar)] } })),
  );
  const manifest = blob(
    "application/vnd.oci.image.manifest.v1+json",
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [layer] })),
  );
  writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": tag } }] }),
  );
  return { dir, digest: manifest.digest, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const toolsBin = join(process.env.TOLLGATE_TOOLS_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "tollgate/tools"), "bin");

/** Runs skopeo in a sandbox of its own (HOME, auth file, temp dir); resolves to stdout, rejects with everything it said. */
export function skopeo(args) {
  const home = mkdtempSync(join(tmpdir(), "tollgate-ui-skopeo-"));
  const env = {
    ...process.env,
    PATH: `${toolsBin}:${process.env.PATH}`,
    HOME: home,
    XDG_RUNTIME_DIR: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    REGISTRY_AUTH_FILE: join(home, "auth.json"),
    TMPDIR: home,
  };
  return new Promise((resolve, reject) => {
    execFile("skopeo", args, { env, timeout: 120_000 }, (error, stdout, stderr) => {
      rmSync(home, { recursive: true, force: true });
      const shown = args.map((a) => a.replace(/:(tgpat_)?[A-Za-z0-9_-]{16,}$/, ":***")).join(" ");
      if (error) reject(new Error(`skopeo ${shown} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Pushes a fresh one-image layout to `repo:tag` with `creds`; resolves to the manifest digest. */
export async function pushImage(srv, repo, tag, creds = `${srv.user}:${srv.token}`) {
  const layout = imageLayout(tag);
  try {
    await skopeo(["copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", creds, `oci:${layout.dir}:${tag}`, `docker://${srv.registry}/${repo}:${tag}`]);
    return layout.digest;
  } finally {
    layout.remove();
  }
}

/** Pulls `repo:tag` into a scratch layout with `creds` (one download event). */
export async function pullImage(srv, repo, tag, creds) {
  const dir = mkdtempSync(join(tmpdir(), "tollgate-ui-pull-"));
  try {
    await skopeo(["copy", "--src-tls-verify=false", "--src-creds", creds, `docker://${srv.registry}/${repo}:${tag}`, `oci:${dir}/layout:${tag}`]);
    return JSON.parse(readFileSync(join(dir, "layout/index.json"), "utf8"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- the browser ----------------------------------------------------------------------

export const CHROMIUM = process.env.TOLLGATE_CHROMIUM ?? "/usr/bin/chromium";

/** Debian's Chromium, headless; never a browser downloaded by playwright. */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A fresh context (no cookies) at the server's localhost origin. */
export async function newPage(browser, srv, options = {}) {
  const context = await browser.newContext({ baseURL: srv.origin, acceptDownloads: true, viewport: { width: 1280, height: 900 }, ...options });
  context.setDefaultTimeout(Number(process.env.TOLLGATE_UI_TIMEOUT ?? 15_000));
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // Refused API calls (401 before signing in, a refused deletion) log "Failed to load
  // resource"; the pages show those in words, and the tests check the words.
  page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(`console: ${m.text()}`));
  page.problems = problems;
  return page;
}

/** Signs in through the form and waits for the signed-in shell. */
export async function signIn(page, email, password) {
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}

/** The cells of the table row whose first link is `name`, by column header. */
export async function rowByName(page, name) {
  const table = page.locator("table", { has: page.getByRole("link", { name, exact: true }) }).first();
  await table.waitFor();
  const headers = (await table.locator("thead th").allInnerTexts()).map((h) => h.trim());
  const row = table.locator("tbody tr", { has: page.getByRole("link", { name, exact: true }) }).first();
  const cells = (await row.locator("td").allInnerTexts()).map((c) => c.trim());
  return Object.fromEntries(headers.map((h, i) => [h, cells[i]]));
}

/** Polls `check` (an async function returning a truthy value when done) until it is done or `ms` passed. */
export async function eventually(check, ms = 60_000, every = 1_000) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = new Error(`not yet: ${JSON.stringify(value)}`);
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`gave up after ${ms} ms: ${last?.message ?? last}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Parses a count as the UI formats it ("1,234", "12"). */
export const number = (text) => Number(String(text ?? "").replace(/[^\d]/g, ""));
