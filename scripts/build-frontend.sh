#!/usr/bin/env bash
# Builds the dashboard (frontend/, Vite + React) into frontend/dist, which the
# registry worker serves as static assets (wrangler.toml [assets]).
#
#   scripts/build-frontend.sh          # FORCE=1 builds even when nothing changed
#
# Installs frontend/node_modules with `npm ci` when it is missing or was installed
# from another package-lock.json, then runs `npm run build` (API types generated from
# src/api/openapi.json, type check, vite build, the size budget). The build is
# skipped when nothing it reads changed since the last one: a stamp in node_modules
# records a hash of every file under frontend/ (node_modules, dist, e2e and
# test-results aside; the generated schema.d.ts too) and of src/api/openapi.json.
# Called by `make dev`, `make test` and wrangler's [build] (so `wrangler deploy`
# and `wrangler dev` have the directory); one run at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# Concurrent runs (wrangler's build beside make dev's) wait for each other.
exec 9<"$root/scripts/build-frontend.sh"
if command -v flock >/dev/null 2>&1; then flock 9; fi

cd frontend
if ! cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
  echo "build-frontend: installing frontend/node_modules from package-lock.json"
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.installed-lock
fi

inputs_hash() {
  {
    find . \( -path ./node_modules -o -path ./dist -o -path ./e2e -o -path ./test-results \) -prune \
      -o -type f ! -path ./src/api/schema.d.ts -print0
    printf '%s\0' ../src/api/openapi.json
  } | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64
}

stamp=node_modules/.build-stamp
want=$(inputs_hash)
if [ "${FORCE:-0}" != 1 ] && [ -f dist/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  echo "build-frontend: frontend/dist is up to date"
  exit 0
fi
echo "build-frontend: building frontend/dist"
rm -f "$stamp"
npm run build --silent
echo "$want" >"$stamp"
