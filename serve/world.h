/* serve/world.h — the serving world: requests, replicas, iterations, cluster.
 *
 * Ties the layers together: requests come from a TraceSource (traces/), a
 * router and per-replica schedulers (policies/) decide where and when they
 * run, the cost model (models/) says how long each iteration takes, and the
 * event engine (sim/) advances time. Owns request progress, KV-block
 * accounting and the run loop. Policies see these structs only through
 * policies/policy.h; metrics and outputs live in serve/metrics.h.
 */
#ifndef SERVE_WORLD_H
#define SERVE_WORLD_H

#include <glib.h>

#include "sim/engine.h"
#include "sim/stats.h"
#include "sim/rng.h"
#include "models/catalog.h"
#include "models/cost.h"
#include "policies/policy.h"
#include "policies/registry.h"
#include "traces/trace.h"
#include "serve/scenario.h"

typedef struct ServeWorld ServeWorld;
typedef struct ServeMetrics ServeMetrics;

struct ServeRequest {
  guint64  id;
  SimTime  arrival;
  gint64   prompt;
  gint64   output;
  gint64   generated;       /* tokens emitted */
  gint64   computed;        /* tokens whose KV is cached */
  gint64   blocks;          /* KV blocks held */
  gint64   kv_first;        /* blocks before them freed (slid out of a sliding window); 0 otherwise */
  SimTime  first_scheduled; /* -1 until first put in a batch */
  SimTime  first_token;     /* -1 until the first token */
  SimTime  last_token;
  SimTime  completion;
  guint    preemptions;
  guint    replica;
  gboolean finished;
  gboolean rejected;
  gboolean in_batch;        /* guards against adding twice to one batch */
  gboolean swapped;         /* KV in host memory (blocks == 0, computed kept) */
  gboolean migrating;       /* disaggregated: prefilled, its KV on the way to a decode replica */
  gboolean kv_remote;       /* swapped = its KV arrived from a prefill replica (no host copy) */
  struct ServeReplica *xfer_dst; /* while migrating: the decode replica it goes to */
  int      priority;        /* 0 = normal; higher = more important */
  guint    client;
  gint64   host_blocks;     /* blocks of host memory holding its KV copy */
  gint64   host_valid;      /* of which full blocks, still valid for re-use */
  gint64   conversation;    /* from the trace's conversation column, -1 = none */
  gboolean conv_restore;    /* arrived with an earlier turn's KV on the host, not yet swapped in */
  double   spec_alpha;      /* this request's per-token draft acceptance */
  guint64 *prefix_blocks;   /* prompt block hashes from the trace (Mooncake hash_ids), or NULL */
  gsize    n_prefix_blocks;
  /* prefix caching (cache.prefix_caching): the first pc_units of its prompt's
   * hash units are held through the replica's prefix cache, shared, and not
   * counted in `blocks` (which holds only its own) */
  gint64   pc_units;
  gint64   pc_blocks;       /* their KV blocks: pc_units x the replica's pc_unit_blocks */
  struct ServeReplica *pc_rep; /* its replica when the cache is on and it has hashes, else NULL */
  GList    live_link;       /* in its replica's live list (data = the request) */
};

/* One hash unit of prompt KV in a replica's prefix cache
 * (cache.prefix_caching): pc_unit_blocks KV blocks, shared by every request
 * whose prompt starts with the same units. */
typedef struct {
  guint64 hash;             /* the key: the trace's block hash (Mooncake hash_ids) */
  gint64  refs;             /* requests holding it; 0 = idle: evictable, still a hit */
  gboolean on_host;         /* evicted to the host tier (cache.prefix_host_gib): no GPU blocks, refs 0 */
  GList   link;             /* in the replica's pc_idle while idle on the GPU, in pc_host_lru
                               while on the host (data = the entry) */
} ServePrefixEntry;

/* A finished turn's KV kept in one replica's host memory (cache.swap.reuse_conversation). */
typedef struct {
  gint64 conversation;      /* the key */
  gint64 tokens;            /* tokens whose KV is stored */
  gint64 blocks;            /* host blocks it holds (counted in host_blocks_used) */
  GList  link;              /* in the replica's conv_lru (data = the entry) */
} ServeConvEntry;

/* One replica's pipeline under pipeline parallelism (cluster.pp > 1): when
 * each stage is next free, shared by the replica's virtual engines. */
typedef struct {
  int     pp;
  SimTime cpu_free;       /* the engine process: one CPU prepares every virtual engine's batches */
  SimTime stage_free[];
} ServePipeline;

typedef struct {
  struct ServeRequest *req;
  gint64 q;
  int    k;                 /* speculative tokens verified with it (0 = plain) */
} ServeBatchEntry;

struct ServeBatch {
  struct ServeReplica *owner;
  /* Plain arrays rather than GArrays: filled once per token-step on the hot
   * path (about 10% of a long replay went to g_array_append_vals). */
  ServeBatchEntry *entries;
  ModelSeqWork    *work;    /* parallel to entries */
  guint   len, cap;
  gint64  tokens;
  guint   n_spec;           /* entries with k > 0 */
};

struct ServeReplica {
  guint                     index;
  ServeWorld               *world;
  /* what it runs on: the cluster's GPU and TP, or the decode pool's
   * (cluster.decode_gpu / decode_tp); its cost model and memory plan */
  const ModelGpu           *gpu;
  int                       tp;
  ModelCost                *cost;
  ModelMemoryPlan           mem;
  /* pipeline parallelism: this is one of its replica's cluster.pp virtual
   * engines (vLLM V0's: own scheduler, 1/pp of the KV blocks) and `pipe` is
   * the replica's stages; NULL at pp 1 */
  ServePipeline            *pipe;
  gint64                    free_blocks;
  gint64                    kv_window;    /* the model's sliding window in tokens; 0 = none */
  const PolicySchedulerOps *ops;
  void                     *state;
  struct ServeBatch         batch;
  gboolean                  busy;         /* an iteration is in flight or scheduled */
  guint                     load;         /* assigned, unfinished requests */
  GPtrArray                *retire;       /* finished/rejected, freed after the hook */
  GQueue                    live;         /* requests assigned here, not yet retired */
  /* statistics */
  SimTime                   busy_ns;
  double                    last_gpu_s;   /* GPU time of its latest iteration */
  guint64                   iterations;
  SimTimeAvg                kv_used;      /* fraction of blocks in use */
  /* swapping: bytes and copy operations charged to the next iteration */
  double                    swap_bytes_pending;
  guint64                   swap_ops_pending;
  gint64                    host_blocks_used;
  SimTime                   copy_until;   /* host-link copies started while idle end then */
  /* conversation re-use (cache.swap.reuse_conversation): finished turns' KV
   * kept in host memory, by conversation id; NULL when off */
  GHashTable               *conv_host;    /* gint64 * -> ServeConvEntry * (owned) */
  GQueue                    conv_lru;     /* the entries' links, least recently stored first */
  /* prefix caching (cache.prefix_caching): NULL when off. Every entry holds
   * pc_unit_blocks blocks out of the KV cache; idle ones (no request holds
   * them) are evicted least recently released first when blocks run out, and
   * count as free to the schedulers. */
  GHashTable               *pc;           /* guint64 * -> ServePrefixEntry * (owned) */
  GQueue                    pc_idle;      /* idle entries' links, least recently released first */
  gint64                    pc_idle_blocks;
  gint64                    pc_unit_tokens, pc_unit_blocks;
  gint64                    pc_gpu_units;      /* entries holding GPU blocks */
  /* its host tier (cache.prefix_host_gib): evicted units, least recently
   * offloaded first; capacity 0 = none */
  GQueue                    pc_host_lru;
  gint64                    pc_host_units, pc_host_cap_units;
  /* speculation */
  SimRng                   *spec_rng;
  guint64                   spec_proposed, spec_accepted;
};

/* Build a world for a resolved scenario: loads catalogs, checks the model
 * fits, opens the workload, creates replicas and policies, opens outputs.
 * NULL with an error naming the field at fault. Free with serve_world_free(). */
ServeWorld *serve_world_new (const ServeScenario *sc, PolicyRegistry *reg, GError **error);
/* The same with the catalog already loaded (the bundled one plus the
 * scenario's "catalog" file): borrowed, read only (several worlds may share it
 * across threads), and it must outlive the world. NULL = load it. */
ServeWorld *serve_world_new_with_catalog (const ServeScenario *sc, PolicyRegistry *reg,
                                          const ModelCatalog *catalog, GError **error);

/* A cost model kept across worlds. Worlds of the same model, GPU, TP and
 * network built with one cache use its ModelCost, and with it its memos:
 * the scheduled prefill's answers for a trace's prompts are the same at
 * every request rate a plan tries (servesim plan keeps one per
 * configuration it evaluates). Results are the same with and without it.
 * Not thread-safe: one world at a time. It remembers the catalog's entries,
 * so the catalog must outlive its use. */
typedef struct ServeCostCache ServeCostCache;
ServeCostCache *serve_cost_cache_new (void);
void            serve_cost_cache_free (ServeCostCache *cache);
/* serve_world_new_with_catalog with a cost cache (NULL = none; unused when
 * catalog is NULL: a world's own catalog dies with it). */
ServeWorld *serve_world_new_cached (const ServeScenario *sc, PolicyRegistry *reg,
                                    const ModelCatalog *catalog, ServeCostCache *cache,
                                    GError **error);
void        serve_world_free (ServeWorld *w);

/* Progress callback, called from the run loop about every 0.2 s of wall time. */
typedef void (*ServeProgressFn) (const ServeWorld *w, gpointer user);
void        serve_world_set_progress (ServeWorld *w, ServeProgressFn fn, gpointer user);

/* Run to completion. On error (malformed trace row, output failure) returns
 * FALSE and removes every output file it had started. */
gboolean    serve_world_run (ServeWorld *w, GError **error);

/* After a successful run: write the outputs (summary.json, requests.csv,
 * scenario.json, plots, cluster.dot) into the scenario's output directory. */
gboolean    serve_world_write_outputs (ServeWorld *w, GError **error);

/* Human-readable summary (g_free). */
char       *serve_world_summary_text (ServeWorld *w);
/* summary.json content (caller json_decref). */
json_t     *serve_world_summary_json (ServeWorld *w);

/* Accessors for progress lines and tests. */
guint64     serve_world_arrived (const ServeWorld *w);
guint64     serve_world_completed (const ServeWorld *w);
guint64     serve_world_expected (const ServeWorld *w); /* 0 when unknown */
SimTime     serve_world_now (const ServeWorld *w);
const ServeScenario *serve_world_scenario (const ServeWorld *w);
guint       serve_world_n_replicas (const ServeWorld *w);
struct ServeReplica *serve_world_replica (const ServeWorld *w, guint i);
ServeMetrics *serve_world_metrics (const ServeWorld *w);
/* The run's output files (NULL before serve_world_run). */
struct ServeOutput *serve_world_output (const ServeWorld *w);
/* Sum over replicas of free blocks + blocks held by live requests must equal
 * total blocks: TRUE when conserved (checked by tests). */
gboolean    serve_world_kv_conserved (const ServeWorld *w);

/* Internal to serve/ (double underscore): used by serve/policy_api.c and serve/output.c. */
/* Blocks r would hold once `tokens` of its context are reserved (what
 * serve__kv_reserve asks for; fewer than ceil(tokens / block size) under a
 * sliding window: the blocks wholly before the first key its next query
 * sees, computed - W + 1, are freed, as vLLM V1's sliding-window KV manager
 * frees them (remove_skipped_blocks; V0's block manager reused them in a
 * ring)). A reservation never gives back the end of what is held (a
 * scheduler may reserve ahead, cbatch's reserve_max), only the window's
 * front. Inline: the simulator asks it for every batch entry. */
static inline gint64
serve__kv_first_needed (const struct ServeReplica *rep, const struct ServeRequest *r)
{
  gint64 W = rep->kv_window;
  return W > 0 && r->computed >= W ? (r->computed - W + 1) / rep->mem.block_size : 0;
}

static inline gint64
serve__kv_blocks_for (const struct ServeReplica *rep, const struct ServeRequest *r, gint64 tokens)
{
  gint64 need = (tokens + rep->mem.block_size - 1) / rep->mem.block_size;
  if (G_LIKELY (rep->kv_window == 0))   /* (prefix caching runs only without a window) */
    return MAX (need - r->pc_blocks, r->blocks);
  return MAX (need, r->kv_first + r->blocks) - serve__kv_first_needed (rep, r);
}
/* Prefix caching, for serve/policy_api.c. A request is "fresh" while it holds
 * no KV and has nothing computed (new, or preempted by recomputation): the
 * policies then see as computed the prompt units its replica's cache holds
 * (serve__pc_peek: units, the idle GPU cache blocks it would take, and its
 * units in the host tier, which need GPU blocks to come back into), and
 * serve__kv_reserve takes them. Blocks free for a scheduler: the free ones
 * and the idle cache entries' (evictable). */
static inline gboolean
serve__pc_fresh (const struct ServeRequest *r)
{
  return G_UNLIKELY (r->pc_rep != NULL) && r->computed == 0 && r->blocks == 0 && !r->swapped;
}
gint64          serve__pc_peek (const struct ServeReplica *rep, const struct ServeRequest *r,
                                gint64 *idle_blocks, gint64 *host_units);
/* What reserving `tokens` would take from serve__kv_free_for_use for a fresh
 * r: its own blocks beyond the cached units, GPU blocks for its units in
 * the host tier, and its idle cached units (no longer evictable once held).
 * *units, *own, *host: the cached units, its own blocks, the host units. */
gint64          serve__pc_blocks_for (const struct ServeReplica *rep, const struct ServeRequest *r,
                                      gint64 tokens, gint64 *units, gint64 *own, gint64 *host);
static inline gint64
serve__kv_free_for_use (const struct ServeReplica *rep)
{
  return rep->free_blocks + rep->pc_idle_blocks;
}
/* Grow (or, under a window, slide) r's KV to hold `tokens` tokens; FALSE, and
 * no change, when the blocks are not there. The usual case, a decode step
 * inside its last block, is inline. */
gboolean        serve__kv_reserve_slow (struct ServeReplica *rep, struct ServeRequest *r,
                                        gint64 tokens);
static inline gboolean
serve__kv_reserve (struct ServeReplica *rep, struct ServeRequest *r, gint64 tokens)
{
  if (G_LIKELY (rep->kv_window == 0) && serve__kv_blocks_for (rep, r, tokens) == r->blocks)
    return TRUE;
  return serve__kv_reserve_slow (rep, r, tokens);
}
void            serve__preempt (struct ServeReplica *rep, struct ServeRequest *r);
void            serve__reject (struct ServeReplica *rep, struct ServeRequest *r, const char *why);
const ModelLlm *serve__world_llm (const ServeWorld *w);
const ModelGpu *serve__world_gpu (const ServeWorld *w);
/* cluster.network's entry, or NULL (the GPU profile's own inter-node parameters) */
const ModelNetwork *serve__world_network (const ServeWorld *w);
const char     *serve__world_workload (const ServeWorld *w);
const char     *serve__world_trace_path (const ServeWorld *w);
guint64         serve__world_events (const ServeWorld *w);
gboolean        serve__swap_out (struct ServeReplica *rep, struct ServeRequest *r);
gboolean        serve__swap_in (struct ServeReplica *rep, struct ServeRequest *r);
gboolean        serve__swap_enabled (const struct ServeReplica *rep);
guint           serve__speculate (struct ServeReplica *rep, struct ServeBatch *b, int k);
double          serve__estimate_s (struct ServeReplica *rep, const struct ServeBatch *b, int k);

#endif
