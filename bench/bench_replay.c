/* bench/bench_replay.c — end-to-end replay speed and memory.
 *
 * Runs one scenario (the default, a file, plus --set overrides) through the
 * library exactly as `servesim replay` does, --repeat times, and prints wall
 * time (best and median), simulated events per second, requests per second
 * of wall time and the process's peak resident memory. Outputs are written to
 * a scratch directory (plots not rendered) so writing them is counted too.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "policies/registry.h"
#include "serve/scenario.h"
#include "serve/world.h"

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  char **sets = NULL;
  int repeat = 3;
  char *label = NULL;
  GOptionEntry entries[] = {
    { "set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &sets, "Scenario override (repeatable)", "PATH=VALUE" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Runs (default 3)", "N" },
    { "label", 'l', 0, G_OPTION_ARG_STRING, &label, "Label for the result line", "TEXT" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("[SCENARIO.json] — time a replay");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || repeat < 1) {
    fprintf (stderr, "bench_replay: %s\n", error ? error->message : "--repeat must be >= 1");
    return 2;
  }
  char *tmp = g_dir_make_tmp ("servesim-bench-XXXXXX", NULL);
  GPtrArray *all = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (all, g_strdup_printf ("output.dir=%s", tmp));
  g_ptr_array_add (all, g_strdup ("output.render=false"));
  for (char **s = sets; s && *s; s++)
    g_ptr_array_add (all, g_strdup (*s));
  g_ptr_array_add (all, NULL);

  double *walls = g_new (double, repeat);
  guint64 events = 0, completed = 0;
  double sim_s = 0;
  for (int i = 0; i < repeat; i++) {
    PolicyRegistry *reg = policy_registry_new ();
    ServeScenario *sc = serve_scenario_load (argc > 1 ? argv[1] : NULL, (char **) all->pdata, &error);
    ServeWorld *w = sc ? serve_world_new (sc, reg, &error) : NULL;
    gint64 t0 = g_get_monotonic_time ();
    gboolean ok = w && serve_world_run (w, &error) && serve_world_write_outputs (w, &error);
    walls[i] = (g_get_monotonic_time () - t0) / 1e6;
    if (!ok) {
      fprintf (stderr, "bench_replay: %s\n", error ? error->message : "failed");
      g_free (walls);
      return 1;
    }
    events = serve__world_events (w);
    completed = serve_world_completed (w);
    sim_s = SIM_TIME_TO_S (serve_world_now (w));
    serve_world_free (w);
    serve_scenario_free (sc);
    policy_registry_free (reg);
  }
  qsort (walls, repeat, sizeof *walls, cmp_double);
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  printf ("%s: %" G_GUINT64_FORMAT " requests, %.0f s simulated, %" G_GUINT64_FORMAT " events | "
          "wall best %.3f s, median %.3f s | %.2f M events/s, %.0f requests/s | peak RSS %.1f MB\n",
          label ? label : "replay", completed, sim_s, events, walls[0], walls[repeat / 2],
          events / walls[0] / 1e6, completed / walls[0], ru.ru_maxrss / 1024.0);
  char *cmd = g_strdup_printf ("rm -rf '%s'", tmp);
  if (system (cmd) != 0)
    fprintf (stderr, "bench_replay: could not remove %s\n", tmp);
  g_free (cmd);
  g_free (tmp);
  g_free (walls);
  g_ptr_array_free (all, TRUE);
  g_strfreev (sets);
  g_free (label);
  g_option_context_free (ctx);
  return 0;
}
