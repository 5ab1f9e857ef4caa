#!/usr/bin/env bash
# experiments/parallelism/run.sh — tensor vs pipeline parallelism for one
# replica of llama-3.1-70b on 8 x h100-sxm (TP 8; TP 4 x PP 2; TP 2 x PP 4),
# vllm and sarathi (token budget 512, its default, and 2048), on the whole
# Azure 2023 conversation trace: `servesim plan` finds each configuration's
# capacity at P90 TTFT <= 2 s and P90 TPOT <= 100 ms (120 s windows), and
# one replay at twice the trace's rate (its first 10 minutes) shows where the
# time goes. Writes capacity.tsv. Needs the shared data (../shared/data, or
# SERVESIM_SHARED_DATA).
# Usage: bash experiments/parallelism/run.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh"
experiment_setup "$@"
trace="$(azure_conv_trace)"
cat > "$work/plan.json" <<JSON
{
  "name": "tp-vs-pp-70b-8xh100",
  "set": { "workload.trace": "$trace", "model": "llama-3.1-70b", "cluster.replicas": 1 },
  "space": {
    "cluster.tp": [2, 4, 8],
    "cluster.pp": [1, 2, 4],
    "scheduler": [{"name": "vllm"}, {"name": "sarathi"}, {"name": "sarathi", "token_budget": 2048}]
  },
  "constraints": {"max_gpus": 8},
  "slo": {"ttft": 2, "tpot": 0.1, "percentile": 90},
  "search": {"targets": [1], "tolerance": 0.02, "window_s": 120, "max": 64}
}
JSON
"$SERVESIM" plan "$work/plan.json" -q -o "$work/out" >/dev/null
printf "# tp\tpp\tscheduler\tcapacity_x\tcapacity_rps\tttft_p90_s\ttpot_p90_s\tbinding\tat_2x_ttft_mean_s\tat_2x_tpot_mean_s\tat_2x_gpu_busy\n" > "$out/capacity.tsv"
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
  $c["status"] == "ok" && $c["tp"] * $c["pp"] == 8 {
    print $c["tp"], $c["pp"], $c["label"], $c["capacity_x"], $c["capacity_rps"],
          $c["ttft_p_s"], $c["tpot_p_s"], $c["binding"] }' OFS='\t' "$work/out/results.csv" |
while IFS=$'\t' read -r tp pp label cap rps ttft tpot bind; do
  sched=vllm; budget=()
  case "$label" in
    *token_budget=2048*) sched=sarathi; budget=(--set scheduler.token_budget=2048) ;;
    *sarathi*) sched=sarathi ;;
  esac
  run_point "$work/p" --set "workload.trace=$trace" --set model=llama-3.1-70b --set cluster.replicas=1 \
    --set "cluster.tp=$tp" --set "cluster.pp=$pp" --set "scheduler.name=$sched" "${budget[@]}" \
    --set workload.time_scale=0.5 --set workload.end=600
  s="$work/p/summary.json"
  name="$sched"; [ ${#budget[@]} -gt 0 ] && name="sarathi-2048"
  printf "%s\t%s\t%s\t%.3f\t%.2f\t%.3f\t%.4f\t%s\t%s\t%s\t%s\n" "$tp" "$pp" "$name" "$cap" "$rps" "$ttft" \
    "$tpot" "$bind" "$(jget "$s" ttft_s mean)" "$(jget "$s" tpot_s mean)" "$(jget "$s" gpu_busy_fraction)" >> "$out/capacity.tsv"
done
column -t -s $'\t' "$out/capacity.tsv" 2>/dev/null || cat "$out/capacity.tsv"
