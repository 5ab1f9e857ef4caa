/* plan/report.c — what a sweep writes: the results table (CSV and JSON), the
 * Pareto fronts (cost vs capacity, latency vs throughput per GPU) as gnuplot
 * data and scripts, and a recommendation in Markdown.
 *
 * Everything is computed from the result objects in configuration order and
 * printed with fixed formats, so equal results give byte-identical files
 * whichever way (threads, MPI ranks, resumed) they were produced. No wall
 * times go into these files. Does not own evaluating configurations
 * (plan/search.c) or rendering (plots/plot.h renders the scripts).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "plots/plot.h"
#include "sim/util.h"
#include "plan/plan-private.h"

/* ---- reading result objects ------------------------------------------------- */

static double
rnum (const json_t *r, const char *key)
{
  json_t *v = json_object_get (r, key);
  return json_is_number (v) ? json_number_value (v) : NAN;
}

static double
rnum2 (const json_t *r, const char *obj, const char *key)
{
  return rnum (json_object_get (r, obj), key);
}

static const char *
rstr (const json_t *r, const char *key)
{
  const char *s = json_string_value (json_object_get (r, key));
  return s ? s : "";
}

static gboolean
is_ok (const json_t *r)
{
  return strcmp (rstr (r, "status"), "ok") == 0;
}

/* The group a result belongs to: its model when the space varies the model
 * (comparing the cost of serving different models is not a plan), else "". */
static const char *
group_of (const json_t *r)
{
  const char *m = json_string_value (json_object_get (json_object_get (r, "config"), "model"));
  return m ? m : "";
}

static gboolean
in_group (const json_t *r, const char *group)
{
  return !group || strcmp (group_of (r), group) == 0;
}

/* Distinct groups in configuration order (strings borrowed from results). */
static GPtrArray *
groups_of (GPtrArray *results)
{
  GPtrArray *g = g_ptr_array_new ();
  for (guint i = 0; i < results->len; i++) {
    const char *x = group_of (g_ptr_array_index (results, i));
    gboolean seen = FALSE;
    for (guint k = 0; k < g->len && !seen; k++)
      seen = strcmp (g_ptr_array_index (g, k), x) == 0;
    if (!seen)
      g_ptr_array_add (g, (gpointer) x);
  }
  return g;
}

/* Does result r meet target k? -1 unknown, 0 no, 1 yes. */
static int
meets_target (const json_t *r, guint k)
{
  json_t *t = json_array_get (json_object_get (r, "targets"), k);
  json_t *m = json_object_get (t, "meets");
  return json_is_boolean (m) ? json_is_true (m) : -1;
}

/* "%.6g", or empty for NaN/unknown (CSV). */
static void
put_num (GString *s, double x)
{
  if (isfinite (x))
    g_string_append_printf (s, "%.6g", x);
}

static void
put_csv_text (GString *s, const char *t)
{
  if (!strpbrk (t, ",\"\n")) {
    g_string_append (s, t);
    return;
  }
  g_string_append_c (s, '"');
  for (const char *p = t; *p; p++) {
    if (*p == '"')
      g_string_append_c (s, '"');
    g_string_append_c (s, *p == '\n' ? ' ' : *p);
  }
  g_string_append_c (s, '"');
}

static void
put_value (GString *s, const json_t *v)
{
  char *t = plan__value_label (v);
  put_csv_text (s, t);
  g_free (t);
}

/* ---- Pareto fronts ------------------------------------------------------------ */

typedef struct {
  guint  idx;
  double a;   /* to minimise */
  double b;   /* to maximise */
} Cand;

static int
cand_cmp (gconstpointer x, gconstpointer y)
{
  const Cand *p = x, *q = y;
  if (p->a != q->a)
    return p->a < q->a ? -1 : 1;
  if (p->b != q->b)
    return p->b > q->b ? -1 : 1;
  return p->idx < q->idx ? -1 : p->idx > q->idx;
}

/* Front over (minimise a, maximise b), sorted by a. */
static GArray *
front (GArray *cands)
{
  g_array_sort (cands, cand_cmp);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint));
  double best = -INFINITY;
  for (guint k = 0; k < cands->len; k++) {
    Cand *c = &g_array_index (cands, Cand, k);
    if (c->b > best) {
      best = c->b;
      g_array_append_val (out, c->idx);
    }
  }
  return out;
}

static GArray *
pareto_cost (GPtrArray *results, const char *group)
{
  GArray *c = g_array_new (FALSE, FALSE, sizeof (Cand));
  for (guint i = 0; i < results->len; i++) {
    json_t *r = g_ptr_array_index (results, i);
    double cost = rnum (r, "cost_per_hour"), cap = rnum (r, "capacity_rps");
    if (r && is_ok (r) && in_group (r, group) && isfinite (cost) && cap > 0) {
      Cand x = { i, cost, cap };
      g_array_append_val (c, x);
    }
  }
  GArray *f = front (c);
  g_array_free (c, TRUE);
  return f;
}

GArray *
plan_pareto_cost (GPtrArray *results)
{
  g_return_val_if_fail (results != NULL, NULL);
  return pareto_cost (results, NULL);
}

/* Minimise TPOT percentile at capacity, maximise output tokens/s per GPU. */
static GArray *
pareto_latency (GPtrArray *results, const char *group)
{
  GArray *c = g_array_new (FALSE, FALSE, sizeof (Cand));
  for (guint i = 0; i < results->len; i++) {
    json_t *r = g_ptr_array_index (results, i);
    double tpot = rnum2 (r, "at_capacity", "tpot_p_s");
    double tok = rnum2 (r, "at_capacity", "output_tok_s"), gpus = rnum (r, "gpus");
    if (r && is_ok (r) && in_group (r, group) && isfinite (tpot) && tok > 0 && gpus > 0) {
      Cand x = { i, tpot, tok / gpus };
      g_array_append_val (c, x);
    }
  }
  GArray *f = front (c);
  g_array_free (c, TRUE);
  return f;
}

/* Cheapest priced configuration meeting target k (ties: more capacity, then
 * lower index); -1 when none. */
static int
cheapest_for (GPtrArray *results, guint k, const char *group)
{
  int best = -1;
  for (guint i = 0; i < results->len; i++) {
    json_t *r = g_ptr_array_index (results, i);
    if (!is_ok (r) || !in_group (r, group) || meets_target (r, k) != 1 || !isfinite (rnum (r, "cost_per_hour")))
      continue;
    if (best < 0) {
      best = (int) i;
      continue;
    }
    json_t *b = g_ptr_array_index (results, best);
    double cr = rnum (r, "cost_per_hour"), cb = rnum (b, "cost_per_hour");
    if (cr < cb || (cr == cb && rnum (r, "capacity_x") > rnum (b, "capacity_x")))
      best = (int) i;
  }
  return best;
}

/* ---- files ---------------------------------------------------------------------- */

static gboolean
write_text (const char *dir, const char *name, const char *text, GError **error)
{
  char *path = g_build_filename (dir, name, NULL);
  SimAtomicFile f;
  gboolean ok = sim_atomic_file_open (&f, path, error);
  if (ok) {
    fputs (text, f.fp);
    ok = sim_atomic_file_commit (&f, error);
  }
  g_free (path);
  return ok;
}

static char *
table_csv (const PlanSpec *spec, GPtrArray *results)
{
  GString *s = g_string_new ("index,label");
  for (guint d = 0; d < spec->dims->len; d++)
    g_string_append_printf (s, ",%s", ((PlanDim *) g_ptr_array_index (spec->dims, d))->short_name);
  g_string_append (s, ",status,gpus,price_per_gpu_hour,cost_per_hour,capacity_x,capacity_rps,"
                      "goodput_rps,output_tok_s,cost_per_mtok,ttft_p_s,tpot_p_s,binding,sims");
  for (guint k = 0; k < spec->targets->len; k++)
    g_string_append_printf (s, ",meets_%gx", g_array_index (spec->targets, double, k));
  g_string_append (s, ",reason\n");
  for (guint i = 0; i < results->len; i++) {
    json_t *r = g_ptr_array_index (results, i);
    g_string_append_printf (s, "%u,", i);
    put_csv_text (s, rstr (r, "label"));
    json_t *cfg = json_object_get (r, "config");
    for (guint d = 0; d < spec->dims->len; d++) {
      g_string_append_c (s, ',');
      put_value (s, json_object_get (cfg, ((PlanDim *) g_ptr_array_index (spec->dims, d))->path));
    }
    g_string_append_printf (s, ",%s,%d,", rstr (r, "status"), (int) rnum (r, "gpus"));
    put_num (s, rnum (r, "price_per_gpu_hour"));
    g_string_append_c (s, ',');
    put_num (s, rnum (r, "cost_per_hour"));
    g_string_append_c (s, ',');
    gboolean ok = is_ok (r);
    if (ok) {
      put_num (s, rnum (r, "capacity_x"));
      g_string_append_c (s, ',');
      put_num (s, rnum (r, "capacity_rps"));
    } else
      g_string_append_c (s, ',');
    const char *ac[] = { "goodput_rps", "output_tok_s" };
    for (guint k = 0; k < 2; k++) {
      g_string_append_c (s, ',');
      put_num (s, rnum2 (r, "at_capacity", ac[k]));
    }
    g_string_append_c (s, ',');
    put_num (s, rnum (r, "cost_per_mtok"));
    g_string_append_c (s, ',');
    put_num (s, rnum2 (r, "at_capacity", "ttft_p_s"));
    g_string_append_c (s, ',');
    put_num (s, rnum2 (r, "at_capacity", "tpot_p_s"));
    g_string_append_printf (s, ",%s,%d", rstr (r, "binding"), (int) rnum (r, "sims"));
    for (guint k = 0; k < spec->targets->len; k++) {
      int m = ok ? meets_target (r, k) : -1;
      g_string_append_printf (s, ",%s", m < 0 ? "" : m ? "yes" : "no");
    }
    g_string_append_c (s, ',');
    put_csv_text (s, rstr (r, "reason"));
    g_string_append_c (s, '\n');
  }
  return g_string_free (s, FALSE);
}

static json_t *
indices_json (GArray *a)
{
  json_t *j = json_array ();
  for (guint k = 0; k < a->len; k++)
    json_array_append_new (j, json_integer (g_array_index (a, guint, k)));
  return j;
}

static char *
table_json (const PlanSpec *spec, GPtrArray *results, GPtrArray *groups)
{
  json_t *o = json_object ();
  json_t *nm = json_object_get (spec->root, "name");
  json_object_set_new (o, "plan", nm ? json_incref (nm) : json_string (spec->origin));
  json_object_set_new (o, "servesim_version", json_string (PACKAGE_VERSION));
  json_object_set_new (o, "fingerprint", json_string (spec->fingerprint));
  json_t *wl = json_object ();
  json_object_set_new (wl, "requests", json_integer ((json_int_t) spec->base_requests));
  json_object_set_new (wl, "span_s", json_real (spec->base_span_s));
  json_object_set_new (wl, "rate_rps", json_real (spec->base_rate));
  json_object_set_new (wl, "output_tok_s", json_real (spec->base_out_tok_rate));
  json_object_set_new (o, "workload_at_1x", wl);
  json_object_set_new (o, "configurations", json_integer (spec->n_configs));
  /* per model (group): the cheapest configuration for each target, and the fronts */
  json_t *cheap = json_array (), *pcj = json_array (), *plj = json_array ();
  for (guint g = 0; g < groups->len; g++) {
    const char *grp = g_ptr_array_index (groups, g);
    for (guint k = 0; k < spec->targets->len; k++) {
      int c = cheapest_for (results, k, grp);
      json_t *t = json_object ();
      json_object_set_new (t, "model", json_string (grp));
      json_object_set_new (t, "x", json_real (g_array_index (spec->targets, double, k)));
      json_object_set_new (t, "index", c >= 0 ? json_integer (c) : json_null ());
      json_array_append_new (cheap, t);
    }
    GArray *pc = pareto_cost (results, grp), *pl = pareto_latency (results, grp);
    json_array_append_new (pcj, json_pack ("{s:s, s:o}", "model", grp, "front", indices_json (pc)));
    json_array_append_new (plj, json_pack ("{s:s, s:o}", "model", grp, "front", indices_json (pl)));
    g_array_free (pc, TRUE);
    g_array_free (pl, TRUE);
  }
  json_object_set_new (o, "cheapest", cheap);
  json_object_set_new (o, "pareto_cost_capacity", pcj);
  json_object_set_new (o, "pareto_tpot_throughput", plj);
  json_t *rs = json_array ();
  for (guint i = 0; i < results->len; i++)
    json_array_append (rs, g_ptr_array_index (results, i));
  json_object_set_new (o, "results", rs);
  char *s = json_dumps (o, JSON_INDENT (1));
  char *r = g_strconcat (s, "\n", NULL);
  free (s);
  json_decref (o);
  return r;
}

/* A gnuplot string literal: single quotes, with ' doubled. */
static void
gp_quote (GString *s, const char *t)
{
  g_string_append_c (s, '\'');
  for (const char *p = t; *p; p++) {
    if (*p == '\'')
      g_string_append_c (s, '\'');
    if (*p != '\n')
      g_string_append_c (s, *p);
  }
  g_string_append_c (s, '\'');
}

/* A data-file label: one double-quoted gnuplot column (inner quotes and
 * '#' would end it or start a comment, so they become '). */
static char *
dat_label (const char *label)
{
  char *s = g_strdup (label);
  for (char *p = s; *p; p++)
    if (*p == '"' || *p == '#' || *p == '\n')
      *p = '\'';
  char *q = g_strdup_printf ("\"%s\"", s);
  g_free (s);
  return q;
}

static const char *const palette[] = { "#c0392b", "#2471a3", "#239b56", "#b9770e", "#7d3c98", "#566573" };

/* Writes <name>.dat (index 0: every point; index g+1: the front of group g)
 * and <name>.gp. `front_of` computes a group's front. */
static gboolean
write_scatter (const char *dir, const char *name, const char *title, const char *xlabel,
               const char *ylabel, gboolean logxy, GPtrArray *results, GPtrArray *groups,
               GArray *(*front_of) (GPtrArray *, const char *),
               double (*fx) (const json_t *), double (*fy) (const json_t *), GError **error)
{
  GString *d = g_string_new (NULL);
  g_string_append_printf (d, "# servesim plan: %s\n# x y index label\n", title);
  guint n = 0;
  for (guint i = 0; i < results->len; i++) {
    json_t *r = g_ptr_array_index (results, i);
    double x = fx (r), y = fy (r);
    if (!is_ok (r) || !isfinite (x) || !isfinite (y))
      continue;
    char *l = dat_label (rstr (r, "label"));
    g_string_append_printf (d, "%.9g %.9g %u %s\n", x, y, i, l);
    g_free (l);
    n++;
  }
  /* one block per non-empty front; blocks[] maps plot order to groups */
  GArray *blocks = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint g = 0; g < groups->len; g++) {
    const char *grp = g_ptr_array_index (groups, g);
    GArray *fr = front_of (results, grp);
    if (fr->len == 0) {
      g_array_free (fr, TRUE);
      continue;
    }
    g_array_append_val (blocks, g);
    g_string_append_printf (d, "\n\n# Pareto front%s%s\n", *grp ? ": " : "", grp);
    for (guint k = 0; k < fr->len; k++) {
      guint i = g_array_index (fr, guint, k);
      json_t *r = g_ptr_array_index (results, i);
      char *l = dat_label (rstr (r, "label"));
      g_string_append_printf (d, "%.9g %.9g %u %s\n", fx (r), fy (r), i, l);
      g_free (l);
    }
    g_array_free (fr, TRUE);
  }
  char *dat = g_strconcat (name, ".dat", NULL), *gpn = g_strconcat (name, ".gp", NULL);
  GString *g = g_string_new (NULL);
  g_string_append_printf (g, "# servesim plan: %s\n# Render with `gnuplot %s` in this directory; it "
                             "writes %s.png.\n", title, gpn, name);
  g_string_append (g, "if (strstrt(GPVAL_TERMINALS.\" \", \" pngcairo \") > 0) {\n"
                      "  set terminal pngcairo size 1100,750\n} else {\n"
                      "  set terminal png size 1100,750\n}\nset encoding utf8\n");
  g_string_append_printf (g, "set output '%s.png'\nset title ", name);
  gp_quote (g, title);
  g_string_append (g, " noenhanced\nset xlabel ");
  gp_quote (g, xlabel);
  g_string_append (g, "\nset ylabel ");
  gp_quote (g, ylabel);
  g_string_append_printf (g, "\nset grid\nset key below noenhanced\n%s", logxy ? "set logscale xy\n" : "");
  if (n == 0)
    g_string_append (g, "unset key\nset label 1 'no evaluated configurations' at graph 0.5, graph 0.5 "
                        "center\nplot [0:1] [0:1] NaN notitle\n");
  else {
    g_string_append_printf (g, "plot '%s' index 0 using 1:2 with points pt 7 ps 0.8 lc rgb '#b3bcc6' "
                               "title 'configurations'", dat);
    for (guint k = 0; k < blocks->len; k++) {
      const char *grp = g_ptr_array_index (groups, g_array_index (blocks, guint, k));
      const char *col = palette[k % G_N_ELEMENTS (palette)];
      char *t = g_strdup_printf ("Pareto front%s%s", *grp ? ": " : "", grp);
      g_string_append_printf (g, ", \\\n     '' index %u using 1:2 with linespoints pt 7 ps 1.2 lw 2 "
                                 "lc rgb '%s' title ", k + 1, col);
      gp_quote (g, t);
      g_string_append_printf (g, ", \\\n     '' index %u using 1:2:(stringcolumn(4)) with labels "
                                 "left offset 0.8,0.4 font ',7' tc rgb '%s' noenhanced notitle", k + 1,
                              col);
      g_free (t);
    }
    g_string_append_c (g, '\n');
  }
  gboolean ok = write_text (dir, dat, d->str, error) && write_text (dir, gpn, g->str, error);
  g_array_free (blocks, TRUE);
  g_string_free (d, TRUE);
  g_string_free (g, TRUE);
  g_free (dat);
  g_free (gpn);
  return ok;
}

static double fx_cost (const json_t *r) { return rnum (r, "cost_per_hour"); }
static double fy_cap (const json_t *r) { return rnum (r, "capacity_rps") > 0 ? rnum (r, "capacity_rps") : NAN; }
static double
fx_tok_per_gpu (const json_t *r)
{
  double g = rnum (r, "gpus");
  return g > 0 ? rnum2 (r, "at_capacity", "output_tok_s") / g : NAN;
}
static double
fy_tpot_ms (const json_t *r)
{
  return 1e3 * rnum2 (r, "at_capacity", "tpot_p_s");
}

/* ---- the recommendation ------------------------------------------------------------ */

static const char *
why_word (const char *binding)
{
  if (!binding || !*binding)
    return "?";
  if (strcmp (binding, "ttft") == 0) return "TTFT percentile over the SLO";
  if (strcmp (binding, "tpot") == 0) return "TPOT percentile over the SLO";
  if (strcmp (binding, "queue") == 0) return "queue grows (backlog drain over the limit)";
  if (strcmp (binding, "rejected") == 0) return "requests rejected (KV cache too small for a prompt)";
  if (strcmp (binding, "search-max") == 0) return "met the SLOs at the highest rate searched";
  return binding;
}

/* Which measurements each GPU's times come from: a ranking that puts a GPU
 * nobody measured (its profile carried over from another) next to calibrated
 * ones says so. */
static void
append_cost_models (GString *s, const PlanSpec *spec, GPtrArray *results)
{
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < results->len; i++) {
    json_t *v = json_object_get (json_object_get (g_ptr_array_index (results, i), "config"), "cluster.gpu");
    const char *id = json_is_string (v) ? json_string_value (v) : spec->base_gpu;
    if (id)
      g_hash_table_add (seen, (gpointer) id);
  }
  GList *ids = g_list_sort (g_hash_table_get_keys (seen), (GCompareFunc) strcmp);
  if (ids)
    g_string_append (s, "\n## Cost models\n\n");
  for (GList *l = ids; l; l = l->next) {
    const ModelGpu *g = model_catalog_gpu (spec->catalog, l->data, NULL);
    if (!g)
      continue;
    if (!g->profile_gpu)
      g_string_append_printf (s, "- %s: the generic defaults (no calibrated GPU loaded)\n", g->id);
    else if (!model_gpu_profile_carried (g))
      g_string_append_printf (s, "- %s: its own calibrated profile\n", g->id);
    else
      g_string_append_printf (s, "- %s: **%s's profile, carried over** (no %s measurements: expect larger "
                                 "errors; docs/cost-model.md, \"GPUs not in the data\")\n",
                              g->id, g->profile_gpu, g->id);
  }
  if (ids)
    g_string_append (s, "\n(`servesim describe gpus` gives each profile's data.)\n");
  g_list_free (ids);
  g_hash_table_destroy (seen);
}

char *
plan_report_recommendation (const PlanSpec *spec, GPtrArray *results)
{
  g_return_val_if_fail (spec != NULL && results != NULL, NULL);
  GString *s = g_string_new ("# servesim plan: recommendation\n\n");
  guint n_ok = 0, n_pruned = 0, n_err = 0;
  GHashTable *reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < results->len; i++) {
    json_t *r = g_ptr_array_index (results, i);
    const char *st = rstr (r, "status");
    if (strcmp (st, "ok") == 0)
      n_ok++;
    else if (strcmp (st, "pruned") == 0) {
      n_pruned++;
      const char *b = rstr (r, "binding");
      g_hash_table_insert (reasons, g_strdup (b),
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (reasons, b)) + 1));
    } else
      n_err++;
  }
  json_t *nm = json_object_get (spec->root, "name");
  g_string_append_printf (s, "Plan `%s`: %u configurations, %u evaluated, %u pruned, %u failed to run.\n",
                          json_is_string (nm) ? json_string_value (nm) : spec->origin,
                          spec->n_configs, n_ok, n_pruned, n_err);
  g_string_append_printf (s, "Workload at 1x: %" G_GUINT64_FORMAT " requests over %.1f s "
                             "(%.3f req/s, %.0f output tok/s). ",
                          spec->base_requests, spec->base_span_s, spec->base_rate,
                          spec->base_out_tok_rate);
  g_string_append_printf (s, "SLOs: P%g", spec->percentile * 100);
  if (spec->slo_ttft > 0)
    g_string_append_printf (s, " TTFT <= %g s", spec->slo_ttft);
  if (spec->slo_tpot > 0)
    g_string_append_printf (s, "%s TPOT <= %g s", spec->slo_ttft > 0 ? "," : "", spec->slo_tpot);
  g_string_append_printf (s, ", backlog at the end of the arrivals drains within %g s, at most %g%% "
                             "of requests rejected. Capacities are multiples of the 1x rate found to "
                             "within %g%% (the reported value passed).\n",
                          spec->max_drain_s, spec->max_rejected * 100, spec->tol * 100);

  GPtrArray *groups = groups_of (results);
  for (guint g = 0; g < groups->len; g++) {
    const char *grp = g_ptr_array_index (groups, g);
    const char *h2 = *grp ? "###" : "##";
    if (*grp)
      g_string_append_printf (s, "\n## %s\n", grp);
    for (guint k = 0; k < spec->targets->len; k++) {
      double t = g_array_index (spec->targets, double, k);
      g_string_append_printf (s, "\n%s Target %gx (%.2f req/s)\n\n", h2, t, t * spec->base_rate);
      int best = cheapest_for (results, k, grp);
      if (best < 0)
        g_string_append (s, "**No priced configuration meets this target.**\n");
      else {
        json_t *b = g_ptr_array_index (results, best);
        double cb = rnum (b, "cost_per_hour");
        json_t *tb = json_array_get (json_object_get (b, "targets"), k);
        g_string_append_printf (s, "**Recommended: %s** — %d GPU%s, $%.2f/h, $%.3f per million output "
                                   "tokens at this rate; capacity %.2fx (%.2f req/s, %+.0f%% headroom), "
                                   "limited by %s.\n",
                                rstr (b, "label"), (int) rnum (b, "gpus"), rnum (b, "gpus") > 1 ? "s" : "",
                                cb, rnum (tb, "cost_per_mtok"), rnum (b, "capacity_x"),
                                rnum (b, "capacity_rps"), 100 * (rnum (b, "capacity_x") / t - 1),
                                why_word (rstr (b, "binding")));
        /* runners-up: the next cheapest that also meet it */
        GArray *c = g_array_new (FALSE, FALSE, sizeof (Cand));
        for (guint i = 0; i < results->len; i++) {
          json_t *r = g_ptr_array_index (results, i);
          if ((int) i != best && is_ok (r) && in_group (r, grp) && meets_target (r, k) == 1
              && isfinite (rnum (r, "cost_per_hour"))) {
            Cand x = { i, rnum (r, "cost_per_hour"), rnum (r, "capacity_x") };
            g_array_append_val (c, x);
          }
        }
        g_array_sort (c, cand_cmp);
        if (c->len)
          g_string_append (s, "\nRunners-up (also meet the target, but cost more):\n\n"
                              "| configuration | GPUs | $/h | capacity | why it loses |\n"
                              "|---|---|---|---|---|\n");
        for (guint j = 0; j < MIN (c->len, 3); j++) {
          json_t *r = g_ptr_array_index (results, g_array_index (c, Cand, j).idx);
          double cr = rnum (r, "cost_per_hour");
          g_string_append_printf (s, "| %s | %d | %.2f | %.2fx | ", rstr (r, "label"),
                                  (int) rnum (r, "gpus"), cr, rnum (r, "capacity_x"));
          if (cr > cb)
            g_string_append_printf (s, "costs %.0f%% more for %s capacity |\n", 100 * (cr / cb - 1),
                                    rnum (r, "capacity_x") > rnum (b, "capacity_x") ? "more" : "no more");
          else
            g_string_append (s, "same cost, less capacity |\n");
        }
        g_array_free (c, TRUE);
      }
      /* cheaper (or unpriced) ones that fail it, and why */
      GArray *fails = g_array_new (FALSE, FALSE, sizeof (Cand));
      double cb = best >= 0 ? rnum (g_ptr_array_index (results, best), "cost_per_hour") : INFINITY;
      for (guint i = 0; i < results->len; i++) {
        json_t *r = g_ptr_array_index (results, i);
        double cr = rnum (r, "cost_per_hour");
        if (is_ok (r) && in_group (r, grp) && meets_target (r, k) == 0 && isfinite (cr) && cr < cb) {
          Cand x = { i, -cr, rnum (r, "capacity_x") }; /* most expensive of the cheaper first */
          g_array_append_val (fails, x);
        }
      }
      g_array_sort (fails, cand_cmp);
      if (fails->len)
        g_string_append (s, "\nCheaper configurations that miss the target:\n\n");
      for (guint j = 0; j < MIN (fails->len, 3); j++) {
        json_t *r = g_ptr_array_index (results, g_array_index (fails, Cand, j).idx);
        json_t *tr = json_array_get (json_object_get (r, "targets"), k);
        const char *bind = json_string_value (json_object_get (tr, "binding"));
        g_string_append_printf (s, "- %s ($%.2f/h): capacity only %.2fx; at %gx: %s\n", rstr (r, "label"),
                                rnum (r, "cost_per_hour"), rnum (r, "capacity_x"), t,
                                why_word (bind ? bind : rstr (r, "binding")));
      }
      g_array_free (fails, TRUE);
      /* unpriced configurations that do meet it */
      guint unpriced = 0;
      int best_unpriced = -1;
      for (guint i = 0; i < results->len; i++) {
        json_t *r = g_ptr_array_index (results, i);
        if (is_ok (r) && in_group (r, grp) && meets_target (r, k) == 1
            && !isfinite (rnum (r, "cost_per_hour"))) {
          unpriced++;
          if (best_unpriced < 0
              || rnum (r, "gpus") < rnum (g_ptr_array_index (results, best_unpriced), "gpus"))
            best_unpriced = (int) i;
        }
      }
      if (unpriced)
        g_string_append_printf (s, "\n%u configuration%s meeting this target run on GPUs with no price "
                                   "in the catalog and cannot be ranked by cost (fewest GPUs: %s, %d "
                                   "GPUs); add price_per_hour with --catalog to include them.\n",
                                unpriced, unpriced > 1 ? "s" : "",
                                rstr (g_ptr_array_index (results, best_unpriced), "label"),
                                (int) rnum (g_ptr_array_index (results, best_unpriced), "gpus"));
    }

    /* capacity per dollar */
    int bpd = -1;
    double best_ratio = 0;
    for (guint i = 0; i < results->len; i++) {
      json_t *r = g_ptr_array_index (results, i);
      double cost = rnum (r, "cost_per_hour"), cap = rnum (r, "capacity_rps");
      if (is_ok (r) && in_group (r, grp) && isfinite (cost) && cost > 0 && cap > 0
          && cap / cost > best_ratio) {
        best_ratio = cap / cost;
        bpd = (int) i;
      }
    }
    g_string_append_printf (s, "\n%s Capacity per dollar\n\n", h2);
    if (bpd >= 0) {
      json_t *r = g_ptr_array_index (results, bpd);
      g_string_append_printf (s, "Most capacity per dollar: %s — %.2f req/s for $%.2f/h (%.3f req/s "
                                 "per $/h), $%.3f per million output tokens at capacity.\n",
                              rstr (r, "label"), rnum (r, "capacity_rps"), rnum (r, "cost_per_hour"),
                              best_ratio, rnum (r, "cost_per_mtok"));
    } else
      g_string_append (s, "No priced configuration has a capacity above zero.\n");
    GArray *pc = pareto_cost (results, grp);
    g_string_append_printf (s, "\nPareto front of cost vs capacity (%u configurations, cheapest first):\n\n",
                            pc->len);
    for (guint k = 0; k < pc->len; k++) {
      json_t *r = g_ptr_array_index (results, g_array_index (pc, guint, k));
      g_string_append_printf (s, "- $%.2f/h: %s, %.2f req/s\n", rnum (r, "cost_per_hour"),
                              rstr (r, "label"), rnum (r, "capacity_rps"));
    }
    g_array_free (pc, TRUE);
  }
  g_ptr_array_free (groups, TRUE);
  if (n_pruned) {
    g_string_append (s, "\n## Pruned (not run)\n\n");
    GList *keys = g_list_sort (g_hash_table_get_keys (reasons), (GCompareFunc) strcmp);
    for (GList *l = keys; l; l = l->next)
      g_string_append_printf (s, "- %s: %u\n", (char *) l->data,
                              GPOINTER_TO_UINT (g_hash_table_lookup (reasons, l->data)));
    g_list_free (keys);
    g_string_append (s, "\n(reasons per configuration in results.csv)\n");
  }
  g_hash_table_destroy (reasons);
  append_cost_models (s, spec, results);
  return g_string_free (s, FALSE);
}

gboolean
plan_report_write (const PlanSpec *spec, GPtrArray *results, const char *out_dir, gboolean render,
                   GString *notes, GError **error)
{
  g_return_val_if_fail (spec != NULL && results != NULL && out_dir != NULL, FALSE);
  for (guint i = 0; i < results->len; i++)
    g_return_val_if_fail (g_ptr_array_index (results, i) != NULL, FALSE);
  if (g_mkdir_with_parents (out_dir, 0755) != 0) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_IO, "%s: cannot create the output directory: %s",
                 out_dir, g_strerror (errno));
    return FALSE;
  }
  GPtrArray *groups = groups_of (results);
  char *csv = table_csv (spec, results);
  char *js = table_json (spec, results, groups);
  char *rec = plan_report_recommendation (spec, results);
  char *plan = json_dumps (spec->root, JSON_INDENT (2));
  char *plan_nl = g_strconcat (plan, "\n", NULL);
  gboolean ok = write_text (out_dir, "results.csv", csv, error)
                && write_text (out_dir, "results.json", js, error)
                && write_text (out_dir, "recommendation.md", rec, error)
                && write_text (out_dir, "plan.json", plan_nl, error)
                && write_scatter (out_dir, "pareto_cost", "cost per hour vs capacity",
                                  "cost (USD per hour)", "capacity (requests/s within SLO)", TRUE,
                                  results, groups, pareto_cost, fx_cost, fy_cap, error)
                && write_scatter (out_dir, "pareto_latency",
                                  "TPOT percentile vs output throughput per GPU, at capacity",
                                  "output tokens/s per GPU", "TPOT percentile (ms)", FALSE, results,
                                  groups, pareto_latency, fx_tok_per_gpu, fy_tpot_ms, error);
  free (plan);
  g_free (plan_nl);
  g_free (csv);
  g_free (js);
  g_free (rec);
  g_ptr_array_free (groups, TRUE);
  if (ok && render) {
    const char *scripts[] = { "pareto_cost.gp", "pareto_latency.gp" };
    for (guint k = 0; k < G_N_ELEMENTS (scripts); k++) {
      GError *e = NULL;
      if (!plot_render_gnuplot (out_dir, scripts[k], &e)) {
        if (notes)
          g_string_append_printf (notes, "  %s not rendered: %s\n", scripts[k], e->message);
        gboolean missing = g_error_matches (e, PLOT_ERROR, PLOT_ERROR_TOOL_MISSING);
        g_error_free (e);
        if (missing)
          break;
      }
    }
  }
  return ok;
}
