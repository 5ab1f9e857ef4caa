#!/usr/bin/env bash
# experiments/fastswitch/run.sh — FastSwitch's re-use of KV already in host
# memory across the turns of a multi-turn conversation, on vs off.
#
# llama-3.1-8b on a100-80gb, the synthetic chat trace written by
# gen_trace.sh (200 conversations of 2-8 turns, each turn's prompt = the
# previous context + new tokens; regenerated here, deterministic). With
# cache.swap.reuse_conversation a finished turn's KV is copied to the
# replica's host memory and the next turn of the conversation on the same
# replica swaps that prefix in instead of prefilling it. Variants: one
# replica at the trace's rate and at twice it (time_scale 0.5); a host
# memory cap small enough to evict; two replicas under round-robin (turns
# land on the other replica half the time: host memory is per replica) and
# under the conversation router (every turn on its first turn's replica); and
# the FastSwitch-style link model of experiments/priority (64 blocks per
# copy, 90% of PCIe, host-copy re-use) with preemption by swap. The link
# parameters are assumptions, not measurements.
# Writes chat_trace.csv, results.tsv, fastswitch.gp (+ fastswitch.png with gnuplot).
# Usage: bash experiments/fastswitch/run.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh"
experiment_setup "$@"
bash "$here/gen_trace.sh" 200 1.0 1 > "$out/chat_trace.csv"
common=("$here/llama-3.1-8b-chat.json" --set "workload.trace=$out/chat_trace.csv")
fswap=(--set cache.preemption=swap --set cache.swap.granularity_blocks=64
       --set cache.swap.op_latency_s=1e-05 --set cache.swap.link_efficiency=0.9
       --set cache.swap.reuse_host_copy=true)
printf "# variant\treuse\tttft_mean_s\tttft_p99_s\te2e_mean_s\titl_p99_s\thits\ttokens_reused\tconv_gib_copied\tevictions\tcopy_time_s\tduration_s\n" > "$out/results.tsv"
point () {
  local label="$1" reuse="$2"; shift 2
  run_point "$work/p" "${common[@]}" --set "cache.swap.reuse_conversation=$reuse" "$@"
  local s="$work/p/summary.json"
  local gib
  gib=$(awk -v b="$(jget "$s" swap conversation_bytes_copied_per_gpu)" 'BEGIN { if (b == "nan") print "nan"; else printf "%.3f", b / 1073741824 }')
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$label" "$reuse" "$(jget $s ttft_s mean)" \
    "$(jget $s ttft_s p99)" "$(jget $s e2e_s mean)" "$(jget $s inter_token_s p99)" \
    "$(jget $s swap conversation_hits)" "$(jget $s swap conversation_tokens_reused)" "$gib" \
    "$(jget $s swap conversation_evictions)" "$(jget $s swap copy_time_s)" "$(jget $s duration_s)" >> "$out/results.tsv"
}
for reuse in false true; do
  point 1-replica "$reuse" --set scheduler.name=vllm
done
for reuse in false true; do
  point 1-replica-2x-load "$reuse" --set scheduler.name=vllm --set workload.time_scale=0.5
done
point 1-replica-2x-host-4gib true --set scheduler.name=vllm --set workload.time_scale=0.5 --set cache.swap.host_gib=4
for reuse in false true; do
  point 2-replicas-rr-2x-load "$reuse" --set scheduler.name=vllm --set workload.time_scale=0.5 --set cluster.replicas=2
done
for reuse in false true; do
  point 2-replicas-conv-router-2x-load "$reuse" --set scheduler.name=vllm --set workload.time_scale=0.5 --set cluster.replicas=2 --set router.name=conversation
done
for reuse in false true; do
  point 1-replica-4x-fastswitch-swap "$reuse" --set scheduler.name=vllm --set workload.time_scale=0.25 "${fswap[@]}"
done
cat > "$out/fastswitch.gp" <<'GP'
# gnuplot fastswitch.gp -> fastswitch.png (written by run.sh)
set terminal pngcairo size 1000,480
set output 'fastswitch.png'
set datafile separator "\t"
set title "Conversation KV re-use from host memory, off vs on (llama-3.1-8b, A100-80GB, servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "TTFT (s, log scale)"
set logscale y
set yrange [0.01:*]
set bmargin 9
set xtics rotate by -25
set xrange [-0.5:*]
set key top left
plot 'results.tsv' using 3:xtic(sprintf("%s %s", stringcolumn(1), stringcolumn(2) eq "true" ? "on" : "off")) title 'mean TTFT', \
     '' using 4 title 'P99 TTFT'
GP
if command -v gnuplot >/dev/null; then (cd "$out" && gnuplot fastswitch.gp); fi
column -t -s $'\t' "$out/results.tsv" 2>/dev/null || cat "$out/results.tsv"
