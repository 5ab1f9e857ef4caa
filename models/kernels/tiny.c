/* models/kernels/tiny.c — the tiny transformer (tiny.h): configuration from a
 * catalog model, seeded weights, block pool and per-sequence block tables;
 * the typed bodies are tiny_tmpl.c, compiled here for double and float. It
 * does not own the kernels (kernels.c) or any timing.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/kernels/tiny.h"

typedef struct {
  GArray *blocks;   /* int block ids */
  int     len;      /* tokens in the cache */
} TinySeq;

static void
tiny_seq_free (gpointer p)
{
  TinySeq *s = p;
  if (!s)
    return;
  g_array_free (s->blocks, TRUE);
  g_free (s);
}

/* splitmix64 -> [0, 1): the same stream for both element types */
static double
tiny_u01 (guint64 *st)
{
  guint64 z = (*st += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double) (z >> 11) * 0x1.0p-53;
}

static gboolean
tiny_config_ok (const KernTinyConfig *c)
{
  return c->layers >= 1 && c->hidden >= 1 && c->heads >= 1 && c->kv_heads >= 1
         && c->heads % c->kv_heads == 0 && c->head_dim >= 2 && c->head_dim % 2 == 0
         && c->ffn >= 1 && c->vocab >= 1 && (c->experts <= 1 || (c->top_k >= 1 && c->top_k <= c->experts))
         && c->rope_theta > 0 && c->eps > 0 && c->window >= 0 && c->learned_pos >= 0
         && c->rotary_dim >= 0 && c->rotary_dim % 2 == 0 && c->rotary_dim <= c->head_dim;
}

gboolean
kern_tiny_config_from_llm (const ModelLlm *m, KernTinyConfig *cfg, GError **error)
{
  g_return_val_if_fail (m != NULL && cfg != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  memset (cfg, 0, sizeof *cfg);
  int act = kern_act_from_name (m->activation ? m->activation : "");
  if (m->parallel_attn_mlp || act < 0 || m->head_dim % 2 != 0 || m->num_kv_heads < 1
      || m->num_heads % m->num_kv_heads != 0) {
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_INVALID,
                 "%s: the tiny transformer needs sequential attention/MLP blocks, an even "
                 "head_dim, num_heads a multiple of num_kv_heads and activation silu|gelu|relu",
                 m->id);
    return FALSE;
  }
  cfg->layers = m->num_layers;
  cfg->hidden = m->hidden;
  cfg->heads = m->num_heads;
  cfg->kv_heads = m->num_kv_heads;
  cfg->head_dim = m->head_dim;
  cfg->ffn = m->ffn;
  cfg->vocab = m->vocab;
  cfg->gated = m->gated_mlp;
  cfg->act = (KernAct) act;
  cfg->layernorm = m->norm && strcmp (m->norm, "layernorm") == 0;
  cfg->experts = m->num_experts > 1 ? m->num_experts : 0;
  cfg->top_k = m->num_experts > 1 ? m->top_k : 0;
  cfg->qk_norm = m->qk_norm;
  cfg->window = m->sliding_window;
  cfg->learned_pos = m->learned_positions ? m->max_context : 0;
  cfg->rotary_dim = m->rotary_dim;
  cfg->rope_theta = 10000.0;
  cfg->eps = 1e-5;
  return TRUE;
}

#define KR double
#define KS(name) name##_d
#include "models/kernels/tiny_tmpl.c"
#undef KR
#undef KS
#define KR float
#define KS(name) name##_f
#include "models/kernels/tiny_tmpl.c"
#undef KR
#undef KS
