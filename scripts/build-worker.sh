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
case ${1:-both} in
  registry) "$TOOLS/bin/worker-build" --release ;;
  analytics) (cd crates/analytics && "$TOOLS/bin/worker-build" --release) ;;
  both) "$TOOLS/bin/worker-build" --release && (cd crates/analytics && "$TOOLS/bin/worker-build" --release) ;;
  *) echo "usage: $0 [registry|analytics]" >&2; exit 2 ;;
esac
