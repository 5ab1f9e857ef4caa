# experiments/lib.sh — helpers shared by the reproductions (sourced, bash).
#
# Each experiment runs `servesim replay` in memory-light mode (no requests.csv,
# no plots) and reads numbers back from summary.json with awk, so nothing
# beyond servesim, bash and awk is needed (gnuplot renders the figures when
# installed). Set SERVESIM to the binary (default: ./servesim in the build
# directory given as $1 to the run scripts) and SERVESIM_SHARED_DATA to the
# shared data folder (default: ../shared/data next to the source tree).

src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SERVESIM_DATA_DIR="${SERVESIM_DATA_DIR:-$src}"
shared="${SERVESIM_SHARED_DATA:-$src/../shared/data}"
ARXIV="$shared/traces/lengths/arxiv_summarization_llama2.csv"

# experiment_setup BUILD_DIR [OUT_DIR] (call from a run.sh with $here set to
# its folder): SERVESIM = BUILD_DIR/servesim, out = OUT_DIR or $here, work =
# a scratch directory removed when the script exits.
experiment_setup () {
  SERVESIM="$(cd "${1:?usage: run.sh BUILD_DIR [OUT_DIR]}" && pwd)/servesim"
  out="${2:-$here}"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
}

# jget FILE SECTION KEY: a number inside a top-level object of summary.json
# ("inter_token_s" "p99"); jget FILE KEY: a top-level number. Prints "nan"
# for null or missing.
jget () {
  if [ $# -eq 3 ]; then
    awk -v s="\"$2\":" -v k="\"$3\":" '
      $1 == s { f = 1; next }
      f && $1 == k { v = $2; sub(/,$/, "", v); print (v == "null" ? "nan" : v); found = 1; exit }
      f && /^  }/ { exit }
      END { if (!found) print "nan" }' "$1"
  else
    awk -v k="\"$2\":" '
      /^  "/ && $1 == k { v = $2; sub(/,$/, "", v); print (v == "null" ? "nan" : v); found = 1; exit }
      END { if (!found) print "nan" }' "$1"
  fi
}

# run_point OUTDIR ARGS...: one replay, summary in OUTDIR/summary.json.
run_point () {
  local out="$1"; shift
  "$SERVESIM" replay -q --no-render -o "$out" \
    --set output.requests_csv=false --set output.plots=false "$@" >/dev/null
}

# le A B: A <= B for decimals (awk), false when either is nan.
le () { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a == a + 0 && b == b + 0 && a + 0 <= b + 0) }'; }

# azure_conv_trace: the path of the whole Azure 2023 conversation trace in
# the shared data; fails (with a message) when it is not there.
azure_conv_trace () {
  local t="$shared/traces/azure2023/AzureLLMInferenceTrace_conv.csv"
  [ -f "$t" ] || { echo "run.sh: $t not found (set SERVESIM_SHARED_DATA)" >&2; return 1; }
  echo "$t"
}
