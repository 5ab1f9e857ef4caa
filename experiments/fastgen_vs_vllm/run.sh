#!/usr/bin/env bash
# experiments/fastgen_vs_vllm/run.sh — DeepSpeed-FastGen (Dynamic SplitFuse)
# vs vLLM on long prompts: effective throughput and token-level tail latency.
#
# As in the FastGen blog's long-prompt case: llama-2-70b on 4 x a100-80gb
# (TP 4), prompts of 2600 tokens and 60 generated tokens, Poisson arrivals at
# increasing rates (200 requests per point). Effective throughput = requests/s
# that meet the SLA (slo.ttft, slo.tpot below), i.e. summary.json's
# slo.goodput_requests_per_s; token-level tail = P95 and P99 inter-token gap.
# Writes sweep.tsv, summary.tsv, fastgen.gp (+ fastgen.png with gnuplot).
# Usage: bash experiments/fastgen_vs_vllm/run.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh"
experiment_setup "$@"
# SLA: first token within 2600 tokens at 512 tokens/s (~5.1 s), then at
# least 4 tokens/s per request (FastGen blog's prompt/generation SLA shape)
TTFT=5.08
TPOT=0.25
common=("$here/llama-2-70b-long-prompts.json" --set slo.ttft=$TTFT --set slo.tpot=$TPOT)
printf "# rate\tpolicy\tthroughput_rps\teffective_rps\tttft_p50\titl_p50\titl_p95\titl_p99\n" > "$out/sweep.tsv"
for rate in 0.25 0.5 0.75 1 1.25 1.5 1.75 2 2.5 3; do
  for pol in vllm fastgen; do
    run_point "$work/p" "${common[@]}" --set scheduler.name=$pol --set workload.generator.rate=$rate
    s="$work/p/summary.json"
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n" $rate $pol "$(jget $s throughput requests_per_s)" \
      "$(jget $s slo goodput_requests_per_s)" "$(jget $s ttft_s p50)" "$(jget $s inter_token_s p50)" \
      "$(jget $s inter_token_s p95)" "$(jget $s inter_token_s p99)" >> "$out/sweep.tsv"
  done
done
# peak effective throughput per policy, and tails at vLLM's peak rate
awk -F'\t' '!/^#/ { if ($4 > best[$2]) { best[$2] = $4; at[$2] = $1 } p95[$1, $2] = $7; p99[$1, $2] = $8 }
  END {
    r = at["vllm"]
    printf "# peak effective throughput (req/s meeting TTFT<='"$TTFT"'s, TPOT<='"$TPOT"'s) and inter-token tails at vLLM'"'"'s peak rate\n"
    printf "# metric\tvllm\tfastgen\tratio\n"
    printf "effective_rps_peak\t%.3f\t%.3f\t%.2f\n", best["vllm"], best["fastgen"], best["fastgen"] / best["vllm"]
    printf "itl_p95_s@%s\t%.4f\t%.4f\t%.2f\n", r, p95[r, "vllm"], p95[r, "fastgen"], p95[r, "vllm"] / p95[r, "fastgen"]
    printf "itl_p99_s@%s\t%.4f\t%.4f\t%.2f\n", r, p99[r, "vllm"], p99[r, "fastgen"], p99[r, "vllm"] / p99[r, "fastgen"]
  }' "$out/sweep.tsv" > "$out/summary.tsv"
cat > "$out/fastgen.gp" <<'GP'
# gnuplot fastgen.gp -> fastgen.png (written by run.sh)
set terminal pngcairo size 1000,420
set output 'fastgen.png'
set datafile separator "\t"
set multiplot layout 1,2 title "llama-2-70b, TP 4 on A100-80GB, prompt 2600 / output 60 (servesim)"
set xlabel "offered load (requests/s)"
set ylabel "effective throughput (requests/s in SLA)"
set key top left
# rows alternate vllm, fastgen
plot 'sweep.tsv' every 2::0 using 1:4 with linespoints title 'vLLM', \
     '' every 2::1 using 1:4 with linespoints title 'FastGen (SplitFuse)'
set ylabel "P99 inter-token gap (s)"
set logscale y
plot 'sweep.tsv' every 2::0 using 1:8 with linespoints title 'vLLM', \
     '' every 2::1 using 1:8 with linespoints title 'FastGen (SplitFuse)'
unset multiplot
GP
if command -v gnuplot >/dev/null; then (cd "$out" && gnuplot fastgen.gp); fi
cat "$out/summary.tsv"
