# Sourced by the scripts: where the project's own tools live, first on PATH.
#
#   TOOLS    ${TOLLGATE_TOOLS_DIR:-~/.cache/tollgate/tools}: everything built or
#            installed for this project: worker-build and wasm-bindgen (bootstrap.sh,
#            with `cargo install --root`), the Go clients, the conformance suites and
#            syft (install-test-tools.sh). Nothing outside it is looked at, so a tool
#            an earlier install left in ~/.cargo/bin can never stand in for ours.
#   SOURCES  ${TOLLGATE_SOURCES_DIR:-~/.cache/tollgate/sources}: downloaded sources
#            only (the Go module cache). Keeping it while TOOLS is emptied rebuilds
#            every tool from scratch without downloading again; .ci/run does that.
cache_home=${XDG_CACHE_HOME:-$HOME/.cache}
TOOLS=${TOLLGATE_TOOLS_DIR:-$cache_home/tollgate/tools}
SOURCES=${TOLLGATE_SOURCES_DIR:-$cache_home/tollgate/sources}
export PATH="$TOOLS/bin:$PATH"
