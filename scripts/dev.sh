#!/usr/bin/env bash
# `make dev`: bootstrap, build, apply migrations to the local D1, create the admin
# credential on first run, and serve Tollgate under wrangler dev on $PORT (8787).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-8787}

scripts/bootstrap.sh
scripts/build-worker.sh

# The admin credential lives in .dev.vars (git-ignored). TOLLGATE_ADMIN_USER and
# TOLLGATE_ADMIN_PASSWORD in the environment set it; otherwise a password is
# generated once and kept.
if [ -n "${TOLLGATE_ADMIN_PASSWORD:-}" ] || [ ! -f .dev.vars ]; then
  user=${TOLLGATE_ADMIN_USER:-admin}
  password=${TOLLGATE_ADMIN_PASSWORD:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}
  umask 077
  printf 'TOLLGATE_ADMIN_USER=%s\nTOLLGATE_ADMIN_PASSWORD=%s\n' "$user" "$password" > .dev.vars
fi
user=$(sed -n 's/^TOLLGATE_ADMIN_USER=//p' .dev.vars)
password=$(sed -n 's/^TOLLGATE_ADMIN_PASSWORD=//p' .dev.vars)

CI=true npx wrangler d1 migrations apply DB --local

cat <<MSG

Tollgate is starting at http://localhost:$PORT
  user:     $user
  password: $password
Log in with:  docker login localhost:$PORT -u $user -p '$password'
         or:  curl -u '$user:$password' http://localhost:$PORT/v2/_catalog

MSG
exec npx wrangler dev --port "$PORT" --ip 127.0.0.1
