#!/usr/bin/env bash
# experiments/plan/run.sh — the worked example of `servesim plan` (docs/plan.md):
# the Azure 2023 conversation trace at 2x, 5x and 10x its recorded rate, searched
# over h100-sxm, a100-80gb, l40s and l4, TP 1-8, 1-16 replicas, and two
# schedulers (vllm, sarathi) for llama-3.1-8b and llama-3.1-70b.
#
#   bash experiments/plan/run.sh            # from a clean checkout: builds, then runs
#   bash experiments/plan/run.sh --bench    # also the 1,000-configuration benchmark
#
# Outputs go to experiments/plan/out/ (and out-bench-1000/): results.csv,
# results.json, recommendation.md, pareto_cost.png, pareto_latency.png, the
# gnuplot data and scripts, plan.json, results.jsonl (the resumable log) and
# summary.txt (this run's console output, with its wall time). It needs the
# shared data (../shared/data next to the checkout, or SERVESIM_SHARED_DATA).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=${SERVESIM:-./servesim}   # SERVESIM=/path/to/servesim for an out-of-tree build
[ -x "$bin" ] || bash scripts/setup.sh
shared=${SERVESIM_SHARED_DATA:-../shared/data}
trace="$shared/traces/azure2023/AzureLLMInferenceTrace_conv.csv"
if [ ! -f "$trace" ]; then
  echo "run.sh: $trace not found (set SERVESIM_SHARED_DATA to the shared data directory)" >&2
  exit 1
fi
export SERVESIM_DATA_DIR=${SERVESIM_DATA_DIR:-$PWD}
TIMEFORMAT="wall %R s, user %U s, sys %S s ($(nproc) CPUs)"
run () { # plan-file out-dir
  mkdir -p "$2"
  { time "$bin" plan "$1" --set workload.trace="$trace" -o "$2" --fresh; } 2>&1 | tee "$2/summary.txt"
}
run experiments/plan/azure-conv.json experiments/plan/out
if [ "${1:-}" = "--bench" ]; then
  run experiments/plan/bench-1000.json experiments/plan/out-bench-1000
fi
