#!/usr/bin/env bash
# Runs COMMAND against a throwaway test server of its own (scripts/serve-test.sh),
# with the variables that script exports in COMMAND's environment. Stops the server
# afterwards; removes its state directory when COMMAND succeeded, keeps it (and its
# wrangler.log) for a look when not. Exits with COMMAND's status.
# Usage: scripts/with-server.sh COMMAND [ARGS…]
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/serve-test.sh)"
stop() { kill -- -"$TOLLGATE_PID" 2>/dev/null || true; }
trap stop EXIT
echo "with-server: $TOLLGATE_URL for: $*"
rc=0
"$@" || rc=$?
stop
if ((rc == 0)); then
  rm -rf "$TOLLGATE_STATE"
else
  echo "with-server: the server's state and log stay in $TOLLGATE_STATE" >&2
fi
exit "$rc"
