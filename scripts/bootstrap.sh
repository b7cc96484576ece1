#!/usr/bin/env bash
# Installs what building and running Tollgate needs on a Debian machine with Rust
# (rustup) and Node.js 20: the wasm32 target, worker-build, the wasm-bindgen CLI at
# exactly the version in Cargo.lock, and wrangler from package-lock.json. The two
# Rust tools go into the tools directory (scripts/tools-env.sh). A no-op when all
# is present; a fresh machine takes about 8 minutes, nearly all of it compiling.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools-env.sh

WORKER_BUILD_VERSION=0.8.7
wasm_bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)

# The installed version of a tool in $TOOLS/bin, or nothing.
tool_version() { "$TOOLS/bin/$1" --version 2>/dev/null | awk '{print $2}'; }

# cargo install, with the tool's own lock file when the crates registry can serve
# every version it names, else resolved afresh within the tool's semver ranges: a
# release's lock goes stale when a yanked or unserved crate is in it (wasm-bindgen-cli
# 0.2.130 names webpki-roots 1.0.11, which the registry here does not serve).
# The tool's own version is pinned either way.
cargo_install() { # crate version
  local args=(install --root "$TOOLS" "$1" --version "$2")
  if ! cargo "${args[@]}" --locked; then
    echo "bootstrap: $1 $2's lock file does not resolve here; resolving its dependencies afresh"
    cargo "${args[@]}"
  fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "bootstrap: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(tool_version worker-build)" != "$WORKER_BUILD_VERSION" ]; then
  echo "bootstrap: installing worker-build $WORKER_BUILD_VERSION into $TOOLS"
  cargo_install worker-build "$WORKER_BUILD_VERSION"
fi

if [ "$(tool_version wasm-bindgen)" != "$wasm_bindgen_version" ]; then
  echo "bootstrap: installing wasm-bindgen-cli $wasm_bindgen_version (the version in Cargo.lock) into $TOOLS"
  cargo_install wasm-bindgen-cli "$wasm_bindgen_version"
fi

# node_modules/.installed-lock records which package-lock.json was installed.
if ! cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
  echo "bootstrap: installing wrangler from package-lock.json"
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.installed-lock
fi
