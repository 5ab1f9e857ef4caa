/* policies/cbatch.c — the continuous-batching core behind most built-in
 * schedulers (see cbatch.h for the axes it covers).
 *
 * Queues are plain arrays scanned for the best request under the configured
 * order, so every order shares one code path; queues hold at most the
 * requests of one replica, which keeps the scans short. Preemption victims
 * are the requests the order would serve last. Owns no time, KV accounting
 * or randomness: those are serve/'s, reached through policies/policy.h.
 */
#include "config.h"

#include <math.h>

#include "policies/cbatch.h"

void
policy__cb_config_init (PolicyCbConfig *c)
{
  *c = (PolicyCbConfig) {
    .mode = POLICY_CB_PREFILL_FIRST, .order = POLICY_CB_FCFS, .max_batch_size = 256,
    .max_batched_tokens = 8192, .watermark = 0.01, .spec_alpha_prior = 0.7,
    .ttft_s = 1.0, .tpot_s = 0.1, .ttft_high_s = 1.0, .tpot_high_s = 0.1,
    .vtc_w_in = 1.0, .vtc_w_out = 2.0,
  };
}

gboolean
policy__cb_init (PolicyCb *cb, PolicyReplica *rep, const PolicyCbConfig *c, GError **error)
{
  cb->c = *c;
  cb->watermark_blocks = (gint64) floor (c->watermark * (double) policy_replica_total_blocks (rep));
  cb->waiting = g_ptr_array_new ();
  cb->running = g_ptr_array_new ();
  cb->swapped = g_ptr_array_new ();
  cb->vtc = g_array_new (FALSE, TRUE, sizeof (double));
  return TRUE;
}

void
policy__cb_clear (void *state)
{
  PolicyCb *cb = state;
  if (!cb->waiting)
    return; /* init never ran */
  g_ptr_array_free (cb->waiting, TRUE);
  g_ptr_array_free (cb->running, TRUE);
  g_ptr_array_free (cb->swapped, TRUE);
  g_array_free (cb->vtc, TRUE);
}

/* ---- order ------------------------------------------------------------------ */

static double *
vtc_counter (PolicyCb *cb, guint client)
{
  if (client >= cb->vtc->len)
    g_array_set_size (cb->vtc, client + 1);
  return &g_array_index (cb->vtc, double, client);
}

static double
deadline (const PolicyCb *cb, const PolicyRequest *r)
{
  gboolean hi = policy_req_priority (r) > 0;
  return SIM_TIME_TO_S (policy_req_arrival (r)) + (hi ? cb->c.ttft_high_s : cb->c.ttft_s)
         + (double) policy_req_generated (r) * (hi ? cb->c.tpot_high_s : cb->c.tpot_s);
}

/* Negative when a should be served before b. Ties: arrival, then id. */
static int
cmp_req (PolicyCb *cb, const PolicyRequest *a, const PolicyRequest *b)
{
  switch (cb->c.order) {
  case POLICY_CB_PRIORITY:
    if (policy_req_priority (a) != policy_req_priority (b))
      return policy_req_priority (a) > policy_req_priority (b) ? -1 : 1;
    break;
  case POLICY_CB_VTC: {
    double x = *vtc_counter (cb, policy_req_client (a)), y = *vtc_counter (cb, policy_req_client (b));
    if (x != y)
      return x < y ? -1 : 1;
    break;
  }
  case POLICY_CB_DEADLINE: {
    double x = deadline (cb, a), y = deadline (cb, b);
    if (x != y)
      return x < y ? -1 : 1;
    break;
  }
  case POLICY_CB_FCFS:
    break;
  }
  if (policy_req_arrival (a) != policy_req_arrival (b))
    return policy_req_arrival (a) < policy_req_arrival (b) ? -1 : 1;
  return policy_req_id (a) < policy_req_id (b) ? -1 : policy_req_id (a) > policy_req_id (b);
}

/* Index of the request to serve first, or -1 when empty. */
static gint
pick_best (PolicyCb *cb, GPtrArray *a)
{
  gint best = -1;
  for (guint i = 0; i < a->len; i++)
    if (best < 0 || cmp_req (cb, a->pdata[i], a->pdata[best]) < 0)
      best = (gint) i;
  return best;
}

/* g_ptr_array_sort_with_data hands pointers to elements, and the state. */
static gint
cmp_sort (gconstpointer a, gconstpointer b, gpointer user)
{
  return cmp_req (user, *(PolicyRequest *const *) a, *(PolicyRequest *const *) b);
}

/* ---- actions ---------------------------------------------------------------- */

/* Preempt r (already removed from running): swap when enabled and host
 * memory has room, else recompute. */
static void
preempt (PolicyCb *cb, PolicyReplica *rep, PolicyRequest *r)
{
  if (policy_replica_swap_enabled (rep) && policy_preempt_swap (rep, r))
    g_ptr_array_add (cb->swapped, r);
  else {
    policy_preempt_recompute (rep, r);
    g_ptr_array_add (cb->waiting, r);
  }
}

/* Add q tokens of r to the batch and charge VTC service. */
static void
add (PolicyCb *cb, PolicyBatch *batch, PolicyRequest *r, gint64 q)
{
  if (cb->c.order == POLICY_CB_VTC) {
    gint64 prefill = MAX (0, MIN (q, policy_req_prompt (r) - policy_req_computed (r)));
    *vtc_counter (cb, policy_req_client (r)) +=
      cb->c.vtc_w_in * (double) prefill + cb->c.vtc_w_out * (double) (q - prefill);
  }
  policy_batch_add (batch, r, q);
}

/* Blocks held by running requests not in the batch that r outranks. */
static gint64
outranked_blocks (PolicyCb *cb, PolicyBatch *batch, const PolicyRequest *r)
{
  gint64 n = 0;
  for (guint i = 0; i < cb->running->len; i++) {
    PolicyRequest *v = cb->running->pdata[i];
    if (!policy_batch_contains (batch, v) && policy_req_priority (v) < policy_req_priority (r))
      n += policy_req_blocks (v);
  }
  return n;
}

/* Preempt the lowest-ranked running request not in the batch that r outranks
 * by priority. FALSE when there is none. */
static gboolean
preempt_outranked (PolicyCb *cb, PolicyReplica *rep, PolicyBatch *batch, const PolicyRequest *r)
{
  gint worst = -1;
  for (guint i = 0; i < cb->running->len; i++) {
    PolicyRequest *v = cb->running->pdata[i];
    if (policy_batch_contains (batch, v) || policy_req_priority (v) >= policy_req_priority (r))
      continue;
    if (worst < 0 || cmp_req (cb, v, cb->running->pdata[worst]) > 0)
      worst = (gint) i;
  }
  if (worst < 0)
    return FALSE;
  preempt (cb, rep, g_ptr_array_remove_index (cb->running, (guint) worst));
  return TRUE;
}

/* Admit waiting requests (a turn that arrived with its conversation's KV on
 * the host waits here too, swapped, and is swapped in on admission). CHUNKED: chunks up to *budget tokens; otherwise
 * whole prefills up to max_batched_tokens prefill tokens (a lone prompt above
 * it runs alone). Returns the number admitted. */
static guint
admit (PolicyCb *cb, PolicyReplica *rep, PolicyBatch *batch, gint64 *budget)
{
  gint64 total = policy_replica_total_blocks (rep);
  gint64 prefill_tokens = 0;
  guint n = 0;
  while (cb->waiting->len > 0) {
    guint i = (guint) pick_best (cb, cb->waiting);
    PolicyRequest *r = cb->waiting->pdata[i];
    gint64 len = policy_req_pending (r);
    gint64 whole = cb->c.reserve_max ? policy_req_prompt (r) + policy_req_output (r)
                                     : policy_req_computed (r) + len;
    if (policy_req_blocks_for (rep, r, whole) > total - cb->watermark_blocks) {
      g_ptr_array_remove_index (cb->waiting, i);
      policy_reject (rep, r, cb->c.reserve_max
                               ? "prompt + output need more KV blocks than the replica has"
                               : "prompt needs more KV blocks than the replica has");
      continue;
    }
    gint64 q = len;
    if (budget) {
      q = MIN (len, *budget);
      if (q <= 0)
        break;
    } else if ((n > 0 || policy_batch_size (batch) > 0) && prefill_tokens + len > cb->c.max_batched_tokens)
      break;
    if (cb->running->len + 1 > cb->c.max_batch_size)
      break;
    gint64 tokens = cb->c.reserve_max ? whole : policy_req_computed (r) + q;
    gint64 need = policy_req_blocks_for (rep, r, tokens) - policy_req_blocks (r);
    /* preempt lower classes only when that makes r fit: no victims in vain */
    if (cb->c.priority_preemption && policy_replica_free_blocks (rep) - need < cb->watermark_blocks
        && policy_replica_free_blocks (rep) + outranked_blocks (cb, batch, r) - need
             >= cb->watermark_blocks)
      while (policy_replica_free_blocks (rep) - need < cb->watermark_blocks
             && preempt_outranked (cb, rep, batch, r))
        ;
    /* a turn that arrived with its conversation's KV on the host is
     * swapped in first (need counts those blocks: it holds none) */
    if (policy_replica_free_blocks (rep) - need < cb->watermark_blocks
        || (policy_req_swapped (r) && !policy_swap_in (rep, r))
        || !policy_kv_reserve (rep, r, tokens))
      break;
    g_ptr_array_remove_index (cb->waiting, i);
    g_ptr_array_add (cb->running, r);
    add (cb, batch, r, q);
    prefill_tokens += q;
    if (budget)
      *budget -= q;
    n++;
  }
  return n;
}

static gboolean
is_decode (const PolicyRequest *r)
{
  return policy_req_generated (r) > 0 && policy_req_pending (r) == 1;
}

/* One decode token for each running request (CHUNKED: those past their
 * prefill), best first, preempting from the back when blocks run out.
 * Returns TRUE when something was preempted. */
static gboolean
decodes (PolicyCb *cb, PolicyReplica *rep, PolicyBatch *batch, guint *n_dec)
{
  gboolean preempted = FALSE;
  if (cb->c.order != POLICY_CB_FCFS)
    g_ptr_array_sort_with_data (cb->running, cmp_sort, cb);
  for (guint i = 0; i < cb->running->len; i++) {
    PolicyRequest *r = cb->running->pdata[i];
    if (cb->c.mode == POLICY_CB_CHUNKED && !is_decode (r))
      continue;
    gint64 want = policy_req_computed (r) + policy_req_pending (r);
    gboolean lost = FALSE;
    while (!policy_kv_reserve (rep, r, want)) {
      PolicyRequest *v = g_ptr_array_steal_index (cb->running, cb->running->len - 1);
      preempt (cb, rep, v);
      preempted = TRUE;
      if (v == r) {
        lost = TRUE;
        break;
      }
    }
    if (lost)
      break;
    add (cb, batch, r, policy_req_pending (r));
    (*n_dec)++;
  }
  return preempted;
}

/* Bring swapped requests back while blocks (above the watermark, unless
 * nothing runs) allow; each joins the batch. */
static void
swap_ins (PolicyCb *cb, PolicyReplica *rep, PolicyBatch *batch, gint64 *budget, guint *n_dec)
{
  while (cb->swapped->len > 0 && cb->running->len < cb->c.max_batch_size
         && (!budget || *budget > 0)) {
    guint i = (guint) pick_best (cb, cb->swapped);
    PolicyRequest *r = cb->swapped->pdata[i];
    gint64 keep = cb->running->len > 0 ? cb->watermark_blocks : 0;
    gint64 need = policy_req_blocks_for (rep, r, policy_req_computed (r) + policy_req_pending (r));
    if (need > policy_replica_total_blocks (rep)) {
      g_ptr_array_remove_index (cb->swapped, i);
      policy_reject (rep, r, "output outgrew the replica's KV cache");
      continue;
    }
    if (policy_replica_free_blocks (rep) - need < keep || !policy_swap_in (rep, r))
      break;
    g_ptr_array_remove_index (cb->swapped, i);
    g_ptr_array_add (cb->running, r);
    gint64 q = policy_req_pending (r);
    if (budget)
      q = MIN (q, *budget);
    if (!policy_kv_reserve (rep, r, policy_req_computed (r) + q))
      continue; /* joins the next iteration */
    add (cb, batch, r, q);
    if (budget)
      *budget -= q;
    if (is_decode (r))
      (*n_dec)++;
  }
}

/* Speculation: fixed k, or the k in [0, spec_k] maximising expected tokens
 * per second of the batch (SmartSpec's goodput rule). */
static void
speculate (PolicyCb *cb, PolicyReplica *rep, PolicyBatch *batch, guint n_dec)
{
  if (cb->c.spec_k <= 0 || n_dec == 0)
    return;
  int k = cb->c.spec_k;
  if (cb->c.spec_adaptive) {
    guint64 prop, acc;
    policy_replica_spec_stats (rep, &prop, &acc);
    double alpha = prop >= 100 ? (double) acc / (double) prop : cb->c.spec_alpha_prior;
    double best = -1;
    for (int j = 0; j <= cb->c.spec_k; j++) {
      /* expected tokens per verification: 1 + alpha + ... + alpha^j */
      double e = alpha >= 1 ? j + 1 : (1 - pow (alpha, j + 1)) / (1 - alpha);
      double t = policy_batch_estimate_s (rep, batch, j);
      double g = t > 0 ? n_dec * e / t : 0;
      if (g > best * (1 + 1e-9)) {
        best = g;
        k = j;
      }
    }
  }
  if (k > 0)
    policy_batch_speculate (rep, batch, k);
}

/* New admissions wait while swapped requests wait to come back (vLLM's rule),
 * unless the best waiting request outranks the best swapped one (under FCFS
 * it never does: the swapped ones arrived first). */
static gboolean
may_admit (PolicyCb *cb)
{
  if (cb->swapped->len == 0)
    return TRUE;
  if (cb->waiting->len == 0)
    return FALSE;
  return cmp_req (cb, cb->waiting->pdata[pick_best (cb, cb->waiting)],
                  cb->swapped->pdata[pick_best (cb, cb->swapped)]) < 0;
}

/* ---- hooks ------------------------------------------------------------------ */

void
policy__cb_on_arrival (void *state, PolicyReplica *rep, PolicyRequest *r)
{
  PolicyCb *cb = state;
  if (cb->c.order == POLICY_CB_VTC) {
    /* VTC counter lift: a client with nothing queued or running starts at
     * the least counter among the clients that have, so idling earns it no
     * credit (Sheng et al., Algorithm 2). */
    guint c = policy_req_client (r);
    gboolean backlogged = FALSE;
    double lo = HUGE_VAL;
    GPtrArray *qs[] = { cb->waiting, cb->running, cb->swapped };
    for (guint k = 0; k < G_N_ELEMENTS (qs); k++)
      for (guint i = 0; i < qs[k]->len; i++) {
        guint d = policy_req_client (qs[k]->pdata[i]);
        backlogged |= d == c;
        lo = MIN (lo, *vtc_counter (cb, d));
      }
    double *x = vtc_counter (cb, c);
    if (!backlogged && isfinite (lo) && *x < lo)
      *x = lo;
  }
  g_ptr_array_add (cb->waiting, r);
}

void
policy__cb_schedule (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  PolicyCb *cb = state;
  guint n_dec = 0;
  gint64 budget = cb->c.max_batched_tokens;
  switch (cb->c.mode) {
  case POLICY_CB_STATIC:
    if (cb->running->len == 0) {
      admit (cb, rep, batch, NULL);
      return;
    }
    for (guint i = 0; i < cb->running->len; i++) {
      PolicyRequest *r = cb->running->pdata[i];
      add (cb, batch, r, policy_req_pending (r)); /* KV reserved for the whole output */
      n_dec++;
    }
    break;
  case POLICY_CB_MIXED:
    if (!decodes (cb, rep, batch, &n_dec))
      swap_ins (cb, rep, batch, NULL, &n_dec);
    if (may_admit (cb))
      admit (cb, rep, batch, NULL);
    break;
  case POLICY_CB_CHUNKED: {
    gboolean preempted = decodes (cb, rep, batch, &n_dec);
    budget -= n_dec;
    /* ongoing chunked prefills, best first (decodes sorted running already) */
    for (guint i = 0; i < cb->running->len && budget > 0; i++) {
      PolicyRequest *r = cb->running->pdata[i];
      if (policy_batch_contains (batch, r) || is_decode (r))
        continue;
      gint64 q = MIN (policy_req_pending (r), budget);
      if (!policy_kv_reserve (rep, r, policy_req_computed (r) + q))
        continue;
      add (cb, batch, r, q);
      budget -= q;
    }
    if (!preempted)
      swap_ins (cb, rep, batch, &budget, &n_dec);
    if (may_admit (cb))
      admit (cb, rep, batch, &budget);
    break;
  }
  case POLICY_CB_PREFILL_FIRST:
    if (may_admit (cb) && admit (cb, rep, batch, NULL) > 0)
      return;
    if (!decodes (cb, rep, batch, &n_dec))
      swap_ins (cb, rep, batch, NULL, &n_dec);
    break;
  }
  /* Everything running was preempted (a lone request outgrew the cache):
   * try the queues again so the replica never idles with work waiting. */
  if (policy_batch_size (batch) == 0) {
    swap_ins (cb, rep, batch, cb->c.mode == POLICY_CB_CHUNKED ? &budget : NULL, &n_dec);
    if (policy_batch_size (batch) == 0)
      admit (cb, rep, batch, cb->c.mode == POLICY_CB_CHUNKED ? &budget : NULL);
  }
  speculate (cb, rep, batch, n_dec);
}

void
policy__cb_after_iteration (void *state, PolicyReplica *rep, PolicyBatch *batch)
{
  PolicyCb *cb = state;
  guint j = 0;
  for (guint i = 0; i < cb->running->len; i++) {
    PolicyRequest *r = cb->running->pdata[i];
    if (!policy_req_finished (r))
      cb->running->pdata[j++] = r;
  }
  g_ptr_array_set_size (cb->running, j);
  cb->iterations++;
}

guint
policy__cb_queued (void *state)
{
  PolicyCb *cb = state;
  return cb->waiting->len + cb->swapped->len;
}
