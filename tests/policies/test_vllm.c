/* tests/policies/test_vllm.c — policies/registry.c and policies/sched_vllm.c
 * (with policies/router_rr.c and policies/template.c as far as the registry
 * goes): lookup and listing by name, parameter resolution against a policy's
 * table, and the vLLM scheduler's limits observed through small runs of the
 * serving world (max_batch_size, max_batched_tokens, a prompt above the token
 * limit running alone). The world's own accounting is tested in
 * tests/serve/test_world.c.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "policies/registry.h"
#include "serve/metrics.h"
#include "serve/scenario.h"
#include "serve/world.h"
#include "tests/testutil.h"

static char *tmp;

static gboolean
contains (const char *hay, const char *needle)
{
  gboolean ok = hay && strstr (hay, needle) != NULL;
  if (!ok)
    fprintf (stderr, "\n    message '%s' lacks '%s'\n", hay ? hay : "(null)", needle);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* registry                                                                 */

static gboolean
strv_has (const char **v, const char *s)
{
  for (; *v; v++)
    if (strcmp (*v, s) == 0)
      return TRUE;
  return FALSE;
}

static void
test_registry_lists (void)
{
  PolicyRegistry *reg = policy_registry_new ();
  const char **s = policy_registry_scheduler_names (reg);
  CU_ASSERT_TRUE (strv_has (s, "vllm"));
  CU_ASSERT_TRUE (strv_has (s, "template"));
  guint n = 0;
  for (const char **p = s; *p; p++, n++)
    if (p != s)
      CU_ASSERT_TRUE (strcmp (p[-1], p[0]) < 0); /* sorted, unique */
  CU_ASSERT_TRUE (n >= 2);
  g_free (s);
  const char **r = policy_registry_router_names (reg);
  CU_ASSERT_TRUE (strv_has (r, "round-robin"));
  g_free (r);
  GError *e = NULL;
  const PolicySchedulerOps *v = policy_registry_scheduler (reg, "vllm", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (v);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_STRING_EQUAL (v->name, "vllm");
  CU_ASSERT_PTR_NOT_NULL (v->schedule);
  CU_ASSERT_PTR_NOT_NULL (v->description);
  CU_ASSERT_EQUAL (policy_params_count (v->params), 3);
  const PolicySchedulerOps *t = policy_registry_scheduler (reg, "template", &e);
  CU_ASSERT_PTR_NOT_NULL (t);
  const PolicyRouterOps *rr = policy_registry_router (reg, "round-robin", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (rr);
  CU_ASSERT_EQUAL (policy_params_count (rr->params), 0);
  policy_registry_free (reg);
}

static void
test_registry_unknown (void)
{
  PolicyRegistry *reg = policy_registry_new ();
  GError *e = NULL;
  CU_ASSERT_PTR_NULL (policy_registry_scheduler (reg, "orca2", &e));
  CU_ASSERT_TRUE_FATAL (g_error_matches (e, POLICY_ERROR, POLICY_ERROR_UNKNOWN));
  CU_ASSERT_TRUE (contains (e->message, "orca2"));
  CU_ASSERT_TRUE (contains (e->message, "template, vllm"));
  g_clear_error (&e);
  CU_ASSERT_PTR_NULL (policy_registry_router (reg, "random", &e));
  CU_ASSERT_TRUE_FATAL (g_error_matches (e, POLICY_ERROR, POLICY_ERROR_UNKNOWN));
  CU_ASSERT_TRUE (contains (e->message, "random"));
  CU_ASSERT_TRUE (contains (e->message, "round-robin"));
  g_clear_error (&e);
  /* a router name is not a scheduler name */
  CU_ASSERT_PTR_NULL (policy_registry_scheduler (reg, "round-robin", &e));
  g_clear_error (&e);
  policy_registry_free (reg);
}

/* A plug-in style registration. */
static void
dummy_schedule (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
}

static const PolicySchedulerOps dummy_ops = { .name = "dummy", .schedule = dummy_schedule };

static void
test_registry_add (void)
{
  PolicyRegistry *reg = policy_registry_new ();
  CU_ASSERT_TRUE (policy_registry_add_scheduler (reg, &dummy_ops));
  GError *e = NULL;
  CU_ASSERT_PTR_EQUAL (policy_registry_scheduler (reg, "dummy", &e), &dummy_ops);
  const char **s = policy_registry_scheduler_names (reg);
  CU_ASSERT_STRING_EQUAL (s[0], "dummy");
  g_free (s);
  policy_registry_free (reg);
}

/* ------------------------------------------------------------------------ */
/* parameters                                                               */

static const PolicyParam *
vllm_table (PolicyRegistry *reg)
{
  const PolicySchedulerOps *v = policy_registry_scheduler (reg, "vllm", NULL);
  g_assert (v);
  return v->params;
}

/* Resolves `json` against vLLM's table; returns the error message or NULL. */
static char *
resolve (const char *json, double *values, json_t **resolved_out)
{
  PolicyRegistry *reg = policy_registry_new ();
  json_error_t jerr;
  json_t *obj = json_loads (json, 0, &jerr);
  g_assert (obj);
  json_t *resolved = json_object ();
  double dummy[8];
  GError *e = NULL;
  gboolean ok = policy_params_resolve (vllm_table (reg), obj, "scheduler", values ? values : dummy,
                                       resolved, &e);
  char *msg = NULL;
  if (!ok) {
    CU_ASSERT_TRUE (g_error_matches (e, POLICY_ERROR, POLICY_ERROR_INVALID));
    msg = g_strdup (e ? e->message : "(no error set)");
  } else
    CU_ASSERT_PTR_NULL (e);
  g_clear_error (&e);
  if (resolved_out)
    *resolved_out = resolved;
  else
    json_decref (resolved);
  json_decref (obj);
  policy_registry_free (reg);
  return msg;
}

static void
test_params_defaults (void)
{
  double v[3] = { -1, -1, -1 };
  json_t *res = NULL;
  char *m = resolve ("{\"name\": \"vllm\"}", v, &res);
  CU_ASSERT_PTR_NULL (m);
  g_free (m);
  PolicyRegistry *reg = policy_registry_new ();
  const PolicyParam *t = vllm_table (reg);
  CU_ASSERT_DOUBLE_EQUAL (policy_param (t, v, "max_batch_size"), 256, 0);
  CU_ASSERT_DOUBLE_EQUAL (policy_param (t, v, "max_batched_tokens"), 8192, 0);
  CU_ASSERT_DOUBLE_EQUAL (policy_param (t, v, "watermark"), 0.01, 0);
  CU_ASSERT_TRUE (isnan (policy_param (t, v, "no_such_param")));
  /* every parameter is written into the resolved object, integers as integers */
  CU_ASSERT_EQUAL (json_object_size (res), 3);
  CU_ASSERT_TRUE (json_is_integer (json_object_get (res, "max_batch_size")));
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (res, "max_batch_size")), 256);
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (res, "max_batched_tokens")), 8192);
  CU_ASSERT_TRUE (json_is_real (json_object_get (res, "watermark")));
  CU_ASSERT_DOUBLE_EQUAL (json_real_value (json_object_get (res, "watermark")), 0.01, 0);
  json_decref (res);
  /* given values are kept */
  m = resolve ("{\"name\": \"vllm\", \"max_batch_size\": 4, \"watermark\": 0}", v, &res);
  CU_ASSERT_PTR_NULL (m);
  CU_ASSERT_DOUBLE_EQUAL (policy_param (t, v, "max_batch_size"), 4, 0);
  CU_ASSERT_DOUBLE_EQUAL (policy_param (t, v, "watermark"), 0, 0);
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (res, "max_batch_size")), 4);
  json_decref (res);
  g_free (m);
  policy_registry_free (reg);
}

static void
test_params_errors (void)
{
  char *m = resolve ("{\"name\": \"vllm\", \"max_batch\": 4}", NULL, NULL);
  CU_ASSERT_TRUE (contains (m, "scheduler.max_batch"));
  CU_ASSERT_TRUE (contains (m, "max_batch_size, max_batched_tokens, watermark"));
  g_free (m);
  m = resolve ("{\"name\": \"vllm\", \"max_batch_size\": 2.5}", NULL, NULL);
  CU_ASSERT_TRUE (contains (m, "scheduler.max_batch_size"));
  CU_ASSERT_TRUE (contains (m, "integer"));
  g_free (m);
  m = resolve ("{\"name\": \"vllm\", \"max_batch_size\": \"8\"}", NULL, NULL);
  CU_ASSERT_TRUE (contains (m, "scheduler.max_batch_size"));
  g_free (m);
  m = resolve ("{\"name\": \"vllm\", \"max_batch_size\": 0}", NULL, NULL);
  CU_ASSERT_TRUE (contains (m, "scheduler.max_batch_size"));
  CU_ASSERT_TRUE (contains (m, "between"));
  g_free (m);
  m = resolve ("{\"name\": \"vllm\", \"watermark\": 0.75}", NULL, NULL);
  CU_ASSERT_TRUE (contains (m, "scheduler.watermark"));
  g_free (m);
  m = resolve ("{\"name\": \"vllm\", \"watermark\": true}", NULL, NULL);
  CU_ASSERT_TRUE (contains (m, "scheduler.watermark"));
  CU_ASSERT_TRUE (contains (m, "number"));
  g_free (m);
  m = resolve ("{\"name\": \"vllm\", \"max_batched_tokens\": -1}", NULL, NULL);
  CU_ASSERT_TRUE (contains (m, "scheduler.max_batched_tokens"));
  g_free (m);
  /* a policy without parameters accepts none */
  PolicyRegistry *reg = policy_registry_new ();
  const PolicyRouterOps *rr = policy_registry_router (reg, "round-robin", NULL);
  json_t *obj = json_pack ("{s:s, s:i}", "name", "round-robin", "weight", 2);
  double v[1];
  GError *e = NULL;
  CU_ASSERT_FALSE (policy_params_resolve (rr->params, obj, "router", v, NULL, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "router.weight"));
  CU_ASSERT_TRUE (e && contains (e->message, "none"));
  g_clear_error (&e);
  json_decref (obj);
  obj = json_pack ("{s:s}", "name", "round-robin");
  CU_ASSERT_TRUE (policy_params_resolve (rr->params, obj, "router", v, obj, &e));
  CU_ASSERT_EQUAL (json_object_size (obj), 1);
  json_decref (obj);
  policy_registry_free (reg);
}

/* ------------------------------------------------------------------------ */
/* vLLM through the world                                                   */

typedef struct {
  PolicyRegistry *reg;
  ServeScenario  *sc;
  ServeWorld     *w;
  json_t         *summary;
} Run;

static void
run_clear (Run *r)
{
  json_decref (r->summary);
  serve_world_free (r->w);
  serve_scenario_free (r->sc);
  policy_registry_free (r->reg);
  memset (r, 0, sizeof *r);
}

/* Runs a small synthetic workload on one replica with the given overrides
 * (NULL-terminated); r->summary is the summary JSON. FALSE on failure. */
static gboolean
run_sets (Run *r, const char *const *extra)
{
  if (!tmp)
    tmp = test_tmpdir ();
  char *out = g_build_filename (tmp, "out", NULL);
  json_t *js = json_string (out);
  char *q = json_dumps (js, JSON_ENCODE_ANY);
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (a, g_strdup_printf ("output.dir=%s", q));
  g_ptr_array_add (a, g_strdup ("output.render=false"));
  g_ptr_array_add (a, g_strdup ("output.plots=false"));
  g_ptr_array_add (a, g_strdup ("workload.trace=null"));
  g_ptr_array_add (a, g_strdup ("cluster.replicas=1"));
  for (const char *const *s = extra; *s; s++)
    g_ptr_array_add (a, g_strdup (*s));
  g_ptr_array_add (a, NULL);
  free (q);
  json_decref (js);
  g_free (out);
  GError *e = NULL;
  r->reg = policy_registry_new ();
  r->sc = serve_scenario_load (NULL, (char **) a->pdata, &e);
  g_ptr_array_free (a, TRUE);
  gboolean ok = r->sc && (r->w = serve_world_new (r->sc, r->reg, &e)) && serve_world_run (r->w, &e);
  if (ok)
    r->summary = serve_world_summary_json (r->w);
  if (!ok)
    fprintf (stderr, "\n    run failed: %s\n", e ? e->message : "?");
  g_clear_error (&e);
  CU_ASSERT_TRUE (ok);
  return ok;
}

static double
sj (const Run *r, const char *a, const char *b)
{
  return json_number_value (json_object_get (json_object_get (r->summary, a), b));
}

static void
test_max_batch_size (void)
{
  const char *s1[] = { "scheduler.max_batch_size=1", "workload.generator.num_requests=30",
                       "workload.generator.rate=100", "workload.generator.lengths=uniform",
                       "workload.generator.prompt_max=512", "workload.generator.output_max=32",
                       NULL };
  Run r = { 0 };
  if (run_sets (&r, s1)) {
    CU_ASSERT_EQUAL (sj (&r, "batch_size", "max"), 1);
    CU_ASSERT_EQUAL (sj (&r, "requests", "completed"), 30);
    CU_ASSERT_TRUE (json_integer_value (serve_scenario_get (r.sc, "scheduler.max_batch_size")) == 1);
    /* one at a time: queueing happened */
    CU_ASSERT_TRUE (sj (&r, "queue_s", "max") > 0);
  }
  run_clear (&r);
  const char *s4[] = { "scheduler.max_batch_size=4", "workload.generator.num_requests=30",
                       "workload.generator.rate=100", "workload.generator.lengths=uniform",
                       "workload.generator.prompt_max=512", "workload.generator.output_max=32",
                       NULL };
  if (run_sets (&r, s4)) {
    CU_ASSERT_EQUAL (sj (&r, "batch_size", "max"), 4);
    CU_ASSERT_EQUAL (sj (&r, "requests", "completed"), 30);
  }
  run_clear (&r);
  /* the default lets them batch beyond 4 */
  const char *sd[] = { "workload.generator.num_requests=30", "workload.generator.rate=100",
                       "workload.generator.lengths=uniform", "workload.generator.prompt_max=512",
                       "workload.generator.output_max=32", NULL };
  if (run_sets (&r, sd))
    CU_ASSERT_TRUE (sj (&r, "batch_size", "max") > 4);
  run_clear (&r);
}

static void
test_max_batched_tokens (void)
{
  /* prompts 100..400, all below the 512 limit; decode batches hold at most
   * max_batch_size (16) tokens */
  const char *base[] = { "workload.generator.num_requests=60", "workload.generator.rate=200",
                         "workload.generator.lengths=uniform", "workload.generator.prompt_min=100",
                         "workload.generator.prompt_max=400", "workload.generator.output_min=2",
                         "workload.generator.output_max=8", "scheduler.max_batch_size=16",
                         "scheduler.max_batched_tokens=512", NULL };
  Run r = { 0 };
  if (run_sets (&r, base)) {
    CU_ASSERT_TRUE (sj (&r, "batch_tokens", "max") <= 512);
    CU_ASSERT_TRUE (sj (&r, "batch_tokens", "max") > 400); /* several prompts did batch */
    CU_ASSERT_EQUAL (sj (&r, "requests", "completed"), 60);
  }
  run_clear (&r);
  /* without the limit the same workload batches more prefill tokens */
  const char *nolimit[] = { "workload.generator.num_requests=60", "workload.generator.rate=200",
                            "workload.generator.lengths=uniform", "workload.generator.prompt_min=100",
                            "workload.generator.prompt_max=400", "workload.generator.output_min=2",
                            "workload.generator.output_max=8", "scheduler.max_batch_size=16", NULL };
  if (run_sets (&r, nolimit))
    CU_ASSERT_TRUE (sj (&r, "batch_tokens", "max") > 512);
  run_clear (&r);
}

/* A prompt above max_batched_tokens runs alone rather than never. */
static void
test_long_prompt_runs_alone (void)
{
  const char *s[] = { "scheduler.max_batched_tokens=256", "workload.generator.num_requests=5",
                      "workload.generator.rate=1000", "workload.generator.prompt_tokens=1000",
                      "workload.generator.output_tokens=4", NULL };
  Run r = { 0 };
  if (run_sets (&r, s)) {
    CU_ASSERT_EQUAL (sj (&r, "requests", "completed"), 5);
    CU_ASSERT_EQUAL (sj (&r, "requests", "rejected"), 0);
    CU_ASSERT_EQUAL (sj (&r, "batch_tokens", "max"), 1000);
  }
  run_clear (&r);
}

/* A large watermark (half the blocks kept free at admission) is recorded in
 * the resolved scenario and still lets every request through. */
static void
test_watermark_progress (void)
{
  const char *s[] = { "scheduler.watermark=0.5", "workload.generator.num_requests=20",
                      "workload.generator.rate=100", NULL };
  Run r = { 0 };
  if (run_sets (&r, s)) {
    CU_ASSERT_EQUAL (sj (&r, "requests", "completed"), 20);
    CU_ASSERT_DOUBLE_EQUAL (json_number_value (serve_scenario_get (r.sc, "scheduler.watermark")), 0.5, 0);
  }
  run_clear (&r);
}

int
main (void)
{
  static const TestCase cases[] = {
    { "registry lists vllm, template, round-robin", test_registry_lists },
    { "unknown policy name lists the valid ones", test_registry_unknown },
    { "registering a scheduler", test_registry_add },
    { "params: defaults filled into resolved JSON", test_params_defaults },
    { "params: unknown, non-integer, out of range", test_params_errors },
    { "vllm max_batch_size caps the batch", test_max_batch_size },
    { "vllm max_batched_tokens caps prefill tokens", test_max_batched_tokens },
    { "vllm prompt above the token limit runs alone", test_long_prompt_runs_alone },
    { "vllm watermark still makes progress", test_watermark_progress },
    { NULL, NULL }
  };
  int rc = test_run_suite ("policies/vllm", cases);
  if (tmp) {
    test_rmdir_r (tmp);
    g_free (tmp);
  }
  return rc;
}
