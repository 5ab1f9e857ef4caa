/* tests/kernels/test_kernels.c — the reference kernels (models/kernels/):
 * every counter, equivalence and lossy check of checks.c at small sizes, plus
 * direct tests of the pieces the checks rely on and of bad input. No timing.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/kernels/checks.h"
#include "models/kernels/kernels.h"
#include "models/kernels/tiny.h"
#include "tests/testutil.h"

static void
run_named (const char *name)
{
  const KernCheck *c = kern_check_find (name);
  CU_ASSERT_PTR_NOT_NULL_FATAL (c);
  KernCheckOpts o = { .seed = 20261127, .trials = 6, .scale = 1 };
  KernCheckResult r;
  kern_check_run (c, &o, &r);
  if (!r.pass)
    fprintf (stderr, "\n  %s: error %g > tol %g: %s\n", name, r.error, r.tol, r.detail);
  CU_ASSERT_TRUE (r.pass);
  /* a second seed: the checks must not pass by one lucky draw */
  o.seed = 7;
  kern_check_run (c, &o, &r);
  if (!r.pass)
    fprintf (stderr, "\n  %s (seed 7): error %g > tol %g: %s\n", name, r.error, r.tol, r.detail);
  CU_ASSERT_TRUE (r.pass);
}

#define CHECK_CASE(fn, name) \
  static void fn (void) { run_named (name); }
CHECK_CASE (t_counter_gemm, "counter-gemm")
CHECK_CASE (t_counter_iteration, "counter-iteration")
CHECK_CASE (t_counter_moe, "counter-moe")
CHECK_CASE (t_counter_allreduce, "counter-allreduce")
CHECK_CASE (t_chunked, "chunked-prefill")
CHECK_CASE (t_paged, "paged-kv")
CHECK_CASE (t_gqa, "gqa")
CHECK_CASE (t_flash, "flash-softmax")
CHECK_CASE (t_window, "sliding-window")
CHECK_CASE (t_split_k, "split-k")
CHECK_CASE (t_stream_k, "stream-k")
CHECK_CASE (t_tp, "tensor-parallel")
CHECK_CASE (t_allreduce, "allreduce")
CHECK_CASE (t_spec, "speculative")
CHECK_CASE (t_moe, "moe")
CHECK_CASE (t_rounding, "rounding")
CHECK_CASE (t_kv_int8, "kv-int8")
CHECK_CASE (t_kv_int4, "kv-int4")
CHECK_CASE (t_kv_fp8, "kv-fp8")
CHECK_CASE (t_h2o, "h2o")

/* Per-head RMSNorm in place: each head's row of each token divided by its
 * own rms and scaled by the weights; the columns beyond the heads untouched */
static void
t_rmsnorm_heads (void)
{
  /* 2 tokens, 2 heads of 2, rows of 5 (one extra column) */
  double x[10] = { 3, 4, 0, 2, 9, 1, 1, -2, 0, 7 };
  const double w[2] = { 1, 0.5 };
  KernCount c;
  kern_count_init (&c, 2, 2, 2);
  kern_rmsnorm_heads_d (2, 2, 2, x, 5, w, 0, &c);
  /* rms(3, 4) = sqrt(12.5); rms(0, 2) = sqrt(2); rms(1, 1) = 1; rms(-2, 0) = sqrt(2) */
  const double want[10] = { 3 / sqrt (12.5), 0.5 * 4 / sqrt (12.5), 0, 0.5 * 2 / sqrt (2.0), 9,
                            1, 0.5, -2 / sqrt (2.0), 0, 7 };
  for (int i = 0; i < 10; i++)
    CU_ASSERT_DOUBLE_EQUAL (x[i], want[i], 1e-15);
  CU_ASSERT_DOUBLE_EQUAL (c.flops, 4.0 * 2 * 2 * 2, 0);
  CU_ASSERT_DOUBLE_EQUAL (c.bytes, 2.0 * 2 * 2 * 2 * 2 + 2 * 2, 0);
  CU_ASSERT_DOUBLE_EQUAL (c.calls, 1, 0);
}

/* Partial rotary: the first rot elements of each head turn by pos / theta^(2i/rot)
 * in (i, i + rot/2) pairs, the rest stay; 3 FLOPs and 2 ab bytes per rotated element */
static void
t_rope_partial (void)
{
  /* 1 token at position 1, 2 query heads and 1 key head of 6, rot 4, theta 100 */
  double q[12], k[6];
  for (int i = 0; i < 12; i++)
    q[i] = i + 1;
  for (int i = 0; i < 6; i++)
    k[i] = -(i + 1);
  const double q0[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
  int pos = 1;
  KernCount c;
  kern_count_init (&c, 2, 2, 2);
  kern_rope_d (1, 2, 1, 6, 4, q, 12, k, 6, &pos, 100, &c);
  const double a0 = 1.0, a1 = 1.0 / 10;   /* angles pos * 100^(-2i/4), i = 0, 1 */
  for (int h = 0; h < 2; h++) {
    const double *x = q0 + 6 * h, *y = q + 6 * h;
    CU_ASSERT_DOUBLE_EQUAL (y[0], x[0] * cos (a0) - x[2] * sin (a0), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL (y[2], x[0] * sin (a0) + x[2] * cos (a0), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL (y[1], x[1] * cos (a1) - x[3] * sin (a1), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL (y[3], x[1] * sin (a1) + x[3] * cos (a1), 1e-15);
    CU_ASSERT_EQUAL (y[4], x[4]);   /* beyond rot: untouched */
    CU_ASSERT_EQUAL (y[5], x[5]);
  }
  CU_ASSERT_DOUBLE_EQUAL (k[0], -1 * cos (a0) + 3 * sin (a0), 1e-15);
  CU_ASSERT_EQUAL (k[4], -5);
  CU_ASSERT_DOUBLE_EQUAL (c.flops, 3.0 * (2 + 1) * 4, 0);
  CU_ASSERT_DOUBLE_EQUAL (c.bytes, 2.0 * (2 + 1) * 4 * 2, 0);
}

static void
t_check_table (void)
{
  int n = 0;
  for (const KernCheck *c = kern_checks (); c->name; c++, n++) {
    CU_ASSERT_PTR_NOT_NULL (c->run);
    CU_ASSERT_TRUE (strcmp (c->kind, "counter") == 0 || strcmp (c->kind, "equivalence") == 0
                    || strcmp (c->kind, "lossy") == 0);
    CU_ASSERT_PTR_EQUAL (kern_check_find (c->name), c);
  }
  CU_ASSERT_EQUAL (n, 20);
  CU_ASSERT_PTR_NULL (kern_check_find ("no-such-check"));
}

/* A hand-sized GEMM: values and counts. */
static void
t_gemm_small (void)
{
  double A[6] = { 1, 2, 3, 4, 5, 6 };       /* 2x3 */
  double B[6] = { 7, 8, 9, 10, 11, 12 };    /* 3x2 */
  double C[4] = { -1, -1, -1, -1 };
  KernCount c;
  kern_count_init (&c, 2, 2, 2);
  kern_gemm_d (2, 2, 3, A, 3, B, 2, C, 2, &c);
  CU_ASSERT_EQUAL (C[0], 58);
  CU_ASSERT_EQUAL (C[1], 64);
  CU_ASSERT_EQUAL (C[2], 139);
  CU_ASSERT_EQUAL (C[3], 154);
  CU_ASSERT_EQUAL (c.flops, 24);
  CU_ASSERT_EQUAL (c.bytes, (6 + 6 + 4) * 2);
  CU_ASSERT_EQUAL (c.calls, 1);
  /* float agrees with double on a larger random product (tile edges) */
  int M = 37, N = 41, K = 300;
  double *a = g_new (double, M * K), *b = g_new (double, K * N), *cd = g_new (double, M * N);
  float *af = g_new (float, M * K), *bf = g_new (float, K * N), *cf = g_new (float, M * N);
  for (int i = 0; i < M * K; i++)
    af[i] = (float) (a[i] = sin (i));
  for (int i = 0; i < K * N; i++)
    bf[i] = (float) (b[i] = cos (i));
  kern_gemm_d (M, N, K, a, K, b, N, cd, N, NULL);
  kern_gemm_f (M, N, K, af, K, bf, N, cf, N, NULL);
  double worst = 0;
  for (int i = 0; i < M * N; i++) {
    double ref = 0;
    for (int k = 0; k < K; k++)
      ref += a[(i / N) * K + k] * b[k * N + i % N];
    CU_ASSERT_DOUBLE_EQUAL (cd[i], ref, 1e-9);
    worst = fmax (worst, fabs (cf[i] - ref));
  }
  CU_ASSERT_TRUE (worst < 1e-3);
  g_free (a);
  g_free (b);
  g_free (cd);
  g_free (af);
  g_free (bf);
  g_free (cf);
}

static void
t_quant_and_h2o (void)
{
  /* values on the int8 grid survive the round trip exactly */
  double x[4] = { 127, -64, 1, 0 }, y[4];
  kern_quant_roundtrip (KERN_QUANT_INT8, x, 4, 4, y);
  CU_ASSERT_EQUAL (memcmp (x, y, sizeof x), 0);
  kern_quant_roundtrip (KERN_QUANT_INT4, x, 4, 4, y);
  CU_ASSERT_EQUAL (y[0], 127);
  CU_ASSERT_DOUBLE_EQUAL (y[1], -127.0 * 4 / 7, 1e-12);   /* -64 -> -3.5 steps -> -4 (even) */
  double z[4] = { 0, 0, 0, 0 };
  kern_quant_roundtrip (KERN_QUANT_FP8, z, 4, 2, y);
  CU_ASSERT_EQUAL (y[0], 0);
  /* H2O: 2 recent + the 2 highest-scoring older keys */
  double acc[8] = { 0.1, 5, 0.2, 3, 0.3, 9, 0, 0 };
  gboolean keep[8];
  kern_h2o_select (8, acc, 4, 2, keep);
  gboolean want[8] = { FALSE, TRUE, FALSE, FALSE, FALSE, TRUE, TRUE, TRUE };
  CU_ASSERT_EQUAL (memcmp (keep, want, sizeof keep), 0);
  kern_h2o_select (3, acc, 4, 2, keep);   /* fewer keys than the budget: keep all */
  CU_ASSERT_TRUE (keep[0] && keep[1] && keep[2]);
}

static void
t_spec_verify (void)
{
  int draft[3] = { 5, 6, 7 }, out[4];
  int all_right[4] = { 5, 6, 7, 8 }, second_wrong[4] = { 5, 9, 7, 8 }, first_wrong[4] = { 1, 6, 7, 8 };
  CU_ASSERT_EQUAL (kern_spec_verify_greedy (3, draft, all_right, out), 4);
  CU_ASSERT_TRUE (out[0] == 5 && out[1] == 6 && out[2] == 7 && out[3] == 8);   /* bonus token */
  CU_ASSERT_EQUAL (kern_spec_verify_greedy (3, draft, second_wrong, out), 2);
  CU_ASSERT_TRUE (out[0] == 5 && out[1] == 9);                                 /* correction */
  CU_ASSERT_EQUAL (kern_spec_verify_greedy (3, draft, first_wrong, out), 1);
  CU_ASSERT_EQUAL (out[0], 1);
  CU_ASSERT_EQUAL (kern_spec_verify_greedy (0, NULL, first_wrong, out), 1);     /* no draft */
  CU_ASSERT_EQUAL (out[0], 1);
}

static void
t_collective_counts (void)
{
  /* 4 ranks, 8 elements: ring and halving-doubling each add 6 and send 12
   * elements per rank; tree the same on average; all-to-all sends 3 chunks */
  double b[4][8];
  double *p[4] = { b[0], b[1], b[2], b[3] };
  KernCount c;
  for (int alg = 0; alg < 3; alg++) {
    for (int r = 0; r < 4; r++)
      for (int i = 0; i < 8; i++)
        b[r][i] = r + 10 * i;
    kern_count_init (&c, 2, 2, 2);
    (alg == 0 ? kern_allreduce_ring : alg == 1 ? kern_allreduce_rhd : kern_allreduce_tree) (4, 8, p, &c);
    CU_ASSERT_EQUAL (c.flops, 6);
    CU_ASSERT_EQUAL (c.bytes, 12 * 2);
    for (int r = 0; r < 4; r++)
      for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL (b[r][i], 6 + 40 * i);
  }
  double s[2][4] = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } }, rv[2][4];
  double *sp[2] = { s[0], s[1] }, *rp[2] = { rv[0], rv[1] };
  kern_count_init (&c, 2, 4, 2);
  kern_alltoall (2, 2, sp, rp, &c);
  CU_ASSERT_EQUAL (rv[0][2], 5);
  CU_ASSERT_EQUAL (rv[1][0], 3);
  CU_ASSERT_EQUAL (c.bytes, 2 * 4);
}

/* A user-facing error: the KV cache runs out of blocks; nothing changes. */
static void
t_tiny_errors (void)
{
  KernTinyConfig cfg = { .layers = 1, .hidden = 8, .heads = 2, .kv_heads = 1, .head_dim = 4,
                         .ffn = 8, .vocab = 11, .gated = TRUE, .act = KERN_ACT_SILU,
                         .rope_theta = 10000, .eps = 1e-5 };
  KernTiny_f *m = kern_tiny_new_f (&cfg, 1, 2, 4, FALSE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  int s = kern_tiny_seq_new_f (m), next = -1;
  int toks[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1 };
  KernTinyWork w = { s, toks, 12 };
  GError *e = NULL;
  CU_ASSERT_FALSE (kern_tiny_step_f (m, &w, 1, &next, NULL, NULL, NULL, &e));
  CU_ASSERT_TRUE (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_NO_FIT));
  CU_ASSERT_PTR_NOT_NULL (e && strstr (e->message, "KV blocks"));
  g_clear_error (&e);
  CU_ASSERT_EQUAL (kern_tiny_seq_len_f (m, s), 0);
  w.q = 8;   /* exactly two blocks: fits */
  CU_ASSERT_TRUE (kern_tiny_step_f (m, &w, 1, &next, NULL, NULL, NULL, &e));
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_TRUE (next >= 0 && next < 11);
  CU_ASSERT_EQUAL (kern_tiny_seq_len_f (m, s), 8);
  kern_tiny_seq_truncate_f (m, s, 3);   /* frees one block */
  w.tokens = toks + 8;
  w.q = 4;
  CU_ASSERT_TRUE (kern_tiny_step_f (m, &w, 1, &next, NULL, NULL, NULL, NULL));
  kern_tiny_seq_free_f (m, s);
  kern_tiny_free_f (m);

  /* a model the tiny transformer does not implement */
  ModelLlm llm = { .id = (char *) "falcon-like", .num_layers = 1, .hidden = 8, .num_heads = 2,
                   .num_kv_heads = 1, .head_dim = 4, .ffn = 8, .vocab = 10,
                   .norm = (char *) "layernorm", .activation = (char *) "gelu",
                   .parallel_attn_mlp = TRUE };
  CU_ASSERT_FALSE (kern_tiny_config_from_llm (&llm, &cfg, &e));
  CU_ASSERT_TRUE (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_INVALID));
  CU_ASSERT_PTR_NOT_NULL (e && strstr (e->message, "falcon-like"));
  g_clear_error (&e);
  llm.parallel_attn_mlp = FALSE;
  llm.activation = (char *) "swish";
  CU_ASSERT_FALSE (kern_tiny_config_from_llm (&llm, &cfg, &e));
  g_clear_error (&e);
  llm.activation = (char *) "gelu";
  CU_ASSERT_TRUE (kern_tiny_config_from_llm (&llm, &cfg, &e));
  CU_ASSERT_TRUE (cfg.layernorm && cfg.act == KERN_ACT_GELU && !cfg.gated);
}

/* float and double tiny models draw the same weights: same greedy tokens on a
 * short generation (not guaranteed in general; fixed seed here) */
static void
t_tiny_float_double (void)
{
  KernTinyConfig cfg = { .layers = 2, .hidden = 16, .heads = 4, .kv_heads = 2, .head_dim = 4,
                         .ffn = 24, .vocab = 17, .gated = TRUE, .act = KERN_ACT_SILU,
                         .rope_theta = 10000, .eps = 1e-5 };
  KernTiny_d *d = kern_tiny_new_d (&cfg, 3, 16, 4, FALSE);
  KernTiny_f *f = kern_tiny_new_f (&cfg, 3, 16, 4, TRUE);
  int sd = kern_tiny_seq_new_d (d), sf = kern_tiny_seq_new_f (f);
  int toks[5] = { 3, 1, 4, 1, 5 }, td, tf;
  double ld[17];
  float lf[17];
  KernTinyWork wd = { sd, toks, 5 }, wf = { sf, toks, 5 };
  kern_tiny_step_d (d, &wd, 1, &td, ld, NULL, NULL, NULL);
  kern_tiny_step_f (f, &wf, 1, &tf, lf, NULL, NULL, NULL);
  for (int i = 0; i < 17; i++)
    CU_ASSERT_DOUBLE_EQUAL (lf[i], ld[i], 1e-4 * (1 + fabs (ld[i])));
  CU_ASSERT_EQUAL (td, tf);
  kern_tiny_free_d (d);
  kern_tiny_free_f (f);
}

/* Programmer errors: a critical is logged, nothing is written, no crash. */
static int criticals;

static void
count_criticals (const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
  if (level & G_LOG_LEVEL_CRITICAL)
    criticals++;
}

static void
t_bad_arguments (void)
{
  GLogFunc old = g_log_set_default_handler (count_criticals, NULL);
  criticals = 0;
  double A[4] = { 1, 2, 3, 4 }, C[4] = { 7, 7, 7, 7 };
  kern_gemm_d (2, 2, 2, A, 1, A, 2, C, 2, NULL);            /* lda < K */
  CU_ASSERT_EQUAL (criticals, 1);
  CU_ASSERT_EQUAL (C[0], 7);
  kern_attn_plain_d (1, 0, 3, 2, 2, A, 6, A, A, 1, C, 6, NULL); /* 3 heads over 2 KV heads */
  CU_ASSERT_EQUAL (criticals, 2);
  CU_ASSERT_EQUAL (C[0], 7);
  kern_quant_roundtrip (KERN_QUANT_INT8, A, 3, 2, C);       /* 3 values in groups of 2 */
  CU_ASSERT_EQUAL (criticals, 3);
  CU_ASSERT_EQUAL (C[0], 7);
  KernTinyConfig cfg = { .layers = 1, .hidden = 4, .heads = 1, .kv_heads = 1, .head_dim = 2,
                         .ffn = 4, .vocab = 5, .act = KERN_ACT_RELU, .rope_theta = 1e4,
                         .eps = 1e-5 };
  KernTiny_d *m = kern_tiny_new_d (&cfg, 1, 4, 2, FALSE);
  int s = kern_tiny_seq_new_d (m), tok = 5, next = -1;          /* token == vocab */
  KernTinyWork w = { s, &tok, 1 };
  CU_ASSERT_FALSE (kern_tiny_step_d (m, &w, 1, &next, NULL, NULL, NULL, NULL));
  CU_ASSERT_EQUAL (criticals, 4);
  CU_ASSERT_EQUAL (kern_tiny_seq_len_d (m, s), 0);
  w.seq = 99;                                                    /* unknown sequence */
  tok = 1;
  CU_ASSERT_FALSE (kern_tiny_step_d (m, &w, 1, &next, NULL, NULL, NULL, NULL));
  CU_ASSERT_EQUAL (criticals, 5);
  cfg.kv_heads = 2;                                              /* heads % kv_heads != 0 */
  CU_ASSERT_PTR_NULL (kern_tiny_new_d (&cfg, 1, 4, 2, FALSE));
  CU_ASSERT_EQUAL (criticals, 6);
  kern_tiny_free_d (m);
  cfg.kv_heads = 1;                                              /* a negative window */
  cfg.window = -1;
  CU_ASSERT_PTR_NULL (kern_tiny_new_d (&cfg, 1, 4, 2, FALSE));
  CU_ASSERT_EQUAL (criticals, 7);
  /* a learned position table of 3: a fourth position is an error, nothing
   * changes (not a programmer error: no critical) */
  cfg.window = 0;
  cfg.learned_pos = 3;
  KernTiny_d *lp = kern_tiny_new_d (&cfg, 1, 4, 2, FALSE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (lp);
  int ls = kern_tiny_seq_new_d (lp), ltok[4] = { 1, 2, 3, 4 };
  KernTinyWork lw = { ls, ltok, 4 };
  GError *le = NULL;
  CU_ASSERT_FALSE (kern_tiny_step_d (lp, &lw, 1, &next, NULL, NULL, NULL, &le));
  CU_ASSERT_TRUE (le && strstr (le->message, "learned position") != NULL);
  g_clear_error (&le);
  CU_ASSERT_EQUAL (kern_tiny_seq_len_d (lp, ls), 0);
  lw.q = 3;
  CU_ASSERT_TRUE (kern_tiny_step_d (lp, &lw, 1, &next, NULL, NULL, NULL, NULL));
  CU_ASSERT_EQUAL (criticals, 7);
  kern_tiny_free_d (lp);
  double y[4] = { 1, 2, 3, 4 };
  kern_rmsnorm_heads_d (1, 2, 2, y, 3, A, 0, NULL);              /* row stride < heads x d */
  CU_ASSERT_EQUAL (criticals, 8);
  int p0 = 0;
  kern_rope_d (1, 1, 0, 4, 3, y, 4, NULL, 0, &p0, 1e4, NULL);     /* odd rotary_dim */
  kern_rope_d (1, 1, 0, 2, 4, y, 4, NULL, 0, &p0, 1e4, NULL);     /* rotary_dim > head */
  CU_ASSERT_EQUAL (criticals, 10);
  CU_ASSERT_EQUAL (y[0], 1);
  CU_ASSERT_EQUAL (y[3], 4);
  /* split-K and stream-K compute full attention only: a window is refused */
  KernKvCache_d *kv = kern_kv_cache_new_d (2, 2, 1, 2);
  int table[2] = { 0, 1 };
  KernSeq sq = { 1, 2, table, 2 };
  kern_attn_split_k_d (kv, &sq, 1, 1, A, 2, 1, 2, C, 2, NULL);
  CU_ASSERT_EQUAL (criticals, 11);
  kern_attn_stream_k_d (kv, &sq, 1, 1, A, 2, 1, 2, 2, C, 2, NULL);
  CU_ASSERT_EQUAL (criticals, 12);
  CU_ASSERT_EQUAL (C[0], 7);
  kern_kv_cache_free_d (kv);
  g_log_set_default_handler (old, NULL);
}

int
main (void)
{
  static const TestCase cases[] = {
    { "check table", t_check_table },
    { "per-head rmsnorm", t_rmsnorm_heads },
    { "partial rotary", t_rope_partial },
    { "gemm small + float", t_gemm_small },
    { "quant and h2o selection", t_quant_and_h2o },
    { "collective counts", t_collective_counts },
    { "speculative verify", t_spec_verify },
    { "bad arguments", t_bad_arguments },
    { "tiny errors", t_tiny_errors },
    { "tiny float = double", t_tiny_float_double },
    { "counter gemm", t_counter_gemm },
    { "counter iteration", t_counter_iteration },
    { "counter moe", t_counter_moe },
    { "counter allreduce", t_counter_allreduce },
    { "chunked prefill", t_chunked },
    { "paged kv", t_paged },
    { "gqa", t_gqa },
    { "flash softmax", t_flash },
    { "sliding window", t_window },
    { "split-k", t_split_k },
    { "stream-k", t_stream_k },
    { "tensor parallel", t_tp },
    { "allreduce", t_allreduce },
    { "speculative", t_spec },
    { "moe", t_moe },
    { "rounding", t_rounding },
    { "kv int8", t_kv_int8 },
    { "kv int4", t_kv_int4 },
    { "kv fp8", t_kv_fp8 },
    { "h2o", t_h2o },
    { NULL, NULL }
  };
  return test_run_suite ("kernels", cases);
}
