# plan/local.mk: capacity planning (servesim plan), included by Makefile.am.
# PLAN_LIB names this layer's library (linked into servesim through SERVESIM_LIBS).
# plan/mpi.c is built with MPI_CFLAGS when configure found MPI (HAVE_MPI);
# only servesim references it, so only servesim needs $(MPI_LIBS).
PLAN_LIB = plan/libplan.a
noinst_LIBRARIES += plan/libplan.a
plan_libplan_a_SOURCES = \
	plan/plan.h plan/plan-private.h \
	plan/spec.c plan/search.c plan/sweep.c plan/report.c plan/mpi.c
plan_libplan_a_CFLAGS = $(AM_CFLAGS) $(MPI_CFLAGS)

plan_tests = tests/plan/test_plan
check_PROGRAMS += $(plan_tests)
TESTS += $(plan_tests) tests/plan/cli_plan.sh tests/plan/mpi_sweep.sh
EXTRA_DIST += tests/plan/cli_plan.sh tests/plan/mpi_sweep.sh

tests_plan_test_plan_SOURCES = tests/plan/test_plan.c tests/testutil.h
tests_plan_test_plan_CFLAGS = $(TEST_CFLAGS)
tests_plan_test_plan_LDADD = $(SERVESIM_LIBS) $(CUNIT_LIBS)
