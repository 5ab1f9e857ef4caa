/* serve/metrics.h — what a run measured.
 *
 * Per-request latencies (TTFT, TPOT, inter-token gaps, end-to-end, queueing)
 * in SimQuantiles, so memory stays bounded however long the trace; per
 * iteration batch sizes; SLO attainment; and a down-sampling timeline of
 * queue length, running batch size and KV use. Owns the numbers, not where
 * they are written (serve/output.c) or how requests progress (serve/world.c).
 */
#ifndef SERVE_METRICS_H
#define SERVE_METRICS_H

#include <jansson.h>
#include "sim/stats.h"
#include "serve/world.h"

#define SERVE_TIMELINE_MAX_ROWS 4096

typedef struct {
  double t_s;
  double queued;    /* requests waiting in schedulers */
  double running;   /* requests in the iterations in flight */
  double kv_used;   /* fraction of KV blocks in use, cluster-wide */
} ServeTimelineRow;

struct ServeMetrics {
  SimQuantiles *ttft, *tpot, *itl, *e2e, *queue;
  SimQuantiles *batch_size, *batch_tokens;
  guint64 arrived, completed, rejected, preemptions;
  guint64 input_tokens, output_tokens;
  guint64 slo_met, slo_ttft_met, slo_tpot_met;
  SimTime first_arrival, last_event;
  double  slo_ttft_s, slo_tpot_s;
  /* by priority class (priority > 0 = "high") */
  SimQuantiles *ttft_high, *ttft_normal, *e2e_high, *e2e_normal;
  /* swapping */
  guint64 swap_outs, swap_ins, swap_blocks;
  SimTime swap_ns;            /* host-link time of the copies (charged to iterations, or
                                 run while the replica idled) */
  /* conversation re-use (cache.swap.reuse_conversation) */
  guint64 conv_hits;          /* turns that found an earlier turn's KV on their replica's host */
  guint64 conv_tokens;        /* prompt tokens they did not prefill */
  guint64 conv_blocks_in;     /* blocks copied host -> GPU for them */
  guint64 conv_blocks_out;    /* blocks copied GPU -> host when turns finished */
  guint64 conv_saves, conv_evictions, conv_skipped;
  /* prefill/decode disaggregation (cluster.prefill_replicas) */
  guint64 kv_xfers;           /* requests whose KV moved to a decode replica */
  double  kv_xfer_bytes;      /* per GPU (each TP rank sends its shard) */
  SimTime kv_xfer_ns;         /* summed transfer times */
  /* prefix caching (cache.prefix_caching) */
  guint64 pc_lookups;         /* admissions that looked their prompt up (a preempted request again) */
  guint64 pc_lookup_tokens;   /* tokens they had to process (prompt + generated) */
  guint64 pc_hit_tokens;      /* of which the cache held */
  guint64 pc_inserted_units, pc_evicted_units;
  guint64 pc_offloaded_units;     /* evicted units copied to the host tier */
  guint64 pc_host_dropped_units;  /* dropped from a full host tier */
  guint64 pc_host_hit_tokens;     /* hit tokens copied back from it */
  GArray *timeline;           /* ServeTimelineRow */
  double  timeline_interval;  /* seconds; doubles when the timeline is folded */
};

ServeMetrics *serve_metrics_new (double slo_ttft_s, double slo_tpot_s, double timeline_interval);
void          serve_metrics_free (ServeMetrics *m);

/* A request finished (all tokens) at r->completion. */
void serve_metrics_request_done (ServeMetrics *m, const struct ServeRequest *r);
/* One gap between two successive tokens of a request. */
void serve_metrics_token_gap (ServeMetrics *m, SimTime gap);
void serve_metrics_iteration (ServeMetrics *m, guint batch_size, gint64 tokens);
/* Append a timeline row; folds pairs of rows (halving resolution) when full. */
void serve_metrics_sample (ServeMetrics *m, const ServeTimelineRow *row);

/* {"count","mean","p50","p90","p95","p99","max"} in the quantity's unit (NaN -> null). */
json_t *serve_metrics_dist_json (SimQuantiles *q);

#endif
