/* sim/rng.h — seeded random-number streams.
 *
 * Each component draws from its own stream derived from (run seed, component
 * name, index), so adding a draw in one component never shifts another's
 * sequence. Built on GLib's GRand (Mersenne Twister); distributions GLib lacks
 * (exponential, gamma, normal) are implemented here.
 */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <glib.h>

typedef struct SimRng SimRng;

/* Stream for (seed, component, index). Same arguments = same sequence on every
 * platform. Free with sim_rng_free(). */
SimRng  *sim_rng_new (guint64 seed, const char *component, guint64 index);
void     sim_rng_free (SimRng *rng);

guint32  sim_rng_u32 (SimRng *rng);
double   sim_rng_double (SimRng *rng);                 /* [0, 1) */
gint64   sim_rng_int_range (SimRng *rng, gint64 lo, gint64 hi); /* [lo, hi] inclusive */
double   sim_rng_exponential (SimRng *rng, double rate);         /* mean 1/rate */
double   sim_rng_gamma (SimRng *rng, double shape, double scale); /* mean shape*scale */
double   sim_rng_normal (SimRng *rng, double mean, double stddev);

#endif
