#!/usr/bin/env bash
# experiments/prefix_cache/run.sh — prefix caching (vLLM's automatic prefix
# caching) and cache-aware routing on a real trace with block hashes.
#
# The bundled Mooncake excerpt (traces/data/mooncake_conv_1k.jsonl: the first
# 1,000 requests of Kimi's conversation trace, 330 s, 13.7 M prompt tokens,
# 512-token units named by hash) replayed at its recorded rate on 6 replicas
# of llama-3.1-8b on h100-sxm, vllm scheduler: prefix caching off; on with
# round-robin; on with the cache-aware router at beta 1 (default) and 0
# (hits only); and, to show what the replicas' KV capacity costs, the same
# on h200 (2x the KV blocks) and with a host tier of 32 or 128 GiB per GPU
# (cache.prefix_host_gib: evicted units go to host memory and come back over
# PCIe). The LRU figures in the README are computed by hand (one LRU cache
# of the size given, no running requests).
# Writes results.tsv, prefix_cache.gp (+ prefix_cache.png with gnuplot).
# Usage: bash experiments/prefix_cache/run.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh"
experiment_setup "$@"
common=(--set workload.trace=traces/data/mooncake_conv_1k.jsonl --set cluster.replicas=6
        --set scheduler.name=vllm)
printf "# variant\tgpu\tprefix_caching\trouter\tbeta\thit_rate\tttft_mean_s\tttft_p90_s\ttpot_mean_s\tevicted_units\tkv_blocks_per_replica\tduration_s\thost_gib\thost_hit_tokens\n" > "$out/results.tsv"
point () {
  local label="$1" gpu="$2" pc="$3" router="$4" beta="$5" host="${6:-0}"
  local args=("${common[@]}" --set "cluster.gpu=$gpu" --set "cache.prefix_caching=$pc"
              --set "router.name=$router" --set "cache.prefix_host_gib=$host")
  [ "$beta" != "-" ] && args+=(--set "router.beta=$beta")
  run_point "$work/p" "${args[@]}"
  local s="$work/p/summary.json"
  local hr ev
  hr=$(jget "$s" prefix_cache hit_rate); ev=$(jget "$s" prefix_cache evicted_units)
  printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" "$label" "$gpu" "$pc" "$router" "$beta" \
    "$hr" "$(jget $s ttft_s mean)" "$(jget $s ttft_s p90)" "$(jget $s tpot_s mean)" "$ev" \
    "$(jget $s kv_cache blocks_per_replica)" "$(jget $s duration_s)" "$host" \
    "$(jget $s prefix_cache host_hit_tokens)" >> "$out/results.tsv"
}
for gpu in h100-sxm h200; do
  point "$gpu off" "$gpu" false round-robin -
  point "$gpu on, round-robin" "$gpu" true round-robin -
  point "$gpu on, cache-aware" "$gpu" true cache-aware 1
  point "$gpu on, cache-aware b0" "$gpu" true cache-aware 0
done
for host in 32 128; do
  point "h100-sxm on, cache-aware, host $host GiB" h100-sxm true cache-aware 1 "$host"
done
cat > "$out/prefix_cache.gp" <<'GP'
# gnuplot prefix_cache.gp -> prefix_cache.png (written by run.sh)
set terminal pngcairo size 1100,540
set output 'prefix_cache.png'
set datafile separator "\t"
set title "Prefix caching on the Mooncake conversation trace (1,000 requests, 6 x llama-3.1-8b, servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "TTFT (s)"
set yrange [0:5.5]
set y2range [0:27.5]
set y2label "prompt tokens found cached (%)"
set y2tics
set ytics nomirror
set bmargin 11
set xtics rotate by -25
set xrange [-0.5:*]
set key top center horizontal
plot 'results.tsv' using 7:xtic(1) title 'mean TTFT', \
     '' using 8 title 'P90 TTFT', \
     '' using ($0):($6*100) axes x1y2 with linespoints lw 2 pt 7 title 'hit rate (right)'
GP
if command -v gnuplot >/dev/null; then (cd "$out" && gnuplot prefix_cache.gp); fi
column -t -s $'\t' "$out/results.tsv" 2>/dev/null || cat "$out/results.tsv"
