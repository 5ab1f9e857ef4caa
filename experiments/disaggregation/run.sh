#!/usr/bin/env bash
# experiments/disaggregation/run.sh — prefill/decode disaggregation
# (DistServe, Splitwise) against colocated serving, at three pairs of SLOs.
#
# The whole Azure 2023 conversation trace on 4 x h100-sxm serving
# llama-3.1-8b at TP 1: every replica prefilling and decoding
# (cluster.prefill_replicas = 0), or 1, 2 or 3 of them prefilling and the
# rest decoding, the KV moving over the network between them; vllm and
# sarathi schedulers; and, as Splitwise proposes, the decode pool on
# A100-80GBs instead (cluster.decode_gpu; priced at the catalog's $/h). For each SLO pair (P90 TTFT / P90 TPOT: 0.25 s / 20
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
trace="$(azure_conv_trace)"
printf "# ttft_slo_s\ttpot_slo_s\tconfiguration\tprefill_replicas\tscheduler\tcapacity_x\tcapacity_rps\tttft_p90_s\ttpot_p90_s\tbinding\tdecode_gpu\tcost_per_hour\n" > "$out/capacity.tsv"
for slo in "0.25 0.020" "0.5 0.012" "1.0 0.010"; do
  set -- $slo
  cat > "$work/plan.json" <<JSON
{
  "name": "disaggregation-ttft-$1-tpot-$2",
  "set": { "workload.trace": "$trace", "cluster.replicas": 4 },
  "space": {
    "cluster.prefill_replicas": [0, 1, 2, 3],
    "cluster.decode_gpu": [null, "a100-80gb"],
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
    $c["status"] != "ok" { next }   # a decode GPU without a decode pool
    { pr = $c["prefill_replicas"]; dg = ($c["decode_gpu"] == "" || $c["decode_gpu"] == "null") ? "h100-sxm" : $c["decode_gpu"];
      conf = pr == 0 ? "colocated 4" : pr " prefill + " (4 - pr) " decode";
      if (dg != "h100-sxm") conf = conf " (" dg ")";
      printf "%s\t%s\t%s\t%s\t%s\t%.3f\t%.2f\t%.4f\t%.4f\t%s\t%s\t%.2f\n", t, p, conf, pr,
             $c["scheduler"], $c["capacity_x"], $c["capacity_rps"], $c["ttft_p_s"], $c["tpot_p_s"],
             $c["binding"], dg, $c["cost_per_hour"] }' \
    "$work/out/results.csv" >> "$out/capacity.tsv"
done
cat > "$out/disaggregation.gp" <<'GP'
# gnuplot disaggregation.gp -> disaggregation.png (written by run.sh)
set terminal pngcairo size 1200,560
set output 'disaggregation.png'
set datafile separator "\t"
set title "Capacity at P90 SLOs, 4 GPUs (H100; A100 decode pools where named), llama-3.1-8b, Azure conversation trace (servesim)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "capacity (x the trace's rate)"
set yrange [0:*]
set bmargin 12
set xtics rotate by -40 font ",9"
set rmargin 14
set key top right
plot 'capacity.tsv' every ::0::13 using 6:xtic(sprintf("%s %s", stringcolumn(3), stringcolumn(5))) title 'TTFT 0.25 s / TPOT 20 ms', \
     '' every ::14::27 using 6 title 'TTFT 0.5 s / TPOT 12 ms', \
     '' every ::28::41 using 6 title 'TTFT 1 s / TPOT 10 ms'
GP
if command -v gnuplot >/dev/null; then (cd "$out" && gnuplot disaggregation.gp); fi
column -t -s $'\t' "$out/capacity.tsv" 2>/dev/null || cat "$out/capacity.tsv"
