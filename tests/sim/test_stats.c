/* tests/sim/test_stats.c — sim/stats.c: exact percentiles on hand-computed
 * samples, the sketch against exact order statistics, its memory bound, signs
 * and zeros, and time-weighted means. Includes sim/stats.c itself (rather than
 * linking it) so it can see the sketch's buckets; tests only observable
 * behaviour otherwise. Does not test the RNG it uses for samples.
 */
#include "sim/stats.c"

#include "sim/rng.h"
#include "tests/testutil.h"

static guint n_criticals;

static void
count_criticals (const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
  if (level & G_LOG_LEVEL_CRITICAL)
    n_criticals++;
  else
    g_log_default_handler (domain, level, msg, user);
}

#define ASSERT_NEAR(a, b, tol) CU_ASSERT (fabs ((a) - (b)) <= (tol))

/* numpy.percentile(x, 100 p) with the default "linear" method, on sorted x */
static double
ref_quantile (const double *x, gsize n, double p)
{
  double h = p * (double) (n - 1);
  gsize i = (gsize) floor (h);
  gsize j = i + 1 < n ? i + 1 : i;
  return x[i] + (h - (double) i) * (x[j] - x[i]);
}

/* |got - want| <= alpha |want| (plus rounding slack) */
static gboolean
within_alpha (double got, double want)
{
  return fabs (got - want) <= SIM_QUANTILES_SKETCH_ALPHA * fabs (want) * (1 + 1e-9) + 1e-300;
}

static void
test_empty (void)
{
  SimQuantiles *q = sim_quantiles_new (0);
  CU_ASSERT_EQUAL (sim_quantiles_count (q), 0);
  CU_ASSERT_TRUE (sim_quantiles_is_exact (q));
  CU_ASSERT_TRUE (isnan (sim_quantiles_get (q, 0.5)));
  CU_ASSERT_TRUE (isnan (sim_quantiles_get (q, 0.0)));
  CU_ASSERT_TRUE (isnan (sim_quantiles_mean (q)));
  CU_ASSERT_TRUE (isnan (sim_quantiles_min (q)));
  CU_ASSERT_TRUE (isnan (sim_quantiles_max (q)));
  sim_quantiles_free (q);
  sim_quantiles_free (NULL);
}

static void
test_exact_small (void)
{
  SimQuantiles *q = sim_quantiles_new (0);
  sim_quantiles_add (q, 7.5);
  CU_ASSERT_EQUAL (sim_quantiles_get (q, 0.0), 7.5);
  CU_ASSERT_EQUAL (sim_quantiles_get (q, 0.5), 7.5);
  CU_ASSERT_EQUAL (sim_quantiles_get (q, 1.0), 7.5);
  CU_ASSERT_EQUAL (sim_quantiles_mean (q), 7.5);
  sim_quantiles_free (q);

  /* numpy.percentile([15, 20, 35, 40, 50], [0, 40, 50, 90, 100]) = 15, 29, 35, 46, 50 */
  q = sim_quantiles_new (0);
  const double xs[] = { 40, 15, 50, 35, 20 };
  for (guint i = 0; i < G_N_ELEMENTS (xs); i++)
    sim_quantiles_add (q, xs[i]);
  CU_ASSERT_EQUAL (sim_quantiles_count (q), 5);
  ASSERT_NEAR (sim_quantiles_get (q, 0.0), 15, 1e-12);
  ASSERT_NEAR (sim_quantiles_get (q, 0.4), 29, 1e-12);
  ASSERT_NEAR (sim_quantiles_get (q, 0.5), 35, 1e-12);
  ASSERT_NEAR (sim_quantiles_get (q, 0.9), 46, 1e-12);
  ASSERT_NEAR (sim_quantiles_get (q, 1.0), 50, 1e-12);
  ASSERT_NEAR (sim_quantiles_mean (q), 32, 1e-12);
  CU_ASSERT_EQUAL (sim_quantiles_min (q), 15);
  CU_ASSERT_EQUAL (sim_quantiles_max (q), 50);
  /* adding after a query re-sorts: [1, 15, 20, 35, 40, 50] median 27.5 */
  sim_quantiles_add (q, 1);
  ASSERT_NEAR (sim_quantiles_get (q, 0.5), 27.5, 1e-12);
  ASSERT_NEAR (sim_quantiles_get (q, 0.25), 16.25, 1e-12);
  CU_ASSERT_EQUAL (sim_quantiles_min (q), 1);
  CU_ASSERT_TRUE (sim_quantiles_is_exact (q));
  sim_quantiles_free (q);

  /* negatives and zero: [-5, -1, 0, 2]; p=0.5 -> -0.5, p=0.8 -> 0.8 */
  q = sim_quantiles_new (0);
  const double ys[] = { 0, 2, -5, -1 };
  for (guint i = 0; i < G_N_ELEMENTS (ys); i++)
    sim_quantiles_add (q, ys[i]);
  ASSERT_NEAR (sim_quantiles_get (q, 0.5), -0.5, 1e-12);
  ASSERT_NEAR (sim_quantiles_get (q, 0.8), 0.8, 1e-12);
  ASSERT_NEAR (sim_quantiles_get (q, 0.1), -3.8, 1e-12);
  ASSERT_NEAR (sim_quantiles_mean (q), -1, 1e-12);
  sim_quantiles_free (q);
}

static void
test_programmer_errors (void)
{
  SimQuantiles *q = sim_quantiles_new (0);
  sim_quantiles_add (q, 1);
  n_criticals = 0;
  sim_quantiles_add (q, NAN);
  sim_quantiles_add (q, INFINITY);
  CU_ASSERT_EQUAL (sim_quantiles_count (q), 1);
  CU_ASSERT_EQUAL (sim_quantiles_max (q), 1);
  CU_ASSERT_TRUE (isnan (sim_quantiles_get (q, 1.5)));
  CU_ASSERT_TRUE (isnan (sim_quantiles_get (q, -0.1)));
  CU_ASSERT_TRUE (isnan (sim_quantiles_get (q, NAN)));
  CU_ASSERT_EQUAL (n_criticals, 5);
  sim_quantiles_free (q);
}

static void
test_exact_cap_switch (void)
{
  SimQuantiles *q = sim_quantiles_new (10);
  for (int i = 1; i <= 10; i++)
    sim_quantiles_add (q, i);
  CU_ASSERT_TRUE (sim_quantiles_is_exact (q));
  ASSERT_NEAR (sim_quantiles_get (q, 0.5), 5.5, 1e-12);
  sim_quantiles_add (q, 11);
  CU_ASSERT_FALSE (sim_quantiles_is_exact (q));
  CU_ASSERT_EQUAL (sim_quantiles_count (q), 11);
  /* [1..11]: each quantile within alpha; extremes exact */
  for (int k = 0; k <= 10; k++)
    CU_ASSERT_TRUE (within_alpha (sim_quantiles_get (q, k / 10.0), 1 + k));
  CU_ASSERT_TRUE (within_alpha (sim_quantiles_get (q, 0.55), 6.5));
  CU_ASSERT_EQUAL (sim_quantiles_get (q, 0.0), 1);
  CU_ASSERT_EQUAL (sim_quantiles_get (q, 1.0), 11);
  ASSERT_NEAR (sim_quantiles_mean (q), 6, 1e-12);
  sim_quantiles_free (q);

  /* 0 means the default capacity */
  q = sim_quantiles_new (0);
  for (int i = 0; i < SIM_QUANTILES_DEFAULT_EXACT; i++)
    sim_quantiles_add (q, i);
  CU_ASSERT_TRUE (sim_quantiles_is_exact (q));
  sim_quantiles_add (q, 1);
  CU_ASSERT_FALSE (sim_quantiles_is_exact (q));
  sim_quantiles_free (q);
}

static int
cmp_double (const void *pa, const void *pb)
{
  double a = *(const double *) pa, b = *(const double *) pb;
  return (a > b) - (a < b);
}

static const double probes[] = { 0, 1e-5, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.333, 0.5, 0.75,
                                 0.9, 0.95, 0.99, 0.999, 0.9999, 0.99999, 1 };

static void
test_sketch_lognormal (void)
{
  const gsize n = 1000000;
  SimRng *rng = sim_rng_new (11, "test-stats-lognormal", 0);
  SimQuantiles *q = sim_quantiles_new (1000);
  double *x = g_new (double, n);
  long double sum = 0;
  for (gsize i = 0; i < n; i++) {
    x[i] = exp (sim_rng_normal (rng, 0.0, 1.5)) * 1e-3; /* latencies in seconds, say */
    sim_quantiles_add (q, x[i]);
    sum += x[i];
  }
  CU_ASSERT_FALSE (sim_quantiles_is_exact (q));
  CU_ASSERT_EQUAL (sim_quantiles_count (q), n);
  qsort (x, n, sizeof (double), cmp_double);
  guint bad = 0;
  for (guint k = 0; k < G_N_ELEMENTS (probes); k++) {
    double want = ref_quantile (x, n, probes[k]);
    double got = sim_quantiles_get (q, probes[k]);
    if (!within_alpha (got, want)) {
      bad++;
      fprintf (stderr, "p=%g: sketch %.9g exact %.9g\n", probes[k], got, want);
    }
  }
  CU_ASSERT_EQUAL (bad, 0);
  CU_ASSERT_EQUAL (sim_quantiles_min (q), x[0]);
  CU_ASSERT_EQUAL (sim_quantiles_max (q), x[n - 1]);
  CU_ASSERT (fabs (sim_quantiles_mean (q) - (double) (sum / n)) <= 1e-13 * (double) (sum / n));
  /* the sketch is small: far fewer buckets than samples */
  CU_ASSERT (q->pos.hi - q->pos.lo + 1 <= SKETCH_MAX_BUCKETS);
  CU_ASSERT (q->pos.cap <= 2 * SKETCH_MAX_BUCKETS);
  CU_ASSERT_EQUAL (q->neg.total + q->zeros, 0);
  g_free (x);
  sim_quantiles_free (q);
  sim_rng_free (rng);
}

static void
test_sketch_signs_and_zeros (void)
{
  /* 30% exact zeros, 35% negative and 35% positive lognormal magnitudes */
  const gsize n = 300000;
  SimRng *rng = sim_rng_new (12, "test-stats-signs", 0);
  SimQuantiles *q = sim_quantiles_new (100);
  double *x = g_new (double, n);
  for (gsize i = 0; i < n; i++) {
    double u = sim_rng_double (rng);
    double m = exp (sim_rng_normal (rng, 2.0, 1.0));
    x[i] = u < 0.3 ? 0.0 : u < 0.65 ? -m : m;
    sim_quantiles_add (q, x[i]);
  }
  qsort (x, n, sizeof (double), cmp_double);
  guint bad = 0;
  for (guint k = 0; k < G_N_ELEMENTS (probes); k++) {
    double want = ref_quantile (x, n, probes[k]);
    double got = sim_quantiles_get (q, probes[k]);
    if (!within_alpha (got, want)) {
      bad++;
      fprintf (stderr, "p=%g: sketch %.9g exact %.9g\n", probes[k], got, want);
    }
  }
  CU_ASSERT_EQUAL (bad, 0);
  CU_ASSERT_EQUAL (sim_quantiles_get (q, 0.5), 0.0); /* inside the run of zeros */
  CU_ASSERT (sim_quantiles_get (q, 0.2) < 0);
  CU_ASSERT (sim_quantiles_get (q, 0.8) > 0);
  CU_ASSERT_EQUAL (q->pos.total + q->neg.total + q->zeros, n);
  g_free (x);
  sim_quantiles_free (q);
  sim_rng_free (rng);
}

/* Values spread over 60 decades need ~13,800 buckets: the store must stay
 * within its bound at every step, merging the lowest buckets (positive) or
 * the most negative ones, and stay accurate away from the merged end. */
static void
test_sketch_memory_bound (void)
{
  for (int sign = 1; sign >= -1; sign -= 2) {
    const gsize n = 200000;
    SimRng *rng = sim_rng_new (13, "test-stats-bound", (guint64) (sign + 1));
    SimQuantiles *q = sim_quantiles_new (50);
    double *x = g_new (double, n);
    const SketchStore *s = sign > 0 ? &q->pos : &q->neg;
    gint64 widest = 0;
    guint over = 0;
    for (gsize i = 0; i < n; i++) {
      x[i] = sign * pow (10.0, sim_rng_double (rng) * 60.0 - 30.0);
      sim_quantiles_add (q, x[i]);
      if (s->total) {
        widest = MAX (widest, s->hi - s->lo + 1);
        if (s->hi - s->lo + 1 > SKETCH_MAX_BUCKETS || s->cap > 2 * SKETCH_MAX_BUCKETS)
          over++;
      }
    }
    CU_ASSERT_EQUAL (over, 0);
    CU_ASSERT_EQUAL (widest, SKETCH_MAX_BUCKETS); /* the bound was reached */
    CU_ASSERT_EQUAL (s->total, n);
    qsort (x, n, sizeof (double), cmp_double);
    /* 4096 buckets cover ~17.8 decades: the largest values either way,
     * 10^12.2..10^30 (positive) or -10^-12.2..-10^-30 (negative), p > 0.70 */
    const double good[] = { 0.75, 0.9, 0.99, 0.999 };
    guint bad = 0;
    for (guint k = 0; k < G_N_ELEMENTS (good); k++) {
      double p = good[k];
      double want = ref_quantile (x, n, p);
      double got = sim_quantiles_get (q, p);
      if (!within_alpha (got, want)) {
        bad++;
        fprintf (stderr, "sign %d p=%g: sketch %.9g exact %.9g\n", sign, p, got, want);
      }
    }
    CU_ASSERT_EQUAL (bad, 0);
    /* at the merged end, values are only bounded by min/max */
    double lowend = sim_quantiles_get (q, 0.1);
    CU_ASSERT (lowend >= sim_quantiles_min (q) && lowend <= sim_quantiles_max (q));
    g_free (x);
    sim_quantiles_free (q);
    sim_rng_free (rng);
  }
}

static void
test_time_avg (void)
{
  SimTimeAvg a;
  sim_time_avg_init (&a, 0, 2.0);
  CU_ASSERT_EQUAL (sim_time_avg_mean (&a, 0), 2.0); /* t == start: the current value */
  sim_time_avg_set (&a, 10, 4.0);
  sim_time_avg_set (&a, 30, 0.0);
  sim_time_avg_set (&a, 30, 1.0);  /* zero-length step counts for nothing */
  /* (2*10 + 4*20 + 0*0 + 1*10) / 40 = 110 / 40 */
  ASSERT_NEAR (sim_time_avg_mean (&a, 40), 2.75, 1e-12);
  ASSERT_NEAR (sim_time_avg_mean (&a, 30), 100.0 / 30.0, 1e-12);
  CU_ASSERT_EQUAL (a.max, 4.0);
  n_criticals = 0;
  CU_ASSERT_TRUE (isnan (sim_time_avg_mean (&a, 20)));  /* before the last change */
  sim_time_avg_set (&a, 20, 9.0);                       /* going back in time */
  CU_ASSERT_EQUAL (n_criticals, 2);
  CU_ASSERT_EQUAL (a.last_v, 1.0);

  /* a non-zero start, in seconds of simulated time */
  sim_time_avg_init (&a, 100 * SIM_S, 1.0);
  sim_time_avg_set (&a, 150 * SIM_S, 3.0);
  ASSERT_NEAR (sim_time_avg_mean (&a, 200 * SIM_S), 2.0, 1e-12);
  ASSERT_NEAR (sim_time_avg_mean (&a, 150 * SIM_S), 1.0, 1e-12);
  CU_ASSERT_EQUAL (a.max, 3.0);
}

int
main (void)
{
  g_log_set_default_handler (count_criticals, NULL);
  static const TestCase cases[] = {
    { "empty", test_empty },
    { "exact percentiles, small samples", test_exact_small },
    { "programmer errors", test_programmer_errors },
    { "exact capacity and the switch to the sketch", test_exact_cap_switch },
    { "sketch vs exact, 1M lognormal", test_sketch_lognormal },
    { "sketch with negatives and zeros", test_sketch_signs_and_zeros },
    { "sketch memory bound", test_sketch_memory_bound },
    { "time-weighted mean", test_time_avg },
    { NULL, NULL },
  };
  return test_run_suite ("sim/stats", cases);
}
