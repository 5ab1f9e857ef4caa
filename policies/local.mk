# policies/local.mk: scheduling and routing policies (included by Makefile.am).
noinst_LIBRARIES += policies/libpolicies.a
policies_libpolicies_a_SOURCES = \
	policies/policy.h \
	policies/registry.h policies/registry.c \
	policies/sched_vllm.c \
	policies/router_rr.c \
	policies/template.c
