/* policies/router_rr.c — round-robin router: request i goes to replica
 * i mod n, whatever the replicas' load. The baseline every other router is
 * compared with. Owns only its counter.
 */
#include "config.h"

#include "policies/policy.h"

typedef struct {
  guint next;
} RoundRobin;

static guint
rr_route (void *state, PolicyReplica *const *replicas, guint n, const PolicyRequest *r)
{
  RoundRobin *s = state;
  guint k = s->next % n;
  s->next = (s->next + 1) % n;
  return k;
}

const PolicyRouterOps policy_router_round_robin = {
  .name = "round-robin",
  .description = "each request to the next replica in turn",
  .params = NULL,
  .state_size = sizeof (RoundRobin),
  .route = rr_route,
};
