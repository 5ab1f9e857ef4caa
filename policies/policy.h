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
typedef enum { POLICY_ERROR_UNKNOWN, POLICY_ERROR_INVALID } PolicyError;

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

/* ---- replicas --------------------------------------------------------- */

guint   policy_replica_index (const PolicyReplica *rep);
int     policy_replica_block_size (const PolicyReplica *rep);
gint64  policy_replica_total_blocks (const PolicyReplica *rep);
gint64  policy_replica_free_blocks (const PolicyReplica *rep);
/* Blocks a request needs to hold `tokens` tokens of KV. */
gint64  policy_replica_blocks_for (const PolicyReplica *rep, gint64 tokens);
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

/* Add `q` tokens of work for `r` to the batch being formed (1 <= q <=
 * pending). The request must already hold KV for computed + q tokens. */
void     policy_batch_add (PolicyBatch *b, PolicyRequest *r, gint64 q);
guint    policy_batch_size (const PolicyBatch *b);
gint64   policy_batch_tokens (const PolicyBatch *b);

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

#endif
