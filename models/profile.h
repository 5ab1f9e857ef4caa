/* models/profile.h — a GPU's device profile: the handful of fitted efficiency
 * parameters that turn the cost model's per-operator FLOPs and bytes into
 * times (GEMM, attention, element-wise kernels, collectives, CPU overhead).
 *
 * A profile is data: bundled ones live in models/profiles/<gpu>.json and are
 * written by `servesim calibrate`; any catalog file may carry a "profiles"
 * array of the same entries. This header owns the parameter struct, its
 * defaults and a table describing every parameter (name, meaning, range) so
 * that readers, writers and the calibrator share one list. It does not own the
 * time formulas (models/cost.c, models/comm.c) or the fitting (models/calibrate.c).
 */
#ifndef MODEL_PROFILE_H
#define MODEL_PROFILE_H

#include <glib.h>

/* Element-wise kernel classes, each with its own bandwidth efficiency and floor. */
typedef enum {
  MODEL_ELEM_EMBED,
  MODEL_ELEM_NORM,
  MODEL_ELEM_ROPE,
  MODEL_ELEM_ACT,
  MODEL_ELEM_ADD,
  MODEL_ELEM_KV_WRITE,
  MODEL_ELEM_LAYERNORM,  /* LayerNorm (mean and variance, bias): a different kernel from RMSNorm */
  MODEL_ELEM_ACT_PLAIN,  /* activation of a non-gated MLP (GELU, ReLU): one input tensor */
  MODEL_ELEM_COUNT
} ModelElemClass;

/* NCCL protocols. */
typedef enum { MODEL_PROTO_LL, MODEL_PROTO_LL128, MODEL_PROTO_SIMPLE, MODEL_PROTO_COUNT } ModelProto;
/* Hop types: inside a node (NVLink/NVSwitch, or PCIe without NVLink) and between nodes (NIC). */
typedef enum { MODEL_HOP_INTRA, MODEL_HOP_INTER, MODEL_HOP_COUNT } ModelHop;

typedef struct {
  /* GEMM: tiles of 128x128 (or smaller) over the SMs, split-K, waves */
  double gemm_eff;          /* fraction of dense peak one SM reaches on a full 128x128 tile */
  double gemm_small_tile;   /* slowdown of a 64-wide tile dimension relative to 128 */
  double gemm_rate_out;     /* compute-rate factor of the attention output projection and */
  double gemm_rate_down;    /* of the MLP down projection, vs QKV/up (1 = same): see model_time_gemm_role */
  double gemm_mem_eff;      /* fraction of mem_bw for the compulsory GEMM traffic */
  double gemm_floor_s;      /* fixed cost of one GEMM kernel */
  double gemm_sharp;        /* exponent of the smooth max of compute and memory time */
  double gemm_split_k;      /* smallest K slice split-K gives one tile */
  double gemm_k0;           /* a tile's fixed work (pipeline fill, epilogue storing its outputs)
                             * in K-steps: a tile costs as if K were K + gemm_k0 (0 = none) */
  double gemm_wave;         /* cost of the idle part of a partial last wave (1 = whole waves, 0 = stream-K) */
  double gemm_tile_min;     /* smallest tile side (rows or columns): 64 on GPUs; 1 on a CPU, whose
                             * GEMM streams rows (no thread-block tile to fill); not fitted */
  double gemm_clock_drop;   /* fractional slowdown of a GEMM long enough for the power limiter to pull
                             * the clock down from boost (0 = none) */
  double gemm_clock_tau_s;  /* compute time at which a GEMM suffers half of gemm_clock_drop */
  double gemm_tile_max;     /* longest tile side along the larger output dimension of a grid that
                             * still fills the SMs: 256 on Hopper/Blackwell (wgmma 128x256 tiles),
                             * 128 elsewhere; set by architecture, not fitted */
  double gemm_cache_gain;   /* measured GEMMs repeat on the same weights: bytes that fit in L2 are
                             * read this much faster (1 = off). The calibrator predicts with it;
                             * the simulator runs every GEMM cold (a layer's weights were last
                             * read one forward pass, gigabytes, ago) */
  double gemm_cache_bytes;  /* working set (weights + activations) at which half the gain is left */
  double gemm_cache_sharp;  /* steepness of that edge */
  double gemm_cta_bw;       /* bytes/s one thread block (tile) streams from memory: a grid of few
                             * tiles cannot draw the GPU's bandwidth (0 = no cap) */
  double gemm_tile_fit;     /* 0: the tile shapes above only (cuBLAS of CUDA 12.1, as Vidur's
                             * profiles ran); > 0: the tile's token side also fits the token count
                             * in steps of this many rows (cuBLAS's nvjet kernels of CUDA 12.8 and
                             * later: 64x8, 64x16, ..., 128x120 tiles); chosen by the calibrator
                             * between 0 and 8, not searched */
  /* attention prefill (FlashAttention: attn_tile_q-query tiles per head, causal) */
  double attn_eff;          /* fraction of dense peak per SM inside a tile */
  double attn_floor_s;
  double attn_per_tile_s;   /* per (64-query tile x head) fixed cost, spread over the SMs */
  double attn_causal;       /* cost factor of the keys inside the chunk (causal mask) vs cached keys */
  double attn_pair_gain;    /* 0: the closed form; > 0: FlashAttention's thread blocks scheduled in
                             * launch order, two per SM, two sharing an SM at this throughput vs one */
  double attn_combine_s;    /* scheduled: the combine kernel after a split of the keys */
  double attn_tile_q;       /* queries per tile: 64 on GPUs (FlashAttention-2 split-KV kernel); 1 on a
                             * CPU (a query row at a time, no masked work); not fitted */
  double attn_split_sms;    /* how prefill splits the keys over SMs: 0 = units below the SM count,
                             * blocks of >= 256 keys (the first rule); 1 or 2 = FlashAttention-2's
                             * num_splits heuristic against that many thread blocks per SM
                             * (Vidur's vLLM FA2: 1; PyTorch 2.11's FA2: 2). Decode always uses
                             * num_splits, against max(1, this) blocks per SM: the same library
                             * launches both. Chosen by the calibrator, not searched */
  /* attention decode (paged KV read) */
  double dec_mem_eff;       /* fraction of mem_bw reading the KV cache (bound of a wave) */
  double dec_floor_s;
  double dec_per_seq_s;     /* per sequence in the batch */
  double dec_per_block_s;   /* per key tile (128 keys at head size 128) of one thread block alone on an SM */
  double dec_split_s;       /* combine kernel: per split of the keys */
  double dec_tail;          /* unused (the FlashAttention wave model has none); kept so old profiles load */
  double dec_cta_s;         /* fixed time of one thread block (Q tile, block table, O and LSE writes) */
  double dec_pair_gain;     /* throughput of two blocks sharing an SM vs one (1 = none, 2 = full overlap) */
  double dec_sharp;         /* exponent of the smooth max of a wave's SM time and its bytes over bandwidth */
  double dec_combine_s;     /* combine kernel: per round of its (4-row) blocks over the SMs */
  double dec_fwd_tile;      /* over a contiguous cache (no block table) an unsplit decode runs
                             * FlashAttention's plain forward kernel, whose 128-row query tiles
                             * (64 in the split-KV kernel) cost this many times dec_per_block_s per
                             * key tile; a paged cache (vLLM, the simulator) always runs the
                             * split-KV kernel and never uses it */
  /* element-wise kernels */
  double elem_bw_eff[MODEL_ELEM_COUNT];
  double elem_floor_s[MODEL_ELEM_COUNT];
  double elem_sharp[MODEL_ELEM_COUNT];  /* exponent of the smooth max of floor and transfer time */
  double elem_cache_gain[MODEL_ELEM_COUNT];  /* speed-up while the data fit in cache (L2) */
  double elem_cache_bytes[MODEL_ELEM_COUNT]; /* bytes at which half of that gain is left */
  double elem_cache_sharp[MODEL_ELEM_COUNT]; /* steepness of the loss of that gain around
                                              * elem_cache_bytes (1 = gradual, higher = a
                                              * sharper capacity edge) */
  double elem_row_wave[MODEL_ELEM_COUNT];    /* fraction of the transfer time that runs in whole
                                              * waves of elem_wave_rows token rows per SM (0 = none) */
  double elem_row_s[MODEL_ELEM_COUNT];       /* time per token row, amortised over the SMs: a
                                              * block's fixed work (reductions, index and cos/sin
                                              * setup) that does not scale with the row's bytes */
  double elem_wave_rows[MODEL_ELEM_COUNT];   /* token rows (thread blocks) one SM holds at once:
                                              * 2048 threads / the kernel's block size; not fitted */
  double elem_blk_bw[MODEL_ELEM_COUNT];      /* bytes/s one thread block streams through its row
                                              * (a latency-bound loop of dependent loads and a
                                              * reduction): a wave lasts at least its row's bytes
                                              * at this rate (0 = no such limit) */
  double rope_sector_w;     /* RoPE: share of its transfer time that follows the 32-byte sectors its
                             * warps request rather than the bytes they use (a head size whose
                             * halves are not 64-byte aligned, phi-2's 80, requests 1.4x; 0 =
                             * bytes only) */
  /* collectives, NCCL-style */
  double comm_bw_frac[MODEL_HOP_COUNT]; /* intra: ring bus bandwidth / GPU link bandwidth; inter: NIC bytes/s per GPU */
  double comm_proto_frac[MODEL_PROTO_COUNT]; /* bandwidth fraction of each protocol (Simple = 1) */
  double comm_base_lat_s[MODEL_PROTO_COUNT]; /* per collective */
  double comm_hop_lat_s[MODEL_HOP_COUNT];    /* per step (x protocol factor below) */
  double comm_proto_lat[MODEL_PROTO_COUNT];  /* per-step latency multiplier of each protocol */
  double comm_p2p_frac;     /* intra-node send/recv bandwidth / link bandwidth */
  double comm_nvls_frac;    /* NVLS (NVSwitch reduction) all-reduce bus bandwidth / link; 0 = none */
  double comm_nvls_lat_s;
  double comm_node_bw;      /* inter-node bytes/s all NICs of one node carry together, per direction */
  double comm_a2a_lat_s;    /* fixed cost of a grouped all-to-all (n-1 sends and receives), s */
  double comm_p2p_lat_s;    /* send/recv's fixed latency, s; 0 = the collectives' comm_base_lat_s */
  double comm_tree_frac;    /* tree all-reduce bus bandwidth across nodes / the ring's */
  double comm_duplex_frac;  /* per-GPU NIC rate while it sends and receives at once / one-way rate */
  double comm_a2a_frac;     /* intra-node all-to-all per-GPU rate / the one-way point-to-point rate */
  double comm_ll_bw_inter;  /* LL protocol's bus bandwidth cap when a collective crosses nodes, bytes/s */
  /* CPU side, per iteration */
  double cpu_base_s;
  double cpu_per_seq_s;
  double cpu_tp_s;          /* extra per iteration with tensor parallelism (driving the workers) */
  double cpu_per_seq_vocab_s; /* sampling: per sequence per vocabulary entry */
  int    kv_dtype_bytes;    /* bytes per cached K/V element (2 = bf16/fp16, 1 = fp8); not fitted */
} ModelCostParams;

/* Defaults (generic, A100-like efficiencies) documented in docs/cost-model.md. */
void model_cost_params_default (ModelCostParams *p);

/* One parameter of ModelCostParams, as it appears in profile JSON. */
typedef struct {
  const char *name;    /* "gemm_eff", "elem_floor_s.norm" */
  gsize       offset;  /* of the double inside ModelCostParams */
  double      lo, hi;  /* valid range (inclusive) */
  const char *help;
  /* Where a fit starts when the default is 0 (the term off): on a log-scale
   * search 0 is a point it cannot leave. 0 = start from the default. */
  double      start;
} ModelParamInfo;

/* The table of every fitted parameter; *n gets its length. Static, never NULL. */
const ModelParamInfo *model_params_info (gsize *n);
/* Pointer to parameter `i` of the table inside p. */
double *model_param_ptr (ModelCostParams *p, const ModelParamInfo *info);
const char *model_elem_name (ModelElemClass c);

#endif
