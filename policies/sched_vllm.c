/* policies/sched_vllm.c — vLLM-style replica scheduler (vLLM v0 default path).
 *
 * Continuous batching over a paged KV cache (Kwon et al., "Efficient Memory
 * Management for Large Language Model Serving with PagedAttention", SOSP'23):
 *  - prefill-first: when requests wait and fit, the iteration is a batch of
 *    whole prefills (FCFS), limited by max_batch_size sequences,
 *    max_batched_tokens tokens and the free KV blocks minus a watermark;
 *  - otherwise every running request decodes one token; when a decode needs a
 *    new block and none is free, the most recently admitted running request
 *    is preempted by recomputation (its blocks freed, put back at the head of
 *    the queue to re-prefill prompt + generated tokens later) or, with
 *    cache.preemption = "swap", by swapping its blocks to host memory (vLLM's
 *    preemption_mode=swap): swapped requests come back FIFO in a decode
 *    iteration with no preemption, before any new prefill is admitted, and
 *    the copies cost host-link time (serve/, cache.swap.*).
 * On a decode replica (cluster.prefill_replicas) a request arrives with its
 * prompt's KV and its first token: it joins the swapped queue and decodes.
 * A turn arriving with its conversation's KV on the host
 * (cache.swap.reuse_conversation) waits among the new requests and is
 * swapped in when admitted; only the rest of its prompt is prefilled.
 * A prompt longer than max_batched_tokens runs alone rather than never (vLLM
 * rejects it instead; we keep the request). A request whose KV can never fit
 * on the replica is rejected. Owns the queues; not time (models/) nor KV
 * bookkeeping (serve/).
 */
#include "config.h"

#include <math.h>

#include "policies/policy.h"

typedef struct {
  GQueue     waiting;   /* PolicyRequest*, FCFS; preempted ones go to the head */
  GPtrArray *running;   /* in admission order */
  GQueue     swapped;   /* KV in host memory, FIFO */
  guint      max_batch_size;
  gint64     max_batched_tokens;
  gint64     watermark_blocks;
} VllmState;

static const PolicyParam vllm_params[] = {
  { "max_batch_size", 256, 1, 1e6, TRUE, "most sequences in one iteration (vLLM max_num_seqs)" },
  { "max_batched_tokens", 8192, 1, 1e8, TRUE,
    "most tokens in one prefill iteration (vLLM max_num_batched_tokens)" },
  { "watermark", 0.01, 0, 0.5, FALSE,
    "fraction of KV blocks kept free when admitting prefills, to limit preemption" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
vllm_init (void *state, PolicyReplica *rep, const double *params, GError **error)
{
  VllmState *s = state;
  g_queue_init (&s->waiting);
  g_queue_init (&s->swapped);
  s->running = g_ptr_array_new ();
  s->max_batch_size = (guint) policy_param (vllm_params, params, "max_batch_size");
  s->max_batched_tokens = (gint64) policy_param (vllm_params, params, "max_batched_tokens");
  s->watermark_blocks = (gint64) floor (policy_param (vllm_params, params, "watermark")
                                        * (double) policy_replica_total_blocks (rep));
  return TRUE;
}

static void
vllm_clear (void *state)
{
  VllmState *s = state;
  g_queue_clear (&s->waiting);
  g_queue_clear (&s->swapped);
  g_ptr_array_free (s->running, TRUE);
}

static void
vllm_on_arrival (void *state, PolicyReplica *rep, PolicyRequest *r)
{
  VllmState *s = state;
  /* a request that arrives mid-decode with its KV ready (prefilled on a
   * prefill replica, cluster.prefill_replicas) joins the decodes as a
   * swapped-out one does; anything else waits to be prefilled */
  if (policy_req_swapped (r) && policy_req_generated (r) > 0)
    g_queue_push_tail (&s->swapped, r);
  else
    g_queue_push_tail (&s->waiting, r);
}

/* Admit waiting requests as whole prefills. Returns TRUE if any was added. */
static gboolean
schedule_prefills (VllmState *s, PolicyReplica *rep, PolicyBatch *batch)
{
  gint64 total = policy_replica_total_blocks (rep);
  while (!g_queue_is_empty (&s->waiting)) {
    PolicyRequest *r = g_queue_peek_head (&s->waiting);
    gint64 len = policy_req_pending (r);
    /* computed is 0 but for a turn that arrived with its conversation's KV
     * on the host (swapped): it is swapped in, then only the rest prefilled */
    gint64 ctx = policy_req_computed (r) + len;
    gint64 need = policy_req_blocks_for (rep, r, ctx);
    if (need > total - s->watermark_blocks) {
      g_queue_pop_head (&s->waiting);
      policy_reject (rep, r, "prompt needs more KV blocks than the replica has");
      continue;
    }
    if (policy_batch_size (batch) > 0 && policy_batch_tokens (batch) + len > s->max_batched_tokens)
      break;
    if (s->running->len + 1 > s->max_batch_size)
      break;
    if (policy_replica_free_blocks (rep) - (need - policy_req_blocks (r)) < s->watermark_blocks)
      break;
    if (policy_req_swapped (r) && !policy_swap_in (rep, r))
      break;
    if (!policy_kv_reserve (rep, r, ctx))
      break;
    g_queue_pop_head (&s->waiting);
    g_ptr_array_add (s->running, r);
    policy_batch_add (batch, r, len);
  }
  return policy_batch_size (batch) > 0;
}

/* Decode step for every running request, preempting from the back when
 * blocks run out. Returns TRUE when it preempted. */
static gboolean
schedule_decodes (VllmState *s, PolicyReplica *rep, PolicyBatch *batch)
{
  gboolean preempted = FALSE;
  for (guint i = 0; i < s->running->len; i++) {
    PolicyRequest *r = g_ptr_array_index (s->running, i);
    gint64 want = policy_req_computed (r) + policy_req_pending (r);
    while (!policy_kv_reserve (rep, r, want)) {
      PolicyRequest *victim = g_ptr_array_steal_index (s->running, s->running->len - 1);
      preempted = TRUE;
      if (policy_replica_swap_enabled (rep) && policy_preempt_swap (rep, victim))
        g_queue_push_tail (&s->swapped, victim);
      else {
        policy_preempt_recompute (rep, victim);
        g_queue_push_head (&s->waiting, victim);
      }
      if (victim == r)
        return TRUE; /* r itself was the last; everything before it is batched */
    }
    policy_batch_add (batch, r, policy_req_pending (r));
  }
  return preempted;
}

/* Swap requests back in, FIFO, while blocks above the watermark (or any
 * block, when nothing runs) allow; each decodes in this iteration. */
static void
schedule_swap_ins (VllmState *s, PolicyReplica *rep, PolicyBatch *batch)
{
  while (!g_queue_is_empty (&s->swapped) && s->running->len < s->max_batch_size) {
    PolicyRequest *r = g_queue_peek_head (&s->swapped);
    gint64 want = policy_req_computed (r) + policy_req_pending (r);
    gint64 need = policy_req_blocks_for (rep, r, want);
    if (need > policy_replica_total_blocks (rep)) {
      g_queue_pop_head (&s->swapped);
      policy_reject (rep, r, "output outgrew the replica's KV cache");
      continue;
    }
    gint64 keep = s->running->len > 0 ? s->watermark_blocks : 0;
    if (policy_replica_free_blocks (rep) - need < keep
        || !policy_swap_in (rep, r) || !policy_kv_reserve (rep, r, want))
      break;
    g_queue_pop_head (&s->swapped);
    g_ptr_array_add (s->running, r);
    policy_batch_add (batch, r, policy_req_pending (r));
  }
}

static void
vllm_schedule (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  VllmState *s = state;
  if (g_queue_is_empty (&s->swapped) && schedule_prefills (s, rep, batch))
    return;
  if (!schedule_decodes (s, rep, batch))
    schedule_swap_ins (s, rep, batch);
  /* Everything running was preempted (a lone request outgrew the cache):
   * try the queues again, which re-admits or rejects it, so the replica
   * never idles with work waiting. */
  if (policy_batch_size (batch) == 0) {
    schedule_swap_ins (s, rep, batch);
    if (policy_batch_size (batch) == 0)
      schedule_prefills (s, rep, batch);
  }
}

static void
vllm_after_iteration (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  VllmState *s = state;
  guint j = 0;
  for (guint i = 0; i < s->running->len; i++) {
    PolicyRequest *r = g_ptr_array_index (s->running, i);
    if (!policy_req_finished (r))
      s->running->pdata[j++] = r;
  }
  g_ptr_array_set_size (s->running, j);
}

static guint
vllm_queued (void *state)
{
  VllmState *s = state;
  return g_queue_get_length (&s->waiting) + g_queue_get_length (&s->swapped);
}

const PolicySchedulerOps policy_sched_vllm = {
  .name = "vllm",
  .description = "vLLM continuous batching, paged KV, prefill-first, preemption by recomputation "
                 "or swap (cache.preemption) (Kwon et al., SOSP'23)",
  .params = vllm_params,
  .state_size = sizeof (VllmState),
  .init = vllm_init,
  .clear = vllm_clear,
  .on_arrival = vllm_on_arrival,
  .schedule = vllm_schedule,
  .after_iteration = vllm_after_iteration,
  .queued = vllm_queued,
};
