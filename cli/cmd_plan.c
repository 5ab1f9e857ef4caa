/* cli/cmd_plan.c — `servesim plan`: capacity planning over a search space.
 * Argument handling, the terminal progress line and the closing summary
 * only; the work is in plan/ (see plan/plan.h and docs/plan.md).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "cli/cli.h"
#include "plan/plan.h"
#include "policies/registry.h"

typedef struct {
  gboolean shown;
} Progress;

static void
show_progress (const PlanProgress *p, gpointer user)
{
  Progress *pr = user;
  guint ran = p->done - p->resumed, left = p->total - p->done;
  double rate = p->elapsed_s > 0 ? ran / p->elapsed_s : 0;
  char eta[32] = "?";
  if (rate > 0) {
    guint s = (guint) (left / rate + 0.5);
    g_snprintf (eta, sizeof eta, "%um%02us", s / 60, s % 60);
  }
  fprintf (stderr, "\r  plan: %u/%u configurations (%u pruned, %u resumed), %" G_GUINT64_FORMAT
           " simulations, %.1f configs/s, %.0f s elapsed, ETA %s   ", p->done, p->total, p->pruned,
           p->resumed, p->sims, rate, p->elapsed_s, eta);
  fflush (stderr);
  pr->shown = TRUE;
}

int
cli_cmd_plan (int argc, char **argv)
{
  CommonOpts o = { 0 };
  gint jobs = 0;
  gboolean fresh = FALSE, use_mpi = FALSE, list = FALSE;
  GOptionContext *ctx = g_option_context_new ("PLAN.json — what-if capacity planning");
  char *summary = g_strdup_printf (
    "Searches a space of configurations (GPU, replicas, TP, scheduler and its parameters, any\n"
    "scenario path) for the traffic and SLOs in PLAN.json, and answers two questions:\n"
    "  capacity  for each configuration, the highest multiple of the workload's recorded\n"
    "            arrival rate at which the SLOs hold (P90 TTFT and TPOT by default, no\n"
    "            rejections, and a backlog that drains), found by bracketing + bisection;\n"
    "  cheapest  for each target multiple, the configuration meeting the SLOs at the lowest\n"
    "            cost per hour, and its cost per million output tokens.\n"
    "Invalid configurations (model does not fit, TP does not divide the heads, over the GPU\n"
    "or cost budget) are pruned with the reason recorded, not run.\n\n"
    "Writes into the output directory: results.csv and results.json (one row per\n"
    "configuration), results.jsonl (the resumable log: a rerun skips finished points; --fresh\n"
    "starts over), pareto_cost.{dat,gp,png}, pareto_latency.{dat,gp,png},\n"
    "recommendation.md and plan.json. Same plan and seed = byte-identical tables, however\n"
    "many threads or MPI ranks ran it.\n\n"
    "MPI: %s. Under mpirun (e.g. mpirun -n 4 servesim plan PLAN.json) rank 0 hands\n"
    "configurations to whichever rank is free and writes the one table.\n\n"
    "Plan file keys: name, base (scenario file), set ({path: value} for every run), space\n"
    "({path: [values]} or {path: {from, to, step|factor}}), constraints (max_gpus,\n"
    "max_cost_per_hour), slo (ttft, tpot, percentile, max_drain_s, max_rejected_fraction),\n"
    "search (mode capacity|targets, start, min, max, tolerance, targets, window_s). --set and\n"
    "--catalog apply to every configuration. See docs/plan.md.",
    plan_mpi_available () ? "built with MPI" : "not available (configure found no Open MPI/MPICH)");
  g_option_context_set_summary (ctx, summary);
  g_free (summary);
  cli_add_common (ctx, &o);
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out, "Output directory (default plan-out)", "DIR" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
      "Configurations run at once (default: number of CPUs; under MPI: threads on rank 0 "
      "besides dispatching, default 1)", "N" },
    { "fresh", 0, 0, G_OPTION_ARG_NONE, &fresh, "Ignore and replace an earlier run's log", NULL },
    { "list", 'l', 0, G_OPTION_ARG_NONE, &list,
      "List the configurations, their GPUs, cost and pruning reason, and run nothing", NULL },
    { "mpi", 0, 0, G_OPTION_ARG_NONE, &use_mpi,
      "Use MPI even if the environment does not look like mpirun's", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet, "Print no summary and no progress", NULL },
    { "no-render", 0, 0, G_OPTION_ARG_NONE, &o.no_render, "Write plot scripts but do not run gnuplot",
      NULL },
    { NULL }
  };
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  int rc = 1, rank = 0, size = 1;
  gboolean mpi = FALSE;
  PlanSpec *spec = NULL;
  GPtrArray *results = NULL;
  PlanLog *log = NULL;
  GPtrArray *sets = g_ptr_array_new_with_free_func (g_free);
  PolicyRegistry *reg = policy_registry_new ();
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    goto out;
  if (argc != 2) {
    g_set_error (&error, PLAN_ERROR, PLAN_ERROR_SPEC,
                 "expected one plan file (got %d arguments); see 'servesim plan --help'", argc - 1);
    goto out;
  }
  if (jobs < 0) {
    g_set_error (&error, PLAN_ERROR, PLAN_ERROR_SPEC, "--jobs: expected 0 or more, got %d", jobs);
    goto out;
  }
  if (o.catalog)
    g_ptr_array_add (sets, g_strdup_printf ("catalog=\"%s\"", o.catalog));
  for (char **s = o.sets; s && *s; s++)
    g_ptr_array_add (sets, g_strdup (*s));
  g_ptr_array_add (sets, NULL);
  const char *out_dir = o.out ? o.out : "plan-out";

  if (list) {
    if (!(spec = plan_spec_load (argv[1], (char **) sets->pdata, &error)))
      goto out;
    guint n = plan_spec_n_configs (spec), pruned = 0;
    printf ("index\tgpus\tcost_per_hour\tconfiguration\tpruned\n");
    for (guint i = 0; i < n; i++) {
      int gpus = 0;
      double cost = 0;
      char *why = NULL, *label = plan_spec_config_label (spec, i);
      gboolean runs = plan_config_check (spec, reg, i, &gpus, &cost, &why);
      pruned += !runs;
      char *c = isnan (cost) ? g_strdup ("?") : g_strdup_printf ("%.2f", cost);
      printf ("%u\t%d\t%s\t%s\t%s\n", i, gpus, c, label, runs ? "" : why);
      g_free (c);
      g_free (label);
      g_free (why);
    }
    fprintf (stderr, "%u configurations: %u would run, %u pruned\n", n, n - pruned, pruned);
    rc = 0;
    goto out;
  }
  if (plan_mpi_launched () && !plan_mpi_available ()) {
    g_set_error (&error, PLAN_ERROR, PLAN_ERROR_MPI,
                 "started by mpirun, but this servesim was built without MPI: every rank would run "
                 "the whole sweep into the same directory. Install Open MPI or MPICH and re-run "
                 "configure, or run without mpirun");
    goto out;
  }
  if (use_mpi || (plan_mpi_available () && plan_mpi_launched ())) {
    if (!plan_mpi_init (&rank, &size, &error))
      goto out;
    mpi = TRUE;
  }
  /* every rank loads the plan; rank 0 also resumes and opens the log. Under
   * MPI the ranks agree before the sweep, so one failing does not hang the rest. */
  spec = plan_spec_load (argv[1], (char **) sets->pdata, &error);
  gboolean verbose = rank == 0 && !o.quiet;
  PlanProgress fin = { 0 };
  Progress pr = { FALSE };
  gboolean tty = verbose && isatty (STDERR_FILENO);
  if (spec && rank == 0) {
    results = plan_results_new (spec);
    if (fresh) {
      char *p = g_build_filename (out_dir, "results.jsonl", NULL);
      g_unlink (p);
      g_free (p);
    }
    if (fresh || plan_results_resume (spec, out_dir, results, &error) >= 0)
      log = plan_log_open (out_dir, &error);
  }
  gboolean ready = spec && (rank != 0 || log);
  if (mpi && !plan_mpi_all_ok (ready)) {
    if (!error)
      g_set_error (&error, PLAN_ERROR, PLAN_ERROR_MPI, "another rank failed before the sweep");
    goto out;
  }
  if (!ready)
    goto out;
  if (verbose) {
    printf ("servesim plan %s: %u configurations; workload at 1x: %.3f req/s", argv[1],
            plan_spec_n_configs (spec), plan_spec_base_rate (spec));
    guint threads = jobs ? (guint) jobs : mpi ? 1 : g_get_num_processors ();
    if (mpi)
      printf ("; %d MPI rank%s, rank 0 also runs %u thread%s\n", size, size > 1 ? "s" : "",
              threads, threads > 1 ? "s" : "");
    else
      printf ("; %u thread%s\n", threads, threads > 1 ? "s" : "");
    fflush (stdout);
  }
  gboolean ok = mpi ? plan_sweep_mpi (spec, reg, results, log, jobs ? (guint) jobs : 1,
                                      tty ? show_progress : NULL, &pr, &fin, &error)
                    : plan_sweep_local (spec, reg, results, log, (guint) jobs,
                                        tty ? show_progress : NULL, &pr, &fin, &error);
  if (pr.shown)
    fprintf (stderr, "\r%*s\r", 130, "");
  if (!ok)
    goto out;
  if (rank == 0) {
    GString *notes = g_string_new (NULL);
    gboolean w = plan_report_write (spec, results, out_dir, !o.no_render, notes, &error);
    if (w && verbose) {
      guint ran = fin.done - fin.resumed;
      printf ("  %u configurations done: %u run now (%u pruned), %u resumed from %s/results.jsonl\n",
              fin.done, ran, fin.pruned, fin.resumed, out_dir);
      printf ("  %" G_GUINT64_FORMAT " simulations in %.1f s wall: %.2f configurations/s, %.1f "
              "simulations/s\n\n", fin.sims, fin.elapsed_s,
              fin.elapsed_s > 0 ? ran / fin.elapsed_s : 0.0,
              fin.elapsed_s > 0 ? fin.sims / fin.elapsed_s : 0.0);
      char *rec = plan_report_recommendation (spec, results);
      fputs (rec, stdout);
      g_free (rec);
      printf ("\n  outputs in %s/ (results.csv, results.json, recommendation.md, pareto_cost.png, "
              "pareto_latency.png, plan.json, results.jsonl)\n%s", out_dir, notes->str);
    }
    g_string_free (notes, TRUE);
    if (!w)
      goto out;
  }
  rc = 0;
out:
  if (error) {
    if (rank == 0 || !g_error_matches (error, PLAN_ERROR, PLAN_ERROR_MPI)) {
      if (size > 1)
        fprintf (stderr, "servesim plan: rank %d: %s\n", rank, error->message);
      else
        fprintf (stderr, "servesim plan: %s\n", error->message);
    }
    g_error_free (error);
  }
  plan_log_close (log);
  if (results)
    g_ptr_array_free (results, TRUE);
  plan_spec_free (spec);
  if (mpi)
    plan_mpi_finalize ();
  g_ptr_array_free (sets, TRUE);
  policy_registry_free (reg);
  cli_common_clear (&o);
  g_option_context_free (ctx);
  return rc;
}
