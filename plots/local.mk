# plots/local.mk: sources, tests and data of plots/ (included by the top-level Makefile.am)
