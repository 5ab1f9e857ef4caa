/* policies/sched_orca.c — Orca: iteration-level scheduling.
 *
 * Yu et al., "Orca: A Distributed Serving System for Transformer-Based
 * Generative Models", OSDI'22. Every iteration re-forms the batch: all
 * running requests decode one token and new requests (FCFS) join with their
 * whole prompt in the same iteration (selective batching), up to
 * max_batch_size sequences and max_batched_tokens prompt tokens. Orca has no
 * paged KV: a request is admitted only when KV for its maximum length
 * (prompt + output) can be reserved, so it is never preempted. Built on the
 * continuous-batching core (policies/cbatch.c); owns only its parameters.
 */
#include "config.h"

#include "policies/cbatch.h"

static const PolicyParam orca_params[] = {
  { "max_batch_size", 256, 1, 1e6, TRUE, "most sequences in one iteration" },
  { "max_batched_tokens", 8192, 1, 1e8, TRUE,
    "most prompt tokens joining in one iteration (a lone longer prompt joins alone)" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
orca_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  c.mode = POLICY_CB_MIXED;
  c.reserve_max = TRUE;
  c.watermark = 0;
  c.max_batch_size = (guint) policy_param (orca_params, p, "max_batch_size");
  c.max_batched_tokens = (gint64) policy_param (orca_params, p, "max_batched_tokens");
  return policy__cb_init (state, rep, &c, error);
}

const PolicySchedulerOps policy_sched_orca = {
  .name = "orca",
  .description = "Orca iteration-level scheduling, whole prefills mixed with decodes, "
                 "maximum-length KV reservation (Yu et al., OSDI'22)",
  .params = orca_params,
  .state_size = sizeof (PolicyCb),
  .init = orca_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};
