/* bench/cost_table.c — the "Sample predictions" table of docs/cost-model.md:
 * per-iteration times of a few deployments with the bundled profiles.
 *
 *   make bench/cost_table && ./bench/cost_table
 *
 * Decode rows: a batch of b sequences, each with 1,000 tokens of context and
 * one new token; prefill rows: one prompt from an empty cache. Milliseconds of
 * the whole iteration (GPU operators + CPU overhead), CPU share in brackets.
 * Prints Markdown; nothing here is measured, it is what `servesim replay`
 * charges. */
#include "config.h"

#include <stdio.h>
#include <glib.h>

#include "models/catalog.h"
#include "models/cost.h"

static double
iter_ms (const ModelCost *c, gint64 q, gint64 ctx, int batch, double *cpu_ms)
{
  ModelSeqWork *w = g_new (ModelSeqWork, batch);
  for (int i = 0; i < batch; i++)
    w[i] = (ModelSeqWork) { q, ctx };
  ModelIterCost it;
  model_cost_iteration (c, w, (gsize) batch, &it);
  g_free (w);
  if (cpu_ms)
    *cpu_ms = it.cpu_s * 1e3;
  return it.total_s * 1e3;
}

int
main (void)
{
  static const struct { const char *llm, *gpu; int tp; } rows[] = {
    { "llama-3.1-8b", "h100-sxm", 1 }, { "llama-3.1-8b", "a100-80gb", 1 },
    { "llama-3.1-8b", "h100-sxm-cu13", 1 }, { "llama-3.1-8b", "h200", 1 }, { "llama-3.1-70b", "h100-sxm", 4 },
    { "mixtral-8x7b", "h100-sxm", 2 }, { "llama-3.1-8b", "l40s", 1 },
  };
  ModelCatalog *cat = model_catalog_new ();
  GError *e = NULL;
  if (!model_catalog_load_default (cat, &e)) {
    fprintf (stderr, "cost_table: %s\n", e->message);
    return 1;
  }
  printf ("| model | GPU (profile) | tp | decode b1 ctx1000 | decode b32 | decode b256 | "
          "prefill 512 | prefill 1000 | prefill 2048 |\n|---|---|---|---|---|---|---|---|---|\n");
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++) {
    const ModelLlm *m = model_catalog_llm (cat, rows[i].llm, NULL);
    const ModelGpu *g = model_catalog_gpu (cat, rows[i].gpu, NULL);
    if (!m || !g)
      continue;
    ModelCost c;
    model_cost_init (&c, m, g, rows[i].tp);
    printf ("| %s | %s (%s) | %d |", m->id, g->id, g->profile_gpu ? g->profile_gpu : "defaults",
            rows[i].tp);
    static const int batches[] = { 1, 32, 256 };
    for (gsize b = 0; b < G_N_ELEMENTS (batches); b++) {
      double cpu, t = iter_ms (&c, 1, 1000, batches[b], &cpu);
      printf (" %.2f (CPU %.2f) |", t, cpu);
    }
    static const int prompts[] = { 512, 1000, 2048 };
    for (gsize p = 0; p < G_N_ELEMENTS (prompts); p++)
      printf (" %.2f |", iter_ms (&c, prompts[p], 0, 1, NULL));
    printf ("\n");
  }
  model_catalog_free (cat);
  return 0;
}
