/* policies/policy.h — the narrow window through which policies see the serving world.
 *
 * A policy is a const vtable (name, parameter table, optional hooks, state size)
 * registered by name. Policies read requests and replicas only through the
 * accessors below and act only through the batch and KV-block calls; they never
 * see the world's structs, and they never compute time (that is the cost
 * model's job in models/). Two kinds exist so far: replica schedulers (batch
 * formation, admission, preemption) and routers (which replica gets a request).
 * See policies/template.c for a complete, commented example to copy.
 */
#ifndef POLICY_POLICY_H
#define POLICY_POLICY_H

#include <glib.h>
#include "sim/engine.h"

#define POLICY_ERROR (policy_error_quark ())
GQuark policy_error_quark (void);
typedef enum { POLICY_ERROR_UNKNOWN, POLICY_ERROR_INVALID, POLICY_ERROR_PLUGIN } PolicyError;

/* Opaque handles into the serving world (serve/). */
typedef struct ServeRequest PolicyRequest;
typedef struct ServeReplica PolicyReplica;
typedef struct ServeBatch   PolicyBatch;

/* ---- parameters ------------------------------------------------------- */

/* One numeric parameter of a policy. The scenario's policy object may set it;
 * the core checks type and range and fills in the default, so a policy's init
 * sees every value resolved. */
typedef struct {
  const char *name;
  double      def;
  double      min, max;   /* inclusive */
  gboolean    integer;
  const char *help;
} PolicyParam;

/* Value of parameter `name` from the resolved array given to init
 * (programmer error if `name` is not in the policy's table). */
double policy_param (const PolicyParam *table, const double *values, const char *name);

/* ---- requests (read-only) -------------------------------------------- */

guint64 policy_req_id (const PolicyRequest *r);
SimTime policy_req_arrival (const PolicyRequest *r);
gint64  policy_req_prompt (const PolicyRequest *r);     /* prompt tokens */
gint64  policy_req_output (const PolicyRequest *r);     /* tokens to generate in total */
gint64  policy_req_generated (const PolicyRequest *r);  /* tokens generated so far */
gint64  policy_req_computed (const PolicyRequest *r);   /* tokens whose KV is in the cache */
/* Tokens the request must process before it emits its next token:
 * prompt + generated - computed (the whole prompt for a new or preempted
 * request, 1 for a decode step). 0 once finished. */
gint64  policy_req_pending (const PolicyRequest *r);
gboolean policy_req_finished (const PolicyRequest *r);
guint   policy_req_preemptions (const PolicyRequest *r);
gint64  policy_req_blocks (const PolicyRequest *r);     /* KV blocks held */
/* Priority class (0 = normal, higher = more important) and client id, set
 * by the scenario's workload.priority_fraction / workload.clients rules. */
int     policy_req_priority (const PolicyRequest *r);
guint   policy_req_client (const PolicyRequest *r);
/* Conversation id from the trace's conversation column (turns of one
 * multi-turn conversation share it), or -1 when the trace gives none. */
gint64  policy_req_conversation (const PolicyRequest *r);
/* Time of the first / latest emitted token, -1 before the first. */
SimTime policy_req_first_token (const PolicyRequest *r);
SimTime policy_req_last_token (const PolicyRequest *r);
/* TRUE while the request's KV lives in host memory (swapped out). */
gboolean policy_req_swapped (const PolicyRequest *r);

/* ---- replicas --------------------------------------------------------- */

guint   policy_replica_index (const PolicyReplica *rep);
int     policy_replica_block_size (const PolicyReplica *rep);
gint64  policy_replica_total_blocks (const PolicyReplica *rep);
gint64  policy_replica_free_blocks (const PolicyReplica *rep);
/* Blocks a request needs to hold `tokens` tokens of KV. */
gint64  policy_replica_blocks_for (const PolicyReplica *rep, gint64 tokens);
/* Blocks r would hold once policy_kv_reserve (rep, r, tokens) succeeds: the
 * same for a model without a sliding window; under one, the blocks wholly
 * before its next query's window are not held (they are freed when it
 * reserves). What a scheduler should compare with the free blocks. */
gint64  policy_req_blocks_for (const PolicyReplica *rep, const PolicyRequest *r, gint64 tokens);
/* Tokens of r's prompt that the replica's prefix cache holds now
 * (cache.prefix_caching), as it would count them were r admitted there: 0
 * when the cache is off or the trace names no prompt blocks. For routers. */
gint64  policy_replica_cached_prefix (const PolicyReplica *rep, const PolicyRequest *r);
/* Requests assigned to the replica and not finished (waiting or running). */
guint   policy_replica_load (const PolicyReplica *rep);
SimTime policy_replica_now (const PolicyReplica *rep);

/* Grow the request's KV allocation so it holds `tokens` tokens. FALSE (and no
 * change) when not enough blocks are free. */
gboolean policy_kv_reserve (PolicyReplica *rep, PolicyRequest *r, gint64 tokens);
/* Preempt by recomputation: free all the request's blocks and forget its
 * computed KV (it will re-prefill prompt + generated tokens). The policy is
 * responsible for putting it back in its own waiting queue. */
void     policy_preempt_recompute (PolicyReplica *rep, PolicyRequest *r);
/* Give up on a request that can never run here (e.g. needs more KV than the
 * replica has). It is counted as rejected and freed after the iteration. */
void     policy_reject (PolicyReplica *rep, PolicyRequest *r, const char *why);

/* ---- swapping KV to host memory (cache.preemption = "swap") ------------ */

/* TRUE when the scenario asks for preemption by swapping (cache.preemption). */
gboolean policy_replica_swap_enabled (const PolicyReplica *rep);
/* Preempt by swapping: copy the request's KV blocks to host memory over the
 * host link and free them on the GPU; its computed tokens are kept. The copy
 * is charged to the next iteration this replica runs (blocking or overlapped,
 * cache.swap.overlap). With cache.swap.reuse_host_copy, blocks whose host
 * copy is still valid from an earlier swap are not copied again (FastSwitch).
 * FALSE (nothing done) when host memory (cache.swap.host_gib) is full; the
 * policy should then preempt by recomputation. */
gboolean policy_preempt_swap (PolicyReplica *rep, PolicyRequest *r);
/* Bring a swapped request's KV back: reserves its blocks and charges the copy
 * to the next iteration. FALSE (no change) when not enough blocks are free.
 * With cache.swap.reuse_conversation, a request can *arrive* swapped: a turn
 * of a conversation whose earlier turn's KV is in this replica's host memory,
 * with computed > 0 and pending = the rest of its prompt. Every scheduler
 * must swap such a request in (when it admits it) before reserving KV or
 * batching it; policy_kv_reserve on a swapped request is refused. */
gboolean policy_swap_in (PolicyReplica *rep, PolicyRequest *r);

/* Add `q` tokens of work for `r` to the batch being formed (1 <= q <=
 * pending). The request must already hold KV for computed + q tokens. */
void     policy_batch_add (PolicyBatch *b, PolicyRequest *r, gint64 q);
guint    policy_batch_size (const PolicyBatch *b);
gint64   policy_batch_tokens (const PolicyBatch *b);
/* TRUE when r is in the batch being formed. */
gboolean policy_batch_contains (const PolicyBatch *b, const PolicyRequest *r);

/* ---- speculative decoding (scenario "speculation") --------------------- */

/* Turn every decode entry of the batch (q == 1 after the first token) into a
 * speculative one: a draft (model or Medusa heads, speculation.draft) proposes
 * up to k tokens, the target verifies k+1 in one pass, and a seeded random
 * number of them is accepted (speculation.acceptance). k is capped per request
 * so it never drafts past its last token; an entry whose extra KV cannot be
 * reserved stays a plain decode. Returns the number of speculating entries.
 * k == 0 does nothing. */
guint    policy_batch_speculate (PolicyReplica *rep, PolicyBatch *b, int k);
/* The cost model's time in seconds for the batch as formed, were every decode
 * entry to speculate k tokens (k = 0: as is), draft cost included. For
 * policies that weigh options (SmartSpec); it changes nothing. */
double   policy_batch_estimate_s (PolicyReplica *rep, const PolicyBatch *b, int k);
/* Acceptance observed on this replica so far: tokens proposed and accepted. */
void     policy_replica_spec_stats (const PolicyReplica *rep, guint64 *proposed,
                                    guint64 *accepted);

/* ---- replica schedulers ---------------------------------------------- */

typedef struct {
  const char        *name;
  const char        *description;  /* one line, with the paper or system it follows */
  const PolicyParam *params;       /* terminated by a {NULL} entry; may be NULL */
  gsize              state_size;   /* bytes the core allocates (zeroed) per replica */

  /* All hooks but schedule may be NULL. */
  gboolean (*init) (void *state, PolicyReplica *rep, const double *params, GError **error);
  void     (*clear) (void *state);
  /* A request was routed to this replica. */
  void     (*on_arrival) (void *state, PolicyReplica *rep, PolicyRequest *r);
  /* The replica is idle: fill `batch`. Leaving it empty idles the replica
   * until the next arrival. */
  void     (*schedule) (void *state, PolicyReplica *rep, PolicyBatch *batch);
  /* The batch's iteration ended and progress was applied; finished requests
   * have already released their KV blocks. After this hook returns, finished
   * and rejected requests are freed: drop every pointer to them here. */
  void     (*after_iteration) (void *state, PolicyReplica *rep, PolicyBatch *batch);
  /* Requests waiting (not running), for metrics. */
  guint    (*queued) (void *state);
} PolicySchedulerOps;

/* ---- routers ---------------------------------------------------------- */

typedef struct {
  const char        *name;
  const char        *description;
  const PolicyParam *params;
  gsize              state_size;   /* one state per cluster */
  gboolean (*init) (void *state, guint n_replicas, const double *params, GError **error);
  void     (*clear) (void *state);
  /* Pick a replica index in [0, n_replicas) for r. */
  guint    (*route) (void *state, PolicyReplica *const *replicas, guint n_replicas,
                     const PolicyRequest *r);
} PolicyRouterOps;

/* ---- plug-ins ------------------------------------------------------------ */

/* An out-of-tree policy is a shared object exporting
 *   gboolean servesim_plugin_register (PolicyPluginApi *api, GError **error);
 * which calls api->add_scheduler / api->add_router for each policy it
 * provides (see plugins/sample_plugin.c and docs/policies.md). The ops
 * structs must be static: the module stays loaded for the whole run. */
#define POLICY_PLUGIN_SYMBOL "servesim_plugin_register"
#define POLICY_PLUGIN_ABI 1
typedef struct {
  int       abi;            /* POLICY_PLUGIN_ABI of the loading program */
  gpointer  registry;       /* opaque */
  gboolean (*add_scheduler) (gpointer registry, const PolicySchedulerOps *ops);
  gboolean (*add_router) (gpointer registry, const PolicyRouterOps *ops);
} PolicyPluginApi;
typedef gboolean (*PolicyPluginRegisterFn) (PolicyPluginApi *api, GError **error);

#endif
