/* models/cost.h — the per-operator cost model (v1) and memory plan.
 *
 * For one model iteration on one tensor-parallel rank it computes each
 * operator's FLOPs and bytes from the shapes, then its time from those and the
 * device's peak rates (roofline with efficiency factors and a per-kernel floor),
 * plus the tensor-parallel all-reduces and a per-iteration CPU overhead. The
 * shape->count formulas here are the single definition that the reference
 * kernels are checked against. It knows nothing of scheduling.
 */
#ifndef MODEL_COST_H
#define MODEL_COST_H

#include <glib.h>
#include "models/catalog.h"

typedef enum {
  MODEL_OP_EMBED,
  MODEL_OP_NORM,          /* input + post-attention norms */
  MODEL_OP_QKV,           /* fused QKV projection GEMM */
  MODEL_OP_ROPE,
  MODEL_OP_KV_WRITE,      /* writing new K,V into the paged cache */
  MODEL_OP_ATTN_PREFILL,
  MODEL_OP_ATTN_DECODE,
  MODEL_OP_ATTN_OUT,      /* output projection GEMM */
  MODEL_OP_MLP_UP,        /* up (+gate) GEMM; for MoE includes router */
  MODEL_OP_ACT,
  MODEL_OP_MLP_DOWN,
  MODEL_OP_ADD,           /* residual adds */
  MODEL_OP_FINAL_NORM,
  MODEL_OP_LM_HEAD,
  MODEL_OP_ALLREDUCE,     /* TP all-reduce after attention and after MLP */
  MODEL_OP_COUNT
} ModelOp;

const char *model_op_name (ModelOp op);

typedef struct {
  double flops;
  double bytes;   /* read + written to device memory (or link bytes for comm) */
  double time_s;
  double count;   /* kernel launches */
} ModelOpCost;

/* One sequence's work in an iteration: `q` new tokens (prefill chunk length,
 * or 1 for a decode step) attending to `ctx` tokens already in the KV cache.
 * decode = (q == 1 && ctx > 0). */
typedef struct {
  gint64 q;
  gint64 ctx;
} ModelSeqWork;

typedef struct {
  /* efficiency factors: fraction of peak reached */
  double gemm_eff;        /* of flops_bf16 */
  double attn_eff;        /* of flops_bf16 for attention math */
  double mem_eff;         /* of mem_bw */
  double link_eff;        /* of link bandwidth for all-reduce */
  double kernel_floor_s;  /* minimum time of any kernel */
  double allreduce_latency_s; /* per all-reduce fixed latency */
  double cpu_base_s;      /* per-iteration CPU overhead */
  double cpu_per_seq_s;   /* + per sequence in the batch */
  int    kv_dtype_bytes;  /* bytes per K/V element in the cache (2 = bf16/fp16, 1 = fp8) */
} ModelCostParams;

/* Defaults documented in docs/cost-model.md. */
void model_cost_params_default (ModelCostParams *p);

typedef struct {
  const ModelLlm *llm;
  const ModelGpu *gpu;
  int             tp;
  ModelCostParams params;
} ModelCost;

/* Caller-allocated; llm and gpu must outlive it. Uses default params. */
void model_cost_init (ModelCost *c, const ModelLlm *llm, const ModelGpu *gpu, int tp);

typedef struct {
  ModelOpCost op[MODEL_OP_COUNT]; /* summed over all layers */
  double gpu_s;    /* sum of operator times */
  double cpu_s;    /* CPU-side overhead */
  double total_s;  /* gpu_s + cpu_s: the iteration's wall time */
  gint64 tokens;   /* sum of q */
} ModelIterCost;

/* Cost of one iteration over `n` sequences. n == 0 gives all zeros. */
void   model_cost_iteration (const ModelCost *c, const ModelSeqWork *seqs, gsize n,
                             ModelIterCost *out);
/* The iteration time in integer nanoseconds, as the simulator charges it. */
gint64 model_iter_ns (const ModelIterCost *it);

/* Shape->count formulas shared with the reference kernels (per rank, one layer). */
double model_gemm_flops (double m, double n, double k);            /* 2mnk */
double model_gemm_bytes (double m, double n, double k, int dtype_bytes);

typedef struct {
  double weight_bytes;       /* per GPU */
  double activation_bytes;   /* per GPU, peak workspace at max_batched_tokens */
  double reserved_bytes;     /* mem_bytes * (1 - mem_util) + weights + activations */
  double kv_bytes_per_token; /* per GPU, all layers, K and V */
  double kv_bytes_per_block;
  double kv_bytes;           /* memory left for the KV cache */
  gint64 num_blocks;         /* KV blocks that fit */
  int    block_size;         /* tokens per block */
} ModelMemoryPlan;

/* Plan memory for one GPU of a TP group. FALSE with MODEL_ERROR_NO_FIT and the
 * numbers (weights, activations, capacity) when not even one block fits, or
 * MODEL_ERROR_INVALID when tp does not divide the heads. */
gboolean model_memory_plan (const ModelCost *c, int block_size, double mem_util,
                            gint64 max_batched_tokens, ModelMemoryPlan *out, GError **error);

#endif
