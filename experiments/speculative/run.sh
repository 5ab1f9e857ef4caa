#!/usr/bin/env bash
# experiments/speculative/run.sh — speculative decoding under load: mean
# request latency vs request rate with no speculation, a fixed k and
# SmartSpec's adaptive k.
#
# llama-2-70b on 4 x a100-80gb (TP 4) with llama-2-7b as the draft model
# (speculation.draft; its weights come out of the KV cache), per-token
# acceptance 0.7, uniform prompt 128..1024 and output 64..512 tokens, 300
# requests per point. At low load verification is memory-bound and k+1
# tokens cost about one: speculation cuts latency. At high load large batches
# make verification compute-bound and a fixed k wastes the rejected tokens'
# compute: latency crosses over. SmartSpec should track the better of the two.
# Writes sweep.tsv, summary.tsv, speculative.gp (+ .png with gnuplot).
# Usage: bash experiments/speculative/run.sh BUILD_DIR [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh"
experiment_setup "$@"
common=("$here/llama-2-70b-draft-7b.json")
printf "# rate\tk0_e2e_mean\tk4_e2e_mean\tsmartspec_e2e_mean\tk4_acceptance\tsmartspec_drafts_per_token\n" > "$out/sweep.tsv"
for rate in 0.1 0.25 0.5 0.75 1 1.25 1.5 2 2.5 3 4 6; do
  row="$rate"
  for v in "specdec --set scheduler.spec_k=0" "specdec --set scheduler.spec_k=4" "smartspec --set scheduler.spec_k=4"; do
    # shellcheck disable=SC2086
    run_point "$work/p" "${common[@]}" --set scheduler.name=$v --set workload.generator.rate=$rate
    row="$row\t$(jget "$work/p/summary.json" e2e_s mean)"
    case "$v" in
      "specdec --set scheduler.spec_k=4") acc=$(jget "$work/p/summary.json" speculation acceptance) ;;
      smartspec*) prop=$(jget "$work/p/summary.json" speculation proposed_tokens) ;;
    esac
  done
  # drafts per generated token under smartspec: proposed / (300 requests' tokens)
  tok=$(jget "$work/p/summary.json" throughput output_tokens_per_s)
  dur=$(jget "$work/p/summary.json" duration_s)
  row="$row\t$acc\t$(awk -v p="$prop" -v t="$tok" -v d="$dur" 'BEGIN { printf "%.3f", (p == p + 0 && t * d > 0) ? p / (t * d) : 0 }')"
  printf "%b\n" "$row" >> "$out/sweep.tsv"
done
awk -F'\t' '!/^#/ {
    r = $1; base = $2; k4 = $3; ss = $4
    if (!seen++ ) { lo_r = r; lo_gain = base / k4; lo_ss = base / ss }
    if (k4 > base && !cross) cross = r
    hi_r = r; hi_ratio = k4 / base; hi_ss = ss / base
    if (base / ss > best) best = base / ss
    if (k4 / ss > best_vs_fixed) { best_vs_fixed = k4 / ss; at = r }
  }
  END {
    printf "# metric\tvalue\n"
    printf "speedup_fixed_k4_at_%s_rps\t%.2f\n", lo_r, lo_gain
    printf "speedup_smartspec_at_%s_rps\t%.2f\n", lo_r, lo_ss
    printf "crossover_rate_rps(fixed k worse than none)\t%s\n", cross ? cross : "none in sweep"
    printf "fixed_k4_vs_none_at_%s_rps\t%.2f\n", hi_r, hi_ratio
    printf "smartspec_vs_none_at_%s_rps\t%.2f\n", hi_r, hi_ss
    printf "max_fixed_over_smartspec_latency(at %s rps)\t%.2f\n", at, best_vs_fixed
  }' "$out/sweep.tsv" > "$out/summary.tsv"
cat > "$out/speculative.gp" <<'GP'
# gnuplot speculative.gp -> speculative.png (written by run.sh)
set terminal pngcairo size 800,480
set output 'speculative.png'
set datafile separator "\t"
set title "llama-2-70b TP4 on A100-80GB, draft llama-2-7b, acceptance 0.7 (servesim)"
set xlabel "request rate (requests/s)"
set ylabel "mean end-to-end latency (s)"
set logscale y
set key top left
plot 'sweep.tsv' using 1:2 with linespoints title 'no speculation', \
     '' using 1:3 with linespoints title 'fixed k = 4', \
     '' using 1:4 with linespoints title 'SmartSpec (adaptive k <= 4)'
GP
if command -v gnuplot >/dev/null; then (cd "$out" && gnuplot speculative.gp); fi
cat "$out/sweep.tsv" "$out/summary.tsv"
