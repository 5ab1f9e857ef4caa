/* tests/sim/test_rng.c — sim/rng.c: streams are reproducible and independent
 * by (seed, component, index); int_range bounds; the distributions' moments
 * against their formulas. Every statistical check uses a fixed seed and a
 * tolerance of about five standard errors, so it is deterministic and would
 * catch a wrong formula. Does not test GLib's generator itself.
 */
#include "config.h"

#include <math.h>

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

/* How many of the first n u32 draws of two streams agree position by position. */
static guint
agreements (SimRng *a, SimRng *b, guint n)
{
  guint same = 0;
  for (guint i = 0; i < n; i++)
    same += sim_rng_u32 (a) == sim_rng_u32 (b);
  return same;
}

static void
test_reproducible (void)
{
  SimRng *a = sim_rng_new (1234, "arrivals", 3);
  SimRng *b = sim_rng_new (1234, "arrivals", 3);
  guint diff = 0;
  for (guint i = 0; i < 2000; i++) {
    diff += sim_rng_u32 (a) != sim_rng_u32 (b);
    diff += sim_rng_double (a) != sim_rng_double (b);
    diff += sim_rng_int_range (a, -1000, 1000000000000LL) != sim_rng_int_range (b, -1000, 1000000000000LL);
    diff += sim_rng_exponential (a, 3.0) != sim_rng_exponential (b, 3.0);
    diff += sim_rng_gamma (a, 0.7, 2.0) != sim_rng_gamma (b, 0.7, 2.0);
    diff += sim_rng_normal (a, 1.0, 2.0) != sim_rng_normal (b, 1.0, 2.0);
  }
  CU_ASSERT_EQUAL (diff, 0);
  sim_rng_free (a);
  sim_rng_free (b);
  sim_rng_free (NULL);

  /* a NULL component is the same stream as "" (the hash of nothing) */
  a = sim_rng_new (5, NULL, 0);
  b = sim_rng_new (5, "", 0);
  CU_ASSERT_EQUAL (agreements (a, b, 100), 100);
  sim_rng_free (a);
  sim_rng_free (b);
}

static void
test_streams_differ (void)
{
  SimRng *base = sim_rng_new (1234, "arrivals", 3);
  SimRng *others[] = {
    sim_rng_new (1234, "lengths", 3),   /* component */
    sim_rng_new (1234, "arrivals", 4),  /* index */
    sim_rng_new (1235, "arrivals", 3),  /* seed */
    sim_rng_new (1234, "arrivalt", 3),  /* one letter */
  };
  for (guint k = 0; k < G_N_ELEMENTS (others); k++) {
    SimRng *again = sim_rng_new (1234, "arrivals", 3);
    /* independent 32-bit streams agree by chance about once in 2^32 draws */
    CU_ASSERT (agreements (again, others[k], 1000) <= 1);
    sim_rng_free (again);
    sim_rng_free (others[k]);
  }
  sim_rng_free (base);
}

static void
test_double_range (void)
{
  SimRng *r = sim_rng_new (9, "double", 0);
  double lo = 1, hi = 0, sum = 0;
  const guint n = 100000;
  for (guint i = 0; i < n; i++) {
    double u = sim_rng_double (r);
    lo = MIN (lo, u);
    hi = MAX (hi, u);
    sum += u;
  }
  CU_ASSERT (lo >= 0.0 && lo < 1e-3);
  CU_ASSERT (hi < 1.0 && hi > 1 - 1e-3);
  CU_ASSERT (fabs (sum / n - 0.5) < 5 * sqrt (1.0 / 12 / n));
  sim_rng_free (r);
}

static void
test_int_range (void)
{
  SimRng *r = sim_rng_new (10, "int-range", 0);
  /* lo == hi */
  guint bad = 0;
  for (guint i = 0; i < 100; i++) {
    bad += sim_rng_int_range (r, 42, 42) != 42;
    bad += sim_rng_int_range (r, -7, -7) != -7;
    bad += sim_rng_int_range (r, G_MAXINT64, G_MAXINT64) != G_MAXINT64;
    bad += sim_rng_int_range (r, G_MININT64, G_MININT64) != G_MININT64;
  }
  CU_ASSERT_EQUAL (bad, 0);

  /* a small range: inclusive at both ends, every value hit */
  guint hits[7] = { 0 };
  for (guint i = 0; i < 7000; i++) {
    gint64 v = sim_rng_int_range (r, -3, 3);
    if (v < -3 || v > 3)
      bad++;
    else
      hits[v + 3]++;
  }
  CU_ASSERT_EQUAL (bad, 0);
  for (guint k = 0; k < 7; k++)
    CU_ASSERT (hits[k] > 800 && hits[k] < 1200); /* expected 1000, sd ~29 */

  /* spans around 2^31 and 2^32 (the 32-bit / 64-bit switch) */
  const gint64 spans[][2] = {
    { 0, G_MAXINT32 - 1 }, { 0, G_MAXINT32 }, { -1, G_MAXINT32 },
    { 0, G_MAXUINT32 }, { 5, (gint64) G_MAXUINT32 * 3 },
  };
  for (guint s = 0; s < G_N_ELEMENTS (spans); s++) {
    gint64 lo = spans[s][0], hi = spans[s][1];
    gint64 mid = lo + (hi - lo) / 2;
    guint upper = 0;
    for (guint i = 0; i < 4000; i++) {
      gint64 v = sim_rng_int_range (r, lo, hi);
      bad += v < lo || v > hi;
      upper += v > mid;
    }
    CU_ASSERT_EQUAL (bad, 0);
    CU_ASSERT (upper > 1700 && upper < 2300); /* about half above the middle */
  }

  /* huge spans: [0, 2^63 - 1], [-2^62, 2^62], the full 64-bit range */
  const gint64 huge[][2] = {
    { 0, G_MAXINT64 }, { -(G_GINT64_CONSTANT (1) << 62), G_GINT64_CONSTANT (1) << 62 },
    { G_MININT64, G_MAXINT64 }, { G_MININT64, 0 }, { G_MININT64 + 1, G_MAXINT64 },
  };
  for (guint s = 0; s < G_N_ELEMENTS (huge); s++) {
    gint64 lo = huge[s][0], hi = huge[s][1];
    /* the midpoint without overflow */
    gint64 mid = (lo / 2) + (hi / 2);
    guint upper = 0;
    for (guint i = 0; i < 4000; i++) {
      gint64 v = sim_rng_int_range (r, lo, hi);
      bad += v < lo || v > hi;
      upper += v > mid;
    }
    if (upper <= 1700 || upper >= 2300)
      fprintf (stderr, "int_range [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]: %u of 4000 above the middle\n",
               lo, hi, upper);
    CU_ASSERT_EQUAL (bad, 0);
    CU_ASSERT (upper > 1700 && upper < 2300);
  }

  n_criticals = 0;
  CU_ASSERT_EQUAL (sim_rng_int_range (r, 5, 4), 5); /* hi < lo: programmer error, returns lo */
  CU_ASSERT_EQUAL (n_criticals, 1);
  sim_rng_free (r);
}

/* Sample mean and variance of n draws of f. */
typedef double (*Draw) (SimRng *r, double a, double b);

static void
moments (SimRng *r, Draw f, double a, double b, guint n, double *mean, double *var, double *min)
{
  double m = 0, s = 0, lo = INFINITY;
  for (guint i = 0; i < n; i++) {
    double x = f (r, a, b);
    double d = x - m;
    m += d / (i + 1);
    s += d * (x - m);
    lo = MIN (lo, x);
  }
  *mean = m;
  *var = s / (n - 1);
  *min = lo;
}

static double
draw_exp (SimRng *r, double rate, double unused)
{
  return sim_rng_exponential (r, rate);
}

static void
test_exponential (void)
{
  SimRng *r = sim_rng_new (21, "exponential", 0);
  const guint n = 200000;
  const double rates[] = { 0.001, 2.5, 1e6 };
  for (guint k = 0; k < G_N_ELEMENTS (rates); k++) {
    double mean, var, min;
    moments (r, draw_exp, rates[k], 0, n, &mean, &var, &min);
    double mu = 1 / rates[k];
    CU_ASSERT (fabs (mean - mu) < 5 * mu / sqrt (n));
    CU_ASSERT (fabs (var - mu * mu) < 0.05 * mu * mu);   /* sd of var ~ 2.8/sqrt(n) = 0.6% */
    CU_ASSERT (min >= 0);
  }
  n_criticals = 0;
  CU_ASSERT_TRUE (isnan (sim_rng_exponential (r, 0)));
  CU_ASSERT_TRUE (isnan (sim_rng_exponential (r, -1)));
  CU_ASSERT_EQUAL (n_criticals, 2);
  sim_rng_free (r);
}

static double
draw_gamma (SimRng *r, double shape, double scale)
{
  return sim_rng_gamma (r, shape, scale);
}

static void
test_gamma (void)
{
  SimRng *r = sim_rng_new (22, "gamma", 0);
  const guint n = 200000;
  /* shape < 1 takes the boost path, shape >= 1 the direct one */
  const double params[][2] = { { 0.3, 1.0 }, { 0.5, 2.0 }, { 1.0, 1.0 }, { 3.0, 0.5 }, { 25.0, 0.1 } };
  for (guint k = 0; k < G_N_ELEMENTS (params); k++) {
    double shape = params[k][0], scale = params[k][1];
    double mean, var, min;
    moments (r, draw_gamma, shape, scale, n, &mean, &var, &min);
    double mu = shape * scale, sigma2 = shape * scale * scale;
    /* standard error of the mean sqrt(sigma2/n); of the variance
     * sigma2 sqrt((2 + 6/shape)/n) (excess kurtosis 6/shape) */
    double se_mean = sqrt (sigma2 / n);
    double se_var = sigma2 * sqrt ((2 + 6 / shape) / n);
    if (fabs (mean - mu) >= 5 * se_mean || fabs (var - sigma2) >= 5 * se_var)
      fprintf (stderr, "gamma(%g, %g): mean %g (want %g), var %g (want %g)\n",
               shape, scale, mean, mu, var, sigma2);
    CU_ASSERT (fabs (mean - mu) < 5 * se_mean);
    CU_ASSERT (fabs (var - sigma2) < 5 * se_var);
    CU_ASSERT (min > 0);
  }
  n_criticals = 0;
  CU_ASSERT_TRUE (isnan (sim_rng_gamma (r, 0, 1)));
  CU_ASSERT_TRUE (isnan (sim_rng_gamma (r, 1, -1)));
  CU_ASSERT_EQUAL (n_criticals, 2);
  sim_rng_free (r);
}

static double
draw_normal (SimRng *r, double mean, double sd)
{
  return sim_rng_normal (r, mean, sd);
}

static void
test_normal (void)
{
  SimRng *r = sim_rng_new (23, "normal", 0);
  const guint n = 200000;
  double mean, var, min;
  moments (r, draw_normal, -3.0, 2.0, n, &mean, &var, &min);
  CU_ASSERT (fabs (mean + 3.0) < 5 * 2.0 / sqrt (n));
  CU_ASSERT (fabs (var - 4.0) < 5 * 4.0 * sqrt (2.0 / n));
  sim_rng_free (r);
}

int
main (void)
{
  g_log_set_default_handler (count_criticals, NULL);
  static const TestCase cases[] = {
    { "same arguments, same sequence", test_reproducible },
    { "different arguments, different sequences", test_streams_differ },
    { "double in [0, 1)", test_double_range },
    { "int_range bounds", test_int_range },
    { "exponential moments", test_exponential },
    { "gamma moments", test_gamma },
    { "normal moments", test_normal },
    { NULL, NULL },
  };
  return test_run_suite ("sim/rng", cases);
}
