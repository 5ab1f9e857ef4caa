/* policies/sched_priority.c — priority scheduling with optional preemption.
 *
 * Waiting requests are served highest priority first (then arrival), with
 * vLLM's prefill-first batch composition and paged KV. With preemptive = 1 a
 * waiting request that does not fit preempts running requests of strictly
 * lower priority, lowest first, until it fits; victims are swapped to host
 * memory when cache.preemption = "swap" (the context switch FastSwitch
 * studies: Shen et al., "FastSwitch: Optimizing Context Switching Efficiency
 * in Fairness-aware LLM Serving", arXiv:2411.18424 — swap granularity,
 * host-link utilisation and re-use of the host copy are cache.swap.*), else
 * recomputed. Priorities come from workload.priority_fraction. Within a class
 * the order is FCFS, so no request of the top class starves; lower classes
 * may wait as long as higher ones keep arriving (that is the policy).
 * Built on policies/cbatch.c; owns only its parameters.
 */
#include "config.h"

#include "policies/cbatch.h"

static const PolicyParam priority_params[] = {
  { "preemptive", 1, 0, 1, TRUE, "1 = a waiting request may preempt lower-priority running ones" },
  { "max_batch_size", 256, 1, 1e6, TRUE, "most sequences in one iteration" },
  { "max_batched_tokens", 8192, 1, 1e8, TRUE, "most tokens in one prefill iteration" },
  { "watermark", 0.01, 0, 0.5, FALSE, "fraction of KV blocks kept free when admitting" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
priority_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  c.order = POLICY_CB_PRIORITY;
  c.priority_preemption = policy_param (priority_params, p, "preemptive") != 0;
  c.max_batch_size = (guint) policy_param (priority_params, p, "max_batch_size");
  c.max_batched_tokens = (gint64) policy_param (priority_params, p, "max_batched_tokens");
  c.watermark = policy_param (priority_params, p, "watermark");
  return policy__cb_init (state, rep, &c, error);
}

const PolicySchedulerOps policy_sched_priority = {
  .name = "priority",
  .description = "priority classes, optionally preemptive, context switches by swap or "
                 "recompute (cost as in FastSwitch, arXiv:2411.18424)",
  .params = priority_params,
  .state_size = sizeof (PolicyCb),
  .init = priority_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};
