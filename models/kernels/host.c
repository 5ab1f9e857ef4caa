/* models/kernels/host.c — host latency validation (host.h): rates of this CPU
 * from the reference kernels, a catalog entry and device profile for it, and
 * predicted vs measured times over a grid of kernels and tiny-transformer
 * iterations. Single-threaded float kernels; medians of repeats. It does not
 * own the kernels (kernels.c), the cost model (models/cost.c) or the catalog
 * format (models/catalog.c: the entry is built from model_params_info so the
 * parameter names stay those of the loader).
 */
#include "config.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "models/cost.h"
#include "models/kernels/host.h"
#include "models/kernels/kernels.h"
#include "models/kernels/tiny.h"

/* ------------------------------------------------------------------ */
/* timing                                                              */

/* This thread's CPU time, not wall time: on a shared machine (other builds
 * on the same cores) wall time includes other processes' time slices, while
 * the kernels are single-threaded and never block. */
static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef void (*RunFn) (gpointer arg);

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------------ */
/* kernels under test                                                  */

typedef struct {
  int M, N, K;
  float *A, *B, *C;
} GemmArg;

static void
run_gemm (gpointer p)
{
  GemmArg *a = p;
  kern_gemm_f (a->M, a->N, a->K, a->A, a->K, a->B, a->N, a->C, a->N, NULL);
}

static float *
fvec (gsize n, guint seed)
{
  float *p = g_new (float, n ? n : 1);
  guint32 s = seed * 2654435761u + 1;
  for (gsize i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = (float) ((s >> 8) * (1.0 / 16777216.0) - 0.5);
  }
  return p;
}

static void
gemm_arg_init (GemmArg *a, int M, int N, int K)
{
  a->M = M;
  a->N = N;
  a->K = K;
  a->A = fvec ((gsize) M * K, 1);
  a->B = fvec ((gsize) K * N, 2);
  a->C = g_new (float, (gsize) M * N);
}

static void
gemm_arg_clear (GemmArg *a)
{
  g_free (a->A);
  g_free (a->B);
  g_free (a->C);
}

typedef struct {
  gsize n;
  int h;
  float *a, *b, *out, *w;
} ElemArg;

static void
run_add (gpointer p)
{
  ElemArg *e = p;
  kern_add_f (e->n, e->a, e->b, e->out, NULL);
}

static void
run_rmsnorm (gpointer p)
{
  ElemArg *e = p;
  kern_rmsnorm_f ((int) (e->n / e->h), e->h, e->a, e->w, 1e-5, e->out, NULL);
}

static void
elem_arg_init (ElemArg *e, gsize n, int h)
{
  e->n = n;
  e->h = h;
  e->a = fvec (n, 3);
  e->b = fvec (n, 4);
  e->out = g_new (float, n ? n : 1);
  e->w = fvec (h, 5);
}

static void
elem_arg_clear (ElemArg *e)
{
  g_free (e->a);
  g_free (e->b);
  g_free (e->out);
  g_free (e->w);
}

/* a batch of attention work over a paged cache filled with random K,V */
typedef struct {
  KernKvCache_f *kv;
  KernSeq *seqs;
  int n, nh, d, rows;
  int *tables;
  float *Q, *out;
  KernCount cnt;
} AttnArg;

static void
run_attn (gpointer p)
{
  AttnArg *a = p;
  kern_attn_paged_f (a->kv, a->seqs, a->n, a->nh, a->Q, a->nh * a->d, 1.0 / sqrt (a->d), a->out,
                     a->nh * a->d, NULL);
}

static void
attn_arg_init (AttnArg *a, int n, int q, int ctx, int nh, int nkv, int d)
{
  const int bs = 16, per = (ctx + q + bs - 1) / bs;
  a->n = n;
  a->nh = nh;
  a->d = d;
  a->rows = n * q;
  a->kv = kern_kv_cache_new_f (n * per, bs, nkv, d);
  float *kk = fvec ((gsize) n * per * bs * nkv * d, 6), *vv = fvec ((gsize) n * per * bs * nkv * d, 7);
  memcpy (a->kv->k, kk, sizeof (float) * (gsize) n * per * bs * nkv * d);
  memcpy (a->kv->v, vv, sizeof (float) * (gsize) n * per * bs * nkv * d);
  g_free (kk);
  g_free (vv);
  a->tables = g_new (int, n * per);
  a->seqs = g_new (KernSeq, n);
  for (int i = 0; i < n * per; i++)
    a->tables[i] = i;
  for (int i = 0; i < n; i++)
    a->seqs[i] = (KernSeq) { q, ctx, a->tables + i * per, 0 };
  a->Q = fvec ((gsize) a->rows * nh * d, 8);
  a->out = g_new (float, (gsize) a->rows * nh * d);
  kern_count_init (&a->cnt, 4, 4, 4);
  kern_attn_paged_f (a->kv, a->seqs, n, nh, a->Q, nh * d, 1.0 / sqrt (d), a->out, nh * d, &a->cnt);
}

static void
attn_arg_clear (AttnArg *a)
{
  kern_kv_cache_free_f (a->kv);
  g_free (a->tables);
  g_free (a->seqs);
  g_free (a->Q);
  g_free (a->out);
}

/* one element-wise kernel of the tiny model's shapes, for calibration */
typedef struct {
  int cls, T, h, nh, nkv, d, f, V;
  float *x, *y, *w, *qkv, *up;
  int *ids, *pos, *table;
  KernKvCache_f *kv;
  KernSeq seq;
  KernCount cnt;
} ElemCal;

static void
run_elem_cal (gpointer p)
{
  ElemCal *e = p;
  KernCount *c = &e->cnt;
  int qw = (e->nh + 2 * e->nkv) * e->d;
  switch (e->cls) {
  case MODEL_ELEM_EMBED:
    kern_embed_f (e->T, e->h, e->V, e->w, e->ids, e->y, c);
    break;
  case MODEL_ELEM_NORM:
    kern_rmsnorm_f (e->T, e->h, e->x, e->w, 1e-5, e->y, c);
    break;
  case MODEL_ELEM_ROPE:
    kern_rope_f (e->T, e->nh, e->nkv, e->d, e->d, e->qkv, qw, e->qkv + e->nh * e->d, qw, e->pos, 1e4, c);
    break;
  case MODEL_ELEM_ACT:
    kern_act_f (e->T, e->f, TRUE, KERN_ACT_SILU, e->up, e->y, c);
    break;
  case MODEL_ELEM_LAYERNORM:
    kern_layernorm_f (e->T, e->h, e->x, e->w, e->w + e->h, 1e-5, e->y, c);
    break;
  case MODEL_ELEM_ACT_PLAIN:
    kern_act_f (e->T, e->f, FALSE, KERN_ACT_GELU, e->up, e->y, c);
    break;
  case MODEL_ELEM_ADD:
    kern_add_f ((gsize) e->T * e->h, e->x, e->y, e->y, c);
    break;
  default:
    kern_kv_write_f (e->kv, &e->seq, 1, e->nh, e->qkv, c);
    break;
  }
}

/* ------------------------------------------------------------------ */
/* rates                                                               */

static void
host_llm (ModelLlm *m, gboolean quick)
{
  memset (m, 0, sizeof *m);
  m->id = (char *) "host-tiny";
  m->name = (char *) "servesim tiny transformer";
  m->num_layers = quick ? 1 : 2;
  m->hidden = quick ? 64 : 256;
  m->num_heads = quick ? 2 : 4;
  m->num_kv_heads = quick ? 1 : 2;
  m->head_dim = quick ? 32 : 64;
  m->ffn = quick ? 128 : 688;
  m->vocab = quick ? 256 : 2048;
  m->gated_mlp = TRUE;
  m->norm = (char *) "rmsnorm";
  m->activation = (char *) "silu";
  m->weight_dtype = (char *) "fp32";
  m->bytes_per_param = 4;
  m->max_context = 4096;
}

typedef struct {
  GemmArg g[4];
  double flops, bytes;   /* model_gemm_flops / model_gemm_bytes (float) of the four */
} GemmLayer;

static void
gemm_layer_init (GemmLayer *l, const ModelLlm *m, int T)
{
  const int h = m->hidden, qkv = (m->num_heads + 2 * m->num_kv_heads) * m->head_dim;
  gemm_arg_init (&l->g[0], T, qkv, h);
  gemm_arg_init (&l->g[1], T, h, m->num_heads * m->head_dim);
  gemm_arg_init (&l->g[2], T, 2 * m->ffn, h);
  gemm_arg_init (&l->g[3], T, h, m->ffn);
  l->flops = l->bytes = 0;
  for (int i = 0; i < 4; i++) {
    l->flops += model_gemm_flops (l->g[i].M, l->g[i].N, l->g[i].K);
    l->bytes += model_gemm_bytes (l->g[i].M, l->g[i].N, l->g[i].K, 4);
  }
}

static void
run_gemm_layer (gpointer p)
{
  GemmLayer *l = p;
  for (int i = 0; i < 4; i++)
    run_gemm (&l->g[i]);
}

static void
gemm_layer_clear (GemmLayer *l)
{
  for (int i = 0; i < 4; i++)
    gemm_arg_clear (&l->g[i]);
}

static void
cpu_name (char *buf, gsize len)
{
  g_strlcpy (buf, "unknown CPU", len);
  char *txt = NULL;
  if (!g_file_get_contents ("/proc/cpuinfo", &txt, NULL, NULL))
    return;
  char *p = strstr (txt, "model name");
  if (p && (p = strchr (p, ':'))) {
    p++;
    while (*p == ' ' || *p == '\t')
      p++;
    gsize n = strcspn (p, "\n");
    g_strlcpy (buf, p, MIN (len, n + 1));
  }
  g_free (txt);
}


/* ------------------------------------------------------------------ */
/* interleaved measurement                                             */

/* One thing to time. Rates (calibration) and grid rows are timed in the same
 * interleaved rounds, so slow phases of a shared machine hit both alike; each
 * value is the median over rounds of the mean time of `inner` runs. */
typedef struct {
  RunFn          fn;
  gpointer       arg;
  GDestroyNotify clear;
  int            inner;
  double        *t;       /* one sample per round */
  double         work;    /* rate cases: FLOPs or bytes per run */
  double        *out;     /* rate cases: out = work / time (or the time when work == 0) */
  int            row;     /* grid cases: row index; -1 otherwise */
} Case;

static void
case_add (GArray *cases, RunFn fn, gpointer arg, GDestroyNotify clear, double work, double *out,
          int row)
{
  Case c = { fn, arg, clear, 1, NULL, work, out, row };
  g_array_append_val (cases, c);
}

static void
gemm_arg_free (gpointer p)
{
  gemm_arg_clear (p);
  g_free (p);
}

static void
elem_arg_free (gpointer p)
{
  elem_arg_clear (p);
  g_free (p);
}

static void
attn_arg_free (gpointer p)
{
  attn_arg_clear (p);
  g_free (p);
}

static void
gemm_layer_free (gpointer p)
{
  gemm_layer_clear (p);
  g_free (p);
}

static ElemCal *
elem_cal_new (int cls, int T, gboolean quick)
{
  ElemCal *e = g_new0 (ElemCal, 1);
  *e = (ElemCal) { .cls = cls, .T = T, .h = quick ? 64 : 256, .nh = quick ? 2 : 4,
                   .nkv = quick ? 1 : 2, .d = quick ? 32 : 64, .f = quick ? 128 : 688,
                   .V = quick ? 256 : 2048 };
  int qw = (e->nh + 2 * e->nkv) * e->d;
  e->x = fvec ((gsize) T * e->h, 11);
  e->y = fvec ((gsize) T * MAX (e->h, e->f), 12);
  e->w = fvec ((gsize) e->V * e->h, 13);
  e->qkv = fvec ((gsize) T * qw, 14);
  e->up = fvec ((gsize) T * 2 * e->f, 15);
  e->ids = g_new (int, T);
  e->pos = g_new (int, T);
  int nb = (T + 15) / 16;
  e->table = g_new (int, nb);
  for (int i = 0; i < T; i++) {
    e->ids[i] = (i * 31) % e->V;
    e->pos[i] = i;
  }
  for (int i = 0; i < nb; i++)
    e->table[i] = i;
  e->kv = kern_kv_cache_new_f (nb, 16, e->nkv, e->d);
  e->seq = (KernSeq) { T, 0, e->table, 0 };
  kern_count_init (&e->cnt, 4, 4, 4);
  run_elem_cal (e);   /* counts one run */
  return e;
}

static void
elem_cal_free (gpointer p)
{
  ElemCal *e = p;
  g_free (e->x);
  g_free (e->y);
  g_free (e->w);
  g_free (e->qkv);
  g_free (e->up);
  g_free (e->ids);
  g_free (e->pos);
  g_free (e->table);
  kern_kv_cache_free_f (e->kv);
  g_free (e);
}

/* "kind:count[@ctx]" parts, comma separated: prefill:q[@ctx] is one
 * sequence of q new tokens over ctx cached ones; decode:n@ctx is n decode
 * steps over ctx cached tokens each. */
static GArray *
parse_mix (const char *mix)
{
  GArray *sw = g_array_new (FALSE, FALSE, sizeof (ModelSeqWork));
  char **parts = g_strsplit (mix, ",", -1);
  for (char **pt = parts; *pt; pt++) {
    int cnt = 0, c = 0;
    gboolean dec = g_str_has_prefix (*pt, "decode:");
    const char *colon = strchr (*pt, ':');
    if (!colon || sscanf (colon + 1, "%d@%d", &cnt, &c) < 1)
      continue;
    for (int j = 0; j < (dec ? cnt : 1); j++) {
      ModelSeqWork ms = { dec ? 1 : cnt, c };
      g_array_append_val (sw, ms);
    }
  }
  g_strfreev (parts);
  return sw;
}

typedef struct {
  KernTiny_f   *m;
  KernTinyWork *w;
  int           n;
  int          *ctx, *next;
} IterArg;

static void
run_iter (gpointer p)
{
  IterArg *a = p;
  kern_tiny_step_f (a->m, a->w, a->n, a->next, NULL, NULL, NULL, NULL);
  for (int i = 0; i < a->n; i++)
    kern_tiny_seq_truncate_f (a->m, a->w[i].seq, a->ctx[i]);
}

static void
iter_arg_free (gpointer p)
{
  IterArg *a = p;
  g_free (a->w);
  g_free (a->ctx);
  g_free (a->next);
  g_free (a);
}

static int
add_row (GArray *rows, const char *kind, const char *name, int s0, int s1, int s2)
{
  KernHostRow row;
  memset (&row, 0, sizeof row);
  g_strlcpy (row.kind, kind, sizeof row.kind);
  g_strlcpy (row.name, name, sizeof row.name);
  row.shape[0] = s0;
  row.shape[1] = s1;
  row.shape[2] = s2;
  g_array_append_val (rows, row);
  return (int) rows->len - 1;
}

static const int gemm_full[][3] = {
  { 1, 512, 256 }, { 4, 1376, 256 }, { 16, 256, 688 }, { 32, 512, 256 }, { 64, 1376, 256 },
  { 128, 256, 688 }, { 256, 512, 256 }, { 512, 256, 256 }, { 1, 2048, 256 }, { 16, 2048, 256 },
};
static const int gemm_quick[][3] = { { 1, 64, 64 }, { 32, 128, 64 } };
static const int elem_t[] = { 16, 128, 1024 };
static const int attn_full[][3] = {   /* n, q, ctx */
  { 1, 64, 0 }, { 1, 256, 0 }, { 1, 64, 448 }, { 4, 128, 0 },
  { 1, 1, 512 }, { 8, 1, 256 }, { 32, 1, 512 }, { 16, 1, 2048 },
};
static const int attn_quick[][3] = { { 1, 16, 0 }, { 4, 1, 64 } };
static const char *const mixes_full[] = {
  "prefill:16", "prefill:64", "prefill:128", "prefill:256", "prefill:64@192",
  "decode:1@128", "decode:4@128", "decode:16@128", "decode:32@512",
  "prefill:64,decode:8@128", "prefill:128@128,decode:16@256", NULL
};
static const char *const mixes_quick[] = { "prefill:16", "decode:4@32", "prefill:8,decode:2@16", NULL };

GArray *
kern_host_measure (KernHostRates *r, gboolean quick)
{
  g_return_val_if_fail (r != NULL, NULL);
  memset (r, 0, sizeof *r);
  const int rounds = quick ? 3 : 21;
  const double min_s = quick ? 2e-4 : 2e-3;
  GArray *rows = g_array_new (FALSE, TRUE, sizeof (KernHostRow));
  GArray *cases = g_array_new (FALSE, TRUE, sizeof (Case));
  ModelLlm m;
  host_llm (&m, quick);
  char name[64];

  /* calibration: the rates of the host entry */
  GemmLayer *gl = g_new0 (GemmLayer, 1);
  gemm_layer_init (gl, &m, 96);
  case_add (cases, run_gemm_layer, gl, gemm_layer_free, gl->flops, &r->gemm_flops, -1);
  gl = g_new0 (GemmLayer, 1);
  gemm_layer_init (gl, &m, 2);
  case_add (cases, run_gemm_layer, gl, gemm_layer_free, gl->bytes, &r->gemm_bw, -1);
  gsize ne = quick ? 65536 : 1048576;   /* 3 arrays: 12 MB */
  ElemArg *e = g_new0 (ElemArg, 1);
  elem_arg_init (e, ne, 256);
  case_add (cases, run_add, e, elem_arg_free, 12.0 * ne, &r->mem_bw, -1);
  e = g_new0 (ElemArg, 1);
  elem_arg_init (e, 16, 16);
  case_add (cases, run_add, e, elem_arg_free, 0, &r->floor_s, -1);
  AttnArg *a = g_new0 (AttnArg, 1);
  attn_arg_init (a, 1, quick ? 32 : 128, 0, m.num_heads, m.num_kv_heads, m.head_dim);
  case_add (cases, run_attn, a, attn_arg_free, a->cnt.flops, &r->attn_flops, -1);
  a = g_new0 (AttnArg, 1);
  attn_arg_init (a, 4, 1, quick ? 64 : 1024, m.num_heads, m.num_kv_heads, m.head_dim);
  case_add (cases, run_attn, a, attn_arg_free, a->cnt.bytes, &r->dec_bw, -1);
  for (int c = 0; c < MODEL_ELEM_COUNT; c++) {
    ElemCal *ec = elem_cal_new (c, quick ? 32 : 256, quick);
    case_add (cases, run_elem_cal, ec, elem_cal_free, ec->cnt.bytes, &r->elem_bw[c], -1);
  }

  /* the grid */
  int ng = quick ? (int) G_N_ELEMENTS (gemm_quick) : (int) G_N_ELEMENTS (gemm_full);
  for (int i = 0; i < ng; i++) {
    const int *sh = quick ? gemm_quick[i] : gemm_full[i];
    GemmArg *g = g_new0 (GemmArg, 1);
    gemm_arg_init (g, sh[0], sh[1], sh[2]);
    g_snprintf (name, sizeof name, "gemm %dx%dx%d", sh[0], sh[1], sh[2]);
    case_add (cases, run_gemm, g, gemm_arg_free, 0, NULL, add_row (rows, "gemm", name, sh[0], sh[1], sh[2]));
  }
  for (guint i = 0; i < (quick ? 1 : G_N_ELEMENTS (elem_t)); i++) {
    int T = elem_t[i], h = m.hidden;
    for (int which = 0; which < 2; which++) {
      e = g_new0 (ElemArg, 1);
      elem_arg_init (e, (gsize) T * h, h);
      g_snprintf (name, sizeof name, "%s %dx%d", which ? "add" : "rmsnorm", T, h);
      case_add (cases, which ? run_add : run_rmsnorm, e, elem_arg_free, 0, NULL,
                add_row (rows, "elem", name, which ? MODEL_ELEM_ADD : MODEL_ELEM_NORM, T, h));
    }
  }
  int na = quick ? (int) G_N_ELEMENTS (attn_quick) : (int) G_N_ELEMENTS (attn_full);
  for (int i = 0; i < na; i++) {
    const int *sh = quick ? attn_quick[i] : attn_full[i];
    a = g_new0 (AttnArg, 1);
    attn_arg_init (a, sh[0], sh[1], sh[2], m.num_heads, m.num_kv_heads, m.head_dim);
    gboolean dec = sh[1] == 1 && sh[2] > 0;
    g_snprintf (name, sizeof name, "attn %s %dx(q %d, ctx %d)", dec ? "decode" : "prefill", sh[0],
                sh[1], sh[2]);
    case_add (cases, run_attn, a, attn_arg_free, 0, NULL, add_row (rows, "attn", name, sh[0], sh[1], sh[2]));
  }
  KernTinyConfig cfg;
  kern_tiny_config_from_llm (&m, &cfg, NULL);
  KernTiny_f *tm = kern_tiny_new_f (&cfg, 42, quick ? 256 : 2048, 16, FALSE);
  int *tokens = g_new (int, 4096);
  for (int i = 0; i < 4096; i++)
    tokens[i] = (i * 7 + 3) % cfg.vocab;
  for (const char *const *mx = quick ? mixes_quick : mixes_full; *mx; mx++) {
    GArray *sw = parse_mix (*mx);
    IterArg *ia = g_new0 (IterArg, 1);
    ia->m = tm;
    ia->n = (int) sw->len;
    ia->w = g_new (KernTinyWork, sw->len);
    ia->ctx = g_new (int, sw->len);
    ia->next = g_new (int, sw->len);
    gboolean pre = FALSE, dec = FALSE;
    for (guint j = 0; j < sw->len; j++) {
      const ModelSeqWork *x = &g_array_index (sw, ModelSeqWork, j);
      int s = kern_tiny_seq_new_f (tm), nx;
      if (x->ctx > 0) {   /* the cached context, once (not timed) */
        KernTinyWork w0 = { s, tokens, (int) x->ctx };
        kern_tiny_step_f (tm, &w0, 1, &nx, NULL, NULL, NULL, NULL);
      }
      ia->w[j] = (KernTinyWork) { s, tokens + x->ctx, (int) x->q };
      ia->ctx[j] = (int) x->ctx;
      if (x->q == 1 && x->ctx > 0)
        dec = TRUE;
      else
        pre = TRUE;
    }
    g_array_free (sw, TRUE);
    g_snprintf (name, sizeof name, "iter %s", *mx);
    case_add (cases, run_iter, ia, iter_arg_free, 0, NULL,
              add_row (rows, pre && dec ? "mixed" : pre ? "prefill" : "decode", name, 0, 0, 0));
  }

  /* warm-up and inner counts, then the interleaved rounds */
  for (guint i = 0; i < cases->len; i++) {
    Case *c = &g_array_index (cases, Case, i);
    c->fn (c->arg);
    double t0 = now_s ();
    c->fn (c->arg);
    double t1 = now_s () - t0;
    c->inner = t1 >= min_s ? 1 : (int) MIN (1e6, ceil (min_s / fmax (t1, 1e-9)));
    c->t = g_new (double, rounds);
  }
  for (int rd = 0; rd < rounds; rd++)
    for (guint i = 0; i < cases->len; i++) {
      Case *c = &g_array_index (cases, Case, i);
      double t0 = now_s ();
      for (int k = 0; k < c->inner; k++)
        c->fn (c->arg);
      c->t[rd] = (now_s () - t0) / c->inner;
    }
  for (guint i = 0; i < cases->len; i++) {
    Case *c = &g_array_index (cases, Case, i);
    qsort (c->t, rounds, sizeof (double), cmp_double);
    double med = rounds % 2 ? c->t[rounds / 2] : 0.5 * (c->t[rounds / 2 - 1] + c->t[rounds / 2]);
    if (c->out)
      *c->out = c->work > 0 ? c->work / med : med;
    if (c->row >= 0)
      g_array_index (rows, KernHostRow, c->row).measured_s = med;
    g_free (c->t);
    c->clear (c->arg);
  }
  g_array_free (cases, TRUE);
  g_free (tokens);
  kern_tiny_free_f (tm);

  /* DRAM bandwidth, reported only */
  ne = quick ? 65536 : 8388608;          /* 96 MB */
  ElemArg big;
  elem_arg_init (&big, ne, 256);
  run_add (&big);
  double t0 = now_s ();
  run_add (&big);
  r->dram_bw = 12.0 * ne / (now_s () - t0);
  elem_arg_clear (&big);

  long pages = sysconf (_SC_PHYS_PAGES), psz = sysconf (_SC_PAGESIZE);
  r->mem_bytes = pages > 0 && psz > 0 ? (double) pages * psz : 1073741824.0;
  cpu_name (r->cpu, sizeof r->cpu);
  return rows;
}

double
kern_host_mem_bw (const KernHostRates *r)
{
  g_return_val_if_fail (r != NULL, 0);
  double bw = fmax (fmax (r->mem_bw, r->gemm_bw), r->dec_bw);
  for (int i = 0; i < MODEL_ELEM_COUNT; i++)
    bw = fmax (bw, r->elem_bw[i]);
  return bw;
}

/* Every parameter is set here, from the rates or from what the reference
 * kernels do; none is left at its GPU default (the defaults model thread-block
 * tiles, waves over SMs, split-KV combines and a serving engine's CPU work,
 * none of which exists on one CPU thread). The entry has num_sms 1, so the
 * wave, split-K and split-KV terms are inert; they are still set to the values
 * that say so (whole waves, no split). */
void
kern_host_params (const KernHostRates *r, ModelCostParams *p)
{
  g_return_if_fail (r != NULL && p != NULL);
  const double bw = kern_host_mem_bw (r);
  model_cost_params_default (p);
  /* GEMM: compute at the measured rate (the entry's peak), no tile
   * quantisation (kern_gemm_f streams rows for small M and uses 4x16
   * register tiles otherwise: nothing like a 64-row thread block); small-M
   * GEMMs stream their weights at the measured 2-token rate; a hard max of
   * compute and memory time (one thread does not overlap them) */
  p->gemm_eff = 1;
  p->gemm_small_tile = 1;
  p->gemm_tile_min = 1;
  p->gemm_mem_eff = CLAMP (r->gemm_bw / bw, 0.05, 1.0);
  p->gemm_floor_s = r->floor_s;
  p->gemm_sharp = 20;
  p->gemm_split_k = 16384;  /* never split K */
  p->gemm_wave = 1;
  /* prefill attention: one query row at a time, masked keys skipped (the
   * counted FLOPs are the executed ones: causal factor 1), at the measured
   * attention rate */
  p->attn_eff = CLAMP (r->attn_flops / r->gemm_flops, 0.02, 1.0);
  p->attn_floor_s = r->floor_s;
  p->attn_per_tile_s = 0;
  p->attn_causal = 1;
  p->attn_tile_q = 1;
  /* decode attention: the KV read at the measured decode rate, no per-block
   * or combine costs, no partial waves */
  p->dec_mem_eff = CLAMP (r->dec_bw / bw, 0.02, 1.0);
  p->dec_floor_s = r->floor_s;
  p->dec_per_seq_s = 0;
  p->dec_per_block_s = 0;
  p->dec_split_s = 0;
  p->dec_tail = 0;
  p->dec_cta_s = 0;
  p->dec_pair_gain = 2;   /* no sharing penalty: the wave is its bytes over bandwidth */
  p->dec_sharp = 20;
  p->dec_combine_s = 0;
  /* element-wise: each class at its measured rate, a hard max with the floor,
   * no cache term (the class rates were measured at a 256-token working set
   * that is itself cache-resident) */
  for (int i = 0; i < MODEL_ELEM_COUNT; i++) {
    p->elem_bw_eff[i] = CLAMP (r->elem_bw[i] / bw, 0.01, 1.0);
    p->elem_floor_s[i] = r->floor_s;
    p->elem_sharp[i] = 20;
    p->elem_cache_gain[i] = 1;
    p->elem_cache_bytes[i] = 1e10;
    p->elem_row_wave[i] = 0;   /* one thread: no waves of rows */
    p->elem_wave_rows[i] = 1;
  }
  /* collectives: one thread has no ranks; the TP all-reduce is never priced
   * (the host model runs at tp 1); the defaults stay */
  /* CPU overhead: the measured kernels and iterations include no scheduler,
   * input preparation or sampling beyond the kernels themselves */
  p->cpu_base_s = 0;
  p->cpu_per_seq_s = 0;
  p->cpu_tp_s = 0;
  p->cpu_per_seq_vocab_s = 0;
  p->kv_dtype_bytes = 4;
}

gboolean
kern_host_write_profile (const KernHostRates *r, const char *gpu_id, const char *path,
                         GError **error)
{
  g_return_val_if_fail (r != NULL && gpu_id != NULL && path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  ModelCostParams p;
  kern_host_params (r, &p);
  char *src = g_strdup_printf (
    "measured by `servesim validate host` with the reference kernels (one thread, float): "
    "blocked GEMM (one layer at 96 tokens) %.2f GFLOP/s, at 2 tokens %.2f GB/s, streaming add over "
    "12 MB %.2f GB/s (96 MB: %.2f GB/s), prefill attention %.2f GFLOP/s, decode attention %.2f GB/s, "
    "smallest kernel %.0f ns; mem_bw_gbps is the fastest byte rate; pcie_gbps is a placeholder",
    r->gemm_flops / 1e9, r->gemm_bw / 1e9, r->mem_bw / 1e9, r->dram_bw / 1e9, r->attn_flops / 1e9,
    r->dec_bw / 1e9, r->floor_s * 1e9);
  json_t *gpu = json_pack ("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:i, s:s}",
                           "id", gpu_id, "name", r->cpu, "vendor", "cpu",
                           "bf16_tflops", r->gemm_flops / 1e12, "fp8_tflops", 0.0,
                           "mem_gib", r->mem_bytes / 1073741824.0, "mem_bw_gbps", kern_host_mem_bw (r) / 1e9,
                           "nvlink_gbps", 0.0, "pcie_gbps", 1.0, "num_sms", 1, "source", src);
  json_t *params = json_object ();
  gsize np;
  const ModelParamInfo *info = model_params_info (&np);
  for (gsize i = 0; i < np; i++)
    json_object_set_new (params, info[i].name, json_real (*model_param_ptr (&p, &info[i])));
  json_t *prof = json_pack ("{s:s, s:s, s:o}", "id", gpu_id, "source", src, "params", params);
  json_t *root = json_pack ("{s:s, s:[o], s:[o]}", "source",
                            "servesim host-CPU device entry (docs/kernels.md)", "gpus", gpu,
                            "profiles", prof);
  g_free (src);
  char *text = json_dumps (root, JSON_INDENT (2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION (9));
  json_decref (root);
  /* atomically: temporary file in the same directory, then rename */
  gboolean ok = g_file_set_contents (path, text, -1, error);
  free (text);
  return ok;
}

/* ------------------------------------------------------------------ */
/* predictions                                                         */

static gboolean
is_gemm_op (int op)
{
  return op == MODEL_OP_QKV || op == MODEL_OP_ATTN_OUT || op == MODEL_OP_MLP_UP
         || op == MODEL_OP_MLP_DOWN || op == MODEL_OP_LM_HEAD;
}

static double
roof (const KernHostRates *r, double flops, double rate, double bytes)
{
  return fmax (fmax (rate > 0 ? flops / rate : 0, bytes / r->mem_bw), r->floor_s);
}

/* Decode attention streams the KV cache: its calibrated effective bandwidth
 * (dec_bw, measured at 4 x 1024 tokens) rather than the streaming add's. */
static double
roof_decode (const KernHostRates *r, double flops, double bytes)
{
  return fmax (fmax (flops / r->attn_flops, bytes / r->dec_bw), r->floor_s);
}

static int
op_elem_class (int op)
{
  switch (op) {
  case MODEL_OP_EMBED: return MODEL_ELEM_EMBED;
  case MODEL_OP_ROPE: return MODEL_ELEM_ROPE;
  case MODEL_OP_ACT: return MODEL_ELEM_ACT;
  case MODEL_OP_ADD: return MODEL_ELEM_ADD;
  case MODEL_OP_KV_WRITE: return MODEL_ELEM_KV_WRITE;
  default: return MODEL_ELEM_NORM;
  }
}

/* Σ over operators of count x roofline(one kernel), rates as measured:
 * GEMMs at the GEMM rate, attention at the attention rate, element-wise
 * kernels at their class's effective bandwidth. */
static double
roof_iteration (const KernHostRates *r, const ModelIterCost *ic)
{
  double t = 0;
  for (int i = 0; i < MODEL_OP_COUNT; i++) {
    const ModelOpCost *o = &ic->op[i];
    if (o->count <= 0)
      continue;
    double f = o->flops / o->count, b = o->bytes / o->count;
    if (is_gemm_op (i))
      t += o->count * roof (r, f, r->gemm_flops, b);
    else if (i == MODEL_OP_ATTN_PREFILL)
      t += o->count * roof (r, f, r->attn_flops, b);
    else if (i == MODEL_OP_ATTN_DECODE)
      t += o->count * roof_decode (r, f, b);
    else
      t += o->count * fmax (b / r->elem_bw[op_elem_class (i)], r->floor_s);
  }
  return t;
}

void
kern_host_predict (GArray *rows, const ModelGpu *gpu, const KernHostRates *r, gboolean quick)
{
  g_return_if_fail (rows != NULL && gpu != NULL && r != NULL);
  const ModelCostParams *p = &gpu->profile;
  ModelLlm m;
  host_llm (&m, quick);
  ModelCost cost;
  model_cost_init (&cost, &m, gpu, 1);
  ModelCostParams cp = cost.params;
  cp.kv_dtype_bytes = 4;
  model_cost_set_params (&cost, &cp, FALSE);
  for (guint i = 0; i < rows->len; i++) {
    KernHostRow *x = &g_array_index (rows, KernHostRow, i);
    const int *s = x->shape;
    if (strcmp (x->kind, "gemm") == 0) {
      double f = model_gemm_flops (s[0], s[1], s[2]), b = model_gemm_bytes (s[0], s[1], s[2], 4);
      x->model_s = model_time_gemm (p, gpu, s[0], s[1], s[2], 4);
      x->roof_s = roof (r, f, r->gemm_flops, b);
    } else if (strcmp (x->kind, "elem") == 0) {
      /* shape: class, T, h */
      double b = s[0] == MODEL_ELEM_NORM ? 2.0 * s[1] * s[2] * 4 + s[2] * 4.0 : 3.0 * s[1] * s[2] * 4;
      x->model_s = model_time_elem (p, gpu, (ModelElemClass) s[0], b);
      x->roof_s = fmax (b / r->elem_bw[s[0]], r->floor_s);
    } else if (strcmp (x->kind, "attn") == 0) {
      ModelSeqWork *sw = g_new (ModelSeqWork, s[0]);
      for (int j = 0; j < s[0]; j++)
        sw[j] = (ModelSeqWork) { s[1], s[2] };
      gboolean dec = s[1] == 1 && s[2] > 0;
      ModelIterCost ic;
      model_cost_iteration (&cost, sw, s[0], &ic);
      const ModelOpCost *o = &ic.op[dec ? MODEL_OP_ATTN_DECODE : MODEL_OP_ATTN_PREFILL];
      x->model_s = model_cost_attn_time (&cost, sw, s[0], dec);
      x->roof_s = dec ? roof_decode (r, o->flops / o->count, o->bytes / o->count)
                      : roof (r, o->flops / o->count, r->attn_flops, o->bytes / o->count);
      g_free (sw);
    } else {
      GArray *sw = parse_mix (x->name + strlen ("iter "));
      ModelIterCost ic;
      model_cost_iteration (&cost, (ModelSeqWork *) (void *) sw->data, sw->len, &ic);
      x->model_s = ic.total_s;
      x->roof_s = roof_iteration (r, &ic);
      g_array_free (sw, TRUE);
    }
  }
}

void
kern_host_errors (const GArray *rows, int which, const char *kind, double *median, double *p90,
                  int *n)
{
  g_return_if_fail (rows != NULL && median != NULL && p90 != NULL);
  GArray *e = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint i = 0; i < rows->len; i++) {
    const KernHostRow *r = &g_array_index (rows, KernHostRow, i);
    if (kind && strcmp (kind, r->kind) != 0)
      continue;
    double pred = which == 0 ? r->model_s : r->roof_s;
    double err = fabs (pred - r->measured_s) / r->measured_s;
    g_array_append_val (e, err);
  }
  if (n)
    *n = (int) e->len;
  if (e->len == 0) {
    *median = *p90 = NAN;
  } else {
    g_array_sort (e, cmp_double);
    double *v = (double *) (void *) e->data;
    guint L = e->len;
    *median = L % 2 ? v[L / 2] : 0.5 * (v[L / 2 - 1] + v[L / 2]);
    /* nearest-rank 90th percentile */
    guint k = (guint) ceil (0.9 * L);
    *p90 = v[MAX (1u, k) - 1];
  }
  g_array_free (e, TRUE);
}
