# sim/local.mk: the event core library and its tests (included by Makefile.am).
noinst_LIBRARIES += sim/libsim.a
sim_libsim_a_SOURCES = \
	sim/engine.h sim/engine.c \
	sim/rng.h sim/rng.c \
	sim/stats.h sim/stats.c \
	sim/util.h sim/util.c
