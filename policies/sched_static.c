/* policies/sched_static.c — static (request-level) batching, the baseline.
 *
 * As in FasterTransformer and the pre-Orca serving systems: when the replica
 * is idle, up to max_batch_size waiting requests (FCFS) form a batch, each
 * reserving KV for its prompt plus its whole output; the batch prefills
 * together and decodes until its last request finishes, and no request joins
 * a batch already running (Yu et al., "Orca", OSDI'22, section 2, describe
 * this as the baseline). Padding is not charged: a finished request leaves
 * the iteration's work, so the simulated cost is a lower bound on a padded
 * implementation's. Built on the continuous-batching core (policies/cbatch.c);
 * owns only its parameters. Not time or KV accounting (serve/).
 */
#include "config.h"

#include "policies/cbatch.h"

static const PolicyParam static_params[] = {
  { "max_batch_size", 32, 1, 1e6, TRUE, "requests per static batch" },
  { "max_batched_tokens", 8192, 1, 1e8, TRUE,
    "most prompt tokens in the batch's prefill (a lone longer prompt runs alone)" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
static_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  c.mode = POLICY_CB_STATIC;
  c.reserve_max = TRUE;
  c.watermark = 0;
  c.max_batch_size = (guint) policy_param (static_params, p, "max_batch_size");
  c.max_batched_tokens = (gint64) policy_param (static_params, p, "max_batched_tokens");
  return policy__cb_init (state, rep, &c, error);
}

const PolicySchedulerOps policy_sched_static = {
  .name = "static",
  .description = "static batching: a batch runs to its last request, nobody joins "
                 "(FasterTransformer; the baseline of Yu et al., OSDI'22)",
  .params = static_params,
  .state_size = sizeof (PolicyCb),
  .init = static_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};
