#!/usr/bin/env bash
# Start the reference registry (CNCF distribution 2.8, Debian package
# docker-registry) on a loopback port, with htpasswd auth and deletes enabled.
#
#   pid=$(scripts/start-reference-registry.sh PORT USER PASSWORD DATADIR)
#   ...                                   # http://127.0.0.1:PORT, plain HTTP
#   kill "$pid"
#
# DATADIR holds config.yml, htpasswd, registry.log and storage/ (blobs); it is
# created if missing and reused if present (delete it for an empty registry).
# Prints only the PID on stdout, once the registry answers on /v2/. With
# REGISTRY_ACCESS_LOG=1 every request is logged to registry.log (tests count
# what reached the registry: tests/tests/pull_through.rs).
# Installed by scripts/install-test-tools.sh. Note: distribution 2.8 has no
# referrers API and no sha512 support; it is a baseline, not an oracle.
set -euo pipefail

if (($# != 4)); then
  echo "usage: $0 PORT USER PASSWORD DATADIR" >&2
  exit 2
fi
port=$1 user=$2 password=$3 data=$4
access_log_disabled=true
if [[ ${REGISTRY_ACCESS_LOG:-} == 1 ]]; then
  access_log_disabled=false
fi

if ! command -v docker-registry >/dev/null || ! command -v htpasswd >/dev/null; then
  echo "docker-registry/htpasswd missing: run scripts/install-test-tools.sh" >&2
  exit 1
fi
if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
  echo "something already listens on 127.0.0.1:$port" >&2
  exit 1
fi

mkdir -p "$data/storage"
data=$(cd "$data" && pwd)
# bcrypt is the only hash distribution accepts
htpasswd -Bbn "$user" "$password" >"$data/htpasswd"
cat >"$data/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: $access_log_disabled
storage:
  filesystem:
    rootdirectory: $data/storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:$port
  secret: $(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  htpasswd:
    realm: tollgate-reference
    path: $data/htpasswd
EOF

setsid docker-registry serve "$data/config.yml" >>"$data/registry.log" 2>&1 </dev/null &
pid=$!

for _ in $(seq 1 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" 2>/dev/null || true)
  if [[ $code == 401 || $code == 200 ]]; then
    echo "$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "docker-registry exited; see $data/registry.log:" >&2
    tail -20 "$data/registry.log" >&2
    exit 1
  fi
  sleep 0.1
done
echo "docker-registry did not answer on port $port within 10s; see $data/registry.log" >&2
kill "$pid" 2>/dev/null || true
exit 1
