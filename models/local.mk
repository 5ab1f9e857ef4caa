# models/local.mk: sources, tests and data of models/ (included by the top-level Makefile.am)
noinst_LIBRARIES += models/libmodels.a
models_libmodels_a_SOURCES = \
	models/profile.h models/profile.c \
	models/catalog.h models/catalog.c \
	models/cost.h models/cost.c \
	models/comm.h models/comm.c \
	models/calibrate.h models/calibrate.c

nobase_dist_pkgdata_DATA += models/catalog/gpus.json models/catalog/llms.json models/catalog/networks.json \
	models/profiles/a100-80gb.json models/profiles/a100-40gb.json \
	models/profiles/h100-sxm.json models/profiles/h100-sxm-cu13.json models/profiles/h200.json

check_PROGRAMS += tests/models/test_catalog tests/models/test_cost tests/models/test_calibrate
TESTS += tests/models/test_catalog tests/models/test_cost tests/models/test_calibrate
tests_models_test_catalog_SOURCES = tests/models/test_catalog.c tests/testutil.h
tests_models_test_catalog_CFLAGS = $(TEST_CFLAGS)
tests_models_test_catalog_LDADD = $(MODELS_LIBS) $(CUNIT_LIBS)
tests_models_test_cost_SOURCES = tests/models/test_cost.c tests/testutil.h
tests_models_test_cost_CFLAGS = $(TEST_CFLAGS)
tests_models_test_cost_LDADD = $(MODELS_LIBS) $(CUNIT_LIBS)
tests_models_test_calibrate_SOURCES = tests/models/test_calibrate.c tests/models/accuracy_gates.h \
	tests/models/accuracy_gates_measured.h tests/models/accuracy_gates_heldout.h \
	tests/testutil.h
tests_models_test_calibrate_CFLAGS = $(TEST_CFLAGS)
tests_models_test_calibrate_LDADD = $(MODELS_LIBS) $(CUNIT_LIBS)
