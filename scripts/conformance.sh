#!/usr/bin/env bash
# Run the OCI distribution-spec conformance suite against a running registry.
#
#   TOLLGATE_URL=http://127.0.0.1:8787 TOLLGATE_USER=admin TOLLGATE_PASSWORD=secret \
#     scripts/conformance.sh [main|legacy ...]
#
# Runs, in turn (default: both):
#   main    <tools>/bin/conformance-main   (the suite's current main branch: plain Go
#           program configured by OCI_REGISTRY/OCI_TLS/OCI_REPO1/2/OCI_API_*/OCI_DATA_*)
#   legacy  <tools>/bin/conformance-legacy (the Ginkgo suite of the v1.1 era, a
#           `go test -c` binary configured by OCI_ROOT_URL/OCI_NAMESPACE/OCI_TEST_*)
# Both come from scripts/install-test-tools.sh, which is run first (it is a no-op
# when everything is installed; set CONFORMANCE_SKIP_INSTALL=1 to skip it).
#
# Each run pushes into its own repositories (conformance/main, conformance/legacy,
# plus a second repository for cross-repository mounts) and writes its reports
# (junit.xml, report.html, main also results.yaml) into its own directory under
# $CONFORMANCE_OUT (default: a new temp dir), which is printed at the end.
#
# Optional environment:
#   TOLLGATE_TOOLS_DIR       where install-test-tools.sh put the tools (default ~/.cache/tollgate/tools)
#   CONFORMANCE_OCI_VERSION  spec version the main suite tests (1.1 default; "dev"
#                            adds the upload-cancel/digest-header/tag-param checks)
#   CONFORMANCE_FILTER       main only: OCI_FILTER_TEST, run one branch of tests
#   CONFORMANCE_SUFFIX       appended to repository names (default: a timestamp, so
#                            reruns against the same registry start from scratch)
#   any OCI_* variable       passed through; it overrides this script's defaults for
#                            the main suite (e.g. OCI_DATA_SHA512=false)
#
# Exit status: 0 when every selected suite passed, 1 otherwise. The last line is
# "conformance: N passed, N failed, N skipped" over all suites.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/scripts/tools-env.sh"
BIN="$TOOLS/bin"

: "${TOLLGATE_URL:?set TOLLGATE_URL, e.g. http://127.0.0.1:8787}"
: "${TOLLGATE_USER:?set TOLLGATE_USER}"
: "${TOLLGATE_PASSWORD:?set TOLLGATE_PASSWORD}"

suites=("$@")
((${#suites[@]})) || suites=(main legacy)
for s in "${suites[@]}"; do
  case $s in main | legacy) ;; *) echo "unknown suite '$s' (main, legacy)" >&2; exit 2 ;; esac
done

if [[ ${CONFORMANCE_SKIP_INSTALL:-0} != 1 ]]; then
  "$ROOT/scripts/install-test-tools.sh" >/dev/null || {
    echo "scripts/install-test-tools.sh failed; run it directly to see why" >&2
    exit 1
  }
fi

url=${TOLLGATE_URL%/}
case $url in
  http://*) registry=${url#http://} tls=disabled ;;
  https://*) registry=${url#https://} tls=enabled ;;
  *) echo "TOLLGATE_URL must start with http:// or https://" >&2; exit 2 ;;
esac
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/v2/" || true)
if [[ $code == 000 ]]; then
  echo "registry not reachable at $url/v2/" >&2
  echo "conformance: 0 passed, 1 failed, 0 skipped"
  exit 1
fi
suffix=${CONFORMANCE_SUFFIX:-$(date +%Y%m%d%H%M%S)}
out=${CONFORMANCE_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/tollgate-conformance.XXXXXX")}
mkdir -p "$out"

# Count the testcases of a junit.xml; prints "passed failed skipped" and, on
# stderr, the names of the failed tests (deduplicated, at most 60).
junit_counts() {
  python3 - "$1" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
p = f = s = 0
failed = {}
for tc in root.iter("testcase"):
    if tc.find("failure") is not None or tc.find("error") is not None \
            or tc.get("status") in ("failed", "failure", "error", "panicked", "interrupted"):
        f += 1
        name = tc.get("name", "?")
        failed[name] = failed.get(name, 0) + 1
    elif tc.find("skipped") is not None or tc.get("status") in ("skipped", "pending", "disabled"):
        s += 1
    else:
        p += 1
for i, (name, n) in enumerate(failed.items()):
    if i == 60:
        print(f"    ... {len(failed) - 60} more, see {sys.argv[1]}", file=sys.stderr)
        break
    print(f"    FAIL{f' (x{n})' if n > 1 else ''}: {name}", file=sys.stderr)
print(p, f, s)
EOF
}

# Tollgate keeps an artifact's last tag (409; docs/licensing.md), while both suites
# delete every tag they push, each often the only one in its repository. A tag of
# our own in each repository, pushed first on a manifest no suite pushes (and so none
# deletes by digest), lets their tag deletions test what they mean to: that a tag
# goes and its manifest stays.
keep_tag() { # repository
  local empty=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
  local media=application/vnd.oci.image.manifest.v1+json
  local manifest='{"schemaVersion":2,"mediaType":"'$media'","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"'$empty'","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"'$empty'","size":2}],"annotations":{"dev.tollgate.keep":"no suite pushes this manifest"}}'
  curl -sSf -o /dev/null -u "$TOLLGATE_USER:$TOLLGATE_PASSWORD" -X POST --data-binary '{}' \
    -H 'Content-Type: application/octet-stream' "$url/v2/$1/blobs/uploads/?digest=$empty"
  curl -sSf -o /dev/null -u "$TOLLGATE_USER:$TOLLGATE_PASSWORD" -X PUT --data-binary "$manifest" \
    -H "Content-Type: $media" "$url/v2/$1/manifests/tollgate-keep"
}

total_p=0 total_f=0 total_s=0 failed_suites=()
summary=()

# shellcheck disable=SC2030,SC2031  # each suite's variables live in its own subshell
run_suite() { # name
  local name=$1 dir="$out/$1" rc=0 counts p f s
  mkdir -p "$dir"
  echo "=== conformance-$name against $url (reports in $dir)"
  if [[ ! -x "$BIN/conformance-$name" ]]; then
    echo "missing $BIN/conformance-$name; run scripts/install-test-tools.sh" >&2
    failed_suites+=("$name"); summary+=("$name: not installed"); return
  fi
  if [[ $name == main ]]; then
    # Clear variables of the old Ginkgo suite: the main suite still honours them
    # (below its own variables) and would print deprecation warnings.
    (
      cd "$dir"
      unset OCI_ROOT_URL OCI_NAMESPACE OCI_CROSSMOUNT_NAMESPACE OCI_TEST_PULL OCI_TEST_PUSH \
        OCI_TEST_CONTENT_DISCOVERY OCI_TEST_CONTENT_MANAGEMENT OCI_DEBUG OCI_TAG_NAME \
        OCI_MANIFEST_DIGEST OCI_BLOB_DIGEST
      export OCI_VERSION=${CONFORMANCE_OCI_VERSION:-1.1}
      export OCI_REGISTRY=$registry OCI_TLS=${OCI_TLS:-$tls}
      export OCI_REPO1=${OCI_REPO1:-conformance/main-$suffix}
      export OCI_REPO2=${OCI_REPO2:-conformance/main-$suffix-mount}
      export OCI_USERNAME=$TOLLGATE_USER OCI_PASSWORD=$TOLLGATE_PASSWORD
      export OCI_RESULTS_DIR=$dir OCI_LOG=${OCI_LOG:-warn}
      # pull, push, content discovery (tags list, referrers), content management
      # (deletes) and the data sets Tollgate claims: sha512 and the empty blob
      # included (both default on in the suite; set explicitly for clarity)
      export OCI_API_PULL=${OCI_API_PULL:-true} OCI_API_PUSH=${OCI_API_PUSH:-true}
      export OCI_API_TAGS_LIST=${OCI_API_TAGS_LIST:-true} OCI_API_REFERRER=${OCI_API_REFERRER:-true}
      export OCI_API_TAGS_DELETE=${OCI_API_TAGS_DELETE:-true}
      export OCI_API_MANIFESTS_DELETE=${OCI_API_MANIFESTS_DELETE:-true}
      export OCI_API_BLOBS_DELETE=${OCI_API_BLOBS_DELETE:-true}
      export OCI_DATA_SHA512=${OCI_DATA_SHA512:-true} OCI_DATA_EMPTY_BLOB=${OCI_DATA_EMPTY_BLOB:-true}
      if [[ -n ${CONFORMANCE_FILTER:-} ]]; then export OCI_FILTER_TEST=$CONFORMANCE_FILTER; fi
      keep_tag "$OCI_REPO1" && keep_tag "$OCI_REPO2"
      exec "$BIN/conformance-main"
    ) >"$dir/output.txt" 2>&1 || rc=$?
    # The program exits 0 without writing results when its config or setup fails.
    if [[ ! -s "$dir/results.yaml" ]] && ((rc == 0)); then rc=1; fi
    # the suite's own summary: result, counts, and the per-API verdicts
    sed -n '/^OCI Conformance Result/,/Total\.\./p;/^API conformance:/,/^$/p;/^Data conformance:/,/^$/p' "$dir/output.txt" |
      sed 's/^/  /'
  else
    (
      cd "$dir"
      export OCI_ROOT_URL=$url
      export OCI_NAMESPACE=conformance/legacy-$suffix
      export OCI_CROSSMOUNT_NAMESPACE=conformance/legacy-$suffix-mount
      export OCI_USERNAME=$TOLLGATE_USER OCI_PASSWORD=$TOLLGATE_PASSWORD
      export OCI_TEST_PULL=1 OCI_TEST_PUSH=1 OCI_TEST_CONTENT_DISCOVERY=1 OCI_TEST_CONTENT_MANAGEMENT=1
      export OCI_DEBUG=0 OCI_HIDE_SKIPPED_WORKFLOWS=0 OCI_REPORT_DIR=$dir
      # not set: OCI_AUTOMATIC_CROSSMOUNT (skips the mount-without-from checks),
      # OCI_TAG_NAME/OCI_MANIFEST_DIGEST/OCI_BLOB_DIGEST/OCI_TAG_LIST (pre-seeded
      # read-only content), OCI_AUTH_SCOPE, OCI_DELETE_MANIFEST_BEFORE_BLOBS (true)
      keep_tag "$OCI_NAMESPACE" && keep_tag "$OCI_CROSSMOUNT_NAMESPACE"
      exec "$BIN/conformance-legacy" -ginkgo.no-color -test.timeout=30m
    ) >"$dir/output.txt" 2>&1 || rc=$?
    grep -E '^(Ran [0-9]+ of|FAIL!|SUCCESS!|--- FAIL|PASS$|FAIL$)' "$dir/output.txt" | sed 's/^/  /' || true
  fi
  if [[ -s "$dir/junit.xml" ]]; then
    counts=$(junit_counts "$dir/junit.xml")
    read -r p f s <<<"$counts"
  else
    p=0 f=1 s=0
    echo "  no junit.xml written; last lines of $dir/output.txt:"
    tail -20 "$dir/output.txt" | sed 's/^/  | /'
  fi
  if ((rc != 0 && f == 0)); then f=1; echo "  exit status $rc with no failed testcase recorded"; fi
  total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
  summary+=("$name: $p passed, $f failed, $s skipped (exit $rc)")
  ((f == 0)) || failed_suites+=("$name")
}

for s in "${suites[@]}"; do run_suite "$s"; done

echo
echo "=== summary (reports in $out)"
for line in "${summary[@]}"; do echo "  $line"; done
echo "conformance: $total_p passed, $total_f failed, $total_s skipped"
((${#failed_suites[@]} == 0))
