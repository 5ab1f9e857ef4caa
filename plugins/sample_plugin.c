/* plugins/sample_plugin.c — a replica scheduler compiled outside the tree
 * and loaded with `servesim replay --plugin sample_plugin.so`.
 *
 * "sample-sjf": shortest prompt first, continuous batching. Each iteration
 * decodes every running request (preempting by recomputation, newest first,
 * when KV blocks run out), or, when requests wait and fit, prefills the
 * shortest waiting prompts whole. Prompt length is known at arrival, unlike
 * output length, so the policy is implementable. Long prompts can starve
 * under sustained load of short ones: this is a sample, not a recommendation.
 *
 * It uses nothing but policies/policy.h: the policy_* functions resolve
 * against the servesim executable when the module is loaded (servesim is
 * linked with --export-dynamic), and GLib from the system. Build it on its
 * own with
 *   cc -shared -fPIC -I<servesim source dir> $(pkg-config --cflags glib-2.0) \
 *      -o sample_plugin.so sample_plugin.c $(pkg-config --libs glib-2.0)
 * (make check builds it as plugins/sample_plugin.so). docs/policies.md walks
 * through it.
 */
#include <glib.h>
#include <gmodule.h>

#include "policies/policy.h"

typedef struct {
  GPtrArray *waiting;        /* unordered; the shortest is found by a scan */
  GPtrArray *running;        /* admission order */
  guint      max_batch_size;
  gint64     max_batched_tokens;
} SjfState;

static const PolicyParam sjf_params[] = {
  { "max_batch_size", 128, 1, 1e6, TRUE, "most sequences in one iteration" },
  { "max_batched_tokens", 8192, 1, 1e8, TRUE, "most tokens in one prefill iteration" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
sjf_init (void *state, PolicyReplica *rep, const double *params, GError **error)
{
  SjfState *s = state;
  (void) rep;
  (void) error;
  s->waiting = g_ptr_array_new ();
  s->running = g_ptr_array_new ();
  s->max_batch_size = (guint) policy_param (sjf_params, params, "max_batch_size");
  s->max_batched_tokens = (gint64) policy_param (sjf_params, params, "max_batched_tokens");
  return TRUE;
}

static void
sjf_clear (void *state)
{
  SjfState *s = state;
  if (!s->waiting)
    return;
  g_ptr_array_free (s->waiting, TRUE);
  g_ptr_array_free (s->running, TRUE);
}

static void
sjf_on_arrival (void *state, PolicyReplica *rep, PolicyRequest *r)
{
  (void) rep;
  g_ptr_array_add (((SjfState *) state)->waiting, r);
}

/* Index of the waiting request with the fewest tokens to prefill (ties: the
 * lower id, so runs are deterministic). */
static guint
shortest (const SjfState *s)
{
  guint best = 0;
  for (guint i = 1; i < s->waiting->len; i++) {
    PolicyRequest *a = s->waiting->pdata[i], *b = s->waiting->pdata[best];
    if (policy_req_pending (a) < policy_req_pending (b)
        || (policy_req_pending (a) == policy_req_pending (b) && policy_req_id (a) < policy_req_id (b)))
      best = i;
  }
  return best;
}

static gboolean
prefills (SjfState *s, PolicyReplica *rep, PolicyBatch *batch)
{
  while (s->waiting->len > 0 && s->running->len < s->max_batch_size) {
    guint i = shortest (s);
    PolicyRequest *r = s->waiting->pdata[i];
    gint64 len = policy_req_pending (r);
    /* KV held after this step: what is already computed (a conversation turn
     * that arrived with its context on the host) plus the new tokens. */
    gint64 held = policy_req_computed (r) + len;
    if (policy_req_blocks_for (rep, r, held) > policy_replica_total_blocks (rep)) {
      g_ptr_array_remove_index (s->waiting, i);
      policy_reject (rep, r, "prompt needs more KV blocks than the replica has");
      continue;
    }
    if (policy_batch_size (batch) > 0 && policy_batch_tokens (batch) + len > s->max_batched_tokens)
      break;
    /* KV on the host comes back first (the copy is charged to this iteration) */
    if (policy_req_swapped (r) && !policy_swap_in (rep, r))
      break;
    if (!policy_kv_reserve (rep, r, held))
      break;
    g_ptr_array_remove_index (s->waiting, i);
    g_ptr_array_add (s->running, r);
    policy_batch_add (batch, r, len);
  }
  return policy_batch_size (batch) > 0;
}

static void
sjf_schedule (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  SjfState *s = state;
  if (prefills (s, rep, batch))
    return;
  for (guint i = 0; i < s->running->len; i++) {
    PolicyRequest *r = s->running->pdata[i];
    gboolean lost = FALSE;
    while (!policy_kv_reserve (rep, r, policy_req_computed (r) + policy_req_pending (r))) {
      PolicyRequest *v = g_ptr_array_steal_index (s->running, s->running->len - 1);
      policy_preempt_recompute (rep, v);
      g_ptr_array_add (s->waiting, v);
      if ((lost = v == r))
        break;
    }
    if (lost)
      break;
    policy_batch_add (batch, r, policy_req_pending (r));
  }
  if (policy_batch_size (batch) == 0)
    prefills (s, rep, batch);
}

static void
sjf_after_iteration (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  SjfState *s = state;
  (void) rep;
  (void) batch;
  guint j = 0;
  for (guint i = 0; i < s->running->len; i++)
    if (!policy_req_finished (s->running->pdata[i]))
      s->running->pdata[j++] = s->running->pdata[i];
  g_ptr_array_set_size (s->running, j);
}

static guint
sjf_queued (void *state)
{
  return ((SjfState *) state)->waiting->len;
}

static const PolicySchedulerOps sjf_ops = {
  .name = "sample-sjf",
  .description = "sample plug-in: shortest prompt first, continuous batching (plugins/sample_plugin.c)",
  .params = sjf_params,
  .state_size = sizeof (SjfState),
  .init = sjf_init,
  .clear = sjf_clear,
  .on_arrival = sjf_on_arrival,
  .schedule = sjf_schedule,
  .after_iteration = sjf_after_iteration,
  .queued = sjf_queued,
};

/* The one symbol servesim looks up. */
G_MODULE_EXPORT gboolean servesim_plugin_register (PolicyPluginApi *api, GError **error);

G_MODULE_EXPORT gboolean
servesim_plugin_register (PolicyPluginApi *api, GError **error)
{
  if (api->abi != POLICY_PLUGIN_ABI) {
    g_set_error (error, g_quark_from_static_string ("sample-plugin"), 1,
                 "built for plug-in ABI %d, servesim has %d", POLICY_PLUGIN_ABI, api->abi);
    return FALSE;
  }
  return api->add_scheduler (api->registry, &sjf_ops);
}
