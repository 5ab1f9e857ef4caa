# models/kernels/local.mk: numerically exact reference kernels, included by Makefile.am.
# KERNELS_LIB names this layer's library (linked into servesim).
KERNELS_LIB = models/kernels/libkernels.a
noinst_LIBRARIES += models/kernels/libkernels.a
models_kernels_libkernels_a_SOURCES = \
	models/kernels/kernels.h models/kernels/kernels_tmpl.h models/kernels/kernels.c \
	models/kernels/tiny.h models/kernels/tiny_tmpl.h models/kernels/tiny.c \
	models/kernels/checks.h models/kernels/checks.c \
	models/kernels/host.h models/kernels/host.c
EXTRA_DIST += models/kernels/kernels_tmpl.c models/kernels/tiny_tmpl.c

check_PROGRAMS += tests/kernels/test_kernels tests/kernels/test_host
TESTS += tests/kernels/test_kernels tests/kernels/test_host
tests_kernels_test_kernels_SOURCES = tests/kernels/test_kernels.c tests/testutil.h
tests_kernels_test_kernels_CFLAGS = $(TEST_CFLAGS)
tests_kernels_test_kernels_LDADD = $(KERNELS_LIB) $(MODELS_LIBS) $(CUNIT_LIBS)
tests_kernels_test_host_SOURCES = tests/kernels/test_host.c tests/testutil.h
tests_kernels_test_host_CFLAGS = $(TEST_CFLAGS)
tests_kernels_test_host_LDADD = $(KERNELS_LIB) $(MODELS_LIBS) $(CUNIT_LIBS)
