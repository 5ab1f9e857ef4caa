/* cli/common.c — option handling shared by the servesim subcommands. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli/cli.h"
#include "policies/registry.h"

void
cli_add_common (GOptionContext *ctx, CommonOpts *o)
{
  GOptionEntry entries[] = {
    { "set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &o->sets,
      "Override a scenario field, e.g. --set cluster.replicas=4 (repeatable; value is JSON or a "
      "string)", "PATH=VALUE" },
    { "plugin", 'p', 0, G_OPTION_ARG_FILENAME_ARRAY, &o->plugins,
      "Load a policy plug-in (a .so exporting servesim_plugin_register; see docs/policies.md); "
      "its policies are then selectable by name like built-in ones (repeatable)", "FILE.so" },
    { "catalog", 'c', 0, G_OPTION_ARG_FILENAME, &o->catalog,
      "Extra catalog file adding or overriding GPUs/models (same as --set catalog=FILE)", "FILE" },
    { NULL }
  };
  g_option_context_add_main_entries (ctx, entries, NULL);
}

gboolean
cli_load_plugins (PolicyRegistry *reg, CommonOpts *o, GError **error)
{
  for (char **p = o->plugins; p && *p; p++)
    if (!policy_registry_load_plugin (reg, *p, error))
      return FALSE;
  return TRUE;
}

/* "key=<value as a JSON string>", so any path (quotes, backslashes) survives. */
static char *
set_string (const char *key, const char *value)
{
  json_t *s = json_string (value);
  char *txt = json_dumps (s, JSON_ENCODE_ANY);
  char *r = g_strdup_printf ("%s=%s", key, txt);
  free (txt);
  json_decref (s);
  return r;
}

/* Scenario from the optional positional argument plus overrides. */
ServeScenario *
cli_load_scenario (int argc, char **argv, CommonOpts *o, GError **error)
{
  if (argc > 2) {
    g_set_error (error, SERVE_ERROR, SERVE_ERROR_SCENARIO,
                 "expected at most one scenario file, got %d arguments", argc - 1);
    return NULL;
  }
  GPtrArray *sets = g_ptr_array_new_with_free_func (g_free);
  if (o->catalog)
    g_ptr_array_add (sets, set_string ("catalog", o->catalog));
  if (o->out)
    g_ptr_array_add (sets, set_string ("output.dir", o->out));
  if (o->no_render)
    g_ptr_array_add (sets, g_strdup ("output.render=false"));
  for (char **s = o->sets; s && *s; s++)
    g_ptr_array_add (sets, g_strdup (*s));
  g_ptr_array_add (sets, NULL);
  ServeScenario *sc = serve_scenario_load (argc == 2 ? argv[1] : NULL, (char **) sets->pdata, error);
  g_ptr_array_free (sets, TRUE);
  return sc;
}

void
cli_common_clear (CommonOpts *o)
{
  g_strfreev (o->sets);
  g_free (o->out);
  g_free (o->catalog);
  g_strfreev (o->plugins);
  memset (o, 0, sizeof *o);
}
