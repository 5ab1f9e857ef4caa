/* plan/search.c — one configuration: pruning, one simulation at a rate
 * multiplier, and the capacity search.
 *
 * Pruning looks the configuration up in the catalog before anything runs:
 * unknown names, TP not dividing the heads, weights + activations not
 * fitting the GPU (models/cost.h's memory plan), the GPU budget and the cost
 * budget. A point runs the serving world in memory on the base workload at
 * multiplier x its average rate (plan__window in spec.c: the first k
 * requests and a workload.time_scale giving them that rate; trace and
 * generator alike) and checks the SLOs: the percentile of TTFT and of TPOT,
 * rejections, and that the queue does not grow without bound (the backlog
 * left at the end of the arrivals must drain within max_drain_s). The
 * capacity is found by doubling/halving from `start` until pass and fail
 * bracket it, then bisecting geometrically until hi/lo <= 1 + tolerance; the
 * reported capacity is lo, a multiplier that was simulated and passed.
 * Does not own enumerating the space (plan/spec.c) or scheduling work over
 * threads or ranks (plan/sweep.c, plan/mpi.c). Formulas: docs/plan.md.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/cost.h"
#include "serve/metrics.h"
#include "serve/scenario.h"
#include "serve/world.h"
#include "plan/plan-private.h"

/* NaN/inf -> null, so results are valid JSON. */
static json_t *
num (double x)
{
  return isfinite (x) ? json_real (x) : json_null ();
}

static char **
point_sets (const PlanSpec *spec, guint i, double mult)
{
  char **cfg = plan_spec_config_sets (spec, i);
  guint n = g_strv_length (cfg);
  char **sets = g_new0 (char *, n + 5);
  memcpy (sets, cfg, n * sizeof (char *));
  g_free (cfg); /* strings moved */
  gint64 limit;
  double ts, span;
  plan__window (spec, mult, &limit, &ts, &span);
  sets[n++] = g_strdup_printf ("workload.time_scale=%.17g", ts);
  sets[n++] = g_strdup_printf ("workload.limit=%" G_GINT64_FORMAT, limit);
  sets[n++] = g_strdup_printf ("slo.ttft=%.17g", spec->slo_ttft);
  sets[n++] = g_strdup_printf ("slo.tpot=%.17g", spec->slo_tpot);
  return sets;
}

/* Mean number of queued requests over the last tenth of the arrival window
 * (or the last timeline row before the last arrival when no row falls in it). */
static double
end_backlog (const ServeMetrics *m, double t_first, double span)
{
  double t_last = t_first + span, w0 = t_last - 0.1 * span;
  double sum = 0, before = 0;
  guint n = 0;
  for (guint k = 0; k < m->timeline->len; k++) {
    const ServeTimelineRow *row = &g_array_index (m->timeline, ServeTimelineRow, k);
    if (row->t_s > t_last)
      break;
    before = row->queued;
    if (row->t_s >= w0) {
      sum += row->queued;
      n++;
    }
  }
  return n ? sum / n : before;
}

gboolean
plan_run_point (const PlanSpec *spec, PolicyRegistry *reg, guint i, double mult,
                ServeCostCache *cache, const char **binding, json_t **metrics, GError **error)
{
  g_return_val_if_fail (spec != NULL && reg != NULL && i < spec->n_configs && mult > 0, FALSE);
  g_return_val_if_fail (binding != NULL, FALSE);
  if (metrics)
    *metrics = NULL;
  *binding = "error";
  char **sets = point_sets (spec, i, mult);
  ServeScenario *sc = serve_scenario_load (spec->base_path, sets, error);
  g_strfreev (sets);
  if (!sc)
    return FALSE;
  /* the spec's catalog is the base scenario's, and the space cannot change
   * "catalog": every point can share it */
  ServeWorld *w = serve_world_new_cached (sc, reg, spec->catalog, cache, error);
  gboolean ok = FALSE;
  if (!w || !serve_world_run (w, error))
    goto out;

  ServeMetrics *m = serve_world_metrics (w);
  double p = spec->percentile;
  double ttft = sim_quantiles_count (m->ttft) ? sim_quantiles_get (m->ttft, p) : NAN;
  double tpot = sim_quantiles_count (m->tpot) ? sim_quantiles_get (m->tpot, p) : NAN;
  double t_first = m->first_arrival >= 0 ? SIM_TIME_TO_S (m->first_arrival) : 0;
  double dur = m->first_arrival >= 0 ? SIM_TIME_TO_S (m->last_event - m->first_arrival) : 0;
  gint64 lim;
  double ts, span;
  plan__window (spec, mult, &lim, &ts, &span);
  double backlog = end_backlog (m, t_first, span);
  double mu = dur > 0 ? m->completed / dur : 0; /* completions per second */
  double drain = backlog <= 0 ? 0 : mu > 0 ? backlog / mu : INFINITY;
  double rej = m->arrived ? (double) m->rejected / (double) m->arrived : 0;

  /* the most-violated limit, relative to its target; rejections first:
   * they are a resource limit (KV too small for a prompt), not a rate one */
  double worst = 1.0;
  *binding = NULL;
  if (rej > spec->max_rejected || m->completed == 0)
    *binding = "rejected";
  else {
    struct { const char *name; double v, lim; } c[] = {
      { "ttft", ttft, spec->slo_ttft }, { "tpot", tpot, spec->slo_tpot },
      { "queue", drain, spec->max_drain_s },
    };
    for (guint k = 0; k < G_N_ELEMENTS (c); k++) {
      if (c[k].lim <= 0 || isnan (c[k].v))
        continue;
      double r = c[k].v / c[k].lim;
      if (r > worst) {
        worst = r;
        *binding = c[k].name;
      }
    }
  }
  if (metrics) {
    json_t *o = json_object ();
    json_object_set_new (o, "x", json_real (mult));
    json_object_set_new (o, "offered_rps", json_real (spec->base_rate * mult));
    json_object_set_new (o, "ttft_p_s", num (ttft));
    json_object_set_new (o, "tpot_p_s", num (tpot));
    json_object_set_new (o, "drain_s", num (drain));
    json_object_set_new (o, "arrived", json_integer ((json_int_t) m->arrived));
    json_object_set_new (o, "completed", json_integer ((json_int_t) m->completed));
    json_object_set_new (o, "rejected", json_integer ((json_int_t) m->rejected));
    json_object_set_new (o, "preemptions", json_integer ((json_int_t) m->preemptions));
    json_object_set_new (o, "duration_s", json_real (dur));
    double n = (double) (m->completed + m->rejected);
    json_object_set_new (o, "slo_attainment", json_real (n > 0 ? m->slo_met / n : 0));
    json_object_set_new (o, "goodput_rps", json_real (dur > 0 ? m->slo_met / dur : 0));
    json_object_set_new (o, "throughput_rps", json_real (mu));
    json_object_set_new (o, "output_tok_s", json_real (dur > 0 ? m->output_tokens / dur : 0));
    *metrics = o;
  }
  ok = *binding == NULL;
out:
  serve_world_free (w);
  serve_scenario_free (sc);
  return ok;
}

/* ---- pruning -------------------------------------------------------------- */

typedef struct {
  int    gpus;
  double price;  /* per GPU-hour, NaN when unknown */
} ConfigFacts;

/* NULL when the configuration can run; otherwise "code: explanation" (g_free). */
static char *
prune_reason (const PlanSpec *spec, PolicyRegistry *reg, guint i, ConfigFacts *facts)
{
  char **sets = plan_spec_config_sets (spec, i);
  GError *e = NULL;
  char *why = NULL;
  double *vals = NULL;
  ServeScenario *sc = serve_scenario_load (spec->base_path, sets, &e);
  g_strfreev (sets);
  facts->gpus = 0;
  facts->price = NAN;
  if (!sc) {
    why = g_strdup_printf ("invalid: %s", e->message);
    goto out;
  }
  facts->gpus = serve_scenario_gpus (sc);
  if (sc->decode_unused) {
    why = g_strdup ("no-decode-pool: cluster.decode_gpu / decode_tp apply only with "
                    "cluster.prefill_replicas > 0 (the same configuration without them is the one "
                    "that runs)");
    goto out;
  }
  const int np = sc->prefill_replicas, nd = sc->replicas - sc->prefill_replicas;
  const ModelLlm *llm = model_catalog_llm (spec->catalog, sc->model, &e);
  if (!llm) {
    why = g_strdup_printf ("unknown-model: %s", e->message);
    goto out;
  }
  const ModelGpu *gpu = model_catalog_gpu (spec->catalog, sc->gpu, &e);
  if (!gpu) {
    why = g_strdup_printf ("unknown-gpu: %s", e->message);
    goto out;
  }
  facts->price = gpu->price_per_hour;
  const ModelGpu *dgpu = gpu;
  if (np > 0 && !(dgpu = model_catalog_gpu (spec->catalog, sc->decode_gpu, &e))) {
    why = g_strdup_printf ("unknown-gpu: cluster.decode_gpu: %s", e->message);
    goto out;
  }
  if (np > 0)   /* the mean price of the two pools' GPUs */
    facts->price = (np * sc->tp * gpu->price_per_hour + nd * sc->decode_tp * dgpu->price_per_hour)
                   / facts->gpus;
  const PolicySchedulerOps *ops = policy_registry_scheduler (reg, sc->scheduler, &e);
  if (!ops) {
    why = g_strdup_printf ("unknown-scheduler: %s", e->message);
    goto out;
  }
  /* resolve into a copy: the scenario is ours, but keep it untouched anyway */
  vals = g_new0 (double, policy_params_count (ops->params) + 1);
  if (!policy_params_resolve (ops->params, serve_scenario_get (sc, "scheduler"), "scheduler", vals,
                              NULL, &e)) {
    why = g_strdup_printf ("bad-parameter: %s", e->message);
    goto out;
  }
  double max_tokens = policy_param (ops->params, vals, "max_batched_tokens");
  if (isnan (max_tokens))
    max_tokens = 8192; /* as serve/world.c */
  if (!model_tp_valid (llm, sc->tp)) {
    why = g_strdup_printf ("tp-heads: TP %d does not split %s's %d query / %d KV heads (it must "
                           "divide the query heads and divide or be a multiple of the KV heads)",
                           sc->tp, llm->id, llm->num_heads, llm->num_kv_heads);
    goto out;
  }
  if (!serve_scenario_check_model (sc, llm->num_layers, &e)) {
    why = g_strdup_printf ("invalid: %s", e->message);
    goto out;
  }
  /* the model must fit each pool's GPUs (the decode pool's are the others'
   * when it has none of its own) */
  for (int pool = 0; pool < (np > 0 ? 2 : 1); pool++) {
    const ModelGpu *pg = pool ? dgpu : gpu;
    const int ptp = pool ? sc->decode_tp : sc->tp;
    if (!model_tp_valid (llm, ptp)) {
      why = g_strdup_printf ("tp-heads: cluster.decode_tp %d does not split %s's %d query / %d KV "
                             "heads", ptp, llm->id, llm->num_heads, llm->num_kv_heads);
      goto out;
    }
    ModelCost cost;
    model_cost_init (&cost, llm, pg, ptp);
    cost.pp = sc->pp;
    ModelMemoryPlan mem;
    if (!model_memory_plan (&cost, sc->block_size, sc->mem_util, (gint64) max_tokens, &mem, &e)) {
      why = g_strdup_printf ("%s: %s%s", g_error_matches (e, MODEL_ERROR, MODEL_ERROR_NO_FIT)
                                           ? "memory" : "tp-heads", pool ? "decode pool: " : "",
                             e->message);
      goto out;
    }
  }
  if (spec->max_gpus > 0 && facts->gpus > spec->max_gpus) {
    why = np > 0 ? g_strdup_printf ("gpu-budget: %d GPUs (%d prefill x TP %d + %d decode x TP %d) "
                                    "exceed max_gpus %d", facts->gpus, np, sc->tp, nd, sc->decode_tp,
                                    spec->max_gpus)
                 : sc->pp > 1
                 ? g_strdup_printf ("gpu-budget: %d GPUs (%d replicas x TP %d x PP %d) exceed max_gpus %d",
                                    facts->gpus, sc->replicas, sc->tp, sc->pp, spec->max_gpus)
                 : g_strdup_printf ("gpu-budget: %d GPUs (%d replicas x TP %d) exceed max_gpus %d",
                                    facts->gpus, sc->replicas, sc->tp, spec->max_gpus);
    goto out;
  }
  if (spec->max_cost > 0 && isnan (facts->price)) {
    why = g_strdup_printf ("cost-unknown: the catalog has no price for %s, so max_cost_per_hour "
                           "cannot be checked (add price_per_hour with --catalog)",
                           isnan (gpu->price_per_hour) ? gpu->id : dgpu->id);
    goto out;
  }
  if (spec->max_cost > 0 && facts->gpus * facts->price > spec->max_cost) {
    why = g_strdup_printf ("cost-budget: %d x %s at $%.2f/h = $%.2f/h exceeds max_cost_per_hour "
                           "$%.2f", facts->gpus, gpu->id, facts->price, facts->gpus * facts->price,
                           spec->max_cost);
    goto out;
  }
out:
  if (e)
    g_error_free (e);
  g_free (vals);
  serve_scenario_free (sc);
  return why;
}

gboolean
plan_config_check (const PlanSpec *spec, PolicyRegistry *reg, guint i, int *gpus,
                   double *cost_per_hour, char **reason)
{
  g_return_val_if_fail (spec != NULL && reg != NULL && i < spec->n_configs && reason != NULL, FALSE);
  ConfigFacts f;
  *reason = prune_reason (spec, reg, i, &f);
  if (gpus)
    *gpus = f.gpus;
  if (cost_per_hour)
    *cost_per_hour = f.gpus * f.price;
  return *reason == NULL;
}

/* ---- capacity search -------------------------------------------------------- */

typedef struct {
  double x;
  gboolean pass;
  const char *binding;
  json_t *metrics;
} Point;

typedef struct {
  const PlanSpec *spec;
  PolicyRegistry *reg;
  guint           i;
  GArray         *points; /* Point, in the order simulated */
  char           *error;  /* first run error, or NULL */
  ServeCostCache *cost;   /* the cost model, kept across this configuration's runs */
} Search;

static const Point *
probe (Search *s, double x)
{
  for (guint k = 0; k < s->points->len; k++) {
    const Point *p = &g_array_index (s->points, Point, k);
    if (p->x == x)
      return p;
  }
  Point p = { x, FALSE, NULL, NULL };
  GError *e = NULL;
  p.pass = plan_run_point (s->spec, s->reg, s->i, x, s->cost, &p.binding, &p.metrics, &e);
  if (e) {
    if (!s->error)
      s->error = g_strdup_printf ("at %gx: %s", x, e->message);
    g_error_free (e);
  }
  g_array_append_val (s->points, p);
  return &g_array_index (s->points, Point, s->points->len - 1);
}

static const Point *
find_point (const Search *s, double x)
{
  for (guint k = 0; k < s->points->len; k++)
    if (g_array_index (s->points, Point, k).x == x)
      return &g_array_index (s->points, Point, k);
  return NULL;
}

json_t *
plan_evaluate (const PlanSpec *spec, PolicyRegistry *reg, guint i, ServeCostCache *cache,
               guint *sims)
{
  g_return_val_if_fail (spec != NULL && reg != NULL && i < spec->n_configs, NULL);
  json_t *r = json_object ();
  json_object_set_new (r, "index", json_integer (i));
  json_object_set_new (r, "config", plan__config_key (spec, i));
  char *label = plan_spec_config_label (spec, i);
  json_object_set_new (r, "label", json_string (label));
  g_free (label);
  ConfigFacts f;
  char *why = prune_reason (spec, reg, i, &f);
  json_object_set_new (r, "gpus", json_integer (f.gpus));
  json_object_set_new (r, "price_per_gpu_hour", num (f.price));
  json_object_set_new (r, "cost_per_hour", num (f.gpus * f.price));
  if (sims)
    *sims = 0;
  if (why) {
    json_object_set_new (r, "status", json_string ("pruned"));
    char *colon = strchr (why, ':');
    json_object_set_new (r, "binding", json_stringn (why, colon ? (size_t) (colon - why) : strlen (why)));
    json_object_set_new (r, "reason", json_string (why));
    g_free (why);
    json_object_set_new (r, "fingerprint", json_string (spec->fingerprint));
    return r;
  }

  ServeCostCache *own = cache ? NULL : serve_cost_cache_new ();
  Search s = { spec, reg, i, g_array_new (FALSE, FALSE, sizeof (Point)), NULL, cache ? cache : own };
  double lo = 0, hi = INFINITY;
  const char *binding = NULL;
  if (!spec->targets_only) {
    double x = spec->start;
    const Point *p = probe (&s, x);
    if (p->pass)
      lo = x;
    else
      hi = x;
    /* bracket: double up while passing, halve down while failing */
    while (!s.error && isinf (hi)) {
      x *= 2;
      if (x > spec->max_x * (1 + 1e-12))
        break;
      p = probe (&s, x);
      if (p->pass)
        lo = x;
      else
        hi = x;
    }
    while (!s.error && lo == 0) {
      x /= 2;
      if (x < spec->min_x * (1 - 1e-12))
        break;
      p = probe (&s, x);
      if (p->pass)
        lo = x;
      else
        hi = x;
    }
    /* bisect geometrically */
    while (!s.error && lo > 0 && isfinite (hi) && hi / lo > 1 + spec->tol) {
      x = sqrt (lo * hi);
      p = probe (&s, x);
      if (p->pass)
        lo = x;
      else
        hi = x;
    }
  }
  /* targets: simulated unless the search already decides them (pass/fail
   * is assumed monotone in the rate; docs/plan.md) */
  json_t *targets = json_array ();
  GArray *order = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint k = 0; k < spec->targets->len; k++)
    g_array_append_val (order, g_array_index (spec->targets, double, k));
  for (guint k = 0; !s.error && k < order->len; k++) {
    /* highest first: in "targets" mode a pass settles every lower target */
    guint best = k;
    for (guint j = k + 1; j < order->len; j++)
      if (g_array_index (order, double, j) > g_array_index (order, double, best))
        best = j;
    double t = g_array_index (order, double, best);
    g_array_index (order, double, best) = g_array_index (order, double, k);
    g_array_index (order, double, k) = t;
    if (!find_point (&s, t) && !(lo > 0 && t <= lo) && !(t >= hi)) {
      /* a target inside the final bracket narrows it: the capacity is the
       * highest multiplier simulated that passed */
      const Point *p = probe (&s, t);
      if (p->pass && t > lo)
        lo = t;
      if (!p->pass && t < hi)
        hi = t;
    }
  }
  for (guint k = 0; k < spec->targets->len; k++) {
    double t = g_array_index (spec->targets, double, k);
    const Point *p = find_point (&s, t);
    json_t *o = json_object ();
    json_object_set_new (o, "x", json_real (t));
    json_object_set_new (o, "rps", json_real (t * spec->base_rate));
    gboolean meets = p ? p->pass : (lo > 0 && t <= lo);
    json_object_set_new (o, "meets", s.error ? json_null () : json_boolean (meets));
    json_object_set_new (o, "how", json_string (p ? "simulated" : "inferred"));
    json_object_set_new (o, "binding", p && !p->pass ? json_string (p->binding) : json_null ());
    /* the target traffic's output tokens, all served within SLO */
    double cph = f.gpus * f.price;
    json_object_set_new (o, "cost_per_mtok",
                         meets ? num (cph / (t * spec->base_out_tok_rate * 3600) * 1e6) : json_null ());
    json_array_append_new (targets, o);
  }
  g_array_free (order, TRUE);

  const Point *at_lo = lo > 0 ? find_point (&s, lo) : NULL;
  const Point *at_hi = isfinite (hi) ? find_point (&s, hi) : NULL;
  if (s.error)
    binding = "error";
  else if (at_hi)
    binding = at_hi->binding;
  else if (lo > 0)
    binding = "search-max";
  else
    binding = "none"; /* targets mode with no target evaluated cannot happen */
  json_object_set_new (r, "status", json_string (s.error ? "error" : "ok"));
  json_object_set_new (r, "binding", json_string (binding));
  json_object_set_new (r, "reason", s.error ? json_string (s.error) : json_null ());
  json_object_set_new (r, "capacity_x", json_real (lo));
  json_object_set_new (r, "capacity_rps", json_real (lo * spec->base_rate));
  json_object_set_new (r, "bracket_hi_x", num (hi));
  json_object_set_new (r, "tolerance", json_real (spec->tol));
  json_object_set_new (r, "sims", json_integer (s.points->len));
  double cph = f.gpus * f.price;
  double otok = at_lo ? json_number_value (json_object_get (at_lo->metrics, "output_tok_s")) : 0;
  json_object_set_new (r, "cost_per_mtok", otok > 0 ? num (cph / (otok * 3600) * 1e6) : json_null ());
  json_object_set_new (r, "at_capacity", at_lo && at_lo->metrics ? json_incref (at_lo->metrics)
                                                                  : json_null ());
  json_object_set_new (r, "targets", targets);
  json_object_set_new (r, "fingerprint", json_string (spec->fingerprint));
  if (sims)
    *sims = s.points->len;
  for (guint k = 0; k < s.points->len; k++)
    json_decref (g_array_index (s.points, Point, k).metrics);
  g_array_free (s.points, TRUE);
  serve_cost_cache_free (own);
  g_free (s.error);
  return r;
}
