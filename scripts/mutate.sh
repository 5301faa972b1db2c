#!/usr/bin/env bash
# Mutation testing of mzgis/analysis with mutmut (issue 17). Slow: never part of `make test`.
#
#   make mutate                          # the default modules below
#   make mutate MODULES="coverage indicators"
#   scripts/mutate.sh coverage           # one module (its mutants are named mzgis.analysis.coverage.*)
#
# mutmut copies mzgis/ and tests/ into mutants/, mutates only mzgis/analysis (pyproject.toml
# [tool.mutmut]) and runs, for each mutant, the tests of tests/analysis that reach the mutated
# function. One module at a time keeps a run within minutes on a loaded 2-core machine; results
# accumulate in mutants/ (git-ignored), so modules can be run one after another and a run can be
# stopped and resumed. `mutmut results` lists the survivors, `mutmut show NAME` shows one.
#
# Size: mzgis/analysis has about 8,400 mutants (coverage 324, area_standard 339, indicators 795,
# equity 164, demand 397, siting 805, reach 984, access 920, service_areas 495). Generating them
# takes ~5 min; on a loaded 2-core machine mutmut then checks ~15-20 mutants a minute, so one
# module of ~300 mutants is ~20 min and the default set below about 1.5 h.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
JOBS=${MUTATE_JOBS:-2}
if [ "$#" -eq 0 ]; then
  set -- coverage area_standard indicators equity demand
fi
for m in "$@"; do
  case "$m" in *[!a-z_]*) echo "bad module name: $m" >&2; exit 2;; esac
done
pats=()
for m in "$@"; do pats+=("mzgis.analysis.$m.*"); done
"$BIN/mutmut" run --max-children "$JOBS" "${pats[@]}"
"$BIN/mutmut" results
