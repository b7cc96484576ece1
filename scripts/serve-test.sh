#!/usr/bin/env bash
# Starts a throwaway Tollgate under wrangler dev for tests and benchmarks: a free
# loopback port, a fresh state directory with migrations applied, a random admin
# password, token-signing key and upstream-credential key, idle uploads expiring after
# $TOLLGATE_TEST_UPLOAD_TTL seconds (60), and a garbage-collection grace period of
# $TOLLGATE_TEST_GC_GRACE seconds (4), read-path caches living
# $TOLLGATE_TEST_CACHE_TTL seconds (5, as deployed; 0 turns them off); the collection job runs only when a test asks
# for it with `GET /__scheduled` (wrangler's --test-scheduled). It signs the admin in
# once (creating the account) and mints a personal access token, which tests use as
# the password: tokens are checked with a fast hash, passwords with 100,000 PBKDF2
# rounds.
# It serves copies of the built workers (run scripts/build-worker.sh first) and of the
# built dashboard (scripts/build-frontend.sh, frontend/dist) from configs without a
# build step, so rebuilding while tests run does not restart the workers under them
# nor change the pages they serve: the registry on the port, and beside it in the same wrangler
# dev the analytics worker, which consumes the local download-events queue and
# shares the registry's local D1 database. Prints `export` lines for TOLLGATE_URL,
# TOLLGATE_USER, TOLLGATE_PASSWORD (the token), TOLLGATE_ADMIN_PASSWORD,
# TOLLGATE_JWT_KEY (tests forge tokens with it), TOLLGATE_FAILURES_PER_ACCOUNT/_ADDRESS,
# TOLLGATE_UPLOAD_TTL, TOLLGATE_CACHE_TTL, TOLLGATE_CHUNK_MAX (its UPLOAD_CHUNK_MAX_BYTES, 64 MiB or
# $TOLLGATE_TEST_CHUNK_MAX), TOLLGATE_GC_GRACE, TOLLGATE_STATE and TOLLGATE_PID (the process
# group to kill when done).
# Clients reach it through scripts/front.mjs, as under `make dev`, unless
# TOLLGATE_TEST_NO_FRONT=1.
# TOLLGATE_TEST_NO_QUEUE=1 serves the registry without its `[[queues.producers]]`
# binding (everything else identical), so no download event can be sent: the e2e
# test that pulls still succeed then uses it, and the benchmark of what the send costs.
# Usage: eval "$(scripts/serve-test.sh [STATE_DIR])"
set -euo pipefail
cd "$(dirname "$0")/.."
state=${1:-$(mktemp -d /tmp/tollgate-state.XXXXXX)}
port=$(scripts/free-port.sh)
backend=$(scripts/free-port.sh)
password=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
jwt_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
upstream_key=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
user=e2e@tollgate.test
ttl=${TOLLGATE_TEST_UPLOAD_TTL:-60}
# Not the deployed default, so a test can tell the variable is read.
chunk_max=${TOLLGATE_TEST_CHUNK_MAX:-67108864}
gc_grace=${TOLLGATE_TEST_GC_GRACE:-4}
cache_ttl=${TOLLGATE_TEST_CACHE_TTL:-5}
# Failure limits high enough that the suite's deliberate failures (from one
# address, some for the admin) never lock out the tests that follow.
per_account=${TOLLGATE_TEST_FAILURES_PER_ACCOUNT:-20}
per_address=${TOLLGATE_TEST_FAILURES_PER_ADDRESS:-200}

for built in build/index.js crates/analytics/build/index.js frontend/dist/index.html; do
  [ -f "$built" ] || { echo "serve-test: build the workers and the frontend first (scripts/build-worker.sh, scripts/build-frontend.sh)" >&2; exit 1; }
done
# The config and the worker live apart from the persisted data: wrangler watches the
# config's directory, and blob writes there would reload the worker mid-request.
mkdir -p "$state/worker" "$state/analytics" "$state/data"
cp build/index.js build/index_bg.wasm "$state/worker/"
# The dashboard's static assets, copied too: a frontend rebuild must not change them
# under a running test server.
rm -rf "$state/worker/assets"
cp -R frontend/dist "$state/worker/assets"
no_queue=()
if [ "${TOLLGATE_TEST_NO_QUEUE:-}" = 1 ]; then no_queue=(-e '/^\[\[queues\.producers\]\]/,/^$/d'); fi
# TOLLGATE_TEST_NO_ASSETS=1 serves the registry without the dashboard's [assets], so no
# request passes the local asset router first; TOLLGATE_TEST_NO_ANALYTICS=1 without the
# analytics worker beside it (download events are still sent, and wait in the local
# Queue). With TOLLGATE_TEST_NO_FRONT=1 and TOLLGATE_TEST_NO_SCHEDULED=1 as well: the
# registry worker alone, served as the benchmarks' trivial workers are.
no_assets=()
if [ "${TOLLGATE_TEST_NO_ASSETS:-}" = 1 ]; then no_assets=(-e '/^\[assets\]/,/^$/d'); fi
sed -e "s|^main = .*|main = \"index.js\"|" \
    -e "s|^migrations_dir = .*|migrations_dir = \"$PWD/migrations\"|" \
    -e 's|^directory = "frontend/dist"|directory = "assets"|' \
    -e '/^\[build\]/,/^$/d' "${no_queue[@]}" "${no_assets[@]}" wrangler.toml > "$state/worker/wrangler.toml"
cp crates/analytics/build/index.js crates/analytics/build/index_bg.wasm "$state/analytics/"
sed -e "s|^main = .*|main = \"index.js\"|" \
    -e "s|^migrations_dir = .*|migrations_dir = \"$PWD/migrations\"|" \
    -e '/^\[build\]/,/^$/d' crates/analytics/wrangler.toml > "$state/analytics/wrangler.toml"

config="$state/worker/wrangler.toml"
analytics_config="$state/analytics/wrangler.toml"
analytics=(-c "$analytics_config")
if [ "${TOLLGATE_TEST_NO_ANALYTICS:-}" = 1 ]; then analytics=(); fi
CI=true npx wrangler d1 migrations apply DB --local -c "$config" --persist-to "$state/data" >&2
# Wrangler's DevTools proxy attaches to the runtime's inspector, which costs every D1
# call 6-8 ms of CPU (tag pushes: 79-101/s with it, 126-161/s without, in one run).
# Nobody debugs a test server, and wrangler 4 has no flag to leave it out; it skips
# attaching when it believes it runs in a VS Code debug terminal. Logs still arrive.
# Clients connect as with `make dev`: through scripts/front.mjs on $port.
# TOLLGATE_TEST_NO_FRONT=1 serves wrangler dev on $port itself (the benchmarks: the
# front is a local convenience, not part of what runs on Cloudflare).
front=(node scripts/front.mjs "$port" "$backend" --)
# `--test-scheduled` wraps every request in wrangler's middleware for `/__scheduled`;
# TOLLGATE_TEST_NO_SCHEDULED=1 leaves it out (the benchmarks: no such route in production).
scheduled=(--test-scheduled)
if [ "${TOLLGATE_TEST_NO_SCHEDULED:-}" = 1 ]; then scheduled=(); fi
if [ "${TOLLGATE_TEST_NO_FRONT:-}" = 1 ]; then front=() backend=$port; fi
# Each server keeps its own dev registry (wrangler's record of running local
# workers, shared under HOME by default): the suites run servers side by side,
# and none of them binds to another's workers, so none should see them come and go.
WRANGLER_REGISTRY_PATH="$state/registry" VSCODE_INSPECTOR_OPTIONS=tollgate-no-devtools \
  setsid "${front[@]}" \
  npx wrangler dev -c "$config" "${analytics[@]}" --port "$backend" --ip 127.0.0.1 --persist-to "$state/data" \
  "${scheduled[@]}" --var "GC_GRACE_SECONDS:$gc_grace" \
  --var "TOLLGATE_ADMIN_USER:$user" --var "TOLLGATE_ADMIN_PASSWORD:$password" \
  --var "TOLLGATE_JWT_KEY:$jwt_key" --var "TOLLGATE_UPSTREAM_KEY:$upstream_key" \
  --var "AUTH_FAILURES_PER_ACCOUNT:$per_account" \
  --var "AUTH_FAILURES_PER_ADDRESS:$per_address" \
  --var "UPLOAD_TTL_SECONDS:$ttl" --var "UPLOAD_CHUNK_MAX_BYTES:$chunk_max" \
  --var "CACHE_TTL_SECONDS:$cache_ttl" > "$state/wrangler.log" 2>&1 < /dev/null &
pid=$!
# With two configs, wrangler dev answers on the port before it has loaded the second
# worker, then restarts the runtime ("Your worker restarted mid-request" to whatever
# was in flight); its "Ready on" line comes after that restart.
for _ in $(seq 1 240); do
  if grep -q 'Ready on' "$state/wrangler.log" &&
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null | grep -q 401; then
    token=$(curl -sf -u "$user:$password" -H 'Content-Type: application/json' \
      -d '{"name":"e2e"}' "http://127.0.0.1:$port/api/v1/tokens" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["secret"])') || break
    echo "export TOLLGATE_URL=http://127.0.0.1:$port TOLLGATE_USER=$user TOLLGATE_PASSWORD=$token TOLLGATE_ADMIN_PASSWORD=$password TOLLGATE_JWT_KEY=$jwt_key TOLLGATE_FAILURES_PER_ACCOUNT=$per_account TOLLGATE_FAILURES_PER_ADDRESS=$per_address TOLLGATE_UPLOAD_TTL=$ttl TOLLGATE_CACHE_TTL=$cache_ttl TOLLGATE_CHUNK_MAX=$chunk_max TOLLGATE_GC_GRACE=$gc_grace TOLLGATE_PID=$pid TOLLGATE_STATE=$state"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.5
done
echo "wrangler dev did not come up; its log:" >&2
cat "$state/wrangler.log" >&2
kill -- -"$pid" 2>/dev/null || true
exit 1
