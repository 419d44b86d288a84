#!/usr/bin/env bash
# The embedded model's BFCL v3 baseline (BENCHMARKS.md): non-live categories,
# the first LIMIT entries of each, N=8 candidates, in four settings. Resumable:
# run it again after an interruption. ~10 min per setting on 2 CPU cores.
#   bash bench/bfcl_embedded_baseline.sh [LIMIT] [RUNS_DIR]
set -euo pipefail
limit=${1:-5}
runs=${2:-runs/bfcl-baseline}
common=(-m embedded:int8 -c non_live -n 8 --limit "$limit" --max-tokens 256 --seed 0)
agent bench bfcl "${common[@]}" --tool-choice required --run-dir "$runs/fc-required"
agent bench bfcl "${common[@]}" --tool-choice required --no-constrained --run-dir "$runs/fc-required-unconstrained"
agent bench bfcl "${common[@]}" --run-dir "$runs/fc-auto"
agent bench bfcl "${common[@]}" --mode prompt --run-dir "$runs/prompt"
