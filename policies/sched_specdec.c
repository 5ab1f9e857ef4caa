/* policies/sched_specdec.c — speculative decoding, fixed or adaptive k.
 *
 * Every decode step proposes k draft tokens (a draft model or Medusa heads,
 * scenario speculation.draft) that the target verifies in one batched
 * (k+1)-token pass (Leviathan et al., ICML'23; Chen et al., 2023; Medusa:
 * Cai et al., ICML'24); serve/ draws how many are accepted from the seeded
 * stream (seed, "speculation", replica) at speculation.acceptance.
 * "specdec" uses a fixed k. "smartspec" chooses k in [0, spec_k] each
 * iteration to maximise expected goodput = n_decodes * E[tokens per
 * verification | alpha, k] / time(k), the time priced by the cost model and
 * alpha the acceptance observed so far (Liu et al., "Optimizing Speculative
 * Decoding for Serving Large Language Models Using Goodput", arXiv:2406.14066),
 * so speculation turns itself off when large batches make verification
 * compute-bound. Batch composition otherwise vLLM's (prefill-first).
 * Built on policies/cbatch.c; owns only its parameters.
 */
#include "config.h"

#include "policies/cbatch.h"

static const PolicyParam specdec_params[] = {
  { "spec_k", 4, 0, 16, TRUE, "draft tokens proposed per decode step" },
  { "spec_alpha_prior", 0.7, 0, 1, FALSE,
    "acceptance assumed (smartspec) until 100 drafts were observed" },
  { "max_batch_size", 256, 1, 1e6, TRUE, "most sequences in one iteration" },
  { "max_batched_tokens", 8192, 1, 1e8, TRUE, "most tokens in one prefill iteration" },
  { "watermark", 0.01, 0, 0.5, FALSE, "fraction of KV blocks kept free when admitting" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
spec_init (void *state, PolicyReplica *rep, const double *p, gboolean adaptive, GError **error)
{
  PolicyCbConfig c;
  policy__cb_config_init (&c);
  c.spec_k = (int) policy_param (specdec_params, p, "spec_k");
  c.spec_adaptive = adaptive;
  c.spec_alpha_prior = policy_param (specdec_params, p, "spec_alpha_prior");
  c.max_batch_size = (guint) policy_param (specdec_params, p, "max_batch_size");
  c.max_batched_tokens = (gint64) policy_param (specdec_params, p, "max_batched_tokens");
  c.watermark = policy_param (specdec_params, p, "watermark");
  return policy__cb_init (state, rep, &c, error);
}

static gboolean
specdec_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  return spec_init (state, rep, p, FALSE, error);
}

static gboolean
smartspec_init (void *state, PolicyReplica *rep, const double *p, GError **error)
{
  return spec_init (state, rep, p, TRUE, error);
}

const PolicySchedulerOps policy_sched_specdec = {
  .name = "specdec",
  .description = "speculative decoding with a fixed k, draft model or Medusa heads "
                 "(Leviathan et al., ICML'23; Cai et al., ICML'24)",
  .params = specdec_params,
  .state_size = sizeof (PolicyCb),
  .init = specdec_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};

const PolicySchedulerOps policy_sched_smartspec = {
  .name = "smartspec",
  .description = "speculative decoding choosing k per iteration by expected goodput "
                 "(SmartSpec, Liu et al., arXiv:2406.14066)",
  .params = specdec_params,
  .state_size = sizeof (PolicyCb),
  .init = smartspec_init,
  .clear = policy__cb_clear,
  .on_arrival = policy__cb_on_arrival,
  .schedule = policy__cb_schedule,
  .after_iteration = policy__cb_after_iteration,
  .queued = policy__cb_queued,
};
