/* tests/plan/test_plan.c — plan/: the plan file, pruning, the capacity
 * search, sweeps (threads, resume) and the report.
 *
 * The capacity case is hand-computable: one replica running the serial
 * `template` scheduler, requests of a fixed 1,024-token prompt and one output
 * token, arriving almost evenly (gamma inter-arrivals, CV 0.01). Each request
 * takes exactly one prefill iteration of S seconds (from the cost model), so
 * the replica keeps up while the rate is below 1/S and the queue grows
 * without bound above it: the capacity is 1/S requests/s, and with a TTFT SLO
 * of 1.5 S the search must land within a few percent of it, in a number of
 * simulations fixed by the bracketing arithmetic. Pruning is checked reason by
 * reason; resume, thread counts and the single-process table are compared
 * byte for byte. The MPI comparison is tests/plan/mpi_sweep.sh. Small
 * synthetic workloads only; nothing depends on wall-clock time.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/catalog.h"
#include "models/cost.h"
#include "plan/plan.h"
#include "policies/registry.h"
#include "tests/testutil.h"

static char *tmp;

static char *
slurp (const char *dir, const char *name)
{
  char *p = g_build_filename (dir, name, NULL);
  char *t = NULL;
  gsize len = 0;
  gboolean ok = g_file_get_contents (p, &t, &len, NULL);
  g_free (p);
  return ok ? t : NULL;
}

/* The serial one-request case: returns S, the prefill time of one request. */
static double
serial_service_time (void)
{
  ModelCatalog *cat = model_catalog_new ();
  GError *e = NULL;
  if (!model_catalog_load_default (cat, &e))
    g_error ("catalog: %s", e->message);
  const ModelLlm *llm = model_catalog_llm (cat, "llama-3.1-8b", NULL);
  const ModelGpu *gpu = model_catalog_gpu (cat, "h100-sxm", NULL);
  ModelCost c;
  model_cost_init (&c, llm, gpu, 1);
  ModelSeqWork w = { 1024, 0 };
  ModelIterCost it;
  model_cost_iteration (&c, &w, 1, &it);
  double s = model_iter_ns (&it) / 1e9;
  model_catalog_free (cat);
  return s;
}

#define SERIAL_SET \
  "\"set\": {\"model\": \"llama-3.1-8b\", \"cluster.gpu\": \"h100-sxm\", \"cluster.tp\": 1,"   \
  " \"scheduler\": {\"name\": \"template\"}, \"workload.trace\": null,"                      \
  " \"workload.generator.arrival\": \"gamma\", \"workload.generator.cv\": 0.01,"            \
  " \"workload.generator.rate\": 1, \"workload.generator.num_requests\": 300,"              \
  " \"workload.generator.lengths\": \"fixed\", \"workload.generator.prompt_tokens\": 1024," \
  " \"workload.generator.output_tokens\": 1}"

static PlanSpec *
load (const char *text, GError **e)
{
  return plan_spec_load_data (text, "test.json", NULL, NULL, e);
}

static void
t_capacity_hand_computed (void)
{
  double S = serial_service_time ();
  CU_ASSERT_FATAL (S > 0.001 && S < 1);
  char *text = g_strdup_printf ("{\"name\": \"serial\", " SERIAL_SET ", "
                                "\"space\": {\"cluster.replicas\": [1]},"
                                "\"slo\": {\"ttft\": %.9g},"
                                "\"search\": {\"tolerance\": 0.01, \"max\": 4096}}", 1.5 * S);
  GError *e = NULL;
  PlanSpec *spec = load (text, &e);
  g_free (text);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  CU_ASSERT_EQUAL (plan_spec_n_configs (spec), 1);
  double r0 = plan_spec_base_rate (spec);
  CU_ASSERT (fabs (r0 - 1) < 0.1); /* the generator's 1 req/s, measured */
  PolicyRegistry *reg = policy_registry_new ();
  guint sims = 0;
  json_t *r = plan_evaluate (spec, reg, 0, NULL, &sims);
  CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (r, "status")), "ok");
  double cap = json_number_value (json_object_get (r, "capacity_rps"));
  double x = json_number_value (json_object_get (r, "capacity_x"));
  double hi = json_number_value (json_object_get (r, "bracket_hi_x"));
  /* capacity 1/S within the tolerance plus the jitter of the arrivals */
  CU_ASSERT (fabs (cap * S - 1) < 0.03);
  CU_ASSERT (hi / x <= 1.01 + 1e-9 && hi > x);
  const char *b = json_string_value (json_object_get (r, "binding"));
  CU_ASSERT (strcmp (b, "ttft") == 0 || strcmp (b, "queue") == 0);
  /* simulations: doubling 1, 2, 4, ... to the first failing power of two
   * (j + 1 runs), then bisection from a factor-2 bracket to 1%: 2^(2^-k) <= 1.01
   * needs k = 7 */
  double xstar = 1 / (S * r0);
  double j = ceil (log2 (xstar));
  if (fabs (xstar / exp2 (round (log2 (xstar))) - 1) > 0.04) /* not too close to a power of 2 */
    CU_ASSERT_EQUAL (sims, (guint) j + 1 + 7);
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (r, "sims")), sims);
  /* at capacity: no queue, TTFT = S exactly for most requests */
  json_t *at = json_object_get (r, "at_capacity");
  CU_ASSERT (fabs (json_number_value (json_object_get (at, "ttft_p_s")) - S) < 0.5 * S);
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (at, "rejected")), 0);
  json_decref (r);

  /* one point below and one above 1/S, directly */
  const char *bind = NULL;
  CU_ASSERT (plan_run_point (spec, reg, 0, 0.8 * xstar, NULL, &bind, NULL, &e));
  CU_ASSERT_PTR_NULL (bind);
  CU_ASSERT_FALSE (plan_run_point (spec, reg, 0, 1.25 * xstar, NULL, &bind, NULL, &e));
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_PTR_NOT_NULL (bind);
  policy_registry_free (reg);
  plan_spec_free (spec);
}

static void
t_targets_mode (void)
{
  double S = serial_service_time ();
  char *text = g_strdup_printf ("{" SERIAL_SET ", \"space\": {\"cluster.replicas\": [1, 2]},"
                                "\"slo\": {\"ttft\": %.9g},"
                                "\"search\": {\"mode\": \"targets\", \"targets\": [%.9g, %.9g, %.9g]}}",
                                1.5 * S, 0.5 / S, 0.7 / S, 1.6 / S);
  GError *e = NULL;
  PlanSpec *spec = load (text, &e);
  g_free (text);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  PolicyRegistry *reg = policy_registry_new ();
  /* one replica: meets 0.5/S and 0.7/S (inferred from 0.7 passing), not 1.6/S */
  guint sims;
  json_t *r = plan_evaluate (spec, reg, 0, NULL, &sims);
  json_t *t = json_object_get (r, "targets");
  CU_ASSERT_EQUAL (json_array_size (t), 3);
  CU_ASSERT (json_is_true (json_object_get (json_array_get (t, 0), "meets")));
  CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (json_array_get (t, 0), "how")), "inferred");
  CU_ASSERT (json_is_true (json_object_get (json_array_get (t, 1), "meets")));
  CU_ASSERT (json_is_false (json_object_get (json_array_get (t, 2), "meets")));
  CU_ASSERT_EQUAL (sims, 2); /* 1.6/S fails, 0.7/S passes, 0.5/S follows */
  json_decref (r);
  /* two round-robin replicas: 1.6/S is 0.8/S each, and passes */
  r = plan_evaluate (spec, reg, 1, NULL, &sims);
  t = json_object_get (r, "targets");
  CU_ASSERT (json_is_true (json_object_get (json_array_get (t, 2), "meets")));
  CU_ASSERT_EQUAL (sims, 1);
  json_decref (r);
  policy_registry_free (reg);
  plan_spec_free (spec);
}

/* window_s: each run takes the first ceil(x r0 W) + 1 requests at x times the
 * average rate; without it, every request of the base workload. */
static void
t_window (void)
{
  GError *e = NULL;
  PlanSpec *spec = load ("{\"set\": {\"workload.trace\": null, \"workload.generator.num_requests\": 400,"
                         " \"workload.generator.rate\": 4, \"workload.generator.output_tokens\": 8},"
                         " \"space\": {\"cluster.replicas\": [4]}, \"slo\": {\"ttft\": 5},"
                         " \"search\": {\"window_s\": 10}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  double r0 = plan_spec_base_rate (spec);
  PolicyRegistry *reg = policy_registry_new ();
  const double xs[] = { 0.5, 2, 100 };
  for (guint k = 0; k < G_N_ELEMENTS (xs); k++) {
    const char *b = NULL;
    json_t *m = NULL;
    CU_ASSERT (plan_run_point (spec, reg, 0, xs[k], NULL, &b, &m, &e));
    gint64 want = (gint64) ceil (xs[k] * r0 * 10) + 1;
    if (want > 400)
      want = 400; /* the whole workload, scaled */
    CU_ASSERT_EQUAL (json_integer_value (json_object_get (m, "arrived")), want);
    CU_ASSERT (fabs (json_number_value (json_object_get (m, "offered_rps")) - xs[k] * r0) < 1e-9);
    json_decref (m);
  }
  policy_registry_free (reg);
  plan_spec_free (spec);
}

/* A cost cache kept across runs (as plan_evaluate keeps one per
 * configuration) gives the same metrics as none, also when the next run is
 * another configuration (TP 2 after TP 1: the cache must rebuild, not reuse
 * TP 1's cost model). */
static void
t_cost_cache (void)
{
  GError *e = NULL;
  PlanSpec *spec = load ("{\"set\": {\"workload.trace\": null, \"workload.generator.num_requests\": 120,"
                         " \"workload.generator.rate\": 4, \"workload.generator.lengths\": \"uniform\","
                         " \"cluster.gpu\": \"h100-sxm\"},"
                         " \"space\": {\"cluster.tp\": [1, 2]}, \"slo\": {\"ttft\": 5}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  PolicyRegistry *reg = policy_registry_new ();
  ServeCostCache *cache = serve_cost_cache_new ();
  const struct { guint cfg; double x; } runs[] = { { 0, 1 }, { 0, 6 }, { 1, 6 }, { 1, 1 }, { 0, 1 } };
  for (guint k = 0; k < G_N_ELEMENTS (runs); k++) {
    const char *b1 = NULL, *b2 = NULL;
    json_t *m1 = NULL, *m2 = NULL;
    gboolean p1 = plan_run_point (spec, reg, runs[k].cfg, runs[k].x, cache, &b1, &m1, &e);
    gboolean p2 = plan_run_point (spec, reg, runs[k].cfg, runs[k].x, NULL, &b2, &m2, &e);
    CU_ASSERT_PTR_NULL (e);
    CU_ASSERT_EQUAL (p1, p2);
    CU_ASSERT_STRING_EQUAL (b1 ? b1 : "", b2 ? b2 : "");
    CU_ASSERT_PTR_NOT_NULL_FATAL (m1);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m2);
    CU_ASSERT (json_equal (m1, m2));
    json_decref (m1);
    json_decref (m2);
  }
  serve_cost_cache_free (cache);
  policy_registry_free (reg);
  plan_spec_free (spec);
}

/* Pruned configurations: each reason, and nothing simulated. */
static void
t_pruning (void)
{
  const char *text =
    "{\"set\": {\"workload.trace\": null, \"workload.generator.num_requests\": 50},"
    " \"space\": {"
    "   \"model\": [\"llama-3.1-70b\"],"
    "   \"cluster.gpu\": [\"l4\", \"h100-sxm\"],"
    "   \"cluster.tp\": [1, 3, 8],"
    "   \"cluster.replicas\": [1, 4],"
    "   \"scheduler\": [{\"name\": \"vllm\"}, {\"name\": \"vllm\", \"max_batch_size\": 0},"
    "                   {\"name\": \"nope\"}]"
    " },"
    " \"constraints\": {\"max_gpus\": 8, \"max_cost_per_hour\": 40},"
    " \"slo\": {\"ttft\": 2, \"tpot\": 0.1}}";
  GError *e = NULL;
  PlanSpec *spec = load (text, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  CU_ASSERT_EQUAL (plan_spec_n_configs (spec), 2 * 3 * 2 * 3);
  PolicyRegistry *reg = policy_registry_new ();
  /* index = ((gpu * 3 + tp) * 2 + replicas) * 3 + scheduler */
  struct { guint gpu, tp, rep, sch; const char *code; const char *needle; } cases[] = {
    { 1, 0, 0, 0, "memory", "GiB" },                      /* 70B on one H100 */
    { 1, 1, 0, 0, "tp-heads", "TP 3" },                   /* 64 heads / 3 */
    { 1, 2, 1, 0, "gpu-budget", "32 GPUs" },              /* 4 x TP 8 > 8 */
    { 1, 2, 0, 1, "bad-parameter", "max_batch_size" },    /* 0 is out of range */
    { 1, 2, 0, 2, "unknown-scheduler", "nope" },
    { 0, 2, 0, 0, "cost-unknown", "l4" },                 /* no price for the L4 */
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
    guint i = ((cases[k].gpu * 3 + cases[k].tp) * 2 + cases[k].rep) * 3 + cases[k].sch;
    guint sims = 99;
    json_t *r = plan_evaluate (spec, reg, i, NULL, &sims);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (r, "status")), "pruned");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (r, "binding")), cases[k].code);
    const char *why = json_string_value (json_object_get (r, "reason"));
    CU_ASSERT (why && strstr (why, cases[k].needle) != NULL);
    if (!why || !strstr (why, cases[k].needle))
      fprintf (stderr, "\n    case %u: %s\n", k, why ? why : "(null)");
    CU_ASSERT_EQUAL (sims, 0);
    json_decref (r);
  }
  /* 8 x H100 at $3.99 = $31.92/h: within the $40 budget, so it runs (not
   * evaluated here: 70B is slow to simulate); 16 GPUs would be over it */
  plan_spec_free (spec);
  /* TP 16 over 8 KV heads replicates each KV head (as the cost model and
   * vLLM allow): not a tp-heads prune, here the GPU budget's */
  spec = load ("{\"set\": {\"workload.trace\": null, \"model\": \"llama-3.1-70b\"},"
               " \"space\": {\"cluster.tp\": [16]}, \"constraints\": {\"max_gpus\": 8},"
               " \"slo\": {\"ttft\": 2}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  json_t *r16 = plan_evaluate (spec, reg, 0, NULL, NULL);
  CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (r16, "binding")), "gpu-budget");
  json_decref (r16);
  plan_spec_free (spec);
  spec = load ("{\"set\": {\"workload.trace\": null, \"workload.generator.num_requests\": 20},"
               " \"space\": {\"cluster.replicas\": [3, 4]},"
               " \"constraints\": {\"max_cost_per_hour\": 12}, \"slo\": {\"ttft\": 2}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  json_t *r = plan_evaluate (spec, reg, 1, NULL, NULL);
  CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (r, "binding")), "cost-budget");
  CU_ASSERT (fabs (json_number_value (json_object_get (r, "cost_per_hour")) - 4 * 3.99) < 1e-9);
  json_decref (r);
  r = plan_evaluate (spec, reg, 0, NULL, NULL); /* 3 x $3.99 = $11.97 */
  CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (r, "status")), "ok");
  json_decref (r);
  plan_spec_free (spec);
  /* a decode pool of its own (disaggregation): GPUs and cost count both
   * pools; 1 H100 prefilling + 2 A100s at TP 2 decoding = 5 GPUs */
  ModelCatalog *cat = model_catalog_new ();
  CU_ASSERT_TRUE_FATAL (model_catalog_load_default (cat, NULL));
  const ModelGpu *a100 = model_catalog_gpu (cat, "a100-80gb", NULL);
  spec = load ("{\"set\": {\"workload.trace\": null, \"workload.generator.num_requests\": 20,"
               " \"cluster.replicas\": 3, \"cluster.prefill_replicas\": 1,"
               " \"cluster.decode_gpu\": \"a100-80gb\"},"
               " \"space\": {\"cluster.decode_tp\": [2, 3]}, \"constraints\": {\"max_gpus\": 6},"
               " \"slo\": {\"ttft\": 2}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  int gpus = 0;
  double cph = 0;
  char *why = NULL;
  CU_ASSERT_TRUE (plan_config_check (spec, reg, 0, &gpus, &cph, &why));
  CU_ASSERT_EQUAL (gpus, 5);
  CU_ASSERT_PTR_NOT_NULL (a100);
  if (a100 && !isnan (a100->price_per_hour))
    CU_ASSERT_DOUBLE_EQUAL (cph, 3.99 + 4 * a100->price_per_hour, 1e-9);
  model_catalog_free (cat);
  g_free (why);
  CU_ASSERT_FALSE (plan_config_check (spec, reg, 1, &gpus, NULL, &why));   /* TP 3 */
  CU_ASSERT (why && strstr (why, "tp-heads: cluster.decode_tp 3") != NULL);
  g_free (why);
  plan_spec_free (spec);
  /* pipeline parallelism: replicas x TP x PP GPUs */
  spec = load ("{\"set\": {\"workload.trace\": null, \"cluster.replicas\": 2, \"cluster.tp\": 2},"
               " \"space\": {\"cluster.pp\": [2, 33]}, \"slo\": {\"ttft\": 2}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  CU_ASSERT_TRUE (plan_config_check (spec, reg, 0, &gpus, &cph, &why));
  CU_ASSERT_EQUAL (gpus, 8);
  CU_ASSERT_DOUBLE_EQUAL (cph, 8 * 3.99, 1e-9);
  g_free (why);
  CU_ASSERT_FALSE (plan_config_check (spec, reg, 1, NULL, NULL, &why));   /* 33 > 32 layers */
  CU_ASSERT (why && g_str_has_prefix (why, "invalid: cluster.pp: 33 stages for llama-3.1-8b's 32 layers"));
  g_free (why);
  plan_spec_free (spec);
  /* without a decode pool the same configuration is the one without them */
  spec = load ("{\"set\": {\"workload.trace\": null}, \"space\": {\"cluster.decode_tp\": [2]},"
               " \"slo\": {\"ttft\": 2}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  CU_ASSERT_FALSE (plan_config_check (spec, reg, 0, NULL, NULL, &why));
  CU_ASSERT (why && g_str_has_prefix (why, "no-decode-pool: "));
  g_free (why);
  policy_registry_free (reg);
  plan_spec_free (spec);
}

/* Bad plan files: each error names the file and the key, and says what was expected. */
static void
t_bad_plans (void)
{
  struct { const char *text; const char *needle; } cases[] = {
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1}", "test.json:1" },
    { "[1]", "must be a JSON object" },
    { "{\"spaces\": {}}", "spaces: unknown key" },
    { "{\"space\": {}, \"slo\": {\"ttft\": 1}}", "non-empty object" },
    { "{\"space\": {\"cluster.gpux\": [\"l4\"]}, \"slo\": {\"ttft\": 1}}", "space.cluster.gpux" },
    { "{\"space\": {\"cluster.tp\": [\"two\"]}, \"slo\": {\"ttft\": 1}}", "expected an integer" },
    { "{\"space\": {\"workload.limit\": [1, 2]}, \"slo\": {\"ttft\": 1}}", "cannot be searched" },
    { "{\"space\": {\"cluster.tp\": []}, \"slo\": {\"ttft\": 1}}", "no values" },
    { "{\"space\": {\"cluster.tp\": {\"from\": 8, \"to\": 1, \"step\": 1}}, \"slo\": {\"ttft\": 1}}", "from" },
    { "{\"space\": {\"cluster.tp\": {\"from\": 1, \"to\": 8}}, \"slo\": {\"ttft\": 1}}", "exactly one" },
    { "{\"space\": {\"cluster.tp\": 4}, \"slo\": {\"ttft\": 1}}", "expected a list" },
    { "{\"space\": {\"cluster.tp\": [1]}}", "slo: set at least one" },
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": -1}}", "slo.ttft: must be between" },
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1, \"p90\": 1}}", "slo.p90: unknown key" },
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1}, \"search\": {\"start\": 0.001, \"min\": 0.1}}",
      "min <= start <= max" },
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1}, \"search\": {\"targets\": [2, -1]}}",
      "search.targets[1]" },
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1}, \"search\": {\"mode\": \"targets\"}}",
      "needs search.targets" },
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1}, \"search\": {\"mode\": \"fast\"}}",
      "search.mode" },
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1}, \"set\": [\"nope\"]}", "set[0]" },
    { "{\"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1}, \"set\": {\"workload.trace\": \"/nonexistent.csv\"}}",
      "nonexistent.csv" },
    { "{\"base\": \"missing-scenario.json\", \"space\": {\"cluster.tp\": [1]}, \"slo\": {\"ttft\": 1}}",
      "missing-scenario.json" },
  };
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
    GError *e = NULL;
    PlanSpec *spec = load (cases[k].text, &e);
    CU_ASSERT_PTR_NULL (spec);
    CU_ASSERT_PTR_NOT_NULL (e);
    if (e && !strstr (e->message, cases[k].needle)) {
      fprintf (stderr, "\n    case %u: '%s' lacks '%s'\n", k, e->message, cases[k].needle);
      CU_FAIL ("error message");
    }
    plan_spec_free (spec);
    g_clear_error (&e);
  }
  GError *e = NULL;
  CU_ASSERT_PTR_NULL (plan_spec_load ("/nonexistent/plan.json", NULL, &e));
  CU_ASSERT (e && strstr (e->message, "/nonexistent/plan.json"));
  g_clear_error (&e);
}

static void
t_space_enumeration (void)
{
  GError *e = NULL;
  PlanSpec *spec = load ("{\"set\": {\"workload.trace\": null, \"workload.generator.num_requests\": 20},"
                         " \"space\": {\"cluster.gpu\": [\"h100-sxm\", \"a100-80gb\"],"
                         "   \"cluster.tp\": {\"from\": 1, \"to\": 8, \"factor\": 2},"
                         "   \"scheduler.max_batch_size\": {\"from\": 32, \"to\": 96, \"step\": 32}},"
                         " \"slo\": {\"tpot\": 0.1}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  CU_ASSERT_EQUAL (plan_spec_n_configs (spec), 2 * 4 * 3);
  char *l = plan_spec_config_label (spec, 0);
  CU_ASSERT_STRING_EQUAL (l, "h100-sxm tp=1 max_batch_size=32");
  g_free (l);
  l = plan_spec_config_label (spec, 23); /* last dimension fastest */
  CU_ASSERT_STRING_EQUAL (l, "a100-80gb tp=8 max_batch_size=96");
  g_free (l);
  char **sets = plan_spec_config_sets (spec, 5);
  guint n = g_strv_length (sets);
  CU_ASSERT_STRING_EQUAL (sets[n - 3], "cluster.gpu=\"h100-sxm\"");
  CU_ASSERT_STRING_EQUAL (sets[n - 2], "cluster.tp=2");
  CU_ASSERT_STRING_EQUAL (sets[n - 1], "scheduler.max_batch_size=96");
  g_strfreev (sets);
  CU_ASSERT_EQUAL (strlen (plan_spec_fingerprint (spec)), 64);
  plan_spec_free (spec);
}

/* ---- sweeps ---------------------------------------------------------------- */

static const char sweep_plan[] =
  "{\"name\": \"tiny\", \"set\": {\"workload.trace\": null, \"workload.generator.num_requests\": 60,"
  "   \"workload.generator.lengths\": \"uniform\", \"workload.generator.prompt_max\": 512,"
  "   \"workload.generator.output_max\": 64, \"workload.generator.rate\": 2},"
  " \"space\": {\"cluster.gpu\": [\"h100-sxm\", \"a100-80gb\", \"l4\"], \"cluster.replicas\": [1, 2],"
  "   \"cluster.tp\": [1, 3]},"
  " \"slo\": {\"ttft\": 0.5, \"tpot\": 0.05},"
  " \"search\": {\"tolerance\": 0.1, \"targets\": [4, 16]}}";

static guint64
sweep (const char *text, const char *dir, guint jobs, guint *resumed)
{
  GError *e = NULL;
  PlanSpec *spec = load (text, &e);
  if (!spec)
    g_error ("%s", e->message);
  PolicyRegistry *reg = policy_registry_new ();
  GPtrArray *res = plan_results_new (spec);
  int got = plan_results_resume (spec, dir, res, &e);
  CU_ASSERT (got >= 0);
  if (resumed)
    *resumed = (guint) got;
  PlanLog *log = plan_log_open (dir, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (log);
  PlanProgress fin;
  CU_ASSERT (plan_sweep_local (spec, reg, res, log, jobs, NULL, NULL, &fin, &e));
  plan_log_close (log);
  CU_ASSERT (plan_report_write (spec, res, dir, FALSE, NULL, &e));
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL (fin.done, plan_spec_n_configs (spec));
  g_ptr_array_free (res, TRUE);
  policy_registry_free (reg);
  plan_spec_free (spec);
  return fin.sims;
}

static void
t_sweep_threads_and_resume (void)
{
  char *d1 = g_build_filename (tmp, "one", NULL), *d2 = g_build_filename (tmp, "two", NULL);
  guint resumed = 99;
  guint64 s1 = sweep (sweep_plan, d1, 1, &resumed);
  CU_ASSERT_EQUAL (resumed, 0);
  CU_ASSERT (s1 > 0);
  guint64 s2 = sweep (sweep_plan, d2, 2, NULL);
  CU_ASSERT_EQUAL (s1, s2);
  const char *files[] = { "results.csv", "results.json", "recommendation.md", "pareto_cost.dat",
                          "pareto_cost.gp", "pareto_latency.dat", "pareto_latency.gp", "plan.json" };
  char *ref[G_N_ELEMENTS (files)];
  for (guint k = 0; k < G_N_ELEMENTS (files); k++) {
    ref[k] = slurp (d1, files[k]);
    char *b = slurp (d2, files[k]);
    CU_ASSERT_PTR_NOT_NULL (ref[k]);
    CU_ASSERT (ref[k] && b && strcmp (ref[k], b) == 0); /* 1 thread == 2 threads, byte for byte */
    g_free (b);
  }
  /* the csv: header, 12 rows; l4 (no price) and tp=3 (32 heads / 3) pruned */
  char **rows = g_strsplit (ref[0], "\n", -1);
  CU_ASSERT_EQUAL (g_strv_length (rows), 14);
  CU_ASSERT (g_str_has_prefix (rows[0], "index,label,gpu,replicas,tp,status,gpus,"));
  CU_ASSERT (strstr (rows[2], ",tp-heads,") != NULL);
  CU_ASSERT (strstr (rows[1], ",ok,") != NULL);
  g_strfreev (rows);

  /* a rerun skips everything */
  guint64 s3 = sweep (sweep_plan, d1, 2, &resumed);
  CU_ASSERT_EQUAL (resumed, 12);
  CU_ASSERT_EQUAL (s3, 0);
  char *again = slurp (d1, "results.csv");
  CU_ASSERT (again && strcmp (again, ref[0]) == 0);
  g_free (again);

  /* a killed sweep: keep 5 lines and half of a sixth; the rerun runs the 7 others */
  char *log = slurp (d1, "results.jsonl");
  char **lines = g_strsplit (log, "\n", -1);
  GString *cut = g_string_new (NULL);
  for (guint k = 0; k < 5; k++)
    g_string_append_printf (cut, "%s\n", lines[k]);
  g_string_append_len (cut, lines[5], strlen (lines[5]) / 2);
  g_free (test_write_file (d1, "results.jsonl", cut->str));
  g_string_free (cut, TRUE);
  g_strfreev (lines);
  g_free (log);
  guint64 s4 = sweep (sweep_plan, d1, 2, &resumed);
  CU_ASSERT_EQUAL (resumed, 5);
  CU_ASSERT (s4 > 0 && s4 < s1);
  for (guint k = 0; k < G_N_ELEMENTS (files); k++) {
    char *b = slurp (d1, files[k]);
    CU_ASSERT (ref[k] && b && strcmp (ref[k], b) == 0);
    g_free (b);
  }
  /* the log now parses line by line (the torn line was closed off) */
  log = slurp (d1, "results.jsonl");
  lines = g_strsplit (log, "\n", -1);
  guint good = 0;
  for (char **l = lines; *l; l++) {
    json_t *j = json_loads (*l, 0, NULL);
    good += j != NULL;
    json_decref (j);
  }
  CU_ASSERT_EQUAL (good, 12);
  g_strfreev (lines);
  g_free (log);

  /* a configuration logged as failed is run again */
  log = slurp (d1, "results.jsonl");
  char *ok_at = strstr (log, "\"status\":\"ok\"");
  CU_ASSERT_PTR_NOT_NULL_FATAL (ok_at);
  GString *failed = g_string_new_len (log, ok_at - log);
  g_string_append (failed, "\"status\":\"error\"");
  g_string_append (failed, ok_at + strlen ("\"status\":\"ok\""));
  g_free (test_write_file (d1, "results.jsonl", failed->str));
  g_string_free (failed, TRUE);
  g_free (log);
  guint64 s6 = sweep (sweep_plan, d1, 2, &resumed);
  CU_ASSERT_EQUAL (resumed, 11);
  CU_ASSERT (s6 > 0);
  again = slurp (d1, "results.csv");
  CU_ASSERT (again && strcmp (again, ref[0]) == 0);
  g_free (again);

  /* changing an SLO changes the fingerprint: nothing is reused */
  char *changed = g_strdup (sweep_plan);
  char *p = strstr (changed, "\"ttft\": 0.5");
  g_assert (p);
  p[10] = '6'; /* 0.5 -> 0.6 */
  guint64 s5 = sweep (changed, d1, 2, &resumed);
  CU_ASSERT_EQUAL (resumed, 0);
  CU_ASSERT (s5 > 0);
  g_free (changed);
  for (guint k = 0; k < G_N_ELEMENTS (files); k++)
    g_free (ref[k]);
  g_free (d1);
  g_free (d2);
}

/* Report on hand-made results: Pareto front, cheapest, CSV quoting. */
static void
t_report (void)
{
  GError *e = NULL;
  PlanSpec *spec = load ("{\"name\": \"r\", \"set\": {\"workload.trace\": null, "
                         "\"workload.generator.num_requests\": 20},"
                         " \"space\": {\"cluster.replicas\": [1, 2, 3, 4, 5]},"
                         " \"slo\": {\"ttft\": 1}, \"search\": {\"targets\": [2]}}", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (spec);
  GPtrArray *res = plan_results_new (spec);
  /* cost, capacity, meets 2x */
  double pts[5][3] = { { 4, 3, 1 }, { 8, 2.5, 1 }, { 8, 6, 1 }, { 2, 1, 0 }, { 16, 5, 1 } };
  for (guint i = 0; i < 5; i++) {
    json_t *r = json_pack ("{s:i, s:s, s:s, s:f, s:f, s:f, s:i, s:s, s:i, s:[{s:f, s:b, s:f}], s:n}",
                           "index", i, "label", i == 2 ? "has,comma \"q\"" : "x", "status", "ok",
                           "cost_per_hour", pts[i][0], "capacity_x", pts[i][1], "capacity_rps",
                           pts[i][1] * 10, "gpus", 1, "binding", "ttft", "sims", 3, "targets", "x",
                           2.0, "meets", (int) pts[i][2], "cost_per_mtok", 1.0, "reason");
    json_object_set_new (r, "config", json_pack ("{s:i}", "cluster.replicas", i + 1));
    /* one on a GPU nobody measured: its cost model is another GPU's */
    if (i == 4)
      json_object_set_new (json_object_get (r, "config"), "cluster.gpu", json_string ("l40s"));
    g_ptr_array_index (res, i) = r;
  }
  GArray *f = plan_pareto_cost (res);
  /* cost 2 (cap 1), 4 (cap 3), 8 (cap 6); 8/2.5 and 16/5 are dominated */
  CU_ASSERT_EQUAL (f->len, 3);
  if (f->len == 3) {
    CU_ASSERT_EQUAL (g_array_index (f, guint, 0), 3);
    CU_ASSERT_EQUAL (g_array_index (f, guint, 1), 0);
    CU_ASSERT_EQUAL (g_array_index (f, guint, 2), 2);
  }
  g_array_free (f, TRUE);
  char *rec = plan_report_recommendation (spec, res);
  CU_ASSERT (strstr (rec, "**Recommended: x** — 1 GPU, $4.00/h") != NULL);
  CU_ASSERT (strstr (rec, "Cheaper configurations that miss the target") != NULL);
  /* where each GPU's times come from: the base scenario's GPU (the
   * configurations that do not sweep it) and the swept one */
  CU_ASSERT (strstr (rec, "## Cost models") != NULL);
  CU_ASSERT (strstr (rec, "- h100-sxm: its own calibrated profile") != NULL);
  CU_ASSERT (strstr (rec, "- l40s: **a100-80gb's profile, carried over**") != NULL);
  g_free (rec);
  char *d = g_build_filename (tmp, "report", NULL);
  CU_ASSERT (plan_report_write (spec, res, d, FALSE, NULL, &e));
  char *csv = slurp (d, "results.csv");
  CU_ASSERT (csv && strstr (csv, "\n2,\"has,comma \"\"q\"\"\",3,ok,") != NULL);
  char *js = slurp (d, "results.json");
  json_t *j = json_loads (js, 0, NULL);
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (json_array_get (json_object_get (j, "cheapest"), 0),
                                                        "index")), 0);
  json_decref (j);
  g_free (js);
  g_free (csv);
  g_free (d);
  g_ptr_array_free (res, TRUE);
  plan_spec_free (spec);
}

int
main (void)
{
  tmp = test_tmpdir ();
  static const TestCase cases[] = {
    { "capacity of a serial server is 1/S", t_capacity_hand_computed },
    { "targets mode settles lower targets from a pass", t_targets_mode },
    { "window_s: first k requests at x times the rate", t_window },
    { "a cost cache across runs changes nothing", t_cost_cache },
    { "pruning reasons, nothing simulated", t_pruning },
    { "bad plan files name the key", t_bad_plans },
    { "space enumeration, labels, overrides", t_space_enumeration },
    { "sweep: threads identical, resume, torn log, stale fingerprint", t_sweep_threads_and_resume },
    { "report: Pareto front, cheapest, CSV quoting", t_report },
    { NULL, NULL }
  };
  int rc = test_run_suite ("plan", cases);
  test_rmdir_r (tmp);
  g_free (tmp);
  return rc;
}
