#!/usr/bin/env bash
# Installs what building and running Tollgate needs on a Debian machine with Rust and
# Node: the wasm32 target, worker-build, the wasm-bindgen CLI at exactly the version
# in Cargo.lock, and wrangler from package-lock.json. A no-op when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo install puts binaries here; a fresh shell may not have it on PATH yet.
export PATH="$HOME/.cargo/bin:$PATH"

WORKER_BUILD_VERSION=0.8.7
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "bootstrap: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  echo "bootstrap: installing worker-build $WORKER_BUILD_VERSION"
  cargo install --locked worker-build --version "$WORKER_BUILD_VERSION"
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $NF}')" != "$wasm_bindgen_version" ]; then
  echo "bootstrap: installing wasm-bindgen-cli $wasm_bindgen_version (the version in Cargo.lock)"
  cargo install --locked wasm-bindgen-cli --version "$wasm_bindgen_version"
fi

# node_modules/.installed-lock records which package-lock.json was installed.
if ! cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
  echo "bootstrap: installing wrangler from package-lock.json"
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.installed-lock
fi
