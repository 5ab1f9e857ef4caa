# traces/local.mk: sources, tests and data of traces/ (included by the top-level Makefile.am)
noinst_LIBRARIES += traces/libtraces.a
traces_libtraces_a_SOURCES = \
	traces/trace.h traces/trace.c

nobase_dist_pkgdata_DATA += \
	traces/data/README.md \
	traces/data/azure_conv_1k.csv \
	traces/data/arxiv_lengths_1k.csv \
	traces/data/mooncake_conv_1k.jsonl

check_PROGRAMS += tests/traces/test_trace
TESTS += tests/traces/test_trace
tests_traces_test_trace_SOURCES = tests/traces/test_trace.c tests/testutil.h
tests_traces_test_trace_CFLAGS = $(TEST_CFLAGS)
tests_traces_test_trace_LDADD = $(TRACES_LIBS) $(CUNIT_LIBS)
