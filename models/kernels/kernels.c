/* models/kernels/kernels.c — the reference kernels: the typed ones
 * (kernels_tmpl.c, compiled here for double and float) and the untyped ones:
 * counters, emulated low-precision rounding, KV quantisation, H2O selection
 * and collectives over simulated ranks. Timing lives in host.c, the tiny
 * transformer in tiny.c, the equivalence and counter checks in checks.c.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "models/kernels/kernels.h"

/* GEMM register tile and K panel (see kern_gemm). */
#define KG_MR 4
#define KG_NR 16
#define KG_KB 128
#define KG_SMALL_M 8   /* at most this many rows: the row-streaming GEMM path */

void
kern_count_init (KernCount *c, int wb, int ab, int kvb)
{
  g_return_if_fail (c != NULL && wb >= 1 && ab >= 1 && kvb >= 1);
  memset (c, 0, sizeof *c);
  c->wb = wb;
  c->ab = ab;
  c->kvb = kvb;
}

void
kern_count_add (KernCount *dst, const KernCount *src)
{
  g_return_if_fail (dst != NULL && src != NULL);
  dst->flops += src->flops;
  dst->bytes += src->bytes;
  dst->calls += src->calls;
}

int
kern_act_flops (KernAct a, gboolean gated)
{
  int f = a == KERN_ACT_SILU ? 4 : a == KERN_ACT_GELU ? 8 : 1;
  return f + (gated ? 1 : 0);
}

int
kern_act_from_name (const char *name)
{
  g_return_val_if_fail (name != NULL, -1);
  if (strcmp (name, "silu") == 0)
    return KERN_ACT_SILU;
  if (strcmp (name, "gelu") == 0)
    return KERN_ACT_GELU;
  if (strcmp (name, "relu") == 0)
    return KERN_ACT_RELU;
  return -1;
}

#define KR double
#define KS(name) name##_d
#include "models/kernels/kernels_tmpl.c"
#undef KR
#undef KS
#define KR float
#define KS(name) name##_f
#include "models/kernels/kernels_tmpl.c"
#undef KR
#undef KS

/* ------------------------------------------------------------------ */
/* emulated low precision                                              */

/* Round x to a binary format with `mant` fraction bits, smallest normal
 * exponent `emin` (subnormals below it) and largest finite value `max`
 * (saturating). Exact in double for the formats used here. */
static double
round_format (double x, int mant, int emin, double max)
{
  if (isnan (x) || x == 0)
    return x;
  int e;
  frexp (x, &e);          /* |x| in [2^(e-1), 2^e) */
  e = MAX (e - 1, emin);
  double quantum = ldexp (1.0, e - mant);
  double r = nearbyint (x / quantum) * quantum;   /* ties to even (default rounding mode) */
  if (fabs (r) > max)
    r = copysign (max, x);
  return r;
}

float
kern_round_bf16 (float x)
{
  return (float) round_format (x, 7, -126, 3.38953138925153547590e38);
}

float
kern_round_fp16 (float x)
{
  return (float) round_format (x, 10, -14, 65504.0);
}

float
kern_round_fp8_e4m3 (float x)
{
  return (float) round_format (x, 3, -6, 448.0);
}

const char *
kern_quant_name (KernQuant kind)
{
  switch (kind) {
  case KERN_QUANT_INT8:
    return "int8";
  case KERN_QUANT_INT4:
    return "int4";
  case KERN_QUANT_FP8:
    return "fp8-e4m3";
  default:
    return "?";
  }
}

void
kern_quant_roundtrip (KernQuant kind, const double *x, gsize n, int group, double *out)
{
  g_return_if_fail (group >= 1 && n % (gsize) group == 0);
  g_return_if_fail (n == 0 || (x != NULL && out != NULL));
  for (gsize g0 = 0; g0 < n; g0 += group) {
    double mx = 0;
    for (int i = 0; i < group; i++)
      mx = fmax (mx, fabs (x[g0 + i]));
    for (int i = 0; i < group; i++) {
      double v = x[g0 + i], r;
      if (mx == 0) {
        r = 0;
      } else if (kind == KERN_QUANT_FP8) {
        double scale = mx / 448.0;
        r = kern_round_fp8_e4m3 ((float) (v / scale)) * scale;
      } else {
        double qmax = kind == KERN_QUANT_INT8 ? 127 : 7;
        double scale = mx / qmax;
        r = fmin (qmax, fmax (-qmax, nearbyint (v / scale))) * scale;
      }
      out[g0 + i] = r;
    }
  }
}

void
kern_h2o_select (int n_keys, const double *acc_score, int budget, int recent, gboolean *keep)
{
  g_return_if_fail (n_keys >= 0 && budget >= recent && recent >= 0);
  g_return_if_fail (n_keys == 0 || (acc_score != NULL && keep != NULL));
  if (n_keys <= budget) {
    for (int j = 0; j < n_keys; j++)
      keep[j] = TRUE;
    return;
  }
  int old = n_keys - recent;
  for (int j = 0; j < n_keys; j++)
    keep[j] = j >= old;
  /* heavy hitters among the older keys: repeated selection of the largest
   * (budget is small; ties to the older key) */
  for (int picked = 0; picked < budget - recent; picked++) {
    int best = -1;
    for (int j = 0; j < old; j++)
      if (!keep[j] && (best < 0 || acc_score[j] > acc_score[best]))
        best = j;
    if (best < 0)
      break;
    keep[best] = TRUE;
  }
}

int
kern_spec_verify_greedy (int k, const int *draft, const int *target, int *out)
{
  g_return_val_if_fail (k >= 0 && (k == 0 || draft != NULL) && target != NULL && out != NULL, 0);
  int acc = 0;
  while (acc < k && draft[acc] == target[acc]) {
    out[acc] = draft[acc];
    acc++;
  }
  out[acc] = target[acc];   /* the correction, or the bonus token after k accepted */
  return acc + 1;
}

/* ------------------------------------------------------------------ */
/* collectives                                                         */

static inline gsize
chunk_lo (gsize n, int N, int c)
{
  return n * (gsize) c / (gsize) N;
}

/* what one rank does, on average over ranks (exact per rank when N | n) */
static void
coll_count (KernCount *c, int N, double adds, double sent)
{
  if (!c)
    return;
  c->flops += adds / N;
  c->bytes += sent / N * c->ab;
  c->calls += 1;
}

static gboolean
coll_args_ok (int N, gsize n, double **bufs)
{
  g_return_val_if_fail (N >= 1 && (n == 0 || bufs != NULL), FALSE);
  for (int r = 0; r < N && n > 0; r++)
    g_return_val_if_fail (bufs[r] != NULL, FALSE);
  return TRUE;
}

static void
rs_ring (int N, gsize n, double **bufs, double *adds, double *sent)
{
  for (int s = 0; s < N - 1; s++)
    for (int r = 0; r < N; r++) {
      int ci = ((r - s - 1) % N + N) % N, dst = (r + 1) % N;
      gsize lo = chunk_lo (n, N, ci), hi = chunk_lo (n, N, ci + 1);
      for (gsize i = lo; i < hi; i++)
        bufs[dst][i] += bufs[r][i];
      *adds += (double) (hi - lo);
      *sent += (double) (hi - lo);
    }
}

static void
ag_ring (int N, gsize n, double **bufs, double *sent)
{
  for (int s = 0; s < N - 1; s++)
    for (int r = 0; r < N; r++) {
      int ci = ((r - s) % N + N) % N, dst = (r + 1) % N;
      gsize lo = chunk_lo (n, N, ci), hi = chunk_lo (n, N, ci + 1);
      memcpy (bufs[dst] + lo, bufs[r] + lo, sizeof (double) * (hi - lo));
      *sent += (double) (hi - lo);
    }
}

void
kern_reduce_scatter_ring (int N, gsize n, double **bufs, KernCount *c)
{
  if (!coll_args_ok (N, n, bufs))
    return;
  double adds = 0, sent = 0;
  rs_ring (N, n, bufs, &adds, &sent);
  coll_count (c, N, adds, sent);
}

void
kern_allgather_ring (int N, gsize n, double **bufs, KernCount *c)
{
  if (!coll_args_ok (N, n, bufs))
    return;
  double sent = 0;
  ag_ring (N, n, bufs, &sent);
  coll_count (c, N, 0, sent);
}

void
kern_allreduce_ring (int N, gsize n, double **bufs, KernCount *c)
{
  if (!coll_args_ok (N, n, bufs))
    return;
  double adds = 0, sent = 0;
  rs_ring (N, n, bufs, &adds, &sent);
  ag_ring (N, n, bufs, &sent);
  coll_count (c, N, adds, sent);
}

void
kern_allreduce_tree (int N, gsize n, double **bufs, KernCount *c)
{
  if (!coll_args_ok (N, n, bufs))
    return;
  double adds = 0, sent = 0;
  /* reduce up the binary heap (children before parents), then broadcast down */
  for (int r = N - 1; r >= 1; r--) {
    int p = (r - 1) / 2;
    for (gsize i = 0; i < n; i++)
      bufs[p][i] += bufs[r][i];
    adds += (double) n;
    sent += (double) n;
  }
  for (int r = 1; r < N; r++) {
    memcpy (bufs[r], bufs[(r - 1) / 2], sizeof (double) * n);
    sent += (double) n;
  }
  coll_count (c, N, adds, sent);
}

void
kern_allreduce_rhd (int N, gsize n, double **bufs, KernCount *c)
{
  if (!coll_args_ok (N, n, bufs))
    return;
  g_return_if_fail ((N & (N - 1)) == 0);
  double adds = 0, sent = 0;
  int levels = 0;
  while ((1 << levels) < N)
    levels++;
  /* lo/hi[level][rank]: the range rank owns after `level` halvings */
  gsize *lo = g_new (gsize, (gsize) (levels + 1) * N), *hi = g_new (gsize, (gsize) (levels + 1) * N);
  for (int r = 0; r < N; r++) {
    lo[r] = 0;
    hi[r] = n;
  }
  for (int l = 0; l < levels; l++) {
    int mask = N >> (l + 1);
    for (int r = 0; r < N; r++) {
      gsize a = lo[l * N + r], b = hi[l * N + r], mid = a + (b - a) / 2;
      gboolean low = (r & mask) == 0;
      lo[(l + 1) * N + r] = low ? a : mid;
      hi[(l + 1) * N + r] = low ? mid : b;
    }
    /* each rank adds the partner's copy of the half it keeps; the partner
     * only writes its own (other) half in this step */
    for (int r = 0; r < N; r++) {
      int p = r ^ mask;
      gsize a = lo[(l + 1) * N + r], b = hi[(l + 1) * N + r];
      for (gsize i = a; i < b; i++)
        bufs[r][i] += bufs[p][i];
      adds += (double) (b - a);
      sent += (double) (b - a);   /* p sent this half to r */
    }
  }
  for (int l = levels - 1; l >= 0; l--) {
    int mask = N >> (l + 1);
    for (int r = 0; r < N; r++) {
      int p = r ^ mask;
      gsize a = lo[(l + 1) * N + p], b = hi[(l + 1) * N + p];
      memcpy (bufs[r] + a, bufs[p] + a, sizeof (double) * (b - a));
      sent += (double) (b - a);
    }
  }
  g_free (lo);
  g_free (hi);
  coll_count (c, N, adds, sent);
}

void
kern_alltoall (int N, gsize chunk, double **send, double **recv, KernCount *c)
{
  g_return_if_fail (N >= 1 && (chunk == 0 || (send != NULL && recv != NULL)));
  double sent = 0;
  for (int r = 0; r < N && chunk > 0; r++)
    for (int s = 0; s < N; s++) {
      memcpy (recv[s] + (gsize) r * chunk, send[r] + (gsize) s * chunk, sizeof (double) * chunk);
      if (s != r)
        sent += (double) chunk;
    }
  coll_count (c, N, 0, sent);
}
