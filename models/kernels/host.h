/* models/kernels/host.h — host latency validation: measure this CPU with the
 * reference kernels (blocked float GEMM FLOP/s, streaming bandwidth, prefill
 * attention FLOP/s, the smallest kernel's time), describe it as a catalog
 * "GPU" with a device profile, then predict and measure the time of single
 * kernels and of tiny-transformer iterations over a grid of shapes and batch
 * mixes. Two predictions are made for every row: the simulator's cost model
 * (model_cost_iteration / model_time_* with the host entry) and a roofline over
 * the cost model's own FLOP and byte counts with the measured rates. Timing
 * uses the median of repeats of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID). Everything here is timing
 * dependent and therefore kept out of `make check` except a smoke run. It does
 * not own the kernels, the cost model or the catalog format.
 */
#ifndef MODEL_KERNELS_HOST_H
#define MODEL_KERNELS_HOST_H

#include <glib.h>
#include "models/catalog.h"

typedef struct {
  double gemm_flops;   /* FLOP/s of kern_gemm_f over one layer of the host model at 96 tokens */
  double attn_flops;   /* FLOP/s of kern_attn_paged_f on a 128-token prefill */
  double mem_bw;       /* bytes/s of kern_add_f over a 12 MB working set (about the tiny model's weights) */
  double dram_bw;      /* bytes/s of kern_add_f over 96 MB (DRAM; reported, not used) */
  double gemm_bw;      /* bytes/s (weights + activations, as model_gemm_bytes counts them) of
                        * kern_gemm_f over one layer of the host model at 2 tokens: the rate a
                        * decode-sized GEMM streams its weights at */
  double floor_s;      /* time of a 16-element kern_add_f */
  /* effective bytes/s of each element-wise kernel class (ModelElemClass
   * order: embed, norm, rope, act, add, kv_write, layernorm, act_plain) and
   * of decode attention,
   * each measured once at a calibration shape of 256 tokens (not on the grid) */
  double elem_bw[MODEL_ELEM_COUNT];
  double dec_bw;
  double mem_bytes;    /* physical memory */
  char   cpu[96];      /* model name from /proc/cpuinfo, or "unknown CPU" */
} KernHostRates;

typedef struct {
  char   name[64];
  char   kind[16];     /* "gemm", "elem", "attn", "prefill", "decode", "mixed" */
  int    shape[3];     /* gemm: M N K; elem: class T h; attn: n q ctx; iterations: the mix is in name */
  double measured_s;   /* median over rounds */
  double model_s;      /* the simulator's cost model with the host entry */
  double roof_s;       /* roofline over the cost model's counts, measured rates */
} KernHostRow;

/* Measures the rates and times the grid: single kernels and tiny-transformer
 * iterations (prefill, decode, mixed batches). Calibration and grid cases are
 * timed in the same interleaved rounds (9, or 3 with quick, which also shrinks
 * every shape: a smoke run). Returns the rows with measured_s set; free with
 * g_array_unref. */
GArray *kern_host_measure (KernHostRates *r, gboolean quick);

/* Writes a catalog file with one "gpus" entry (id `gpu_id`, the measured
 * rates in the units of models/catalog/gpus.json, num_sms 1, memory bandwidth
 * the fastest of the measured byte rates) and one "profiles" entry for it
 * (every parameter from the measurements: see kern_host_params), atomically.
 * It loads with model_catalog_load_file. FALSE with a GError on I/O failure. */
gboolean kern_host_write_profile (const KernHostRates *r, const char *gpu_id, const char *path,
                                  GError **error);

/* The host entry's memory bandwidth: the largest of the measured byte rates
 * (streaming add, GEMM weight stream, decode attention, element-wise
 * classes), so that every efficiency of the profile is a fraction <= 1. */
double kern_host_mem_bw (const KernHostRates *r);

/* The host's device profile from the rates (caller-allocated p): tile-free
 * GEMM and attention (gemm_tile_min 1, attn_tile_q 1, attn_causal 1: the
 * reference kernels skip masked keys), efficiencies = measured rate / the
 * entry's peak, every floor the smallest kernel, no split-K, no waves, no
 * CPU overhead (the host timings contain none), KV cache in float. */
void kern_host_params (const KernHostRates *r, ModelCostParams *p);

/* Fills model_s and roof_s of rows from kern_host_measure with `gpu` (the
 * host entry as loaded from the written file) and the rates (same quick). */
void kern_host_predict (GArray *rows, const ModelGpu *gpu, const KernHostRates *r, gboolean quick);

/* Median and 90th percentile of |pred - measured| / measured over rows;
 * which: 0 = model_s, 1 = roof_s; kind NULL = all rows. */
void kern_host_errors (const GArray *rows, int which, const char *kind, double *median,
                       double *p90, int *n);

#endif
