# bench/local.mk: sources, tests and data of bench/ (included by the top-level Makefile.am)

# Hold-model benchmark of the event core: make bench/bench_engine && ./bench/bench_engine
noinst_PROGRAMS += bench/bench_engine
bench_bench_engine_SOURCES = bench/bench_engine.c
bench_bench_engine_LDADD = $(SIM_LIBS)

# End-to-end replay benchmark (bench/run.sh runs both with the README's settings).
noinst_PROGRAMS += bench/bench_replay
bench_bench_replay_SOURCES = bench/bench_replay.c
bench_bench_replay_LDADD = $(SERVESIM_LIBS)

# Per-iteration times of sample deployments (docs/cost-model.md, "Sample predictions").
noinst_PROGRAMS += bench/cost_table
bench_cost_table_SOURCES = bench/cost_table.c
bench_cost_table_LDADD = $(MODELS_LIBS)

# The cost of the scheduled prefill attention per call and per thread block.
noinst_PROGRAMS += bench/bench_prefill
bench_bench_prefill_SOURCES = bench/bench_prefill.c
bench_bench_prefill_LDADD = $(MODELS_LIBS)
