/* models/kernels/kernels.h — numerically exact reference kernels for every
 * operator the cost model prices, with FLOP/byte counters.
 *
 * Each kernel computes its operator for real (in double, suffix _d, or float,
 * suffix _f; the typed prototypes are in kernels_tmpl.h, included twice below)
 * from explicit shapes, and adds to a KernCount what it executed: FLOPs, and
 * the bytes of the distinct elements it read from and wrote to "device memory"
 * once per call (compulsory traffic), each element charged at the nominal width
 * of its tensor class (weights, activations, KV cache) held in the counter, so
 * that a float kernel can be priced as the bf16 kernel of a GPU. The counting
 * conventions, operator by operator, are in docs/kernels.md; tests demand that
 * they equal models/cost.c exactly. Kernels never allocate more than their
 * scratch and never fail at run time: wrong shapes are programmer errors
 * (g_return_if_fail). This header does not own timing (host.h), the tiny
 * transformer (tiny.h) or the checks (checks.h).
 */
#ifndef MODEL_KERNELS_H
#define MODEL_KERNELS_H

#include <glib.h>
#include <stdint.h>

/* What a kernel executed. Widths are bytes per element, set by the caller. */
typedef struct {
  double flops;
  double bytes;
  double calls;  /* kernel launches, as ModelOpCost.count */
  int    wb;     /* weight (and GEMM operand) bytes per element */
  int    ab;     /* activation bytes per element */
  int    kvb;    /* KV-cache bytes per element */
} KernCount;

/* Zeroes the counts and sets the widths (each >= 1). */
void kern_count_init (KernCount *c, int wb, int ab, int kvb);
/* Adds src's counts into dst (widths of dst kept). */
void kern_count_add (KernCount *dst, const KernCount *src);

typedef enum {
  KERN_ACT_SILU,  /* x / (1 + e^-x): 4 FLOPs per element */
  KERN_ACT_GELU,  /* tanh approximation in sigmoid form: 8 FLOPs */
  KERN_ACT_RELU   /* max(x, 0): 1 FLOP */
} KernAct;

/* FLOPs per element the kernels count for an activation (+1 when gated). */
int kern_act_flops (KernAct a, gboolean gated);
/* KERN_ACT_* for "silu" | "gelu" | "relu"; -1 for anything else. */
int kern_act_from_name (const char *name);

/* A sequence's work in a batched attention call: q new tokens at positions
 * ctx .. ctx+q-1 whose K,V are already in the cache (the KV write comes first),
 * causal, and its block table (block_size tokens per block). With window > 0
 * (sliding-window attention) the token at position p sees only the keys
 * p - window + 1 .. p; 0 = every earlier key. */
typedef struct {
  int        q;
  int        ctx;
  const int *table;
  int        window;
} KernSeq;

/* Emulated low-precision rounding (round to nearest even; fp16 and fp8 keep
 * subnormals; out-of-range values saturate to the largest finite value, as
 * vLLM's fp8 cast does). */
float kern_round_bf16 (float x);
float kern_round_fp16 (float x);
float kern_round_fp8_e4m3 (float x);   /* max 448, 3 mantissa bits */

/* Per-group KV quantisation of n values in groups of `group` (n % group == 0):
 * symmetric scale max|x| / qmax per group, qmax = 127 (int8), 7 (int4);
 * fp8: scale max|x| / 448, value rounded to e4m3. Returns the dequantised values
 * in out (may alias x). */
typedef enum { KERN_QUANT_INT8, KERN_QUANT_INT4, KERN_QUANT_FP8 } KernQuant;
void kern_quant_roundtrip (KernQuant kind, const double *x, gsize n, int group, double *out);
const char *kern_quant_name (KernQuant kind);

/* H2O heavy-hitter selection: keep the `recent` newest keys plus the
 * (budget - recent) older keys with the largest accumulated attention score;
 * keep[i] = TRUE for kept keys. Ties go to the older key. budget >= recent >= 0. */
void kern_h2o_select (int n_keys, const double *acc_score, int budget, int recent, gboolean *keep);

/* Speculative-decoding verification with greedy acceptance: draft[0..k) are
 * the proposed tokens, target[0..k] the target model's greedy token after the
 * last accepted token and after each draft token (target[i] follows draft[i-1]).
 * Writes the accepted drafts then the target's own next token to out (at most
 * k + 1 entries) and returns how many it wrote (accepted + 1). */
int kern_spec_verify_greedy (int k, const int *draft, const int *target, int *out);

/* Collectives over N simulated ranks in memory, double only. bufs[r] is rank
 * r's buffer of n elements. The counter (may be NULL) receives what ONE rank
 * does: the FLOPs of its additions and the bytes it sends, at width c->ab
 * (the cost model's all-reduce convention); calls += 1. */
void kern_allreduce_ring (int N, gsize n, double **bufs, KernCount *c);
void kern_allreduce_tree (int N, gsize n, double **bufs, KernCount *c);   /* binary tree reduce + broadcast */
void kern_allreduce_rhd (int N, gsize n, double **bufs, KernCount *c);    /* recursive halving-doubling; N power of 2 */
/* Ring reduce-scatter: afterwards rank r's chunk r (elements [r*n/N, (r+1)*n/N),
 * the last chunk takes the remainder) holds the sum; other chunks are scratch. */
void kern_reduce_scatter_ring (int N, gsize n, double **bufs, KernCount *c);
/* Ring all-gather: rank r contributes its chunk r; afterwards all hold all chunks. */
void kern_allgather_ring (int N, gsize n, double **bufs, KernCount *c);
/* All-to-all: send[r] holds N chunks of `chunk` elements, chunk s goes to rank s;
 * recv[s] chunk r receives it. */
void kern_alltoall (int N, gsize chunk, double **send, double **recv, KernCount *c);

#define KR double
#define KS(name) name##_d
#include "models/kernels/kernels_tmpl.h"
#undef KR
#undef KS
#define KR float
#define KS(name) name##_f
#include "models/kernels/kernels_tmpl.h"
#undef KR
#undef KS

#endif
