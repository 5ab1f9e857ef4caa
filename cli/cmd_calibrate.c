/* cli/cmd_calibrate.c — `servesim calibrate`: fit GPU device profiles to
 * measured kernel and collective times and write them as profile files.
 *
 * Parses options, loads measurements (models/calibrate.h), fits each GPU
 * found (the one with most measurements first; a fitted profile is loaded
 * into the catalog at once, so a GPU fitted later inherits it for the groups
 * it has no data for), prints the parameters and the accuracy, and writes
 * <out>/<gpu>.json. The formulas and the fit live in models/.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cli/cli.h"
#include "models/calibrate.h"
#include "models/catalog.h"

/* the terminal progress line of one GPU's fit */
typedef struct {
  const char *gpu;
  guint       n;
  gint64      t0;
} CalProgress;

static void
show_progress (const char *group, int search, int searches, gpointer user)
{
  const CalProgress *pr = user;
  fprintf (stderr, "\r  calibrating %s on %u measurements: %s, search %d of %d, %.0f s%*s", pr->gpu, pr->n,
           group, search, searches, (g_get_monotonic_time () - pr->t0) / 1e6, 8, "");
  fflush (stderr);
}

int
cli_cmd_calibrate (int argc, char **argv)
{
  char **paths = NULL, *gpu = NULL, *only = NULL, *out = NULL, *catalog = NULL, *nets_out = NULL;
  GOptionEntry entries[] = {
    { "profiles", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &paths,
      "Measurements: a file or directory searched recursively for Vidur mlp.csv, attention.csv, "
      "all_reduce.csv, send_recv.csv, *cpu_overheads*.csv and nccl-tests output (repeatable; "
      "required)", "DIR" },
    { "gpu", 'g', 0, G_OPTION_ARG_STRING, &gpu,
      "GPU id for files whose path names no GPU (your own measurements in a plain directory)", "ID" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Fit only this GPU id", "ID" },
    { "catalog", 'c', 0, G_OPTION_ARG_FILENAME, &catalog,
      "Extra catalog file (e.g. your own GPU's spec sheet) loaded after the bundled one", "FILE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "Directory for the profiles, one <gpu>.json each (default: current directory; "
      "models/profiles updates the bundled ones)", "DIR" },
    { "networks-out", 0, 0, G_OPTION_ARG_FILENAME, &nets_out,
      "Also write the inter-node parameters fitted for each GPU whose collectives crossed nodes "
      "as a network entry ('<gpu>-measured', for a scenario's cluster.network) to this catalog "
      "file; only the parameters the data can tell apart", "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx,
    "Fit the device profile of every GPU found in the measurements: GEMM tile efficiency,\n"
    "memory efficiency and floors, FlashAttention prefill and paged decode, element-wise\n"
    "kernels, CPU overhead, and NCCL collectives (latency per protocol and hop, bus\n"
    "bandwidth). Parameter groups without measurements are carried over from the closest\n"
    "other calibrated GPU (the same chip first, e.g. h100-sxm-cu13 for h100-sxm, then the\n"
    "nearest architecture); so are the collective parameters of the GPU's own links that\n"
    "the data cannot tell (without send/recv rows its launch cost and rate, without\n"
    "all-to-alls theirs), while the network's (NIC rate, node cap, ...) keep neutral\n"
    "defaults: a network is the cluster's (a scenario names it). The written profile says\n"
    "which groups were fitted and what was kept from where. Load a profile with\n"
    "--catalog FILE or a scenario's \"catalog\" field, or write it to models/profiles/\n"
    "to bundle it.\n"
    "Some groups have optional terms (GEMMs: warm L2, a per-tile bandwidth cap, a tile's\n"
    "fixed work; the row kernels: a thread block's rate over its row; prefill attention,\n"
    "for rows over a contiguous cache: FlashAttention's thread blocks scheduled in launch\n"
    "order, two per SM, instead of the closed form): they are fitted\n"
    "without and with them and keep them only for a loss at least 2% (GEMMs, prefill) or 10%\n"
    "lower; SERVESIM_CAL_DEBUG=1 prints each variant's loss. The row kernels are searched\n"
    "from two starting points (their smooth maximum near a hard maximum, and a plain sum).\n"
    "An attention.csv whose attention_backend starts with SDPA is\n"
    "taken as measured over a contiguous KV cache (PyTorch), otherwise a paged one (vLLM).");
  g_option_context_set_description (ctx,
    "Examples:\n"
    "  servesim calibrate --profiles ../shared/data --out models/profiles\n"
    "  servesim calibrate --profiles my-measurements/ --gpu l40s --out .\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *err = NULL;
  int rc = 2;
  ModelCatalog *cat = NULL;
  ModelCalData *d = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &err))
    goto done;
  if (!paths || !*paths) {
    g_set_error (&err, MODEL_ERROR, MODEL_ERROR_INVALID, "--profiles DIR is required");
    goto done;
  }
  if (argc > 1) {
    g_set_error (&err, MODEL_ERROR, MODEL_ERROR_INVALID, "unexpected argument '%s'", argv[1]);
    goto done;
  }
  const char *outdir = out ? out : ".";
  if (g_mkdir_with_parents (outdir, 0755) != 0) {
    int e = errno;
    g_set_error (&err, MODEL_ERROR, MODEL_ERROR_INVALID, "cannot create '%s': %s", outdir,
                 g_strerror (e));
    goto done;
  }
  cat = model_catalog_new ();
  if (!model_catalog_load_default (cat, &err) || (catalog && !model_catalog_load_file (cat, catalog, &err)))
    goto done;
  d = model_cal_data_new ();
  for (char **p = paths; *p; p++)
    if (!model_cal_data_load (d, cat, *p, gpu, only, MODEL_CAL_LOAD_ALL, &err))
      goto done;
  rc = 0;
  char *joined = g_strjoinv (", ", paths);
  GPtrArray *nets = g_ptr_array_new ();
  for (guint i = 0; i < model_cal_data_n_sets (d); i++) {
    ModelCalSet *s = model_cal_data_set (d, i);
    /* groups without measurements are carried over from the closest other
     * calibrated architecture (as for a GPU with no measurements at all) */
    ModelCostParams p;
    const char *from = NULL;
    char *start = model_catalog_carried_profile (cat, s->gpu, &p, &from)
                    ? g_strdup_printf ("%s (closest calibrated GPU: the same chip, else the nearest architecture)", from)
                    : g_strdup ("the generic defaults (no other calibrated GPU)");
    /* minutes with collectives or attention: say what is running on a terminal */
    CalProgress pr = { s->gpu->id, s->samples->len, g_get_monotonic_time () };
    gboolean tty = isatty (STDERR_FILENO);
    guint mask = model_cal_fit_progress (s, &p, -1, tty ? show_progress : NULL, &pr);
    if (tty)
      fprintf (stderr, "\r%*s\r", 100, "");
    guint sib = model_cal_fill_siblings (&p, mask);
    char *fitted = model_cal_groups_string (mask);
    char *siblings = model_cal_groups_string (sib);
    char *kept = model_cal_groups_string (~(mask | sib) & model_cal_all_groups ());
    char *carried = model_cal_carried_string (s, mask);
    GString *src = g_string_new (NULL);
    g_string_printf (src, "fitted by 'servesim calibrate' to %u measurements (%u sources) under %s; "
                     "fitted: %s", s->samples->len, s->sources->len, joined, fitted);
    if (*siblings)
      g_string_append_printf (src, "; not measured, as the measured sibling kernel "
                              "(LayerNorm as RMSNorm, plain as gated activation): %s", siblings);
    if (*kept)
      g_string_append_printf (src, "; not measured, kept from %s: %s", start, kept);
    if (*carried)
      g_string_append_printf (src, "; collective parameters the data cannot tell, kept from %s: %s",
                              start, carried);
    printf ("%s: %u measurements from %u sources\n  fitted: %s\n", s->gpu->id, s->samples->len,
            s->sources->len, fitted);
    if (*siblings)
      printf ("  as the measured sibling kernel: %s\n", siblings);
    printf ("  kept:   %s%s%s\n", *kept ? kept : "(none)", *kept ? " from " : "", *kept ? start : "");
    if (*carried)
      printf ("  kept, the data cannot tell them: %s from %s\n", carried, start);
    gsize np;
    const ModelParamInfo *info = model_params_info (&np);
    for (gsize j = 0; j < np; j++)
      printf ("    %-24s %-12.6g %s\n", info[j].name, *model_param_ptr (&p, &info[j]), info[j].help);
    double *pred = g_new (double, s->samples->len + 1);
    model_cal_predict_all (s, &p, pred);
    printf ("  accuracy on the fitted data (operators):\n");
    cli_cost_report (s, pred, FALSE, 0, 0, -1);
    printf ("  accuracy on the fitted data (collectives):\n");
    cli_cost_report (s, pred, TRUE, 0, 0, -1);
    g_free (pred);
    int per_node = 0;
    guint given = model_cal_network_informative (s, &per_node);
    if (nets_out && given) {
      ModelNetwork *n = g_new0 (ModelNetwork, 1);
      n->id = g_strdup_printf ("%s-measured", s->gpu->id);
      n->name = g_strdup_printf ("the network of the %s measurements", s->gpu->id);
      n->kind = g_strdup ("unknown");
      n->gpus_per_node = per_node;
      n->source = g_strdup_printf ("fitted by 'servesim calibrate' (as the %s profile's inter-node "
                                   "parameters) to the collectives across nodes under %s",
                                   s->gpu->id, joined);
      n->given = given;
      model_network_take (n, &p);
      g_ptr_array_add (nets, n);
    }
    char *file = g_strdup_printf ("%s/%s.json", outdir, s->gpu->id);
    gboolean ok = model_profile_write (file, s->gpu->id, &p, src->str, (int) s->samples->len, &err)
                  && model_catalog_load_file (cat, file, &err);
    if (ok)
      printf ("  wrote %s\n\n", file);
    g_free (file);
    g_free (fitted);
    g_free (kept);
    g_free (carried);
    g_free (siblings);
    g_string_free (src, TRUE);
    g_free (start);
    if (!ok) {
      rc = 2;
      break;
    }
  }
  if (rc == 0 && nets_out) {
    if (nets->len == 0)
      printf ("no collective crossed nodes: no network to write to %s\n", nets_out);
    else if (model_networks_write (nets_out, (const ModelNetwork *const *) nets->pdata, nets->len, &err))
      printf ("wrote %u network%s to %s (set kind and nic_gbps there if you know them)\n", nets->len,
              nets->len == 1 ? "" : "s", nets_out);
    else
      rc = 2;
  }
  for (guint i = 0; i < nets->len; i++) {
    ModelNetwork *n = g_ptr_array_index (nets, i);
    g_free (n->id);
    g_free (n->name);
    g_free (n->kind);
    g_free (n->source);
    g_free (n);
  }
  g_ptr_array_free (nets, TRUE);
  g_free (joined);
done:
  if (err) {
    fprintf (stderr, "%s: %s\n", g_get_prgname (), err->message);
    g_error_free (err);
  }
  model_cal_data_free (d);
  model_catalog_free (cat);
  g_option_context_free (ctx);
  g_strfreev (paths);
  g_free (gpu);
  g_free (only);
  g_free (out);
  g_free (catalog);
  g_free (nets_out);
  return rc;
}
