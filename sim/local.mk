# sim/local.mk: the event core library and its tests (included by Makefile.am).
noinst_LIBRARIES += sim/libsim.a
sim_libsim_a_SOURCES = \
	sim/engine.h sim/engine.c \
	sim/rng.h sim/rng.c \
	sim/stats.h sim/stats.c \
	sim/util.h sim/util.c

# Tests of the event core (tests/sim/test_<file>.c covers sim/<file>.c).
# test_engine_renumber compiles sim/engine.c itself with a tiny sequence limit
# to exercise renumbering; test_stats includes sim/stats.c to see its buckets.
sim_tests = tests/sim/test_engine tests/sim/test_engine_renumber \
	tests/sim/test_stats tests/sim/test_rng
check_PROGRAMS += $(sim_tests)
TESTS += $(sim_tests)
tests_sim_test_engine_SOURCES = tests/sim/test_engine.c tests/testutil.h
tests_sim_test_engine_CFLAGS = $(TEST_CFLAGS)
tests_sim_test_engine_LDADD = $(SIM_LIBS) $(CUNIT_LIBS)
tests_sim_test_engine_renumber_SOURCES = tests/sim/test_engine_renumber.c tests/testutil.h
tests_sim_test_engine_renumber_CFLAGS = $(TEST_CFLAGS)
tests_sim_test_engine_renumber_LDADD = $(SIM_LIBS) $(CUNIT_LIBS)
tests_sim_test_stats_SOURCES = tests/sim/test_stats.c tests/testutil.h
tests_sim_test_stats_CFLAGS = $(TEST_CFLAGS)
tests_sim_test_stats_LDADD = $(SIM_LIBS) $(CUNIT_LIBS)
tests_sim_test_rng_SOURCES = tests/sim/test_rng.c tests/testutil.h
tests_sim_test_rng_CFLAGS = $(TEST_CFLAGS)
tests_sim_test_rng_LDADD = $(SIM_LIBS) $(CUNIT_LIBS)
