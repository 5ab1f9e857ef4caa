/* serve/scenario.h — one JSON document describes a run.
 *
 * Owns the scenario schema: the embedded defaults, merging a user file over
 * them, `--set path=value` overrides, and validation of every field's type and
 * range (catalog names and policy parameters are checked where they are
 * looked up). The resolved document is what gets written next to the results,
 * so a run can be repeated exactly. Does not own running anything.
 */
#ifndef SERVE_SCENARIO_H
#define SERVE_SCENARIO_H

#include <glib.h>
#include <jansson.h>

#define SERVE_ERROR (serve_error_quark ())
GQuark serve_error_quark (void);
typedef enum {
  SERVE_ERROR_SCENARIO, /* bad scenario file, key or value */
  SERVE_ERROR_RUN,      /* failure during a run (trace error, output error) */
} ServeError;

typedef struct {
  json_t *root;        /* the resolved scenario (owned) */
  char   *origin;      /* scenario file path, or "<default>" */
  /* Typed views into root (valid while root lives). */
  guint64     seed;
  const char *name;
  const char *model;
  const char *catalog;      /* extra catalog file, or NULL */
  const char *gpu;
  int         replicas;
  int         pp;          /* pipeline stages per replica (cluster.pp; 1 = none) */
  /* prefill/decode disaggregation: replicas [0, prefill_replicas) only
   * prefill, the rest only decode, the KV moving between them over NVLink or
   * the network (cluster.kv_transfer); 0 = every replica does both */
  int         prefill_replicas;
  gboolean    kv_transfer_nvlink;
  /* the decode pool's GPU and TP (cluster.decode_gpu / decode_tp; resolved:
   * the prefill pool's when not given) */
  const char *decode_gpu;
  int         decode_tp;
  gboolean    decode_unused;     /* given, but cluster.prefill_replicas is 0 */
  gboolean    kv_layerwise;      /* cluster.kv_transfer_layerwise: each layer's KV sent as it is computed */
  int         tp;
  const char *network;      /* cluster.network: a networks catalog id, or NULL = the
                             * inter-node parameters of the GPU's own profile */
  int         block_size;
  double      mem_util;
  const char *scheduler;    /* scheduler.name */
  const char *router;       /* router.name */
  const char *trace;        /* workload.trace, or NULL = generator */
  const char *format;
  gint64      limit;
  double      time_scale;
  double      start_s, end_s;
  double      slo_ttft, slo_tpot; /* seconds; 0 = no SLO */
  const char *out_dir;      /* NULL: write no files (in-memory runs, e.g. sweeps) */
  gboolean    write_requests, write_plots, render;
  double      timeline_interval;
  /* engine.cpu_overlap: the CPU prepares the next iteration while the GPU runs
   * this one (vLLM V1's async scheduling, SGLang's overlap scheduler) */
  gboolean    cpu_overlap;
  /* prefix caching: prompt units of prefix_block_tokens tokens, named by the
   * trace's block hashes, shared through each replica's KV cache */
  gboolean    prefix_caching;
  gint64      prefix_block_tokens;
  double      prefix_host_gib;   /* host tier per replica (per GPU of it); 0 = none */
  /* preemption by swapping (cache.preemption, cache.swap.*) */
  gboolean    swap, swap_overlap, swap_reuse;
  gint64      swap_granularity;   /* blocks per host-link copy operation */
  double      swap_link_eff, swap_op_latency_s, swap_host_gib;
  gboolean    swap_conversation;  /* cache.swap.reuse_conversation: keep a finished turn's KV on the host */
  /* request classes (workload.priority_fraction, clients, client_skew) */
  double      priority_fraction;   /* share of requests drawn as high priority */
  gint64      priority_max_prompt; /* prompts up to this many tokens are high priority (0 = off) */
  guint       clients;
  double      client_skew;
  /* speculative decoding (speculation.*) */
  const char *spec_draft;         /* "medusa" or a catalog model id */
  double      spec_medusa_overhead, spec_acceptance, spec_spread;
} ServeScenario;

/* The embedded default scenario as JSON text. */
const char    *serve_scenario_default_json (void);

/* Default scenario, with `path` (may be NULL) merged over it, then each
 * "a.b.c=value" in `sets` (NULL-terminated, may be NULL) applied; value is
 * parsed as JSON, else taken as a string. Validated. NULL with
 * SERVE_ERROR_SCENARIO ("file:line: ..." or "key: ...") on error.
 * Free with serve_scenario_free(). */
ServeScenario *serve_scenario_load (const char *path, char **sets, GError **error);
void           serve_scenario_free (ServeScenario *sc);

/* Sub-object of the resolved scenario (e.g. "scheduler"); borrowed. */
json_t        *serve_scenario_get (const ServeScenario *sc, const char *dotted);

/* GPUs the scenario's cluster uses: replicas x TP x PP, or, disaggregated,
 * each pool's replicas x its TP. */
int            serve_scenario_gpus (const ServeScenario *sc);

/* Checks that need the model: pipeline stages no more than its layers, and
 * pipeline parallelism not combined with disaggregation (not modelled).
 * FALSE with SERVE_ERROR_SCENARIO naming cluster.pp. Shared by the world and
 * servesim plan's pruning. */
gboolean       serve_scenario_check_model (const ServeScenario *sc, int num_layers, GError **error);

/* Pretty JSON of the resolved scenario (g_free). Deterministic key order. */
char          *serve_scenario_dump (const ServeScenario *sc);

#endif
