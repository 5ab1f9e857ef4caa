/* tests/kernels/test_host.c — smoke test of the host latency validation
 * (models/kernels/host.c and `servesim validate host --quick`): it runs, its
 * device entry loads as a catalog file, every row gets a positive measured
 * time and finite predictions. Nothing here asserts on timing values.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/catalog.h"
#include "models/cost.h"
#include "models/kernels/host.h"
#include "tests/testutil.h"

static void
t_quick_library (void)
{
  KernHostRates r;
  GArray *rows = kern_host_measure (&r, TRUE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (rows);
  CU_ASSERT_EQUAL (rows->len, 2 + 2 + 2 + 3);   /* gemm, elem, attn, iterations (quick grid) */
  CU_ASSERT_TRUE (r.gemm_flops > 0 && r.mem_bw > 0 && r.attn_flops > 0 && r.floor_s > 0);
  for (int c = 0; c < 6; c++)
    CU_ASSERT_TRUE (r.elem_bw[c] > 0 && isfinite (r.elem_bw[c]));
  CU_ASSERT_TRUE (strlen (r.cpu) > 0);

  char *dir = test_tmpdir ();
  char *path = g_build_filename (dir, "host.json", NULL);
  GError *e = NULL;
  CU_ASSERT_TRUE (kern_host_write_profile (&r, "host-cpu", path, &e));
  CU_ASSERT_PTR_NULL (e);
  ModelCatalog *cat = model_catalog_new ();
  CU_ASSERT_TRUE_FATAL (model_catalog_load_file (cat, path, &e));
  const ModelGpu *g = model_catalog_gpu (cat, "host-cpu", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (g);
  CU_ASSERT_DOUBLE_EQUAL (g->flops_bf16, r.gemm_flops, r.gemm_flops * 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (g->mem_bw, kern_host_mem_bw (&r), r.mem_bw * 1e-6);
  CU_ASSERT_TRUE (g->mem_bw >= r.mem_bw * (1 - 1e-6) && r.gemm_bw > 0 && r.dec_bw > 0);
  CU_ASSERT_EQUAL (g->num_sms, 1);
  CU_ASSERT_DOUBLE_EQUAL (g->profile.gemm_eff, 1.0, 1e-9);
  CU_ASSERT_EQUAL (g->profile.cpu_base_s, 0);

  kern_host_predict (rows, g, &r, TRUE);
  for (guint i = 0; i < rows->len; i++) {
    const KernHostRow *x = &g_array_index (rows, KernHostRow, i);
    CU_ASSERT_TRUE (x->measured_s > 0 && isfinite (x->measured_s));
    CU_ASSERT_TRUE (x->model_s > 0 && isfinite (x->model_s));
    CU_ASSERT_TRUE (x->roof_s > 0 && isfinite (x->roof_s));
  }
  double med, p90;
  int n;
  kern_host_errors (rows, 1, NULL, &med, &p90, &n);
  CU_ASSERT_EQUAL (n, (int) rows->len);
  CU_ASSERT_TRUE (med >= 0 && p90 >= med);
  kern_host_errors (rows, 0, "no-such-kind", &med, &p90, &n);
  CU_ASSERT_EQUAL (n, 0);
  CU_ASSERT_TRUE (isnan (med));

  /* an unwritable path is a user error, not a crash */
  char *bad = g_build_filename (dir, "missing-dir", "host.json", NULL);
  CU_ASSERT_FALSE (kern_host_write_profile (&r, "host-cpu", bad, &e));
  CU_ASSERT_PTR_NOT_NULL (e);
  g_clear_error (&e);

  g_free (bad);
  model_catalog_free (cat);
  g_array_unref (rows);
  test_rmdir_r (dir);
  g_free (path);
  g_free (dir);
}

/* Synthetic rates (no timing): the profile written for them, loaded back,
 * must price a CPU as a CPU: every parameter from the rates, no GPU tile,
 * wave or CPU-overhead default left over. */
static void
synthetic_rates (KernHostRates *r)
{
  memset (r, 0, sizeof *r);
  r->gemm_flops = 1e10;
  r->attn_flops = 5e9;
  r->mem_bw = 8e9;
  r->dram_bw = 7e9;
  r->gemm_bw = 1.6e10;
  r->floor_s = 3e-8;
  const double ebw[6] = { 3.2e10, 8e9, 1.5e9, 9e8, 7.5e9, 3.4e10 };
  memcpy (r->elem_bw, ebw, sizeof ebw);
  r->dec_bw = 2.5e9;
  r->mem_bytes = 1 << 30;
  g_strlcpy (r->cpu, "test CPU", sizeof r->cpu);
}

static void
t_host_params (void)
{
  KernHostRates r;
  synthetic_rates (&r);
  CU_ASSERT_DOUBLE_EQUAL (kern_host_mem_bw (&r), 3.4e10, 0);   /* the kv_write rate */
  r.elem_bw[5] = 1e9;
  CU_ASSERT_DOUBLE_EQUAL (kern_host_mem_bw (&r), 3.2e10, 0);   /* then embed */
  synthetic_rates (&r);
  ModelCostParams p;
  kern_host_params (&r, &p);
  const double bw = 3.4e10;
  CU_ASSERT_DOUBLE_EQUAL (p.gemm_eff, 1, 0);
  CU_ASSERT_DOUBLE_EQUAL (p.gemm_tile_min, 1, 0);
  CU_ASSERT_DOUBLE_EQUAL (p.attn_tile_q, 1, 0);
  CU_ASSERT_DOUBLE_EQUAL (p.attn_causal, 1, 0);
  CU_ASSERT_DOUBLE_EQUAL (p.attn_eff, 0.5, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL (p.gemm_mem_eff, 1.6e10 / bw, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL (p.dec_mem_eff, 2.5e9 / bw, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL (p.elem_bw_eff[MODEL_ELEM_ROPE], 1.5e9 / bw, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL (p.elem_bw_eff[MODEL_ELEM_KV_WRITE], 1, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL (p.elem_cache_gain[MODEL_ELEM_NORM], 1, 0);
  CU_ASSERT_DOUBLE_EQUAL (p.gemm_floor_s, 3e-8, 0);
  CU_ASSERT_DOUBLE_EQUAL (p.dec_split_s, 0, 0);
  CU_ASSERT_DOUBLE_EQUAL (p.cpu_base_s + p.cpu_per_seq_s + p.cpu_tp_s + p.cpu_per_seq_vocab_s, 0, 0);
  CU_ASSERT_EQUAL (p.kv_dtype_bytes, 4);
  /* rates that would give an efficiency outside a parameter's range are clamped into it */
  r.dec_bw = 1;
  kern_host_params (&r, &p);
  CU_ASSERT_DOUBLE_EQUAL (p.dec_mem_eff, 0.02, 0);

  synthetic_rates (&r);
  char *dir = test_tmpdir ();
  char *path = g_build_filename (dir, "host.json", NULL);
  GError *e = NULL;
  CU_ASSERT_TRUE_FATAL (kern_host_write_profile (&r, "host-cpu", path, &e));
  ModelCatalog *cat = model_catalog_new ();
  CU_ASSERT_TRUE_FATAL (model_catalog_load_file (cat, path, &e));
  const ModelGpu *g = model_catalog_gpu (cat, "host-cpu", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (g);
  CU_ASSERT_DOUBLE_EQUAL (g->mem_bw, bw, bw * 1e-8);
  CU_ASSERT_DOUBLE_EQUAL (g->profile.gemm_tile_min, 1, 0);
  CU_ASSERT_DOUBLE_EQUAL (g->profile.attn_tile_q, 1, 0);

  /* GEMM: a hard max of compute at 10 GFLOP/s and weights at 16 GB/s, no
   * 64-row tile (the v2 bug: a 1-row GEMM cost as much as a 64-row one) */
  const ModelCostParams *hp = &g->profile;
  double t1 = model_time_gemm (hp, g, 1, 512, 256, 4);
  double want1 = fmax (2.0 * 512 * 256 / 1e10, model_gemm_bytes (1, 512, 256, 4) / 1.6e10);
  CU_ASSERT_DOUBLE_EQUAL (t1, 3e-8 + want1, want1 * 0.04);   /* smooth max p = 20: <= 2^(1/20) */
  double t64 = model_time_gemm (hp, g, 64, 512, 256, 4);
  CU_ASSERT_DOUBLE_EQUAL (t64, 3e-8 + 2.0 * 64 * 512 * 256 / 1e10, t64 * 0.01);
  CU_ASSERT_TRUE (t1 < t64 / 10);
  /* element-wise: bytes at the class rate */
  double te = model_time_elem (hp, g, MODEL_ELEM_NORM, 1e6);
  CU_ASSERT_DOUBLE_EQUAL (te, 1e6 / 8e9, 1e6 / 8e9 * 1e-6);

  /* the tiny model (quick shapes): prefill attention = counted FLOPs at the
   * attention rate (query rows, masked keys skipped); a decode iteration has
   * no fixed cost of milliseconds left from GPU defaults */
  ModelLlm m = { .id = (char *) "t", .num_layers = 1, .hidden = 64, .num_heads = 2,
                 .num_kv_heads = 1, .head_dim = 32, .ffn = 128, .vocab = 256, .gated_mlp = TRUE,
                 .norm = (char *) "rmsnorm", .activation = (char *) "silu",
                 .weight_dtype = (char *) "fp32", .bytes_per_param = 4, .max_context = 4096 };
  ModelCost c;
  model_cost_init (&c, &m, g, 1);
  ModelSeqWork pre = { 64, 0 };
  ModelIterCost ic;
  model_cost_iteration (&c, &pre, 1, &ic);
  double ta = model_cost_attn_time (&c, &pre, 1, FALSE);
  double fl = ic.op[MODEL_OP_ATTN_PREFILL].flops;
  CU_ASSERT_DOUBLE_EQUAL (fl, 4.0 * 64 * 65 / 2 * 32 * 2, 0);
  CU_ASSERT_DOUBLE_EQUAL (ta, 3e-8 + fl / 5e9, fl / 5e9 * 0.04);
  ModelSeqWork dec = { 1, 128 };
  model_cost_iteration (&c, &dec, 1, &ic);
  CU_ASSERT_DOUBLE_EQUAL (ic.cpu_s, 0, 0);
  double sum_roof = 0;
  for (int i = 0; i < MODEL_OP_COUNT; i++)
    sum_roof += ic.op[i].count * 3e-8 + ic.op[i].flops / 5e9 + ic.op[i].bytes / 9e8;
  CU_ASSERT_TRUE (ic.total_s > 0 && ic.total_s < sum_roof);   /* a loose upper bound: all slowest rates */
  CU_ASSERT_TRUE (ic.total_s < 1e-3);

  model_catalog_free (cat);
  test_rmdir_r (dir);
  g_free (path);
  g_free (dir);
}

/* The CLI end to end when the binary is built next to the tests. */
static void
t_quick_cli (void)
{
  if (!g_file_test ("./servesim", G_FILE_TEST_IS_EXECUTABLE)) {
    fprintf (stderr, "(servesim not built here: CLI smoke skipped) ");
    return;
  }
  char *dir = test_tmpdir ();
  char *path = g_build_filename (dir, "host.json", NULL);
  char *argv[] = { "./servesim", "validate", "host", "--quick", "--profile", path, NULL };
  char *out = NULL, *err = NULL;
  int status = -1;
  CU_ASSERT_TRUE (g_spawn_sync (NULL, argv, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
  CU_ASSERT_TRUE (g_spawn_check_wait_status (status, NULL));
  CU_ASSERT_PTR_NOT_NULL (out && strstr (out, "goal (median <= 15%)"));
  CU_ASSERT_TRUE (g_file_test (path, G_FILE_TEST_EXISTS));
  ModelCatalog *cat = model_catalog_new ();
  CU_ASSERT_TRUE (model_catalog_load_file (cat, path, NULL));
  CU_ASSERT_PTR_NOT_NULL (model_catalog_gpu (cat, "host-cpu", NULL));
  model_catalog_free (cat);
  g_free (out);
  g_free (err);
  /* bad option: exit 2 and a message naming --help */
  char *argv2[] = { "./servesim", "validate", "host", "--no-such-option", NULL };
  CU_ASSERT_TRUE (g_spawn_sync (NULL, argv2, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
  CU_ASSERT_FALSE (g_spawn_check_wait_status (status, NULL));
  CU_ASSERT_PTR_NOT_NULL (err && strstr (err, "--help"));
  g_free (out);
  g_free (err);
  char *argv3[] = { "./servesim", "validate", "kernels", "--only", "nope", NULL };
  CU_ASSERT_TRUE (g_spawn_sync (NULL, argv3, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
  CU_ASSERT_FALSE (g_spawn_check_wait_status (status, NULL));
  CU_ASSERT_PTR_NOT_NULL (err && strstr (err, "chunked-prefill"));   /* lists the checks */
  g_free (out);
  g_free (err);
  char *argv4[] = { "./servesim", "validate", "kernels", "--trials", "2", "--scale", "1", NULL };
  CU_ASSERT_TRUE (g_spawn_sync (NULL, argv4, NULL, 0, NULL, NULL, &out, &err, &status, NULL));
  CU_ASSERT_TRUE (g_spawn_check_wait_status (status, NULL));
  CU_ASSERT_PTR_NOT_NULL (out && strstr (out, "20 of 20 checks passed"));
  g_free (out);
  g_free (err);
  test_rmdir_r (dir);
  g_free (path);
  g_free (dir);
}

int
main (void)
{
  static const TestCase cases[] = {
    { "host profile from synthetic rates", t_host_params },
    { "host quick (library)", t_quick_library },
    { "host quick (cli)", t_quick_cli },
    { NULL, NULL }
  };
  return test_run_suite ("kernels-host", cases);
}
