/* policies/router_conversation.c — conversation-affinity router: every turn
 * of a multi-turn conversation (the trace's conversation column) goes to the
 * replica that received the conversation's first turn, so the KV a finished
 * turn left in that replica's host memory (cache.swap.reuse_conversation)
 * is there for the next one; the first turn of a conversation and requests
 * without a conversation id go round-robin. It ignores load: a long
 * conversation stays where it started, however busy that replica gets.
 * Owns its counter and the conversation -> replica table (one entry per
 * conversation seen; it grows with the number of conversations, not
 * requests); not the host memory itself (serve/).
 */
#include "config.h"

#include "policies/policy.h"

typedef struct {
  guint       next;
  GHashTable *home;   /* gint64 conversation (boxed) -> replica index + 1 */
} ConvRouter;

static gboolean
conv_init (void *state, guint n_replicas, const double *params, GError **error)
{
  ConvRouter *s = state;
  s->home = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  return TRUE;
}

static void
conv_clear (void *state)
{
  ConvRouter *s = state;
  if (s->home)
    g_hash_table_destroy (s->home);
}

static guint
conv_route (void *state, PolicyReplica *const *replicas, guint n, const PolicyRequest *r)
{
  ConvRouter *s = state;
  gint64 c = policy_req_conversation (r);
  if (c >= 0) {
    guint k = GPOINTER_TO_UINT (g_hash_table_lookup (s->home, &c));
    if (k > 0 && k <= n)
      return k - 1;
  }
  guint k = s->next % n;
  s->next = (s->next + 1) % n;
  if (c >= 0) {
    gint64 *key = g_new (gint64, 1);
    *key = c;
    g_hash_table_insert (s->home, key, GUINT_TO_POINTER (k + 1));
  }
  return k;
}

const PolicyRouterOps policy_router_conversation = {
  .name = "conversation",
  .description = "every turn of a conversation to the replica of its first turn (keeps host-memory "
                 "KV re-usable, FastSwitch multi-turn); others round-robin",
  .params = NULL,
  .state_size = sizeof (ConvRouter),
  .init = conv_init,
  .clear = conv_clear,
  .route = conv_route,
};
