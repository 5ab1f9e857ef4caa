/* cli/validate_kernels.c — `servesim validate kernels` (the reference
 * kernels' counter, equivalence and lossy checks, as a table) and `servesim
 * validate host` (this CPU's rates, its device entry, and predicted vs
 * measured kernel and iteration times). Parses options and prints; the work
 * is in models/kernels/checks.c and models/kernels/host.c.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "models/catalog.h"
#include "models/kernels/checks.h"
#include "models/kernels/host.h"

static gboolean
parse (GOptionContext *ctx, int *argc, char ***argv)
{
  GError *e = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &e)) {
    fprintf (stderr, "%s: %s (see --help)\n", g_get_prgname (), e->message);
    g_error_free (e);
    return FALSE;
  }
  if (*argc > 1) {
    fprintf (stderr, "%s: unexpected argument '%s' (see --help)\n", g_get_prgname (), (*argv)[1]);
    return FALSE;
  }
  return TRUE;
}

int
cli_validate_kernels (int argc, char **argv)
{
  int trials = 20, scale = 2;
  gint64 seed = 1;
  char *only = NULL;
  gboolean list = FALSE;
  GOptionEntry entries[] = {
    { "trials", 't', 0, G_OPTION_ARG_INT, &trials, "Random shapes per check (default 20)", "N" },
    { "scale", 0, 0, G_OPTION_ARG_INT, &scale, "Shape scale, 1 = the small sizes of make check (default 2)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the random shapes (default 1)", "S" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Run only the named check (see --list)", "NAME" },
    { "list", 0, 0, G_OPTION_ARG_NONE, &list, "List the checks and exit", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx,
    "Runs the reference kernels' checks: counters (the FLOPs and bytes the kernels execute must\n"
    "equal the cost model's for the same shapes), equivalences (chunked prefill, tensor\n"
    "parallelism, all-reduce algorithms, paged KV, split-K/stream-K decode, online softmax,\n"
    "speculative decoding, MoE: bit-exact or within the stated tolerance in double) and lossy\n"
    "methods (quantised KV, H2O eviction: their error is reported). Exit status 1 when a check\n"
    "fails. What each check proves: docs/kernels.md.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean ok = parse (ctx, &argc, &argv);
  g_option_context_free (ctx);
  if (ok && (trials < 1 || trials > 100000 || scale < 1 || scale > 16)) {
    fprintf (stderr, "%s: --trials must be in 1..100000 and --scale in 1..16 (got %d, %d)\n",
             g_get_prgname (), trials, scale);
    ok = FALSE;
  }
  if (ok && only && !kern_check_find (only)) {
    fprintf (stderr, "%s: unknown check '%s'; checks:", g_get_prgname (), only);
    for (const KernCheck *c = kern_checks (); c->name; c++)
      fprintf (stderr, " %s", c->name);
    fprintf (stderr, "\n");
    ok = FALSE;
  }
  if (!ok) {
    g_free (only);
    return 2;
  }
  if (list) {
    for (const KernCheck *c = kern_checks (); c->name; c++)
      printf ("%-18s %-12s %s\n", c->name, c->kind, c->what);
    g_free (only);
    return 0;
  }
  KernCheckOpts o = { .seed = (guint64) seed, .trials = trials, .scale = scale };
  printf ("reference-kernel checks: %d trials each, scale %d, seed %" G_GINT64_FORMAT "\n\n",
          trials, scale, seed);
  printf ("%-18s %-12s %-6s %10s %8s  %s\n", "check", "kind", "result", "error", "tol", "detail");
  int failed = 0, run = 0;
  for (const KernCheck *c = kern_checks (); c->name; c++) {
    if (only && strcmp (only, c->name) != 0)
      continue;
    KernCheckResult r;
    kern_check_run (c, &o, &r);
    run++;
    failed += !r.pass;
    printf ("%-18s %-12s %-6s %10.3g %8.2g  %s\n", c->name, c->kind, r.pass ? "pass" : "FAIL",
            r.error, r.tol, r.detail);
  }
  printf ("\n%d of %d checks passed\n", run - failed, run);
  g_free (only);
  return failed ? 1 : 0;
}

int
cli_validate_host (int argc, char **argv)
{
  gboolean quick = FALSE;
  char *profile = NULL;
  GOptionEntry entries[] = {
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick,
      "Tiny sizes and few repeats (a smoke run: seconds, numbers not meaningful)", NULL },
    { "profile", 'o', 0, G_OPTION_ARG_FILENAME, &profile,
      "Where to write the host's catalog entry and device profile (default host-cpu.json)", "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx,
    "Measures this CPU with the reference kernels (one thread, float): blocked GEMM FLOP/s,\n"
    "streaming bandwidth, prefill-attention FLOP/s, decode-attention and element-wise kernel\n"
    "bandwidths and the smallest kernel's time (none at a shape on the grid); writes them\n"
    "as a catalog file (a \"gpus\" entry with id host-cpu and its device profile) that loads with\n"
    "--catalog; then predicts and measures single kernels and tiny-transformer iterations over a\n"
    "grid of shapes and batch mixes and prints the median and p90 relative error of two\n"
    "predictions: the simulator's cost model with the host entry, and a roofline over the cost\n"
    "model's FLOP/byte counts. Takes 30-40 s (21 interleaved rounds of every case; times are\n"
    "this thread's CPU time, medians over rounds). Goal: median error <= 15%. Details and\n"
    "measured figures: docs/kernels.md.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  gboolean ok = parse (ctx, &argc, &argv);
  g_option_context_free (ctx);
  if (!ok) {
    g_free (profile);
    return 2;
  }
  const char *path = profile ? profile : "host-cpu.json";
  KernHostRates r;
  GArray *rows = kern_host_measure (&r, quick);
  printf ("host: %s (one thread)\n", r.cpu);
  printf ("  blocked GEMM (float)      %8.2f GFLOP/s\n", r.gemm_flops / 1e9);
  printf ("  prefill attention (float) %8.2f GFLOP/s\n", r.attn_flops / 1e9);
  printf ("  streaming add, 12 MB      %8.2f GB/s   (96 MB: %.2f GB/s, not used)\n",
          r.mem_bw / 1e9, r.dram_bw / 1e9);
  printf ("  smallest kernel           %8.0f ns\n", r.floor_s * 1e9);
  printf ("  effective GB/s at 256 tokens: embed %.2f, norm %.2f, rope %.2f, act %.2f, add %.2f, "
          "kv_write %.2f, decode attention %.2f\n", r.elem_bw[0] / 1e9, r.elem_bw[1] / 1e9,
          r.elem_bw[2] / 1e9, r.elem_bw[3] / 1e9, r.elem_bw[4] / 1e9, r.elem_bw[5] / 1e9,
          r.dec_bw / 1e9);

  GError *e = NULL;
  int rc = 0;
  ModelCatalog *cat = model_catalog_new ();
  const ModelGpu *gpu = NULL;
  if (!kern_host_write_profile (&r, "host-cpu", path, &e)
      || !model_catalog_load_file (cat, path, &e)
      || !(gpu = model_catalog_gpu (cat, "host-cpu", &e))) {
    fprintf (stderr, "%s: %s\n", g_get_prgname (), e->message);
    g_error_free (e);
    g_array_unref (rows);
    model_catalog_free (cat);
    g_free (profile);
    return 1;
  }
  printf ("wrote %s (catalog entry host-cpu; profile: %s)\n\n", path, gpu->profile_from);

  kern_host_predict (rows, gpu, &r, quick);
  printf ("%-34s %-8s %11s %11s %7s %11s %7s\n", "case", "kind", "measured", "cost model", "err",
          "roofline", "err");
  for (guint i = 0; i < rows->len; i++) {
    const KernHostRow *x = &g_array_index (rows, KernHostRow, i);
    printf ("%-34s %-8s %9.1f us %9.1f us %+6.0f%% %9.1f us %+6.0f%%\n", x->name, x->kind,
            x->measured_s * 1e6, x->model_s * 1e6,
            100 * (x->model_s - x->measured_s) / x->measured_s, x->roof_s * 1e6,
            100 * (x->roof_s - x->measured_s) / x->measured_s);
  }
  printf ("\n%-10s %5s %22s %22s\n", "rows", "n", "cost model med / p90", "roofline med / p90");
  static const char *const kinds[] = { "gemm", "elem", "attn", "prefill", "decode", "mixed", NULL };
  for (int k = -1; kinds[k + 1] || k < 0; k++) {
    const char *kind = k < 0 ? NULL : kinds[k];
    double m0, p0, m1, p1;
    int n;
    kern_host_errors (rows, 0, kind, &m0, &p0, &n);
    kern_host_errors (rows, 1, kind, &m1, &p1, NULL);
    if (n == 0)
      continue;
    printf ("%-10s %5d %10.1f%% / %5.1f%% %10.1f%% / %5.1f%%\n", kind ? kind : "all", n, 100 * m0,
            100 * p0, 100 * m1, 100 * p1);
  }
  double med_model, p90, med_roof;
  kern_host_errors (rows, 0, NULL, &med_model, &p90, NULL);
  kern_host_errors (rows, 1, NULL, &med_roof, &p90, NULL);
  printf ("\ngoal (median <= 15%%): cost model %s (%.1f%%), roofline on its counts %s (%.1f%%)%s\n",
          med_model <= 0.15 ? "met" : "missed", 100 * med_model,
          med_roof <= 0.15 ? "met" : "missed", 100 * med_roof,
          quick ? " [--quick: not meaningful]" : "");
  g_array_unref (rows);
  model_catalog_free (cat);
  g_free (profile);
  return rc;
}
