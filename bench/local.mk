# bench/local.mk: sources, tests and data of bench/ (included by the top-level Makefile.am)
