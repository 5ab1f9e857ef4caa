/* policies/sched_edf.c — earliest deadline first on TTFT and TPOT targets.
 *
 * Token i (0-based) of a request is due at arrival + ttft + i * tpot; the
 * request with the earliest next-token deadline is admitted first and
 * preempted last. Requests of a higher class (workload.priority_fraction)
 * can have tighter targets (ttft_high, tpot_high; 0 = the same as the
 * others), which is what makes EDF differ from FCFS: with one target for
 * all, deadlines are in arrival order except for preempted requests (Liu and Layland's EDF, as used for LLM serving by e.g.
 * SLOs-Serve and Andes; here in its plainest form). Targets default to the
 * scenario's SLO when it sets one. Batch composition is vLLM's or, with
 * chunked = 1, Sarathi's. A waiting request's deadline only ages relative to
 * newer arrivals, so none starves under finite load. Built on
 * policies/cbatch.c; owns only its parameters.
 */
#include "config.h"

#include "policies/cbatch.h"

static const PolicyParam edf_params[] = {
  { "ttft", 1.0, 1e-6, 1e6, FALSE, "time-to-first-token target, seconds" },
  { "tpot", 0.1, 1e-6, 1e6, FALSE, "time-per-output-token target, seconds" },
  { "ttft_high", 0, 0, 1e6, FALSE, "TTFT target of high-priority requests (0 = ttft)" },
  { "tpot_high", 0, 0, 1e6, FALSE, "TPOT target of high-priority requests (0 = tpot)" },
  { "chunked", 0, 0, 1, TRUE, "1 = Sarathi-style chunked prefills under token_budget" },
  { "token_budget", 512, 1, 1e8, TRUE, "tokens per iteration when chunked" },
  { "max_batch_size", 256, 1, 1e6, TRUE, "most sequences in one iteration" },
  { "max_batched_tokens", 8192, 1, 1e8, TRUE, "most tokens in one prefill iteration" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
edf_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  c.order = POLICY_CB_DEADLINE;
  c.ttft_s = policy_param (edf_params, p, "ttft");
  c.tpot_s = policy_param (edf_params, p, "tpot");
  c.ttft_high_s = policy_param (edf_params, p, "ttft_high");
  c.tpot_high_s = policy_param (edf_params, p, "tpot_high");
  if (c.ttft_high_s <= 0)
    c.ttft_high_s = c.ttft_s;
  if (c.tpot_high_s <= 0)
    c.tpot_high_s = c.tpot_s;
  gboolean chunked = policy_param (edf_params, p, "chunked") != 0;
  c.mode = chunked ? POLICY_CB_CHUNKED : POLICY_CB_PREFILL_FIRST;
  c.max_batched_tokens = (gint64) policy_param (edf_params, p,
                                                chunked ? "token_budget" : "max_batched_tokens");
  c.max_batch_size = (guint) policy_param (edf_params, p, "max_batch_size");
  return policy__cb_init (state, rep, &c, error);
}

const PolicySchedulerOps policy_sched_edf = {
  .name = "edf",
  .description = "earliest deadline first on per-token TTFT/TPOT deadlines",
  .params = edf_params,
  .state_size = sizeof (PolicyCb),
  .init = edf_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};
