/* tests/models/test_cost.c — cost model v2: hand-computed FLOPs and bytes of a
 * tiny model, hand-computed times (tiles and waves, FlashAttention tiles,
 * decode waves, NCCL all-reduce) with controlled parameters, tensor
 * parallelism, the memory plan, and a loose comparison with measured Vidur
 * operator times when the shared data exists (the strict accuracy gate is
 * tests/models/test_calibrate.c).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tests/testutil.h"
#include "models/catalog.h"
#include "models/cost.h"
#include "models/comm.h"

/* h=64, 4 heads of 16, 2 KV heads, gated ffn 128, vocab 100, 2 layers, bf16 */
static ModelLlm tiny = {
  .id = "tiny", .name = "test/tiny", .num_layers = 2, .hidden = 64, .num_heads = 4,
  .num_kv_heads = 2, .head_dim = 16, .ffn = 128, .vocab = 100, .gated_mlp = TRUE,
  .num_experts = 0, .top_k = 0, .norm = "rmsnorm", .activation = "silu",
  .weight_dtype = "bf16", .bytes_per_param = 2, .max_context = 512,
  .tied_embeddings = FALSE, .parallel_attn_mlp = FALSE, .source = "test",
};

/* round numbers: 1 TFLOP/s, 1 GB/s memory, 10 GB/s NVLink */
static ModelGpu toy = {
  .id = "toy", .name = "toy", .flops_bf16 = 1e12, .flops_fp8 = 0, .mem_bytes = 1e9,
  .mem_bw = 1e9, .nvlink_bw = 10e9, .pcie_bw = 1e9, .tdp_w = 100, .price_per_hour = 1,
  .num_sms = 1, .vendor = "nvidia", .source = "test",
};

#define EQ(a, b) CU_ASSERT_DOUBLE_EQUAL ((a), (b), 1e-9 * fabs ((double) (b)) + 1e-12)

/* the smooth maximum of models/cost.c, written out */
static double
smax (double a, double b, double p)
{
  double m = fmax (a, b);
  return m * pow (pow (a / m, p) + pow (b / m, p), 1 / p);
}

static ModelCatalog *
catalog (void)
{
  ModelCatalog *cat = model_catalog_new ();
  GError *e = NULL;
  gboolean ok = model_catalog_load_default (cat, &e);
  if (!ok)
    fprintf (stderr, "%s\n", e->message);
  CU_ASSERT_TRUE_FATAL (ok);
  return cat;
}

static void
test_gemm_formulas (void)
{
  EQ (model_gemm_flops (8, 128, 64), 131072);
  EQ (model_gemm_bytes (8, 128, 64, 2), (8 * 64 + 64 * 128 + 8 * 128) * 2);
  for (int i = 0; i < MODEL_OP_COUNT; i++)
    CU_ASSERT_PTR_NOT_NULL (model_op_name (i));
  CU_ASSERT_STRING_EQUAL (model_op_name (MODEL_OP_ATTN_DECODE), "attn_decode");
}

static void
test_tiny_prefill (void)
{
  ModelCost c;
  model_cost_init (&c, &tiny, &toy, 1);
  ModelSeqWork w = { .q = 8, .ctx = 0 };
  ModelIterCost it;
  model_cost_iteration (&c, &w, 1, &it);
  const ModelOpCost *op = it.op;
  CU_ASSERT_EQUAL (it.tokens, 8);
  /* embed: read 8 rows of 64 bf16 weights, write 8x64 activations */
  EQ (op[MODEL_OP_EMBED].bytes, 8 * 64 * (2 + 2));
  EQ (op[MODEL_OP_EMBED].count, 1);
  /* 2 RMSNorms per layer: 4 FLOPs/element; read+write [8,64], read 64 weights */
  EQ (op[MODEL_OP_NORM].count, 4);
  EQ (op[MODEL_OP_NORM].flops, 4 * (4.0 * 8 * 64));
  EQ (op[MODEL_OP_NORM].bytes, 4 * (2.0 * 8 * 64 * 2 + 64 * 2));
  /* QKV [8,64]x[64,(4+2*2)*16=128] */
  EQ (op[MODEL_OP_QKV].flops, 2 * (2.0 * 8 * 128 * 64));
  EQ (op[MODEL_OP_QKV].bytes, 2 * ((8.0 * 64 + 64 * 128 + 8 * 128) * 2));
  /* RoPE on Q and K: 8 x (4+2) x 16 = 768 elements, 3 FLOPs each, read+write */
  EQ (op[MODEL_OP_ROPE].flops, 2 * (3.0 * 768));
  EQ (op[MODEL_OP_ROPE].bytes, 2 * (2.0 * 768 * 2));
  /* KV write: 8 tokens x K,V x 2 heads x 16, read bf16 + write bf16 */
  EQ (op[MODEL_OP_KV_WRITE].bytes, 2 * (8.0 * 2 * 2 * 16 * (2 + 2)));
  /* causal attention: 4 q (ctx + (q+1)/2) d nh = 4*8*4.5*16*4 = 9216 per layer;
   * bytes: Q and O (2 x 8 x 64 x 2) + K,V of 8 tokens (8 x 2 x 2 x 16 x 2) */
  EQ (op[MODEL_OP_ATTN_PREFILL].flops, 2 * 9216.0);
  EQ (op[MODEL_OP_ATTN_PREFILL].bytes, 2 * (2048.0 + 1024.0));
  EQ (op[MODEL_OP_ATTN_PREFILL].count, 2);
  EQ (op[MODEL_OP_ATTN_DECODE].count, 0);
  /* out projection [8,64]x[64,64] */
  EQ (op[MODEL_OP_ATTN_OUT].flops, 2 * 65536.0);
  EQ (op[MODEL_OP_ATTN_OUT].bytes, 2 * 10240.0);
  /* up+gate [8,64]x[64,256]; SiLU-and-mul over [8,128]: 5 FLOPs, 3 accesses; down [8,128]x[128,64] */
  EQ (op[MODEL_OP_MLP_UP].flops, 2 * 262144.0);
  EQ (op[MODEL_OP_MLP_UP].bytes, 2 * ((512.0 + 16384 + 2048) * 2));
  EQ (op[MODEL_OP_ACT].flops, 2 * 5.0 * 1024);
  EQ (op[MODEL_OP_ACT].bytes, 2 * 3.0 * 1024 * 2);
  EQ (op[MODEL_OP_MLP_DOWN].flops, 2 * 131072.0);
  EQ (op[MODEL_OP_MLP_DOWN].bytes, 2 * 19456.0);
  /* 2 residual adds per layer: 1 FLOP, 3 accesses per element */
  EQ (op[MODEL_OP_ADD].count, 4);
  EQ (op[MODEL_OP_ADD].flops, 4 * 512.0);
  EQ (op[MODEL_OP_ADD].bytes, 4 * 3072.0);
  /* final norm of all 8 rows; one sequence emits logits: LM head [1,64]x[64,100] */
  EQ (op[MODEL_OP_FINAL_NORM].flops, 4.0 * 8 * 64);   /* every token's row */
  EQ (op[MODEL_OP_FINAL_NORM].bytes, 2.0 * 8 * 64 * 2 + 64 * 2);
  EQ (op[MODEL_OP_LM_HEAD].flops, 12800.0);
  EQ (op[MODEL_OP_LM_HEAD].bytes, (64.0 + 6400 + 100) * 2);
  EQ (op[MODEL_OP_ALLREDUCE].count, 0);

  /* times with the default profile. QKV [8,64]x[64,128] on the toy GPU's
   * single SM: the cheapest tile is 64x128 (one tile, one wave, one small-tile
   * factor 1.15: 2 x 64 x 128 x 64 FLOPs at 1e12 x 0.8), ahead of 128x128
   * (twice the FLOPs) and 64x64 (two waves, 1.15^2); memory 19456 B / (1e9 x
   * 0.8); smooth max of the two, plus the 5 us floor. */
  ModelCostParams d;
  model_cost_params_default (&d);
  double tc = 2 * 64.0 * 128 * 64 * 1.15 / 0.8e12;
  EQ (op[MODEL_OP_QKV].time_s, 2 * (d.gemm_floor_s + smax (tc, 19456.0 / 0.8e9, d.gemm_sharp)));
  /* norm: smooth max of the floor and bytes / (bw x eff), per kernel */
  EQ (op[MODEL_OP_NORM].time_s,
      4 * smax (d.elem_floor_s[MODEL_ELEM_NORM], 2176.0 / (1e9 * d.elem_bw_eff[MODEL_ELEM_NORM]),
                d.elem_sharp[MODEL_ELEM_NORM]));
  double sum = 0;
  for (int i = 0; i < MODEL_OP_COUNT; i++)
    sum += op[i].time_s;
  EQ (it.gpu_s, sum);
  EQ (it.cpu_s, c.params.cpu_base_s + c.params.cpu_per_seq_s);
  EQ (it.total_s, it.gpu_s + it.cpu_s);
  CU_ASSERT_EQUAL (model_iter_ns (&it), llround (it.total_s * 1e9));

  /* compute bound (memory 1e9 times faster), efficiency 1, no floors, no
   * small-tile penalty: QKV = one 64x128 tile over k = 64; prefill
   * attention = one 64-query tile per head (4 heads, 4 waves on 1 SM) over
   * 8 keys at causal cost 1: 4 x 4 d x 64 x 8 FLOPs, d = 32: FlashAttention
   * runs head size 16 as its 32 kernel */
  ModelGpu fast_mem = toy;
  fast_mem.mem_bw = 1e18;
  model_cost_init (&c, &tiny, &fast_mem, 1);
  ModelCostParams p = c.params;
  p.gemm_eff = 1;
  p.gemm_floor_s = 0;
  p.gemm_small_tile = 1;
  p.attn_eff = 1;
  p.attn_floor_s = 0;
  p.attn_per_tile_s = 0;
  p.attn_causal = 1;
  model_cost_set_params (&c, &p, TRUE);
  model_cost_iteration (&c, &w, 1, &it);
  EQ (it.op[MODEL_OP_QKV].time_s, 2 * 2 * 64.0 * 128 * 64 / 1e12);
  EQ (it.op[MODEL_OP_ATTN_PREFILL].time_s, 2 * 4 * 4 * 32.0 * 64 * 8 / 1e12);
  /* the table and the direct computation agree */
  model_cost_set_params (&c, &p, FALSE);
  ModelIterCost it2;
  model_cost_iteration (&c, &w, 1, &it2);
  EQ (it2.op[MODEL_OP_QKV].time_s, it.op[MODEL_OP_QKV].time_s);
  EQ (it2.total_s, it.total_s);
  /* a chunk over cached context: the 4 query tiles of a 200-token chunk over
   * 1000 cached keys see 1000 + 64, + 128, + 192 and + 200 keys (causal cost 1) */
  ModelSeqWork chunk = { 200, 1000 };
  EQ (model_cost_attn_time (&c, &chunk, 1, FALSE),
      4 * 4 * 32.0 * 64 * (1064 + 1128 + 1192 + 1200) / 1e12);
  EQ (model_cost_attn_time (&c, &chunk, 1, TRUE), 0);

  /* the default tiles (64) quantise: a 1-row GEMM costs a 64-row tile */
  EQ (model_time_gemm (&p, &fast_mem, 1, 128, 64, 2), model_time_gemm (&p, &fast_mem, 64, 128, 64, 2));
  /* a CPU-like profile: tiles of one row/column and one query, so a GEMM
   * costs its FLOPs (1 row: 2 x 128 x 64) and prefill attention its counted
   * FLOPs (the 200-token chunk: 4 d nh (q ctx + q (q+1)/2)) */
  p.gemm_tile_min = 1;
  p.attn_tile_q = 1;
  model_cost_set_params (&c, &p, TRUE);
  EQ (model_time_gemm (&p, &fast_mem, 1, 128, 64, 2), 2 * 128.0 * 64 / 1e12);
  EQ (model_time_gemm (&p, &fast_mem, 3, 100, 64, 2), 2 * 3 * 100.0 * 64 / 1e12);
  EQ (model_cost_attn_time (&c, &chunk, 1, FALSE),
      4 * 16.0 * 4 * (200.0 * 1000 + 200.0 * 201 / 2) / 1e12);
  model_cost_iteration (&c, &w, 1, &it);
  EQ (it.op[MODEL_OP_QKV].time_s, 2 * 2 * 8.0 * 128 * 64 / 1e12);
  EQ (it.op[MODEL_OP_ATTN_PREFILL].time_s, it.op[MODEL_OP_ATTN_PREFILL].flops / 1e12);
}

/* Hopper's large tiles (gemm_tile_max 256): 128x256 along the larger output
 * dimension, taken whenever their grid fills the SMs, even where smaller
 * tiles would balance better; smaller grids keep the four small shapes. On 4
 * SMs of 1 TFLOP/s each, whole waves, no small-tile penalty, free memory: */
static void
test_gemm_big_tile (void)
{
  ModelGpu g = toy;
  g.num_sms = 4;
  g.flops_bf16 = 4e12;
  g.mem_bw = 1e18;
  ModelCostParams p;
  model_cost_params_default (&p);
  p.gemm_eff = 1;
  p.gemm_floor_s = 0;
  p.gemm_sharp = 20;
  p.gemm_wave = 1;
  p.gemm_small_tile = 1;
  CU_ASSERT_DOUBLE_EQUAL (p.gemm_tile_max, 128, 0);   /* off by default (Ampere) */
  /* 1280 x 128 x 64 without large tiles: 40 tiles of 64x64 in 10 whole waves
   * beat 10 of 128x128 in 3 waves (3 x 2 x 128^2 x 64 = 6.29 us) */
  const double small = 10 * 2 * 64.0 * 64 * 64 / 1e12;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 1280, 128, 64, 2), small, small * 1e-3);
  /* with them: 5 tiles of 256x128 fill the 4 SMs, 2 whole waves, 8.39 us */
  p.gemm_tile_max = 256;
  const double big = 2 * 2 * 256.0 * 128 * 64 / 1e12;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 1280, 128, 64, 2), big, big * 1e-9);
  /* the long side follows the larger dimension: 128 x 1280 the same */
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 128, 1280, 64, 2), big, big * 1e-9);
  /* 768 rows: 3 large tiles leave an SM idle, so the small shapes as before */
  double t768 = model_time_gemm (&p, &g, 768, 128, 64, 2);
  p.gemm_tile_max = 128;
  CU_ASSERT_DOUBLE_EQUAL (t768, model_time_gemm (&p, &g, 768, 128, 64, 2), 1e-15);

  /* the power limiter's clock drop (0 by default): compute time tc becomes
   * tc (1 + drop tc / (tc + tau)); with tau = tc half the drop, with tau
   * much shorter nearly all of it, much longer nearly none */
  CU_ASSERT_DOUBLE_EQUAL (p.gemm_clock_drop, 0, 0);
  p.gemm_clock_drop = 0.2;
  p.gemm_clock_tau_s = small;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 1280, 128, 64, 2), small * 1.1, small * 1e-3);
  p.gemm_clock_tau_s = small / 1e6;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 1280, 128, 64, 2), small * 1.2, small * 1e-3);
  p.gemm_clock_tau_s = small * 1e6;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 1280, 128, 64, 2), small, small * 1e-3);

  /* a tile's fixed work in K-steps (gemm_k0, 0 by default): every tile
   * costs as if K were K + gemm_k0, so a short K pays relatively more; the
   * tile choice is the same here (40 tiles of 64x64, 10 waves) */
  p.gemm_clock_drop = 0;
  CU_ASSERT_DOUBLE_EQUAL (p.gemm_k0, 0, 0);
  p.gemm_k0 = 32;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 1280, 128, 64, 2), small * (64 + 32) / 64,
                          small * 1e-3);
  const double k1024 = 10 * 2 * 64.0 * 64 * (1024 + 32) / 1e12;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 1280, 128, 1024, 2), k1024, k1024 * 1e-3);
}

/* The terms of newer measurements: tiles that fit the token count
 * (gemm_tile_fit), a working set read from L2 by the measurement's repeated
 * calls (gemm_cache_gain, used by the calibrator, never by the simulator),
 * and the bandwidth one tile can draw (gemm_cta_bw). */
static void
test_gemm_fit_cache_cta (void)
{
  ModelGpu g = toy;
  g.num_sms = 4;
  g.flops_bf16 = 4e12;       /* 1 TFLOP/s per SM */
  g.mem_bw = 1e18;           /* memory free, for the tile checks */
  ModelCostParams p;
  model_cost_params_default (&p);
  p.gemm_eff = 1;
  p.gemm_floor_s = 0;
  p.gemm_sharp = 30;
  p.gemm_wave = 1;
  p.gemm_small_tile = 1;
  p.gemm_split_k = 1e9;      /* no split-K */
  /* 8 x 128 x 64 on 4 SMs: the cheapest fixed shape is two 64x64 tiles
   * side by side (one wave), each computing 64 rows; with fitted tiles two
   * 8x64 tiles compute 8 rows */
  const double fixed = 2 * 64.0 * 64 * 64 / 1e12, fitted = 2 * 8.0 * 64 * 64 / 1e12;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 8, 128, 64, 2), fixed, fixed * 1e-6);
  p.gemm_tile_fit = 8;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 8, 128, 64, 2), fitted, fitted * 1e-6);
  /* 12 rows round up to 16 */
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 12, 128, 64, 2), 2 * fitted, fitted * 1e-6);
  p.gemm_tile_fit = 0;

  /* memory-bound: 1 GB/s, compute free */
  g.mem_bw = 1e9;
  g.flops_bf16 = 4e18;
  p.gemm_mem_eff = 1;
  const double m = 8, n = 4096, k = 4096;
  const double cold = model_gemm_bytes (m, n, k, 2) / 1e9;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, m, n, k, 2), cold, cold * 1e-6);
  /* warm: a working set far below gemm_cache_bytes runs gemm_cache_gain
   * faster, one far above it at the memory's rate; half the gain is gone at
   * gemm_cache_bytes */
  p.gemm_cache_gain = 2;
  p.gemm_cache_sharp = 4;
  p.gemm_cache_bytes = 1e12;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, m, n, k, 2), cold / 2, cold * 1e-6);
  p.gemm_cache_bytes = 1e3;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, m, n, k, 2), cold, cold * 1e-6);
  p.gemm_cache_bytes = model_gemm_bytes (m, n, k, 2);
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, m, n, k, 2), cold * 0.75, cold * 1e-6);
  /* the simulator's ModelCost runs GEMMs cold whatever the profile says */
  ModelCost c;
  model_cost_init (&c, &tiny, &g, 1);
  model_cost_set_params (&c, &p, TRUE);
  CU_ASSERT_DOUBLE_EQUAL (c.params.gemm_cache_gain, 1, 0);
  CU_ASSERT_DOUBLE_EQUAL (c.params.gemm_cache_bytes, p.gemm_cache_bytes, 0);
  p.gemm_cache_gain = 1;

  /* per-tile bandwidth: 8 x 128 x 4096 is at most 2 tiles (64x64) on 4
   * SMs; each draws at most gemm_cta_bw, so the bytes take their time at
   * 2 x cta_bw ... */
  const double b2 = model_gemm_bytes (8, 128, 4096, 2);
  const double free_bw = model_time_gemm (&p, &g, 8, 128, 4096, 2);
  CU_ASSERT_DOUBLE_EQUAL (free_bw, b2 / 1e9, b2 / 1e9 * 1e-6);
  p.gemm_cta_bw = 0.1e9;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 8, 128, 4096, 2), b2 / 0.2e9, b2 / 0.2e9 * 1e-6);
  /* ... unless split-K spreads the grid over all 4 SMs (the fp32 partials,
   * 2 slices x 8 x 128 x 8 bytes, cost little here) */
  p.gemm_split_k = 64;
  double split = model_time_gemm (&p, &g, 8, 128, 4096, 2);
  CU_ASSERT_TRUE (split < b2 / 0.2e9 * 0.6);
  CU_ASSERT_TRUE (split >= b2 / 0.4e9);
  /* a cap the whole grid exceeds changes nothing */
  p.gemm_cta_bw = 1e12;
  CU_ASSERT_DOUBLE_EQUAL (model_time_gemm (&p, &g, 8, 128, 4096, 2), free_bw, free_bw * 1e-9);
}

/* How prefill splits the keys of a small grid over the SMs: the legacy rule
 * (units below the SM count, blocks of >= 256 keys) against
 * FlashAttention-2's num_splits (attn_split_sms 1 or 2). The tiny model (4
 * heads of 16) on 10 SMs of 1 TFLOP/s, memory and floors free: a 64-token
 * chunk over 1,024 cached keys is one 64-query tile per head, 4 units, each
 * 4 x 16 x 64 x 1,088 FLOPs. */
/* FlashAttention-2 runs a head size as its next compiled one (32, 64, ...,
 * 192, then 256): head size 80 (phi-2) costs what 96 costs, in prefill and
 * decode, while the counted FLOPs and bytes stay 80's; 128 and 256 run as
 * themselves; a CPU-like profile (one query per tile) runs the real size. */
static void
test_fa_head_size (void)
{
  ModelLlm m80 = tiny, m96 = tiny, m200 = tiny, m256 = tiny;
  m80.head_dim = 80;
  m96.head_dim = 96;
  m200.head_dim = 200;
  m256.head_dim = 256;
  /* compute-bound prefill: its bytes are the real head size's */
  ModelGpu g = toy;
  g.num_sms = 4;
  g.mem_bw = 1e18;
  ModelCost c80, c96, c200, c256;
  model_cost_init (&c80, &m80, &g, 1);
  model_cost_init (&c96, &m96, &g, 1);
  model_cost_init (&c200, &m200, &g, 1);
  model_cost_init (&c256, &m256, &g, 1);
  ModelSeqWork pre = { 300, 700 }, dec[2] = { { 1, 500 }, { 1, 900 } };
  EQ (model_cost_attn_time (&c80, &pre, 1, FALSE), model_cost_attn_time (&c96, &pre, 1, FALSE));
  EQ (model_cost_attn_time (&c80, dec, 2, TRUE), model_cost_attn_time (&c96, dec, 2, TRUE));
  EQ (model_cost_attn_time (&c200, &pre, 1, FALSE), model_cost_attn_time (&c256, &pre, 1, FALSE));
  EQ (model_cost_attn_time (&c200, dec, 2, TRUE), model_cost_attn_time (&c256, dec, 2, TRUE));
  ModelIterCost i80, i96;
  model_cost_iteration (&c80, &pre, 1, &i80);
  model_cost_iteration (&c96, &pre, 1, &i96);
  EQ (i80.op[MODEL_OP_ATTN_PREFILL].flops * 96, i96.op[MODEL_OP_ATTN_PREFILL].flops * 80);
  /* 96 is dearer than 64 (no rounding down) */
  ModelLlm m64 = tiny;
  m64.head_dim = 64;
  ModelCost c64;
  model_cost_init (&c64, &m64, &g, 1);
  CU_ASSERT_TRUE (model_cost_attn_time (&c64, &pre, 1, FALSE) < model_cost_attn_time (&c96, &pre, 1, FALSE));
  /* one query per tile: compute bound, no floors, the real head size */
  ModelCostParams p = c80.params;
  p.attn_tile_q = 1;
  p.attn_eff = 1;
  p.attn_floor_s = 0;
  p.attn_per_tile_s = 0;
  p.attn_causal = 1;
  model_cost_set_params (&c80, &p, FALSE);
  model_cost_set_params (&c96, &p, FALSE);
  double t80 = model_cost_attn_time (&c80, &pre, 1, FALSE);
  double t96 = model_cost_attn_time (&c96, &pre, 1, FALSE);
  CU_ASSERT_DOUBLE_EQUAL (t80 / t96, 80.0 / 96, 1e-3);
}

/* A plain reference for the scheduled prefill: the thread blocks of one
 * chunk (q queries over ctx cached keys) in FlashAttention-2's launch order,
 * then a step-by-step schedule on S SMs holding two each (a pair runs at g/2
 * per block). Slow and simple, unlike models/cost.c's heap. */
static double
ref_sched (const double *w, int n, int S, double g)
{
  double rem[64][2];
  int cnt[64] = { 0 }, k = 0;
  for (; k < n && k < 2 * S; k++)
    rem[k % S][cnt[k % S]++] = w[k];
  double t = 0;
  for (;;) {
    double dt = INFINITY;
    for (int i = 0; i < S; i++)
      for (int j = 0; j < cnt[i]; j++)
        dt = fmin (dt, rem[i][j] / (cnt[i] == 2 ? g / 2 : 1));
    if (!isfinite (dt))
      return t;
    t += dt;
    for (int i = 0; i < S; i++) {
      int c0 = cnt[i];
      double r = c0 == 2 ? g / 2 : 1;
      int keep = 0;
      for (int j = 0; j < c0; j++)
        if (rem[i][j] - dt * r > 1e-9 * t)   /* rounding residues are done */
          rem[i][keep++] = rem[i][j] - dt * r;
      cnt[i] = keep;
      while (cnt[i] < 2 && cnt[i] < c0 && k < n)
        rem[i][cnt[i]++] = w[k++];
    }
  }
}

/* Blocks of one chunk in launch order: m fastest, then the split, then the
 * head; keys of tile m: ctx + min(q, rows (m + 1)), split s covers keys
 * [s per, (s + 1) per) */
static int
ref_blocks (double *w, double q, double ctx, int heads, double rows, int splits, double per,
            double causal, double w_key, double tile_s)
{
  int n = 0, nt = (int) ceil (q / rows);
  for (int h = 0; h < heads; h++)
    for (int s = 0; s < splits; s++)
      for (int m = 0; m < nt; m++) {
        double chunk = fmin (q, rows * (m + 1));
        double lo = splits > 1 ? s * per : 0, hi = splits > 1 ? lo + per : INFINITY;
        double kc = fmax (0, fmin (hi, ctx) - lo), kq = fmax (0, fmin (hi, ctx + chunk) - fmax (lo, ctx));
        if (kc + kq > 0)
          w[n++] = (kc + causal * kq) * w_key + tile_s;
      }
  return n;
}

/* Scheduled prefill (attn_pair_gain > 0): FlashAttention-2's thread blocks
 * in launch order on two slots per SM, against the reference above and by
 * hand; the forward kernel's 128-row tiles over a contiguous cache when
 * unsplit, the split-KV kernel's 64-row tiles and the combine otherwise. */
static void
test_prefill_scheduled (void)
{
  ModelGpu g = toy;
  g.num_sms = 8;
  g.mem_bw = 1e18;
  ModelCost c;
  model_cost_init (&c, &tiny, &g, 1);
  ModelCostParams p = c.params;
  p.attn_eff = 1;
  p.attn_floor_s = 0;
  p.attn_per_tile_s = 1e-6;
  p.attn_causal = 0.9;
  p.attn_split_sms = 2;
  p.attn_pair_gain = 1.5;
  p.attn_combine_s = 2e-6;
  p.gemm_sharp = 40;
  model_cost_set_params (&c, &p, FALSE);
  c.dec_contig = TRUE;
  const double rate = 1e12 / 8;   /* one SM's share, attn_eff 1 */
  /* 256 queries, 4 heads: 16 units of 64 rows fill 0.8 x 2 x 8, unsplit:
   * the forward kernel, 2 tiles of 128 x 4 heads = 8 blocks, one per SM;
   * the longest sees 256 chunk keys (head size 16 runs as 32) */
  ModelSeqWork one = { 256, 0 };
  double w_key = 4 * 32.0 * 128 / rate;
  EQ (model_cost_attn_time (&c, &one, 1, FALSE), 0.9 * 256 * w_key + 1e-6);
  /* on 4 SMs two equal blocks share each SM: the two longest take 2 w / g */
  g.num_sms = 4;
  model_cost_set_params (&c, &p, FALSE);
  c.dec_contig = TRUE;
  EQ (model_cost_attn_time (&c, &one, 1, FALSE), 2 * (0.9 * 256 * 4 * 32.0 * 128 / (1e12 / 4) + 1e-6) / 1.5);
  /* against the reference: chunks over cached keys, 1 to 4 SMs, the
   * forward kernel (contiguous) and the split-KV kernel (paged). One head,
   * so that no two blocks tie (ties go to the lower SM, and which of two
   * SMs finishing together is first is a matter of rounding) */
  ModelLlm one_head = tiny;
  one_head.num_heads = 1;
  one_head.num_kv_heads = 1;
  one_head.hidden = 16;
  ModelCost c1;
  model_cost_init (&c1, &one_head, &g, 1);
  double w[4096];
  const struct { gint64 q, ctx; } cases[] = { { 448, 0 }, { 500, 700 }, { 1000, 64 }, { 2000, 5000 },
                                              { 640, 2048 } };
  for (int sms = 1; sms <= 4; sms++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      for (int contig = 0; contig <= 1; contig++) {
        g.num_sms = sms;
        model_cost_set_params (&c1, &p, FALSE);
        c1.dec_contig = contig;
        ModelSeqWork sq = { cases[i].q, cases[i].ctx };
        /* every case has 7 or more 64-row units, at least 0.8 x 2 x sms: unsplit */
        double r = 1e12 / sms, rows = contig ? 128 : 64;
        int n = ref_blocks (w, (double) cases[i].q, (double) cases[i].ctx, 1, rows, 1, 0, 0.9,
                            4 * 32.0 * rows / r, 1e-6);
        double want = ref_sched (w, n, sms, 1.5);
        CU_ASSERT_DOUBLE_EQUAL (model_cost_attn_time (&c1, &sq, 1, FALSE), want, want * 1e-9);
      }
  /* split: 64 queries over 4,000 cached keys on 8 SMs: 4 units of 64 rows
   * (4 heads) are under 0.8 x 16; FlashAttention-2's heuristic over 16 key
   * blocks of 256 (head size 32) picks 4 splits of 4 blocks (the fewest
   * within 85% of the best efficiency: 4 x 4 / 16 = 1): 16 blocks, then the
   * combine. The heads tie, but 16 blocks on 16 slots start together */
  g.num_sms = 8;
  model_cost_set_params (&c, &p, FALSE);
  c.dec_contig = TRUE;
  ModelSeqWork sp = { 64, 4000 };
  int n = ref_blocks (w, 64, 4000, 4, 64, 4, 4 * 256, 0.9, 4 * 32.0 * 64 / rate, 1e-6);
  CU_ASSERT_EQUAL (n, 16);
  EQ (model_cost_attn_time (&c, &sp, 1, FALSE), ref_sched (w, n, 8, 1.5) + 2e-6);
  /* attn_pair_gain 0: the closed form, as before */
  ModelCostParams q0 = p;
  q0.attn_pair_gain = 0;
  model_cost_set_params (&c, &q0, FALSE);
  double closed = model_cost_attn_time (&c, &one, 1, FALSE);
  model_cost_set_params (&c, &p, FALSE);
  CU_ASSERT_NOT_EQUAL (closed, model_cost_attn_time (&c, &one, 1, FALSE));
  /* more chunks than the schedule keeps: the closed form (the same time
   * with the gain on and off) */
  ModelSeqWork many[20];
  for (int i = 0; i < 20; i++)
    many[i] = (ModelSeqWork) { 32, 100 * i };
  double on = model_cost_attn_time (&c, many, 20, FALSE);
  model_cost_set_params (&c, &q0, FALSE);
  EQ (on, model_cost_attn_time (&c, many, 20, FALSE));
  /* two chunks in one launch: tiles beyond a chunk's own exit at once, so
   * two equal chunks cost what one chunk with twice the heads does */
  model_cost_set_params (&c, &p, FALSE);
  ModelSeqWork two[2] = { { 256, 0 }, { 256, 0 } };
  ModelLlm wide = tiny;
  wide.num_heads = 8;
  wide.num_kv_heads = 4;
  wide.hidden = 128;
  ModelCost cw;
  model_cost_init (&cw, &wide, &g, 1);
  model_cost_set_params (&cw, &p, FALSE);
  cw.dec_contig = c.dec_contig;
  EQ (model_cost_attn_time (&c, two, 2, FALSE), model_cost_attn_time (&cw, &one, 1, FALSE));
}

static void
test_prefill_split (void)
{
  ModelGpu g = toy;
  g.num_sms = 10;
  g.flops_bf16 = 10e12;
  g.mem_bw = 1e18;
  ModelCostParams p;
  model_cost_params_default (&p);
  p.attn_eff = 1;
  p.attn_floor_s = 0;
  p.attn_per_tile_s = 0;
  p.attn_causal = 1;
  p.gemm_sharp = 40;
  ModelCost c;
  model_cost_init (&c, &tiny, &g, 1);
  ModelSeqWork chunk = { 64, 1024 };
  const double unit = 4 * 32.0 * 64 * 1088, rate = 1e12;   /* head size 16 runs as 32 */
  /* legacy: min(floor(10 / 4), ceil(1,088 / 256)) = 2 splits: a unit's half */
  CU_ASSERT_DOUBLE_EQUAL (p.attn_split_sms, 0, 0);
  model_cost_set_params (&c, &p, FALSE);
  double legacy = model_cost_attn_time (&c, &chunk, 1, FALSE);
  CU_ASSERT_DOUBLE_EQUAL (legacy, unit / 2 / rate, unit / rate * 1e-6);
  /* FlashAttention-2: 5 key blocks of 256 (head size 16); of the eligible
   * splits 1, 2, 3, 5 only 5 fills the 10 SMs (4 x 5 / 10 = 2 whole waves),
   * so each unit's keys go to 5 blocks and the total work over the SMs
   * (4 units / 10 SMs) binds instead */
  for (int sms = 1; sms <= 2; sms++) {
    p.attn_split_sms = sms;
    model_cost_set_params (&c, &p, FALSE);
    double fa2 = model_cost_attn_time (&c, &chunk, 1, FALSE);
    CU_ASSERT_DOUBLE_EQUAL (fa2, 4 * unit / 10 / rate, unit / rate * 1e-6);
  }
  /* a grid that fills 0.8 x the SMs is never split: 40 units of a
   * 640-token chunk over 4 heads, one unit's work per SM wave */
  ModelSeqWork big = { 640, 1024 };
  p.attn_split_sms = 1;
  model_cost_set_params (&c, &p, FALSE);
  double t1 = model_cost_attn_time (&c, &big, 1, FALSE);
  p.attn_split_sms = 0;
  model_cost_set_params (&c, &p, FALSE);
  CU_ASSERT_DOUBLE_EQUAL (t1, model_cost_attn_time (&c, &big, 1, FALSE), t1 * 1e-12);
}

/* Row waves of the element-wise kernels: waves of num_sms x elem_wave_rows
 * rows; the per-row bytes are rounded up to whole waves by the fraction
 * elem_row_wave, the fixed bytes are not; 0 (the default) changes nothing. */
/* The per-row term elem_row_s adds rows x elem_row_s to the transfer time;
 * norm and activation kernels follow the model (RMSNorm/LayerNorm, gated or
 * plain MLP); the output and down projections run at their own rates. */
static void
test_kernel_variants (void)
{
  ModelCostParams p;
  model_cost_params_default (&p);
  const int C = MODEL_ELEM_ROPE;
  p.elem_floor_s[C] = 0;
  p.elem_cache_gain[C] = 1;
  p.elem_row_wave[C] = 0;
  const double bw = 1e9 * p.elem_bw_eff[C];
  EQ (model_time_elem_rows (&p, &toy, C, 5000, 10, 0), 5000 / bw);
  p.elem_row_s[C] = 2e-9;
  EQ (model_time_elem_rows (&p, &toy, C, 5000, 10, 0), 5000 / bw + 10 * 2e-9);
  EQ (model_time_elem (&p, &toy, C, 5000), 5000 / bw);   /* no rows, no row term */
  /* the cache edge: gain 2 below cb = 1e6 bytes; at cb half of it is left
   * whatever the steepness; at 2 cb, k = 1 leaves (0.5 + 2) / 3 of the HBM
   * time, k = 4 (0.5 + 16) / 17 */
  p.elem_cache_gain[C] = 2;
  p.elem_cache_bytes[C] = 1e6;
  EQ (model_time_elem (&p, &toy, C, 1e6), 0.75 * 1e6 / bw);
  EQ (model_time_elem (&p, &toy, C, 2e6), 2.5 / 3 * 2e6 / bw);
  p.elem_cache_sharp[C] = 4;
  EQ (model_time_elem (&p, &toy, C, 1e6), 0.75 * 1e6 / bw);
  EQ (model_time_elem (&p, &toy, C, 2e6), 16.5 / 17 * 2e6 / bw);
  EQ (model_time_elem (&p, &toy, C, 0.5e6), (0.5 + 1 / 16.0) / (1 + 1 / 16.0) * 0.5e6 / bw);

  /* compute-bound GEMM: twice the rate, half the time (the memory side and
   * the floor do not change) */
  ModelGpu fast = toy;
  fast.mem_bw = 1e15;
  ModelCostParams q;
  model_cost_params_default (&q);
  q.gemm_floor_s = 0;
  q.gemm_sharp = 20;
  double t_in = model_time_gemm_role (&q, &fast, 4096, 4096, 4096, 2, MODEL_GEMM_IN);
  EQ (t_in, model_time_gemm (&q, &fast, 4096, 4096, 4096, 2));
  q.gemm_rate_down = 2;
  q.gemm_rate_out = 0.5;
  EQ (model_time_gemm_role (&q, &fast, 4096, 4096, 4096, 2, MODEL_GEMM_DOWN), t_in / 2);
  EQ (model_time_gemm_role (&q, &fast, 4096, 4096, 4096, 2, MODEL_GEMM_OUT), t_in * 2);
  EQ (model_time_gemm_role (&q, &fast, 4096, 4096, 4096, 2, MODEL_GEMM_IN), t_in);

  /* the iteration picks the classes by model: phi-2 (LayerNorm, plain GELU
   * MLP) reads the layernorm/act_plain parameters, Llama the norm/act ones */
  ModelCatalog *cat = catalog ();
  const ModelGpu *h100 = model_catalog_gpu (cat, "h100-sxm", NULL);
  const ModelLlm *phi = model_catalog_llm (cat, "phi-2", NULL);
  const ModelLlm *llama = model_catalog_llm (cat, "llama-2-7b", NULL);
  CU_ASSERT_TRUE_FATAL (h100 && phi && llama);
  ModelSeqWork w = { 4096, 0 };
  ModelIterCost a, b;
  for (int which = 0; which < 2; which++) {
    const ModelLlm *m = which ? llama : phi;
    ModelCost c;
    model_cost_init (&c, m, h100, 1);
    model_cost_iteration (&c, &w, 1, &a);
    ModelCostParams slow = h100->profile;
    slow.elem_bw_eff[MODEL_ELEM_LAYERNORM] /= 4;
    slow.elem_row_s[MODEL_ELEM_LAYERNORM] *= 4;
    slow.elem_bw_eff[MODEL_ELEM_ACT_PLAIN] /= 4;
    slow.elem_row_s[MODEL_ELEM_ACT_PLAIN] *= 4;
    model_cost_set_params (&c, &slow, TRUE);
    model_cost_iteration (&c, &w, 1, &b);
    if (m == phi) {
      CU_ASSERT_TRUE (b.op[MODEL_OP_NORM].time_s > 2 * a.op[MODEL_OP_NORM].time_s);
      CU_ASSERT_TRUE (b.op[MODEL_OP_ACT].time_s > 2 * a.op[MODEL_OP_ACT].time_s);
    } else {
      EQ (b.op[MODEL_OP_NORM].time_s, a.op[MODEL_OP_NORM].time_s);
      EQ (b.op[MODEL_OP_ACT].time_s, a.op[MODEL_OP_ACT].time_s);
    }
    EQ (b.op[MODEL_OP_ROPE].time_s, a.op[MODEL_OP_ROPE].time_s);
    /* RoPE's sector weight charges phi-2's head size 80 (1.4x the sectors
     * it uses), not Llama's 128: the simulator prices what the fit saw */
    ModelCostParams sect = h100->profile;
    sect.rope_sector_w = 0;
    model_cost_set_params (&c, &sect, TRUE);
    model_cost_iteration (&c, &w, 1, &a);
    sect.rope_sector_w = 1;
    model_cost_set_params (&c, &sect, TRUE);
    model_cost_iteration (&c, &w, 1, &b);
    /* phi-2 rotates 32 of its 80 (vLLM's rotary_dim): the halves are 32
     * bytes at 160-byte head offsets, aligned, so no sector cost either */
    EQ (b.op[MODEL_OP_ROPE].time_s, a.op[MODEL_OP_ROPE].time_s);
    if (m == phi) {
      /* the whole head of 80, as Vidur's profiler rotated it and the fit saw */
      ModelLlm whole = *phi;
      whole.rotary_dim = 0;
      ModelCost cw;
      model_cost_init (&cw, &whole, h100, 1);
      model_cost_set_params (&cw, &sect, TRUE);
      model_cost_iteration (&cw, &w, 1, &b);
      sect.rope_sector_w = 0;
      model_cost_set_params (&cw, &sect, TRUE);
      model_cost_iteration (&cw, &w, 1, &a);
      CU_ASSERT_TRUE (b.op[MODEL_OP_ROPE].time_s > 1.2 * a.op[MODEL_OP_ROPE].time_s);
      EQ (model_rope_sector_ratio_rot (80, 32, 2), 1);
      EQ (model_rope_sector_ratio_rot (80, 80, 2), model_rope_sector_ratio (80, 2));
      CU_ASSERT_TRUE (model_rope_sector_ratio (80, 2) > 1.3);
    }
  }
  model_catalog_free (cat);
}

/* The simulator's shortcuts (tables to 512 tokens, the smooth maximum by
 * Hermite interpolation, the decode terms kept while the batch shape holds)
 * agree with computing everything, over a random walk of mixed batches that
 * grows contexts one token at a time as decoding does. */
static void
test_fast_paths_agree (void)
{
  ModelCatalog *cat = catalog ();
  /* Qwen3-32B: the q/k norm columns; Mistral-7B: a sliding window (contexts
   * here reach 8,600) */
  static const char *const gpus[] = { "h100-sxm", "a100-80gb", "h100-sxm" };
  static const char *const llms[] = { "llama-3.1-8b", "qwen3-32b", "mistral-7b" };
  GRand *r = g_rand_new_with_seed (7);
  double worst = 0;
  for (guint gi = 0; gi < G_N_ELEMENTS (gpus); gi++) {
    const ModelGpu *g = model_catalog_gpu (cat, gpus[gi], NULL);
    const ModelLlm *m = model_catalog_llm (cat, llms[gi], NULL);
    CU_ASSERT_TRUE_FATAL (g && m);
    ModelCost fast, exact;
    model_cost_init (&fast, m, g, 1);
    model_cost_init (&exact, m, g, 1);
    model_cost_set_params (&exact, &g->profile, FALSE);
    ModelSeqWork w[64];
    int n = 8;
    for (int i = 0; i < n; i++)
      w[i] = (ModelSeqWork) { 1, g_rand_int_range (r, 1, 3000) };
    for (int step = 0; step < 600; step++) {
      for (int i = 0; i < n; i++)
        w[i].ctx += 1;
      if (step % 50 == 0) {   /* a prefill chunk joins, or the batch changes size */
        n = g_rand_int_range (r, 1, 64);
        for (int i = 0; i < n; i++)
          w[i] = (ModelSeqWork) { i == 0 && step % 100 == 0 ? g_rand_int_range (r, 2, 2000) : 1,
                                  g_rand_int_range (r, 0, 8000) };
      }
      ModelIterCost a, b;
      model_cost_iteration (&fast, w, (gsize) n, &a);
      model_cost_iteration (&exact, w, (gsize) n, &b);
      worst = fmax (worst, fabs (a.total_s / b.total_s - 1));
      worst = fmax (worst, fabs (a.op[MODEL_OP_ATTN_DECODE].time_s
                                 / fmax (1e-300, b.op[MODEL_OP_ATTN_DECODE].time_s) - 1)
                               * (b.op[MODEL_OP_ATTN_DECODE].time_s > 0));
    }
    /* the memos under pressure, as a world's replicas sharing one ModelCost
     * load them: 2,500 single prompts of 1,500 lengths over 7 cached lengths (a
     * length comes back over another cache), so that sets of
     * the 4-way prefill memo overflow and evict, each followed by decode
     * batches of two interleaved streams of shapes */
    for (int i = 0; i < 2500; i++) {
      ModelSeqWork pq = { 1 + (i * 7919) % 1500, (i % 7) * 512 };
      double x = model_cost_attn_time (&fast, &pq, 1, FALSE);
      double y = model_cost_attn_time (&exact, &pq, 1, FALSE);
      worst = fmax (worst, fabs (x / y - 1));
      for (int i2 = 0; i2 < 2; i2++) {
        int nd = 1 + (i * 31 + i2 * 17) % 96;
        ModelSeqWork dw[96];
        for (int k = 0; k < nd; k++)
          dw[k] = (ModelSeqWork) { 1, 100 + (i * 13 + k * 97 + i2 * 1000) % 6000 };
        x = model_cost_attn_time (&fast, dw, (gsize) nd, TRUE);
        y = model_cost_attn_time (&exact, dw, (gsize) nd, TRUE);
        worst = fmax (worst, fabs (x / y - 1));
      }
    }
  }
  printf ("\n  fast paths vs computed: worst relative difference %.2g\n", worst);
  CU_ASSERT_TRUE (worst < 1e-9);
  g_rand_free (r);
  model_catalog_free (cat);
}

/* Profile defaults for element-wise class C with no floor and no cache gain,
 * on a 4-SM toy GPU: times checkable by hand. */
static void
bare_row_kernel (ModelCostParams *p, ModelGpu *g4, int C)
{
  *g4 = toy;
  g4->num_sms = 4;
  model_cost_params_default (p);
  p->elem_floor_s[C] = 0;
  p->elem_cache_gain[C] = 1;
}

/* The tiny model and a variant of it priced on the toy GPU for the same batch */
static void
iterate_pair (const ModelLlm *variant, const ModelSeqWork *w, gsize n, ModelIterCost *base,
              ModelIterCost *var, ModelCost *vc)
{
  ModelCost a;
  model_cost_init (&a, &tiny, &toy, 1);
  model_cost_init (vc, variant, &toy, 1);
  model_cost_iteration (&a, w, n, base);
  model_cost_iteration (vc, w, n, var);
}

/* Norm kernels a layer: 2 for a sequential block, 1 for phi-2's parallel
 * block, 2 for Falcon-180B's (ln_attn and ln_mlp on the same input) */
static void
test_norms_per_layer (void)
{
  ModelLlm par = tiny;
  par.parallel_attn_mlp = TRUE;
  par.norms_per_layer = 1;
  ModelLlm two = par;
  two.norms_per_layer = 2;
  ModelCost c;
  ModelSeqWork w = { .q = 8, .ctx = 0 };
  ModelIterCost ia, ib, ic;
  iterate_pair (&par, &w, 1, &ia, &ib, &c);
  iterate_pair (&two, &w, 1, &ia, &ic, &c);
  EQ (ia.op[MODEL_OP_NORM].count, 4);
  EQ (ib.op[MODEL_OP_NORM].count, 2);
  EQ (ic.op[MODEL_OP_NORM].count, 4);
  EQ (ic.op[MODEL_OP_NORM].time_s, 2 * ib.op[MODEL_OP_NORM].time_s);
  EQ (ic.op[MODEL_OP_NORM].bytes, ia.op[MODEL_OP_NORM].bytes);
}

/* OPT's learned positions: a second embedding gather and one add, no RoPE */
static void
test_learned_positions (void)
{
  ModelLlm opt = tiny;
  opt.learned_positions = TRUE;
  ModelCost b;
  ModelSeqWork w = { .q = 8, .ctx = 0 };
  ModelIterCost ia, ib;
  iterate_pair (&opt, &w, 1, &ia, &ib, &b);
  EQ (ib.op[MODEL_OP_ROPE].count, 0);
  EQ (ib.op[MODEL_OP_ROPE].time_s, 0);
  EQ (ib.op[MODEL_OP_EMBED].count, 2);
  EQ (ib.op[MODEL_OP_EMBED].bytes, 2 * ia.op[MODEL_OP_EMBED].bytes);
  EQ (ib.op[MODEL_OP_EMBED].time_s, 2 * ia.op[MODEL_OP_EMBED].time_s);
  EQ (ib.op[MODEL_OP_ADD].count, ia.op[MODEL_OP_ADD].count + 1);
  EQ (ib.op[MODEL_OP_ADD].bytes, ia.op[MODEL_OP_ADD].bytes + 3.0 * 8 * 64 * 2);
  EQ (ib.gpu_s, ia.gpu_s - ia.op[MODEL_OP_ROPE].time_s + ia.op[MODEL_OP_EMBED].time_s
                + ia.op[MODEL_OP_ADD].time_s / ia.op[MODEL_OP_ADD].count);
  /* the weights count the position table: max_context x hidden */
  CU_ASSERT_DOUBLE_EQUAL (model_llm_params (&opt) - model_llm_params (&tiny), 512.0 * 64, 0.5);
}

/* Qwen3's per-head q/k RMSNorm: two kernels a layer, counted as RMSNorms of
 * T x heads rows of d; timed as the norm class at the geometry of d-thread
 * blocks. */
static void
test_qk_norm (void)
{
  ModelLlm q3 = tiny;
  q3.qk_norm = TRUE;
  ModelCost b;
  ModelSeqWork w[2] = { { .q = 8, .ctx = 0 }, { .q = 1, .ctx = 30 } };
  ModelIterCost ia, ib;
  iterate_pair (&q3, w, 2, &ia, &ib, &b);
  EQ (ia.op[MODEL_OP_QK_NORM].count, 0);
  EQ (ia.op[MODEL_OP_QK_NORM].time_s, 0);
  /* 9 tokens; q: 4 heads of 16, k: 2 heads; 2 layers x 2 kernels */
  EQ (ib.op[MODEL_OP_QK_NORM].count, 4);
  EQ (ib.op[MODEL_OP_QK_NORM].flops, 2 * (4.0 * 9 * 4 * 16 + 4.0 * 9 * 2 * 16));
  EQ (ib.op[MODEL_OP_QK_NORM].bytes,
      2 * ((2.0 * 9 * 4 * 16 * 2 + 16 * 2) + (2.0 * 9 * 2 * 16 * 2 + 16 * 2)));
  const ModelGpu *g = &toy;
  EQ (ib.op[MODEL_OP_QK_NORM].time_s,
      2 * (model_time_head_norm (&b.params, g, 9 * 4, 16, 2, 2)
           + model_time_head_norm (&b.params, g, 9 * 2, 16, 2, 2)));
  CU_ASSERT_TRUE (ib.op[MODEL_OP_QK_NORM].time_s > 0);
  /* nothing else moves */
  for (int i = 0; i < MODEL_OP_COUNT; i++)
    if (i != MODEL_OP_QK_NORM) {
      EQ (ib.op[i].time_s, ia.op[i].time_s);
      EQ (ib.op[i].bytes, ia.op[i].bytes);
    }
  EQ (ib.gpu_s, ia.gpu_s + ib.op[MODEL_OP_QK_NORM].time_s);

  /* the geometry: at d = 1024 a row is a 1,024-thread block, 2 to an SM,
   * which is the hidden-size norm's own model */
  ModelCatalog *cat = catalog ();
  const ModelGpu *h100 = model_catalog_gpu (cat, "h100-sxm", NULL);
  CU_ASSERT_TRUE_FATAL (h100 != NULL);
  const ModelCostParams *p = &h100->profile;
  CU_ASSERT_TRUE_FATAL (p->elem_wave_rows[MODEL_ELEM_NORM] == 2);
  for (double rows = 1; rows <= 1e5; rows *= 7)
    EQ (model_time_head_norm (p, h100, rows, 1024, 2, 2),
        model_time_elem_rows (p, h100, MODEL_ELEM_NORM, 2 * rows * 1024 * 2 + 1024 * 2, rows, 2048));
  /* d = 128: blocks of 128 threads, 16 to an SM: rows in waves of 16 x SMs,
   * and the per-row work shared by 8x the blocks. Bare: only that term. */
  ModelGpu g4;
  ModelCostParams bp;
  bare_row_kernel (&bp, &g4, MODEL_ELEM_NORM);
  bp.elem_bw_eff[MODEL_ELEM_NORM] = 1e30;   /* bytes free */
  bp.elem_row_s[MODEL_ELEM_NORM] = 1e-6;
  bp.elem_wave_rows[MODEL_ELEM_NORM] = 2;
  bp.elem_sharp[MODEL_ELEM_NORM] = 1;
  EQ (model_time_head_norm (&bp, &g4, 640, 128, 2, 2), 640 * 1e-6 / 8);
  EQ (model_time_head_norm (&bp, &g4, 640, 1024, 2, 2), 640 * 1e-6);
  /* d = 32: 64 blocks would fit by threads, at most 32 are resident */
  EQ (model_time_head_norm (&bp, &g4, 640, 32, 2, 2), 640 * 1e-6 / 16);
  EQ (model_time_head_norm (&bp, &g4, 0, 128, 2, 2), 0);
  /* on the bundled H100 profile, from 256 tokens on (where the bytes rule,
   * not the hidden-size norm's whole waves of 264 long rows), a per-head norm
   * of Qwen3-32B's 64 query heads costs more than a hidden-size norm of the
   * same tokens (8,192 vs 5,120 elements a token), and no more than the same
   * bytes in 1,024-thread rows */
  for (double T = 256; T <= 8192; T *= 2) {
    double head = model_time_head_norm (p, h100, T * 64, 128, 2, 2);
    double hid = model_time_elem_rows (p, h100, MODEL_ELEM_NORM, 2 * T * 5120 * 2 + 5120 * 2, T, 10240);
    double wide = model_time_head_norm (p, h100, T * 8, 1024, 2, 2);
    CU_ASSERT_TRUE (head > hid);
    CU_ASSERT_TRUE (head <= wide * (1 + 1e-12));
  }
  model_catalog_free (cat);
}

/* Sliding-window attention (Mistral-7B v0.1): FLOPs and bytes over each
 * query's window; decode reads the window's keys in the splits the whole
 * context's key blocks give; prefill tiles start at their window's key block. */
static void
test_sliding_window (void)
{
  ModelCatalog *cat = catalog ();
  const ModelLlm *mis = model_catalog_llm (cat, "mistral-7b", NULL);
  const ModelGpu *g = model_catalog_gpu (cat, "h100-sxm", NULL);
  CU_ASSERT_TRUE_FATAL (mis != NULL && g != NULL);
  CU_ASSERT_EQUAL (mis->sliding_window, 4096);
  ModelLlm full = *mis;
  full.sliding_window = 0;
  ModelCost w, f;
  model_cost_init (&w, mis, g, 1);
  model_cost_init (&f, &full, g, 1);

  /* contexts inside the window: nothing changes */
  ModelSeqWork in[3] = { { 512, 1000 }, { 1, 3000 }, { 1, 4094 } };
  ModelIterCost a, b;
  model_cost_iteration (&w, in, 3, &a);
  model_cost_iteration (&f, in, 3, &b);
  for (int i = 0; i < MODEL_OP_COUNT; i++) {
    EQ (a.op[i].time_s, b.op[i].time_s);
    EQ (a.op[i].flops, b.op[i].flops);
    EQ (a.op[i].bytes, b.op[i].bytes);
  }

  /* a prefill chunk across the window's edge, by hand: 10 tokens at 4,090
   * cached see 4,091 .. 4,096 keys (6 of them) and 4,096 after */
  ModelSeqWork edge = { 10, 4090 };
  model_cost_iteration (&w, &edge, 1, &a);
  double pairs = 4091 + 4092 + 4093 + 4094 + 4095 + 4096 + 4 * 4096.0;
  EQ (a.op[MODEL_OP_ATTN_PREFILL].flops, 32 * 4.0 * pairs * 128 * 32);
  /* keys read: all 4,100 (the first token's window starts at key 0) */
  EQ (a.op[MODEL_OP_ATTN_PREFILL].bytes, 32 * (2.0 * 10 * 32 * 128 * 2 + 4100.0 * 2 * 8 * 128 * 2));
  /* a longer context: from the first token's window on */
  ModelSeqWork late = { 10, 20000 };
  model_cost_iteration (&w, &late, 1, &a);
  EQ (a.op[MODEL_OP_ATTN_PREFILL].flops, 32 * 4.0 * 10 * 4096 * 128 * 32);
  EQ (a.op[MODEL_OP_ATTN_PREFILL].bytes,
      32 * (2.0 * 10 * 32 * 128 * 2 + (20010.0 - 15905) * 2 * 8 * 128 * 2));

  /* decode beyond the window = decode over window - 1 cached keys in a
   * launch as wide as the whole context (the block table's width) */
  for (int n = 1; n <= 96; n += 19) {
    ModelSeqWork dw[96], dr[96];
    gint64 longest = 0;
    for (int i = 0; i < n; i++) {
      dw[i] = (ModelSeqWork) { 1, 4096 + (i * 7919) % 28000 };
      dr[i] = (ModelSeqWork) { 1, 4095 };
      longest = MAX (longest, dw[i].ctx + 1);
    }
    f.dec_pad_keys = longest;
    double tw = model_cost_attn_time (&w, dw, (gsize) n, TRUE);
    double tr = model_cost_attn_time (&f, dr, (gsize) n, TRUE);
    EQ (tw, tr);
    f.dec_pad_keys = 0;
    CU_ASSERT_TRUE (tw < model_cost_attn_time (&f, dw, (gsize) n, TRUE));
  }

  /* prefill far past the window: 2,048 queries (1,024 query tiles x heads,
   * no split) cost the same wherever the window sits, up to its alignment
   * with the 128-key blocks; over the full context they grow */
  ModelSeqWork p1 = { 2048, 20000 }, p2 = { 2048, 20000 + 128 * 40 };
  double w1 = model_cost_attn_time (&w, &p1, 1, FALSE), w2 = model_cost_attn_time (&w, &p2, 1, FALSE);
  double f1 = model_cost_attn_time (&f, &p1, 1, FALSE), f2 = model_cost_attn_time (&f, &p2, 1, FALSE);
  EQ (w1, w2);
  CU_ASSERT_TRUE (f2 > f1 * 1.1);
  CU_ASSERT_TRUE (w1 < f1 / 2);
  /* and no cheaper than a prompt of the window's length from scratch,
   * nor dearer than 2,048 queries over a full window plus the chunk */
  ModelSeqWork lo = { 2048, 2048 }, hi = { 2048, 4096 };
  CU_ASSERT_TRUE (w1 >= model_cost_attn_time (&f, &lo, 1, FALSE));
  CU_ASSERT_TRUE (w1 <= model_cost_attn_time (&f, &hi, 1, FALSE));
  model_catalog_free (cat);
}

/* vLLM's rotary kernel: one block of min(nq, 512) threads per token, looping
 * over the query pairs and then the key pairs; an SM holds 2,048 threads. */
static void
test_rope_blocks (void)
{
  double per_sm, row;
  /* Llama-2-7B at TP 1: 32 heads x 64 pairs, 4 + 4 full iterations of 512 */
  model_rope_blocks (32 * 64, 32 * 64, 2, &per_sm, &row);
  EQ (per_sm, 4);
  EQ (row, (32 + 32) * 128 * 2 * 2);   /* whole iterations: the row's own bytes */
  /* at TP 8 (4 heads): blocks of 256 threads, 8 per SM */
  model_rope_blocks (4 * 64, 4 * 64, 2, &per_sm, &row);
  EQ (per_sm, 8);
  EQ (row, 8 * 128 * 2 * 2);
  /* phi-2 (head size 80): 1,280 pairs run as 3 iterations of 512, twice */
  model_rope_blocks (32 * 40, 32 * 40, 2, &per_sm, &row);
  EQ (per_sm, 4);
  EQ (row, 6 * 512 * 2 * 2 * 2);
  CU_ASSERT_TRUE (row > (32 + 32) * 80 * 2 * 2 * 1.19);
  /* one KV head at TP 8 (Llama-2-70B): 512 + 64 pairs, two iterations */
  model_rope_blocks (8 * 64, 64, 2, &per_sm, &row);
  EQ (row, 2 * 512 * 2 * 2 * 2);
  /* tiny blocks: at most 32 per SM */
  model_rope_blocks (16, 16, 2, &per_sm, NULL);
  EQ (per_sm, 32);
  /* bad input does not divide by zero */
  model_rope_blocks (0, 0, 2, &per_sm, &row);
  CU_ASSERT_TRUE (isfinite (per_sm) && isfinite (row));

  /* the geometry replaces the profile's blocks per SM and the row's bytes */
  ModelGpu g4;
  ModelCostParams p;
  const int C = MODEL_ELEM_ROPE;
  bare_row_kernel (&p, &g4, C);
  p.elem_row_wave[C] = 0;
  p.elem_row_s[C] = 0;
  p.elem_sharp[C] = 1;
  p.elem_blk_bw[C] = 1e6;
  p.elem_wave_rows[C] = 4;   /* waves of 16 rows by the profile */
  const double per_row = 1000, bw = 1e9 * p.elem_bw_eff[C];
  /* 20 rows: 2 waves of 16 by the profile, 1 wave of 32 with 8 per SM */
  EQ (model_time_elem_blocks (&p, &g4, C, 20 * per_row, 20, 0, 0, 0),
      model_time_elem_rows (&p, &g4, C, 20 * per_row, 20, 0));
  EQ (model_time_elem_rows (&p, &g4, C, 20 * per_row, 20, 0), 20 * per_row / bw + 2 * per_row / 1e6);
  EQ (model_time_elem_blocks (&p, &g4, C, 20 * per_row, 20, 0, 8, 0), 20 * per_row / bw + per_row / 1e6);
  /* model_time_rope composes the two: phi-2's shape, bytes from the pairs */
  model_rope_blocks (32 * 40, 32 * 40, 2, &per_sm, &row);
  EQ (model_time_rope (&p, &g4, 20, 32 * 40, 32 * 40, 1, 2),
      model_time_elem_blocks (&p, &g4, C, 20 * (64 * 80) * 2 * 2, 20, 0, per_sm, row));
  /* without a sector weight the sector ratio changes nothing; with one,
   * that share of the bytes goes at the ratio */
  EQ (model_time_rope (&p, &g4, 20, 32 * 40, 32 * 40, 1.4, 2), model_time_rope (&p, &g4, 20, 32 * 40, 32 * 40, 1, 2));
  p.rope_sector_w = 0.5;
  EQ (model_time_rope (&p, &g4, 20, 32 * 40, 32 * 40, 1.4, 2),
      model_time_elem_blocks (&p, &g4, C, 20 * (64 * 80) * 2 * 2 * 1.2, 20, 0, per_sm, row));
  CU_ASSERT_TRUE (model_time_rope (&p, &g4, 20, 32 * 40, 32 * 40, 1.4, 2)
                  > model_time_rope (&p, &g4, 20, 32 * 40, 32 * 40, 1, 2));
  /* a ratio below 1 (impossible) is taken as 1 */
  EQ (model_time_rope (&p, &g4, 20, 32 * 40, 32 * 40, 0.5, 2), model_time_rope (&p, &g4, 20, 32 * 40, 32 * 40, 1, 2));
  /* a block that runs 1.5x its row's bytes (partial iterations) lasts 1.5x */
  EQ (model_time_elem_blocks (&p, &g4, C, 20 * per_row, 20, 0, 8, 1.5 * per_row),
      20 * per_row / bw + 1.5 * per_row / 1e6);
}

/* The 32-byte sectors the NeoX rotary kernel's warps touch per byte they
 * use (expected values counted byte by byte, independently, over 576 heads) */
static void
test_rope_sectors (void)
{
  /* half-heads on 64-byte boundaries: every sector used whole */
  EQ (model_rope_sector_ratio (128, 2), 1);
  EQ (model_rope_sector_ratio (64, 2), 1);
  EQ (model_rope_sector_ratio (96, 2), 1);
  EQ (model_rope_sector_ratio (256, 2), 1);
  EQ (model_rope_sector_ratio (128, 1), 1);
  /* phi-2's 80: halves of 80 bytes, a warp straddles heads */
  EQ (model_rope_sector_ratio (80, 2), 1.4);
  EQ (model_rope_sector_ratio (112, 2), 19.0 / 14);
  EQ (model_rope_sector_ratio (72, 2), 5.0 / 3);
  EQ (model_rope_sector_ratio (40, 2), 1.9);
  /* the element size moves the alignment: fp8 worse, fp32 aligned */
  EQ (model_rope_sector_ratio (80, 1), 2.2);
  EQ (model_rope_sector_ratio (80, 4), 1);
  /* bad input: no penalty, no crash */
  EQ (model_rope_sector_ratio (0, 2), 1);
  EQ (model_rope_sector_ratio (1, 2), 1);
  EQ (model_rope_sector_ratio (-80, 2), 1);
  EQ (model_rope_sector_ratio (80, 0), 1);
  EQ (model_rope_sector_ratio (NAN, 2), 1);
}

static void
test_elem_row_waves (void)
{
  ModelGpu g4;
  ModelCostParams p;
  const int C = MODEL_ELEM_NORM;
  bare_row_kernel (&p, &g4, C);
  p.elem_wave_rows[C] = 2;   /* waves of 8 rows */
  const double per_row = 1000, fixed = 300, bw = 1e9 * p.elem_bw_eff[C];
  /* off: rows ignored */
  EQ (model_time_elem_rows (&p, &g4, C, 9 * per_row + fixed, 9, fixed),
      model_time_elem (&p, &g4, C, 9 * per_row + fixed));
  /* fully on: 9 rows cost 16 rows' per-row bytes; 8 and 16 rows are whole waves */
  p.elem_row_wave[C] = 1;
  EQ (model_time_elem_rows (&p, &g4, C, 9 * per_row + fixed, 9, fixed), (16 * per_row + fixed) / bw);
  EQ (model_time_elem_rows (&p, &g4, C, 8 * per_row + fixed, 8, fixed), (8 * per_row + fixed) / bw);
  EQ (model_time_elem_rows (&p, &g4, C, 3 * per_row + fixed, 3, fixed), (8 * per_row + fixed) / bw);
  /* half on: half the rounding */
  p.elem_row_wave[C] = 0.5;
  EQ (model_time_elem_rows (&p, &g4, C, 9 * per_row + fixed, 9, fixed), (12.5 * per_row + fixed) / bw);
  /* never cheaper with more rows, never below the unrounded time */
  double prev = 0;
  for (int r = 1; r <= 100; r++) {
    double t = model_time_elem_rows (&p, &g4, C, r * per_row + fixed, r, fixed);
    CU_ASSERT_TRUE (t >= prev);
    CU_ASSERT_TRUE (t >= model_time_elem (&p, &g4, C, r * per_row + fixed) * (1 - 1e-12));
    prev = t;
  }
  /* a block's rate over its row (elem_blk_bw): every wave of 8 rows lasts at
   * least one row's bytes, with the weights each block reads, at that rate;
   * with elem_sharp 1 the smooth max is a sum, checkable by hand */
  p.elem_row_wave[C] = 0;
  p.elem_sharp[C] = 1;
  p.elem_blk_bw[C] = 1e6;
  const double blk = (per_row + fixed) / 1e6;
  EQ (model_time_elem_rows (&p, &g4, C, 3 * per_row + fixed, 3, fixed), (3 * per_row + fixed) / bw + blk);
  EQ (model_time_elem_rows (&p, &g4, C, 8 * per_row + fixed, 8, fixed), (8 * per_row + fixed) / bw + blk);
  EQ (model_time_elem_rows (&p, &g4, C, 9 * per_row + fixed, 9, fixed), (9 * per_row + fixed) / bw + 2 * blk);
  /* not a row kernel (rows 0): no such term */
  EQ (model_time_elem (&p, &g4, C, 9 * per_row + fixed), (9 * per_row + fixed) / bw);
  /* a wider row (the hidden size) costs a lone token more: the H200's
   * PyTorch RMSNorm at 1-16 tokens, 4.1 us at 4,096 and 7.0 us at 8,192 */
  CU_ASSERT_TRUE (model_time_elem_rows (&p, &g4, C, 2 * per_row + fixed, 1, fixed)
                  > model_time_elem_rows (&p, &g4, C, per_row + fixed, 1, fixed) + per_row / 1e6 * 0.99);
  p.elem_blk_bw[C] = 0;
  /* the iteration uses it: on the bundled H100 profile a 265-token prefill
   * (one row past two waves of 132 SMs x 2) costs its norms more per token
   * than a 264-token one */
  ModelCatalog *cat = catalog ();
  const ModelGpu *h100 = model_catalog_gpu (cat, "h100-sxm", NULL);
  const ModelLlm *m = model_catalog_llm (cat, "llama-3.1-8b", NULL);
  CU_ASSERT_TRUE_FATAL (h100 && m);
  CU_ASSERT_TRUE (h100->profile.elem_row_wave[MODEL_ELEM_NORM] > 0);
  ModelCost c;
  model_cost_init (&c, m, h100, 1);
  ModelSeqWork w264 = { 264, 0 }, w265 = { 265, 0 };
  ModelIterCost a, b;
  model_cost_iteration (&c, &w264, 1, &a);
  model_cost_iteration (&c, &w265, 1, &b);
  CU_ASSERT_TRUE (b.op[MODEL_OP_NORM].time_s / 265 > a.op[MODEL_OP_NORM].time_s / 264 * 1.05);
  model_catalog_free (cat);
}

/* FlashAttention split-KV decode at the geometry of Vidur's A100 profile
 * (Llama-2-70B at TP 2: 32 query and 4 KV heads of 128 per rank) on 108 SMs,
 * with the block table 4096 keys wide: hand-worked splits and waves. */
static void
test_decode_split_kv (void)
{
  ModelLlm m = tiny;
  m.hidden = 8192;
  m.num_heads = 64;
  m.num_kv_heads = 8;
  m.head_dim = 128;
  m.num_layers = 1;
  ModelGpu g = toy;
  g.num_sms = 108;
  g.mem_bw = 2e12;
  ModelCost c;
  model_cost_init (&c, &m, &g, 2);
  ModelCostParams p = c.params;
  p.dec_floor_s = 1e-6;
  p.dec_per_seq_s = 0;
  p.dec_cta_s = 2e-6;
  p.dec_per_block_s = 3e-6;
  p.dec_pair_gain = 1.5;
  p.dec_sharp = 1;        /* SM time + bytes over bandwidth: checkable by hand */
  p.dec_mem_eff = 0.8;
  p.dec_split_s = 0.2e-6;
  p.dec_combine_s = 3e-6;
  model_cost_set_params (&c, &p, TRUE);
  c.dec_pad_keys = 4096;   /* 32 tiles of 128 keys */
  const double bw = 2e12 * 0.8, per_key = 4 * 2 * 128 * 2;  /* 4 KV heads, K and V, fp16 */
  ModelSeqWork w[64];
  /* one sequence of 33 keys: 4 units < 80% of 108 SMs; the best wave
   * efficiency over the eligible splits of 32 tiles is 16 or 32 splits (64 or
   * 128 blocks, 0.59): 16 splits of 2 tiles. One split per head has keys: 4
   * blocks alone on their SMs, each one tile. The combine: 32 rows in blocks
   * of 4 = 8 blocks, one round, 16 splits. */
  w[0] = (ModelSeqWork) { 1, 32 };
  EQ (model_cost_attn_time (&c, w, 1, TRUE),
      1e-6 + (2e-6 + 3e-6) + 33 * per_key / bw + 3e-6 + 16 * 0.2e-6);
  /* 1000 keys: 8 tiles, 4 of the splits have keys, 16 blocks of 2 tiles */
  w[0] = (ModelSeqWork) { 1, 999 };
  EQ (model_cost_attn_time (&c, w, 1, TRUE),
      1e-6 + (2e-6 + 2 * 3e-6) + 1000 * per_key / bw + 3e-6 + 16 * 0.2e-6);
  /* a table as wide as the context (0 = the batch's longest): 8 tiles, whose
   * eligible splits 1, 2, 3, 4, 8 give 4 .. 32 blocks; 8 splits of one tile */
  c.dec_pad_keys = 0;
  EQ (model_cost_attn_time (&c, w, 1, TRUE),
      1e-6 + (2e-6 + 3e-6) + 1000 * per_key / bw + 3e-6 + 8 * 0.2e-6);
  c.dec_pad_keys = 4096;
  /* 13 sequences of 33 keys: 52 units; 2 splits (104 blocks, 0.96) of 16
   * tiles; the grid fits in one block per SM: no pairs; combine 104 blocks */
  for (int i = 0; i < 64; i++)
    w[i] = (ModelSeqWork) { 1, 32 };
  EQ (model_cost_attn_time (&c, w, 13, TRUE),
      1e-6 + (2e-6 + 3e-6) + 13 * 33 * per_key / bw + 3e-6 + 2 * 0.2e-6);
  /* 16 sequences: 64 units, 3 splits (192 blocks, 0.89) of 11 tiles; the
   * grid passes 108 blocks and 108 mod 3 = 0, so block i + 108 (split 0 of a
   * head) lands beside block i (split 0 of another): two blocks with keys
   * share an SM at 2/1.5 the time; the combine has 128 blocks, two rounds */
  EQ (model_cost_attn_time (&c, w, 16, TRUE),
      1e-6 + 2 * (2e-6 + 3e-6) / 1.5 + 16 * 33 * per_key / bw + 2 * 3e-6 + 3 * 0.2e-6);
  /* 55 sequences: 220 units, no split; one full wave of 216 blocks (pairs on
   * every SM), then 4 blocks whose SM time is a lone block's plus 4/216 of
   * the step to a pair (they start staggered as the first wave drains) */
  double t1 = 2e-6 + 3e-6, t2 = 2 * t1 / 1.5;
  EQ (model_cost_attn_time (&c, w, 55, TRUE),
      1e-6 + t2 + t1 + (t2 - t1) * 4 / 216 + 55 * 33 * per_key / bw);
  /* Over a contiguous cache (PyTorch SDPA) the unsplit batch runs the plain
   * forward kernel: each key tile costs dec_fwd_tile times as much. A paged
   * cache (the default) ignores the parameter, and so does a split batch. */
  p.dec_fwd_tile = 3;
  model_cost_set_params (&c, &p, TRUE);
  c.dec_pad_keys = 4096;
  EQ (model_cost_attn_time (&c, w, 55, TRUE),
      1e-6 + t2 + t1 + (t2 - t1) * 4 / 216 + 55 * 33 * per_key / bw);
  c.dec_contig = TRUE;
  EQ (model_cost_attn_time (&c, w, 13, TRUE),
      1e-6 + (2e-6 + 3e-6) + 13 * 33 * per_key / bw + 3e-6 + 2 * 0.2e-6);
  double f1 = 2e-6 + 3 * 3e-6, f2 = 2 * f1 / 1.5;
  EQ (model_cost_attn_time (&c, w, 55, TRUE),
      1e-6 + f2 + f1 + (f2 - f1) * 4 / 216 + 55 * 33 * per_key / bw);
  /* the memo of the batch shape notices the cache kind changing */
  c.dec_contig = FALSE;
  EQ (model_cost_attn_time (&c, w, 55, TRUE),
      1e-6 + t2 + t1 + (t2 - t1) * 4 / 216 + 55 * 33 * per_key / bw);
}

static void
test_tiny_decode (void)
{
  ModelCost c;
  model_cost_init (&c, &tiny, &toy, 1);
  ModelSeqWork w[3] = { { 1, 10 }, { 1, 20 }, { 1, 30 } };
  ModelIterCost it;
  model_cost_iteration (&c, w, 3, &it);
  CU_ASSERT_EQUAL (it.tokens, 3);
  EQ (it.op[MODEL_OP_ATTN_PREFILL].count, 0);
  EQ (it.op[MODEL_OP_ATTN_DECODE].count, 2);
  /* per sequence 4 (ctx+1) d nh = 256 (ctx+1); sum over ctx+1 = 11+21+31 = 63 */
  EQ (it.op[MODEL_OP_ATTN_DECODE].flops, 2 * 256.0 * 63);
  /* per sequence Q and O (2 x 64 x 2 B) + K,V of ctx+1 tokens (64 elements x 2 B each) */
  EQ (it.op[MODEL_OP_ATTN_DECODE].bytes, 2 * (3 * 256.0 + 128.0 * 63));
  EQ (it.op[MODEL_OP_QKV].flops, 2 * (2.0 * 3 * 128 * 64));
  EQ (it.op[MODEL_OP_QKV].bytes, 2 * ((3.0 * 64 + 64 * 128 + 3 * 128) * 2));
  EQ (it.op[MODEL_OP_LM_HEAD].flops, 2.0 * 3 * 100 * 64);
  EQ (it.op[MODEL_OP_LM_HEAD].bytes, (3.0 * 64 + 64 * 100 + 3 * 100) * 2);
  EQ (it.cpu_s, c.params.cpu_base_s + 3 * c.params.cpu_per_seq_s);
  /* decode attention with no fixed costs: 3 sequences x 2 KV heads = 6 thread
   * blocks, in 3 waves of 2 on the single SM, each reading 21 keys (the mean
   * of 11, 21, 31) of 2 x 32 x 2 bytes (head size 16 runs FlashAttention's
   * 32 kernel, whose tiles set the pace): the whole read at the bandwidth */
  ModelCostParams p = c.params;
  p.dec_floor_s = p.dec_per_seq_s = p.dec_per_block_s = p.dec_cta_s = 0;
  model_cost_set_params (&c, &p, TRUE);
  model_cost_iteration (&c, w, 3, &it);
  EQ (it.op[MODEL_OP_ATTN_DECODE].time_s, 2 * 6 * 21 * 128.0 / (1e9 * p.dec_mem_eff));
  /* per-sequence and per-block costs: at head size 16 a tile is 256 keys, so
   * each block runs one tile (1e-6 + 1e-7 alone on the SM); two share the SM
   * at 1.5 x the throughput of one; sharpness 1 adds the SM time and the
   * wave's 2 x 21 x 128 bytes over bandwidth */
  p.dec_per_seq_s = 1e-6;
  p.dec_cta_s = 1e-6;
  p.dec_per_block_s = 1e-7;
  p.dec_pair_gain = 1.5;
  p.dec_sharp = 1;
  model_cost_set_params (&c, &p, TRUE);
  EQ (model_cost_attn_time (&c, w, 3, TRUE),
      3e-6 + 3 * (2 * 1.1e-6 / 1.5 + 2 * 21 * 128.0 / (1e9 * p.dec_mem_eff)));

  /* a mixed batch: one prefill chunk with cached context and two decodes */
  ModelSeqWork mix[3] = { { 4, 6 }, { 1, 10 }, { 1, 1 } };
  model_cost_iteration (&c, mix, 3, &it);
  CU_ASSERT_EQUAL (it.tokens, 6);
  /* chunk of 4 over 6 cached: 4*4*(6+2.5)*16*4 */
  EQ (it.op[MODEL_OP_ATTN_PREFILL].flops, 2 * 4.0 * 4 * 8.5 * 64);
  EQ (it.op[MODEL_OP_ATTN_PREFILL].bytes, 2 * (2.0 * 4 * 64 * 2 + 10.0 * 64 * 2));
  EQ (it.op[MODEL_OP_ATTN_DECODE].flops, 2 * 256.0 * (11 + 2));
  EQ (it.op[MODEL_OP_LM_HEAD].flops, 2.0 * 3 * 100 * 64);

  /* nothing to do: all zeros */
  model_cost_iteration (&c, NULL, 0, &it);
  CU_ASSERT_EQUAL (it.total_s, 0);
  CU_ASSERT_EQUAL (it.tokens, 0);
  CU_ASSERT_EQUAL (model_iter_ns (&it), 0);
}

static void
test_tp (void)
{
  ModelCost c1, c2, c4;
  model_cost_init (&c1, &tiny, &toy, 1);
  model_cost_init (&c2, &tiny, &toy, 2);
  model_cost_init (&c4, &tiny, &toy, 4);
  ModelSeqWork w = { 8, 0 };
  ModelIterCost a, b, d;
  model_cost_iteration (&c1, &w, 1, &a);
  model_cost_iteration (&c2, &w, 1, &b);
  model_cost_iteration (&c4, &w, 1, &d);
  /* tp 2: 2 query heads and 1 KV head per rank: every GEMM's FLOPs halve */
  EQ (b.op[MODEL_OP_QKV].flops, a.op[MODEL_OP_QKV].flops / 2);
  EQ (b.op[MODEL_OP_ATTN_OUT].flops, a.op[MODEL_OP_ATTN_OUT].flops / 2);
  EQ (b.op[MODEL_OP_MLP_UP].flops, a.op[MODEL_OP_MLP_UP].flops / 2);
  EQ (b.op[MODEL_OP_MLP_DOWN].flops, a.op[MODEL_OP_MLP_DOWN].flops / 2);
  EQ (b.op[MODEL_OP_LM_HEAD].flops, a.op[MODEL_OP_LM_HEAD].flops / 2);
  EQ (b.op[MODEL_OP_ATTN_PREFILL].flops, a.op[MODEL_OP_ATTN_PREFILL].flops / 2);
  /* two all-reduces per layer of 8x64 bf16, and the embedding's; ring sends
   * 2 (tp-1)/tp of it */
  EQ (a.op[MODEL_OP_ALLREDUCE].count, 0);
  EQ (b.op[MODEL_OP_ALLREDUCE].count, 5);
  double bytes = 2.0 * 1 / 2 * 8 * 64 * 2;
  EQ (b.op[MODEL_OP_ALLREDUCE].bytes, 5 * bytes);
  /* ring over 2 GPUs of 1024 B: per protocol base latency + 2 steps x hop
   * latency x protocol factor + 1024 B / (NVLink x bus fraction x protocol
   * fraction); the cheapest protocol */
  const ModelCostParams *q = &c2.params;
  double best = INFINITY;
  for (int pr = 0; pr < MODEL_PROTO_COUNT; pr++)
    best = fmin (best, q->comm_base_lat_s[pr]
                       + 2 * q->comm_hop_lat_s[MODEL_HOP_INTRA] * (pr ? q->comm_proto_lat[pr] : 1)
                       + bytes / (toy.nvlink_bw * q->comm_bw_frac[MODEL_HOP_INTRA]
                                  * q->comm_proto_frac[pr]));
  EQ (b.op[MODEL_OP_ALLREDUCE].time_s, 5 * best);
  /* the logits: one sequence's 100 (2 x 50 per rank) bf16 values all-gathered;
   * each rank sends the other its 50 */
  EQ (a.op[MODEL_OP_LOGITS_GATHER].count, 0);
  EQ (b.op[MODEL_OP_LOGITS_GATHER].count, 1);
  EQ (b.op[MODEL_OP_LOGITS_GATHER].bytes, 50.0 * 2);
  EQ (b.op[MODEL_OP_LOGITS_GATHER].time_s,
      model_comm_time (q, &toy, MODEL_COLL_ALLGATHER, 100.0 * 2, 2, 2, NULL));
  CU_ASSERT_TRUE (b.op[MODEL_OP_LOGITS_GATHER].time_s > 0);
  EQ (d.op[MODEL_OP_LOGITS_GATHER].bytes, 3 * 25.0 * 2);
  /* tp 4 > 2 KV heads: KV replicated, one per rank: QKV width (1 + 2) x 16 */
  EQ (d.op[MODEL_OP_QKV].flops, 2 * (2.0 * 8 * 48 * 64));
  EQ (d.op[MODEL_OP_KV_WRITE].bytes, a.op[MODEL_OP_KV_WRITE].bytes / 2);
  /* without NVLink the all-reduce goes over PCIe */
  ModelGpu pcie = toy;
  pcie.nvlink_bw = 0;
  model_cost_init (&c2, &tiny, &pcie, 2);
  model_cost_iteration (&c2, &w, 1, &b);
  CU_ASSERT_TRUE (b.op[MODEL_OP_ALLREDUCE].time_s > 5 * best);
}

static void
test_moe (void)
{
  ModelLlm moe = tiny;
  moe.id = "tiny-moe";
  moe.num_experts = 8;
  moe.top_k = 2;
  ModelCost c;
  model_cost_init (&c, &moe, &toy, 1);
  ModelSeqWork w = { 1, 5 };
  ModelIterCost one, many;
  model_cost_iteration (&c, &w, 1, &one);
  /* one token: router [1,64]x[64,8] plus 2 experts' up [1,64]x[64,256] */
  double router_f = 2.0 * 1 * 8 * 64;
  EQ (one.op[MODEL_OP_MLP_UP].flops, 2 * (router_f + 2 * 2.0 * 64 * 256));
  EQ (one.op[MODEL_OP_MLP_UP].count, 4);
  /* expert weights read: 8 (1 - (1 - 2/8)^1) = 2 experts */
  double router_b = (64.0 + 64 * 8 + 8) * 2;
  EQ (one.op[MODEL_OP_MLP_UP].bytes, 2 * (router_b + (64.0 + 2 * 64 * 256 + 2 * 256) * 2));
  EQ (one.op[MODEL_OP_MLP_DOWN].bytes, 2 * ((2.0 * 128 + 2 * 128 * 64 + 2 * 64) * 2));
  /* many tokens touch all 8 experts: the weight term saturates */
  ModelSeqWork big = { 512, 0 };
  model_cost_iteration (&c, &big, 1, &many);
  double touched_b = (512.0 * 128 * 2 + 8 * 128 * 64 + 512.0 * 2 * 64) * 2;
  CU_ASSERT_DOUBLE_EQUAL (many.op[MODEL_OP_MLP_DOWN].bytes, 2 * touched_b, 1);
  EQ (many.op[MODEL_OP_MLP_DOWN].flops, 2 * 2.0 * 512 * 2 * 128 * 64);
  /* around the experts (vLLM's fused MoE), per layer: top-k softmax over the
   * 8 logits (bf16 in; fp32 weights, int32 ids out) and the rows' sort by
   * expert (ids in, order out), then the sum of each token's 2 outputs */
  double topk_b = 1.0 * 8 * 2 + 8.0 * 1 * 2, align_b = 8.0 * 1 * 2, sum_b = 3.0 * 1 * 64 * 2;
  EQ (one.op[MODEL_OP_MOE_ROUTE].count, 4);
  EQ (one.op[MODEL_OP_MOE_ROUTE].flops, 0);
  EQ (one.op[MODEL_OP_MOE_ROUTE].bytes, 2 * (topk_b + align_b));
  EQ (one.op[MODEL_OP_MOE_SUM].count, 2);
  EQ (one.op[MODEL_OP_MOE_SUM].flops, 2 * 64.0);
  EQ (one.op[MODEL_OP_MOE_SUM].bytes, 2 * sum_b);
  const ModelCostParams *p = &c.params;
  EQ (one.op[MODEL_OP_MOE_ROUTE].time_s,
      2 * (model_time_elem_rows (p, &toy, MODEL_ELEM_ADD, topk_b, 1, 0)
           + model_time_elem_rows (p, &toy, MODEL_ELEM_ADD, align_b, 1, 0)));
  EQ (one.op[MODEL_OP_MOE_SUM].time_s, 2 * model_time_elem_rows (p, &toy, MODEL_ELEM_ADD, sum_b, 1, 0));
  CU_ASSERT_TRUE (one.op[MODEL_OP_MOE_SUM].time_s > 0);
  EQ (many.op[MODEL_OP_MOE_SUM].bytes, 2 * 3.0 * 512 * 64 * 2);
  /* a dense model runs none of them */
  ModelCost dc;
  model_cost_init (&dc, &tiny, &toy, 1);
  model_cost_iteration (&dc, &w, 1, &one);
  EQ (one.op[MODEL_OP_MOE_ROUTE].count, 0);
  EQ (one.op[MODEL_OP_MOE_SUM].count, 0);
}

static void
test_prefill_monotone (void)
{
  ModelCatalog *cat = catalog ();
  const ModelLlm *m = model_catalog_llm (cat, "llama-3.1-8b", NULL);
  const ModelGpu *g = model_catalog_gpu (cat, "h100-sxm", NULL);
  ModelCost c;
  model_cost_init (&c, m, g, 1);
  /* A longer prefill never costs less, within 0.5%: the h100-sxm profile
   * schedules FlashAttention's thread blocks (attn_pair_gain > 0), and a
   * list schedule, like the GPU's, can finish a slightly larger grid a
   * little sooner (dips of up to 0.37% of the iteration, about 1% of its
   * attention, at 3,000-7,500 tokens) */
  CU_ASSERT_TRUE (c.params.attn_pair_gain > 0);
  double prev = 0, worst = 1;
  for (gint64 q = 1; q <= 8192; q += (q < 64 ? 1 : 37)) {
    ModelSeqWork w = { q, 0 };
    ModelIterCost it;
    model_cost_iteration (&c, &w, 1, &it);
    CU_ASSERT_TRUE (it.total_s >= prev * 0.995);
    if (prev > 0)
      worst = MIN (worst, it.total_s / prev);
    prev = MAX (prev, it.total_s);
  }
  CU_ASSERT_TRUE (worst >= 0.995);
  /* with the closed form strictly */
  ModelCostParams closed = c.params;
  closed.attn_pair_gain = 0;
  model_cost_set_params (&c, &closed, TRUE);
  prev = 0;
  for (gint64 q = 1; q <= 8192; q += (q < 64 ? 1 : 37)) {
    ModelSeqWork w = { q, 0 };
    ModelIterCost it;
    model_cost_iteration (&c, &w, 1, &it);
    CU_ASSERT_TRUE (it.total_s >= prev);
    prev = it.total_s;
  }
  model_cost_init (&c, m, g, 1);
  /* and in context length for decode, and in batch size */
  prev = 0;
  for (gint64 ctx = 1; ctx <= 100000; ctx *= 3) {
    ModelSeqWork w = { 1, ctx };
    ModelIterCost it;
    model_cost_iteration (&c, &w, 1, &it);
    CU_ASSERT_TRUE (it.total_s >= prev);
    prev = it.total_s;
  }
  model_catalog_free (cat);
}

static double
iter_ms (const ModelCost *c, gint64 q, gint64 ctx, int n)
{
  ModelSeqWork *w = g_new (ModelSeqWork, n);
  for (int i = 0; i < n; i++)
    w[i] = (ModelSeqWork) { q, ctx };
  ModelIterCost it;
  model_cost_iteration (c, w, n, &it);
  g_free (w);
  return it.total_s * 1e3;
}

static void
test_sane_magnitudes (void)
{
  ModelCatalog *cat = catalog ();
  ModelCost c;
  model_cost_init (&c, model_catalog_llm (cat, "llama-3.1-8b", NULL),
                   model_catalog_gpu (cat, "h100-sxm", NULL), 1);
  double d1 = iter_ms (&c, 1, 1000, 1), d32 = iter_ms (&c, 1, 1000, 32);
  double d256 = iter_ms (&c, 1, 1000, 256);
  double p512 = iter_ms (&c, 512, 0, 1), p1000 = iter_ms (&c, 1000, 0, 1);
  double p2048 = iter_ms (&c, 2048, 0, 1);
  printf ("\n  llama-3.1-8b on h100-sxm tp1: decode ctx 1000 batch 1/32/256: %.2f / %.2f / %.2f ms;"
          " prefill 512/1000/2048: %.2f / %.2f / %.2f ms\n", d1, d32, d256, p512, p1000, p2048);
  /* 16 GB of weights at ~2.7 TB/s, plus kernel floors and CPU */
  CU_ASSERT_TRUE (d1 > 6 && d1 < 9);
  CU_ASSERT_TRUE (d32 > d1 && d256 > d32);
  /* measured Vidur H100 per-layer times of a 7B at 1024 tokens sum to ~21 ms */
  CU_ASSERT_TRUE (p1000 > 15 && p1000 < 40);
  CU_ASSERT_TRUE (p2048 > 1.8 * p1000 && p2048 < 2.4 * p1000);

  /* a 70B at tp 4 decodes slower than the 8B at tp 1 but not absurdly */
  ModelCost c70;
  model_cost_init (&c70, model_catalog_llm (cat, "llama-3.1-70b", NULL),
                   model_catalog_gpu (cat, "h100-sxm", NULL), 4);
  double d70 = iter_ms (&c70, 1, 1000, 1);
  CU_ASSERT_TRUE (d70 > d1 && d70 < 40);
  model_catalog_free (cat);
}

static void
test_memory_plan (void)
{
  ModelCatalog *cat = catalog ();
  const ModelGpu *h100 = model_catalog_gpu (cat, "h100-sxm", NULL);
  const ModelLlm *m70 = model_catalog_llm (cat, "llama-3.1-70b", NULL);
  const ModelLlm *m8 = model_catalog_llm (cat, "llama-3.1-8b", NULL);
  ModelCost c;
  ModelMemoryPlan p;
  GError *e = NULL;

  model_cost_init (&c, m70, h100, 1);
  CU_ASSERT_FALSE (model_memory_plan (&c, 16, 0.9, 8192, &p, &e));
  CU_ASSERT_TRUE_FATAL (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_NO_FIT));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, "weights"));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, "GiB"));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, "tp 1"));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, "larger tp: 2"));
  g_clear_error (&e);
  c.tp = 4;
  CU_ASSERT_TRUE (model_memory_plan (&c, 16, 0.9, 8192, &p, &e));
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_TRUE (p.num_blocks > 1000);
  CU_ASSERT_TRUE (p.weight_bytes > 30e9 && p.weight_bytes < 40e9);   /* ~141 GB / 4 */

  /* llama-3.1-8b on one H100 by hand:
   * weights 8.030e9 params x 2 B; activations at 8192 tokens:
   * 8192 x (2x4096 + (32+16)x128 + 28672 + 14336) x 2 B + 256 x 128256 x 4 B;
   * KV 2 x 32 layers x 8 heads x 128 x 2 B = 128 KiB per token, 2 MiB per block */
  model_cost_init (&c, m8, h100, 1);
  CU_ASSERT_TRUE (model_memory_plan (&c, 16, 0.9, 8192, &p, &e));
  double weights = model_llm_params (m8) * 2;
  double act = 8192.0 * (2 * 4096 + 48 * 128 + 28672 + 14336) * 2 + 256.0 * 128256 * 4;
  EQ (p.weight_bytes, weights);
  EQ (p.activation_bytes, act);
  EQ (p.kv_bytes_per_token, 131072);
  EQ (p.kv_bytes_per_block, 2097152);
  double usable = 80.0 * 1024 * 1024 * 1024 * 0.9;
  CU_ASSERT_EQUAL (p.num_blocks, (gint64) floor ((usable - weights - act) / 2097152));
  CU_ASSERT_TRUE (p.num_blocks > 27000 && p.num_blocks < 30000);   /* ~57 GiB of KV */
  EQ (p.reserved_bytes, 80.0 * 1024 * 1024 * 1024 * 0.1 + weights + act);
  EQ (p.kv_bytes, usable - weights - act);
  CU_ASSERT_EQUAL (p.block_size, 16);
  printf ("\n  llama-3.1-8b on h100-sxm tp1, block 16, mem_util 0.9: %" G_GINT64_FORMAT
          " blocks (weights %.2f GiB, activations %.2f GiB)\n", p.num_blocks,
          p.weight_bytes / (1 << 30), p.activation_bytes / (1 << 30));

  /* fp8 KV halves the per-token bytes */
  c.params.kv_dtype_bytes = 1;
  ModelMemoryPlan p8;
  CU_ASSERT_TRUE (model_memory_plan (&c, 16, 0.9, 8192, &p8, &e));
  EQ (p8.kv_bytes_per_token, 65536);
  CU_ASSERT_TRUE (p8.num_blocks >= 2 * p.num_blocks - 1);

  /* tp must divide the heads; the message lists the valid ones */
  model_cost_init (&c, m8, h100, 3);
  CU_ASSERT_FALSE (model_memory_plan (&c, 16, 0.9, 8192, &p, &e));
  CU_ASSERT_TRUE_FATAL (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_INVALID));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, "valid tp: 1, 2, 4, 8, 16, 32"));
  g_clear_error (&e);
  /* bad plan parameters */
  model_cost_init (&c, m8, h100, 1);
  CU_ASSERT_FALSE (model_memory_plan (&c, 16, 1.5, 8192, &p, &e));
  CU_ASSERT_TRUE (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_INVALID));
  g_clear_error (&e);
  CU_ASSERT_FALSE (model_memory_plan (&c, 0, 0.9, 8192, &p, &e));
  g_clear_error (&e);

  /* 405B on 24 GiB L4s: ~756 GiB of weights need tp 64 (tp 32 leaves 23.6 GiB
   * per GPU, more than 0.9 x 24) */
  model_cost_init (&c, model_catalog_llm (cat, "llama-3.1-405b", NULL),
                   model_catalog_gpu (cat, "l4", NULL), 8);
  CU_ASSERT_FALSE (model_memory_plan (&c, 16, 0.9, 8192, &p, &e));
  if (e)
    printf ("\n  %s\n", e->message);
  CU_ASSERT_TRUE (e && strstr (e->message, "larger tp: 64") != NULL);
  g_clear_error (&e);
  /* phi-2 (32 heads) on a 24 GiB GPU at tp 1 fits */
  model_cost_init (&c, model_catalog_llm (cat, "phi-2", NULL), model_catalog_gpu (cat, "l4", NULL), 1);
  CU_ASSERT_TRUE (model_memory_plan (&c, 16, 0.9, 8192, &p, &e));
  /* falcon-180b has 232 heads and 8 KV groups: valid tp is 1, 2, 4, 8, 232 */
  model_cost_init (&c, model_catalog_llm (cat, "falcon-180b", NULL), h100, 16);
  CU_ASSERT_FALSE (model_memory_plan (&c, 16, 0.9, 8192, &p, &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "valid tp: 1, 2, 4, 8, 232") != NULL);
  g_clear_error (&e);
  model_catalog_free (cat);
}

/* ------------------------------------------------------------------ */
/* measured data (Vidur operator profiles) — loose check                */

typedef struct {
  const char *vidur;  /* column stem */
  ModelOp     op;
  double      per_layer;  /* kernels of this op per layer in our model */
  gboolean    gemm;
} VidurOp;

static const VidurOp vidur_ops[] = {
  { "input_layernorm", MODEL_OP_NORM, 2, FALSE },
  { "attn_pre_proj", MODEL_OP_QKV, 1, TRUE },
  { "attn_rope", MODEL_OP_ROPE, 1, FALSE },
  { "attn_post_proj", MODEL_OP_ATTN_OUT, 1, TRUE },
  { "post_attention_layernorm", MODEL_OP_NORM, 2, FALSE },
  { "mlp_up_proj", MODEL_OP_MLP_UP, 1, TRUE },
  { "mlp_act", MODEL_OP_ACT, 1, FALSE },
  { "mlp_down_proj", MODEL_OP_MLP_DOWN, 1, TRUE },
  { "add", MODEL_OP_ADD, 2, FALSE },
};

static int
col_index (char **cols, const char *name)
{
  for (int i = 0; cols[i]; i++)
    if (strcmp (cols[i], name) == 0)
      return i;
  return -1;
}

/* Compares every row of a Vidur mlp.csv whose num_tokens is a power of two.
 * GEMM rows measured at >= 20 us must be within 2x; the per-layer sum of all
 * ops within 2x on every row. Prints the geometric mean ratios. */
static void
check_vidur (const char *rel, const char *gpu_id)
{
  const char *root = g_getenv ("SERVESIM_SHARED_DATA");
  char *path = root ? g_build_filename (root, rel, NULL) : NULL;
  char *text = NULL;
  if (!path || !g_file_get_contents (path, &text, NULL, NULL)) {
    printf ("\n  skipped: %s not found (set SERVESIM_SHARED_DATA)\n", rel);
    g_free (path);
    return;
  }
  ModelCatalog *cat = catalog ();
  const ModelGpu *gpu = model_catalog_gpu (cat, gpu_id, NULL);
  char **lines = g_strsplit (text, "\n", -1);
  char **cols = g_strsplit (lines[0], ",", -1);
  int c_med[G_N_ELEMENTS (vidur_ops)];
  for (guint k = 0; k < G_N_ELEMENTS (vidur_ops); k++) {
    char *nm = g_strdup_printf ("time_stats.%s.median", vidur_ops[k].vidur);
    c_med[k] = col_index (cols, nm);
    CU_ASSERT_TRUE_FATAL (c_med[k] >= 0);
    g_free (nm);
  }
  int c_nh = col_index (cols, "n_head"), c_kv = col_index (cols, "n_kv_head");
  int c_h = col_index (cols, "n_embd"), c_f = col_index (cols, "n_expanded_embd");
  int c_v = col_index (cols, "vocab_size"), c_g = col_index (cols, "use_gated_mlp");
  int c_T = col_index (cols, "num_tokens"), c_tp = col_index (cols, "num_tensor_parallel_workers");
  CU_ASSERT_TRUE_FATAL (c_nh >= 0 && c_kv >= 0 && c_h >= 0 && c_f >= 0 && c_v >= 0 && c_g >= 0
                        && c_T >= 0 && c_tp >= 0);
  double lr_sum[G_N_ELEMENTS (vidur_ops)] = { 0 }, layer_lr = 0;
  int n_rows = 0, n_gemm = 0, gemm_bad = 0, gemm_bad3 = 0, layer_bad = 0;
  for (int li = 1; lines[li]; li++) {
    if (!*lines[li])
      continue;
    char **v = g_strsplit (lines[li], ",", -1);
    int T = atoi (v[c_T]), tp = atoi (v[c_tp]);
    if (T <= 0 || (T & (T - 1)) != 0) {
      g_strfreev (v);
      continue;
    }
    gboolean gated = strcmp (v[c_g], "True") == 0;
    ModelLlm m = {
      .id = "vidur", .name = "vidur", .num_layers = 1, .hidden = atoi (v[c_h]),
      .num_heads = atoi (v[c_nh]), .num_kv_heads = atoi (v[c_kv]), .ffn = atoi (v[c_f]),
      .vocab = atoi (v[c_v]), .gated_mlp = gated, .norm = gated ? "rmsnorm" : "layernorm",
      .activation = gated ? "silu" : "gelu", .weight_dtype = "fp16", .bytes_per_param = 2,
      .max_context = 4096, .source = "vidur",
    };
    m.head_dim = m.hidden / m.num_heads;
    ModelCost c;
    model_cost_init (&c, &m, gpu, tp);
    ModelSeqWork w = { T, 0 };
    ModelIterCost it;
    model_cost_iteration (&c, &w, 1, &it);
    double meas_layer = 0, pred_layer = 0;
    for (guint k = 0; k < G_N_ELEMENTS (vidur_ops); k++) {
      const VidurOp *o = &vidur_ops[k];
      double meas = g_ascii_strtod (v[c_med[k]], NULL) * 1e-3;
      double pred = it.op[o->op].time_s / it.op[o->op].count;  /* one kernel */
      double mult = (o->op == MODEL_OP_NORM) ? 1 : o->per_layer;
      meas_layer += meas * mult;
      pred_layer += pred * mult;
      lr_sum[k] += log (pred / meas);
      if (o->gemm && meas >= 20e-6) {
        n_gemm++;
        if (pred / meas < 1.0 / 3 || pred / meas > 3)
          gemm_bad3++;
        if (pred / meas < 0.5 || pred / meas > 2) {
          gemm_bad++;
          printf ("\n  %s T=%d tp=%d %s: measured %.4f ms, predicted %.4f ms", rel, T, tp,
                  o->vidur, meas * 1e3, pred * 1e3);
        }
      }
    }
    double r = pred_layer / meas_layer;
    layer_lr += log (r);
    if (r < 0.5 || r > 2) {
      layer_bad++;
      printf ("\n  %s T=%d tp=%d layer: measured %.4f ms, predicted %.4f ms", rel, T, tp,
              meas_layer * 1e3, pred_layer * 1e3);
    }
    n_rows++;
    g_strfreev (v);
  }
  printf ("\n  %s on %s: %d rows; predicted/measured geometric means:", rel, gpu_id, n_rows);
  for (guint k = 0; k < G_N_ELEMENTS (vidur_ops); k++)
    printf (" %s %.2f", vidur_ops[k].vidur, exp (lr_sum[k] / n_rows));
  printf ("; layer %.2f; GEMM rows >= 20us outside 2x: %d of %d\n", exp (layer_lr / n_rows),
          gemm_bad, n_gemm);
  /* The roofline max() is sharpest near the ridge point: small GEMMs at high
   * tp (10-30 us measured) come out up to ~2.5x fast. Allow 2% of such rows
   * outside 2x, none outside 3x; docs/cost-model.md lists them. */
  CU_ASSERT_TRUE (n_rows >= 40);
  CU_ASSERT_TRUE (gemm_bad <= n_gemm / 50 + 1);
  CU_ASSERT_EQUAL (gemm_bad3, 0);
  CU_ASSERT_EQUAL (layer_bad, 0);
  g_strfreev (cols);
  g_strfreev (lines);
  g_free (text);
  g_free (path);
  model_catalog_free (cat);
}

static void
test_vidur_h100 (void)
{
  check_vidur ("profiles/vidur/compute/h100/meta-llama/Llama-2-7b-hf/mlp.csv", "h100-sxm");
  check_vidur ("profiles/vidur/compute/h100/codellama/CodeLlama-34b-Instruct-hf/mlp.csv", "h100-sxm");
}

static void
test_vidur_a100 (void)
{
  check_vidur ("profiles/vidur/compute/a100/meta-llama/Meta-Llama-3-8B/mlp.csv", "a100-80gb");
  check_vidur ("profiles/vidur/compute/a100/meta-llama/Llama-2-70b-hf/mlp.csv", "a100-80gb");
}

/* Vidur's FlashAttention timings for Llama-2-70B at tp 2 on an A100. Large
 * problems (decode batches with >= 32k cached tokens in all, prefill chunks of
 * >= 1024 tokens over at least as much context) must be within 2x; smaller
 * ones run well below the assumed efficiency and are only reported. */
static void
test_vidur_attention (void)
{
  const char *root = g_getenv ("SERVESIM_SHARED_DATA");
  char *path = root ? g_build_filename (root, "profiles/vidur/compute/"
                                        "a100-attention-llama2-70b-tp2/attention.csv", NULL) : NULL;
  char *text = NULL;
  if (!path || !g_file_get_contents (path, &text, NULL, NULL)) {
    printf ("\n  skipped: Vidur attention.csv not found (set SERVESIM_SHARED_DATA)\n");
    g_free (path);
    return;
  }
  ModelCatalog *cat = catalog ();
  ModelCost c;
  model_cost_init (&c, model_catalog_llm (cat, "llama-2-70b", NULL),
                   model_catalog_gpu (cat, "a100-80gb", NULL), 2);
  char **lines = g_strsplit (text, "\n", -1);
  char **cols = g_strsplit (lines[0], ",", -1);
  int c_dec = col_index (cols, "time_stats.attn_decode.median");
  int c_pre = col_index (cols, "time_stats.attn_prefill.median");
  int c_b = col_index (cols, "batch_size"), c_q = col_index (cols, "prefill_chunk_size");
  int c_k = col_index (cols, "kv_cache_size"), c_is = col_index (cols, "is_prefill");
  CU_ASSERT_TRUE_FATAL (c_dec >= 0 && c_pre >= 0 && c_b >= 0 && c_q >= 0 && c_k >= 0 && c_is >= 0);
  double lr[2] = { 0 }, lr_big[2] = { 0 };
  int n[2] = { 0 }, n_big[2] = { 0 }, bad = 0;
  ModelSeqWork *w = g_new (ModelSeqWork, 512);
  for (int li = 1; lines[li]; li++) {
    if (!*lines[li])
      continue;
    char **v = g_strsplit (lines[li], ",", -1);
    gboolean pre = strcmp (v[c_is], "True") == 0;
    int B = atoi (v[c_b]), q = atoi (v[c_q]), k = atoi (v[c_k]);
    double meas = g_ascii_strtod (v[pre ? c_pre : c_dec], NULL) * 1e-3;
    int nseq = pre ? 1 : MIN (B, 512);
    for (int i = 0; i < nseq; i++)
      w[i] = (ModelSeqWork) { pre ? q : 1, k };
    ModelIterCost it;
    model_cost_iteration (&c, w, nseq, &it);
    const ModelOpCost *o = &it.op[pre ? MODEL_OP_ATTN_PREFILL : MODEL_OP_ATTN_DECODE];
    double r = (o->time_s / o->count) / meas;
    gboolean big = pre ? (q >= 1024 && k >= q) : ((double) B * k >= 32768);
    lr[pre] += log (r);
    n[pre]++;
    if (big) {
      lr_big[pre] += log (r);
      n_big[pre]++;
      if (r < 0.5 || r > 2) {
        bad++;
        printf ("\n  attention %s B=%d q=%d ctx=%d: measured %.4f ms, predicted %.4f ms",
                pre ? "prefill" : "decode", B, q, k, meas * 1e3, meas * r * 1e3);
      }
    }
    g_strfreev (v);
  }
  printf ("\n  Vidur A100 attention (llama-2-70b tp2), predicted/measured geometric means: "
          "prefill %.2f (%d rows; large %.2f, %d rows), decode %.2f (%d rows; large %.2f, %d rows)\n",
          exp (lr[1] / n[1]), n[1], exp (lr_big[1] / n_big[1]), n_big[1],
          exp (lr[0] / n[0]), n[0], exp (lr_big[0] / n_big[0]), n_big[0]);
  CU_ASSERT_TRUE (n_big[0] > 1000 && n_big[1] > 100);
  CU_ASSERT_EQUAL (bad, 0);
  g_free (w);
  g_strfreev (cols);
  g_strfreev (lines);
  g_free (text);
  g_free (path);
  model_catalog_free (cat);
}

/* Not a benchmark: a guard that the per-iteration path stays cheap (no
 * allocation, one pass) — a million decode sequences cost well under a second. */
static void
test_speed (void)
{
  ModelCost c;
  model_cost_init (&c, &tiny, &toy, 2);
  enum { N = 256 };
  ModelSeqWork w[N];
  for (int i = 0; i < N; i++)
    w[i] = (ModelSeqWork) { 1, 100 + i };
  gint64 t0 = g_get_monotonic_time ();
  double acc = 0;
  for (int r = 0; r < 4000; r++) {
    ModelIterCost it;
    w[r % N].ctx++;
    model_cost_iteration (&c, w, N, &it);
    acc += it.total_s;
  }
  gint64 us = g_get_monotonic_time () - t0;
  CU_ASSERT_TRUE (acc > 0);
  CU_ASSERT_TRUE (us < 5 * G_USEC_PER_SEC);   /* generous: valgrind runs this too */
}

int
main (void)
{
  /* the toy GPU carries the generic default profile, as a catalog GPU with
   * no calibrated GPU loaded would */
  model_cost_params_default (&toy.profile);
  static const TestCase cases[] = {
    { "GEMM formulas and op names", test_gemm_formulas },
    { "GEMM large tiles (Hopper)", test_gemm_big_tile },
    { "GEMM fitted tiles, warm L2, per-tile bandwidth", test_gemm_fit_cache_cta },
    { "prefill key splitting: legacy and FlashAttention-2", test_prefill_split },
    { "FlashAttention head sizes: 80 runs as 96", test_fa_head_size },
    { "prefill scheduled as FlashAttention-2 launches it", test_prefill_scheduled },
    { "tiny model prefill by hand", test_tiny_prefill },
    { "tiny model decode by hand", test_tiny_decode },
    { "split-KV decode by hand", test_decode_split_kv },
    { "element-wise row waves", test_elem_row_waves },
    { "norm kernels per layer", test_norms_per_layer },
    { "learned positions (OPT)", test_learned_positions },
    { "Qwen3 q/k norms", test_qk_norm },
    { "sliding-window attention", test_sliding_window },
    { "RoPE thread-block geometry", test_rope_blocks },
    { "RoPE sectors per byte used", test_rope_sectors },
    { "tables, interpolated smax and the memos agree with computing", test_fast_paths_agree },
    { "kernel variants: row term, norm/act classes, GEMM roles", test_kernel_variants },
    { "tensor parallelism", test_tp },
    { "mixture of experts", test_moe },
    { "prefill time monotone", test_prefill_monotone },
    { "llama-3.1-8b magnitudes", test_sane_magnitudes },
    { "memory plan", test_memory_plan },
    { "Vidur H100 operator times (loose)", test_vidur_h100 },
    { "Vidur A100 operator times (loose)", test_vidur_a100 },
    { "Vidur A100 attention times (loose)", test_vidur_attention },
    { "per-iteration cost is cheap", test_speed },
    { NULL, NULL }
  };
  return test_run_suite ("models/cost", cases);
}
