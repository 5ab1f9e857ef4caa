/* policies/registry.h — policies by name.
 *
 * A PolicyRegistry holds the built-in schedulers and routers, plus any an
 * out-of-tree plug-in registers, and is read-only once a run starts. Owns
 * lookup, listing and parameter resolution; not the policies' behaviour.
 */
#ifndef POLICY_REGISTRY_H
#define POLICY_REGISTRY_H

#include <jansson.h>
#include "policies/policy.h"

typedef struct PolicyRegistry PolicyRegistry;

/* A registry holding every built-in policy. Free with policy_registry_free(). */
PolicyRegistry *policy_registry_new (void);
void            policy_registry_free (PolicyRegistry *reg);

/* Add a policy; FALSE (programmer error) when the name is taken. The ops
 * struct must outlive the registry. */
gboolean policy_registry_add_scheduler (PolicyRegistry *reg, const PolicySchedulerOps *ops);
gboolean policy_registry_add_router (PolicyRegistry *reg, const PolicyRouterOps *ops);

/* Load an out-of-tree policy plug-in (a shared object exporting
 * servesim_plugin_register, see policies/policy.h) and let it register its
 * policies. The module stays loaded until the registry is freed. FALSE with
 * POLICY_ERROR_PLUGIN naming the file when it is missing, not loadable, not a
 * plug-in, or its registration fails or reuses a name. */
gboolean policy_registry_load_plugin (PolicyRegistry *reg, const char *path, GError **error);

/* Lookup; NULL with POLICY_ERROR_UNKNOWN listing the valid names. */
const PolicySchedulerOps *policy_registry_scheduler (const PolicyRegistry *reg, const char *name,
                                                     GError **error);
const PolicyRouterOps    *policy_registry_router (const PolicyRegistry *reg, const char *name,
                                                  GError **error);
/* Sorted NULL-terminated list of names; g_free the array only. */
const char **policy_registry_scheduler_names (const PolicyRegistry *reg);
const char **policy_registry_router_names (const PolicyRegistry *reg);

/* Resolve a policy's parameters from a JSON object ({"name": ..., params...}):
 * every key other than "name" must be in `table`, numeric, finite and in
 * range; missing ones take the default. Fills `values` (one per table entry)
 * and, when `resolved` is non-NULL, sets every parameter in it. FALSE with
 * POLICY_ERROR_INVALID naming `where`.key on error. */
gboolean policy_params_resolve (const PolicyParam *table, const json_t *obj, const char *where,
                                double *values, json_t *resolved, GError **error);
gsize    policy_params_count (const PolicyParam *table);

#endif
