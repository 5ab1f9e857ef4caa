/* policies/sched_sarathi.c — chunked prefills under a token budget:
 * Sarathi-Serve and DeepSpeed-FastGen's Dynamic SplitFuse.
 *
 * Sarathi-Serve (Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM
 * Inference with Sarathi-Serve", OSDI'24): every iteration first takes one
 * decode token from every running request past its prefill (stall-free
 * batching: a prefill never makes a decode wait), then fills what is left of
 * a per-iteration token budget with prefill chunks — ongoing chunked prefills
 * first, then new requests (FCFS). KV is paged (allocated per chunk), and
 * decodes that run out of blocks preempt from the back (recompute, or swap
 * with cache.preemption = "swap").
 *
 * Dynamic SplitFuse (Holmes et al., "DeepSpeed-FastGen", arXiv:2401.08671):
 * forward passes of a fixed size composed from decode tokens and prompt
 * pieces — long prompts split, short ones fused. In this simulator the two
 * compose batches with the same rule (decodes, then chunks, filling the
 * budget exactly when work is available); they differ in defaults (Sarathi
 * 512-token budget and vLLM's watermark; FastGen 768 tokens per forward pass
 * and 512 sequences, its max_ragged_batch_size / max_ragged_sequence_count).
 * Built on policies/cbatch.c; owns only the parameters.
 */
#include "config.h"

#include "policies/cbatch.h"

static const PolicyParam sarathi_params[] = {
  { "token_budget", 512, 1, 1e8, TRUE, "tokens per iteration: decodes plus prefill chunks" },
  { "max_batch_size", 256, 1, 1e6, TRUE, "most sequences in one iteration" },
  { "watermark", 0.01, 0, 0.5, FALSE, "fraction of KV blocks kept free when admitting" },
  { "chunking", 1, 0, 1, TRUE,
    "0 = no chunking: a prompt joins whole even above the budget (for ablations)" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static const PolicyParam fastgen_params[] = {
  { "forward_size", 768, 1, 1e8, TRUE,
    "tokens per forward pass (DeepSpeed max_ragged_batch_size)" },
  { "max_batch_size", 512, 1, 1e6, TRUE,
    "most sequences per forward pass (DeepSpeed max_ragged_sequence_count)" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
sarathi_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  gboolean chunking = policy_param (sarathi_params, p, "chunking") != 0;
  c.mode = chunking ? POLICY_CB_CHUNKED : POLICY_CB_MIXED;
  /* without chunking a whole prompt joins the running decodes, whatever its length */
  c.max_batched_tokens = chunking ? (gint64) policy_param (sarathi_params, p, "token_budget")
                                  : G_MAXINT64 / 4;
  c.max_batch_size = (guint) policy_param (sarathi_params, p, "max_batch_size");
  c.watermark = policy_param (sarathi_params, p, "watermark");
  return policy__cb_init (state, rep, &c, error);
}

static gboolean
fastgen_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  c.mode = POLICY_CB_CHUNKED;
  c.max_batched_tokens = (gint64) policy_param (fastgen_params, p, "forward_size");
  c.max_batch_size = (guint) policy_param (fastgen_params, p, "max_batch_size");
  c.watermark = 0;
  return policy__cb_init (state, rep, &c, error);
}

const PolicySchedulerOps policy_sched_sarathi = {
  .name = "sarathi",
  .description = "Sarathi-Serve: decodes first, chunked prefills under a token budget, "
                 "stall-free batching (Agrawal et al., OSDI'24)",
  .params = sarathi_params,
  .state_size = sizeof (PolicyCb),
  .init = sarathi_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};

const PolicySchedulerOps policy_sched_fastgen = {
  .name = "fastgen",
  .description = "DeepSpeed-FastGen Dynamic SplitFuse: fixed-size forward passes of decode "
                 "tokens and prompt pieces (Holmes et al., arXiv:2401.08671)",
  .params = fastgen_params,
  .state_size = sizeof (PolicyCb),
  .init = fastgen_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};
