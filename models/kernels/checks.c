/* models/kernels/checks.c — counter, equivalence and lossy checks of the
 * reference kernels (checks.h). Every check draws its shapes from a GRand
 * seeded by the options, so a failure is reproducible by seed; sizes scale
 * with opts->scale (1 keeps `make check` fast). It does not own the kernels,
 * the cost model or any timing.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/cost.h"
#include "models/kernels/checks.h"
#include "models/kernels/kernels.h"
#include "models/kernels/tiny.h"

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static int
rint_in (GRand *g, int lo, int hi)
{
  return g_rand_int_range (g, lo, hi + 1);
}

static double *
rvec (GRand *g, gsize n, double scale)
{
  double *p = g_new (double, n ? n : 1);
  for (gsize i = 0; i < n; i++)
    p[i] = scale * g_rand_double_range (g, -1, 1);
  return p;
}

/* max |a - b| / max |b| (absolute when b is all zero) */
static double
rel_err (const double *a, const double *b, gsize n)
{
  double num = 0, den = 0;
  for (gsize i = 0; i < n; i++) {
    num = fmax (num, fabs (a[i] - b[i]));
    den = fmax (den, fabs (b[i]));
  }
  return den > 0 ? num / den : num;
}

/* relative L2 norm of a - b */
static double
rel_l2 (const double *a, const double *b, gsize n)
{
  double num = 0, den = 0;
  for (gsize i = 0; i < n; i++) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return den > 0 ? sqrt (num / den) : sqrt (num);
}

static void
result (KernCheckResult *r, double err, double tol, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static void
result (KernCheckResult *r, double err, double tol, const char *fmt, ...)
{
  r->error = err;
  r->tol = tol;
  r->pass = isfinite (err) && err <= tol;
  va_list ap;
  va_start (ap, fmt);
  g_vsnprintf (r->detail, sizeof r->detail, fmt, ap);
  va_end (ap);
}

static const ModelGpu check_gpu = {
  .id = (char *) "check", .name = (char *) "check", .flops_bf16 = 1e12, .flops_fp8 = 0,
  .mem_bytes = 1e12, .mem_bw = 1e11, .nvlink_bw = 1e10, .pcie_bw = 1e10,
};

/* A random small architecture. */
static void
random_llm (GRand *g, ModelLlm *m, gboolean moe, int scale)
{
  static const char *const acts[] = { "silu", "gelu", "relu" };
  memset (m, 0, sizeof *m);
  m->id = (char *) "tiny";
  m->name = (char *) "tiny";
  m->num_layers = rint_in (g, 1, 2);
  m->num_kv_heads = rint_in (g, 1, 2);
  m->num_heads = m->num_kv_heads * rint_in (g, 1, 3);
  m->head_dim = 2 * rint_in (g, 1, 4 * scale);
  m->hidden = rint_in (g, 4, 24 * scale);
  m->ffn = rint_in (g, 4, 40 * scale);
  m->vocab = rint_in (g, 8, 50 * scale);
  m->gated_mlp = g_rand_boolean (g);
  m->norm = (char *) (g_rand_boolean (g) ? "rmsnorm" : "layernorm");
  m->activation = (char *) acts[rint_in (g, 0, 2)];
  gboolean fp32 = g_rand_boolean (g);
  m->weight_dtype = (char *) (fp32 ? "fp32" : "bf16");
  m->bytes_per_param = fp32 ? 4 : 2;
  m->max_context = 4096;
  m->qk_norm = g_rand_boolean (g);
  /* a sliding window in half the models, from one key to past the longest context */
  m->sliding_window = g_rand_boolean (g) ? rint_in (g, 1, 24 * scale) : 0;
  /* partial rotary (phi-2) in a quarter of the models */
  if (rint_in (g, 0, 3) == 0)
    m->rotary_dim = 2 * rint_in (g, 1, m->head_dim / 2);
  /* learned positions (OPT) in a quarter of the models, without rotary; their table covers
   * every position the checks reach */
  if (rint_in (g, 0, 3) == 0) {
    m->learned_positions = TRUE;
    m->rotary_dim = 0;
    m->max_context = 512;
  }
  if (moe) {
    m->num_experts = rint_in (g, 2, 6);
    m->top_k = rint_in (g, 1, MIN (2, m->num_experts));
  }
}

/* ------------------------------------------------------------------ */
/* counters                                                            */

/* Runs a random batch on the tiny transformer and compares its counters with
 * the cost model. With tp > 1 the tiny transformer is given one rank's shapes
 * under Megatron sharding (heads/tp, KV heads max(1, nkv/tp), ffn/tp,
 * vocabulary/tp) and the 2 ring all-reduces per layer are run on tp simulated
 * ranks. With moe, MLP_UP/MLP_DOWN bytes are compared with the cost formula
 * evaluated at the experts actually touched (see docs/kernels.md). */
static double
iteration_trial (GRand *g, gboolean moe, int scale, char *why, gsize why_len)
{
  ModelLlm m;
  random_llm (g, &m, moe, scale);
  int tp = (int[]) { 1, 1, 2, 4 }[rint_in (g, 0, 3)];
  if (tp > 1) {
    if (g_rand_boolean (g)) {          /* KV heads split across ranks */
      m.num_kv_heads = tp * rint_in (g, 1, 2);
      m.num_heads = m.num_kv_heads * rint_in (g, 1, 2);
    } else {                           /* KV heads replicated (tp > nkv) */
      m.num_kv_heads = g_rand_boolean (g) ? 1 : tp / 2;
      m.num_heads = tp * rint_in (g, 1, 3);
    }
    m.ffn = tp * rint_in (g, 1, 10 * scale);
    m.vocab = tp * rint_in (g, 2, 12 * scale);
  }
  KernTinyConfig cfg;
  if (!kern_tiny_config_from_llm (&m, &cfg, NULL))
    return INFINITY;
  cfg.heads = m.num_heads / tp;
  cfg.kv_heads = m.num_kv_heads >= tp ? m.num_kv_heads / tp : 1;
  cfg.ffn = m.ffn / tp;
  cfg.vocab = m.vocab / tp;
  int kvb = (int[]) { 1, 2, 4 }[rint_in (g, 0, 2)];
  int n = rint_in (g, 1, 5);
  ModelSeqWork *sw = g_new (ModelSeqWork, n);
  KernTinyWork *w = g_new (KernTinyWork, n);
  int *toks = g_new (int, 64 * n), *next = g_new (int, n);
  KernTiny_d *tm = kern_tiny_new_d (&cfg, g_rand_int (g), 64 * n, rint_in (g, 1, 8), TRUE);
  for (int i = 0; i < n; i++) {
    sw[i].ctx = g_rand_boolean (g) ? 0 : rint_in (g, 1, 20);
    sw[i].q = g_rand_boolean (g) ? 1 : rint_in (g, 1, 12);
    int s = kern_tiny_seq_new_d (tm);
    for (int j = 0; j < 64; j++)
      toks[64 * i + j] = rint_in (g, 0, cfg.vocab - 1);
    if (sw[i].ctx > 0) {   /* fill the cache first (not counted) */
      KernTinyWork pre = { s, toks + 64 * i, (int) sw[i].ctx };
      kern_tiny_step_d (tm, &pre, 1, next, NULL, NULL, NULL, NULL);
    }
    w[i] = (KernTinyWork) { s, toks + 64 * i + 32, (int) sw[i].q };
  }
  ModelGpu gpu = check_gpu;
  model_cost_params_default (&gpu.profile);
  ModelCost cost;
  model_cost_init (&cost, &m, &gpu, tp);
  ModelCostParams cp = cost.params;
  cp.kv_dtype_bytes = kvb;
  model_cost_set_params (&cost, &cp, FALSE);
  ModelIterCost ic;
  model_cost_iteration (&cost, sw, n, &ic);
  KernCount op[MODEL_OP_COUNT];
  int wb = m.bytes_per_param, ab = wb >= 4 ? 4 : 2;
  for (int i = 0; i < MODEL_OP_COUNT; i++)
    kern_count_init (&op[i], wb, ab, kvb);
  kern_tiny_step_d (tm, w, n, next, NULL, NULL, op, NULL);
  if (tp > 1) {   /* after attention and after the MLP, every layer */
    gsize len = 0;
    for (int i = 0; i < n; i++)
      len += (gsize) sw[i].q * m.hidden;
    double **bufs = g_new (double *, tp);
    for (int r = 0; r < tp; r++)
      bufs[r] = g_new0 (double, len);
    for (int l = 0; l < 2 * m.num_layers + 1; l++)   /* and the embedding's */
      kern_allreduce_ring (tp, len, bufs, &op[MODEL_OP_ALLREDUCE]);
    for (int r = 0; r < tp; r++)
      g_free (bufs[r]);
    /* every rank's logits shard (n sequences x V/tp) gathered */
    gsize lg = (gsize) n * cfg.vocab * tp;
    for (int r = 0; r < tp; r++)
      bufs[r] = g_new0 (double, lg);
    kern_allgather_ring (tp, lg, bufs, &op[MODEL_OP_LOGITS_GATHER]);
    for (int r = 0; r < tp; r++)
      g_free (bufs[r]);
    g_free (bufs);
  }

  double worst = 0;
  for (int i = 0; i < MODEL_OP_COUNT; i++) {
    double cb = ic.op[i].bytes;
    if (moe && (i == MODEL_OP_MLP_UP || i == MODEL_OP_MLP_DOWN)) {
      /* experts touched, summed over layers, from the down counter; both up
       * and down must agree with the formula at that count */
      double L = m.num_layers, T = 0, h = m.hidden, f = (double) m.ffn / tp, k = m.top_k;
      double E = m.num_experts;
      double g2 = m.gated_mlp ? 2 : 1;
      for (int s = 0; s < n; s++)
        T += (double) sw[s].q;
      double Et = fmin (E, E * (1.0 - pow (1.0 - k / E, T)));
      double touched = (op[MODEL_OP_MLP_DOWN].bytes / wb - L * (T * k * f + T * k * h)) / (f * h);
      if (touched < L - 1e-9 || touched > L * E + 1e-9) {
        g_snprintf (why, why_len, "moe: %g experts touched over %g layers is impossible", touched, L);
        worst = INFINITY;
      }
      cb += (touched - L * Et) * (i == MODEL_OP_MLP_UP ? h * g2 * f : f * h) * wb;
    }
    double dv[3] = { fabs (op[i].flops - ic.op[i].flops), fabs (op[i].bytes - cb),
                     fabs (op[i].calls - ic.op[i].count) };
    double rv[3] = { ic.op[i].flops, cb, ic.op[i].count };
    for (int k = 0; k < 3; k++) {
      /* exact for dense (integers below 2^53); MoE bytes carry the fractional
       * expectation E_t through a subtraction, so allow rounding there */
      double e = dv[k] / fmax (1, fabs (rv[k]));
      /* the cost model computes (tp-1)/tp·T·h in another order: rounding only */
      if (i == MODEL_OP_ALLREDUCE && e <= 1e-14)
        e = 0;
      if (e > worst) {
        worst = e;
        g_snprintf (why, why_len, "%s %s: kernels %.17g, cost model %.17g (tp=%d L=%d h=%d nh=%d nkv=%d d=%d f=%d V=%d %s %s gated=%d qk_norm=%d window=%d learned_pos=%d)",
                    model_op_name (i), (const char *[]) { "flops", "bytes", "calls" }[k],
                    (double[]) { op[i].flops, op[i].bytes, op[i].calls }[k], rv[k], tp,
                    m.num_layers, m.hidden, m.num_heads, m.num_kv_heads, m.head_dim, m.ffn,
                    m.vocab, m.norm, m.activation, m.gated_mlp, m.qk_norm, m.sliding_window,
                    m.learned_positions);
      }
    }
  }
  kern_tiny_free_d (tm);
  g_free (sw);
  g_free (w);
  g_free (toks);
  g_free (next);
  return worst;
}

static void
run_counter_iteration (const KernCheckOpts *o, KernCheckResult *r, gboolean moe)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ (moe ? 0x55u : 0x11u));
  double worst = 0;
  char why[320] = "", w1[320];
  for (int t = 0; t < o->trials; t++) {
    double e = iteration_trial (g, moe, o->scale, w1, sizeof w1);
    if (e > worst || !isfinite (e)) {
      worst = e;
      memcpy (why, w1, sizeof why);
    }
  }
  g_rand_free (g);
  double tol = moe ? 1e-12 : 0;
  if (worst <= tol)
    result (r, worst, tol, "%d random batches, tp 1/2/4: every operator's FLOPs, bytes and kernel "
            "count equal model_cost_iteration%s", o->trials,
            moe ? " (expert weights at the experts touched)" : "");
  else
    result (r, worst, tol, "%s", why);
}

static void
check_counter_dense (const KernCheckOpts *o, KernCheckResult *r)
{
  run_counter_iteration (o, r, FALSE);
}

static void
check_counter_moe (const KernCheckOpts *o, KernCheckResult *r)
{
  run_counter_iteration (o, r, TRUE);
}

static void
check_counter_gemm (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x22u);
  double worst = 0;
  char why[200] = "";
  for (int t = 0; t < o->trials * 4; t++) {
    int P = rint_in (g, 1, 4), M = rint_in (g, 1, 40), N = P * rint_in (g, 1, 20),
        K = P * rint_in (g, 1, 20), wb = rint_in (g, 1, 4);
    double *A = rvec (g, (gsize) M * K, 1), *B = rvec (g, (gsize) K * N, 1);
    double *C = g_new (double, (gsize) M * N);
    KernCount c, cc, cr;
    kern_count_init (&c, wb, 2, 2);
    kern_count_init (&cc, wb, 2, 2);
    kern_count_init (&cr, wb, 2, 2);
    kern_gemm_d (M, N, K, A, K, B, N, C, N, &c);
    int rank = rint_in (g, 0, P - 1);
    kern_gemm_col_shard_d (M, N, K, A, B, rank, P, C, &cc);
    kern_gemm_row_shard_d (M, N, K, A, B, rank, P, C, &cr);
    double got[6] = { c.flops, c.bytes, cc.flops, cc.bytes, cr.flops, cr.bytes };
    double want[6] = { model_gemm_flops (M, N, K), model_gemm_bytes (M, N, K, wb),
                       model_gemm_flops (M, N / P, K), model_gemm_bytes (M, N / P, K, wb),
                       model_gemm_flops (M, N, K / P), model_gemm_bytes (M, N, K / P, wb) };
    for (int i = 0; i < 6; i++)
      if (got[i] != want[i]) {
        worst = fmax (worst, fabs (got[i] - want[i]) / want[i]);
        g_snprintf (why, sizeof why, "M=%d N=%d K=%d P=%d: count %d is %g, model_gemm_* says %g",
                    M, N, K, P, i, got[i], want[i]);
      }
    g_free (A);
    g_free (B);
    g_free (C);
  }
  g_rand_free (g);
  if (worst == 0)
    result (r, 0, 0, "%d random shapes: GEMM and its column/row shards equal model_gemm_flops/bytes",
            o->trials * 4);
  else
    result (r, worst, 0, "%s", why);
}

static void
check_counter_allreduce (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x33u);
  double worst = 0;
  char why[200] = "";
  for (int t = 0; t < o->trials * 2; t++) {
    int tp = 1 << rint_in (g, 1, 3);
    ModelLlm m;
    random_llm (g, &m, FALSE, o->scale);
    m.num_kv_heads = tp;
    m.num_heads = tp * rint_in (g, 1, 2);
    m.hidden = tp * rint_in (g, 1, 6);
    m.ffn = tp * rint_in (g, 1, 6);
    m.vocab = tp * rint_in (g, 2, 6);
    int T = rint_in (g, 1, 9);
    ModelSeqWork sw = { T, 0 };
    ModelGpu gpu = check_gpu;
    model_cost_params_default (&gpu.profile);
    ModelCost cost;
    model_cost_init (&cost, &m, &gpu, tp);
    ModelIterCost ic;
    model_cost_iteration (&cost, &sw, 1, &ic);
    double **bufs = g_new (double *, tp);
    gsize n = (gsize) T * m.hidden;
    for (int i = 0; i < tp; i++)
      bufs[i] = rvec (g, n, 1);
    KernCount c;
    int ab = m.bytes_per_param >= 4 ? 4 : 2;
    kern_count_init (&c, m.bytes_per_param, ab, 2);
    kern_allreduce_ring (tp, n, bufs, &c);
    const ModelOpCost *a = &ic.op[MODEL_OP_ALLREDUCE];
    double wf = a->flops / a->count, wbb = a->bytes / a->count;
    double e = fmax (fabs (c.flops - wf) / wf, fabs (c.bytes - wbb) / wbb);
    if (e > worst) {
      worst = e;
      g_snprintf (why, sizeof why, "tp=%d T=%d h=%d: ring all-reduce %g FLOPs %g bytes per rank, "
                  "cost model %g, %g", tp, T, m.hidden, c.flops, c.bytes, wf, wbb);
    }
    for (int i = 0; i < tp; i++)
      g_free (bufs[i]);
    g_free (bufs);
  }
  g_rand_free (g);
  /* (tp-1)/tp is computed in a different order: allow rounding */
  if (worst <= 1e-14)
    result (r, worst, 1e-14, "%d random shapes: ring all-reduce FLOPs and link bytes per rank "
            "equal the cost model's ALLREDUCE", o->trials * 2);
  else
    result (r, worst, 1e-14, "%s", why);
}

/* ------------------------------------------------------------------ */
/* equivalences                                                        */

static KernTinyConfig
random_tiny (GRand *g, int scale, gboolean moe)
{
  ModelLlm m;
  random_llm (g, &m, moe, scale);
  KernTinyConfig c;
  kern_tiny_config_from_llm (&m, &c, NULL);
  return c;
}

static void
check_chunked_prefill (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x44u);
  int mismatches = 0, runs = 0;
  double worst = 0;
  for (int t = 0; t < o->trials; t++) {
    KernTinyConfig cfg = random_tiny (g, o->scale, t % 3 == 2);
    guint64 seed = g_rand_int (g);
    int P = rint_in (g, 2, 24 * o->scale), G = rint_in (g, 1, 6);
    int *prompt = g_new (int, P);
    for (int i = 0; i < P; i++)
      prompt[i] = rint_in (g, 0, cfg.vocab - 1);
    int bs = rint_in (g, 1, 8);
    /* enough blocks for block size 1 (the pools differ in size and order) */
    KernTiny_d *a = kern_tiny_new_d (&cfg, seed, P + G + 4, bs, FALSE);
    KernTiny_d *b = kern_tiny_new_d (&cfg, seed, 2 * (P + G) + 4, rint_in (g, 1, 8), TRUE);
    int sa = kern_tiny_seq_new_d (a), sb = kern_tiny_seq_new_d (b);
    double *la = g_new (double, cfg.vocab), *lb = g_new (double, cfg.vocab);
    int ta = -1, tb = -1;
    KernTinyWork wa = { sa, prompt, P };
    gboolean ok = kern_tiny_step_d (a, &wa, 1, &ta, la, NULL, NULL, NULL);
    for (int done = 0; done < P && ok;) {   /* random chunks */
      int q = rint_in (g, 1, 6);
      q = MIN (P - done, q);
      KernTinyWork wb = { sb, prompt + done, q };
      ok = kern_tiny_step_d (b, &wb, 1, &tb, lb, NULL, NULL, NULL);
      done += q;
    }
    runs++;
    worst = fmax (worst, rel_err (lb, la, cfg.vocab));
    gboolean same = ok && memcmp (la, lb, sizeof (double) * cfg.vocab) == 0 && ta == tb;
    for (int s = 0; s < G && same; s++) {   /* then greedy decode on both */
      int ia = ta, ib = tb;
      KernTinyWork da = { sa, &ia, 1 }, db = { sb, &ib, 1 };
      same = kern_tiny_step_d (a, &da, 1, &ta, la, NULL, NULL, NULL)
             && kern_tiny_step_d (b, &db, 1, &tb, lb, NULL, NULL, NULL)
             && ta == tb && memcmp (la, lb, sizeof (double) * cfg.vocab) == 0;
    }
    mismatches += !same;
    kern_tiny_free_d (a);
    kern_tiny_free_d (b);
    g_free (la);
    g_free (lb);
    g_free (prompt);
  }
  g_rand_free (g);
  result (r, mismatches ? fmax (worst, 1) : 0, 0,
          "%d prompts, random chunking, block sizes and shuffled blocks: %d differ in logits or "
          "greedy tokens (bit-exact required)", runs, mismatches);
}

/* attention test problem: one sequence, contiguous K,V plus a paged copy */
typedef struct {
  int q, ctx, nh, nkv, d, nk, bs, nblocks;
  double *Q, *K, *V;
  int *table;
  KernKvCache_d *kv;
} AttnCase;

static void
attn_case (GRand *g, int scale, gboolean decode, AttnCase *a)
{
  a->nkv = rint_in (g, 1, 3);
  a->nh = a->nkv * rint_in (g, 1, 3);
  a->d = rint_in (g, 1, 8 * scale);
  a->ctx = decode ? rint_in (g, 1, 60 * scale) : rint_in (g, 0, 30 * scale);
  a->q = decode ? 1 : rint_in (g, 1, 20 * scale);
  a->nk = a->ctx + a->q;
  a->bs = rint_in (g, 1, 9);
  a->nblocks = (a->nk + a->bs - 1) / a->bs;
  a->Q = rvec (g, (gsize) a->q * a->nh * a->d, 1);
  a->K = rvec (g, (gsize) a->nk * a->nkv * a->d, 1);
  a->V = rvec (g, (gsize) a->nk * a->nkv * a->d, 1);
  /* a shuffled block table over a pool twice the size */
  int pool = 2 * a->nblocks + 1;
  int *perm = g_new (int, pool);
  for (int i = 0; i < pool; i++)
    perm[i] = i;
  for (int i = pool - 1; i > 0; i--) {
    int j = rint_in (g, 0, i), tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
  }
  a->table = perm;
  a->kv = kern_kv_cache_new_d (pool, a->bs, a->nkv, a->d);
  for (int t = 0; t < a->nk; t++) {
    gsize off = (((gsize) a->table[t / a->bs] * a->bs + t % a->bs) * a->nkv) * a->d;
    memcpy (a->kv->k + off, a->K + (gsize) t * a->nkv * a->d, sizeof (double) * a->nkv * a->d);
    memcpy (a->kv->v + off, a->V + (gsize) t * a->nkv * a->d, sizeof (double) * a->nkv * a->d);
  }
}

static void
attn_case_clear (AttnCase *a)
{
  g_free (a->Q);
  g_free (a->K);
  g_free (a->V);
  g_free (a->table);
  kern_kv_cache_free_d (a->kv);
}

typedef enum { ATT_PAGED, ATT_FLASH, ATT_SPLITK, ATT_STREAMK, ATT_GQA } AttVariant;

static void
run_attn_variant (const KernCheckOpts *o, KernCheckResult *r, AttVariant v, const char *what)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ (0x100u + v));
  double worst = 0, cnt_err = 0;
  int n_cases = o->trials * 4;
  for (int t = 0; t < n_cases; t++) {
    AttnCase a;
    attn_case (g, o->scale, v == ATT_STREAMK || (v == ATT_SPLITK && t % 2 == 0), &a);
    gsize no = (gsize) a.q * a.nh * a.d;
    double *ref = g_new (double, no), *out = g_new (double, no);
    KernCount cref, cv;
    kern_count_init (&cref, 2, 2, 2);
    kern_count_init (&cv, 2, 2, 2);
    double scale = 1.0 / sqrt (a.d);
    kern_attn_plain_d (a.q, a.ctx, a.nh, a.nkv, a.d, a.Q, a.nh * a.d, a.K, a.V, scale, ref,
                       a.nh * a.d, &cref);
    KernSeq s = { a.q, a.ctx, a.table, 0 };
    switch (v) {
    case ATT_PAGED:
      kern_attn_paged_d (a.kv, &s, 1, a.nh, a.Q, a.nh * a.d, scale, out, a.nh * a.d, &cv);
      break;
    case ATT_FLASH:
      kern_attn_flash_d (a.kv, &s, 1, a.nh, a.Q, a.nh * a.d, scale, rint_in (g, 1, 8),
                         rint_in (g, 1, 16), out, a.nh * a.d, &cv);
      break;
    case ATT_SPLITK:
      kern_attn_split_k_d (a.kv, &s, 1, a.nh, a.Q, a.nh * a.d, scale, rint_in (g, 1, 9), out,
                           a.nh * a.d, &cv);
      break;
    case ATT_STREAMK: {
      /* a decode batch of this sequence and a second one sharing its cache prefix */
      KernSeq ss[2] = { { 1, a.ctx, a.table, 0 }, { 1, MAX (0, a.ctx / 2), a.table, 0 } };
      int rowlen = a.nh * a.d, nb = 2;
      double *Qb = g_new (double, (gsize) 2 * rowlen), *ob = g_new (double, (gsize) 2 * rowlen);
      double *ref2 = g_new (double, rowlen);
      memcpy (Qb, a.Q, sizeof (double) * rowlen);
      memcpy (Qb + rowlen, a.Q, sizeof (double) * rowlen);
      kern_attn_stream_k_d (a.kv, ss, nb, a.nh, Qb, rowlen, scale, rint_in (g, 1, 8),
                            rint_in (g, 1, 7), ob, rowlen, &cv);
      memcpy (out, ob, sizeof (double) * rowlen);
      if (nb == 2) {
        /* reference for the second: plain over its shorter context */
        kern_attn_plain_d (1, ss[1].ctx, a.nh, a.nkv, a.d, a.Q, rowlen, a.K, a.V, scale, ref2,
                           rowlen, &cref);
        worst = fmax (worst, rel_err (ob + rowlen, ref2, rowlen));
      }
      g_free (Qb);
      g_free (ob);
      g_free (ref2);
      break;
    }
    case ATT_GQA: {
      /* grouped-query attention = multi-head attention with KV heads repeated */
      int grp = a.nh / a.nkv;
      double *K2 = g_new (double, (gsize) a.nk * a.nh * a.d), *V2 = g_new (double, (gsize) a.nk * a.nh * a.d);
      for (int tk = 0; tk < a.nk; tk++)
        for (int hh = 0; hh < a.nh; hh++) {
          memcpy (K2 + ((gsize) tk * a.nh + hh) * a.d, a.K + ((gsize) tk * a.nkv + hh / grp) * a.d,
                  sizeof (double) * a.d);
          memcpy (V2 + ((gsize) tk * a.nh + hh) * a.d, a.V + ((gsize) tk * a.nkv + hh / grp) * a.d,
                  sizeof (double) * a.d);
        }
      kern_attn_plain_d (a.q, a.ctx, a.nh, a.nh, a.d, a.Q, a.nh * a.d, K2, V2, scale, out,
                         a.nh * a.d, NULL);
      g_free (K2);
      g_free (V2);
      cv = cref;
      break;
    }
    }
    worst = fmax (worst, rel_err (out, ref, no));
    if (v != ATT_STREAMK)
      cnt_err = fmax (cnt_err, fabs (cv.flops - cref.flops) + fabs (cv.bytes - cref.bytes));
    g_free (ref);
    g_free (out);
    attn_case_clear (&a);
  }
  g_rand_free (g);
  double tol = (v == ATT_PAGED || v == ATT_GQA) ? 0 : 1e-12;
  if (cnt_err > 0) {
    result (r, INFINITY, tol, "counts differ from the plain kernel's by %g", cnt_err);
    return;
  }
  result (r, worst, tol, "%d random cases: %s (max relative error %.2g)", n_cases, what, worst);
}

static void
check_paged (const KernCheckOpts *o, KernCheckResult *r)
{
  run_attn_variant (o, r, ATT_PAGED, "paged KV, any block size, shuffled block table = contiguous, bit-exact");
}

static void
check_flash (const KernCheckOpts *o, KernCheckResult *r)
{
  run_attn_variant (o, r, ATT_FLASH, "tiled online softmax (random tiles) = plain softmax");
}

static void
check_split_k (const KernCheckOpts *o, KernCheckResult *r)
{
  run_attn_variant (o, r, ATT_SPLITK, "split-K (flash-decoding) with final reduction = plain");
}

static void
check_stream_k (const KernCheckOpts *o, KernCheckResult *r)
{
  run_attn_variant (o, r, ATT_STREAMK, "stream-K (LeanAttention) decode batch = plain");
}

static void
check_gqa (const KernCheckOpts *o, KernCheckResult *r)
{
  run_attn_variant (o, r, ATT_GQA, "grouped-query = multi-head with repeated KV heads, bit-exact");
}

/* Sliding-window attention (paged, and FlashAttention-style with random
 * tiles) = plain attention of each query over its window's keys alone; the
 * counters: 4·d FLOPs per (query, key in its window, head), and the keys from
 * the first query's window on read once. */
static void
check_window (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x200u);
  double worst = 0, cnt_err = 0;
  int n_cases = o->trials * 4;
  for (int t = 0; t < n_cases; t++) {
    AttnCase a;
    attn_case (g, o->scale, t % 3 == 0, &a);
    const int W = rint_in (g, 1, a.nk + 2), row = a.nh * a.d, kvrow = a.nkv * a.d;
    gsize no = (gsize) a.q * row;
    double *ref = g_new (double, no), *out = g_new (double, no);
    double pairs = 0;
    for (int i = 0; i < a.q; i++) {
      int p = a.ctx + i, lo = MAX (0, p - W + 1);
      kern_attn_plain_d (1, p - lo, a.nh, a.nkv, a.d, a.Q + (gsize) i * row, row,
                         a.K + (gsize) lo * kvrow, a.V + (gsize) lo * kvrow, 1.0 / sqrt (a.d),
                         ref + (gsize) i * row, row, NULL);
      pairs += (double) (p - lo + 1) * a.nh;
    }
    double flops = 4.0 * a.d * pairs;
    double bytes = 2.0 * a.q * row * 2 + (a.nk - MAX (0, a.ctx - W + 1)) * 2.0 * kvrow * 2;
    KernSeq s = { a.q, a.ctx, a.table, W };
    for (int v = 0; v < 2; v++) {
      KernCount c;
      kern_count_init (&c, 2, 2, 2);
      if (v == 0)
        kern_attn_paged_d (a.kv, &s, 1, a.nh, a.Q, row, 1.0 / sqrt (a.d), out, row, &c);
      else
        kern_attn_flash_d (a.kv, &s, 1, a.nh, a.Q, row, 1.0 / sqrt (a.d), rint_in (g, 1, 8),
                           rint_in (g, 1, 16), out, row, &c);
      worst = fmax (worst, rel_err (out, ref, no));
      cnt_err = fmax (cnt_err, fabs (c.flops - flops) / flops + fabs (c.bytes - bytes) / bytes);
    }
    g_free (ref);
    g_free (out);
    attn_case_clear (&a);
  }
  g_rand_free (g);
  if (cnt_err > 0)
    result (r, INFINITY, 1e-12, "window counters differ from the windowed formulas (%.3g)", cnt_err);
  else
    result (r, worst, 1e-12, "%d cases (prefill chunks and decodes, windows of 1 key to past "
            "the context): paged and tiled = plain over each query's window; counters exact",
            n_cases);
}

typedef void (*AllReduceFn) (int, gsize, double **, KernCount *);

static void
check_allreduce (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x66u);
  const struct { const char *name; AllReduceFn fn; gboolean pow2; } algs[] = {
    { "ring", kern_allreduce_ring, FALSE }, { "tree", kern_allreduce_tree, FALSE },
    { "halving-doubling", kern_allreduce_rhd, TRUE },
  };
  double worst = 0;
  int cases = 0, a2a_bad = 0;
  for (int t = 0; t < o->trials * 3; t++) {
    int N = rint_in (g, 1, 9);
    gsize n = (gsize) rint_in (g, 0, 100 * o->scale);
    double **orig = g_new (double *, N), **b = g_new (double *, N);
    double *sum = g_new0 (double, n ? n : 1);
    for (int i = 0; i < N; i++) {
      orig[i] = rvec (g, n, 1);
      b[i] = g_new (double, n ? n : 1);
      for (gsize j = 0; j < n; j++)
        sum[j] += orig[i][j];
    }
    for (guint k = 0; k <= G_N_ELEMENTS (algs); k++) {
      if (k < G_N_ELEMENTS (algs) && algs[k].pow2 && (N & (N - 1)))
        continue;
      for (int i = 0; i < N; i++)
        memcpy (b[i], orig[i], sizeof (double) * n);
      if (k < G_N_ELEMENTS (algs))
        algs[k].fn (N, n, b, NULL);
      else {   /* reduce-scatter then all-gather */
        kern_reduce_scatter_ring (N, n, b, NULL);
        kern_allgather_ring (N, n, b, NULL);
      }
      for (int i = 0; i < N; i++)
        worst = fmax (worst, rel_err (b[i], sum, n));
      cases++;
    }
    /* all-to-all: a transpose of chunks, exact */
    gsize ch = (gsize) rint_in (g, 0, 5);
    double **snd = g_new (double *, N), **rcv = g_new (double *, N);
    for (int i = 0; i < N; i++) {
      snd[i] = rvec (g, ch * N, 1);
      rcv[i] = g_new0 (double, ch * N + 1);
    }
    kern_alltoall (N, ch, snd, rcv, NULL);
    for (int i = 0; i < N; i++)
      for (int s = 0; s < N; s++)
        if (memcmp (rcv[s] + (gsize) i * ch, snd[i] + (gsize) s * ch, sizeof (double) * ch) != 0)
          a2a_bad++;
    for (int i = 0; i < N; i++) {
      g_free (orig[i]);
      g_free (b[i]);
      g_free (snd[i]);
      g_free (rcv[i]);
    }
    g_free (orig);
    g_free (b);
    g_free (snd);
    g_free (rcv);
    g_free (sum);
  }
  g_rand_free (g);
  if (a2a_bad)
    result (r, INFINITY, 1e-12, "all-to-all delivered %d chunks wrongly", a2a_bad);
  else
    result (r, worst, 1e-12, "%d runs over 1-9 ranks: ring, tree, halving-doubling, "
            "reduce-scatter+all-gather = plain sum; all-to-all exact", cases);
}

/* One transformer layer (RMSNorm, attention, residual, RMSNorm, GELU MLP,
 * residual) unsharded vs tensor-parallel over P ranks: column-parallel Q/K/V
 * and up, row-parallel out and down, ring all-reduce of the partials. */
static void
check_tensor_parallel (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x77u);
  double worst = 0;
  for (int t = 0; t < o->trials; t++) {
    int P = (int[]) { 1, 2, 4 }[rint_in (g, 0, 2)];
    int nkv = P * rint_in (g, 1, 2), nh = nkv * rint_in (g, 1, 2), d = 2 * rint_in (g, 1, 4);
    int h = rint_in (g, 4, 24), f = P * rint_in (g, 1, 8), T = rint_in (g, 1, 12);
    double *x = rvec (g, (gsize) T * h, 1), *nw = rvec (g, h, 1);
    double *Wq = rvec (g, (gsize) h * nh * d, 0.3), *Wk = rvec (g, (gsize) h * nkv * d, 0.3);
    double *Wv = rvec (g, (gsize) h * nkv * d, 0.3), *Wo = rvec (g, (gsize) nh * d * h, 0.3);
    double *Wu = rvec (g, (gsize) h * f, 0.3), *Wd = rvec (g, (gsize) f * h, 0.3);
    double sc = 1.0 / sqrt (d);
    double *xn = g_new (double, (gsize) T * h);
    kern_rmsnorm_d (T, h, x, nw, 1e-5, xn, NULL);
    /* unsharded */
    double *q = g_new (double, (gsize) T * nh * d), *k = g_new (double, (gsize) T * nkv * d);
    double *v = g_new (double, (gsize) T * nkv * d), *att = g_new (double, (gsize) T * nh * d);
    double *ref = g_new (double, (gsize) T * h), *y = g_new (double, (gsize) T * h);
    double *u = g_new (double, (gsize) T * f), *a = g_new (double, (gsize) T * f);
    kern_gemm_d (T, nh * d, h, xn, h, Wq, nh * d, q, nh * d, NULL);
    kern_gemm_d (T, nkv * d, h, xn, h, Wk, nkv * d, k, nkv * d, NULL);
    kern_gemm_d (T, nkv * d, h, xn, h, Wv, nkv * d, v, nkv * d, NULL);
    kern_attn_plain_d (T, 0, nh, nkv, d, q, nh * d, k, v, sc, att, nh * d, NULL);
    kern_gemm_d (T, h, nh * d, att, nh * d, Wo, h, y, h, NULL);
    kern_add_d ((gsize) T * h, x, y, ref, NULL);
    double *rn = g_new (double, (gsize) T * h);
    kern_rmsnorm_d (T, h, ref, nw, 1e-5, rn, NULL);
    kern_gemm_d (T, f, h, rn, h, Wu, f, u, f, NULL);
    kern_act_d (T, f, FALSE, KERN_ACT_GELU, u, a, NULL);
    kern_gemm_d (T, h, f, a, f, Wd, h, y, h, NULL);
    kern_add_d ((gsize) T * h, ref, y, ref, NULL);
    /* sharded: per rank heads nh/P, kv heads nkv/P, ffn f/P */
    int nhr = nh / P, nkr = nkv / P, fr = f / P;
    double **part = g_new (double *, P);
    double *qr = g_new (double, (gsize) T * nhr * d), *kr = g_new (double, (gsize) T * nkr * d);
    double *vr = g_new (double, (gsize) T * nkr * d), *ar = g_new (double, (gsize) T * nhr * d);
    double *ur = g_new (double, (gsize) T * fr), *acr = g_new (double, (gsize) T * fr);
    double *x1 = g_new (double, (gsize) T * h), *x1n = g_new (double, (gsize) T * h);
    for (int p = 0; p < P; p++) {
      part[p] = g_new (double, (gsize) T * h);
      kern_gemm_col_shard_d (T, nh * d, h, xn, Wq, p, P, qr, NULL);
      kern_gemm_col_shard_d (T, nkv * d, h, xn, Wk, p, P, kr, NULL);
      kern_gemm_col_shard_d (T, nkv * d, h, xn, Wv, p, P, vr, NULL);
      kern_attn_plain_d (T, 0, nhr, nkr, d, qr, nhr * d, kr, vr, sc, ar, nhr * d, NULL);
      /* row-parallel: this rank's attention heads times its rows of Wo */
      kern_gemm_d (T, h, nhr * d, ar, nhr * d, Wo + (gsize) p * nhr * d * h, h, part[p], h, NULL);
    }
    kern_allreduce_ring (P, (gsize) T * h, part, NULL);
    kern_add_d ((gsize) T * h, x, part[0], x1, NULL);
    kern_rmsnorm_d (T, h, x1, nw, 1e-5, x1n, NULL);
    for (int p = 0; p < P; p++) {
      kern_gemm_col_shard_d (T, f, h, x1n, Wu, p, P, ur, NULL);
      kern_act_d (T, fr, FALSE, KERN_ACT_GELU, ur, acr, NULL);
      /* row shard of Wd: rows [p·fr, (p+1)·fr) times this rank's activations */
      kern_gemm_d (T, h, fr, acr, fr, Wd + (gsize) p * fr * h, h, part[p], h, NULL);
    }
    kern_allreduce_ring (P, (gsize) T * h, part, NULL);
    kern_add_d ((gsize) T * h, x1, part[0], x1, NULL);
    worst = fmax (worst, rel_err (x1, ref, (gsize) T * h));
    for (int p = 0; p < P; p++)
      g_free (part[p]);
    g_free (part);
    double *fr_[] = { x, nw, Wq, Wk, Wv, Wo, Wu, Wd, xn, q, k, v, att, ref, y, u, a, rn, qr, kr,
                      vr, ar, ur, acr, x1, x1n };
    for (guint i = 0; i < G_N_ELEMENTS (fr_); i++)
      g_free (fr_[i]);
  }
  g_rand_free (g);
  result (r, worst, 1e-12, "%d layers, tp 1/2/4: column + row parallel + ring all-reduce = "
          "unsharded (max relative error %.2g)", o->trials, worst);
}

static void
check_speculative (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x88u);
  int bad = 0, runs = 0, accepted = 0, drafted = 0;
  for (int t = 0; t < o->trials; t++) {
    KernTinyConfig cfg = random_tiny (g, o->scale, FALSE);
    guint64 seed = g_rand_int (g);
    int P = rint_in (g, 1, 10), G = rint_in (g, 4, 12 * o->scale);
    int *prompt = g_new (int, P), *ref = g_new (int, G + 1), *spec = g_new (int, G + 16);
    for (int i = 0; i < P; i++)
      prompt[i] = rint_in (g, 0, cfg.vocab - 1);
    /* plain greedy decoding */
    KernTiny_d *a = kern_tiny_new_d (&cfg, seed, P + G + 16, 4, FALSE);
    int sa = kern_tiny_seq_new_d (a);
    KernTinyWork w = { sa, prompt, P };
    kern_tiny_step_d (a, &w, 1, &ref[0], NULL, NULL, NULL, NULL);
    for (int i = 1; i <= G; i++) {
      KernTinyWork dw = { sa, &ref[i - 1], 1 };
      kern_tiny_step_d (a, &dw, 1, &ref[i], NULL, NULL, NULL, NULL);
    }
    /* speculative: any draft; greedy acceptance; rollback of rejected tokens */
    KernTiny_d *b = kern_tiny_new_d (&cfg, seed, P + G + 16, 3, TRUE);
    int sb = kern_tiny_seq_new_d (b), have = 1;
    w.seq = sb;
    kern_tiny_step_d (b, &w, 1, &spec[0], NULL, NULL, NULL, NULL);
    double *lg = g_new (double, (gsize) 9 * cfg.vocab);
    while (have <= G) {
      int k = rint_in (g, 1, 8), in[9], pred[9], nx;
      in[0] = spec[have - 1];
      for (int i = 1; i <= k; i++)   /* a draft that is right with probability 1/2 */
        in[i] = (have - 1 + i <= G && g_rand_boolean (g)) ? ref[have - 1 + i]
                                                          : rint_in (g, 0, cfg.vocab - 1);
      int len0 = kern_tiny_seq_len_d (b, sb);
      KernTinyWork sw = { sb, in, k + 1 };
      kern_tiny_step_d (b, &sw, 1, &nx, NULL, lg, NULL, NULL);
      kern_argmax_d (k + 1, cfg.vocab, lg, pred);
      int emitted = kern_spec_verify_greedy (k, in + 1, pred, spec + have);
      int acc = emitted - 1;
      have += emitted;
      /* keep the last token and the accepted drafts in the cache, drop the rest */
      kern_tiny_seq_truncate_d (b, sb, len0 + 1 + acc);
      accepted += acc;
      drafted += k;
    }
    runs++;
    if (memcmp (spec, ref, sizeof (int) * (G + 1)) != 0)
      bad++;
    kern_tiny_free_d (a);
    kern_tiny_free_d (b);
    g_free (lg);
    g_free (prompt);
    g_free (ref);
    g_free (spec);
  }
  g_rand_free (g);
  result (r, bad, 0, "%d generations with random drafts (%d of %d draft tokens accepted): %d "
          "differ from plain greedy decoding", runs, accepted, drafted, bad);
}

static void
check_moe (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x99u);
  double worst = 0;
  for (int t = 0; t < o->trials * 2; t++) {
    int T = rint_in (g, 1, 16), h = rint_in (g, 2, 16), f = rint_in (g, 2, 16);
    int E = rint_in (g, 1, 8), k = rint_in (g, 1, E);
    gboolean gated = g_rand_boolean (g);
    int gg = gated ? 2 : 1;
    double *x = rvec (g, (gsize) T * h, 1), *Wg = rvec (g, (gsize) h * E, 1);
    double **Wu = g_new (double *, E), **Wd = g_new (double *, E);
    for (int e = 0; e < E; e++) {
      Wu[e] = rvec (g, (gsize) h * gg * f, 0.5);
      Wd[e] = rvec (g, (gsize) f * h, 0.5);
    }
    int *ids = g_new (int, T * k);
    double *wt = g_new (double, T * k), *out = g_new (double, (gsize) T * h);
    double *ref = g_new0 (double, (gsize) T * h);
    kern_moe_gate_d (T, h, E, k, x, Wg, ids, wt, NULL, NULL);
    kern_moe_experts_d (T, h, f, E, k, gated, KERN_ACT_SILU, x, ids, wt,
                        (const double *const *) Wu, (const double *const *) Wd, out, NULL, NULL,
                        NULL, NULL, NULL);
    /* dense loop: each token through each of its experts, one at a time */
    double *u = g_new (double, gg * f), *a = g_new (double, f), *y = g_new (double, h);
    for (int tok = 0; tok < T; tok++)
      for (int j = 0; j < k; j++) {
        int e = ids[tok * k + j];
        kern_gemm_d (1, gg * f, h, x + (gsize) tok * h, h, Wu[e], gg * f, u, gg * f, NULL);
        kern_act_d (1, f, gated, KERN_ACT_SILU, u, a, NULL);
        kern_gemm_d (1, h, f, a, f, Wd[e], h, y, h, NULL);
        for (int i = 0; i < h; i++)
          ref[(gsize) tok * h + i] += wt[tok * k + j] * y[i];
      }
    worst = fmax (worst, rel_err (out, ref, (gsize) T * h));
    for (int e = 0; e < E; e++) {
      g_free (Wu[e]);
      g_free (Wd[e]);
    }
    g_free (Wu);
    g_free (Wd);
    g_free (x);
    g_free (Wg);
    g_free (ids);
    g_free (wt);
    g_free (out);
    g_free (ref);
    g_free (u);
    g_free (a);
    g_free (y);
  }
  g_rand_free (g);
  result (r, worst, 1e-12, "%d random MoE layers: grouped-by-expert (unlimited capacity) = dense "
          "loop over the selected experts (max relative error %.2g)", o->trials * 2, worst);
}

static void
check_rounding (const KernCheckOpts *o, KernCheckResult *r)
{
  /* known values of the emulated formats */
  const struct { float (*fn) (float); float in, want; } cases[] = {
    { kern_round_bf16, 1.0f, 1.0f },
    { kern_round_bf16, 1.00390625f, 1.0f },          /* 1 + 2^-8: tie -> even */
    { kern_round_bf16, 1.01171875f, 1.015625f },     /* 1 + 3·2^-8: tie -> even (up) */
    { kern_round_bf16, 3.14159265f, 3.140625f },
    { kern_round_fp16, 65504.0f, 65504.0f },
    { kern_round_fp16, 1e6f, 65504.0f },             /* saturates */
    { kern_round_fp16, 5.96046448e-8f, 5.96046448e-8f }, /* smallest subnormal 2^-24 */
    { kern_round_fp16, 1.00048828125f, 1.0f },       /* 1 + 2^-11: tie -> even */
    { kern_round_fp8_e4m3, 448.0f, 448.0f },
    { kern_round_fp8_e4m3, 500.0f, 448.0f },
    { kern_round_fp8_e4m3, 1.0625f, 1.0f },          /* 1 + 2^-4: tie -> even */
    { kern_round_fp8_e4m3, 1.1875f, 1.25f },         /* 1 + 3·2^-4: tie -> even (up) */
    { kern_round_fp8_e4m3, 0.001953125f, 0.001953125f }, /* 2^-9 smallest subnormal */
    { kern_round_fp8_e4m3, -0.3f, -0.3125f },
  };
  int bad = 0;
  char why[128] = "";
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    float got = cases[i].fn (cases[i].in);
    if (got != cases[i].want) {
      bad++;
      g_snprintf (why, sizeof why, "; case %u: %.9g -> %.9g, expected %.9g", i, cases[i].in, got,
                  cases[i].want);
    }
  }
  result (r, bad, 0, "%u known values of bf16, fp16, fp8-e4m3 rounding: %d wrong%s",
          (guint) G_N_ELEMENTS (cases), bad, why);
}

/* ------------------------------------------------------------------ */
/* lossy                                                               */

static void
run_kv_quant (const KernCheckOpts *o, KernCheckResult *r, KernQuant kind, double bound)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ (0x200u + kind));
  double sum_l2 = 0;
  int cases = o->trials * 2;
  for (int t = 0; t < cases; t++) {
    AttnCase a;
    attn_case (g, o->scale, t % 2 == 0, &a);
    gsize nkv = (gsize) a.nk * a.nkv * a.d, no = (gsize) a.q * a.nh * a.d;
    double *Kq = g_new (double, nkv), *Vq = g_new (double, nkv);
    kern_quant_roundtrip (kind, a.K, nkv, a.d, Kq);
    kern_quant_roundtrip (kind, a.V, nkv, a.d, Vq);
    double *ref = g_new (double, no), *out = g_new (double, no), sc = 1.0 / sqrt (a.d);
    kern_attn_plain_d (a.q, a.ctx, a.nh, a.nkv, a.d, a.Q, a.nh * a.d, a.K, a.V, sc, ref, a.nh * a.d, NULL);
    kern_attn_plain_d (a.q, a.ctx, a.nh, a.nkv, a.d, a.Q, a.nh * a.d, Kq, Vq, sc, out, a.nh * a.d, NULL);
    sum_l2 += rel_l2 (out, ref, no);
    g_free (Kq);
    g_free (Vq);
    g_free (ref);
    g_free (out);
    attn_case_clear (&a);
  }
  /* top-1 agreement of the tiny model's greedy tokens with a quantised cache */
  int agree = 0, total = 0;
  for (int t = 0; t < o->trials; t++) {
    KernTinyConfig cfg = random_tiny (g, o->scale, FALSE);
    guint64 seed = g_rand_int (g);
    int P = rint_in (g, 4, 16), G = 8;
    int *prompt = g_new (int, P), ta, tb;
    for (int i = 0; i < P; i++)
      prompt[i] = rint_in (g, 0, cfg.vocab - 1);
    KernTiny_d *a = kern_tiny_new_d (&cfg, seed, 64, 4, FALSE), *b = kern_tiny_new_d (&cfg, seed, 64, 4, FALSE);
    int sa = kern_tiny_seq_new_d (a), sb = kern_tiny_seq_new_d (b);
    KernTinyWork wa = { sa, prompt, P }, wb = { sb, prompt, P };
    kern_tiny_step_d (a, &wa, 1, &ta, NULL, NULL, NULL, NULL);
    kern_tiny_step_d (b, &wb, 1, &tb, NULL, NULL, NULL, NULL);
    kern_tiny_kv_roundtrip_d (b, kind);
    for (int i = 0; i < G; i++) {
      /* teacher-forced: both continue from the exact model's token */
      agree += ta == tb;
      total++;
      int tok = ta;
      KernTinyWork da = { sa, &tok, 1 }, db = { sb, &tok, 1 };
      kern_tiny_step_d (a, &da, 1, &ta, NULL, NULL, NULL, NULL);
      kern_tiny_step_d (b, &db, 1, &tb, NULL, NULL, NULL, NULL);
      kern_tiny_kv_roundtrip_d (b, kind);
    }
    kern_tiny_free_d (a);
    kern_tiny_free_d (b);
    g_free (prompt);
  }
  g_rand_free (g);
  double mean = sum_l2 / cases;
  result (r, mean, bound, "%s per-head-row groups: mean relative L2 of attention outputs %.3g "
          "over %d cases; tiny-model top-1 agreement %d/%d (%.1f%%)", kern_quant_name (kind), mean,
          cases, agree, total, 100.0 * agree / MAX (total, 1));
}

static void
check_kv_int8 (const KernCheckOpts *o, KernCheckResult *r)
{
  run_kv_quant (o, r, KERN_QUANT_INT8, 0.02);
}

static void
check_kv_int4 (const KernCheckOpts *o, KernCheckResult *r)
{
  run_kv_quant (o, r, KERN_QUANT_INT4, 0.5);
}

static void
check_kv_fp8 (const KernCheckOpts *o, KernCheckResult *r)
{
  run_kv_quant (o, r, KERN_QUANT_FP8, 0.1);
}

static void
check_h2o (const KernCheckOpts *o, KernCheckResult *r)
{
  GRand *g = g_rand_new_with_seed ((guint32) o->seed ^ 0x300u);
  double sum_half = 0, sum_quarter = 0, sum_window = 0;
  int cases = 0;
  for (int t = 0; t < o->trials; t++) {
    int nkv = rint_in (g, 1, 2), nh = nkv * rint_in (g, 1, 2), d = 2 * rint_in (g, 2, 8);
    int P = rint_in (g, 16, 48), G = 16, n = P + G;
    /* keys with a few heavy hitters: some keys aligned with a shared direction */
    double *K = rvec (g, (gsize) n * nkv * d, 1), *V = rvec (g, (gsize) n * nkv * d, 1);
    double *dir = rvec (g, d, 1);
    for (int j = 0; j < n; j++)
      if (g_rand_int_range (g, 0, 8) == 0)
        for (int hh = 0; hh < nkv; hh++)
          for (int x = 0; x < d; x++)
            K[((gsize) j * nkv + hh) * d + x] += 4 * dir[x];
    for (int pass = 0; pass < 3; pass++) {
      /* pass 0: H2O at 50%; 1: H2O at 25%; 2: sliding window at 50% (baseline) */
      double frac = pass == 1 ? 0.25 : 0.5, sum = 0;
      double *acc = g_new0 (double, n), *probs = g_new (double, n);
      gboolean *keep = g_new (gboolean, n), *all = g_new (gboolean, n), *gone = g_new0 (gboolean, n);
      double *out = g_new (double, (gsize) nh * d), *ref = g_new (double, (gsize) nh * d);
      for (int s = 0; s < G; s++) {
        int nk = P + s + 1;
        double *q = rvec (g, (gsize) nh * d, 1);
        for (int x = 0; x < nh * d; x++)
          q[x] += dir[x % d];
        int budget = MAX (2, (int) (frac * nk)), recent = pass == 2 ? budget : budget / 2;
        kern_h2o_select (nk, acc, budget, recent, keep);
        for (int j = 0; j < nk; j++) {
          keep[j] = keep[j] && !gone[j];
          gone[j] = !keep[j];
          all[j] = TRUE;
        }
        kern_attn_decode_masked_d (nk, nh, nkv, d, q, K, V, all, 1.0 / sqrt (d), ref, NULL, NULL);
        kern_attn_decode_masked_d (nk, nh, nkv, d, q, K, V, keep, 1.0 / sqrt (d), out, probs, NULL);
        for (int j = 0; j < nk; j++)
          acc[j] += probs[j];
        sum += rel_l2 (out, ref, (gsize) nh * d);
        g_free (q);
      }
      if (pass == 1)
        sum_quarter += sum / G;
      else if (pass == 2)
        sum_window += sum / G;
      else
        sum_half += sum / G;
      g_free (acc);
      g_free (probs);
      g_free (keep);
      g_free (all);
      g_free (gone);
      g_free (out);
      g_free (ref);
    }
    cases++;
    g_free (K);
    g_free (V);
    g_free (dir);
  }
  g_rand_free (g);
  double half = sum_half / cases, quarter = sum_quarter / cases, window = sum_window / cases;
  /* a sanity bound only (the relative L2 of two convex combinations of the
   * same values stays well below 2); the numbers are the report */
  result (r, half, 2.0, "H2O (half heavy hitters, half recent; evicted keys stay evicted): mean "
          "relative L2 of decode attention outputs %.3g at a 50%% KV budget, %.3g at 25%%; "
          "recent-only window at 50%%: %.3g (%d sequences)", half, quarter, window, cases);
}

/* ------------------------------------------------------------------ */

static const KernCheck checks[] = {
  { "counter-gemm", "counter", "GEMM and TP shards vs model_gemm_flops/bytes", check_counter_gemm },
  { "counter-iteration", "counter", "tiny transformer (dense) per operator vs model_cost_iteration", check_counter_dense },
  { "counter-moe", "counter", "tiny transformer (MoE) per operator vs model_cost_iteration", check_counter_moe },
  { "counter-allreduce", "counter", "ring all-reduce per rank vs the cost model's ALLREDUCE", check_counter_allreduce },
  { "chunked-prefill", "equivalence", "chunked prefill = full prefill (tiny model, bit-exact)", check_chunked_prefill },
  { "paged-kv", "equivalence", "paged KV (any block size, shuffled table) = contiguous", check_paged },
  { "gqa", "equivalence", "grouped-query = MHA with repeated KV heads", check_gqa },
  { "flash-softmax", "equivalence", "tiled online softmax = plain softmax", check_flash },
  { "sliding-window", "equivalence", "sliding-window attention (paged, tiled) = plain over the window", check_window },
  { "split-k", "equivalence", "split-K flash-decoding = plain decode", check_split_k },
  { "stream-k", "equivalence", "stream-K (LeanAttention) decode = plain decode", check_stream_k },
  { "tensor-parallel", "equivalence", "column+row parallel layer + all-reduce = unsharded", check_tensor_parallel },
  { "allreduce", "equivalence", "every all-reduce algorithm = plain sum", check_allreduce },
  { "speculative", "equivalence", "speculative decoding (any draft) = greedy decoding", check_speculative },
  { "moe", "equivalence", "MoE grouped by expert = dense loop over selected experts", check_moe },
  { "rounding", "equivalence", "emulated bf16/fp16/fp8-e4m3 rounding on known values", check_rounding },
  { "kv-int8", "lossy", "int8 KV cache: attention error, token agreement", check_kv_int8 },
  { "kv-int4", "lossy", "int4 KV cache: attention error, token agreement", check_kv_int4 },
  { "kv-fp8", "lossy", "fp8-e4m3 KV cache: attention error, token agreement", check_kv_fp8 },
  { "h2o", "lossy", "H2O heavy-hitter eviction: attention error", check_h2o },
  { NULL, NULL, NULL, NULL }
};

const KernCheck *
kern_checks (void)
{
  return checks;
}

const KernCheck *
kern_check_find (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);
  for (const KernCheck *c = checks; c->name; c++)
    if (strcmp (c->name, name) == 0)
      return c;
  return NULL;
}

void
kern_check_run (const KernCheck *chk, const KernCheckOpts *o, KernCheckResult *r)
{
  g_return_if_fail (chk != NULL && o != NULL && r != NULL);
  memset (r, 0, sizeof *r);
  KernCheckOpts oo = *o;
  oo.trials = MAX (1, oo.trials);
  oo.scale = MAX (1, oo.scale);
  chk->run (&oo, r);
}
