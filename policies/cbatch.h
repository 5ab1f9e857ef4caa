/* policies/cbatch.h — a configurable continuous-batching core shared by the
 * built-in schedulers (internal to policies/, double-underscore names).
 *
 * Most schedulers from the literature differ along a few axes: how a batch is
 * composed (prefill-first, mixed whole prefills, chunked prefills under a
 * token budget, static batches), in which order waiting requests are served
 * (FCFS, priority, virtual-token-counter fairness, earliest deadline), how
 * much KV a request reserves (paged, or its maximum length up front), how it
 * is preempted (recompute or swap, cache.preemption) and whether decodes
 * speculate. Each sched_<name>.c fills a PolicyCbConfig from its parameters
 * and forwards its hooks here. Owns queues and decisions; not time, KV
 * accounting or acceptance (serve/). policies/sched_vllm.c stays separate: it
 * is the reference path the benchmark times.
 */
#ifndef POLICY_CBATCH_H
#define POLICY_CBATCH_H

#include "policies/policy.h"

typedef enum {
  POLICY_CB_PREFILL_FIRST, /* vLLM: an iteration is whole prefills, or else decodes */
  POLICY_CB_MIXED,         /* Orca: decodes and whole new prefills in one iteration */
  POLICY_CB_CHUNKED,       /* Sarathi-Serve / SplitFuse: decodes first, then prefill chunks up to a token budget */
  POLICY_CB_STATIC,        /* FasterTransformer: a batch runs until all its requests finish */
} PolicyCbMode;

typedef enum {
  POLICY_CB_FCFS,      /* arrival time */
  POLICY_CB_PRIORITY,  /* higher priority first, then arrival */
  POLICY_CB_VTC,       /* client with the least service so far (Sheng et al., OSDI'24) */
  POLICY_CB_DEADLINE,  /* earliest next-token deadline: arrival + ttft + generated * tpot */
} PolicyCbOrder;

typedef struct {
  PolicyCbMode  mode;
  PolicyCbOrder order;
  gboolean      reserve_max;          /* KV for prompt + output reserved at admission */
  guint         max_batch_size;       /* sequences per iteration */
  gint64        max_batched_tokens;   /* prefill tokens per iteration; CHUNKED: the token budget */
  double        watermark;            /* fraction of blocks kept free at admission */
  gboolean      priority_preemption;  /* a waiting request may preempt running ones it outranks */
  int           spec_k;               /* speculative tokens per decode (0 = off) */
  gboolean      spec_adaptive;        /* choose k in [0, spec_k] per iteration by expected goodput */
  double        spec_alpha_prior;     /* acceptance assumed until 100 tokens were observed */
  double        ttft_s, tpot_s;       /* DEADLINE targets (priority 0) */
  double        ttft_high_s, tpot_high_s; /* DEADLINE targets of priority > 0 */
  double        vtc_w_in, vtc_w_out;  /* VTC weights of input and output tokens */
} PolicyCbConfig;

/* Defaults: PREFILL_FIRST, FCFS, 256 sequences, 8192 tokens, watermark 0.01. */
void     policy__cb_config_init (PolicyCbConfig *c);

/* The state block a scheduler embeds (state_size = sizeof (PolicyCb)). */
typedef struct PolicyCb PolicyCb;
struct PolicyCb {
  PolicyCbConfig c;
  gint64      watermark_blocks;
  GPtrArray  *waiting;     /* not started or preempted by recomputation */
  GPtrArray  *running;     /* holding KV on the GPU */
  GPtrArray  *swapped;     /* KV in host memory */
  GArray     *vtc;         /* double per client id: service received */
  guint64     iterations;
};

/* Set up the state block (zeroed by the core) from a configuration; always
 * TRUE today (the GError is for configurations a range cannot express).
 * policy__cb_clear frees the queues (not the block; safe if init never ran).
 * The other functions are the scheduler hooks, to put in the ops table as
 * they are. */
gboolean policy__cb_init (PolicyCb *cb, PolicyReplica *rep, const PolicyCbConfig *c, GError **error);
void     policy__cb_clear (void *state);
void     policy__cb_on_arrival (void *state, PolicyReplica *rep, PolicyRequest *r);
void     policy__cb_schedule (void *state, PolicyReplica *rep, PolicyBatch *batch);
void     policy__cb_after_iteration (void *state, PolicyReplica *rep, PolicyBatch *batch);
guint    policy__cb_queued (void *state);

#endif
