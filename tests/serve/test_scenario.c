/* tests/serve/test_scenario.c — serve/scenario.c: the embedded defaults and
 * their typed views, merging a user file over them, `--set` overrides,
 * validation (unknown keys, types, ranges, cross-field checks), error
 * messages that name the file, line or field, and dump round trips. Does not
 * build a world (catalog names and policy parameters are checked there; see
 * tests/serve/test_world.c and tests/policies/test_vllm.c).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "serve/scenario.h"
#include "tests/testutil.h"

static char *tmp;

static char *
write_tmp (const char *name, const char *text)
{
  if (!tmp)
    tmp = test_tmpdir ();
  return test_write_file (tmp, name, text);
}

/* Loads `path` (may be NULL) with the NULL-terminated overrides. */
static ServeScenario *
load (const char *path, const char *const *sets, GError **error)
{
  return serve_scenario_load (path, (char **) sets, error);
}

/* Loads with overrides that must be rejected; returns the message (g_free). */
static char *
load_fails (const char *path, const char *const *sets)
{
  GError *e = NULL;
  ServeScenario *sc = load (path, sets, &e);
  CU_ASSERT_PTR_NULL (sc);
  serve_scenario_free (sc);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_TRUE (g_error_matches (e, SERVE_ERROR, SERVE_ERROR_SCENARIO));
  char *m = g_strdup (e->message);
  g_error_free (e);
  return m;
}

static gboolean
contains (const char *hay, const char *needle)
{
  gboolean ok = hay && strstr (hay, needle) != NULL;
  if (!ok)
    fprintf (stderr, "\n    message '%s' lacks '%s'\n", hay ? hay : "(null)", needle);
  return ok;
}

/* ------------------------------------------------------------------------ */

static void
test_defaults_views (void)
{
  GError *e = NULL;
  ServeScenario *sc = load (NULL, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_PTR_NULL (e);
  json_error_t jerr;
  json_t *def = json_loads (serve_scenario_default_json (), 0, &jerr);
  CU_ASSERT_PTR_NOT_NULL_FATAL (def);
  /* nothing changed by loading the defaults alone */
  CU_ASSERT_TRUE (json_equal (def, sc->root));

#define DSTR(p) json_string_value (json_object_get (json_object_get (def, p[0]), p[1]))
#define DNUM(a, b) json_number_value (json_object_get (json_object_get (def, a), b))
  CU_ASSERT_STRING_EQUAL (sc->origin, "<default>");
  CU_ASSERT_EQUAL (sc->seed, (guint64) json_integer_value (json_object_get (def, "seed")));
  CU_ASSERT_STRING_EQUAL (sc->name, json_string_value (json_object_get (def, "name")));
  CU_ASSERT_STRING_EQUAL (sc->model, json_string_value (json_object_get (def, "model")));
  CU_ASSERT_PTR_NULL (sc->catalog);
  CU_ASSERT_STRING_EQUAL (sc->gpu, json_string_value (json_object_get (json_object_get (def, "cluster"), "gpu")));
  CU_ASSERT_EQUAL (sc->replicas, (int) DNUM ("cluster", "replicas"));
  CU_ASSERT_EQUAL (sc->tp, (int) DNUM ("cluster", "tp"));
  CU_ASSERT_EQUAL (sc->block_size, (int) DNUM ("cache", "block_size"));
  CU_ASSERT_DOUBLE_EQUAL (sc->mem_util, DNUM ("cache", "mem_util"), 0);
  CU_ASSERT_STRING_EQUAL (sc->scheduler, json_string_value (json_object_get (json_object_get (def, "scheduler"), "name")));
  CU_ASSERT_STRING_EQUAL (sc->router, json_string_value (json_object_get (json_object_get (def, "router"), "name")));
  CU_ASSERT_STRING_EQUAL (sc->trace, json_string_value (json_object_get (json_object_get (def, "workload"), "trace")));
  CU_ASSERT_STRING_EQUAL (sc->format, json_string_value (json_object_get (json_object_get (def, "workload"), "format")));
  CU_ASSERT_EQUAL (sc->limit, (gint64) DNUM ("workload", "limit"));
  CU_ASSERT_DOUBLE_EQUAL (sc->time_scale, DNUM ("workload", "time_scale"), 0);
  CU_ASSERT_DOUBLE_EQUAL (sc->start_s, DNUM ("workload", "start"), 0);
  CU_ASSERT_DOUBLE_EQUAL (sc->end_s, DNUM ("workload", "end"), 0);
  CU_ASSERT_DOUBLE_EQUAL (sc->slo_ttft, DNUM ("slo", "ttft"), 0);
  CU_ASSERT_DOUBLE_EQUAL (sc->slo_tpot, DNUM ("slo", "tpot"), 0);
  CU_ASSERT_STRING_EQUAL (sc->out_dir, json_string_value (json_object_get (json_object_get (def, "output"), "dir")));
  json_t *o = json_object_get (def, "output");
  CU_ASSERT_EQUAL (sc->write_requests, json_is_true (json_object_get (o, "requests_csv")));
  CU_ASSERT_EQUAL (sc->write_plots, json_is_true (json_object_get (o, "plots")));
  CU_ASSERT_EQUAL (sc->render, json_is_true (json_object_get (o, "render")));
  CU_ASSERT_DOUBLE_EQUAL (sc->timeline_interval, DNUM ("output", "timeline_interval"), 0);
#undef DSTR
#undef DNUM
  /* the documented defaults themselves */
  CU_ASSERT_STRING_EQUAL (sc->model, "llama-3.1-8b");
  CU_ASSERT_STRING_EQUAL (sc->gpu, "h100-sxm");
  CU_ASSERT_EQUAL (sc->replicas, 2);
  CU_ASSERT_STRING_EQUAL (sc->scheduler, "vllm");
  CU_ASSERT_STRING_EQUAL (sc->router, "round-robin");
  /* serve_scenario_get */
  CU_ASSERT_TRUE (json_is_object (serve_scenario_get (sc, "workload.generator")));
  CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (sc, "workload.generator.num_requests")), 1000);
  CU_ASSERT_PTR_NULL (serve_scenario_get (sc, "no.such.path"));
  json_decref (def);
  serve_scenario_free (sc);
}

static void
test_file_deep_merge (void)
{
  char *p = write_tmp ("merge.json",
                       "{ \"name\": \"mine\",\n"
                       "  \"cluster\": { \"replicas\": 4 },\n"
                       "  \"workload\": { \"generator\": { \"rate\": 7.5 } },\n"
                       "  \"output\": { \"render\": false } }\n");
  GError *e = NULL;
  ServeScenario *sc = load (p, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_STRING_EQUAL (sc->origin, p);
  CU_ASSERT_STRING_EQUAL (sc->name, "mine");
  CU_ASSERT_EQUAL (sc->replicas, 4);
  /* siblings of merged keys keep their defaults */
  CU_ASSERT_STRING_EQUAL (sc->gpu, "h100-sxm");
  CU_ASSERT_EQUAL (sc->tp, 1);
  CU_ASSERT_DOUBLE_EQUAL (json_number_value (serve_scenario_get (sc, "workload.generator.rate")), 7.5, 0);
  CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (sc, "workload.generator.num_requests")), 1000);
  CU_ASSERT_STRING_EQUAL (json_string_value (serve_scenario_get (sc, "workload.generator.arrival")), "poisson");
  CU_ASSERT_FALSE (sc->render);
  CU_ASSERT_TRUE (sc->write_plots);
  CU_ASSERT_STRING_EQUAL (sc->scheduler, "vllm");
  /* --set applies after the file */
  serve_scenario_free (sc);
  const char *sets[] = { "cluster.replicas=6", NULL };
  sc = load (p, sets, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_EQUAL (sc->replicas, 6);
  CU_ASSERT_STRING_EQUAL (sc->name, "mine");
  serve_scenario_free (sc);
  g_free (p);
}

/* A policy object in a file merges like any other object: parameters without
 * a "name" keep the current policy (merge_into handles that case). */
static void
test_file_policy_params_without_name (void)
{
  char *p = write_tmp ("policy.json", "{ \"scheduler\": { \"max_batch_size\": 8 } }\n");
  GError *e = NULL;
  ServeScenario *sc = load (p, NULL, &e);
  if (e)
    fprintf (stderr, "\n    error: %s\n", e->message);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_PTR_NOT_NULL (sc);
  if (sc) {
    CU_ASSERT_STRING_EQUAL (sc->scheduler, "vllm");
    CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (sc, "scheduler.max_batch_size")), 8);
  }
  g_clear_error (&e);
  serve_scenario_free (sc);
  /* with the name, a different policy replaces the default's object whole */
  g_free (p);
  p = write_tmp ("policy2.json", "{ \"scheduler\": { \"name\": \"template\", \"max_prompt\": 9 } }\n");
  sc = load (p, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_STRING_EQUAL (sc->scheduler, "template");
  CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (sc, "scheduler.max_prompt")), 9);
  CU_ASSERT_EQUAL (json_object_size (serve_scenario_get (sc, "scheduler")), 2);
  serve_scenario_free (sc);
  g_free (p);
}

static void
test_file_unknown_key (void)
{
  char *p = write_tmp ("unknown.json", "{ \"cluster\": { \"replica\": 4 } }\n");
  char *m = load_fails (p, NULL);
  CU_ASSERT_TRUE (contains (m, p));
  CU_ASSERT_TRUE (contains (m, "cluster.replica"));
  CU_ASSERT_TRUE (contains (m, "unknown key"));
  /* the valid keys of that object are listed */
  CU_ASSERT_TRUE (contains (m, "gpu"));
  CU_ASSERT_TRUE (contains (m, "replicas"));
  CU_ASSERT_TRUE (contains (m, "tp"));
  g_free (m);
  g_free (p);

  p = write_tmp ("unknown_top.json", "{ \"modle\": \"llama-3.1-8b\" }\n");
  m = load_fails (p, NULL);
  CU_ASSERT_TRUE (contains (m, "modle"));
  CU_ASSERT_TRUE (contains (m, "model"));
  CU_ASSERT_TRUE (contains (m, "workload"));
  g_free (m);
  g_free (p);
}

static void
test_file_wrong_type_and_range (void)
{
  static const struct { const char *text, *field, *what; } cases[] = {
    { "{ \"cluster\": { \"replicas\": \"four\" } }", "cluster.replicas", "integer" },
    { "{ \"cluster\": { \"replicas\": 2.5 } }", "cluster.replicas", "integer" },
    { "{ \"cluster\": { \"replicas\": 0 } }", "cluster.replicas", "between" },
    { "{ \"cache\": { \"mem_util\": 2 } }", "cache.mem_util", "between" },
    { "{ \"workload\": { \"time_scale\": 0 } }", "workload.time_scale", "between" },
    { "{ \"seed\": -1 }", "seed", "between" },
    { "{ \"cluster\": 3 }", "cluster", "object" },
    { "{ \"output\": { \"render\": \"yes\" } }", "output.render", "true or false" },
    { "{ \"workload\": { \"format\": \"parquet\" } }", "workload.format", "azure" },
    { "{ \"name\": \"\" }", "name", "empty" },
    { "{ \"cache\": { \"preemption\": \"swapping\" } }", "cache.preemption", "recompute|swap" },
    { "{ \"cache\": { \"swap\": { \"granularity_blocks\": 0 } } }", "cache.swap.granularity_blocks", "between" },
    { "{ \"cache\": { \"swap\": { \"link_efficiency\": 0 } } }", "cache.swap.link_efficiency", "between" },
    { "{ \"cache\": { \"swap\": { \"overlap\": 1 } } }", "cache.swap.overlap", "true or false" },
    { "{ \"cache\": { \"swap\": { \"bandwidth\": 1 } } }", "cache.swap.bandwidth", "host_gib" },
    { "{ \"workload\": { \"priority_fraction\": 1.5 } }", "workload.priority_fraction", "between" },
    { "{ \"workload\": { \"clients\": 0 } }", "workload.clients", "between" },
    { "{ \"workload\": { \"priority_max_prompt\": 1.5 } }", "workload.priority_max_prompt", "integer" },
    { "{ \"speculation\": { \"acceptance\": -0.1 } }", "speculation.acceptance", "between" },
    { "{ \"speculation\": { \"draft\": 7 } }", "speculation.draft", "a string" },
    { "{ \"speculation\": { \"k\": 4 } }", "speculation.k", "medusa_overhead" },
    { "{ \"engine\": { \"cpu_overlap\": \"yes\" } }", "engine.cpu_overlap", "true or false" },
    { "{ \"engine\": { \"async\": true } }", "engine.async", "cpu_overlap" },
    { "{ \"engine\": [] }", "engine", "object" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    char *p = write_tmp ("bad.json", cases[i].text);
    char *m = load_fails (p, NULL);
    CU_ASSERT_TRUE (contains (m, p));
    CU_ASSERT_TRUE (contains (m, cases[i].field));
    CU_ASSERT_TRUE (contains (m, cases[i].what));
    g_free (m);
    g_free (p);
  }
}

/* The keys policies use (swap, request classes, speculation): defaults in
 * the typed views, and values from a file and --set. */
static void
test_policy_keys (void)
{
  GError *e = NULL;
  ServeScenario *sc = serve_scenario_load (NULL, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_FALSE (sc->swap);
  CU_ASSERT_FALSE (sc->swap_overlap);
  CU_ASSERT_FALSE (sc->cpu_overlap);
  CU_ASSERT_FALSE (sc->swap_reuse);
  CU_ASSERT_EQUAL (sc->swap_granularity, 1);
  CU_ASSERT_DOUBLE_EQUAL (sc->swap_link_eff, 0.8, 0);
  CU_ASSERT_DOUBLE_EQUAL (sc->priority_fraction, 0, 0);
  CU_ASSERT_EQUAL (sc->clients, 1);
  CU_ASSERT_STRING_EQUAL (sc->spec_draft, "medusa");
  CU_ASSERT_DOUBLE_EQUAL (sc->spec_acceptance, 0.7, 0);
  serve_scenario_free (sc);
  char *p = write_tmp ("policy_keys.json",
                       "{ \"cache\": { \"preemption\": \"swap\", \"swap\": { \"overlap\": true } },\n"
                       "  \"speculation\": { \"draft\": \"llama-2-7b\" } }\n");
  const char *sets[] = { "cache.swap.granularity_blocks=64", "workload.clients=3",
                         "workload.priority_fraction=0.25", "speculation.acceptance=1",
                         "engine.cpu_overlap=true", NULL };
  sc = serve_scenario_load (p, (char **) sets, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_TRUE (sc->swap);
  CU_ASSERT_TRUE (sc->swap_overlap);
  CU_ASSERT_TRUE (sc->cpu_overlap);
  CU_ASSERT_FALSE (sc->swap_reuse);          /* default kept beside the file's keys */
  CU_ASSERT_EQUAL (sc->swap_granularity, 64);
  CU_ASSERT_DOUBLE_EQUAL (sc->swap_host_gib, 256, 0);
  CU_ASSERT_EQUAL (sc->clients, 3);
  CU_ASSERT_DOUBLE_EQUAL (sc->priority_fraction, 0.25, 0);
  CU_ASSERT_STRING_EQUAL (sc->spec_draft, "llama-2-7b");
  CU_ASSERT_DOUBLE_EQUAL (sc->spec_acceptance, 1.0, 0);
  serve_scenario_free (sc);
  g_free (p);
}

static void
test_file_syntax_error_line (void)
{
  char *p = write_tmp ("syntax.json", "{\n  \"seed\": 3,\n  \"name\": \"x\"\n  \"model\": \"y\"\n}\n");
  char *m = load_fails (p, NULL);
  char *prefix = g_strdup_printf ("%s:4:", p);
  CU_ASSERT_TRUE (g_str_has_prefix (m, prefix));
  if (!g_str_has_prefix (m, prefix))
    fprintf (stderr, "\n    '%s' does not start with '%s'\n", m, prefix);
  g_free (prefix);
  g_free (m);
  g_free (p);
  /* not an object */
  p = write_tmp ("array.json", "[1, 2]\n");
  m = load_fails (p, NULL);
  prefix = g_strdup_printf ("%s:", p);
  CU_ASSERT_TRUE (g_str_has_prefix (m, prefix));
  g_free (prefix);
  g_free (m);
  g_free (p);
  /* duplicate keys are rejected too */
  p = write_tmp ("dup.json", "{\n \"seed\": 1,\n \"seed\": 2\n}\n");
  m = load_fails (p, NULL);
  prefix = g_strdup_printf ("%s:", p);
  CU_ASSERT_TRUE (g_str_has_prefix (m, prefix));
  g_free (prefix);
  g_free (m);
  g_free (p);
}

static void
test_missing_file (void)
{
  if (!tmp)
    tmp = test_tmpdir ();
  char *p = g_build_filename (tmp, "no-such-scenario.json", NULL);
  char *m = load_fails (p, NULL);
  CU_ASSERT_TRUE (contains (m, p));
  CU_ASSERT_TRUE (contains (m, "not found"));
  g_free (m);
  g_free (p);
}

static void
test_set_forms (void)
{
  const char *sets[] = {
    "cluster.replicas=3",               /* number */
    "cluster.gpu=a100-80gb",            /* string without quotes */
    "name=\"quoted\"",                  /* string with quotes */
    "cache.mem_util=0.5",
    "workload.trace=null",              /* null */
    "output.render=false",              /* boolean */
    "router={\"name\": \"round-robin\"}", /* JSON object */
    "slo={\"ttft\": 2, \"tpot\": 0.1}",
    NULL
  };
  GError *e = NULL;
  ServeScenario *sc = load (NULL, sets, &e);
  if (e)
    fprintf (stderr, "\n    error: %s\n", e->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_EQUAL (sc->replicas, 3);
  CU_ASSERT_STRING_EQUAL (sc->gpu, "a100-80gb");
  CU_ASSERT_STRING_EQUAL (sc->name, "quoted");
  CU_ASSERT_DOUBLE_EQUAL (sc->mem_util, 0.5, 0);
  CU_ASSERT_PTR_NULL (sc->trace);
  CU_ASSERT_FALSE (sc->render);
  CU_ASSERT_STRING_EQUAL (sc->router, "round-robin");
  CU_ASSERT_DOUBLE_EQUAL (sc->slo_ttft, 2, 0);
  CU_ASSERT_DOUBLE_EQUAL (sc->slo_tpot, 0.1, 0);
  serve_scenario_free (sc);

  /* a scheduler object with parameters */
  const char *s2[] = { "scheduler={\"name\":\"vllm\",\"max_batch_size\":4}", "scheduler.watermark=0.1",
                       NULL };
  sc = load (NULL, s2, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (sc, "scheduler.max_batch_size")), 4);
  CU_ASSERT_DOUBLE_EQUAL (json_number_value (serve_scenario_get (sc, "scheduler.watermark")), 0.1, 0);
  serve_scenario_free (sc);
}

/* An object value for a path that holds a whole section must not leave the
 * section's other required fields missing (typed views of 0/NULL): either it
 * merges like a file does, or it is rejected naming the missing field. */
static void
test_set_object_keeps_required_fields (void)
{
  const char *sets[] = { "cluster={\"replicas\": 3}", NULL };
  GError *e = NULL;
  ServeScenario *sc = load (NULL, sets, &e);
  if (sc) {
    CU_ASSERT_EQUAL (sc->replicas, 3);
    CU_ASSERT_PTR_NOT_NULL (sc->gpu);
    CU_ASSERT_TRUE (sc->tp >= 1);
    if (!sc->gpu || sc->tp < 1)
      fprintf (stderr, "\n    --set cluster={...} accepted with gpu=%s tp=%d\n",
                       sc->gpu ? sc->gpu : "NULL", sc->tp);
  } else {
    CU_ASSERT_PTR_NOT_NULL_FATAL (e);
    CU_ASSERT_TRUE (contains (e->message, "cluster.gpu") || contains (e->message, "cluster.tp"));
  }
  g_clear_error (&e);
  serve_scenario_free (sc);
}

static void
test_set_errors (void)
{
  /* unknown nested new path */
  const char *s1[] = { "cluster.nodes.count=2", NULL };
  char *m = load_fails (NULL, s1);
  CU_ASSERT_TRUE (contains (m, "cluster.nodes"));
  CU_ASSERT_TRUE (contains (m, "unknown key"));
  CU_ASSERT_TRUE (contains (m, "replicas"));
  g_free (m);
  const char *s1b[] = { "foo.bar=1", NULL };
  m = load_fails (NULL, s1b);
  CU_ASSERT_TRUE (contains (m, "foo"));
  g_free (m);
  /* "nan" is not a number */
  const char *s2[] = { "cache.mem_util=nan", NULL };
  m = load_fails (NULL, s2);
  CU_ASSERT_TRUE (contains (m, "cache.mem_util"));
  CU_ASSERT_TRUE (contains (m, "number"));
  g_free (m);
  const char *s2b[] = { "workload.generator.rate=NaN", NULL };
  m = load_fails (NULL, s2b);
  CU_ASSERT_TRUE (contains (m, "workload.generator.rate"));
  g_free (m);
  /* missing '=' */
  const char *s3[] = { "cluster.replicas", NULL };
  m = load_fails (NULL, s3);
  CU_ASSERT_TRUE (contains (m, "cluster.replicas"));
  CU_ASSERT_TRUE (contains (m, "path=value"));
  g_free (m);
  const char *s3b[] = { "=4", NULL };
  m = load_fails (NULL, s3b);
  CU_ASSERT_TRUE (contains (m, "path=value"));
  g_free (m);
  /* through a non-object, empty component */
  const char *s4[] = { "seed.x=1", NULL };
  m = load_fails (NULL, s4);
  CU_ASSERT_TRUE (contains (m, "seed"));
  g_free (m);
  const char *s5[] = { "cluster..replicas=1", NULL };
  m = load_fails (NULL, s5);
  CU_ASSERT_TRUE (contains (m, "empty"));
  g_free (m);
  /* type and range through --set */
  const char *s6[] = { "cluster.replicas=four", NULL };
  m = load_fails (NULL, s6);
  CU_ASSERT_TRUE (contains (m, "cluster.replicas"));
  CU_ASSERT_TRUE (contains (m, "integer"));
  g_free (m);
  const char *s7[] = { "cluster.replicas=0", NULL };
  m = load_fails (NULL, s7);
  CU_ASSERT_TRUE (contains (m, "cluster.replicas"));
  g_free (m);
  const char *s8[] = { "seed=-5", NULL };
  m = load_fails (NULL, s8);
  CU_ASSERT_TRUE (contains (m, "seed"));
  g_free (m);
  /* an object value merges into the section: the policy keeps its name */
  const char *s9[] = { "scheduler={\"max_batch_size\": 4}", NULL };
  GError *e = NULL;
  ServeScenario *sc = load (NULL, s9, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_STRING_EQUAL (sc->scheduler, "vllm");
  CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (sc, "scheduler.max_batch_size")), 4);
  serve_scenario_free (sc);
  /* a policy name of the wrong type is still rejected */
  const char *s10[] = { "scheduler={\"name\": 3}", NULL };
  m = load_fails (NULL, s10);
  CU_ASSERT_TRUE (contains (m, "scheduler.name"));
  g_free (m);
}

static void
test_set_policy_name_drops_params (void)
{
  const char *sets[] = { "scheduler.max_batch_size=4", "scheduler.name=template", NULL };
  GError *e = NULL;
  ServeScenario *sc = load (NULL, sets, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_STRING_EQUAL (sc->scheduler, "template");
  json_t *s = serve_scenario_get (sc, "scheduler");
  CU_ASSERT_EQUAL (json_object_size (s), 1);
  CU_ASSERT_PTR_NULL (json_object_get (s, "max_batch_size"));
  serve_scenario_free (sc);
  /* parameters set after the name stay */
  const char *s2[] = { "scheduler.name=template", "scheduler.max_prompt=100", NULL };
  sc = load (NULL, s2, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (sc, "scheduler.max_prompt")), 100);
  serve_scenario_free (sc);
  /* a file's parameters are dropped when --set switches the policy */
  char *p = write_tmp ("sched.json", "{ \"scheduler\": { \"name\": \"vllm\", \"max_batch_size\": 2 } }");
  const char *s3[] = { "scheduler.name=template", NULL };
  sc = load (p, s3, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_PTR_NULL (serve_scenario_get (sc, "scheduler.max_batch_size"));
  serve_scenario_free (sc);
  g_free (p);
}

/* Re-stating the current policy's name is not a change of policy: the
 * parameters stay (as they do when a file restates the name, see merge_into). */
static void
test_set_same_policy_name_keeps_params (void)
{
  char *p = write_tmp ("same.json", "{ \"scheduler\": { \"name\": \"vllm\", \"max_batch_size\": 2 } }");
  const char *sets[] = { "scheduler.name=vllm", NULL };
  GError *e = NULL;
  ServeScenario *sc = load (p, sets, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (sc, "scheduler.max_batch_size")), 2);
  serve_scenario_free (sc);
  g_free (p);
}

static void
test_cross_field_checks (void)
{
  const char *s1[] = { "workload.start=10", "workload.end=10", NULL };
  char *m = load_fails (NULL, s1);
  CU_ASSERT_TRUE (contains (m, "workload.end"));
  g_free (m);
  const char *s2[] = { "workload.start=10", "workload.end=5", NULL };
  m = load_fails (NULL, s2);
  CU_ASSERT_TRUE (contains (m, "workload.end"));
  g_free (m);
  const char *s3[] = { "workload.start=10", "workload.end=0", NULL }; /* 0 = no end */
  GError *e = NULL;
  ServeScenario *sc = load (NULL, s3, &e);
  CU_ASSERT_PTR_NOT_NULL (sc);
  serve_scenario_free (sc);
  const char *s4[] = { "workload.generator.prompt_min=500", "workload.generator.prompt_max=100", NULL };
  m = load_fails (NULL, s4);
  CU_ASSERT_TRUE (contains (m, "prompt_max"));
  CU_ASSERT_TRUE (contains (m, "prompt_min"));
  g_free (m);
  const char *s5[] = { "workload.generator.output_min=600", NULL }; /* > default output_max 512 */
  m = load_fails (NULL, s5);
  CU_ASSERT_TRUE (contains (m, "output_max"));
  g_free (m);
  const char *s6[] = { "workload.generator.prompt_min=100", "workload.generator.prompt_max=100", NULL };
  sc = load (NULL, s6, &e);
  CU_ASSERT_PTR_NOT_NULL (sc);
  serve_scenario_free (sc);
}

static void
test_dump_round_trip (void)
{
  const char *sets[] = { "cluster.replicas=3", "scheduler.max_batch_size=7", "name=rt",
                         "workload.trace=null", "slo.ttft=0.25", NULL };
  GError *e = NULL;
  ServeScenario *sc = load (NULL, sets, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  char *d1 = serve_scenario_dump (sc);
  CU_ASSERT_TRUE (g_str_has_suffix (d1, "}\n"));
  char *p = write_tmp ("dumped.json", d1);
  ServeScenario *sc2 = load (p, NULL, &e);
  if (e)
    fprintf (stderr, "\n    reload error: %s\n", e->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc2);
  char *d2 = serve_scenario_dump (sc2);
  CU_ASSERT_STRING_EQUAL (d1, d2);
  CU_ASSERT_TRUE (json_equal (sc->root, sc2->root));
  CU_ASSERT_EQUAL (sc2->replicas, 3);
  CU_ASSERT_PTR_NULL (sc2->trace);
  /* the dump is deterministic */
  char *d3 = serve_scenario_dump (sc);
  CU_ASSERT_STRING_EQUAL (d1, d3);
  g_free (d1);
  g_free (d2);
  g_free (d3);
  g_free (p);
  serve_scenario_free (sc);
  serve_scenario_free (sc2);
}

/* The resolved scenario is written so a run can be repeated exactly: every
 * number must survive dump -> load bit for bit. */
static void
test_dump_preserves_reals_exactly (void)
{
  const char *sets[] = { "workload.generator.rate=0.33333333333333331",
                         "cache.mem_util=0.91234567890123456", "workload.time_scale=1.0000000000000002",
                         NULL };
  GError *e = NULL;
  ServeScenario *sc = load (NULL, sets, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  CU_ASSERT_DOUBLE_EQUAL (json_real_value (serve_scenario_get (sc, "workload.generator.rate")),
                          1.0 / 3.0, 0);
  char *d = serve_scenario_dump (sc);
  char *p = write_tmp ("reals.json", d);
  ServeScenario *sc2 = load (p, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc2);
  double r1 = json_number_value (serve_scenario_get (sc, "workload.generator.rate"));
  double r2 = json_number_value (serve_scenario_get (sc2, "workload.generator.rate"));
  CU_ASSERT_TRUE (r1 == r2);
  CU_ASSERT_TRUE (sc->mem_util == sc2->mem_util);
  CU_ASSERT_TRUE (sc->time_scale == sc2->time_scale);
  if (r1 != r2 || sc->mem_util != sc2->mem_util || sc->time_scale != sc2->time_scale)
    fprintf (stderr, "\n    dump lost precision: rate %.17g -> %.17g, mem_util %.17g -> %.17g, "
                     "time_scale %.17g -> %.17g\n", r1, r2, sc->mem_util, sc2->mem_util,
                     sc->time_scale, sc2->time_scale);
  CU_ASSERT_TRUE (json_equal (sc->root, sc2->root));
  g_free (d);
  g_free (p);
  serve_scenario_free (sc);
  serve_scenario_free (sc2);
}

int
main (void)
{
  static const TestCase cases[] = {
    { "defaults load; typed views match the default JSON", test_defaults_views },
    { "user file merges deep over the defaults", test_file_deep_merge },
    { "file: policy parameters without a name merge", test_file_policy_params_without_name },
    { "file: unknown key named, valid keys listed", test_file_unknown_key },
    { "file: wrong type / out of range named", test_file_wrong_type_and_range },
    { "file: JSON syntax error gives file:line:", test_file_syntax_error_line },
    { "swap, request-class and speculation keys", test_policy_keys },
    { "missing scenario file names the path", test_missing_file },
    { "--set: number, string, null, bool, object", test_set_forms },
    { "--set: object value keeps the section valid", test_set_object_keeps_required_fields },
    { "--set: errors (unknown path, nan, no '=')", test_set_errors },
    { "--set scheduler.name drops old params", test_set_policy_name_drops_params },
    { "--set same scheduler.name keeps params", test_set_same_policy_name_keeps_params },
    { "cross-field checks (end > start, min <= max)", test_cross_field_checks },
    { "dump round-trips to an identical dump", test_dump_round_trip },
    { "dump preserves reals exactly", test_dump_preserves_reals_exactly },
    { NULL, NULL }
  };
  int rc = test_run_suite ("serve/scenario", cases);
  if (tmp) {
    test_rmdir_r (tmp);
    g_free (tmp);
  }
  return rc;
}
