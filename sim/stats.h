/* sim/stats.h — statistics for simulation outputs.
 *
 * SimQuantiles keeps every sample (exact percentiles) up to a capacity, then
 * folds them into a bounded-memory relative-error sketch (DDSketch-style log
 * buckets) so memory stays flat however many samples arrive. SimTimeAvg is a
 * time-weighted mean of a piecewise-constant signal (queue length, KV use).
 */
#ifndef SIM_STATS_H
#define SIM_STATS_H

#include <glib.h>
#include "sim/engine.h"

typedef struct SimQuantiles SimQuantiles;

#define SIM_QUANTILES_DEFAULT_EXACT 65536
/* Relative accuracy of the sketch once it takes over (quantile values are
 * within this fraction of the true order statistic). */
#define SIM_QUANTILES_SKETCH_ALPHA 0.005

/* exact_cap: samples kept exactly before switching to the sketch (0 = default). */
SimQuantiles *sim_quantiles_new (gsize exact_cap);
void          sim_quantiles_free (SimQuantiles *q);
/* Adds a sample; NaN is ignored (programmer error, warns). Values may be < 0. */
void          sim_quantiles_add (SimQuantiles *q, double x);
gsize         sim_quantiles_count (const SimQuantiles *q);
gboolean      sim_quantiles_is_exact (const SimQuantiles *q);
double        sim_quantiles_mean (const SimQuantiles *q);   /* NaN when empty */
double        sim_quantiles_min (const SimQuantiles *q);    /* NaN when empty */
double        sim_quantiles_max (const SimQuantiles *q);    /* NaN when empty */
/* p in [0,1]. Exact mode: linear interpolation between order statistics
 * (numpy's default). Sketch mode: within SKETCH_ALPHA relative error.
 * NaN when empty. Not const: exact mode sorts lazily. */
double        sim_quantiles_get (SimQuantiles *q, double p);

/* Time-weighted mean of a piecewise-constant value. Caller-allocated. */
typedef struct {
  SimTime start;
  SimTime last_t;
  double  last_v;
  double  area;    /* integral of value dt, in value x ns */
  double  max;
} SimTimeAvg;

void   sim_time_avg_init (SimTimeAvg *a, SimTime start, double initial);
/* The value changes to v at time t (t >= last change). */
void   sim_time_avg_set (SimTimeAvg *a, SimTime t, double v);
/* Mean over [start, t]; the current value when t == start. */
double sim_time_avg_mean (const SimTimeAvg *a, SimTime t);

#endif
