/* models/kernels/tiny_tmpl.c — typed tiny-transformer bodies, included by
 * tiny.c for double and float. No include guard on purpose.
 */

typedef struct {
  KR *norm1_w, *norm1_b, *norm2_w, *norm2_b;
  KR *qn_w, *kn_w;     /* qk_norm: [d] each, else NULL */
  KR *wqkv;            /* [h][(nh + 2nkv)·d] */
  KR *wo;              /* [nh·d][h] */
  KR *wup, *wdown;     /* dense: [h][g·f], [f][h] */
  KR *wgate;           /* MoE router [h][E] */
  KR **eup, **edown;   /* MoE: E of each */
} KS (TinyLayer);

struct KS (KernTiny) {
  KernTinyConfig cfg;
  KR *embed;           /* [V][h] */
  KR *pos_embed;       /* learned positions: [learned_pos][h], else NULL */
  KR *lm;              /* [h][V] */
  KR *fnorm_w, *fnorm_b;
  KS (TinyLayer) *layer;
  KS (KernKvCache) **kv;   /* per layer; all share one block numbering */
  int block_size, num_blocks;
  GArray *free_blocks;     /* int; taken from the end */
  GPtrArray *seqs;         /* TinySeq* (NULL once freed) */
};

static KR *
KS (tiny_rand) (guint64 *st, gsize n, double scale, double offset)
{
  KR *p = g_new (KR, n);
  for (gsize i = 0; i < n; i++)
    p[i] = (KR) (offset + scale * (2.0 * tiny_u01 (st) - 1.0));
  return p;
}

KS (KernTiny) *
KS (kern_tiny_new) (const KernTinyConfig *cfg, guint64 seed, int num_blocks, int block_size,
                    gboolean shuffle_blocks)
{
  g_return_val_if_fail (cfg != NULL && tiny_config_ok (cfg), NULL);
  g_return_val_if_fail (num_blocks >= 1 && block_size >= 1, NULL);
  KS (KernTiny) *m = g_new0 (KS (KernTiny), 1);
  m->cfg = *cfg;
  const int h = cfg->hidden, d = cfg->head_dim, nh = cfg->heads, nkv = cfg->kv_heads;
  const int f = cfg->ffn, V = cfg->vocab, g = cfg->gated ? 2 : 1;
  const int E = cfg->experts > 1 ? cfg->experts : 0;
  guint64 st = seed * 0x9E3779B97F4A7C15ull + 1;
  m->embed = KS (tiny_rand) (&st, (gsize) V * h, 1.0, 0);
  m->lm = KS (tiny_rand) (&st, (gsize) h * V, 1.0 / sqrt (h), 0);
  m->fnorm_w = KS (tiny_rand) (&st, h, 0.1, 1.0);
  m->fnorm_b = KS (tiny_rand) (&st, h, 0.1, 0);
  if (cfg->learned_pos > 0)   /* drawn only here: other models keep their weights */
    m->pos_embed = KS (tiny_rand) (&st, (gsize) cfg->learned_pos * h, 0.1, 0);
  m->layer = g_new0 (KS (TinyLayer), cfg->layers);
  for (int l = 0; l < cfg->layers; l++) {
    KS (TinyLayer) *L = &m->layer[l];
    L->norm1_w = KS (tiny_rand) (&st, h, 0.1, 1.0);
    L->norm1_b = KS (tiny_rand) (&st, h, 0.1, 0);
    L->norm2_w = KS (tiny_rand) (&st, h, 0.1, 1.0);
    L->norm2_b = KS (tiny_rand) (&st, h, 0.1, 0);
    L->wqkv = KS (tiny_rand) (&st, (gsize) h * (nh + 2 * nkv) * d, 1.0 / sqrt (h), 0);
    L->wo = KS (tiny_rand) (&st, (gsize) nh * d * h, 1.0 / sqrt (nh * d), 0);
    if (cfg->qk_norm) {   /* drawn only here: other models keep their weights */
      L->qn_w = KS (tiny_rand) (&st, d, 0.1, 1.0);
      L->kn_w = KS (tiny_rand) (&st, d, 0.1, 1.0);
    }
    if (E) {
      L->wgate = KS (tiny_rand) (&st, (gsize) h * E, 1.0 / sqrt (h), 0);
      L->eup = g_new (KR *, E);
      L->edown = g_new (KR *, E);
      for (int e = 0; e < E; e++) {
        L->eup[e] = KS (tiny_rand) (&st, (gsize) h * g * f, 1.0 / sqrt (h), 0);
        L->edown[e] = KS (tiny_rand) (&st, (gsize) f * h, 1.0 / sqrt (f), 0);
      }
    } else {
      L->wup = KS (tiny_rand) (&st, (gsize) h * g * f, 1.0 / sqrt (h), 0);
      L->wdown = KS (tiny_rand) (&st, (gsize) f * h, 1.0 / sqrt (f), 0);
    }
  }
  m->kv = g_new0 (KS (KernKvCache) *, cfg->layers);
  for (int l = 0; l < cfg->layers; l++)
    m->kv[l] = KS (kern_kv_cache_new) (num_blocks, block_size, nkv, d);
  m->block_size = block_size;
  m->num_blocks = num_blocks;
  m->free_blocks = g_array_sized_new (FALSE, FALSE, sizeof (int), num_blocks);
  for (int b = num_blocks - 1; b >= 0; b--)   /* taken from the end: 0, 1, 2, ... */
    g_array_append_val (m->free_blocks, b);
  if (shuffle_blocks) {
    int *fb = (int *) (void *) m->free_blocks->data;
    for (int i = num_blocks - 1; i > 0; i--) {
      int j = (int) (tiny_u01 (&st) * (i + 1));
      j = MIN (j, i);
      int t = fb[i];
      fb[i] = fb[j];
      fb[j] = t;
    }
  }
  m->seqs = g_ptr_array_new_with_free_func (tiny_seq_free);
  return m;
}

void
KS (kern_tiny_free) (KS (KernTiny) *m)
{
  if (!m)
    return;
  const int E = m->cfg.experts > 1 ? m->cfg.experts : 0;
  for (int l = 0; l < m->cfg.layers; l++) {
    KS (TinyLayer) *L = &m->layer[l];
    g_free (L->norm1_w);
    g_free (L->norm1_b);
    g_free (L->norm2_w);
    g_free (L->norm2_b);
    g_free (L->qn_w);
    g_free (L->kn_w);
    g_free (L->wqkv);
    g_free (L->wo);
    g_free (L->wup);
    g_free (L->wdown);
    g_free (L->wgate);
    for (int e = 0; e < E; e++) {
      g_free (L->eup[e]);
      g_free (L->edown[e]);
    }
    g_free (L->eup);
    g_free (L->edown);
    KS (kern_kv_cache_free) (m->kv[l]);
  }
  g_free (m->layer);
  g_free (m->kv);
  g_free (m->embed);
  g_free (m->pos_embed);
  g_free (m->lm);
  g_free (m->fnorm_w);
  g_free (m->fnorm_b);
  g_array_free (m->free_blocks, TRUE);
  g_ptr_array_free (m->seqs, TRUE);
  g_free (m);
}

const KernTinyConfig *
KS (kern_tiny_config) (const KS (KernTiny) *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return &m->cfg;
}

int
KS (kern_tiny_seq_new) (KS (KernTiny) *m)
{
  g_return_val_if_fail (m != NULL, -1);
  TinySeq *s = g_new0 (TinySeq, 1);
  s->blocks = g_array_new (FALSE, FALSE, sizeof (int));
  g_ptr_array_add (m->seqs, s);
  return (int) m->seqs->len - 1;
}

static TinySeq *
KS (tiny_seq) (const KS (KernTiny) *m, int seq)
{
  if (seq < 0 || (guint) seq >= m->seqs->len)
    return NULL;
  return g_ptr_array_index (m->seqs, seq);
}

void
KS (kern_tiny_seq_truncate) (KS (KernTiny) *m, int seq, int len)
{
  g_return_if_fail (m != NULL);
  TinySeq *s = KS (tiny_seq) (m, seq);
  g_return_if_fail (s != NULL && len >= 0 && len <= s->len);
  s->len = len;
  guint need = (guint) ((len + m->block_size - 1) / m->block_size);
  while (s->blocks->len > need) {
    int b = g_array_index (s->blocks, int, s->blocks->len - 1);
    g_array_append_val (m->free_blocks, b);
    g_array_set_size (s->blocks, s->blocks->len - 1);
  }
}

void
KS (kern_tiny_seq_free) (KS (KernTiny) *m, int seq)
{
  g_return_if_fail (m != NULL && KS (tiny_seq) (m, seq) != NULL);
  KS (kern_tiny_seq_truncate) (m, seq, 0);
  TinySeq *s = KS (tiny_seq) (m, seq);
  g_ptr_array_index (m->seqs, seq) = NULL;
  tiny_seq_free (s);
}

int
KS (kern_tiny_seq_len) (const KS (KernTiny) *m, int seq)
{
  g_return_val_if_fail (m != NULL, -1);
  TinySeq *s = KS (tiny_seq) (m, seq);
  g_return_val_if_fail (s != NULL, -1);
  return s->len;
}

static void
KS (tiny_norm) (const KS (KernTiny) *m, int T, const KR *x, const KR *w, const KR *b, KR *y,
                KernCount *c)
{
  if (m->cfg.layernorm)
    KS (kern_layernorm) (T, m->cfg.hidden, x, w, b, m->cfg.eps, y, c);
  else
    KS (kern_rmsnorm) (T, m->cfg.hidden, x, w, m->cfg.eps, y, c);
}

#define OPC(o) (op ? &op[o] : NULL)

gboolean
KS (kern_tiny_step) (KS (KernTiny) *m, const KernTinyWork *work, int n, int *next, KR *logits,
                     KR *all_logits, KernCount *op, GError **error)
{
  g_return_val_if_fail (m != NULL && (n == 0 || (work != NULL && next != NULL)), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  const KernTinyConfig *cf = &m->cfg;
  const int h = cf->hidden, d = cf->head_dim, nh = cf->heads, nkv = cf->kv_heads;
  const int f = cf->ffn, V = cf->vocab, g = cf->gated ? 2 : 1, bs = m->block_size;
  const int E = cf->experts > 1 ? cf->experts : 0, qkv_w = (nh + 2 * nkv) * d;

  /* validate, count blocks needed */
  int T = 0, need = 0;
  for (int i = 0; i < n; i++) {
    TinySeq *s = KS (tiny_seq) (m, work[i].seq);
    g_return_val_if_fail (s != NULL && work[i].q >= 1 && work[i].tokens != NULL, FALSE);
    for (int j = 0; j < work[i].q; j++)
      g_return_val_if_fail (work[i].tokens[j] >= 0 && work[i].tokens[j] < V, FALSE);
    T += work[i].q;
    need += (s->len + work[i].q + bs - 1) / bs - (int) s->blocks->len;
    if (cf->learned_pos > 0 && s->len + work[i].q > cf->learned_pos) {
      g_set_error (error, MODEL_ERROR, MODEL_ERROR_INVALID,
                   "tiny transformer: positions up to %d, beyond the %d the learned position "
                   "embedding has", s->len + work[i].q - 1, cf->learned_pos);
      return FALSE;
    }
  }
  if (n == 0)
    return TRUE;
  if (need > (int) m->free_blocks->len) {
    g_set_error (error, MODEL_ERROR, MODEL_ERROR_NO_FIT,
                 "tiny transformer: the iteration needs %d more KV blocks of %d tokens, %u are "
                 "free of %d; use more blocks or a smaller batch",
                 need, bs, m->free_blocks->len, m->num_blocks);
    return FALSE;
  }
  /* internal order: prefill chunks first, then decode steps (one attention
   * call each, as the cost model charges them) */
  int *order = g_new (int, n), np = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < n; i++) {
      TinySeq *s = KS (tiny_seq) (m, work[i].seq);
      gboolean dec = work[i].q == 1 && s->len > 0;
      if (dec == (pass == 1))
        order[np++] = i;
    }
  KernSeq *ks = g_new (KernSeq, n);
  /* T, n >= 1 here; the unsigned sizes keep -Walloc-size-larger-than quiet */
  gsize nT = T > 0 ? (gsize) T : 1, nrow = n > 0 ? (gsize) n + 1 : 1;
  int *ids = g_new (int, nT), *pos = g_new (int, nT), *row_of = g_new (int, nrow);
  int n_pre = 0, T_pre = 0;
  for (int oi = 0, r = 0; oi < n; oi++) {
    const KernTinyWork *w = &work[order[oi]];
    TinySeq *s = KS (tiny_seq) (m, w->seq);
    while ((int) s->blocks->len * bs < s->len + w->q) {
      int b = g_array_index (m->free_blocks, int, m->free_blocks->len - 1);
      g_array_set_size (m->free_blocks, m->free_blocks->len - 1);
      g_array_append_val (s->blocks, b);
    }
    ks[oi].q = w->q;
    ks[oi].ctx = s->len;
    ks[oi].table = (const int *) (void *) s->blocks->data;
    ks[oi].window = cf->window;
    if (!(w->q == 1 && s->len > 0)) {
      n_pre++;
      T_pre += w->q;
    }
    row_of[oi] = r;
    for (int j = 0; j < w->q; j++, r++) {
      ids[r] = w->tokens[j];
      pos[r] = s->len + j;
    }
  }
  row_of[n] = T;

  KR *x = g_new (KR, (gsize) T * h), *xn = g_new (KR, (gsize) T * h);
  KR *tmp = g_new (KR, (gsize) T * h), *qkv = g_new (KR, (gsize) T * qkv_w);
  KR *att = g_new (KR, (gsize) T * nh * d);
  KR *up = g_new (KR, (gsize) T * g * f), *act = g_new (KR, (gsize) T * f);
  int *eids = NULL;
  KR *ew = NULL;
  if (E) {
    eids = g_new (int, (gsize) T * cf->top_k);
    ew = g_new (KR, (gsize) T * cf->top_k);
  }
  const double scale = 1.0 / sqrt (d);

  KS (kern_embed) (T, h, V, m->embed, ids, x, OPC (MODEL_OP_EMBED));
  if (cf->learned_pos > 0) {   /* + the positions' learned embedding (OPT) */
    KS (kern_embed) (T, h, cf->learned_pos, m->pos_embed, pos, tmp, OPC (MODEL_OP_EMBED));
    KS (kern_add) ((gsize) T * h, x, tmp, x, OPC (MODEL_OP_ADD));
  }
  for (int l = 0; l < cf->layers; l++) {
    KS (TinyLayer) *L = &m->layer[l];
    KS (tiny_norm) (m, T, x, L->norm1_w, L->norm1_b, xn, OPC (MODEL_OP_NORM));
    KS (kern_gemm) (T, qkv_w, h, xn, h, L->wqkv, qkv_w, qkv, qkv_w, OPC (MODEL_OP_QKV));
    if (cf->qk_norm) {   /* q_norm, then k_norm: two kernels, before RoPE (Qwen3) */
      KS (kern_rmsnorm_heads) (T, nh, d, qkv, qkv_w, L->qn_w, cf->eps, OPC (MODEL_OP_QK_NORM));
      KS (kern_rmsnorm_heads) (T, nkv, d, qkv + nh * d, qkv_w, L->kn_w, cf->eps,
                               OPC (MODEL_OP_QK_NORM));
    }
    if (cf->learned_pos == 0)
      KS (kern_rope) (T, nh, nkv, d, cf->rotary_dim > 0 ? cf->rotary_dim : d, qkv, qkv_w,
                      qkv + nh * d, qkv_w, pos, cf->rope_theta,
                      OPC (MODEL_OP_ROPE));
    KS (kern_kv_write) (m->kv[l], ks, n, nh, qkv, OPC (MODEL_OP_KV_WRITE));
    if (n_pre > 0)
      KS (kern_attn_paged) (m->kv[l], ks, n_pre, nh, qkv, qkv_w, scale, att, nh * d,
                            OPC (MODEL_OP_ATTN_PREFILL));
    if (n_pre < n)
      KS (kern_attn_paged) (m->kv[l], ks + n_pre, n - n_pre, nh, qkv + (gsize) T_pre * qkv_w,
                            qkv_w, scale, att + (gsize) T_pre * nh * d, nh * d,
                            OPC (MODEL_OP_ATTN_DECODE));
    KS (kern_gemm) (T, h, nh * d, att, nh * d, L->wo, h, tmp, h, OPC (MODEL_OP_ATTN_OUT));
    KS (kern_add) ((gsize) T * h, x, tmp, x, OPC (MODEL_OP_ADD));
    KS (tiny_norm) (m, T, x, L->norm2_w, L->norm2_b, xn, OPC (MODEL_OP_NORM));
    if (E) {
      KS (kern_moe_gate) (T, h, E, cf->top_k, xn, L->wgate, eids, ew, OPC (MODEL_OP_MLP_UP),
                          OPC (MODEL_OP_MOE_ROUTE));
      KS (kern_moe_experts) (T, h, f, E, cf->top_k, cf->gated, cf->act, xn, eids, ew,
                             (const KR *const *) L->eup, (const KR *const *) L->edown, tmp,
                             OPC (MODEL_OP_MOE_ROUTE), OPC (MODEL_OP_MLP_UP), OPC (MODEL_OP_ACT),
                             OPC (MODEL_OP_MLP_DOWN), OPC (MODEL_OP_MOE_SUM));
    } else {
      KS (kern_gemm) (T, g * f, h, xn, h, L->wup, g * f, up, g * f, OPC (MODEL_OP_MLP_UP));
      KS (kern_act) (T, f, cf->gated, cf->act, up, act, OPC (MODEL_OP_ACT));
      KS (kern_gemm) (T, h, f, act, f, L->wdown, h, tmp, h, OPC (MODEL_OP_MLP_DOWN));
    }
    KS (kern_add) ((gsize) T * h, x, tmp, x, OPC (MODEL_OP_ADD));
  }
  /* final norm over every token (as vLLM), then the last token of each
   * sequence (in work order) -> LM head */
  KR *lnorm = g_new (KR, (gsize) n * h);
  KR *lg = g_new (KR, (gsize) n * V);
  KS (tiny_norm) (m, T, x, m->fnorm_w, m->fnorm_b, xn, OPC (MODEL_OP_FINAL_NORM));
  for (int oi = 0; oi < n; oi++)
    memcpy (lnorm + (gsize) order[oi] * h, xn + (gsize) (row_of[oi + 1] - 1) * h, sizeof (KR) * h);
  KS (kern_gemm) (n, V, h, lnorm, h, m->lm, V, lg, V, OPC (MODEL_OP_LM_HEAD));
  KS (kern_argmax) (n, V, lg, next);
  if (logits)
    memcpy (logits, lg, sizeof (KR) * (gsize) n * V);
  if (all_logits) {
    /* every token's logits, rows in work order (uncounted) */
    KR *xs = g_new (KR, (gsize) T * h), *xsn = g_new (KR, (gsize) T * h);
    int r = 0;
    for (int i = 0; i < n; i++)
      for (int oi = 0; oi < n; oi++)
        if (order[oi] == i) {
          memcpy (xs + (gsize) r * h, x + (gsize) row_of[oi] * h, sizeof (KR) * h * work[i].q);
          r += work[i].q;
        }
    KS (tiny_norm) (m, T, xs, m->fnorm_w, m->fnorm_b, xsn, NULL);
    KS (kern_gemm) (T, V, h, xsn, h, m->lm, V, all_logits, V, NULL);
    g_free (xs);
    g_free (xsn);
  }
  for (int i = 0; i < n; i++)
    KS (tiny_seq) (m, work[i].seq)->len += work[i].q;

  g_free (lnorm);
  g_free (lg);
  g_free (x);
  g_free (xn);
  g_free (tmp);
  g_free (qkv);
  g_free (att);
  g_free (up);
  g_free (act);
  g_free (eids);
  g_free (ew);
  g_free (order);
  g_free (ks);
  g_free (ids);
  g_free (pos);
  g_free (row_of);
  return TRUE;
}

#undef OPC

void
KS (kern_tiny_kv_roundtrip) (KS (KernTiny) *m, KernQuant kind)
{
  g_return_if_fail (m != NULL);
  const int d = m->cfg.head_dim;
  double *buf = g_new (double, d);
  for (int l = 0; l < m->cfg.layers; l++) {
    KS (KernKvCache) *kv = m->kv[l];
    gsize rows = (gsize) kv->num_blocks * kv->block_size * kv->nkv;
    for (int which = 0; which < 2; which++) {
      KR *base = which ? kv->v : kv->k;
      for (gsize r = 0; r < rows; r++) {
        KR *row = base + r * d;
        for (int x = 0; x < d; x++)
          buf[x] = row[x];
        kern_quant_roundtrip (kind, buf, d, d, buf);
        for (int x = 0; x < d; x++)
          row[x] = (KR) buf[x];
      }
    }
  }
  g_free (buf);
}
