// Fails the build when the JavaScript the first page loads (every script that
// dist/index.html references, gzipped) exceeds the budget of issue 6: 250 KB.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const BUDGET = 250 * 1000;
const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(join(dist, "index.html"), "utf8");
const scripts = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/([^"]+\.js)"/g)].map((m) => m[1]);
if (scripts.length === 0) throw new Error("check-size: index.html references no script");
const total = scripts.reduce((sum, file) => sum + gzipSync(readFileSync(join(dist, file))).length, 0);
console.log(`initial JavaScript: ${scripts.length} file(s), ${(total / 1000).toFixed(1)} KB gzipped (budget ${BUDGET / 1000} KB)`);
if (total > BUDGET) process.exit(1);
