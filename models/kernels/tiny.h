/* models/kernels/tiny.h — a tiny transformer assembled from the reference
 * kernels: configurable layers, dimensions, heads, KV heads, dense or MoE MLP,
 * weights drawn from a seed, and a paged KV cache with per-sequence block
 * tables. It runs iterations of mixed prefill chunks and decode steps exactly
 * the way the cost model prices them (all prefill chunks in one attention call
 * per layer, all decode steps in another, logits for the last token of every
 * sequence) and reports per-operator counters indexed by ModelOp, so a test
 * can compare them with model_cost_iteration(). Single rank (tp = 1); tensor
 * parallelism is checked on a layer in checks.c. It does not own the cost
 * model, scheduling or timing.
 */
#ifndef MODEL_KERNELS_TINY_H
#define MODEL_KERNELS_TINY_H

#include <glib.h>
#include "models/catalog.h"
#include "models/cost.h"
#include "models/kernels/kernels.h"

typedef struct {
  int      layers, hidden, heads, kv_heads, head_dim, ffn, vocab;
  gboolean gated;
  KernAct  act;
  gboolean layernorm;
  int      experts, top_k;   /* experts <= 1: dense */
  gboolean qk_norm;          /* RMSNorm over each query and key head before RoPE (Qwen3) */
  int      window;           /* sliding window: keys a query sees, itself included; 0 = all */
  int      rotary_dim;       /* RoPE over the first rotary_dim elements of each head; 0 = all */
  int      learned_pos;      /* > 0: a learned position embedding of this many positions, added
                              * to the token embedding, and no RoPE (OPT); 0: RoPE */
  double   rope_theta, eps;
} KernTinyConfig;

/* The tiny-transformer shape of a catalog model. FALSE with MODEL_ERROR_INVALID
 * when the model uses something the tiny transformer does not implement
 * (parallel attention/MLP blocks, head_dim odd, heads not a multiple of KV heads). */
gboolean kern_tiny_config_from_llm (const ModelLlm *m, KernTinyConfig *cfg, GError **error);

/* One sequence's work in an iteration: q tokens (prefill chunk, or 1 for decode). */
typedef struct {
  int        seq;      /* id from kern_tiny_seq_new */
  const int *tokens;   /* q token ids in [0, vocab) */
  int        q;
} KernTinyWork;

#define KR double
#define KS(name) name##_d
#include "models/kernels/tiny_tmpl.h"
#undef KR
#undef KS
#define KR float
#define KS(name) name##_f
#include "models/kernels/tiny_tmpl.h"
#undef KR
#undef KS

#endif
