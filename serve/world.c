/* serve/world.c — building a world from a scenario and running it.
 *
 * Events: "arrival" (the next request(s) of the trace arrive; the next one is
 * read only then, so a trace is streamed), "iteration-end" (a replica's batch
 * finished: apply progress, emit tokens, retire finished requests, schedule
 * again) and "sample" (timeline row). Replicas are driven by their scheduler
 * policy; this file owns request progress and KV-block accounting, not the
 * decisions (policies/) or the time an iteration takes (models/cost.c).
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "sim/util.h"
#include "serve/metrics.h"
#include "serve/output.h"
#include "serve/world.h"

struct ServeWorld {
  const ServeScenario   *sc;
  SimEngine             *engine;
  ModelCatalog          *catalog;
  const ModelLlm        *llm;
  const ModelGpu        *gpu;
  TraceSource           *source;
  char                  *trace_path;     /* resolved, or NULL for synthetic */
  TraceRequest           next;           /* the request whose arrival is scheduled */
  gboolean               have_next;
  guint64                expected;       /* requests the workload will produce, 0 = unknown */

  const PolicyRouterOps *router;
  void                  *router_state;
  double                *router_params;
  double                *sched_params;
  GPtrArray             *replicas;       /* ServeReplica* */

  SimEventType           ev_arrival, ev_iter_end, ev_sample;
  ServeMetrics          *metrics;
  ServeOutput           *out;
  GError                *error;          /* set by a handler; stops the run */
  guint64                in_flight;      /* arrived, not finished/rejected */
  gboolean               sampling;

  ServeProgressFn        progress;
  gpointer               progress_user;
};

/* ---- KV accounting (called through policies/policy.h) ----------------- */

gboolean
serve__kv_reserve (struct ServeReplica *rep, struct ServeRequest *r, gint64 tokens)
{
  gint64 need = (tokens + rep->mem.block_size - 1) / rep->mem.block_size;
  gint64 extra = need - r->blocks;
  if (extra <= 0)
    return TRUE;
  if (extra > rep->free_blocks)
    return FALSE;
  rep->free_blocks -= extra;
  r->blocks = need;
  return TRUE;
}

static void
kv_release (struct ServeReplica *rep, struct ServeRequest *r)
{
  rep->free_blocks += r->blocks;
  r->blocks = 0;
}

void
serve__preempt (struct ServeReplica *rep, struct ServeRequest *r)
{
  kv_release (rep, r);
  r->computed = 0;
  r->preemptions++;
}

static void
retire (struct ServeReplica *rep, struct ServeRequest *r)
{
  kv_release (rep, r);
  rep->load--;
  rep->world->in_flight--;
  g_queue_unlink (&rep->live, &r->live_link);
  g_ptr_array_add (rep->retire, r);
}

void
serve__reject (struct ServeReplica *rep, struct ServeRequest *r, const char *why)
{
  if (r->rejected || r->finished)
    return;
  r->rejected = TRUE;
  r->completion = sim_engine_now (rep->world->engine);
  rep->world->metrics->rejected++;
  if (r->completion > rep->world->metrics->last_event)
    rep->world->metrics->last_event = r->completion;
  serve_output_request (rep->world->out, r, why);
  retire (rep, r);
}

gboolean
serve_world_kv_conserved (const ServeWorld *w)
{
  /* free + blocks held by the live requests == total, on every replica */
  for (guint i = 0; i < w->replicas->len; i++) {
    struct ServeReplica *rep = g_ptr_array_index (w->replicas, i);
    gint64 held = 0;
    for (GList *l = rep->live.head; l; l = l->next)
      held += ((struct ServeRequest *) l->data)->blocks;
    if (rep->free_blocks < 0 || rep->free_blocks + held != rep->mem.num_blocks)
      return FALSE;
  }
  return TRUE;
}

/* ---- replicas ---------------------------------------------------------- */

static void
kv_sample (struct ServeReplica *rep)
{
  double used = rep->mem.num_blocks
                  ? 1.0 - (double) rep->free_blocks / (double) rep->mem.num_blocks : 0.0;
  sim_time_avg_set (&rep->kv_used, sim_engine_now (rep->world->engine), used);
}

/* Free retired requests: called only where no policy still points at them. */
static void
flush_retired (struct ServeReplica *rep)
{
  for (guint i = 0; i < rep->retire->len; i++)
    g_free (g_ptr_array_index (rep->retire, i));
  g_ptr_array_set_size (rep->retire, 0);
}

/* Ask the scheduler for a batch and start the iteration, or go idle. */
static void
replica_step (struct ServeReplica *rep)
{
  ServeWorld *w = rep->world;
  struct ServeBatch *b = &rep->batch;
  g_array_set_size (b->entries, 0);
  g_array_set_size (b->work, 0);
  b->tokens = 0;
  rep->ops->schedule (rep->state, rep, b);
  flush_retired (rep); /* requests it rejected */
  kv_sample (rep);
  if (b->entries->len == 0) {
    rep->busy = FALSE;
    return;
  }
  SimTime now = sim_engine_now (w->engine);
  for (guint i = 0; i < b->entries->len; i++) {
    ServeBatchEntry *e = &g_array_index (b->entries, ServeBatchEntry, i);
    if (e->req->first_scheduled < 0)
      e->req->first_scheduled = now;
  }
  ModelIterCost cost;
  model_cost_iteration (&rep->cost, (const ModelSeqWork *) b->work->data, b->work->len, &cost);
  SimTime dt = MAX (1, model_iter_ns (&cost));
  rep->busy = TRUE;
  rep->busy_ns += dt;
  rep->iterations++;
  serve_metrics_iteration (w->metrics, b->entries->len, b->tokens);
  sim_engine_schedule_in (w->engine, dt, w->ev_iter_end, rep, NULL);
}

static void
on_iteration_end (SimEngine *engine, gpointer user, gpointer target, gpointer data)
{
  ServeWorld *w = user;
  struct ServeReplica *rep = target;
  struct ServeBatch *b = &rep->batch;
  SimTime now = sim_engine_now (engine);
  for (guint i = 0; i < b->entries->len; i++) {
    ServeBatchEntry *e = &g_array_index (b->entries, ServeBatchEntry, i);
    struct ServeRequest *r = e->req;
    r->in_batch = FALSE;
    if (r->rejected)
      continue;
    r->computed += e->q;
    if (r->computed < r->prompt + r->generated)
      continue; /* a prefill chunk that emits no token yet */
    r->generated++;
    if (r->generated == 1)
      r->first_token = now;
    else
      serve_metrics_token_gap (w->metrics, now - r->last_token);
    r->last_token = now;
    if (r->generated == r->output) {
      r->finished = TRUE;
      r->completion = now;
      serve_metrics_request_done (w->metrics, r);
      serve_output_request (w->out, r, NULL);
      retire (rep, r);
    }
  }
  if (rep->ops->after_iteration)
    rep->ops->after_iteration (rep->state, rep, b);
  flush_retired (rep);
  replica_step (rep);
}

/* ---- arrivals ------------------------------------------------------------ */

static gboolean
read_next (ServeWorld *w)
{
  GError *e = NULL;
  w->have_next = trace_source_next (w->source, &w->next, &e);
  if (e) {
    g_propagate_error (&w->error, e);
    sim_engine_stop (w->engine);
    return FALSE;
  }
  return w->have_next;
}

static void
on_arrival (SimEngine *engine, gpointer user, gpointer target, gpointer data)
{
  ServeWorld *w = user;
  SimTime now = sim_engine_now (engine);
  /* Take every request arriving at this instant before any replica
   * schedules, so simultaneous arrivals can share a batch. */
  while (w->have_next && w->next.arrival == now) {
    struct ServeRequest *r = g_new0 (struct ServeRequest, 1);
    r->id = w->next.id;
    r->arrival = now;
    r->prompt = w->next.prompt_tokens;
    r->output = w->next.output_tokens;
    r->first_scheduled = r->first_token = r->last_token = -1;
    if (w->metrics->first_arrival < 0)
      w->metrics->first_arrival = now;
    w->metrics->arrived++;
    w->in_flight++;
    guint k = w->router->route (w->router_state, (PolicyReplica *const *) w->replicas->pdata,
                                w->replicas->len, r);
    g_assert (k < w->replicas->len);
    struct ServeReplica *rep = g_ptr_array_index (w->replicas, k);
    r->replica = k;
    r->live_link.data = r;
    g_queue_push_tail_link (&rep->live, &r->live_link);
    rep->load++;
    if (rep->ops->on_arrival)
      rep->ops->on_arrival (rep->state, rep, r);
    if (!read_next (w))
      break;
  }
  if (w->error)
    return;
  if (w->have_next)
    sim_engine_schedule (engine, w->next.arrival, w->ev_arrival, NULL, NULL);
  for (guint i = 0; i < w->replicas->len; i++) {
    struct ServeReplica *rep = g_ptr_array_index (w->replicas, i);
    if (!rep->busy)
      replica_step (rep);
  }
}

/* ---- timeline ------------------------------------------------------------ */

static void
on_sample (SimEngine *engine, gpointer user, gpointer target, gpointer data)
{
  ServeWorld *w = user;
  ServeTimelineRow row = { SIM_TIME_TO_S (sim_engine_now (engine)), 0, 0, 0 };
  double blocks = 0, free_blocks = 0;
  for (guint i = 0; i < w->replicas->len; i++) {
    struct ServeReplica *rep = g_ptr_array_index (w->replicas, i);
    row.queued += rep->ops->queued ? rep->ops->queued (rep->state) : 0;
    row.running += rep->busy ? rep->batch.entries->len : 0;
    blocks += (double) rep->mem.num_blocks;
    free_blocks += (double) rep->free_blocks;
  }
  row.kv_used = blocks > 0 ? 1.0 - free_blocks / blocks : 0;
  serve_metrics_sample (w->metrics, &row);
  gboolean any_busy = FALSE;
  for (guint i = 0; i < w->replicas->len; i++)
    any_busy |= ((struct ServeReplica *) g_ptr_array_index (w->replicas, i))->busy;
  /* Nothing running and nothing left to arrive: requests still in flight
   * can never progress (a scheduler left them waiting). Stop; the run
   * reports them. */
  if (!any_busy && !w->have_next)
    return;
  if (w->have_next || w->in_flight > 0)
    sim_engine_schedule_in (engine, SIM_TIME_FROM_S (w->metrics->timeline_interval), w->ev_sample,
                            NULL, NULL);
}

/* ---- construction ----------------------------------------------------------- */

static char *
resolve_trace_path (const char *path, GError **error)
{
  if (g_path_is_absolute (path) || g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strdup (path);
  /* a bundled trace, named relative to the data directory */
  GError *e = NULL;
  char *p = sim_data_find (path, &e);
  if (p)
    return p;
  g_error_free (e);
  g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
               "workload.trace: file '%s' not found (relative paths are tried from the current "
               "directory, then among the bundled traces)", path);
  return NULL;
}

static TraceSource *
open_workload (ServeWorld *w, GError **error)
{
  const ServeScenario *sc = w->sc;
  TraceOptions opts;
  trace_options_init (&opts);
  opts.limit = sc->limit;
  opts.time_scale = sc->time_scale;
  opts.start_s = sc->start_s;
  opts.end_s = sc->end_s;
  if (sc->trace) {
    TraceFormat fmt;
    if (!trace_format_from_string (sc->format, &fmt)) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "workload.format: unknown '%s'",
                   sc->format);
      return NULL;
    }
    w->trace_path = resolve_trace_path (sc->trace, error);
    if (!w->trace_path)
      return NULL;
    return trace_source_open (w->trace_path, fmt, &opts, error);
  }
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  json_t *gen = serve_scenario_get (sc, "workload.generator");
#define GNUM(k) json_number_value (json_object_get (gen, k))
  const char *arr = json_string_value (json_object_get (gen, "arrival"));
  const char *len = json_string_value (json_object_get (gen, "lengths"));
  g.arrival = strcmp (arr, "gamma") == 0 ? TRACE_ARRIVAL_GAMMA : TRACE_ARRIVAL_POISSON;
  g.rate = GNUM ("rate");
  g.cv = GNUM ("cv");
  g.num_requests = (gint64) GNUM ("num_requests");
  g.lengths = strcmp (len, "uniform") == 0 ? TRACE_LENGTH_UNIFORM
            : strcmp (len, "file") == 0   ? TRACE_LENGTH_FILE : TRACE_LENGTH_FIXED;
  g.prompt_tokens = (gint64) GNUM ("prompt_tokens");
  g.output_tokens = (gint64) GNUM ("output_tokens");
  g.prompt_min = (gint64) GNUM ("prompt_min");
  g.prompt_max = (gint64) GNUM ("prompt_max");
  g.output_min = (gint64) GNUM ("output_min");
  g.output_max = (gint64) GNUM ("output_max");
#undef GNUM
  char *lf = NULL;
  json_t *lfj = json_object_get (gen, "length_file");
  if (g.lengths == TRACE_LENGTH_FILE) {
    if (!json_is_string (lfj)) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                   "workload.generator.length_file: required when lengths is \"file\"");
      return NULL;
    }
    lf = resolve_trace_path (json_string_value (lfj), error);
    if (!lf)
      return NULL;
    g.length_file = lf;
  }
  w->expected = sc->limit > 0 ? MIN ((guint64) sc->limit, (guint64) g.num_requests)
                              : (guint64) g.num_requests;
  TraceSource *src = trace_source_new_synthetic (&g, sc->seed, &opts, error);
  g_free (lf);
  return src;
}

static void
replica_free (gpointer p)
{
  struct ServeReplica *rep = p;
  if (rep->ops && rep->ops->clear && rep->state)
    rep->ops->clear (rep->state);
  g_free (rep->state);
  g_array_free (rep->batch.entries, TRUE);
  g_array_free (rep->batch.work, TRUE);
  flush_retired (rep);
  g_ptr_array_free (rep->retire, TRUE);
  /* requests still live after a failed run */
  GList *l;
  while ((l = g_queue_pop_head_link (&rep->live)))
    g_free (l->data);
  g_free (rep);
}

ServeWorld *
serve_world_new (const ServeScenario *sc, PolicyRegistry *reg, GError **error)
{
  ServeWorld *w = g_new0 (ServeWorld, 1);
  w->sc = sc;
  w->engine = sim_engine_new ();
  w->catalog = model_catalog_new ();
  w->replicas = g_ptr_array_new_with_free_func (replica_free);
  w->metrics = serve_metrics_new (sc->slo_ttft, sc->slo_tpot, sc->timeline_interval);

  if (!model_catalog_load_default (w->catalog, error))
    goto fail;
  if (sc->catalog && !model_catalog_load_file (w->catalog, sc->catalog, error))
    goto fail;
  GError *e = NULL;
  if (!(w->llm = model_catalog_llm (w->catalog, sc->model, &e))) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "model: %s", e ? e->message : "missing");
    g_clear_error (&e);
    goto fail;
  }
  if (!(w->gpu = model_catalog_gpu (w->catalog, sc->gpu, &e))) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "cluster.gpu: %s", e ? e->message : "missing");
    g_clear_error (&e);
    goto fail;
  }

  const PolicySchedulerOps *sops = policy_registry_scheduler (reg, sc->scheduler, &e);
  if (!sops) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "scheduler.name: %s", e->message);
    g_error_free (e);
    goto fail;
  }
  w->router = policy_registry_router (reg, sc->router, &e);
  if (!w->router) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "router.name: %s", e->message);
    g_error_free (e);
    goto fail;
  }
  /* Policy parameters: checked against each policy's table, written back
   * into the resolved scenario so outputs record every value used. */
  w->sched_params = g_new0 (double, policy_params_count (sops->params) + 1);
  w->router_params = g_new0 (double, policy_params_count (w->router->params) + 1);
  if (!policy_params_resolve (sops->params, serve_scenario_get (sc, "scheduler"), "scheduler",
                              w->sched_params, serve_scenario_get (sc, "scheduler"), error)
      || !policy_params_resolve (w->router->params, serve_scenario_get (sc, "router"), "router",
                                 w->router_params, serve_scenario_get (sc, "router"), error))
    goto fail;

  /* Memory: does the model fit, and how many KV blocks? Every replica is
   * identical, so plan once. */
  ModelCost cost;
  model_cost_init (&cost, w->llm, w->gpu, sc->tp);
  ModelMemoryPlan mem;
  double max_tokens = policy_param (sops->params, w->sched_params, "max_batched_tokens");
  if (isnan (max_tokens))
    max_tokens = 8192;
  if (!model_memory_plan (&cost, sc->block_size, sc->mem_util, (gint64) max_tokens, &mem, &e)) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "cluster: %s", e->message);
    g_error_free (e);
    goto fail;
  }

  for (int i = 0; i < sc->replicas; i++) {
    struct ServeReplica *rep = g_new0 (struct ServeReplica, 1);
    rep->index = i;
    rep->world = w;
    rep->cost = cost;
    rep->mem = mem;
    rep->free_blocks = mem.num_blocks;
    rep->ops = sops;
    rep->batch.owner = rep;
    rep->batch.entries = g_array_new (FALSE, FALSE, sizeof (ServeBatchEntry));
    rep->batch.work = g_array_new (FALSE, FALSE, sizeof (ModelSeqWork));
    rep->retire = g_ptr_array_new ();
    g_queue_init (&rep->live);
    sim_time_avg_init (&rep->kv_used, 0, 0.0);
    g_ptr_array_add (w->replicas, rep);
    rep->state = g_malloc0 (MAX (sops->state_size, 1));
    if (sops->init && !sops->init (rep->state, rep, w->sched_params, error))
      goto fail;
  }
  w->router_state = g_malloc0 (MAX (w->router->state_size, 1));
  if (w->router->init && !w->router->init (w->router_state, w->replicas->len, w->router_params, error))
    goto fail;

  if (!(w->source = open_workload (w, error)))
    goto fail;
  if (w->trace_path && sc->limit > 0)
    w->expected = sc->limit;

  w->ev_arrival = sim_engine_register (w->engine, "arrival", on_arrival, w);
  w->ev_iter_end = sim_engine_register (w->engine, "iteration-end", on_iteration_end, w);
  w->ev_sample = sim_engine_register (w->engine, "sample", on_sample, w);
  return w;

fail:
  serve_world_free (w);
  return NULL;
}

void
serve_world_free (ServeWorld *w)
{
  if (!w)
    return;
  serve_output_free (w->out);
  if (w->router && w->router->clear && w->router_state)
    w->router->clear (w->router_state);
  g_free (w->router_state);
  g_ptr_array_free (w->replicas, TRUE);
  g_free (w->sched_params);
  g_free (w->router_params);
  trace_source_free (w->source);
  g_free (w->trace_path);
  serve_metrics_free (w->metrics);
  model_catalog_free (w->catalog);
  sim_engine_free (w->engine);
  g_clear_error (&w->error);
  g_free (w);
}

void
serve_world_set_progress (ServeWorld *w, ServeProgressFn fn, gpointer user)
{
  w->progress = fn;
  w->progress_user = user;
}

gboolean
serve_world_run (ServeWorld *w, GError **error)
{
  g_return_val_if_fail (w->out == NULL, FALSE);
  w->out = serve_output_new (w->sc, error);
  if (!w->out)
    return FALSE;
  if (read_next (w)) {
    sim_engine_schedule (w->engine, w->next.arrival, w->ev_arrival, NULL, NULL);
    sim_engine_schedule (w->engine, w->next.arrival, w->ev_sample, NULL, NULL);
  }
  gint64 last = g_get_monotonic_time ();
  guint64 n = 0;
  while (!w->error && sim_engine_step (w->engine)) {
    if (w->progress && (++n & 1023) == 0) {
      gint64 t = g_get_monotonic_time ();
      if (t - last >= 200000) {
        last = t;
        w->progress (w, w->progress_user);
      }
    }
  }
  if (!w->error && w->in_flight > 0)
    g_set_error (&w->error, SERVE_ERROR, SERVE_ERROR_RUN,
                 "%" G_GUINT64_FORMAT " request(s) never completed: scheduler '%s' left them "
                 "waiting with nothing running", w->in_flight, w->sc->scheduler);
  if (w->error) {
    g_propagate_error (error, w->error);
    w->error = NULL;
    serve_output_abort (w->out);
    return FALSE;
  }
  return TRUE;
}

gboolean
serve_world_write_outputs (ServeWorld *w, GError **error)
{
  return serve_output_commit (w->out, w, error);
}

guint64 serve_world_arrived (const ServeWorld *w) { return w->metrics->arrived; }
guint64 serve_world_completed (const ServeWorld *w) { return w->metrics->completed + w->metrics->rejected; }
guint64 serve_world_expected (const ServeWorld *w) { return w->expected; }
SimTime serve_world_now (const ServeWorld *w) { return sim_engine_now (w->engine); }
const ServeScenario *serve_world_scenario (const ServeWorld *w) { return w->sc; }
guint serve_world_n_replicas (const ServeWorld *w) { return w->replicas->len; }
ServeMetrics *serve_world_metrics (const ServeWorld *w) { return w->metrics; }
struct ServeOutput *serve_world_output (const ServeWorld *w) { return w->out; }

struct ServeReplica *
serve_world_replica (const ServeWorld *w, guint i)
{
  g_return_val_if_fail (i < w->replicas->len, NULL);
  return g_ptr_array_index (w->replicas, i);
}

const ModelLlm *serve__world_llm (const ServeWorld *w) { return w->llm; }
const ModelGpu *serve__world_gpu (const ServeWorld *w) { return w->gpu; }
const char *serve__world_workload (const ServeWorld *w) { return w->source ? trace_source_describe (w->source) : ""; }
const char *serve__world_trace_path (const ServeWorld *w) { return w->trace_path; }
guint64 serve__world_events (const ServeWorld *w) { return sim_engine_events_fired (w->engine); }
