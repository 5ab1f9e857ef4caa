/* models/catalog.c — loading, validating and looking up the GPU and LLM catalogs.
 *
 * Reads catalog JSON (the bundled models/catalog/gpus.json and llms.json, or a
 * user file of the same shape) with Jansson, converts the readable units of the
 * files (TFLOP/s, GiB, GB/s) into the SI units of ModelGpu, checks every field
 * and keeps the entries in hash tables keyed by id. It also reads device
 * profiles ("profiles" arrays: fitted cost parameters per GPU) and attaches
 * to every GPU its own profile or the one of the closest calibrated
 * architecture, saying which. Errors name the file,
 * the line, the entry and the field. It does not own costs (models/cost.c) or
 * any notion of which GPU or model a run uses.
 */
#include "config.h"

#include <math.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "models/catalog.h"
#include "sim/util.h"
#include "models/profile.h"

G_DEFINE_QUARK (model-error-quark, model_error)

/* A calibrated profile as loaded, keyed by GPU id. */
typedef struct {
  char           *id;
  char           *source;
  int             measurements;  /* how many the fit used; breaks carry-over ties */
  ModelCostParams p;
} ProfileEntry;

struct ModelCatalog {
  GHashTable *gpus;     /* id -> ModelGpu* (owned) */
  GHashTable *llms;     /* id -> ModelLlm* (owned) */
  GHashTable *profiles; /* gpu id -> ProfileEntry* (owned) */
  GHashTable *networks; /* id -> ModelNetwork* (owned) */
};

const char *const model_net_param_names[MODEL_NET_NPARAMS] = {
  "comm_bw.inter", "comm_bw.node", "comm_hop_lat_s.inter", "comm_duplex_frac", "comm_tree_frac",
  "comm_ll_bw_inter",
};

#define GIB (1024.0 * 1024.0 * 1024.0)

/* ------------------------------------------------------------------ */
/* entries                                                            */

static void
gpu_free (gpointer p)
{
  ModelGpu *g = p;
  if (!g)
    return;
  g_free (g->id);
  g_free (g->name);
  g_free (g->vendor);
  g_free (g->arch);
  g_free (g->source);
  g_free (g->profile_from);
  g_free (g->profile_gpu);
  g_free (g);
}

static void
network_free (gpointer p)
{
  ModelNetwork *n = p;
  if (!n)
    return;
  g_free (n->id);
  g_free (n->name);
  g_free (n->kind);
  g_free (n->source);
  g_free (n->params_from);
  g_free (n);
}

static void
profile_free (gpointer p)
{
  ProfileEntry *e = p;
  if (!e)
    return;
  g_free (e->id);
  g_free (e->source);
  g_free (e);
}

void
model_llm_free (gpointer p)
{
  ModelLlm *m = p;
  if (!m)
    return;
  g_free (m->id);
  g_free (m->name);
  g_free (m->norm);
  g_free (m->activation);
  g_free (m->weight_dtype);
  g_free (m->source);
  g_free (m);
}

ModelCatalog *
model_catalog_new (void)
{
  ModelCatalog *cat = g_new0 (ModelCatalog, 1);
  cat->gpus = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, gpu_free);
  cat->llms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, model_llm_free);
  cat->profiles = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, profile_free);
  cat->networks = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, network_free);
  return cat;
}

void
model_catalog_free (ModelCatalog *cat)
{
  if (!cat)
    return;
  g_hash_table_destroy (cat->gpus);
  g_hash_table_destroy (cat->llms);
  g_hash_table_destroy (cat->profiles);
  g_hash_table_destroy (cat->networks);
  g_free (cat);
}

/* ------------------------------------------------------------------ */
/* locating entries and fields in the source text, for line numbers.   */
/* Jansson keeps no positions after parsing, so the (already valid)     */
/* text is walked again structurally.                                   */

static gsize
skip_ws (const char *t, gsize len, gsize p)
{
  while (p < len && (t[p] == ' ' || t[p] == '\t' || t[p] == '\n' || t[p] == '\r'))
    p++;
  return p;
}

/* p at the opening quote; returns the offset just past the closing quote. */
static gsize
skip_string (const char *t, gsize len, gsize p)
{
  for (p++; p < len; p++) {
    if (t[p] == '\\')
      p++;
    else if (t[p] == '"')
      return p + 1;
  }
  return len;
}

static gsize
skip_value (const char *t, gsize len, gsize p)
{
  p = skip_ws (t, len, p);
  if (p >= len)
    return len;
  if (t[p] == '"')
    return skip_string (t, len, p);
  if (t[p] == '{' || t[p] == '[') {
    int depth = 0;
    while (p < len) {
      char ch = t[p];
      if (ch == '"') {
        p = skip_string (t, len, p);
        continue;
      }
      if (ch == '{' || ch == '[')
        depth++;
      else if (ch == '}' || ch == ']') {
        depth--;
        if (depth == 0)
          return p + 1;
      }
      p++;
    }
    return len;
  }
  while (p < len && t[p] != ',' && t[p] != '}' && t[p] != ']' && t[p] != ' '
         && t[p] != '\n' && t[p] != '\r' && t[p] != '\t')
    p++;
  return p;
}

/* Calls fn for each key of the object starting at obj (its '{'): key_pos is the
 * key's opening quote, val_pos its value. Stops when fn returns TRUE; returns
 * that key's position, or G_MAXSIZE. */
typedef gboolean (*KeyFn) (const char *t, gsize len, gsize key_pos, gsize val_pos, gpointer data);

static gsize
walk_object (const char *t, gsize len, gsize obj, KeyFn fn, gpointer data)
{
  gsize p = skip_ws (t, len, obj);
  if (p >= len || t[p] != '{')
    return G_MAXSIZE;
  p++;
  for (;;) {
    p = skip_ws (t, len, p);
    if (p >= len || t[p] != '"')
      return G_MAXSIZE;
    gsize key = p;
    p = skip_string (t, len, p);
    p = skip_ws (t, len, p);
    if (p >= len || t[p] != ':')
      return G_MAXSIZE;
    gsize val = skip_ws (t, len, p + 1);
    if (fn (t, len, key, val, data))
      return key;
    p = skip_value (t, len, val);
    p = skip_ws (t, len, p);
    if (p >= len || t[p] != ',')
      return G_MAXSIZE;
    p++;
  }
}

static gboolean
key_is (const char *t, gsize len, gsize key_pos, gpointer name)
{
  gsize n = strlen (name);
  return key_pos + n + 2 <= len && t[key_pos + n + 1] == '"'
         && memcmp (t + key_pos + 1, name, n) == 0;
}

typedef struct {
  const char *name;
  gsize       val;
} KeyFind;

static gboolean
key_find_cb (const char *t, gsize len, gsize key_pos, gsize val_pos, gpointer data)
{
  KeyFind *kf = data;
  if (key_is (t, len, key_pos, (gpointer) kf->name)) {
    kf->val = val_pos;
    return TRUE;
  }
  return FALSE;
}

/* Offsets of the elements of the top-level array named `key`; NULL if absent. */
static GArray *
entry_offsets (const char *t, gsize len, const char *key)
{
  if (!t)
    return NULL;
  KeyFind kf = { key, 0 };
  if (walk_object (t, len, 0, key_find_cb, &kf) == G_MAXSIZE)
    return NULL;
  gsize p = kf.val;
  if (p >= len || t[p] != '[')
    return NULL;
  GArray *a = g_array_new (FALSE, FALSE, sizeof (gsize));
  p++;
  for (;;) {
    p = skip_ws (t, len, p);
    if (p >= len || t[p] == ']')
      break;
    g_array_append_val (a, p);
    p = skip_value (t, len, p);
    p = skip_ws (t, len, p);
    if (p >= len || t[p] != ',')
      break;
    p++;
  }
  return a;
}

static int
line_of (const char *t, gsize pos)
{
  int line = 1;
  for (gsize i = 0; i < pos; i++)
    if (t[i] == '\n')
      line++;
  return line;
}

/* ------------------------------------------------------------------ */
/* error context                                                       */

typedef struct {
  const char *origin;
  const char *text;     /* NULL when not available */
  gsize       len;
  const char *kind;     /* "gpu" | "model" */
  guint       index;
  const char *id;       /* NULL until known */
  gsize       obj_pos;  /* offset of the entry's '{', G_MAXSIZE if unknown */
} Ctx;

static int
ctx_line (const Ctx *c, const char *field)
{
  if (!c->text || c->obj_pos == G_MAXSIZE)
    return 0;
  gsize pos = c->obj_pos;
  if (field) {
    KeyFind kf = { field, 0 };
    gsize k = walk_object (c->text, c->len, c->obj_pos, key_find_cb, &kf);
    if (k != G_MAXSIZE)
      pos = k;
  }
  return line_of (c->text, pos);
}

G_GNUC_PRINTF (4, 5) static void
ctx_error (const Ctx *c, const char *field, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  GString *s = g_string_new (c->origin);
  int line = ctx_line (c, field);
  if (line > 0)
    g_string_append_printf (s, ":%d", line);
  if (c->id)
    g_string_append_printf (s, ": %s '%s'", c->kind, c->id);
  else
    g_string_append_printf (s, ": %s entry #%u", c->kind, c->index + 1);
  if (field)
    g_string_append_printf (s, ": field '%s'", field);
  g_string_append_printf (s, ": %s", msg);
  g_set_error_literal (error, MODEL_ERROR, MODEL_ERROR_INVALID, s->str);
  g_string_free (s, TRUE);
  g_free (msg);
}

/* Short rendering of a JSON value for messages (g_free). */
static char *
json_brief (const json_t *v)
{
  if (!v)
    return g_strdup ("nothing");
  char *d = json_dumps (v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (!d)
    return g_strdup ("?");
  char *r;
  if (strlen (d) > 40)
    r = g_strdup_printf ("%.37s...", d);
  else
    r = g_strdup (d);
  free (d);
  return r;
}

/* ------------------------------------------------------------------ */
/* typed field getters                                                 */

typedef enum { NUM_POSITIVE, NUM_NONNEG } NumRange;

/* A number field. Absent (or null when nullable) gives `dflt` when !required. */
static gboolean
get_num (const Ctx *c, json_t *o, const char *field, gboolean required, NumRange range,
         double dflt, double *out, GError **error)
{
  json_t *v = json_object_get (o, field);
  if (!v || json_is_null (v)) {
    if (required) {
      ctx_error (c, field, error, v ? "must not be null; expected a %s number"
                                    : "missing; expected a %s number",
                 range == NUM_POSITIVE ? "positive" : "non-negative");
      return FALSE;
    }
    *out = dflt;
    return TRUE;
  }
  double x;
  if (!json_is_number (v) || !isfinite (x = json_number_value (v))
      || (range == NUM_POSITIVE ? !(x > 0) : !(x >= 0))) {
    char *b = json_brief (v);
    ctx_error (c, field, error, "expected a %s finite number, got %s",
               range == NUM_POSITIVE ? "positive" : "non-negative", b);
    g_free (b);
    return FALSE;
  }
  *out = x;
  return TRUE;
}

static gboolean
get_int (const Ctx *c, json_t *o, const char *field, gboolean required, NumRange range,
         int dflt, int *out, GError **error)
{
  json_t *v = json_object_get (o, field);
  if (!v || json_is_null (v)) {
    if (required) {
      ctx_error (c, field, error, v ? "must not be null; expected a %s integer"
                                    : "missing; expected a %s integer",
                 range == NUM_POSITIVE ? "positive" : "non-negative");
      return FALSE;
    }
    *out = dflt;
    return TRUE;
  }
  json_int_t x = 0;
  if (!json_is_integer (v) || (x = json_integer_value (v)) > INT_MAX
      || (range == NUM_POSITIVE ? x <= 0 : x < 0)) {
    char *b = json_brief (v);
    ctx_error (c, field, error, "expected a %s integer, got %s",
               range == NUM_POSITIVE ? "positive" : "non-negative", b);
    g_free (b);
    return FALSE;
  }
  *out = (int) x;
  return TRUE;
}

static gboolean
get_bool (const Ctx *c, json_t *o, const char *field, gboolean required, gboolean dflt,
          gboolean *out, GError **error)
{
  json_t *v = json_object_get (o, field);
  if (!v) {
    if (required) {
      ctx_error (c, field, error, "missing; expected true or false");
      return FALSE;
    }
    *out = dflt;
    return TRUE;
  }
  if (!json_is_boolean (v)) {
    char *b = json_brief (v);
    ctx_error (c, field, error, "expected true or false, got %s", b);
    g_free (b);
    return FALSE;
  }
  *out = json_is_true (v);
  return TRUE;
}

/* A string field (copied into *out). `allowed` (NULL-terminated) restricts the values. */
static gboolean
get_str (const Ctx *c, json_t *o, const char *field, gboolean required, const char *dflt,
         const char *const *allowed, char **out, GError **error)
{
  json_t *v = json_object_get (o, field);
  if (!v) {
    if (required) {
      ctx_error (c, field, error, "missing; expected a string");
      return FALSE;
    }
    *out = g_strdup (dflt);
    return TRUE;
  }
  if (!json_is_string (v) || (required && json_string_length (v) == 0)) {
    char *b = json_brief (v);
    ctx_error (c, field, error, "expected a non-empty string, got %s", b);
    g_free (b);
    return FALSE;
  }
  const char *s = json_string_value (v);
  if (allowed) {
    gboolean ok = FALSE;
    for (const char *const *a = allowed; *a; a++)
      ok = ok || strcmp (*a, s) == 0;
    if (!ok) {
      char *list = g_strjoinv (", ", (char **) allowed);
      ctx_error (c, field, error, "'%s' is not one of: %s", s, list);
      g_free (list);
      return FALSE;
    }
  }
  *out = g_strdup (s);
  return TRUE;
}

static gboolean
id_valid (const char *s)
{
  if (!s || !((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
    return FALSE;
  gsize n = 0;
  for (const char *p = s; *p; p++, n++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
      return FALSE;
  return n <= 64;
}

/* Reads and checks the "id" field first so later messages can name the entry. */
static gboolean
get_id (Ctx *c, json_t *o, char **out, GError **error)
{
  json_t *v = json_object_get (o, "id");
  if (!v) {
    ctx_error (c, "id", error, "missing; every entry needs an id");
    return FALSE;
  }
  if (!json_is_string (v) || !id_valid (json_string_value (v))) {
    char *b = json_brief (v);
    ctx_error (c, "id", error, "%s is not a valid id (lowercase letters, digits, '.' and '-', "
               "starting with a letter or digit, at most 64 characters)", b);
    g_free (b);
    return FALSE;
  }
  *out = g_strdup (json_string_value (v));
  c->id = *out;
  return TRUE;
}

static gboolean
check_fields (const Ctx *c, json_t *o, const char *const *known, GError **error)
{
  const char *key;
  json_t *v;
  json_object_foreach (o, key, v) {
    gboolean ok = FALSE;
    for (const char *const *k = known; *k; k++)
      ok = ok || strcmp (*k, key) == 0;
    if (!ok) {
      char *list = g_strjoinv (", ", (char **) known);
      ctx_error (c, key, error, "unknown field (expected: %s)", list);
      g_free (list);
      return FALSE;
    }
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* GPU and LLM entries                                                 */

static const char *const gpu_fields[] = {
  "id", "name", "vendor", "bf16_tflops", "fp8_tflops", "mem_gib", "mem_bw_gbps",
  "nvlink_gbps", "pcie_gbps", "tdp_w", "price_per_hour", "num_sms", "arch", "source", "notes",
  NULL
};

static ModelGpu *
parse_gpu (Ctx *c, json_t *o, GError **error)
{
  ModelGpu *g = g_new0 (ModelGpu, 1);
  double tflops, fp8, gib, bw, nvl, pcie;
  if (!get_id (c, o, &g->id, error)
      || !check_fields (c, o, gpu_fields, error)
      || !get_str (c, o, "name", TRUE, NULL, NULL, &g->name, error)
      || !get_str (c, o, "vendor", TRUE, NULL, NULL, &g->vendor, error)
      || !get_num (c, o, "bf16_tflops", TRUE, NUM_POSITIVE, 0, &tflops, error)
      || !get_num (c, o, "fp8_tflops", FALSE, NUM_NONNEG, 0, &fp8, error)
      || !get_num (c, o, "mem_gib", TRUE, NUM_POSITIVE, 0, &gib, error)
      || !get_num (c, o, "mem_bw_gbps", TRUE, NUM_POSITIVE, 0, &bw, error)
      || !get_num (c, o, "nvlink_gbps", FALSE, NUM_NONNEG, 0, &nvl, error)
      || !get_num (c, o, "pcie_gbps", TRUE, NUM_POSITIVE, 0, &pcie, error)
      || !get_num (c, o, "tdp_w", FALSE, NUM_POSITIVE, NAN, &g->tdp_w, error)
      || !get_num (c, o, "price_per_hour", FALSE, NUM_NONNEG, NAN, &g->price_per_hour, error)
      || !get_int (c, o, "num_sms", FALSE, NUM_NONNEG, 0, &g->num_sms, error)
      || !get_str (c, o, "arch", FALSE, "unknown", NULL, &g->arch, error)
      || !get_str (c, o, "source", FALSE, "", NULL, &g->source, error)) {
    gpu_free (g);
    return NULL;
  }
  json_t *notes = json_object_get (o, "notes");
  if (notes && !json_is_string (notes)) {
    ctx_error (c, "notes", error, "expected a string");
    gpu_free (g);
    return NULL;
  }
  g->flops_bf16 = tflops * 1e12;
  g->flops_fp8 = fp8 * 1e12;
  g->mem_bytes = gib * GIB;
  g->mem_bw = bw * 1e9;
  g->nvlink_bw = nvl * 1e9;
  g->pcie_bw = pcie * 1e9;
  /* finite in the file's units but not after conversion (e.g. 1e308 TFLOP/s) */
  const struct { const char *field; double v; } conv[] = {
    { "bf16_tflops", g->flops_bf16 }, { "fp8_tflops", g->flops_fp8 }, { "mem_gib", g->mem_bytes },
    { "mem_bw_gbps", g->mem_bw }, { "nvlink_gbps", g->nvlink_bw }, { "pcie_gbps", g->pcie_bw },
  };
  for (guint i = 0; i < G_N_ELEMENTS (conv); i++)
    if (!isfinite (conv[i].v)) {
      ctx_error (c, conv[i].field, error, "value too large");
      gpu_free (g);
      return NULL;
    }
  return g;
}

static const char *const llm_fields[] = {
  "id", "name", "num_layers", "hidden", "num_heads", "num_kv_heads", "head_dim", "ffn",
  "vocab", "gated_mlp", "num_experts", "top_k", "norm", "activation", "weight_dtype",
  "bytes_per_param", "max_context", "tied_embeddings", "parallel_attn_mlp", "norms_per_layer",
  "qk_norm", "sliding_window", "positions", "rotary_dim", "source", "notes", NULL
};
static const char *const norms[] = { "rmsnorm", "layernorm", NULL };
static const char *const activations[] = { "silu", "gelu", "relu", NULL };
static const char *const dtypes[] = { "bf16", "fp16", "fp8", "fp32", NULL };
static const char *const positions[] = { "rope", "learned", NULL };

static int
dtype_bytes (const char *dt)
{
  if (strcmp (dt, "fp8") == 0)
    return 1;
  if (strcmp (dt, "fp32") == 0)
    return 4;
  return 2;
}

static ModelLlm *
parse_llm (Ctx *c, json_t *o, GError **error)
{
  ModelLlm *m = g_new0 (ModelLlm, 1);
  g_autofree char *pos = NULL;
  if (!get_id (c, o, &m->id, error)
      || !check_fields (c, o, llm_fields, error)
      || !get_str (c, o, "name", TRUE, NULL, NULL, &m->name, error)
      || !get_int (c, o, "num_layers", TRUE, NUM_POSITIVE, 0, &m->num_layers, error)
      || !get_int (c, o, "hidden", TRUE, NUM_POSITIVE, 0, &m->hidden, error)
      || !get_int (c, o, "num_heads", TRUE, NUM_POSITIVE, 0, &m->num_heads, error)
      || !get_int (c, o, "num_kv_heads", FALSE, NUM_POSITIVE, m->num_heads, &m->num_kv_heads, error)
      || !get_int (c, o, "head_dim", FALSE, NUM_NONNEG, 0, &m->head_dim, error)
      || !get_int (c, o, "ffn", TRUE, NUM_POSITIVE, 0, &m->ffn, error)
      || !get_int (c, o, "vocab", TRUE, NUM_POSITIVE, 0, &m->vocab, error)
      || !get_bool (c, o, "gated_mlp", TRUE, FALSE, &m->gated_mlp, error)
      || !get_int (c, o, "num_experts", FALSE, NUM_NONNEG, 0, &m->num_experts, error)
      || !get_int (c, o, "top_k", FALSE, NUM_NONNEG, 0, &m->top_k, error)
      || !get_str (c, o, "norm", TRUE, NULL, norms, &m->norm, error)
      || !get_str (c, o, "activation", TRUE, NULL, activations, &m->activation, error)
      || !get_str (c, o, "weight_dtype", TRUE, NULL, dtypes, &m->weight_dtype, error)
      || !get_int (c, o, "bytes_per_param", FALSE, NUM_POSITIVE, dtype_bytes (m->weight_dtype),
                   &m->bytes_per_param, error)
      || !get_int (c, o, "max_context", TRUE, NUM_POSITIVE, 0, &m->max_context, error)
      || !get_bool (c, o, "tied_embeddings", FALSE, FALSE, &m->tied_embeddings, error)
      || !get_bool (c, o, "parallel_attn_mlp", FALSE, FALSE, &m->parallel_attn_mlp, error)
      || !get_int (c, o, "norms_per_layer", FALSE, NUM_POSITIVE, m->parallel_attn_mlp ? 1 : 2,
                   &m->norms_per_layer, error)
      || !get_bool (c, o, "qk_norm", FALSE, FALSE, &m->qk_norm, error)
      || !get_int (c, o, "sliding_window", FALSE, NUM_NONNEG, 0, &m->sliding_window, error)
      || !get_str (c, o, "positions", FALSE, "rope", positions, &pos, error)
      || !get_int (c, o, "rotary_dim", FALSE, NUM_NONNEG, 0, &m->rotary_dim, error)
      || !get_str (c, o, "source", FALSE, "", NULL, &m->source, error))
    goto fail;
  m->learned_positions = strcmp (pos, "learned") == 0;
  json_t *notes = json_object_get (o, "notes");
  if (notes && !json_is_string (notes)) {
    ctx_error (c, "notes", error, "expected a string");
    goto fail;
  }
  if (m->num_kv_heads > m->num_heads || m->num_heads % m->num_kv_heads != 0) {
    ctx_error (c, "num_kv_heads", error, "%d must divide num_heads (%d)",
               m->num_kv_heads, m->num_heads);
    goto fail;
  }
  if (m->norms_per_layer > 2 || (!m->parallel_attn_mlp && m->norms_per_layer != 2)) {
    ctx_error (c, "norms_per_layer", error, "%d: a layer runs 2 norms (before attention and "
               "before the MLP), or 1 or 2 with parallel_attn_mlp", m->norms_per_layer);
    goto fail;
  }
  if (m->head_dim == 0) {
    if (m->hidden % m->num_heads != 0) {
      ctx_error (c, "head_dim", error, "missing, and hidden (%d) is not a multiple of "
                 "num_heads (%d); give head_dim explicitly", m->hidden, m->num_heads);
      goto fail;
    }
    m->head_dim = m->hidden / m->num_heads;
  }
  if (m->rotary_dim % 2 != 0 || m->rotary_dim > m->head_dim
      || (m->rotary_dim > 0 && m->learned_positions)) {
    ctx_error (c, "rotary_dim", error, "%d: an even count up to head_dim (%d), with rope positions",
               m->rotary_dim, m->head_dim);
    goto fail;
  }
  if (m->bytes_per_param != dtype_bytes (m->weight_dtype)) {
    ctx_error (c, "bytes_per_param", error, "%d disagrees with weight_dtype '%s' (%d bytes)",
               m->bytes_per_param, m->weight_dtype, dtype_bytes (m->weight_dtype));
    goto fail;
  }
  if (m->num_experts > 1) {
    if (m->top_k < 1 || m->top_k > m->num_experts) {
      ctx_error (c, "top_k", error, "%d out of range: a mixture of %d experts needs "
                 "1 <= top_k <= %d", m->top_k, m->num_experts, m->num_experts);
      goto fail;
    }
  } else if (m->top_k > 1) {
    ctx_error (c, "top_k", error, "%d given for a dense model (num_experts %d); "
               "set num_experts or drop top_k", m->top_k, m->num_experts);
    goto fail;
  }
  return m;
fail:
  model_llm_free (m);
  return NULL;
}

/* ------------------------------------------------------------------ */
/* device profiles                                                     */

/* The parameter-table entry of a name, or NULL. */
static const ModelParamInfo *
param_info (const char *name)
{
  gsize np;
  const ModelParamInfo *info = model_params_info (&np);
  for (gsize i = 0; i < np; i++)
    if (strcmp (info[i].name, name) == 0)
      return &info[i];
  return NULL;
}

/* A fitted parameter's value in a "params" object: a finite number in the
 * parameter's range. */
static gboolean
param_value (const Ctx *c, const ModelParamInfo *pi, json_t *v, double *out, GError **error)
{
  double x;
  if (!json_is_number (v) || !isfinite (x = json_number_value (v)) || x < pi->lo || x > pi->hi) {
    char *b = json_brief (v);
    ctx_error (c, "params", error, "parameter '%s': expected a number in [%g, %g] (%s), got %s",
               pi->name, pi->lo, pi->hi, pi->help, b);
    g_free (b);
    return FALSE;
  }
  *out = x;
  return TRUE;
}

static const char *const profile_fields[] = { "id", "source", "notes", "measurements", "params",
                                              NULL };

static ProfileEntry *
parse_profile (Ctx *c, json_t *o, GError **error)
{
  ProfileEntry *e = g_new0 (ProfileEntry, 1);
  model_cost_params_default (&e->p);
  if (!get_id (c, o, &e->id, error)
      || !check_fields (c, o, profile_fields, error)
      || !get_str (c, o, "source", FALSE, "", NULL, &e->source, error)
      || !get_int (c, o, "measurements", FALSE, NUM_NONNEG, 0, &e->measurements, error))
    goto fail;
  json_t *params = json_object_get (o, "params");
  if (!json_is_object (params)) {
    ctx_error (c, "params", error, "expected an object of fitted parameters "
               "(names as in docs/cost-model.md, e.g. \"gemm_eff\": 0.8)");
    goto fail;
  }
  gsize np;
  const ModelParamInfo *info = model_params_info (&np);
  const char *key;
  json_t *v;
  json_object_foreach (params, key, v) {
    const ModelParamInfo *pi = param_info (key);
    if (!pi) {
      GString *names = g_string_new (NULL);
      for (gsize i = 0; i < np; i++)
        g_string_append_printf (names, "%s%s", i ? ", " : "", info[i].name);
      ctx_error (c, "params", error, "unknown parameter '%s' (expected: %s)", key, names->str);
      g_string_free (names, TRUE);
      goto fail;
    }
    double x;
    if (!param_value (c, pi, v, &x, error))
      goto fail;
    *model_param_ptr (&e->p, pi) = x;
  }
  return e;
fail:
  profile_free (e);
  return NULL;
}

static const char *const network_fields[] = { "id", "name", "kind", "nic_gbps", "gpus_per_node",
                                              "source", "notes", "params", NULL };
static const char *const network_kinds[] = { "infiniband", "roce", "ethernet", "unknown", NULL };

static ModelNetwork *
parse_network (Ctx *c, json_t *o, GError **error)
{
  ModelNetwork *n = g_new0 (ModelNetwork, 1);
  double gbps;
  if (!get_id (c, o, &n->id, error)
      || !check_fields (c, o, network_fields, error)
      || !get_str (c, o, "name", TRUE, NULL, NULL, &n->name, error)
      || !get_str (c, o, "kind", TRUE, NULL, network_kinds, &n->kind, error)
      || !get_num (c, o, "nic_gbps", FALSE, NUM_NONNEG, 0, &gbps, error)
      || !get_int (c, o, "gpus_per_node", FALSE, NUM_POSITIVE, 8, &n->gpus_per_node, error)
      || !get_str (c, o, "source", FALSE, "", NULL, &n->source, error))
    goto fail;
  json_t *notes = json_object_get (o, "notes");
  if (notes && !json_is_string (notes)) {
    ctx_error (c, "notes", error, "expected a string");
    goto fail;
  }
  n->nic_bw = gbps * 1e9 / 8;   /* Gb/s line rate -> bytes/s */
  if (!isfinite (n->nic_bw)) {
    ctx_error (c, "nic_gbps", error, "value too large");
    goto fail;
  }
  json_t *params = json_object_get (o, "params");
  if (params && !json_is_object (params)) {
    ctx_error (c, "params", error, "expected an object of fitted inter-node parameters");
    goto fail;
  }
  const char *key;
  json_t *v;
  json_object_foreach (params, key, v) {
    int k = -1;
    for (int i = 0; i < MODEL_NET_NPARAMS; i++)
      if (strcmp (model_net_param_names[i], key) == 0)
        k = i;
    if (k < 0) {
      char *names = g_strjoinv (", ", (char **) model_net_param_names);
      ctx_error (c, "params", error, "'%s' is not a network parameter (expected: %s; the "
                 "others belong to a GPU's profile)", key, names);
      g_free (names);
      goto fail;
    }
    if (!param_value (c, param_info (key), v, &n->params[k], error))
      goto fail;
    n->given |= 1u << k;
  }
  if (!(n->given & (1u << MODEL_NET_BW_INTER)) && !(n->nic_bw > 0)) {
    ctx_error (c, "nic_gbps", error, "missing: a network needs its NIC line rate or a fitted "
               "\"comm_bw.inter\" in \"params\"");
    goto fail;
  }
  return n;
fail:
  network_free (n);
  return NULL;
}

/* The network whose fitted values another borrows: the one giving the most
 * parameters with a known line rate, its own kind first, then by id. */
static const ModelNetwork *
network_reference (const ModelCatalog *cat, const ModelNetwork *n)
{
  const ModelNetwork *best = NULL;
  int best_score = -1;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, cat->networks);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    const ModelNetwork *r = v;
    if (r == n || !(r->nic_bw > 0) || !(r->given & (1u << MODEL_NET_BW_INTER)))
      continue;
    int score = 100 * (strcmp (r->kind, n->kind) == 0);
    for (int i = 0; i < MODEL_NET_NPARAMS; i++)
      score += (r->given >> i) & 1;
    if (score > best_score || (score == best_score && strcmp (r->id, best->id) < 0)) {
      best_score = score;
      best = r;
    }
  }
  return best;
}

/* Fills every network's parameters it does not give itself: the bandwidths
 * from its line rate at the reference's efficiency (or the defaults' when
 * there is none), a node's NICs together (gpus_per_node x one), the rest
 * from the reference or the defaults. */
static void
resolve_networks (ModelCatalog *cat)
{
  ModelCostParams d;
  model_cost_params_default (&d);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, cat->networks);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    ModelNetwork *n = v;
    const ModelNetwork *ref = n->given == (1u << MODEL_NET_NPARAMS) - 1 ? NULL
                              : network_reference (cat, n);
    GString *carried = g_string_new (NULL), *derived = g_string_new (NULL);
    for (int i = 0; i < MODEL_NET_NPARAMS; i++) {
      if (n->given & (1u << i))
        continue;
      const char *name = model_net_param_names[i];
      if (i == MODEL_NET_BW_INTER) {
        double eff = ref ? ref->params[MODEL_NET_BW_INTER] / ref->nic_bw : 0.9;
        n->params[i] = n->nic_bw * eff;
        g_string_append_printf (ref ? carried : derived, "%s%s (%.0f%% of the line rate)",
                                (ref ? carried : derived)->len ? ", " : "", name, eff * 100);
      } else if (i == MODEL_NET_BW_NODE) {
        n->params[i] = n->gpus_per_node * n->params[MODEL_NET_BW_INTER];
        g_string_append_printf (derived, "%s%s (%d x comm_bw.inter)", derived->len ? ", " : "", name,
                                n->gpus_per_node);
      } else if (ref && (ref->given & (1u << i))) {
        n->params[i] = ref->params[i];
        g_string_append_printf (carried, "%s%s", carried->len ? ", " : "", name);
      } else {
        n->params[i] = *model_param_ptr (&d, param_info (name));
        g_string_append_printf (derived, "%s%s (default)", derived->len ? ", " : "", name);
      }
    }
    g_free (n->params_from);
    GString *from = g_string_new (NULL);
    if (n->given == (1u << MODEL_NET_NPARAMS) - 1)
      g_string_append_printf (from, "all given by the entry (%s)", n->source);
    else
      for (int i = 0; i < MODEL_NET_NPARAMS; i++)
        if (n->given & (1u << i))
          g_string_append_printf (from, "%s%s", from->len ? ", " : "given: ", model_net_param_names[i]);
    if (carried->len)
      g_string_append_printf (from, "%scarried over from %s (%s): %s", from->len ? "; " : "", ref->id,
                              ref->kind, carried->str);
    if (derived->len)
      g_string_append_printf (from, "%sfrom the line rate and defaults: %s", from->len ? "; " : "",
                              derived->str);
    n->params_from = g_string_free (from, FALSE);
    g_string_free (carried, TRUE);
    g_string_free (derived, TRUE);
  }
}

void
model_network_take (ModelNetwork *n, const ModelCostParams *p)
{
  g_return_if_fail (n != NULL && p != NULL);
  ModelCostParams copy = *p;
  for (int i = 0; i < MODEL_NET_NPARAMS; i++)
    n->params[i] = *model_param_ptr (&copy, param_info (model_net_param_names[i]));
}

void
model_network_apply (const ModelNetwork *n, ModelCostParams *p)
{
  g_return_if_fail (n != NULL && p != NULL);
  for (int i = 0; i < MODEL_NET_NPARAMS; i++)
    *model_param_ptr (p, param_info (model_net_param_names[i])) = n->params[i];
}

/* Architecture generations, for carrying a profile over to an uncalibrated
 * GPU: the same chip first (another stack's calibration of it), then the same
 * architecture, then the nearest generation (ties: the
 * older one, whose kernels are more mature), then the profile fitted to more
 * measurements, then the id order. */
static double
arch_gen (const char *arch)
{
  static const struct { const char *name; double gen; } gens[] = {
    { "volta", 0 }, { "turing", 1 }, { "ampere", 2 }, { "ada", 2.5 }, { "hopper", 3 },
    { "cdna3", 3 }, { "blackwell", 4 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (gens); i++)
    if (arch && strcmp (arch, gens[i].name) == 0)
      return gens[i].gen;
  return 3;   /* unknown: a current-generation part */
}

/* Whether two catalog entries are the same chip: the same architecture, SM
 * count, dense bf16 rate, memory size and bandwidth. A GPU calibrated again
 * for another software stack (h100-sxm-cu13 next to h100-sxm) is such an
 * entry; what one of them never measured is best taken from the other. */
static gboolean
same_chip (const ModelGpu *a, const ModelGpu *b)
{
  return a->arch && b->arch && strcmp (a->arch, b->arch) == 0 && a->num_sms == b->num_sms
         && a->flops_bf16 == b->flops_bf16 && a->mem_bytes == b->mem_bytes
         && a->mem_bw == b->mem_bw;
}

/* The calibrated profile closest to g's architecture, other than g's own;
 * NULL when there is none. The same chip comes first (same_chip). *from gets
 * its GPU. */
static const ProfileEntry *
closest_other (const ModelCatalog *cat, const ModelGpu *g, const ModelGpu **from)
{
  const ProfileEntry *best = NULL;
  const ModelGpu *best_g = NULL;
  double best_d = INFINITY;
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, cat->profiles);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    const ProfileEntry *e = v;
    const ModelGpu *eg = g_hash_table_lookup (cat->gpus, e->id);
    if (!eg || eg == g)
      continue;
    double d = eg->arch && g->arch && strcmp (eg->arch, g->arch) == 0
                 ? 0 : fabs (arch_gen (eg->arch) - arch_gen (g->arch)) + 0.01;
    d += arch_gen (eg->arch) > arch_gen (g->arch) ? 0.001 : 0;
    if (same_chip (eg, g))
      d = -1;
    if (d < best_d
        || (best && d == best_d && (e->measurements > best->measurements
                            || (e->measurements == best->measurements
                                && strcmp (e->id, best->id) < 0)))) {
      best_d = d;
      best = e;
      best_g = eg;
    }
  }
  if (from)
    *from = best_g;
  return best;
}

gboolean
model_gpu_profile_carried (const ModelGpu *g)
{
  g_return_val_if_fail (g != NULL, TRUE);
  return !g->profile_gpu || strcmp (g->profile_gpu, g->id) != 0;
}

gboolean
model_catalog_carried_profile (const ModelCatalog *cat, const ModelGpu *g, ModelCostParams *out,
                               const char **from_id)
{
  g_return_val_if_fail (cat != NULL && g != NULL && out != NULL, FALSE);
  const ModelGpu *from = NULL;
  const ProfileEntry *e = closest_other (cat, g, &from);
  if (from_id)
    *from_id = e ? e->id : NULL;
  if (e)
    *out = e->p;
  else
    model_cost_params_default (out);
  return e != NULL;
}

static void
resolve_profiles (ModelCatalog *cat)
{
  const char **ids = (const char **) g_hash_table_get_keys_as_array (cat->gpus, NULL);
  for (const char **id = ids; *id; id++) {
    ModelGpu *g = g_hash_table_lookup (cat->gpus, *id);
    const ProfileEntry *own = g_hash_table_lookup (cat->profiles, g->id);
    const ProfileEntry *best = own;
    const ModelGpu *best_g = NULL;
    if (!best)
      best = closest_other (cat, g, &best_g);
    g_free (g->profile_from);
    g_free (g->profile_gpu);
    if (!best) {
      model_cost_params_default (&g->profile);
      g->profile_from = g_strdup ("defaults (no calibrated GPU loaded)");
      g->profile_gpu = NULL;
    } else {
      g->profile = best->p;
      g->profile_gpu = g_strdup (best->id);
      if (own)
        g->profile_from = g_strdup_printf ("calibrated: %s", best->source);
      else
        g->profile_from = g_strdup_printf ("carried over from %s (%s) to %s (%s): %s", best->id,
                                           best_g->arch, g->id, g->arch, best->source);
    }
  }
  g_free (ids);
}

/* Writes root (consumed) as indented JSON, atomically. */
static gboolean
write_json (const char *path, json_t *root, GError **error)
{
  char *text = json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (6));
  json_decref (root);
  SimAtomicFile f;
  gboolean ok = sim_atomic_file_open (&f, path, error);
  if (ok) {
    fputs (text, f.fp);
    fputc ('\n', f.fp);
    ok = sim_atomic_file_commit (&f, error);
  }
  free (text);
  return ok;
}

gboolean
model_profile_write (const char *path, const char *gpu_id, const ModelCostParams *p,
                     const char *source, int measurements, GError **error)
{
  g_return_val_if_fail (path != NULL && gpu_id != NULL && p != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  json_t *params = json_object ();
  gsize np;
  const ModelParamInfo *info = model_params_info (&np);
  ModelCostParams copy = *p;
  for (gsize i = 0; i < np; i++) {
    /* 6 significant digits: the fit is not better than that, and the file stays readable */
    char buf[32];
    g_snprintf (buf, sizeof buf, "%.6g", *model_param_ptr (&copy, &info[i]));
    json_object_set_new (params, info[i].name, json_real (g_ascii_strtod (buf, NULL)));
  }
  json_t *entry = json_pack ("{s:s, s:s, s:i, s:o}", "id", gpu_id, "source",
                             source ? source : "", "measurements", (json_int_t) measurements,
                             "params", params);
  json_t *root = json_pack ("{s:s, s:[o]}", "notes",
                            "servesim device profile: fitted cost-model parameters "
                            "(docs/cost-model.md); load as a catalog file",
                            "profiles", entry);
  return write_json (path, root, error);
}

gboolean
model_networks_write (const char *path, const ModelNetwork *const *nets, guint n, GError **error)
{
  g_return_val_if_fail (path != NULL && (nets != NULL || n == 0), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  json_t *arr = json_array ();
  for (guint k = 0; k < n; k++) {
    const ModelNetwork *net = nets[k];
    json_t *params = json_object ();
    for (int i = 0; i < MODEL_NET_NPARAMS; i++)
      if (net->given & (1u << i)) {
        char buf[32];
        g_snprintf (buf, sizeof buf, "%.6g", net->params[i]);
        json_object_set_new (params, model_net_param_names[i], json_real (g_ascii_strtod (buf, NULL)));
      }
    json_t *e = json_pack ("{s:s, s:s, s:s}", "id", net->id, "name", net->name ? net->name : net->id,
                           "kind", net->kind ? net->kind : "unknown");
    if (net->nic_bw > 0)
      json_object_set_new (e, "nic_gbps", json_real (net->nic_bw * 8 / 1e9));
    json_object_set_new (e, "gpus_per_node", json_integer (net->gpus_per_node));
    json_object_set_new (e, "source", json_string (net->source ? net->source : ""));
    json_object_set_new (e, "params", params);
    json_array_append_new (arr, e);
  }
  json_t *root = json_pack ("{s:s, s:o}", "notes",
                            "servesim networks: inter-node parameters fitted by 'servesim calibrate' "
                            "(docs/cost-model.md, 'Networks'); set kind and nic_gbps if you know them "
                            "and load as a catalog file (--catalog, or a scenario's \"catalog\")",
                            "networks", arr);
  return write_json (path, root, error);
}

/* ------------------------------------------------------------------ */
/* loading                                                             */

static const char *const top_fields[] = { "source", "units", "notes", "gpus", "networks",
                                          "models", "profiles", NULL };

/* Parses the array `key` into `out` (entries freed by the caller on failure). */
static gboolean
parse_array (json_t *root, const char *key, const char *kind, const char *origin,
             const char *text, gsize len, gpointer (*parse) (Ctx *, json_t *, GError **),
             const char *(*id_of) (gpointer), GPtrArray *out, GError **error)
{
  json_t *arr = json_object_get (root, key);
  if (!arr)
    return TRUE;
  GArray *offs = entry_offsets (text, len, key);
  gboolean ok = FALSE;
  if (!json_is_array (arr)) {
    int line = 0;
    if (text) {
      KeyFind kf = { key, 0 };
      gsize k = walk_object (text, len, 0, key_find_cb, &kf);
      if (k != G_MAXSIZE)
        line = line_of (text, k);
    }
    char *where = line ? g_strdup_printf ("%s:%d", origin, line) : g_strdup (origin);
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_INVALID,
                 "%s: \"%s\" must be an array of %s entries", where, key, kind);
    g_free (where);
    goto out;
  }
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (gsize i = 0; i < json_array_size (arr); i++) {
    Ctx c = { origin, text, len, kind, (guint) i, NULL,
              offs && i < offs->len ? g_array_index (offs, gsize, i) : G_MAXSIZE };
    json_t *o = json_array_get (arr, i);
    if (!json_is_object (o)) {
      char *b = json_brief (o);
      ctx_error (&c, NULL, error, "expected an object, got %s", b);
      g_free (b);
      g_hash_table_destroy (seen);
      goto out;
    }
    gpointer e = parse (&c, o, error);
    if (!e) {
      g_hash_table_destroy (seen);
      goto out;
    }
    g_ptr_array_add (out, e);
    if (!g_hash_table_add (seen, (gpointer) id_of (e))) {
      ctx_error (&c, "id", error, "duplicate id in this file");
      g_hash_table_destroy (seen);
      goto out;
    }
  }
  g_hash_table_destroy (seen);
  ok = TRUE;
out:
  if (offs)
    g_array_free (offs, TRUE);
  return ok;
}

static const char *gpu_id_of (gpointer e) { return ((ModelGpu *) e)->id; }
static const char *llm_id_of (gpointer e) { return ((ModelLlm *) e)->id; }
static gpointer parse_gpu_cb (Ctx *c, json_t *o, GError **e) { return parse_gpu (c, o, e); }
static gpointer parse_llm_cb (Ctx *c, json_t *o, GError **e) { return parse_llm (c, o, e); }
static const char *profile_id_of (gpointer e) { return ((ProfileEntry *) e)->id; }
static const char *network_id_of (gpointer e) { return ((ModelNetwork *) e)->id; }
static gpointer parse_network_cb (Ctx *c, json_t *o, GError **e) { return parse_network (c, o, e); }
static gpointer parse_profile_cb (Ctx *c, json_t *o, GError **e) { return parse_profile (c, o, e); }

/* Validates the parsed document and, only when everything is valid, merges it. */
static gboolean
load_root (ModelCatalog *cat, json_t *root, const char *origin, const char *text, gsize len,
           GError **error)
{
  if (!json_is_object (root)) {
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_PARSE,
                 "%s:1: a catalog must be a JSON object with \"gpus\" and/or \"models\" arrays",
                 origin);
    return FALSE;
  }
  const char *key;
  json_t *v;
  json_object_foreach (root, key, v) {
    gboolean known = FALSE;
    for (const char *const *k = top_fields; *k; k++)
      known = known || strcmp (*k, key) == 0;
    if (!known) {
      int line = 0;
      if (text) {
        KeyFind kf = { key, 0 };
        gsize k = walk_object (text, len, 0, key_find_cb, &kf);
        if (k != G_MAXSIZE)
          line = line_of (text, k);
      }
      g_set_error (error, MODEL_ERROR, MODEL_ERROR_INVALID,
                   "%s:%d: unknown top-level field '%s' (expected: source, units, notes, "
                   "gpus, networks, models, profiles)", origin, line ? line : 1, key);
      return FALSE;
    }
  }
  if (!json_object_get (root, "gpus") && !json_object_get (root, "models")
      && !json_object_get (root, "profiles") && !json_object_get (root, "networks")) {
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_INVALID,
                 "%s:1: the catalog has no \"gpus\", \"networks\", \"models\" or \"profiles\" array",
                 origin);
    return FALSE;
  }
  GPtrArray *gpus = g_ptr_array_new_with_free_func (gpu_free);
  GPtrArray *llms = g_ptr_array_new_with_free_func (model_llm_free);
  GPtrArray *profs = g_ptr_array_new_with_free_func (profile_free);
  GPtrArray *nets = g_ptr_array_new_with_free_func (network_free);
  gboolean ok = parse_array (root, "gpus", "gpu", origin, text, len, parse_gpu_cb, gpu_id_of,
                             gpus, error)
                && parse_array (root, "networks", "network", origin, text, len, parse_network_cb,
                                network_id_of, nets, error)
                && parse_array (root, "models", "model", origin, text, len, parse_llm_cb,
                                llm_id_of, llms, error)
                && parse_array (root, "profiles", "profile", origin, text, len, parse_profile_cb,
                                profile_id_of, profs, error);
  if (ok) {
    /* Ownership moves to the tables: steal the pointers out of the arrays. */
    for (guint i = 0; i < gpus->len; i++) {
      ModelGpu *g = g_ptr_array_index (gpus, i);
      g_hash_table_replace (cat->gpus, g->id, g);
    }
    for (guint i = 0; i < llms->len; i++) {
      ModelLlm *m = g_ptr_array_index (llms, i);
      g_hash_table_replace (cat->llms, m->id, m);
    }
    for (guint i = 0; i < profs->len; i++) {
      ProfileEntry *e = g_ptr_array_index (profs, i);
      g_hash_table_replace (cat->profiles, e->id, e);
    }
    g_ptr_array_set_free_func (gpus, NULL);
    g_ptr_array_set_free_func (llms, NULL);
    for (guint i = 0; i < nets->len; i++) {
      ModelNetwork *n = g_ptr_array_index (nets, i);
      g_hash_table_replace (cat->networks, n->id, n);
    }
    g_ptr_array_set_free_func (profs, NULL);
    g_ptr_array_set_free_func (nets, NULL);
    resolve_profiles (cat);
    resolve_networks (cat);
  }
  g_ptr_array_free (gpus, TRUE);
  g_ptr_array_free (llms, TRUE);
  g_ptr_array_free (profs, TRUE);
  g_ptr_array_free (nets, TRUE);
  return ok;
}

static gboolean
load_text (ModelCatalog *cat, const char *text, gsize len, const char *origin, GError **error)
{
  json_error_t jerr;
  json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_PARSE, "%s:%d:%d: %s", origin,
                 jerr.line, jerr.column, jerr.text);
    return FALSE;
  }
  gboolean ok = load_root (cat, root, origin, text, len, error);
  json_decref (root);
  return ok;
}

gboolean
model_catalog_load_file (ModelCatalog *cat, const char *path, GError **error)
{
  g_return_val_if_fail (cat != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  char *text = NULL;
  gsize len = 0;
  GError *io = NULL;
  if (!g_file_get_contents (path, &text, &len, &io)) {
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_PARSE, "%s: cannot read catalog: %s",
                 path, io->message);
    g_error_free (io);
    return FALSE;
  }
  gboolean ok = load_text (cat, text, len, path, error);
  g_free (text);
  return ok;
}

gboolean
model_catalog_load_data (ModelCatalog *cat, const char *json_text, const char *origin,
                         GError **error)
{
  g_return_val_if_fail (cat != NULL, FALSE);
  g_return_val_if_fail (json_text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return load_text (cat, json_text, strlen (json_text), origin ? origin : "<data>", error);
}

gboolean
model_catalog_load_default (ModelCatalog *cat, GError **error)
{
  g_return_val_if_fail (cat != NULL, FALSE);
  static const char *const files[] = { "models/catalog/gpus.json", "models/catalog/llms.json",
                                       "models/catalog/networks.json",
                                       "models/profiles/a100-80gb.json",
                                       "models/profiles/a100-40gb.json",
                                       "models/profiles/h100-sxm.json",
                                       "models/profiles/h100-sxm-cu13.json",
                                       "models/profiles/h200.json" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    char *p = sim_data_find (files[i], error);
    if (!p)
      return FALSE;
    gboolean ok = model_catalog_load_file (cat, p, error);
    g_free (p);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* lookup                                                              */

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static const char **
sorted_ids (GHashTable *t)
{
  guint n = 0;
  const char **ids = (const char **) g_hash_table_get_keys_as_array (t, &n);
  qsort (ids, n, sizeof *ids, cmp_str);
  return ids;
}

const char **
model_catalog_gpu_ids (const ModelCatalog *cat)
{
  g_return_val_if_fail (cat != NULL, NULL);
  return sorted_ids (cat->gpus);
}

const char **
model_catalog_llm_ids (const ModelCatalog *cat)
{
  g_return_val_if_fail (cat != NULL, NULL);
  return sorted_ids (cat->llms);
}

const char **
model_catalog_network_ids (const ModelCatalog *cat)
{
  g_return_val_if_fail (cat != NULL, NULL);
  return sorted_ids (cat->networks);
}

const char **
model_catalog_profile_ids (const ModelCatalog *cat)
{
  g_return_val_if_fail (cat != NULL, NULL);
  return sorted_ids (cat->profiles);
}

static void
set_unknown (GHashTable *t, const char *what, const char *id, GError **error)
{
  const char **ids = sorted_ids (t);
  char *list = g_strjoinv (", ", (char **) ids);
  g_set_error (error, MODEL_ERROR, MODEL_ERROR_UNKNOWN, "unknown %s '%s' (valid ids: %s)",
               what, id, *list ? list : "none loaded");
  g_free (list);
  g_free (ids);
}

const ModelGpu *
model_catalog_gpu (const ModelCatalog *cat, const char *id, GError **error)
{
  g_return_val_if_fail (cat != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  const ModelGpu *g = g_hash_table_lookup (cat->gpus, id);
  if (!g)
    set_unknown (cat->gpus, "GPU", id, error);
  return g;
}

const ModelLlm *
model_catalog_llm (const ModelCatalog *cat, const char *id, GError **error)
{
  g_return_val_if_fail (cat != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  const ModelLlm *m = g_hash_table_lookup (cat->llms, id);
  if (!m)
    set_unknown (cat->llms, "model", id, error);
  return m;
}

const ModelNetwork *
model_catalog_network (const ModelCatalog *cat, const char *id, GError **error)
{
  g_return_val_if_fail (cat != NULL, NULL);
  g_return_val_if_fail (id != NULL, NULL);
  const ModelNetwork *n = g_hash_table_lookup (cat->networks, id);
  if (!n)
    set_unknown (cat->networks, "network", id, error);
  return n;
}

/* ------------------------------------------------------------------ */

int
model_llm_norms (const ModelLlm *llm)
{
  g_return_val_if_fail (llm != NULL, 2);
  return llm->norms_per_layer > 0 ? llm->norms_per_layer : llm->parallel_attn_mlp ? 1 : 2;
}

double
model_llm_params (const ModelLlm *llm)
{
  g_return_val_if_fail (llm != NULL, 0);
  double h = llm->hidden, d = llm->head_dim, f = llm->ffn;
  double nh = llm->num_heads, nkv = llm->num_kv_heads;
  double norm_p = strcmp (llm->norm, "layernorm") == 0 ? 2 * h : h;   /* weight (+ bias) */
  double attn = h * (nh + 2 * nkv) * d + nh * d * h;
  double mlp_one = (llm->gated_mlp ? 3 : 2) * h * f;
  double mlp = llm->num_experts > 1 ? llm->num_experts * mlp_one + h * llm->num_experts
                                    : mlp_one;
  double layer = attn + mlp + model_llm_norms (llm) * norm_p + (llm->qk_norm ? 2 * d : 0);
  double embed = (double) llm->vocab * h;
  double pos = llm->learned_positions ? (double) llm->max_context * h : 0;
  return llm->num_layers * layer + embed + (llm->tied_embeddings ? 0 : embed) + norm_p + pos;
}
