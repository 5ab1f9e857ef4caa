/* bench/bench_engine.c — hold-model benchmark of the event core (sim/engine.c).
 *
 * The classic hold model: P events pending; each fired event schedules one new
 * event at now + a random increment, so the heap stays at P entries and every
 * event costs one pop and one push. Prints events/s and the process's peak RSS.
 * By default it runs P = 1,000 (20M events) and P = 1,000,000 (5M events);
 * --pending/--events pick one configuration instead. Increments are
 * exponential (mean 1 ms, so even 1M pending events rarely tie) drawn ahead of time into a table, so the timing is
 * the engine's, not the RNG's. Owns nothing the simulator uses.
 */
#include "config.h"

#include <math.h> /* llround, for SIM_TIME_FROM_S (sim/engine.h does not include it) */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "sim/engine.h"
#include "sim/rng.h"

#define INC_TABLE 65536 /* power of two */

typedef struct {
  SimEventType type;
  const SimTime *inc;
  guint64 next;     /* index into inc */
  guint64 left;     /* events still to fire */
} Hold;

static void
on_hold (SimEngine *e, gpointer user, gpointer target, gpointer data)
{
  Hold *h = user;
  if (G_UNLIKELY (--h->left == 0)) {
    sim_engine_stop (e);
    return;
  }
  sim_engine_schedule_in (e, h->inc[h->next++ & (INC_TABLE - 1)], h->type, target, data);
}

static long
peak_rss_kib (void)
{
  struct rusage ru;
  return getrusage (RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1; /* KiB on Linux */
}

static void
run_hold (guint64 pending, guint64 events, guint64 seed, const SimTime *inc)
{
  SimEngine *e = sim_engine_new ();
  Hold h = { 0 };
  h.type = sim_engine_register (e, "hold", on_hold, &h);
  h.inc = inc;
  h.left = events;
  SimRng *rng = sim_rng_new (seed, "bench-engine-prefill", pending);
  for (guint64 i = 0; i < pending; i++)
    sim_engine_schedule (e, SIM_TIME_FROM_S (sim_rng_exponential (rng, 1e3)),
                         h.type, NULL, NULL);
  sim_rng_free (rng);

  gint64 t0 = g_get_monotonic_time ();
  guint64 fired = sim_engine_run (e, SIM_TIME_MAX);
  gint64 t1 = g_get_monotonic_time ();
  double secs = (double) (t1 - t0) * 1e-6;
  printf ("hold  pending=%-9" G_GUINT64_FORMAT " events=%-10" G_GUINT64_FORMAT
          " time=%.3f s  %.2f M events/s  %.1f ns/event  peak RSS=%.1f MiB\n",
          pending, fired, secs, (double) fired / secs * 1e-6, secs * 1e9 / (double) fired,
          (double) peak_rss_kib () / 1024.0);
  fflush (stdout);
  sim_engine_free (e);
}

int
main (int argc, char **argv)
{
  gint64 events = 0, pending = 0, seed = 1;
  GOptionEntry entries[] = {
    { "events", 'n', 0, G_OPTION_ARG_INT64, &events, "events to fire (default 20M at 1k pending, 5M at 1M)", "N" },
    { "pending", 'p', 0, G_OPTION_ARG_INT64, &pending, "pending events (default: run 1,000 and 1,000,000)", "P" },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, "random seed (default 1)", "S" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  GError *error = NULL;
  GOptionContext *ctx = g_option_context_new ("- hold-model benchmark of the event engine");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "bench_engine: %s\n", error->message);
    g_error_free (error);
    g_option_context_free (ctx);
    return 2;
  }
  g_option_context_free (ctx);
  if (events < 0 || pending < 0) {
    fprintf (stderr, "bench_engine: --events and --pending must be >= 0\n");
    return 2;
  }

  SimTime *inc = g_new (SimTime, INC_TABLE);
  SimRng *rng = sim_rng_new ((guint64) seed, "bench-engine-increments", 0);
  for (guint i = 0; i < INC_TABLE; i++)
    inc[i] = SIM_TIME_FROM_S (sim_rng_exponential (rng, 1e3)); /* mean 1 ms */
  sim_rng_free (rng);

  if (pending) {
    run_hold ((guint64) pending, events ? (guint64) events : 10000000, (guint64) seed, inc);
  } else {
    run_hold (1000, events ? (guint64) events : 20000000, (guint64) seed, inc);
    run_hold (1000000, events ? (guint64) events : 5000000, (guint64) seed, inc);
  }
  g_free (inc);
  return 0;
}
