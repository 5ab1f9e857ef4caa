#!/usr/bin/env bash
# experiments/priority/run.sh — priority scheduling: the high-priority class's
# P99 TTFT with and without preemption, and what context switches cost.
#
# llama-3.1-8b on one a100-80gb, Azure-conversation-like load from the
# bundled 1,000-request excerpt compressed in time (workload.time_scale) so
# the replica is saturated and KV runs out; 20% of requests are high
# priority (workload.priority_fraction, seeded). Variants: FCFS (vllm),
# priority without preemption, preemptive priority with recomputation, and
# with swapping in two cost models of the host link (assumptions, not
# measurements): "vllm-swap" copies block by block (granularity 1 block,
# 10 us per copy, 50% of PCIe bandwidth), "fastswitch" groups 64 blocks per
# copy at 90% of PCIe bandwidth and re-uses host copies of KV that did not
# change (FastSwitch's three ideas), blocking or overlapped with compute.
# Writes results.tsv, priority.gp (+ priority.png with gnuplot).
# Usage: bash experiments/priority/run.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh"
experiment_setup "$@"
common=("$here/llama-3.1-8b-priority.json")
vswap=(--set cache.preemption=swap --set cache.swap.granularity_blocks=1
       --set cache.swap.op_latency_s=1e-05 --set cache.swap.link_efficiency=0.5)
fswap=(--set cache.preemption=swap --set cache.swap.granularity_blocks=64
       --set cache.swap.op_latency_s=1e-05 --set cache.swap.link_efficiency=0.9
       --set cache.swap.reuse_host_copy=true)
printf "# variant\thigh_ttft_p99_s\thigh_ttft_mean_s\tnormal_ttft_p99_s\tall_e2e_mean_s\titl_p99_s\tpreemptions\tswap_gib\tswap_time_s\tduration_s\n" > "$out/results.tsv"
point () {
  local label="$1"; shift
  run_point "$work/p" "${common[@]}" "$@"
  local s="$work/p/summary.json"
  # priority.high.ttft_s is nested two deep: read it with a small awk walk
  local hi
  hi=$(awk '/"high": \{/ {h = 1} h && /"ttft_s": \{/ {t = 1} h && t && /"p99":/ {v = $2; sub(/,$/, "", v); print v; exit}' "$s")
  local him
  him=$(awk '/"high": \{/ {h = 1} h && /"ttft_s": \{/ {t = 1} h && t && /"mean":/ {v = $2; sub(/,$/, "", v); print v; exit}' "$s")
  local lo
  lo=$(awk '/"normal": \{/ {h = 1} h && /"ttft_s": \{/ {t = 1} h && t && /"p99":/ {v = $2; sub(/,$/, "", v); print v; exit}' "$s")
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$label" "$hi" "$him" "$lo" "$(jget $s e2e_s mean)" \
    "$(jget $s inter_token_s p99)" "$(jget $s preemptions)" "$(jget $s swap gib_copied_per_gpu)" "$(jget $s swap copy_time_s)" \
    "$(jget $s duration_s)" >> "$out/results.tsv"
}
point fcfs --set scheduler.name=vllm
point priority-nonpreemptive --set scheduler.name=priority --set scheduler.preemptive=0
point priority-recompute --set scheduler.name=priority --set scheduler.preemptive=1
point priority-vllm-swap --set scheduler.name=priority "${vswap[@]}"
point priority-vllm-swap-overlap --set scheduler.name=priority "${vswap[@]}" --set cache.swap.overlap=true
point priority-fastswitch --set scheduler.name=priority "${fswap[@]}"
point priority-fastswitch-overlap --set scheduler.name=priority "${fswap[@]}" --set cache.swap.overlap=true
cat > "$out/priority.gp" <<'GP'
# gnuplot priority.gp -> priority.png (written by run.sh)
set terminal pngcairo size 1000,480
set output 'priority.png'
set datafile separator "\t"
set title "High-priority P99 TTFT and context-switch cost (llama-3.1-8b, A100-80GB, servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "seconds (log scale)"
set logscale y
set yrange [0.1:*]
set xtics rotate by -25
set xrange [-0.5:*]
set key top right
plot 'results.tsv' using 2:xtic(1) title 'high-priority P99 TTFT', '' using 9 title 'host-link copy time (total)'
GP
if command -v gnuplot >/dev/null; then (cd "$out" && gnuplot priority.gp); fi
column -t -s $'\t' "$out/results.tsv" 2>/dev/null || cat "$out/results.tsv"
