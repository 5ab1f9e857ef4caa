# traces/local.mk: sources, tests and data of traces/ (included by the top-level Makefile.am)
