#!/usr/bin/env bash
# Builds the registry worker to build/worker with worker-build, using the local
# wasm-bindgen CLI and wrangler's esbuild instead of downloading either.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
WASM_BINDGEN_BIN=$(command -v wasm-bindgen)
ESBUILD_BIN=$PWD/node_modules/.bin/esbuild
export WASM_BINDGEN_BIN ESBUILD_BIN
exec worker-build --release
