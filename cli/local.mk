# cli/local.mk: sources, tests and data of cli/ (included by the top-level Makefile.am)
