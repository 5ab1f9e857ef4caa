/* tests/policies/test_schedulers.c — the schedulers from the literature
 * (policies/cbatch.c and policies/sched_*.c, with vLLM's swap path in
 * sched_vllm.c) and the serving world's swap and speculation mechanics they
 * use (serve/world.c, serve/policy_api.c).
 *
 * Each scheduler runs wrapped in a checker that, at every scheduling decision
 * and after every iteration, asserts KV-block conservation and the property
 * that defines it: static batching lets no request join a running batch;
 * Orca holds maximum-length KV for every running request and never preempts;
 * Sarathi-Serve with chunking on never makes a decode wait more than one
 * iteration (and vLLM's prefill-first does, as a contrast); every request
 * completes. Speculative decoding at acceptance 1.0 and 0.0 is checked
 * against hand-computed iteration counts and exact times from the cost model.
 * Swapping (blocking vs overlapped, host-copy re-use), preemptive priority,
 * VTC fairness and EDF are checked on small synthetic workloads.
 * Conversation re-use (cache.swap.reuse_conversation) is checked on small
 * CSV traces: a two-turn TTFT exact to the nanosecond under every scheduler,
 * per-replica host memory, LRU eviction under host_gib, host and GPU block
 * conservation under pressure, determinism. Bad
 * parameters and scenario values are checked for actionable errors. No
 * assertion depends on wall-clock time.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "models/catalog.h"
#include "models/cost.h"
#include "policies/cbatch.h"
#include "policies/registry.h"
#include "serve/metrics.h"
#include "serve/scenario.h"
#include "serve/world.h"
#include "tests/testutil.h"

static guint n_bad_logs;

static void
count_logs (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer user)
{
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_ERROR)) {
    n_bad_logs++;
    fprintf (stderr, "\n    GLib: %s\n", message);
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

/* ------------------------------------------------------------------------ */
/* the checker: wraps any scheduler                                         */

typedef struct {
  const PolicySchedulerOps *inner;
  guint64 decisions, iterations, kv_violations;
  /* static batching: requests of the batch now running (req -> 1) */
  GHashTable *static_set;
  guint64 joins;
  /* Orca: running requests without maximum-length KV */
  guint64 short_reservations;
  /* decode stalls: decode-phase request -> preemptions when recorded */
  GHashTable *decoding;
  guint64 stalls;
  /* decisions that admitted a new high-priority prefill and preempted a
   * normal request (prefill-first policies preempt for memory only in
   * decode iterations, so these are preemptions on behalf of priority) */
  guint64 prio_preempts;
  /* finished requests whose class disagrees with prompt <= class_max_prompt
   * (when > 0), and how many were high */
  gint64  class_max_prompt;
  guint64 class_mismatch, n_high;
  /* finished requests: sum of TTFT by client (VTC) */
  double ttft_sum[4];
  guint  ttft_n[4];
  /* finished requests by id (ids < 16): TTFT, arrival and completion in ns */
  SimTime ttft_id[16], arrival_id[16], done_id[16];
} Checker;

static Checker chk; /* one checked run at a time */

static void
checker_reset (const PolicySchedulerOps *inner)
{
  if (chk.static_set)
    g_hash_table_destroy (chk.static_set);
  if (chk.decoding)
    g_hash_table_destroy (chk.decoding);
  memset (&chk, 0, sizeof chk);
  chk.inner = inner;
  chk.static_set = g_hash_table_new (NULL, NULL);
  chk.decoding = g_hash_table_new (NULL, NULL);
}

static guint64
normal_preemptions (PolicyReplica *rep)
{
  guint64 n = 0;
  for (GList *l = rep->live.head; l; l = l->next) {
    struct ServeRequest *r = l->data;
    if (r->priority == 0)
      n += r->preemptions;
  }
  return n;
}

/* Host KV blocks: the replica's count equals what live requests and kept
 * conversation entries hold. */
static gboolean
host_conserved (const ServeWorld *w)
{
  for (guint i = 0; i < serve_world_n_replicas (w); i++) {
    struct ServeReplica *rep = serve_world_replica (w, i);
    gint64 held = 0;
    for (GList *l = rep->live.head; l; l = l->next)
      held += ((struct ServeRequest *) l->data)->host_blocks;
    for (GList *l = rep->conv_lru.head; l; l = l->next)
      held += ((ServeConvEntry *) l->data)->blocks;
    if (held != rep->host_blocks_used || rep->host_blocks_used < 0)
      return FALSE;
    if (rep->conv_host && g_hash_table_size (rep->conv_host) != rep->conv_lru.length)
      return FALSE;
  }
  return TRUE;
}

static void
checked_schedule (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  guint64 pre0 = normal_preemptions (rep);
  chk.inner->schedule (state, rep, batch);
  if (normal_preemptions (rep) > pre0)
    for (guint i = 0; i < batch->len; i++) {
      struct ServeRequest *r = batch->entries[i].req;
      if (r->priority > 0 && r->computed == 0) {
        chk.prio_preempts++;
        break;
      }
    }
  chk.decisions++;
  if (!serve_world_kv_conserved (rep->world) || !host_conserved (rep->world))
    chk.kv_violations++;
  /* static: while a batch runs, every entry belongs to it */
  if (g_hash_table_size (chk.static_set) > 0)
    for (guint i = 0; i < batch->len; i++) {
      ServeBatchEntry *e = &batch->entries[i];
      if (!g_hash_table_contains (chk.static_set, e->req))
        chk.joins++;
    }
  else
    for (guint i = 0; i < batch->len; i++)
      g_hash_table_add (chk.static_set,
                        batch->entries[i].req);
  /* decode stalls: a request decoding last iteration, not preempted since,
   * must be in this batch */
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, chk.decoding);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    struct ServeRequest *r = k;
    if (!r->in_batch && r->preemptions == GPOINTER_TO_UINT (v))
      chk.stalls++;
  }
  g_hash_table_remove_all (chk.decoding);
  for (guint i = 0; i < batch->len; i++) {
    struct ServeRequest *r = batch->entries[i].req;
    gint64 need = (r->prompt + r->output + rep->mem.block_size - 1) / rep->mem.block_size;
    if (r->blocks < need)
      chk.short_reservations++;
  }
}

static void
checked_after (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  chk.iterations++;
  if (!serve_world_kv_conserved (rep->world) || !host_conserved (rep->world))
    chk.kv_violations++;
  for (guint i = 0; i < batch->len; i++) {
    struct ServeRequest *r = batch->entries[i].req;
    if (r->finished || r->rejected) {
      g_hash_table_remove (chk.static_set, r);
      if (r->finished && r->id < G_N_ELEMENTS (chk.ttft_id)) {
        chk.ttft_id[r->id] = r->first_token - r->arrival;
        chk.arrival_id[r->id] = r->arrival;
        chk.done_id[r->id] = r->completion;
      }
      if (r->finished && chk.class_max_prompt > 0) {
        chk.class_mismatch += (r->priority > 0) != (r->prompt <= chk.class_max_prompt);
        chk.n_high += r->priority > 0;
      }
      if (r->finished && r->client < 4) {
        chk.ttft_sum[r->client] += SIM_TIME_TO_S (r->first_token - r->arrival);
        chk.ttft_n[r->client]++;
      }
    } else if (r->generated > 0 && r->computed == r->prompt + r->generated - 1)
      g_hash_table_insert (chk.decoding, r, GUINT_TO_POINTER (r->preemptions));
  }
  if (chk.inner->after_iteration)
    chk.inner->after_iteration (state, rep, batch);
}

static PolicySchedulerOps checked_ops;

/* A registry with "checked" wrapping scheduler `name`. */
static PolicyRegistry *
checked_registry (const char *name)
{
  PolicyRegistry *reg = policy_registry_new ();
  const PolicySchedulerOps *inner = policy_registry_scheduler (reg, name, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (inner);
  checker_reset (inner);
  checked_ops = *inner;
  checked_ops.name = "checked";
  checked_ops.schedule = checked_schedule;
  checked_ops.after_iteration = checked_after;
  CU_ASSERT_TRUE (policy_registry_add_scheduler (reg, &checked_ops));
  return reg;
}

/* ------------------------------------------------------------------------ */
/* runs                                                                     */

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

/* In-memory run of the defaults + overrides (NULL-terminated varargs). FALSE
 * with *error at the first failure. */
static gboolean
run_v (Run *r, PolicyRegistry *reg, GError **error, va_list ap)
{
  GPtrArray *a = g_ptr_array_new ();
  g_ptr_array_add (a, (gpointer) "output.dir=null");
  const char *x;
  while ((x = va_arg (ap, const char *)))
    g_ptr_array_add (a, (gpointer) x);
  g_ptr_array_add (a, NULL);
  r->reg = reg ? reg : policy_registry_new ();
  r->sc = serve_scenario_load (NULL, (char **) a->pdata, error);
  g_ptr_array_free (a, TRUE);
  if (!r->sc || !(r->w = serve_world_new (r->sc, r->reg, error)) || !serve_world_run (r->w, error))
    return FALSE;
  r->summary = serve_world_summary_json (r->w);
  return TRUE;
}

static gboolean
run_ok (Run *r, PolicyRegistry *reg, ...)
{
  GError *e = NULL;
  va_list ap;
  va_start (ap, reg);
  gboolean ok = run_v (r, reg, &e, ap);
  va_end (ap);
  if (!ok)
    fprintf (stderr, "\n    run failed: %s\n", e ? e->message : "(no error set)");
  CU_ASSERT_TRUE (ok);
  g_clear_error (&e);
  return ok;
}

/* The error message of a run that must fail (g_free), or NULL. */
static char *
run_err (const char *first, ...)
{
  GError *e = NULL;
  Run r = { 0 };
  va_list ap;
  va_start (ap, first);
  GPtrArray *a = g_ptr_array_new ();
  g_ptr_array_add (a, (gpointer) "output.dir=null");
  for (const char *x = first; x; x = va_arg (ap, const char *))
    g_ptr_array_add (a, (gpointer) x);
  va_end (ap);
  g_ptr_array_add (a, NULL);
  r.reg = policy_registry_new ();
  r.sc = serve_scenario_load (NULL, (char **) a->pdata, &e);
  g_ptr_array_free (a, TRUE);
  gboolean ok = r.sc && (r.w = serve_world_new (r.sc, r.reg, &e)) && serve_world_run (r.w, &e);
  CU_ASSERT_FALSE (ok);
  char *m = e ? g_strdup (e->message) : NULL;
  g_clear_error (&e);
  run_clear (&r);
  return m;
}

static double
jnum (json_t *j, const char *a, const char *b)
{
  json_t *v = json_object_get (j, a);
  if (b)
    v = json_object_get (v, b);
  return json_number_value (v);
}

/* KV blocks per replica of llama-3.1-8b on h100-sxm at mem_util. */
static gint64
plan_blocks (double mem_util)
{
  ModelCatalog *cat = model_catalog_new ();
  gint64 n = 0;
  if (model_catalog_load_default (cat, NULL)) {
    ModelCost c;
    model_cost_init (&c, model_catalog_llm (cat, "llama-3.1-8b", NULL),
                     model_catalog_gpu (cat, "h100-sxm", NULL), 1);
    ModelMemoryPlan mp;
    if (model_memory_plan (&c, 16, mem_util, 8192, &mp, NULL))
      n = mp.num_blocks;
  }
  model_catalog_free (cat);
  return n;
}

/* A small cache (>= 200 blocks) so that 60 requests of cap/16 prompt and
 * cap/8 output tokens outgrow it and force preemption. */
typedef struct {
  char mu[64], prompt[64], output[64];
  gint64 blocks;
} Tight;

static gboolean
tight_init (Tight *t)
{
  static const double mus[] = { 0.2, 0.205, 0.21, 0.22, 0.25, 0.3, 0.4 };
  for (guint i = 0; i < G_N_ELEMENTS (mus); i++)
    if ((t->blocks = plan_blocks (mus[i])) >= 200) {
      gint64 cap = t->blocks * 16;
      g_snprintf (t->mu, sizeof t->mu, "cache.mem_util=%.17g", mus[i]);
      g_snprintf (t->prompt, sizeof t->prompt, "workload.generator.prompt_tokens=%" G_GINT64_FORMAT, cap / 16);
      g_snprintf (t->output, sizeof t->output, "workload.generator.output_tokens=%" G_GINT64_FORMAT, cap / 8);
      return TRUE;
    }
  return FALSE;
}

#define SYNTH "workload.trace=null", "cluster.replicas=1"

/* Common end-of-run assertions: everything completed, KV conserved at every
 * step and at the end, every replica empty. */
static void
assert_clean (Run *r, guint64 n)
{
  ServeMetrics *m = serve_world_metrics (r->w);
  CU_ASSERT_EQUAL (serve_world_arrived (r->w), n);
  CU_ASSERT_EQUAL (m->completed, n);
  CU_ASSERT_EQUAL (m->rejected, 0);
  CU_ASSERT_EQUAL (chk.kv_violations, 0);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r->w));
  for (guint i = 0; i < serve_world_n_replicas (r->w); i++) {
    struct ServeReplica *rep = serve_world_replica (r->w, i);
    CU_ASSERT_EQUAL (rep->free_blocks, rep->mem.num_blocks);
    CU_ASSERT_EQUAL (rep->host_blocks_used, 0);
    CU_ASSERT_EQUAL (rep->load, 0);
  }
}

/* ------------------------------------------------------------------------ */
/* every policy                                                             */

static const char *const ALL[] = { "vllm", "static", "orca", "sarathi", "fastgen", "priority",
                                   "vtc", "edf", "specdec", "smartspec", NULL };

/* By name on the default scenario (the bundled 1,000-request Azure
 * conversation excerpt on two replicas): everything completes. */
static void
test_all_by_name_default (void)
{
  PolicyRegistry *reg = policy_registry_new ();
  for (const char *const *n = ALL; *n; n++) {
    const PolicySchedulerOps *ops = policy_registry_scheduler (reg, *n, NULL);
    CU_ASSERT_PTR_NOT_NULL (ops);
    if (ops)
      CU_ASSERT_TRUE (ops->description && strlen (ops->description) > 10);
  }
  policy_registry_free (reg);
  for (const char *const *n = ALL; *n; n++) {
    Run r = { 0 };
    char *set = g_strdup_printf ("scheduler.name=%s", *n);
    guint bad0 = n_bad_logs;
    if (run_ok (&r, checked_registry (*n), set, "scheduler.name=checked", NULL)) {
      assert_clean (&r, 1000);
      CU_ASSERT_TRUE (chk.iterations > 0);
      CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (r.summary, "scheduler")),
                              "checked");
    }
    CU_ASSERT_EQUAL (n_bad_logs, bad0);
    if (n_bad_logs != bad0)
      fprintf (stderr, "\n    (policy %s)\n", *n);
    run_clear (&r);
    g_free (set);
  }
}

/* Under heavy memory pressure every policy still conserves KV at every step
 * and completes every request (recompute and swap). */
static void
test_all_under_pressure (void)
{
  Tight t;
  CU_ASSERT_TRUE_FATAL (tight_init (&t));
  static const char *const modes[] = { "cache.preemption=recompute", "cache.preemption=swap" };
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    for (const char *const *n = ALL; *n; n++) {
      Run r = { 0 };
      guint bad0 = n_bad_logs;
      if (run_ok (&r, checked_registry (*n), SYNTH, "scheduler.name=checked", t.mu, t.prompt,
                  t.output, modes[m], "workload.generator.num_requests=60",
                  "workload.generator.rate=1000", NULL)) {
        assert_clean (&r, 60);
        CU_ASSERT_TRUE (chk.decisions > 50);
      }
      if (n_bad_logs != bad0 || chk.kv_violations)
        fprintf (stderr, "\n    (policy %s, %s)\n", *n, modes[m]);
      CU_ASSERT_EQUAL (n_bad_logs, bad0);
      run_clear (&r);
    }
}

/* A request whose output outgrows the whole cache is rejected (not left
 * waiting forever), under every policy and both preemption modes, while a
 * normal request beside it completes. */
static void
test_all_outgrow_rejected (void)
{
  Tight t;
  CU_ASSERT_TRUE_FATAL (tight_init (&t));
  char *os = g_strdup_printf ("workload.generator.output_max=%" G_GINT64_FORMAT, t.blocks * 32);
  char *omin = g_strdup_printf ("workload.generator.output_min=%" G_GINT64_FORMAT, t.blocks * 4);
  static const char *const modes[] = { "cache.preemption=recompute", "cache.preemption=swap" };
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    for (const char *const *n = ALL; *n; n++) {
      Run r = { 0 };
      guint bad0 = n_bad_logs;
      /* the same activation budget (so the same cache) for every policy */
      const char *cap = strcmp (*n, "sarathi") == 0   ? "scheduler.token_budget=8192"
                        : strcmp (*n, "fastgen") == 0 ? "scheduler.forward_size=8192"
                                                      : "scheduler.max_batch_size=256";
      /* uniform outputs in [cap/4, 2 cap]: some fit, some outgrow the cache */
      if (run_ok (&r, checked_registry (*n), SYNTH, "scheduler.name=checked", cap, t.mu, os, omin,
                  modes[m],
                  "workload.generator.lengths=uniform", "workload.generator.prompt_min=16",
                  "workload.generator.prompt_max=64",
                  "workload.generator.num_requests=8", "workload.generator.rate=1000", NULL)) {
        ServeMetrics *mt = serve_world_metrics (r.w);
        CU_ASSERT_EQUAL (mt->completed + mt->rejected, 8);
        CU_ASSERT_TRUE (mt->rejected >= 1);
        CU_ASSERT_TRUE (mt->completed >= 1);
        CU_ASSERT_EQUAL (chk.kv_violations, 0);
        CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
        CU_ASSERT_EQUAL (serve_world_replica (r.w, 0)->host_blocks_used, 0);
        if (mt->completed + mt->rejected != 8 || !mt->rejected || !mt->completed)
          fprintf (stderr, "\n    (policy %s, %s: %" G_GUINT64_FORMAT " completed, %" G_GUINT64_FORMAT
                   " rejected)\n", *n, modes[m], mt->completed, mt->rejected);
      } else
        fprintf (stderr, "\n    (policy %s, %s)\n", *n, modes[m]);
      CU_ASSERT_EQUAL (n_bad_logs, bad0);
      run_clear (&r);
    }
  g_free (os);
  g_free (omin);
}

/* ------------------------------------------------------------------------ */
/* defining properties                                                      */

static void
test_static_no_join (void)
{
  Run r = { 0 };
  /* requests keep arriving while batches run: with continuous batching they
   * would join */
  if (run_ok (&r, checked_registry ("static"), SYNTH, "scheduler.name=checked",
              "scheduler.max_batch_size=8", "workload.generator.num_requests=100",
              "workload.generator.rate=50", "workload.generator.lengths=uniform", NULL)) {
    assert_clean (&r, 100);
    CU_ASSERT_EQUAL (chk.joins, 0);
    CU_ASSERT_EQUAL (jnum (r.summary, "preemptions", NULL), 0);
    CU_ASSERT_TRUE (jnum (r.summary, "batch_size", "max") <= 8);
    CU_ASSERT_TRUE (jnum (r.summary, "batch_size", "max") >= 2);
  }
  run_clear (&r);
  /* the checker does detect joins: vLLM's continuous batching has them */
  if (run_ok (&r, checked_registry ("vllm"), SYNTH, "scheduler.name=checked",
              "workload.generator.num_requests=100", "workload.generator.rate=50",
              "workload.generator.lengths=uniform", NULL))
    CU_ASSERT_TRUE (chk.joins > 0);
  run_clear (&r);
}

static void
test_orca_max_reservation (void)
{
  Tight t;
  CU_ASSERT_TRUE_FATAL (tight_init (&t));
  Run r = { 0 };
  if (run_ok (&r, checked_registry ("orca"), SYNTH, "scheduler.name=checked", t.mu, t.prompt,
              t.output, "workload.generator.num_requests=60", "workload.generator.rate=1000",
              NULL)) {
    assert_clean (&r, 60);
    CU_ASSERT_EQUAL (chk.short_reservations, 0);
    CU_ASSERT_EQUAL (jnum (r.summary, "preemptions", NULL), 0);
    /* prompt + output = 3/16 of the cache: at most 5 run at once */
    CU_ASSERT_TRUE (jnum (r.summary, "batch_size", "max") <= 5);
    /* Orca mixes prefills into decode iterations */
    CU_ASSERT_TRUE (jnum (r.summary, "iterations", NULL) < 60 * (t.blocks * 2 + 1));
  }
  run_clear (&r);
  /* a request whose maximum length can never fit is rejected, the rest run */
  char *out = g_strdup_printf ("workload.generator.output_tokens=%" G_GINT64_FORMAT, t.blocks * 16);
  if (run_ok (&r, NULL, SYNTH, "scheduler.name=orca", t.mu, t.prompt, out,
              "workload.generator.num_requests=3", NULL)) {
    CU_ASSERT_EQUAL (serve_world_metrics (r.w)->rejected, 3);
    CU_ASSERT_EQUAL (serve_world_metrics (r.w)->completed, 0);
  }
  run_clear (&r);
  g_free (out);
}

/* Sarathi: with chunking, no decode waits more than one iteration, and no
 * iteration exceeds the token budget; vLLM's prefill-first stalls decodes
 * on the same workload, and so does Sarathi with chunking off. */
static void
test_sarathi_stall_free (void)
{
  static const char *const W[] = { "workload.generator.num_requests=80",
                                    "workload.generator.rate=20",
                                    "workload.generator.lengths=uniform",
                                    "workload.generator.prompt_min=200",
                                    "workload.generator.prompt_max=3000" };
  Run r = { 0 };
  if (run_ok (&r, checked_registry ("sarathi"), SYNTH, "scheduler.name=checked",
              "scheduler.token_budget=256", W[0], W[1], W[2], W[3], W[4], NULL)) {
    assert_clean (&r, 80);
    CU_ASSERT_EQUAL (chk.stalls, 0);
    CU_ASSERT_TRUE (jnum (r.summary, "batch_tokens", "max") <= 256);
    CU_ASSERT_TRUE (jnum (r.summary, "batch_tokens", "max") >= 200);
  }
  run_clear (&r);
  if (run_ok (&r, checked_registry ("vllm"), SYNTH, "scheduler.name=checked", W[0], W[1], W[2],
              W[3], W[4], NULL)) {
    assert_clean (&r, 80);
    CU_ASSERT_TRUE (chk.stalls > 0);
  }
  run_clear (&r);
  if (run_ok (&r, checked_registry ("sarathi"), SYNTH, "scheduler.name=checked",
              "scheduler.chunking=0", W[0], W[1], W[2], W[3], W[4], NULL)) {
    assert_clean (&r, 80);
    CU_ASSERT_TRUE (jnum (r.summary, "batch_tokens", "max") > 256);
  }
  run_clear (&r);
  /* FastGen: forward passes never above forward_size */
  if (run_ok (&r, checked_registry ("fastgen"), SYNTH, "scheduler.name=checked",
              "scheduler.forward_size=300", W[0], W[1], W[2], W[3], W[4], NULL)) {
    assert_clean (&r, 80);
    CU_ASSERT_EQUAL (chk.stalls, 0);
    CU_ASSERT_TRUE (jnum (r.summary, "batch_tokens", "max") <= 300);
  }
  run_clear (&r);
}

/* ------------------------------------------------------------------------ */
/* speculative decoding, hand-computed                                      */

/* Completion time of one request (prompt P, output N) alone on the replica
 * with Medusa heads at overhead f, speculating k per decode and accepting
 * everything (all = TRUE) or nothing; *iters gets the iteration count and
 * *proposed the drafted tokens. Mirrors the rule in policy.h. */
static SimTime
spec_expected (gint64 P, gint64 N, gint64 k, double f, gboolean all, guint64 *iters,
               guint64 *proposed)
{
  ModelCatalog *cat = model_catalog_new ();
  g_assert (model_catalog_load_default (cat, NULL));
  ModelCost c;
  model_cost_init (&c, model_catalog_llm (cat, "llama-3.1-8b", NULL),
                   model_catalog_gpu (cat, "h100-sxm", NULL), 1);
  ModelIterCost ic;
  ModelSeqWork wk = { P, 0 };
  model_cost_iteration (&c, &wk, 1, &ic);
  SimTime t = model_iter_ns (&ic);
  *iters = 1;
  *proposed = 0;
  gint64 g = 1; /* tokens generated after the prefill */
  while (g < N) {
    gint64 ek = MIN (k, N - g - 1);
    ModelSeqWork v = { 1 + ek, P + g - 1 };
    model_cost_iteration (&c, &v, 1, &ic);
    SimTime dt = model_iter_ns (&ic);
    if (ek > 0)
      dt += SIM_TIME_FROM_S (f * ic.gpu_s);
    t += dt;
    (*iters)++;
    *proposed += (guint64) ek;
    g += all ? 1 + ek : 1;
  }
  model_catalog_free (cat);
  return t;
}

static void
check_spec (double alpha, gboolean all)
{
  const gint64 P = 300, N = 23, K = 4;
  guint64 iters, proposed;
  SimTime expect = spec_expected (P, N, K, 0.1, all, &iters, &proposed);
  char *acc = g_strdup_printf ("speculation.acceptance=%g", alpha);
  Run r = { 0 };
  if (run_ok (&r, checked_registry ("specdec"), SYNTH, "scheduler.name=checked",
              "scheduler.spec_k=4", acc, "speculation.medusa_overhead=0.1",
              "workload.generator.num_requests=1", "workload.generator.prompt_tokens=300",
              "workload.generator.output_tokens=23", NULL)) {
    assert_clean (&r, 1);
    struct ServeReplica *rep = serve_world_replica (r.w, 0);
    CU_ASSERT_EQUAL (rep->iterations, iters);
    CU_ASSERT_EQUAL (rep->spec_proposed, proposed);
    CU_ASSERT_EQUAL (rep->spec_accepted, all ? proposed : 0);
    /* all-accepted: 1 + 5 + 5 + 5 + 5 + 2 tokens in 6 iterations */
    CU_ASSERT_EQUAL (iters, all ? 6 : 23);
    ServeMetrics *m = serve_world_metrics (r.w);
    CU_ASSERT_EQUAL (m->output_tokens, N);
    /* the request arrives at the trace's first arrival; e2e is exact */
    double e2e = sim_quantiles_max (m->e2e);
    CU_ASSERT_DOUBLE_EQUAL (e2e, SIM_TIME_TO_S (expect), 1.5e-9);
    json_t *sp = json_object_get (r.summary, "speculation");
    CU_ASSERT_PTR_NOT_NULL (sp);
    CU_ASSERT_DOUBLE_EQUAL (jnum (sp, "acceptance", NULL), all ? 1.0 : 0.0, 1e-12);
    /* inter-token gaps: one per token after the first */
    CU_ASSERT_EQUAL (sim_quantiles_count (m->itl), N - 1);
  }
  run_clear (&r);
  g_free (acc);
}

static void test_spec_accept_all (void) { check_spec (1.0, TRUE); }
static void test_spec_accept_none (void) { check_spec (0.0, FALSE); }

/* Seeded acceptance in between: same seed same result, observed rate near
 * the configured one; a draft model costs more than Medusa heads; and
 * SmartSpec turns speculation off when the batch is large. */
static void
test_spec_random_and_adaptive (void)
{
  Run r = { 0 };
  guint64 acc1 = 0, prop1 = 0;
  for (int rep = 0; rep < 2; rep++) {
    if (run_ok (&r, NULL, SYNTH, "scheduler.name=specdec", "speculation.acceptance=0.6",
                "workload.generator.num_requests=40", "workload.generator.output_tokens=200",
                "workload.generator.rate=2", NULL)) {
      struct ServeReplica *x = serve_world_replica (r.w, 0);
      double a = (double) x->spec_accepted / (double) x->spec_proposed;
      /* per-draft acceptance is 0.6 until the first rejection; observed
       * per-proposed rate is lower than 0.6 and well above 0 */
      CU_ASSERT_TRUE (a > 0.25 && a < 0.6);
      if (rep == 0) {
        acc1 = x->spec_accepted;
        prop1 = x->spec_proposed;
      } else {
        CU_ASSERT_EQUAL (x->spec_accepted, acc1);
        CU_ASSERT_EQUAL (x->spec_proposed, prop1);
      }
      CU_ASSERT_EQUAL (serve_world_metrics (r.w)->completed, 40);
    }
    run_clear (&r);
  }
  /* a draft model: llama-2-7b drafting for llama-2-13b; its weights shrink the cache */
  double e2e_medusa = 0, e2e_draft = 0;
  gint64 blocks_medusa = 0, blocks_draft = 0;
  if (run_ok (&r, NULL, SYNTH, "model=llama-2-13b", "scheduler.name=specdec",
              "workload.generator.num_requests=5", "workload.generator.prompt_tokens=100",
              "workload.generator.output_tokens=50", NULL)) {
    e2e_medusa = jnum (r.summary, "e2e_s", "mean");
    blocks_medusa = serve_world_replica (r.w, 0)->mem.num_blocks;
  }
  run_clear (&r);
  if (run_ok (&r, NULL, SYNTH, "model=llama-2-13b", "speculation.draft=llama-2-7b",
              "scheduler.name=specdec", "workload.generator.num_requests=5",
              "workload.generator.prompt_tokens=100", "workload.generator.output_tokens=50", NULL)) {
    e2e_draft = jnum (r.summary, "e2e_s", "mean");
    blocks_draft = serve_world_replica (r.w, 0)->mem.num_blocks;
    CU_ASSERT_EQUAL (serve_world_metrics (r.w)->completed, 5);
  }
  run_clear (&r);
  CU_ASSERT_TRUE (e2e_draft > e2e_medusa);
  CU_ASSERT_TRUE (blocks_draft > 0 && blocks_draft < blocks_medusa);
  /* SmartSpec at low load speculates, at very high load (big batches of
   * long contexts, low acceptance) it proposes far fewer tokens per output
   * token */
  double low = 0, high = 0;
  if (run_ok (&r, NULL, SYNTH, "scheduler.name=smartspec", "speculation.acceptance=0.5",
              "scheduler.spec_alpha_prior=0.5", "workload.generator.num_requests=20",
              "workload.generator.rate=0.5", NULL)) {
    struct ServeReplica *x = serve_world_replica (r.w, 0);
    low = (double) x->spec_proposed / (double) serve_world_metrics (r.w)->output_tokens;
  }
  run_clear (&r);
  if (run_ok (&r, NULL, SYNTH, "scheduler.name=smartspec", "speculation.acceptance=0.5",
              "scheduler.spec_alpha_prior=0.5", "workload.generator.num_requests=400",
              "workload.generator.rate=1000", "workload.generator.prompt_tokens=2000", NULL)) {
    struct ServeReplica *x = serve_world_replica (r.w, 0);
    high = (double) x->spec_proposed / (double) serve_world_metrics (r.w)->output_tokens;
    CU_ASSERT_EQUAL (serve_world_metrics (r.w)->completed, 400);
  }
  run_clear (&r);
  CU_ASSERT_TRUE (low > 0.5);
  CU_ASSERT_TRUE (high < low / 2);
  fprintf (stderr, " [smartspec drafts per output token: low load %.2f, high load %.2f]", low, high);
}

/* ------------------------------------------------------------------------ */
/* swapping                                                                 */

static void
test_swap (void)
{
  Tight t;
  CU_ASSERT_TRUE_FATAL (tight_init (&t));
  double dur[3] = { 0 }, copied[3] = { 0 };
  static const char *const variants[][2] = {
    { "cache.swap.overlap=false", "cache.swap.reuse_host_copy=false" },
    { "cache.swap.overlap=true", "cache.swap.reuse_host_copy=false" },
    { "cache.swap.overlap=false", "cache.swap.reuse_host_copy=true" },
  };
  for (guint v = 0; v < 3; v++) {
    Run r = { 0 };
    if (run_ok (&r, checked_registry ("vllm"), SYNTH, "scheduler.name=checked", t.mu, t.prompt,
                t.output, "cache.preemption=swap", variants[v][0], variants[v][1],
                "workload.generator.num_requests=60", "workload.generator.rate=1000", NULL)) {
      assert_clean (&r, 60);
      json_t *sw = json_object_get (r.summary, "swap");
      CU_ASSERT_PTR_NOT_NULL_FATAL (sw);
      CU_ASSERT_TRUE (jnum (sw, "swap_outs", NULL) > 0);
      CU_ASSERT_EQUAL (jnum (sw, "swap_outs", NULL), jnum (sw, "swap_ins", NULL));
      CU_ASSERT_TRUE (jnum (sw, "copy_time_s", NULL) > 0);
      /* a swap keeps computed KV: preemptions counted, no recompute */
      CU_ASSERT_EQUAL (jnum (r.summary, "preemptions", NULL), jnum (sw, "swap_outs", NULL));
      dur[v] = jnum (r.summary, "duration_s", NULL);
      copied[v] = jnum (sw, "blocks_copied", NULL);
    }
    run_clear (&r);
  }
  CU_ASSERT_TRUE (dur[1] < dur[0]);        /* overlapped copies hide behind compute */
  fprintf (stderr, " [blocks copied: %.0f, re-using host copies %.0f; duration blocking %.3f s, overlapped %.3f s]",
           copied[0], copied[2], dur[0], dur[1]);
  CU_ASSERT_TRUE (copied[2] < copied[0]); /* host copies re-used */
  /* no host memory: swap falls back to recomputation */
  Run r = { 0 };
  if (run_ok (&r, checked_registry ("vllm"), SYNTH, "scheduler.name=checked", t.mu, t.prompt,
              t.output, "cache.preemption=swap", "cache.swap.host_gib=0",
              "workload.generator.num_requests=60", "workload.generator.rate=1000", NULL)) {
    assert_clean (&r, 60);
    CU_ASSERT_EQUAL (jnum (json_object_get (r.summary, "swap"), "swap_outs", NULL), 0);
    CU_ASSERT_TRUE (jnum (r.summary, "preemptions", NULL) > 0);
  }
  run_clear (&r);
}

/* Swap time is bytes over the host link: one swap-out and one swap-in of a
 * known number of blocks, hand-computed. */
static void
test_swap_time_exact (void)
{
  Run r = { 0 };
  if (!run_ok (&r, NULL, SYNTH, "workload.generator.num_requests=1", NULL))
    goto done;
  struct ServeReplica *rep = serve_world_replica (r.w, 0);
  /* a fresh request on this (finished) replica */
  struct ServeRequest q = { 0 };
  q.replica = 0;
  q.prompt = 100;
  q.output = 10;
  q.computed = 100;
  q.first_token = q.last_token = -1;
  q.live_link.data = &q;
  g_queue_push_tail_link (&rep->live, &q.live_link); /* counted by the conservation check */
  CU_ASSERT_TRUE (policy_kv_reserve (rep, &q, 100));
  CU_ASSERT_EQUAL (q.blocks, 7);
  CU_ASSERT_TRUE (policy_preempt_swap (rep, &q));
  CU_ASSERT_TRUE (q.swapped);
  CU_ASSERT_EQUAL (q.blocks, 0);
  CU_ASSERT_EQUAL (q.computed, 100);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  CU_ASSERT_DOUBLE_EQUAL (rep->swap_bytes_pending, 7 * rep->mem.kv_bytes_per_block, 1e-6);
  CU_ASSERT_EQUAL (rep->swap_ops_pending, 7);
  CU_ASSERT_TRUE (policy_swap_in (rep, &q));
  CU_ASSERT_EQUAL (q.blocks, 7);
  CU_ASSERT_DOUBLE_EQUAL (rep->swap_bytes_pending, 14 * rep->mem.kv_bytes_per_block, 1e-6);
  CU_ASSERT_EQUAL (rep->host_blocks_used, 0);
  /* cannot reserve while swapped (programmer error, reported) */
  guint bad0 = n_bad_logs;
  CU_ASSERT_TRUE (policy_preempt_swap (rep, &q));
  fprintf (stderr, " [one GLib critical expected next]");
  CU_ASSERT_FALSE (policy_kv_reserve (rep, &q, 120));
  CU_ASSERT_EQUAL (n_bad_logs, bad0 + 1);
  policy_swap_in (rep, &q);
  rep->free_blocks += q.blocks;
  q.blocks = 0;
  g_queue_unlink (&rep->live, &q.live_link);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  rep->swap_bytes_pending = 0;
  rep->swap_ops_pending = 0;
done:
  run_clear (&r);
}

/* Host-copy re-use (FastSwitch), hand-computed: 100 tokens = 6 full blocks +
 * 1 partial; after swap-in and growth to 120 tokens (8 blocks), a second
 * swap-out copies only 8 - 6 = 2 blocks; granularity 4 -> ceil(b/4) ops. */
static void
test_swap_reuse_exact (void)
{
  Run r = { 0 };
  if (!run_ok (&r, NULL, SYNTH, "workload.generator.num_requests=1", "cache.preemption=swap",
               "cache.swap.reuse_host_copy=true", "cache.swap.granularity_blocks=4", NULL))
    goto done;
  struct ServeReplica *rep = serve_world_replica (r.w, 0);
  rep->swap_bytes_pending = 0;
  rep->swap_ops_pending = 0;
  double bpb = rep->mem.kv_bytes_per_block;
  struct ServeRequest q = { 0 };
  q.prompt = 100;
  q.output = 40;
  q.computed = 100;
  q.first_token = q.last_token = -1;
  q.live_link.data = &q;
  g_queue_push_tail_link (&rep->live, &q.live_link);
  CU_ASSERT_TRUE (policy_kv_reserve (rep, &q, 100));
  CU_ASSERT_TRUE (policy_preempt_swap (rep, &q));
  CU_ASSERT_DOUBLE_EQUAL (rep->swap_bytes_pending, 7 * bpb, 1e-6);
  CU_ASSERT_EQUAL (rep->swap_ops_pending, 2);
  CU_ASSERT_EQUAL (rep->host_blocks_used, 7);
  CU_ASSERT_TRUE (policy_swap_in (rep, &q));
  CU_ASSERT_EQUAL (rep->host_blocks_used, 7); /* the host copy is kept */
  CU_ASSERT_DOUBLE_EQUAL (rep->swap_bytes_pending, 14 * bpb, 1e-6);
  CU_ASSERT_EQUAL (rep->swap_ops_pending, 4);
  q.computed = 120; /* 20 more tokens decoded */
  q.generated = 20;
  CU_ASSERT_TRUE (policy_kv_reserve (rep, &q, 120));
  CU_ASSERT_EQUAL (q.blocks, 8);
  CU_ASSERT_TRUE (policy_preempt_swap (rep, &q));
  CU_ASSERT_DOUBLE_EQUAL (rep->swap_bytes_pending, 16 * bpb, 1e-6);
  CU_ASSERT_EQUAL (rep->swap_ops_pending, 5);
  CU_ASSERT_EQUAL (rep->host_blocks_used, 8);
  CU_ASSERT_EQUAL (q.host_valid, 7);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  /* recomputation drops the host copy */
  policy_swap_in (rep, &q);
  policy_preempt_recompute (rep, &q);
  CU_ASSERT_EQUAL (rep->host_blocks_used, 0);
  CU_ASSERT_EQUAL (q.computed, 0);
  CU_ASSERT_FALSE (q.swapped);
  g_queue_unlink (&rep->live, &q.live_link);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r.w));
  rep->swap_bytes_pending = 0;
  rep->swap_ops_pending = 0;
done:
  run_clear (&r);
}

/* ------------------------------------------------------------------------ */
/* conversation re-use (cache.swap.reuse_conversation)                      */

/* Write a CSV trace into a fresh directory; *dir to remove (g_free both). */
static char *
conv_trace (char **dir, const char *rows)
{
  *dir = test_tmpdir ();
  char *text = g_strconcat ("arrival_s,prompt_tokens,output_tokens,conversation\n", rows, NULL);
  char *p = test_write_file (*dir, "conv.csv", text);
  g_free (text);
  return p;
}

/* The cost model's time for one prefill of q tokens after ctx cached ones. */
static SimTime
prefill_ns (gint64 q, gint64 ctx)
{
  ModelCatalog *cat = model_catalog_new ();
  g_assert (model_catalog_load_default (cat, NULL));
  ModelCost c;
  model_cost_init (&c, model_catalog_llm (cat, "llama-3.1-8b", NULL),
                   model_catalog_gpu (cat, "h100-sxm", NULL), 1);
  ModelIterCost ic;
  ModelSeqWork wk = { q, ctx };
  model_cost_iteration (&c, &wk, 1, &ic);
  model_catalog_free (cat);
  return model_iter_ns (&ic);
}

/* Host-link time of `blocks` blocks in one batch of copies, computed the way
 * docs/policies.md states it (defaults: efficiency 0.8, 10 us per op,
 * granularity 1). */
static SimTime
copy_ns (const ServeWorld *w, gint64 blocks)
{
  const struct ServeReplica *rep = serve_world_replica (w, 0);
  double bytes = (double) blocks * rep->mem.kv_bytes_per_block;
  double s = bytes / (serve__world_gpu (w)->pcie_bw * 0.8) + (double) blocks * 1e-5;
  return SIM_TIME_FROM_S (s);
}

/* End-of-run checks for runs that keep conversations on the host (where
 * assert_clean would demand empty host memory). */
static void
assert_clean_conv (Run *r, guint64 n)
{
  ServeMetrics *m = serve_world_metrics (r->w);
  CU_ASSERT_EQUAL (serve_world_arrived (r->w), n);
  CU_ASSERT_EQUAL (m->completed, n);
  CU_ASSERT_EQUAL (m->rejected, 0);
  CU_ASSERT_EQUAL (chk.kv_violations, 0);
  CU_ASSERT_TRUE (serve_world_kv_conserved (r->w));
  CU_ASSERT_TRUE (host_conserved (r->w));
  for (guint i = 0; i < serve_world_n_replicas (r->w); i++) {
    struct ServeReplica *rep = serve_world_replica (r->w, i);
    CU_ASSERT_EQUAL (rep->free_blocks, rep->mem.num_blocks);
    CU_ASSERT_EQUAL (rep->load, 0);
    CU_ASSERT_TRUE ((double) rep->host_blocks_used
                    <= r->sc->swap_host_gib * 1073741824.0 / rep->mem.kv_bytes_per_block);
  }
}

/* Two turns of one conversation on one replica, hand-computed, under every
 * scheduler. Turn 1 (1000 + 50 tokens) leaves 1049 tokens of KV (the last
 * token's is never computed) = 66 blocks on the host. Turn 2 (1200-token
 * prompt) arrives after the copy is long done: it swaps in 66 blocks and
 * prefills 151 tokens after 1049 cached ones, so its TTFT is exactly
 * copy(66 blocks) + prefill(151 | 1049). Off, it prefills all 1200. With
 * reuse_host_copy, turn 2's save copies only 79 - 65 blocks (65 full blocks
 * are still valid on the host). */
static void
test_conv_two_turns (void)
{
  char *dir;
  char *path = conv_trace (&dir, "0,1000,50,7\n10,1200,50,7\n");
  char *tr = g_strdup_printf ("workload.trace=%s", path);
  const SimTime t1 = prefill_ns (1000, 0), t2_off = prefill_ns (1200, 0),
                t2_on_compute = prefill_ns (151, 1049);
  for (const char *const *n = ALL; *n; n++) {
    /* chunked prefills (token budget < 1000) split the full prompts; the
     * 151 new tokens of turn 2 fit one chunk */
    gboolean chunked = strcmp (*n, "sarathi") == 0 || strcmp (*n, "fastgen") == 0;
    SimTime off_ttft2 = 0;
    for (int on = 0; on < 2; on++)
      for (int keep = 0; keep < (on ? 2 : 1); keep++) {
        Run r = { 0 };
        guint bad0 = n_bad_logs;
        char *sched = g_strdup_printf ("scheduler.name=%s", *n);
        if (run_ok (&r, checked_registry (*n), sched, "scheduler.name=checked", tr,
                    "cluster.replicas=1",
                    on ? "cache.swap.reuse_conversation=true" : "cache.swap.reuse_conversation=false",
                    keep ? "cache.swap.reuse_host_copy=true" : "cache.swap.reuse_host_copy=false",
                    NULL)) {
          assert_clean_conv (&r, 2);
          if (!chunked)
            CU_ASSERT_EQUAL (chk.ttft_id[0], t1);
          json_t *sw = json_object_get (r.summary, "swap");
          if (!on) {
            off_ttft2 = chk.ttft_id[1];
            if (!chunked)
              CU_ASSERT_EQUAL (chk.ttft_id[1], t2_off);
            CU_ASSERT_PTR_NULL (sw); /* recompute preemption, no re-use: no swap object */
            CU_ASSERT_EQUAL (serve_world_replica (r.w, 0)->host_blocks_used, 0);
          } else {
            SimTime want = copy_ns (r.w, 66) + t2_on_compute;
            CU_ASSERT_EQUAL (chk.ttft_id[1], want);
            if (chk.ttft_id[1] != want)
              fprintf (stderr, "\n    (%s: TTFT %" G_GINT64_FORMAT " ns, want %" G_GINT64_FORMAT ")\n",
                       *n, chk.ttft_id[1], want);
            CU_ASSERT_TRUE (chk.ttft_id[1] < t2_off && chk.ttft_id[1] < off_ttft2);
            CU_ASSERT_PTR_NOT_NULL_FATAL (sw);
            double bpb = serve_world_replica (r.w, 0)->mem.kv_bytes_per_block;
            CU_ASSERT_EQUAL (jnum (sw, "conversation_hits", NULL), 1);
            CU_ASSERT_EQUAL (jnum (sw, "conversation_tokens_reused", NULL), 1049);
            CU_ASSERT_EQUAL (jnum (sw, "conversation_saves", NULL), 2);
            CU_ASSERT_DOUBLE_EQUAL (jnum (sw, "conversation_bytes_in_per_gpu", NULL), 66 * bpb, 1e-3);
            gint64 out2 = keep ? 79 - 65 : 79; /* turn 2 keeps 1249 tokens = 79 blocks */
            CU_ASSERT_DOUBLE_EQUAL (jnum (sw, "conversation_bytes_out_per_gpu", NULL),
                                    (66 + out2) * bpb, 1e-3);
            CU_ASSERT_DOUBLE_EQUAL (jnum (sw, "conversation_bytes_copied_per_gpu", NULL),
                                    (66 + 66 + out2) * bpb, 1e-3);
            CU_ASSERT_EQUAL (jnum (sw, "blocks_copied", NULL), 66 + 66 + out2);
            CU_ASSERT_EQUAL (jnum (sw, "swap_ins", NULL), 0); /* preemption swaps only */
            /* the last turn stays on the host: 79 blocks */
            CU_ASSERT_EQUAL (serve_world_replica (r.w, 0)->host_blocks_used, 79);
            CU_ASSERT_EQUAL (jnum (r.summary, "preemptions", NULL), 0);
          }
        }
        if (n_bad_logs != bad0)
          fprintf (stderr, "\n    (policy %s)\n", *n);
        CU_ASSERT_EQUAL (n_bad_logs, bad0);
        run_clear (&r);
        g_free (sched);
      }
  }
  g_free (tr);
  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
}

/* A finished turn's save copy runs on the host link while the replica
 * idles; a turn arriving 1 ms after it started waits for the rest of it:
 * TTFT = (save copy - 1 ms) + restore copy + prefill, exactly. */
static void
test_conv_copy_while_idle (void)
{
  char *dir;
  char *path = conv_trace (&dir, "0,1000,50,7\n");
  char *tr = g_strdup_printf ("workload.trace=%s", path);
  Run r = { 0 };
  SimTime t1_end = 0;
  if (run_ok (&r, checked_registry ("vllm"), tr, "scheduler.name=checked", "cluster.replicas=1",
              "cache.swap.reuse_conversation=true", NULL))
    t1_end = chk.done_id[0];
  run_clear (&r);
  g_free (tr);
  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
  CU_ASSERT_TRUE_FATAL (t1_end > 0);
  char *rows = g_strdup_printf ("0,1000,50,7\n%.6f,1200,50,7\n", SIM_TIME_TO_S (t1_end) + 0.001);
  path = conv_trace (&dir, rows);
  tr = g_strdup_printf ("workload.trace=%s", path);
  if (run_ok (&r, checked_registry ("vllm"), tr, "scheduler.name=checked", "cluster.replicas=1",
              "cache.swap.reuse_conversation=true", NULL)) {
    assert_clean_conv (&r, 2);
    CU_ASSERT_EQUAL (chk.done_id[0], t1_end);
    SimTime left = t1_end + copy_ns (r.w, 66) - chk.arrival_id[1];
    CU_ASSERT_TRUE (left > 0 && left < copy_ns (r.w, 66));
    CU_ASSERT_EQUAL (chk.ttft_id[1], left + copy_ns (r.w, 66) + prefill_ns (151, 1049));
    /* the link time of both copies and the later save is counted in full */
    json_t *sw = json_object_get (r.summary, "swap");
    CU_ASSERT_EQUAL (SIM_TIME_FROM_S (jnum (sw, "copy_time_s", NULL)),
                     2 * copy_ns (r.w, 66) + copy_ns (r.w, 79));
  }
  run_clear (&r);
  g_free (rows);
  g_free (tr);
  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
}

/* Host memory is per replica: round-robin sends turn 2 to the other replica
 * (no re-use, TTFT of a full prefill) and turn 3 back to the first, where
 * turn 1's KV still is (a hit of 1049 tokens). A prompt no longer than the
 * stored context re-uses all but its last token. */
static void
test_conv_replicas (void)
{
  char *dir;
  char *path = conv_trace (&dir, "0,1000,50,1\n10,1200,50,1\n20,1400,50,1\n30,500,10,1\n");
  char *tr = g_strdup_printf ("workload.trace=%s", path);
  Run r = { 0 };
  if (run_ok (&r, checked_registry ("vllm"), tr, "scheduler.name=checked", "cluster.replicas=2",
              "cache.swap.reuse_conversation=true", NULL)) {
    assert_clean_conv (&r, 4);
    json_t *sw = json_object_get (r.summary, "swap");
    /* turn 2 on replica 1: nothing there; turn 3 on replica 0: turn 1's
     * 1049 tokens; turn 4 on replica 1: turn 2's 1249 tokens, prompt 500 ->
     * 499 re-used */
    CU_ASSERT_EQUAL (jnum (sw, "conversation_hits", NULL), 2);
    CU_ASSERT_EQUAL (jnum (sw, "conversation_tokens_reused", NULL), 1049 + 499);
    CU_ASSERT_EQUAL (chk.ttft_id[1], prefill_ns (1200, 0));
    CU_ASSERT_EQUAL (chk.ttft_id[2], copy_ns (r.w, 66) + prefill_ns (351, 1049));
    CU_ASSERT_EQUAL (chk.ttft_id[3], copy_ns (r.w, 32) + prefill_ns (1, 499));
  }
  run_clear (&r);
  /* the conversation router keeps every turn on turn 1's replica: turns 2,
   * 3, 4 re-use 1049, 1249 and 499 tokens; the request without a
   * conversation id (conversation column empty is an error, so a second
   * conversation stands in for "others") goes round-robin */
  if (run_ok (&r, checked_registry ("vllm"), tr, "scheduler.name=checked", "cluster.replicas=2",
              "router.name=conversation", "cache.swap.reuse_conversation=true", NULL)) {
    assert_clean_conv (&r, 4);
    json_t *sw = json_object_get (r.summary, "swap");
    CU_ASSERT_EQUAL (jnum (sw, "conversation_hits", NULL), 3);
    CU_ASSERT_EQUAL (jnum (sw, "conversation_tokens_reused", NULL), 1049 + 1249 + 499);
    CU_ASSERT_EQUAL (chk.ttft_id[2], copy_ns (r.w, 79) + prefill_ns (151, 1249));
    CU_ASSERT_EQUAL (serve_world_replica (r.w, 1)->iterations, 0);
  }
  run_clear (&r);
  g_free (tr);
  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
}

/* The conversation router: turns follow their conversation's first
 * replica, new conversations and requests without an id go round-robin. */
static void
test_conv_router (void)
{
  /* conversations 5, 6, 7 start on replicas 0, 1, 2; later turns go home;
   * conversation 8, new, continues the round-robin */
  char *dir = test_tmpdir ();
  char *path = test_write_file (dir, "conv.csv",
                          "arrival_s,prompt_tokens,output_tokens,conversation\n"
                          "0,100,5,5\n1,100,5,6\n2,100,5,7\n3,200,5,6\n4,200,5,5\n"
                          "5,100,5,8\n6,300,5,7\n7,300,5,6\n");
  char *tr = g_strdup_printf ("workload.trace=%s", path);
  Run r = { 0 };
  if (run_ok (&r, checked_registry ("vllm"), tr, "scheduler.name=checked", "cluster.replicas=3",
              "router.name=conversation", NULL)) {
    assert_clean (&r, 8);
    /* replica 0: conv 5 (2 turns) + conv 8 (4th new conversation);
     * replica 1: conv 6 (3 turns); replica 2: conv 7 (2 turns) */
    guint64 want[3] = { 3, 3, 2 }, got[3] = { 0 };
    for (guint i = 0; i < 3; i++)
      got[i] = serve_world_replica (r.w, i)->iterations; /* 5 iterations per request here */
    for (guint i = 0; i < 3; i++)
      CU_ASSERT_EQUAL (got[i], 5 * want[i]);
  }
  run_clear (&r);
  g_free (tr);
  g_free (path);
  /* a trace without the column: plain round-robin */
  path = test_write_file (dir, "plain.csv", "arrival_s,prompt_tokens,output_tokens\n"
                                            "0,100,5\n1,100,5\n2,100,5\n3,100,5\n");
  tr = g_strdup_printf ("workload.trace=%s", path);
  if (run_ok (&r, NULL, tr, "cluster.replicas=3", "router.name=conversation", NULL)) {
    CU_ASSERT_EQUAL (serve_world_metrics (r.w)->completed, 4);
    CU_ASSERT_EQUAL (serve_world_replica (r.w, 0)->iterations, 10);
    CU_ASSERT_EQUAL (serve_world_replica (r.w, 1)->iterations, 5);
    CU_ASSERT_EQUAL (serve_world_replica (r.w, 2)->iterations, 5);
  }
  run_clear (&r);
  PolicyRegistry *reg = policy_registry_new ();
  const PolicyRouterOps *ops = policy_registry_router (reg, "conversation", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ops);
  CU_ASSERT_TRUE (strlen (ops->description) > 10);
  policy_registry_free (reg);
  g_free (tr);
  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
}

/* A scheduler unaware of swapped arrivals (one request at a time, reserving
 * computed + pending without swapping in): a turn arriving with host KV is
 * refused its reservation and never runs; the run fails saying why. */
typedef struct {
  GQueue         q;
  PolicyRequest *cur;
} Naive;

static void
naive_arrival (void *state, PolicyReplica *rep, PolicyRequest *r)
{
  g_queue_push_tail (&((Naive *) state)->q, r);
}

static void
naive_schedule (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  Naive *s = state;
  PolicyRequest *r = g_queue_peek_head (&s->q);
  if (!r || !policy_kv_reserve (rep, r, policy_req_computed (r) + policy_req_pending (r)))
    return;
  s->cur = r;
  policy_batch_add (batch, r, policy_req_pending (r));
}

static void
naive_after (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  Naive *s = state;
  if (s->cur && policy_req_finished (s->cur)) {
    g_queue_pop_head (&s->q);
    s->cur = NULL;
  }
}

static void
naive_clear (void *state)
{
  g_queue_clear (&((Naive *) state)->q);
}

static const PolicySchedulerOps naive_ops = {
  .name = "naive", .description = "test: one request at a time, ignores swapped arrivals",
  .state_size = sizeof (Naive), .clear = naive_clear, .on_arrival = naive_arrival,
  .schedule = naive_schedule, .after_iteration = naive_after,
};

static void
test_conv_unaware_scheduler (void)
{
  char *dir;
  char *path = conv_trace (&dir, "0,1000,50,7\n10,1200,50,7\n");
  char *tr = g_strdup_printf ("workload.trace=%s", path);
  for (int on = 0; on < 2; on++) {
    Run r = { 0 };
    PolicyRegistry *reg = policy_registry_new ();
    CU_ASSERT_TRUE (policy_registry_add_scheduler (reg, &naive_ops));
    GError *e = NULL;
    char *sets[] = { "output.dir=null", "scheduler.name=naive", tr, "cluster.replicas=1",
                     on ? "cache.swap.reuse_conversation=true" : "cache.swap.reuse_conversation=false",
                     NULL };
    r.reg = reg;
    r.sc = serve_scenario_load (NULL, sets, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL (r.sc);
    r.w = serve_world_new (r.sc, r.reg, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL (r.w);
    guint bad0 = n_bad_logs;
    if (on)
      fprintf (stderr, " [one GLib critical expected next]");
    gboolean ok = serve_world_run (r.w, &e);
    if (!on) {
      /* without the key the naive scheduler is fine */
      CU_ASSERT_TRUE (ok);
      CU_ASSERT_EQUAL (n_bad_logs, bad0);
    } else {
      CU_ASSERT_FALSE (ok);
      CU_ASSERT_EQUAL (n_bad_logs, bad0 + 1);
      CU_ASSERT_TRUE (e && contains (e->message, "1 request(s) never completed"));
      CU_ASSERT_TRUE (e && contains (e->message, "policy_swap_in"));
      CU_ASSERT_TRUE (e && contains (e->message, "cache.swap.reuse_conversation"));
    }
    g_clear_error (&e);
    run_clear (&r);
  }
  g_free (tr);
  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
}

/* host_gib caps what is kept: least recently stored conversations are
 * evicted; a turn that cannot fit even in empty host memory is not kept. */
static void
test_conv_host_cap (void)
{
  char *dir;
  /* A1, B1 (B's save evicts A), B2 (hit), A2 (miss; its save evicts B2's) */
  char *path = conv_trace (&dir, "0,1000,50,1\n1,1000,50,2\n10,1200,50,2\n20,1200,50,1\n");
  char *tr = g_strdup_printf ("workload.trace=%s", path);
  Run r = { 0 };
  double bpb = 0;
  if (run_ok (&r, NULL, tr, "cluster.replicas=1", "output.dir=null", NULL))
    bpb = serve_world_replica (r.w, 0)->mem.kv_bytes_per_block;
  run_clear (&r);
  CU_ASSERT_TRUE_FATAL (bpb > 0);
  for (int tiny = 0; tiny < 2; tiny++) {
    /* 100 blocks: one conversation fits (66 or 79 blocks), two do not;
     * 50 blocks: none does */
    char *cap = g_strdup_printf ("cache.swap.host_gib=%.17g", (tiny ? 50 : 100) * bpb / 1073741824.0);
    if (run_ok (&r, checked_registry ("vllm"), tr, "scheduler.name=checked", "cluster.replicas=1",
                "cache.swap.reuse_conversation=true", cap, NULL)) {
      assert_clean_conv (&r, 4);
      json_t *sw = json_object_get (r.summary, "swap");
      CU_ASSERT_EQUAL (jnum (sw, "conversation_hits", NULL), tiny ? 0 : 1);
      CU_ASSERT_EQUAL (jnum (sw, "conversation_evictions", NULL), tiny ? 0 : 2);
      CU_ASSERT_EQUAL (jnum (sw, "conversation_saves", NULL), tiny ? 0 : 4);
      CU_ASSERT_EQUAL (jnum (sw, "conversation_skipped", NULL), tiny ? 4 : 0);
      CU_ASSERT_EQUAL (serve_world_replica (r.w, 0)->host_blocks_used, tiny ? 0 : 79);
      if (!tiny)
        CU_ASSERT_EQUAL (chk.ttft_id[2], copy_ns (r.w, 66) + prefill_ns (151, 1049));
      CU_ASSERT_EQUAL (chk.ttft_id[3], prefill_ns (1200, 0));
    }
    run_clear (&r);
    g_free (cap);
  }
  g_free (tr);
  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
}

/* A synthetic multi-turn workload: `convs` conversations of `turns` turns,
 * each turn's prompt the previous context plus 150-298 new tokens. */
typedef struct {
  double t;
  gint64 p, o;
  int    c;
} ConvRow;

static gint
conv_row_cmp (gconstpointer a, gconstpointer b)
{
  const ConvRow *x = a, *y = b;
  if (x->t != y->t)
    return x->t < y->t ? -1 : 1;
  return x->c - y->c;
}

static char *
conv_workload (char **dir, int convs, int turns, double gap_s)
{
  GArray *rows = g_array_new (FALSE, FALSE, sizeof (ConvRow));
  for (int c = 0; c < convs; c++) {
    gint64 ctx = 0;
    for (int k = 0; k < turns; k++) {
      ConvRow row = { 0.013 * c + gap_s * k, ctx + 150 + 37 * ((c + k) % 5),
                      40 + 13 * ((3 * c + k) % 7), c };
      g_array_append_val (rows, row);
      ctx = row.p + row.o;
    }
  }
  g_array_sort (rows, conv_row_cmp);
  GString *g = g_string_new (NULL);
  for (guint i = 0; i < rows->len; i++) {
    ConvRow *x = &g_array_index (rows, ConvRow, i);
    g_string_append_printf (g, "%.3f,%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%d\n", x->t, x->p,
                            x->o, x->c);
  }
  g_array_free (rows, TRUE);
  char *p = conv_trace (dir, g->str);
  g_string_free (g, TRUE);
  return p;
}

/* Under memory pressure (preemption by swap and by recomputation, a host
 * cap that forces evictions), every scheduler completes every turn, conserves
 * GPU and host blocks at every step, and re-uses conversations; the same
 * seed gives byte-identical summaries. */
static void
test_conv_pressure (void)
{
  Tight t;
  CU_ASSERT_TRUE_FATAL (tight_init (&t));
  char *dir;
  char *path = conv_workload (&dir, 12, 4, 0.4);
  char *tr = g_strdup_printf ("workload.trace=%s", path);
  static const char *const modes[] = { "cache.preemption=swap", "cache.preemption=recompute" };
  guint64 hits_total = 0, evictions_total = 0, swaps_total = 0;
  for (guint m = 0; m < G_N_ELEMENTS (modes); m++)
    for (const char *const *n = ALL; *n; n++) {
      Run r = { 0 };
      guint bad0 = n_bad_logs;
      char *sched = g_strdup_printf ("scheduler.name=%s", *n);
      if (run_ok (&r, checked_registry (*n), sched, "scheduler.name=checked", tr,
                  "cluster.replicas=1", t.mu, modes[m], "cache.swap.reuse_conversation=true",
                  "cache.swap.host_gib=0.5", NULL)) {
        assert_clean_conv (&r, 48);
        json_t *sw = json_object_get (r.summary, "swap");
        hits_total += (guint64) jnum (sw, "conversation_hits", NULL);
        evictions_total += (guint64) jnum (sw, "conversation_evictions", NULL);
        swaps_total += (guint64) jnum (sw, "swap_outs", NULL);
        CU_ASSERT_TRUE (jnum (sw, "conversation_hits", NULL) > 0);
      }
      if (n_bad_logs != bad0 || chk.kv_violations)
        fprintf (stderr, "\n    (policy %s, %s)\n", *n, modes[m]);
      CU_ASSERT_EQUAL (n_bad_logs, bad0);
      run_clear (&r);
      g_free (sched);
    }
  fprintf (stderr, " [hits %" G_GUINT64_FORMAT ", evictions %" G_GUINT64_FORMAT ", swap-outs %"
           G_GUINT64_FORMAT "]", hits_total, evictions_total, swaps_total);
  CU_ASSERT_TRUE (evictions_total > 0);
  CU_ASSERT_TRUE (swaps_total > 0);
  /* determinism */
  char *dump[2] = { NULL };
  for (int i = 0; i < 2; i++) {
    Run r = { 0 };
    if (run_ok (&r, NULL, tr, "cluster.replicas=1", t.mu, "scheduler.name=sarathi",
                "cache.preemption=swap", "cache.swap.reuse_conversation=true",
                "cache.swap.reuse_host_copy=true", "cache.swap.host_gib=0.5", NULL)) {
      json_object_del (r.summary, "scenario_file");
      dump[i] = json_dumps (r.summary, JSON_SORT_KEYS | JSON_REAL_PRECISION (17));
    }
    run_clear (&r);
  }
  CU_ASSERT_TRUE_FATAL (dump[0] && dump[1]);
  CU_ASSERT_STRING_EQUAL (dump[0], dump[1]);
  CU_ASSERT_PTR_NOT_NULL (strstr (dump[0], "conversation_hits"));
  free (dump[0]);
  free (dump[1]);
  g_free (tr);
  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
}

/* ------------------------------------------------------------------------ */
/* priority, fairness, deadlines                                            */

static void
test_priority_preemptive (void)
{
  Tight t;
  CU_ASSERT_TRUE_FATAL (tight_init (&t));
  double hi[2] = { 0 };
  guint64 pre[2] = { 0 };
  for (int p = 0; p < 2; p++) {
    Run r = { 0 };
    char *pp = g_strdup_printf ("scheduler.preemptive=%d", p);
    if (run_ok (&r, checked_registry ("priority"), SYNTH, "scheduler.name=checked", pp, t.mu,
                t.prompt, t.output, "workload.priority_fraction=0.2",
                "workload.generator.num_requests=80", "workload.generator.rate=40", NULL)) {
      assert_clean (&r, 80);
      json_t *pr = json_object_get (r.summary, "priority");
      CU_ASSERT_PTR_NOT_NULL_FATAL (pr);
      double nh = jnum (json_object_get (pr, "high"), "ttft_s", "count");
      double nn = jnum (json_object_get (pr, "normal"), "ttft_s", "count");
      CU_ASSERT_EQUAL (nh + nn, 80);
      CU_ASSERT_TRUE (nh >= 5 && nh <= 30);
      hi[p] = jnum (json_object_get (json_object_get (pr, "high"), "ttft_s"), "p99", NULL);
      double lo = jnum (json_object_get (json_object_get (pr, "normal"), "ttft_s"), "mean", NULL);
      CU_ASSERT_TRUE (jnum (json_object_get (json_object_get (pr, "high"), "ttft_s"), "mean", NULL) < lo);
      pre[p] = chk.prio_preempts;
    }
    run_clear (&r);
    g_free (pp);
  }
  fprintf (stderr, " [high P99 TTFT %.3f -> %.3f s, priority preemptions %" G_GUINT64_FORMAT
           " -> %" G_GUINT64_FORMAT "]", hi[0], hi[1], pre[0], pre[1]);
  CU_ASSERT_EQUAL (pre[0], 0);
  CU_ASSERT_TRUE (pre[1] > 0);
  CU_ASSERT_TRUE (hi[1] < 0.95 * hi[0]);
}

/* The prompt-length rule: prompts up to N tokens are the high class, and
 * priority scheduling serves them first. */
static void
test_priority_rule (void)
{
  Run r = { 0 };
  PolicyRegistry *reg = checked_registry ("priority");
  chk.class_max_prompt = 500;
  if (run_ok (&r, reg, SYNTH, "scheduler.name=checked", "workload.priority_max_prompt=500",
              "workload.generator.lengths=uniform", "workload.generator.prompt_min=100",
              "workload.generator.prompt_max=2000", "workload.generator.num_requests=200",
              "workload.generator.rate=60", NULL)) {
    assert_clean (&r, 200);
    CU_ASSERT_EQUAL (chk.class_mismatch, 0);
    CU_ASSERT_TRUE (chk.n_high > 20 && chk.n_high < 100);
    json_t *pr = json_object_get (r.summary, "priority");
    CU_ASSERT_PTR_NOT_NULL_FATAL (pr);
    CU_ASSERT_EQUAL (jnum (json_object_get (pr, "high"), "ttft_s", "count"), chk.n_high);
    CU_ASSERT_TRUE (jnum (json_object_get (pr, "high"), "ttft_s", "mean")
                    < jnum (json_object_get (pr, "normal"), "ttft_s", "mean"));
  }
  run_clear (&r);
}

/* VTC: a light client sharing with a heavy one waits less than under FCFS. */
static void
test_vtc_fairness (void)
{
  double light[2] = { 0 };
  static const char *const names[] = { "vllm", "vtc" };
  for (int i = 0; i < 2; i++) {
    Run r = { 0 };
    if (run_ok (&r, checked_registry (names[i]), SYNTH, "scheduler.name=checked",
                "workload.clients=2", "workload.client_skew=3", "workload.generator.num_requests=300",
                "workload.generator.rate=60", "workload.generator.prompt_tokens=2000",
                "workload.generator.output_tokens=200", "scheduler.max_batch_size=16", NULL)) {
      assert_clean (&r, 300);
      CU_ASSERT_TRUE (chk.ttft_n[0] > 4 * chk.ttft_n[1]);
      CU_ASSERT_TRUE (chk.ttft_n[1] > 5);
      light[i] = chk.ttft_sum[1] / MAX (chk.ttft_n[1], 1);
    }
    run_clear (&r);
  }
  fprintf (stderr, " [light client mean TTFT: fcfs %.2f s, vtc %.2f s]", light[0], light[1]);
  CU_ASSERT_TRUE (light[1] < light[0] / 2);
}

static void
test_edf (void)
{
  Tight t;
  CU_ASSERT_TRUE_FATAL (tight_init (&t));
  static const char *const chunk[] = { "scheduler.chunked=0", "scheduler.chunked=1" };
  for (int c = 0; c < 2; c++) {
    Run r = { 0 };
    if (run_ok (&r, checked_registry ("edf"), SYNTH, "scheduler.name=checked", chunk[c], t.mu,
                t.prompt, t.output, "workload.generator.num_requests=60",
                "workload.generator.rate=1000", NULL))
      assert_clean (&r, 60);
    if (c == 1)
      CU_ASSERT_EQUAL (chk.stalls, 0);
    run_clear (&r);
  }
  /* a tighter TTFT target for the high class puts it first: its mean TTFT
   * drops below the others'; with equal targets EDF is near FCFS */
  double hi[2] = { 0 }, lo[2] = { 0 };
  static const char *const tight[] = { "scheduler.ttft_high=0", "scheduler.ttft_high=0.01" };
  for (int c = 0; c < 2; c++) {
    Run r = { 0 };
    if (run_ok (&r, checked_registry ("edf"), SYNTH, "scheduler.name=checked", tight[c],
                "scheduler.ttft=10", "workload.priority_fraction=0.3",
                "workload.generator.num_requests=150", "workload.generator.rate=150", NULL)) {
      assert_clean (&r, 150);
      json_t *pr = json_object_get (r.summary, "priority");
      hi[c] = jnum (json_object_get (json_object_get (pr, "high"), "ttft_s"), "mean", NULL);
      lo[c] = jnum (json_object_get (json_object_get (pr, "normal"), "ttft_s"), "mean", NULL);
    }
    run_clear (&r);
  }
  fprintf (stderr, " [high/normal mean TTFT: equal targets %.2f/%.2f s, tight high %.2f/%.2f s]",
           hi[0], lo[0], hi[1], lo[1]);
  CU_ASSERT_TRUE (hi[1] < 0.5 * lo[1]);
  CU_ASSERT_TRUE (hi[1] < 0.5 * hi[0]);
  CU_ASSERT_TRUE (hi[0] > 0.5 * lo[0]);
}

/* VTC's counter lift, on the core directly: a client that was idle joins at
 * the least counter among backlogged clients (no credit for idling); one
 * already backlogged keeps its counter. */
static void
test_vtc_counter_lift (void)
{
  struct ServeReplica rep = { 0 };
  rep.mem.num_blocks = 100;
  rep.mem.block_size = 16;
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  c.order = POLICY_CB_VTC;
  PolicyCb cb = { 0 };
  CU_ASSERT_TRUE_FATAL (policy__cb_init (&cb, &rep, &c, NULL));
  struct ServeRequest a = { 0 }, b = { 0 }, d = { 0 }, e = { 0 };
  a.client = 0; a.id = 0; a.arrival = 1;
  b.client = 1; b.id = 1; b.arrival = 2;
  d.client = 2; d.id = 2; d.arrival = 3;
  e.client = 2; e.id = 3; e.arrival = 4;
  policy__cb_on_arrival (&cb, &rep, &a);            /* client 0 backlogged */
  g_array_index (cb.vtc, double, 0) = 50;           /* it has been served */
  policy__cb_on_arrival (&cb, &rep, &b);            /* client 1, idle: lifted to 50 */
  CU_ASSERT_DOUBLE_EQUAL (g_array_index (cb.vtc, double, 1), 50, 0);
  g_array_index (cb.vtc, double, 1) = 80;
  g_array_set_size (cb.vtc, 3);
  g_array_index (cb.vtc, double, 2) = 10;
  policy__cb_on_arrival (&cb, &rep, &d);            /* client 2: lifted to min(50, 80) */
  CU_ASSERT_DOUBLE_EQUAL (g_array_index (cb.vtc, double, 2), 50, 0);
  g_array_index (cb.vtc, double, 2) = 20;
  policy__cb_on_arrival (&cb, &rep, &e);            /* client 2 backlogged: unchanged */
  CU_ASSERT_DOUBLE_EQUAL (g_array_index (cb.vtc, double, 2), 20, 0);
  /* a counter above the others' is not lowered */
  g_array_index (cb.vtc, double, 0) = 500;
  g_ptr_array_remove (cb.waiting, &a);
  policy__cb_on_arrival (&cb, &rep, &a);
  CU_ASSERT_DOUBLE_EQUAL (g_array_index (cb.vtc, double, 0), 500, 0);
  CU_ASSERT_EQUAL (policy__cb_queued (&cb), 4);
  policy__cb_clear (&cb);
}

/* Runs with request classes, swapping and random acceptance are
 * byte-identical for one seed and differ for another. */
static void
test_determinism (void)
{
  char *dump[3] = { NULL };
  static const char *const seeds[] = { "seed=5", "seed=5", "seed=6" };
  for (int i = 0; i < 3; i++) {
    Tight t;
    CU_ASSERT_TRUE_FATAL (tight_init (&t));
    Run r = { 0 };
    if (run_ok (&r, NULL, SYNTH, seeds[i], "scheduler.name=smartspec", t.mu,
                "cache.preemption=swap", "workload.priority_fraction=0.3", "workload.clients=3",
                "speculation.acceptance_spread=0.3", "workload.generator.lengths=uniform",
                "workload.generator.num_requests=60", "workload.generator.rate=50", NULL)) {
      json_object_del (r.summary, "scenario_file");
      dump[i] = json_dumps (r.summary, JSON_SORT_KEYS | JSON_REAL_PRECISION (17));
    }
    run_clear (&r);
  }
  CU_ASSERT_TRUE_FATAL (dump[0] && dump[1] && dump[2]);
  CU_ASSERT_STRING_EQUAL (dump[0], dump[1]);
  CU_ASSERT_TRUE (strcmp (dump[0], dump[2]) != 0);
  CU_ASSERT_PTR_NOT_NULL (strstr (dump[0], "\"speculation\""));
  CU_ASSERT_PTR_NOT_NULL (strstr (dump[0], "\"swap\""));
  CU_ASSERT_PTR_NOT_NULL (strstr (dump[0], "\"priority\""));
  for (int i = 0; i < 3; i++)
    free (dump[i]);
}

/* ------------------------------------------------------------------------ */
/* bad input                                                                */

static void
test_bad_params (void)
{
  char *m;
  m = run_err ("scheduler.name=sarathi", "scheduler.token_budget=0", NULL);
  CU_ASSERT_TRUE (contains (m, "scheduler.token_budget"));
  g_free (m);
  m = run_err ("scheduler.name=vtc", "scheduler.w_in=0", "scheduler.w_out=0", NULL);
  CU_ASSERT_TRUE (contains (m, "at least one must be positive"));
  g_free (m);
  m = run_err ("scheduler.name=specdec", "scheduler.spec_k=17", NULL);
  CU_ASSERT_TRUE (contains (m, "spec_k"));
  g_free (m);
  m = run_err ("scheduler.name=orca", "scheduler.token_budget=5", NULL);
  CU_ASSERT_TRUE (contains (m, "unknown parameter"));
  g_free (m);
  m = run_err ("speculation.draft=no-such-model", NULL);
  CU_ASSERT_TRUE (contains (m, "speculation.draft"));
  CU_ASSERT_TRUE (contains (m, "medusa"));
  g_free (m);
  m = run_err ("model=llama-3.1-8b", "speculation.draft=llama-3.1-70b", NULL);
  CU_ASSERT_TRUE (contains (m, "leaves no room"));
  g_free (m);
  m = run_err ("cache.swap.reuse_conversation=1", NULL);
  CU_ASSERT_TRUE (contains (m, "cache.swap.reuse_conversation"));
  g_free (m);
  m = run_err ("cache.preemption=swapping", NULL);
  CU_ASSERT_TRUE (contains (m, "recompute|swap"));
  g_free (m);
  m = run_err ("speculation.acceptance=1.5", NULL);
  CU_ASSERT_TRUE (contains (m, "speculation.acceptance"));
  g_free (m);
  m = run_err ("workload.clients=0", NULL);
  CU_ASSERT_TRUE (contains (m, "workload.clients"));
  g_free (m);
  m = run_err ("workload.priority_fraction=-0.1", NULL);
  CU_ASSERT_TRUE (contains (m, "workload.priority_fraction"));
  g_free (m);
  m = run_err ("cache.swap.granularity=4", NULL);
  CU_ASSERT_TRUE (contains (m, "granularity_blocks"));
  g_free (m);
}

int
main (void)
{
  g_log_set_default_handler (count_logs, NULL);
  static const TestCase cases[] = {
    { "every policy by name on the default scenario", test_all_by_name_default },
    { "every policy under memory pressure: KV conserved, all complete", test_all_under_pressure },
    { "every policy: output outgrowing the cache is rejected", test_all_outgrow_rejected },
    { "static batching: no request joins a running batch", test_static_no_join },
    { "orca: maximum-length reservation, never preempts", test_orca_max_reservation },
    { "sarathi: no decode waits more than one iteration", test_sarathi_stall_free },
    { "speculation, acceptance 1.0: hand-computed", test_spec_accept_all },
    { "speculation, acceptance 0.0: hand-computed", test_spec_accept_none },
    { "speculation: seeded, draft model, smartspec backs off", test_spec_random_and_adaptive },
    { "swap: blocking, overlapped, host-copy re-use, fallback", test_swap },
    { "swap: bytes and operations per block", test_swap_time_exact },
    { "swap: host-copy re-use, hand-computed", test_swap_reuse_exact },
    { "conversation re-use: two turns hand-computed, every scheduler", test_conv_two_turns },
    { "conversation re-use: copies run while the replica idles", test_conv_copy_while_idle },
    { "conversation re-use: per replica", test_conv_replicas },
    { "conversation router: turns follow their first replica", test_conv_router },
    { "conversation re-use: a scheduler unaware of it fails clearly", test_conv_unaware_scheduler },
    { "conversation re-use: host cap, LRU eviction, skip", test_conv_host_cap },
    { "conversation re-use: pressure, conserved, complete, deterministic", test_conv_pressure },
    { "priority: preemption lowers high-class tail TTFT", test_priority_preemptive },
    { "priority by rule: short prompts first", test_priority_rule },
    { "vtc: a light client is not starved by a heavy one", test_vtc_fairness },
    { "edf: conserved, complete, chunked stall-free, class deadlines", test_edf },
    { "vtc: counter lift on the core", test_vtc_counter_lift },
    { "same seed byte-identical (classes, swap, acceptance)", test_determinism },
    { "bad parameters and scenario values", test_bad_params },
    { NULL, NULL },
  };
  int rc = test_run_suite ("schedulers", cases);
  if (chk.static_set)
    g_hash_table_destroy (chk.static_set);
  if (chk.decoding)
    g_hash_table_destroy (chk.decoding);
  return rc;
}
