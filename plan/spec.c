/* plan/spec.c — the plan file: parsing, checking and enumerating the search
 * space, and measuring the base workload's arrival rate.
 *
 * Owns the plan schema (name, base, set, space, constraints, slo, search),
 * the order of configurations (row-major over the space's dimensions in file
 * order: the last dimension varies fastest) and the fingerprint that decides
 * whether a logged result may be reused. Does not run simulations
 * (plan/search.c) or write outputs (plan/report.c).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "serve/scenario.h"
#include "sim/util.h"
#include "traces/trace.h"
#include "plan/plan-private.h"

G_DEFINE_QUARK (plan-error-quark, plan_error)

static void
dim_free (gpointer p)
{
  PlanDim *d = p;
  g_free (d->path);
  g_free (d->short_name);
  g_ptr_array_free (d->values, TRUE);
  g_free (d);
}

void
plan_spec_free (PlanSpec *spec)
{
  if (!spec)
    return;
  json_decref (spec->root);
  g_free (spec->origin);
  g_free (spec->base_path);
  g_free (spec->base_gpu);
  if (spec->base_sets)
    g_ptr_array_free (spec->base_sets, TRUE);
  if (spec->dims)
    g_ptr_array_free (spec->dims, TRUE);
  if (spec->targets)
    g_array_free (spec->targets, TRUE);
  if (spec->arrivals)
    g_array_free (spec->arrivals, TRUE);
  model_catalog_free (spec->catalog);
  g_free (spec->fingerprint);
  g_free (spec);
}

/* ---- small JSON helpers ------------------------------------------------- */

static char *
dump_compact (const json_t *v)
{
  char *s = json_dumps (v, JSON_COMPACT | JSON_ENCODE_ANY);
  char *r = g_strdup (s);
  free (s);
  return r;
}

/* "path=<compact json>" */
static char *
make_set (const char *path, const json_t *v)
{
  char *txt = dump_compact (v);
  char *s = g_strdup_printf ("%s=%s", path, txt);
  g_free (txt);
  return s;
}

static gboolean
check_keys (const json_t *obj, const char *where, const char *valid, const char *origin,
            GError **error)
{
  const char *key;
  json_t *v;
  json_object_foreach ((json_t *) obj, key, v) {
    (void) v;
    gboolean ok = FALSE;
    char **names = g_strsplit (valid, ", ", -1);
    for (char **n = names; *n; n++)
      ok |= strcmp (*n, key) == 0;
    g_strfreev (names);
    if (!ok) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s: %s%s%s: unknown key (valid: %s)", origin,
                   where, *where ? "." : "", key, valid);
      return FALSE;
    }
  }
  return TRUE;
}

/* A number at obj.key within [min,max], or `def` when absent/null. */
static gboolean
get_number (const json_t *obj, const char *where, const char *key, double def, double min,
            double max, gboolean integer, const char *origin, double *out, GError **error)
{
  json_t *v = obj ? json_object_get (obj, key) : NULL;
  if (!v || json_is_null (v)) {
    *out = def;
    return TRUE;
  }
  if (!json_is_number (v) || (integer && !json_is_integer (v))) {
    char *txt = dump_compact (v);
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s: %s.%s: expected %s, got %s", origin, where,
                 key, integer ? "an integer" : "a number", txt);
    g_free (txt);
    return FALSE;
  }
  double x = json_number_value (v);
  if (!isfinite (x) || x < min || x > max) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s: %s.%s: must be between %g and %g (got %g)",
                 origin, where, key, min, max, x);
    return FALSE;
  }
  *out = x;
  return TRUE;
}

/* ---- dimensions --------------------------------------------------------- */

/* A range object {"from": a, "to": b, "step": s} or {"from", "to", "factor"}. */
static gboolean
expand_range (const json_t *r, const char *where, const char *origin, GPtrArray *values,
              GError **error)
{
  if (!check_keys (r, where, "from, to, step, factor", origin, error))
    return FALSE;
  double from, to, step, factor;
  if (!get_number (r, where, "from", NAN, -1e15, 1e15, FALSE, origin, &from, error)
      || !get_number (r, where, "to", NAN, -1e15, 1e15, FALSE, origin, &to, error)
      || !get_number (r, where, "step", 0, 0, 1e15, FALSE, origin, &step, error)
      || !get_number (r, where, "factor", 0, 0, 1e15, FALSE, origin, &factor, error))
    return FALSE;
  if (isnan (from) || isnan (to) || to < from || (step > 0) == (factor > 0)
      || (factor > 0 && (factor <= 1 || from <= 0))) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: %s: a range needs \"from\" <= \"to\" and exactly one of \"step\" (> 0) or "
                 "\"factor\" (> 1, with from > 0), e.g. {\"from\": 1, \"to\": 8, \"factor\": 2}",
                 origin, where);
    return FALSE;
  }
  gboolean ints = json_is_integer (json_object_get (r, "from"))
                  && (step > 0 ? json_is_integer (json_object_get (r, "step"))
                               : json_is_integer (json_object_get (r, "factor")));
  for (guint k = 0;; k++) {
    double x = step > 0 ? from + k * step : from * pow (factor, k);
    if (x > to * (1 + 1e-12) || k > 10000)
      break;
    g_ptr_array_add (values, ints ? json_integer ((json_int_t) llround (x)) : json_real (x));
  }
  return TRUE;
}

static const char *const forbidden_prefixes[] = { "workload", "slo", "output", "name", "catalog" };

static gboolean
parse_space (PlanSpec *spec, const json_t *space, GError **error)
{
  if (!json_is_object (space) || json_object_size (space) == 0) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: space: expected a non-empty object of scenario paths, e.g. "
                 "{\"cluster.gpu\": [\"h100-sxm\", \"a100-80gb\"], \"cluster.tp\": {\"from\": 1, "
                 "\"to\": 8, \"factor\": 2}}", spec->origin);
    return FALSE;
  }
  const char *key;
  json_t *v;
  guint64 n = 1;
  json_object_foreach ((json_t *) space, key, v) {
    char *where = g_strdup_printf ("space.%s", key);
    for (guint i = 0; i < G_N_ELEMENTS (forbidden_prefixes); i++) {
      gsize l = strlen (forbidden_prefixes[i]);
      if (strncmp (key, forbidden_prefixes[i], l) == 0 && (key[l] == 0 || key[l] == '.')) {
        g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                     "%s: %s: '%s' cannot be searched over (the workload, SLOs and outputs are "
                     "fixed for a plan; put them in \"set\", \"slo\" or the base scenario)",
                     spec->origin, where, forbidden_prefixes[i]);
        g_free (where);
        return FALSE;
      }
    }
    PlanDim *d = g_new0 (PlanDim, 1);
    d->path = g_strdup (key);
    const char *dot = strrchr (key, '.');
    d->short_name = g_strdup (dot ? dot + 1 : key);
    d->values = g_ptr_array_new_with_free_func ((GDestroyNotify) json_decref);
    g_ptr_array_add (spec->dims, d);
    gboolean ok = TRUE;
    if (json_is_array (v)) {
      size_t i;
      json_t *x;
      json_array_foreach (v, i, x)
        g_ptr_array_add (d->values, json_incref (x));
    } else if (json_is_object (v) && json_object_get (v, "from"))
      ok = expand_range (v, where, spec->origin, d->values, error);
    else {
      char *txt = dump_compact (v);
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                   "%s: %s: expected a list of values or a range {\"from\", \"to\", \"step\" or "
                   "\"factor\"}, got %s", spec->origin, where, txt);
      g_free (txt);
      ok = FALSE;
    }
    if (ok && d->values->len == 0) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s: %s: no values", spec->origin, where);
      ok = FALSE;
    }
    /* Each value must make a valid scenario on its own (catches typos in paths
     * and wrong types here, not a thousand times later). */
    for (guint i = 0; ok && i < d->values->len; i++) {
      GPtrArray *sets = g_ptr_array_new_with_free_func (g_free);
      for (guint k = 0; k < spec->base_sets->len; k++)
        g_ptr_array_add (sets, g_strdup (g_ptr_array_index (spec->base_sets, k)));
      g_ptr_array_add (sets, make_set (key, g_ptr_array_index (d->values, i)));
      g_ptr_array_add (sets, NULL);
      GError *e = NULL;
      ServeScenario *sc = serve_scenario_load (spec->base_path, (char **) sets->pdata, &e);
      g_ptr_array_free (sets, TRUE);
      if (!sc) {
        char *txt = dump_compact (g_ptr_array_index (d->values, i));
        g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s: %s: value %s is not valid: %s",
                     spec->origin, where, txt, e->message);
        g_free (txt);
        g_error_free (e);
        ok = FALSE;
      }
      serve_scenario_free (sc);
    }
    g_free (where);
    if (!ok)
      return FALSE;
    n *= d->values->len;
    if (n > 10000000) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                   "%s: space: more than 10,000,000 configurations; narrow the space", spec->origin);
      return FALSE;
    }
  }
  spec->n_configs = (guint) n;
  return TRUE;
}

/* ---- the base workload ---------------------------------------------------- */

static char *
resolve_data_path (const char *path)
{
  if (g_path_is_absolute (path) || g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strdup (path);
  return sim_data_find (path, NULL);
}

/* The generator spec of a scenario, as serve/world.c builds it. */
static gboolean
gen_spec_from_scenario (const ServeScenario *sc, TraceGenSpec *g, char **length_file, GError **error)
{
  json_t *gen = serve_scenario_get (sc, "workload.generator");
  trace_gen_spec_init (g);
#define GNUM(k) json_number_value (json_object_get (gen, k))
  const char *arr = json_string_value (json_object_get (gen, "arrival"));
  const char *len = json_string_value (json_object_get (gen, "lengths"));
  g->arrival = strcmp (arr, "gamma") == 0 ? TRACE_ARRIVAL_GAMMA : TRACE_ARRIVAL_POISSON;
  g->rate = GNUM ("rate");
  g->cv = GNUM ("cv");
  g->num_requests = (gint64) GNUM ("num_requests");
  g->lengths = strcmp (len, "uniform") == 0 ? TRACE_LENGTH_UNIFORM
             : strcmp (len, "file") == 0   ? TRACE_LENGTH_FILE : TRACE_LENGTH_FIXED;
  g->prompt_tokens = (gint64) GNUM ("prompt_tokens");
  g->output_tokens = (gint64) GNUM ("output_tokens");
  g->prompt_min = (gint64) GNUM ("prompt_min");
  g->prompt_max = (gint64) GNUM ("prompt_max");
  g->output_min = (gint64) GNUM ("output_min");
  g->output_max = (gint64) GNUM ("output_max");
#undef GNUM
  *length_file = NULL;
  if (g->lengths == TRACE_LENGTH_FILE) {
    json_t *lf = json_object_get (gen, "length_file");
    if (!json_is_string (lf) || !(*length_file = resolve_data_path (json_string_value (lf)))) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                   "workload.generator.length_file: missing or not found");
      return FALSE;
    }
    g->length_file = *length_file;
  }
  return TRUE;
}

/* Reads the base workload once: request count, arrival span and output
 * tokens at multiplier 1, hence the recorded rate. */
static gboolean
measure_workload (PlanSpec *spec, const ServeScenario *sc, GError **error)
{
  spec->base_time_scale = sc->time_scale;
  spec->base_limit = sc->limit;
  TraceOptions opts;
  trace_options_init (&opts);
  opts.limit = sc->limit;
  opts.time_scale = sc->time_scale;
  opts.start_s = sc->start_s;
  opts.end_s = sc->end_s;
  TraceSource *src = NULL;
  if (!sc->trace) {
    TraceGenSpec g;
    char *lf = NULL;
    spec->synthetic = TRUE;
    if (gen_spec_from_scenario (sc, &g, &lf, error))
      src = trace_source_new_synthetic (&g, sc->seed, &opts, error);
    spec->base_gen_rate = g.rate;
    g_free (lf);
  } else {
    TraceFormat fmt;
    if (!trace_format_from_string (sc->format, &fmt)) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "workload.format: unknown '%s'", sc->format);
      return FALSE;
    }
    char *path = resolve_data_path (sc->trace);
    if (!path) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                   "%s: workload.trace: file '%s' not found (relative paths are tried from the "
                   "current directory, then among the bundled traces)", spec->origin, sc->trace);
      return FALSE;
    }
    src = trace_source_open (path, fmt, &opts, error);
    g_free (path);
  }
  if (!src)
    return FALSE;
  TraceRequest r;
  guint64 n = 0;
  double out_tokens = 0;
  SimTime first = 0, last = 0;
  GError *e = NULL;
  while (trace_source_next (src, &r, &e)) {
    if (n == 0)
      first = r.arrival;
    last = r.arrival;
    double t = SIM_TIME_TO_S (r.arrival);
    g_array_append_val (spec->arrivals, t);
    out_tokens += (double) r.output_tokens;
    n++;
  }
  trace_source_free (src);
  if (e) {
    g_propagate_error (error, e);
    return FALSE;
  }
  if (n < 2 || last <= first) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: the workload has %" G_GUINT64_FORMAT " request(s) over %g s: at least two "
                 "requests at different times are needed to scale its arrival rate",
                 spec->origin, n, SIM_TIME_TO_S (last - first));
    return FALSE;
  }
  spec->base_requests = n;
  spec->base_span_s = SIM_TIME_TO_S (last - first);
  spec->base_rate = (double) (n - 1) / spec->base_span_s;
  spec->base_out_tok_rate = out_tokens / spec->base_span_s;
  return TRUE;
}

/* ---- loading ----------------------------------------------------------------- */

static gboolean
parse_sets (PlanSpec *spec, const json_t *set, char **cli_sets, GError **error)
{
  if (set && json_is_object (set)) {
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *) set, k, v)
      g_ptr_array_add (spec->base_sets, make_set (k, v));
  } else if (set && json_is_array (set)) {
    size_t i;
    json_t *v;
    json_array_foreach (set, i, v) {
      if (!json_is_string (v) || !strchr (json_string_value (v), '=')) {
        g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                     "%s: set[%zu]: expected \"path=value\" (e.g. \"workload.limit=2000\")",
                     spec->origin, i);
        return FALSE;
      }
      g_ptr_array_add (spec->base_sets, g_strdup (json_string_value (v)));
    }
  } else if (set && !json_is_null (set)) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: set: expected an object {\"path\": value} or a list of \"path=value\"",
                 spec->origin);
    return FALSE;
  }
  for (char **s = cli_sets; s && *s; s++)
    g_ptr_array_add (spec->base_sets, g_strdup (*s));
  /* every run of a plan is in memory */
  g_ptr_array_add (spec->base_sets, g_strdup ("output.dir=null"));
  return TRUE;
}

static gboolean
parse_settings (PlanSpec *spec, GError **error)
{
  const char *o = spec->origin;
  json_t *root = spec->root;
  json_t *cons = json_object_get (root, "constraints");
  json_t *slo = json_object_get (root, "slo");
  json_t *search = json_object_get (root, "search");
  for (guint i = 0; i < 3; i++) {
    json_t *x = i == 0 ? cons : i == 1 ? slo : search;
    const char *nm = i == 0 ? "constraints" : i == 1 ? "slo" : "search";
    if (x && !json_is_object (x)) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s: %s: expected an object", o, nm);
      return FALSE;
    }
  }
  if ((cons && !check_keys (cons, "constraints", "max_gpus, max_cost_per_hour", o, error))
      || (slo && !check_keys (slo, "slo", "ttft, tpot, percentile, max_drain_s, max_rejected_fraction",
                              o, error))
      || (search && !check_keys (search, "search", "mode, start, min, max, tolerance, targets, window_s", o,
                                 error)))
    return FALSE;
  double max_gpus;
  if (!get_number (cons, "constraints", "max_gpus", 0, 0, 1e7, TRUE, o, &max_gpus, error)
      || !get_number (cons, "constraints", "max_cost_per_hour", 0, 0, 1e12, FALSE, o, &spec->max_cost,
                      error)
      || !get_number (slo, "slo", "ttft", 0, 0, 1e6, FALSE, o, &spec->slo_ttft, error)
      || !get_number (slo, "slo", "tpot", 0, 0, 1e6, FALSE, o, &spec->slo_tpot, error)
      || !get_number (slo, "slo", "percentile", 90, 1, 100, FALSE, o, &spec->percentile, error)
      || !get_number (slo, "slo", "max_drain_s", spec->slo_ttft > 0 ? spec->slo_ttft : 10, 1e-6, 1e9,
                      FALSE, o, &spec->max_drain_s, error)
      || !get_number (slo, "slo", "max_rejected_fraction", 0, 0, 1, FALSE, o, &spec->max_rejected,
                      error)
      || !get_number (search, "search", "start", 1, 1e-9, 1e9, FALSE, o, &spec->start, error)
      || !get_number (search, "search", "min", 1.0 / 64, 1e-9, 1e9, FALSE, o, &spec->min_x, error)
      || !get_number (search, "search", "max", 1024, 1e-9, 1e9, FALSE, o, &spec->max_x, error)
      || !get_number (search, "search", "tolerance", 0.02, 1e-6, 1, FALSE, o, &spec->tol, error)
      || !get_number (search, "search", "window_s", 0, 0, 1e9, FALSE, o, &spec->window_s, error))
    return FALSE;
  spec->max_gpus = (int) max_gpus;
  spec->percentile /= 100;
  if (spec->slo_ttft <= 0 && spec->slo_tpot <= 0) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: slo: set at least one of \"ttft\" or \"tpot\" (seconds), e.g. {\"ttft\": 2, "
                 "\"tpot\": 0.1}", o);
    return FALSE;
  }
  if (!(spec->min_x <= spec->start && spec->start <= spec->max_x)) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: search: need min <= start <= max (got %g, %g, %g)", o, spec->min_x, spec->start,
                 spec->max_x);
    return FALSE;
  }
  json_t *mode = search ? json_object_get (search, "mode") : NULL;
  if (mode && !(json_is_string (mode) && (strcmp (json_string_value (mode), "capacity") == 0
                                          || strcmp (json_string_value (mode), "targets") == 0))) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: search.mode: expected \"capacity\" (search each configuration's capacity) or "
                 "\"targets\" (only check the target rates)", o);
    return FALSE;
  }
  spec->targets_only = mode && strcmp (json_string_value (mode), "targets") == 0;
  json_t *t = search ? json_object_get (search, "targets") : NULL;
  if (t && !json_is_array (t)) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: search.targets: expected a list of rate multipliers, e.g. [2, 5, 10]", o);
    return FALSE;
  }
  size_t i;
  json_t *x;
  json_array_foreach (t, i, x) {
    double v = json_number_value (x);
    if (!json_is_number (x) || !(v > 0) || !isfinite (v)) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                   "%s: search.targets[%zu]: expected a positive number (a multiple of the "
                   "workload's recorded rate)", o, i);
      return FALSE;
    }
    g_array_append_val (spec->targets, v);
  }
  if (spec->targets_only && spec->targets->len == 0) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "%s: search.mode \"targets\" needs search.targets", o);
    return FALSE;
  }
  return TRUE;
}

static void
make_fingerprint (PlanSpec *spec, const ServeScenario *base)
{
  json_t *f = json_object ();
  json_object_set_new (f, "version", json_string (PACKAGE_VERSION));
  json_object_set (f, "base", base->root);
  json_t *o;
  json_object_set_new (f, "constraints",
                       (o = json_object_get (spec->root, "constraints")) ? json_incref (o) : json_null ());
  json_object_set_new (f, "slo", (o = json_object_get (spec->root, "slo")) ? json_incref (o) : json_null ());
  json_object_set_new (f, "search",
                       (o = json_object_get (spec->root, "search")) ? json_incref (o) : json_null ());
  char *s = json_dumps (f, JSON_COMPACT | JSON_SORT_KEYS);
  spec->fingerprint = g_compute_checksum_for_string (G_CHECKSUM_SHA256, s, -1);
  free (s);
  json_decref (f);
}

PlanSpec *
plan_spec_load_data (const char *json_text, const char *origin, const char *base_dir, char **sets,
                     GError **error)
{
  g_return_val_if_fail (json_text != NULL, NULL);
  PlanSpec *spec = g_new0 (PlanSpec, 1);
  spec->origin = g_strdup (origin ? origin : "<plan>");
  spec->base_sets = g_ptr_array_new_with_free_func (g_free);
  spec->dims = g_ptr_array_new_with_free_func (dim_free);
  spec->targets = g_array_new (FALSE, FALSE, sizeof (double));
  spec->arrivals = g_array_new (FALSE, FALSE, sizeof (double));
  ServeScenario *base = NULL;
  json_error_t jerr;
  spec->root = json_loads (json_text, JSON_REJECT_DUPLICATES, &jerr);
  if (!spec->root) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s:%d: %s", spec->origin, jerr.line, jerr.text);
    goto fail;
  }
  if (!json_is_object (spec->root)) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s:1: a plan must be a JSON object", spec->origin);
    goto fail;
  }
  if (!check_keys (spec->root, "", "name, base, set, space, constraints, slo, search", spec->origin,
                   error))
    goto fail;
  json_t *b = json_object_get (spec->root, "base");
  if (b && !json_is_null (b)) {
    if (!json_is_string (b)) {
      g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC,
                   "%s: base: expected a scenario file name (relative to the plan file) or null",
                   spec->origin);
      goto fail;
    }
    const char *p = json_string_value (b);
    spec->base_path = g_path_is_absolute (p) || !base_dir ? g_strdup (p)
                                                         : g_build_filename (base_dir, p, NULL);
  }
  if (!parse_sets (spec, json_object_get (spec->root, "set"), sets, error))
    goto fail;
  g_ptr_array_add (spec->base_sets, NULL);
  base = serve_scenario_load (spec->base_path, (char **) spec->base_sets->pdata, error);
  g_ptr_array_remove_index (spec->base_sets, spec->base_sets->len - 1);
  if (!base)
    goto fail;
  if (!parse_settings (spec, error))
    goto fail;
  if (!parse_space (spec, json_object_get (spec->root, "space"), error))
    goto fail;
  if (!measure_workload (spec, base, error))
    goto fail;
  spec->catalog = model_catalog_new ();
  if (!model_catalog_load_default (spec->catalog, error)
      || (base->catalog && !model_catalog_load_file (spec->catalog, base->catalog, error)))
    goto fail;
  spec->base_gpu = g_strdup (base->gpu);
  make_fingerprint (spec, base);
  serve_scenario_free (base);
  return spec;

fail:
  serve_scenario_free (base);
  plan_spec_free (spec);
  return NULL;
}

PlanSpec *
plan_spec_load (const char *path, char **sets, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  char *text = NULL;
  GError *e = NULL;
  if (!g_file_get_contents (path, &text, NULL, &e)) {
    g_set_error (error, PLAN_ERROR, PLAN_ERROR_SPEC, "%s: cannot read the plan file: %s", path,
                 e->message);
    g_error_free (e);
    return NULL;
  }
  char *dir = g_path_get_dirname (path);
  PlanSpec *spec = plan_spec_load_data (text, path, dir, sets, error);
  g_free (dir);
  g_free (text);
  return spec;
}

/* ---- enumeration ------------------------------------------------------------ */

guint
plan_spec_n_configs (const PlanSpec *spec)
{
  g_return_val_if_fail (spec != NULL, 0);
  return spec->n_configs;
}

/* Value of dimension d in configuration i (row-major, last dimension fastest). */
static json_t *
config_value (const PlanSpec *spec, guint i, guint d)
{
  guint stride = 1;
  for (guint k = spec->dims->len; k-- > d + 1;)
    stride *= ((PlanDim *) g_ptr_array_index (spec->dims, k))->values->len;
  PlanDim *dim = g_ptr_array_index (spec->dims, d);
  return g_ptr_array_index (dim->values, (i / stride) % dim->values->len);
}

char **
plan_spec_config_sets (const PlanSpec *spec, guint i)
{
  g_return_val_if_fail (spec != NULL && i < spec->n_configs, NULL);
  GPtrArray *a = g_ptr_array_new ();
  for (guint k = 0; k < spec->base_sets->len; k++)
    g_ptr_array_add (a, g_strdup (g_ptr_array_index (spec->base_sets, k)));
  for (guint d = 0; d < spec->dims->len; d++) {
    PlanDim *dim = g_ptr_array_index (spec->dims, d);
    g_ptr_array_add (a, make_set (dim->path, config_value (spec, i, d)));
  }
  g_ptr_array_add (a, NULL);
  return (char **) g_ptr_array_free (a, FALSE);
}

json_t *
plan__config_key (const PlanSpec *spec, guint i)
{
  json_t *k = json_object ();
  for (guint d = 0; d < spec->dims->len; d++) {
    PlanDim *dim = g_ptr_array_index (spec->dims, d);
    json_object_set (k, dim->path, config_value (spec, i, d));
  }
  return k;
}

static void
append_value (GString *s, const json_t *v)
{
  if (json_is_string (v))
    g_string_append (s, json_string_value (v));
  else if (json_is_object (v)) {
    json_t *nm = json_object_get (v, "name");
    const char *k;
    json_t *x;
    if (json_is_string (nm))
      g_string_append (s, json_string_value (nm));
    gboolean first = TRUE;
    json_object_foreach ((json_t *) v, k, x) {
      if (strcmp (k, "name") == 0)
        continue;
      g_string_append_c (s, first ? ':' : ',');
      first = FALSE;
      g_string_append_printf (s, "%s=", k);
      append_value (s, x);
    }
  } else {
    char *t = dump_compact (v);
    g_string_append (s, t);
    g_free (t);
  }
}

char *
plan__value_label (const json_t *v)
{
  GString *s = g_string_new (NULL);
  append_value (s, v);
  return g_string_free (s, FALSE);
}

char *
plan_spec_config_label (const PlanSpec *spec, guint i)
{
  g_return_val_if_fail (spec != NULL && i < spec->n_configs, NULL);
  GString *s = g_string_new (NULL);
  for (guint d = 0; d < spec->dims->len; d++) {
    PlanDim *dim = g_ptr_array_index (spec->dims, d);
    json_t *v = config_value (spec, i, d);
    if (s->len)
      g_string_append_c (s, ' ');
    /* names that identify themselves (a model, a GPU, a policy object) go bare */
    gboolean bare = strcmp (dim->path, "model") == 0 || strcmp (dim->path, "cluster.gpu") == 0
                    || strcmp (dim->path, "scheduler.name") == 0 || json_is_object (v);
    if (!bare)
      g_string_append_printf (s, "%s=", dim->short_name);
    append_value (s, v);
  }
  return g_string_free (s, FALSE);
}

void
plan__window (const PlanSpec *spec, double mult, gint64 *n, double *time_scale, double *span_s)
{
  guint total = spec->arrivals->len;
  const double *a = (const double *) spec->arrivals->data;
  double want = spec->window_s > 0 ? ceil (mult * spec->base_rate * spec->window_s) + 1 : total;
  guint k = want >= total ? total : (guint) MAX (2, want);
  double span_k = a[k - 1] - a[0];
  if (k == total || span_k <= 0) {
    /* the whole base workload, arrivals scaled by 1/mult */
    *n = spec->base_limit;
    *time_scale = spec->base_time_scale / mult;
    *span_s = spec->base_span_s / mult;
    return;
  }
  /* the first k requests, scaled so that (k - 1) / span = mult x base rate */
  double rate = mult * spec->base_rate;
  *n = k;
  *time_scale = spec->base_time_scale * ((k - 1) / rate) / span_k;
  *span_s = (k - 1) / rate;
}

double
plan_spec_base_rate (const PlanSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NAN);
  return spec->base_rate;
}

const double *
plan_spec_targets (const PlanSpec *spec, guint *n)
{
  g_return_val_if_fail (spec != NULL, NULL);
  if (n)
    *n = spec->targets->len;
  return (const double *) spec->targets->data;
}

const char *
plan_spec_fingerprint (const PlanSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);
  return spec->fingerprint;
}

const json_t *
plan_spec_json (const PlanSpec *spec)
{
  g_return_val_if_fail (spec != NULL, NULL);
  return spec->root;
}
