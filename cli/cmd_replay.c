/* cli/cmd_replay.c — `servesim replay`: run a scenario, print the summary,
 * write the outputs. Argument handling and the terminal progress line only.
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"
#include "policies/registry.h"
#include "serve/output.h"
#include "serve/world.h"

typedef struct {
  gint64   start_us;
  gboolean shown;
} Progress;

static void
show_progress (const ServeWorld *w, gpointer user)
{
  Progress *p = user;
  double wall = (g_get_monotonic_time () - p->start_us) / 1e6;
  if (wall < 1.0)
    return;
  guint64 done = serve_world_completed (w), exp = serve_world_expected (w);
  if (exp)
    fprintf (stderr, "\r  replay: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " requests done (%.0f%%), "
             "simulated %.1f s, wall %.1f s   ", done, exp, 100.0 * done / exp,
             SIM_TIME_TO_S (serve_world_now (w)), wall);
  else
    fprintf (stderr, "\r  replay: %" G_GUINT64_FORMAT " requests done, %" G_GUINT64_FORMAT
             " arrived, simulated %.1f s, wall %.1f s   ", done, serve_world_arrived (w),
             SIM_TIME_TO_S (serve_world_now (w)), wall);
  fflush (stderr);
  p->shown = TRUE;
}

int
cli_cmd_replay (int argc, char **argv)
{
  CommonOpts o = { 0 };
  GOptionContext *ctx = g_option_context_new ("[SCENARIO.json] — replay a workload on a modelled cluster");
  g_option_context_set_summary (ctx,
    "Runs the scenario (JSON; every field has a default, see 'servesim describe scenario')\n"
    "and writes summary.json, requests.csv, scenario.json (resolved, with the seed), plot\n"
    "data + gnuplot scripts (rendered to PNG when gnuplot is installed) and cluster.dot\n"
    "(rendered to SVG when Graphviz is installed) into the output directory.\n"
    "With no scenario: llama-3.1-8b on 2 x h100-sxm, vLLM scheduler, the bundled\n"
    "1,000-request excerpt of the Azure 2023 conversation trace.");
  cli_add_common (ctx, &o);
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out, "Output directory (output.dir; default servesim-out)", "DIR" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "Print no summary and no progress", NULL },
    { "no-render", 0, 0, G_OPTION_ARG_NONE, &o.no_render, "Write plot scripts but do not run gnuplot/dot", NULL },
    { NULL }
  };
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int rc = 1;
  ServeScenario *sc = NULL;
  ServeWorld *w = NULL;
  PolicyRegistry *reg = policy_registry_new ();
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    goto out;
  if (!cli_load_plugins (reg, &o, &error))
    goto out;
  if (!(sc = cli_load_scenario (argc, argv, &o, &error)))
    goto out;
  if (!(w = serve_world_new (sc, reg, &error)))
    goto out;
  Progress p = { g_get_monotonic_time (), FALSE };
  if (!o.quiet && isatty (STDERR_FILENO))
    serve_world_set_progress (w, show_progress, &p);
  gboolean ran = serve_world_run (w, &error);
  if (p.shown)
    fprintf (stderr, "\r%*s\r", 100, "");
  if (!ran || !serve_world_write_outputs (w, &error))
    goto out;
  if (!o.quiet) {
    char *text = serve_world_summary_text (w);
    fputs (text, stdout);
    g_free (text);
    if (sc->out_dir)
      printf ("\n  outputs in %s/ (summary.json, requests.csv, scenario.json, plots, cluster.dot)\n",
              sc->out_dir);
    fputs (serve_output_notes (serve_world_output (w)), stdout);
  }
  rc = 0;
out:
  if (error) {
    fprintf (stderr, "servesim replay: %s\n", error->message);
    g_error_free (error);
  }
  serve_world_free (w);
  serve_scenario_free (sc);
  policy_registry_free (reg);
  cli_common_clear (&o);
  g_option_context_free (ctx);
  return rc;
}
