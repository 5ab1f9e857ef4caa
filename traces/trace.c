/* traces/trace.c — workload in: trace readers and synthetic generators.
 *
 * A TraceSource hands out requests one at a time, in arrival order. File
 * sources stream their file through a small reusable buffer (memory grows with
 * the longest line, never with the file): the Azure 2023 CSV, the Vidur /
 * Splitwise processed CSV, Mooncake JSONL and a generic CSV whose header names
 * the columns. Synthetic sources draw Poisson or Gamma arrivals and fixed,
 * uniform or empirical (length-file) prompt/output lengths from the RNG stream
 * (seed, "workload", 0). Both apply the same window (start_s, end_s, limit,
 * time_scale) and renumber ids from 0. Any CSV format may add the optional
 * columns "priority", "client" and "conversation" (whole numbers; -1 in the
 * TraceRequest when absent). Every malformed row is a GError
 * "file:line: what is wrong (expected vs found)".
 *
 * It does not own what happens to a request once handed out (the serving
 * world schedules it), nor the scenario file that names the source: option
 * names in errors follow the scenario keys ("workload.time_scale",
 * "workload.generator.rate") but parsing them is the caller's job.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "sim/rng.h"
#include "sim/util.h"
#include "traces/trace.h"

G_DEFINE_QUARK (trace-error-quark, trace_error)

#define READ_CHUNK      (64 * 1024)
#define MAX_LINE        (64 * 1024 * 1024)  /* a longer "line" is not a trace */
#define MAX_ARRIVAL_S   9.0e9               /* keeps ns inside gint64 */
#define HEADER_SHOWN    240                 /* header text quoted in errors */
#define PREV_TOKEN_MAX  64

/* ------------------------------------------------------------------------ */
/* Line reader: fread into one growable buffer, hand out NUL-terminated lines */

typedef struct {
  FILE   *fp;
  char   *path;     /* as opened, for messages */
  char   *buf;
  gsize   cap, start, end;
  gboolean eof;
  gint64  line_no;  /* physical line of the last line returned (1-based) */
} LineReader;

static gboolean
line_reader_open (LineReader *r, const char *path, const char *what, GError **error)
{
  memset (r, 0, sizeof *r);
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, TRACE_ERROR, TRACE_ERROR_IO, "cannot read %s '%s': is a directory",
                 what, path);
    return FALSE;
  }
  r->fp = fopen (path, "rb");
  if (!r->fp) {
    int e = errno;
    g_set_error (error, TRACE_ERROR, TRACE_ERROR_IO, "cannot open %s '%s': %s", what, path,
                 g_strerror (e));
    return FALSE;
  }
  /* fread fills our own buffer; a second stdio buffer would only copy twice */
  setvbuf (r->fp, NULL, _IONBF, 0);
  r->path = g_strdup (path);
  r->cap = READ_CHUNK;
  r->buf = g_malloc (r->cap);
  return TRUE;
}

static void
line_reader_close (LineReader *r)
{
  if (r->fp)
    fclose (r->fp);
  r->fp = NULL;
  g_clear_pointer (&r->buf, g_free);
  r->cap = r->start = r->end = 0;
  r->eof = TRUE;
}

static void
line_reader_clear (LineReader *r)
{
  line_reader_close (r);
  g_clear_pointer (&r->path, g_free);
}

/* Next physical line (without "\n" / "\r\n", BOM stripped on line 1), valid
 * until the next call. NULL at the end (error unset) or on a read error. */
static char *
line_reader_next (LineReader *r, gsize *len_out, GError **error)
{
  for (;;) {
    if (!r->buf)
      return NULL;
    char *base = r->buf + r->start;
    gsize avail = r->end - r->start;
    char *nl = avail ? memchr (base, '\n', avail) : NULL;
    gsize len;
    if (nl) {
      len = (gsize) (nl - base);
      r->start += len + 1;
    } else if (r->eof) {
      if (avail == 0)
        return NULL;
      len = avail; /* last line without a newline; buffer keeps a spare byte */
      r->start = r->end;
    } else {
      if (r->start > 0) {
        memmove (r->buf, base, avail);
        r->end = avail;
        r->start = 0;
      }
      if (r->end + 1 >= r->cap) {
        if (r->cap >= MAX_LINE) {
          g_set_error (error, TRACE_ERROR, TRACE_ERROR_PARSE,
                       "%s:%" G_GINT64_FORMAT ": line longer than %d bytes (not a trace file?)",
                       r->path, r->line_no + 1, MAX_LINE);
          return NULL;
        }
        r->cap *= 2;
        r->buf = g_realloc (r->buf, r->cap);
      }
      gsize n = fread (r->buf + r->end, 1, r->cap - r->end - 1, r->fp);
      if (n == 0) {
        if (ferror (r->fp)) {
          int e = errno;
          g_set_error (error, TRACE_ERROR, TRACE_ERROR_IO, "cannot read '%s': %s", r->path,
                       g_strerror (e));
          return NULL;
        }
        r->eof = TRUE;
      }
      r->end += n;
      continue;
    }
    base[len] = '\0';
    if (len > 0 && base[len - 1] == '\r')
      base[--len] = '\0';
    r->line_no++;
    if (r->line_no == 1 && len >= 3 && (guchar) base[0] == 0xEF && (guchar) base[1] == 0xBB
        && (guchar) base[2] == 0xBF) {
      base += 3;
      len -= 3;
    }
    *len_out = len;
    return base;
  }
}

static gboolean
is_blank (const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
      return FALSE;
  return TRUE;
}

/* Next non-blank line, or NULL (end or error). */
static char *
line_reader_next_nonblank (LineReader *r, gsize *len, GError **error)
{
  char *l;
  while ((l = line_reader_next (r, len, error)))
    if (!is_blank (l, *len))
      return l;
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* CSV fields                                                               */

/* Splits `line` in place into at most `max` fields (NUL-terminated, spaces
 * around unquoted fields trimmed, "double quotes" with "" escapes removed).
 * Returns the number of fields stored; stops once `max` are stored. */
static int
csv_split (char *line, char **fields, int max)
{
  int n = 0;
  char *p = line;
  while (n < max) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '"') {
      char *w = ++p, *f = w;
      for (;;) {
        if (*p == '\0')
          break;
        if (*p == '"') {
          if (p[1] == '"') {
            *w++ = '"';
            p += 2;
            continue;
          }
          p++;
          break;
        }
        *w++ = *p++;
      }
      while (*p && *p != ',')
        p++; /* text after the closing quote is dropped */
      char c = *p;
      *w = '\0';
      fields[n++] = f;
      if (c == '\0')
        break;
      p++;
      continue;
    }
    char *f = p;
    while (*p && *p != ',')
      p++;
    char c = *p;
    char *e = p;
    while (e > f && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    *e = '\0';
    fields[n++] = f;
    if (c == '\0')
      break;
    p++;
  }
  return n;
}

/* ------------------------------------------------------------------------ */
/* The source                                                               */

typedef enum { SRC_FILE, SRC_SYNTH } SourceKind;

/* Required columns of a CSV format, in the order arrival, prompt, output. */
typedef struct {
  char *name[3];
  int   index[3];
  int   opt_index[3]; /* optional "priority", "client", "conversation" columns; -1 = absent */
  int   n_needed; /* 1 + the largest index */
} Columns;

#define N_OPTIONAL 3
static const char *const optional_columns[N_OPTIONAL] = { "priority", "client", "conversation" };
/* Largest value each optional column accepts. */
static const gint64 optional_max[N_OPTIONAL] = { TRACE_MAX_CLASS, TRACE_MAX_CLASS,
                                                 TRACE_MAX_CONVERSATION };

struct TraceSource {
  SourceKind kind;
  TraceFormat fmt;
  char   *describe;

  /* window */
  gint64  limit;
  double  time_scale;
  SimTime start_ns, end_ns; /* end_ns <= 0: none */
  double  arrival_unit_s;
  gint64  emitted;
  gboolean done;
  GError *failure;          /* the error that stopped the source, reported again */

  /* file */
  LineReader rd;
  Columns cols;
  char  **fields;           /* cols.n_needed slots */
  char   *pending;          /* a data line read while sniffing */
  gsize   pending_len;
  gboolean have_first;
  gint64  first_raw, prev_raw; /* ns in the file's own origin */
  char    prev_token[PREV_TOKEN_MAX];
  guint64 *blocks;
  gsize   n_blocks, cap_blocks;

  /* synthetic */
  SimRng *rng;
  TraceGenSpec spec;
  guint64 seed;
  double  t_s;
  gint64  generated;
  gint64 *pairs;            /* length file: prompt,output pairs */
  gsize   n_pairs;
};

gboolean
trace_format_from_string (const char *s, TraceFormat *out)
{
  static const struct { const char *name; TraceFormat f; } names[] = {
    { "auto", TRACE_FORMAT_AUTO },         { "azure", TRACE_FORMAT_AZURE },
    { "vidur", TRACE_FORMAT_VIDUR },       { "splitwise", TRACE_FORMAT_VIDUR },
    { "mooncake", TRACE_FORMAT_MOONCAKE }, { "jsonl", TRACE_FORMAT_MOONCAKE },
    { "csv", TRACE_FORMAT_CSV },
  };
  g_return_val_if_fail (out != NULL, FALSE);
  if (!s)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (s, names[i].name) == 0) {
      *out = names[i].f;
      return TRUE;
    }
  return FALSE;
}

const char *
trace_format_to_string (TraceFormat f)
{
  switch (f) {
  case TRACE_FORMAT_AUTO: return "auto";
  case TRACE_FORMAT_AZURE: return "azure";
  case TRACE_FORMAT_VIDUR: return "vidur";
  case TRACE_FORMAT_MOONCAKE: return "mooncake";
  case TRACE_FORMAT_CSV: return "csv";
  }
  return "unknown";
}

void
trace_options_init (TraceOptions *o)
{
  g_return_if_fail (o != NULL);
  memset (o, 0, sizeof *o);
  o->limit = 0;
  o->time_scale = 1.0;
  o->start_s = 0.0;
  o->end_s = 0.0;
  o->arrival_unit_s = 1.0;
}

void
trace_gen_spec_init (TraceGenSpec *g)
{
  g_return_if_fail (g != NULL);
  memset (g, 0, sizeof *g);
  g->arrival = TRACE_ARRIVAL_POISSON;
  g->rate = 1.0;
  g->cv = 1.0;
  g->num_requests = 1000;
  g->lengths = TRACE_LENGTH_FIXED;
  g->prompt_tokens = 512;
  g->output_tokens = 128;
  g->prompt_min = 1;
  g->prompt_max = 1024;
  g->output_min = 1;
  g->output_max = 256;
  g->length_file = NULL;
}

static gboolean
apply_options (TraceSource *s, const TraceOptions *opts, GError **error)
{
  TraceOptions def;
  if (!opts) {
    trace_options_init (&def);
    opts = &def;
  }
  if (!(opts->time_scale > 0) || !isfinite (opts->time_scale)) {
    g_set_error (error, TRACE_ERROR, TRACE_ERROR_INVALID,
                 "workload.time_scale must be > 0 and finite (got %g)", opts->time_scale);
    return FALSE;
  }
  if (!(opts->start_s >= 0) || !isfinite (opts->start_s) || opts->start_s > MAX_ARRIVAL_S) {
    g_set_error (error, TRACE_ERROR, TRACE_ERROR_INVALID,
                 "workload.start must be >= 0 and finite (got %g)", opts->start_s);
    return FALSE;
  }
  if (isnan (opts->end_s) || isinf (opts->end_s)) {
    g_set_error (error, TRACE_ERROR, TRACE_ERROR_INVALID,
                 "workload.end must be finite (<= 0 for no end; got %g)", opts->end_s);
    return FALSE;
  }
  if (opts->end_s > 0 && !(opts->end_s > opts->start_s)) {
    g_set_error (error, TRACE_ERROR, TRACE_ERROR_INVALID,
                 "workload.end must be > workload.start (got end_s %g, start_s %g)",
                 opts->end_s, opts->start_s);
    return FALSE;
  }
  if (!(opts->arrival_unit_s > 0) || !isfinite (opts->arrival_unit_s)) {
    g_set_error (error, TRACE_ERROR, TRACE_ERROR_INVALID,
                 "workload.arrival_unit_s must be > 0 and finite (got %g)", opts->arrival_unit_s);
    return FALSE;
  }
  s->limit = opts->limit > 0 ? opts->limit : 0;
  s->time_scale = opts->time_scale;
  s->start_ns = SIM_TIME_FROM_S (opts->start_s);
  s->end_ns = opts->end_s > 0 ? SIM_TIME_FROM_S (MIN (opts->end_s, MAX_ARRIVAL_S)) : 0;
  s->arrival_unit_s = opts->arrival_unit_s;
  const char *defaults[3] = { "arrival_s", "prompt_tokens", "output_tokens" };
  const char *given[3] = { opts->col_arrival, opts->col_prompt, opts->col_output };
  for (int i = 0; i < 3; i++)
    s->cols.name[i] = g_strdup (given[i] && *given[i] ? given[i] : defaults[i]);
  return TRUE;
}

/* " start_s=.. end_s=.. limit=.. time_scale=.." for the non-default options */
static void
describe_window (const TraceSource *s, GString *d)
{
  if (s->start_ns > 0)
    g_string_append_printf (d, " start_s=%g", SIM_TIME_TO_S (s->start_ns));
  if (s->end_ns > 0)
    g_string_append_printf (d, " end_s=%g", SIM_TIME_TO_S (s->end_ns));
  if (s->limit > 0)
    g_string_append_printf (d, " limit=%" G_GINT64_FORMAT, s->limit);
  if (s->time_scale != 1.0)
    g_string_append_printf (d, " time_scale=%g", s->time_scale);
}

void
trace_source_free (TraceSource *src)
{
  if (!src)
    return;
  line_reader_clear (&src->rd);
  for (int i = 0; i < 3; i++)
    g_free (src->cols.name[i]);
  g_free (src->fields);
  g_free (src->blocks);
  g_free (src->describe);
  g_clear_error (&src->failure);
  sim_rng_free (src->rng);
  g_free ((char *) src->spec.length_file);
  g_free (src->pairs);
  g_free (src);
}

const char *
trace_source_describe (const TraceSource *src)
{
  g_return_val_if_fail (src != NULL, NULL);
  return src->describe;
}

/* ------------------------------------------------------------------------ */
/* Row-level parsing                                                        */

#define ROW_ERROR(s, error, ...)                                              \
  row_error ((s)->rd.path, (s)->rd.line_no, (error), __VA_ARGS__)

static void row_error (const char *path, gint64 line, GError **error, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

static void
row_error (const char *path, gint64 line, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, TRACE_ERROR, TRACE_ERROR_PARSE, "%s:%" G_GINT64_FORMAT ": %s", path, line,
               what);
  g_free (what);
}

/* Where a value came from, for messages: "<path>:<line>: <kind> '<name>': ..." */
typedef struct {
  const char *path;
  gint64      line;
  const char *kind; /* "column" or "key" */
  const char *name;
} Where;

static void where_error (const Where *w, GError **error, const char *fmt, ...)
  G_GNUC_PRINTF (3, 4);

/* "<path>:<line>: <kind> '<name>': <fmt...>" */
static void
where_error (const Where *w, GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *what = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  row_error (w->path, w->line, error, "%s '%s': %s", w->kind, w->name, what);
  g_free (what);
}

/* Checks a token count already known to be a finite number. */
static gboolean
check_tokens_double (double v, const char *text, const Where *w, gint64 *out, GError **error)
{
  if (v < 1) {
    where_error (w, error, "expected a token count >= 1, found '%s'", text);
    return FALSE;
  }
  if (v > TRACE_MAX_TOKENS) {
    where_error (w, error, "expected a token count <= %d, found '%s' (absurd)", TRACE_MAX_TOKENS,
                 text);
    return FALSE;
  }
  if (v != floor (v)) {
    where_error (w, error, "expected a whole number of tokens, found '%s'", text);
    return FALSE;
  }
  *out = (gint64) v;
  return TRUE;
}

/* Only digits, signs, '.' and exponents: rejects "nan", "inf", hex floats. */
static gboolean
looks_decimal (const char *f)
{
  for (const char *p = f; *p; p++)
    if (!g_ascii_isdigit (*p) && !strchr (".eE+-", *p))
      return FALSE;
  return TRUE;
}

/* A token count: an integer in [1, TRACE_MAX_TOKENS]. "512.0" and "5e2" are
 * accepted (exactly integral numbers, as pandas writes them); "512.5", "",
 * "abc", "nan", "-3", "0" and "99999999999" are not. */
static gboolean
parse_tokens (const char *f, const Where *w, gint64 *out, GError **error)
{
  /* fast path: plain digits */
  const char *p = f;
  gint64 v = 0;
  while (*p >= '0' && *p <= '9' && v <= TRACE_MAX_TOKENS) {
    v = v * 10 + (*p - '0');
    p++;
  }
  if (*p == '\0' && p != f && v >= 1 && v <= TRACE_MAX_TOKENS) {
    *out = v;
    return TRUE;
  }
  /* slow path: say what is wrong (or accept an integral number) */
  if (*f == '\0') {
    where_error (w, error, "empty field, expected a token count (integer >= 1)");
    return FALSE;
  }
  char *end = NULL;
  errno = 0;
  double d = looks_decimal (f) ? g_ascii_strtod (f, &end) : 0;
  if (!end || end == f || *end != '\0') {
    where_error (w, error, "expected a token count (integer >= 1), found '%s'", f);
    return FALSE;
  }
  if (errno == ERANGE && fabs (d) > 1) {
    where_error (w, error, "expected a token count <= %d, found '%s' (absurd)", TRACE_MAX_TOKENS,
                 f);
    return FALSE;
  }
  return check_tokens_double (d, f, w, out, error);
}

/* An arrival time: a finite number >= 0, times `unit` seconds, to ns. */
static gboolean
parse_seconds (const char *f, double unit, const Where *w, gint64 *ns_out, GError **error)
{
  if (*f == '\0') {
    where_error (w, error, "empty field, expected an arrival time (number >= 0)");
    return FALSE;
  }
  char *end = NULL;
  errno = 0;
  double d = looks_decimal (f) ? g_ascii_strtod (f, &end) : 0;
  if (!end || end == f || *end != '\0') {
    where_error (w, error, "expected an arrival time (number >= 0), found '%s'", f);
    return FALSE;
  }
  if (d < 0) {
    where_error (w, error, "expected an arrival time >= 0, found '%s'", f);
    return FALSE;
  }
  double sec = d * unit;
  if ((errno == ERANGE && d > 1) || !isfinite (sec) || sec > MAX_ARRIVAL_S) {
    where_error (w, error, "expected an arrival time <= %.0f s, found '%s' (absurd)",
                 MAX_ARRIVAL_S, f);
    return FALSE;
  }
  *ns_out = (gint64) llround (sec * 1e9);
  return TRUE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static gint64
days_from_civil (gint64 y, int m, int d)
{
  y -= m <= 2;
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int
digits (const char *p, int n)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  return v;
}

/* "YYYY-MM-DD HH:MM:SS[.f{1,9}]" (or 'T' between date and time), read as UTC,
 * to ns since the epoch. */
static gboolean
parse_azure_time (const char *f, gint64 *ns_out)
{
  static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  if (strlen (f) < 19 || f[4] != '-' || f[7] != '-' || (f[10] != ' ' && f[10] != 'T')
      || f[13] != ':' || f[16] != ':')
    return FALSE;
  int y = digits (f, 4), mo = digits (f + 5, 2), d = digits (f + 8, 2);
  int h = digits (f + 11, 2), mi = digits (f + 14, 2), se = digits (f + 17, 2);
  if (y < 1900 || y > 2200 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0
      || mi > 59 || se < 0 || se > 60)
    return FALSE;
  gboolean leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > mdays[mo - 1] + (mo == 2 && leap))
    return FALSE;
  gint64 frac = 0;
  const char *p = f + 19;
  if (*p == '.') {
    p++;
    int nd = 0;
    while (*p >= '0' && *p <= '9' && nd < 10) {
      frac = frac * 10 + (*p - '0');
      p++;
      nd++;
    }
    if (nd == 0 || nd > 9)
      return FALSE;
    for (; nd < 9; nd++)
      frac *= 10;
  }
  if (*p != '\0')
    return FALSE;
  gint64 secs = days_from_civil (y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
  *ns_out = secs * SIM_S + frac;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Header                                                                   */

static gboolean
find_columns (TraceSource *s, char **names, int n, GError **error)
{
  for (int c = 0; c < 3; c++) {
    s->cols.index[c] = -1;
    for (int i = 0; i < n; i++)
      if (g_ascii_strcasecmp (names[i], s->cols.name[c]) == 0) {
        s->cols.index[c] = i;
        break;
      }
    if (s->cols.index[c] < 0) {
      GString *h = g_string_new (NULL);
      for (int i = 0; i < n && h->len < HEADER_SHOWN; i++)
        g_string_append_printf (h, "%s%s", i ? "," : "", names[i]);
      if (h->len >= HEADER_SHOWN)
        g_string_append (h, ",...");
      ROW_ERROR (s, error,
                 "missing required column '%s' for the %s format (expected a header naming "
                 "%s, %s, %s; header found: %s)",
                 s->cols.name[c], trace_format_to_string (s->fmt), s->cols.name[0],
                 s->cols.name[1], s->cols.name[2], h->str);
      g_string_free (h, TRUE);
      return FALSE;
    }
  }
  s->cols.n_needed = 1 + MAX (s->cols.index[0], MAX (s->cols.index[1], s->cols.index[2]));
  for (int c = 0; c < N_OPTIONAL; c++) {
    s->cols.opt_index[c] = -1;
    for (int i = 0; i < n; i++)
      if (g_ascii_strcasecmp (names[i], optional_columns[c]) == 0) {
        s->cols.opt_index[c] = i;
        s->cols.n_needed = MAX (s->cols.n_needed, i + 1);
        break;
      }
  }
  return TRUE;
}

/* An optional column: a whole number in [0, max]. */
static gboolean
parse_class (const char *text, gint64 max, const Where *w, gint64 *out, GError **error)
{
  char *end = NULL;
  errno = 0;
  gint64 v = g_ascii_strtoll (text, &end, 10);
  if (!*text || end == text || *end || errno || v < 0 || v > max) {
    where_error (w, error, "expected a whole number from 0 to %" G_GINT64_FORMAT ", found '%s'",
                 max, text);
    return FALSE;
  }
  *out = v;
  return TRUE;
}

/* How many of the three names the header has. */
static int
count_columns (char **names, int n, const char *a, const char *p, const char *o)
{
  const char *want[3] = { a, p, o };
  int found = 0;
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < n; i++)
      if (g_ascii_strcasecmp (names[i], want[c]) == 0) {
        found++;
        break;
      }
  return found;
}

static void
set_column_names (TraceSource *s, const char *a, const char *p, const char *o)
{
  const char *n[3] = { a, p, o };
  for (int i = 0; i < 3; i++) {
    g_free (s->cols.name[i]);
    s->cols.name[i] = g_strdup (n[i]);
  }
}

/* Reads the header (or, for AUTO, sniffs the format from the first non-blank
 * line). */
static gboolean
read_header (TraceSource *s, GError **error)
{
  gsize len;
  GError *e = NULL;
  char *line = line_reader_next_nonblank (&s->rd, &len, &e);
  if (!line) {
    if (e) {
      g_propagate_error (error, e);
      return FALSE;
    }
    if (s->fmt == TRACE_FORMAT_MOONCAKE)
      return TRUE; /* an empty JSONL file is an empty trace */
    row_error (s->rd.path, 1, error, "empty file: expected %s",
               s->fmt == TRACE_FORMAT_AUTO ? "a CSV header or a JSON object to tell the format"
                                           : "a header line naming the columns");
    return FALSE;
  }
  if (s->fmt == TRACE_FORMAT_MOONCAKE || (s->fmt == TRACE_FORMAT_AUTO && line[0] == '{')) {
    s->fmt = TRACE_FORMAT_MOONCAKE;
    s->pending = line;
    s->pending_len = len;
    return TRUE;
  }
  /* split the whole header */
  int n_max = 1;
  for (const char *p = line; *p; p++)
    n_max += *p == ',';
  char **names = g_new (char *, n_max);
  int n = csv_split (line, names, n_max);
  gboolean ok;
  if (s->fmt == TRACE_FORMAT_AUTO) {
    /* a complete set of names wins (Azure, then Vidur, then the generic
     * names); otherwise the closest, so that the error names what is missing */
    int az = count_columns (names, n, "TIMESTAMP", "ContextTokens", "GeneratedTokens");
    int vi = count_columns (names, n, "arrived_at", "num_prefill_tokens", "num_decode_tokens");
    int cs = count_columns (names, n, s->cols.name[0], s->cols.name[1], s->cols.name[2]);
    if (az == 3 || (az > vi && az > cs))
      s->fmt = TRACE_FORMAT_AZURE;
    else if (vi == 3 || (vi > cs && cs < 3))
      s->fmt = TRACE_FORMAT_VIDUR;
    else
      s->fmt = TRACE_FORMAT_CSV; /* the column names the options gave */
  }
  if (s->fmt == TRACE_FORMAT_AZURE)
    set_column_names (s, "TIMESTAMP", "ContextTokens", "GeneratedTokens");
  else if (s->fmt == TRACE_FORMAT_VIDUR)
    set_column_names (s, "arrived_at", "num_prefill_tokens", "num_decode_tokens");
  ok = find_columns (s, names, n, error);
  g_free (names);
  if (ok)
    s->fields = g_new (char *, s->cols.n_needed);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Rows                                                                     */

static void
fail (TraceSource *s, GError **error, GError *e)
{
  s->done = TRUE;
  g_clear_error (&s->failure);
  s->failure = g_error_copy (e);
  g_propagate_error (error, e);
  line_reader_close (&s->rd);
}

static void
finish (TraceSource *s)
{
  s->done = TRUE;
  line_reader_close (&s->rd);
}

/* The window. Returns 1 to emit (*out = output time), 0 to skip, -1 when past
 * the end. `rel` is ns from the first row (or from 0 for synthetic). */
static int
window (const TraceSource *s, SimTime rel, SimTime *out)
{
  if (rel < s->start_ns)
    return 0;
  if (s->end_ns > 0 && rel >= s->end_ns)
    return -1;
  SimTime t = rel - s->start_ns;
  if (s->time_scale != 1.0) {
    double v = (double) t * s->time_scale;
    t = v < 9.2e18 ? (SimTime) llround (v) : SIM_TIME_MAX;
  }
  *out = t;
  return 1;
}

static gboolean
check_order (TraceSource *s, gint64 raw, const char *token, gsize token_len, GError **error)
{
  if (!s->have_first) {
    s->have_first = TRUE;
    s->first_raw = raw;
  } else if (raw < s->prev_raw) {
    char cur[PREV_TOKEN_MAX];
    g_strlcpy (cur, token, MIN (token_len + 1, sizeof cur));
    ROW_ERROR (s, error,
               "arrival time '%s' goes backwards: the previous row's was '%s' (expected times "
               "that never decrease)", cur, s->prev_token);
    return FALSE;
  }
  s->prev_raw = raw;
  gsize n = MIN (token_len, sizeof s->prev_token - 1);
  memcpy (s->prev_token, token, n);
  s->prev_token[n] = '\0';
  return TRUE;
}

static gboolean
parse_csv_row (TraceSource *s, char *line, gint64 *raw, TraceRequest *out, GError **error)
{
  int nf = csv_split (line, s->fields, s->cols.n_needed);
  if (nf < s->cols.n_needed) {
    const char *missing = NULL;
    int field = 0;
    for (int c = 0; c < 3 && !missing; c++)
      if (s->cols.index[c] >= nf) {
        missing = s->cols.name[c];
        field = s->cols.index[c] + 1;
      }
    for (int c = 0; c < N_OPTIONAL && !missing; c++)
      if (s->cols.opt_index[c] >= nf) {
        missing = optional_columns[c];
        field = s->cols.opt_index[c] + 1;
      }
    ROW_ERROR (s, error,
               "too few fields: expected at least %d (column '%s' is field %d), found %d",
               s->cols.n_needed, missing ? missing : "?", field, nf);
    return FALSE;
  }
  const char *ta = s->fields[s->cols.index[0]];
  Where w = { s->rd.path, s->rd.line_no, "column", s->cols.name[0] };
  if (s->fmt == TRACE_FORMAT_AZURE) {
    if (!parse_azure_time (ta, raw)) {
      ROW_ERROR (s, error,
                 "column '%s': expected a timestamp like '2023-11-16 18:15:46.6805900' (at most "
                 "9 fractional digits), found '%s'", w.name, ta);
      return FALSE;
    }
  } else {
    double unit = s->fmt == TRACE_FORMAT_CSV ? s->arrival_unit_s : 1.0;
    if (!parse_seconds (ta, unit, &w, raw, error))
      return FALSE;
  }
  w.name = s->cols.name[1];
  if (!parse_tokens (s->fields[s->cols.index[1]], &w, &out->prompt_tokens, error))
    return FALSE;
  w.name = s->cols.name[2];
  if (!parse_tokens (s->fields[s->cols.index[2]], &w, &out->output_tokens, error))
    return FALSE;
  out->n_prefix_blocks = 0;
  out->prefix_blocks = NULL;
  gint64 *cls[N_OPTIONAL] = { &out->priority, &out->client, &out->conversation };
  for (int c = 0; c < N_OPTIONAL; c++) {
    *cls[c] = -1;
    if (s->cols.opt_index[c] < 0)
      continue;
    w.name = optional_columns[c];
    if (!parse_class (s->fields[s->cols.opt_index[c]], optional_max[c], &w, cls[c], error))
      return FALSE;
  }
  return check_order (s, *raw, ta, strlen (ta), error);
}

static const char *
json_type_name (const json_t *v)
{
  switch (json_typeof (v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a real number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  case JSON_NULL: return "null";
  }
  return "?";
}

static gboolean
json_tokens (TraceSource *s, json_t *o, const char *key, gint64 *out, GError **error)
{
  json_t *v = json_object_get (o, key);
  Where w = { s->rd.path, s->rd.line_no, "key", key };
  if (!v) {
    ROW_ERROR (s, error, "missing key '%s' (expected a token count)", key);
    return FALSE;
  }
  if (json_is_integer (v)) {
    json_int_t i = json_integer_value (v);
    if (i >= 1 && i <= TRACE_MAX_TOKENS) {
      *out = i;
      return TRUE;
    }
    char text[32];
    g_snprintf (text, sizeof text, "%" JSON_INTEGER_FORMAT, i);
    return check_tokens_double ((double) i, text, &w, out, error);
  }
  if (json_is_real (v)) {
    char text[32];
    g_snprintf (text, sizeof text, "%.17g", json_real_value (v));
    return check_tokens_double (json_real_value (v), text, &w, out, error);
  }
  ROW_ERROR (s, error, "key '%s': expected a token count (integer >= 1), found %s", key,
             json_type_name (v));
  return FALSE;
}

static gboolean
parse_json_row (TraceSource *s, const char *line, gsize len, gint64 *raw, TraceRequest *out,
                GError **error)
{
  json_error_t jerr;
  json_t *o = json_loadb (line, len, JSON_DECODE_ANY, &jerr);
  gboolean ok = FALSE;
  if (!o) {
    ROW_ERROR (s, error, "invalid JSON at column %d: %s (expected one JSON object per line)",
               jerr.column, jerr.text);
    return FALSE;
  }
  if (!json_is_object (o)) {
    ROW_ERROR (s, error, "expected a JSON object, found %s", json_type_name (o));
    goto out;
  }
  json_t *ts = json_object_get (o, "timestamp");
  char tok[PREV_TOKEN_MAX];
  double ms;
  if (!ts) {
    ROW_ERROR (s, error, "missing key 'timestamp' (expected an arrival time in ms)");
    goto out;
  }
  if (json_is_integer (ts)) {
    g_snprintf (tok, sizeof tok, "%" JSON_INTEGER_FORMAT, json_integer_value (ts));
    ms = (double) json_integer_value (ts);
  } else if (json_is_real (ts)) {
    g_snprintf (tok, sizeof tok, "%.17g", json_real_value (ts));
    ms = json_real_value (ts);
  } else {
    ROW_ERROR (s, error, "key 'timestamp': expected an arrival time in ms (number >= 0), found %s",
               json_type_name (ts));
    goto out;
  }
  if (ms < 0) {
    ROW_ERROR (s, error, "key 'timestamp': expected an arrival time >= 0 ms, found %s", tok);
    goto out;
  }
  if (ms / 1000.0 > MAX_ARRIVAL_S) {
    ROW_ERROR (s, error, "key 'timestamp': expected an arrival time <= %.0f ms, found %s (absurd)",
               MAX_ARRIVAL_S * 1000.0, tok);
    goto out;
  }
  if (json_is_integer (ts))
    *raw = (gint64) json_integer_value (ts) * SIM_MS;
  else
    *raw = (gint64) llround (ms * 1e6);
  if (!json_tokens (s, o, "input_length", &out->prompt_tokens, error)
      || !json_tokens (s, o, "output_length", &out->output_tokens, error))
    goto out;
  json_t *h = json_object_get (o, "hash_ids");
  s->n_blocks = 0;
  if (h && !json_is_null (h)) {
    if (!json_is_array (h)) {
      ROW_ERROR (s, error, "key 'hash_ids': expected an array of non-negative integers, found %s",
                 json_type_name (h));
      goto out;
    }
    gsize n = json_array_size (h);
    if (n > s->cap_blocks) {
      s->cap_blocks = MAX (n, 2 * s->cap_blocks);
      s->blocks = g_renew (guint64, s->blocks, s->cap_blocks);
    }
    for (gsize i = 0; i < n; i++) {
      json_t *b = json_array_get (h, i);
      if (!json_is_integer (b) || json_integer_value (b) < 0) {
        if (json_is_integer (b))
          ROW_ERROR (s, error,
                     "key 'hash_ids', element %" G_GSIZE_FORMAT ": expected a non-negative "
                     "integer, found %" JSON_INTEGER_FORMAT, i, json_integer_value (b));
        else
          ROW_ERROR (s, error,
                     "key 'hash_ids', element %" G_GSIZE_FORMAT ": expected a non-negative "
                     "integer, found %s", i, json_type_name (b));
        goto out;
      }
      s->blocks[i] = (guint64) json_integer_value (b);
    }
    s->n_blocks = n;
  }
  out->n_prefix_blocks = s->n_blocks;
  out->prefix_blocks = s->n_blocks ? s->blocks : NULL;
  ok = check_order (s, *raw, tok, strlen (tok), error);
out:
  json_decref (o);
  return ok;
}

static gboolean
next_from_file (TraceSource *s, TraceRequest *out, GError **error)
{
  for (;;) {
    GError *e = NULL;
    char *line;
    gsize len;
    if (s->pending) {
      line = s->pending;
      len = s->pending_len;
      s->pending = NULL;
    } else {
      line = line_reader_next (&s->rd, &len, &e);
      if (!line) {
        if (e) {
          fail (s, error, e);
          return FALSE;
        }
        finish (s);
        return FALSE;
      }
      if (is_blank (line, len))
        continue;
    }
    gint64 raw = 0;
    gboolean ok = s->fmt == TRACE_FORMAT_MOONCAKE ? parse_json_row (s, line, len, &raw, out, &e)
                                                  : parse_csv_row (s, line, &raw, out, &e);
    if (!ok) {
      fail (s, error, e);
      return FALSE;
    }
    SimTime t;
    int w = window (s, raw - s->first_raw, &t);
    if (w == 0)
      continue;
    if (w < 0) {
      finish (s);
      return FALSE;
    }
    out->arrival = t;
    out->source_line = s->rd.line_no;
    return TRUE;
  }
}

/* Relative paths that name no file are looked up as bundled data
 * ("traces/data/azure_conv_1k.csv"). Returns a new path. */
static char *
resolve_path (const char *path)
{
  if (!g_path_is_absolute (path) && !g_file_test (path, G_FILE_TEST_EXISTS)) {
    char *p = sim_data_find (path, NULL);
    if (p)
      return p;
  }
  return g_strdup (path);
}

TraceSource *
trace_source_open (const char *path, TraceFormat fmt, const TraceOptions *opts, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_return_val_if_fail (fmt >= TRACE_FORMAT_AUTO && fmt <= TRACE_FORMAT_CSV, NULL);
  TraceSource *s = g_new0 (TraceSource, 1);
  s->kind = SRC_FILE;
  s->fmt = fmt;
  char *resolved = resolve_path (path);
  gboolean ok = apply_options (s, opts, error)
                && line_reader_open (&s->rd, resolved, "trace file", error)
                && read_header (s, error);
  if (!ok) {
    g_free (resolved);
    trace_source_free (s);
    return NULL;
  }
  GString *d = g_string_new (NULL);
  g_string_append_printf (d, "%s:%s", trace_format_to_string (s->fmt), resolved);
  if (s->fmt == TRACE_FORMAT_CSV) {
    if (strcmp (s->cols.name[0], "arrival_s") || strcmp (s->cols.name[1], "prompt_tokens")
        || strcmp (s->cols.name[2], "output_tokens"))
      g_string_append_printf (d, " columns=%s,%s,%s", s->cols.name[0], s->cols.name[1],
                              s->cols.name[2]);
    if (s->arrival_unit_s != 1.0)
      g_string_append_printf (d, " arrival_unit_s=%g", s->arrival_unit_s);
  }
  describe_window (s, d);
  s->describe = g_string_free (d, FALSE);
  g_free (resolved);
  return s;
}

/* ------------------------------------------------------------------------ */
/* Synthetic                                                                */

/* Loads the (prompt, output) pairs of a Vidur lengths CSV. */
static gboolean
load_length_file (TraceSource *s, const char *path, GError **error)
{
  static const char *key = "workload.generator.length_file";
  LineReader r;
  GError *e = NULL;
  if (!line_reader_open (&r, path, "length file", &e)) {
    g_set_error (error, TRACE_ERROR, TRACE_ERROR_IO, "%s: %s", key, e->message);
    g_error_free (e);
    return FALSE;
  }
  gboolean ok = FALSE;
  gsize len, cap = 1024;
  GArray *pairs = g_array_sized_new (FALSE, FALSE, sizeof (gint64), cap);
  char **names = NULL;
  int ip = -1, io = -1, need = 0;
  char *line = line_reader_next_nonblank (&r, &len, &e);
  if (!line) {
    if (e)
      g_propagate_error (error, e);
    else
      row_error (path, 1, error,
                 "empty file: expected a header naming num_prefill_tokens,num_decode_tokens");
    goto out;
  }
  int n_max = 1;
  for (const char *p = line; *p; p++)
    n_max += *p == ',';
  names = g_new (char *, n_max);
  GString *hdr = g_string_new (line);
  int n = csv_split (line, names, n_max);
  for (int i = n - 1; i >= 0; i--) {
    if (g_ascii_strcasecmp (names[i], "num_prefill_tokens") == 0)
      ip = i;
    if (g_ascii_strcasecmp (names[i], "num_decode_tokens") == 0)
      io = i;
  }
  if (ip < 0 || io < 0) {
    row_error (path, r.line_no, error,
               "missing required column '%s' for a length file (expected a header naming "
               "num_prefill_tokens, num_decode_tokens; header found: %.*s)",
               ip < 0 ? "num_prefill_tokens" : "num_decode_tokens", HEADER_SHOWN, hdr->str);
    g_string_free (hdr, TRUE);
    goto out;
  }
  g_string_free (hdr, TRUE);
  need = 1 + MAX (ip, io);
  char **f = names; /* n_max >= need */
  while ((line = line_reader_next (&r, &len, &e))) {
    if (is_blank (line, len))
      continue;
    int nf = csv_split (line, f, need);
    if (nf < need) {
      row_error (path, r.line_no, error, "too few fields: expected at least %d, found %d", need,
                 nf);
      goto out;
    }
    gint64 v[2];
    Where w = { path, r.line_no, "column", "num_prefill_tokens" };
    if (!parse_tokens (f[ip], &w, &v[0], error))
      goto out;
    w.name = "num_decode_tokens";
    if (!parse_tokens (f[io], &w, &v[1], error))
      goto out;
    g_array_append_vals (pairs, v, 2);
  }
  if (e) {
    g_propagate_error (error, e);
    goto out;
  }
  if (pairs->len == 0) {
    row_error (path, r.line_no + 1, error, "expected at least one row of lengths, found none");
    goto out;
  }
  s->n_pairs = pairs->len / 2;
  s->pairs = (gint64 *) (void *) g_array_free (pairs, FALSE);
  pairs = NULL;
  ok = TRUE;
out:
  if (pairs)
    g_array_free (pairs, TRUE);
  g_free (names);
  line_reader_clear (&r);
  return ok;
}

#define SPEC_ERROR(error, ...) \
  (g_set_error ((error), TRACE_ERROR, TRACE_ERROR_INVALID, __VA_ARGS__), FALSE)

static gboolean
check_count (const char *key, gint64 v, GError **error)
{
  if (v < 1 || v > TRACE_MAX_TOKENS)
    return SPEC_ERROR (error, "workload.generator.%s must be in [1, %d] (got %" G_GINT64_FORMAT ")",
                       key, TRACE_MAX_TOKENS, v);
  return TRUE;
}

static gboolean
validate_spec (const TraceGenSpec *g, GError **error)
{
  if (g->arrival != TRACE_ARRIVAL_POISSON && g->arrival != TRACE_ARRIVAL_GAMMA)
    return SPEC_ERROR (error, "workload.generator.arrival must be poisson or gamma (got %d)",
                       (int) g->arrival);
  if (!(g->rate > 0) || !isfinite (g->rate))
    return SPEC_ERROR (error, "workload.generator.rate must be > 0 and finite (got %g)", g->rate);
  if (g->arrival == TRACE_ARRIVAL_GAMMA && (!(g->cv > 0) || !isfinite (g->cv)))
    return SPEC_ERROR (error, "workload.generator.cv must be > 0 and finite (got %g)", g->cv);
  if (g->num_requests < 1)
    return SPEC_ERROR (error, "workload.generator.num_requests must be > 0 (got %" G_GINT64_FORMAT
                       ")", g->num_requests);
  switch (g->lengths) {
  case TRACE_LENGTH_FIXED:
    return check_count ("prompt_tokens", g->prompt_tokens, error)
           && check_count ("output_tokens", g->output_tokens, error);
  case TRACE_LENGTH_UNIFORM:
    if (!check_count ("prompt_min", g->prompt_min, error)
        || !check_count ("prompt_max", g->prompt_max, error)
        || !check_count ("output_min", g->output_min, error)
        || !check_count ("output_max", g->output_max, error))
      return FALSE;
    if (g->prompt_max < g->prompt_min)
      return SPEC_ERROR (error, "workload.generator.prompt_max must be >= prompt_min (got %"
                         G_GINT64_FORMAT " < %" G_GINT64_FORMAT ")", g->prompt_max, g->prompt_min);
    if (g->output_max < g->output_min)
      return SPEC_ERROR (error, "workload.generator.output_max must be >= output_min (got %"
                         G_GINT64_FORMAT " < %" G_GINT64_FORMAT ")", g->output_max, g->output_min);
    return TRUE;
  case TRACE_LENGTH_FILE:
    if (!g->length_file || !*g->length_file)
      return SPEC_ERROR (error, "workload.generator.length_file must name a CSV file with "
                         "num_prefill_tokens,num_decode_tokens columns (got none)");
    return TRUE;
  }
  return SPEC_ERROR (error, "workload.generator.lengths must be fixed, uniform or file (got %d)",
                     (int) g->lengths);
}

TraceSource *
trace_source_new_synthetic (const TraceGenSpec *spec, guint64 seed, const TraceOptions *opts,
                            GError **error)
{
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (!validate_spec (spec, error))
    return NULL;
  TraceSource *s = g_new0 (TraceSource, 1);
  s->kind = SRC_SYNTH;
  s->spec = *spec;
  s->spec.length_file = NULL;
  s->seed = seed;
  if (!apply_options (s, opts, error))
    goto fail;
  char *lengths;
  if (spec->lengths == TRACE_LENGTH_FILE) {
    char *resolved = resolve_path (spec->length_file);
    s->spec.length_file = resolved;
    if (!load_length_file (s, resolved, error))
      goto fail;
    lengths = g_strdup_printf ("file(%s)", resolved);
  } else if (spec->lengths == TRACE_LENGTH_UNIFORM) {
    lengths = g_strdup_printf ("uniform(%" G_GINT64_FORMAT "-%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                               "-%" G_GINT64_FORMAT ")", spec->prompt_min, spec->prompt_max,
                               spec->output_min, spec->output_max);
  } else {
    lengths = g_strdup_printf ("fixed(%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ")",
                               spec->prompt_tokens, spec->output_tokens);
  }
  GString *d = g_string_new ("synthetic:");
  if (spec->arrival == TRACE_ARRIVAL_POISSON)
    g_string_append_printf (d, "poisson rate=%g", spec->rate);
  else
    g_string_append_printf (d, "gamma rate=%g cv=%g", spec->rate, spec->cv);
  g_string_append_printf (d, " n=%" G_GINT64_FORMAT " lengths=%s seed=%" G_GUINT64_FORMAT,
                          spec->num_requests, lengths, seed);
  g_free (lengths);
  describe_window (s, d);
  s->describe = g_string_free (d, FALSE);
  s->rng = sim_rng_new (seed, "workload", 0);
  return s;
fail:
  trace_source_free (s);
  return NULL;
}

/* Per request, in this order: one inter-arrival draw, then the lengths (fixed:
 * none; uniform: prompt then output; file: one index). The first request
 * arrives after one inter-arrival draw, not at 0, so the arrivals are a
 * stationary renewal process observed from time 0. */
static gboolean
next_synthetic (TraceSource *s, TraceRequest *out)
{
  const TraceGenSpec *g = &s->spec;
  while (s->generated < g->num_requests) {
    double dt = g->arrival == TRACE_ARRIVAL_POISSON
                  ? sim_rng_exponential (s->rng, g->rate)
                  : sim_rng_gamma (s->rng, 1.0 / (g->cv * g->cv), g->cv * g->cv / g->rate);
    s->t_s += dt;
    s->generated++;
    switch (g->lengths) {
    case TRACE_LENGTH_FIXED:
      out->prompt_tokens = g->prompt_tokens;
      out->output_tokens = g->output_tokens;
      break;
    case TRACE_LENGTH_UNIFORM:
      out->prompt_tokens = sim_rng_int_range (s->rng, g->prompt_min, g->prompt_max);
      out->output_tokens = sim_rng_int_range (s->rng, g->output_min, g->output_max);
      break;
    case TRACE_LENGTH_FILE: {
      gint64 i = sim_rng_int_range (s->rng, 0, (gint64) s->n_pairs - 1);
      out->prompt_tokens = s->pairs[2 * i];
      out->output_tokens = s->pairs[2 * i + 1];
      break;
    }
    }
    SimTime rel = s->t_s < MAX_ARRIVAL_S ? (SimTime) llround (s->t_s * 1e9) : SIM_TIME_MAX;
    SimTime t;
    int w = window (s, rel, &t);
    if (w == 0)
      continue;
    if (w < 0)
      break;
    out->arrival = t;
    out->n_prefix_blocks = 0;
    out->prefix_blocks = NULL;
    out->source_line = 0;
    return TRUE;
  }
  s->done = TRUE;
  return FALSE;
}

gboolean
trace_source_next (TraceSource *src, TraceRequest *out, GError **error)
{
  g_return_val_if_fail (src != NULL && out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  if (src->done) {
    if (src->failure)
      g_propagate_error (error, g_error_copy (src->failure));
    return FALSE;
  }
  if (src->limit > 0 && src->emitted >= src->limit) {
    if (src->kind == SRC_FILE)
      finish (src);
    src->done = TRUE;
    return FALSE;
  }
  /* formats without class columns leave them unset */
  out->priority = out->client = out->conversation = -1;
  gboolean ok = src->kind == SRC_FILE ? next_from_file (src, out, error)
                                      : next_synthetic (src, out);
  if (ok)
    out->id = (guint64) src->emitted++;
  return ok;
}
