/* serve/world.c — building a world from a scenario and running it.
 *
 * Events: "arrival" (the next request(s) of the trace arrive; the next one is
 * read only then, so a trace is streamed), "iteration-end" (a replica's batch
 * finished: apply progress, emit tokens, retire finished requests, schedule
 * again), "kv-transfer-end" (disaggregation: a request's KV reached its
 * decode replica) and "sample" (timeline row). Replicas are driven by their
 * scheduler policy; this file owns request progress and KV-block accounting
 * (with the prefix cache and its host tier), the handoff between prefill and
 * decode replicas and the pipeline stages' timing at pp > 1, not the
 * decisions (policies/) or the time an iteration takes (models/cost.c).
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "sim/util.h"
#include "models/comm.h"
#include "serve/metrics.h"
#include "serve/output.h"
#include "serve/world.h"

struct ServeWorld {
  const ServeScenario   *sc;
  SimEngine             *engine;
  const ModelCatalog    *catalog;     /* own_catalog, or the caller's */
  ModelCatalog          *own_catalog;
  const ModelLlm        *llm;
  const ModelGpu        *gpu;
  const ModelNetwork    *network;   /* cluster.network, or NULL */
  TraceSource           *source;
  char                  *trace_path;     /* resolved, or NULL for synthetic */
  TraceRequest           next;           /* the request whose arrival is scheduled */
  gboolean               have_next;
  guint64                expected;       /* requests the workload will produce, 0 = unknown */

  const PolicyRouterOps *router;
  void                  *router_state;
  double                *router_params;
  double                *sched_params;
  GPtrArray             *replicas;       /* ServeReplica* */

  SimEventType           ev_arrival, ev_iter_end, ev_sample, ev_kv_xfer;
  guint                  n_prefill;      /* cluster.prefill_replicas: 0 = no disaggregation */
  guint64                in_transfer;    /* requests whose KV is on its way */
  ServeMetrics          *metrics;
  ServeOutput           *out;
  GError                *error;          /* set by a handler; stops the run */
  guint64                in_flight;      /* arrived, not finished/rejected */
  gboolean               sampling;

  ServeProgressFn        progress;
  gpointer               progress_user;

  SimRng                *class_rng;      /* priority / client rules; NULL when unused */
  double                *client_cdf;     /* cumulative client shares (client_skew > 0) */
  const ModelLlm        *draft_llm;      /* speculation.draft as a model, or NULL (Medusa) */
  /* Every replica is identical, so they share one cost model (~230 KB
   * each), and with it its memos: the scheduled prefill's answers, one
   * replica's shapes serve the others (the Azure conversation replay on 4
   * replicas: 5,169 schedules computed with one cost model per replica,
   * 2,850 shared). It is the cost cache's (serve_world_new_cached) or own_cost. */
  ModelCost             *cost;
  ModelCost             *own_cost;       /* NULL when the cost cache's is used */
  ModelCost             *draft_cost;     /* when draft_llm is set */
  /* the decode pool's GPU and cost model when they differ from the prefill
   * pool's (cluster.decode_gpu / decode_tp); NULL otherwise */
  const ModelGpu        *decode_gpu;
  ModelCost             *decode_cost;
  GPtrArray             *pipes;          /* ServePipeline* (owned), one per replica at pp > 1 */
};

struct ServeCostCache {
  ModelCost           cost;
  const ModelLlm     *llm;      /* what `cost` was built for; NULL = nothing yet */
  const ModelGpu     *gpu;
  const ModelNetwork *network;
  int                 tp, pp;
};

ServeCostCache *
serve_cost_cache_new (void)
{
  return g_new0 (ServeCostCache, 1);
}

void
serve_cost_cache_free (ServeCostCache *cache)
{
  g_free (cache);
}

/* ---- prefix caching (cache.prefix_caching) -------------------------------
 *
 * vLLM's automatic prefix caching and SGLang's radix cache, at the trace's
 * hash granularity: a prompt unit of pc_unit_tokens tokens (Mooncake's 512)
 * whose KV one request computed is kept under its hash, and a later request
 * whose prompt starts with the same hashes takes those units instead of
 * prefilling them. Only whole units of the prompt are cached, and at least
 * one prompt token is always computed (the first token comes from a forward
 * pass), as in vLLM. A unit no request holds stays cached while its blocks
 * are not needed; blocks run out -> the least recently released go first.
 * With a host tier (cache.prefix_host_gib > 0; SGLang's HiCache, LMCache
 * behind vLLM) an evicted unit is copied to the replica's host memory
 * instead of dropped, least recently offloaded dropped from there when it
 * is full, and a hit on it is copied back into GPU blocks; both copies go
 * over the host link like swapping's (cache.swap.link_efficiency, charged
 * to the next iteration or overlapped, cache.swap.overlap). */

static void swap_charge (struct ServeReplica *rep, gint64 blocks);

/* Units of r's prompt the cache may hold: whole units with a hash. */
static gint64
pc_max_units (const struct ServeReplica *rep, const struct ServeRequest *r)
{
  return MIN ((gint64) r->n_prefix_blocks, r->prompt / rep->pc_unit_tokens);
}

gint64
serve__pc_peek (const struct ServeReplica *rep, const struct ServeRequest *r, gint64 *idle_blocks,
                gint64 *host_units)
{
  gint64 idle = 0, host = 0, h = 0;
  if (rep->pc && r->prefix_blocks) {
    /* the whole units of the prompt, leaving at least one token to compute */
    gint64 max = MIN (pc_max_units (rep, r),
                      (r->prompt + r->generated - 1) / rep->pc_unit_tokens);
    for (; h < max; h++) {
      ServePrefixEntry *e = g_hash_table_lookup (rep->pc, &r->prefix_blocks[h]);
      if (!e)
        break;
      if (e->on_host)
        host++;
      else if (e->refs == 0)
        idle += rep->pc_unit_blocks;
    }
  }
  if (idle_blocks)
    *idle_blocks = idle;
  if (host_units)
    *host_units = host;
  return h;
}

gint64
serve__pc_blocks_for (const struct ServeReplica *rep, const struct ServeRequest *r, gint64 tokens,
                      gint64 *units, gint64 *own, gint64 *host)
{
  gint64 idle, h = serve__pc_peek (rep, r, &idle, host);
  *units = h;
  *own = MAX ((tokens + rep->mem.block_size - 1) / rep->mem.block_size - h * rep->pc_unit_blocks, 0);
  return *own + *host * rep->pc_unit_blocks + idle;
}

static void
pc_ref (struct ServeReplica *rep, ServePrefixEntry *e)
{
  if (e->refs++ == 0) {
    g_queue_unlink (&rep->pc_idle, &e->link);
    rep->pc_idle_blocks -= rep->pc_unit_blocks;
  }
}

/* A unit in host memory becomes a GPU entry held once (its blocks taken by
 * the caller). */
static void
pc_host_take (struct ServeReplica *rep, ServePrefixEntry *e)
{
  g_queue_unlink (&rep->pc_host_lru, &e->link);
  rep->pc_host_units--;
  rep->pc_gpu_units++;
  e->on_host = FALSE;
  e->refs = 1;
}

/* Let go of r's cached units, last first: the end of a prompt is the least
 * likely to be shared, so it is evicted first (vLLM frees a request's blocks
 * in reverse for the same reason). */
static void
pc_release (struct ServeReplica *rep, struct ServeRequest *r)
{
  for (gint64 i = r->pc_units - 1; i >= 0; i--) {
    ServePrefixEntry *e = g_hash_table_lookup (rep->pc, &r->prefix_blocks[i]);
    g_assert (e && e->refs > 0 && !e->on_host);
    if (--e->refs == 0) {
      g_queue_push_tail_link (&rep->pc_idle, &e->link);
      rep->pc_idle_blocks += rep->pc_unit_blocks;
    }
  }
  r->pc_units = r->pc_blocks = 0;
}

/* Evict idle units, least recently released first, until `blocks` are free
 * or none is left: to the host tier when there is one (its least recently
 * offloaded dropped beyond its capacity), else dropped. */
static void
pc_evict (struct ServeReplica *rep, gint64 blocks)
{
  ServeMetrics *m = rep->world->metrics;
  while (rep->free_blocks < blocks && rep->pc_idle.head) {
    ServePrefixEntry *e = rep->pc_idle.head->data;
    g_queue_unlink (&rep->pc_idle, &e->link);
    rep->pc_idle_blocks -= rep->pc_unit_blocks;
    rep->free_blocks += rep->pc_unit_blocks;
    rep->pc_gpu_units--;
    m->pc_evicted_units++;
    if (rep->pc_host_cap_units <= 0) {
      g_hash_table_remove (rep->pc, &e->hash);   /* frees e */
      continue;
    }
    e->on_host = TRUE;
    g_queue_push_tail_link (&rep->pc_host_lru, &e->link);
    rep->pc_host_units++;
    swap_charge (rep, rep->pc_unit_blocks);
    m->pc_offloaded_units++;
    while (rep->pc_host_units > rep->pc_host_cap_units) {
      ServePrefixEntry *x = rep->pc_host_lru.head->data;
      g_queue_unlink (&rep->pc_host_lru, &x->link);
      rep->pc_host_units--;
      m->pc_host_dropped_units++;
      g_hash_table_remove (rep->pc, &x->hash);
    }
  }
}

/* After an iteration: the prompt units r has now computed join the cache
 * (r's own blocks become the entry's), or, where another request computed
 * the same unit meanwhile, r takes the cached one and frees its copy (a copy
 * only in host memory is refreshed from r's blocks instead). */
static void
pc_insert (struct ServeReplica *rep, struct ServeRequest *r)
{
  gint64 n = MIN (pc_max_units (rep, r), MIN (r->computed, r->prompt) / rep->pc_unit_tokens);
  for (gint64 i = r->pc_units; i < n; i++) {
    ServePrefixEntry *e = g_hash_table_lookup (rep->pc, &r->prefix_blocks[i]);
    if (e && e->on_host)
      pc_host_take (rep, e);
    else if (e) {
      pc_ref (rep, e);
      rep->free_blocks += rep->pc_unit_blocks;
    } else {
      e = g_new0 (ServePrefixEntry, 1);
      e->hash = r->prefix_blocks[i];
      e->refs = 1;
      e->link.data = e;
      g_hash_table_insert (rep->pc, &e->hash, e);
      rep->pc_gpu_units++;
      rep->world->metrics->pc_inserted_units++;
    }
    r->blocks -= rep->pc_unit_blocks;
    g_assert (r->blocks >= 0);
  }
  r->pc_units = MAX (r->pc_units, n);
  r->pc_blocks = r->pc_units * rep->pc_unit_blocks;
}

/* serve__kv_reserve for a fresh request with the prefix cache on: take the
 * units the cache holds for it (those in host memory copied back into GPU
 * blocks), then its own blocks for the rest; nothing changes when the
 * blocks are not there. */
G_GNUC_NO_INLINE static gboolean
pc_reserve (struct ServeReplica *rep, struct ServeRequest *r, gint64 tokens)
{
  ServeMetrics *m = rep->world->metrics;
  gint64 h, own, host;
  if (serve__pc_blocks_for (rep, r, tokens, &h, &own, &host) > serve__kv_free_for_use (rep))
    return FALSE;
  const gint64 take = own + host * rep->pc_unit_blocks;   /* taken from the free blocks */
  for (gint64 i = 0; i < h; i++) {
    ServePrefixEntry *e = g_hash_table_lookup (rep->pc, &r->prefix_blocks[i]);
    if (e->on_host)
      pc_host_take (rep, e);   /* out of the host LRU before evicting into it */
    else
      pc_ref (rep, e);
  }
  pc_evict (rep, take);
  rep->free_blocks -= take;
  r->blocks = own;
  r->pc_units = h;
  r->pc_blocks = h * rep->pc_unit_blocks;
  r->computed = h * rep->pc_unit_tokens;
  if (host > 0) {
    swap_charge (rep, host * rep->pc_unit_blocks);
    m->pc_host_hit_tokens += (guint64) (host * rep->pc_unit_tokens);
  }
  m->pc_lookups++;
  m->pc_lookup_tokens += (guint64) (r->prompt + r->generated);
  m->pc_hit_tokens += (guint64) r->computed;
  return TRUE;
}

/* ---- KV accounting (called through policies/policy.h) ----------------- */

/* Free blocks short of `blocks`: evict idle prefix-cache units to make them
 * up; FALSE (nothing evicted) when even all of them would not do. */
G_GNUC_NO_INLINE static gboolean
kv_make_room (struct ServeReplica *rep, gint64 blocks)
{
  if (blocks > serve__kv_free_for_use (rep))
    return FALSE;
  pc_evict (rep, blocks);
  return TRUE;
}

gboolean
serve__kv_reserve_slow (struct ServeReplica *rep, struct ServeRequest *r, gint64 tokens)
{
  gint64 need = serve__kv_blocks_for (rep, r, tokens);
  gint64 extra = need - r->blocks;   /* < 0: blocks slid out of the window */
  if (extra == 0 && rep->kv_window == 0)
    return TRUE;
  if (serve__pc_fresh (r))   /* (holds nothing: never the case above) */
    return pc_reserve (rep, r, tokens);
  if (extra > 0 && extra > rep->free_blocks && !kv_make_room (rep, extra))
    return FALSE;
  rep->free_blocks -= extra;
  r->blocks = need;
  if (rep->kv_window > 0)   /* moves with the window even when extra is 0 */
    r->kv_first = serve__kv_first_needed (rep, r);
  return TRUE;
}

static void
kv_release (struct ServeReplica *rep, struct ServeRequest *r)
{
  rep->free_blocks += r->blocks;
  r->blocks = 0;
  r->kv_first = 0;
  if (r->pc_units > 0)
    pc_release (rep, r);
}

static void
host_release (struct ServeReplica *rep, struct ServeRequest *r)
{
  rep->host_blocks_used -= r->host_blocks;
  r->host_blocks = r->host_valid = 0;
}

void
serve__preempt (struct ServeReplica *rep, struct ServeRequest *r)
{
  kv_release (rep, r);
  host_release (rep, r);
  r->swapped = FALSE;
  r->computed = 0;
  r->preemptions++;
}

/* ---- swapping (cache.preemption = "swap") -------------------------------- */

gboolean
serve__swap_enabled (const struct ServeReplica *rep)
{
  return rep->world->sc->swap;
}

/* Charge copying `blocks` blocks over the host link to the next iteration:
 * bytes per GPU (each TP rank copies its shard over its own link) and one
 * copy operation per `granularity_blocks` blocks. */
static void
swap_charge (struct ServeReplica *rep, gint64 blocks)
{
  if (blocks <= 0)
    return;
  const ServeScenario *sc = rep->world->sc;
  rep->swap_bytes_pending += (double) blocks * rep->mem.kv_bytes_per_block;
  rep->swap_ops_pending += (guint64) ((blocks + sc->swap_granularity - 1) / sc->swap_granularity);
  rep->world->metrics->swap_blocks += (guint64) blocks;
}

/* Host memory (cache.swap.host_gib) in KV blocks of this replica. */
static double
host_cap_blocks (const struct ServeReplica *rep)
{
  return rep->world->sc->swap_host_gib * 1073741824.0
         / (rep->mem.kv_bytes_per_block > 0 ? rep->mem.kv_bytes_per_block : 1);
}

/* ---- conversation re-use (cache.swap.reuse_conversation) ----------------- */

/* Take e out of the replica's table and LRU list without freeing it or its
 * host blocks. */
static void
conv_unlink (struct ServeReplica *rep, ServeConvEntry *e)
{
  g_queue_unlink (&rep->conv_lru, &e->link);
  g_hash_table_steal (rep->conv_host, &e->conversation);
}

/* Forget e and free its host blocks. */
static void
conv_drop (struct ServeReplica *rep, ServeConvEntry *e)
{
  conv_unlink (rep, e);
  rep->host_blocks_used -= e->blocks;
  g_free (e);
}

/* Evict least recently stored conversations until `extra` more host blocks
 * fit. FALSE when they cannot, even with none left. */
static gboolean
conv_make_room (struct ServeReplica *rep, gint64 extra)
{
  double cap = host_cap_blocks (rep);
  while ((double) (rep->host_blocks_used + extra) > cap && rep->conv_lru.head) {
    conv_drop (rep, rep->conv_lru.head->data);
    rep->world->metrics->conv_evictions++;
  }
  return (double) (rep->host_blocks_used + extra) <= cap;
}

/* r finished: keep its KV (the `computed` tokens: prompt + output - 1, the
 * last token's KV is never computed) on the host for the conversation's next
 * turn, replacing any earlier turn's. The copy is charged like a swap-out;
 * with reuse_host_copy, blocks still valid from its own restore are not
 * copied again. Skipped when host memory cannot hold it. */
static void
conv_save (struct ServeReplica *rep, struct ServeRequest *r)
{
  const ServeScenario *sc = rep->world->sc;
  ServeMetrics *m = rep->world->metrics;
  ServeConvEntry *old = g_hash_table_lookup (rep->conv_host, &r->conversation);
  if (old)
    conv_drop (rep, old); /* superseded by the later turn */
  if (r->computed <= 0)
    return;
  gint64 need = (r->computed + rep->mem.block_size - 1) / rep->mem.block_size;
  gint64 valid = sc->swap_reuse ? MIN (r->host_valid, need) : 0;
  gint64 host_after = MAX (need, r->host_blocks);
  if (!conv_make_room (rep, host_after - r->host_blocks)) {
    m->conv_skipped++;
    return; /* retire() frees r's own host copy */
  }
  swap_charge (rep, need - valid);
  m->conv_blocks_out += (guint64) (need - valid);
  m->conv_saves++;
  rep->host_blocks_used += host_after - r->host_blocks;
  r->host_blocks = r->host_valid = 0; /* now the entry's */
  ServeConvEntry *e = g_new0 (ServeConvEntry, 1);
  e->conversation = r->conversation;
  e->tokens = r->computed;
  e->blocks = host_after;
  e->link.data = e;
  g_hash_table_insert (rep->conv_host, &e->conversation, e);
  g_queue_push_tail_link (&rep->conv_lru, &e->link);
}

/* A turn arrived on rep: when an earlier turn of its conversation left KV in
 * this replica's host memory, the longest shared prefix, min(prompt - 1,
 * stored) tokens (one prompt token is always computed, so the turn emits its
 * first token from a forward pass), counts as computed and swapped out: the
 * scheduler swaps it in instead of prefilling it. The entry is consumed. */
static void
conv_restore (struct ServeReplica *rep, struct ServeRequest *r)
{
  ServeConvEntry *e = g_hash_table_lookup (rep->conv_host, &r->conversation);
  if (!e)
    return;
  gint64 reuse = MIN (e->tokens, r->prompt - 1);
  if (reuse <= 0) {
    conv_drop (rep, e);
    return;
  }
  conv_unlink (rep, e);
  r->host_blocks = e->blocks; /* stays counted in host_blocks_used */
  r->host_valid = reuse / rep->mem.block_size;
  g_free (e);
  r->computed = reuse;
  r->swapped = TRUE;
  r->conv_restore = TRUE;
  rep->world->metrics->conv_hits++;
  rep->world->metrics->conv_tokens += (guint64) reuse;
}

gboolean
serve__swap_out (struct ServeReplica *rep, struct ServeRequest *r)
{
  const ServeScenario *sc = rep->world->sc;
  /* Blocks that were full when last copied are still valid on the host: KV
   * of earlier tokens never changes, so only the blocks written since move
   * (the then-partial last block among them). */
  /* its blocks, the prefix cache's it holds among them: on the host they
   * are its own copy (it comes back without sharing them) */
  gint64 held = r->blocks + r->pc_blocks;
  gint64 valid = sc->swap_reuse ? MIN (r->host_valid, held) : 0;
  gint64 copy = held - valid;
  gint64 host_after = MAX (held, r->host_blocks);
  /* a live request's KV outranks kept conversations */
  if (rep->conv_host)
    conv_make_room (rep, host_after - r->host_blocks);
  if ((double) (rep->host_blocks_used - r->host_blocks + host_after) > host_cap_blocks (rep))
    return FALSE;
  swap_charge (rep, copy);
  rep->host_blocks_used += host_after - r->host_blocks;
  r->host_blocks = host_after;
  r->host_valid = r->computed / rep->mem.block_size;
  kv_release (rep, r);
  r->swapped = TRUE;
  r->preemptions++;
  rep->world->metrics->swap_outs++;
  return TRUE;
}

gboolean
serve__swap_in (struct ServeReplica *rep, struct ServeRequest *r)
{
  gint64 need = serve__kv_blocks_for (rep, r, r->computed);   /* it holds none */
  if (!kv_make_room (rep, need))
    return FALSE;
  rep->free_blocks -= need;
  r->blocks = need;
  r->kv_first = serve__kv_first_needed (rep, r);
  r->swapped = FALSE;
  if (r->kv_remote) {
    /* its KV came from a prefill replica, already paid for (kv_xfer_time):
     * blocks are all it takes */
    r->kv_remote = FALSE;
    return TRUE;
  }
  swap_charge (rep, need);
  if (r->conv_restore) {
    r->conv_restore = FALSE;
    rep->world->metrics->conv_blocks_in += (guint64) need;
  } else
    rep->world->metrics->swap_ins++;
  if (!rep->world->sc->swap_reuse)
    host_release (rep, r);
  return TRUE;
}

/* ---- speculative decoding ---------------------------------------------------- */

/* Fill `work` with the batch's work, decode entries verifying k+1 tokens
 * (k < 0: each entry's own k). Returns the draft time in seconds. */
static double
spec_work (struct ServeReplica *rep, const struct ServeBatch *b, int k, GArray *work,
           double *target_s)
{
  g_array_set_size (work, 0);
  gint64 max_k = 0;
  for (guint i = 0; i < b->len; i++) {
    const ServeBatchEntry *e = &b->entries[i];
    const struct ServeRequest *r = e->req;
    gint64 ek = e->k;
    if (k >= 0)
      ek = (e->q == 1 && r->generated > 0 && r->computed + 1 == r->prompt + r->generated)
             ? MIN (k, r->output - r->generated - 1) : 0;
    ModelSeqWork wk = { e->q + MAX (ek, 0), r->computed };
    g_array_append_val (work, wk);
    max_k = MAX (max_k, ek);
  }
  ModelIterCost c;
  model_cost_iteration (rep->cost, (const ModelSeqWork *) work->data, work->len, &c);
  *target_s = c.total_s;
  if (max_k <= 0)
    return 0;
  if (!rep->world->draft_llm)
    return rep->world->sc->spec_medusa_overhead * c.gpu_s;
  /* A draft model proposes one token per pass for every speculating entry,
   * max_k passes in a row (the entries drafting fewer drop out). */
  double draft = 0;
  GArray *dw = g_array_new (FALSE, FALSE, sizeof (ModelSeqWork));
  for (gint64 j = 0; j < max_k; j++) {
    g_array_set_size (dw, 0);
    for (guint i = 0; i < b->len; i++) {
      const ServeBatchEntry *e = &b->entries[i];
      gint64 ek = g_array_index (work, ModelSeqWork, i).q - e->q;
      if (ek > j) {
        ModelSeqWork wk = { 1, e->req->computed + j };
        g_array_append_val (dw, wk);
      }
    }
    model_cost_iteration (rep->world->draft_cost, (const ModelSeqWork *) dw->data, dw->len, &c);
    draft += c.total_s;
  }
  g_array_free (dw, TRUE);
  return draft;
}

double
serve__estimate_s (struct ServeReplica *rep, const struct ServeBatch *b, int k)
{
  GArray *work = g_array_new (FALSE, FALSE, sizeof (ModelSeqWork));
  double target;
  double draft = spec_work (rep, b, k, work, &target);
  g_array_free (work, TRUE);
  return target + draft;
}

guint
serve__speculate (struct ServeReplica *rep, struct ServeBatch *b, int k)
{
  guint n = 0;
  for (guint i = 0; k > 0 && i < b->len; i++) {
    ServeBatchEntry *e = &b->entries[i];
    struct ServeRequest *r = e->req;
    /* decodes only: one pending token after the first (not a 1-token
     * chunk of a prompt being recomputed) */
    if (e->q != 1 || r->generated == 0 || r->computed + 1 != r->prompt + r->generated || e->k > 0)
      continue;
    gint64 ek = MIN ((gint64) k, r->output - r->generated - 1);
    if (ek <= 0 || !serve__kv_reserve (rep, r, r->computed + 1 + ek))
      continue;
    e->k = (int) ek;
    b->work[i].q = 1 + ek;
    b->tokens += ek;
    b->n_spec++;
    n++;
  }
  return n;
}

/* Draft tokens accepted for one verification: successive draws until the
 * first rejection. */
static gint64
spec_accept (struct ServeReplica *rep, struct ServeRequest *r, gint64 k)
{
  const ServeScenario *sc = rep->world->sc;
  if (!rep->spec_rng)
    rep->spec_rng = sim_rng_new (sc->seed, "speculation", rep->index);
  if (r->spec_alpha < 0) {
    double a = sc->spec_acceptance;
    if (sc->spec_spread > 0)
      a += sc->spec_spread * (2 * sim_rng_double (rep->spec_rng) - 1);
    r->spec_alpha = CLAMP (a, 0.0, 1.0);
  }
  gint64 acc = 0;
  /* alpha 1 and 0 need no draws: exact, and no stream consumed */
  if (r->spec_alpha >= 1.0)
    acc = k;
  else if (r->spec_alpha > 0)
    while (acc < k && sim_rng_double (rep->spec_rng) < r->spec_alpha)
      acc++;
  rep->spec_proposed += (guint64) k;
  rep->spec_accepted += (guint64) acc;
  return acc;
}

static void host_release (struct ServeReplica *rep, struct ServeRequest *r);

static void
retire (struct ServeReplica *rep, struct ServeRequest *r)
{
  kv_release (rep, r);
  host_release (rep, r);
  rep->load--;
  rep->world->in_flight--;
  g_queue_unlink (&rep->live, &r->live_link);
  g_ptr_array_add (rep->retire, r);
}

void
serve__reject (struct ServeReplica *rep, struct ServeRequest *r, const char *why)
{
  if (r->rejected || r->finished)
    return;
  r->rejected = TRUE;
  r->completion = sim_engine_now (rep->world->engine);
  rep->world->metrics->rejected++;
  if (r->completion > rep->world->metrics->last_event)
    rep->world->metrics->last_event = r->completion;
  serve_output_request (rep->world->out, r, why);
  retire (rep, r);
}

gboolean
serve_world_kv_conserved (const ServeWorld *w)
{
  /* free + blocks held by the live requests == total, on every replica */
  for (guint i = 0; i < w->replicas->len; i++) {
    struct ServeReplica *rep = g_ptr_array_index (w->replicas, i);
    gint64 held = 0, refs = 0;
    for (GList *l = rep->live.head; l; l = l->next) {
      const struct ServeRequest *r = l->data;
      held += r->blocks;
      for (gint64 u = 0; u < r->pc_units; u++) {
        const ServePrefixEntry *e = g_hash_table_lookup (rep->pc, &r->prefix_blocks[u]);
        if (!e || e->refs <= 0)
          return FALSE;
        refs++;
      }
    }
    /* and the prefix cache: every entry's blocks, the idle ones counted
     * apart, and as many references as the live requests hold */
    if (rep->pc) {
      GHashTableIter it;
      gpointer v;
      gint64 n_refs = 0, n_idle = 0, n_host = 0, n_gpu = 0;
      g_hash_table_iter_init (&it, rep->pc);
      while (g_hash_table_iter_next (&it, NULL, &v)) {
        const ServePrefixEntry *e = v;
        if (e->on_host && e->refs != 0)
          return FALSE;   /* a unit in host memory is held by nobody */
        n_refs += e->refs;
        n_host += e->on_host;
        n_gpu += !e->on_host;
        n_idle += !e->on_host && e->refs == 0;
      }
      if (n_refs != refs || n_idle != (gint64) g_queue_get_length (&rep->pc_idle)
          || rep->pc_idle_blocks != n_idle * rep->pc_unit_blocks || n_gpu != rep->pc_gpu_units
          || n_host != rep->pc_host_units || n_host != (gint64) g_queue_get_length (&rep->pc_host_lru)
          || (rep->pc_host_cap_units > 0 ? n_host > rep->pc_host_cap_units : n_host != 0))
        return FALSE;
      held += n_gpu * rep->pc_unit_blocks;
    }
    if (rep->free_blocks < 0 || rep->free_blocks + held != rep->mem.num_blocks)
      return FALSE;
  }
  return TRUE;
}

/* ---- replicas ---------------------------------------------------------- */

static void
kv_sample (struct ServeReplica *rep)
{
  /* idle prefix-cache blocks count as free, as vLLM reports its usage */
  double used = rep->mem.num_blocks
                  ? 1.0 - (double) serve__kv_free_for_use (rep) / (double) rep->mem.num_blocks : 0.0;
  sim_time_avg_set (&rep->kv_used, sim_engine_now (rep->world->engine), used);
}

static void
request_free (struct ServeRequest *r)
{
  g_free (r->prefix_blocks);
  g_free (r);
}

/* Free retired requests: called only where no policy still points at them. */
static void
flush_retired (struct ServeReplica *rep)
{
  for (guint i = 0; i < rep->retire->len; i++)
    request_free (g_ptr_array_index (rep->retire, i));
  g_ptr_array_set_size (rep->retire, 0);
}

/* Host-link time of the copies queued on rep; clears the queue and counts
 * the time in the metrics. */
static SimTime
swap_time (struct ServeReplica *rep)
{
  const ServeScenario *sc = rep->world->sc;
  double swap_s = rep->swap_bytes_pending / (rep->gpu->pcie_bw * sc->swap_link_eff)
                  + (double) rep->swap_ops_pending * sc->swap_op_latency_s;
  SimTime st = SIM_TIME_FROM_S (swap_s);
  rep->world->metrics->swap_ns += st;
  rep->swap_bytes_pending = 0;
  rep->swap_ops_pending = 0;
  return st;
}

/* Pipeline parallelism: the batch's CPU work when the replica's one engine
 * process is free (it prepares every virtual engine's batches, as vLLM's
 * driver does), then its stages in order, each when the stage is free
 * (another virtual engine's batch may hold it) and the previous stage has
 * passed the activations on. Reserves the CPU and the stages; returns the
 * time from now to the last stage's end. *gpu_ns: the stages' summed time
 * (GPU occupancy, for busy_ns). */
static SimTime
pipeline_ns (struct ServeReplica *rep, const ModelIterCost *it, gint64 tokens, SimTime now,
             SimTime *gpu_ns)
{
  ServePipeline *p = rep->pipe;
  double st[64];
  const SimTime xfer = SIM_TIME_FROM_S (model_cost_stage_times (rep->cost, it, tokens, st));
  SimTime t = MAX (now, p->cpu_free) + SIM_TIME_FROM_S (it->cpu_s);
  p->cpu_free = t;
  *gpu_ns = 0;
  for (int s = 0; s < p->pp; s++) {
    SimTime d = SIM_TIME_FROM_S (st[s]);
    SimTime start = MAX (t, p->stage_free[s]);
    p->stage_free[s] = start + d;
    t = start + d + (s + 1 < p->pp ? xfer : 0);
    *gpu_ns += d;
  }
  return t - now;
}

/* Ask the scheduler for a batch and start the iteration, or go idle. */
static void
replica_step (struct ServeReplica *rep)
{
  ServeWorld *w = rep->world;
  struct ServeBatch *b = &rep->batch;
  /* called at an iteration's end (busy) or on an arrival at an idle replica */
  const gboolean back_to_back = rep->busy;
  b->len = 0;
  b->tokens = 0;
  b->n_spec = 0;
  rep->ops->schedule (rep->state, rep, b);
  flush_retired (rep); /* requests it rejected */
  kv_sample (rep);
  SimTime now = sim_engine_now (w->engine);
  if (b->len == 0) {
    rep->busy = FALSE;
    if (rep->swap_bytes_pending > 0) {
      /* copies queued by the last iteration (a finished turn's KV) run on
       * the host link while the replica idles; a later iteration waits only
       * for what is left of them */
      rep->copy_until = MAX (rep->copy_until, now) + swap_time (rep);
    }
    return;
  }
  for (guint i = 0; i < b->len; i++) {
    ServeBatchEntry *e = &b->entries[i];
    if (e->req->first_scheduled < 0)
      e->req->first_scheduled = now;
  }
  ModelIterCost cost;
  model_cost_iteration (rep->cost, b->work, b->len, &cost);
  SimTime dt = model_iter_ns (&cost);
  SimTime gpu_ns = dt;   /* GPU time charged to busy_ns */
  rep->last_gpu_s = cost.gpu_s;
  if (rep->pipe)
    dt = pipeline_ns (rep, &cost, b->tokens, now, &gpu_ns);
  /* An engine that overlaps its CPU work with the GPU prepares this
   * iteration (schedule, inputs) and samples the last one while the GPU runs:
   * back to back, an iteration takes the longer of the two; after an idle
   * spell nothing was prepared and it pays both. (The one-step-late view of
   * finished requests such a scheduler has is not modelled.) */
  if (w->sc->cpu_overlap && back_to_back && !rep->pipe)   /* (not modelled with PP) */
    dt = llround (MAX (cost.gpu_s, cost.cpu_s) * 1e9);
  if (b->n_spec > 0) {
    /* b->work already holds the k+1-token verifications; add the drafts */
    GArray *tmp = g_array_new (FALSE, FALSE, sizeof (ModelSeqWork));
    double target_s;
    double draft_s = spec_work (rep, b, -1, tmp, &target_s);
    g_array_free (tmp, TRUE);
    dt += SIM_TIME_FROM_S (draft_s);
  }
  /* copies still running from an idle period come first on the link */
  SimTime st = rep->copy_until > now ? rep->copy_until - now : 0;
  if (rep->swap_bytes_pending > 0)
    st += swap_time (rep);
  if (st > 0)
    dt = w->sc->swap_overlap ? MAX (dt, st) : dt + st;
  dt = MAX (1, dt);
  rep->busy = TRUE;
  rep->busy_ns += rep->pipe ? gpu_ns : dt;
  rep->iterations++;
  serve_metrics_iteration (w->metrics, b->len, b->tokens);
  sim_engine_schedule_in (w->engine, dt, w->ev_iter_end, rep, NULL);
}

/* ---- prefill/decode disaggregation (cluster.prefill_replicas) ------------
 *
 * As DistServe and Splitwise run it: a prefill replica computes a prompt and
 * emits its first token; the request's KV then moves to a decode replica
 * while neither computes (the copy engines and NICs move it: a send/recv of
 * each TP rank's shard, priced by the calibrated collective model over NVLink
 * or the network, cluster.kv_transfer), and the prefill replica holds the
 * blocks until the copy ends. The decode replica, chosen when the copy
 * starts, is the least loaded (counting requests on their way to it; then
 * the one with most free blocks, then the first); there the request waits
 * like a swapped-out one, with its KV ready: admitting it takes blocks and
 * no host copy, and it decodes from then on. A request of one output token
 * finishes on its prefill replica. Both pools run the scenario's scheduler;
 * the decode pool may have its own GPU and TP (cluster.decode_gpu,
 * decode_tp), with its own cost model and memory plan. */

/* Seconds to move r's KV (its computed tokens, whole blocks) from src to
 * dst: each TP rank sends its own shard, all at once; a decode pool of
 * another GPU or TP receives the same bytes over its own ranks' links, and
 * the slower side sets the time. *bytes: per sending GPU. */
static double
kv_xfer_time (const struct ServeReplica *src, const struct ServeReplica *dst,
              const struct ServeRequest *r, double *bytes)
{
  const int per_node = src->world->sc->kv_transfer_nvlink ? 2 : 1;
  gint64 blocks = (r->computed + src->mem.block_size - 1) / src->mem.block_size;
  *bytes = (double) blocks * src->mem.kv_bytes_per_block;
  double t = model_comm_time (&src->cost->params, src->gpu, MODEL_COLL_SENDRECV, *bytes, 2,
                              per_node, NULL);
  if (dst->cost != src->cost)
    t = MAX (t, model_comm_time (&dst->cost->params, dst->gpu, MODEL_COLL_SENDRECV,
                                 *bytes * src->tp / dst->tp, 2, per_node, NULL));
  return t;
}

/* r's prefill on rep emitted its first token: start moving its KV. Its
 * scheduler lets go of it (policy_req_finished); its blocks stay. */
static void
kv_handoff (struct ServeReplica *rep, struct ServeRequest *r)
{
  ServeWorld *w = rep->world;
  /* the least loaded decode replica, counting what is on its way to it */
  struct ServeReplica *dst = NULL;
  for (guint i = w->n_prefill; i < w->replicas->len; i++) {
    struct ServeReplica *d = g_ptr_array_index (w->replicas, i);
    if (!dst || d->load < dst->load
        || (d->load == dst->load && serve__kv_free_for_use (d) > serve__kv_free_for_use (dst)))
      dst = d;
  }
  double bytes, xs = kv_xfer_time (rep, dst, r, &bytes);
  if (w->sc->kv_layerwise) {
    /* each layer's KV left as soon as the last iteration had computed it:
     * what is left after it ends is the copy beyond those layers' time, and
     * at least the last layer's share (Splitwise's layer-wise transfer;
     * earlier chunks of a chunked prefill are not counted as sent) */
    const double L = rep->cost->llm->num_layers;
    xs = MAX (xs / L, xs - rep->last_gpu_s * (L - 1) / L);
  }
  SimTime dt = MAX (1, SIM_TIME_FROM_S (xs));
  r->migrating = TRUE;
  r->xfer_dst = dst;
  dst->load++;
  rep->load--;
  w->in_transfer++;
  w->metrics->kv_xfers++;
  w->metrics->kv_xfer_bytes += bytes;
  w->metrics->kv_xfer_ns += dt;
  sim_engine_schedule_in (w->engine, dt, w->ev_kv_xfer, rep, r);
}

/* The copy ended: free the prefill replica's blocks and queue r on a decode
 * replica with its KV there. */
static void
on_kv_xfer_end (SimEngine *engine, gpointer user, gpointer target, gpointer data)
{
  ServeWorld *w = user;
  struct ServeReplica *src = target;
  struct ServeRequest *r = data;
  struct ServeReplica *dst = r->xfer_dst;   /* its load counts r already */
  kv_release (src, r);
  g_queue_unlink (&src->live, &r->live_link);
  w->in_transfer--;
  r->xfer_dst = NULL;
  r->migrating = FALSE;
  r->swapped = r->kv_remote = TRUE;
  r->replica = dst->index;
  r->pc_rep = dst->pc && r->prefix_blocks ? dst : NULL;
  g_queue_push_tail_link (&dst->live, &r->live_link);
  if (dst->ops->on_arrival)
    dst->ops->on_arrival (dst->state, dst, r);
  kv_sample (src);
  if (!src->busy)
    replica_step (src);
  if (!dst->busy)
    replica_step (dst);
}

static void
on_iteration_end (SimEngine *engine, gpointer user, gpointer target, gpointer data)
{
  ServeWorld *w = user;
  struct ServeReplica *rep = target;
  struct ServeBatch *b = &rep->batch;
  SimTime now = sim_engine_now (engine);
  for (guint i = 0; i < b->len; i++) {
    ServeBatchEntry *e = &b->entries[i];
    struct ServeRequest *r = e->req;
    r->in_batch = FALSE;
    if (r->rejected)
      continue;
    r->computed += e->q;
    if (G_UNLIKELY (r->pc_rep != NULL) && r->pc_units < (gint64) r->n_prefix_blocks)
      pc_insert (rep, r);
    if (r->computed < r->prompt + r->generated)
      continue; /* a prefill chunk that emits no token yet */
    if (G_UNLIKELY (e->k > 0)) {
      /* speculation: the accepted drafts are emitted with the verified token */
      gint64 acc = spec_accept (rep, r, e->k);
      r->computed += acc;
      for (gint64 j = 0; j < acc; j++) {
        r->generated++;
        serve_metrics_token_gap (w->metrics, j == 0 ? now - r->last_token : 0);
        r->last_token = now;
      }
    }
    r->generated++;
    if (r->generated == 1)
      r->first_token = now;
    else
      serve_metrics_token_gap (w->metrics, now - r->last_token);
    r->last_token = now;
    if (G_UNLIKELY (rep->index < w->n_prefill) && r->generated < r->output) {
      kv_handoff (rep, r);
      continue;
    }
    if (r->generated == r->output) {
      r->finished = TRUE;
      r->completion = now;
      serve_metrics_request_done (w->metrics, r);
      serve_output_request (w->out, r, NULL);
      if (rep->conv_host && r->conversation >= 0)
        conv_save (rep, r);
      retire (rep, r);
    }
  }
  if (rep->ops->after_iteration)
    rep->ops->after_iteration (rep->state, rep, b);
  flush_retired (rep);
  replica_step (rep);
}

/* ---- arrivals ------------------------------------------------------------ */

static gboolean
read_next (ServeWorld *w)
{
  GError *e = NULL;
  w->have_next = trace_source_next (w->source, &w->next, &e);
  if (e) {
    g_propagate_error (&w->error, e);
    sim_engine_stop (w->engine);
    return FALSE;
  }
  return w->have_next;
}

static void
on_arrival (SimEngine *engine, gpointer user, gpointer target, gpointer data)
{
  ServeWorld *w = user;
  SimTime now = sim_engine_now (engine);
  /* Take every request arriving at this instant before any replica
   * schedules, so simultaneous arrivals can share a batch. */
  while (w->have_next && w->next.arrival == now) {
    struct ServeRequest *r = g_new0 (struct ServeRequest, 1);
    r->id = w->next.id;
    r->arrival = now;
    r->prompt = w->next.prompt_tokens;
    r->output = w->next.output_tokens;
    r->first_scheduled = r->first_token = r->last_token = -1;
    r->spec_alpha = -1;
    r->conversation = w->next.conversation;
    if (w->next.n_prefix_blocks > 0) {
      r->n_prefix_blocks = w->next.n_prefix_blocks;
      r->prefix_blocks = g_memdup2 (w->next.prefix_blocks,
                                    w->next.n_prefix_blocks * sizeof (guint64));
    }
    /* classes given by the trace; the scenario's rules below apply otherwise */
    gboolean trace_priority = w->next.priority >= 0, trace_client = w->next.client >= 0;
    if (trace_priority)
      r->priority = (int) w->next.priority;
    if (trace_client)
      r->client = (guint) w->next.client;
    if (!trace_priority && w->sc->priority_max_prompt > 0 && r->prompt <= w->sc->priority_max_prompt)
      r->priority = 1;
    if (w->class_rng) {
      /* draws happen whether or not the trace gave the class, so the
       * stream stays aligned with the request sequence */
      gboolean hi = w->sc->priority_fraction > 0 && sim_rng_double (w->class_rng) < w->sc->priority_fraction;
      if (hi && !trace_priority)
        r->priority = 1;
      if (w->sc->clients > 1) {
        guint c = 0;
        if (w->client_cdf) {
          double u = sim_rng_double (w->class_rng);
          while (c + 1 < w->sc->clients && u >= w->client_cdf[c])
            c++;
        } else
          c = (guint) sim_rng_int_range (w->class_rng, 0, w->sc->clients - 1);
        if (!trace_client)
          r->client = c;
      }
    }
    if (w->metrics->first_arrival < 0)
      w->metrics->first_arrival = now;
    w->metrics->arrived++;
    w->in_flight++;
    /* disaggregated: the router places requests on the prefill replicas */
    guint n_route = w->n_prefill > 0 ? w->n_prefill : w->replicas->len;
    guint k = w->router->route (w->router_state, (PolicyReplica *const *) w->replicas->pdata,
                                n_route, r);
    g_assert (k < n_route);
    struct ServeReplica *rep = g_ptr_array_index (w->replicas, k);
    r->replica = k;
    if (rep->pc && r->prefix_blocks)
      r->pc_rep = rep;
    r->live_link.data = r;
    g_queue_push_tail_link (&rep->live, &r->live_link);
    rep->load++;
    if (rep->conv_host && r->conversation >= 0)
      conv_restore (rep, r);
    if (rep->ops->on_arrival)
      rep->ops->on_arrival (rep->state, rep, r);
    if (!read_next (w))
      break;
  }
  if (w->error)
    return;
  if (w->have_next)
    sim_engine_schedule (engine, w->next.arrival, w->ev_arrival, NULL, NULL);
  for (guint i = 0; i < w->replicas->len; i++) {
    struct ServeReplica *rep = g_ptr_array_index (w->replicas, i);
    if (!rep->busy)
      replica_step (rep);
  }
}

/* ---- timeline ------------------------------------------------------------ */

static void
on_sample (SimEngine *engine, gpointer user, gpointer target, gpointer data)
{
  ServeWorld *w = user;
  ServeTimelineRow row = { SIM_TIME_TO_S (sim_engine_now (engine)), 0, 0, 0 };
  double blocks = 0, free_blocks = 0;
  for (guint i = 0; i < w->replicas->len; i++) {
    struct ServeReplica *rep = g_ptr_array_index (w->replicas, i);
    row.queued += rep->ops->queued ? rep->ops->queued (rep->state) : 0;
    row.running += rep->busy ? rep->batch.len : 0;
    blocks += (double) rep->mem.num_blocks;
    free_blocks += (double) serve__kv_free_for_use (rep);
  }
  row.kv_used = blocks > 0 ? 1.0 - free_blocks / blocks : 0;
  serve_metrics_sample (w->metrics, &row);
  gboolean any_busy = w->in_transfer > 0;
  for (guint i = 0; i < w->replicas->len; i++)
    any_busy |= ((struct ServeReplica *) g_ptr_array_index (w->replicas, i))->busy;
  /* Nothing running and nothing left to arrive: requests still in flight
   * can never progress (a scheduler left them waiting). Stop; the run
   * reports them. */
  if (!any_busy && !w->have_next)
    return;
  if (w->have_next || w->in_flight > 0)
    sim_engine_schedule_in (engine, SIM_TIME_FROM_S (w->metrics->timeline_interval), w->ev_sample,
                            NULL, NULL);
}

/* ---- construction ----------------------------------------------------------- */

static char *
resolve_trace_path (const char *path, GError **error)
{
  if (g_path_is_absolute (path) || g_file_test (path, G_FILE_TEST_EXISTS))
    return g_strdup (path);
  /* a bundled trace, named relative to the data directory */
  GError *e = NULL;
  char *p = sim_data_find (path, &e);
  if (p)
    return p;
  g_error_free (e);
  g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
               "workload.trace: file '%s' not found (relative paths are tried from the current "
               "directory, then among the bundled traces)", path);
  return NULL;
}

static TraceSource *
open_workload (ServeWorld *w, GError **error)
{
  const ServeScenario *sc = w->sc;
  TraceOptions opts;
  trace_options_init (&opts);
  opts.limit = sc->limit;
  opts.time_scale = sc->time_scale;
  opts.start_s = sc->start_s;
  opts.end_s = sc->end_s;
  if (sc->trace) {
    TraceFormat fmt;
    if (!trace_format_from_string (sc->format, &fmt)) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "workload.format: unknown '%s'",
                   sc->format);
      return NULL;
    }
    w->trace_path = resolve_trace_path (sc->trace, error);
    if (!w->trace_path)
      return NULL;
    return trace_source_open (w->trace_path, fmt, &opts, error);
  }
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  json_t *gen = serve_scenario_get (sc, "workload.generator");
#define GNUM(k) json_number_value (json_object_get (gen, k))
  const char *arr = json_string_value (json_object_get (gen, "arrival"));
  const char *len = json_string_value (json_object_get (gen, "lengths"));
  g.arrival = strcmp (arr, "gamma") == 0 ? TRACE_ARRIVAL_GAMMA : TRACE_ARRIVAL_POISSON;
  g.rate = GNUM ("rate");
  g.cv = GNUM ("cv");
  g.num_requests = (gint64) GNUM ("num_requests");
  g.lengths = strcmp (len, "uniform") == 0 ? TRACE_LENGTH_UNIFORM
            : strcmp (len, "file") == 0   ? TRACE_LENGTH_FILE : TRACE_LENGTH_FIXED;
  g.prompt_tokens = (gint64) GNUM ("prompt_tokens");
  g.output_tokens = (gint64) GNUM ("output_tokens");
  g.prompt_min = (gint64) GNUM ("prompt_min");
  g.prompt_max = (gint64) GNUM ("prompt_max");
  g.output_min = (gint64) GNUM ("output_min");
  g.output_max = (gint64) GNUM ("output_max");
#undef GNUM
  char *lf = NULL;
  json_t *lfj = json_object_get (gen, "length_file");
  if (g.lengths == TRACE_LENGTH_FILE) {
    if (!json_is_string (lfj)) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                   "workload.generator.length_file: required when lengths is \"file\"");
      return NULL;
    }
    lf = resolve_trace_path (json_string_value (lfj), error);
    if (!lf)
      return NULL;
    g.length_file = lf;
  }
  w->expected = sc->limit > 0 ? MIN ((guint64) sc->limit, (guint64) g.num_requests)
                              : (guint64) g.num_requests;
  TraceSource *src = trace_source_new_synthetic (&g, sc->seed, &opts, error);
  g_free (lf);
  return src;
}

static void
replica_free (gpointer p)
{
  struct ServeReplica *rep = p;
  if (rep->ops && rep->ops->clear && rep->state)
    rep->ops->clear (rep->state);
  g_free (rep->state);
  g_free (rep->batch.entries);
  g_free (rep->batch.work);
  flush_retired (rep);
  g_ptr_array_free (rep->retire, TRUE);
  if (rep->spec_rng)
    sim_rng_free (rep->spec_rng);
  if (rep->conv_host)
    g_hash_table_destroy (rep->conv_host); /* frees the entries */
  if (rep->pc)
    g_hash_table_destroy (rep->pc);
  /* requests still live after a failed run */
  GList *l;
  while ((l = g_queue_pop_head_link (&rep->live)))
    request_free (l->data);
  g_free (rep);
}

ServeWorld *
serve_world_new (const ServeScenario *sc, PolicyRegistry *reg, GError **error)
{
  return serve_world_new_with_catalog (sc, reg, NULL, error);
}

ServeWorld *
serve_world_new_with_catalog (const ServeScenario *sc, PolicyRegistry *reg,
                              const ModelCatalog *catalog, GError **error)
{
  return serve_world_new_cached (sc, reg, catalog, NULL, error);
}

ServeWorld *
serve_world_new_cached (const ServeScenario *sc, PolicyRegistry *reg,
                        const ModelCatalog *catalog, ServeCostCache *cache, GError **error)
{
  /* the cache knows catalog entries by address: a world's own catalog dies
   * with it, and the next one's entries may take the same addresses */
  if (!catalog)
    cache = NULL;
  ServeWorld *w = g_new0 (ServeWorld, 1);
  w->sc = sc;
  w->engine = sim_engine_new ();
  w->replicas = g_ptr_array_new_with_free_func (replica_free);
  w->pipes = g_ptr_array_new_with_free_func (g_free);
  w->metrics = serve_metrics_new (sc->slo_ttft, sc->slo_tpot, sc->timeline_interval);

  if (catalog)
    w->catalog = catalog;
  else {
    /* parsing the bundled catalog costs ~12 M instructions: callers that
     * run many worlds (servesim plan) load it once and pass it in */
    w->own_catalog = model_catalog_new ();
    w->catalog = w->own_catalog;
    if (!model_catalog_load_default (w->own_catalog, error))
      goto fail;
    if (sc->catalog && !model_catalog_load_file (w->own_catalog, sc->catalog, error))
      goto fail;
  }
  GError *e = NULL;
  if (!(w->llm = model_catalog_llm (w->catalog, sc->model, &e))) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "model: %s", e ? e->message : "missing");
    g_clear_error (&e);
    goto fail;
  }
  if (!(w->gpu = model_catalog_gpu (w->catalog, sc->gpu, &e))) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "cluster.gpu: %s", e ? e->message : "missing");
    g_clear_error (&e);
    goto fail;
  }

  const PolicySchedulerOps *sops = policy_registry_scheduler (reg, sc->scheduler, &e);
  if (!sops) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "scheduler.name: %s", e->message);
    g_error_free (e);
    goto fail;
  }
  w->router = policy_registry_router (reg, sc->router, &e);
  if (!w->router) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "router.name: %s", e->message);
    g_error_free (e);
    goto fail;
  }
  /* Policy parameters: checked against each policy's table, written back
   * into the resolved scenario so outputs record every value used. */
  w->sched_params = g_new0 (double, policy_params_count (sops->params) + 1);
  w->router_params = g_new0 (double, policy_params_count (w->router->params) + 1);
  if (!policy_params_resolve (sops->params, serve_scenario_get (sc, "scheduler"), "scheduler",
                              w->sched_params, serve_scenario_get (sc, "scheduler"), error)
      || !policy_params_resolve (w->router->params, serve_scenario_get (sc, "router"), "router",
                                 w->router_params, serve_scenario_get (sc, "router"), error))
    goto fail;

  /* Memory: does the model fit, and how many KV blocks? Every replica is
   * identical, so plan once. */
  /* a TP group wider than a node runs its all-reduce across the network:
   * the scenario's, or the one the GPU's profile was calibrated on */
  if (sc->network && !(w->network = model_catalog_network (w->catalog, sc->network, &e))) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "cluster.network: %s (or null for the "
                 "GPU profile's own)", e->message);
    g_clear_error (&e);
    goto fail;
  }
  ModelCost *cost;
  if (cache && cache->llm == w->llm && cache->gpu == w->gpu && cache->tp == sc->tp
      && cache->pp == sc->pp && cache->network == w->network)
    cost = &cache->cost;   /* built by an earlier world, memos and all */
  else {
    cost = cache ? &cache->cost : (w->own_cost = g_new (ModelCost, 1));
    model_cost_init (cost, w->llm, w->gpu, sc->tp);
    if (w->network)
      model_cost_set_network (cost, w->network);
    cost->pp = sc->pp;
    if (cache) {
      cache->llm = w->llm;
      cache->gpu = w->gpu;
      cache->network = w->network;
      cache->tp = sc->tp;
      cache->pp = sc->pp;
    }
  }
  w->cost = cost;
  ModelMemoryPlan mem;
  /* activations are sized for the most tokens one iteration can hold: the
   * policy's token cap under whichever name it uses, else vLLM's default */
  static const char *const token_caps[] = { "max_batched_tokens", "token_budget", "forward_size" };
  double max_tokens = NAN;
  for (guint i = 0; i < G_N_ELEMENTS (token_caps) && isnan (max_tokens); i++)
    max_tokens = policy_param (sops->params, w->sched_params, token_caps[i]);
  if (isnan (max_tokens))
    max_tokens = 8192;
  if (!serve_scenario_check_model (sc, w->llm->num_layers, error))
    goto fail;
  if (!model_memory_plan (cost, sc->block_size, sc->mem_util, (gint64) max_tokens, &mem, &e)) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "cluster: %s", e->message);
    g_error_free (e);
    goto fail;
  }

  /* Speculation with a draft model: its weights share the GPU with the
   * target's, so they come out of the KV cache. */
  if (g_strcmp0 (sc->spec_draft, "medusa") != 0) {
    if (!(w->draft_llm = model_catalog_llm (w->catalog, sc->spec_draft, &e))) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                   "speculation.draft: %s (or \"medusa\" for Medusa heads)", e ? e->message : "missing");
      g_clear_error (&e);
      goto fail;
    }
    ModelCost *draft_cost = w->draft_cost = g_new (ModelCost, 1);
    model_cost_init (draft_cost, w->draft_llm, w->gpu, sc->tp);
    if (w->network)
      model_cost_set_network (draft_cost, w->network);
    ModelMemoryPlan dmem;
    double dw = w->gpu->mem_bytes; /* a draft that does not fit alone fits nowhere */
    if (model_memory_plan (draft_cost, sc->block_size, 1.0, 1, &dmem, &e))
      dw = dmem.weight_bytes; /* per GPU; only the weights are added */
    else if (e->code != MODEL_ERROR_NO_FIT) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "speculation.draft: %s", e->message);
      g_clear_error (&e);
      goto fail;
    }
    g_clear_error (&e);
    double lose_f = ceil (dw / mem.kv_bytes_per_block);
    gint64 lose = lose_f < (double) mem.num_blocks ? (gint64) lose_f : mem.num_blocks;
    if (lose >= mem.num_blocks) {
      if (dw >= w->gpu->mem_bytes)
        g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                     "speculation.draft: the draft model '%s' does not fit on a %s at tp %d, let "
                     "alone beside %s: it leaves no room for the KV cache (pick a smaller draft, "
                     "or \"medusa\")", sc->spec_draft, w->gpu->id, sc->tp, sc->model);
      else
        g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                     "speculation.draft: the draft model '%s' (%.1f GiB of weights per GPU) leaves "
                     "no room for the KV cache beside %s (pick a smaller draft, a larger tp, or "
                     "\"medusa\")", sc->spec_draft, dw / 1073741824.0, sc->model);
      goto fail;
    }
    mem.num_blocks -= lose;
    mem.kv_bytes -= (double) lose * mem.kv_bytes_per_block;
  }
  if (sc->pp > 1) {
    /* vLLM V0's virtual engines: the KV cache split evenly among them */
    if (w->draft_llm) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                   "speculation.draft: a draft model with pipeline parallelism (cluster.pp) is not "
                   "modelled (use \"medusa\")");
      goto fail;
    }
    mem.num_blocks /= sc->pp;
    if (mem.num_blocks < 1) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                   "cluster.pp: %d virtual engines leave no KV block each (%s at tp %d x pp %d)",
                   sc->pp, sc->model, sc->tp, sc->pp);
      goto fail;
    }
  }
  if (sc->priority_fraction > 0 || sc->clients > 1)
    w->class_rng = sim_rng_new (sc->seed, "classes", 0);
  if (sc->clients > 1 && sc->client_skew > 0) {
    /* client i's share is proportional to 1 / (i+1)^skew (Zipf-like) */
    w->client_cdf = g_new (double, sc->clients);
    double tot = 0;
    for (guint c = 0; c < sc->clients; c++)
      tot += pow (c + 1.0, -sc->client_skew);
    double acc = 0;
    for (guint c = 0; c < sc->clients; c++)
      w->client_cdf[c] = (acc += pow (c + 1.0, -sc->client_skew) / tot);
  }

  /* a decode pool of another GPU or TP: its own cost model and memory plan */
  ModelMemoryPlan dmem = mem;
  if (sc->prefill_replicas > 0 && (strcmp (sc->decode_gpu, sc->gpu) != 0 || sc->decode_tp != sc->tp)) {
    if (!(w->decode_gpu = model_catalog_gpu (w->catalog, sc->decode_gpu, &e))) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "cluster.decode_gpu: %s", e->message);
      g_clear_error (&e);
      goto fail;
    }
    if (w->draft_llm) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                   "speculation.draft: a draft model with a decode pool of its own GPU or TP "
                   "(cluster.decode_gpu / decode_tp) is not modelled (use \"medusa\")");
      goto fail;
    }
    w->decode_cost = g_new (ModelCost, 1);
    model_cost_init (w->decode_cost, w->llm, w->decode_gpu, sc->decode_tp);
    if (w->network)
      model_cost_set_network (w->decode_cost, w->network);
    if (!model_memory_plan (w->decode_cost, sc->block_size, sc->mem_util, (gint64) max_tokens,
                            &dmem, &e)) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "cluster.decode_gpu / decode_tp: %s",
                   e->message);
      g_clear_error (&e);
      goto fail;
    }
  }
  if (sc->prefix_caching && w->llm->sliding_window > 0) {
    /* vLLM V1 caches a windowed model's prefix only inside the window
     * (a hybrid KV manager); that is not modelled */
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "cache.prefix_caching: model '%s' attends over a sliding window of %" G_GINT64_FORMAT
                 " tokens; prefix caching with a sliding window is not modelled (set it to false)",
                 sc->model, (gint64) w->llm->sliding_window);
    goto fail;
  }
  /* a replica at pp > 1 is pp virtual engines sharing one pipeline */
  ServePipeline *pipe = NULL;
  for (int i = 0; i < sc->replicas * sc->pp; i++) {
    struct ServeReplica *rep = g_new0 (struct ServeReplica, 1);
    if (sc->pp > 1) {
      if (i % sc->pp == 0) {
        pipe = g_malloc0 (sizeof (ServePipeline) + (gsize) sc->pp * sizeof (SimTime));
        pipe->pp = sc->pp;
        g_ptr_array_add (w->pipes, pipe);
      }
      rep->pipe = pipe;
    }
    rep->index = i;
    rep->world = w;
    gboolean dec = w->decode_cost && i >= sc->prefill_replicas;
    rep->gpu = dec ? w->decode_gpu : w->gpu;
    rep->tp = dec ? sc->decode_tp : sc->tp;
    rep->cost = dec ? w->decode_cost : w->cost;
    rep->mem = dec ? dmem : mem;
    rep->free_blocks = rep->mem.num_blocks;
    rep->kv_window = w->llm->sliding_window;
    if (sc->swap_conversation)
      rep->conv_host = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
    g_queue_init (&rep->conv_lru);
    if (sc->prefix_caching) {
      rep->pc = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
      rep->pc_unit_tokens = sc->prefix_block_tokens;
      rep->pc_unit_blocks = sc->prefix_block_tokens / sc->block_size;
      /* host memory per GPU over a unit's bytes per GPU */
      rep->pc_host_cap_units = (gint64) floor (sc->prefix_host_gib * 1073741824.0
                                               / ((double) rep->pc_unit_blocks
                                                  * rep->mem.kv_bytes_per_block));
    }
    g_queue_init (&rep->pc_idle);
    g_queue_init (&rep->pc_host_lru);
    rep->ops = sops;
    rep->batch.owner = rep;

    rep->retire = g_ptr_array_new ();
    g_queue_init (&rep->live);
    sim_time_avg_init (&rep->kv_used, 0, 0.0);
    g_ptr_array_add (w->replicas, rep);
    rep->state = g_malloc0 (MAX (sops->state_size, 1));
    if (sops->init && !sops->init (rep->state, rep, w->sched_params, error))
      goto fail;
  }
  w->router_state = g_malloc0 (MAX (w->router->state_size, 1));
  if (w->router->init
      && !w->router->init (w->router_state, sc->prefill_replicas > 0 ? (guint) sc->prefill_replicas
                                                                     : w->replicas->len,
                           w->router_params, error))
    goto fail;

  if (!(w->source = open_workload (w, error)))
    goto fail;
  if (w->trace_path && sc->limit > 0)
    w->expected = sc->limit;

  w->ev_arrival = sim_engine_register (w->engine, "arrival", on_arrival, w);
  w->ev_iter_end = sim_engine_register (w->engine, "iteration-end", on_iteration_end, w);
  w->ev_sample = sim_engine_register (w->engine, "sample", on_sample, w);
  w->ev_kv_xfer = sim_engine_register (w->engine, "kv-transfer-end", on_kv_xfer_end, w);
  w->n_prefill = (guint) sc->prefill_replicas;
  return w;

fail:
  serve_world_free (w);
  return NULL;
}

void
serve_world_free (ServeWorld *w)
{
  if (!w)
    return;
  serve_output_free (w->out);
  if (w->router && w->router->clear && w->router_state)
    w->router->clear (w->router_state);
  g_free (w->router_state);
  g_ptr_array_free (w->replicas, TRUE);
  g_ptr_array_free (w->pipes, TRUE);
  g_free (w->sched_params);
  g_free (w->router_params);
  g_free (w->own_cost);
  g_free (w->draft_cost);
  g_free (w->decode_cost);
  if (w->class_rng)
    sim_rng_free (w->class_rng);
  g_free (w->client_cdf);
  trace_source_free (w->source);
  g_free (w->trace_path);
  serve_metrics_free (w->metrics);
  model_catalog_free (w->own_catalog);
  sim_engine_free (w->engine);
  g_clear_error (&w->error);
  g_free (w);
}

void
serve_world_set_progress (ServeWorld *w, ServeProgressFn fn, gpointer user)
{
  w->progress = fn;
  w->progress_user = user;
}

gboolean
serve_world_run (ServeWorld *w, GError **error)
{
  g_return_val_if_fail (w->out == NULL, FALSE);
  w->out = serve_output_new (w->sc, error);
  if (!w->out)
    return FALSE;
  if (!w->network && w->sc->tp > MODEL_NODE_GPUS) {
    /* the profile's network is wherever the GPU was calibrated: say so */
    char *note = g_strdup_printf (
      "TP %d spans %d nodes of %d GPUs: its all-reduce crosses the network the %s profile "
      "(from %s) was calibrated on, %.1f GB/s per GPU. Set cluster.network to yours "
      "('servesim describe networks').", w->sc->tp,
      (w->sc->tp + MODEL_NODE_GPUS - 1) / MODEL_NODE_GPUS, MODEL_NODE_GPUS, w->gpu->id,
      w->gpu->profile_gpu ? w->gpu->profile_gpu : "the defaults",
      w->gpu->profile.comm_bw_frac[MODEL_HOP_INTER] / 1e9);
    serve_output_add_note (w->out, note);
    g_free (note);
  }
  if (w->sc->decode_unused)
    serve_output_add_note (w->out, "cluster.decode_gpu / decode_tp are unused: there is no decode "
                                   "pool without cluster.prefill_replicas > 0");
  if (read_next (w)) {
    sim_engine_schedule (w->engine, w->next.arrival, w->ev_arrival, NULL, NULL);
    sim_engine_schedule (w->engine, w->next.arrival, w->ev_sample, NULL, NULL);
  }
  gint64 last = g_get_monotonic_time ();
  guint64 n = 0;
  while (!w->error && sim_engine_step (w->engine)) {
    if (w->progress && (++n & 1023) == 0) {
      gint64 t = g_get_monotonic_time ();
      if (t - last >= 200000) {
        last = t;
        w->progress (w, w->progress_user);
      }
    }
  }
  if (!w->error && w->in_flight > 0) {
    /* turns that arrived with their conversation's KV on the host and were
     * never swapped in point at a scheduler unaware of them */
    guint64 restoring = 0;
    for (guint i = 0; i < w->replicas->len; i++)
      for (GList *l = ((struct ServeReplica *) g_ptr_array_index (w->replicas, i))->live.head; l;
           l = l->next)
        restoring += ((struct ServeRequest *) l->data)->conv_restore;
    g_set_error (&w->error, SERVE_ERROR, SERVE_ERROR_RUN,
                 "%" G_GUINT64_FORMAT " request(s) never completed: scheduler '%s' left them "
                 "waiting with nothing running%s", w->in_flight, w->sc->scheduler,
                 restoring ? " (some are turns that arrived with their conversation's KV in "
                             "host memory, cache.swap.reuse_conversation: the scheduler must "
                             "call policy_swap_in before reserving their KV, or turn the key off)"
                           : "");
  }
  if (w->error) {
    g_propagate_error (error, w->error);
    w->error = NULL;
    serve_output_abort (w->out);
    return FALSE;
  }
  return TRUE;
}

gboolean
serve_world_write_outputs (ServeWorld *w, GError **error)
{
  return serve_output_commit (w->out, w, error);
}

guint64 serve_world_arrived (const ServeWorld *w) { return w->metrics->arrived; }
guint64 serve_world_completed (const ServeWorld *w) { return w->metrics->completed + w->metrics->rejected; }
guint64 serve_world_expected (const ServeWorld *w) { return w->expected; }
SimTime serve_world_now (const ServeWorld *w) { return sim_engine_now (w->engine); }
const ServeScenario *serve_world_scenario (const ServeWorld *w) { return w->sc; }
guint serve_world_n_replicas (const ServeWorld *w) { return w->replicas->len; }
ServeMetrics *serve_world_metrics (const ServeWorld *w) { return w->metrics; }
struct ServeOutput *serve_world_output (const ServeWorld *w) { return w->out; }

struct ServeReplica *
serve_world_replica (const ServeWorld *w, guint i)
{
  g_return_val_if_fail (i < w->replicas->len, NULL);
  return g_ptr_array_index (w->replicas, i);
}

const ModelLlm *serve__world_llm (const ServeWorld *w) { return w->llm; }
const ModelGpu *serve__world_gpu (const ServeWorld *w) { return w->gpu; }
const ModelNetwork *serve__world_network (const ServeWorld *w) { return w->network; }
const char *serve__world_workload (const ServeWorld *w) { return w->source ? trace_source_describe (w->source) : ""; }
const char *serve__world_trace_path (const ServeWorld *w) { return w->trace_path; }
guint64 serve__world_events (const ServeWorld *w) { return sim_engine_events_fired (w->engine); }
