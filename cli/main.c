/* cli/main.c — the servesim command line: parse arguments, call the library.
 *
 * Subcommands: replay (run a scenario), describe (list catalogs, policies, or
 * print a resolved scenario). Nothing but argument handling and printing
 * lives here; everything else is in the libraries under sim/ models/
 * policies/ traces/ plots/ serve/.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "models/catalog.h"
#include "policies/registry.h"
#include "serve/scenario.h"
#include "serve/world.h"
#include "serve/output.h"

static const char top_help[] =
  "servesim " PACKAGE_VERSION " — discrete-event performance simulator for LLM serving\n"
  "\n"
  "Usage: servesim COMMAND [OPTIONS] [ARGS]\n"
  "\n"
  "Commands:\n"
  "  replay [SCENARIO.json]   run a scenario (the bundled default when none is given)\n"
  "  describe WHAT            list gpus | models | schedulers | routers, or print the\n"
  "                           fully resolved scenario (describe scenario [SCENARIO.json])\n"
  "  help                     this text\n"
  "  version                  print the version\n"
  "\n"
  "Run 'servesim COMMAND --help' for a command's options.\n";

typedef struct {
  char   **sets;
  char    *out;
  char    *catalog;
  gboolean quiet;
  gboolean no_render;
} CommonOpts;

static void
add_common (GOptionContext *ctx, CommonOpts *o)
{
  GOptionEntry entries[] = {
    { "set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &o->sets,
      "Override a scenario field, e.g. --set cluster.replicas=4 (repeatable; value is JSON or a "
      "string)", "PATH=VALUE" },
    { "catalog", 'c', 0, G_OPTION_ARG_FILENAME, &o->catalog,
      "Extra catalog file adding or overriding GPUs/models (same as --set catalog=FILE)", "FILE" },
    { NULL }
  };
  g_option_context_add_main_entries (ctx, entries, NULL);
}

/* Scenario from the optional positional argument plus overrides. */
static ServeScenario *
load_scenario (int argc, char **argv, CommonOpts *o, GError **error)
{
  if (argc > 2) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "expected at most one scenario file, got %d arguments", argc - 1);
    return NULL;
  }
  GPtrArray *sets = g_ptr_array_new_with_free_func (g_free);
  if (o->catalog)
    g_ptr_array_add (sets, g_strdup_printf ("catalog=\"%s\"", o->catalog));
  if (o->out) {
    json_t *s = json_string (o->out);
    char *txt = json_dumps (s, JSON_ENCODE_ANY);
    g_ptr_array_add (sets, g_strdup_printf ("output.dir=%s", txt));
    free (txt);
    json_decref (s);
  }
  if (o->no_render)
    g_ptr_array_add (sets, g_strdup ("output.render=false"));
  for (char **s = o->sets; s && *s; s++)
    g_ptr_array_add (sets, g_strdup (*s));
  g_ptr_array_add (sets, NULL);
  ServeScenario *sc = serve_scenario_load (argc == 2 ? argv[1] : NULL, (char **) sets->pdata, error);
  g_ptr_array_free (sets, TRUE);
  return sc;
}

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

static int
cmd_replay (int argc, char **argv)
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
  add_common (ctx, &o);
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
  if (!(sc = load_scenario (argc, argv, &o, &error)))
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
    printf ("\n  outputs in %s/ (summary.json, requests.csv, scenario.json, plots, cluster.dot)\n",
            sc->out_dir);
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
  g_strfreev (o.sets);
  g_free (o.out);
  g_free (o.catalog);
  g_option_context_free (ctx);
  return rc;
}

static void
print_gpus (const ModelCatalog *cat)
{
  const char **ids = model_catalog_gpu_ids (cat);
  printf ("%-14s %-34s %9s %9s %8s %9s %9s %7s %8s\n", "id", "name", "bf16 TF", "fp8 TF", "mem GiB",
          "mem GB/s", "NVLink", "TDP W", "$/h");
  for (const char **p = ids; *p; p++) {
    const ModelGpu *g = model_catalog_gpu (cat, *p, NULL);
    printf ("%-14s %-34.34s %9.1f %9.1f %8.0f %9.0f %9.0f %7.0f ", g->id, g->name, g->flops_bf16 / 1e12,
            g->flops_fp8 / 1e12, g->mem_bytes / (1 << 30), g->mem_bw / 1e9, g->nvlink_bw / 1e9, g->tdp_w);
    if (g->price_per_hour == g->price_per_hour)
      printf ("%8.2f\n", g->price_per_hour);
    else
      printf ("%8s\n", "-");
  }
  g_free (ids);
}

static void
print_models (const ModelCatalog *cat)
{
  const char **ids = model_catalog_llm_ids (cat);
  printf ("%-16s %8s %6s %6s %6s %4s %6s %7s %7s %5s %8s\n", "id", "params", "layers", "hidden",
          "heads", "kv", "hdim", "ffn", "vocab", "moe", "context");
  for (const char **p = ids; *p; p++) {
    const ModelLlm *m = model_catalog_llm (cat, *p, NULL);
    char moe[32] = "-";
    if (m->num_experts > 1)
      g_snprintf (moe, sizeof moe, "%dx%d", m->num_experts, m->top_k);
    printf ("%-16s %7.1fB %6d %6d %6d %4d %6d %7d %7d %5s %8d\n", m->id, model_llm_params (m) / 1e9,
            m->num_layers, m->hidden, m->num_heads, m->num_kv_heads, m->head_dim, m->ffn, m->vocab,
            moe, m->max_context);
  }
  g_free (ids);
}

static void
print_policies (const PolicyRegistry *reg, gboolean schedulers)
{
  const char **names = schedulers ? policy_registry_scheduler_names (reg)
                                  : policy_registry_router_names (reg);
  for (const char **p = names; *p; p++) {
    const char *desc;
    const PolicyParam *params;
    if (schedulers) {
      const PolicySchedulerOps *ops = policy_registry_scheduler (reg, *p, NULL);
      desc = ops->description;
      params = ops->params;
    } else {
      const PolicyRouterOps *ops = policy_registry_router (reg, *p, NULL);
      desc = ops->description;
      params = ops->params;
    }
    printf ("%s\n    %s\n", *p, desc);
    for (const PolicyParam *q = params; q && q->name; q++)
      printf ("    %-20s default %-8g range [%g, %g]  %s\n", q->name, q->def, q->min, q->max, q->help);
  }
  g_free (names);
}

static int
cmd_describe (int argc, char **argv)
{
  CommonOpts o = { 0 };
  GOptionContext *ctx = g_option_context_new ("gpus|models|schedulers|routers|scenario [SCENARIO.json]");
  g_option_context_set_summary (ctx,
    "gpus, models: the catalogs (bundled, plus --catalog FILE).\n"
    "schedulers, routers: the policies by name, with their parameters.\n"
    "scenario: the fully resolved scenario (defaults + file + --set), as replay would run it.");
  add_common (ctx, &o);
  GError *error = NULL;
  int rc = 1;
  PolicyRegistry *reg = policy_registry_new ();
  ModelCatalog *cat = NULL;
  ServeScenario *sc = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    goto out;
  if (argc < 2) {
    g_set_error (&error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "what to describe? one of gpus, models, schedulers, routers, scenario");
    goto out;
  }
  const char *what = argv[1];
  if (strcmp (what, "scenario") == 0) {
    if (!(sc = load_scenario (argc - 1, argv + 1, &o, &error)))
      goto out;
    /* Resolve policy parameters too, so the output shows every value used. */
    ServeWorld *w = serve_world_new (sc, reg, &error);
    if (!w)
      goto out;
    serve_world_free (w);
    char *txt = serve_scenario_dump (sc);
    fputs (txt, stdout);
    g_free (txt);
    rc = 0;
    goto out;
  }
  if (argc > 2) {
    g_set_error (&error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "'describe %s' takes no further argument", what);
    goto out;
  }
  if (strcmp (what, "schedulers") == 0 || strcmp (what, "routers") == 0) {
    print_policies (reg, what[0] == 's');
    rc = 0;
    goto out;
  }
  cat = model_catalog_new ();
  if (!model_catalog_load_default (cat, &error) || (o.catalog && !model_catalog_load_file (cat, o.catalog, &error)))
    goto out;
  if (strcmp (what, "gpus") == 0)
    print_gpus (cat);
  else if (strcmp (what, "models") == 0)
    print_models (cat);
  else {
    g_set_error (&error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "unknown '%s' (valid: gpus, models, schedulers, routers, scenario)", what);
    goto out;
  }
  rc = 0;
out:
  if (error) {
    fprintf (stderr, "servesim describe: %s\n", error->message);
    g_error_free (error);
  }
  model_catalog_free (cat);
  serve_scenario_free (sc);
  policy_registry_free (reg);
  g_strfreev (o.sets);
  g_free (o.catalog);
  g_option_context_free (ctx);
  return rc;
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    fputs (top_help, stderr);
    return 2;
  }
  const char *cmd = argv[1];
  /* Each command sees argv[0] = "servesim COMMAND" for its --help. */
  char *prog = g_strdup_printf ("servesim %s", cmd);
  g_set_prgname (prog);
  argv[1] = prog;
  int rc;
  if (strcmp (cmd, "replay") == 0)
    rc = cmd_replay (argc - 1, argv + 1);
  else if (strcmp (cmd, "describe") == 0)
    rc = cmd_describe (argc - 1, argv + 1);
  else if (strcmp (cmd, "help") == 0 || strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0) {
    fputs (top_help, stdout);
    rc = 0;
  } else if (strcmp (cmd, "version") == 0 || strcmp (cmd, "--version") == 0) {
    printf ("servesim %s\n", PACKAGE_VERSION);
    rc = 0;
  } else {
    fprintf (stderr, "servesim: unknown command '%s'\n\n%s", cmd, top_help);
    rc = 2;
  }
  g_free (prog);
  return rc;
}
