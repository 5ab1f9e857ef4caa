/* tests/serve/test_world.c — serve/world.c, serve/output.c and
 * serve/metrics.c: a world built from a scenario, run to the end, and its
 * files. A hand-computed single request (TTFT and TPOT exact to the
 * nanosecond against the cost model), KV-block conservation under heavy
 * preemption (checked at every scheduling decision), rejection, byte-for-byte
 * determinism, the bundled default scenario end to end, bad input (malformed
 * trace rows, unknown names, a model that does not fit, a missing trace) with
 * no partial outputs, the template scheduler's serial behaviour and the
 * round-robin router's placement. Small synthetic workloads throughout; no
 * assertion depends on wall-clock time. The policies' own details are in
 * tests/policies/test_vllm.c, the scenario schema in test_scenario.c.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "models/catalog.h"
#include "models/cost.h"
#include "models/comm.h"
#include "policies/registry.h"
#include "serve/metrics.h"
#include "serve/scenario.h"
#include "serve/world.h"
#include "serve/output.h"
#include "tests/testutil.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static char *tmp;          /* this program's temporary directory */
static guint n_bad_logs;   /* GLib warnings/criticals seen (programmer errors) */

static void
count_logs (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR)) {
    n_bad_logs++;
    fprintf (stderr, "\n    GLib %s: %s\n", level & G_LOG_LEVEL_CRITICAL ? "CRITICAL" : "WARNING",
             message);
  }
}

static gboolean
contains (const char *hay, const char *needle)
{
  gboolean ok = hay && strstr (hay, needle) != NULL;
  if (!ok)
    fprintf (stderr, "\n    message '%s' lacks '%s'\n", hay ? hay : "(null)", needle);
  return ok;
}

/* A new directory under tmp (g_free); created when `create`. */
static char *
subdir (const char *name, gboolean create)
{
  if (!tmp)
    tmp = test_tmpdir ();
  char *d = g_build_filename (tmp, name, NULL);
  test_rmdir_r (d);
  if (create)
    g_mkdir_with_parents (d, 0755);
  return d;
}

/* Scenario: defaults, output.dir = out (when non-NULL), output.render=false,
 * then the NULL-terminated overrides in `sets`, then the varargs ones. */
static ServeScenario *
scen_v (const char *out, const char *const *sets, GError **error, va_list ap)
{
  GPtrArray *a = g_ptr_array_new_with_free_func (g_free);
  if (out) {
    json_t *s = json_string (out);
    char *q = json_dumps (s, JSON_ENCODE_ANY);
    g_ptr_array_add (a, g_strdup_printf ("output.dir=%s", q));
    free (q);
    json_decref (s);
  }
  g_ptr_array_add (a, g_strdup ("output.render=false"));
  for (const char *const *s = sets; s && *s; s++)
    g_ptr_array_add (a, g_strdup (*s));
  const char *x;
  while ((x = va_arg (ap, const char *)))
    g_ptr_array_add (a, g_strdup (x));
  g_ptr_array_add (a, NULL);
  ServeScenario *sc = serve_scenario_load (NULL, (char **) a->pdata, error);
  g_ptr_array_free (a, TRUE);
  return sc;
}

static ServeScenario *
scen (const char *out, const char *const *sets, GError **error, ...)
{
  va_list ap;
  va_start (ap, error);
  ServeScenario *sc = scen_v (out, sets, error, ap);
  va_end (ap);
  return sc;
}

/* A small synthetic workload on one replica. */
static const char *const SYNTH[] = { "workload.trace=null", "cluster.replicas=1", NULL };

typedef struct {
  PolicyRegistry *reg;
  ServeScenario  *sc;
  ServeWorld     *w;
} Run;

static void
run_clear (Run *r)
{
  serve_world_free (r->w);
  serve_scenario_free (r->sc);
  policy_registry_free (r->reg);
  memset (r, 0, sizeof *r);
}

/* Build, run and write outputs; FALSE with *error at the first failure
 * (r->w is NULL when construction failed). */
static gboolean
run_sc (Run *r, ServeScenario *sc, PolicyRegistry *reg, GError **error)
{
  r->sc = sc;
  r->reg = reg ? reg : policy_registry_new ();
  if (!sc)
    return FALSE;
  r->w = serve_world_new (sc, r->reg, error);
  if (!r->w)
    return FALSE;
  return serve_world_run (r->w, error) && serve_world_write_outputs (r->w, error);
}

/* Runs a scenario that must succeed (asserted); the whole Run is returned. */
static gboolean
run_ok (Run *r, const char *out, const char *const *sets, PolicyRegistry *reg, ...)
{
  GError *e = NULL;
  va_list ap;
  va_start (ap, reg);
  ServeScenario *sc = scen_v (out, sets, &e, ap);
  va_end (ap);
  gboolean ok = run_sc (r, sc, reg, &e);
  if (!ok)
    fprintf (stderr, "\n    run failed: %s\n", e ? e->message : "(no error set)");
  CU_ASSERT_TRUE (ok);
  g_clear_error (&e);
  return ok;
}

static json_t *
load_summary (const char *dir)
{
  char *p = g_build_filename (dir, "summary.json", NULL);
  json_error_t jerr;
  json_t *j = json_load_file (p, 0, &jerr);
  g_free (p);
  return j;
}

static double
jpath (json_t *j, const char *a, const char *b)
{
  json_t *v = json_object_get (j, a);
  if (b)
    v = json_object_get (v, b);
  return json_number_value (v);
}

/* requests.csv */
enum { C_ID, C_REPLICA, C_ARRIVAL, C_PROMPT, C_OUTPUT, C_FIRST_SCHED, C_FIRST_TOKEN, C_COMPLETION,
       C_TTFT, C_TPOT, C_E2E, C_QUEUE, C_PREEMPT, C_STATUS, C_N };

static const char CSV_HEADER[] =
  "id,replica,arrival_s,prompt_tokens,output_tokens,first_scheduled_s,first_token_s,"
  "completion_s,ttft_s,tpot_s,e2e_s,queue_s,preemptions,status";

/* Rows of requests.csv indexed by request id (each a NULL-terminated strv
 * of C_N fields); asserts the header, the field count and that ids are
 * 0..n-1 exactly once. Free with g_ptr_array_unref. */
static GPtrArray *
read_requests (const char *dir)
{
  char *p = g_build_filename (dir, "requests.csv", NULL);
  char *text = NULL;
  gboolean ok = g_file_get_contents (p, &text, NULL, NULL);
  g_free (p);
  CU_ASSERT_TRUE (ok);
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  if (!ok)
    return rows;
  char **lines = g_strsplit (text, "\n", -1);
  CU_ASSERT_STRING_EQUAL (lines[0], CSV_HEADER);
  guint n = 0;
  for (char **l = lines + 1; *l; l++)
    n += **l != '\0';
  g_ptr_array_set_size (rows, n);
  for (char **l = lines + 1; *l; l++) {
    if (!**l)
      continue;
    char **f = g_strsplit (*l, ",", -1);
    CU_ASSERT_EQUAL (g_strv_length (f), C_N);
    guint64 id = g_ascii_strtoull (f[C_ID], NULL, 10);
    CU_ASSERT_TRUE (id < n);
    if (g_strv_length (f) != C_N || id >= n || g_ptr_array_index (rows, id)) {
      CU_FAIL ("bad or duplicate row in requests.csv");
      g_strfreev (f);
      continue;
    }
    rows->pdata[id] = f;
  }
  g_strfreev (lines);
  g_free (text);
  return rows;
}

static const char *
field (GPtrArray *rows, guint id, int col)
{
  char **f = g_ptr_array_index (rows, id);
  return f ? f[col] : "";
}

/* "S.NNNNNNNNN" -> ns, exactly; -1 when empty or malformed. */
static gint64
parse_ns (const char *s)
{
  const char *dot = strchr (s, '.');
  if (!*s || !dot || strlen (dot + 1) != 9)
    return -1;
  char *end;
  gint64 sec = g_ascii_strtoll (s, &end, 10);
  if (end != dot)
    return -1;
  gint64 frac = g_ascii_strtoll (dot + 1, &end, 10);
  if (*end)
    return -1;
  return sec * 1000000000 + frac;
}

static gint64
col_ns (GPtrArray *rows, guint id, int col)
{
  return parse_ns (field (rows, id, col));
}

static gboolean
file_exists (const char *dir, const char *name)
{
  char *p = g_build_filename (dir, name, NULL);
  gboolean ok = g_file_test (p, G_FILE_TEST_IS_REGULAR);
  g_free (p);
  if (!ok)
    fprintf (stderr, "\n    missing %s/%s\n", dir, name);
  return ok;
}

static guint
count_entries (const char *dir, const char *needle)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (!d)
    return 0;
  guint n = 0;
  const char *name;
  while ((name = g_dir_read_name (d)))
    if (!needle || strstr (name, needle))
      n++;
  g_dir_close (d);
  return n;
}

/* Asserts `dir` holds no entry matching `needle` (all when NULL); lists
 * the offenders when it does. */
#define ASSERT_NO_ENTRIES(dir, needle)                                          \
  do {                                                                          \
    guint n_ = count_entries ((dir), (needle));                                 \
    CU_ASSERT_EQUAL (n_, 0);                                                    \
    if (n_)                                                                     \
      list_entries (dir);                                                       \
  } while (0)

static void
list_entries (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d)))
    fprintf (stderr, "\n    left behind: %s/%s", dir, name);
  fprintf (stderr, "\n");
  if (d)
    g_dir_close (d);
}

static char *
read_text (const char *dir, const char *name)
{
  char *p = g_build_filename (dir, name, NULL);
  char *t = NULL;
  if (!g_file_get_contents (p, &t, NULL, NULL))
    t = NULL;
  g_free (p);
  return t;
}

/* The bundled catalog, loaded once for the program (freed in main). */
static ModelCatalog *the_catalog;

static const ModelCatalog *
catalog (void)
{
  if (!the_catalog) {
    the_catalog = model_catalog_new ();
    if (!model_catalog_load_default (the_catalog, NULL))
      g_error ("the bundled catalog does not load");
  }
  return the_catalog;
}

static const ModelGpu *
gpu_of (const char *id)
{
  return model_catalog_gpu (catalog (), id, NULL);
}

/* *c: the cost model of `model` on `gpu` at tp x pp. */
static void
cost_of (ModelCost *c, const char *model, const char *gpu, int tp, int pp)
{
  model_cost_init (c, model_catalog_llm (catalog (), model, NULL), gpu_of (gpu), tp);
  c->pp = pp;
}

/* "workload.trace=PATH" for `text` written to dir/name, dir created (g_free). */
static char *
trace_set (const char *dir, const char *name, const char *text)
{
  g_mkdir_with_parents (dir, 0755);
  char *p = test_write_file (dir, name, text);
  char *set = g_strdup_printf ("workload.trace=%s", p);
  g_free (p);
  return set;
}

/* KV blocks per replica for a model/gpu/tp at mem_util (vLLM's default
 * max_batched_tokens sizes the activations), or 0 when it does not fit. */
static gint64
plan_blocks (const char *model, const char *gpu, int tp, double mem_util)
{
  ModelCatalog *cat = model_catalog_new ();
  gint64 n = 0;
  if (model_catalog_load_default (cat, NULL)) {
    const ModelLlm *llm = model_catalog_llm (cat, model, NULL);
    const ModelGpu *g = model_catalog_gpu (cat, gpu, NULL);
    if (llm && g) {
      ModelCost c;
      model_cost_init (&c, llm, g, tp);
      ModelMemoryPlan mp;
      if (model_memory_plan (&c, 16, mem_util, 8192, &mp, NULL))
        n = mp.num_blocks;
    }
  }
  model_catalog_free (cat);
  return n;
}

/* The smallest of a few mem_util values that leaves >= min_blocks blocks
 * (llama-3.1-8b on h100-sxm); *blocks_out gets the count. */
static double
small_mem_util (gint64 min_blocks, gint64 *blocks_out)
{
  static const double mus[] = { 0.2, 0.205, 0.21, 0.22, 0.25, 0.3, 0.4 };
  for (guint i = 0; i < G_N_ELEMENTS (mus); i++) {
    gint64 b = plan_blocks ("llama-3.1-8b", "h100-sxm", 1, mus[i]);
    if (b >= min_blocks) {
      *blocks_out = b;
      return mus[i];
    }
  }
  *blocks_out = 0;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* hand-computed single request                                             */

/* A trace's priority column reaches the requests: the summary's high class
 * counts exactly the rows marked high, with no scenario rule set. */
static void
test_trace_priority_column (void)
{
  char *dir = subdir ("trace-priority", TRUE);
  GString *t = g_string_new ("arrival_s,prompt_tokens,output_tokens,priority\n");
  for (int i = 0; i < 40; i++)
    g_string_append_printf (t, "%.3f,%d,%d,%d\n", i * 0.05, 200 + i, 20, i % 4 == 0 ? 1 : 0);
  char *trace = test_write_file (dir, "trace.csv", t->str);
  g_string_free (t, TRUE);
  char *set_trace = g_strdup_printf ("workload.trace=%s", trace);
  const char *sets[] = { set_trace, "workload.format=csv", "cluster.replicas=1",
                         "scheduler.name=priority", NULL };
  Run r = { 0 };
  char *out = g_build_filename (dir, "out", NULL);
  if (run_ok (&r, out, sets, NULL, NULL)) {
    json_t *j = load_summary (out);
    json_t *hi = json_object_get (json_object_get (json_object_get (j, "priority"), "high"), "ttft_s");
    CU_ASSERT_EQUAL (json_integer_value (json_object_get (hi, "count")), 10);
    CU_ASSERT_EQUAL (jpath (j, "requests", "completed"), 40);
    json_decref (j);
  }
  run_clear (&r);
  g_free (out);
  g_free (set_trace);
  g_free (trace);
  g_free (dir);
}

/* What the cost model, built independently of the world, says one request
 * alone (prompt P, output O) takes on the default llama-3.1-8b / h100-sxm
 * replica: its prefill from an idle replica (CPU + GPU), and the sum of its
 * O - 1 decode steps, serial (CPU + GPU each) and overlapped (the longer of
 * the two each, engine.cpu_overlap). */
static void
expect_single_request (gint64 P, gint64 O, gint64 *ttft, gint64 *decode_serial, gint64 *decode_overlap)
{
  ModelCatalog *cat = model_catalog_new ();
  CU_ASSERT_TRUE_FATAL (model_catalog_load_default (cat, NULL));
  const ModelLlm *llm = model_catalog_llm (cat, "llama-3.1-8b", NULL);
  const ModelGpu *gpu = model_catalog_gpu (cat, "h100-sxm", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (llm);
  CU_ASSERT_PTR_NOT_NULL_FATAL (gpu);
  ModelCost cost;
  model_cost_init (&cost, llm, gpu, 1);
  ModelIterCost it;
  ModelSeqWork prefill = { P, 0 };
  model_cost_iteration (&cost, &prefill, 1, &it);
  *ttft = model_iter_ns (&it);
  *decode_serial = *decode_overlap = 0;
  for (gint64 i = 0; i < O - 1; i++) {
    ModelSeqWork d = { 1, P + i };
    model_cost_iteration (&cost, &d, 1, &it);
    CU_ASSERT_TRUE (it.cpu_s > 0 && it.gpu_s > 0);
    *decode_serial += model_iter_ns (&it);
    *decode_overlap += llround (MAX (it.gpu_s, it.cpu_s) * 1e9);
  }
  model_catalog_free (cat);
}

/* engine.cpu_overlap, by hand: one request alone; its prefill starts on an
 * idle replica, so it pays CPU and GPU in sequence; every decode after it
 * runs back to back and takes the longer of the two. Without the key the
 * same run pays both every time (test_single_request_exact). */
static void
test_cpu_overlap_exact (void)
{
  const gint64 P = 600, O = 40;
  gint64 ttft, serial_sum, overlap_sum;
  expect_single_request (P, O, &ttft, &serial_sum, &overlap_sum);
  for (int overlap = 0; overlap < 2; overlap++) {
    char *out = subdir (overlap ? "overlap1" : "overlap0", FALSE);
    Run r = { 0 };
    if (!run_ok (&r, out, SYNTH, NULL, "workload.generator.num_requests=1",
                 "workload.generator.lengths=\"fixed\"", "workload.generator.prompt_tokens=600",
                 "workload.generator.output_tokens=40",
                 overlap ? "engine.cpu_overlap=true" : "engine.cpu_overlap=false", NULL)) {
      g_free (out);
      continue;
    }
    const gint64 decode_sum = overlap ? overlap_sum : serial_sum;
    GPtrArray *rows = read_requests (out);
    CU_ASSERT_EQUAL_FATAL (rows->len, 1);
    gint64 arrival = col_ns (rows, 0, C_ARRIVAL), first = col_ns (rows, 0, C_FIRST_TOKEN);
    gint64 done_ns = col_ns (rows, 0, C_COMPLETION);
    CU_ASSERT_EQUAL (first - arrival, ttft);
    CU_ASSERT_EQUAL (done_ns - first, decode_sum);
    /* a decode of one 8B sequence on an H100 is GPU-bound: overlapped, the
     * CPU's share of each step is gone */
    if (overlap)
      CU_ASSERT_TRUE (decode_sum < serial_sum);
    json_t *s = load_summary (out);
    CU_ASSERT_PTR_NOT_NULL_FATAL (s);
    CU_ASSERT_EQUAL (json_is_true (json_object_get (s, "cpu_overlap")), overlap);
    json_decref (s);
    g_ptr_array_unref (rows);
    run_clear (&r);
    g_free (out);
  }
}

static void
test_single_request_exact (void)
{
  const gint64 P = 1000, O = 50;
  char *out = subdir ("single", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  if (!run_ok (&r, out, SYNTH, NULL, "workload.generator.num_requests=1",
               "workload.generator.lengths=\"fixed\"", "workload.generator.prompt_tokens=1000",
               "workload.generator.output_tokens=50", NULL))
    goto done;

  /* the cost model, built independently */
  gint64 ttft, decode_sum, overlapped;
  expect_single_request (P, O, &ttft, &decode_sum, &overlapped);
  CU_ASSERT_TRUE (ttft > 0);
  CU_ASSERT_TRUE (decode_sum > 0);

  GPtrArray *rows = read_requests (out);
  CU_ASSERT_EQUAL_FATAL (rows->len, 1);
  CU_ASSERT_STRING_EQUAL (field (rows, 0, C_STATUS), "ok");
  CU_ASSERT_EQUAL (g_ascii_strtoll (field (rows, 0, C_PROMPT), NULL, 10), P);
  CU_ASSERT_EQUAL (g_ascii_strtoll (field (rows, 0, C_OUTPUT), NULL, 10), O);
  gint64 arrival = col_ns (rows, 0, C_ARRIVAL), first = col_ns (rows, 0, C_FIRST_TOKEN);
  gint64 done_ns = col_ns (rows, 0, C_COMPLETION);
  CU_ASSERT_TRUE (arrival >= 0 && first >= 0 && done_ns >= 0);
  /* alone: scheduled on arrival, first token after exactly one prefill */
  CU_ASSERT_EQUAL (col_ns (rows, 0, C_FIRST_SCHED), arrival);
  CU_ASSERT_EQUAL (col_ns (rows, 0, C_QUEUE), 0);
  CU_ASSERT_EQUAL (first - arrival, ttft);
  CU_ASSERT_EQUAL (col_ns (rows, 0, C_TTFT), ttft);
  /* then exactly the 49 decode steps */
  CU_ASSERT_EQUAL (done_ns - first, decode_sum);
  CU_ASSERT_EQUAL (col_ns (rows, 0, C_E2E), ttft + decode_sum);
  double tpot = g_ascii_strtod (field (rows, 0, C_TPOT), NULL);
  CU_ASSERT_DOUBLE_EQUAL (tpot, decode_sum / 1e9 / (double) (O - 1), 1e-9);
  if (first - arrival != ttft || done_ns - first != decode_sum)
    fprintf (stderr, "\n    ttft %" G_GINT64_FORMAT " (want %" G_GINT64_FORMAT "), decode %"
             G_GINT64_FORMAT " (want %" G_GINT64_FORMAT ")\n", first - arrival, ttft,
             done_ns - first, decode_sum);

  /* the same numbers in the world's metrics and summary */
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (m->completed, 1);
  CU_ASSERT_EQUAL (m->rejected, 0);
  CU_ASSERT_EQUAL (m->preemptions, 0);
  CU_ASSERT_EQUAL (m->input_tokens, (guint64) P);
  CU_ASSERT_EQUAL (m->output_tokens, (guint64) O);
  CU_ASSERT_EQUAL (sim_quantiles_count (m->itl), (guint64) (O - 1));
  CU_ASSERT_DOUBLE_EQUAL (sim_quantiles_max (m->ttft), ttft / 1e9, 1e-12);
  CU_ASSERT_DOUBLE_EQUAL (sim_quantiles_max (m->tpot), decode_sum / 1e9 / (O - 1), 1e-12);
  CU_ASSERT_EQUAL (m->last_event, done_ns);
  json_t *s = load_summary (out);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  CU_ASSERT_EQUAL (jpath (s, "requests", "completed"), 1);
  CU_ASSERT_EQUAL (jpath (s, "iterations", NULL), (double) O);
  CU_ASSERT_DOUBLE_EQUAL (jpath (s, "ttft_s", "mean"), ttft / 1e9, 1e-9);
  CU_ASSERT_DOUBLE_EQUAL (jpath (s, "duration_s", NULL), (ttft + decode_sum) / 1e9, 1e-9);
  CU_ASSERT_EQUAL (jpath (s, "batch_size", "max"), 1);
  CU_ASSERT_EQUAL (jpath (s, "batch_tokens", "max"), (double) P);
  /* the GPU was busy for the whole request */
  CU_ASSERT_EQUAL (serve_world_replica (r.w, 0)->busy_ns, ttft + decode_sum);
  json_decref (s);
  g_ptr_array_unref (rows);
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
done:
  run_clear (&r);
  g_free (out);
}

/* ------------------------------------------------------------------------ */
/* KV conservation under preemption                                         */

/* vLLM wrapped so that KV conservation is checked at every decision point. */
extern const PolicySchedulerOps policy_sched_vllm;
static PolicySchedulerOps checked_vllm;
static guint kv_checks, kv_violations;

/* the most KV blocks a decode step past `win_from` computed tokens held
 * (sliding-window test; 0 disables) */
static gint64 win_from, win_max_blocks;

static void
check_kv (PolicyReplica *rep)
{
  kv_checks++;
  if (!serve_world_kv_conserved (rep->world) || policy_replica_free_blocks (rep) < 0
      || policy_replica_free_blocks (rep) > policy_replica_total_blocks (rep))
    kv_violations++;
}

static void
checked_schedule (void *state, PolicyReplica *rep, PolicyBatch *b)
{
  check_kv (rep);
  policy_sched_vllm.schedule (state, rep, b);
  check_kv (rep);
  /* disaggregated: a prefill replica never runs a token after the first */
  if (rep->index < (guint) serve_world_scenario (rep->world)->prefill_replicas)
    for (guint i = 0; i < b->len; i++)
      if (b->entries[i].req->generated > 0)
        kv_violations++;
  /* reserved for this iteration: decodes past the window */
  if (win_from > 0)
    for (GList *l = rep->live.head; l; l = l->next) {
      const struct ServeRequest *q = l->data;
      if (q->in_batch && q->computed >= win_from && q->prompt + q->generated - q->computed == 1)
        win_max_blocks = MAX (win_max_blocks, q->blocks);
    }
}

static void
checked_after (void *state, PolicyReplica *rep, PolicyBatch *b)
{
  check_kv (rep);
  policy_sched_vllm.after_iteration (state, rep, b);
  check_kv (rep);
}

static PolicyRegistry *
registry_with_checked (void)
{
  PolicyRegistry *reg = policy_registry_new ();
  checked_vllm = policy_sched_vllm;
  checked_vllm.name = "vllm-checked";
  checked_vllm.schedule = checked_schedule;
  checked_vllm.after_iteration = checked_after;
  CU_ASSERT_TRUE (policy_registry_add_scheduler (reg, &checked_vllm));
  return reg;
}

static void
test_kv_conserved_under_preemption (void)
{
  gint64 blocks;
  double mu = small_mem_util (200, &blocks);
  CU_ASSERT_TRUE_FATAL (mu > 0);
  gint64 cap = blocks * 16;
  /* each request's prompt takes 1/16 of the cache and its output 1/8: many
   * are admitted together, then decodes outgrow the cache */
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *ps = g_strdup_printf ("workload.generator.prompt_tokens=%" G_GINT64_FORMAT, cap / 16);
  char *os = g_strdup_printf ("workload.generator.output_tokens=%" G_GINT64_FORMAT, cap / 8);
  char *out = subdir ("preempt", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  kv_checks = kv_violations = 0;
  if (!run_ok (&r, out, SYNTH, registry_with_checked (), "scheduler.name=vllm-checked", mus, ps, os,
               "workload.generator.num_requests=60", "workload.generator.rate=1000", NULL))
    goto done;
  CU_ASSERT_TRUE (kv_checks > 100);
  CU_ASSERT_EQUAL (kv_violations, 0);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (serve_world_arrived (r.w), 60);
  CU_ASSERT_EQUAL (m->completed, 60);
  CU_ASSERT_EQUAL (m->rejected, 0);
  CU_ASSERT_EQUAL (serve_world_completed (r.w), serve_world_arrived (r.w));
  for (guint i = 0; i < serve_world_n_replicas (r.w); i++) {
    struct ServeReplica *rep = serve_world_replica (r.w, i);
    CU_ASSERT_EQUAL (rep->free_blocks, rep->mem.num_blocks);
    CU_ASSERT_EQUAL (rep->mem.num_blocks, blocks);
    CU_ASSERT_EQUAL (rep->load, 0);
    CU_ASSERT_EQUAL (g_queue_get_length (&rep->live), 0);
  }
  json_t *s = load_summary (out);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  double pre = jpath (s, "preemptions", NULL);
  CU_ASSERT_TRUE (pre > 0);
  CU_ASSERT_EQUAL (jpath (s, "requests", "completed"), 60);
  CU_ASSERT_TRUE (jpath (s, "kv_cache", "peak_utilisation") > 0.9);
  CU_ASSERT_TRUE (jpath (s, "kv_cache", "peak_utilisation") <= 1.0);
  GPtrArray *rows = read_requests (out);
  CU_ASSERT_EQUAL (rows->len, 60);
  double pre_csv = 0;
  for (guint i = 0; i < rows->len; i++) {
    CU_ASSERT_STRING_EQUAL (field (rows, i, C_STATUS), "ok");
    pre_csv += g_ascii_strtod (field (rows, i, C_PREEMPT), NULL);
    /* times are ordered for every request */
    gint64 a = col_ns (rows, i, C_ARRIVAL), fs = col_ns (rows, i, C_FIRST_SCHED);
    gint64 ft = col_ns (rows, i, C_FIRST_TOKEN), c = col_ns (rows, i, C_COMPLETION);
    CU_ASSERT_TRUE (a >= 0 && a <= fs && fs < ft && ft < c);
  }
  CU_ASSERT_EQUAL (pre_csv, pre);
  g_ptr_array_unref (rows);
  json_decref (s);
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
done:
  run_clear (&r);
  g_free (out);
  g_free (mus);
  g_free (ps);
  g_free (os);
}

/* ------------------------------------------------------------------------ */
/* rejection                                                                */

/* Prompts that can never fit are rejected and counted; the rest complete. */
static void
test_reject_prompt_too_long_mixed (void)
{
  gint64 blocks;
  double mu = small_mem_util (20, &blocks);
  CU_ASSERT_TRUE_FATAL (mu > 0);
  gint64 wm = (gint64) floor (0.01 * (double) blocks);
  gint64 cap = blocks * 16;
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *pmax = g_strdup_printf ("workload.generator.prompt_max=%" G_GINT64_FORMAT, 2 * cap);
  char *out = subdir ("reject-mixed", FALSE);
  Run r = { 0 };
  if (!run_ok (&r, out, SYNTH, NULL, mus, "workload.generator.lengths=uniform",
               "workload.generator.prompt_min=1", pmax, "workload.generator.output_min=1",
               "workload.generator.output_max=4", "workload.generator.num_requests=40",
               "workload.generator.rate=2", NULL))
    goto done;
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_TRUE (m->rejected > 0);
  CU_ASSERT_TRUE (m->completed > 0);
  CU_ASSERT_EQUAL (m->rejected + m->completed, m->arrived);
  CU_ASSERT_EQUAL (m->arrived, 40);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  GPtrArray *rows = read_requests (out);
  CU_ASSERT_EQUAL (rows->len, 40);
  guint64 rej = 0;
  for (guint i = 0; i < rows->len; i++) {
    gint64 p = g_ascii_strtoll (field (rows, i, C_PROMPT), NULL, 10);
    gint64 o = g_ascii_strtoll (field (rows, i, C_OUTPUT), NULL, 10);
    const char *st = field (rows, i, C_STATUS);
    rej += strcmp (st, "rejected") == 0;
    if ((p + 15) / 16 > blocks - wm) {
      CU_ASSERT_STRING_EQUAL (st, "rejected");
      CU_ASSERT_STRING_EQUAL (field (rows, i, C_FIRST_TOKEN), "");
      CU_ASSERT_STRING_EQUAL (field (rows, i, C_TTFT), "");
    } else if ((p + o + 15) / 16 <= blocks - wm) {
      CU_ASSERT_STRING_EQUAL (st, "ok");
    }
  }
  CU_ASSERT_EQUAL (rej, m->rejected);
  json_t *s = load_summary (out);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  CU_ASSERT_EQUAL (jpath (s, "requests", "rejected"), (double) m->rejected);
  json_decref (s);
  g_ptr_array_unref (rows);
done:
  run_clear (&r);
  g_free (out);
  g_free (mus);
  g_free (pmax);
}

/* Every request rejected: the run still ends, outputs are written and
 * nothing trips a GLib assertion (summary over an empty run). */
static void
test_reject_all (void)
{
  gint64 blocks;
  double mu = small_mem_util (4, &blocks);
  CU_ASSERT_TRUE_FATAL (mu > 0);
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *ps = g_strdup_printf ("workload.generator.prompt_tokens=%" G_GINT64_FORMAT, blocks * 16 + 1);
  char *out = subdir ("reject-all", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  if (!run_ok (&r, out, SYNTH, NULL, mus, ps, "workload.generator.num_requests=3", NULL))
    goto done;
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (m->arrived, 3);
  CU_ASSERT_EQUAL (m->rejected, 3);
  CU_ASSERT_EQUAL (m->completed, 0);
  CU_ASSERT_EQUAL (serve_world_completed (r.w), 3);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  GPtrArray *rows = read_requests (out);
  CU_ASSERT_EQUAL (rows->len, 3);
  for (guint i = 0; i < rows->len; i++)
    CU_ASSERT_STRING_EQUAL (field (rows, i, C_STATUS), "rejected");
  g_ptr_array_unref (rows);
  json_t *s = load_summary (out);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  CU_ASSERT_EQUAL (jpath (s, "requests", "rejected"), 3);
  CU_ASSERT_TRUE (json_is_null (json_object_get (json_object_get (s, "ttft_s"), "mean")));
  CU_ASSERT_TRUE (jpath (s, "duration_s", NULL) >= 0);
  if (jpath (s, "duration_s", NULL) < 0)
    fprintf (stderr, "\n    duration_s %g < 0\n", jpath (s, "duration_s", NULL));
  json_decref (s);
  char *text = serve_world_summary_text (r.w);
  CU_ASSERT_TRUE (contains (text, "3 rejected"));
  g_free (text);
  /* e.g. sim_time_avg_mean: assertion 't >= a->last_t' */
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
done:
  run_clear (&r);
  g_free (out);
  g_free (mus);
  g_free (ps);
}

/* A prompt that fits but whose output would outgrow the whole KV cache: the
 * request can never finish here, so it must be rejected and the run end
 * normally (not stall with the request parked in the waiting queue). */
static void
test_reject_output_outgrows_cache (void)
{
  gint64 blocks;
  double mu = small_mem_util (100, &blocks);
  CU_ASSERT_TRUE_FATAL (mu > 0);
  gint64 cap = blocks * 16;
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *ps = g_strdup_printf ("workload.generator.prompt_tokens=%" G_GINT64_FORMAT, cap / 2);
  char *os = g_strdup_printf ("workload.generator.output_tokens=%" G_GINT64_FORMAT, cap);
  char *out = subdir ("reject-grow", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  if (!run_ok (&r, out, SYNTH, NULL, mus, ps, os, "workload.generator.num_requests=1", NULL))
    goto done;
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (m->arrived, 1);
  CU_ASSERT_EQUAL (m->rejected, 1);
  CU_ASSERT_EQUAL (m->completed, 0);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
done:
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
  run_clear (&r);
  g_free (out);
  g_free (mus);
  g_free (ps);
  g_free (os);
}

/* ------------------------------------------------------------------------ */
/* determinism                                                              */

static const char *const DET_FILES[] = { "summary.json", "requests.csv", "scenario.json",
                                         "timeline.dat", "ttft_cdf.dat", "tpot_cdf.dat",
                                         "cluster.dot", NULL };

/* Runs in `dir` with a relative output.dir (so scenario.json is the same
 * wherever the run happens). */
static gboolean
run_in (const char *dir, const char *seed)
{
  char *cwd = g_get_current_dir ();
  g_mkdir_with_parents (dir, 0755);
  CU_ASSERT_EQUAL_FATAL (g_chdir (dir), 0);
  Run r = { 0 };
  gboolean ok = run_ok (&r, "out", NULL, NULL, "workload.trace=null", "cluster.replicas=2",
                        "workload.generator.arrival=gamma", "workload.generator.cv=2",
                        "workload.generator.rate=20", "workload.generator.num_requests=300",
                        "workload.generator.lengths=uniform", "output.timeline_interval=0.05",
                        seed, NULL);
  run_clear (&r);
  CU_ASSERT_EQUAL (g_chdir (cwd), 0);
  g_free (cwd);
  return ok;
}

static void
test_determinism (void)
{
  char *a = subdir ("det-a", TRUE), *b = subdir ("det-b", TRUE), *c = subdir ("det-c", TRUE);
  gboolean ok = run_in (a, "seed=42") && run_in (b, "seed=42") && run_in (c, "seed=43");
  CU_ASSERT_TRUE_FATAL (ok);
  char *da = g_build_filename (a, "out", NULL), *db = g_build_filename (b, "out", NULL);
  char *dc = g_build_filename (c, "out", NULL);
  for (const char *const *f = DET_FILES; *f; f++) {
    char *ta = read_text (da, *f), *tb = read_text (db, *f);
    CU_ASSERT_PTR_NOT_NULL (ta);
    CU_ASSERT_TRUE (ta && tb && strcmp (ta, tb) == 0);
    if (!(ta && tb && strcmp (ta, tb) == 0))
      fprintf (stderr, "\n    %s differs between identical runs\n", *f);
    g_free (ta);
    g_free (tb);
  }
  /* the seed is recorded */
  char *scen_txt = read_text (da, "scenario.json");
  CU_ASSERT_TRUE (contains (scen_txt, "\"seed\": 42"));
  g_free (scen_txt);
  /* another seed, another synthetic workload */
  char *ra = read_text (da, "requests.csv"), *rc = read_text (dc, "requests.csv");
  CU_ASSERT_TRUE (ra && rc && strcmp (ra, rc) != 0);
  g_free (ra);
  g_free (rc);
  g_free (da);
  g_free (db);
  g_free (dc);
  g_free (a);
  g_free (b);
  g_free (c);
}

/* ------------------------------------------------------------------------ */
/* the default scenario                                                     */

static void
test_default_scenario (void)
{
  char *out = subdir ("default", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  if (!run_ok (&r, out, NULL, NULL, NULL))
    goto done;
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (m->arrived, 1000);
  CU_ASSERT_EQUAL (m->completed, 1000);
  CU_ASSERT_EQUAL (m->rejected, 0);
  CU_ASSERT_EQUAL (serve_world_expected (r.w), 0); /* a trace without limit: unknown */
  CU_ASSERT_EQUAL (serve_world_n_replicas (r.w), 2);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  json_t *s = load_summary (out);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  CU_ASSERT_EQUAL (jpath (s, "requests", "completed"), 1000);
  CU_ASSERT_EQUAL (jpath (s, "seed", NULL), 1);
  double ttft = jpath (s, "ttft_s", "mean"), tpot = jpath (s, "tpot_s", "mean");
  CU_ASSERT_TRUE (ttft > 1e-3 && ttft < 10);
  CU_ASSERT_TRUE (tpot > 1e-3 && tpot < 10);
  CU_ASSERT_TRUE (jpath (s, "duration_s", NULL) > 0);
  CU_ASSERT_TRUE (jpath (s, "throughput", "requests_per_s") > 0);
  double busy = jpath (s, "gpu_busy_fraction", NULL);
  CU_ASSERT_TRUE (busy > 0 && busy <= 1);
  CU_ASSERT_EQUAL (jpath (s, "ttft_s", "count"), 1000);
  CU_ASSERT_TRUE (jpath (s, "ttft_s", "p50") <= jpath (s, "ttft_s", "p99"));
  CU_ASSERT_TRUE (jpath (s, "ttft_s", "p99") <= jpath (s, "ttft_s", "max"));
  CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (s, "model")), "llama-3.1-8b");
  json_decref (s);
  static const char *const files[] = { "summary.json", "requests.csv", "scenario.json",
                                       "ttft_cdf.dat", "ttft_cdf.gp", "tpot_cdf.dat", "tpot_cdf.gp",
                                       "timeline.dat", "timeline.gp", "cluster.dot", NULL };
  for (const char *const *f = files; *f; f++)
    CU_ASSERT_TRUE (file_exists (out, *f));
  ASSERT_NO_ENTRIES (out, ".tmp.");
  ASSERT_NO_ENTRIES (out, ".png"); /* render=false */
  GPtrArray *rows = read_requests (out);
  CU_ASSERT_EQUAL (rows->len, 1000);
  for (guint i = 0; i < rows->len; i++)
    CU_ASSERT_STRING_EQUAL (field (rows, i, C_STATUS), "ok");
  g_ptr_array_unref (rows);
  /* scenario.json is the resolved scenario, reloadable, with resolved params */
  char *scen_path = g_build_filename (out, "scenario.json", NULL);
  GError *e = NULL;
  ServeScenario *again = serve_scenario_load (scen_path, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL (again);
  if (again) {
    CU_ASSERT_TRUE (json_equal (again->root, r.sc->root));
    CU_ASSERT_EQUAL (json_integer_value (serve_scenario_get (again, "scheduler.max_batch_size")), 256);
  }
  g_clear_error (&e);
  serve_scenario_free (again);
  g_free (scen_path);
  char *text = serve_world_summary_text (r.w);
  CU_ASSERT_TRUE (contains (text, "1000 completed"));
  g_free (text);
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
done:
  run_clear (&r);
  g_free (out);
}

static void
test_render_when_gnuplot (void)
{
  char *gp = g_find_program_in_path ("gnuplot");
  char *dot = g_find_program_in_path ("dot");
  char *out = subdir ("render", FALSE);
  Run r = { 0 };
  if (!run_ok (&r, out, SYNTH, NULL, "output.render=true", "workload.generator.num_requests=20",
               "workload.generator.rate=10", NULL))
    goto done;
  if (gp) {
    CU_ASSERT_TRUE (file_exists (out, "ttft_cdf.png"));
    CU_ASSERT_TRUE (file_exists (out, "tpot_cdf.png"));
    CU_ASSERT_TRUE (file_exists (out, "timeline.png"));
  } else {
    ASSERT_NO_ENTRIES (out, ".png");
  }
  if (dot)
    CU_ASSERT_TRUE (file_exists (out, "cluster.svg"));
  ASSERT_NO_ENTRIES (out, ".tmp.");
done:
  run_clear (&r);
  g_free (out);
  g_free (gp);
  g_free (dot);
}

/* output.requests_csv / output.plots switch those files off */
static void
test_output_switches (void)
{
  char *out = subdir ("switches", FALSE);
  Run r = { 0 };
  if (run_ok (&r, out, SYNTH, NULL, "output.requests_csv=false", "output.plots=false",
              "workload.generator.num_requests=5", NULL)) {
    CU_ASSERT_TRUE (file_exists (out, "summary.json"));
    CU_ASSERT_TRUE (file_exists (out, "scenario.json"));
    CU_ASSERT_EQUAL (count_entries (out, NULL), 2);
  }
  run_clear (&r);
  g_free (out);
}

/* SLO attainment: everything meets a generous SLO, nothing a tiny one. */
static void
test_slo (void)
{
  char *out = subdir ("slo", FALSE);
  Run r = { 0 };
  if (run_ok (&r, out, SYNTH, NULL, "slo.ttft=1000", "slo.tpot=1000",
              "workload.generator.num_requests=10", NULL)) {
    json_t *s = load_summary (out);
    CU_ASSERT_DOUBLE_EQUAL (jpath (s, "slo", "attainment"), 1.0, 0);
    json_decref (s);
  }
  run_clear (&r);
  if (run_ok (&r, out, SYNTH, NULL, "slo.ttft=1e-9", "workload.generator.num_requests=10", NULL)) {
    json_t *s = load_summary (out);
    CU_ASSERT_DOUBLE_EQUAL (jpath (s, "slo", "ttft_attainment"), 0.0, 0);
    CU_ASSERT_DOUBLE_EQUAL (jpath (s, "slo", "tpot_attainment"), 1.0, 0);
    CU_ASSERT_DOUBLE_EQUAL (jpath (s, "slo", "attainment"), 0.0, 0);
    json_decref (s);
  }
  run_clear (&r);
  if (run_ok (&r, out, SYNTH, NULL, "workload.generator.num_requests=2", NULL)) {
    json_t *s = load_summary (out);
    CU_ASSERT_TRUE (json_is_null (json_object_get (s, "slo")));
    json_decref (s);
  }
  run_clear (&r);
  g_free (out);
}

/* workload.limit caps a synthetic workload; expected() says so up front */
static void
test_limit_synthetic (void)
{
  char *out = subdir ("limit", FALSE);
  GError *e = NULL;
  Run r = { 0 };
  ServeScenario *sc = scen (out, SYNTH, &e, "workload.generator.num_requests=10", "workload.limit=4",
                            NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  r.sc = sc;
  r.reg = policy_registry_new ();
  r.w = serve_world_new (sc, r.reg, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r.w);
  CU_ASSERT_EQUAL (serve_world_expected (r.w), 4);
  CU_ASSERT_TRUE (serve_world_run (r.w, &e));
  CU_ASSERT_EQUAL (serve_world_arrived (r.w), 4);
  CU_ASSERT_EQUAL (serve_world_completed (r.w), 4);
  g_clear_error (&e);
  run_clear (&r);
  g_free (out);
}

/* output.dir = null: an in-memory run writes nothing anywhere. */
static void
test_in_memory_run (void)
{
  char *dir = subdir ("in-memory", TRUE);
  char *cwd = g_get_current_dir ();
  CU_ASSERT_EQUAL_FATAL (g_chdir (dir), 0);
  Run r = { 0 };
  GError *e = NULL;
  ServeScenario *sc = scen (NULL, SYNTH, &e, "output.dir=null", "workload.generator.num_requests=5",
                            NULL);
  CU_ASSERT_PTR_NOT_NULL (sc);
  if (sc) {
    CU_ASSERT_PTR_NULL (sc->out_dir);
    gboolean ok = run_sc (&r, sc, NULL, &e);
    if (!ok)
      fprintf (stderr, "\n    in-memory run failed: %s\n", e ? e->message : "?");
    CU_ASSERT_TRUE (ok);
    if (ok) {
      CU_ASSERT_EQUAL (serve_world_metrics (r.w)->completed, 5);
      json_t *j = serve_world_summary_json (r.w);
      CU_ASSERT_EQUAL (jpath (j, "requests", "completed"), 5);
      json_decref (j);
    }
  }
  g_clear_error (&e);
  run_clear (&r);
  CU_ASSERT_EQUAL (g_chdir (cwd), 0);
  ASSERT_NO_ENTRIES (dir, NULL);
  g_free (cwd);
  g_free (dir);
}

/* A trace with a header and no rows: nothing happens, cleanly. */
static void
test_empty_trace (void)
{
  char *dir = subdir ("empty-trace", TRUE);
  char *trace = test_write_file (dir, "empty.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n");
  char *set = g_strdup_printf ("workload.trace=%s", trace);
  char *out = g_build_filename (dir, "out", NULL);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  if (run_ok (&r, out, NULL, NULL, set, NULL)) {
    CU_ASSERT_EQUAL (serve_world_arrived (r.w), 0);
    CU_ASSERT_TRUE (file_exists (out, "summary.json"));
    GPtrArray *rows = read_requests (out);
    CU_ASSERT_EQUAL (rows->len, 0);
    g_ptr_array_unref (rows);
    char *text = serve_world_summary_text (r.w);
    CU_ASSERT_TRUE (contains (text, "0 completed"));
    g_free (text);
  }
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
  run_clear (&r);
  g_free (out);
  g_free (set);
  g_free (trace);
  g_free (dir);
}

/* ------------------------------------------------------------------------ */
/* bad input                                                                */

static void
test_bad_trace_row_no_outputs (void)
{
  char *dir = subdir ("badtrace", TRUE);
  char *trace = test_write_file (dir, "bad.csv",
                                 "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                 "2023-11-16 18:15:46.0000000,100,10\n"
                                 "2023-11-16 18:15:47.0000000,120,12\n"
                                 "2023-11-16 18:15:48.0000000,140,14\n"
                                 "2023-11-16 18:15:49.0000000,abc,16\n"
                                 "2023-11-16 18:15:50.0000000,160,18\n"
                                 "2023-11-16 18:15:51.0000000,180,20\n");
  json_t *js = json_string (trace);
  char *q = json_dumps (js, JSON_ENCODE_ANY);
  char *tset = g_strdup_printf ("workload.trace=%s", q);
  free (q);
  json_decref (js);
  for (int pre_existing = 0; pre_existing < 2; pre_existing++) {
    char *out = subdir (pre_existing ? "badtrace-out-existing" : "badtrace-out", pre_existing);
    GError *e = NULL;
    ServeScenario *sc = scen (out, NULL, &e, tset, "cluster.replicas=1", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
    PolicyRegistry *reg = policy_registry_new ();
    ServeWorld *w = serve_world_new (sc, reg, &e);
    CU_ASSERT_PTR_NOT_NULL (w); /* the bad row is reached only while running */
    if (w) {
      CU_ASSERT_FALSE (serve_world_run (w, &e));
      CU_ASSERT_PTR_NOT_NULL (e);
      char *where = g_strdup_printf ("%s:5:", trace);
      if (e)
        CU_ASSERT_TRUE (contains (e->message, where));
      g_free (where);
      /* some requests had completed; none of their rows may remain */
      CU_ASSERT_TRUE (serve_world_completed (w) > 0);
    }
    if (pre_existing)
      CU_ASSERT_TRUE (g_file_test (out, G_FILE_TEST_IS_DIR));
    ASSERT_NO_ENTRIES (out, NULL);
    g_clear_error (&e);
    serve_world_free (w);
    serve_scenario_free (sc);
    policy_registry_free (reg);
    ASSERT_NO_ENTRIES (out, NULL);
    g_free (out);
  }
  g_free (tset);
  g_free (trace);
  g_free (dir);
}

/* serve_world_new fails with an error naming `field` and `listed`, and
 * creates no output directory. */
static void
expect_new_fails (const char *field, const char *listed, ...)
{
  char *out = subdir ("newfail", FALSE);
  GError *e = NULL;
  va_list ap;
  va_start (ap, listed);
  ServeScenario *sc = scen_v (out, NULL, &e, ap);
  va_end (ap);
  CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
  PolicyRegistry *reg = policy_registry_new ();
  ServeWorld *w = serve_world_new (sc, reg, &e);
  CU_ASSERT_PTR_NULL (w);
  CU_ASSERT_PTR_NOT_NULL (e);
  if (e) {
    CU_ASSERT_TRUE (contains (e->message, field));
    if (listed)
      CU_ASSERT_TRUE (contains (e->message, listed));
  }
  CU_ASSERT_FALSE (g_file_test (out, G_FILE_TEST_EXISTS));
  g_clear_error (&e);
  serve_world_free (w);
  serve_scenario_free (sc);
  policy_registry_free (reg);
  g_free (out);
}

static void
test_unknown_names (void)
{
  expect_new_fails ("model", "llama-3.1-8b", "model=llama-9", NULL);
  expect_new_fails ("model", "mixtral-8x7b", "model=llama-9", NULL);
  expect_new_fails ("cluster.gpu", "h100-sxm", "cluster.gpu=h100-sxmm", NULL);
  expect_new_fails ("cluster.gpu", "a100-80gb", "cluster.gpu=nope", NULL);
  expect_new_fails ("scheduler.name", "vllm", "scheduler.name=orca2", NULL);
  expect_new_fails ("scheduler.name", "template", "scheduler.name=orca2", NULL);
  expect_new_fails ("router.name", "round-robin", "router.name=least-loaded", NULL);
  expect_new_fails ("scheduler.max_batch_size", NULL, "scheduler.max_batch_size=0", NULL);
  expect_new_fails ("scheduler.bogus", "max_batch_size", "scheduler.bogus=1", NULL);
  expect_new_fails ("cluster.network", "ndr400-8", "cluster.network=nope", NULL);
}

/* cluster.network: a TP group wider than a node runs its all-reduce over the
 * scenario's network, recorded in the summary; inside one node it changes
 * nothing. */
static void
test_network (void)
{
  double tpot[2][3];
  static const char *const nets[3] = { "cluster.network=null", "cluster.network=\"ndr400-8\"",
                                       "cluster.network=\"vidur-a100-cluster\"" };
  for (int wide = 0; wide < 2; wide++)
    for (int i = 0; i < 3; i++) {
      Run r = { 0 };
      GError *e = NULL;
      ServeScenario *sc = scen (NULL, SYNTH, &e, "output.dir=null", "model=llama-3.1-70b",
                                "cluster.gpu=a100-80gb", wide ? "cluster.tp=16" : "cluster.tp=8",
                                "workload.generator.num_requests=20", nets[i], NULL);
      CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
      gboolean ok = run_sc (&r, sc, NULL, &e);
      if (!ok)
        fprintf (stderr, "\n    network run failed: %s\n", e ? e->message : "?");
      CU_ASSERT_TRUE_FATAL (ok);
      json_t *j = serve_world_summary_json (r.w);
      tpot[wide][i] = jpath (j, "tpot_s", "mean");
      json_t *n = json_object_get (j, "network");
      CU_ASSERT_TRUE (i == 0 ? json_is_null (n) : json_is_string (n));
      json_decref (j);
      /* the note that says which network a wide TP group crosses */
      gboolean noted = strstr (serve_output_notes (serve_world_output (r.w)), "cluster.network") != NULL;
      CU_ASSERT_EQUAL (noted, wide && i == 0);
      g_clear_error (&e);
      run_clear (&r);
    }
  /* TP 8: one node, the network does not matter */
  CU_ASSERT_EQUAL (tpot[0][0], tpot[0][1]);
  CU_ASSERT_EQUAL (tpot[0][0], tpot[0][2]);
  /* TP 16 on A100s: the profile's own network is Vidur's cluster, which the
   * bundled entry reproduces; over NDR 400 the all-reduces cost a fraction */
  CU_ASSERT_EQUAL (tpot[1][0], tpot[1][2]);
  CU_ASSERT_TRUE (tpot[1][1] < tpot[1][0] * 0.75);
  printf ("\n  TP 16 llama-3.1-70b on a100-80gb, mean TPOT: profile's network %.1f ms, ndr400-8 %.1f ms\n",
          tpot[1][0] * 1e3, tpot[1][1] * 1e3);
}

/* The summary says where the cost model's times come from: the GPU's own
 * calibrated profile, or another GPU's carried over (a GPU nobody measured);
 * terminal and summary.json alike. */
static void
test_cost_model_provenance (void)
{
  static const char *const gpus[2] = { "cluster.gpu=h100-sxm", "cluster.gpu=l40s" };
  for (int k = 0; k < 2; k++) {
    Run r = { 0 };
    GError *e = NULL;
    ServeScenario *sc = scen (NULL, SYNTH, &e, "output.dir=null", gpus[k],
                              "workload.generator.num_requests=5", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
    CU_ASSERT_TRUE_FATAL (run_sc (&r, sc, NULL, &e));
    json_t *j = serve_world_summary_json (r.w);
    json_t *cm = json_object_get (j, "cost_model");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (cm, "profile")), k ? "a100-80gb" : "h100-sxm");
    CU_ASSERT_EQUAL (json_is_true (json_object_get (cm, "carried_over")), k == 1);
    const char *prov = json_string_value (json_object_get (cm, "provenance"));
    CU_ASSERT_PTR_NOT_NULL_FATAL (prov);
    CU_ASSERT_TRUE (g_str_has_prefix (prov, k ? "carried over from a100-80gb" : "calibrated: "));
    json_decref (j);
    char *text = serve_world_summary_text (r.w);
    CU_ASSERT_TRUE (contains (text, k ? "cost model: a100-80gb's profile, carried over (no l40s measurements"
                                      : "cost model: h100-sxm's calibrated profile"));
    g_free (text);
    g_clear_error (&e);
    run_clear (&r);
  }
}

static void
test_model_too_big (void)
{
  expect_new_fails ("weights", "llama-3.1-70b", "model=llama-3.1-70b", "cluster.gpu=l4",
                    "cluster.tp=1", NULL);
  expect_new_fails ("cluster", "l4", "model=llama-3.1-70b", "cluster.gpu=l4", "cluster.tp=1", NULL);
}

static void
test_missing_trace (void)
{
  char *dir = subdir ("missing-trace", TRUE);
  char *abs = g_build_filename (dir, "no-such-trace.csv", NULL);
  static const char *const rel = "no/such/trace.csv";
  const char *paths[] = { abs, rel };
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++) {
    char *out = subdir ("missing-trace-out", FALSE);
    char *set = g_strdup_printf ("workload.trace=%s", paths[i]);
    GError *e = NULL;
    ServeScenario *sc = scen (out, NULL, &e, set, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (sc);
    Run r = { 0 };
    CU_ASSERT_FALSE (run_sc (&r, sc, NULL, &e));
    CU_ASSERT_PTR_NOT_NULL (e);
    if (e)
      CU_ASSERT_TRUE (contains (e->message, paths[i]));
    ASSERT_NO_ENTRIES (out, NULL);
    g_clear_error (&e);
    run_clear (&r);
    g_free (set);
    g_free (out);
  }
  g_free (abs);
  g_free (dir);
}

/* When writing the end-of-run files fails part way, no final file may
 * appear (output.h: everything appears under its final name only when the
 * run succeeded). Forced by a directory squatting on timeline.gp. */
static void
test_commit_failure_no_partial_outputs (void)
{
  char *out = subdir ("commit-fail", TRUE);
  char *squat = g_build_filename (out, "timeline.gp", NULL);
  g_mkdir (squat, 0755);
  GError *e = NULL;
  ServeScenario *sc = scen (out, SYNTH, &e, "workload.generator.num_requests=3", NULL);
  Run r = { 0 };
  CU_ASSERT_FALSE (run_sc (&r, sc, NULL, &e));
  CU_ASSERT_PTR_NOT_NULL (e);
  g_clear_error (&e);
  run_clear (&r);
  g_rmdir (squat);
  ASSERT_NO_ENTRIES (out, NULL);
  g_free (squat);
  g_free (out);
}

/* ------------------------------------------------------------------------ */
/* policies through the world                                               */

static void
test_template_serial (void)
{
  char *out = subdir ("template", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  if (!run_ok (&r, out, SYNTH, NULL, "scheduler.name=template", "workload.generator.num_requests=25",
               "workload.generator.rate=50", "workload.generator.lengths=uniform",
               "workload.generator.prompt_max=600", "workload.generator.output_max=40", NULL))
    goto done;
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (m->completed, 25);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  GPtrArray *rows = read_requests (out);
  CU_ASSERT_EQUAL_FATAL (rows->len, 25);
  guint queued = 0;
  for (guint i = 0; i < rows->len; i++) {
    CU_ASSERT_STRING_EQUAL (field (rows, i, C_STATUS), "ok");
    if (i == 0)
      continue;
    gint64 fs = col_ns (rows, i, C_FIRST_SCHED), prev_done = col_ns (rows, i - 1, C_COMPLETION);
    CU_ASSERT_TRUE (fs >= prev_done);
    queued += col_ns (rows, i, C_QUEUE) > 0;
  }
  CU_ASSERT_TRUE (queued > 0); /* the workload really overlapped */
  json_t *s = load_summary (out);
  CU_ASSERT_EQUAL (jpath (s, "batch_size", "max"), 1);
  json_decref (s);
  g_ptr_array_unref (rows);
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
done:
  run_clear (&r);
  g_free (out);
}

static void
test_round_robin_placement (void)
{
  char *out = subdir ("rr", FALSE);
  Run r = { 0 };
  if (!run_ok (&r, out, NULL, NULL, "workload.trace=null", "cluster.replicas=3",
               "workload.generator.num_requests=31", "workload.generator.rate=30", NULL))
    goto done;
  GPtrArray *rows = read_requests (out);
  CU_ASSERT_EQUAL (rows->len, 31);
  for (guint i = 0; i < rows->len; i++)
    CU_ASSERT_EQUAL (g_ascii_strtoull (field (rows, i, C_REPLICA), NULL, 10), i % 3);
  g_ptr_array_unref (rows);
  for (guint k = 0; k < 3; k++)
    CU_ASSERT_TRUE (serve_world_replica (r.w, k)->iterations > 0);
  /* the same on the bundled trace with 3 replicas */
  run_clear (&r);
  if (!run_ok (&r, out, NULL, NULL, "cluster.replicas=3", "workload.limit=50", NULL))
    goto done;
  CU_ASSERT_EQUAL (serve_world_expected (r.w), 50);
  rows = read_requests (out);
  CU_ASSERT_EQUAL (rows->len, 50);
  for (guint i = 0; i < rows->len; i++)
    CU_ASSERT_EQUAL (g_ascii_strtoull (field (rows, i, C_REPLICA), NULL, 10), i % 3);
  g_ptr_array_unref (rows);
done:
  run_clear (&r);
  g_free (out);
}

/* Mistral-7B's 4,096-key sliding window: a request holds no block wholly
 * before its next query's window (vLLM frees them), so long decodes hold
 * about 4,096 / 16 blocks, several such requests share a cache the whole
 * contexts would overflow, and KV stays conserved through preemptions. */
static void
test_sliding_window_kv (void)
{
  double mu = 0;
  gint64 blocks = 0;
  for (double x = 0.19; x < 0.4 && !mu; x += 0.0025) {
    gint64 b = plan_blocks ("mistral-7b", "h100-sxm", 1, x);
    if (b >= 600) {
      mu = x;
      blocks = b;
    }
  }
  CU_ASSERT_TRUE_FATAL (mu > 0 && blocks < 700);
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *out = subdir ("window", FALSE);
  /* 8 requests of 5,000 + 3,000 tokens: each would need 500 blocks at the
   * end, 8 x 500 against ~600; windowed, 258 at most, so two run at once */
  Run r = { 0 };
  kv_checks = kv_violations = 0;
  win_from = 4096 + 16;
  win_max_blocks = 0;
  if (!run_ok (&r, out, SYNTH, registry_with_checked (), "scheduler.name=vllm-checked", mus,
               "model=mistral-7b", "workload.generator.prompt_tokens=5000",
               "workload.generator.output_tokens=3000", "workload.generator.num_requests=8",
               "workload.generator.rate=1000", NULL))
    goto done;
  CU_ASSERT_TRUE (kv_checks > 100);
  CU_ASSERT_EQUAL (kv_violations, 0);
  /* blocks from the window's first key's block to the last token's:
   * ceil((c + 1) / 16) - floor((c - 4095) / 16) <= 4,096 / 16 + 2 */
  CU_ASSERT_TRUE (win_max_blocks >= 4096 / 16);
  CU_ASSERT_TRUE (win_max_blocks <= 4096 / 16 + 2);
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (m->completed, 8);
  CU_ASSERT_EQUAL (m->rejected, 0);
  guint64 pre_window = m->preemptions;
  json_t *sum = load_summary (out);
  double end_window = jpath (sum, "duration_s", NULL);
  json_decref (sum);
  struct ServeReplica *rep = serve_world_replica (r.w, 0);
  CU_ASSERT_EQUAL (rep->free_blocks, rep->mem.num_blocks);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  run_clear (&r);

  /* the same requests with full attention hold their whole context (500
   * blocks at the end): they preempt each other and finish later */
  char *cat = test_write_file (out, "full.json",
                               "{\"models\": [{\"id\": \"mistral-full\", \"name\": \"x\", "
                               "\"num_layers\": 32, \"hidden\": 4096, \"num_heads\": 32, "
                               "\"num_kv_heads\": 8, \"head_dim\": 128, \"ffn\": 14336, "
                               "\"vocab\": 32000, \"gated_mlp\": true, \"norm\": \"rmsnorm\", "
                               "\"activation\": \"silu\", \"weight_dtype\": \"bf16\", "
                               "\"max_context\": 32768}]}");
  char *set_cat = g_strdup_printf ("catalog=%s", cat);
  win_from = 0;
  char *out2 = subdir ("window-full", FALSE);
  if (run_ok (&r, out2, SYNTH, registry_with_checked (), "scheduler.name=vllm-checked", mus,
              "model=mistral-full", set_cat, "workload.generator.prompt_tokens=5000",
              "workload.generator.output_tokens=3000", "workload.generator.num_requests=8",
              "workload.generator.rate=1000", NULL)) {
    m = serve_world_metrics (r.w);
    CU_ASSERT_EQUAL (m->completed, 8);
    sum = load_summary (out2);
    double end_full = jpath (sum, "duration_s", NULL);
    json_decref (sum);
    printf ("\n  8 x (5,000 + 3,000) tokens in %" G_GINT64_FORMAT " blocks: windowed %.6f s, "
            "%" G_GUINT64_FORMAT " preemptions; full attention %.6f s, %" G_GUINT64_FORMAT
            " preemptions\n", blocks, end_window, pre_window, end_full, m->preemptions);
    /* windowed, two or three decode side by side; full, one at a time (a
     * second prompt's 313 blocks never fit beside a running request) */
    CU_ASSERT_TRUE (end_full > 1.5 * end_window);
    CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  }
  g_free (set_cat);
  g_free (cat);
  g_free (out2);
done:
  win_from = 0;
  run_clear (&r);
  g_free (mus);
  g_free (out);
}


/* ------------------------------------------------------------------------ */
/* prefix caching (cache.prefix_caching)                                    */

/* One iteration's time for the default model and GPU, by the cost model. */
static gint64
iter_ns (const ModelSeqWork *work, guint n)
{
  ModelCost cost;
  cost_of (&cost, "llama-3.1-8b", "h100-sxm", 1, 1);
  ModelIterCost it;
  model_cost_iteration (&cost, work, n, &it);
  return model_iter_ns (&it);
}

/* Four requests, each alone on one replica, in Mooncake's format (512-token
 * hash units). B shares A's first two units: it prefills only its last 76
 * tokens, against 1,024 cached, and its TTFT is exactly that iteration's.
 * C's prompt is exactly two units: the last token is always computed, so
 * only one unit is taken. D's first hash differs, so nothing is (a hash
 * names a unit with everything before it). */
static void
test_prefix_cache_exact (void)
{
  char *out = subdir ("prefix", TRUE);
  char *set_trace = trace_set (out, "t.jsonl",
    "{\"timestamp\": 0, \"input_length\": 1100, \"output_length\": 2, \"hash_ids\": [1, 2, 3]}\n"
    "{\"timestamp\": 10000, \"input_length\": 1100, \"output_length\": 2, \"hash_ids\": [1, 2, 9]}\n"
    "{\"timestamp\": 20000, \"input_length\": 1024, \"output_length\": 2, \"hash_ids\": [1, 2]}\n"
    "{\"timestamp\": 30000, \"input_length\": 1100, \"output_length\": 2, \"hash_ids\": [7, 2, 3]}\n");
  char *dir = g_build_filename (out, "run", NULL);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  kv_checks = kv_violations = 0;
  if (!run_ok (&r, dir, NULL, registry_with_checked (), set_trace, "cluster.replicas=1",
               "scheduler.name=vllm-checked", "cache.prefix_caching=true", NULL))
    goto done;
  CU_ASSERT_EQUAL (kv_violations, 0);
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (m->completed, 4);
  CU_ASSERT_EQUAL (m->pc_lookups, 4);
  CU_ASSERT_EQUAL (m->pc_lookup_tokens, 1100 + 1100 + 1024 + 1100);
  CU_ASSERT_EQUAL (m->pc_hit_tokens, 1024 + 512);
  /* A: units 1, 2 (3 is partial); D: unit 7, and takes the cached 2 */
  CU_ASSERT_EQUAL (m->pc_inserted_units, 3);
  CU_ASSERT_EQUAL (m->pc_evicted_units, 0);
  GPtrArray *rows = read_requests (dir);
  if (rows->len == 4) {
    ModelSeqWork a = { 1100, 0 }, b = { 76, 1024 }, c = { 512, 512 };
    CU_ASSERT_EQUAL (col_ns (rows, 0, C_TTFT), iter_ns (&a, 1));
    CU_ASSERT_EQUAL (col_ns (rows, 1, C_TTFT), iter_ns (&b, 1));
    CU_ASSERT_EQUAL (col_ns (rows, 2, C_TTFT), iter_ns (&c, 1));
    CU_ASSERT_EQUAL (col_ns (rows, 3, C_TTFT), iter_ns (&a, 1));
    CU_ASSERT_TRUE (col_ns (rows, 1, C_TTFT) < col_ns (rows, 0, C_TTFT) / 3);
  }
  g_ptr_array_unref (rows);
  /* all done: the cache holds its 3 units, idle, and they count as free */
  struct ServeReplica *rep = serve_world_replica (r.w, 0);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  CU_ASSERT_EQUAL (g_hash_table_size (rep->pc), 3);
  CU_ASSERT_EQUAL (rep->pc_idle_blocks, 3 * 512 / 16);
  CU_ASSERT_EQUAL (rep->free_blocks + rep->pc_idle_blocks, rep->mem.num_blocks);
  CU_ASSERT_EQUAL (policy_replica_free_blocks (rep), rep->mem.num_blocks);
  json_t *sum = load_summary (dir);
  CU_ASSERT_EQUAL (jpath (sum, "prefix_cache", "hit_tokens"), 1536);
  CU_ASSERT_DOUBLE_EQUAL (jpath (sum, "prefix_cache", "hit_rate"), 1536.0 / 4324.0, 1e-9);
  CU_ASSERT_EQUAL (jpath (sum, "prefix_cache", "block_tokens"), 512);
  json_decref (sum);
  char *text = serve_world_summary_text (r.w);
  CU_ASSERT_TRUE (contains (text, "prefix cache: 35.5% of prompt tokens found cached (1536 of 4324"));
  g_free (text);
  run_clear (&r);

  /* off: the same trace prefills every prompt whole, and says nothing of it */
  if (run_ok (&r, dir, NULL, NULL, set_trace, "cluster.replicas=1", NULL)) {
    rows = read_requests (dir);
    ModelSeqWork a = { 1100, 0 };
    if (rows->len == 4)
      CU_ASSERT_EQUAL (col_ns (rows, 1, C_TTFT), iter_ns (&a, 1));
    g_ptr_array_unref (rows);
    sum = load_summary (dir);
    CU_ASSERT_PTR_NULL (json_object_get (sum, "prefix_cache"));
    json_decref (sum);
  }
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
done:
  run_clear (&r);
  g_free (set_trace);
  g_free (dir);
  g_free (out);
}

/* A Mooncake-like burst: 60 requests of 4 x 512-token units, the first 2
 * shared within each of 2 groups, into a cache of ~400 blocks (about three
 * prompts): prefills share, decodes preempt, idle units are evicted, and KV
 * stays conserved at every scheduling decision, with vllm (by recompute and
 * by swap) and with chunked prefills (sarathi). */
static void
test_prefix_cache_pressure (void)
{
  gint64 blocks;
  double mu = small_mem_util (400, &blocks);
  CU_ASSERT_TRUE_FATAL (mu > 0);
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *out = subdir ("prefix-pressure", TRUE);
  GString *t = g_string_new (NULL);
  for (int i = 0; i < 60; i++) {
    int g = i % 2;
    g_string_append_printf (t, "{\"timestamp\": %d, \"input_length\": %d, \"output_length\": %d, "
                               "\"hash_ids\": [%d, %d, %d, %d]}\n",
                            i * 20, 4 * 512 - 7 * i, 300 + 37 * (i % 7), 100 * g, 100 * g + 1,
                            1000 + 2 * i, 1001 + 2 * i);
  }
  char *set_trace = trace_set (out, "t.jsonl", t->str);
  g_string_free (t, TRUE);
  static const char *const variants[][3] = {
    { "scheduler.name=vllm-checked", "cache.preemption=\"recompute\"", NULL },
    { "scheduler.name=vllm-checked", "cache.preemption=\"swap\"", NULL },
    { "scheduler.name=sarathi", "scheduler.token_budget=512", NULL },
    { "scheduler.name=vllm-checked", "cache.prefix_host_gib=0.5", NULL },
  };
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
    char *dir = g_build_filename (out, (const char *[]) { "a", "b", "c", "d" }[v], NULL);
    Run r = { 0 };
    guint bad0 = n_bad_logs;
    kv_checks = kv_violations = 0;
    if (run_ok (&r, dir, NULL, registry_with_checked (), set_trace, mus, "cluster.replicas=1",
                "cache.prefix_caching=true", variants[v][0], variants[v][1], NULL)) {
      ServeMetrics *m = serve_world_metrics (r.w);
      CU_ASSERT_EQUAL (m->completed, 60);
      CU_ASSERT_EQUAL (m->rejected, 0);
      CU_ASSERT_TRUE (m->pc_hit_tokens > 0);
      CU_ASSERT_TRUE (m->pc_evicted_units > 0);
      CU_ASSERT_TRUE (m->preemptions > 0 || v == 2);
      CU_ASSERT_TRUE (v == 2 || kv_checks > 100);
      if (v == 3)   /* the host tier takes evicted units and gives some back */
        CU_ASSERT_TRUE (m->pc_offloaded_units > 0 && m->pc_host_hit_tokens > 0);
      CU_ASSERT_EQUAL (kv_violations, 0);
      CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
      struct ServeReplica *rep = serve_world_replica (r.w, 0);
      CU_ASSERT_EQUAL (policy_replica_free_blocks (rep), rep->mem.num_blocks);
      printf ("\n  variant %u: %.1f%% of %" G_GUINT64_FORMAT " tokens hit, %" G_GUINT64_FORMAT
              " preemptions, %" G_GUINT64_FORMAT " evictions", v,
              100.0 * m->pc_hit_tokens / m->pc_lookup_tokens, m->pc_lookup_tokens,
              m->preemptions, m->pc_evicted_units);
    }
    CU_ASSERT_EQUAL (n_bad_logs, bad0);
    run_clear (&r);
    g_free (dir);
  }
  g_free (set_trace);
  g_free (mus);
  g_free (out);
}

/* The cache-aware router on two replicas: A and B arrive together and are
 * spread by load; C, later, shares B's first two units and goes to B's
 * replica (round-robin would send it to A's); D, arriving with C, shares
 * them too, but with C queued there its replica is busier: at beta 1 the
 * load outweighs a 49% hit and D goes to the other replica, at beta 0 it
 * follows the hit. */
static void
test_cache_aware_router (void)
{
  char *out = subdir ("cache-router", TRUE);
  char *set_trace = trace_set (out, "t.jsonl",
    "{\"timestamp\": 0, \"input_length\": 2100, \"output_length\": 2, \"hash_ids\": [1, 2, 3, 4, 40]}\n"
    "{\"timestamp\": 0, \"input_length\": 2100, \"output_length\": 2, \"hash_ids\": [5, 6, 7, 8, 80]}\n"
    "{\"timestamp\": 10000, \"input_length\": 2100, \"output_length\": 2, \"hash_ids\": [5, 6, 9, 10, 90]}\n"
    "{\"timestamp\": 10000, \"input_length\": 2100, \"output_length\": 2, \"hash_ids\": [5, 6, 11, 12, 91]}\n");
  static const struct { const char *router, *beta; const char *replicas; guint64 hits; } cases[] = {
    { "router.name=round-robin", NULL, "0101", 1024 },   /* D lands on B's by turn */
    { "router.name=cache-aware", "router.beta=1", "0110", 1024 },
    { "router.name=cache-aware", "router.beta=0", "0111", 2048 },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    Run r = { 0 };
    if (run_ok (&r, out, NULL, NULL, set_trace, "cluster.replicas=2", "cache.prefix_caching=true",
                cases[c].router, cases[c].beta, NULL)) {
      GPtrArray *rows = read_requests (out);
      char got[5] = "????";
      for (guint i = 0; i < 4 && i < rows->len; i++)
        got[i] = field (rows, i, C_REPLICA)[0];
      CU_ASSERT_STRING_EQUAL (got, cases[c].replicas);
      CU_ASSERT_EQUAL (serve_world_metrics (r.w)->pc_hit_tokens, cases[c].hits);
      g_ptr_array_unref (rows);
    }
    run_clear (&r);
  }
  /* a bad parameter names itself */
  GError *e = NULL;
  Run r = { 0 };
  CU_ASSERT_FALSE (run_sc (&r, scen (NULL, NULL, &e, "router.name=cache-aware", "router.beta=-1",
                                      NULL), NULL, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "beta"));
  g_clear_error (&e);
  run_clear (&r);
  g_free (set_trace);
  g_free (out);
}

/* ------------------------------------------------------------------------ */
/* prefill/decode disaggregation (cluster.prefill_replicas)                 */

/* One request, one prefill and one decode replica, by hand: the first token
 * after the prefill alone; then its KV (63 blocks of 1,000 tokens) moves as a
 * send/recv over the network, priced by the calibrated collective model;
 * then the decode replica runs its two decode steps. */
static void
test_disagg_exact (void)
{
  char *out = subdir ("disagg", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  kv_checks = kv_violations = 0;
  if (!run_ok (&r, out, SYNTH, registry_with_checked (), "scheduler.name=vllm-checked",
               "cluster.replicas=2", "cluster.prefill_replicas=1",
               "workload.generator.num_requests=1", "workload.generator.prompt_tokens=1000",
               "workload.generator.output_tokens=3", NULL))
    goto done;
  CU_ASSERT_EQUAL (kv_violations, 0);
  ModelSeqWork pre = { 1000, 0 }, d1 = { 1, 1000 }, d2 = { 1, 1001 };
  struct ServeReplica *p0 = serve_world_replica (r.w, 0), *d = serve_world_replica (r.w, 1);
  double bytes = 63 * p0->mem.kv_bytes_per_block;
  const ModelGpu *h100 = gpu_of ("h100-sxm");
  SimTime xfer = SIM_TIME_FROM_S (model_comm_time (&h100->profile, h100, MODEL_COLL_SENDRECV,
                                                   bytes, 2, 1, NULL));
  CU_ASSERT_TRUE (xfer > 0);
  GPtrArray *rows = read_requests (out);
  if (rows->len == 1) {
    gint64 first = col_ns (rows, 0, C_FIRST_TOKEN) - col_ns (rows, 0, C_ARRIVAL);
    gint64 done_ns = col_ns (rows, 0, C_COMPLETION) - col_ns (rows, 0, C_FIRST_TOKEN);
    CU_ASSERT_EQUAL (first, iter_ns (&pre, 1));
    CU_ASSERT_EQUAL (done_ns, xfer + iter_ns (&d1, 1) + iter_ns (&d2, 1));
    CU_ASSERT_STRING_EQUAL (field (rows, 0, C_REPLICA), "1");
  }
  g_ptr_array_unref (rows);
  ServeMetrics *m = serve_world_metrics (r.w);
  CU_ASSERT_EQUAL (m->kv_xfers, 1);
  CU_ASSERT_DOUBLE_EQUAL (m->kv_xfer_bytes, bytes, 1e-6);
  CU_ASSERT_EQUAL (m->swap_ins, 0);
  CU_ASSERT_EQUAL (p0->iterations, 1);
  CU_ASSERT_EQUAL (d->iterations, 2);
  CU_ASSERT_EQUAL (p0->free_blocks, p0->mem.num_blocks);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  json_t *sum = load_summary (out);
  CU_ASSERT_EQUAL (jpath (sum, "disaggregation", "transfers"), 1);
  CU_ASSERT_EQUAL (jpath (sum, "disaggregation", "decode_replicas"), 1);
  json_decref (sum);
  /* the cluster graph: router -> prefill replica -> KV transfer -> decode */
  char *dot = read_text (out, "cluster.dot");
  CU_ASSERT_TRUE (contains (dot, "label=\"prefill replica 0: "));
  CU_ASSERT_TRUE (contains (dot, "label=\"decode replica 1: "));
  CU_ASSERT_TRUE (contains (dot, "\"router\" -> \"r0g0\";\n  \"r0g0\" -> \"kv\";\n  \"kv\" -> \"r1g0\";"));
  CU_ASSERT_FALSE (dot && strstr (dot, "\"router\" -> \"r1g0\""));
  g_free (dot);
  run_clear (&r);
  /* layer-wise: all but the last layer's KV left during the prefill */
  if (run_ok (&r, out, SYNTH, NULL, "cluster.replicas=2", "cluster.prefill_replicas=1",
              "cluster.kv_transfer_layerwise=true", "workload.generator.num_requests=1",
              "workload.generator.prompt_tokens=1000", "workload.generator.output_tokens=3", NULL)) {
    ModelCost c;
    cost_of (&c, "llama-3.1-8b", "h100-sxm", 1, 1);
    ModelIterCost it;
    model_cost_iteration (&c, &pre, 1, &it);
    double xs = model_comm_time (&h100->profile, h100, MODEL_COLL_SENDRECV, bytes, 2, 1, NULL);
    SimTime lw = SIM_TIME_FROM_S (MAX (xs / 32, xs - it.gpu_s * 31 / 32));
    GPtrArray *rows2 = read_requests (out);
    if (rows2->len == 1)
      CU_ASSERT_EQUAL (col_ns (rows2, 0, C_COMPLETION) - col_ns (rows2, 0, C_FIRST_TOKEN),
                       lw + iter_ns (&d1, 1) + iter_ns (&d2, 1));
    g_ptr_array_unref (rows2);
    CU_ASSERT_TRUE (lw < xfer);
  }
  run_clear (&r);
  /* over NVLink (one node) the same copy is faster */
  if (run_ok (&r, out, SYNTH, NULL, "cluster.replicas=2", "cluster.prefill_replicas=1",
              "cluster.kv_transfer=\"nvlink\"", "workload.generator.num_requests=1",
              "workload.generator.prompt_tokens=1000", "workload.generator.output_tokens=3", NULL)) {
    m = serve_world_metrics (r.w);
    CU_ASSERT_EQUAL (m->kv_xfers, 1);
    CU_ASSERT_TRUE (m->kv_xfer_ns > 0 && m->kv_xfer_ns < xfer);
  }
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
done:
  run_clear (&r);
  g_free (out);
}

/* Under KV pressure, 2 prefill + 2 decode replicas: decode replicas preempt,
 * prefill replicas never decode, requests of one output token finish where
 * they were prefilled, KV is conserved at every decision (in flight too),
 * every request completes; with vllm and with sarathi's chunked prefill. */
static void
test_disagg_pressure (void)
{
  gint64 blocks;
  double mu = small_mem_util (200, &blocks);
  CU_ASSERT_TRUE_FATAL (mu > 0);
  gint64 cap = blocks * 16;
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *ps = g_strdup_printf ("workload.generator.prompt_max=%" G_GINT64_FORMAT, cap / 8);
  char *os = g_strdup_printf ("workload.generator.output_max=%" G_GINT64_FORMAT, cap / 6);
  char *out = subdir ("disagg-pressure", FALSE);
  /* (the template scheduler too: alone on a prefill replica, a request may
   * still wait for blocks that copies in flight hold) */
  static const char *const scheds[] = { "scheduler.name=vllm-checked", "scheduler.name=sarathi",
                                        "scheduler.name=template" };
  for (guint v = 0; v < G_N_ELEMENTS (scheds); v++) {
    Run r = { 0 };
    guint bad0 = n_bad_logs;
    kv_checks = kv_violations = 0;
    if (run_ok (&r, out, SYNTH, registry_with_checked (), scheds[v], mus, ps, os,
                "cluster.replicas=4", "cluster.prefill_replicas=2",
                "workload.generator.lengths=\"uniform\"", "workload.generator.prompt_min=16",
                "workload.generator.output_min=1", "workload.generator.num_requests=80",
                "workload.generator.rate=50", NULL)) {
      ServeMetrics *m = serve_world_metrics (r.w);
      CU_ASSERT_EQUAL (m->completed + m->rejected, 80);
      CU_ASSERT_EQUAL (m->rejected, 0);
      CU_ASSERT_TRUE (m->kv_xfers > 40 && m->kv_xfers < 80);   /* outputs of 1 stay */
      CU_ASSERT_TRUE (v != 0 || kv_checks > 100);
      CU_ASSERT_EQUAL (kv_violations, 0);
      CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
      CU_ASSERT_TRUE (m->preemptions > 0 || v == 2);   /* the template never preempts */
      for (guint i = 0; i < 4; i++) {
        struct ServeReplica *rep = serve_world_replica (r.w, i);
        CU_ASSERT_EQUAL (rep->free_blocks, rep->mem.num_blocks);
        CU_ASSERT_TRUE (rep->iterations > 0);
      }
      printf ("\n  %s: %" G_GUINT64_FORMAT " transfers, %" G_GUINT64_FORMAT " preemptions", scheds[v],
              m->kv_xfers, m->preemptions);
    }
    CU_ASSERT_EQUAL (n_bad_logs, bad0);
    run_clear (&r);
  }
  /* prompts of 60% of the cache, one prefill replica: the second waits
   * until the first's KV has left (its blocks are held while copied), even
   * under the one-at-a-time template scheduler */
  {
    char *p60 = g_strdup_printf ("workload.generator.prompt_tokens=%" G_GINT64_FORMAT, cap * 6 / 10);
    Run r = { 0 };
    guint bad0 = n_bad_logs;
    if (run_ok (&r, out, SYNTH, NULL, "scheduler.name=template", mus, p60, "cluster.replicas=2",
                "cluster.prefill_replicas=1", "workload.generator.output_tokens=4",
                "workload.generator.num_requests=4", "workload.generator.rate=1000", NULL)) {
      ServeMetrics *m = serve_world_metrics (r.w);
      CU_ASSERT_EQUAL (m->completed, 4);
      CU_ASSERT_EQUAL (m->kv_xfers, 4);
      CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
    }
    CU_ASSERT_EQUAL (n_bad_logs, bad0);
    run_clear (&r);
    g_free (p60);
  }
  /* bad settings name the key */
  GError *e = NULL;
  CU_ASSERT_PTR_NULL (scen (NULL, NULL, &e, "cluster.replicas=2", "cluster.prefill_replicas=2", NULL));
  CU_ASSERT_TRUE (e && contains (e->message, "cluster.prefill_replicas: must be below cluster.replicas (2)"));
  g_clear_error (&e);
  CU_ASSERT_PTR_NULL (scen (NULL, NULL, &e, "cluster.kv_transfer=\"pcie\"", NULL));
  CU_ASSERT_TRUE (e && contains (e->message, "cluster.kv_transfer"));
  g_clear_error (&e);
  CU_ASSERT_PTR_NULL (scen (NULL, NULL, &e, "cluster.prefill_replicas=-1", NULL));
  CU_ASSERT_TRUE (e && contains (e->message, "cluster.prefill_replicas"));
  g_clear_error (&e);
  g_free (mus);
  g_free (ps);
  g_free (os);
  g_free (out);
}

/* The host tier (cache.prefix_host_gib), by hand, on a cache of ~200
 * blocks: A's two units go idle when it finishes; F's prompt needs 40 blocks
 * more than are free, so both are evicted, to host memory; B then shares
 * them: they are copied back (64 blocks over PCIe at the swap link's
 * efficiency plus 64 copy operations, cache.swap.*), and B prefills only its
 * last 76 tokens. Without the tier B prefills all 1,100. */
static void
test_prefix_cache_host_tier (void)
{
  gint64 blocks;
  double mu = small_mem_util (200, &blocks);
  CU_ASSERT_TRUE_FATAL (mu > 0 && blocks < 400);
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *out = subdir ("prefix-host", TRUE);
  gint64 pf = (blocks - 64 + 40) * 16 - 8;   /* F: 40 blocks over what is free */
  char *text = g_strdup_printf (
    "{\"timestamp\": 0, \"input_length\": 1100, \"output_length\": 2, \"hash_ids\": [1, 2, 3]}\n"
    "{\"timestamp\": 10000, \"input_length\": %" G_GINT64_FORMAT ", \"output_length\": 2, \"hash_ids\": [60]}\n"
    "{\"timestamp\": 30000, \"input_length\": 1100, \"output_length\": 2, \"hash_ids\": [1, 2, 9]}\n", pf);
  char *set_trace = trace_set (out, "t.jsonl", text);
  char *dir = g_build_filename (out, "run", NULL);
  const ModelGpu *h100 = gpu_of ("h100-sxm");
  ModelSeqWork full = { 1100, 0 }, rest = { 76, 1024 };
  for (int tier = 1; tier >= 0; tier--) {
    Run r = { 0 };
    guint bad0 = n_bad_logs;
    kv_checks = kv_violations = 0;
    if (!run_ok (&r, dir, NULL, registry_with_checked (), set_trace, mus, "cluster.replicas=1",
                 "scheduler.name=vllm-checked", "cache.prefix_caching=true",
                 tier ? "cache.prefix_host_gib=1" : "cache.prefix_host_gib=0", NULL)) {
      run_clear (&r);
      continue;
    }
    CU_ASSERT_EQUAL (kv_violations, 0);
    ServeMetrics *m = serve_world_metrics (r.w);
    struct ServeReplica *rep = serve_world_replica (r.w, 0);
    CU_ASSERT_EQUAL (m->completed, 3);
    CU_ASSERT_EQUAL (m->pc_evicted_units, 2);
    GPtrArray *rows = read_requests (dir);
    if (tier) {
      CU_ASSERT_EQUAL (rep->pc_host_cap_units, 1073741824.0 / (32 * rep->mem.kv_bytes_per_block));
      CU_ASSERT_EQUAL (m->pc_offloaded_units, 2);
      CU_ASSERT_EQUAL (m->pc_host_dropped_units, 0);
      CU_ASSERT_EQUAL (m->pc_host_hit_tokens, 1024);
      CU_ASSERT_EQUAL (m->pc_hit_tokens, 1024);
      double copy_s = 64 * rep->mem.kv_bytes_per_block / (h100->pcie_bw * 0.8) + 64 * 1e-5;
      if (rows->len == 3)
        CU_ASSERT_EQUAL (col_ns (rows, 2, C_TTFT), iter_ns (&rest, 1) + SIM_TIME_FROM_S (copy_s));
      CU_ASSERT_EQUAL (rep->pc_host_units, 0);   /* both came back */
    } else {
      CU_ASSERT_EQUAL (m->pc_offloaded_units, 0);
      CU_ASSERT_EQUAL (m->pc_hit_tokens, 0);
      if (rows->len == 3)
        CU_ASSERT_EQUAL (col_ns (rows, 2, C_TTFT), iter_ns (&full, 1));
    }
    g_ptr_array_unref (rows);
    CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
    CU_ASSERT_EQUAL (policy_replica_free_blocks (rep), rep->mem.num_blocks);
    json_t *sum = load_summary (dir);
    CU_ASSERT_EQUAL (json_object_get (json_object_get (sum, "prefix_cache"), "host_gib") != NULL, tier);
    json_decref (sum);
    CU_ASSERT_EQUAL (n_bad_logs, bad0);
    run_clear (&r);
  }
  /* a negative size names the key */
  GError *e = NULL;
  CU_ASSERT_PTR_NULL (scen (NULL, NULL, &e, "cache.prefix_host_gib=-1", NULL));
  CU_ASSERT_TRUE (e && contains (e->message, "cache.prefix_host_gib"));
  g_clear_error (&e);
  g_free (set_trace);
  g_free (text);
  g_free (dir);
  g_free (mus);
  g_free (out);
}

/* A decode pool of its own GPU and TP (cluster.decode_gpu / decode_tp), by
 * hand: the prefill on an H100 at TP 1 as before; the KV copy is the slower
 * of the H100 sending its 63 blocks and the two A100s receiving half each;
 * the decode steps are priced by the A100's cost model at TP 2, and the
 * decode replica has the A100 TP 2 memory plan's blocks. */
static void
test_disagg_hetero (void)
{
  char *out = subdir ("disagg-hetero", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  if (!run_ok (&r, out, SYNTH, NULL, "cluster.replicas=2", "cluster.prefill_replicas=1",
               "cluster.decode_gpu=\"a100-80gb\"", "cluster.decode_tp=2",
               "workload.generator.num_requests=1", "workload.generator.prompt_tokens=1000",
               "workload.generator.output_tokens=3", NULL))
    goto done;
  const ModelGpu *h100 = gpu_of ("h100-sxm"), *a100 = gpu_of ("a100-80gb");
  ModelCost ca;
  cost_of (&ca, "llama-3.1-8b", "a100-80gb", 2, 1);
  ModelIterCost it;
  ModelSeqWork pre = { 1000, 0 }, d1 = { 1, 1000 }, d2 = { 1, 1001 };
  model_cost_iteration (&ca, &d1, 1, &it);
  SimTime dec = model_iter_ns (&it);
  model_cost_iteration (&ca, &d2, 1, &it);
  dec += model_iter_ns (&it);
  struct ServeReplica *p0 = serve_world_replica (r.w, 0), *d = serve_world_replica (r.w, 1);
  CU_ASSERT_STRING_EQUAL (p0->gpu->id, "h100-sxm");
  CU_ASSERT_EQUAL (p0->tp, 1);
  CU_ASSERT_STRING_EQUAL (d->gpu->id, "a100-80gb");
  CU_ASSERT_EQUAL (d->tp, 2);
  ModelMemoryPlan dm;
  CU_ASSERT_TRUE (model_memory_plan (&ca, 16, 0.9, 8192, &dm, NULL));
  CU_ASSERT_EQUAL (d->mem.num_blocks, dm.num_blocks);
  double bytes = 63 * p0->mem.kv_bytes_per_block;
  double xs = model_comm_time (&h100->profile, h100, MODEL_COLL_SENDRECV, bytes, 2, 1, NULL);
  double xr = model_comm_time (&a100->profile, a100, MODEL_COLL_SENDRECV, bytes / 2, 2, 1, NULL);
  SimTime xfer = SIM_TIME_FROM_S (MAX (xs, xr));
  GPtrArray *rows = read_requests (out);
  if (rows->len == 1) {
    CU_ASSERT_EQUAL (col_ns (rows, 0, C_TTFT), iter_ns (&pre, 1));
    CU_ASSERT_EQUAL (col_ns (rows, 0, C_COMPLETION) - col_ns (rows, 0, C_FIRST_TOKEN), xfer + dec);
  }
  g_ptr_array_unref (rows);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  json_t *sum = load_summary (out);
  json_t *dg = json_object_get (sum, "disaggregation");
  CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (dg, "decode_gpu")), "a100-80gb");
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (dg, "decode_tp")), 2);
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (dg, "decode_blocks_per_replica")), dm.num_blocks);
  json_decref (sum);
  char *text = serve_world_summary_text (r.w);
  CU_ASSERT_TRUE (contains (text, "1 x h100-sxm (TP 1) prefilling + 1 x a100-80gb (TP 2) decoding, 3 GPUs"));
  CU_ASSERT_TRUE (contains (text, "cost model: a100-80gb's calibrated profile"));
  g_free (text);
  char *dot = read_text (out, "cluster.dot");
  CU_ASSERT_TRUE (contains (dot, "\"r1g1\" [label=\"GPU 1\\na100-80gb"));
  g_free (dot);
  run_clear (&r);
  /* bad pools: the key is named */
  GError *e = NULL;
  /* without a decode pool: unused, and the run says so */
  if (run_ok (&r, out, SYNTH, NULL, "cluster.decode_tp=2", "workload.generator.num_requests=2", NULL)) {
    CU_ASSERT_TRUE (contains (serve_output_notes (serve_world_output (r.w)),
                              "cluster.decode_gpu / decode_tp are unused"));
  }
  run_clear (&r);
  CU_ASSERT_FALSE (run_sc (&r, scen (NULL, NULL, &e, "cluster.prefill_replicas=1",
                                      "cluster.decode_gpu=\"nope\"", NULL), NULL, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "cluster.decode_gpu: "));
  g_clear_error (&e);
  run_clear (&r);
  CU_ASSERT_FALSE (run_sc (&r, scen (NULL, NULL, &e, "cluster.prefill_replicas=1",
                                      "cluster.decode_tp=3", NULL), NULL, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "cluster.decode_gpu / decode_tp: tensor parallelism 3"));
  g_clear_error (&e);
  run_clear (&r);
  CU_ASSERT_FALSE (run_sc (&r, scen (NULL, NULL, &e, "cluster.prefill_replicas=1", "cluster.decode_tp=2",
                                      "speculation.draft=\"llama-3.2-1b\"", NULL), NULL, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "speculation.draft: a draft model with a decode pool"));
  g_clear_error (&e);
  run_clear (&r);
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
done:
  run_clear (&r);
  g_free (out);
}

/* On real data, the bundled Mooncake excerpt (1,000 requests, 6 replicas):
 * every request completes, KV is conserved, the share of prompt tokens
 * found cached stays under what the trace can share at all (21.5%: every
 * unit kept forever), the cache-aware router finds more than round-robin,
 * and a host tier more again. */
static void
test_prefix_cache_mooncake (void)
{
  static const char *const variants[][2] = {
    { "router.name=round-robin", "cache.prefix_host_gib=0" },
    { "router.name=cache-aware", "cache.prefix_host_gib=0" },
    { "router.name=cache-aware", "cache.prefix_host_gib=128" },
  };
  double hit[3] = { 0 };
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
    Run r = { 0 };
    if (run_ok (&r, NULL, NULL, NULL, "output.dir=null", "workload.trace=traces/data/mooncake_conv_1k.jsonl",
                "cluster.replicas=6", "cache.prefix_caching=true", variants[v][0], variants[v][1], NULL)) {
      ServeMetrics *m = serve_world_metrics (r.w);
      CU_ASSERT_EQUAL (m->completed, 1000);
      CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
      hit[v] = (double) m->pc_hit_tokens / (double) m->pc_lookup_tokens;
      CU_ASSERT_TRUE (hit[v] > 0.02 && hit[v] < 0.215);
    }
    run_clear (&r);
  }
  printf ("\n  Mooncake excerpt, prompt tokens found cached: round-robin %.3f, cache-aware %.3f, "
          "+ 128 GiB host tier %.3f", hit[0], hit[1], hit[2]);
  CU_ASSERT_TRUE (hit[1] > 1.5 * hit[0]);
  CU_ASSERT_TRUE (hit[2] > 1.5 * hit[1]);
}

/* ------------------------------------------------------------------------ */
/* pipeline parallelism (cluster.pp)                                        */

/* One replica at TP 1 x PP 2, by hand. The stage times split the
 * iteration's GPU time (they sum to it); an iteration is its CPU time, stage
 * 0, the activations' send/recv, stage 1. Two identical prompts arriving
 * together go to the two virtual engines; the second engine's stage 0 waits
 * for the first's. Each engine has half the KV blocks of a stage GPU. */
static void
test_pp_exact (void)
{
  ModelCost c;
  cost_of (&c, "llama-3.1-8b", "h100-sxm", 1, 2);
  ModelIterCost it;
  ModelSeqWork pre = { 1000, 0 };
  model_cost_iteration (&c, &pre, 1, &it);
  double st[2];
  double xs = model_cost_stage_times (&c, &it, 1000, st);
  CU_ASSERT_DOUBLE_EQUAL (st[0] + st[1], it.gpu_s, 1e-12);
  CU_ASSERT_TRUE (st[1] > st[0]);   /* the LM head outweighs the embedding */
  CU_ASSERT_TRUE (xs > 0);
  SimTime cpu = SIM_TIME_FROM_S (it.cpu_s), a = SIM_TIME_FROM_S (st[0]), b = SIM_TIME_FROM_S (st[1]);
  SimTime x = SIM_TIME_FROM_S (xs);
  ModelMemoryPlan mp;
  CU_ASSERT_TRUE (model_memory_plan (&c, 16, 0.9, 8192, &mp, NULL));
  char *out = subdir ("pp", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  char *set_trace = trace_set (out, "t.jsonl",
    "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 1}\n"
    "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 1}\n");
  char *dir = g_build_filename (out, "run", NULL);
  if (run_ok (&r, dir, NULL, NULL, set_trace, "cluster.replicas=1", "cluster.pp=2", NULL)) {
    CU_ASSERT_EQUAL (serve_world_n_replicas (r.w), 2);
    struct ServeReplica *e0 = serve_world_replica (r.w, 0), *e1 = serve_world_replica (r.w, 1);
    CU_ASSERT_PTR_NOT_NULL (e0->pipe);
    CU_ASSERT_PTR_EQUAL (e0->pipe, e1->pipe);
    CU_ASSERT_EQUAL (e0->mem.num_blocks, mp.num_blocks / 2);
    GPtrArray *rows = read_requests (dir);
    if (rows->len == 2) {
      gint64 t0 = col_ns (rows, 0, C_TTFT), t1 = col_ns (rows, 1, C_TTFT);
      CU_ASSERT_EQUAL (t0, cpu + a + x + b);
      CU_ASSERT_EQUAL (t1, MAX (cpu + 2 * a + x, cpu + a + x + b) + b);
      CU_ASSERT_STRING_EQUAL (field (rows, 0, C_REPLICA), "0");
      CU_ASSERT_STRING_EQUAL (field (rows, 1, C_REPLICA), "1");
      printf ("\n  PP 2: stages %.3f + %.3f ms, send/recv %.3f ms; TTFT %.3f and %.3f ms", st[0] * 1e3,
              st[1] * 1e3, xs * 1e3, t0 / 1e6, t1 / 1e6);
    }
    g_ptr_array_unref (rows);
    json_t *sum = load_summary (dir);
    CU_ASSERT_EQUAL (jpath (sum, "replicas", NULL), 1);
    CU_ASSERT_EQUAL (jpath (sum, "pp", NULL), 2);
    CU_ASSERT_EQUAL (jpath (sum, "kv_cache", "blocks_per_replica"), (double) (mp.num_blocks / 2 * 2));
    json_decref (sum);
    char *dot = read_text (dir, "cluster.dot");
    CU_ASSERT_TRUE (contains (dot, "\"r0g0\" -> \"r0g1\" [label=\"PP send/recv\"]"));
    g_free (dot);
    CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  }
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
  run_clear (&r);
  /* bad: more stages than layers, with disaggregation */
  GError *e = NULL;
  CU_ASSERT_FALSE (run_sc (&r, scen (NULL, NULL, &e, "cluster.pp=33", NULL), NULL, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "cluster.pp: 33 stages for llama-3.1-8b's 32 layers"));
  g_clear_error (&e);
  run_clear (&r);
  CU_ASSERT_FALSE (run_sc (&r, scen (NULL, NULL, &e, "cluster.pp=2", "cluster.prefill_replicas=1",
                                      NULL), NULL, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "with prefill/decode disaggregation"));
  g_clear_error (&e);
  run_clear (&r);
  CU_ASSERT_PTR_NULL (scen (NULL, NULL, &e, "cluster.pp=0", NULL));
  CU_ASSERT_TRUE (e && contains (e->message, "cluster.pp"));
  g_clear_error (&e);
  g_free (set_trace);
  g_free (dir);
  g_free (out);
}

/* PP 2 under KV pressure: every virtual engine's KV conserved at every
 * decision, preemptions, all complete; and with PP the same GPUs serve a
 * burst faster than one engine would alone (the stages overlap). */
static void
test_pp_pressure (void)
{
  /* the smallest mem_util leaving a virtual engine >= 200 blocks */
  ModelCost c;
  cost_of (&c, "llama-3.1-8b", "h100-sxm", 1, 2);
  double mu = 0;
  gint64 blocks = 0;
  for (double x = 0.11; x < 0.3 && !mu; x += 0.0025) {
    ModelMemoryPlan mp;
    if (model_memory_plan (&c, 16, x, 8192, &mp, NULL) && mp.num_blocks / 2 >= 200) {
      mu = x;
      blocks = mp.num_blocks / 2;
    }
  }
  CU_ASSERT_TRUE_FATAL (mu > 0 && blocks < 400);
  gint64 cap = blocks * 16;
  char *mus = g_strdup_printf ("cache.mem_util=%.17g", mu);
  char *ps = g_strdup_printf ("workload.generator.prompt_tokens=%" G_GINT64_FORMAT, cap / 16);
  char *os = g_strdup_printf ("workload.generator.output_tokens=%" G_GINT64_FORMAT, cap / 8);
  char *out = subdir ("pp-pressure", FALSE);
  Run r = { 0 };
  guint bad0 = n_bad_logs;
  kv_checks = kv_violations = 0;
  if (run_ok (&r, out, SYNTH, registry_with_checked (), "scheduler.name=vllm-checked", mus, ps, os,
              "cluster.pp=2", "workload.generator.num_requests=80", "workload.generator.rate=1000",
              NULL)) {
    ServeMetrics *m = serve_world_metrics (r.w);
    CU_ASSERT_EQUAL (m->completed, 80);
    CU_ASSERT_TRUE (kv_checks > 100);
    CU_ASSERT_EQUAL (kv_violations, 0);
    CU_ASSERT_TRUE (m->preemptions > 0);
    CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
    for (guint i = 0; i < 2; i++)
      CU_ASSERT_TRUE (serve_world_replica (r.w, i)->iterations > 0);
  }
  CU_ASSERT_EQUAL (n_bad_logs, bad0);
  run_clear (&r);
  g_free (mus);
  g_free (ps);
  g_free (os);
  g_free (out);
}

/* Bad settings: a unit that is not whole KV blocks, and a windowed model. */
static void
test_prefix_cache_bad (void)
{
  GError *e = NULL;
  ServeScenario *sc = scen (NULL, NULL, &e, "cache.prefix_caching=true",
                            "cache.prefix_block_tokens=500", NULL);
  CU_ASSERT_PTR_NULL (sc);
  CU_ASSERT_TRUE (e && contains (e->message, "cache.prefix_block_tokens: must be a multiple of "
                                             "cache.block_size (16), got 500"));
  g_clear_error (&e);
  sc = scen (NULL, NULL, &e, "cache.prefix_caching=1", NULL);
  CU_ASSERT_PTR_NULL (sc);
  CU_ASSERT_TRUE (e && contains (e->message, "cache.prefix_caching"));
  g_clear_error (&e);
  sc = scen (NULL, NULL, &e, "cache.prefix_block_tokens=0", NULL);
  CU_ASSERT_PTR_NULL (sc);
  CU_ASSERT_TRUE (e && contains (e->message, "cache.prefix_block_tokens"));
  g_clear_error (&e);
  Run r = { 0 };
  CU_ASSERT_FALSE (run_sc (&r, scen (NULL, NULL, &e, "model=mistral-7b",
                                      "cache.prefix_caching=true", NULL), NULL, &e));
  CU_ASSERT_TRUE (e && contains (e->message, "sliding window of 4096 tokens; prefix caching"));
  g_clear_error (&e);
  run_clear (&r);
}

int
main (void)
{
  g_log_set_default_handler (count_logs, NULL);
  static const TestCase cases[] = {
    { "one request alone: TTFT and TPOT exact vs cost model", test_single_request_exact },
    { "engine.cpu_overlap: back-to-back iterations take max(GPU, CPU)", test_cpu_overlap_exact },
    { "KV conserved at every step under preemption", test_kv_conserved_under_preemption },
    { "sliding window: KV held only for the window", test_sliding_window_kv },
    { "prefix caching: shared units skip prefill, times exact", test_prefix_cache_exact },
    { "prefix caching under KV pressure: evicts, preempts, conserved", test_prefix_cache_pressure },
    { "prefix caching: bad settings rejected with the field", test_prefix_cache_bad },
    { "prefix caching's host tier: offload, copy back, exact", test_prefix_cache_host_tier },
    { "prefix caching on the Mooncake excerpt: bounded hits, router, tier", test_prefix_cache_mooncake },
    { "cache-aware router: prefix hits weighed against load", test_cache_aware_router },
    { "disaggregation: prefill, KV transfer, decode exact", test_disagg_exact },
    { "disaggregation under KV pressure: conserved, all complete", test_disagg_pressure },
    { "disaggregation: a decode pool of its own GPU and TP", test_disagg_hetero },
    { "pipeline parallelism: stages, overlap, memory exact", test_pp_exact },
    { "pipeline parallelism under KV pressure: conserved, all complete", test_pp_pressure },
    { "prompts that never fit are rejected, rest complete", test_reject_prompt_too_long_mixed },
    { "all requests rejected: run ends cleanly", test_reject_all },
    { "output outgrowing the cache: rejected, run ends", test_reject_output_outgrows_cache },
    { "same seed byte-identical, other seed differs", test_determinism },
    { "default scenario end to end", test_default_scenario },
    { "rendering when gnuplot/dot are installed", test_render_when_gnuplot },
    { "output.requests_csv / output.plots switches", test_output_switches },
    { "SLO attainment", test_slo },
    { "workload.limit caps a synthetic workload", test_limit_synthetic },
    { "empty trace: a clean empty run", test_empty_trace },
    { "output.dir=null: in-memory run, no files", test_in_memory_run },
    { "malformed trace row: path:line, no outputs", test_bad_trace_row_no_outputs },
    { "unknown model/gpu/scheduler/router/param", test_unknown_names },
    { "cluster.network: TP across nodes", test_network },
    { "summary names the cost model's profile (own or carried over)", test_cost_model_provenance },
    { "model too big for the GPU", test_model_too_big },
    { "missing trace file names the path", test_missing_trace },
    { "output commit failure leaves no partial files", test_commit_failure_no_partial_outputs },
    { "template scheduler: serial FCFS", test_template_serial },
    { "round-robin: request i on replica i mod 3", test_round_robin_placement },
    { "a trace's priority column sets request priority", test_trace_priority_column },
    { NULL, NULL }
  };
  int rc = test_run_suite ("serve/world", cases);
  model_catalog_free (the_catalog);
  if (tmp) {
    test_rmdir_r (tmp);
    g_free (tmp);
  }
  return rc;
}
