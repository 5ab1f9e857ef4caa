#!/bin/sh
# tests/plan/cli_plan.sh — `servesim plan` from the command line, without MPI:
# help and usage errors, a bad plan file named with its key, a small sweep on 1
# and 2 threads giving the same table, a rerun resuming everything, --fresh
# starting over. Runs in the build directory (make check); a few seconds.
set -eu
bin=./servesim
if [ ! -x "$bin" ]; then echo "SKIP: no ./servesim here"; exit 77; fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/servesim-plan-XXXXXX")
trap 'rm -rf "$dir"' EXIT
fail () { echo "FAIL: $*"; exit 1; }

"$bin" plan --help | grep -q "cheapest" || fail "--help does not explain the questions"
if "$bin" plan > "$dir/o" 2>&1; then fail "no plan file accepted"; fi
grep -q "expected one plan file" "$dir/o" || fail "usage error: $(cat "$dir/o")"

cat > "$dir/bad.json" <<'EOF'
{"space": {"cluster.gpux": ["l4"]}, "slo": {"ttft": 1}}
EOF
if "$bin" plan "$dir/bad.json" -o "$dir/bad" > "$dir/o" 2>&1; then fail "bad plan accepted"; fi
grep -q "bad.json: space.cluster.gpux" "$dir/o" || fail "bad plan message: $(cat "$dir/o")"
[ ! -e "$dir/bad/results.csv" ] || fail "a bad plan wrote a table"

cat > "$dir/plan.json" <<'EOF'
{"name": "cli", "set": {"workload.trace": null, "workload.generator.num_requests": 60,
  "workload.generator.rate": 2},
 "space": {"cluster.gpu": ["h100-sxm", "a100-80gb"], "cluster.replicas": [1, 2], "cluster.tp": [1, 3]},
 "slo": {"ttft": 0.5, "tpot": 0.05}, "search": {"tolerance": 0.1, "targets": [4]}}
EOF
"$bin" plan "$dir/plan.json" --list > "$dir/list" 2> "$dir/list.err"
[ "$(wc -l < "$dir/list")" -eq 9 ] || fail "--list: expected a header and 8 rows: $(cat "$dir/list")"
grep -q "8 configurations: 4 would run, 4 pruned" "$dir/list.err" || fail "--list summary: $(cat "$dir/list.err")"
grep -q "tp-heads: TP 3" "$dir/list" || fail "--list lacks the pruning reason"
[ ! -e "$dir/j1" ] || fail "--list wrote outputs"
"$bin" plan "$dir/plan.json" -o "$dir/j1" -j 1 --no-render > "$dir/o1"
"$bin" plan "$dir/plan.json" -o "$dir/j2" -j 2 --no-render -q > "$dir/o2"
[ ! -s "$dir/o2" ] || fail "--quiet printed: $(cat "$dir/o2")"
grep -q "8 configurations done: 8 run now (4 pruned), 0 resumed" "$dir/o1" || fail "first run: $(head -3 "$dir/o1")"
grep -q "Recommended" "$dir/o1" || fail "no recommendation printed"
for f in results.csv results.json recommendation.md pareto_cost.dat pareto_latency.gp plan.json; do
  cmp "$dir/j1/$f" "$dir/j2/$f" || fail "$f differs between 1 and 2 threads"
done
grep -q ",tp-heads," "$dir/j1/results.csv" || fail "TP 3 not pruned for its heads"
"$bin" plan "$dir/plan.json" -o "$dir/j1" --no-render > "$dir/o3"
grep -q "0 run now (4 pruned), 8 resumed" "$dir/o3" || fail "rerun did not resume: $(head -3 "$dir/o3")"
cmp "$dir/j1/results.csv" "$dir/j2/results.csv" || fail "resumed table differs"
"$bin" plan "$dir/plan.json" -o "$dir/j1" --no-render --fresh > "$dir/o4"
grep -q "8 run now (4 pruned), 0 resumed" "$dir/o4" || fail "--fresh resumed: $(head -3 "$dir/o4")"
echo "ok"
