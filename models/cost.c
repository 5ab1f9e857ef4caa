/* models/cost.c — cost model v1: per-operator FLOPs, bytes and time of one
 * model iteration on one tensor-parallel rank, and the per-GPU memory plan.
 *
 * Every operator's FLOPs and bytes come from the layer shapes (the formulas are
 * listed in docs/cost-model.md and are the ones the reference kernels are
 * checked against); its time is a roofline, max(FLOPs / (peak x efficiency),
 * bytes / (bandwidth x efficiency), kernel floor), plus an alpha-beta ring
 * all-reduce for tensor parallelism and a linear CPU overhead. The per-iteration
 * function allocates nothing and touches each sequence once. It does not own
 * catalogs (models/catalog.c), scheduling, or calibration of the parameters
 * against measured data beyond the documented defaults.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/cost.h"

static const char *const op_names[MODEL_OP_COUNT] = {
  [MODEL_OP_EMBED] = "embed",
  [MODEL_OP_NORM] = "norm",
  [MODEL_OP_QKV] = "qkv",
  [MODEL_OP_ROPE] = "rope",
  [MODEL_OP_KV_WRITE] = "kv_write",
  [MODEL_OP_ATTN_PREFILL] = "attn_prefill",
  [MODEL_OP_ATTN_DECODE] = "attn_decode",
  [MODEL_OP_ATTN_OUT] = "attn_out",
  [MODEL_OP_MLP_UP] = "mlp_up",
  [MODEL_OP_ACT] = "act",
  [MODEL_OP_MLP_DOWN] = "mlp_down",
  [MODEL_OP_ADD] = "add",
  [MODEL_OP_FINAL_NORM] = "final_norm",
  [MODEL_OP_LM_HEAD] = "lm_head",
  [MODEL_OP_ALLREDUCE] = "allreduce",
};

const char *
model_op_name (ModelOp op)
{
  g_return_val_if_fail ((int) op >= 0 && op < MODEL_OP_COUNT, NULL);
  return op_names[op];
}

void
model_cost_params_default (ModelCostParams *p)
{
  g_return_if_fail (p != NULL);
  /* Sources and the fits behind each value: docs/cost-model.md. */
  p->gemm_eff = 0.75;
  p->attn_eff = 0.35;
  p->mem_eff = 0.80;
  p->link_eff = 0.70;
  p->kernel_floor_s = 3e-6;
  p->allreduce_latency_s = 30e-6;
  p->cpu_base_s = 0.8e-3;
  p->cpu_per_seq_s = 42e-6;
  p->kv_dtype_bytes = 2;
}

void
model_cost_init (ModelCost *c, const ModelLlm *llm, const ModelGpu *gpu, int tp)
{
  g_return_if_fail (c != NULL && llm != NULL && gpu != NULL && tp >= 1);
  memset (c, 0, sizeof *c);
  c->llm = llm;
  c->gpu = gpu;
  c->tp = tp;
  model_cost_params_default (&c->params);
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

typedef struct {
  double L, h, d;
  double nh_r;      /* query heads per rank */
  double kv_r;      /* KV heads per rank: nkv/tp, at least 1 (replicated when tp > nkv) */
  double f_r;       /* ffn (per expert) per rank */
  double vocab_r;   /* vocabulary shard */
  double up_r;      /* MLP up GEMM width per rank: (2 if gated) x f_r */
  double E, k;      /* experts, top-k; E = 0 for dense */
  int    wb;        /* weight bytes per element (also GEMM activations) */
  double ab;        /* activation bytes per element */
  double kvb;       /* KV-cache bytes per element */
  double norm_w;    /* norm parameter elements (weight, + bias for layernorm) */
  double norm_flops;/* FLOPs per normalised element */
  double act_flops; /* FLOPs per MLP activation output element */
  double norms;     /* norms per layer */
} Shape;

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
  s->nh_r = m->num_heads / tp;
  s->kv_r = kv_per_rank (m->num_kv_heads, c->tp);
  s->f_r = m->ffn / tp;
  s->vocab_r = m->vocab / tp;
  s->up_r = (m->gated_mlp ? 2 : 1) * s->f_r;
  s->E = m->num_experts > 1 ? m->num_experts : 0;
  s->k = m->num_experts > 1 ? m->top_k : 1;
  s->wb = m->bytes_per_param;
  s->ab = m->bytes_per_param >= 4 ? 4 : 2;
  s->kvb = c->params.kv_dtype_bytes > 0 ? c->params.kv_dtype_bytes : 2;
  s->norm_w = ln ? 2 * s->h : s->h;
  s->norm_flops = ln ? 7 : 4;
  if (strcmp (m->activation, "gelu") == 0)
    s->act_flops = 8;
  else if (strcmp (m->activation, "relu") == 0)
    s->act_flops = 1;
  else
    s->act_flops = 4;
  if (m->gated_mlp)
    s->act_flops += 1;
  s->norms = m->parallel_attn_mlp ? 1 : 2;
}

/* ------------------------------------------------------------------ */
/* charging kernels                                                    */

typedef struct {
  double peak;      /* GEMM FLOP/s reached */
  double attn_peak; /* attention FLOP/s reached */
  double bw;        /* memory bytes/s reached */
  double floor;
} Rates;

static inline void
charge (ModelOpCost *oc, double flops, double bytes, double t, double count)
{
  oc->flops += flops * count;
  oc->bytes += bytes * count;
  oc->time_s += t * count;
  oc->count += count;
}

static inline double
roofline (const Rates *r, double flops, double peak, double bytes)
{
  double t = fmax (flops / peak, bytes / r->bw);
  return fmax (t, r->floor);
}

static inline void
charge_gemm (ModelOpCost *oc, const Rates *r, double m, double n, double k, int wb, double count)
{
  double f = model_gemm_flops (m, n, k), b = model_gemm_bytes (m, n, k, wb);
  charge (oc, f, b, roofline (r, f, r->peak, b), count);
}

/* Element-wise kernels run on the vector units: their FLOPs are counted but the
 * time is bandwidth (or the floor). */
static inline void
charge_elem (ModelOpCost *oc, const Rates *r, double flops, double bytes, double count)
{
  charge (oc, flops, bytes, fmax (bytes / r->bw, r->floor), count);
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

  Shape s;
  shape_of (c, &s);
  const ModelCostParams *p = &c->params;
  const ModelGpu *g = c->gpu;
  gboolean fp8 = s.wb == 1 && g->flops_fp8 > 0;
  Rates r = {
    .peak = (fp8 ? g->flops_fp8 : g->flops_bf16) * p->gemm_eff,
    .attn_peak = g->flops_bf16 * p->attn_eff,
    .bw = g->mem_bw * p->mem_eff,
    .floor = p->kernel_floor_s,
  };

  /* The only pass over the sequences: token count and attention work. */
  double T = 0, n_out = 0;
  double pre_f = 0, pre_b = 0, dec_f = 0, dec_b = 0;
  gboolean any_pre = FALSE, any_dec = FALSE;
  const double qo_elems = s.nh_r * s.d, kv_elems = 2 * s.kv_r * s.d;
  for (gsize i = 0; i < n; i++) {
    double q = (double) seqs[i].q, ctx = (double) seqs[i].ctx;
    if (seqs[i].q <= 0 || seqs[i].ctx < 0)
      continue;
    T += q;
    n_out += 1;
    /* causal: new token j (0-based) sees ctx + j + 1 keys; QK^T and PV are 2d FLOPs each */
    double f = 4.0 * q * (ctx + (q + 1) * 0.5) * s.d * s.nh_r;
    double b = 2.0 * q * qo_elems * s.ab + (ctx + q) * kv_elems * s.kvb;
    if (seqs[i].q == 1 && seqs[i].ctx > 0) {
      dec_f += f;
      dec_b += b;
      any_dec = TRUE;
    } else {
      pre_f += f;
      pre_b += b;
      any_pre = TRUE;
    }
  }
  out->tokens = (gint64) T;
  if (T == 0)
    return;

  ModelOpCost *op = out->op;
  const double L = s.L, h = s.h;

  charge_elem (&op[MODEL_OP_EMBED], &r, 0, T * h * (s.wb + s.ab), 1);
  charge_elem (&op[MODEL_OP_NORM], &r, s.norm_flops * T * h,
               2 * T * h * s.ab + s.norm_w * s.wb, L * s.norms);
  charge_gemm (&op[MODEL_OP_QKV], &r, T, (s.nh_r + 2 * s.kv_r) * s.d, h, s.wb, L);
  double rope_el = T * (s.nh_r + s.kv_r) * s.d;
  charge_elem (&op[MODEL_OP_ROPE], &r, 3 * rope_el, 2 * rope_el * s.ab, L);
  charge_elem (&op[MODEL_OP_KV_WRITE], &r, 0, T * kv_elems * (s.ab + s.kvb), L);
  if (any_pre)
    charge (&op[MODEL_OP_ATTN_PREFILL], pre_f, pre_b,
            roofline (&r, pre_f, r.attn_peak, pre_b), L);
  if (any_dec)
    charge (&op[MODEL_OP_ATTN_DECODE], dec_f, dec_b,
            roofline (&r, dec_f, r.attn_peak, dec_b), L);
  charge_gemm (&op[MODEL_OP_ATTN_OUT], &r, T, h, s.nh_r * s.d, s.wb, L);

  if (s.E > 0) {
    /* router (replicated), then each token through top_k experts; the weights
     * read are those of the experts touched at least once */
    charge_gemm (&op[MODEL_OP_MLP_UP], &r, T, s.E, h, s.wb, L);
    double touched = fmin (s.E, s.E * (1.0 - pow (1.0 - s.k / s.E, T)));
    double Tk = T * s.k;
    double uf = 2 * Tk * h * s.up_r;
    double ub = (T * h + touched * h * s.up_r + Tk * s.up_r) * s.wb;
    charge (&op[MODEL_OP_MLP_UP], uf, ub, roofline (&r, uf, r.peak, ub), L);
    double act_el = Tk * s.f_r;
    charge_elem (&op[MODEL_OP_ACT], &r, s.act_flops * act_el,
                 (s.up_r / s.f_r + 1) * act_el * s.ab, L);
    double df = 2 * Tk * s.f_r * h;
    double db = (Tk * s.f_r + touched * s.f_r * h + Tk * h) * s.wb;
    charge (&op[MODEL_OP_MLP_DOWN], df, db, roofline (&r, df, r.peak, db), L);
  } else {
    charge_gemm (&op[MODEL_OP_MLP_UP], &r, T, s.up_r, h, s.wb, L);
    double act_el = T * s.f_r;
    charge_elem (&op[MODEL_OP_ACT], &r, s.act_flops * act_el,
                 (s.up_r / s.f_r + 1) * act_el * s.ab, L);
    charge_gemm (&op[MODEL_OP_MLP_DOWN], &r, T, h, s.f_r, s.wb, L);
  }
  charge_elem (&op[MODEL_OP_ADD], &r, T * h, 3 * T * h * s.ab, 2 * L);

  if (c->tp > 1) {
    double tp = c->tp;
    double link = g->nvlink_bw > 0 ? g->nvlink_bw : g->pcie_bw;
    double link_bytes = 2 * (tp - 1) / tp * T * h * s.ab;   /* ring: sent per rank */
    double t = p->allreduce_latency_s + link_bytes / (link * p->link_eff);
    charge (&op[MODEL_OP_ALLREDUCE], (tp - 1) / tp * T * h, link_bytes, t, 2 * L);
  }

  charge_elem (&op[MODEL_OP_FINAL_NORM], &r, s.norm_flops * n_out * h,
               2 * n_out * h * s.ab + s.norm_w * s.wb, 1);
  charge_gemm (&op[MODEL_OP_LM_HEAD], &r, n_out, s.vocab_r, h, s.wb, 1);

  for (int i = 0; i < MODEL_OP_COUNT; i++)
    out->gpu_s += op[i].time_s;
  out->cpu_s = p->cpu_base_s + p->cpu_per_seq_s * n_out;
  out->total_s = out->gpu_s + out->cpu_s;
}

gint64
model_iter_ns (const ModelIterCost *it)
{
  g_return_val_if_fail (it != NULL, 0);
  return llround (it->total_s * 1e9);
}

/* ------------------------------------------------------------------ */
/* memory plan                                                         */

static gboolean
tp_valid (const ModelLlm *m, int tp)
{
  return tp >= 1 && m->num_heads % tp == 0
         && (m->num_kv_heads % tp == 0 || tp % m->num_kv_heads == 0);
}

static char *
valid_tps (const ModelLlm *m)
{
  GString *s = g_string_new (NULL);
  for (int t = 1; t <= m->num_heads; t++)
    if (tp_valid (m, t))
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
  double layer = h * (s.nh_r + 2 * s.kv_r) * s.d + s.nh_r * s.d * h + mlp + s.norms * s.norm_w;
  double embed = s.vocab_r * h;
  double params = s.L * layer + embed + (c->llm->tied_embeddings ? 0 : embed) + s.norm_w;
  out->weight_bytes = params * s.wb;
  /* peak forward workspace at M tokens: residual, normed input, QKV, MLP up and
   * activation outputs, plus fp32 logits for up to 256 sequences (vLLM's
   * default max_num_seqs) */
  double act_row = 2 * h + (s.nh_r + 2 * s.kv_r) * s.d + s.k * (s.up_r + s.f_r);
  out->activation_bytes = M * act_row * s.ab + fmin (M, 256) * s.vocab_r * 4;
  out->reserved_bytes = c->gpu->mem_bytes * (1 - mem_util) + out->weight_bytes
                        + out->activation_bytes;
  out->kv_bytes_per_token = 2 * s.L * s.kv_r * s.d * s.kvb;
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
  if (!tp_valid (m, c->tp)) {
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
    if (!tp_valid (m, t))
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
  g_set_error (error, MODEL_ERROR, MODEL_ERROR_NO_FIT,
               "%s does not fit on %s at tp %d: weights %.2f GiB + activations %.2f GiB per GPU "
               "leave no room for one KV block (%d tokens, %.2f MiB) in %.2f GiB usable "
               "(capacity %.2f GiB x mem_util %.2f); %s",
               m->id, c->gpu->id, c->tp, out->weight_bytes / GIB, out->activation_bytes / GIB,
               block_size, out->kv_bytes_per_block / (1024.0 * 1024.0),
               c->gpu->mem_bytes * mem_util / GIB, c->gpu->mem_bytes / GIB, mem_util, hint);
  g_free (hint);
  return FALSE;
}
