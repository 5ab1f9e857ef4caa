/* tests/policies/test_plugin.c — out-of-tree policies: loading
 * plugins/sample_plugin.so (built by make check) into a registry with
 * policy_registry_load_plugin, running it by name like a built-in, and
 * `servesim replay --plugin`. Bad input: a missing file, a file that is not
 * a shared object, a shared object that is not a plug-in, loading the same
 * plug-in twice (name taken). Runs in the build directory, where the plug-in
 * and ./servesim are.
 */
#include "config.h"

#include <string.h>

#include "policies/registry.h"
#include "serve/metrics.h"
#include "serve/scenario.h"
#include "serve/world.h"
#include "tests/testutil.h"

#define PLUGIN "plugins/sample_plugin.so"

static char *tmp;

static gboolean
contains (const char *hay, const char *needle)
{
  gboolean ok = hay && strstr (hay, needle) != NULL;
  if (!ok)
    fprintf (stderr, "\n    message '%s' lacks '%s'\n", hay ? hay : "(null)", needle);
  return ok;
}

static void
test_load_and_run (void)
{
  PolicyRegistry *reg = policy_registry_new ();
  GError *e = NULL;
  CU_ASSERT_PTR_NULL (policy_registry_scheduler (reg, "sample-sjf", NULL));
  gboolean ok = policy_registry_load_plugin (reg, PLUGIN, &e);
  if (!ok)
    fprintf (stderr, "\n    %s\n", e->message);
  CU_ASSERT_TRUE_FATAL (ok);
  const PolicySchedulerOps *ops = policy_registry_scheduler (reg, "sample-sjf", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ops);
  CU_ASSERT_EQUAL (policy_params_count (ops->params), 2);
  /* listed among the built-ins */
  const char **names = policy_registry_scheduler_names (reg);
  gboolean listed = FALSE, vllm = FALSE;
  for (const char **p = names; *p; p++) {
    listed |= strcmp (*p, "sample-sjf") == 0;
    vllm |= strcmp (*p, "vllm") == 0;
  }
  g_free (names);
  CU_ASSERT_TRUE (listed && vllm);

  /* a run under memory pressure: everything completes, KV conserved, and
   * shortest-first gives a lower mean TTFT than FCFS on mixed prompts */
  const char *sets[] = { "output.dir=null", "workload.trace=null", "cluster.replicas=1",
                         "scheduler.name=sample-sjf", "scheduler.max_batch_size=8",
                         "workload.generator.lengths=uniform", "workload.generator.prompt_min=16",
                         "workload.generator.prompt_max=4000", "workload.generator.num_requests=200",
                         "workload.generator.rate=30", NULL };
  double ttft[2] = { 0 };
  for (int i = 0; i < 2; i++) {
    if (i == 1)
      sets[3] = "scheduler.name=vllm";
    ServeScenario *sc = serve_scenario_load (NULL, (char **) sets, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
    ServeWorld *w = serve_world_new (sc, reg, &e);
    if (!w)
      fprintf (stderr, "\n    %s\n", e ? e->message : "(no error)");
    CU_ASSERT_PTR_NOT_NULL_FATAL (w);
    CU_ASSERT_TRUE (serve_world_run (w, &e));
    ServeMetrics *m = serve_world_metrics (w);
    CU_ASSERT_EQUAL (m->completed, 200);
    CU_ASSERT_TRUE (serve_world_kv_conserved (w));
    ttft[i] = sim_quantiles_mean (m->ttft);
    serve_world_free (w);
    serve_scenario_free (sc);
  }
  CU_ASSERT_TRUE (ttft[0] < ttft[1]);
  /* loading it again: the name is taken, reported as an error */
  CU_ASSERT_FALSE (policy_registry_load_plugin (reg, PLUGIN, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "sample-sjf") && contains (e->message, "name taken"));
  g_clear_error (&e);
  policy_registry_free (reg);
}

static void
test_bad_plugins (void)
{
  if (!tmp)
    tmp = test_tmpdir ();
  PolicyRegistry *reg = policy_registry_new ();
  GError *e = NULL;
  CU_ASSERT_FALSE (policy_registry_load_plugin (reg, "no/such/plugin.so", &e));
  CU_ASSERT_TRUE (e && contains (e->message, "no/such/plugin.so: plug-in file not found"));
  CU_ASSERT_TRUE (e && e->domain == POLICY_ERROR && e->code == POLICY_ERROR_PLUGIN);
  g_clear_error (&e);
  char *text = g_build_filename (tmp, "text.so", NULL);
  g_file_set_contents (text, "not an ELF file\n", -1, NULL);
  CU_ASSERT_FALSE (policy_registry_load_plugin (reg, text, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "cannot load plug-in"));
  g_clear_error (&e);
  g_free (text);
  /* a real shared object without the registration symbol: libjansson
   * (found through the dynamic linker's own search) */
  const char *libs[] = { "/usr/lib/x86_64-linux-gnu/libjansson.so.4", "/usr/lib/aarch64-linux-gnu/libjansson.so.4",
                         "/usr/lib64/libjansson.so.4", "/usr/lib/libjansson.so.4" };
  for (guint i = 0; i < G_N_ELEMENTS (libs); i++)
    if (g_file_test (libs[i], G_FILE_TEST_EXISTS)) {
      CU_ASSERT_FALSE (policy_registry_load_plugin (reg, libs[i], &e));
      CU_ASSERT_TRUE (e && contains (e->message, "not a servesim plug-in"));
      g_clear_error (&e);
      break;
    }
  policy_registry_free (reg);
}

static gboolean
spawn (const char *const *argv, char **out, char **err, int *status)
{
  return g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, out, err, status, NULL);
}

static void
test_cli_plugin (void)
{
  if (!tmp)
    tmp = test_tmpdir ();
  char *out = NULL, *err = NULL, *dir = g_build_filename (tmp, "cli", NULL);
  int status = -1;
  const char *argv[] = { "./servesim", "replay", "--plugin", PLUGIN, "--set", "scheduler.name=sample-sjf",
                         "--set", "workload.limit=50", "--no-render", "-o", dir, NULL };
  CU_ASSERT_TRUE_FATAL (spawn (argv, &out, &err, &status));
  CU_ASSERT_EQUAL (status, 0);
  CU_ASSERT_TRUE (contains (out, "scheduler sample-sjf"));
  CU_ASSERT_TRUE (contains (out, "50 completed"));
  g_free (out);
  g_free (err);
  /* without --plugin the name is unknown, and the error lists the valid ones */
  const char *argv2[] = { "./servesim", "replay", "--set", "scheduler.name=sample-sjf", "--no-render",
                          "-o", dir, NULL };
  CU_ASSERT_TRUE_FATAL (spawn (argv2, &out, &err, &status));
  CU_ASSERT_NOT_EQUAL (status, 0);
  CU_ASSERT_TRUE (contains (err, "unknown scheduler 'sample-sjf'"));
  CU_ASSERT_TRUE (contains (err, "sarathi"));
  g_free (out);
  g_free (err);
  /* a missing plug-in file: non-zero exit naming it */
  const char *argv3[] = { "./servesim", "replay", "--plugin", "missing.so", "-o", dir, NULL };
  CU_ASSERT_TRUE_FATAL (spawn (argv3, &out, &err, &status));
  CU_ASSERT_NOT_EQUAL (status, 0);
  CU_ASSERT_TRUE (contains (err, "missing.so: plug-in file not found"));
  g_free (out);
  g_free (err);
  g_free (dir);
}

int
main (void)
{
  static const TestCase cases[] = {
    { "sample plug-in loads, registers, runs by name", test_load_and_run },
    { "bad plug-in files are reported", test_bad_plugins },
    { "servesim replay --plugin", test_cli_plugin },
    { NULL, NULL },
  };
  int rc = test_run_suite ("plugin", cases);
  if (tmp) {
    test_rmdir_r (tmp);
    g_free (tmp);
  }
  return rc;
}
