# tests/local.mk: sources, tests and data of tests/ (included by the top-level Makefile.am)
#
# The serving world, policies and CLI link the whole library (SERVESIM_LIBS).
# tests/cli/test_cli runs the built ./servesim (make check runs in the build
# directory), so it depends on it.

serve_tests = tests/serve/test_scenario tests/serve/test_world
policies_tests = tests/policies/test_vllm tests/policies/test_schedulers tests/policies/test_plugin
cli_tests = tests/cli/test_cli
check_PROGRAMS += $(serve_tests) $(policies_tests) $(cli_tests)
TESTS += $(serve_tests) $(policies_tests) $(cli_tests)

tests_serve_test_scenario_SOURCES = tests/serve/test_scenario.c tests/testutil.h
tests_serve_test_scenario_CFLAGS = $(TEST_CFLAGS)
tests_serve_test_scenario_LDADD = $(SERVESIM_LIBS) $(CUNIT_LIBS)

tests_serve_test_world_SOURCES = tests/serve/test_world.c tests/testutil.h
tests_serve_test_world_CFLAGS = $(TEST_CFLAGS)
tests_serve_test_world_LDADD = $(SERVESIM_LIBS) $(CUNIT_LIBS)

tests_policies_test_vllm_SOURCES = tests/policies/test_vllm.c tests/testutil.h
tests_policies_test_vllm_CFLAGS = $(TEST_CFLAGS)
tests_policies_test_vllm_LDADD = $(SERVESIM_LIBS) $(CUNIT_LIBS)

tests_policies_test_schedulers_SOURCES = tests/policies/test_schedulers.c tests/testutil.h
tests_policies_test_schedulers_CFLAGS = $(TEST_CFLAGS)
tests_policies_test_schedulers_LDADD = $(SERVESIM_LIBS) $(CUNIT_LIBS)

tests_policies_test_plugin_SOURCES = tests/policies/test_plugin.c tests/testutil.h
tests_policies_test_plugin_CFLAGS = $(TEST_CFLAGS)
tests_policies_test_plugin_LDADD = $(SERVESIM_LIBS) $(CUNIT_LIBS)
EXTRA_tests_policies_test_plugin_DEPENDENCIES = plugins/sample_plugin.so servesim$(EXEEXT)

tests_cli_test_cli_SOURCES = tests/cli/test_cli.c tests/testutil.h
tests_cli_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_cli_test_cli_LDADD = $(BASE_LIBS) $(CUNIT_LIBS)
EXTRA_tests_cli_test_cli_DEPENDENCIES = servesim$(EXEEXT)
