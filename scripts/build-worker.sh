#!/usr/bin/env bash
# Builds the workers with worker-build, using the local wasm-bindgen CLI and
# wrangler's esbuild instead of downloading either: the registry to build/ and the
# analytics worker to crates/analytics/build/. Both share the workspace's target
# directory, so the second build reuses the dependencies the first compiled.
# Usage: scripts/build-worker.sh [registry|analytics]   (both when not given)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools-env.sh
WASM_BINDGEN_BIN=$TOOLS/bin/wasm-bindgen
ESBUILD_BIN=$PWD/node_modules/.bin/esbuild
export WASM_BINDGEN_BIN ESBUILD_BIN

# The registry, with its own entry (src/js/entry.js) in place of the shim's
# default export: built unminified so the shim's names can be found
# (scripts/plain-entry.mjs), then minified as worker-build would have.
registry() {
  NO_MINIFY=1 "$TOOLS/bin/worker-build" --release
  node scripts/plain-entry.mjs build/index.js src/js/entry.js
  "$ESBUILD_BIN" build/index.js --minify --format=esm --outfile=build/index.js \
    --allow-overwrite --log-level=warning
}

case ${1:-both} in
  registry) registry ;;
  analytics) (cd crates/analytics && "$TOOLS/bin/worker-build" --release) ;;
  both) registry && (cd crates/analytics && "$TOOLS/bin/worker-build" --release) ;;
  *) echo "usage: $0 [registry|analytics]" >&2; exit 2 ;;
esac
