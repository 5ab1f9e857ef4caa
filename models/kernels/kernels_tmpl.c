/* models/kernels/kernels_tmpl.c — bodies of the typed kernels, included by
 * kernels.c once per element type (KR, KS as in kernels_tmpl.h). No include
 * guard on purpose; not compiled on its own. Counting conventions are in
 * docs/kernels.md; each kernel adds to its counter what its loops executed.
 */

/* Dot product with 8 partial sums in chunks of constant width, so that -O2
 * vectorises it (a single running sum is a serial dependency the compiler may
 * not reorder). The summation order is fixed: every kernel using it agrees. */
static inline KR
KS (dot) (const KR *restrict a, const KR *restrict b, int d)
{
  KR s[8] = { 0 };
  int x = 0;
  for (; x + 8 <= d; x += 8)
    for (int u = 0; u < 8; u++)
      s[u] += a[x + u] * b[x + u];
  KR t = 0;
  for (; x < d; x++)
    t += a[x] * b[x];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

/* o += a·v, in constant-width chunks (vectorised at -O2). */
static inline void
KS (axpy) (KR *restrict o, KR a, const KR *restrict v, int d)
{
  int x = 0;
  for (; x + 8 <= d; x += 8)
    for (int u = 0; u < 8; u++)
      o[x + u] += a * v[x + u];
  for (; x < d; x++)
    o[x] += a * v[x];
}

/* ------------------------------------------------------------------ */
/* GEMM                                                                */

/* 4 x 16 register tile over one K panel. Hand-blocked because speed matters
 * for the host validation: accumulators stay in registers, B's panel in L1.
 * Every C element is C += Σ_{k in panel} a·b in increasing k, whatever mr/nc. */
static inline void
KS (gemm_tile) (int mr, int nc, int kb, const KR *restrict A, int lda, const KR *restrict B,
                int ldb, KR *restrict C, int ldc)
{
  KR acc[KG_MR][KG_NR];
  memset (acc, 0, sizeof acc);
  if (mr == KG_MR && nc == KG_NR) {
    for (int k = 0; k < kb; k++) {
      const KR *restrict b = B + (gsize) k * ldb;
      const KR a0 = A[k], a1 = A[lda + k], a2 = A[2 * (gsize) lda + k], a3 = A[3 * (gsize) lda + k];
      for (int j = 0; j < KG_NR; j++) {
        KR bj = b[j];
        acc[0][j] += a0 * bj;
        acc[1][j] += a1 * bj;
        acc[2][j] += a2 * bj;
        acc[3][j] += a3 * bj;
      }
    }
  } else if (nc == KG_NR) {
    /* fewer rows (decode-sized M): still a constant-width, vectorised row */
    for (int k = 0; k < kb; k++) {
      const KR *restrict b = B + (gsize) k * ldb;
      for (int r = 0; r < mr; r++) {
        const KR a = A[(gsize) r * lda + k];
        for (int j = 0; j < KG_NR; j++)
          acc[r][j] += a * b[j];
      }
    }
  } else {
    for (int k = 0; k < kb; k++) {
      const KR *restrict b = B + (gsize) k * ldb;
      for (int r = 0; r < mr; r++) {
        const KR a = A[(gsize) r * lda + k];
        for (int j = 0; j < nc; j++)
          acc[r][j] += a * b[j];
      }
    }
  }
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nc; j++)
      C[(gsize) r * ldc + j] += acc[r][j];
}

void
KS (kern_gemm) (int M, int N, int K, const KR *A, int lda, const KR *B, int ldb, KR *C, int ldc,
                KernCount *c)
{
  g_return_if_fail (M >= 0 && N >= 0 && K >= 0);
  g_return_if_fail (A != NULL && B != NULL && C != NULL);
  g_return_if_fail (lda >= K && ldb >= N && ldc >= N);
  for (int i = 0; i < M; i++)
    memset (C + (gsize) i * ldc, 0, sizeof (KR) * (gsize) N);
  if (M <= KG_SMALL_M && N > 0) {
    /* Few rows (decode): stream B row by row (contiguous, prefetch-friendly)
     * instead of 16-column strips. Per element the arithmetic is the tiled
     * path's exactly (acc = Σ over the K panel in increasing k from 0, then
     * C += acc), so results do not depend on which path ran. */
    KR *acc = g_new (KR, (gsize) M * N);
    for (int k0 = 0; k0 < K; k0 += KG_KB) {
      int kb = MIN (KG_KB, K - k0);
      memset (acc, 0, sizeof (KR) * (gsize) M * N);
      for (int k = k0; k < k0 + kb; k++) {
        const KR *b = B + (gsize) k * ldb;
        for (int i = 0; i < M; i++)
          KS (axpy) (acc + (gsize) i * N, A[(gsize) i * lda + k], b, N);
      }
      for (int i = 0; i < M; i++)
        KS (axpy) (C + (gsize) i * ldc, 1, acc + (gsize) i * N, N);
    }
    g_free (acc);
  } else
  for (int k0 = 0; k0 < K; k0 += KG_KB) {
    int kb = MIN (KG_KB, K - k0);
    for (int j0 = 0; j0 < N; j0 += KG_NR) {
      int nc = MIN (KG_NR, N - j0);
      for (int i0 = 0; i0 < M; i0 += KG_MR)
        KS (gemm_tile) (MIN (KG_MR, M - i0), nc, kb, A + (gsize) i0 * lda + k0, lda,
                        B + (gsize) k0 * ldb + j0, ldb, C + (gsize) i0 * ldc + j0, ldc);
    }
  }
  if (c) {
    c->flops += 2.0 * M * N * K;
    c->bytes += ((double) M * K + (double) K * N + (double) M * N) * c->wb;
    c->calls += 1;
  }
}

void
KS (kern_gemm_col_shard) (int M, int N, int K, const KR *X, const KR *W, int r, int P, KR *Y_r,
                          KernCount *c)
{
  g_return_if_fail (P >= 1 && r >= 0 && r < P && N % P == 0);
  int n = N / P;
  KS (kern_gemm) (M, n, K, X, K, W + (gsize) r * n, N, Y_r, n, c);
}

void
KS (kern_gemm_row_shard) (int M, int N, int K, const KR *X, const KR *W, int r, int P, KR *Y_r,
                          KernCount *c)
{
  g_return_if_fail (P >= 1 && r >= 0 && r < P && K % P == 0);
  int k = K / P;
  KS (kern_gemm) (M, N, k, X + (gsize) r * k, K, W + (gsize) r * k * N, N, Y_r, N, c);
}

/* ------------------------------------------------------------------ */
/* element-wise                                                        */


void
KS (kern_rmsnorm) (int T, int h, const KR *x, const KR *w, double eps, KR *y, KernCount *c)
{
  g_return_if_fail (T >= 0 && h >= 1 && x != NULL && w != NULL && y != NULL);
  for (int t = 0; t < T; t++) {
    const KR *xr = x + (gsize) t * h;
    KR *yr = y + (gsize) t * h;
    KR ss = KS (dot) (xr, xr, h);                /* 2 FLOPs per element */
    KR r = (KR) (1.0 / sqrt ((double) ss / h + eps));
    int i = 0;
    for (; i + 8 <= h; i += 8)
      for (int u = 0; u < 8; u++)
        yr[i + u] = xr[i + u] * r * w[i + u];    /* 2 FLOPs */
    for (; i < h; i++)
      yr[i] = xr[i] * r * w[i];
  }
  if (c) {
    c->flops += 4.0 * T * h;
    c->bytes += 2.0 * T * h * c->ab + (double) h * c->wb;
    c->calls += 1;
  }
}

void
KS (kern_rmsnorm_heads) (int T, int nheads, int d, KR *x, int ldx, const KR *w, double eps,
                         KernCount *c)
{
  g_return_if_fail (T >= 0 && nheads >= 1 && d >= 1 && ldx >= nheads * d && x != NULL && w != NULL);
  /* each token's heads are nheads contiguous rows of d: kern_rmsnorm's rows
   * (in place is safe: a row's sum is taken before it is written) */
  for (int t = 0; t < T; t++) {
    KR *xr = x + (gsize) t * ldx;
    KS (kern_rmsnorm) (nheads, d, xr, w, eps, xr, NULL);
  }
  if (c) {
    c->flops += 4.0 * T * nheads * d;
    c->bytes += 2.0 * T * nheads * d * c->ab + (double) d * c->wb;
    c->calls += 1;
  }
}

void
KS (kern_layernorm) (int T, int h, const KR *x, const KR *gamma, const KR *beta, double eps, KR *y,
                     KernCount *c)
{
  g_return_if_fail (T >= 0 && h >= 1 && x != NULL && gamma != NULL && beta != NULL && y != NULL);
  for (int t = 0; t < T; t++) {
    const KR *xr = x + (gsize) t * h;
    KR *yr = y + (gsize) t * h;
    KR s = 0;
    for (int i = 0; i < h; i++)
      s += xr[i];                                /* 1 */
    KR mu = s / h;
    KR v = 0;
    for (int i = 0; i < h; i++) {
      yr[i] = xr[i] - mu;                        /* 1 */
      v += yr[i] * yr[i];                        /* 2 */
    }
    KR rstd = (KR) (1.0 / sqrt ((double) v / h + eps));
    for (int i = 0; i < h; i++)
      yr[i] = yr[i] * rstd * gamma[i] + beta[i]; /* 3 */
  }
  if (c) {
    c->flops += 7.0 * T * h;
    c->bytes += 2.0 * T * h * c->ab + 2.0 * h * c->wb;
    c->calls += 1;
  }
}

static void
KS (rope_rows) (int T, int heads, int d, int rot, KR *x, int ld, const int *pos, double theta)
{
  int half = rot / 2;
  double *inv = g_new (double, half);
  for (int i = 0; i < half; i++)
    inv[i] = pow (theta, -2.0 * i / rot);
  for (int t = 0; t < T; t++)
    for (int i = 0; i < half; i++) {
      double ang = pos[t] * inv[i];
      KR cs = (KR) cos (ang), sn = (KR) sin (ang);
      for (int hh = 0; hh < heads; hh++) {
        KR *r = x + (gsize) t * ld + (gsize) hh * d;
        KR x0 = r[i], x1 = r[i + half];
        r[i] = x0 * cs - x1 * sn;                /* 3 per element, 6 per pair */
        r[i + half] = x0 * sn + x1 * cs;
      }
    }
  g_free (inv);
}

void
KS (kern_rope) (int T, int nh, int nkv, int d, int rot, KR *q, int ldq, KR *k, int ldk,
                const int *pos, double theta, KernCount *c)
{
  g_return_if_fail (T >= 0 && nh >= 0 && nkv >= 0 && d >= 2 && pos != NULL);
  g_return_if_fail (rot >= 2 && rot % 2 == 0 && rot <= d);
  g_return_if_fail ((nh == 0 || (q != NULL && ldq >= nh * d)) && (nkv == 0 || (k != NULL && ldk >= nkv * d)));
  if (nh)
    KS (rope_rows) (T, nh, d, rot, q, ldq, pos, theta);
  if (nkv)
    KS (rope_rows) (T, nkv, d, rot, k, ldk, pos, theta);
  if (c) {
    double e = (double) T * (nh + nkv) * rot;
    c->flops += 3.0 * e;
    c->bytes += 2.0 * e * c->ab;
    c->calls += 1;
  }
}

static inline KR
KS (act1) (KernAct a, KR x)
{
  switch (a) {
  case KERN_ACT_SILU:
    return x / (1 + (KR) exp (-(double) x));
  case KERN_ACT_GELU: {
    KR t = x * (1 + (KR) 0.044715 * x * x);
    return x / (1 + (KR) exp (-1.5957691216057308 * (double) t));
  }
  case KERN_ACT_RELU:
  default:
    return x > 0 ? x : 0;
  }
}

void
KS (kern_act) (int T, int f, gboolean gated, KernAct act, const KR *in, KR *out, KernCount *c)
{
  g_return_if_fail (T >= 0 && f >= 1 && in != NULL && out != NULL);
  int g = gated ? 2 : 1;
  for (int t = 0; t < T; t++) {
    const KR *ir = in + (gsize) t * g * f;
    KR *o = out + (gsize) t * f;
    if (gated)
      for (int i = 0; i < f; i++)
        o[i] = KS (act1) (act, ir[i]) * ir[f + i];
    else
      for (int i = 0; i < f; i++)
        o[i] = KS (act1) (act, ir[i]);
  }
  if (c) {
    c->flops += (double) kern_act_flops (act, gated) * T * f;
    c->bytes += (g + 1.0) * T * f * c->ab;
    c->calls += 1;
  }
}

void
KS (kern_add) (gsize n, const KR *a, const KR *b, KR *out, KernCount *c)
{
  g_return_if_fail (n == 0 || (a != NULL && b != NULL && out != NULL));
  gsize i = 0;
  for (; i + 16 <= n; i += 16)   /* constant-width chunks: vectorised at -O2 */
    for (int u = 0; u < 16; u++)
      out[i + u] = a[i + u] + b[i + u];
  for (; i < n; i++)
    out[i] = a[i] + b[i];
  if (c) {
    c->flops += (double) n;
    c->bytes += 3.0 * n * c->ab;
    c->calls += 1;
  }
}

void
KS (kern_embed) (int T, int h, int V, const KR *table, const int *ids, KR *out, KernCount *c)
{
  g_return_if_fail (T >= 0 && h >= 1 && V >= 1 && table != NULL && ids != NULL && out != NULL);
  for (int t = 0; t < T; t++) {
    g_return_if_fail (ids[t] >= 0 && ids[t] < V);
    memcpy (out + (gsize) t * h, table + (gsize) ids[t] * h, sizeof (KR) * h);
  }
  if (c) {
    c->bytes += (double) T * h * (c->wb + c->ab);
    c->calls += 1;
  }
}

void
KS (kern_argmax) (int n, int V, const KR *logits, int *ids)
{
  g_return_if_fail (n >= 0 && V >= 1 && logits != NULL && ids != NULL);
  for (int i = 0; i < n; i++) {
    const KR *r = logits + (gsize) i * V;
    int best = 0;
    for (int j = 1; j < V; j++)
      if (r[j] > r[best])
        best = j;
    ids[i] = best;
  }
}

/* ------------------------------------------------------------------ */
/* KV cache                                                            */

KS (KernKvCache) *
KS (kern_kv_cache_new) (int num_blocks, int block_size, int nkv, int d)
{
  g_return_val_if_fail (num_blocks >= 1 && block_size >= 1 && nkv >= 1 && d >= 1, NULL);
  KS (KernKvCache) *kv = g_new0 (KS (KernKvCache), 1);
  gsize n = (gsize) num_blocks * block_size * nkv * d;
  kv->k = g_new0 (KR, n);
  kv->v = g_new0 (KR, n);
  kv->num_blocks = num_blocks;
  kv->block_size = block_size;
  kv->nkv = nkv;
  kv->d = d;
  return kv;
}

void
KS (kern_kv_cache_free) (KS (KernKvCache) *kv)
{
  if (!kv)
    return;
  g_free (kv->k);
  g_free (kv->v);
  g_free (kv);
}

static inline gsize
KS (kv_off) (const KS (KernKvCache) *kv, const int *table, int t, int g)
{
  int bs = kv->block_size;
  return (((gsize) table[t / bs] * bs + t % bs) * kv->nkv + g) * kv->d;
}

void
KS (kern_kv_write) (KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh, const KR *qkv,
                    KernCount *c)
{
  g_return_if_fail (kv != NULL && (n == 0 || seqs != NULL) && qkv != NULL && nh >= 1);
  const int d = kv->d, nkv = kv->nkv, ld = (nh + 2 * nkv) * d;
  gsize row = 0;
  double T = 0;
  for (int s = 0; s < n; s++) {
    for (int j = 0; j < seqs[s].q; j++, row++) {
      const KR *r = qkv + row * ld;
      gsize o = KS (kv_off) (kv, seqs[s].table, seqs[s].ctx + j, 0);
      memcpy (kv->k + o, r + nh * d, sizeof (KR) * nkv * d);
      memcpy (kv->v + o, r + (nh + nkv) * d, sizeof (KR) * nkv * d);
    }
    T += seqs[s].q;
  }
  if (c) {
    c->bytes += T * 2 * nkv * d * (c->ab + c->kvb);
    c->calls += 1;
  }
}

/* ------------------------------------------------------------------ */
/* attention                                                           */

static inline void
KS (attn_count) (KernCount *c, double q, double n_keys, int nh, int nkv, int d, double pairs)
{
  if (!c)
    return;
  c->flops += 4.0 * d * pairs;
  c->bytes += 2.0 * q * nh * d * c->ab + n_keys * 2.0 * nkv * d * c->kvb;
}


/* One query row, one head, keys [lo, nk) through an accessor: the reference
 * order (all scores, max, exps and sum, weighted V, divide). */
#define ATTN_PLAIN_BODY(KROW, VROW)                                          \
  do {                                                                       \
    KR m = -G_MAXDOUBLE;                                                     \
    for (int j = lo; j < nk; j++) {                                          \
      s[j] = KS (dot) (qr, KROW (j), d) * (KR) scale;                        \
      if (s[j] > m)                                                          \
        m = s[j];                                                            \
    }                                                                        \
    KR sum = 0;                                                              \
    for (int j = lo; j < nk; j++) {                                          \
      s[j] = (KR) exp ((double) (s[j] - m));                                 \
      sum += s[j];                                                           \
    }                                                                        \
    memset (o, 0, sizeof (KR) * d);                                          \
    for (int j = lo; j < nk; j++)                                            \
      KS (axpy) (o, s[j], VROW (j), d);                                      \
    for (int x = 0; x < d; x++)                                              \
      o[x] /= sum;                                                           \
  } while (0)

void
KS (kern_attn_plain) (int q, int ctx, int nh, int nkv, int d, const KR *Q, int ldq, const KR *K,
                      const KR *V, double scale, KR *out, int ldo, KernCount *c)
{
  g_return_if_fail (q >= 0 && ctx >= 0 && nh >= 1 && nkv >= 1 && nh % nkv == 0 && d >= 1);
  g_return_if_fail (Q != NULL && K != NULL && V != NULL && out != NULL);
  g_return_if_fail (ldq >= nh * d && ldo >= nh * d);
  const int grp = nh / nkv;
  KR *s = g_new (KR, ctx + q + 1);
  double pairs = 0;
  for (int i = 0; i < q; i++) {
    const int nk = ctx + i + 1, lo = 0;
    for (int hh = 0; hh < nh; hh++) {
      const KR *qr = Q + (gsize) i * ldq + (gsize) hh * d;
      KR *o = out + (gsize) i * ldo + (gsize) hh * d;
      const int g = hh / grp;
#define PK(j) (K + ((gsize) (j) * nkv + g) * d)
#define PV(j) (V + ((gsize) (j) * nkv + g) * d)
      ATTN_PLAIN_BODY (PK, PV);
#undef PK
#undef PV
      pairs += nk;
    }
  }
  g_free (s);
  KS (attn_count) (c, q, ctx + q, nh, nkv, d, pairs);
  if (c)
    c->calls += 1;
}

static int
KS (batch_max_keys) (const KernSeq *seqs, int n)
{
  int mx = 1;
  for (int i = 0; i < n; i++)
    mx = MAX (mx, seqs[i].ctx + seqs[i].q);
  return mx;
}

/* The first key the token at position pos sees (sliding window) */
static inline int
KS (win_lo) (const KernSeq *sq, int pos)
{
  return sq->window > 0 ? MAX (0, pos - sq->window + 1) : 0;
}

void
KS (kern_attn_paged) (const KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                      const KR *Q, int ldq, double scale, KR *out, int ldo, KernCount *c)
{
  g_return_if_fail (kv != NULL && (n == 0 || seqs != NULL) && nh >= 1 && nh % kv->nkv == 0);
  g_return_if_fail (Q != NULL && out != NULL && ldq >= nh * kv->d && ldo >= nh * kv->d);
  const int d = kv->d, nkv = kv->nkv, grp = nh / nkv;
  KR *s = g_new (KR, KS (batch_max_keys) (seqs, n));
  gsize row = 0;
  for (int b = 0; b < n; b++) {
    const int *tab = seqs[b].table;
    double pairs = 0;
    for (int i = 0; i < seqs[b].q; i++, row++) {
      const int nk = seqs[b].ctx + i + 1, lo = KS (win_lo) (&seqs[b], nk - 1);
      for (int hh = 0; hh < nh; hh++) {
        const KR *qr = Q + row * ldq + (gsize) hh * d;
        KR *o = out + row * ldo + (gsize) hh * d;
        const int g = hh / grp;
#define PK(j) (kv->k + KS (kv_off) (kv, tab, (j), g))
#define PV(j) (kv->v + KS (kv_off) (kv, tab, (j), g))
        ATTN_PLAIN_BODY (PK, PV);
#undef PK
#undef PV
        pairs += nk - lo;
      }
    }
    /* keys read: from the first query's window on */
    KS (attn_count) (c, seqs[b].q, seqs[b].ctx + seqs[b].q - KS (win_lo) (&seqs[b], seqs[b].ctx),
                     nh, nkv, d, pairs);
  }
  g_free (s);
  if (c)
    c->calls += 1;
}

/* Online-softmax state of one (query, head): running max m, sum l, output acc. */
static inline void
KS (online_tile) (const KS (KernKvCache) *kv, const int *tab, int g, const KR *qr, int j0, int j1,
                  double scale, KR *s, KR *m, KR *l, KR *acc)
{
  const int d = kv->d;
  KR mt = *m;
  for (int j = j0; j < j1; j++) {
    s[j - j0] = KS (dot) (qr, kv->k + KS (kv_off) (kv, tab, j, g), d) * (KR) scale;
    if (s[j - j0] > mt)
      mt = s[j - j0];
  }
  KR corr = *l > 0 ? (KR) exp ((double) (*m - mt)) : 0;
  *l *= corr;
  for (int x = 0; x < d; x++)
    acc[x] *= corr;
  for (int j = j0; j < j1; j++) {
    KR p = (KR) exp ((double) (s[j - j0] - mt));
    *l += p;
    KS (axpy) (acc, p, kv->v + KS (kv_off) (kv, tab, j, g), d);
  }
  *m = mt;
}

void
KS (kern_attn_flash) (const KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                      const KR *Q, int ldq, double scale, int bq, int bk, KR *out, int ldo,
                      KernCount *c)
{
  g_return_if_fail (kv != NULL && (n == 0 || seqs != NULL) && nh >= 1 && nh % kv->nkv == 0);
  g_return_if_fail (Q != NULL && out != NULL && bq >= 1 && bk >= 1);
  g_return_if_fail (ldq >= nh * kv->d && ldo >= nh * kv->d);
  const int d = kv->d, grp = nh / kv->nkv;
  KR *s = g_new (KR, bk);
  KR *m = g_new (KR, (gsize) bq * nh), *l = g_new (KR, (gsize) bq * nh);
  KR *acc = g_new (KR, (gsize) bq * nh * d);
  gsize row0 = 0;
  for (int b = 0; b < n; b++) {
    const int *tab = seqs[b].table;
    const int ctx = seqs[b].ctx, q = seqs[b].q;
    double pairs = 0;
    for (int i0 = 0; i0 < q; i0 += bq) {
      const int nq = MIN (bq, q - i0);
      for (int x = 0; x < nq * nh; x++) {
        m[x] = -G_MAXDOUBLE;
        l[x] = 0;
      }
      memset (acc, 0, sizeof (KR) * nq * nh * d);
      /* the tile's last query sees keys < ctx + i0 + nq; under a window
       * its first query none before win_lo, from whose key tile the walk
       * starts (FlashAttention's n_block_min); each query skips the keys
       * below its own window */
      const int t0 = KS (win_lo) (&seqs[b], ctx + i0) / bk * bk;
      for (int j0 = t0; j0 < ctx + i0 + nq; j0 += bk) {
        for (int ii = 0; ii < nq; ii++) {
          const int nk = ctx + i0 + ii + 1, lo = MAX (j0, KS (win_lo) (&seqs[b], nk - 1));
          const int j1 = MIN (j0 + bk, nk);
          if (lo >= j1)
            continue;
          for (int hh = 0; hh < nh; hh++) {
            const KR *qr = Q + (row0 + i0 + ii) * ldq + (gsize) hh * d;
            int x = ii * nh + hh;
            KS (online_tile) (kv, tab, hh / grp, qr, lo, j1, scale, s, &m[x], &l[x],
                              acc + (gsize) x * d);
            pairs += j1 - lo;
          }
        }
      }
      for (int ii = 0; ii < nq; ii++)
        for (int hh = 0; hh < nh; hh++) {
          int x = ii * nh + hh;
          KR *o = out + (row0 + i0 + ii) * ldo + (gsize) hh * d;
          for (int e = 0; e < d; e++)
            o[e] = acc[(gsize) x * d + e] / l[x];
        }
    }
    KS (attn_count) (c, q, ctx + q - KS (win_lo) (&seqs[b], ctx), nh, kv->nkv, d, pairs);
    row0 += q;
  }
  g_free (s);
  g_free (m);
  g_free (l);
  g_free (acc);
  if (c)
    c->calls += 1;
}

/* Merges partial (m2, l2, acc2) into (m, l, acc). */
static inline void
KS (merge_partial) (int d, KR *m, KR *l, KR *acc, KR m2, KR l2, const KR *acc2)
{
  if (l2 <= 0)
    return;
  if (*l <= 0) {
    *m = m2;
    *l = l2;
    memcpy (acc, acc2, sizeof (KR) * d);
    return;
  }
  KR mx = MAX (*m, m2);
  KR a = (KR) exp ((double) (*m - mx)), b = (KR) exp ((double) (m2 - mx));
  *l = *l * a + l2 * b;
  for (int x = 0; x < d; x++)
    acc[x] = acc[x] * a + acc2[x] * b;
  *m = mx;
}

void
KS (kern_attn_split_k) (const KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                        const KR *Q, int ldq, double scale, int splits, KR *out, int ldo,
                        KernCount *c)
{
  g_return_if_fail (kv != NULL && (n == 0 || seqs != NULL) && nh >= 1 && nh % kv->nkv == 0);
  g_return_if_fail (Q != NULL && out != NULL && splits >= 1);
  for (int b = 0; b < n; b++)
    g_return_if_fail (seqs[b].window == 0);   /* full attention only */
  g_return_if_fail (ldq >= nh * kv->d && ldo >= nh * kv->d);
  const int d = kv->d, grp = nh / kv->nkv;
  KR *s = g_new (KR, KS (batch_max_keys) (seqs, n));
  /* partials of all splits, then the final reduction */
  KR *pm = g_new (KR, splits), *pl = g_new (KR, splits), *pacc = g_new (KR, (gsize) splits * d);
  gsize row = 0;
  for (int b = 0; b < n; b++) {
    double pairs = 0;
    for (int i = 0; i < seqs[b].q; i++, row++) {
      const int nk = seqs[b].ctx + i + 1;
      for (int hh = 0; hh < nh; hh++) {
        const KR *qr = Q + row * ldq + (gsize) hh * d;
        for (int p = 0; p < splits; p++) {
          int j0 = (int) ((gint64) p * nk / splits), j1 = (int) ((gint64) (p + 1) * nk / splits);
          pm[p] = -G_MAXDOUBLE;
          pl[p] = 0;
          memset (pacc + (gsize) p * d, 0, sizeof (KR) * d);
          if (j1 > j0)
            KS (online_tile) (kv, seqs[b].table, hh / grp, qr, j0, j1, scale, s, &pm[p], &pl[p],
                              pacc + (gsize) p * d);
          pairs += j1 - j0;
        }
        KR m = -G_MAXDOUBLE, l = 0;
        KR *o = out + row * ldo + (gsize) hh * d;
        memset (o, 0, sizeof (KR) * d);
        for (int p = 0; p < splits; p++)
          KS (merge_partial) (d, &m, &l, o, pm[p], pl[p], pacc + (gsize) p * d);
        for (int x = 0; x < d; x++)
          o[x] /= l;
      }
    }
    KS (attn_count) (c, seqs[b].q, seqs[b].ctx + seqs[b].q, nh, kv->nkv, d, pairs);
  }
  g_free (s);
  g_free (pm);
  g_free (pl);
  g_free (pacc);
  if (c)
    c->calls += 1;
}

void
KS (kern_attn_stream_k) (const KS (KernKvCache) *kv, const KernSeq *seqs, int n, int nh,
                         const KR *Q, int ldq, double scale, int bk, int workers, KR *out,
                         int ldo, KernCount *c)
{
  g_return_if_fail (kv != NULL && (n == 0 || seqs != NULL) && nh >= 1 && nh % kv->nkv == 0);
  g_return_if_fail (Q != NULL && out != NULL && bk >= 1 && workers >= 1);
  g_return_if_fail (ldq >= nh * kv->d && ldo >= nh * kv->d);
  for (int b = 0; b < n; b++)
    g_return_if_fail (seqs[b].q == 1 && seqs[b].window == 0);   /* full attention only */
  const int d = kv->d, grp = nh / kv->nkv;
  /* unit u -> (sequence, head, tile); prefix sums of tiles per (seq, head) */
  gint64 *start = g_new (gint64, (guint) n * (gsize) (guint) nh + 1);
  start[0] = 0;
  for (int b = 0; b < n; b++)
    for (int hh = 0; hh < nh; hh++) {
      int nk = seqs[b].ctx + 1;
      start[b * nh + hh + 1] = start[b * nh + hh] + (nk + bk - 1) / bk;
    }
  const gint64 U = start[(gsize) n * nh];
  const gsize items = (guint) n * (gsize) (guint) nh;
  KR *m = g_new (KR, items + 1), *l = g_new0 (KR, items + 1);
  KR *acc = g_new0 (KR, items * (guint) d + 1);
  KR *s = g_new (KR, (guint) bk), *pacc = g_new (KR, (guint) d);
  for (gsize x = 0; x < items; x++)
    m[x] = -G_MAXDOUBLE;
  double pairs = 0;
  int w_item = 0;  /* (seq, head) index the walk is in; only moves forward */
  for (int w = 0; w < workers; w++) {
    gint64 u0 = U * w / workers, u1 = U * (w + 1) / workers;
    gint64 u = u0;
    while (u < u1) {
      while (start[w_item + 1] <= u)
        w_item++;
      int b = w_item / nh, hh = w_item % nh;
      gint64 seg_end = MIN (u1, start[w_item + 1]);
      int nk = seqs[b].ctx + 1;
      int j0 = (int) ((u - start[w_item]) * bk), j1 = (int) MIN ((seg_end - start[w_item]) * bk, nk);
      /* this worker's partial over its tiles of (b, hh) */
      KR pm = -G_MAXDOUBLE, pl = 0;
      memset (pacc, 0, sizeof (KR) * d);
      const KR *qr = Q + (gsize) b * ldq + (gsize) hh * d;
      for (int t0 = j0; t0 < j1; t0 += bk)
        KS (online_tile) (kv, seqs[b].table, hh / grp, qr, t0, MIN (t0 + bk, j1), scale, s, &pm,
                          &pl, pacc);
      pairs += j1 - j0;
      KS (merge_partial) (d, &m[w_item], &l[w_item], acc + (gsize) w_item * d, pm, pl, pacc);
      u = seg_end;
    }
  }
  for (int b = 0; b < n; b++)
    for (int hh = 0; hh < nh; hh++) {
      gsize x = (gsize) b * nh + hh;
      KR *o = out + (gsize) b * ldo + (gsize) hh * d;
      for (int e = 0; e < d; e++)
        o[e] = acc[x * d + e] / l[x];
    }
  if (c) {
    c->flops += 4.0 * d * pairs;
    for (int b = 0; b < n; b++)
      KS (attn_count) (c, 1, seqs[b].ctx + 1, nh, kv->nkv, d, 0);
    c->calls += 1;
  }
  g_free (start);
  g_free (m);
  g_free (l);
  g_free (acc);
  g_free (s);
  g_free (pacc);
}

void
KS (kern_attn_decode_masked) (int n_keys, int nh, int nkv, int d, const KR *q, const KR *K,
                              const KR *V, const gboolean *keep, double scale, KR *out,
                              double *probs, KernCount *c)
{
  g_return_if_fail (n_keys >= 1 && nh >= 1 && nkv >= 1 && nh % nkv == 0 && d >= 1);
  g_return_if_fail (q != NULL && K != NULL && V != NULL && keep != NULL && out != NULL);
  const int grp = nh / nkv;
  KR *s = g_new (KR, n_keys);
  double kept = 0;
  for (int j = 0; j < n_keys; j++)
    kept += keep[j] ? 1 : 0;
  if (probs)
    memset (probs, 0, sizeof (double) * n_keys);
  for (int hh = 0; hh < nh; hh++) {
    const KR *qr = q + (gsize) hh * d;
    KR *o = out + (gsize) hh * d;
    const int g = hh / grp;
    KR m = -G_MAXDOUBLE, sum = 0;
    for (int j = 0; j < n_keys; j++)
      if (keep[j]) {
        s[j] = KS (dot) (qr, K + ((gsize) j * nkv + g) * d, d) * (KR) scale;
        m = MAX (m, s[j]);
      }
    for (int j = 0; j < n_keys; j++)
      if (keep[j]) {
        s[j] = (KR) exp ((double) (s[j] - m));
        sum += s[j];
      }
    memset (o, 0, sizeof (KR) * d);
    for (int j = 0; j < n_keys; j++)
      if (keep[j]) {
        KS (axpy) (o, s[j], V + ((gsize) j * nkv + g) * d, d);
        if (probs)
          probs[j] += (double) (s[j] / sum);
      }
    for (int x = 0; x < d; x++)
      o[x] /= sum;
  }
  g_free (s);
  if (c) {
    c->flops += 4.0 * d * nh * kept;
    c->bytes += 2.0 * nh * d * c->ab + kept * 2.0 * nkv * d * c->kvb;
    c->calls += 1;
  }
}

/* ------------------------------------------------------------------ */
/* MoE                                                                 */

void
KS (kern_moe_gate) (int T, int h, int E, int k, const KR *x, const KR *Wg, int *ids, KR *weights,
                    KernCount *c, KernCount *c_topk)
{
  g_return_if_fail (T >= 0 && h >= 1 && E >= 1 && k >= 1 && k <= E);
  g_return_if_fail (x != NULL && Wg != NULL && ids != NULL && weights != NULL);
  KR *logits = g_new (KR, (gsize) MAX (T, 1) * E);
  KS (kern_gemm) (T, E, h, x, h, Wg, E, logits, E, c);
  gboolean *used = g_new (gboolean, E);
  for (int t = 0; t < T; t++) {
    KR *r = logits + (gsize) t * E;
    memset (used, 0, sizeof (gboolean) * E);
    KR mx = r[0];
    for (int e = 1; e < E; e++)
      mx = MAX (mx, r[e]);
    KR sum = 0;
    for (int j = 0; j < k; j++) {
      int best = -1;
      for (int e = 0; e < E; e++)
        if (!used[e] && (best < 0 || r[e] > r[best]))
          best = e;
      used[best] = TRUE;
      ids[t * k + j] = best;
      weights[t * k + j] = (KR) exp ((double) (r[best] - mx));
      sum += weights[t * k + j];
    }
    for (int j = 0; j < k; j++)
      weights[t * k + j] /= sum;
  }
  if (c_topk) {
    c_topk->bytes += (double) T * E * c_topk->ab + 8.0 * T * k;
    c_topk->calls += 1;
  }
  g_free (used);
  g_free (logits);
}

void
KS (kern_moe_experts) (int T, int h, int f, int E, int k, gboolean gated, KernAct act,
                       const KR *x, const int *ids, const KR *weights, const KR *const *Wup,
                       const KR *const *Wdown, KR *out, KernCount *c_align, KernCount *c_up,
                       KernCount *c_act, KernCount *c_down, KernCount *c_sum)
{
  g_return_if_fail (T >= 0 && h >= 1 && f >= 1 && E >= 1 && k >= 1 && k <= E);
  g_return_if_fail (x != NULL && ids != NULL && weights != NULL && Wup != NULL && Wdown != NULL
                    && out != NULL);
  const int g = gated ? 2 : 1;
  const gsize rows_n = (gsize) MAX (T, 1) * (gsize) k;
  for (int i = 0; i < T * k; i++)
    g_return_if_fail (ids[i] >= 0 && ids[i] < E);
  /* 1. align: rows sorted by expert (counting sort; within an expert in
   * row order) */
  int *start = g_new0 (int, (gsize) E + 1), *order = g_new (int, rows_n);
  for (int i = 0; i < T * k; i++)
    start[ids[i] + 1]++;
  for (int e = 0; e < E; e++)
    start[e + 1] += start[e];
  int *fill = g_memdup2 (start, sizeof (int) * (gsize) E);
  for (int i = 0; i < T * k; i++)
    order[fill[ids[i]]++] = i;
  g_free (fill);
  if (c_align) {
    c_align->bytes += 8.0 * T * k;
    c_align->calls += 1;
  }
  /* 2. each expert's rows: gather, up, act, down x routing weight */
  KR *xe = g_new (KR, (gsize) MAX (T, 1) * h);
  KR *up = g_new (KR, (gsize) MAX (T, 1) * g * f);
  KR *a = g_new (KR, (gsize) MAX (T, 1) * f);
  KR *y = g_new (KR, (gsize) MAX (T, 1) * h);
  KR *rows_out = g_new (KR, rows_n * (gsize) h);
  gboolean *tok_seen = g_new0 (gboolean, MAX (T, 1));
  double touched = 0, Tk = 0, tokens = 0;
  for (int e = 0; e < E; e++) {
    const int *rows = order + start[e];
    int ne = start[e + 1] - start[e];
    if (ne == 0)
      continue;
    for (int r = 0; r < ne; r++) {
      int i = rows[r];
      memcpy (xe + (gsize) r * h, x + (gsize) (i / k) * h, sizeof (KR) * h);
      if (!tok_seen[i / k]) {
        tok_seen[i / k] = TRUE;
        tokens += 1;
      }
    }
    touched += 1;
    Tk += ne;
    KS (kern_gemm) (ne, g * f, h, xe, h, Wup[e], g * f, up, g * f, NULL);
    KS (kern_act) (ne, f, gated, act, up, a, NULL);
    KS (kern_gemm) (ne, h, f, a, f, Wdown[e], h, y, h, NULL);
    for (int r = 0; r < ne; r++) {
      KR wgt = weights[rows[r]];
      KR *o = rows_out + (gsize) rows[r] * h;
      for (int j = 0; j < h; j++)
        o[j] = wgt * y[(gsize) r * h + j];
    }
  }
  /* 3. moe_sum: each token's k rows, in choice order */
  for (int t = 0; t < T; t++) {
    KR *o = out + (gsize) t * h;
    memcpy (o, rows_out + (gsize) t * k * h, sizeof (KR) * h);
    for (int j = 1; j < k; j++) {
      const KR *rj = rows_out + ((gsize) t * k + j) * h;
      for (int x2 = 0; x2 < h; x2++)
        o[x2] += rj[x2];
    }
  }
  if (c_up) {
    c_up->flops += 2.0 * Tk * h * g * f;
    c_up->bytes += (tokens * h + touched * h * g * f + Tk * g * f) * c_up->wb;
    c_up->calls += 1;
  }
  if (c_act) {
    c_act->flops += (double) kern_act_flops (act, gated) * Tk * f;
    c_act->bytes += (g + 1.0) * Tk * f * c_act->ab;
    c_act->calls += 1;
  }
  if (c_down) {
    c_down->flops += 2.0 * Tk * f * h;
    c_down->bytes += (Tk * f + touched * f * h + Tk * h) * c_down->wb;
    c_down->calls += 1;
  }
  if (c_sum) {
    c_sum->flops += (k - 1.0) * T * h;
    c_sum->bytes += (k + 1.0) * T * h * c_sum->ab;
    c_sum->calls += 1;
  }
  g_free (start);
  g_free (order);
  g_free (xe);
  g_free (up);
  g_free (a);
  g_free (y);
  g_free (rows_out);
  g_free (tok_seen);
}
