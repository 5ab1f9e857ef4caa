# plots/local.mk: sources, tests and data of plots/ (included by the top-level Makefile.am)
# plots/ writes figures (data + gnuplot scripts, Graphviz .dot) and renders
# them when the tools exist; it links only sim/ (for atomic output files).
noinst_LIBRARIES += plots/libplots.a
plots_libplots_a_SOURCES = \
	plots/plot.h plots/plot.c

check_PROGRAMS += tests/plots/test_plot
TESTS += tests/plots/test_plot
tests_plots_test_plot_SOURCES = tests/plots/test_plot.c tests/testutil.h
tests_plots_test_plot_CFLAGS = $(TEST_CFLAGS)
tests_plots_test_plot_LDADD = $(PLOTS_LIBS) $(CUNIT_LIBS)
