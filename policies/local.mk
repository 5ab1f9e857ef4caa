# policies/local.mk: sources, tests and data of policies/ (included by the top-level Makefile.am)
