/* cli/cmd_describe.c — `servesim describe`: list the catalogs and policies,
 * or print a fully resolved scenario.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "models/catalog.h"
#include "policies/registry.h"
#include "serve/world.h"

static void
print_gpus (const ModelCatalog *cat)
{
  const char **ids = model_catalog_gpu_ids (cat);
  printf ("%-14s %-34s %9s %9s %8s %9s %9s %7s %8s\n", "id", "name", "bf16 TF", "fp8 TF", "mem GiB",
          "mem GB/s", "NVLink", "TDP W", "$/h");
  for (const char **p = ids; *p; p++) {
    const ModelGpu *g = model_catalog_gpu (cat, *p, NULL);
    printf ("%-14s %-34.34s %9.1f %9.1f %8.0f %9.0f %9.0f ", g->id, g->name, g->flops_bf16 / 1e12,
            g->flops_fp8 / 1e12, g->mem_bytes / (1 << 30), g->mem_bw / 1e9, g->nvlink_bw / 1e9);
    /* unknown figures are NaN in the catalog: print a dash */
    if (isnan (g->tdp_w))
      printf ("%7s ", "-");
    else
      printf ("%7.0f ", g->tdp_w);
    if (isnan (g->price_per_hour))
      printf ("%8s\n", "-");
    else
      printf ("%8.2f\n", g->price_per_hour);
    if (g->profile_from)
      printf ("%-14s cost-model profile: %s\n", "", g->profile_from);
  }
  g_free (ids);
}

static void
print_networks (const ModelCatalog *cat)
{
  const char **ids = model_catalog_network_ids (cat);
  printf ("%-20s %-11s %9s %9s %11s %11s %10s\n", "id", "kind", "NIC Gb/s", "GPUs/node",
          "GPU GB/s", "node GB/s", "step us");
  for (const char **p = ids; *p; p++) {
    const ModelNetwork *n = model_catalog_network (cat, *p, NULL);
    char nic[32] = "-";
    if (n->nic_bw > 0)
      g_snprintf (nic, sizeof nic, "%.0f", n->nic_bw * 8 / 1e9);
    printf ("%-20s %-11s %9s %9d %11.1f %11.1f %10.2f\n", n->id, n->kind, nic, n->gpus_per_node,
            n->params[MODEL_NET_BW_INTER] / 1e9, n->params[MODEL_NET_BW_NODE] / 1e9,
            n->params[MODEL_NET_HOP_LAT] * 1e6);
    printf ("%-20s %s\n%-20s parameters: %s\n", "", n->name, "", n->params_from);
  }
  g_free (ids);
}

static void
print_models (const ModelCatalog *cat)
{
  const char **ids = model_catalog_llm_ids (cat);
  printf ("%-16s %8s %6s %6s %6s %4s %6s %7s %7s %5s %8s  %s\n", "id", "params", "layers", "hidden",
          "heads", "kv", "hdim", "ffn", "vocab", "moe", "context", "attention");
  for (const char **p = ids; *p; p++) {
    const ModelLlm *m = model_catalog_llm (cat, *p, NULL);
    char moe[32] = "-", attn[64];
    if (m->num_experts > 1)
      g_snprintf (moe, sizeof moe, "%dx%d", m->num_experts, m->top_k);
    if (m->sliding_window > 0)
      g_snprintf (attn, sizeof attn, "window %d", m->sliding_window);
    else
      g_strlcpy (attn, "full", sizeof attn);
    if (m->qk_norm)
      g_strlcat (attn, ", q/k norm", sizeof attn);
    if (m->learned_positions)
      g_strlcat (attn, ", learned positions", sizeof attn);
    if (m->rotary_dim > 0 && m->rotary_dim < m->head_dim) {
      char rot[40];
      g_snprintf (rot, sizeof rot, ", rotary %d of %d", m->rotary_dim, m->head_dim);
      g_strlcat (attn, rot, sizeof attn);
    }
    printf ("%-16s %7.1fB %6d %6d %6d %4d %6d %7d %7d %5s %8d  %s\n", m->id,
            model_llm_params (m) / 1e9, m->num_layers, m->hidden, m->num_heads, m->num_kv_heads,
            m->head_dim, m->ffn, m->vocab, moe, m->max_context, attn);
  }
  g_free (ids);
}

static void
print_policies (const PolicyRegistry *reg, gboolean schedulers)
{
  const char **names = schedulers ? policy_registry_scheduler_names (reg)
                                  : policy_registry_router_names (reg);
  for (const char **p = names; *p; p++) {
    const char *desc;
    const PolicyParam *params;
    if (schedulers) {
      const PolicySchedulerOps *ops = policy_registry_scheduler (reg, *p, NULL);
      desc = ops->description;
      params = ops->params;
    } else {
      const PolicyRouterOps *ops = policy_registry_router (reg, *p, NULL);
      desc = ops->description;
      params = ops->params;
    }
    printf ("%s\n    %s\n", *p, desc);
    for (const PolicyParam *q = params; q && q->name; q++)
      printf ("    %-20s default %-8g range [%g, %g]  %s\n", q->name, q->def, q->min, q->max, q->help);
  }
  g_free (names);
}

int
cli_cmd_describe (int argc, char **argv)
{
  CommonOpts o = { 0 };
  GOptionContext *ctx = g_option_context_new ("gpus|networks|models|schedulers|routers|scenario [SCENARIO.json]");
  g_option_context_set_summary (ctx,
    "gpus, networks, models: the catalogs (bundled, plus --catalog FILE). A network is the\n"
    "fabric between nodes (scenario field cluster.network): per-GPU and per-node bandwidth\n"
    "across nodes, latency per inter-node step, and where its parameters come from.\n"
    "schedulers, routers: the policies by name, with their parameters.\n"
    "scenario: the fully resolved scenario (defaults + file + --set), as replay would run it.");
  cli_add_common (ctx, &o);
  GError *error = NULL;
  int rc = 1;
  PolicyRegistry *reg = policy_registry_new ();
  ModelCatalog *cat = NULL;
  ServeScenario *sc = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || !cli_load_plugins (reg, &o, &error))
    goto out;
  if (argc < 2) {
    g_set_error (&error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "what to describe? one of gpus, networks, models, schedulers, routers, scenario");
    goto out;
  }
  const char *what = argv[1];
  if (strcmp (what, "scenario") == 0) {
    if (!(sc = cli_load_scenario (argc - 1, argv + 1, &o, &error)))
      goto out;
    /* Resolve policy parameters too, so the output shows every value used. */
    ServeWorld *w = serve_world_new (sc, reg, &error);
    if (!w)
      goto out;
    serve_world_free (w);
    char *txt = serve_scenario_dump (sc);
    fputs (txt, stdout);
    g_free (txt);
    rc = 0;
    goto out;
  }
  if (argc > 2) {
    g_set_error (&error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "'describe %s' takes no further argument", what);
    goto out;
  }
  if (strcmp (what, "schedulers") == 0 || strcmp (what, "routers") == 0) {
    print_policies (reg, what[0] == 's');
    rc = 0;
    goto out;
  }
  cat = model_catalog_new ();
  if (!model_catalog_load_default (cat, &error) || (o.catalog && !model_catalog_load_file (cat, o.catalog, &error)))
    goto out;
  if (strcmp (what, "gpus") == 0)
    print_gpus (cat);
  else if (strcmp (what, "networks") == 0)
    print_networks (cat);
  else if (strcmp (what, "models") == 0)
    print_models (cat);
  else {
    g_set_error (&error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "unknown '%s' (valid: gpus, networks, models, schedulers, routers, scenario)", what);
    goto out;
  }
  rc = 0;
out:
  if (error) {
    fprintf (stderr, "servesim describe: %s\n", error->message);
    g_error_free (error);
  }
  model_catalog_free (cat);
  serve_scenario_free (sc);
  policy_registry_free (reg);
  cli_common_clear (&o);
  g_option_context_free (ctx);
  return rc;
}
