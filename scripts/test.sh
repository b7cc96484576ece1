#!/usr/bin/env bash
# `make test`: installs what the tests need, runs the core's tests, builds the worker,
# starts it under wrangler dev and runs the end-to-end suite (real clients included)
# and the OCI conformance suite against it.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
scripts/install-test-tools.sh
export PATH="${TOLLGATE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate/tools}/bin:$HOME/.cargo/bin:$PATH"

cargo test -p tollgate-core
scripts/build-worker.sh

eval "$(scripts/serve-test.sh)"
trap 'kill -- -"$TOLLGATE_PID" 2>/dev/null || true' EXIT
echo "Tollgate under test at $TOLLGATE_URL (log: $TOLLGATE_STATE/wrangler.log)"

cargo test -p tollgate-e2e --no-fail-fast -- --test-threads=2
scripts/conformance.sh
