# models/local.mk: sources, tests and data of models/ (included by the top-level Makefile.am)
noinst_LIBRARIES += models/libmodels.a
models_libmodels_a_SOURCES = \
	models/catalog.h models/catalog.c \
	models/cost.h models/cost.c

nobase_dist_pkgdata_DATA += models/catalog/gpus.json models/catalog/llms.json

check_PROGRAMS += tests/models/test_catalog tests/models/test_cost
TESTS += tests/models/test_catalog tests/models/test_cost
tests_models_test_catalog_SOURCES = tests/models/test_catalog.c tests/testutil.h
tests_models_test_catalog_CFLAGS = $(TEST_CFLAGS)
tests_models_test_catalog_LDADD = $(MODELS_LIBS) $(CUNIT_LIBS)
tests_models_test_cost_SOURCES = tests/models/test_cost.c tests/testutil.h
tests_models_test_cost_CFLAGS = $(TEST_CFLAGS)
tests_models_test_cost_LDADD = $(MODELS_LIBS) $(CUNIT_LIBS)
