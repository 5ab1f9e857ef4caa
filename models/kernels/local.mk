# models/kernels/local.mk: numerically exact reference kernels, included by Makefile.am.
# KERNELS_LIB names this layer's library once it has sources (linked into servesim).
KERNELS_LIB =
