/* models/cost.h — the per-operator cost model (v2, calibrated) and memory plan.
 *
 * For one model iteration on one tensor-parallel rank it computes each
 * operator's FLOPs and bytes from the shapes (algorithmic counts), then its
 * time from the shapes and the GPU's device profile (GEMM tiles and waves,
 * FlashAttention tiles, paged decode, element-wise bandwidth with floors),
 * plus the tensor-parallel all-reduces (models/comm.h) and a per-iteration CPU
 * overhead. The
 * shape->count formulas here are the single definition that the reference
 * kernels are checked against. It knows nothing of scheduling.
 */
#ifndef MODEL_COST_H
#define MODEL_COST_H

#include <glib.h>
#include "models/catalog.h"
#include "models/profile.h"

typedef enum {
  MODEL_OP_EMBED,
  MODEL_OP_NORM,          /* input + post-attention norms */
  MODEL_OP_QKV,           /* fused QKV projection GEMM */
  MODEL_OP_QK_NORM,       /* per-head RMSNorm of queries and keys (Qwen3): two kernels a layer */
  MODEL_OP_ROPE,
  MODEL_OP_KV_WRITE,      /* writing new K,V into the paged cache */
  MODEL_OP_ATTN_PREFILL,
  MODEL_OP_ATTN_DECODE,
  MODEL_OP_ATTN_OUT,      /* output projection GEMM */
  MODEL_OP_MOE_ROUTE,     /* MoE: top-k softmax and the rows' sort by expert (2 kernels a layer) */
  MODEL_OP_MLP_UP,        /* up (+gate) GEMM; for MoE includes router */
  MODEL_OP_ACT,
  MODEL_OP_MLP_DOWN,
  MODEL_OP_MOE_SUM,       /* MoE: each token's k expert outputs summed */
  MODEL_OP_ADD,           /* residual adds */
  MODEL_OP_FINAL_NORM,
  MODEL_OP_LM_HEAD,
  MODEL_OP_ALLREDUCE,     /* TP all-reduce after attention and after MLP, and the embedding's */
  MODEL_OP_LOGITS_GATHER, /* TP all-gather of the vocabulary-parallel logits */
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

/* Precomputed per-rank shape of a model (internal to models/cost.c; filled by
 * model_cost_init so that the per-iteration path recomputes nothing). */
typedef struct {
  double L, h, d;
  double d_fa;         /* head size FlashAttention-2 runs: its kernel's (d rounded up to 32; 256 above 192) */
  double rope_sect;    /* 32-byte sectors RoPE's warps request per byte used (model_rope_sector_ratio) */
  double rot;          /* elements of a head RoPE rotates (ModelLlm.rotary_dim, else d) */
  double nh_r, kv_r;   /* query and KV heads per rank (KV replicated when tp > nkv) */
  double f_r, vocab_r, up_r;
  double E, k;         /* experts (0 = dense), top-k */
  int    wb;           /* weight bytes per element */
  double ab, kvb;      /* activation and KV-cache bytes per element */
  double norm_w, norm_flops, act_flops, norms;
  gboolean qk_norm;    /* the model norms each query and key head (ModelLlm.qk_norm) */
  gboolean learned_pos; /* learned position embedding, no RoPE (ModelLlm.learned_positions) */
  double win;          /* sliding window in keys (ModelLlm.sliding_window); 0 = none */
  int    norm_cls, act_cls;   /* ModelElemClass of the norm and activation kernels */
} ModelCostShape;

/* Per-kernel times of the dense GEMMs, the element-wise kernels and the TP
 * all-reduce are tabulated for token counts 1..MODEL_COST_TABLE at init
 * (decode batches hit the table and never call pow()). */
#define MODEL_COST_TABLE 512
#define MODEL_COST_SMAX_N 1024
/* FlashAttention split-KV choices for decode batches of 1..MODEL_COST_SPLIT_B - 1
 * sequences over 1..MODEL_COST_SPLIT_NB 128-key blocks, memoised on first use
 * when tables are on (0 = not yet computed) */
#define MODEL_COST_SPLIT_B 128
#define MODEL_COST_SPLIT_NB 128
enum { MODEL_TAB_QKV, MODEL_TAB_OUT, MODEL_TAB_UP, MODEL_TAB_DOWN, MODEL_TAB_LM_HEAD,
       MODEL_TAB_ALLREDUCE, MODEL_TAB_EMBED, MODEL_TAB_NORM, MODEL_TAB_ROPE, MODEL_TAB_KV_WRITE,
       MODEL_TAB_ACT, MODEL_TAB_ADD, MODEL_TAB_QNORM, MODEL_TAB_KNORM, MODEL_TAB_LOGITS,
       MODEL_TAB_MOE_TOPK, MODEL_TAB_MOE_ALIGN, MODEL_TAB_MOE_SUM, MODEL_TAB_COUNT };

/* The decode-attention terms of one batch shape (internal). */
typedef struct {
  gint64 seqs;               /* -1 = empty */
  gint64 pad_keys;           /* dec_pad_keys they were computed with */
  gboolean contig;           /* dec_contig they were computed with */
  double tiles, kmax_tiles;  /* 128-key tiles of the mean and the longest sequence (in its window) */
  double full_tiles;         /* 128-key tiles of the longest context (the launch's width) */
  double full, rest, n, t2, tl, fixed;
} DecMemo;

/* One scheduled prefill time of a single chunk (internal). */
#define MODEL_COST_PRE_SCHED 4096
typedef struct {
  gint64 q, ctx;             /* q 0 = empty */
  double split, t;
} PreSched;

typedef struct {
  const ModelLlm *llm;
  const ModelGpu *gpu;
  int             tp;
  /* width in keys of the block table decode attention is launched with (the
   * padded length FlashAttention splits the keys of); 0 = the batch's longest
   * context. Set by model_cost_init to 0. */
  gint64          dec_pad_keys;
  /* the KV cache is contiguous (PyTorch SDPA), not paged: FlashAttention
   * then runs an unsplit decode with its plain forward kernel (params'
   * dec_fwd_tile). Set by model_cost_init to FALSE (paged, as vLLM). */
  gboolean        dec_contig;
  /* GPUs per node: a TP group wider than this runs its all-reduce across
   * nodes. Set by model_cost_init to MODEL_NODE_GPUS; a network sets its own
   * (model_cost_set_network). */
  int             node_gpus;
  /* pipeline-parallel stages the layers are split over (1 = none). Set by
   * model_cost_init to 1; the memory plan is then one stage GPU's, and
   * model_cost_stage_times splits an iteration's time over the stages. */
  int             pp;
  ModelCostParams params;  /* the GPU's profile (gpu->profile) at init */
  /* internal, filled by model_cost_init / model_cost_set_params */
  ModelCostShape  shape;
  int             table_n; /* rows of `table` that are valid (0 = none) */
  double          table[MODEL_COST_TABLE + 1][MODEL_TAB_COUNT];
  guint8          split[MODEL_COST_SPLIT_B][MODEL_COST_SPLIT_NB + 1];
  /* the smooth maximum's shape f(r) = (1 + r^p)^(1/p) on r in [0, 1] and
   * its derivative, at MODEL_COST_SMAX_N + 1 points, for p = dec_sharp
   * ([0]) and gemm_sharp ([1]): cubic Hermite interpolation replaces two
   * pow() calls per decode wave (the simulator's hottest path; relative
   * error below 1e-12 except for r < 1e-3, where f - 1 < 1e-3^p) */
  /* decode terms by batch shape, direct-mapped: the replicas of a world
   * share one ModelCost and interleave their shapes */
#define MODEL_COST_DEC_MEMO 64
  DecMemo         dec_memo[MODEL_COST_DEC_MEMO];
  double          pre_memo[3];   /* prefill split of the last grid: units, key blocks, split */
  /* scheduled prefill times of single chunks (q 0 = empty slot) */
  PreSched        pre_sched[MODEL_COST_PRE_SCHED];
  double          smax_p[2];
  double          smax_f[2][MODEL_COST_SMAX_N + 1][2];
} ModelCost;

/* Caller-allocated; llm and gpu must outlive it. Uses the GPU's device profile
 * (gpu->profile: calibrated, or carried over from the closest calibrated
 * architecture); nothing to clear. */
void model_cost_init (ModelCost *c, const ModelLlm *llm, const ModelGpu *gpu, int tp);
/* Replaces the parameters and recomputes the tables. With tabulate FALSE the
 * table is dropped (every time is computed on the fly: what the calibrator
 * does while it changes parameters many times). */
void model_cost_set_params (ModelCost *c, const ModelCostParams *p, gboolean tabulate);
/* GPUs per node where no network says otherwise (an 8-GPU NVLink node). */
#define MODEL_NODE_GPUS 8
/* Runs c's collectives across nodes on network n (its inter-node parameters
 * and GPUs per node) instead of the GPU profile's; keeps c's tabulation. */
void model_cost_set_network (ModelCost *c, const ModelNetwork *n);
/* Whether tensor parallelism tp splits m: it divides the query heads, and
 * divides the KV heads or is a multiple of them (each KV head replicated),
 * as vLLM accepts. */
gboolean model_tp_valid (const ModelLlm *m, int tp);

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

/* Time models shared by the iteration cost and the calibrator (seconds, one
 * kernel). GEMM [m,k]x[k,n] with weights of `wb` bytes: tile (128/64) and wave
 * quantisation over the SMs with split-K for small grids, compute and memory
 * time combined by a smooth max, plus a floor. */
/* Which projection a GEMM is: its compute rate differs by the data it reads
 * (profile gemm_rate.attn_out, gemm_rate.mlp_down). */
typedef enum {
  MODEL_GEMM_IN,     /* QKV, MLP up/gate, LM head, router: read the normalised hidden state */
  MODEL_GEMM_OUT,    /* attention output projection */
  MODEL_GEMM_DOWN    /* MLP down projection */
} ModelGemmRole;
double model_time_gemm_role (const ModelCostParams *p, const ModelGpu *g, double m, double n,
                             double k, int wb, ModelGemmRole role);
double model_time_gemm (const ModelCostParams *p, const ModelGpu *g, double m, double n,
                        double k, int wb);
/* An element-wise kernel moving `bytes`, no row quantisation. */
double model_time_elem (const ModelCostParams *p, const ModelGpu *g, ModelElemClass cls,
                        double bytes);
/* The same over `rows` token rows (one thread block each), of which
 * `fixed_bytes` do not grow with the rows (a norm's weights): with the
 * profile's elem_row_wave > 0, that fraction of the per-row bytes is charged
 * as if the rows were rounded up to whole waves of num_sms x elem_wave_rows.
 * rows <= 0 = no quantisation (model_time_elem). */
double model_time_elem_rows (const ModelCostParams *p, const ModelGpu *g, ModelElemClass cls,
                             double bytes, double rows, double fixed_bytes);
/* The same for a kernel whose thread-block geometry is known: per_sm blocks
 * (rows) resident per SM instead of the profile's elem_wave_rows, and a
 * block's bytes as its loop runs them (blk_row_bytes, for elem_blk_bw)
 * instead of the row's; 0 = the profile's / the row's. */
double model_time_elem_blocks (const ModelCostParams *p, const ModelGpu *g, ModelElemClass cls,
                               double bytes, double rows, double fixed_bytes,
                               double per_sm, double blk_row_bytes);
/* Per-head RMSNorm (Qwen3's q_norm or k_norm; one launch) over `rows` rows of
 * d elements at ab bytes, with a d-element weight of wb bytes: vLLM's RMSNorm
 * kernel with one block of min(d, 1024) threads per row (docs/cost-model.md). */
double model_time_head_norm (const ModelCostParams *p, const ModelGpu *g, double rows, double d,
                             double ab, double wb);
/* vLLM's rotary kernel for nq query and nk key (x_i, x_i+d/2) pairs per token
 * row at ab bytes per element: blocks resident per SM, and the bytes a block
 * moves over its loop's iterations (whole iterations of its threads). */
void model_rope_blocks (double nq, double nk, double ab, double *per_sm, double *row_bytes);
/* 32-byte sectors vLLM's NeoX-style rotary kernel requests per byte it
 * uses, at head size d and ab bytes per element (1 where the half-heads
 * are sector-aligned: d = 64, 128; 1.4 at d = 80, bf16) */
double model_rope_sector_ratio (double d, double ab);
/* The same when RoPE rotates only the first rot of each head's d elements
 * (pairs (i, i + rot/2); phi-2: 32 of 80, which is sector-aligned). */
double model_rope_sector_ratio_rot (double d, double rot, double ab);
/* RoPE over `rows` tokens of nq query and nk key pairs each, at ab bytes per
 * element, with that launch geometry and sector ratio `sect` (what the
 * simulator and the calibrator both price). */
double model_time_rope (const ModelCostParams *p, const ModelGpu *g, double rows, double nq,
                        double nk, double sect, double ab);
/* One attention kernel over the prefill sequences (decode == FALSE: every seq
 * with !(q == 1 && ctx > 0)) or the decode sequences of `seqs`, for c's model
 * shape and c->params. 0 when there are none. */
double model_cost_attn_time (const ModelCost *c, const ModelSeqWork *seqs, gsize n,
                             gboolean decode);

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

/* Pipeline parallelism (c->pp > 1): the GPU time of iteration `it` (over
 * `tokens` tokens) split over the stages as vLLM partitions the layers (the
 * first L mod pp stages take one layer more): each stage its layers' share
 * of the per-layer operators, the first the embedding, the last the final
 * norm, the LM head and the logits' gather. stage_s gets c->pp times; the
 * return value is the seconds to pass one batch's activations (hidden
 * states and residual, bf16) from one stage to the next: a send/recv inside
 * a node when the whole TP x PP group fits one, else across the network.
 * The stage times sum to it->gpu_s. */
double model_cost_stage_times (const ModelCost *c, const ModelIterCost *it, gint64 tokens,
                               double *stage_s);

/* Plan memory for one GPU of a TP group. FALSE with MODEL_ERROR_NO_FIT and the
 * numbers (weights, activations, capacity) when not even one block fits, or
 * MODEL_ERROR_INVALID when tp does not divide the heads. */
gboolean model_memory_plan (const ModelCost *c, int block_size, double mem_util,
                            gint64 max_batched_tokens, ModelMemoryPlan *out, GError **error);

#endif
