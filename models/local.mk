# models/local.mk: sources, tests and data of models/ (included by the top-level Makefile.am)
