#!/usr/bin/env bash
# `make test`: installs what the tests need (Chromium included), checks formatting
# and clippy's lints over every crate, checks the core's modules import each other
# without a cycle (scripts/core-cycles.sh), runs its tests,
# builds the workers and the dashboard, runs the dashboard's component tests, then,
# side by side and each against a throwaway wrangler dev of its own, the end-to-end
# suite (real clients included; its large-blob and garbage-collection tests apart),
# the dashboard's browser tests (frontend/e2e; one of them starts yet another server
# and seeds it with volume) and the OCI conformance suite; then, alone, the bundle
# memory test and the large pull-through (a 300 MiB layer). Each suite's output is printed whole when it ends. Every suite runs;
# the exit status says whether all passed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools-env.sh

start=$SECONDS
logs=$(mktemp -d /tmp/tollgate-test-logs.XXXXXX)
step() { printf '\n== test: %s (at %d s) ==\n' "$*" $((SECONDS - start)); }

# The test tools (apt, Go, pip) install while bootstrap compiles the Rust tools: the
# downloads and the single-threaded link steps of one overlap the other's compiling.
step "bootstrap and test tools"
scripts/install-test-tools.sh > "$logs/tools.log" 2>&1 &
tools=$!
scripts/bootstrap.sh
tools_rc=0
wait "$tools" || tools_rc=$?
cat "$logs/tools.log"
((tools_rc == 0)) || { echo "test: scripts/install-test-tools.sh failed" >&2; exit 1; }

step "lints"
# Format and clippy, warnings as errors, over every crate: the workers for wasm,
# where they run, the core, the test suite and the rest natively.
rustup component add rustfmt clippy
cargo fmt --all --check
cargo clippy --release --target wasm32-unknown-unknown -p tollgate -p tollgate-analytics \
  -p tollgate-bench-trivial -- -D warnings
cargo clippy -p tollgate-core -p tollgate-d1 -p tollgate-e2e --all-targets -- -D warnings

step "core tests"
scripts/core-cycles.sh
cargo test -p tollgate-core
# The edge's own rules: how it reads the headers the core knows nothing of.
cargo test -p tollgate --lib
step "build"
scripts/build-worker.sh
scripts/build-frontend.sh
# Compiled now, so the suites below start as soon as their servers are up.
cargo test -p tollgate-e2e --no-run
step "dashboard component tests"
(cd frontend && npm test)

# The suites run side by side, each against a server of its own (scripts/with-server.sh):
# the servers' work spreads over both cores, the garbage collector the gc tests
# trigger can never take another suite's fresh uploads, and no suite's load (the
# large-blob tests stream 1.3 GiB) slows another's server. Each waits on the network
# and its server most of the time, so together they take little longer than the
# longest alone.
e2e_tests=()
for file in tests/tests/*.rs; do
  name=$(basename "$file" .rs)
  case $name in large_blobs | gc | bundle_memory | pull_through_memory) ;; *) e2e_tests+=(--test "$name") ;; esac
done
declare -A suites=(
  [end-to-end]="cargo test -p tollgate-e2e --no-fail-fast --lib ${e2e_tests[*]} -- --test-threads=2"
  [large blobs]="cargo test -p tollgate-e2e --test large_blobs"
  [garbage collection]="cargo test -p tollgate-e2e --test gc"
  [browser]="cd frontend && npm run e2e"
  [conformance]="CONFORMANCE_SKIP_INSTALL=1 scripts/conformance.sh"
)
declare -A pids=()
for name in "${!suites[@]}"; do
  step "$name: started"
  scripts/with-server.sh bash -c "${suites[$name]}" > "$logs/$name.log" 2>&1 &
  pids[$!]=$name
done
failed=()
while ((${#pids[@]})); do
  rc=0
  wait -n -p done_pid "${!pids[@]}" || rc=$?
  name=${pids[$done_pid]}
  unset "pids[$done_pid]"
  step "$name: ended with status $rc"
  cat "$logs/$name.log"
  ((rc == 0)) || failed+=("$name (${suites[$name]})")
done

# Alone on the machine, after the others, each on a fresh server. The bundle memory
# test measures its server's workerd memory, which grows when the test's reader,
# starved of CPU, falls behind local R2 (docs/bundles.md, for plain blob GETs as
# much as for bundles); even alone, about one run in nine the local R2 simulator
# grows by a GiB and keeps it, so a failed run is repeated once on a fresh server
# (a bundle that buffered would fail both). The pull-through file's large transfers
# (its memory measurement is run on demand: docs/pull-through.md) get the same.
for test in bundle_memory pull_through_memory; do
  name="memory: $test"
  step "$name: started"
  rc=0
  memory_test() {
    scripts/with-server.sh cargo test -p tollgate-e2e --test "$test" >> "$logs/$test.log" 2>&1
  }
  memory_test || memory_test || rc=$?
  step "$name: ended with status $rc"
  cat "$logs/$test.log"
  ((rc == 0)) || failed+=("$name (cargo test -p tollgate-e2e --test $test)")
done

step "done"
if ((${#failed[@]})); then
  printf 'test: failed: %s\n' "${failed[@]}" >&2
  echo "test: each suite's output is also in $logs" >&2
  exit 1
fi
rm -rf "$logs"
