/* tests/kernels/test_host.c — smoke test of the host latency validation
 * (models/kernels/host.c and `servesim validate host --quick`): it runs, its
 * device entry loads as a catalog file, every row gets a positive measured
 * time and finite predictions. Nothing here asserts on timing values.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/catalog.h"
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
  CU_ASSERT_DOUBLE_EQUAL (g->mem_bw, r.mem_bw, r.mem_bw * 1e-6);
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
  CU_ASSERT_PTR_NOT_NULL (out && strstr (out, "19 of 19 checks passed"));
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
    { "host quick (library)", t_quick_library },
    { "host quick (cli)", t_quick_cli },
    { NULL, NULL }
  };
  return test_run_suite ("kernels-host", cases);
}
