/* policies/sched_vtc.c — Virtual Token Counter fair scheduling.
 *
 * Sheng et al., "Fairness in Serving Large Language Models", OSDI'24. Each
 * client has a counter of service received, w_in per prompt token plus w_out
 * per generated token, charged when the tokens are batched; the next request
 * admitted is the oldest of the client with the least counter, and a client
 * that becomes backlogged has its counter lifted to the least counter among
 * backlogged clients, so idling earns no credit. Batch composition is vLLM's
 * (prefill-first, paged KV, preemption from the back). Client ids come from
 * workload.clients / workload.client_skew. A backlogged client's counter only
 * grows when it is served, so every client is eventually the least: no
 * starvation. Built on policies/cbatch.c; owns only its parameters.
 */
#include "config.h"

#include "policies/cbatch.h"

static const PolicyParam vtc_params[] = {
  { "w_in", 1, 0, 1e6, FALSE, "service charged per prompt token" },
  { "w_out", 2, 0, 1e6, FALSE, "service charged per generated token" },
  { "max_batch_size", 256, 1, 1e6, TRUE, "most sequences in one iteration" },
  { "max_batched_tokens", 8192, 1, 1e8, TRUE, "most tokens in one prefill iteration" },
  { "watermark", 0.01, 0, 0.5, FALSE, "fraction of KV blocks kept free when admitting" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
vtc_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  c.order = POLICY_CB_VTC;
  c.vtc_w_in = policy_param (vtc_params, p, "w_in");
  c.vtc_w_out = policy_param (vtc_params, p, "w_out");
  if (c.vtc_w_in + c.vtc_w_out <= 0) {
    g_set_error (error, POLICY_ERROR, POLICY_ERROR_INVALID,
                 "scheduler.w_in, scheduler.w_out: at least one must be positive");
    return FALSE;
  }
  c.max_batch_size = (guint) policy_param (vtc_params, p, "max_batch_size");
  c.max_batched_tokens = (gint64) policy_param (vtc_params, p, "max_batched_tokens");
  c.watermark = policy_param (vtc_params, p, "watermark");
  return policy__cb_init (state, rep, &c, error);
}

const PolicySchedulerOps policy_sched_vtc = {
  .name = "vtc",
  .description = "Virtual Token Counter fairness across clients (Sheng et al., OSDI'24)",
  .params = vtc_params,
  .state_size = sizeof (PolicyCb),
  .init = vtc_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};
