# policies/local.mk: scheduling and routing policies (included by Makefile.am).
noinst_LIBRARIES += policies/libpolicies.a
policies_libpolicies_a_SOURCES = \
	policies/policy.h \
	policies/registry.h policies/registry.c \
	policies/cbatch.h policies/cbatch.c \
	policies/sched_vllm.c \
	policies/sched_static.c \
	policies/sched_orca.c \
	policies/sched_sarathi.c \
	policies/sched_priority.c \
	policies/sched_vtc.c \
	policies/sched_edf.c \
	policies/sched_specdec.c \
	policies/router_rr.c \
	policies/router_conversation.c \
	policies/router_cache.c \
	policies/template.c
