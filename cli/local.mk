# cli/local.mk: the servesim program, a thin CLI over the libraries.
bin_PROGRAMS += servesim
servesim_SOURCES = cli/cli.h cli/main.c cli/common.c \
	cli/cmd_replay.c \
	cli/cmd_describe.c \
	cli/cmd_validate.c cli/validate_cost.c cli/cmd_calibrate.c \
	cli/cmd_plan.c cli/validate_kernels.c
servesim_LDADD = $(SERVESIM_LIBS) $(MPI_LIBS)
