# serve/local.mk: sources, tests and data of serve/ (included by the top-level Makefile.am)
