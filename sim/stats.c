/* sim/stats.c — quantiles and time-weighted means of simulation outputs.
 *
 * SimQuantiles keeps samples exactly (a GArray of double, sorted lazily) up to
 * its exact capacity; the sample after that folds them all into a DDSketch-style
 * sketch: logarithmic buckets of relative width SIM_QUANTILES_SKETCH_ALPHA, one
 * store for positive values, one for the magnitudes of negative values, and a
 * count of zeros. Each store spans at most SKETCH_MAX_BUCKETS consecutive
 * buckets; past that, the buckets of the smallest values are merged (the lowest
 * positive ones, the most negative ones), so accuracy is lost only at the low
 * end and memory stays bounded. Count, mean, min and max are exact in both
 * modes. SimTimeAvg integrates a piecewise-constant signal.
 *
 * Does not own where samples come from, nor how they are reported.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/stats.h"

/* Most buckets one store (one sign) may span; its array holds at most twice
 * that, the slack that keeps sliding the window amortised O(1). */
#define SKETCH_MAX_BUCKETS 4096
#define SKETCH_INITIAL_BUCKETS 128

typedef struct {
  guint64 *counts;    /* counts[i] counts key offset + i */
  gint64 offset;
  gint64 cap;         /* allocated length, <= 2 * SKETCH_MAX_BUCKETS */
  gint64 lo, hi;      /* every non-zero count lies in [lo, hi]; valid when total > 0 */
  guint64 total;
  gboolean collapse_high; /* merge the highest keys (not the lowest) when too wide */
} SketchStore;

struct SimQuantiles {
  gsize exact_cap;
  GArray *samples;    /* double; NULL once the sketch has taken over */
  gboolean sorted;
  gsize count;
  double sum, sum_comp; /* Neumaier-compensated sum */
  double min, max;
  /* the sketch */
  double gamma, inv_log_gamma;
  SketchStore pos, neg;
  guint64 zeros;
  /* Memo of the last positive key: simulations add runs of equal values
   * (every request in a batch sees the same inter-token gap), and the log
   * in sketch_key is the costliest part of an add. */
  double  memo_x;
  gint64  memo_key;
};

/* ----------------------------------------------------------- sketch store - */

/* Reallocates so that [lo, hi] fits with slack on the side `dir` says the
 * range grows towards (+1 up, -1 down, 0 both), merging counts outside it. */
static void
store_relayout (SketchStore *s, gint64 lo, gint64 hi, int dir)
{
  gint64 span = hi - lo + 1;
  gint64 cap = s->cap ? s->cap : SKETCH_INITIAL_BUCKETS;
  while (cap < 2 * span && cap < 2 * SKETCH_MAX_BUCKETS)
    cap *= 2;
  gint64 offset = dir > 0 ? lo : dir < 0 ? hi - cap + 1 : lo - (cap - span) / 2;
  guint64 *counts = g_new0 (guint64, cap);
  if (s->total) {
    for (gint64 k = s->lo; k <= s->hi; k++) {
      guint64 c = s->counts[k - s->offset];
      if (c)
        counts[CLAMP (k, lo, hi) - offset] += c;
    }
  }
  g_free (s->counts);
  s->counts = counts;
  s->offset = offset;
  s->cap = cap;
}

/* Merges the counts outside [lo, hi] into its end buckets, in place. */
static void
store_fold (SketchStore *s, gint64 lo, gint64 hi)
{
  for (gint64 k = s->lo; k < lo; k++) {
    s->counts[lo - s->offset] += s->counts[k - s->offset];
    s->counts[k - s->offset] = 0;
  }
  for (gint64 k = hi + 1; k <= s->hi; k++) {
    s->counts[hi - s->offset] += s->counts[k - s->offset];
    s->counts[k - s->offset] = 0;
  }
}

/* a key outside the range held: widen (or clamp) it first */
G_GNUC_NO_INLINE static void
store_add_grow (SketchStore *s, gint64 k, guint64 n)
{
  gint64 lo = s->total ? MIN (s->lo, k) : k;
  gint64 hi = s->total ? MAX (s->hi, k) : k;
  if (hi - lo + 1 > SKETCH_MAX_BUCKETS) {
    if (s->collapse_high)
      hi = lo + SKETCH_MAX_BUCKETS - 1;
    else
      lo = hi - SKETCH_MAX_BUCKETS + 1;
    k = CLAMP (k, lo, hi);
  }
  if (!s->counts || lo < s->offset || hi >= s->offset + s->cap)
    store_relayout (s, lo, hi, !s->total ? 0 : k > s->hi ? 1 : -1);
  else if (s->total && (lo > s->lo || hi < s->hi))
    store_fold (s, lo, hi);
  s->counts[k - s->offset] += n;
  s->total += n;
  s->lo = lo;
  s->hi = hi;
}

/* Count n at key k. The common case, a key inside the range already held
 * (the general path does the same after finding nothing to move), inline:
 * it was 7% of a replay's instructions out of line. */
static inline void
store_add (SketchStore *s, gint64 k, guint64 n)
{
  if (G_LIKELY (s->total && k >= s->lo && k <= s->hi)) {
    s->counts[k - s->offset] += n;
    s->total += n;
  } else
    store_add_grow (s, k, n);
}

static void
store_clear (SketchStore *s)
{
  g_free (s->counts);
  memset (s, 0, sizeof *s);
}

/* ----------------------------------------------------------------- sketch - */

static gint64
sketch_key (const SimQuantiles *q, double magnitude)
{
  /* bucket k holds (gamma^(k-1), gamma^k] */
  return (gint64) ceil (log (magnitude) * q->inv_log_gamma);
}

/* The value that represents bucket k: within alpha of all it holds. */
static double
sketch_value (const SimQuantiles *q, gint64 k)
{
  return 2.0 * exp ((double) k / q->inv_log_gamma) / (q->gamma + 1.0);
}

static void
sketch_add (SimQuantiles *q, double x)
{
  if (x > 0) {
    if (x != q->memo_x) {
      q->memo_x = x;
      q->memo_key = sketch_key (q, x);
    }
    store_add (&q->pos, q->memo_key, 1);
  }
  else if (x < 0)
    store_add (&q->neg, sketch_key (q, -x), 1);
  else
    q->zeros++;
}

/* Approximate value of the order statistic of 0-based rank r (< count). */
static double
sketch_at_rank (const SimQuantiles *q, guint64 r)
{
  guint64 seen = 0;
  const SketchStore *s = &q->neg;
  if (s->total) {
    if (r < s->total) {
      /* the most negative values first: highest magnitude keys */
      for (gint64 k = s->hi; k >= s->lo; k--) {
        seen += s->counts[k - s->offset];
        if (seen > r)
          return -sketch_value (q, k);
      }
    }
    seen = s->total;
  }
  if (r < seen + q->zeros)
    return 0.0;
  seen += q->zeros;
  s = &q->pos;
  for (gint64 k = s->lo; s->total && k <= s->hi; k++) {
    seen += s->counts[k - s->offset];
    if (seen > r)
      return sketch_value (q, k);
  }
  return q->max; /* not reached while the counts add up */
}

static void
quantiles_to_sketch (SimQuantiles *q)
{
  for (guint i = 0; i < q->samples->len; i++)
    sketch_add (q, g_array_index (q->samples, double, i));
  g_array_free (q->samples, TRUE);
  q->samples = NULL;
}

/* ----------------------------------------------------------------- public - */

SimQuantiles *
sim_quantiles_new (gsize exact_cap)
{
  SimQuantiles *q = g_new0 (SimQuantiles, 1);
  q->exact_cap = exact_cap ? exact_cap : SIM_QUANTILES_DEFAULT_EXACT;
  q->samples = g_array_new (FALSE, FALSE, sizeof (double));
  q->sorted = TRUE;
  q->min = NAN;
  q->max = NAN;
  const double a = SIM_QUANTILES_SKETCH_ALPHA;
  q->gamma = (1.0 + a) / (1.0 - a);
  q->inv_log_gamma = 1.0 / log (q->gamma);
  q->neg.collapse_high = TRUE; /* its keys are magnitudes: high = most negative */
  return q;
}

void
sim_quantiles_free (SimQuantiles *q)
{
  if (!q)
    return;
  if (q->samples)
    g_array_free (q->samples, TRUE);
  store_clear (&q->pos);
  store_clear (&q->neg);
  g_free (q);
}

void
sim_quantiles_add (SimQuantiles *q, double x)
{
  g_return_if_fail (q != NULL);
  g_return_if_fail (isfinite (x));
  if (q->count == 0) {
    q->min = q->max = x;
  } else {
    if (x < q->min)
      q->min = x;
    if (x > q->max)
      q->max = x;
  }
  q->count++;
  double t = q->sum + x;
  if (fabs (q->sum) >= fabs (x))
    q->sum_comp += (q->sum - t) + x;
  else
    q->sum_comp += (x - t) + q->sum;
  q->sum = t;

  if (q->samples) {
    if (q->samples->len < q->exact_cap) {
      g_array_append_val (q->samples, x);
      q->sorted = FALSE;
      return;
    }
    quantiles_to_sketch (q);
  }
  sketch_add (q, x);
}

gsize
sim_quantiles_count (const SimQuantiles *q)
{
  g_return_val_if_fail (q != NULL, 0);
  return q->count;
}

gboolean
sim_quantiles_is_exact (const SimQuantiles *q)
{
  g_return_val_if_fail (q != NULL, FALSE);
  return q->samples != NULL;
}

double
sim_quantiles_mean (const SimQuantiles *q)
{
  g_return_val_if_fail (q != NULL, NAN);
  return q->count ? (q->sum + q->sum_comp) / (double) q->count : NAN;
}

double
sim_quantiles_min (const SimQuantiles *q)
{
  g_return_val_if_fail (q != NULL, NAN);
  return q->min;
}

double
sim_quantiles_max (const SimQuantiles *q)
{
  g_return_val_if_fail (q != NULL, NAN);
  return q->max;
}

static int
double_cmp (const void *pa, const void *pb)
{
  double a = *(const double *) pa, b = *(const double *) pb;
  return (a > b) - (a < b);
}

/* numpy's _lerp: a + (b - a) t, computed from the nearer end for accuracy. */
static double
lerp (double a, double b, double t)
{
  double d = b - a;
  return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

double
sim_quantiles_get (SimQuantiles *q, double p)
{
  g_return_val_if_fail (q != NULL, NAN);
  g_return_val_if_fail (p >= 0.0 && p <= 1.0, NAN);
  if (q->count == 0)
    return NAN;
  double rank = p * (double) (q->count - 1);
  double lo_rank = floor (rank);
  double t = rank - lo_rank;
  gsize i = (gsize) lo_rank;
  gsize j = i + 1 < q->count ? i + 1 : i;
  if (q->samples) {
    if (!q->sorted) {
      qsort (q->samples->data, q->samples->len, sizeof (double), double_cmp);
      q->sorted = TRUE;
    }
    const double *x = (const double *) q->samples->data;
    return t > 0 ? lerp (x[i], x[j], t) : x[i];
  }
  if (p == 0.0)
    return q->min;
  if (p == 1.0)
    return q->max;
  double a = sketch_at_rank (q, i);
  double v = t > 0 ? lerp (a, sketch_at_rank (q, j), t) : a;
  /* the true quantile lies in [min, max]; clamping can only bring v closer */
  return CLAMP (v, q->min, q->max);
}

/* ------------------------------------------------------------ SimTimeAvg - */

void
sim_time_avg_init (SimTimeAvg *a, SimTime start, double initial)
{
  g_return_if_fail (a != NULL);
  a->start = start;
  a->last_t = start;
  a->last_v = initial;
  a->area = 0.0;
  a->max = initial;
}

void
sim_time_avg_set (SimTimeAvg *a, SimTime t, double v)
{
  g_return_if_fail (a != NULL);
  g_return_if_fail (t >= a->last_t);
  a->area += a->last_v * (double) (t - a->last_t);
  a->last_t = t;
  a->last_v = v;
  if (v > a->max)
    a->max = v;
}

double
sim_time_avg_mean (const SimTimeAvg *a, SimTime t)
{
  g_return_val_if_fail (a != NULL, NAN);
  g_return_val_if_fail (t >= a->last_t, NAN);
  if (t == a->start)
    return a->last_v;
  double area = a->area + a->last_v * (double) (t - a->last_t);
  return area / (double) (t - a->start);
}
