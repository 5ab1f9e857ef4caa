/* cli/validate_cost.c — `servesim validate ops` and `servesim validate comm`:
 * the cost model's per-operator and collective times against measured ones.
 *
 * Loads measurements with models/calibrate.h, predicts them with each GPU's
 * device profile from the catalog (or, with --leave-one-out, with a profile
 * fitted without the model being predicted), prints per-class statistics
 * split by size, writes predicted-vs-measured data with a gnuplot scatter
 * script and an error CDF (plots/plot.h), and exits 1 when a threshold is
 * exceeded. It also holds the report printer `servesim calibrate` shares. It
 * owns no formulas and no fitting.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cli/cli.h"
#include "models/calibrate.h"
#include "models/catalog.h"
#include "plots/plot.h"
#include "sim/util.h"

static void
print_stats_row (const char *label, const char *split, const ModelCalStats *st,
                 const ModelCalSet *s, gboolean comm)
{
  if (st->n == 0)
    return;
  char worst[160] = "";
  if (st->worst >= 0) {
    const ModelCalSample *x = &g_array_index (s->samples, ModelCalSample, st->worst);
    g_snprintf (worst, sizeof worst, "%s:%u (%s %.0f%s)",
                (const char *) g_ptr_array_index (s->sources, x->source), x->line,
                model_cal_class_name (x->cls), x->x, comm ? " B" : "");
  }
  printf ("  %-15s %-7s %6zu %8.2f %8.2f %8.1f %+8.2f %8.2f %8.2f  %s\n", label, split, st->n,
          st->median_ape, st->p90_ape, st->max_ape, st->bias, st->median_res, st->p90_res, worst);
}

static int
cmp_key (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The large split (collectives >= 1 MiB, operators T >= 16) by configuration:
 * collectives by cluster shape (ranks, nodes, GPUs per node), operators by
 * source (a model) and tensor-parallel degree. Where a class's error sits:
 * one shape, or all of them (the per-(model, TP) biases of RoPE on the A100
 * followed vLLM's launch geometry, docs/cost-model.md). */
static void
print_by_config (const ModelCalSet *s, const double *pred, gboolean comm)
{
  GHashTable *groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify) g_array_unref);
  for (guint i = 0; i < s->samples->len; i++) {
    const ModelCalSample *x = &g_array_index (s->samples, ModelCalSample, i);
    gboolean is_comm = model_cal_class_is_comm (x->cls);
    if (is_comm != comm || !(x->measured_s > 0)
        || x->x < (comm ? MODEL_CAL_SMALL_BYTES : MODEL_CAL_SMALL_TOKENS))
      continue;
    char *key;
    if (comm) {
      int n = (int) x->a[1], per = (int) x->a[2], nodes = (n + per - 1) / per;
      key = g_strdup_printf ("%-15s %3d ranks, %d node%s of %d", model_cal_class_name (x->cls), n,
                             nodes, nodes == 1 ? "" : "s", per);
    } else
      key = g_strdup_printf ("%-15s %s%s%.0d", model_cal_class_name (x->cls),
                             (const char *) g_ptr_array_index (s->sources, x->source),
                             x->tp > 0 ? " TP " : "", x->tp);
    GArray *e = g_hash_table_lookup (groups, key);
    if (!e) {
      e = g_array_new (FALSE, FALSE, sizeof (double));
      g_hash_table_insert (groups, key, e);
    } else
      g_free (key);
    double err = (pred[i] - x->measured_s) / x->measured_s * 100;
    g_array_append_val (e, err);
  }
  guint nk = 0;
  const char **keys = (const char **) g_hash_table_get_keys_as_array (groups, &nk);
  qsort (keys, nk, sizeof *keys, cmp_key);
  printf ("  by configuration, %s:\n  %-48s %6s %8s %8s %8s\n",
          comm ? "sizes >= 1 MiB" : "T >= 16", comm ? "class, configuration" : "class, source, TP",
          "rows", "median%", "p90%", "bias%");
  for (guint k = 0; k < nk; k++) {
    GArray *e = g_hash_table_lookup (groups, keys[k]);
    double *v = (double *) e->data, *a = g_new (double, e->len);
    for (guint i = 0; i < e->len; i++)
      a[i] = fabs (v[i]);
    /* the same statistics as the class table (model_cal_stats) */
    double med = model_cal_quantile (a, e->len, 0.5), p90 = model_cal_quantile (a, e->len, 0.9);
    printf ("  %-48s %6u %8.2f %8.2f %+8.2f\n", keys[k], e->len, med, p90,
            model_cal_quantile (v, e->len, 0.5));
    g_free (a);
  }
  g_free (keys);
  g_hash_table_destroy (groups);
}

gboolean
cli_cost_report (const ModelCalSet *s, const double *pred, gboolean comm, double max_median,
                 double max_p90, int only)
{
  const char *small = comm ? "<1MiB" : "T<16";
  const char *large = comm ? ">=1MiB" : "T>=16";
  printf ("  %-15s %-7s %6s %8s %8s %8s %8s %8s %8s  %s\n", "class", "size", "rows", "median%",
          "p90%", "max%", "bias%", "r-med%", "r-p90%", "worst case (source:line)");
  gboolean pass = TRUE;
  for (int c = 0; c <= MODEL_CAL_COUNT; c++) {
    if (c < MODEL_CAL_COUNT && model_cal_class_is_comm (c) != comm)
      continue;
    const char *label = c < MODEL_CAL_COUNT ? model_cal_class_name (c) : "overall";
    ModelCalStats a, sm, lg;
    model_cal_stats (s, pred, c, comm, MODEL_CAL_ALL, only, &a);
    if (a.n == 0)
      continue;
    model_cal_stats (s, pred, c, comm, MODEL_CAL_SMALL, only, &sm);
    model_cal_stats (s, pred, c, comm, MODEL_CAL_LARGE, only, &lg);
    print_stats_row (label, small, &sm, s, comm);
    print_stats_row (sm.n ? "" : label, large, &lg, s, comm);
    print_stats_row ("", "all", &a, s, comm);
    if (lg.n && ((max_median > 0 && lg.median_ape > max_median)
                 || (max_p90 > 0 && lg.p90_ape > max_p90))) {
      printf ("  ^ FAIL: %s at %s: median %.2f%% (limit %g), p90 %.2f%% (limit %g)\n", label,
              large, lg.median_ape, max_median, lg.p90_ape, max_p90);
      pass = FALSE;
    }
  }
  double res = 0;
  for (guint i = 0; i < s->samples->len; i++) {
    const ModelCalSample *x = &g_array_index (s->samples, ModelCalSample, i);
    if (model_cal_class_is_comm (x->cls) == comm)
      res = fmax (res, x->res_s);
  }
  if (res > 0)
    printf ("  r-med%%, r-p90%%: APE beyond the recording resolution (times recorded in whole "
            "microseconds:\n  a prediction within +-%.1f us of the measurement counts as exact); "
            "the limits apply to the plain APE\n", res * 1e6);
  return pass;
}

/* "..." for gnuplot, escaping as plots/plot.c does. */
static void
gp_quote (GString *out, const char *s)
{
  g_string_append_c (out, '"');
  for (; *s; s++) {
    if (*s == '\\' || *s == '"')
      g_string_append_c (out, '\\');
    g_string_append_c (out, (unsigned char) *s < 0x20 ? ' ' : *s);
  }
  g_string_append_c (out, '"');
}

static gboolean
write_text (const char *path, const char *text, GError **error)
{
  SimAtomicFile f;
  if (!sim_atomic_file_open (&f, path, error))
    return FALSE;
  fputs (text, f.fp);
  return sim_atomic_file_commit (&f, error);
}

/* <dir>/<name>_scatter.{dat,gp} (one block per class: measured ms, predicted ms,
 * x, source, line) and <dir>/<name>_ape.{dat,gp} (CDF of APE per class). */
static gboolean
write_plots (const char *dir, const char *name, const ModelCalSet *s, const double *pred,
             gboolean comm, GError **error)
{
  if (g_mkdir_with_parents (dir, 0755) != 0) {
    int e = errno;
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_IO, "cannot create '%s': %s", dir, g_strerror (e));
    return FALSE;
  }
  GString *dat = g_string_new (NULL), *gp = g_string_new (NULL);
  g_string_append_printf (dat, "# servesim validate %s: predicted vs measured, GPU %s\n"
                          "# profile: %s\n# columns: measured_ms predicted_ms %s source line\n",
                          comm ? "comm" : "ops", s->gpu->id, s->gpu->profile_from,
                          comm ? "bytes" : "tokens");
  PlotSeries series[MODEL_CAL_COUNT];
  double *apes[MODEL_CAL_COUNT] = { 0 };
  gsize ns = 0, block = 0;
  char *title = g_strdup_printf ("%s: predicted vs measured (%s)", s->gpu->id, comm ? "collectives" : "operators");
  g_string_append (gp, "# servesim: scatter of predicted vs measured times\n"
                   "set terminal pngcairo size 900,800 noenhanced\n");
  g_string_append_printf (gp, "set output '%s_scatter.png'\nset title ", name);
  gp_quote (gp, title);
  g_string_append (gp, "\nset logscale xy\nset xlabel 'measured (ms)'\nset ylabel 'predicted (ms)'\n"
                   "set key left top\nplot ");
  for (int c = 0; c < MODEL_CAL_COUNT; c++) {
    if (model_cal_class_is_comm (c) != comm)
      continue;
    GArray *ape = g_array_new (FALSE, FALSE, sizeof (double));
    GString *rows = g_string_new (NULL);
    for (guint i = 0; i < s->samples->len; i++) {
      const ModelCalSample *x = &g_array_index (s->samples, ModelCalSample, i);
      if ((int) x->cls != c)
        continue;
      double e = fabs (pred[i] - x->measured_s) / x->measured_s * 100;
      g_array_append_val (ape, e);
      g_string_append_printf (rows, "%.6g %.6g %.6g %s %u\n", x->measured_s * 1e3, pred[i] * 1e3,
                              x->x, (const char *) g_ptr_array_index (s->sources, x->source),
                              x->line);
    }
    if (ape->len) {
      g_string_append_printf (dat, "# class %s\n%s\n\n", model_cal_class_name (c), rows->str);
      g_string_append_printf (gp, "'%s_scatter.dat' index %zu using 1:2 with points pt 7 ps 0.4 title ",
                              name, block++);
      gp_quote (gp, model_cal_class_name (c));
      g_string_append (gp, ", \\\n     ");
      apes[ns] = (double *) ape->data;
      series[ns] = (PlotSeries) { model_cal_class_name (c), apes[ns], ape->len };
      ns++;
      g_array_free (ape, FALSE);
    } else
      g_array_free (ape, TRUE);
    g_string_free (rows, TRUE);
  }
  g_string_append (gp, "x with lines lc rgb 'black' dt 2 title 'predicted = measured'\n");
  char *base = g_strdup_printf ("%s_scatter", name);
  char *dp = g_strdup_printf ("%s/%s.dat", dir, base), *gpp = g_strdup_printf ("%s/%s.gp", dir, base);
  gboolean ok = write_text (dp, dat->str, error) && write_text (gpp, gp->str, error);
  char *cdf = g_strdup_printf ("%s_ape", name);
  char *ct = g_strdup_printf ("%s: absolute percentage error (%s)", s->gpu->id, comm ? "collectives" : "operators");
  if (ok)
    ok = plot_write_cdf (dir, cdf, ct, "absolute percentage error (%)", series, ns, error);
  for (gsize i = 0; i < ns; i++)
    g_free (apes[i]);
  g_free (base);
  g_free (dp);
  g_free (gpp);
  g_free (cdf);
  g_free (ct);
  g_free (title);
  g_string_free (dat, TRUE);
  g_string_free (gp, TRUE);
  return ok;
}

/* Leave-one-source-out predictions: for each source (a model's mlp.csv, an
 * attention or CPU file, a collective file), fit on the others and predict it.
 * The fit starts from the generic defaults, not from the bundled profile (which
 * was fitted on the held-out data): a class whose only source is held out is
 * predicted with the defaults, i.e. as if nothing of that class had ever been
 * measured, except a kernel variant whose sibling was measured (LayerNorm with
 * only RMSNorm data: model_cal_fill_siblings, as `servesim calibrate` does). */
static void
predict_lomo (ModelCalSet *s, double *pred)
{
  double *tmp = g_new (double, s->samples->len + 1);
  /* minutes in all: a progress line on a terminal */
  gboolean tty = isatty (STDERR_FILENO);
  gint64 t0 = g_get_monotonic_time ();
  for (guint src = 0; src < s->sources->len; src++) {
    if (tty) {
      fprintf (stderr, "\r  leave-one-out on %s: fitting without %s (%u/%u), %.0f s   ", s->gpu->id,
               (const char *) g_ptr_array_index (s->sources, src), src + 1, s->sources->len,
               (g_get_monotonic_time () - t0) / 1e6);
      fflush (stderr);
    }
    ModelCostParams p;
    model_cost_params_default (&p);
    model_cal_fill_siblings (&p, model_cal_fit (s, &p, (int) src));
    model_cal_predict_all (s, &p, tmp);
    for (guint i = 0; i < s->samples->len; i++)
      if (g_array_index (s->samples, ModelCalSample, i).source == src)
        pred[i] = tmp[i];
  }
  if (tty)
    fprintf (stderr, "\r%*s\r", 100, "");
  g_free (tmp);
}

static int
run_validate (int argc, char **argv, gboolean comm)
{
  char *data = NULL, *gpu = NULL, *only = NULL, *out = NULL, *catalog = NULL, *carry = NULL;
  char *network = NULL;
  double max_median = 0, max_p90 = 0;
  gboolean lomo = FALSE, no_plots = FALSE, by_config = FALSE;
  GOptionEntry entries[] = {
    { comm ? "data" : "profiles", 'd', 0, G_OPTION_ARG_FILENAME, &data,
      comm ? "Collective measurements: Vidur all_reduce.csv / send_recv.csv and nccl-tests "
             "output, a file or a directory searched recursively (required)"
           : "Operator measurements: a directory searched recursively for Vidur mlp.csv, "
             "attention.csv and *cpu_overheads*.csv (required)", comm ? "PATH" : "DIR" },
    { "gpu", 'g', 0, G_OPTION_ARG_STRING, &gpu,
      "GPU id for files whose path names no GPU (paths naming 'a100', 'h100' or a catalog id are "
      "recognised)", "ID" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Validate only this GPU id", "ID" },
    { "catalog", 'c', 0, G_OPTION_ARG_FILENAME, &catalog,
      "Extra catalog file (e.g. a profile written by 'servesim calibrate') loaded after the "
      "bundled one", "FILE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      comm ? "Directory for the plot data and scripts (default validate-comm)"
           : "Directory for the plot data and scripts (default validate-ops)", "DIR" },
    { "no-plots", 0, 0, G_OPTION_ARG_NONE, &no_plots, "Write no plot files", NULL },
    { "max-median-ape", 0, 0, G_OPTION_ARG_DOUBLE, &max_median,
      comm ? "Exit 1 if any class's median APE at sizes >= 1 MiB exceeds PCT"
           : "Exit 1 if any class's median APE at T >= 16 exceeds PCT", "PCT" },
    { "max-p90-ape", 0, 0, G_OPTION_ARG_DOUBLE, &max_p90,
      "Exit 1 if any class's p90 APE in the large split exceeds PCT", "PCT" },
    { "leave-one-out", 'l', 0, G_OPTION_ARG_NONE, &lomo,
      "Predict each source (a model's mlp.csv, or a file) with a profile fitted from the "
      "defaults without it; prints one table per held-out source and the pooled table", NULL },
    { "profile-of", 0, 0, G_OPTION_ARG_STRING, &carry,
      "Predict every GPU with GPU ID's profile carried over to its spec sheet, as a GPU nobody "
      "measured gets one: how well servesim predicts a GPU that is not in the data", "ID" },
    { "by-config", 0, 0, G_OPTION_ARG_NONE, &by_config,
      comm ? "Also split the collectives at sizes >= 1 MiB by configuration (ranks, nodes, GPUs "
             "per node)"
           : "Also split the operators at T >= 16 by source (model) and tensor-parallel degree",
      NULL },
    { "network", 0, 0, G_OPTION_ARG_STRING, &network,
      "comm only: predict collectives across nodes with network ID's parameters "
      "('servesim describe networks') instead of the profile's", "ID" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx, comm
    ? "Compare the collective-communication model (NCCL algorithms x protocols, models/comm.c)\n"
      "with measured all-reduce, all-gather, reduce-scatter, all-to-all and send/recv times.\n"
      "APE = |predicted - measured| / measured; bias = median signed error.\n"
      "r-med/r-p90: the APE beyond each measurement's recording resolution (Vidur's CSVs:\n"
      "whole microseconds, +-0.5 us). Thresholds apply to the plain APE."
    : "Compare the per-operator cost model (GEMMs, attention, element-wise kernels, CPU\n"
      "overhead) with measured kernel times, using each GPU's device profile.\n"
      "APE = |predicted - measured| / measured; bias = median signed error.\n"
      "r-med/r-p90: the APE beyond each measurement's recording resolution (a source whose\n"
      "times are all whole microseconds, as Vidur's are, is taken as +-0.5 us: a prediction\n"
      "inside that interval counts as exact). Thresholds apply to the plain APE.");
  g_option_context_set_description (ctx,
    comm ? "Example:\n  servesim validate comm --data ../shared/data --max-median-ape 5\n"
         : "Example:\n  servesim validate ops --profiles ../shared/data/profiles/vidur --max-median-ape 5\n"
           "  servesim validate ops --profiles ../shared/data/profiles/vidur --leave-one-out\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *err = NULL;
  int rc = 2;
  ModelCatalog *cat = NULL;
  ModelCalData *d = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &err))
    goto done;
  if (!data) {
    g_set_error (&err, MODEL_ERROR, MODEL_ERROR_INVALID, "%s is required",
                 comm ? "--data PATH" : "--profiles DIR");
    goto done;
  }
  if (argc > 1) {
    g_set_error (&err, MODEL_ERROR, MODEL_ERROR_INVALID, "unexpected argument '%s'", argv[1]);
    goto done;
  }
  if (carry && lomo) {
    g_set_error (&err, MODEL_ERROR, MODEL_ERROR_INVALID,
                 "--profile-of and --leave-one-out exclude each other (one predicts with another "
                 "GPU's profile, the other refits this GPU's)");
    goto done;
  }
  if (network && !comm) {
    g_set_error (&err, MODEL_ERROR, MODEL_ERROR_INVALID,
                 "--network applies to 'validate comm' (operators do not cross nodes)");
    goto done;
  }
  cat = model_catalog_new ();
  if (!model_catalog_load_default (cat, &err) || (catalog && !model_catalog_load_file (cat, catalog, &err)))
    goto done;
  const ModelNetwork *net = NULL;
  if (network && !(net = model_catalog_network (cat, network, &err)))
    goto done;
  const ModelGpu *carry_gpu = NULL;
  if (carry && !(carry_gpu = model_catalog_gpu (cat, carry, &err)))
    goto done;
  d = model_cal_data_new ();
  if (!model_cal_data_load (d, cat, data, gpu, only,
                            comm ? MODEL_CAL_LOAD_COMM : MODEL_CAL_LOAD_OPS, &err))
    goto done;
  rc = 0;
  for (guint i = 0; i < model_cal_data_n_sets (d); i++) {
    ModelCalSet *s = model_cal_data_set (d, i);
    double *pred = g_new (double, s->samples->len + 1);
    ModelCostParams params = carry_gpu ? carry_gpu->profile : s->gpu->profile;
    if (net)
      model_network_apply (net, &params);
    model_cal_predict_all (s, &params, pred);
    if (lomo)
      predict_lomo (s, pred);
    printf ("%s%s on %s: %u measurements from %u sources\n", comm ? "collectives" : "operators",
            lomo ? " (leave-one-out)" : carry_gpu ? " (another GPU's profile)" : "", s->gpu->id,
            s->samples->len, s->sources->len);
    if (carry_gpu)
      printf ("  profile: %s's (%s, %s), carried over to %s (%s): %s\n", carry_gpu->id,
              carry_gpu->arch ? carry_gpu->arch : "?", carry_gpu->profile_from, s->gpu->id,
              s->gpu->arch ? s->gpu->arch : "?", carry_gpu == s->gpu ? "its own, so nothing is carried" : "spec sheet of the measured GPU");
    else
      printf ("  profile: %s\n", s->gpu->profile_from);
    if (net)
      printf ("  network (across nodes): %s, %s\n", net->id, net->params_from);
    if (lomo)
      for (guint src = 0; src < s->sources->len; src++) {
        printf ("\n  held out: %s\n", (const char *) g_ptr_array_index (s->sources, src));
        cli_cost_report (s, pred, comm, 0, 0, (int) src);
      }
    if (lomo)
      printf ("\n  pooled over held-out sources:\n");
    if (!cli_cost_report (s, pred, comm, max_median, max_p90, -1))
      rc = 1;
    if (by_config)
      print_by_config (s, pred, comm);
    if (!no_plots) {
      char *name = carry_gpu ? g_strdup_printf ("%s_as_%s", s->gpu->id, carry_gpu->id)
                             : g_strdup_printf ("%s%s", s->gpu->id, lomo ? "_lomo" : "");
      gboolean ok = write_plots (out ? out : comm ? "validate-comm" : "validate-ops", name, s,
                                 pred, comm, &err);
      g_free (name);
      if (!ok) {
        g_free (pred);
        rc = 2;
        goto done;
      }
    }
    printf ("\n");
    g_free (pred);
  }
  if (!no_plots)
    printf ("plot data and gnuplot scripts in %s/ (render: cd %s && gnuplot *.gp)\n",
            out ? out : comm ? "validate-comm" : "validate-ops",
            out ? out : comm ? "validate-comm" : "validate-ops");
  if (rc == 1)
    fprintf (stderr, "%s: accuracy threshold exceeded (see FAIL lines above)\n", g_get_prgname ());
done:
  if (err) {
    fprintf (stderr, "%s: %s\n", g_get_prgname (), err->message);
    if (rc == 2 && !data)
      fprintf (stderr, "Run '%s --help' for the options.\n", g_get_prgname ());
    g_error_free (err);
  }
  model_cal_data_free (d);
  model_catalog_free (cat);
  g_option_context_free (ctx);
  g_free (data);
  g_free (gpu);
  g_free (only);
  g_free (out);
  g_free (catalog);
  g_free (carry);
  g_free (network);
  return rc;
}

int
cli_validate_ops (int argc, char **argv)
{
  return run_validate (argc, argv, FALSE);
}

int
cli_validate_comm (int argc, char **argv)
{
  return run_validate (argc, argv, TRUE);
}
