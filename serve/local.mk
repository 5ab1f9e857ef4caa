# serve/local.mk: the serving world (included by Makefile.am).
noinst_LIBRARIES += serve/libserve.a
serve_libserve_a_SOURCES = \
	serve/scenario.h serve/scenario.c \
	serve/world.h serve/world.c \
	serve/policy_api.c \
	serve/metrics.h serve/metrics.c \
	serve/output.h serve/output.c
