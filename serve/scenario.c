/* serve/scenario.c — scenario defaults, merging, overrides and validation.
 *
 * The schema below lists every key a scenario may hold with its type and
 * range; anything else is a typo and is rejected with the valid keys listed.
 * Policy objects ("scheduler", "router") are open: their parameters are
 * checked against the policy's own table when the policy is looked up.
 * Does not resolve catalog names or open traces.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "serve/scenario.h"

G_DEFINE_QUARK (serve-error-quark, serve_error)

static const char default_json[] =
  "{\n"
  "  \"name\": \"default\",\n"
  "  \"seed\": 1,\n"
  "  \"model\": \"llama-3.1-8b\",\n"
  "  \"catalog\": null,\n"
  "  \"cluster\": { \"gpu\": \"h100-sxm\", \"replicas\": 2, \"tp\": 1, \"pp\": 1, \"network\": null,\n"
  "               \"prefill_replicas\": 0, \"kv_transfer\": \"network\", \"decode_gpu\": null,\n"
  "               \"decode_tp\": 0, \"kv_transfer_layerwise\": false },\n"
  "  \"cache\": { \"block_size\": 16, \"mem_util\": 0.9, \"preemption\": \"recompute\",\n"
  "             \"prefix_caching\": false, \"prefix_block_tokens\": 512, \"prefix_host_gib\": 0,\n"
  "             \"swap\": { \"overlap\": false, \"granularity_blocks\": 1, \"link_efficiency\": 0.8,\n"
  "                       \"op_latency_s\": 1e-05, \"reuse_host_copy\": false, \"host_gib\": 256,\n"
  "                       \"reuse_conversation\": false } },\n"
  "  \"scheduler\": { \"name\": \"vllm\" },\n"
  "  \"router\": { \"name\": \"round-robin\" },\n"
  "  \"engine\": { \"cpu_overlap\": false },\n"
  "  \"workload\": {\n"
  "    \"trace\": \"traces/data/azure_conv_1k.csv\",\n"
  "    \"format\": \"auto\",\n"
  "    \"limit\": 0,\n"
  "    \"time_scale\": 1.0,\n"
  "    \"start\": 0,\n"
  "    \"end\": 0,\n"
  "    \"priority_fraction\": 0,\n"
  "    \"priority_max_prompt\": 0,\n"
  "    \"clients\": 1,\n"
  "    \"client_skew\": 0,\n"
  "    \"generator\": {\n"
  "      \"arrival\": \"poisson\", \"rate\": 1.0, \"cv\": 1.0, \"num_requests\": 1000,\n"
  "      \"lengths\": \"fixed\", \"prompt_tokens\": 1024, \"output_tokens\": 128,\n"
  "      \"prompt_min\": 128, \"prompt_max\": 2048, \"output_min\": 16, \"output_max\": 512,\n"
  "      \"length_file\": null\n"
  "    }\n"
  "  },\n"
  "  \"slo\": { \"ttft\": 0, \"tpot\": 0 },\n"
  "  \"speculation\": { \"draft\": \"medusa\", \"medusa_overhead\": 0.1, \"acceptance\": 0.7,\n"
  "                   \"acceptance_spread\": 0 },\n"
  "  \"output\": { \"dir\": \"servesim-out\", \"requests_csv\": true, \"plots\": true,\n"
  "              \"render\": true, \"timeline_interval\": 1.0 }\n"
  "}\n";

const char *
serve_scenario_default_json (void)
{
  return default_json;
}

typedef enum { T_INT, T_NUM, T_STR, T_STR_NULL, T_BOOL, T_OBJ, T_OPEN_OBJ } FieldType;

typedef struct {
  const char *path;
  FieldType   type;
  double      min, max;
  const char *choices; /* '|'-separated, for strings */
} Field;

#define BIG 1e15
static const Field schema[] = {
  { "name", T_STR, 0, 0, NULL },
  { "seed", T_INT, 0, 9007199254740991.0, NULL },
  { "model", T_STR, 0, 0, NULL },
  { "catalog", T_STR_NULL, 0, 0, NULL },
  { "cluster", T_OBJ, 0, 0, NULL },
  { "cluster.gpu", T_STR, 0, 0, NULL },
  { "cluster.replicas", T_INT, 1, 100000, NULL },
  { "cluster.tp", T_INT, 1, 64, NULL },
  { "cluster.pp", T_INT, 1, 64, NULL },
  { "cluster.network", T_STR_NULL, 0, 0, NULL },
  { "cluster.prefill_replicas", T_INT, 0, 99999, NULL },
  { "cluster.kv_transfer", T_STR, 0, 0, "network|nvlink" },
  { "cluster.decode_gpu", T_STR_NULL, 0, 0, NULL },
  { "cluster.decode_tp", T_INT, 0, 64, NULL },
  { "cluster.kv_transfer_layerwise", T_BOOL, 0, 0, NULL },
  { "cache", T_OBJ, 0, 0, NULL },
  { "cache.block_size", T_INT, 1, 4096, NULL },
  { "cache.mem_util", T_NUM, 0.05, 1.0, NULL },
  { "cache.preemption", T_STR, 0, 0, "recompute|swap" },
  { "cache.prefix_caching", T_BOOL, 0, 0, NULL },
  { "cache.prefix_block_tokens", T_INT, 1, 1048576, NULL },
  { "cache.prefix_host_gib", T_NUM, 0, 1e6, NULL },
  { "cache.swap", T_OBJ, 0, 0, NULL },
  { "cache.swap.overlap", T_BOOL, 0, 0, NULL },
  { "cache.swap.granularity_blocks", T_INT, 1, 1e9, NULL },
  { "cache.swap.link_efficiency", T_NUM, 0.01, 1.0, NULL },
  { "cache.swap.op_latency_s", T_NUM, 0, 1, NULL },
  { "cache.swap.reuse_host_copy", T_BOOL, 0, 0, NULL },
  { "cache.swap.host_gib", T_NUM, 0, 1e6, NULL },
  { "cache.swap.reuse_conversation", T_BOOL, 0, 0, NULL },
  { "scheduler", T_OPEN_OBJ, 0, 0, NULL },
  { "scheduler.name", T_STR, 0, 0, NULL },
  { "router", T_OPEN_OBJ, 0, 0, NULL },
  { "router.name", T_STR, 0, 0, NULL },
  { "engine", T_OBJ, 0, 0, NULL },
  { "engine.cpu_overlap", T_BOOL, 0, 0, NULL },
  { "workload", T_OBJ, 0, 0, NULL },
  { "workload.trace", T_STR_NULL, 0, 0, NULL },
  { "workload.format", T_STR, 0, 0, "auto|azure|vidur|mooncake|csv" },
  { "workload.limit", T_INT, 0, BIG, NULL },
  { "workload.time_scale", T_NUM, 1e-9, 1e9, NULL },
  { "workload.start", T_NUM, 0, BIG, NULL },
  { "workload.end", T_NUM, 0, BIG, NULL },
  { "workload.priority_fraction", T_NUM, 0, 1, NULL },
  { "workload.priority_max_prompt", T_INT, 0, 1e7, NULL },
  { "workload.clients", T_INT, 1, 1e6, NULL },
  { "workload.client_skew", T_NUM, 0, 10, NULL },
  { "workload.generator", T_OBJ, 0, 0, NULL },
  { "workload.generator.arrival", T_STR, 0, 0, "poisson|gamma" },
  { "workload.generator.rate", T_NUM, 1e-9, 1e9, NULL },
  { "workload.generator.cv", T_NUM, 1e-6, 1e3, NULL },
  { "workload.generator.num_requests", T_INT, 1, 1e12, NULL },
  { "workload.generator.lengths", T_STR, 0, 0, "fixed|uniform|file" },
  { "workload.generator.prompt_tokens", T_INT, 1, 1e7, NULL },
  { "workload.generator.output_tokens", T_INT, 1, 1e7, NULL },
  { "workload.generator.prompt_min", T_INT, 1, 1e7, NULL },
  { "workload.generator.prompt_max", T_INT, 1, 1e7, NULL },
  { "workload.generator.output_min", T_INT, 1, 1e7, NULL },
  { "workload.generator.output_max", T_INT, 1, 1e7, NULL },
  { "workload.generator.length_file", T_STR_NULL, 0, 0, NULL },
  { "slo", T_OBJ, 0, 0, NULL },
  { "slo.ttft", T_NUM, 0, 1e6, NULL },
  { "slo.tpot", T_NUM, 0, 1e6, NULL },
  { "speculation", T_OBJ, 0, 0, NULL },
  { "speculation.draft", T_STR, 0, 0, NULL },
  { "speculation.medusa_overhead", T_NUM, 0, 10, NULL },
  { "speculation.acceptance", T_NUM, 0, 1, NULL },
  { "speculation.acceptance_spread", T_NUM, 0, 1, NULL },
  { "output", T_OBJ, 0, 0, NULL },
  { "output.dir", T_STR_NULL, 0, 0, NULL },
  { "output.requests_csv", T_BOOL, 0, 0, NULL },
  { "output.plots", T_BOOL, 0, 0, NULL },
  { "output.render", T_BOOL, 0, 0, NULL },
  { "output.timeline_interval", T_NUM, 1e-6, 1e6, NULL },
};

static const Field *
schema_find (const char *path)
{
  for (guint i = 0; i < G_N_ELEMENTS (schema); i++)
    if (strcmp (schema[i].path, path) == 0)
      return &schema[i];
  return NULL;
}

/* Keys valid directly under `parent` ("" for the top), comma-separated. */
static char *
schema_children (const char *parent)
{
  GString *s = g_string_new (NULL);
  gsize plen = strlen (parent);
  for (guint i = 0; i < G_N_ELEMENTS (schema); i++) {
    const char *p = schema[i].path;
    const char *rest;
    if (plen == 0)
      rest = p;
    else if (strncmp (p, parent, plen) == 0 && p[plen] == '.')
      rest = p + plen + 1;
    else
      continue;
    if (strchr (rest, '.'))
      continue;
    g_string_append_printf (s, "%s%s", s->len ? ", " : "", rest);
  }
  return g_string_free (s, FALSE);
}

static const char *
json_type_name (const json_t *v)
{
  switch (json_typeof (v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE: case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

static gboolean
check_value (const Field *f, const json_t *v, GError **error)
{
  const char *want = NULL;
  switch (f->type) {
  case T_INT:
    if (!json_is_integer (v))
      want = "an integer";
    break;
  case T_NUM:
    if (!json_is_number (v))
      want = "a number";
    break;
  case T_STR:
    if (!json_is_string (v))
      want = "a string";
    break;
  case T_STR_NULL:
    if (!json_is_string (v) && !json_is_null (v))
      want = "a string or null";
    break;
  case T_BOOL:
    if (!json_is_boolean (v))
      want = "true or false";
    break;
  case T_OBJ:
  case T_OPEN_OBJ:
    if (!json_is_object (v))
      want = "an object";
    break;
  }
  if (want) {
    char *txt = json_dumps (v, JSON_ENCODE_ANY | JSON_COMPACT);
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: expected %s, got %s (%s)",
                 f->path, want, json_type_name (v), txt ? txt : "?");
    free (txt);
    return FALSE;
  }
  if (f->type == T_INT || f->type == T_NUM) {
    double x = json_number_value (v);
    if (!isfinite (x) || x < f->min || x > f->max) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                   "%s: must be between %.10g and %.10g (got %.10g)", f->path, f->min, f->max, x);
      return FALSE;
    }
  }
  if (f->type == T_STR && json_string_length (v) == 0) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: must not be empty", f->path);
    return FALSE;
  }
  if (f->choices && json_is_string (v)) {
    gboolean ok = FALSE;
    char **c = g_strsplit (f->choices, "|", -1);
    for (char **p = c; *p; p++)
      ok |= strcmp (*p, json_string_value (v)) == 0;
    g_strfreev (c);
    if (!ok) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: unknown value '%s' (valid: %s)",
                   f->path, json_string_value (v), f->choices);
      return FALSE;
    }
  }
  return TRUE;
}

/* `partial`: a user file, which may leave out what the defaults provide
 * (such as a policy's name). */
static gboolean
validate_object (const json_t *obj, const char *prefix, gboolean partial, GError **error)
{
  const char *key;
  json_t *v;
  json_object_foreach ((json_t *) obj, key, v) {
    char *path = *prefix ? g_strdup_printf ("%s.%s", prefix, key) : g_strdup (key);
    const Field *f = schema_find (path);
    if (!f) {
      char *valid = schema_children (prefix);
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: unknown key (valid keys%s%s: %s)",
                   path, *prefix ? " in " : "", prefix, valid);
      g_free (valid);
      g_free (path);
      return FALSE;
    }
    gboolean ok = check_value (f, v, error);
    if (ok && f->type == T_OBJ)
      ok = validate_object (v, path, partial, error);
    if (ok && f->type == T_OPEN_OBJ) {
      char *name_path = g_strdup_printf ("%s.name", path);
      json_t *name = json_object_get (v, "name");
      if (!name && partial)
        ;
      else if (!name) {
        g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: missing", name_path);
        ok = FALSE;
      } else
        ok = check_value (schema_find (name_path), name, error);
      g_free (name_path);
    }
    g_free (path);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}

/* Deep merge: objects merge key by key; anything else replaces. Policy
 * objects whose name changes are replaced whole, so one policy's parameters
 * never leak into another's. */
static void
merge_into (json_t *dst, json_t *src)
{
  const char *key;
  json_t *v;
  json_object_foreach (src, key, v) {
    json_t *d = json_object_get (dst, key);
    gboolean policy = strcmp (key, "scheduler") == 0 || strcmp (key, "router") == 0;
    if (d && json_is_object (d) && json_is_object (v) && !policy)
      merge_into (d, v);
    else if (d && policy && json_is_object (d) && json_is_object (v)) {
      json_t *dn = json_object_get (d, "name"), *sn = json_object_get (v, "name");
      if (sn && (!dn || !json_equal (dn, sn)))
        json_object_set (dst, key, v);
      else
        merge_into (d, v);
    } else
      json_object_set (dst, key, v);
  }
}

static gboolean
apply_set (json_t *root, const char *assignment, GError **error)
{
  const char *eq = strchr (assignment, '=');
  if (!eq || eq == assignment) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "--set '%s': expected path=value (for example cluster.replicas=4)", assignment);
    return FALSE;
  }
  char *path = g_strndup (assignment, eq - assignment);
  const char *text = eq + 1;
  json_t *value = json_loads (text, JSON_DECODE_ANY, NULL);
  if (!value)
    value = json_string (text);
  char **parts = g_strsplit (path, ".", -1);
  json_t *obj = root;
  gboolean ok = TRUE;
  gboolean name_changed = FALSE;
  for (char **p = parts; *p && ok; p++) {
    if (!**p) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "--set '%s': empty path component",
                   assignment);
      ok = FALSE;
    } else if (!p[1]) {
      json_t *old = json_object_get (obj, *p);
      if (strcmp (*p, "name") == 0 && obj != root)
        name_changed = !old || !json_equal (old, value);
      /* an object value merges into the object it replaces, as a file does */
      if (old && json_is_object (old) && json_is_object (value))
        merge_into (old, value);
      else
        json_object_set (obj, *p, value);
    } else {
      json_t *next = json_object_get (obj, *p);
      if (!next) {
        next = json_object ();
        json_object_set_new (obj, *p, next);
      } else if (!json_is_object (next)) {
        g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                     "--set '%s': '%s' is not an object", assignment, *p);
        ok = FALSE;
      }
      obj = next;
    }
  }
  /* Changing a policy's name drops the old policy's parameters (so set the
   * name before the parameters of the new policy). */
  if (ok && name_changed
      && (strcmp (path, "scheduler.name") == 0 || strcmp (path, "router.name") == 0)) {
    json_t *pol = json_object_get (root, parts[0]);
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe (pol, tmp, k, v) {
      (void) v;
      if (strcmp (k, "name") != 0)
        json_object_del (pol, k);
    }
  }
  json_decref (value);
  g_strfreev (parts);
  g_free (path);
  return ok;
}

json_t *
serve_scenario_get (const ServeScenario *sc, const char *dotted)
{
  char **parts = g_strsplit (dotted, ".", -1);
  json_t *v = sc->root;
  for (char **p = parts; *p && v; p++)
    v = json_object_get (v, *p);
  g_strfreev (parts);
  return v;
}

static const char *
get_str (const ServeScenario *sc, const char *path)
{
  json_t *v = serve_scenario_get (sc, path);
  return json_is_string (v) ? json_string_value (v) : NULL;
}

static double
get_num (const ServeScenario *sc, const char *path)
{
  return json_number_value (serve_scenario_get (sc, path));
}

static gboolean
fill_views (ServeScenario *sc, GError **error)
{
  sc->seed = (guint64) json_integer_value (serve_scenario_get (sc, "seed"));
  sc->name = get_str (sc, "name");
  sc->model = get_str (sc, "model");
  sc->catalog = get_str (sc, "catalog");
  sc->gpu = get_str (sc, "cluster.gpu");
  sc->replicas = (int) get_num (sc, "cluster.replicas");
  sc->tp = (int) get_num (sc, "cluster.tp");
  sc->pp = (int) get_num (sc, "cluster.pp");
  sc->network = get_str (sc, "cluster.network");
  sc->prefill_replicas = (int) get_num (sc, "cluster.prefill_replicas");
  sc->kv_transfer_nvlink = g_strcmp0 (get_str (sc, "cluster.kv_transfer"), "nvlink") == 0;
  sc->decode_gpu = get_str (sc, "cluster.decode_gpu");
  sc->decode_tp = (int) get_num (sc, "cluster.decode_tp");
  sc->kv_layerwise = json_is_true (serve_scenario_get (sc, "cluster.kv_transfer_layerwise"));
  /* without a decode pool they are unused: the run says so (serve_world_run),
   * and a plan prunes such configurations as duplicates */
  sc->decode_unused = (sc->decode_gpu || sc->decode_tp > 0) && sc->prefill_replicas == 0;
  if (sc->decode_tp == 0)
    sc->decode_tp = sc->tp;
  if (!sc->decode_gpu)
    sc->decode_gpu = sc->gpu;
  if (sc->prefill_replicas >= sc->replicas) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "cluster.prefill_replicas: must be below cluster.replicas (%d) to leave decode "
                 "replicas, or 0 for none (prefill and decode on every replica), got %d",
                 sc->replicas, sc->prefill_replicas);
    return FALSE;
  }
  sc->block_size = (int) get_num (sc, "cache.block_size");
  sc->mem_util = get_num (sc, "cache.mem_util");
  sc->scheduler = get_str (sc, "scheduler.name");
  sc->router = get_str (sc, "router.name");
  sc->trace = get_str (sc, "workload.trace");
  sc->format = get_str (sc, "workload.format");
  sc->limit = (gint64) get_num (sc, "workload.limit");
  sc->time_scale = get_num (sc, "workload.time_scale");
  sc->start_s = get_num (sc, "workload.start");
  sc->end_s = get_num (sc, "workload.end");
  sc->slo_ttft = get_num (sc, "slo.ttft");
  sc->slo_tpot = get_num (sc, "slo.tpot");
  sc->out_dir = get_str (sc, "output.dir");
  sc->write_requests = json_is_true (serve_scenario_get (sc, "output.requests_csv"));
  sc->write_plots = json_is_true (serve_scenario_get (sc, "output.plots"));
  sc->render = json_is_true (serve_scenario_get (sc, "output.render"));
  sc->timeline_interval = get_num (sc, "output.timeline_interval");
  sc->cpu_overlap = json_is_true (serve_scenario_get (sc, "engine.cpu_overlap"));
  sc->prefix_caching = json_is_true (serve_scenario_get (sc, "cache.prefix_caching"));
  sc->prefix_block_tokens = (gint64) get_num (sc, "cache.prefix_block_tokens");
  sc->prefix_host_gib = get_num (sc, "cache.prefix_host_gib");
  if (sc->prefix_block_tokens % sc->block_size != 0) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "cache.prefix_block_tokens: must be a multiple of cache.block_size (%d), got %"
                 G_GINT64_FORMAT " (a trace's hash covers whole KV blocks)", sc->block_size,
                 sc->prefix_block_tokens);
    return FALSE;
  }
  sc->swap = g_strcmp0 (get_str (sc, "cache.preemption"), "swap") == 0;
  sc->swap_overlap = json_is_true (serve_scenario_get (sc, "cache.swap.overlap"));
  sc->swap_granularity = (gint64) get_num (sc, "cache.swap.granularity_blocks");
  sc->swap_link_eff = get_num (sc, "cache.swap.link_efficiency");
  sc->swap_op_latency_s = get_num (sc, "cache.swap.op_latency_s");
  sc->swap_reuse = json_is_true (serve_scenario_get (sc, "cache.swap.reuse_host_copy"));
  sc->swap_host_gib = get_num (sc, "cache.swap.host_gib");
  sc->swap_conversation = json_is_true (serve_scenario_get (sc, "cache.swap.reuse_conversation"));
  sc->priority_fraction = get_num (sc, "workload.priority_fraction");
  sc->priority_max_prompt = (gint64) get_num (sc, "workload.priority_max_prompt");
  sc->clients = (guint) get_num (sc, "workload.clients");
  sc->client_skew = get_num (sc, "workload.client_skew");
  sc->spec_draft = get_str (sc, "speculation.draft");
  sc->spec_medusa_overhead = get_num (sc, "speculation.medusa_overhead");
  sc->spec_acceptance = get_num (sc, "speculation.acceptance");
  sc->spec_spread = get_num (sc, "speculation.acceptance_spread");
  const char *required[][2] = { { "model", sc->model }, { "cluster.gpu", sc->gpu },
                                { "scheduler.name", sc->scheduler }, { "router.name", sc->router },
                                { "output.dir", sc->out_dir ? sc->out_dir : "" } };
  for (guint i = 0; i < G_N_ELEMENTS (required); i++)
    if (!required[i][1]) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: missing", required[i][0]);
      return FALSE;
    }
  if (sc->end_s > 0 && sc->end_s <= sc->start_s) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "workload.end: must be greater than workload.start (%g), or 0 for no end (got %g)",
                 sc->start_s, sc->end_s);
    return FALSE;
  }
  const char *pairs[][2] = { { "prompt_min", "prompt_max" }, { "output_min", "output_max" } };
  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++) {
    char *a = g_strdup_printf ("workload.generator.%s", pairs[i][0]);
    char *b = g_strdup_printf ("workload.generator.%s", pairs[i][1]);
    double lo = get_num (sc, a), hi = get_num (sc, b);
    gboolean bad = lo > hi;
    if (bad)
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: must be >= %s (%g), got %g", b, a,
                   lo, hi);
    g_free (a);
    g_free (b);
    if (bad)
      return FALSE;
  }
  return TRUE;
}

ServeScenario *
serve_scenario_load (const char *path, char **sets, GError **error)
{
  json_error_t jerr;
  json_t *root = json_loads (default_json, 0, &jerr);
  g_assert (root != NULL);
  ServeScenario *sc = g_new0 (ServeScenario, 1);
  sc->origin = g_strdup (path ? path : "<default>");
  sc->root = root;

  if (path) {
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: scenario file not found", path);
      goto fail;
    }
    json_t *user = json_load_file (path, JSON_REJECT_DUPLICATES, &jerr);
    if (!user) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s:%d: %s", path, jerr.line, jerr.text);
      goto fail;
    }
    if (!json_is_object (user)) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                   "%s:1: a scenario must be a JSON object, got %s", path, json_type_name (user));
      json_decref (user);
      goto fail;
    }
    GError *e = NULL;
    if (!validate_object (user, "", TRUE, &e)) {
      g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO, "%s: %s", path, e->message);
      g_error_free (e);
      json_decref (user);
      goto fail;
    }
    merge_into (root, user);
    json_decref (user);
  }
  for (char **s = sets; s && *s; s++)
    if (!apply_set (root, *s, error))
      goto fail;
  if (!validate_object (root, "", FALSE, error))
    goto fail;
  if (!fill_views (sc, error))
    goto fail;
  return sc;

fail:
  serve_scenario_free (sc);
  return NULL;
}

void
serve_scenario_free (ServeScenario *sc)
{
  if (!sc)
    return;
  json_decref (sc->root);
  g_free (sc->origin);
  g_free (sc);
}

int
serve_scenario_gpus (const ServeScenario *sc)
{
  const int np = sc->prefill_replicas;
  return np > 0 ? np * sc->tp + (sc->replicas - np) * sc->decode_tp : sc->replicas * sc->tp * sc->pp;
}

gboolean
serve_scenario_check_model (const ServeScenario *sc, int num_layers, GError **error)
{
  if (sc->pp > num_layers) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "cluster.pp: %d stages for %s's %d layers (at most one stage per layer)", sc->pp,
                 sc->model, num_layers);
    return FALSE;
  }
  if (sc->pp > 1 && sc->prefill_replicas > 0) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "cluster.pp: pipeline parallelism with prefill/decode disaggregation "
                 "(cluster.prefill_replicas) is not modelled");
    return FALSE;
  }
  return TRUE;
}

char *
serve_scenario_dump (const ServeScenario *sc)
{
  char *s = json_dumps (sc->root, JSON_INDENT (2) | JSON_REAL_PRECISION (17));
  char *r = g_strconcat (s, "\n", NULL);
  free (s);
  return r;
}
