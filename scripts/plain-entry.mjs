// Replaces the default export of the registry's bundle, as worker-build (without
// minifying) writes it, with the handler object in src/js/entry.js; fails when
// the bundle is not shaped as expected, rather than ship a worker without an
// entry. Usage: node scripts/plain-entry.mjs BUNDLE ENTRY
import { readFileSync, writeFileSync } from "node:fs";

const [bundlePath, entryPath] = process.argv.slice(2);
const replacements = [
  ["var shim_default = new Proxy(Entrypoint, classProxyHooks);\n", readFileSync(entryPath, "utf8")],
  ["  shim_default as default\n", "  tollgateEntry as default\n"],
];
let bundle = readFileSync(bundlePath, "utf8");
for (const [from, to] of replacements) {
  if (bundle.split(from).length !== 2) {
    console.error(`plain-entry: ${bundlePath} does not hold exactly one ${JSON.stringify(from)}`);
    process.exit(1);
  }
  bundle = bundle.replace(from, () => to);
}
writeFileSync(bundlePath, bundle);
