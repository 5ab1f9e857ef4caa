/* serve/metrics.c — accumulating a run's measurements (see metrics.h). */
#include "config.h"

#include <math.h>

#include "serve/metrics.h"

ServeMetrics *
serve_metrics_new (double slo_ttft_s, double slo_tpot_s, double timeline_interval)
{
  ServeMetrics *m = g_new0 (ServeMetrics, 1);
  SimQuantiles **all[] = { &m->ttft, &m->tpot, &m->itl, &m->e2e, &m->queue, &m->batch_size,
                           &m->batch_tokens, &m->ttft_high, &m->ttft_normal, &m->e2e_high,
                           &m->e2e_normal };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    *all[i] = sim_quantiles_new (0);
  m->first_arrival = -1;
  m->slo_ttft_s = slo_ttft_s;
  m->slo_tpot_s = slo_tpot_s;
  m->timeline = g_array_new (FALSE, FALSE, sizeof (ServeTimelineRow));
  m->timeline_interval = timeline_interval;
  return m;
}

void
serve_metrics_free (ServeMetrics *m)
{
  if (!m)
    return;
  SimQuantiles *all[] = { m->ttft, m->tpot, m->itl, m->e2e, m->queue, m->batch_size,
                          m->batch_tokens, m->ttft_high, m->ttft_normal, m->e2e_high,
                          m->e2e_normal };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    sim_quantiles_free (all[i]);
  g_array_free (m->timeline, TRUE);
  g_free (m);
}

void
serve_metrics_request_done (ServeMetrics *m, const struct ServeRequest *r)
{
  double ttft = SIM_TIME_TO_S (r->first_token - r->arrival);
  double e2e = SIM_TIME_TO_S (r->completion - r->arrival);
  double tpot = r->output > 1 ? SIM_TIME_TO_S (r->completion - r->first_token) / (double) (r->output - 1)
                              : NAN;
  m->completed++;
  m->input_tokens += r->prompt;
  m->output_tokens += r->output;
  m->preemptions += r->preemptions;
  sim_quantiles_add (m->ttft, ttft);
  if (!isnan (tpot))
    sim_quantiles_add (m->tpot, tpot);
  sim_quantiles_add (m->e2e, e2e);
  sim_quantiles_add (r->priority > 0 ? m->ttft_high : m->ttft_normal, ttft);
  sim_quantiles_add (r->priority > 0 ? m->e2e_high : m->e2e_normal, e2e);
  sim_quantiles_add (m->queue, SIM_TIME_TO_S (r->first_scheduled - r->arrival));
  gboolean ttft_ok = m->slo_ttft_s <= 0 || ttft <= m->slo_ttft_s;
  gboolean tpot_ok = m->slo_tpot_s <= 0 || isnan (tpot) || tpot <= m->slo_tpot_s;
  m->slo_ttft_met += ttft_ok;
  m->slo_tpot_met += tpot_ok;
  m->slo_met += ttft_ok && tpot_ok;
  if (r->completion > m->last_event)
    m->last_event = r->completion;
}

void
serve_metrics_token_gap (ServeMetrics *m, SimTime gap)
{
  sim_quantiles_add (m->itl, SIM_TIME_TO_S (gap));
}

void
serve_metrics_iteration (ServeMetrics *m, guint batch_size, gint64 tokens)
{
  sim_quantiles_add (m->batch_size, batch_size);
  sim_quantiles_add (m->batch_tokens, (double) tokens);
}

void
serve_metrics_sample (ServeMetrics *m, const ServeTimelineRow *row)
{
  g_array_append_val (m->timeline, *row);
  if (m->timeline->len < SERVE_TIMELINE_MAX_ROWS)
    return;
  /* Fold: keep every other row, so resolution halves and memory stays bounded
   * however long the simulated run. */
  guint n = m->timeline->len / 2;
  for (guint i = 0; i < n; i++)
    g_array_index (m->timeline, ServeTimelineRow, i) =
      g_array_index (m->timeline, ServeTimelineRow, 2 * i);
  g_array_set_size (m->timeline, n);
  m->timeline_interval *= 2;
}

static json_t *
num_or_null (double x)
{
  return isfinite (x) ? json_real (x) : json_null ();
}

json_t *
serve_metrics_dist_json (SimQuantiles *q)
{
  json_t *o = json_object ();
  json_object_set_new (o, "count", json_integer ((json_int_t) sim_quantiles_count (q)));
  json_object_set_new (o, "mean", num_or_null (sim_quantiles_mean (q)));
  static const struct { const char *k; double p; } ps[] = {
    { "p50", 0.50 }, { "p90", 0.90 }, { "p95", 0.95 }, { "p99", 0.99 } };
  for (guint i = 0; i < G_N_ELEMENTS (ps); i++)
    json_object_set_new (o, ps[i].k, num_or_null (sim_quantiles_get (q, ps[i].p)));
  json_object_set_new (o, "max", num_or_null (sim_quantiles_max (q)));
  json_object_set_new (o, "exact", json_boolean (sim_quantiles_is_exact (q)));
  return o;
}
