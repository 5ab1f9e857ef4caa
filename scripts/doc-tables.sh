#!/bin/bash
# scripts/doc-tables.sh — the Markdown tables of docs/cost-model.md, regenerated from the program.
#
#   bash scripts/doc-tables.sh BUILD_DIR [SHARED_DATA_DIR] > /tmp/tables.md
#
# Prints, from `servesim calibrate` (fitted parameters, one column per GPU) and `servesim
# validate ops|comm` with the bundled profiles (accuracy per class and size split, with the
# resolution-aware columns) and `validate ops --leave-one-out` (pooled over held-out sources),
# Markdown sections to paste into the document. Takes a few minutes (the leave-one-out refits
# once per source); set NO_LOO=1 to skip that part.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: doc-tables.sh BUILD_DIR [SHARED_DATA_DIR]}
data=${2:-$src/../shared/data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$build/servesim" calibrate --profiles "$data" --profiles "$src/measurements/h200" \
  --profiles "$src/measurements/h100-sxm-cu13" --out "$tmp/prof" > "$tmp/cal.txt"
"$build/servesim" validate ops --profiles "$data/profiles" --no-plots > "$tmp/ops.txt"
"$build/servesim" validate comm --data "$data" --no-plots > "$tmp/comm.txt"

echo "### Fitted parameters"
echo
awk '
  /^[a-z0-9-]+: [0-9]+ measurements from/ { g = $1; sub(":", "", g); gpus[++ng] = g; next }
  /^    [a-z_.][a-z0-9_.]* +[-0-9.e+]+ / { if (!($1 in seen)) { seen[$1] = 1; names[++nn] = $1 } v[g, $1] = $2 }
  END {
    printf "| parameter |"; for (i = 1; i <= ng; i++) printf " %s |", gpus[i]; printf "\n|---|"
    for (i = 1; i <= ng; i++) printf "---|"; printf "\n"
    for (j = 1; j <= nn; j++) {
      printf "| `%s` |", names[j]
      for (i = 1; i <= ng; i++) printf " %s |", v[gpus[i], names[j]]
      printf "\n"
    }
  }' "$tmp/cal.txt"

# tables SPLIT FILE...: one table per GPU of the rows whose size column is SPLIT
tables () {
  local split=$1; shift
  awk -v want="$split" '
    function flush() { if (n) { printf "**%s**\n\n| class | rows | median %% | p90 %% | max %% | bias %% | r-med %% | r-p90 %% |\n|---|---|---|---|---|---|---|---|\n%s\n", gpu, body; } n = 0; body = "" }
    /^(operators|collectives)( \(leave-one-out\))? on / { flush(); gpu = $0; sub(/:.*/, "", gpu); sub(/.* on /, "", gpu); next }
    /held out:/ { skip = 1 } /pooled over held-out/ { skip = 0 }
    /^  [a-z_0-9]+ +(T|<|>)/ { cls = $1 }
    !skip && ($1 == want || $2 == want) {
      k = ($1 == want) ? 1 : 2
      body = body sprintf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", cls, $(k+1), $(k+2), $(k+3), $(k+4), $(k+5), $(k+6), $(k+7)); n++
    }
    END { flush() }' "$@"
}

echo "### Operators, T >= 16 (in-sample)"
echo
tables "T>=16" "$tmp/ops.txt"
echo "### Operators, T < 16 (in-sample)"
echo
tables "T<16" "$tmp/ops.txt"
echo "### Collectives, >= 1 MiB (in-sample)"
echo
tables ">=1MiB" "$tmp/comm.txt"
echo "### Collectives, < 1 MiB (in-sample)"
echo
tables "<1MiB" "$tmp/comm.txt"
for g in h200 h100-sxm-cu13; do
  "$build/servesim" validate ops --profiles "$src/measurements/$g" --no-plots > "$tmp/$g.txt"
  echo "### Operators on our measurements (measurements/$g), T >= 16 and T < 16"
  echo
  tables "T>=16" "$tmp/$g.txt"
  tables "T<16" "$tmp/$g.txt"
done
for g in h200 h100-sxm-cu13; do
  "$build/servesim" validate ops --profiles "$src/measurements/heldout/$g" --no-plots \
    > "$tmp/heldout-$g.txt"
done
echo "### Held-out attention geometries (measurements/heldout), T >= 16 and T < 16"
echo
tables "T>=16" "$tmp/heldout-h200.txt" "$tmp/heldout-h100-sxm-cu13.txt"
tables "T<16" "$tmp/heldout-h200.txt" "$tmp/heldout-h100-sxm-cu13.txt"

# One table, a column per (profile -> measured GPU) pair: every GPU predicted
# with another's profile carried over to its spec sheet (validate ops
# --profile-of), T >= 16, "median / p90 (bias)".
pairs="a100-80gb:h100-sxm:$data/profiles h100-sxm:a100-80gb:$data/profiles h100-sxm:h200:$src/measurements/h200 h200:h100-sxm:$data/profiles h100-sxm-cu13:h200:$src/measurements/h200 h200:h100-sxm-cu13:$src/measurements/h100-sxm-cu13 h100-sxm:h100-sxm-cu13:$src/measurements/h100-sxm-cu13"
for pr in $pairs; do
  IFS=: read -r from to dir <<< "$pr"
  "$build/servesim" validate ops --profiles "$dir" --only "$to" --profile-of "$from" --no-plots \
    | awk -v col="$from → $to" '
        /^  [a-z_0-9]+ +(T|a)/ { cls = $1 }
        { k = ($1 == "T>=16") ? 1 : ($2 == "T>=16") ? 2 : 0 }
        k { printf "%s\t%s\t%s / %s (%s)\n", col, cls, $(k+2), $(k+3), $(k+5) }'
done > "$tmp/carry.tsv"
echo "### Another GPU's profile (validate ops --profile-of), T >= 16: median / p90 % (bias %)"
echo
awk -F'\t' '
  { if (!($1 in seenc)) { seenc[$1] = 1; cols[++nc] = $1 } if (!($2 in seenr)) { seenr[$2] = 1; rows[++nr] = $2 } v[$1, $2] = $3 }
  END {
    printf "| class |"; for (i = 1; i <= nc; i++) printf " %s |", cols[i]; printf "\n|---|"
    for (i = 1; i <= nc; i++) printf "---|"; printf "\n"
    for (j = 1; j <= nr; j++) {
      printf "| %s |", rows[j]
      for (i = 1; i <= nc; i++) printf " %s |", ((cols[i], rows[j]) in v) ? v[cols[i], rows[j]] : "—"
      printf "\n"
    }
  }' "$tmp/carry.tsv"
echo
if [ -z "${NO_LOO:-}" ]; then
  "$build/servesim" validate ops --profiles "$data/profiles" --leave-one-out --no-plots > "$tmp/loo.txt"
  echo "### Leave one source out, pooled, T >= 16"
  echo
  tables "T>=16" "$tmp/loo.txt"
  for g in h200 h100-sxm-cu13; do
    "$build/servesim" validate ops --profiles "$src/measurements/$g" --leave-one-out --no-plots \
      > "$tmp/loo-$g.txt"
    echo "### Leave one source out on our measurements (measurements/$g), pooled, T >= 16"
    echo
    tables "T>=16" "$tmp/loo-$g.txt"
  done
fi
