#!/usr/bin/env bash
# experiments/plan/run.sh — the worked example of `servesim plan` (docs/plan.md):
# the Azure 2023 conversation trace at 2x, 5x and 10x its recorded rate, searched
# over h100-sxm, a100-80gb, l40s and l4, TP 1-8, 1-16 replicas and two
# schedulers (vllm, sarathi) for llama-3.1-8b and llama-3.1-70b (512
# configurations, 60 s of traffic per simulation).
#
#   bash experiments/plan/run.sh [BUILD_DIR]           # the worked example
#   bash experiments/plan/run.sh [BUILD_DIR] --bench   # the 1,000-configuration benchmark
#
# BUILD_DIR holds the servesim binary (default: the source tree; when no
# ./servesim is there, scripts/setup.sh builds one, so a clean checkout needs
# nothing else). Outputs: experiments/plan/out/ (or out-bench-1000/):
# results.csv, results.json, recommendation.md, pareto_cost.png,
# pareto_latency.png with their .dat/.gp, plan.json, results.jsonl (the
# resumable log) and summary.txt (the console output with the wall time).
# Needs the shared data: ../shared/data next to the checkout, or SERVESIM_SHARED_DATA.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=.
bench=no
for a in "$@"; do
  case "$a" in
    --bench) bench=yes ;;
    *) build="$a" ;;
  esac
done
bin=${SERVESIM:-$build/servesim}
if [ ! -x "$bin" ]; then
  if [ "$build" = . ]; then bash scripts/setup.sh; else echo "run.sh: no $bin" >&2; exit 1; fi
fi
shared=${SERVESIM_SHARED_DATA:-../shared/data}
trace="$shared/traces/azure2023/AzureLLMInferenceTrace_conv.csv"
if [ ! -f "$trace" ]; then
  echo "run.sh: $trace not found (set SERVESIM_SHARED_DATA to the shared data directory)" >&2
  exit 1
fi
export SERVESIM_DATA_DIR=${SERVESIM_DATA_DIR:-$PWD}
TIMEFORMAT="wall %R s, user %U s, sys %S s ($(nproc) CPUs, load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
run () { # plan-file out-dir
  mkdir -p "$2"
  { time "$bin" plan "$1" --set workload.trace="$trace" -o "$2" --fresh; } 2>&1 | tee "$2/summary.txt"
}
if [ "$bench" = yes ]; then
  run experiments/plan/bench-1000.json experiments/plan/out-bench-1000
else
  run experiments/plan/azure-conv.json experiments/plan/out
fi
