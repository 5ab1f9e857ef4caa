/* policies/router_cache.c — cache-aware router: each request goes to the
 * replica whose prefix cache (cache.prefix_caching) holds the most of its
 * prompt, unless that replica is busier than the rest by more than the hit
 * is worth. The score is the one vLLM's production-stack router uses for its
 * load-aware KV-cache routing:
 *   score(i) = cached_tokens(i) / prompt_tokens - beta * (load(i) - mean) / max(1, mean)
 * with load = requests assigned to the replica and not finished; the highest
 * score wins, ties to the less loaded, then in turn (round-robin), so a
 * trace without block hashes is spread like round-robin modulo load. SGLang's
 * cache-aware router and Mooncake's Conductor make the same trade with other
 * rules. Owns its counter; reads the replicas' caches, never changes them.
 */
#include "config.h"

#include "policies/policy.h"

typedef struct {
  guint  next;
  double beta;
} CacheRouter;

static const PolicyParam cache_params[] = {
  { "beta", 1.0, 0, 1e6, FALSE,
    "weight of a replica's relative load against the fraction of the prompt it has cached "
    "(0: cache hits only; large: least loaded)" },
  { NULL, 0, 0, 0, FALSE, NULL },
};

static gboolean
cache_init (void *state, guint n_replicas, const double *params, GError **error)
{
  ((CacheRouter *) state)->beta = policy_param (cache_params, params, "beta");
  return TRUE;
}

static guint
cache_route (void *state, PolicyReplica *const *replicas, guint n, const PolicyRequest *r)
{
  CacheRouter *s = state;
  double mean = 0;
  for (guint i = 0; i < n; i++)
    mean += policy_replica_load (replicas[i]);
  mean /= n;
  const double prompt = (double) MAX (policy_req_prompt (r), 1);
  guint best = s->next % n;
  double best_score = -G_MAXDOUBLE;
  guint best_load = G_MAXUINT;
  for (guint j = 0; j < n; j++) {
    guint i = (s->next + j) % n;
    guint load = policy_replica_load (replicas[i]);
    double score = (double) policy_replica_cached_prefix (replicas[i], r) / prompt
                   - s->beta * ((double) load - mean) / MAX (1.0, mean);
    if (score > best_score || (score == best_score && load < best_load)) {
      best = i;
      best_score = score;
      best_load = load;
    }
  }
  s->next = (s->next + 1) % n;
  return best;
}

const PolicyRouterOps policy_router_cache_aware = {
  .name = "cache-aware",
  .description = "to the replica holding most of the prompt in its prefix cache, weighed against "
                 "its load (vLLM production-stack's load-aware KV-cache routing)",
  .params = cache_params,
  .state_size = sizeof (CacheRouter),
  .init = cache_init,
  .route = cache_route,
};
