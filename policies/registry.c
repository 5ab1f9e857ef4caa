/* policies/registry.c — the name -> policy tables and parameter resolution.
 *
 * Owns the list of built-in policies (add a new one to builtin_schedulers /
 * builtin_routers) and checking a scenario's policy object against a policy's
 * parameter table. Not the policies themselves.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <gmodule.h>

#include "policies/registry.h"

G_DEFINE_QUARK (policy-error-quark, policy_error)

/* Built-ins, each defined in its own file. */
extern const PolicySchedulerOps policy_sched_vllm;
extern const PolicySchedulerOps policy_sched_template;
extern const PolicySchedulerOps policy_sched_static;
extern const PolicySchedulerOps policy_sched_orca;
extern const PolicySchedulerOps policy_sched_sarathi;
extern const PolicySchedulerOps policy_sched_fastgen;
extern const PolicySchedulerOps policy_sched_priority;
extern const PolicySchedulerOps policy_sched_vtc;
extern const PolicySchedulerOps policy_sched_edf;
extern const PolicySchedulerOps policy_sched_specdec;
extern const PolicySchedulerOps policy_sched_smartspec;
extern const PolicyRouterOps    policy_router_round_robin;
extern const PolicyRouterOps    policy_router_conversation;
extern const PolicyRouterOps    policy_router_cache_aware;

static const PolicySchedulerOps *const builtin_schedulers[] = {
  &policy_sched_vllm, &policy_sched_template, &policy_sched_static, &policy_sched_orca,
  &policy_sched_sarathi, &policy_sched_fastgen, &policy_sched_priority, &policy_sched_vtc,
  &policy_sched_edf, &policy_sched_specdec, &policy_sched_smartspec,
};
static const PolicyRouterOps *const builtin_routers[] = {
  &policy_router_round_robin,
  &policy_router_conversation,
  &policy_router_cache_aware,
};

struct PolicyRegistry {
  GHashTable *schedulers; /* name -> const PolicySchedulerOps* */
  GHashTable *routers;    /* name -> const PolicyRouterOps* */
  GPtrArray  *modules;    /* GModule* of loaded plug-ins, closed with the registry */
};

PolicyRegistry *
policy_registry_new (void)
{
  PolicyRegistry *reg = g_new0 (PolicyRegistry, 1);
  reg->schedulers = g_hash_table_new (g_str_hash, g_str_equal);
  reg->routers = g_hash_table_new (g_str_hash, g_str_equal);
  reg->modules = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (builtin_schedulers); i++)
    policy_registry_add_scheduler (reg, builtin_schedulers[i]);
  for (guint i = 0; i < G_N_ELEMENTS (builtin_routers); i++)
    policy_registry_add_router (reg, builtin_routers[i]);
  return reg;
}

void
policy_registry_free (PolicyRegistry *reg)
{
  if (!reg)
    return;
  g_hash_table_destroy (reg->schedulers);
  g_hash_table_destroy (reg->routers);
  for (guint i = 0; i < reg->modules->len; i++)
    g_module_close (reg->modules->pdata[i]);
  g_ptr_array_free (reg->modules, TRUE);
  g_free (reg);
}

gboolean
policy_registry_add_scheduler (PolicyRegistry *reg, const PolicySchedulerOps *ops)
{
  g_return_val_if_fail (ops && ops->name && ops->schedule, FALSE);
  g_return_val_if_fail (!g_hash_table_contains (reg->schedulers, ops->name), FALSE);
  g_hash_table_insert (reg->schedulers, (gpointer) ops->name, (gpointer) ops);
  return TRUE;
}

gboolean
policy_registry_add_router (PolicyRegistry *reg, const PolicyRouterOps *ops)
{
  g_return_val_if_fail (ops && ops->name && ops->route, FALSE);
  g_return_val_if_fail (!g_hash_table_contains (reg->routers, ops->name), FALSE);
  g_hash_table_insert (reg->routers, (gpointer) ops->name, (gpointer) ops);
  return TRUE;
}

/* qsort passes pointers to elements; compare the strings they point to. */
static int
cmp_strp (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static const char **
names_of (GHashTable *t)
{
  guint n = 0;
  const char **names = (const char **) g_hash_table_get_keys_as_array (t, &n);
  qsort (names, n, sizeof *names, cmp_strp);
  return names;
}

const char **
policy_registry_scheduler_names (const PolicyRegistry *reg)
{
  return names_of (reg->schedulers);
}

const char **
policy_registry_router_names (const PolicyRegistry *reg)
{
  return names_of (reg->routers);
}

/* ---- plug-ins --------------------------------------------------------------- */

/* Registration from a plug-in: a taken name is the plug-in author's error,
 * reported as a GError by the loader rather than a critical. */
typedef struct {
  PolicyRegistry *reg;
  GString        *clash;
} PluginCtx;

static gboolean
plugin_add_scheduler (gpointer ctx, const PolicySchedulerOps *ops)
{
  PluginCtx *c = ctx;
  if (!ops || !ops->name || !ops->schedule || g_hash_table_contains (c->reg->schedulers, ops->name)) {
    g_string_append_printf (c->clash, "%sscheduler '%s'%s", c->clash->len ? ", " : "",
                            ops && ops->name ? ops->name : "(null)",
                            ops && ops->name && ops->schedule ? " (name taken)" : " (no name or schedule hook)");
    return FALSE;
  }
  return policy_registry_add_scheduler (c->reg, ops);
}

static gboolean
plugin_add_router (gpointer ctx, const PolicyRouterOps *ops)
{
  PluginCtx *c = ctx;
  if (!ops || !ops->name || !ops->route || g_hash_table_contains (c->reg->routers, ops->name)) {
    g_string_append_printf (c->clash, "%srouter '%s'%s", c->clash->len ? ", " : "",
                            ops && ops->name ? ops->name : "(null)",
                            ops && ops->name && ops->route ? " (name taken)" : " (no name or route hook)");
    return FALSE;
  }
  return policy_registry_add_router (c->reg, ops);
}

gboolean
policy_registry_load_plugin (PolicyRegistry *reg, const char *path, GError **error)
{
  g_return_val_if_fail (reg && path, FALSE);
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, POLICY_ERROR, POLICY_ERROR_PLUGIN, "%s: plug-in file not found", path);
    return FALSE;
  }
  /* a bare file name would be searched in the library path: make it relative */
  char *p = strchr (path, G_DIR_SEPARATOR) ? g_strdup (path) : g_build_filename (".", path, NULL);
  GModule *m = g_module_open (p, G_MODULE_BIND_LOCAL);
  g_free (p);
  if (!m) {
    g_set_error (error, POLICY_ERROR, POLICY_ERROR_PLUGIN, "%s: cannot load plug-in: %s", path,
                 g_module_error ());
    return FALSE;
  }
  gpointer sym = NULL;
  if (!g_module_symbol (m, POLICY_PLUGIN_SYMBOL, &sym) || !sym) {
    g_set_error (error, POLICY_ERROR, POLICY_ERROR_PLUGIN,
                 "%s: not a servesim plug-in (it exports no %s function; see docs/policies.md)",
                 path, POLICY_PLUGIN_SYMBOL);
    g_module_close (m);
    return FALSE;
  }
  PluginCtx ctx = { reg, g_string_new (NULL) };
  PolicyPluginApi api = { POLICY_PLUGIN_ABI, &ctx, plugin_add_scheduler, plugin_add_router };
  GError *e = NULL;
  gboolean ok = ((PolicyPluginRegisterFn) sym) (&api, &e);
  if (!ok || ctx.clash->len) {
    if (e)
      g_set_error (error, POLICY_ERROR, POLICY_ERROR_PLUGIN, "%s: registration failed: %s", path,
                   e->message);
    else if (ctx.clash->len)
      g_set_error (error, POLICY_ERROR, POLICY_ERROR_PLUGIN,
                   "%s: could not register %s (rename them in the plug-in)", path, ctx.clash->str);
    else
      g_set_error (error, POLICY_ERROR, POLICY_ERROR_PLUGIN,
                   "%s: registration failed (the plug-in gave no reason)", path);
    g_clear_error (&e);
    g_string_free (ctx.clash, TRUE);
    /* what it did register stays valid only while the module is loaded */
    g_ptr_array_add (reg->modules, m);
    return FALSE;
  }
  g_string_free (ctx.clash, TRUE);
  g_ptr_array_add (reg->modules, m);
  return TRUE;
}

static gpointer
lookup (GHashTable *t, const char *kind, const char *name, GError **error)
{
  gpointer ops = name ? g_hash_table_lookup (t, name) : NULL;
  if (ops)
    return ops;
  const char **names = names_of (t);
  char *list = g_strjoinv (", ", (char **) names);
  g_set_error (error, POLICY_ERROR, POLICY_ERROR_UNKNOWN, "unknown %s '%s' (valid: %s)", kind,
               name ? name : "(none)", list);
  g_free (list);
  g_free (names);
  return NULL;
}

const PolicySchedulerOps *
policy_registry_scheduler (const PolicyRegistry *reg, const char *name, GError **error)
{
  return lookup (reg->schedulers, "scheduler", name, error);
}

const PolicyRouterOps *
policy_registry_router (const PolicyRegistry *reg, const char *name, GError **error)
{
  return lookup (reg->routers, "router", name, error);
}

gsize
policy_params_count (const PolicyParam *table)
{
  gsize n = 0;
  while (table && table[n].name)
    n++;
  return n;
}

double
policy_param (const PolicyParam *table, const double *values, const char *name)
{
  for (gsize i = 0; table && table[i].name; i++)
    if (strcmp (table[i].name, name) == 0)
      return values[i];
  return NAN;
}

gboolean
policy_params_resolve (const PolicyParam *table, const json_t *obj, const char *where,
                       double *values, json_t *resolved, GError **error)
{
  gsize n = policy_params_count (table);
  const char *key;
  json_t *v;
  json_object_foreach ((json_t *) obj, key, v) {
    if (strcmp (key, "name") == 0)
      continue;
    gsize i;
    for (i = 0; i < n && strcmp (table[i].name, key) != 0; i++)
      ;
    if (i == n) {
      GString *valid = g_string_new (NULL);
      for (gsize j = 0; j < n; j++)
        g_string_append_printf (valid, "%s%s", j ? ", " : "", table[j].name);
      g_set_error (error, POLICY_ERROR, POLICY_ERROR_INVALID,
                   "%s.%s: unknown parameter for this policy (valid: %s)", where, key,
                   n ? valid->str : "none");
      g_string_free (valid, TRUE);
      return FALSE;
    }
  }
  for (gsize i = 0; i < n; i++) {
    const PolicyParam *p = &table[i];
    json_t *jv = json_object_get (obj, p->name);
    double x = p->def;
    if (jv) {
      if (!json_is_number (jv) || (p->integer && !json_is_integer (jv))) {
        g_set_error (error, POLICY_ERROR, POLICY_ERROR_INVALID, "%s.%s: expected %s", where,
                     p->name, p->integer ? "an integer" : "a number");
        return FALSE;
      }
      x = json_number_value (jv);
    }
    if (!isfinite (x) || x < p->min || x > p->max) {
      g_set_error (error, POLICY_ERROR, POLICY_ERROR_INVALID,
                   "%s.%s: must be between %g and %g (got %g)", where, p->name, p->min, p->max, x);
      return FALSE;
    }
    values[i] = x;
    if (resolved)
      json_object_set_new (resolved, p->name,
                           p->integer ? json_integer ((json_int_t) x) : json_real (x));
  }
  return TRUE;
}
