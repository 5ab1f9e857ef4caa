/* policies/template.c — a complete replica scheduler to copy when writing one.
 *
 * It serves one request at a time, first come first served: the whole prompt
 * in one iteration, then one decode iteration per token, then the next
 * request. That is the slowest sensible policy, and every hook a scheduler
 * can have is here with a comment on what it may do. To add your own:
 *   1. copy this file to policies/sched_<name>.c and rename the symbols;
 *   2. add it to policies/local.mk and to builtin_schedulers[] in
 *      policies/registry.c (or build it as a plug-in);
 *   3. select it with "scheduler": {"name": "<name>", ...params}.
 * A policy sees the world only through policies/policy.h: it reads requests
 * and replicas, reserves KV blocks, preempts or rejects, and fills the batch.
 * Time is never its business: the cost model prices the batch it forms.
 */
#include "config.h"

#include "policies/policy.h"

/* Per-replica state. The core allocates state_size zeroed bytes per replica
 * and hands them to every hook; there are no globals. */
typedef struct {
  GQueue         waiting;   /* arrived, not started */
  PolicyRequest *current;   /* the request being served, or NULL */
  gint64         max_prompt;
} TemplateState;

/* Parameters: the core checks a scenario's values against this table
 * (type, range) and fills in defaults before init() sees them. */
static const PolicyParam template_params[] = {
  { "max_prompt", 1e7, 1, 1e7, TRUE, "reject prompts longer than this many tokens" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

/* init: set up state from resolved parameters. Return FALSE with an error
 * for combinations a range cannot express. Optional. */
static gboolean
template_init (void *state, PolicyReplica *rep, const double *params, GError **error)
{
  TemplateState *s = state;
  g_queue_init (&s->waiting);
  s->max_prompt = (gint64) policy_param (template_params, params, "max_prompt");
  return TRUE;
}

/* clear: free what init allocated (not the state block itself). Optional. */
static void
template_clear (void *state)
{
  g_queue_clear (&((TemplateState *) state)->waiting);
}

/* on_arrival: the router sent r here. Usually: queue it. Optional. */
static void
template_on_arrival (void *state, PolicyReplica *rep, PolicyRequest *r)
{
  g_queue_push_tail (&((TemplateState *) state)->waiting, r);
}

/* schedule: the replica is idle; put work in the batch (or leave it empty to
 * idle until the next arrival). Required. Each request added needs KV for
 * computed + q tokens reserved first. */
static void
template_schedule (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  TemplateState *s = state;
  while (!s->current && !g_queue_is_empty (&s->waiting)) {
    PolicyRequest *r = g_queue_pop_head (&s->waiting);
    gint64 total = policy_req_prompt (r) + policy_req_output (r);
    if (policy_req_prompt (r) > s->max_prompt
        || policy_replica_blocks_for (rep, total) > policy_replica_total_blocks (rep))
      policy_reject (rep, r, "does not fit");
    else
      s->current = r;
  }
  if (!s->current)
    return;
  /* A turn of a conversation may arrive with its earlier turns' KV in host
   * memory (cache.swap.reuse_conversation), or a request on a decode
   * replica with its KV from a prefill replica (cluster.prefill_replicas):
   * bring it in first. Blocks can be short even for a lone request: a
   * prefill replica keeps the blocks of requests whose KV is still being
   * copied to a decode replica. Then leave the batch empty: the replica is
   * asked again when the copy ends and frees them. */
  if (policy_req_swapped (s->current) && !policy_swap_in (rep, s->current))
    return;
  gint64 q = policy_req_pending (s->current);
  if (!policy_kv_reserve (rep, s->current, policy_req_computed (s->current) + q))
    return;
  policy_batch_add (batch, s->current, q);
}

/* after_iteration: progress has been applied. Drop pointers to finished
 * requests now: they are freed when this returns. Optional. */
static void
template_after_iteration (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  TemplateState *s = state;
  if (s->current && policy_req_finished (s->current))
    s->current = NULL;
}

/* queued: how many wait (for the timeline). Optional. */
static guint
template_queued (void *state)
{
  return g_queue_get_length (&((TemplateState *) state)->waiting);
}

const PolicySchedulerOps policy_sched_template = {
  .name = "template",
  .description = "one request at a time, FCFS: the commented example to copy (policies/template.c)",
  .params = template_params,
  .state_size = sizeof (TemplateState),
  .init = template_init,
  .clear = template_clear,
  .on_arrival = template_on_arrival,
  .schedule = template_schedule,
  .after_iteration = template_after_iteration,
  .queued = template_queued,
};
