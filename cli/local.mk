# cli/local.mk: the servesim program, a thin CLI over the libraries.
bin_PROGRAMS += servesim
servesim_SOURCES = cli/main.c
servesim_LDADD = $(SERVESIM_LIBS)
