#!/bin/sh
# tests/plan/mpi_sweep.sh — `mpirun -n 2|3 servesim plan` gathers the same
# table as a single process, byte for byte, and resumes from the log the
# same way. Skipped (exit 77) when servesim was built without MPI or no
# mpirun is installed. Runs in the build directory (make check), on a small
# synthetic plan (about ten seconds on 2 cores).
set -eu
bin=./servesim
if [ ! -x "$bin" ]; then echo "SKIP: no ./servesim here"; exit 77; fi
if ! "$bin" plan --help | grep -q "MPI: built with MPI"; then
  echo "SKIP: servesim built without MPI"; exit 77
fi
mpirun=$(command -v mpirun || command -v mpiexec || true)
if [ -z "$mpirun" ]; then echo "SKIP: no mpirun/mpiexec"; exit 77; fi
flags=""
if "$mpirun" --version 2>&1 | grep -q "Open MPI"; then
  # 2 cores: more ranks than cores is expected here; root is a CI container
  flags="--oversubscribe"
  [ "$(id -u)" -eq 0 ] && flags="$flags --allow-run-as-root"
fi

# Open MPI's own start-up allocations are never freed; in an --enable-asan
# build LeakSanitizer would fail every rank on them (servesim's own leaks are
# checked by the single-process tests and valgrind).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

dir=$(mktemp -d "${TMPDIR:-/tmp}/servesim-mpi-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cat > "$dir/plan.json" <<'EOF'
{
  "name": "mpi-test",
  "set": {"workload.trace": null, "workload.generator.num_requests": 80,
          "workload.generator.rate": 2, "workload.generator.lengths": "uniform",
          "workload.generator.prompt_max": 1024, "workload.generator.output_max": 128},
  "space": {
    "cluster.gpu": ["h100-sxm", "a100-80gb", "l4"],
    "cluster.tp": [1, 2, 3],
    "cluster.replicas": [1, 2],
    "scheduler.max_batch_size": [16, 256]
  },
  "constraints": {"max_gpus": 2},
  "slo": {"ttft": 0.5, "tpot": 0.05},
  "search": {"tolerance": 0.05, "targets": [4, 16]}
}
EOF
files="results.csv results.json recommendation.md plan.json pareto_cost.dat pareto_cost.gp pareto_latency.dat pareto_latency.gp"

"$bin" plan "$dir/plan.json" -o "$dir/single" -j 2 -q --no-render
for n in 2 3; do
  timeout 300 "$mpirun" $flags -n $n "$bin" plan "$dir/plan.json" -o "$dir/mpi$n" -q --no-render
  for f in $files; do
    if ! cmp "$dir/single/$f" "$dir/mpi$n/$f"; then
      echo "FAIL: $f differs between the single-process and the $n-rank sweep"; exit 1
    fi
  done
  echo "ok: $n ranks, same $files"
done

# resume under MPI: keep the first 10 logged results, the rerun computes the rest
head -n 10 "$dir/mpi3/results.jsonl" > "$dir/keep" && mv "$dir/keep" "$dir/mpi3/results.jsonl"
rm -f "$dir/mpi3/results.csv"
timeout 300 "$mpirun" $flags -n 3 "$bin" plan "$dir/plan.json" -o "$dir/mpi3" --no-render > "$dir/out3"
grep -q "10 resumed" "$dir/out3" || { echo "FAIL: expected 10 resumed"; cat "$dir/out3"; exit 1; }
for f in $files; do
  cmp "$dir/single/$f" "$dir/mpi3/$f" || { echo "FAIL: $f differs after an MPI resume"; diff "$dir/single/$f" "$dir/mpi3/$f" | head -20 | cut -c1-150; exit 1; }
done
echo "ok: MPI resume"
