#!/usr/bin/env node
// Fills a RUNNING local Tollgate with volume, for looking at the dashboard under load
// and for its screenshot tests: 1,000 artifacts, 10,000 tags, 100,000 download events
// (pulls_daily kept consistent with them, as the analytics worker would), plus a few
// customers, their users, licenses and vendor users.
//
//   eval "$(scripts/serve-test.sh)"; node scripts/seed-volume.mjs     # a test server
//   node scripts/seed-volume.mjs --dev                                # the `make dev` server
//
// Environment: TOLLGATE_URL, TOLLGATE_USER (an admin's email), TOLLGATE_PASSWORD (its
// token or password); and where the server's D1 lives: TOLLGATE_STATE (as
// serve-test.sh exports it: $STATE/worker/wrangler.toml, data in $STATE/data), or
// --dev (wrangler.toml and .wrangler/state of the repository), or --config FILE
// --persist-to DIR. SEED_ARTIFACTS / SEED_TAGS / SEED_DOWNLOADS change the volume;
// SEED_PREFIX (default "seed") the first path segment of every artifact, so a second
// run with another prefix adds more. Customer users get SEED_PASSWORD (default
// "seed-password-1") as their password; the last line printed is JSON describing
// what was made (customers, users, licensed artifacts), for tests.
//
// How: the blobs (a few real tar+gzip layers, image and Helm configs, a chart, an
// SBOM and a signature payload) are pushed through the registry's own API, so they
// are in R2 and the `blobs` table; customers, users and licenses are made through
// the management API. Repositories, manifests (real JSON, digests computed here,
// stored inline as the registry stores small manifests) and tags are written as SQL;
// annotations, manifest_refs and blob links are derived from the stored manifests in
// SQL, as the registry derives them on push; the download events are generated in SQL
// from the licenses (customers pull only what theirs cover) and pulls_daily is the
// analytics worker's own rollup over them. All of it is applied with
// `wrangler d1 execute --local` on the server's own persisted D1, while wrangler dev
// runs: both open the same SQLite file, which serialises writers, and the server sees
// the rows at once. Every seeded manifest is pullable, blobs and all. Takes about 40 s.
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const t0 = Date.now();
const log = (...a) => console.error(`seed-volume [${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);

// --- configuration ------------------------------------------------------------
const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
let config, persist;
if (args.includes("--dev")) {
  config = join(root, "wrangler.toml");
  persist = join(root, ".wrangler/state");
} else if (arg("--config")) {
  config = arg("--config");
  persist = arg("--persist-to");
} else if (process.env.TOLLGATE_STATE) {
  config = join(process.env.TOLLGATE_STATE, "worker/wrangler.toml");
  persist = join(process.env.TOLLGATE_STATE, "data");
} else {
  console.error("seed-volume: set TOLLGATE_STATE (scripts/serve-test.sh), or pass --dev, or --config FILE --persist-to DIR");
  process.exit(2);
}
const env = (k, d) => process.env[k] ?? d;
const url = env("TOLLGATE_URL", "http://127.0.0.1:8787").replace(/\/$/, "");
const user = env("TOLLGATE_USER");
const secret = env("TOLLGATE_PASSWORD");
if (!user || !secret) {
  console.error("seed-volume: set TOLLGATE_USER and TOLLGATE_PASSWORD (an admin's email and token)");
  process.exit(2);
}
const ARTIFACTS = Number(env("SEED_ARTIFACTS", 1000));
const TAGS = Number(env("SEED_TAGS", 10000));
const DOWNLOADS = Number(env("SEED_DOWNLOADS", 100000));
const PREFIX = env("SEED_PREFIX", "seed");
const PASSWORD = env("SEED_PASSWORD", "seed-password-1");
const auth = "Basic " + Buffer.from(`${user}:${secret}`).toString("base64");

// A seeded PRNG (mulberry32), so two runs with one prefix make the same shapes.
let seed = 0x7011ea7e;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const sha256 = (buf) => "sha256:" + createHash("sha256").update(buf).digest("hex");
const now = Math.floor(Date.now() / 1000);
const DAY = 86400;
const idAt = (at) => at.toString(16).padStart(8, "0") + randomBytes(6).toString("hex");
const q = (v) => (v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

async function api(method, path, body) {
  const call = () =>
    fetch(url + path, {
      method,
      headers: { Authorization: auth, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  // A kept-alive connection the server closed while wrangler d1 execute ran fails
  // before the request is sent: try once more on a new one.
  let res;
  for (let attempt = 1; !res; attempt++) {
    res = await call().catch((e) => {
      if (attempt >= 5 || !/UND_ERR_SOCKET|ECONNRESET/.test(String(e?.cause?.code))) throw e;
    });
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// --- 1. blobs, pushed through the registry --------------------------------------
const MT = {
  manifest: "application/vnd.oci.image.manifest.v1+json",
  index: "application/vnd.oci.image.index.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layer: "application/vnd.oci.image.layer.v1.tar+gzip",
  empty: "application/vnd.oci.empty.v1+json",
  helmConfig: "application/vnd.cncf.helm.config.v1+json",
  helmChart: "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
  tfModule: "application/vnd.opentofu.modulepkg",
  tfLayer: "application/vnd.opentofu.modulepkg.layer.v1.tar+gzip",
  spdx: "application/spdx+json",
  cosign: "application/vnd.dev.cosign.artifact.sig.v1+json",
  cosignLayer: "application/vnd.dev.cosign.simplesigning.v1+json",
  bundle: "application/vnd.example.bundle.v1",
  bundleLayer: "application/vnd.example.bundle.layer.v1.tar",
};

/** A real tar+gzip of `files` ({ name: Buffer }), made with the system's tar. */
function targz(files) {
  const dir = mkdtempSync(join(tmpdir(), "seed-layer-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, "root", name)), { recursive: true });
    writeFileSync(join(dir, "root", name), content);
  }
  const out = execFileSync("tar", ["-C", join(dir, "root"), "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-czf", "-", "."], { maxBuffer: 64 << 20 });
  rmSync(dir, { recursive: true, force: true });
  return out;
}

const blobs = {}; // name -> { digest, size, mediaType, bytes }
function blob(name, mediaType, bytes) {
  bytes = Buffer.isBuffer(bytes) ? bytes : Buffer.from(typeof bytes === "string" ? bytes : JSON.stringify(bytes));
  blobs[name] = { digest: sha256(bytes), size: bytes.length, mediaType, bytes };
  return blobs[name];
}
const desc = (b, extra = {}) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra });

blob("empty", MT.empty, "{}");
for (const [i, kb] of [16, 48, 120, 300, 700, 1500].entries()) {
  blob(`layer${i}`, MT.layer, targz({ [`opt/app/part-${i}.bin`]: randomBytes(kb * 1024), [`etc/app/layer-${i}.conf`]: `layer=${i}\n` }));
}
for (const arch of ["amd64", "arm64"]) {
  blob(`config-${arch}`, MT.config, {
    architecture: arch,
    os: "linux",
    config: { Entrypoint: ["/opt/app/run"], Env: ["PATH=/usr/local/bin:/usr/bin:/bin"] },
    rootfs: { type: "layers", diff_ids: [] },
    history: [{ created_by: "seed-volume" }],
  });
}
for (const i of [0, 1, 2]) {
  blob(`helm-config${i}`, MT.helmConfig, { apiVersion: "v2", name: `chart${i}`, version: `1.${i}.0`, description: "A seeded chart", type: "application" });
  blob(`helm-chart${i}`, MT.helmChart, targz({ [`chart${i}/Chart.yaml`]: `apiVersion: v2\nname: chart${i}\nversion: 1.${i}.0\n`, [`chart${i}/values.yaml`]: "replicaCount: 1\n" }));
}
blob("tf-module", MT.tfLayer, targz({ "main.tf": 'variable "name" {}\noutput "greeting" { value = "hello ${var.name}" }\n' }));
blob("sbom", MT.spdx, { spdxVersion: "SPDX-2.3", dataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", name: "seeded-sbom", packages: [{ SPDXID: "SPDXRef-app", name: "app", versionInfo: "1.0.0" }] });
blob("signature", MT.cosignLayer, { critical: { identity: { "docker-reference": "seed" }, image: { "docker-manifest-digest": "sha256:0" }, type: "cosign container image signature" }, optional: null });
blob("bundle", MT.bundleLayer, randomBytes(40 * 1024));

const blobRepo = `${PREFIX}/blobs`;
log(`pushing ${Object.keys(blobs).length} blobs to ${url}/v2/${blobRepo}`);
for (const b of Object.values(blobs)) {
  const res = await fetch(`${url}/v2/${blobRepo}/blobs/uploads/?digest=${b.digest}`, {
    method: "POST",
    headers: { Authorization: auth, "Content-Type": "application/octet-stream" },
    body: b.bytes,
  });
  if (res.status !== 201) throw new Error(`blob push ${b.digest}: ${res.status} ${await res.text()}`);
}

// --- 2. artifacts, manifests and tags --------------------------------------------
const KINDS = [
  ["image", 0.5],
  ["multiarch", 0.1],
  ["helm", 0.18],
  ["terraform", 0.08],
  ["sbom", 0.07],
  ["bundle", 0.07],
];
const kindOf = () => {
  let r = rand();
  for (const [k, w] of KINDS) if ((r -= w) < 0) return k;
  return "image";
};
const teams = ["platform", "payments", "edge", "data", "ml", "mobile", "security", "infra", "search", "billing"];
const words = ["api", "worker", "gateway", "agent", "console", "ingest", "router", "cache", "scheduler", "proxy", "indexer", "exporter", "operator", "cli", "sync"];

// Tags per artifact: 1..19, then nudged so the total is exactly TAGS.
const counts = Array.from({ length: ARTIFACTS }, () => int(1, 19));
let total = counts.reduce((a, b) => a + b, 0);
for (let i = 0; total !== TAGS; i = (i + 1) % ARTIFACTS) {
  if (total < TAGS && counts[i] < 40) (counts[i]++, total++);
  else if (total > TAGS && counts[i] > 1) (counts[i]--, total--);
}

const rows = { repositories: [], manifests: [], tags: [] };
const artifacts = []; // { name, kind, tags: [{ tag, digest, at }] }
const sorted = (o) => Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1)));
/** Stores manifest `m` as pushed (its bytes, their digest); returns its descriptor fields. */
const store = (repo, m, at) => {
  // annotation keys sorted, so the annotations column the SQL below extracts from the
  // content is the text the registry writes (serde_json's object, keys in order)
  if (m.annotations) m = { ...m, annotations: sorted(m.annotations) };
  const bytes = Buffer.from(JSON.stringify(m));
  const digest = sha256(bytes);
  // artifact_type as the registry records it: the manifest's artifactType, else (image
  // manifests) its config's media type (crates/core/src/manifest.rs)
  rows.manifests.push([repo, digest, m.mediaType, m.artifactType ?? m.config?.mediaType ?? null, m.subject?.digest ?? null, bytes.length, bytes.toString(), at]);
  return { digest, size: bytes.length };
};

for (let a = 0; a < ARTIFACTS; a++) {
  const kind = kindOf();
  const team = teams[a % teams.length];
  const name = `${PREFIX}/${team}/${pick(words)}-${kind === "helm" ? "chart" : kind === "terraform" ? "module" : kind === "sbom" ? "sbom" : kind === "bundle" ? "bundle" : "svc"}-${String(a).padStart(4, "0")}`;
  const created = now - int(30, 400) * DAY;
  rows.repositories.push([name, created]);
  const art = { name, kind, tags: [] };
  const n = counts[a];
  const step = Math.max(1, Math.floor((now - created) / (n + 1)));
  for (let t = 0; t < n; t++) {
    const tag = t === n - 1 && n > 2 ? "latest" : `v${Math.floor(t / 6) + 1}.${t % 6}.${int(0, 3)}`;
    if (art.tags.some((x) => x.tag === tag)) continue;
    const at = created + (t + 1) * step + int(0, 3600);
    const ann = { "org.opencontainers.image.version": tag, "org.opencontainers.image.created": new Date(at * 1000).toISOString(), "dev.tollgate.seed": name };
    let top;
    if (kind === "image" || kind === "multiarch") {
      const layers = [blobs[`layer${int(0, 2)}`], blobs[`layer${int(3, 5)}`]];
      const platform = (arch) => {
        const cfg = blobs[`config-${arch}`];
        return store(name, { schemaVersion: 2, mediaType: MT.manifest, config: desc(cfg), layers: layers.map((l) => desc(l)), annotations: { ...ann, "dev.tollgate.arch": arch } }, at);
      };
      if (kind === "multiarch") {
        const amd = platform("amd64");
        const arm = platform("arm64");
        top = store(name, { schemaVersion: 2, mediaType: MT.index, manifests: [
          { mediaType: MT.manifest, digest: amd.digest, size: amd.size, platform: { architecture: "amd64", os: "linux" } },
          { mediaType: MT.manifest, digest: arm.digest, size: arm.size, platform: { architecture: "arm64", os: "linux" } },
        ], annotations: ann }, at);
      } else {
        top = platform("amd64");
      }
      // referrers on some versions: an SPDX SBOM and a cosign-style signature
      if (rand() < 0.3) {
        const subject = { mediaType: kind === "multiarch" ? MT.index : MT.manifest, digest: top.digest, size: top.size };
        store(name, { schemaVersion: 2, mediaType: MT.manifest, artifactType: MT.spdx, config: desc(blobs.empty), layers: [desc(blobs.sbom)], subject, annotations: { "org.opencontainers.image.created": ann["org.opencontainers.image.created"] } }, at + 60);
        store(name, { schemaVersion: 2, mediaType: MT.manifest, artifactType: MT.cosign, config: desc(blobs.empty), layers: [desc(blobs.signature)], subject, annotations: { "org.opencontainers.image.created": ann["org.opencontainers.image.created"] } }, at + 61);
      }
    } else if (kind === "helm") {
      const i = int(0, 2);
      top = store(name, { schemaVersion: 2, mediaType: MT.manifest, config: desc(blobs[`helm-config${i}`]), layers: [desc(blobs[`helm-chart${i}`])], annotations: ann }, at);
    } else {
      const layer = { terraform: blobs["tf-module"], sbom: blobs.sbom, bundle: blobs.bundle }[kind];
      const artifactType = { terraform: MT.tfModule, sbom: MT.spdx, bundle: MT.bundle }[kind];
      top = store(name, { schemaVersion: 2, mediaType: MT.manifest, artifactType, config: desc(blobs.empty), layers: [desc(layer)], annotations: ann }, at);
    }
    art.tags.push({ tag, digest: top.digest, at });
    rows.tags.push([name, tag, top.digest, at]);
  }
  artifacts.push(art);
}

const COLUMNS = {
  repositories: "name, created_at",
  manifests: "repo, digest, media_type, artifact_type, subject, size, content, created_at",
  tags: "repo, tag, digest, updated_at",
};
/** Multi-row INSERTs of ~16 KB each: wrangler's SQL splitter slows down on long statements. */
function inserts(table, list) {
  const out = [];
  let chunk = [];
  let len = 0;
  const flush = () => {
    if (chunk.length) out.push(`INSERT OR IGNORE INTO ${table} (${COLUMNS[table]}) VALUES\n${chunk.join(",\n")};`);
    chunk = [];
    len = 0;
  };
  for (const r of list) {
    const v = `(${r.map(q).join(", ")})`;
    if (len + v.length > 16_000) flush();
    chunk.push(v);
    len += v.length + 2;
  }
  flush();
  return out;
}

function apply(statements, label) {
  const dir = mkdtempSync(join(tmpdir(), "seed-sql-"));
  const file = join(dir, `${label}.sql`);
  writeFileSync(file, statements.join("\n") + "\n");
  const mb = (readFileSync(file).length / 1e6).toFixed(1);
  log(`applying ${label}: ${statements.length} statements, ${mb} MB of SQL`);
  execFileSync("npx", ["wrangler", "d1", "execute", "DB", "--local", "-c", config, "--persist-to", persist, "--file", file], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, CI: "true" },
  });
  if (!process.env.SEED_KEEP_SQL) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${file}`);
}

log(`generated ${rows.repositories.length} artifacts, ${rows.tags.length} tags, ${rows.manifests.length} manifests`);
const mine = `repo LIKE ${q(PREFIX + "/%")}`;
apply(
  [
    ...inserts("repositories", rows.repositories),
    ...inserts("manifests", rows.manifests),
    ...inserts("tags", rows.tags),
    // What the registry derives from a manifest on push, derived here from the stored
    // content alike: the annotations column, references (config and layers: blobs;
    // index entries: children) and the repository's links to the blobs it references
    // (pushed above, so the trigger that wants the blob row is content).
    `UPDATE manifests SET annotations = json_extract(content, '$.annotations') WHERE ${mine} AND annotations IS NULL AND json_extract(content, '$.annotations') IS NOT NULL;`,
    `INSERT OR IGNORE INTO manifest_refs (repo, manifest, target, kind)
       SELECT repo, digest, json_extract(content, '$.config.digest'), 'blob' FROM manifests WHERE ${mine} AND json_extract(content, '$.config.digest') IS NOT NULL
       UNION ALL SELECT m.repo, m.digest, json_extract(l.value, '$.digest'), 'blob' FROM manifests m, json_each(m.content, '$.layers') l WHERE m.${mine}
       UNION ALL SELECT m.repo, m.digest, json_extract(c.value, '$.digest'), 'child' FROM manifests m, json_each(m.content, '$.manifests') c WHERE m.${mine};`,
    `INSERT OR IGNORE INTO repo_blobs (repo, digest, created_at)
       SELECT DISTINCT r.repo, r.target, p.created_at FROM manifest_refs r JOIN repositories p ON p.name = r.repo WHERE r.${mine} AND r.kind = 'blob';`,
  ],
  "artifacts",
);

// --- 3. customers, users and licenses, through the API -------------------------------
const me = await api("GET", "/api/v1/me");
const vendorUsers = [me.id];
for (const [role, who] of [["read_write", "release"], ["read_only", "support"], ["read_write", "ci"]]) {
  const u = await api("POST", "/api/v1/users", { email: `${who}-${PREFIX}@vendor.example`, role, password: PASSWORD });
  vendorUsers.push(u.id);
}
const customerNames = ["Acme Corp", "Globex", "Initech", "Umbrella Health", "Stark Industries", "Wayne Logistics"];
const customers = [];
const byName = new Map(artifacts.map((a) => [a.name, a]));
for (const [ci, cname] of customerNames.entries()) {
  const display = PREFIX === "seed" ? cname : `${cname} (${PREFIX})`;
  const c = await api("POST", "/api/v1/customers", { name: display, contact: `ops@${cname.split(" ")[0].toLowerCase()}.example` });
  const users = [];
  for (const who of ["ci", "dev"].slice(0, ci % 2 ? 2 : 1)) {
    const email = `${who}-${PREFIX}@${cname.split(" ")[0].toLowerCase()}.example`;
    const u = await api("POST", `/api/v1/customers/${c.id}/users`, { email, password: PASSWORD });
    users.push({ id: u.id, email });
  }
  // two licenses: every version of some artifacts, and v1.* of others
  const pool = artifacts.filter((_, i) => i % customerNames.length === ci || i % 7 === ci);
  const all = pool.slice(0, 60);
  const v1 = pool.slice(60, 120).filter((a) => a.tags.some((t) => t.tag.startsWith("v1.")));
  const licenses = [];
  licenses.push(await api("POST", "/api/v1/licenses", { name: `${display} — platform`, customer_id: c.id, items: all.map((a) => ({ artifact: a.name, all_versions: true })) }));
  if (v1.length) {
    licenses.push(await api("POST", "/api/v1/licenses", { name: `${display} — v1 line`, customer_id: c.id, expires_at: now + int(20, 400) * DAY, items: v1.map((a) => ({ artifact: a.name, pattern: "v1.*" })) }));
  }
  customers.push({ id: c.id, name: display, users, licenses: licenses.map((l) => l.id), artifacts: [...all, ...v1].map((a) => a.name) });
}
const unlicensed = artifacts.map((a) => a.name).filter((n) => !customers.some((c) => c.artifacts.includes(n)));
log(`made ${customers.length} customers, ${customers.reduce((s, c) => s + c.users.length, 0)} customer users, ${vendorUsers.length - 1} vendor users, ${customers.reduce((s, c) => s + c.licenses.length, 0)} licenses`);

// --- 4. download events and their daily rollup, made by SQL ------------------------------
// Who pulls what: group 0 is the vendor's users (any seeded tag), group n a customer's
// users (the tags its licenses cover: all versions, or the tags the pattern matches).
// 15% of pulls are the vendor's; among customers and among a group's tags a few pull
// much more than the rest (squared uniform draws). Times fall in the last 90 days,
// denser lately; 10% are by digest; an index pulled is followed by its first platform
// manifest (a child event, as a client pulling an image does); events are cut so
// the total is exactly SEED_DOWNLOADS. pulls_daily is then the analytics worker's own
// rollup (crates/core/src/downloads.rs) over the new events.
const groups = [{ customer: null, users: vendorUsers }, ...customers.map((c) => ({ customer: c.id, users: c.users.map((u) => u.id) }))];
const G = groups.length;
const json = (v) => q(JSON.stringify(v));
const sqlPick = (list, n) => `json_extract(${json(list)}, '$[' || (${n}) || ']')`;
const agents = ["skopeo/1.13.3", "containerd/1.7.24", "docker/27.5.1 go/go1.22.7 os/linux arch/amd64", "oras/1.3.6", "crane/0.22.1", "podman/4.3.1"];
const countries = ["US", "DE", "GB", "FR", "JP", "BR", "IN", "CA", "NL", "SG"];
// event ids as the registry makes them (accounts::new_id): 8 hex digits of the time,
// then 12 of this run's offset plus the event's number, unique and time-ordered
const offset = randomBytes(5).readUIntBE(0, 5);
const eventId = (at, i) => `printf('%08x%012x', ${at}, ${i} + ${offset})`;
apply(
  [
    `DROP TABLE IF EXISTS seed_group;`,
    `DROP TABLE IF EXISTS seed_pick;`,
    `DROP TABLE IF EXISTS seed_ev;`,
    `DROP TABLE IF EXISTS seed_run;`,
    `CREATE TABLE seed_group (g INTEGER PRIMARY KEY, customer_id TEXT, users TEXT NOT NULL, lo INTEGER, cnt INTEGER);`,
    `INSERT INTO seed_group (g, customer_id, users) VALUES ${groups.map((x, i) => `(${i}, ${q(x.customer)}, ${json(x.users)})`).join(", ")};`,
    `CREATE TABLE seed_pick (k INTEGER PRIMARY KEY, g INTEGER NOT NULL, repo TEXT, tag TEXT, digest TEXT, is_index INTEGER, child TEXT, helm INTEGER);`,
    `INSERT INTO seed_pick (g, repo, tag, digest, is_index, child, helm)
       SELECT g.g, t.repo, t.tag, t.digest, m.media_type = ${q(MT.index)},
         (SELECT MIN(target) FROM manifest_refs r WHERE r.repo = t.repo AND r.manifest = t.digest AND r.kind = 'child'),
         COALESCE(m.artifact_type LIKE '%helm%', 0)
       FROM seed_group g JOIN tags t ON t.${mine} AND (g.customer_id IS NULL OR EXISTS (
           SELECT 1 FROM licenses l JOIN license_items i ON i.license_id = l.id
           WHERE l.customer_id = g.customer_id AND i.repo = t.repo
             AND (i.kind = 'all' OR (i.kind = 'pattern' AND t.tag GLOB i.value))))
         JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
       ORDER BY g.g, t.repo, t.tag;`,
    `UPDATE seed_group SET lo = (SELECT MIN(k) FROM seed_pick p WHERE p.g = seed_group.g), cnt = (SELECT COUNT(*) FROM seed_pick p WHERE p.g = seed_group.g);`,
    // one row per event, its random draws stored (a CTE would draw again per use)
    `CREATE TABLE seed_ev AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${DOWNLOADS})
       SELECT i, abs(random()) % 1000000 AS a, abs(random()) % 1000000 AS b, abs(random()) % 1000000 AS c, abs(random()) AS d, abs(random()) AS e FROM n;`,
    `ALTER TABLE seed_ev ADD COLUMN g INTEGER;`,
    `UPDATE seed_ev SET g = CASE WHEN a < 150000 THEN 0 ELSE 1 + (a - 150000) * (a - 150000) / 850000 * ${G - 1} / 850000 END;`,
    `ALTER TABLE seed_ev ADD COLUMN k INTEGER;`,
    `ALTER TABLE seed_ev ADD COLUMN at INTEGER;`,
    `UPDATE seed_ev SET k = (SELECT lo + (b * b / 1000000) * cnt / 1000000 FROM seed_group WHERE seed_group.g = seed_ev.g),
       at = ${now - 60} - (c * c / 1000000) * ${90 * DAY} / 1000000;`,
    `ALTER TABLE seed_ev ADD COLUMN running INTEGER;`,
    // events so far, a pull of an index counting two (its child event)
    `CREATE TABLE seed_run AS SELECT e.i, SUM(1 + p.is_index) OVER (ORDER BY e.i) AS running FROM seed_ev e JOIN seed_pick p ON p.k = e.k;`,
    `CREATE UNIQUE INDEX seed_run_i ON seed_run (i);`,
    `UPDATE seed_ev SET running = (SELECT running FROM seed_run WHERE seed_run.i = seed_ev.i);`,
    `INSERT INTO downloads (id, at, repo, reference, digest, user_id, customer_id, ip, user_agent, country, colo, child, counted)
       SELECT ${eventId("e.at", "e.i")}, e.at, p.repo, CASE WHEN e.d % 10 = 0 THEN p.digest ELSE p.tag END, p.digest,
         json_extract(g.users, '$[' || (e.e % json_array_length(g.users)) || ']'),
         g.customer_id, '10.' || (e.d / 7 % 256) || '.' || (e.d / 1801 % 256) || '.' || (1 + e.d / 460801 % 254),
         CASE WHEN p.helm THEN 'Helm/4.3.2' ELSE ${sqlPick(agents, "e.e / 7 % " + agents.length)} END,
         ${sqlPick(countries, "e.e / 131 % " + countries.length)}, NULL, 0, 0
       FROM seed_ev e JOIN seed_pick p ON p.k = e.k JOIN seed_group g ON g.g = e.g
       WHERE e.running - p.is_index <= ${DOWNLOADS};`,
    // the platform manifest a client fetches right after the index: part of that pull
    `INSERT INTO downloads (id, at, repo, reference, digest, user_id, customer_id, ip, user_agent, country, colo, child, counted)
       SELECT ${eventId("e.at + 1", "e.i")}, d.at + 1, d.repo, p.child, p.child, d.user_id, d.customer_id, d.ip, d.user_agent, d.country, NULL, 1, 0
       FROM seed_ev e JOIN seed_pick p ON p.k = e.k JOIN downloads d ON d.id = ${eventId("e.at", "e.i")}
       WHERE p.is_index AND e.running <= ${DOWNLOADS};`,
    `INSERT INTO pulls_daily (day, repo, digest, tag, customer_id, pulls)
       SELECT at / 86400, repo, digest, CASE WHEN instr(reference, ':') > 0 THEN '' ELSE reference END, COALESCE(customer_id, ''), COUNT(*)
       FROM downloads WHERE ${mine} AND counted = 0 AND child = 0
       GROUP BY 1, 2, 3, 4, 5
       ON CONFLICT (day, repo, digest, tag, customer_id) DO UPDATE SET pulls = pulls + excluded.pulls;`,
    `UPDATE downloads SET counted = 1 WHERE ${mine} AND counted = 0;`,
    `DROP TABLE seed_ev;`,
    `DROP TABLE seed_run;`,
    `DROP TABLE seed_pick;`,
    `DROP TABLE seed_group;`,
  ],
  "downloads",
);
const counted = JSON.parse(
  execFileSync("npx", ["wrangler", "d1", "execute", "DB", "--local", "-c", config, "--persist-to", persist, "--json", "--command",
    `SELECT (SELECT COUNT(*) FROM downloads WHERE ${mine}) AS events, (SELECT SUM(pulls) FROM pulls_daily WHERE ${mine}) AS pulls, (SELECT COUNT(*) FROM pulls_daily WHERE ${mine}) AS daily_rows`],
    { cwd: root, env: { ...process.env, CI: "true" } }).toString(),
)[0].results[0];
log(`download events: ${counted.events}, pulls counted: ${counted.pulls} in ${counted.daily_rows} daily rows`);

// --- 5. check through the API ---------------------------------------------------------------
const list = await api("GET", `/api/v1/artifacts?q=${encodeURIComponent(PREFIX + "/")}&sort=pulls&limit=5`).catch((e) => ({ error: `${e} ${e?.cause?.code ?? ""}` }));
log("top artifacts by pulls:", JSON.stringify((list.items ?? []).map((a) => [a.name, a.type, a.pulls, a.customers])), list.error ?? "");
log(`done: ${artifacts.length} artifacts, ${rows.tags.length} tags, ${rows.manifests.length} manifests, ${counted.events} download events`);
console.log(
  JSON.stringify({
    prefix: PREFIX,
    password: PASSWORD,
    artifacts: artifacts.length,
    tags: rows.tags.length,
    downloads: counted.events,
    customers: customers.map(({ id, name, users, licenses, artifacts: arts }) => ({ id, name, users, licenses, artifacts: arts.slice(0, 20) })),
    unlicensed: unlicensed.slice(0, 20),
    sample: artifacts.find((a) => a.kind === "multiarch" && a.tags.length > 8)?.name ?? artifacts[0].name,
  }),
);
