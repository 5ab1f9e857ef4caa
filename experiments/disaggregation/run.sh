#!/usr/bin/env bash
# experiments/disaggregation/run.sh — prefill/decode disaggregation
# (DistServe, Splitwise) against colocated serving, at three pairs of SLOs.
#
# The whole Azure 2023 conversation trace on 4 x h100-sxm serving
# llama-3.1-8b at TP 1: every replica prefilling and decoding
# (cluster.prefill_replicas = 0), or 1, 2 or 3 of them prefilling and the
# rest decoding, the KV moving over the network between them; vllm and
# sarathi schedulers. For each SLO pair (P90 TTFT / P90 TPOT: 0.25 s / 20
# ms, 0.5 s / 12 ms, 1 s / 10 ms) `servesim plan` finds each configuration's
# capacity: the highest multiple of the trace's rate whose P90 TTFT and TPOT
# meet the SLOs over 120 s windows (DistServe's "goodput" at 90% attainment,
# per metric). Writes capacity.tsv, disaggregation.gp (+ .png with gnuplot).
# Needs the shared data (../shared/data, or SERVESIM_SHARED_DATA).
# Usage: bash experiments/disaggregation/run.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh"
experiment_setup "$@"
trace="$shared/traces/azure2023/AzureLLMInferenceTrace_conv.csv"
[ -f "$trace" ] || { echo "run.sh: $trace not found (set SERVESIM_SHARED_DATA)" >&2; exit 1; }
printf "# ttft_slo_s\ttpot_slo_s\tconfiguration\tprefill_replicas\tscheduler\tcapacity_x\tcapacity_rps\tttft_p90_s\ttpot_p90_s\tbinding\n" > "$out/capacity.tsv"
for slo in "0.25 0.020" "0.5 0.012" "1.0 0.010"; do
  set -- $slo
  cat > "$work/plan.json" <<JSON
{
  "name": "disaggregation-ttft-$1-tpot-$2",
  "set": { "workload.trace": "$trace", "cluster.replicas": 4 },
  "space": {
    "cluster.prefill_replicas": [0, 1, 2, 3],
    "scheduler": [{"name": "vllm"}, {"name": "sarathi"}]
  },
  "slo": {"ttft": $1, "tpot": $2, "percentile": 90},
  "search": {"targets": [1], "tolerance": 0.02, "window_s": 120, "max": 64}
}
JSON
  "$SERVESIM" plan "$work/plan.json" -q -o "$work/out" >/dev/null
  # results.csv: index,label,prefill_replicas,scheduler,status,gpus,...,capacity_x,capacity_rps,
  # ..., ttft_p_s, tpot_p_s, binding (columns found by name)
  awk -F, -v t="$1" -v p="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { pr = $c["prefill_replicas"];
      conf = pr == 0 ? "colocated 4" : pr " prefill + " (4 - pr) " decode";
      printf "%s\t%s\t%s\t%s\t%s\t%.3f\t%.2f\t%.4f\t%.4f\t%s\n", t, p, conf, pr, $c["scheduler"],
             $c["capacity_x"], $c["capacity_rps"], $c["ttft_p_s"], $c["tpot_p_s"], $c["binding"] }' \
    "$work/out/results.csv" >> "$out/capacity.tsv"
done
cat > "$out/disaggregation.gp" <<'GP'
# gnuplot disaggregation.gp -> disaggregation.png (written by run.sh)
set terminal pngcairo size 1000,480
set output 'disaggregation.png'
set datafile separator "\t"
set title "Capacity at P90 SLOs, 4 x H100, llama-3.1-8b, Azure conversation trace (servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "capacity (x the trace's rate)"
set yrange [0:*]
set bmargin 7
set xtics rotate by -20
set key top right
plot 'capacity.tsv' every ::0::7 using 6:xtic(sprintf("%s %s", stringcolumn(3), stringcolumn(5))) title 'TTFT 0.25 s / TPOT 20 ms', \
     '' every ::8::15 using 6 title 'TTFT 0.5 s / TPOT 12 ms', \
     '' every ::16::23 using 6 title 'TTFT 1 s / TPOT 10 ms'
GP
if command -v gnuplot >/dev/null; then (cd "$out" && gnuplot disaggregation.gp); fi
column -t -s $'\t' "$out/capacity.tsv" 2>/dev/null || cat "$out/capacity.tsv"
