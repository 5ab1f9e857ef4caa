/* plan/plan.h — what-if capacity planning (`servesim plan`).
 *
 * A plan file (JSON) names a base scenario, a search space (lists or ranges
 * of values for scenario paths such as cluster.gpu, cluster.tp,
 * scheduler.max_batch_size), constraints (GPU budget, cost per hour), SLOs
 * and search settings. This layer enumerates the configurations, prunes the
 * invalid ones with a recorded reason, finds each one's capacity (the highest
 * arrival-rate multiplier at which the SLOs hold) by bracketing and
 * bisection, runs the configurations concurrently (GLib threads) or over MPI
 * ranks (plan/mpi.c), keeps a resumable log, and writes the results table,
 * Pareto fronts, gnuplot scripts and a recommendation. Formulas and
 * decisions are in docs/plan.md.
 *
 * It does not own running a simulation (serve/), the cost model (models/) or
 * rendering (plots/); it drives them. Every configuration is an independent
 * in-memory run (output.dir = null), so evaluation is thread-safe given a
 * shared read-only PolicyRegistry and PlanSpec.
 *
 * Results are JSON objects (one per configuration, see docs/plan.md for the
 * keys); the results table is written from them in configuration order, so
 * a sweep run on one thread, many threads, many MPI ranks, or resumed from
 * its log produces byte-identical tables.
 */
#ifndef PLAN_PLAN_H
#define PLAN_PLAN_H

#include <glib.h>
#include <jansson.h>

#include "policies/registry.h"
#include "serve/world.h"

#define PLAN_ERROR (plan_error_quark ())
GQuark plan_error_quark (void);
typedef enum {
  PLAN_ERROR_SPEC, /* bad plan file (message: "file: key: what is wrong, what was expected") */
  PLAN_ERROR_IO,   /* output directory or log not writable */
  PLAN_ERROR_MPI   /* MPI requested but not built, or an MPI call failed */
} PlanErrorCode;

typedef struct PlanSpec PlanSpec;

/* ---- the plan file ------------------------------------------------------ */

/* Load and check a plan file. `sets` (NULL-terminated, may be NULL) are
 * scenario overrides ("path=value") applied to the base scenario of every
 * configuration, after the plan's own "set" list. The base scenario is
 * resolved and its workload read once here (to know the recorded arrival
 * rate). NULL with PLAN_ERROR_SPEC (or the scenario/trace error) on failure.
 * Free with plan_spec_free(). */
PlanSpec   *plan_spec_load (const char *path, char **sets, GError **error);
/* Same, from JSON text; relative paths in it resolve against `base_dir`. */
PlanSpec   *plan_spec_load_data (const char *json_text, const char *origin, const char *base_dir,
                                 char **sets, GError **error);
void        plan_spec_free (PlanSpec *spec);

/* Number of configurations (the Cartesian product of the space). */
guint       plan_spec_n_configs (const PlanSpec *spec);
/* Scenario overrides of configuration i, NULL-terminated (g_strfreev). */
char      **plan_spec_config_sets (const PlanSpec *spec, guint i);
/* Short human label, e.g. "llama-3.1-8b h100-sxm tp=2 replicas=1 vllm:max_batch_size=64" (g_free). */
char       *plan_spec_config_label (const PlanSpec *spec, guint i);
/* The arrival rate (requests/s) of the workload at multiplier 1. */
double      plan_spec_base_rate (const PlanSpec *spec);
/* Target multipliers of the "cheapest fleet" question; may be empty. */
const double *plan_spec_targets (const PlanSpec *spec, guint *n);
/* SHA-256 over everything that decides a point's result except the space
 * (base scenario resolved, SLOs, constraints, search settings, version).
 * Results carry it; a resumed sweep only reuses results with the same one. */
const char *plan_spec_fingerprint (const PlanSpec *spec);
/* The resolved plan (borrowed): what plan.json in the output holds. */
const json_t *plan_spec_json (const PlanSpec *spec);

/* ---- one configuration ------------------------------------------------- */

/* Evaluate configuration i: prune (reason recorded) or search its capacity
 * and check the targets. Never NULL: failures are results with status
 * "pruned" or "error". Caller json_decref()s. Thread-safe with one `cache`
 * per thread. `sims`, when non-NULL, receives the number of simulations run.
 * `cache` keeps the cost model across the runs (serve/world.h): NULL makes
 * one for this configuration; a worker passes its own so that consecutive
 * configurations of the same model, GPU and TP share it too. */
json_t     *plan_evaluate (const PlanSpec *spec, PolicyRegistry *reg, guint i,
                           ServeCostCache *cache, guint *sims);

/* The pruning check alone (no simulation): TRUE when configuration i would
 * run; FALSE with *reason ("code: explanation", g_free) when it is pruned.
 * *gpus and *cost_per_hour (NaN when the GPU has no price) are filled either
 * way when the scenario loads. Thread-safe. */
gboolean    plan_config_check (const PlanSpec *spec, PolicyRegistry *reg, guint i, int *gpus,
                               double *cost_per_hour, char **reason);

/* One simulation of configuration i at arrival-rate multiplier `mult`
 * (exposed for tests). Returns TRUE when the SLOs hold; otherwise FALSE with
 * *binding set to the most-violated limit ("ttft", "tpot", "queue",
 * "rejected"), or to "error" with *error set. `metrics` (may be NULL)
 * receives {ttft_p, tpot_p, drain_s, goodput_rps, output_tok_s, ...}.
 * `cache` (may be NULL) keeps the cost model between the simulations of one
 * configuration (serve/world.h); the results are the same without it. */
gboolean    plan_run_point (const PlanSpec *spec, PolicyRegistry *reg, guint i, double mult,
                            ServeCostCache *cache, const char **binding, json_t **metrics,
                            GError **error);

/* ---- sweeps ------------------------------------------------------------- */

typedef struct {
  guint   total;     /* configurations in the space */
  guint   done;      /* finished (including resumed and pruned) */
  guint   resumed;   /* taken from an earlier run's log */
  guint   pruned;
  guint64 sims;      /* simulations run in this process / gathered from ranks */
  double  elapsed_s; /* wall time since the sweep started */
} PlanProgress;

typedef void (*PlanProgressFn) (const PlanProgress *p, gpointer user);

/* An array of `n_configs` result slots (json_t *, NULL = not done). */
GPtrArray  *plan_results_new (const PlanSpec *spec);

/* Reads <out_dir>/results.jsonl when present and fills the slots whose
 * configuration and fingerprint match (unparseable or stale lines, and
 * configurations that failed to run, are skipped, so those run again; a torn
 * last line is normal after a kill). Returns the number
 * filled; -1 with PLAN_ERROR_IO when the file exists but cannot be read. */
int         plan_results_resume (const PlanSpec *spec, const char *out_dir, GPtrArray *results,
                                 GError **error);

/* Append-only log of finished points (<out_dir>/results.jsonl), one JSON line
 * each, flushed after every line; thread-safe. */
typedef struct PlanLog PlanLog;
PlanLog    *plan_log_open (const char *out_dir, GError **error);
gboolean    plan_log_append (PlanLog *log, const json_t *result, GError **error);
void        plan_log_close (PlanLog *log);

/* Evaluate every empty slot on `jobs` threads (0 = number of CPUs), logging
 * each result as it finishes. `progress` (may be NULL) is called from the
 * calling thread at most every 0.25 s and once at the end. FALSE with an
 * error only when the log cannot be written. */
gboolean    plan_sweep_local (const PlanSpec *spec, PolicyRegistry *reg, GPtrArray *results,
                              PlanLog *log, guint jobs, PlanProgressFn progress, gpointer user,
                              PlanProgress *final, GError **error);

/* ---- MPI (plan/mpi.c) ----------------------------------------------------- */

/* TRUE when this binary was built with MPI. */
gboolean    plan_mpi_available (void);
/* TRUE when the process looks like it was started by mpirun/mpiexec
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK in the environment). */
gboolean    plan_mpi_launched (void);
/* Initialise MPI; *rank and *size receive this process's place. FALSE with
 * PLAN_ERROR_MPI when not built with MPI. */
gboolean    plan_mpi_init (int *rank, int *size, GError **error);
void        plan_mpi_finalize (void);
/* Collective: TRUE when `ok` is TRUE on every rank (TRUE without MPI). */
gboolean    plan_mpi_all_ok (gboolean ok);
/* The sweep over MPI ranks: rank 0 hands out configuration indices one at a
 * time to whichever rank asks (dynamic load balancing), logs and collects
 * results into `results`, and evaluates on `local` threads of its own; other
 * ranks evaluate one configuration at a time. Only rank 0's `results`,
 * `log` and `progress` are used (others pass NULL). Every rank returns when
 * all is done; FALSE with PLAN_ERROR_MPI when the ranks loaded different
 * plans or a result was lost, PLAN_ERROR_IO when the log failed. */
gboolean    plan_sweep_mpi (const PlanSpec *spec, PolicyRegistry *reg, GPtrArray *results,
                            PlanLog *log, guint local, PlanProgressFn progress, gpointer user,
                            PlanProgress *final, GError **error);

/* ---- outputs (plan/report.c) -------------------------------------------- */

/* Writes results.json, results.csv, pareto_cost.{dat,gp}, pareto_latency.{dat,gp},
 * recommendation.md and plan.json into out_dir (atomically), and renders the
 * PNGs when `render` and gnuplot is installed (a missing gnuplot is noted in
 * *notes, not an error). Every slot must be filled. */
gboolean    plan_report_write (const PlanSpec *spec, GPtrArray *results, const char *out_dir,
                               gboolean render, GString *notes, GError **error);
/* The recommendation as Markdown (g_free). */
char       *plan_report_recommendation (const PlanSpec *spec, GPtrArray *results);
/* Indices (into results) of the Pareto front minimising cost per hour and
 * maximising capacity, among evaluated points with a known price and
 * capacity > 0; sorted by cost. g_array_unref. */
GArray     *plan_pareto_cost (GPtrArray *results);

#endif
