#!/usr/bin/env bash
# Checks that the core's modules (crates/core/src) import each other without a cycle,
# at two granularities: file modules (`oci::digest`) and the folders grouping them by
# concern (`oci`, `auth`, …; a top-level file is a folder of its own). Each
# `crate::…` path in a file's non-test code is an edge to the longest module that
# path names; `crate::<macro>` is an edge to the module that defines the macro.
# Test modules (from `#[cfg(test)]` on) are left out: a test may use what its
# module's dependants offer. Prints the graphs' sizes, or the modules of a cycle
# (and exits 1) when there is one.
set -euo pipefail
cd "$(dirname "$0")/../crates/core/src"

module_of() { # oci/digest.rs -> oci::digest, oci/mod.rs -> oci
  local path=${1%.rs}
  path=${path%/mod}
  echo "${path//\//::}"
}

files=$(find . -name '*.rs' ! -path ./lib.rs | sed 's|^\./||' | sort)
declare -A module_exists=() macro_home=()
for file in $files; do
  module=$(module_of "$file")
  module_exists[$module]=1
  for macro in $(sed -n 's/^ *macro_rules! *\([a-z_0-9]*\).*/\1/p' "$file"); do
    macro_home[$macro]=$module
  done
done

# The longest module a `crate::` path (without the prefix) names.
resolve() {
  local path=$1
  while [[ -n $path ]]; do
    if [[ -n ${module_exists[$path]:-} ]]; then echo "$path"; return; fi
    [[ $path == *::* ]] || break
    path=${path%::*}
  done
  if [[ -n ${macro_home[$1]:-} ]]; then echo "${macro_home[$1]}"; return; fi
  echo "core-cycles: crate::$1 names no module; import it from the module that defines it" >&2
  return 1
}

edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for file in $files; do
  from=$(module_of "$file")
  paths=$(sed '/^#\[cfg(test)\]/,$d; /^ *\/\//d' "$file" |
    grep -o 'crate::[A-Za-z_][A-Za-z0-9_]*\(::[a-z_][a-z0-9_]*\)*' | sed 's/^crate:://' | sort -u || true)
  for path in $paths; do
    to=$(resolve "$path")
    [[ $to == "$from" ]] || echo "$from $to" >> "$edges"
  done
done

# `tsort` orders a graph and names the modules of a loop when there is one.
check() { # granularity, edges on stdin
  local graph order
  graph=$(sort -u)
  if ! order=$(tsort <<< "$graph" 2>&1 >/dev/null) || [[ -n $order ]]; then
    echo "core-cycles: the $1 import each other in a cycle:" >&2
    # One loop a line: `a -> b -> c`, each importing the next and c importing a.
    sed 's/^tsort: //' <<< "$order" |
      awk '/input contains a loop/ { if (loop) print loop; loop = "  "; next }
           { loop = loop (loop == "  " ? "" : " -> ") $0 }
           END { print loop }' >&2
    return 1
  fi
  echo "core-cycles: $1: $(wc -l <<< "$graph") imports between $(tr ' ' '\n' <<< "$graph" | sort -u | wc -l) modules, no cycle"
}

status=0
check "file modules" < "$edges" || status=1
sed 's/::[a-z_0-9:]*//g' "$edges" | awk '$1 != $2' | check "folders" || status=1
exit $status
