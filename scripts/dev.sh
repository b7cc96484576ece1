#!/usr/bin/env bash
# `make dev`: bootstrap, build (the workers and the dashboard, frontend/dist), apply
# migrations to the local D1, create the secrets on first run, and serve Tollgate —
# the registry, its API and the dashboard — under wrangler dev on $PORT (8787), with
# the analytics worker beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8787}

scripts/bootstrap.sh
scripts/build-worker.sh
scripts/build-frontend.sh

# Secrets live in .dev.vars (git-ignored): the first admin's email and password,
# the key bearer tokens are signed with, and the key upstream credentials are
# encrypted with (docs/pull-through.md). TOLLGATE_ADMIN_USER and
# TOLLGATE_ADMIN_PASSWORD in the environment set the admin; otherwise a password is
# generated once and kept. The admin account is created on its first sign-in.
random_hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
if [ -n "${TOLLGATE_ADMIN_PASSWORD:-}" ] || [ ! -f .dev.vars ]; then
  user=${TOLLGATE_ADMIN_USER:-admin@tollgate.local}
  password=${TOLLGATE_ADMIN_PASSWORD:-$(random_hex 24)}
  umask 077
  printf 'TOLLGATE_ADMIN_USER=%s\nTOLLGATE_ADMIN_PASSWORD=%s\n' "$user" "$password" > .dev.vars
fi
grep -q '^TOLLGATE_JWT_KEY=' .dev.vars || printf 'TOLLGATE_JWT_KEY=%s\n' "$(random_hex 32)" >> .dev.vars
grep -q '^TOLLGATE_UPSTREAM_KEY=' .dev.vars || printf 'TOLLGATE_UPSTREAM_KEY=%s\n' "$(random_hex 32)" >> .dev.vars
user=$(sed -n 's/^TOLLGATE_ADMIN_USER=//p' .dev.vars)
password=$(sed -n 's/^TOLLGATE_ADMIN_PASSWORD=//p' .dev.vars)
case $user in
  *@*) ;;
  *) echo "dev: TOLLGATE_ADMIN_USER in .dev.vars must be an email address (got '$user')" >&2; exit 1 ;;
esac

CI=true npx wrangler d1 migrations apply DB --local
backend=$(scripts/free-port.sh)

cat <<MSG

Tollgate is starting at http://localhost:$PORT
  (wrangler's "Ready on" line below names its private port $backend: use $PORT)
  Dashboard: http://localhost:$PORT/ — sign in with the admin's email and password:
  admin:    $user
  password: $password
Log in with:  docker login localhost:$PORT -u $user -p '$password'
         or:  curl -u '$user:$password' http://localhost:$PORT/v2/_catalog
Registry clients speak plain HTTP to it with their insecure switch: skopeo
  --tls-verify=false, podman/buildah --tls-verify=false, crane --insecure,
  helm and oras --plain-http (README.md, "Using it").
Make a personal access token (faster than a password for every request):
  curl -u '$user:$password' -H 'Content-Type: application/json' \\
       -d '{"name":"laptop"}' http://localhost:$PORT/api/v1/tokens

MSG
# Both workers in one wrangler dev: the registry and the analytics worker, which
# consumes the local download-events queue. Their state is persisted in one place, so
# they share the local D1 database the migrations were applied to. Clients reach it
# through scripts/front.mjs on $PORT, which turns away a TLS probe at once (clients'
# insecure switches try HTTPS first) instead of leaving it to a 10 s timeout.
exec node scripts/front.mjs "$PORT" "$backend" -- \
  npx wrangler dev -c wrangler.toml -c crates/analytics/wrangler.toml \
  --port "$backend" --ip 127.0.0.1 --persist-to .wrangler/state
