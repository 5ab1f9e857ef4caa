#!/usr/bin/env bash
# bench/run.sh — the benchmarks whose figures are in the README.
# Run from a configured build directory (default: the source tree after
# scripts/setup.sh):  bash bench/run.sh [BUILD_DIR]
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$src}"
shared="${SERVESIM_SHARED_DATA:-$src/../shared/data}"
export SERVESIM_DATA_DIR="$src"
cd "$build"
make -s bench/bench_engine bench/bench_replay >/dev/null
echo "== (a) event core, hold model =="
./bench/bench_engine --pending 1000 --events 20000000
./bench/bench_engine --pending 1000000 --events 5000000
echo "== (b) Azure conversation trace, 4 x llama-3.1-8b on h100-sxm =="
azure="$shared/traces/azure2023/AzureLLMInferenceTrace_conv.csv"
if [ -f "$azure" ]; then
  ./bench/bench_replay --label azure-conv-full --repeat 5 \
    --set workload.trace="$azure" --set cluster.replicas=4
else
  echo "skipped: $azure not found (set SERVESIM_SHARED_DATA)"
fi
echo "== (c) synthetic trace, memory flat in trace length =="
for n in 100000 1000000; do
  ./bench/bench_replay --label "synthetic-$n" --repeat 1 \
    --set workload.trace=null --set workload.generator.num_requests=$n \
    --set workload.generator.rate=20 --set workload.generator.lengths=uniform \
    --set cluster.replicas=4
done
echo "== (d) Mooncake conversation trace (long prompts), 8 x llama-3.1-8b on h100-sxm =="
mooncake="$shared/traces/mooncake/conversation_trace.jsonl"
if [ -f "$mooncake" ]; then
  ./bench/bench_replay --label mooncake-conv --repeat 3 \
    --set workload.trace="$mooncake" --set cluster.replicas=8
  ./bench/bench_replay --label mooncake-conv-prefix-cache --repeat 3 \
    --set workload.trace="$mooncake" --set cluster.replicas=8 --set cache.prefix_caching=true \
    --set router.name=cache-aware --set cache.prefix_host_gib=64
else
  echo "skipped: $mooncake not found (set SERVESIM_SHARED_DATA)"
fi
