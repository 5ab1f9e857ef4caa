/* bench/bench_prefill.c — the cost of one scheduled prefill-attention time
 * (models/cost.c: FlashAttention-2's blocks scheduled over the SMs), the part
 * of an iteration's price that grows with the prompt.
 *
 *   make bench/bench_prefill && ./bench/bench_prefill [GPU [MODEL]]
 *
 * Prices single prompts of 64 .. 8,192 tokens over an empty cache and over
 * 2,048 cached tokens with the memo off (tables off, as the calibrator runs
 * it), so every call schedules. Prints the best of 7 rounds: ns per call and
 * per thread block scheduled. Compare builds on the same machine, alternating
 * runs: shared VMs drift by 20% from one minute to the next. */
#include "config.h"

#include <stdio.h>
#include <time.h>
#include <glib.h>

#include "models/catalog.h"
#include "models/cost.h"

static double
cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
main (int argc, char **argv)
{
  const char *gpu_id = argc > 1 ? argv[1] : "h100-sxm";
  const char *llm_id = argc > 2 ? argv[2] : "llama-3.1-8b";
  GError *e = NULL;
  ModelCatalog *cat = model_catalog_new ();
  if (!model_catalog_load_default (cat, &e)) {
    fprintf (stderr, "bench_prefill: %s\n", e->message);
    return 1;
  }
  const ModelGpu *gpu = model_catalog_gpu (cat, gpu_id, &e);
  const ModelLlm *llm = gpu ? model_catalog_llm (cat, llm_id, &e) : NULL;
  if (!llm) {
    fprintf (stderr, "bench_prefill: %s\n", e->message);
    return 1;
  }
  ModelCost *c = g_new0 (ModelCost, 1);
  model_cost_init (c, llm, gpu, 1);
  ModelCostParams p = c->params;
  model_cost_set_params (c, &p, FALSE);   /* no memo: every call schedules */
  double blocks = 0, sum = 0, best = G_MAXDOUBLE;
  int calls = 0;
  for (int round = 0; round < 7; round++) {
    double t0 = cpu_s ();
    calls = 0;
    blocks = 0;
    for (gint64 ctx = 0; ctx <= 2048; ctx += 2048)
      for (gint64 q = 64; q <= 8192; q += 64) {
        ModelSeqWork w = { q, ctx };
        sum += model_cost_attn_time (c, &w, 1, FALSE);
        calls++;
        /* query tiles x query heads: the split-KV kernel's 64-row tiles
         * (a ModelCost prices a paged cache unless told otherwise); a
         * split launch has more blocks, so this is a floor */
        blocks += (double) ((q + 63) / 64) * llm->num_heads;
      }
    double t = cpu_s () - t0;
    best = MIN (best, t);
  }
  printf ("bench_prefill: %s on %s: %d calls, ~%.0f blocks each | best %.1f us per call, "
          "%.1f ns per block (checksum %.6g)\n", llm_id, gpu_id, calls, blocks / calls,
          best / calls * 1e6, best / blocks * 1e9, sum);
  g_free (c);
  model_catalog_free (cat);
  return 0;
}
