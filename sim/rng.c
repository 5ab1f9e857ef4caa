/* sim/rng.c — seeded random-number streams on top of GLib's GRand.
 *
 * A stream's GRand is seeded with a four-word array derived by SplitMix64 from
 * (seed, FNV-1a hash of the component name, index), so streams are
 * independent and reproducible. Owns distributions GLib lacks; does not own
 * what components do with the numbers.
 */
#include "config.h"

#include <math.h>

#include "sim/rng.h"

struct SimRng {
  GRand *rand;
};

static guint64
splitmix64 (guint64 *state)
{
  guint64 z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static guint64
fnv1a (const char *s)
{
  guint64 h = 0xcbf29ce484222325ULL;
  for (; s && *s; s++) {
    h ^= (guchar) *s;
    h *= 0x100000001b3ULL;
  }
  return h;
}

SimRng *
sim_rng_new (guint64 seed, const char *component, guint64 index)
{
  SimRng *r = g_new0 (SimRng, 1);
  guint64 st = seed ^ splitmix64 (&(guint64){ fnv1a (component) }) ^ (index * 0xd1b54a32d192ed03ULL);
  guint32 words[8];
  for (int i = 0; i < 4; i++) {
    guint64 v = splitmix64 (&st);
    words[2 * i] = (guint32) v;
    words[2 * i + 1] = (guint32) (v >> 32);
  }
  r->rand = g_rand_new_with_seed_array (words, G_N_ELEMENTS (words));
  return r;
}

void
sim_rng_free (SimRng *rng)
{
  if (!rng)
    return;
  g_rand_free (rng->rand);
  g_free (rng);
}

guint32
sim_rng_u32 (SimRng *rng)
{
  return g_rand_int (rng->rand);
}

double
sim_rng_double (SimRng *rng)
{
  return g_rand_double (rng->rand);
}

gint64
sim_rng_int_range (SimRng *rng, gint64 lo, gint64 hi)
{
  g_return_val_if_fail (lo <= hi, lo);
  guint64 span = (guint64) hi - (guint64) lo + 1;
  if (span == 0) /* full 64-bit range */
    return (gint64) (((guint64) g_rand_int (rng->rand) << 32) | g_rand_int (rng->rand));
  if (span <= G_MAXINT32)
    return lo + g_rand_int_range (rng->rand, 0, (gint32) span);
  /* rejection sampling on 64-bit draws */
  guint64 limit = G_MAXUINT64 - (G_MAXUINT64 % span);
  guint64 v;
  do
    v = ((guint64) g_rand_int (rng->rand) << 32) | g_rand_int (rng->rand);
  while (v >= limit);
  return (gint64) ((guint64) lo + v % span);
}

double
sim_rng_exponential (SimRng *rng, double rate)
{
  g_return_val_if_fail (rate > 0, NAN);
  /* 1 - U lies in (0, 1], so the log is finite. */
  return -log (1.0 - g_rand_double (rng->rand)) / rate;
}

double
sim_rng_normal (SimRng *rng, double mean, double stddev)
{
  /* Box-Muller; one value per call keeps the stream stateless. */
  double u1 = 1.0 - g_rand_double (rng->rand);
  double u2 = g_rand_double (rng->rand);
  return mean + stddev * sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

double
sim_rng_gamma (SimRng *rng, double shape, double scale)
{
  g_return_val_if_fail (shape > 0 && scale > 0, NAN);
  if (shape < 1.0) {
    /* Boost to shape+1 and scale back (Marsaglia & Tsang, 2000, section 6). */
    double u = 1.0 - g_rand_double (rng->rand);
    return sim_rng_gamma (rng, shape + 1.0, scale) * pow (u, 1.0 / shape);
  }
  double d = shape - 1.0 / 3.0, c = 1.0 / sqrt (9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = sim_rng_normal (rng, 0.0, 1.0);
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    double u = 1.0 - g_rand_double (rng->rand);
    if (u < 1.0 - 0.0331 * x * x * x * x || log (u) < 0.5 * x * x + d * (1.0 - v + log (v)))
      return d * v * scale;
  }
}
