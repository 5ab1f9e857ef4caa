/* tests/models/test_catalog.c — the GPU and LLM catalogs: the bundled files
 * load and are sane, user files override and add entries, and every kind of
 * bad input is rejected with a message naming file, line, entry and field.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "tests/testutil.h"
#include "models/catalog.h"
#include "models/comm.h"

static const char *const required_gpus[] = {
  "h100-sxm", "h100-pcie", "h200", "a100-80gb", "a100-40gb", "a40", "l40s", "l4", "a10g",
  "mi300x", "b200", "rtx-4090", "rtx-pro-6000", NULL
};

static const char *const required_llms[] = {
  "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3.1-8b", "llama-3.1-70b",
  "llama-3.1-405b", "mistral-7b", "mixtral-8x7b", "qwen2.5-7b", "qwen2.5-72b", "qwen3-32b",
  "qwen3-30b-a3b", "opt-13b", "opt-66b", "opt-175b", "codellama-34b", "falcon-180b",
  "yi-34b", "internlm-20b", "phi-2", NULL
};

static ModelCatalog *
load_default (void)
{
  ModelCatalog *cat = model_catalog_new ();
  GError *e = NULL;
  gboolean ok = model_catalog_load_default (cat, &e);
  if (!ok)
    fprintf (stderr, "load_default: %s\n", e->message);
  CU_ASSERT_TRUE_FATAL (ok);
  return cat;
}

static gboolean
id_ok (const char *s)
{
  if (!s || !*s || !(g_ascii_islower (*s) || g_ascii_isdigit (*s)))
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '.'))
      return FALSE;
  return TRUE;
}

static void
test_default_gpus (void)
{
  ModelCatalog *cat = load_default ();
  for (const char *const *id = required_gpus; *id; id++) {
    const ModelGpu *g = model_catalog_gpu (cat, *id, NULL);
    if (!g)
      fprintf (stderr, "missing gpu %s\n", *id);
    CU_ASSERT_PTR_NOT_NULL (g);
  }
  const char **ids = model_catalog_gpu_ids (cat);
  guint n = 0;
  for (; ids[n]; n++) {
    if (n > 0)
      CU_ASSERT_TRUE (strcmp (ids[n - 1], ids[n]) < 0);
    const ModelGpu *g = model_catalog_gpu (cat, ids[n], NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (g);
    CU_ASSERT_TRUE (id_ok (g->id));
    CU_ASSERT_STRING_EQUAL (g->id, ids[n]);
    CU_ASSERT_TRUE (g->name && *g->name);
    CU_ASSERT_TRUE (g->source && strlen (g->source) > 20);
    CU_ASSERT_TRUE (strcmp (g->vendor, "nvidia") == 0 || strcmp (g->vendor, "amd") == 0);
    /* ranges that catch unit mistakes (TFLOPS vs FLOPS, GB vs bytes) */
    CU_ASSERT_TRUE (g->flops_bf16 > 50e12 && g->flops_bf16 < 5e15);
    CU_ASSERT_TRUE (g->flops_fp8 == 0 || (g->flops_fp8 >= g->flops_bf16 && g->flops_fp8 < 1e16));
    CU_ASSERT_TRUE (g->mem_bytes >= 16.0 * (1 << 30) && g->mem_bytes <= 256.0 * (1 << 30));
    CU_ASSERT_TRUE (g->mem_bw > 200e9 && g->mem_bw < 10e12);
    CU_ASSERT_TRUE (g->nvlink_bw == 0 || (g->nvlink_bw > 40e9 && g->nvlink_bw <= 1e12));
    CU_ASSERT_TRUE (g->pcie_bw >= 16e9 && g->pcie_bw <= 128e9);
    CU_ASSERT_TRUE (isnan (g->tdp_w) || (g->tdp_w > 50 && g->tdp_w <= 1200));
    CU_ASSERT_TRUE (isnan (g->price_per_hour) || (g->price_per_hour > 0 && g->price_per_hour < 20));
    CU_ASSERT_TRUE (g->num_sms >= 0 && g->num_sms < 400);
  }
  CU_ASSERT_TRUE (n >= 13);
  g_free (ids);

  /* spot checks of the unit conversions */
  const ModelGpu *h = model_catalog_gpu (cat, "h100-sxm", NULL);
  CU_ASSERT_DOUBLE_EQUAL (h->flops_bf16, 989.4e12, 1e6);
  CU_ASSERT_DOUBLE_EQUAL (h->mem_bytes, 80.0 * 1024 * 1024 * 1024, 0.5);
  CU_ASSERT_DOUBLE_EQUAL (h->mem_bw, 3350e9, 1);
  CU_ASSERT_DOUBLE_EQUAL (h->nvlink_bw, 450e9, 1);   /* 900 bidirectional / 2 */
  CU_ASSERT_DOUBLE_EQUAL (h->price_per_hour, 3.99, 1e-9);
  CU_ASSERT_EQUAL (h->num_sms, 132);
  const ModelGpu *l4 = model_catalog_gpu (cat, "l4", NULL);
  CU_ASSERT_EQUAL (l4->nvlink_bw, 0);
  CU_ASSERT_TRUE (isnan (l4->price_per_hour));
  CU_ASSERT_TRUE (isnan (model_catalog_gpu (cat, "a10g", NULL)->tdp_w));
  model_catalog_free (cat);
}

static void
test_default_llms (void)
{
  ModelCatalog *cat = load_default ();
  for (const char *const *id = required_llms; *id; id++) {
    const ModelLlm *m = model_catalog_llm (cat, *id, NULL);
    if (!m)
      fprintf (stderr, "missing model %s\n", *id);
    CU_ASSERT_PTR_NOT_NULL (m);
  }
  const char **ids = model_catalog_llm_ids (cat);
  guint n = 0;
  for (; ids[n]; n++) {
    if (n > 0)
      CU_ASSERT_TRUE (strcmp (ids[n - 1], ids[n]) < 0);
    const ModelLlm *m = model_catalog_llm (cat, ids[n], NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    CU_ASSERT_TRUE (id_ok (m->id));
    CU_ASSERT_TRUE (m->name && strchr (m->name, '/') != NULL);   /* an HF repo id */
    CU_ASSERT_TRUE (m->source && *m->source);
    CU_ASSERT_TRUE (m->num_layers > 0 && m->num_layers <= 200);
    CU_ASSERT_TRUE (m->hidden >= 512 && m->hidden <= 32768);
    CU_ASSERT_TRUE (m->num_heads > 0 && m->num_kv_heads > 0);
    CU_ASSERT_EQUAL (m->num_heads % m->num_kv_heads, 0);
    CU_ASSERT_TRUE (m->head_dim >= 64 && m->head_dim <= 256);
    CU_ASSERT_TRUE (m->ffn > 0 && m->vocab >= 30000 && m->max_context >= 2048);
    CU_ASSERT_TRUE (m->bytes_per_param == 1 || m->bytes_per_param == 2 || m->bytes_per_param == 4);
    CU_ASSERT_TRUE (strcmp (m->norm, "rmsnorm") == 0 || strcmp (m->norm, "layernorm") == 0);
    if (m->num_experts > 1)
      CU_ASSERT_TRUE (m->top_k >= 1 && m->top_k <= m->num_experts);
    double p = model_llm_params (m);
    CU_ASSERT_TRUE (p > 1e9 && p < 1e12);
  }
  CU_ASSERT_TRUE (n >= 20);
  g_free (ids);

  /* published parameter counts (biases are not modelled: within 2%) */
  static const struct { const char *id; double params; } known[] = {
    { "llama-2-7b", 6.738e9 }, { "llama-2-70b", 68.98e9 }, { "llama-3.1-8b", 8.03e9 },
    { "llama-3.1-70b", 70.55e9 }, { "llama-3.1-405b", 405.8e9 }, { "mistral-7b", 7.24e9 },
    { "mixtral-8x7b", 46.70e9 }, { "qwen2.5-7b", 7.61e9 }, { "qwen2.5-72b", 72.7e9 },
    { "qwen3-32b", 32.8e9 }, { "qwen3-30b-a3b", 30.5e9 }, { "opt-175b", 175e9 },
    { "falcon-180b", 180e9 }, { "phi-2", 2.78e9 }, { "yi-34b", 34.4e9 },
    { "llama-3.2-1b", 1.236e9 }, { "llama-3.2-3b", 3.213e9 },   /* tied embeddings */
  };
  for (guint i = 0; i < G_N_ELEMENTS (known); i++) {
    double p = model_llm_params (model_catalog_llm (cat, known[i].id, NULL));
    if (fabs (p / known[i].params - 1) > 0.02)
      fprintf (stderr, "%s: %.4g params, expected %.4g\n", known[i].id, p, known[i].params);
    CU_ASSERT_TRUE (fabs (p / known[i].params - 1) <= 0.02);
  }

  /* the details the brief calls out */
  const ModelLlm *q3 = model_catalog_llm (cat, "qwen3-32b", NULL);
  CU_ASSERT_EQUAL (q3->head_dim, 128);
  CU_ASSERT_NOT_EQUAL (q3->head_dim * q3->num_heads, q3->hidden);
  const ModelLlm *moe = model_catalog_llm (cat, "qwen3-30b-a3b", NULL);
  CU_ASSERT_EQUAL (moe->num_experts, 128);
  CU_ASSERT_EQUAL (moe->top_k, 8);
  CU_ASSERT_EQUAL (moe->ffn, 768);
  const ModelLlm *opt = model_catalog_llm (cat, "opt-13b", NULL);
  CU_ASSERT_FALSE (opt->gated_mlp);
  CU_ASSERT_TRUE (opt->tied_embeddings);
  CU_ASSERT_STRING_EQUAL (opt->activation, "relu");
  CU_ASSERT_STRING_EQUAL (opt->norm, "layernorm");
  CU_ASSERT_EQUAL (opt->ffn, 4 * opt->hidden);
  const ModelLlm *fal = model_catalog_llm (cat, "falcon-180b", NULL);
  CU_ASSERT_TRUE (fal->parallel_attn_mlp);
  CU_ASSERT_EQUAL (fal->num_kv_heads, 8);
  CU_ASSERT_EQUAL (fal->norms_per_layer, 2);   /* ln_attn and ln_mlp */
  CU_ASSERT_EQUAL (model_llm_norms (fal), 2);
  const ModelLlm *phi = model_catalog_llm (cat, "phi-2", NULL);
  CU_ASSERT_TRUE (phi->parallel_attn_mlp);
  CU_ASSERT_EQUAL (phi->num_kv_heads, 32);
  CU_ASSERT_EQUAL (phi->norms_per_layer, 1);   /* the default of a parallel block */
  CU_ASSERT_EQUAL (opt->norms_per_layer, 2);
  CU_ASSERT_TRUE (opt->learned_positions);     /* OPT: learned positions, no rotary */
  CU_ASSERT_FALSE (phi->learned_positions);
  CU_ASSERT_EQUAL (phi->rotary_dim, 32);          /* partial_rotary_factor 0.4 of 80 */
  CU_ASSERT_EQUAL (fal->rotary_dim, 0);           /* the whole head */
  CU_ASSERT_FALSE (fal->learned_positions);
  /* a hand-built model (0) gets the default */
  ModelLlm hand = *phi;
  hand.norms_per_layer = 0;
  CU_ASSERT_EQUAL (model_llm_norms (&hand), 1);
  hand.parallel_attn_mlp = FALSE;
  CU_ASSERT_EQUAL (model_llm_norms (&hand), 2);
  /* Falcon-180B's second layernorm: 2 x 14,848 weights and biases a layer */
  ModelLlm one = *fal;
  one.norms_per_layer = 1;
  CU_ASSERT_DOUBLE_EQUAL (model_llm_params (fal) - model_llm_params (&one), 80 * 2 * 14848.0, 0.5);
  /* per-head q/k norms (Qwen3) and a sliding window (Mistral-7B v0.1);
   * the others have neither */
  CU_ASSERT_TRUE (moe->qk_norm);
  CU_ASSERT_TRUE (model_catalog_llm (cat, "qwen3-32b", NULL)->qk_norm);
  CU_ASSERT_EQUAL (model_catalog_llm (cat, "mistral-7b", NULL)->sliding_window, 4096);
  CU_ASSERT_FALSE (model_catalog_llm (cat, "mistral-7b", NULL)->qk_norm);
  CU_ASSERT_FALSE (phi->qk_norm);
  CU_ASSERT_EQUAL (phi->sliding_window, 0);
  CU_ASSERT_EQUAL (model_catalog_llm (cat, "mixtral-8x7b", NULL)->sliding_window, 0);
  model_catalog_free (cat);
}

static const char *const good_gpu_entry =
  "{\"id\": \"my-gpu\", \"name\": \"Mine\", \"vendor\": \"nvidia\", \"bf16_tflops\": 100,\n"
  " \"mem_gib\": 32, \"mem_bw_gbps\": 1000, \"pcie_gbps\": 32, \"source\": \"me\"}";

static void
test_override (void)
{
  ModelCatalog *cat = load_default ();
  const char **before = model_catalog_gpu_ids (cat);
  guint n_before = g_strv_length ((char **) before);
  g_free (before);
  char *dir = test_tmpdir ();
  char *text = g_strdup_printf (
    "{\"gpus\": [\n"
    "  {\"id\": \"h100-sxm\", \"name\": \"H100 derated\", \"vendor\": \"nvidia\",\n"
    "   \"bf16_tflops\": 500, \"mem_gib\": 64, \"mem_bw_gbps\": 2000, \"pcie_gbps\": 64,\n"
    "   \"price_per_hour\": null},\n"
    "  %s],\n"
    " \"models\": [\n"
    "  {\"id\": \"tiny\", \"name\": \"me/tiny\", \"num_layers\": 2, \"hidden\": 64,\n"
    "   \"num_heads\": 4, \"num_kv_heads\": 2, \"ffn\": 128, \"vocab\": 100,\n"
    "   \"gated_mlp\": true, \"norm\": \"rmsnorm\", \"activation\": \"silu\",\n"
    "   \"weight_dtype\": \"bf16\", \"max_context\": 512}]}\n", good_gpu_entry);
  char *path = test_write_file (dir, "user.json", text);
  GError *e = NULL;
  CU_ASSERT_TRUE (model_catalog_load_file (cat, path, &e));
  CU_ASSERT_PTR_NULL (e);
  const ModelGpu *h = model_catalog_gpu (cat, "h100-sxm", NULL);
  CU_ASSERT_STRING_EQUAL (h->name, "H100 derated");
  CU_ASSERT_DOUBLE_EQUAL (h->mem_bytes, 64.0 * (1 << 30), 0.5);
  CU_ASSERT_TRUE (isnan (h->price_per_hour));   /* replaced whole, not merged */
  CU_ASSERT_EQUAL (h->nvlink_bw, 0);
  CU_ASSERT_STRING_EQUAL (h->source, "");
  CU_ASSERT_PTR_NOT_NULL (model_catalog_gpu (cat, "my-gpu", NULL));
  CU_ASSERT_PTR_NOT_NULL (model_catalog_gpu (cat, "h200", NULL));   /* others untouched */
  const ModelLlm *t = model_catalog_llm (cat, "tiny", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t);
  CU_ASSERT_EQUAL (t->head_dim, 16);   /* defaulted from hidden / heads */
  CU_ASSERT_EQUAL (t->bytes_per_param, 2);
  CU_ASSERT_EQUAL (t->num_experts, 0);
  CU_ASSERT_FALSE (t->tied_embeddings);
  const char **ids = model_catalog_gpu_ids (cat);
  guint n = 0;
  while (ids[n])
    n++;
  CU_ASSERT_EQUAL (n, n_before + 1);   /* h100-sxm replaced, my-gpu added */
  g_free (ids);
  g_free (path);
  g_free (text);
  test_rmdir_r (dir);
  g_free (dir);
  model_catalog_free (cat);
}

static void
test_malformed_json (void)
{
  char *dir = test_tmpdir ();
  char *path = test_write_file (dir, "bad.json",
                                "{\"gpus\": [\n  {\"id\": \"x\",\n   \"name\": \"y\" \"vendor\": 1}\n]}\n");
  ModelCatalog *cat = model_catalog_new ();
  GError *e = NULL;
  CU_ASSERT_FALSE (model_catalog_load_file (cat, path, &e));
  CU_ASSERT_TRUE_FATAL (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_PARSE));
  char *want = g_strdup_printf ("%s:3:", path);
  CU_ASSERT_TRUE (g_str_has_prefix (e->message, want));
  g_free (want);
  g_clear_error (&e);

  /* NaN is not JSON: rejected by the parser with its line */
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "{\"gpus\": [\n{\"bf16_tflops\": NaN}]}",
                                            "nan.json", &e));
  CU_ASSERT_TRUE (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_PARSE));
  CU_ASSERT_TRUE (e && g_str_has_prefix (e->message, "nan.json:2:"));
  g_clear_error (&e);

  /* a missing file, not an object, no arrays, an unknown top-level key */
  CU_ASSERT_FALSE (model_catalog_load_file (cat, "/nonexistent/x.json", &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "/nonexistent/x.json") != NULL);
  g_clear_error (&e);
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "[1, 2]", "arr.json", &e));
  CU_ASSERT_TRUE (e && g_str_has_prefix (e->message, "arr.json:1:"));
  g_clear_error (&e);
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "{\"source\": \"x\"}", "empty.json", &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "no \"gpus\", \"networks\", \"models\" or \"profiles\"") != NULL);
  g_clear_error (&e);
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "{\"gpus\": [],\n \"modles\": []}", "typo.json", &e));
  CU_ASSERT_TRUE (e && g_str_has_prefix (e->message, "typo.json:2:") && strstr (e->message, "modles"));
  g_clear_error (&e);
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "{\"gpus\": {}}", "obj.json", &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "must be an array") != NULL);
  g_clear_error (&e);

  g_free (path);
  test_rmdir_r (dir);
  g_free (dir);
  model_catalog_free (cat);
}

/* Loads `entry` (one GPU object) after a valid entry and checks the error
 * names the file, the expected line, the entry and the field, and that the
 * valid entry was not added (a failed load leaves the catalog unchanged). */
static void
expect_gpu_error (const char *entry, int line, const char *id, const char *field)
{
  ModelCatalog *cat = model_catalog_new ();
  char *text = g_strdup_printf ("{\"gpus\": [\n%s,\n%s\n]}", good_gpu_entry, entry);
  GError *e = NULL;
  CU_ASSERT_FALSE (model_catalog_load_data (cat, text, "user.json", &e));
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_TRUE (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_INVALID));
  char *loc = g_strdup_printf ("user.json:%d: ", line);
  char *who = g_strdup_printf ("'%s'", id);
  char *what = g_strdup_printf ("field '%s'", field);
  gboolean ok = g_str_has_prefix (e->message, loc) && strstr (e->message, who)
                && strstr (e->message, what);
  if (!ok)
    fprintf (stderr, "\nunexpected message: %s (wanted %s ... %s ... %s)\n", e->message, loc,
             who, what);
  CU_ASSERT_TRUE (ok);
  CU_ASSERT_PTR_NULL (model_catalog_gpu (cat, "my-gpu", NULL));
  g_free (loc);
  g_free (who);
  g_free (what);
  g_error_free (e);
  g_free (text);
  model_catalog_free (cat);
}

static void
test_bad_gpu_fields (void)
{
  /* the good entry is lines 2-3; the bad one starts on line 4 */
  expect_gpu_error ("{\"id\": \"g1\", \"name\": \"n\", \"vendor\": \"nvidia\",\n"
                    " \"bf16_tflops\": 100, \"mem_gib\": 32, \"pcie_gbps\": 32}",
                    4, "g1", "mem_bw_gbps");                        /* missing */
  expect_gpu_error ("{\"id\": \"g2\", \"name\": \"n\", \"vendor\": \"nvidia\",\n"
                    " \"bf16_tflops\": 100,\n \"mem_gib\": -8, \"mem_bw_gbps\": 1, \"pcie_gbps\": 32}",
                    6, "g2", "mem_gib");                            /* negative */
  expect_gpu_error ("{\"id\": \"g3\", \"name\": \"n\", \"vendor\": \"nvidia\",\n"
                    " \"bf16_tflops\": \"NaN\", \"mem_gib\": 8, \"mem_bw_gbps\": 1, \"pcie_gbps\": 32}",
                    5, "g3", "bf16_tflops");                        /* NaN-like string */
  expect_gpu_error ("{\"id\": \"g4\", \"name\": \"n\", \"vendor\": \"nvidia\", \"bf16_tflops\": 0,\n"
                    " \"mem_gib\": 8, \"mem_bw_gbps\": 1, \"pcie_gbps\": 32}",
                    4, "g4", "bf16_tflops");                        /* zero */
  expect_gpu_error ("{\"id\": \"g5\", \"name\": \"n\", \"vendor\": \"nvidia\", \"bf16_tflops\": 1,\n"
                    " \"mem_gib\": 8, \"mem_bw_gbps\": 1, \"pcie_gbps\": 32,\n \"num_sms\": 1.5}",
                    6, "g5", "num_sms");                            /* wrong type */
  expect_gpu_error ("{\"id\": \"g6\", \"name\": \"n\", \"vendor\": \"nvidia\", \"bf16_tflops\": 1,\n"
                    " \"mem_gib\": 8, \"mem_bw_gbps\": 1, \"pcie_gbps\": 32, \"mem_gbps\": 3}",
                    5, "g6", "mem_gbps");                           /* unknown field */
  expect_gpu_error ("{\"id\": \"my-gpu\", \"name\": \"n\", \"vendor\": \"nvidia\", \"bf16_tflops\": 1,\n"
                    " \"mem_gib\": 8, \"mem_bw_gbps\": 1, \"pcie_gbps\": 32}",
                    4, "my-gpu", "id");                             /* duplicate id */
  expect_gpu_error ("{\"id\": \"g8\", \"name\": \"n\", \"vendor\": \"nvidia\", \"bf16_tflops\": 1,\n"
                    " \"mem_gib\": 8, \"mem_bw_gbps\": 1, \"pcie_gbps\": 32, \"price_per_hour\": -1}",
                    5, "g8", "price_per_hour");
  expect_gpu_error ("{\"id\": \"g10\", \"name\": \"n\", \"vendor\": \"nvidia\",\n \"bf16_tflops\": 1e305,\n"
                    " \"mem_gib\": 8, \"mem_bw_gbps\": 1, \"pcie_gbps\": 32}",
                    5, "g10", "bf16_tflops");                       /* overflows in FLOP/s */
  expect_gpu_error ("{\"id\": \"g9\", \"name\": \"n\", \"vendor\": \"nvidia\", \"bf16_tflops\": 1e308,\n"
                    " \"mem_gib\": 8, \"mem_bw_gbps\": null, \"pcie_gbps\": 32}",
                    5, "g9", "mem_bw_gbps");                        /* null where required */

  /* invalid ids: the message names the entry by position */
  ModelCatalog *cat = model_catalog_new ();
  GError *e = NULL;
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "{\"gpus\": [{\"id\": \"H100\"}]}", "u.json", &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "gpu entry #1") && strstr (e->message, "field 'id'"));
  g_clear_error (&e);
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "{\"gpus\": [{\"id\": \"-x\"}]}", "u.json", &e));
  CU_ASSERT_PTR_NOT_NULL (e);
  g_clear_error (&e);
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "{\"gpus\": [{\"name\": \"x\"}]}", "u.json", &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "missing"));
  g_clear_error (&e);
  CU_ASSERT_FALSE (model_catalog_load_data (cat, "{\"gpus\": [7]}", "u.json", &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "expected an object"));
  g_clear_error (&e);
  model_catalog_free (cat);
}

static void
expect_llm_error (const char *fields, const char *field)
{
  /* a valid model, less any field that `fields` redefines */
  static const char *const base[][2] = {
    { "name", "\"me/m\"" }, { "num_layers", "2" }, { "hidden", "64" }, { "num_heads", "4" },
    { "ffn", "128" }, { "vocab", "100" }, { "gated_mlp", "true" }, { "norm", "\"rmsnorm\"" },
    { "activation", "\"silu\"" }, { "weight_dtype", "\"bf16\"" }, { "max_context", "512" },
  };
  ModelCatalog *cat = model_catalog_new ();
  GString *t = g_string_new ("{\"models\": [{\"id\": \"m\"");
  for (guint i = 0; i < G_N_ELEMENTS (base); i++) {
    char *key = g_strdup_printf ("\"%s\"", base[i][0]);
    if (!strstr (fields, key))
      g_string_append_printf (t, ",\n %s: %s", key, base[i][1]);
    g_free (key);
  }
  g_string_append_printf (t, ",\n %s}]}", fields);
  char *text = g_string_free (t, FALSE);
  GError *e = NULL;
  CU_ASSERT_FALSE (model_catalog_load_data (cat, text, "llm.json", &e));
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  char *what = g_strdup_printf ("field '%s'", field);
  gboolean ok = g_str_has_prefix (e->message, "llm.json:") && strstr (e->message, "model 'm'")
                && strstr (e->message, what);
  if (!ok)
    fprintf (stderr, "\nunexpected message: %s (wanted %s)\n", e->message, what);
  CU_ASSERT_TRUE (ok);
  g_free (what);
  g_error_free (e);
  g_free (text);
  model_catalog_free (cat);
}

static void
test_bad_llm_fields (void)
{
  expect_llm_error ("\"num_kv_heads\": 3", "num_kv_heads");     /* 4 % 3 != 0 */
  expect_llm_error ("\"num_kv_heads\": 8", "num_kv_heads");     /* more than heads */
  expect_llm_error ("\"num_layers\": \"2\"", "num_layers");
  expect_llm_error ("\"norm\": \"batchnorm\"", "norm");
  expect_llm_error ("\"activation\": \"tanh\"", "activation");
  expect_llm_error ("\"weight_dtype\": \"int4\"", "weight_dtype");
  expect_llm_error ("\"bytes_per_param\": 4", "bytes_per_param");
  expect_llm_error ("\"num_experts\": 8", "top_k");             /* MoE without top_k */
  expect_llm_error ("\"num_experts\": 8, \"top_k\": 9", "top_k");
  expect_llm_error ("\"top_k\": 2", "top_k");                   /* dense with top_k */
  expect_llm_error ("\"gated_mlp\": 1", "gated_mlp");
  expect_llm_error ("\"hidden\": 65", "head_dim");              /* not a multiple of heads */
  expect_llm_error ("\"vocab\": -100", "vocab");
  expect_llm_error ("\"ffn\": 0", "ffn");
  expect_llm_error ("\"quantization\": \"awq\"", "quantization");
  expect_llm_error ("\"norms_per_layer\": 1", "norms_per_layer");   /* sequential: 2 */
  expect_llm_error ("\"parallel_attn_mlp\": true, \"norms_per_layer\": 3", "norms_per_layer");
  expect_llm_error ("\"norms_per_layer\": 0", "norms_per_layer");
  expect_llm_error ("\"norms_per_layer\": \"2\"", "norms_per_layer");
  expect_llm_error ("\"rotary_dim\": 7", "rotary_dim");          /* odd */
  expect_llm_error ("\"rotary_dim\": 18", "rotary_dim");         /* > head_dim 16 */
  expect_llm_error ("\"rotary_dim\": -2", "rotary_dim");
  expect_llm_error ("\"positions\": \"learned\", \"rotary_dim\": 8", "rotary_dim");
  expect_llm_error ("\"positions\": \"alibi\"", "positions");
  expect_llm_error ("\"positions\": true", "positions");
  expect_llm_error ("\"qk_norm\": 1", "qk_norm");
  expect_llm_error ("\"qk_norm\": \"yes\"", "qk_norm");
  expect_llm_error ("\"sliding_window\": -4096", "sliding_window");
  expect_llm_error ("\"sliding_window\": 4096.5", "sliding_window");
  expect_llm_error ("\"sliding_window\": \"4096\"", "sliding_window");
}

static void
test_unknown_id (void)
{
  ModelCatalog *cat = load_default ();
  GError *e = NULL;
  CU_ASSERT_PTR_NULL (model_catalog_gpu (cat, "h100", &e));
  CU_ASSERT_TRUE_FATAL (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_UNKNOWN));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, "'h100'"));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, "h100-sxm"));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, "a100-40gb, a100-80gb, a10g, a40, b200"));  /* sorted */
  g_clear_error (&e);
  CU_ASSERT_PTR_NULL (model_catalog_llm (cat, "llama-3-8b", &e));
  CU_ASSERT_TRUE (g_error_matches (e, MODEL_ERROR, MODEL_ERROR_UNKNOWN));
  CU_ASSERT_TRUE (e && strstr (e->message, "llama-3.1-8b") != NULL);
  g_clear_error (&e);
  model_catalog_free (cat);

  /* an empty catalog says so */
  ModelCatalog *empty = model_catalog_new ();
  CU_ASSERT_PTR_NULL (model_catalog_llm (empty, "x", &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "none loaded") != NULL);
  g_clear_error (&e);
  const char **ids = model_catalog_gpu_ids (empty);
  CU_ASSERT_PTR_NULL (ids[0]);
  g_free (ids);
  model_catalog_free (empty);
}

static void
test_bundled_files_found (void)
{
  /* the data files are found through SERVESIM_DATA_DIR (set by make check) */
  ModelCatalog *cat = model_catalog_new ();
  char *p = test_src_path ("models/catalog/llms.json");
  GError *e = NULL;
  CU_ASSERT_TRUE (model_catalog_load_file (cat, p, &e));
  CU_ASSERT_PTR_NULL (model_catalog_gpu (cat, "h100-sxm", NULL));   /* only models loaded */
  CU_ASSERT_PTR_NOT_NULL (model_catalog_llm (cat, "phi-2", NULL));
  g_free (p);
  model_catalog_free (cat);
}

/* A networks-only catalog text loads or fails with a message holding each
 * of `want` (NULL-terminated); returns the catalog (NULL on failure). */
static ModelCatalog *
load_networks (const char *entries, const char *const *want)
{
  ModelCatalog *cat = model_catalog_new ();
  char *text = g_strdup_printf ("{\"networks\": [\n%s\n]}", entries);
  GError *e = NULL;
  gboolean ok = model_catalog_load_data (cat, text, "nets.json", &e);
  g_free (text);
  if (want) {
    CU_ASSERT_FALSE (ok);
    for (const char *const *w = want; *w; w++)
      if (!(e && strstr (e->message, *w))) {
        fprintf (stderr, "expected '%s' in: %s\n", *w, e ? e->message : "(no error)");
        CU_FAIL ("error message");
      }
    g_clear_error (&e);
    model_catalog_free (cat);
    return NULL;
  }
  if (!ok)
    fprintf (stderr, "load_networks: %s\n", e->message);
  CU_ASSERT_TRUE_FATAL (ok);
  return cat;
}

/* The network catalog: the bundled entries, how an entry without fitted
 * values borrows them, and what a network changes in a GPU's profile. */
static void
test_networks (void)
{
  ModelCatalog *cat = load_default ();
  const ModelNetwork *alcf = model_catalog_network (cat, "alcf-sophia-hdr", NULL);
  const ModelNetwork *ndr = model_catalog_network (cat, "ndr400-8", NULL);
  const ModelNetwork *vidur = model_catalog_network (cat, "vidur-a100-cluster", NULL);
  CU_ASSERT_TRUE_FATAL (alcf && ndr && vidur);
  /* the fitted entries hold what calibrate fitted into the profiles of the
   * GPUs measured on them (a refit that moves these makes networks.json
   * stale: copy the new values over) */
  const ModelGpu *a40 = model_catalog_gpu (cat, "a100-40gb", NULL);
  const ModelGpu *a80 = model_catalog_gpu (cat, "a100-80gb", NULL);
  ModelCostParams p = a80->profile;
  model_network_apply (vidur, &p);
  CU_ASSERT_EQUAL (memcmp (&p, &a80->profile, sizeof p), 0);
  p = a40->profile;
  CU_ASSERT_EQUAL (alcf->params[MODEL_NET_BW_INTER], a40->profile.comm_bw_frac[MODEL_HOP_INTER]);
  CU_ASSERT_EQUAL (alcf->params[MODEL_NET_HOP_LAT], a40->profile.comm_hop_lat_s[MODEL_HOP_INTER]);
  CU_ASSERT_EQUAL (alcf->params[MODEL_NET_LL_BW], a40->profile.comm_ll_bw_inter);
  CU_ASSERT_EQUAL (alcf->given, (1u << MODEL_NET_BW_INTER) | (1u << MODEL_NET_HOP_LAT) | (1u << MODEL_NET_LL_BW));
  /* NDR 400 borrows ALCF's (same kind): the same share of its line rate,
   * ALCF's step latency and LL cap; a node's NICs together */
  CU_ASSERT_EQUAL (ndr->given, 0);
  CU_ASSERT_DOUBLE_EQUAL (ndr->nic_bw, 50e9, 1);
  CU_ASSERT_DOUBLE_EQUAL (ndr->params[MODEL_NET_BW_INTER], 50e9 * alcf->params[MODEL_NET_BW_INTER] / alcf->nic_bw, 1);
  CU_ASSERT_DOUBLE_EQUAL (ndr->params[MODEL_NET_BW_NODE], 8 * ndr->params[MODEL_NET_BW_INTER], 1);
  CU_ASSERT_EQUAL (ndr->params[MODEL_NET_HOP_LAT], alcf->params[MODEL_NET_HOP_LAT]);
  CU_ASSERT_EQUAL (ndr->params[MODEL_NET_LL_BW], alcf->params[MODEL_NET_LL_BW]);
  CU_ASSERT_TRUE (strstr (ndr->params_from, "carried over from alcf-sophia-hdr") != NULL);
  CU_ASSERT_TRUE (strstr (alcf->params_from, "given: comm_bw.inter, comm_hop_lat_s.inter") != NULL);
  /* applying one touches the inter-node parameters only */
  ModelCostParams q = a80->profile;
  model_network_apply (ndr, &q);
  CU_ASSERT_EQUAL (q.comm_bw_frac[MODEL_HOP_INTER], ndr->params[MODEL_NET_BW_INTER]);
  CU_ASSERT_EQUAL (q.comm_node_bw, ndr->params[MODEL_NET_BW_NODE]);
  CU_ASSERT_EQUAL (q.comm_bw_frac[MODEL_HOP_INTRA], a80->profile.comm_bw_frac[MODEL_HOP_INTRA]);
  CU_ASSERT_EQUAL (q.comm_hop_lat_s[MODEL_HOP_INTRA], a80->profile.comm_hop_lat_s[MODEL_HOP_INTRA]);
  CU_ASSERT_EQUAL (q.gemm_eff, a80->profile.gemm_eff);
  /* a 16-GPU all-reduce of 64 MiB: inside one 16-GPU "node" nothing of the
   * network shows; across two nodes the faster network is faster */
  double slow = model_comm_time (&a80->profile, a80, MODEL_COLL_ALLREDUCE, 64 << 20, 16, 8, NULL);
  double fast = model_comm_time (&q, a80, MODEL_COLL_ALLREDUCE, 64 << 20, 16, 8, NULL);
  CU_ASSERT_TRUE (fast < slow / 3);
  CU_ASSERT_EQUAL (model_comm_time (&q, a80, MODEL_COLL_ALLREDUCE, 64 << 20, 8, 8, NULL),
                   model_comm_time (&a80->profile, a80, MODEL_COLL_ALLREDUCE, 64 << 20, 8, 8, NULL));
  const char **ids = model_catalog_network_ids (cat);
  CU_ASSERT_STRING_EQUAL (ids[0], "alcf-sophia-hdr");   /* sorted */
  g_free (ids);
  GError *e = NULL;
  CU_ASSERT_PTR_NULL (model_catalog_network (cat, "nope", &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "unknown network 'nope'") && strstr (e->message, "ndr400-8"));
  g_clear_error (&e);
  model_catalog_free (cat);

  /* with no fitted network of any kind: 90% of the line rate, defaults */
  ModelCatalog *c2 = load_networks ("{\"id\": \"eth\", \"name\": \"n\", \"kind\": \"ethernet\", "
                                    "\"nic_gbps\": 100, \"gpus_per_node\": 4}", NULL);
  const ModelNetwork *eth = model_catalog_network (c2, "eth", NULL);
  ModelCostParams d;
  model_cost_params_default (&d);
  CU_ASSERT_DOUBLE_EQUAL (eth->params[MODEL_NET_BW_INTER], 0.9 * 12.5e9, 1);
  CU_ASSERT_DOUBLE_EQUAL (eth->params[MODEL_NET_BW_NODE], 4 * eth->params[MODEL_NET_BW_INTER], 1);
  CU_ASSERT_EQUAL (eth->params[MODEL_NET_HOP_LAT], d.comm_hop_lat_s[MODEL_HOP_INTER]);
  CU_ASSERT_EQUAL (eth->params[MODEL_NET_TREE], d.comm_tree_frac);
  CU_ASSERT_TRUE (strstr (eth->params_from, "defaults") != NULL);
  model_catalog_free (c2);
  /* another kind's fitted network is used when none of its own kind is */
  ModelCatalog *c3 = load_networks (
    "{\"id\": \"ib\", \"name\": \"n\", \"kind\": \"infiniband\", \"nic_gbps\": 200,\n"
    " \"params\": {\"comm_bw.inter\": 2e10, \"comm_hop_lat_s.inter\": 2e-6}},\n"
    "{\"id\": \"ro\", \"name\": \"n\", \"kind\": \"roce\", \"nic_gbps\": 400}", NULL);
  const ModelNetwork *ro = model_catalog_network (c3, "ro", NULL);
  CU_ASSERT_DOUBLE_EQUAL (ro->params[MODEL_NET_BW_INTER], 4e10, 1);
  CU_ASSERT_EQUAL (ro->params[MODEL_NET_HOP_LAT], 2e-6);
  model_catalog_free (c3);

  /* bad entries: file, line, entry and field named */
  load_networks ("{\"id\": \"x\", \"name\": \"n\", \"kind\": \"carrier-pigeon\", \"nic_gbps\": 1}",
                 (const char *const[]) { "nets.json:2", "'x'", "kind", "infiniband", NULL });
  load_networks ("{\"id\": \"x\", \"name\": \"n\", \"kind\": \"roce\"}",
                 (const char *const[]) { "nic_gbps", "line rate", NULL });
  load_networks ("{\"id\": \"x\", \"name\": \"n\", \"kind\": \"roce\", \"nic_gbps\": -5}",
                 (const char *const[]) { "nic_gbps", "non-negative", NULL });
  load_networks ("{\"id\": \"x\", \"name\": \"n\", \"kind\": \"roce\", \"nic_gbps\": 100,\n"
                 " \"params\": {\"gemm_eff\": 0.5}}",
                 (const char *const[]) { "gemm_eff", "not a network parameter", "GPU's profile", NULL });
  load_networks ("{\"id\": \"x\", \"name\": \"n\", \"kind\": \"roce\", \"nic_gbps\": 100,\n"
                 " \"params\": {\"comm_tree_frac\": 7}}",
                 (const char *const[]) { "comm_tree_frac", "expected a number in", NULL });
  load_networks ("{\"id\": \"x\", \"name\": \"n\", \"kind\": \"roce\", \"nic_gbps\": 100, \"gpus_per_node\": 0}",
                 (const char *const[]) { "gpus_per_node", "positive", NULL });
  load_networks ("{\"id\": \"x\", \"name\": \"n\", \"kind\": \"roce\", \"nic_gbps\": 100, \"nics\": 8}",
                 (const char *const[]) { "nics", NULL });
  load_networks ("{\"id\": \"x\", \"name\": \"n\", \"kind\": \"roce\", \"nic_gbps\": 100, \"params\": 3}",
                 (const char *const[]) { "params", "object", NULL });
}

int
main (void)
{
  static const TestCase cases[] = {
    { "default GPUs present and sane", test_default_gpus },
    { "default LLMs present and sane", test_default_llms },
    { "user file overrides and adds", test_override },
    { "malformed JSON gives file:line", test_malformed_json },
    { "bad GPU fields name file, line, entry and field", test_bad_gpu_fields },
    { "bad LLM fields are rejected", test_bad_llm_fields },
    { "unknown id lists valid ids", test_unknown_id },
    { "bundled files load one at a time", test_bundled_files_found },
    { "networks: bundled, carried over, applied, bad input", test_networks },
    { NULL, NULL }
  };
  return test_run_suite ("models/catalog", cases);
}
