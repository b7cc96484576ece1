#!/usr/bin/env bash
# Benchmarks Tollgate under wrangler dev against the CNCF distribution registry, a
# calibration worker that only streams bytes into and out of R2, and a trivial Rust
# worker (bench/trivial-rs) that answers a fixed body, then prints a table with ratios
# and writes bench/results/latest.json. See bench/README.md.
# tollgate-alone is the registry worker alone in its wrangler dev (no dashboard assets,
# no analytics worker beside it), for the manifest GET rate against the trivial
# workers, measured in turn with a calibration worker served beside it;
# tollgate-noqueue is Tollgate again, served without its Queue binding, for the
# manifest GET latency without the download-event send.
#
# Each target is started on a free loopback port with fresh state, measured, and
# stopped before the next one starts, so they never compete for the two cores.
# Usage: bench/run.sh            (make bench)
#   BENCH_TARGETS="distribution calibration" bench/run.sh   to measure a subset
#   BENCH_NO_BUILD=1 bench/run.sh   serves the workers already built, without rebuilding
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools-env.sh
export CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_SEND_METRICS=false CI=true

all_targets="tollgate tollgate-alone tollgate-noqueue distribution calibration trivial-rs"
targets=${BENCH_TARGETS:-$all_targets}
results=bench/results
work=$(mktemp -d /tmp/tollgate-bench.XXXXXX)
mkdir -p "$results"
for target in $all_targets; do rm -f "$results/$target.json" "$results/$target-server.log"; done

groups=()     # process groups we started (setsid), killed on exit
dirs=("$work")
cleanup() {
  local g
  for g in "${groups[@]}"; do kill -- -"$g" 2>/dev/null || true; done
  for g in "${groups[@]}"; do
    for _ in $(seq 1 50); do kill -0 -- -"$g" 2>/dev/null || break; sleep 0.1; done
    kill -9 -- -"$g" 2>/dev/null || true
  done
  rm -rf "${dirs[@]}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_group() {  # stop_group PGID: kill one process group now and forget it
  local g=$1 keep=() x
  kill -- -"$g" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 -- -"$g" 2>/dev/null || break; sleep 0.1; done
  kill -9 -- -"$g" 2>/dev/null || true
  for x in "${groups[@]}"; do [ "$x" = "$g" ] || keep+=("$x"); done
  groups=("${keep[@]}")
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {  # wait_http URL PID LOG: until URL answers anything, or PID dies
  for _ in $(seq 1 240); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" != 000 ]; then return 0; fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.5
  done
  echo "server at $1 did not come up; its log:" >&2
  cat "$3" >&2
  return 1
}

keep_log() {  # keep_log FILE TARGET: keep a server's log for a look
  cp "$1" "$results/$2-server.log" 2>/dev/null && echo "server log: $results/$2-server.log" >&2
}

failed=()
section() { printf '\n== %s ==\n' "$*" >&2; }

built=
build_tollgate() {  # build_tollgate TARGET: scripts/build-worker.sh, once per run
  [ -z "$built" ] || return 0
  if [ "${BENCH_NO_BUILD:-}" = 1 ]; then
    # Serve the workers and the dashboard as they were last built, as they are.
    local f
    for f in build/index.js crates/analytics/build/index.js frontend/dist/index.html; do
      [ -f "$f" ] || { echo "$1: BENCH_NO_BUILD=1 but $f is missing; not measured" >&2; return 1; }
    done
    built=1
    return 0
  fi
  section "$1: build"
  # serve-test.sh serves the dashboard too, so it needs frontend/dist
  if ! { scripts/build-worker.sh && scripts/build-frontend.sh; } > "$work/build.log" 2>&1; then
    tail -n 30 "$work/build.log" >&2
    [ -x "$TOOLS/bin/wasm-bindgen" ] \
      || echo "(wasm-bindgen is missing: run scripts/bootstrap.sh first)" >&2
    echo "$1: scripts/build-worker.sh or build-frontend.sh failed (log above); not measured" >&2
    return 1
  fi
  built=1
}

bench_tollgate() {
  build_tollgate tollgate || return 1
  section "tollgate: start (scripts/serve-test.sh)"
  local exports
  # Long-lived upload sessions: the 1 GiB push takes longer than the test default.
  exports=$(TOLLGATE_TEST_NO_FRONT=1 TOLLGATE_TEST_NO_SCHEDULED=1 TOLLGATE_TEST_UPLOAD_TTL=3600 \
    scripts/serve-test.sh) || return 1
  eval "$exports"
  groups+=("$TOLLGATE_PID")
  dirs+=("$TOLLGATE_STATE")
  section "tollgate: measure ($TOLLGATE_URL)"
  python3 bench/bench.py registry --name tollgate --url "$TOLLGATE_URL" \
    --user "$TOLLGATE_USER" --password "$TOLLGATE_PASSWORD" --pgid "$TOLLGATE_PID" \
    --sign-in-password "$TOLLGATE_ADMIN_PASSWORD" --customer --analytics --round-trips \
    --out "$results/tollgate.json" \
    || { keep_log "$TOLLGATE_STATE/wrangler.log" tollgate; stop_group "$TOLLGATE_PID"; return 1; }
  keep_log "$TOLLGATE_STATE/wrangler.log" tollgate
  stop_group "$TOLLGATE_PID"
}

bench_tollgate-alone() {
  build_tollgate tollgate-alone || return 1
  # The trivial worker it is checked against, served beside it and measured in turn
  # with it (bench.py's `manifest` rounds); idle while the registry is measured.
  section "tollgate-alone: start the reference (bench/calibration)"
  serve_worker tollgate-alone-reference bench/calibration/wrangler.toml || return 1
  local ref_url=$served_url ref_pid=$served_pid
  section "tollgate-alone: start (scripts/serve-test.sh, registry worker alone)"
  local exports
  exports=$(TOLLGATE_TEST_NO_FRONT=1 TOLLGATE_TEST_NO_SCHEDULED=1 TOLLGATE_TEST_NO_ASSETS=1 \
    TOLLGATE_TEST_NO_ANALYTICS=1 scripts/serve-test.sh) || { stop_group "$ref_pid"; return 1; }
  eval "$exports"
  groups+=("$TOLLGATE_PID")
  dirs+=("$TOLLGATE_STATE")
  section "tollgate-alone: measure ($TOLLGATE_URL, reference $ref_url)"
  python3 bench/bench.py manifest --name tollgate-alone --url "$TOLLGATE_URL" \
    --user "$TOLLGATE_USER" --password "$TOLLGATE_PASSWORD" --pgid "$TOLLGATE_PID" --customer \
    --reference "$ref_url" --reference-pgid "$ref_pid" --out "$results/tollgate-alone.json" \
    || { keep_log "$TOLLGATE_STATE/wrangler.log" tollgate-alone; stop_group "$TOLLGATE_PID"; \
         stop_group "$ref_pid"; return 1; }
  stop_group "$TOLLGATE_PID"
  stop_group "$ref_pid"
}

bench_tollgate-noqueue() {
  build_tollgate tollgate-noqueue || return 1
  section "tollgate-noqueue: start (TOLLGATE_TEST_NO_QUEUE=1 scripts/serve-test.sh)"
  local exports
  exports=$(TOLLGATE_TEST_NO_FRONT=1 TOLLGATE_TEST_NO_SCHEDULED=1 TOLLGATE_TEST_NO_QUEUE=1 \
    scripts/serve-test.sh) || return 1
  eval "$exports"
  groups+=("$TOLLGATE_PID")
  dirs+=("$TOLLGATE_STATE")
  section "tollgate-noqueue: measure ($TOLLGATE_URL)"
  python3 bench/bench.py manifest --name tollgate-noqueue --url "$TOLLGATE_URL" \
    --user "$TOLLGATE_USER" --password "$TOLLGATE_PASSWORD" \
    --out "$results/tollgate-noqueue.json" \
    || { keep_log "$TOLLGATE_STATE/wrangler.log" tollgate-noqueue; stop_group "$TOLLGATE_PID"; return 1; }
  stop_group "$TOLLGATE_PID"
}

bench_distribution() {
  section "distribution: start"
  local url user=bench password pid
  password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  local dir=$work/distribution port
  port=$(free_port)
  pid=$(scripts/start-reference-registry.sh "$port" "$user" "$password" "$dir") || return 1
  groups+=("$pid")
  url=http://127.0.0.1:$port
  section "distribution: measure ($url)"
  python3 bench/bench.py registry --name distribution --url "$url" \
    --user "$user" --password "$password" --out "$results/distribution.json" \
    || { keep_log "$dir/registry.log" distribution; stop_group "$pid"; return 1; }
  stop_group "$pid"
}

serve_worker() {  # serve_worker TARGET CONFIG: wrangler dev of CONFIG on a free port
  # with fresh state; sets served_url, served_pid (its process group) and served_log.
  local dir=$work/$1 port
  port=$(free_port)
  mkdir -p "$dir"
  served_url=http://127.0.0.1:$port
  served_log=$dir/wrangler.log
  # Without wrangler's DevTools proxy, as serve-test.sh runs Tollgate (see there).
  VSCODE_INSPECTOR_OPTIONS=tollgate-no-devtools \
    setsid npx wrangler dev -c "$2" --port "$port" --ip 127.0.0.1 \
    --persist-to "$dir/state" > "$served_log" 2>&1 < /dev/null &
  served_pid=$!
  groups+=("$served_pid")
  wait_http "$served_url/" "$served_pid" "$served_log"
}

bench_calibration() {
  section "calibration: start"
  serve_worker calibration bench/calibration/wrangler.toml || return 1
  local pid=$served_pid log=$served_log
  section "calibration: measure ($served_url)"
  python3 bench/bench.py calibration --url "$served_url" --pgid "$pid" \
    --out "$results/calibration.json" \
    || { keep_log "$log" calibration; stop_group "$pid"; return 1; }
  stop_group "$pid"
}

build_trivial_rs() {  # worker-build of bench/trivial-rs, as scripts/build-worker.sh builds the registry
  if [ "${BENCH_NO_BUILD:-}" = 1 ]; then
    [ -f bench/trivial-rs/build/index.js ] && return 0
    echo "trivial-rs: BENCH_NO_BUILD=1 but bench/trivial-rs/build/index.js is missing; not measured" >&2
    return 1
  fi
  section "trivial-rs: build"
  if ! (export WASM_BINDGEN_BIN=$TOOLS/bin/wasm-bindgen ESBUILD_BIN=$PWD/node_modules/.bin/esbuild
        cd bench/trivial-rs && "$TOOLS/bin/worker-build" --release) > "$work/build-trivial-rs.log" 2>&1; then
    tail -n 30 "$work/build-trivial-rs.log" >&2
    echo "trivial-rs: worker-build failed (log above); not measured" >&2
    return 1
  fi
}

bench_trivial-rs() {
  build_trivial_rs || return 1
  section "trivial-rs: start"
  serve_worker trivial-rs bench/trivial-rs/wrangler.toml || return 1
  local pid=$served_pid log=$served_log
  section "trivial-rs: measure ($served_url)"
  python3 bench/bench.py trivial --name trivial-rs --url "$served_url" --pgid "$pid" \
    --out "$results/trivial-rs.json" \
    || { keep_log "$log" trivial-rs; stop_group "$pid"; return 1; }
  stop_group "$pid"
}

start=$(date +%s)
read -r load1 _ < /proc/loadavg
echo "load average before: $load1 on $(nproc) cores" >&2
if python3 -c "import sys; sys.exit(0 if $load1 > 0.5 * $(nproc) else 1)"; then
  echo "warning: the machine is busy; the numbers will be noisy" >&2
fi
for target in $targets; do
  "bench_$target" || failed+=("$target")
done

section "results ($(( $(date +%s) - start )) s)"
export BENCH_LOAD_BEFORE=$load1
measured=()
for target in $all_targets; do
  [ -f "$results/$target.json" ] && measured+=("$results/$target.json")
done
python3 bench/bench.py report "${measured[@]}" --out "$results/latest.json"
echo "written: $results/latest.json"
if [ ${#failed[@]} -gt 0 ]; then
  echo "not measured: ${failed[*]}" >&2
  exit 1
fi
