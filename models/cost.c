/* models/cost.c — cost model v2: per-operator FLOPs, bytes and time of one
 * model iteration on one tensor-parallel rank, and the per-GPU memory plan.
 *
 * Every operator's FLOPs and bytes come from the layer shapes (the formulas are
 * listed in docs/cost-model.md and are the ones the reference kernels are
 * checked against: do not change them to improve a time). Times come from the
 * GPU's device profile: GEMMs by tile/wave quantisation with split-K and a
 * smooth max of compute and memory time, prefill attention by FlashAttention
 * query tiles per head, decode attention as a KV-cache read with per-sequence
 * and per-block costs, element-wise kernels as bytes over bandwidth plus a
 * floor, the TP all-reduce from models/comm.c, and a linear CPU overhead.
 * Shape-dependent values and the GEMM/all-reduce times for up to
 * MODEL_COST_TABLE tokens are precomputed at init; the per-iteration function
 * allocates nothing and touches each sequence once. It does not own catalogs
 * or profiles (models/catalog.c, models/profile.c), fitting (models/calibrate.c)
 * or scheduling.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/cost.h"
#include "models/comm.h"

static const char *const op_names[MODEL_OP_COUNT] = {
  [MODEL_OP_EMBED] = "embed",
  [MODEL_OP_NORM] = "norm",
  [MODEL_OP_QKV] = "qkv",
  [MODEL_OP_QK_NORM] = "qk_norm",
  [MODEL_OP_ROPE] = "rope",
  [MODEL_OP_KV_WRITE] = "kv_write",
  [MODEL_OP_ATTN_PREFILL] = "attn_prefill",
  [MODEL_OP_ATTN_DECODE] = "attn_decode",
  [MODEL_OP_ATTN_OUT] = "attn_out",
  [MODEL_OP_MOE_ROUTE] = "moe_route",
  [MODEL_OP_MLP_UP] = "mlp_up",
  [MODEL_OP_ACT] = "act",
  [MODEL_OP_MLP_DOWN] = "mlp_down",
  [MODEL_OP_MOE_SUM] = "moe_sum",
  [MODEL_OP_ADD] = "add",
  [MODEL_OP_FINAL_NORM] = "final_norm",
  [MODEL_OP_LM_HEAD] = "lm_head",
  [MODEL_OP_ALLREDUCE] = "allreduce",
  [MODEL_OP_LOGITS_GATHER] = "logits_gather",
};

const char *
model_op_name (ModelOp op)
{
  g_return_val_if_fail ((int) op >= 0 && op < MODEL_OP_COUNT, NULL);
  return op_names[op];
}

double
model_gemm_flops (double m, double n, double k)
{
  return 2.0 * m * n * k;
}

double
model_gemm_bytes (double m, double n, double k, int dtype_bytes)
{
  return (m * k + k * n + m * n) * dtype_bytes;
}

/* ------------------------------------------------------------------ */
/* per-rank shapes                                                     */

typedef ModelCostShape Shape;

static double
kv_per_rank (int nkv, int tp)
{
  return nkv >= tp ? (double) (nkv / tp) : 1.0;
}

static void
shape_of (const ModelCost *c, Shape *s)
{
  const ModelLlm *m = c->llm;
  double tp = c->tp;
  gboolean ln = strcmp (m->norm, "layernorm") == 0;
  s->L = m->num_layers;
  s->h = m->hidden;
  s->d = m->head_dim;
  /* FlashAttention-2 is compiled for head sizes 32, 64, ..., 192 and 256 and
   * runs the next one up (flash_api.cpp, head_size_rounded): phi-2's 80 runs
   * the 96 kernel, whose tiles cost what 96 costs. Measured (H100 and H200,
   * measurements/heldout): with the real 80, prefill came out 12% and decode
   * 7-9% fast, and with 96 within 2%. Decode's KV read is priced at 96
   * too: the split-KV kernel's 96-wide tile pipeline, not the DRAM bytes,
   * sets its pace (the counted bytes stay the real head size's). A profile
   * without FlashAttention's query tiles (attn_tile_q 1: a CPU) runs the
   * real head size. */
  s->d_fa = c->params.attn_tile_q <= 1 ? s->d
            : m->head_dim <= 192 ? ceil (m->head_dim / 32.0) * 32 : 256;
  s->nh_r = m->num_heads / tp;
  s->kv_r = kv_per_rank (m->num_kv_heads, c->tp);
  s->f_r = m->ffn / tp;
  s->vocab_r = m->vocab / tp;
  s->up_r = (m->gated_mlp ? 2 : 1) * s->f_r;
  s->E = m->num_experts > 1 ? m->num_experts : 0;
  s->k = m->num_experts > 1 ? m->top_k : 1;
  s->wb = m->bytes_per_param;
  s->ab = m->bytes_per_param >= 4 ? 4 : 2;
  s->rot = m->rotary_dim > 0 ? m->rotary_dim : s->d;
  s->rope_sect = model_rope_sector_ratio_rot (s->d, s->rot, s->ab);
  s->kvb = c->params.kv_dtype_bytes > 0 ? c->params.kv_dtype_bytes : 2;
  s->norm_w = ln ? 2 * s->h : s->h;
  s->norm_flops = ln ? 7 : 4;
  s->norm_cls = ln ? MODEL_ELEM_LAYERNORM : MODEL_ELEM_NORM;
  s->act_cls = m->gated_mlp ? MODEL_ELEM_ACT : MODEL_ELEM_ACT_PLAIN;
  if (strcmp (m->activation, "gelu") == 0)
    s->act_flops = 8;
  else if (strcmp (m->activation, "relu") == 0)
    s->act_flops = 1;
  else
    s->act_flops = 4;
  if (m->gated_mlp)
    s->act_flops += 1;
  s->norms = model_llm_norms (m);
  s->qk_norm = m->qk_norm;
  s->learned_pos = m->learned_positions;
  s->win = m->sliding_window > 0 ? m->sliding_window : 0;
}

/* ------------------------------------------------------------------ */
/* time models                                                         */

/* Smooth maximum (a^p + b^p)^(1/p): near the ridge point compute and memory
 * time overlap imperfectly, which a plain max() misses. Written as
 * m (1 + r^p)^(1/p) with m the larger term and r the ratio of the smaller:
 * two pow calls, and the same results as the three-pow form (the larger
 * term's own ratio is exactly 1). p = 1 is the plain sum. With a ModelCost
 * whose table (model_cost_set_params, `which` = 0: dec_sharp, 1: gemm_sharp)
 * holds p, the factor comes from that table by cubic Hermite interpolation
 * (the simulator's decode waves); with c NULL or another p it is computed
 * (the calibrator). Comparisons rather than fmax/fmin, which are library
 * calls at -O2; both terms are > 0 there. */
static inline double
smax_c (const ModelCost *c, int which, double a, double b, double p)
{
  if (a <= 0)
    return b;
  if (b <= 0)
    return a;
  double m = a > b ? a : b, r = (a > b ? b : a) / m;
  if (p == 1)
    return m * (1 + r);
  if (!c || c->smax_p[which] != p)
    return m * pow (1 + pow (r, p), 1.0 / p);
  double x = r * MODEL_COST_SMAX_N;
  int i = (int) x;
  if (i >= MODEL_COST_SMAX_N)
    i = MODEL_COST_SMAX_N - 1;
  double u = x - i, h = 1.0 / MODEL_COST_SMAX_N;
  const double *f0 = c->smax_f[which][i], *f1 = c->smax_f[which][i + 1];
  double u2 = u * u, u3 = u2 * u;
  return m * ((2 * u3 - 3 * u2 + 1) * f0[0] + (u3 - 2 * u2 + u) * h * f0[1]
              + (-2 * u3 + 3 * u2) * f1[0] + (u3 - u2) * h * f1[1]);
}

static inline double
smax (double a, double b, double p)
{
  return smax_c (NULL, 0, a, b, p);
}

static void
smax_tabulate (ModelCost *c, int which, double p)
{
  c->smax_p[which] = p;
  for (int i = 0; i <= MODEL_COST_SMAX_N; i++) {
    double r = (double) i / MODEL_COST_SMAX_N, rp = pow (r, p);
    c->smax_f[which][i][0] = pow (1 + rp, 1 / p);
    /* d/dr (1 + r^p)^(1/p) = r^(p-1) (1 + r^p)^(1/p - 1) */
    c->smax_f[which][i][1] = i == 0 ? (p > 1 ? 0 : 1) : pow (r, p - 1) * pow (1 + rp, 1 / p - 1);
  }
}

static inline double
num_sms (const ModelGpu *g)
{
  return g->num_sms > 0 ? g->num_sms : 108;
}

/* The share of `bytes` still read from memory when a working set up to
 * about `edge` bytes stays in L2 between repeated calls (gain = how much
 * faster L2 serves it, sharp = how steep the edge): (1/gain + r)/(1 + r) with
 * r = (bytes/edge)^sharp. Shared by the GEMM and element-wise models. */
static inline double
l2_share (double bytes, double gain, double edge, double sharp)
{
  double r = sharp == 1 ? bytes / edge : pow (bytes / edge, sharp);
  return (1 / gain + r) / (1 + r);
}

/* A GEMM's compute time under the power limiter's clock drop (see
 * model_time_gemm_role): half of gemm_clock_drop at gemm_clock_tau_s. */
static inline double
clock_dropped (const ModelCostParams *p, double t)
{
  return t * (1 + p->gemm_clock_drop * t / (t + p->gemm_clock_tau_s));
}

double
model_time_gemm (const ModelCostParams *p, const ModelGpu *g, double m, double n, double k,
                 int wb)
{
  return model_time_gemm_role (p, g, m, n, k, wb, MODEL_GEMM_IN);
}

double
model_time_gemm_role (const ModelCostParams *p, const ModelGpu *g, double m, double n, double k,
                      int wb, ModelGemmRole role)
{
  g_return_val_if_fail (p != NULL && g != NULL, 0);
  if (!(m > 0 && n > 0 && k > 0))
    return 0;
  const double S = num_sms (g);
  const double peak = wb == 1 && g->flops_fp8 > 0 ? g->flops_fp8 : g->flops_bf16;
  /* FLOP/s of one SM on a full tile. The projections that read the attention
   * or activation output run at their own rate: on a power-capped GPU a
   * tensor-core GEMM's clock depends on its operands' switching activity, and
   * those inputs (averages of values; SiLU(x) * y) toggle fewer bits than the
   * normalised hidden state (measured H100: the down projection reaches ~850
   * TFLOP/s where QKV and up reach ~700 at the same sizes; A100 shows no such
   * gap) */
  const double role_rate = role == MODEL_GEMM_DOWN ? p->gemm_rate_down
                           : role == MODEL_GEMM_OUT ? p->gemm_rate_out : 1.0;
  const double rate = peak / S * p->gemm_eff * role_rate;
  /* cuBLAS picks among tile shapes; we take the fastest of four, each with
   * wave quantisation and split-K when the grid leaves SMs idle. Tile sides
   * are 128 or gemm_tile_min (64 on GPUs: the same four shapes as before the
   * parameter existed; 1 on a CPU, where a 1-row GEMM is not a 64-row tile) */
  const double t0 = p->gemm_tile_min;
  double tiles[6][2] = { { 128, 128 }, { 128, t0 }, { t0, 128 }, { t0, t0 } };
  guint ntiles = 4;
  /* Newer cuBLAS (the nvjet kernels of CUDA 12.8 on) also has tiles whose
   * token side fits the token count in steps of gemm_tile_fit rows, up to
   * 256: measured H200 output projection of Llama-2-70B at TP 8 runs 64x8,
   * 64x16, ... 64x56, then 128x40 ... 128x120 tiles as the tokens grow, so
   * its time has no 128-token steps (the fixed shapes predicted +20-37% at
   * 144 and 288 tokens). The feature side stays 128 or gemm_tile_min. */
  if (p->gemm_tile_fit > 0) {
    double fit = fmin (256, ceil (m / p->gemm_tile_fit) * p->gemm_tile_fit);
    tiles[ntiles][0] = fit;
    tiles[ntiles++][1] = 128;
    tiles[ntiles][0] = fit;
    tiles[ntiles++][1] = t0;
  }
  /* Hopper's warp-specialised kernels (two consumer warpgroups of wgmma) run
   * 128x256 tiles, the long side along the larger output dimension, and
   * cuBLAS's heuristic takes them whenever their grid still fills the SMs,
   * not only where they would be the fastest: measured H100 series step
   * every 512 tokens (CodeLlama-34B down projection at TP 4: 768 and 1024
   * tokens take the same time, 1280 and 1536 too), 256-row tiles in whole
   * waves. Smaller grids keep the choice among the four shapes below. */
  const double tb = fmax (128, p->gemm_tile_max);
  if (tb > 128) {
    double bm = n > m ? 128 : tb, bn = n > m ? tb : 128;
    if (ceil (m / bm) * ceil (n / bn) >= S) {
      tiles[0][0] = bm;
      tiles[0][1] = bn;
      ntiles = 1;
    }
  }
  /* split-K is not free: each of the s slices writes an m x n fp32 partial
   * that a reduction reads back (2 x 4 bytes per output element per slice),
   * at the GEMM's memory efficiency. Measured H100 QKV at 256-768 tokens
   * ran 20% slower than a free split predicted. So the split is chosen, among
   * 1, 2, 4, ... and the largest that fills the SMs, for the least total. */
  const double ws_rate = g->mem_bw * p->gemm_mem_eff;
  /* the measurement's repeated calls find a working set that fits in L2
   * there: up to gemm_cache_gain faster (the calibrator; ModelCost, the
   * simulator, sets the gain to 1) */
  double bytes = model_gemm_bytes (m, n, k, wb);
  if (p->gemm_cache_gain > 1)
    bytes *= l2_share (bytes, p->gemm_cache_gain, p->gemm_cache_bytes, p->gemm_cache_sharp);
  const double tmem = bytes / ws_rate;
  /* A grid of few tiles cannot draw the whole bandwidth: each tile streams
   * at most gemm_cta_bw (measured H200: phi-2's QKV at TP 8, a 960-wide
   * output in 15 tiles of 64, ran 1.5-2x slower than the bandwidth allows).
   * Then the memory time depends on the tile and the split, and the
   * candidate with the least combined time wins. Without the cap the least
   * compute time is combined once with the memory time after the loop: the
   * same result, since the clock drop and the smooth max only grow with it. */
  const gboolean cap = p->gemm_cta_bw > 0;
  double tc = INFINITY, best = INFINITY;
  for (guint i = 0; i < ntiles; i++) {
    double tm = tiles[i][0], tn = tiles[i][1];
    double nt = ceil (m / tm) * ceil (n / tn);
    double smax_k = nt < S ? fmax (1, fmin (floor (S / nt), floor (k / p->gemm_split_k))) : 1;
    double pen = (tm < 128 ? p->gemm_small_tile : 1) * (tn < 128 ? p->gemm_small_tile : 1);
    for (double split = 1;; split = fmin (split * 2, smax_k)) {
      double w = nt * split / S;
      double waves = w + p->gemm_wave * (ceil (w - 1e-9) - w);
      double t = waves * 2 * tm * tn * (ceil (k / split) + p->gemm_k0) / rate * pen
                 + (split > 1 ? split * m * n * 8 / ws_rate : 0);
      if (t < tc)
        tc = t;
      if (cap) {
        t = clock_dropped (p, t);
        double mt = fmax (tmem, bytes / (fmin (nt * split, S) * p->gemm_cta_bw));
        if (fmax (t, mt) < best) {
          double c = smax (t, mt, p->gemm_sharp);
          if (c < best)
            best = c;
        }
      }
      if (split >= smax_k)
        break;
    }
  }
  if (cap)
    return p->gemm_floor_s + best;
  /* Clock under sustained load: a short GEMM runs at the boost clock, a
   * long one long enough for the power limiter to pull the clock down
   * (tensor cores at full rate exceed the board power at boost). The drop
   * phases in with the compute time, half of it at gemm_clock_tau_s.
   * Measured: long GEMMs reach fewer FLOP/s than short ones of the same
   * tile efficiency on both GPUs (H100 down projection at 4,096 tokens:
   * ~790 TFLOP/s at 170 us (CodeLlama-34B TP 8), ~680 at 1.6 ms (TP 1)). */
  return p->gemm_floor_s + smax (clock_dropped (p, tc), tmem, p->gemm_sharp);
}

void
model_rope_blocks (double nq, double nk, double ab, double *per_sm, double *row_bytes)
{
  /* vLLM's rotary_embedding_kernel: grid = tokens, block = min(nq, 512)
   * threads, each thread rotating one (x_i, x_i+d/2) pair of a query head in
   * a loop over the nq pairs, then of a key head over the nk. An SM holds
   * 2,048 threads (Ampere, Hopper): 4 blocks of 512, 8 of 256. A block lives
   * for its loop's iterations, partial ones included (phi-2, head size 80:
   * 1,280 pairs = 2.5 iterations run as 3). */
  double B = fmin (fmax (nq, 1), 512);
  if (per_sm)
    *per_sm = fmin (floor (2048 / B), 32);
  if (row_bytes)
    *row_bytes = (ceil (nq / B - 1e-9) + ceil (nk / B - 1e-9)) * B * 2 * ab * 2;
}

static int
gcd_int (int a, int b)
{
  while (b) {
    int t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* sectors one warp-wide access to elements [o0, o1] of a half-head touches */
static int
span_sectors (int base, int o0, int o1, int ab)
{
  return (base + (o1 + 1) * ab - 1) / 32 - (base + o0 * ab) / 32 + 1;
}

double
model_rope_sector_ratio (double d, double ab)
{
  return model_rope_sector_ratio_rot (d, d, ab);
}

double
model_rope_sector_ratio_rot (double d, double rot, double ab)
{
  /* vLLM's NeoX-style kernel: thread i of the loop rotates the pair
   * (x_off, x_off+e) of head i / e at offset i % e, e = rot / 2 (d / 2 for
   * a whole head; heads are d elements apart), so a warp's
   * 32 threads load and store 32 consecutive offsets of the first halves,
   * then of the second halves, split where they cross a head. The memory
   * system moves whole 32-byte sectors: at head size 128 (e = 64, bf16) a
   * warp's access is two aligned sectors, at 80 (phi-2) the halves start
   * at 80-byte offsets and a warp touches 1.4x the sectors it uses. The
   * pattern repeats after lcm(32, e) pairs and heads whose bytes realign
   * to 32: one period is counted. */
  if (!(d >= 2 && d <= 65536 && rot >= 2 && rot <= d && ab >= 1 && ab <= 64))
    return 1;
  const int e = (int) (rot / 2), eb = (int) ab;
  const int hb = (int) d * eb;  /* bytes per head */
  int period = 32 / gcd_int (32, e) * e;                   /* lcm (32, e) */
  const int realign = e * (32 / gcd_int (hb, 32));          /* pairs until a head starts on a sector again */
  period = period / gcd_int (period, realign) * realign;
  if (period > 1 << 16)
    return 1;
  long used = 0, touched = 0;
  for (int w = 0; w < period; w += 32)
    for (int half = 0; half < 2; half++) {
      int i = w;
      while (i < w + 32) {
        const int h = i / e, o0 = i % e;
        const int o1 = MIN (e - 1, o0 + (w + 32 - i) - 1);
        touched += span_sectors (h * hb + half * e * eb, o0, o1, eb);
        used += (o1 - o0 + 1) * eb;
        i += o1 - o0 + 1;
      }
    }
  return used > 0 ? fmax (1, touched * 32.0 / (double) used) : 1;
}

double
model_time_rope (const ModelCostParams *p, const ModelGpu *g, double rows, double nq, double nk,
                 double sect, double ab)
{
  double per_sm, row;
  model_rope_blocks (nq, nk, ab, &per_sm, &row);
  /* each pair is read and written: 2 elements, twice; rope_sector_w of the
   * transfer goes at the sectors requested (sect of the bytes used) */
  const double k = 1 + p->rope_sector_w * (fmax (sect, 1) - 1);
  return model_time_elem_blocks (p, g, MODEL_ELEM_ROPE, 4 * ab * rows * (nq + nk) * k, rows, 0,
                                 per_sm, row);
}

double
model_time_elem_rows (const ModelCostParams *p, const ModelGpu *g, ModelElemClass cls,
                      double bytes, double rows, double fixed_bytes)
{
  return model_time_elem_blocks (p, g, cls, bytes, rows, fixed_bytes, 0, 0);
}

/* model_time_elem_blocks, with the per-row fixed work scaled by row_scale */
static double
elem_time (const ModelCostParams *p, const ModelGpu *g, ModelElemClass cls, double bytes,
           double rows, double fixed_bytes, double per_sm, double blk_row_bytes, double row_scale)
{
  const double per_wave = num_sms (g) * (per_sm > 0 ? per_sm : p->elem_wave_rows[cls]);
  /* the launch floor hides the first bytes: a smooth max, not a sum; small
   * working sets come from L2 (the measurements repeat the kernel on the same
   * data, and in a forward pass the producer just wrote it), faster by up to
   * elem_cache_gain */
  /* with steepness k: (cb^k / gain + b^k) / (cb^k + b^k), scaled by cb to
   * stay in range; k = 1 is the original rational form */
  double cache = l2_share (bytes, p->elem_cache_gain[cls], p->elem_cache_bytes[cls],
                           p->elem_cache_sharp[cls]);
  double moved = bytes;
  /* vLLM's norm, RoPE and activation kernels run one thread block per token
   * row: a fraction elem_row_wave of the transfer runs in whole waves of
   * S x elem_wave_rows rows (measured A100 RMSNorm times step up by 2-4 us
   * after 216, 432 and 648 tokens: 108 SMs x 2 blocks of 1024 threads, and
   * stay nearly flat in between), i.e. as if the rows were rounded up to
   * whole waves. Only the per-row bytes are rounded (a norm's weights are
   * read once), so the time never falls as rows grow. Nothing changes when
   * the parameter is 0. */
  double a = p->elem_row_wave[cls];
  if (a > 0 && rows > 0) {
    double full = ceil (rows / per_wave - 1e-9) * per_wave;
    moved = bytes + a * (bytes - fixed_bytes) / rows * (full - rows);
  }
  /* each row (thread block) also has fixed work that does not scale with its
   * bytes: reductions, index and cos/sin set-up; amortised over the SMs */
  double t = cache * moved / (g->mem_bw * p->elem_bw_eff[cls])
             + (rows > 0 ? rows * p->elem_row_s[cls] * row_scale : 0);
  /* One block per row walks its row in a loop of dependent loads and a
   * reduction, at elem_blk_bw at most: a wave of rows lasts at least one
   * row's bytes (with the weights every block reads) at that rate, however
   * wide the memory system. Measured H200 (PyTorch's RMSNorm), 1-16 tokens:
   * 4.1 us at hidden 4,096 and 7.0 us at 8,192, where the bytes take 0.02. */
  if (p->elem_blk_bw[cls] > 0 && rows > 0) {
    double waves = ceil (rows / per_wave - 1e-9);
    double row = blk_row_bytes > 0 ? blk_row_bytes : (bytes - fixed_bytes) / rows + fixed_bytes;
    t = smax (t, waves * row / p->elem_blk_bw[cls], p->elem_sharp[cls]);
  }
  return smax (p->elem_floor_s[cls], t, p->elem_sharp[cls]);
}

double
model_time_elem_blocks (const ModelCostParams *p, const ModelGpu *g, ModelElemClass cls,
                        double bytes, double rows, double fixed_bytes,
                        double per_sm, double blk_row_bytes)
{
  g_return_val_if_fail (p != NULL && g != NULL, 0);
  g_return_val_if_fail ((int) cls >= 0 && cls < MODEL_ELEM_COUNT, 0);
  return elem_time (p, g, cls, bytes, rows, fixed_bytes, per_sm, blk_row_bytes, 1);
}

/* vLLM's rms_norm kernel launches one block per row of min(d, 1024) threads
 * (a whole number of warps). A hidden-size row's 1,024 threads leave room
 * for elem_wave_rows (2) blocks on an SM; Qwen3's 128-element head rows run
 * blocks of 128 threads, 16 to an SM (2,048 threads; at most 32 blocks).
 * The norm class's fitted rates apply, with waves of that many rows, and the
 * per-row fixed work (the reduction; elem_row_s, amortised over the blocks
 * an SM holds) divided over the extra blocks resident. No data time a
 * per-head norm: this is the norm class's model at another geometry, not a
 * fit. */
double
model_time_head_norm (const ModelCostParams *p, const ModelGpu *g, double rows, double d,
                      double ab, double wb)
{
  g_return_val_if_fail (p != NULL && g != NULL, 0);
  if (rows <= 0 || d <= 0)
    return 0;
  double threads = ceil (fmin (d, 1024) / 32) * 32;
  double per_sm = fmin (32, floor (2048 / threads));
  double base = p->elem_wave_rows[MODEL_ELEM_NORM] > 0 ? p->elem_wave_rows[MODEL_ELEM_NORM] : per_sm;
  return elem_time (p, g, MODEL_ELEM_NORM, 2 * rows * d * ab + d * wb, rows, d * wb, per_sm, 0,
                    fmin (1, base / per_sm));
}

double
model_time_elem (const ModelCostParams *p, const ModelGpu *g, ModelElemClass cls, double bytes)
{
  return model_time_elem_rows (p, g, cls, bytes, 0, 0);
}

/* Prefill chunks of one iteration the scheduled prefill handles; an
 * iteration with more is priced by the closed form. */
#define ATTN_SCHED_SEQS 16
/* ... or one head's blocks more than this (64 KB on the stack): 16,384
 * tokens in 128-row tiles over 64 heads */
#define ATTN_SCHED_UNITS 8192

/* Attention work of one iteration, gathered in the single pass over sequences. */
typedef struct {
  double pre_f, pre_b, dec_f, dec_b;  /* counted FLOPs and bytes */
  double pre_work;   /* FLOPs as FlashAttention tiles run them (attn_tile_q queries x keys seen) */
  double pre_wmax;   /* the longest (query tile, head) unit */
  double pre_kmax;   /* the key range of the longest unit's sequence (all of it under a window) */
  double pre_units;  /* (query tile, head) units */
  gint64 dec_seqs, dec_keys, dec_kmax;  /* integers: exact sums (keys inside a sliding window) */
  gint64 dec_kfull;  /* the longest decode context, window or not (the launch's key blocks) */
  gboolean any_pre, any_dec;
  /* the prefill chunks themselves, for the scheduled prefill (attn_pair_gain
   * > 0); pre_n counts all of them, the first ATTN_SCHED_SEQS are kept */
  int    pre_n;
  gint64 pre_q[ATTN_SCHED_SEQS], pre_c[ATTN_SCHED_SEQS];
} AttnAcc;

/* Zero everything but the chunk lists, of which only the first pre_n
 * entries are read (zeroing them too took 55 M of benchmark (b)'s 6.0 G
 * instructions) */
static inline void
attn_acc_init (AttnAcc *a)
{
  memset (a, 0, offsetof (AttnAcc, pre_q));
}

static inline double dec_tile_keys (double d);

/* The first key the query tile whose first query sits at position `pos`
 * reads under a sliding window: FlashAttention-2 starts the tile's key walk
 * at the key block (kBlockN keys) holding that query's first key (its
 * n_block_min); 0 without a window. */
static inline double
win_first_key (const Shape *s, double pos)
{
  if (s->win <= 0 || pos < s->win)
    return 0;
  const double kb = dec_tile_keys (s->d_fa);
  return floor ((pos - s->win + 1) / kb) * kb;
}

/* `causal` and `tile` are the profile's attn_causal and attn_tile_q (queries
 * per tile: 64 in the FlashAttention-2 split-KV kernel that serves prefill
 * over a paged cache, flash_attn_with_kvcache at head size 128; 1 on a CPU). */
static inline void
attn_add (AttnAcc *a, const Shape *s, double causal, double tile, double win, gint64 qi, gint64 ci)
{
  if (qi == 1 && ci > 0) {
    /* integer sums only (the hot case); FLOPs and bytes follow after the pass */
    gint64 keys = ci + 1;
    if (win > 0) {   /* attn_finish sets dec_kfull otherwise */
      if (keys > a->dec_kfull)
        a->dec_kfull = keys;
      if (keys > (gint64) win)
        keys = (gint64) win;
    }
    a->dec_seqs += 1;
    a->dec_keys += keys;
    if (keys > a->dec_kmax)
      a->dec_kmax = keys;
  } else {
    double q = (double) qi, ctx = (double) ci, W = win;
    gboolean windowed = W > 0 && ctx + q > W;
    /* causal: new token j (0-based) sees ctx + j + 1 keys, at most W under a
     * sliding window (the first `a` tokens see fewer); QK^T and PV are 2d
     * FLOPs each. Keys read: from the first token's window on. */
    double pairs = q * (ctx + (q + 1) * 0.5), keys_read = ctx + q;
    if (windowed) {
      double na = fmin (q, fmax (0, W - ctx));
      pairs = na * ctx + na * (na + 1) * 0.5 + (q - na) * W;
      keys_read = ctx + q - fmax (0, ctx + 1 - W);
    }
    double f = 4.0 * pairs * s->d * s->nh_r;
    double b = 2.0 * q * s->nh_r * s->d * s->ab + keys_read * 2 * s->kv_r * s->d * s->kvb;
    a->pre_f += f;
    a->pre_b += b;
    /* query tile j (of nt, `tile` queries each) sees ctx cached keys and
     * min(q, tile (j + 1)) keys of the chunk, the latter under the causal
     * mask at `causal` times the cost; under a window, those from
     * win_first_key on */
    const double B = tile;
    double nt = ceil (q / B);
    double keys, most;
    if (!windowed) {
      keys = nt * ctx + causal * (B / 2 * (nt - 1) * nt + q);
      most = ctx + causal * q;
    } else {
      keys = most = 0;
      for (double m = 0; m < nt; m++) {
        double lo = win_first_key (s, ctx + m * B);
        double k = fmax (0, ctx - lo) + causal * (fmin (q, B * (m + 1)) - fmax (0, lo - ctx));
        keys += k;
        most = fmax (most, k);
      }
    }
    a->pre_work += 4 * s->d_fa * B * keys * s->nh_r;
    a->pre_units += nt * s->nh_r;
    double longest = 4 * s->d_fa * B * most;
    if (longest > a->pre_wmax) {
      a->pre_wmax = longest;
      a->pre_kmax = ctx + q;   /* the launch splits the whole key range */
    }
    if (a->pre_n < ATTN_SCHED_SEQS) {
      a->pre_q[a->pre_n] = qi;
      a->pre_c[a->pre_n] = ci;
    }
    a->pre_n++;
    a->any_pre = TRUE;
  }
}

/* Decode FLOPs and bytes from the integer sums: per sequence the prefill
 * formulas with q = 1 (4 (ctx + 1) d nh FLOPs; Q and O plus ctx + 1 cached K,V). */
static inline void
attn_finish (AttnAcc *a, const Shape *s)
{
  a->any_dec = a->dec_seqs > 0;
  if (s->win <= 0)
    a->dec_kfull = a->dec_kmax;
  a->dec_f = 4.0 * (double) a->dec_keys * s->d * s->nh_r;
  a->dec_b = 2.0 * (double) a->dec_seqs * s->nh_r * s->d * s->ab
             + (double) a->dec_keys * 2 * s->kv_r * s->d * s->kvb;
}

static double num_splits (double units, double S, double n_blocks);

/* A memo slot's hash of three small non-negative keys (counts held in
 * doubles convert through gint64: a double to unsigned conversion is a
 * branch) */
static inline guint64
memo_hash (gint64 a, gint64 b, gint64 c)
{
  return ((guint64) a * 0x9E3779B97F4A7C15ull ^ (guint64) b * 0xC2B2AE3D27D4EB4Full
          ^ (guint64) c * 0x165667B19E3779F9ull) >> 32;
}
static inline double dec_tile_keys (double d);

/* The thread blocks of one prefill launch, in launch order, each block's
 * work in seconds on an SM of its own. FlashAttention-2's grid runs the query
 * tiles (m) fastest: (m, sequence, head) unsplit, (m, split, sequence x head)
 * split, as flash_fwd_kernel and flash_fwd_splitkv_kernel index blockIdx.
 * Every head repeats the same blocks, so the launch is segments (all
 * sequences unsplit; one per sequence split), each a pattern of one head's
 * blocks repeated `reps` (heads) times. Tile m of a chunk of q queries over
 * ctx cached keys sees ctx + min(q, rows (m + 1)) keys, those of the chunk at
 * `causal` times the cost; a split s of `per` keys takes the part of them in
 * [s per, (s + 1) per); a block with no keys exits at once and is left out. */
typedef struct {
  const double *pat;
  int off[ATTN_SCHED_SEQS + 1];   /* segment i is pat[off[i] .. off[i + 1]) */
  int nseg, reps;
  int seg, rep, i;                /* position: the next block */
} BlockSeq;

static inline gboolean
block_next (BlockSeq *b, double *work)
{
  while (b->seg < b->nseg) {
    if (b->off[b->seg] + b->i < b->off[b->seg + 1]) {
      *work = b->pat[b->off[b->seg] + b->i++];
      return TRUE;
    }
    b->i = 0;
    if (++b->rep >= b->reps) {
      b->rep = 0;
      b->seg++;
    }
  }
  return FALSE;
}

#define SCHED_MAX_SMS 512
#define PRE_SCHED_WAYS 4
/* An event: an SM's next finish time and the SM. Times are never negative,
 * and the bits of non-negative doubles order as the values do, so events
 * compare as integers: (time bits, SM), ties to the lower SM index
 * (deterministic, as the hardware's dispatcher is not). Where the compiler
 * has 128-bit integers that is one compare with no branch: 20% less time per
 * block than comparing the doubles (bench/bench_prefill). */
#ifdef __SIZEOF_INT128__
typedef unsigned __int128 SchedEv;
#define EV_LT(x, y) ((x) < (y))
#define EV_SM(e) ((int) ((e) & 0xffff))
#define EV_BITS(e) ((guint64) ((e) >> 16))
#define EV_MAX (~(SchedEv) 0)
static inline SchedEv
ev_pack (guint64 bits, int sm)
{
  return ((SchedEv) bits << 16) | (guint) sm;
}
#else
typedef struct { guint64 bits; int sm; } SchedEv;
#define EV_LT(x, y) (((x).bits < (y).bits) | (((x).bits == (y).bits) & ((x).sm < (y).sm)))
#define EV_SM(e) ((e).sm)
#define EV_BITS(e) ((e).bits)
#define EV_MAX ((SchedEv) { G_MAXUINT64, G_MAXINT })
static inline SchedEv
ev_pack (guint64 bits, int sm)
{
  return (SchedEv) { bits, sm };
}
#endif

static inline SchedEv
ev_make (double t, int sm)
{
  guint64 b;
  memcpy (&b, &t, sizeof b);
  return ev_pack (b, sm);
}

static inline double
ev_time (SchedEv e)
{
  guint64 b = EV_BITS (e);
  double t;
  memcpy (&t, &b, sizeof t);
  return t;
}

/* An SM's next finish: the first of a pair to end (each at `pair`, half the
 * pair's throughput) or a lone block */
static inline double
sm_next (const double rem[2], int cnt, double pair)
{
  return cnt == 2 ? MIN (rem[0], rem[1]) / pair : rem[0];
}

/* What the other block of a pair has left after `elapsed` seconds shared */
static inline double
pair_left (const double rem[2], double elapsed, double pair)
{
  double left = MAX (rem[0], rem[1]) - elapsed * pair;
  return left > 0 ? left : 0;
}

static double
sched_makespan (BlockSeq *it, int S, double g)
{
  double rem[SCHED_MAX_SMS][2], last[SCHED_MAX_SMS];
  int cnt[SCHED_MAX_SMS], nh = 0;
  SchedEv heap[SCHED_MAX_SMS + 1];   /* + a sentinel after the last entry */
  double w;
  const double pair = g / 2;
  S = MIN (S, SCHED_MAX_SMS);
  for (int i = 0; i < S; i++)
    cnt[i] = 0, last[i] = 0;
  for (int k = 0; k < 2 * S && block_next (it, &w); k++)
    rem[k % S][cnt[k % S]++] = w;
  if (!block_next (it, &w)) {
    /* every block is placed (sarathi's 512-token chunks: 256 blocks on 132
     * SMs): no SM takes another, so the makespan is the latest SM's end, a
     * pair's first block leaving at MIN / pair and the other then running
     * alone; the same arithmetic as the events below, without the heap */
    double end = 0;
    for (int i = 0; i < S && cnt[i] > 0; i++) {
      double t = sm_next (rem[i], cnt[i], pair);
      end = MAX (end, cnt[i] == 2 ? t + pair_left (rem[i], t, pair) : t);
    }
    return end;
  }
  it->i--;   /* not taken: hand the block back */
  /* the SMs in index order with their first finish times: a valid heap once
   * sifted up */
  for (int i = 0; i < S && cnt[i] > 0; i++) {
    int k = nh++;
    heap[k] = ev_make (sm_next (rem[i], cnt[i], pair), i);
    while (k > 0 && EV_LT (heap[k], heap[(k - 1) / 2])) {
      SchedEv x = heap[k];
      heap[k] = heap[(k - 1) / 2];
      heap[(k - 1) / 2] = x;
      k = (k - 1) / 2;
    }
  }
  double end = 0;
  while (nh > 0) {
    int i = EV_SM (heap[0]);
    double t = ev_time (heap[0]);
    /* the block that finishes leaves; the other keeps what it has left */
    if (cnt[i] == 2) {
      rem[i][0] = pair_left (rem[i], t - last[i], pair);
      cnt[i] = 1;
    } else
      cnt[i] = 0;
    last[i] = t;
    end = t;   /* events come in time order */
    while (cnt[i] < 2 && block_next (it, &w))
      rem[i][cnt[i]++] = w;
    /* the root takes its new time, or the last entry's place */
    SchedEv x;
    if (cnt[i] > 0)
      x = ev_make (t + sm_next (rem[i], cnt[i], pair), i);
    else if (--nh > 0)
      x = heap[nh];
    else
      break;
    /* sift down; heap[nh] is an infinite sentinel, so the right child can
     * be compared without a bounds branch */
    heap[nh] = EV_MAX;
    int k = 0;
    for (;;) {
      int l = 2 * k + 1;
      if (l >= nh)
        break;
      int m = l + EV_LT (heap[l + 1], heap[l]);
      if (!EV_LT (heap[m], x))
        break;
      heap[k] = heap[m];
      k = m;
    }
    heap[k] = x;
  }
  return end;
}

/* Prefill as FlashAttention-2 schedules it (attn_pair_gain > 0): over a
 * contiguous cache an unsplit launch runs the forward kernel, 128-query tiles
 * (Flash_fwd_kernel_traits<128, 128, ...> at head size 128, as our H100 and
 * H200 kernel names show); otherwise the split-KV kernel, attn_tile_q-query
 * tiles, over `split` ranges of the nb key blocks, then a combine kernel
 * (attn_combine_s). Every block costs attn_per_tile_s plus its keys at
 * attn_eff of an SM's share of the peak. Measured (our H100, H200):
 * held-out head geometries 7.4 / 21.7 -> 5.4 / 12.5 (median / p90 APE) in a
 * prototype (docs/cost-model.md). */
static double
attn_prefill_sched (const ModelCost *c, const AttnAcc *a, double split, double nb)
{
  const ModelCostParams *p = &c->params;
  const double S = num_sms (c->gpu);
  const double rate = c->gpu->flops_bf16 / S * p->attn_eff;
  /* the simulator's iterations repeat their chunks (a replay's prompt
   * lengths, a synthetic trace's one length): single-chunk answers are
   * memoised with the tables (4,096 slots, 4-way set-associative, the
   * newest first; Azure's conversation trace: 19,366 launches of 2,339
   * shapes; direct-mapped, the colliding shapes evicted each other: a
   * synthetic trace of 1,921 prompt lengths computed 18,501 schedules in
   * 100,000 requests) */
  PreSched *set = NULL;
  if (c->table_n > 0 && a->pre_n == 1) {
    guint64 h = memo_hash (a->pre_q[0], a->pre_c[0], (gint64) split);
    set = (PreSched *) &c->pre_sched[h % (MODEL_COST_PRE_SCHED / PRE_SCHED_WAYS) * PRE_SCHED_WAYS];
    for (int k = 0; k < PRE_SCHED_WAYS; k++)
      if (set[k].q == a->pre_q[0] && set[k].ctx == a->pre_c[0] && set[k].split == split)
        return set[k].t;
  }
  gboolean fwd = c->dec_contig && split <= 1;
  const double rows = fwd ? 128 : p->attn_tile_q;
  const double per = ceil (nb / split) * dec_tile_keys (c->shape.d_fa);
  const int splits = split > 1 ? (int) ceil (a->pre_kmax / per) : 1;
  const double w_key = 4 * c->shape.d_fa * rows / rate, causal = p->attn_causal;
  int nt[ATTN_SCHED_SEQS], len = 0;
  for (int i = 0; i < a->pre_n; i++) {
    nt[i] = (int) ceil ((double) a->pre_q[i] / rows);
    len += nt[i] * splits;
  }
  if (len > ATTN_SCHED_UNITS)
    return -1;   /* the caller takes the closed form */
  double pat[ATTN_SCHED_UNITS];
  BlockSeq it = { .pat = pat, .reps = (int) c->shape.nh_r };
  len = 0;
  if (splits == 1) {
    /* one segment: a head's tiles, sequence by sequence */
    it.nseg = 1;
    for (int i = 0; i < a->pre_n; i++)
      for (int m = 0; m < nt[i]; m++) {
        double q = (double) a->pre_q[i], ctx = (double) a->pre_c[i];
        double lo = win_first_key (&c->shape, ctx + rows * m);
        pat[len++] = (fmax (0, ctx - lo) + causal * (MIN (q, rows * (m + 1)) - fmax (0, lo - ctx)))
                     * w_key + p->attn_per_tile_s;
      }
  } else {
    /* a segment per sequence: its splits' tiles, cached keys [0, ctx) and
     * the chunk's [ctx, ctx + chunk) cut to [s per, (s + 1) per) */
    it.nseg = a->pre_n;
    for (int i = 0; i < a->pre_n; i++) {
      it.off[i] = len;
      double q = (double) a->pre_q[i], ctx = (double) a->pre_c[i];
      for (int sp = 0; sp < splits; sp++)
        for (int m = 0; m < nt[i]; m++) {
          double lo = MAX (sp * per, win_first_key (&c->shape, ctx + rows * m));
          double hi = sp * per + per, chunk = MIN (q, rows * (m + 1));
          double kc = MAX (0, MIN (hi, ctx) - lo);
          double kq = MAX (0, MIN (hi, ctx + chunk) - MAX (lo, ctx));
          if (kc + kq > 0)
            pat[len++] = (kc + causal * kq) * w_key + p->attn_per_tile_s;
        }
    }
  }
  it.off[it.nseg] = len;
  double t = sched_makespan (&it, (int) S, p->attn_pair_gain);
  if (split > 1)
    t += p->attn_combine_s;
  if (set) {
    memmove (set + 1, set, (PRE_SCHED_WAYS - 1) * sizeof *set);
    set[0] = (PreSched) { a->pre_q[0], a->pre_c[0], split, t };
  }
  return t;
}

static double
attn_prefill_time (const ModelCost *c, const AttnAcc *a)
{
  const ModelCostParams *p = &c->params;
  const ModelGpu *g = c->gpu;
  const double S = num_sms (g);
  const double rate = g->flops_bf16 / S * p->attn_eff;
  /* fewer units than SMs: the keys are split across SMs (split-KV), in
   * blocks of at least 256 keys; or, with attn_split_sms > 0, as
   * FlashAttention-2 splits them (num_splits below, against that many
   * blocks per SM: measured H200, PyTorch 2.11's FA2 runs its split-KV
   * kernel and a combine for every chunk whose 64-row query blocks x heads
   * fall below 0.8 x 2 x 132, and 384 queries over 256 cached keys take
   * 36.4 us where 512 unsplit take 27.4) */
  /* key blocks of the longest unit (FlashAttention's kBlockN keys each) */
  const double nb = ceil (a->pre_kmax / dec_tile_keys (c->shape.d_fa));
  double split;
  if (p->attn_split_sms <= 0)
    split = a->pre_units < S ? fmax (1, fmin (floor (S / a->pre_units), ceil (a->pre_kmax / 256))) : 1;
  else {
    /* the search loops over up to 128 splits: the simulator (tables on)
     * keeps the last grid's answer, as it does decode's terms */
    double *m = (double *) c->pre_memo;
    if (c->table_n > 0 && m[0] == a->pre_units && m[1] == nb)
      split = m[2];
    else {
      split = num_splits (a->pre_units, S * p->attn_split_sms, nb);
      if (c->table_n > 0) {
        m[0] = a->pre_units;
        m[1] = nb;
        m[2] = split;
      }
    }
  }
  double tc = p->attn_pair_gain > 0 && a->pre_n <= ATTN_SCHED_SEQS && S <= SCHED_MAX_SMS
               ? attn_prefill_sched (c, a, split, nb) : -1;
  if (tc < 0)
    tc = fmax (a->pre_work / S, a->pre_wmax / split) / rate
         + p->attn_per_tile_s * ceil (a->pre_units * split / S);
  double tm = a->pre_b / (g->mem_bw * p->gemm_mem_eff);
  return p->attn_floor_s + smax_c (c, 1, tc, tm, p->gemm_sharp);
}

/* FlashAttention-2's split-KV heuristic (flash_api.cpp num_splits_heuristic):
 * with fewer (sequence x KV head) units than 80% of the SMs, split the keys
 * into the fewest blocks that reach 85% of the best wave efficiency. `n_blocks`
 * counts the key tiles of the *padded* length the kernel is launched with
 * (block-table width x page size), not of the keys actually cached. */
static double
num_splits (double units, double S, double n_blocks)
{
  if (units >= 0.8 * S)
    return 1;
  int max_s = (int) fmin (fmin (128, S), n_blocks);
  double eff[129], best = 0;
  for (int s = 1; s <= max_s; s++) {
    gboolean eligible = s == 1 || ceil (n_blocks / s) != ceil (n_blocks / (s - 1));
    double waves = units * s / S;
    eff[s] = eligible ? waves / ceil (waves) : 0;
    if (eff[s] > best)
      best = eff[s];
  }
  for (int s = 1; s <= max_s; s++)
    if (eff[s] >= 0.85 * best)
      return s;
  return 1;
}

/* Keys per tile of the FlashAttention-2 forward kernels (kBlockN): 256 at head
 * size <= 64, 128 up to 128, 64 above. */
static inline double
dec_tile_keys (double d)
{
  return d <= 64 ? 256 : d <= 128 ? 128 : 64;
}

/* Thread blocks of the split-KV kernel resident on one SM: at head size 128 a
 * block holds a 64x128 Q tile and 128x128 K and V tiles in fp16 (80 KB of
 * shared memory), so two fit in the 164 KB (A100) or 228 KB (H100) of an SM. */
#define DEC_CTAS_PER_SM 2

/* Decode attention as FlashAttention-2 runs it over a paged cache
 * (flash_attn_with_kvcache: flash_fwd_splitkv_kernel, then the combine kernel
 * when the keys are split). With GQA the query heads of a group are folded
 * into the query rows, so one thread block serves one (sequence x KV head x
 * split) and loops over 128-key tiles; at head size 128 a tile is QK^T and PV
 * on a 64-row tile (8 real rows) plus the softmax: about 3 us per tile on an
 * A100 SM, of the same order as the tile's 64 KB of K and V at the SM's share
 * of bandwidth, so decode is neither purely memory- nor compute-bound.
 *
 *  - The split count comes from the padded length the kernel is launched with
 *    (the block table's width): splits cover equal ranges of that length and
 *    those beyond a sequence's keys exit at once. In Vidur's A100 profile
 *    (tables 4096 keys wide) a batch of 1 runs 16 splits of 2 tiles whatever
 *    its context, and its time is flat beyond 256 keys.
 *  - Blocks with keys run in waves of DEC_CTAS_PER_SM per SM; one block alone
 *    on an SM takes dec_cta_s + tiles x dec_per_block_s, two sharing an SM
 *    take 2/dec_pair_gain times that. A wave is the smooth max (dec_sharp) of
 *    that and its bytes at dec_mem_eff of the bandwidth. Measured: 27 -> 28
 *    sequences (108 -> 112 blocks on 108 SMs) costs +38% at 4k keys. A last
 *    partial wave after full ones is priced between a lone block and a pair
 *    by its share of the slots (its blocks start staggered).
 *  - Which blocks share an SM: the grid is (split, sequence x head) with the
 *    split fastest and blocks go out breadth-first (block i and block i + S
 *    on one SM). Blocks with keys are the first `act` of every `s`, so they
 *    pair up when the grid exceeds S blocks and S mod s leaves an offset the
 *    active run covers, or when the grid exceeds the resident slots (later
 *    blocks take the slots the empty splits free). Measured: 16 sequences (3
 *    splits, 108 mod 3 = 0) are 33% slower than 13 (2 splits, 104 blocks).
 *  - The combine kernel reads every split's partial output and LSE: it runs
 *    blocks of 4 rows (head size 128) and costs dec_combine_s per round of
 *    such blocks over the SMs plus dec_split_s per split (the per-split loads
 *    are dependent latency).
 * `dec_pad_keys` of the ModelCost is the table width (0: the longest context
 * of the batch, as an engine that sizes the table per batch launches it). */
static void
dec_terms (const ModelCost *c, const AttnAcc *a, double tiles, DecMemo *m)
{
  const ModelCostParams *p = &c->params;
  const double S = num_sms (c->gpu);
  const double tile = dec_tile_keys (c->shape.d_fa);
  const double slots = DEC_CTAS_PER_SM * S;
  double units = (double) a->dec_seqs * c->shape.kv_r;
  double kavg = (double) a->dec_keys / (double) a->dec_seqs;
  /* the launch's key blocks: the longest context, window or not (a window
   * leaves the splits before it without keys) */
  gint64 nb = (gint64) ceil (fmax ((double) a->dec_kfull, (double) c->dec_pad_keys) / tile);
  double kmax = (double) a->dec_kmax;
  /* the simulator memoises the answer per (sequences, key blocks), filled
   * on first use: a memo, so written through the const pointer as pre_memo
   * is (the calibrator, tables off, computes it every time) */
  guint8 *e = c->table_n > 0 && a->dec_seqs < MODEL_COST_SPLIT_B && nb <= MODEL_COST_SPLIT_NB
              ? (guint8 *) &c->split[a->dec_seqs][nb] : NULL;
  double s = e && *e ? *e : num_splits (units, S * fmax (1, p->attn_split_sms), (double) nb);
  if (e)
    *e = (guint8) s;
  /* (attn_split_sms: the FlashAttention build counts 1 or 2 blocks per SM;
   * measured H200 decode with PyTorch's FA2, counted as 2: loss 0.0080 ->
   * 0.0068, T < 16 median 4.5 -> 2.1%) */
  double per_split = ceil ((double) nb / s);           /* tiles per split */
  (void) kavg;                                         /* tiles: of a mean sequence */
  double act = ceil (tiles / per_split - 1e-9);        /* splits with keys */
  double n = units * act, grid = units * s;
  /* Over a contiguous cache an unsplit decode runs the plain forward kernel
   * (flash_fwd_kernel: 128-row query tiles of 64 keys, where the split-KV
   * kernel runs 64-row tiles of 128), twice the tensor-core work per key for
   * the same few real rows. Measured H200, Llama-3-8B shape at TP 1: 32
   * sequences x 2,048 keys unsplit take 109 us, 16 x 4,032 split in two
   * (the same blocks and keys per block) 70 us. */
  double per_tile = p->dec_per_block_s * (c->dec_contig && s == 1 ? p->dec_fwd_tile : 1);
  /* one block alone on an SM, and a pair sharing one */
  double t1 = p->dec_cta_s + fmin (tiles, per_split) * per_tile;
  double t2 = DEC_CTAS_PER_SM * t1 / p->dec_pair_gain;
  double full = floor (n / slots + 1e-9), rest = n - full * slots;
  m->full = full;
  m->t2 = t2;
  m->n = n;
  m->rest = rest;
  m->tl = 0;
  double t = 0;
  if (rest > 0) {
    /* the last (or only) wave: its longest block has the longest sequence's tiles */
    double t1m = p->dec_cta_s + fmin (ceil (kmax / tile - 1e-9), per_split) * per_tile;
    double t2m = DEC_CTAS_PER_SM * t1m / p->dec_pair_gain, tl;
    if (full > 0)
      /* after full waves the last blocks start as slots free up, staggered:
       * the share of SMs running two of them grows with their number, from
       * a lone block (a few left: 55 sequences, 4 blocks past two waves, cost
       * 255 + 92 us at 4k keys) to a pair (a full wave) */
      tl = t1m + (t2m - t1m) * rest / slots;
    else {
      gboolean paired;
      if (s > 1) {
        double off = fmod (S, s);
        paired = grid > slots || (grid > S && (off == 0 || act > fmin (off, s - off)));
      } else
        paired = rest > S;
      tl = paired ? t2m : t1m;
    }
    m->tl = tl;
  }
  if (s > 1) {
    double rows_per_cta = fmod (c->shape.d_fa, 128) == 0 ? 4 : fmod (c->shape.d_fa, 64) == 0 ? 8 : 16;
    double ctas = ceil ((double) a->dec_seqs * c->shape.nh_r / rows_per_cta);
    t += p->dec_combine_s * ceil (ctas / S) + p->dec_split_s * s;
  }
  m->fixed = p->dec_floor_s + p->dec_per_seq_s * (double) a->dec_seqs + t;
}

static double
attn_decode_time (const ModelCost *c, const AttnAcc *a)
{
  const ModelCostParams *p = &c->params;
  const double tile = dec_tile_keys (c->shape.d_fa);
  const double slots = DEC_CTAS_PER_SM * num_sms (c->gpu);
  double tiles = ceil ((double) a->dec_keys / (double) a->dec_seqs / tile - 1e-9);
  double kmax_tiles = ceil ((double) a->dec_kmax / tile - 1e-9);
  /* the launch's key blocks (a sliding window's sequences have more than
   * they read; the same as kmax_tiles otherwise, and hashed to the same slot) */
  double full_tiles = c->shape.win > 0 ? ceil ((double) a->dec_kfull / tile - 1e-9) : kmax_tiles;
  /* Everything but the bytes depends on the sequence count and the tile
   * counts, which change every 128 keys of context, not every iteration: the
   * simulator (tables on, parameters fixed since model_cost_set_params) keeps
   * each shape's terms in a small direct-mapped memo (the replicas of a world
   * share one ModelCost and interleave their shapes). The memos are the one
   * thing evaluating a const ModelCost writes; a ModelCost belongs to one
   * simulation, one thread. */
  DecMemo *m = (DecMemo *) &c->dec_memo[memo_hash (a->dec_seqs,
                                                   (gint64) (kmax_tiles + 1009 * (full_tiles - kmax_tiles)),
                                                   (gint64) tiles)
                                        % MODEL_COST_DEC_MEMO];
  if (!(c->table_n > 0 && m->seqs == a->dec_seqs && m->tiles == tiles && m->kmax_tiles == kmax_tiles
        && m->full_tiles == full_tiles && m->pad_keys == c->dec_pad_keys && m->contig == c->dec_contig)) {
    dec_terms (c, a, tiles, m);
    m->seqs = c->table_n > 0 ? a->dec_seqs : -1;
    m->tiles = tiles;
    m->kmax_tiles = kmax_tiles;
    m->full_tiles = full_tiles;
    m->pad_keys = c->dec_pad_keys;
    m->contig = c->dec_contig;
  }
  double bytes = (double) a->dec_keys * c->shape.kv_r * 2 * c->shape.d_fa * c->shape.kvb;
  double bw = c->gpu->mem_bw * p->dec_mem_eff;
  double t = m->full * smax_c (c, 0, m->t2, bytes * slots / m->n / bw, p->dec_sharp);
  if (m->rest > 0)
    t += smax_c (c, 0, m->tl, bytes * m->rest / m->n / bw, p->dec_sharp);
  return m->fixed + t;
}

double
model_cost_attn_time (const ModelCost *c, const ModelSeqWork *seqs, gsize n, gboolean decode)
{
  g_return_val_if_fail (c != NULL && c->llm != NULL && c->gpu != NULL, 0);
  g_return_val_if_fail (n == 0 || seqs != NULL, 0);
  AttnAcc a;
  attn_acc_init (&a);
  for (gsize i = 0; i < n; i++)
    if (seqs[i].q > 0 && seqs[i].ctx >= 0)
      attn_add (&a, &c->shape, c->params.attn_causal, c->params.attn_tile_q, c->shape.win, seqs[i].q,
                seqs[i].ctx);
  attn_finish (&a, &c->shape);
  if (decode)
    return a.any_dec ? attn_decode_time (c, &a) : 0;
  return a.any_pre ? attn_prefill_time (c, &a) : 0;
}

/* ------------------------------------------------------------------ */
/* init and tables                                                     */

static void
gemm_dims (const Shape *s, int col, double *n, double *k)
{
  switch (col) {
  case MODEL_TAB_QKV: *n = (s->nh_r + 2 * s->kv_r) * s->d; *k = s->h; break;
  case MODEL_TAB_OUT: *n = s->h; *k = s->nh_r * s->d; break;
  case MODEL_TAB_UP: *n = s->up_r; *k = s->h; break;
  case MODEL_TAB_DOWN: *n = s->h; *k = s->f_r; break;
  default: *n = s->vocab_r; *k = s->h; break;
  }
}

static double
allreduce_time (const ModelCost *c, double T)
{
  return model_comm_time (&c->params, c->gpu, MODEL_COLL_ALLREDUCE, T * c->shape.h * c->shape.ab,
                          c->tp, MIN (c->tp, c->node_gpus), NULL);
}

/* The logits of n sequences gathered from the vocabulary shards of the TP
 * ranks (vLLM's LogitsProcessor all-gathers them in the model's dtype) */
static double
logits_gather_time (const ModelCost *c, double n)
{
  return model_comm_time (&c->params, c->gpu, MODEL_COLL_ALLGATHER,
                          n * c->shape.vocab_r * c->tp * c->shape.ab, c->tp, MIN (c->tp, c->node_gpus),
                          NULL);
}

/* Bytes of one element-wise kernel over T tokens: the same expressions as the
 * charges in model_cost_iteration (a test checks table and direct agree). */
static double
elem_bytes (const Shape *s, int col, double T)
{
  switch (col) {
  case MODEL_TAB_EMBED: return T * s->h * (s->wb + s->ab);
  case MODEL_TAB_NORM: return 2 * T * s->h * s->ab + s->norm_w * s->wb;
  case MODEL_TAB_ROPE: return 2 * (T * (s->nh_r + s->kv_r) * s->rot) * s->ab;
  case MODEL_TAB_KV_WRITE: return T * (2 * s->kv_r * s->d) * (s->ab + s->kvb);
  case MODEL_TAB_ACT: return (s->up_r / s->f_r + 1) * (T * s->k * s->f_r) * s->ab;
  case MODEL_TAB_QNORM: return 2 * T * s->nh_r * s->d * s->ab + s->d * s->wb;
  case MODEL_TAB_KNORM: return 2 * T * s->kv_r * s->d * s->ab + s->d * s->wb;
  /* MoE: vLLM's topk_softmax (router logits in; fp32 weights and int32 ids
   * out), moe_align_block_size (ids in, the rows' order out), moe_sum */
  case MODEL_TAB_MOE_TOPK: return T * s->E * s->ab + 8 * T * s->k;
  case MODEL_TAB_MOE_ALIGN: return 8 * T * s->k;
  case MODEL_TAB_MOE_SUM: return (s->k + 1) * T * s->h * s->ab;
  default: return 3 * T * s->h * s->ab;
  }
}

/* The element-wise kernel class of a table column: the norm and activation
 * kernels differ by model (RMSNorm or LayerNorm; gated or plain MLP). */
static ModelElemClass
tab_elem (const Shape *s, int col)
{
  switch (col) {
  case MODEL_TAB_EMBED: return MODEL_ELEM_EMBED;
  case MODEL_TAB_NORM: return (ModelElemClass) s->norm_cls;
  case MODEL_TAB_ROPE: return MODEL_ELEM_ROPE;
  case MODEL_TAB_KV_WRITE: return MODEL_ELEM_KV_WRITE;
  case MODEL_TAB_ACT: return (ModelElemClass) s->act_cls;
  case MODEL_TAB_QNORM: case MODEL_TAB_KNORM: return MODEL_ELEM_NORM;
  case MODEL_TAB_MOE_TOPK: case MODEL_TAB_MOE_ALIGN: case MODEL_TAB_MOE_SUM: return MODEL_ELEM_ADD;
  default: return MODEL_ELEM_ADD;
  }
}

/* Beyond the table: computed. */
G_GNUC_NO_INLINE static double
tab_compute (const ModelCost *c, int col, double m)
{
  if (col == MODEL_TAB_ALLREDUCE)
    return allreduce_time (c, m);
  if (col == MODEL_TAB_LOGITS)
    return logits_gather_time (c, m);
  if (col == MODEL_TAB_ROPE)
    return model_time_rope (&c->params, c->gpu, m, c->shape.nh_r * c->shape.rot / 2,
                            c->shape.kv_r * c->shape.rot / 2, c->shape.rope_sect, c->shape.ab);
  if (col == MODEL_TAB_QNORM || col == MODEL_TAB_KNORM)
    return model_time_head_norm (&c->params, c->gpu,
                                 m * (col == MODEL_TAB_QNORM ? c->shape.nh_r : c->shape.kv_r),
                                 c->shape.d, c->shape.ab, c->shape.wb);
  if (col >= MODEL_TAB_EMBED)
    return model_time_elem_rows (&c->params, c->gpu, tab_elem (&c->shape, col), elem_bytes (&c->shape, col, m), m,
                                 col == MODEL_TAB_NORM ? c->shape.norm_w * c->shape.wb : 0);
  double n, k;
  gemm_dims (&c->shape, col, &n, &k);
  return model_time_gemm_role (&c->params, c->gpu, m, n, k, c->shape.wb,
                               col == MODEL_TAB_OUT ? MODEL_GEMM_OUT
                               : col == MODEL_TAB_DOWN ? MODEL_GEMM_DOWN : MODEL_GEMM_IN);
}

/* Up to table_n tokens the time comes from the table, computed on first use
 * (negative = not yet; a memo, so written through the const pointer as the
 * split and prefill memos are): a simulation uses a fraction of the 512 x 12
 * entries, and filling all of them cost 4 M instructions per set-up. */
static inline double
tab_time (const ModelCost *c, int col, double m)
{
  if (m <= c->table_n) {
    double *e = (double *) &c->table[(int) m][col];
    if (G_UNLIKELY (*e < 0))
      *e = tab_compute (c, col, (int) m);
    return *e;
  }
  return tab_compute (c, col, m);
}

void
model_cost_set_params (ModelCost *c, const ModelCostParams *p, gboolean tabulate)
{
  g_return_if_fail (c != NULL && c->llm != NULL && c->gpu != NULL && p != NULL);
  c->params = *p;
  /* the simulator runs every GEMM cold: in a forward pass a layer's weights
   * were last read a whole pass (gigabytes) ago, unlike the measurements,
   * which repeat one GEMM on the same weights */
  c->params.gemm_cache_gain = 1;
  shape_of (c, &c->shape);
  c->table_n = 0;
  memset (c->split, 0, sizeof c->split);
  c->smax_p[0] = c->smax_p[1] = 0;   /* no table: smax computed (the calibrator) */
  for (int i = 0; i < MODEL_COST_DEC_MEMO; i++)
    c->dec_memo[i].seqs = -1;
  c->pre_memo[0] = -1;
  if (!tabulate)
    return;
  /* the memo is read only with the tables on */
  memset (c->pre_sched, 0, sizeof c->pre_sched);
  smax_tabulate (c, 0, p->dec_sharp);
  smax_tabulate (c, 1, p->gemm_sharp);
  /* split-KV choices (a loop of up to 128 steps, too slow per iteration)
   * are memoised by dec_terms as batch shapes come: filling the whole table
   * here took 12 M instructions, 70% of this function, on every
   * simulation's set-up (the 1,000-configuration plan sweep runs 8,380) */
  for (int t = 0; t <= MODEL_COST_TABLE; t++)
    for (int col = 0; col < MODEL_TAB_COUNT; col++)
      c->table[t][col] = -1;
  c->table_n = MODEL_COST_TABLE;
}

void
model_cost_init (ModelCost *c, const ModelLlm *llm, const ModelGpu *gpu, int tp)
{
  g_return_if_fail (c != NULL && llm != NULL && gpu != NULL && tp >= 1);
  c->llm = llm;
  c->gpu = gpu;
  c->tp = tp;
  c->table_n = 0;
  c->dec_pad_keys = 0;
  c->dec_contig = FALSE;
  c->node_gpus = MODEL_NODE_GPUS;
  c->pp = 1;
  model_cost_set_params (c, &gpu->profile, TRUE);
}

/* Layers of stage s of pp: L / pp, the first L mod pp one more. */
static int
stage_layers (int L, int pp, int s)
{
  return L / pp + (s < L % pp);
}

double
model_cost_stage_times (const ModelCost *c, const ModelIterCost *it, gint64 tokens, double *stage_s)
{
  g_return_val_if_fail (c != NULL && it != NULL && stage_s != NULL, 0);
  const int pp = MAX (c->pp, 1), L = c->llm->num_layers;
  const double first = it->op[MODEL_OP_EMBED].time_s;
  const double last = it->op[MODEL_OP_FINAL_NORM].time_s + it->op[MODEL_OP_LM_HEAD].time_s
                      + it->op[MODEL_OP_LOGITS_GATHER].time_s;
  const double per_layer = (it->gpu_s - first - last) / L;
  for (int s = 0; s < pp; s++)
    stage_s[s] = stage_layers (L, pp, s) * per_layer + (s == 0 ? first : 0) + (s == pp - 1 ? last : 0);
  if (pp == 1 || tokens <= 0)
    return 0;
  double bytes = 2.0 * (double) tokens * c->shape.h * c->shape.ab;
  return model_comm_time (&c->params, c->gpu, MODEL_COLL_SENDRECV, bytes, 2,
                          c->tp * pp <= c->node_gpus ? 2 : 1, NULL);
}

/* ------------------------------------------------------------------ */
/* charging kernels                                                    */

static inline void
charge (ModelOpCost *oc, double flops, double bytes, double t, double count)
{
  oc->flops += flops * count;
  oc->bytes += bytes * count;
  oc->time_s += t * count;
  oc->count += count;
}

static inline void
charge_gemm (ModelOpCost *oc, const ModelCost *c, int col, double m, double count)
{
  double n, k;
  gemm_dims (&c->shape, col, &n, &k);
  charge (oc, model_gemm_flops (m, n, k), model_gemm_bytes (m, n, k, c->shape.wb),
          tab_time (c, col, m), count);
}

/* Element-wise kernels run on the vector units: their FLOPs are counted but the
 * time is bandwidth plus a floor, tabulated by tokens `m` (column col). */
static inline void
charge_elem (ModelOpCost *oc, const ModelCost *c, int col, double m, double flops,
             double bytes, double count)
{
  charge (oc, flops, bytes, tab_time (c, col, m), count);
}

/* The only pass over an iteration's sequences: token count, outputs and
 * attention work */
static inline void
seq_pass (AttnAcc *a, const Shape *sp, const ModelCostParams *p, const ModelSeqWork *seqs, gsize n,
          double win, double *T, double *n_out)
{
  for (gsize i = 0; i < n; i++) {
    if (seqs[i].q <= 0 || seqs[i].ctx < 0)
      continue;
    *T += (double) seqs[i].q;
    *n_out += 1;
    attn_add (a, sp, p->attn_causal, p->attn_tile_q, win, seqs[i].q, seqs[i].ctx);
  }
}

void
model_cost_iteration (const ModelCost *c, const ModelSeqWork *seqs, gsize n, ModelIterCost *out)
{
  g_return_if_fail (out != NULL);
  memset (out, 0, sizeof *out);
  g_return_if_fail (c != NULL && c->llm != NULL && c->gpu != NULL && c->tp >= 1);
  g_return_if_fail (n == 0 || seqs != NULL);
  if (n == 0)
    return;

  const Shape *sp = &c->shape;
  const Shape s = *sp;
  const ModelCostParams *p = &c->params;

  double T = 0, n_out = 0;
  AttnAcc a;
  attn_acc_init (&a);
  /* a constant window of 0 in the usual case: the inlined copy has no
   * window tests (1% of a replay's instructions) */
  if (G_LIKELY (sp->win <= 0))
    seq_pass (&a, sp, p, seqs, n, 0, &T, &n_out);
  else
    seq_pass (&a, sp, p, seqs, n, sp->win, &T, &n_out);
  out->tokens = (gint64) T;
  if (T == 0)
    return;
  attn_finish (&a, sp);

  ModelOpCost *op = out->op;
  const double L = s.L, h = s.h;

  /* the token embedding; a learned position embedding is a second gather
   * of the same bytes and one add (OPT) */
  charge_elem (&op[MODEL_OP_EMBED], c, MODEL_TAB_EMBED, T, 0, elem_bytes (sp, MODEL_TAB_EMBED, T),
               s.learned_pos ? 2 : 1);
  /* one norm kernel over the T tokens: the layers' and the final norm's */
  const double t_norm = tab_time (c, MODEL_TAB_NORM, T), b_norm = elem_bytes (sp, MODEL_TAB_NORM, T);
  charge (&op[MODEL_OP_NORM], s.norm_flops * T * h, b_norm, t_norm, L * s.norms);
  charge_gemm (&op[MODEL_OP_QKV], c, MODEL_TAB_QKV, T, L);
  if (s.qk_norm) {
    /* q_norm and k_norm, one launch each (vLLM's Qwen3 layer) */
    charge_elem (&op[MODEL_OP_QK_NORM], c, MODEL_TAB_QNORM, T, 4 * T * s.nh_r * s.d,
                 elem_bytes (sp, MODEL_TAB_QNORM, T), L);
    charge_elem (&op[MODEL_OP_QK_NORM], c, MODEL_TAB_KNORM, T, 4 * T * s.kv_r * s.d,
                 elem_bytes (sp, MODEL_TAB_KNORM, T), L);
  }
  if (!s.learned_pos) {
    double rope_el = T * (s.nh_r + s.kv_r) * s.rot;
    charge_elem (&op[MODEL_OP_ROPE], c, MODEL_TAB_ROPE, T, 3 * rope_el,
                 elem_bytes (sp, MODEL_TAB_ROPE, T), L);
  }
  charge_elem (&op[MODEL_OP_KV_WRITE], c, MODEL_TAB_KV_WRITE, T, 0,
               elem_bytes (sp, MODEL_TAB_KV_WRITE, T), L);
  if (a.any_pre)
    charge (&op[MODEL_OP_ATTN_PREFILL], a.pre_f, a.pre_b, attn_prefill_time (c, &a), L);
  if (a.any_dec)
    charge (&op[MODEL_OP_ATTN_DECODE], a.dec_f, a.dec_b, attn_decode_time (c, &a), L);
  charge_gemm (&op[MODEL_OP_ATTN_OUT], c, MODEL_TAB_OUT, T, L);

  if (s.E > 0) {
    /* router (replicated), then each token through top_k experts; the weights
     * read are those of the experts touched at least once. Timed as grouped
     * GEMMs: total FLOPs at the GEMM efficiency vs the touched weights. */
    const ModelGpu *g = c->gpu;
    double peak = (s.wb == 1 && g->flops_fp8 > 0 ? g->flops_fp8 : g->flops_bf16) * p->gemm_eff;
    double bw = g->mem_bw * p->gemm_mem_eff;
    double rn = s.E, rk = h;
    charge (&op[MODEL_OP_MLP_UP], model_gemm_flops (T, rn, rk), model_gemm_bytes (T, rn, rk, s.wb),
            model_time_gemm (p, g, T, rn, rk, s.wb), L);
    double touched = fmin (s.E, s.E * (1.0 - pow (1.0 - s.k / s.E, T)));
    double Tk = T * s.k;
    double uf = 2 * Tk * h * s.up_r;
    double ub = (T * h + touched * h * s.up_r + Tk * s.up_r) * s.wb;
    charge (&op[MODEL_OP_MLP_UP], uf, ub, p->gemm_floor_s + smax (uf / peak, ub / bw, p->gemm_sharp), L);
    double act_el = Tk * s.f_r;
    charge_elem (&op[MODEL_OP_ACT], c, MODEL_TAB_ACT, T, s.act_flops * act_el,
                 elem_bytes (sp, MODEL_TAB_ACT, T), L);
    double df = 2 * Tk * s.f_r * h;
    double db = (Tk * s.f_r + touched * s.f_r * h + Tk * h) * s.wb;
    charge (&op[MODEL_OP_MLP_DOWN], df, db, p->gemm_floor_s + smax (df / peak, db / bw, p->gemm_sharp), L);
    /* around the expert GEMMs, as vLLM's fused MoE runs them: the top-k
     * softmax and the rows' sort by expert before, the sum of each token's
     * k outputs after; timed as streaming kernels (the add's class: no data
     * time them) */
    charge_elem (&op[MODEL_OP_MOE_ROUTE], c, MODEL_TAB_MOE_TOPK, T, 0,
                 elem_bytes (sp, MODEL_TAB_MOE_TOPK, T), L);
    charge_elem (&op[MODEL_OP_MOE_ROUTE], c, MODEL_TAB_MOE_ALIGN, T, 0,
                 elem_bytes (sp, MODEL_TAB_MOE_ALIGN, T), L);
    charge_elem (&op[MODEL_OP_MOE_SUM], c, MODEL_TAB_MOE_SUM, T, (s.k - 1) * T * h,
                 elem_bytes (sp, MODEL_TAB_MOE_SUM, T), L);
  } else {
    charge_gemm (&op[MODEL_OP_MLP_UP], c, MODEL_TAB_UP, T, L);
    double act_el = T * s.f_r;
    charge_elem (&op[MODEL_OP_ACT], c, MODEL_TAB_ACT, T, s.act_flops * act_el,
                 elem_bytes (sp, MODEL_TAB_ACT, T), L);
    charge_gemm (&op[MODEL_OP_MLP_DOWN], c, MODEL_TAB_DOWN, T, L);
  }
  /* the residual adds, and the position embedding's (OPT) */
  charge_elem (&op[MODEL_OP_ADD], c, MODEL_TAB_ADD, T, T * h, elem_bytes (sp, MODEL_TAB_ADD, T),
               2 * L + (s.learned_pos ? 1 : 0));

  if (c->tp > 1) {
    /* after attention and after the MLP in every layer, and once after the
     * vocabulary-parallel embedding (each rank looks up its shard's rows) */
    double tp = c->tp;
    double link_bytes = 2 * (tp - 1) / tp * T * h * s.ab;   /* ring: sent per rank */
    charge (&op[MODEL_OP_ALLREDUCE], (tp - 1) / tp * T * h, link_bytes,
            tab_time (c, MODEL_TAB_ALLREDUCE, T), 2 * L + 1);
  }

  /* the final norm runs over every token (vLLM norms the whole hidden
   * state, then picks each sequence's last row for the LM head) */
  charge (&op[MODEL_OP_FINAL_NORM], s.norm_flops * T * h, b_norm, t_norm, 1);
  charge_gemm (&op[MODEL_OP_LM_HEAD], c, MODEL_TAB_LM_HEAD, n_out, 1);
  if (c->tp > 1)   /* ring all-gather: each rank sends (tp - 1)/tp of the whole */
    charge (&op[MODEL_OP_LOGITS_GATHER], 0, (c->tp - 1) * n_out * s.vocab_r * s.ab,
            tab_time (c, MODEL_TAB_LOGITS, n_out), 1);

  for (int i = 0; i < MODEL_OP_COUNT; i++)
    out->gpu_s += op[i].time_s;
  out->cpu_s = p->cpu_base_s + (c->tp > 1 ? p->cpu_tp_s : 0)
               + (p->cpu_per_seq_s + p->cpu_per_seq_vocab_s * c->llm->vocab) * n_out;
  out->total_s = out->gpu_s + out->cpu_s;
}

gint64
model_iter_ns (const ModelIterCost *it)
{
  g_return_val_if_fail (it != NULL, 0);
  return llround (it->total_s * 1e9);
}

void
model_cost_set_network (ModelCost *c, const ModelNetwork *n)
{
  g_return_if_fail (c != NULL && n != NULL);
  ModelCostParams p = c->params;
  model_network_apply (n, &p);
  c->node_gpus = n->gpus_per_node;
  model_cost_set_params (c, &p, c->table_n > 0);
}

/* ------------------------------------------------------------------ */
/* memory plan                                                         */

gboolean
model_tp_valid (const ModelLlm *m, int tp)
{
  return tp >= 1 && m->num_heads % tp == 0
         && (m->num_kv_heads % tp == 0 || tp % m->num_kv_heads == 0);
}

static char *
valid_tps (const ModelLlm *m)
{
  GString *s = g_string_new (NULL);
  for (int t = 1; t <= m->num_heads; t++)
    if (model_tp_valid (m, t))
      g_string_append_printf (s, "%s%d", s->len ? ", " : "", t);
  return g_string_free (s, FALSE);
}

/* Fills the byte counts of the plan (no validation, no errors). */
static void
plan_bytes (const ModelCost *c, int block_size, double mem_util, gint64 max_batched_tokens,
            ModelMemoryPlan *out)
{
  Shape s;
  shape_of (c, &s);
  const double h = s.h, M = (double) max_batched_tokens;
  double mlp = s.E > 0 ? s.E * (s.up_r + s.f_r) * h + h * s.E : (s.up_r + s.f_r) * h;
  double layer = h * (s.nh_r + 2 * s.kv_r) * s.d + s.nh_r * s.d * h + mlp + s.norms * s.norm_w
                 + (s.qk_norm ? 2 * s.d : 0);
  double embed = s.vocab_r * h;
  /* one stage GPU under pipeline parallelism: the most layers any stage has,
   * and the embedding (first stage) or the LM head and final norm (last:
   * its own copy of a tied embedding), whichever stage is heavier */
  const int pp = MAX (c->pp, 1);
  const double Ls = pp > 1 ? stage_layers ((int) s.L, pp, 0) : s.L;
  double params = pp > 1 ? Ls * layer + embed + s.norm_w
                         : s.L * layer + embed + (c->llm->tied_embeddings ? 0 : embed) + s.norm_w;
  out->weight_bytes = params * s.wb;
  /* peak forward workspace at M tokens: residual, normed input, QKV, MLP up and
   * activation outputs, plus fp32 logits for up to 256 sequences (vLLM's
   * default max_num_seqs) */
  double act_row = 2 * h + (s.nh_r + 2 * s.kv_r) * s.d + s.k * (s.up_r + s.f_r);
  out->activation_bytes = M * act_row * s.ab + fmin (M, 256) * s.vocab_r * 4;
  out->reserved_bytes = c->gpu->mem_bytes * (1 - mem_util) + out->weight_bytes
                        + out->activation_bytes;
  out->kv_bytes_per_token = 2 * Ls * s.kv_r * s.d * s.kvb;
  out->kv_bytes_per_block = out->kv_bytes_per_token * block_size;
  out->block_size = block_size;
  double avail = c->gpu->mem_bytes * mem_util - out->weight_bytes - out->activation_bytes;
  out->kv_bytes = avail > 0 ? avail : 0;
  out->num_blocks = avail > 0 ? (gint64) floor (avail / out->kv_bytes_per_block) : 0;
}

#define GIB (1024.0 * 1024.0 * 1024.0)

gboolean
model_memory_plan (const ModelCost *c, int block_size, double mem_util,
                   gint64 max_batched_tokens, ModelMemoryPlan *out, GError **error)
{
  g_return_val_if_fail (c != NULL && c->llm != NULL && c->gpu != NULL, FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  memset (out, 0, sizeof *out);
  const ModelLlm *m = c->llm;
  if (!model_tp_valid (m, c->tp)) {
    char *v = valid_tps (m);
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_INVALID,
                 "tensor parallelism %d does not split %s: it must divide num_heads (%d) and "
                 "divide or be a multiple of num_kv_heads (%d); valid tp: %s",
                 c->tp, m->id, m->num_heads, m->num_kv_heads, v);
    g_free (v);
    return FALSE;
  }
  if (block_size < 1 || !(mem_util > 0 && mem_util <= 1) || max_batched_tokens < 1) {
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_INVALID,
                 "memory plan for %s: block_size (%d) and max_batched_tokens (%" G_GINT64_FORMAT
                 ") must be >= 1 and mem_util (%g) in (0, 1]",
                 m->id, block_size, max_batched_tokens, mem_util);
    return FALSE;
  }
  plan_bytes (c, block_size, mem_util, max_batched_tokens, out);
  if (out->num_blocks >= 1)
    return TRUE;

  /* Does not fit: say by how much, and which tp would. */
  int fit_tp = 0;
  for (int t = c->tp + 1; t <= m->num_heads && !fit_tp; t++) {
    if (!model_tp_valid (m, t))
      continue;
    ModelCost ct = *c;
    ct.tp = t;
    ModelMemoryPlan pt;
    plan_bytes (&ct, block_size, mem_util, max_batched_tokens, &pt);
    if (pt.num_blocks >= 1)
      fit_tp = t;
  }
  char *hint = fit_tp ? g_strdup_printf ("try a larger tp: %d is the smallest that fits", fit_tp)
                      : g_strdup ("no valid tp fits it on this GPU; pick a GPU with more memory");
  char *at = c->pp > 1 ? g_strdup_printf ("tp %d x pp %d", c->tp, c->pp) : g_strdup_printf ("tp %d", c->tp);
  g_set_error (error, MODEL_ERROR, MODEL_ERROR_NO_FIT,
               "%s does not fit on %s at %s: weights %.2f GiB + activations %.2f GiB per GPU "
               "leave no room for one KV block (%d tokens, %.2f MiB) in %.2f GiB usable "
               "(capacity %.2f GiB x mem_util %.2f); %s",
               m->id, c->gpu->id, at, out->weight_bytes / GIB, out->activation_bytes / GIB,
               block_size, out->kv_bytes_per_block / (1024.0 * 1024.0),
               c->gpu->mem_bytes * mem_util / GIB, c->gpu->mem_bytes / GIB, mem_util, hint);
  g_free (hint);
  g_free (at);
  return FALSE;
}
