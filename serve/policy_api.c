/* serve/policy_api.c — the serving world's side of policies/policy.h.
 *
 * Implements the accessors and actions policies are allowed, checking their
 * arguments, so a policy can never corrupt request progress or KV accounting.
 * Owns no decisions.
 */
#include "config.h"

#include "serve/world.h"

guint64 policy_req_id (const PolicyRequest *r) { return r->id; }
SimTime policy_req_arrival (const PolicyRequest *r) { return r->arrival; }
gint64  policy_req_prompt (const PolicyRequest *r) { return r->prompt; }
gint64  policy_req_output (const PolicyRequest *r) { return r->output; }
gint64  policy_req_generated (const PolicyRequest *r) { return r->generated; }
/* A fresh request (new, or preempted by recomputation) counts as computed
 * the prompt units its replica's prefix cache holds now (cache.prefix_caching);
 * policy_kv_reserve takes them. */
G_GNUC_NO_INLINE static gint64
computed_fresh (const PolicyRequest *r)
{
  return serve__pc_peek (r->pc_rep, r, NULL, NULL) * r->pc_rep->pc_unit_tokens;
}

/* (out of line and called last: the usual path of policy_req_pending needs
 * no stack frame) */
G_GNUC_NO_INLINE static gint64
pending_fresh (const PolicyRequest *r)
{
  return r->prompt + r->generated - computed_fresh (r);
}

gint64
policy_req_computed (const PolicyRequest *r)
{
  return serve__pc_fresh (r) ? computed_fresh (r) : r->computed;
}
/* a request whose prefill is done on a prefill replica (disaggregation) is
 * finished there: its scheduler lets go of it */
gboolean policy_req_finished (const PolicyRequest *r) { return (r->finished | r->rejected | r->migrating) != 0; }
guint   policy_req_preemptions (const PolicyRequest *r) { return r->preemptions; }
gint64  policy_req_blocks (const PolicyRequest *r) { return r->blocks; }
int     policy_req_priority (const PolicyRequest *r) { return r->priority; }
guint   policy_req_client (const PolicyRequest *r) { return r->client; }
gint64  policy_req_conversation (const PolicyRequest *r) { return r->conversation; }
SimTime policy_req_first_token (const PolicyRequest *r) { return r->first_token; }
SimTime policy_req_last_token (const PolicyRequest *r) { return r->last_token; }
gboolean policy_req_swapped (const PolicyRequest *r) { return r->swapped; }

gint64
policy_req_pending (const PolicyRequest *r)
{
  /* (bitwise: one test for the three flags, on every batch entry's path) */
  if (G_UNLIKELY (r->finished | r->rejected | r->migrating))
    return 0;
  if (G_UNLIKELY (serve__pc_fresh (r)))
    return pending_fresh (r);
  return r->prompt + r->generated - r->computed;
}

guint   policy_replica_index (const PolicyReplica *rep) { return rep->index; }
int     policy_replica_block_size (const PolicyReplica *rep) { return rep->mem.block_size; }
gint64  policy_replica_total_blocks (const PolicyReplica *rep) { return rep->mem.num_blocks; }
/* the idle prefix-cache blocks among them: evicted when needed */
gint64  policy_replica_free_blocks (const PolicyReplica *rep) { return serve__kv_free_for_use (rep); }
guint   policy_replica_load (const PolicyReplica *rep) { return rep->load; }
SimTime policy_replica_now (const PolicyReplica *rep) { return serve_world_now (rep->world); }

gint64
policy_replica_cached_prefix (const PolicyReplica *rep, const PolicyRequest *r)
{
  g_return_val_if_fail (rep != NULL && r != NULL, 0);
  return serve__pc_peek (rep, r, NULL, NULL) * rep->pc_unit_tokens;
}

gint64
policy_replica_blocks_for (const PolicyReplica *rep, gint64 tokens)
{
  return (tokens + rep->mem.block_size - 1) / rep->mem.block_size;
}

gint64
policy_req_blocks_for (const PolicyReplica *rep, const PolicyRequest *r, gint64 tokens)
{
  g_return_val_if_fail (rep != NULL && r != NULL && tokens >= 0, 0);
  if (serve__pc_fresh (r) && r->pc_rep == rep) {
    /* against policy_replica_free_blocks, as policy_kv_reserve will take it */
    gint64 units, own, host;
    return serve__pc_blocks_for (rep, r, tokens, &units, &own, &host);
  }
  return serve__kv_blocks_for (rep, r, tokens);
}

gboolean
policy_kv_reserve (PolicyReplica *rep, PolicyRequest *r, gint64 tokens)
{
  g_return_val_if_fail (r->replica == rep->index && !r->finished && !r->rejected && !r->migrating, FALSE);
  g_return_val_if_fail (!r->swapped, FALSE);
  g_return_val_if_fail (tokens >= 0, FALSE);
  return serve__kv_reserve (rep, r, tokens);
}

void
policy_preempt_recompute (PolicyReplica *rep, PolicyRequest *r)
{
  g_return_if_fail (r->replica == rep->index && !r->in_batch);
  serve__preempt (rep, r);
}

gboolean policy_replica_swap_enabled (const PolicyReplica *rep) { return serve__swap_enabled (rep); }

gboolean
policy_preempt_swap (PolicyReplica *rep, PolicyRequest *r)
{
  g_return_val_if_fail (r->replica == rep->index && !r->in_batch && !r->swapped, FALSE);
  g_return_val_if_fail (!r->finished && !r->rejected, FALSE);
  return serve__swap_out (rep, r);
}

gboolean
policy_swap_in (PolicyReplica *rep, PolicyRequest *r)
{
  g_return_val_if_fail (r->replica == rep->index && r->swapped, FALSE);
  return serve__swap_in (rep, r);
}

void
policy_reject (PolicyReplica *rep, PolicyRequest *r, const char *why)
{
  g_return_if_fail (r->replica == rep->index && !r->in_batch);
  serve__reject (rep, r, why);
}

void
policy_batch_add (PolicyBatch *b, PolicyRequest *r, gint64 q)
{
  g_return_if_fail (!r->in_batch && !r->finished && !r->rejected && !r->swapped && !r->migrating);
  g_return_if_fail (q >= 1 && q <= policy_req_pending (r));
  /* The KV for the new tokens must already be reserved. */
  g_return_if_fail (r->blocks >= serve__kv_blocks_for (b->owner, r, r->computed + q));
  ServeBatchEntry e = { r, q, 0 };
  ModelSeqWork wk = { q, r->computed };
  r->in_batch = TRUE;
  if (b->len == b->cap) {
    b->cap = b->cap ? 2 * b->cap : 64;
    b->entries = g_renew (ServeBatchEntry, b->entries, b->cap);
    b->work = g_renew (ModelSeqWork, b->work, b->cap);
  }
  b->entries[b->len] = e;
  b->work[b->len] = wk;
  b->len++;
  b->tokens += q;
}

gboolean
policy_batch_contains (const PolicyBatch *b, const PolicyRequest *r)
{
  return r->in_batch && r->replica == b->owner->index;
}

guint
policy_batch_speculate (PolicyReplica *rep, PolicyBatch *b, int k)
{
  g_return_val_if_fail (b->owner == rep && k >= 0, 0);
  return serve__speculate (rep, b, k);
}

double
policy_batch_estimate_s (PolicyReplica *rep, const PolicyBatch *b, int k)
{
  g_return_val_if_fail (b->owner == rep && k >= 0, 0);
  return serve__estimate_s (rep, b, k);
}

void
policy_replica_spec_stats (const PolicyReplica *rep, guint64 *proposed, guint64 *accepted)
{
  if (proposed)
    *proposed = rep->spec_proposed;
  if (accepted)
    *accepted = rep->spec_accepted;
}

guint  policy_batch_size (const PolicyBatch *b) { return b->len; }
gint64 policy_batch_tokens (const PolicyBatch *b) { return b->tokens; }
