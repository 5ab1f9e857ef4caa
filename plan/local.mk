# plan/local.mk: capacity planning (servesim plan), included by Makefile.am.
# PLAN_LIB names this layer's library once it has sources (linked into servesim).
PLAN_LIB =
