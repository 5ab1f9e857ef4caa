# tests/local.mk: sources, tests and data of tests/ (included by the top-level Makefile.am)
