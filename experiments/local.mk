# experiments/local.mk: reproductions of published results (scenario sets + scripts).
# Not run by make check: each is one command, `bash experiments/<name>/run.sh BUILD_DIR`,
# writing its tables and plots next to the script (see experiments/README.md).
EXTRA_DIST += experiments/README.md experiments/lib.sh
EXTRA_DIST += experiments/sarathi_capacity/run.sh experiments/sarathi_capacity/mistral-7b.json \
	experiments/sarathi_capacity/yi-34b-tp2.json experiments/sarathi_capacity/capacity.tsv \
	experiments/sarathi_capacity/capacity.gp experiments/sarathi_capacity/capacity.png
EXTRA_DIST += experiments/fastgen_vs_vllm/run.sh experiments/fastgen_vs_vllm/llama-2-70b-long-prompts.json \
	experiments/fastgen_vs_vllm/sweep.tsv experiments/fastgen_vs_vllm/summary.tsv \
	experiments/fastgen_vs_vllm/fastgen.gp experiments/fastgen_vs_vllm/fastgen.png
EXTRA_DIST += experiments/speculative/run.sh experiments/speculative/llama-2-70b-draft-7b.json \
	experiments/speculative/sweep.tsv experiments/speculative/summary.tsv \
	experiments/speculative/speculative.gp experiments/speculative/speculative.png
EXTRA_DIST += experiments/priority/run.sh experiments/priority/llama-3.1-8b-priority.json \
	experiments/priority/results.tsv experiments/priority/priority.gp experiments/priority/priority.png
EXTRA_DIST += experiments/fastswitch/run.sh experiments/fastswitch/gen_trace.sh \
	experiments/fastswitch/llama-3.1-8b-chat.json experiments/fastswitch/chat_trace.csv \
	experiments/fastswitch/results.tsv experiments/fastswitch/fastswitch.gp experiments/fastswitch/fastswitch.png
EXTRA_DIST += experiments/prefix_cache/run.sh experiments/prefix_cache/results.tsv \
	experiments/prefix_cache/prefix_cache.gp experiments/prefix_cache/prefix_cache.png
EXTRA_DIST += experiments/disaggregation/run.sh experiments/disaggregation/capacity.tsv \
	experiments/disaggregation/disaggregation.gp experiments/disaggregation/disaggregation.png
EXTRA_DIST += experiments/parallelism/run.sh experiments/parallelism/capacity.tsv
EXTRA_DIST += experiments/plan/run.sh experiments/plan/azure-conv.json experiments/plan/bench-1000.json experiments/plan/tp16-networks.json \
	experiments/plan/out/results.csv experiments/plan/out/results.json experiments/plan/out/recommendation.md \
	experiments/plan/out/pareto_cost.dat experiments/plan/out/pareto_cost.gp experiments/plan/out/pareto_cost.png \
	experiments/plan/out/pareto_latency.dat experiments/plan/out/pareto_latency.gp \
	experiments/plan/out/pareto_latency.png experiments/plan/out/plan.json experiments/plan/out/summary.txt \
	experiments/plan/out-bench-1000/summary.txt experiments/plan/out-bench-1000/results.csv \
	experiments/plan/out-bench-1000/recommendation.md experiments/plan/out-bench-1000/plan.json \
	experiments/plan/out-bench-1000/pareto_cost.png experiments/plan/out-bench-1000/pareto_latency.png
