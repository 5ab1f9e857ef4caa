#!/usr/bin/env bash
# experiments/fastswitch/gen_trace.sh — a synthetic multi-turn chat trace.
#
# Writes CSV (arrival_s,prompt_tokens,output_tokens,conversation) to stdout.
# Conversations start as a Poisson process (rate CONV_RATE per second); each
# has 2-8 turns (uniform); a turn's prompt is the whole previous context
# (the previous turn's prompt + its output) plus 50-400 new user tokens, its
# output 50-400 tokens; the next turn arrives a think time of 5-30 s after
# the previous one's arrival (uniform); conversations stop growing at 6,000
# tokens of context. Every draw comes from one fixed linear congruential
# generator seeded by SEED, so the file is reproducible with awk alone. The
# numbers are a plausible chat shape, not measurements of any service.
# Usage: bash gen_trace.sh [CONVERSATIONS=200] [CONV_RATE=1.0] [SEED=1] > trace.csv
set -euo pipefail
n="${1:-200}"; rate="${2:-1.0}"; seed="${3:-1}"
awk -v n="$n" -v rate="$rate" -v seed="$seed" '
  function u() { state = (state * 1103515245 + 12345) % 2147483648; return (state + 0.5) / 2147483648 }
  function uni(a, b) { return a + int(u() * (b - a + 1)) }
  BEGIN {
    state = seed % 2147483648
    t = 0; m = 0
    for (c = 0; c < n; c++) {
      t += -log(u()) / rate
      turns = uni(2, 8); ctx = 0; at = t
      for (k = 0; k < turns && ctx < 6000; k++) {
        p = ctx + uni(50, 400); o = uni(50, 400)
        row_t[m] = at; row[m] = sprintf("%d,%d,%d", p, o, c); m++
        ctx = p + o
        at += uni(5, 30)
      }
    }
    # arrival order (insertion sort on index arrays; a few thousand rows)
    for (i = 0; i < m; i++) idx[i] = i
    for (i = 1; i < m; i++) {
      j = i; v = idx[i]
      while (j > 0 && row_t[idx[j - 1]] > row_t[v]) { idx[j] = idx[j - 1]; j-- }
      idx[j] = v
    }
    print "arrival_s,prompt_tokens,output_tokens,conversation"
    for (i = 0; i < m; i++) printf "%.3f,%s\n", row_t[idx[i]], row[idx[i]]
  }'
