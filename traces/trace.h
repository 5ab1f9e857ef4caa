/* traces/trace.h — workload in.
 *
 * A TraceSource yields requests one at a time in arrival order, whether it
 * reads a real trace file (streamed line by line, never loaded whole) or
 * draws a synthetic workload. Readers: Azure 2023 CSV, the Vidur/Splitwise
 * processed CSV, Mooncake JSONL, and a generic CSV whose header names the
 * columns. It knows nothing of the cluster that serves the requests.
 */
#ifndef TRACE_TRACE_H
#define TRACE_TRACE_H

#include <glib.h>
#include "sim/engine.h"

#define TRACE_ERROR (trace_error_quark ())
GQuark trace_error_quark (void);
typedef enum {
  TRACE_ERROR_IO,      /* cannot open/read: message names the path */
  TRACE_ERROR_PARSE,   /* malformed row: message is "file:line: what is wrong" */
  TRACE_ERROR_INVALID  /* bad option (message names the option) */
} TraceError;

typedef enum {
  TRACE_FORMAT_AUTO,     /* sniff from the header / first line */
  TRACE_FORMAT_AZURE,    /* TIMESTAMP,ContextTokens,GeneratedTokens */
  TRACE_FORMAT_VIDUR,    /* arrived_at,num_prefill_tokens,num_decode_tokens */
  TRACE_FORMAT_MOONCAKE, /* JSONL: timestamp (ms), input_length, output_length, hash_ids */
  TRACE_FORMAT_CSV       /* generic CSV: columns named by TraceOptions */
} TraceFormat;

/* "auto", "azure", "vidur", "mooncake", "csv". FALSE when unknown. */
gboolean    trace_format_from_string (const char *s, TraceFormat *out);
const char *trace_format_to_string (TraceFormat f);

/* Token counts above this are rejected as absurd (a corrupt row, not a request). */
#define TRACE_MAX_TOKENS 10000000

typedef struct {
  guint64  id;             /* 0,1,2,... in arrival order (after windowing) */
  SimTime  arrival;        /* ns from the start of the (windowed, scaled) trace */
  gint64   prompt_tokens;  /* >= 1 */
  gint64   output_tokens;  /* >= 1 */
  gsize    n_prefix_blocks;
  const guint64 *prefix_blocks; /* Mooncake hash_ids; owned by the source, valid until the next call */
  gint64   source_line;    /* line in the file (0 for synthetic) */
  gint64   priority;       /* optional CSV column "priority" (>= 0, higher = more important); -1 = not given */
  gint64   client;         /* optional CSV column "client" (>= 0); -1 = not given */
  gint64   conversation;   /* optional CSV column "conversation" (>= 0): requests sharing it are
                              turns of one multi-turn conversation, in arrival order; -1 = not given */
} TraceRequest;

/* Largest value accepted in the optional priority / client columns, and in
 * the conversation column (ids, so wider). */
#define TRACE_MAX_CLASS 1000000
#define TRACE_MAX_CONVERSATION G_GINT64_CONSTANT (1000000000000000)

typedef struct {
  gint64  limit;        /* take at most this many requests; <= 0 = all */
  double  time_scale;   /* arrival times are multiplied by this (0.5 = twice the rate); default 1 */
  double  start_s;      /* window on original trace time, seconds from the first row; default 0 */
  double  end_s;        /* exclusive; <= 0 = no end */
  /* generic CSV column names (NULL = defaults "arrival_s", "prompt_tokens", "output_tokens") */
  const char *col_arrival;
  const char *col_prompt;
  const char *col_output;
  double  arrival_unit_s; /* generic CSV: seconds per arrival unit; default 1 */
} TraceOptions;

void trace_options_init (TraceOptions *o);

typedef enum { TRACE_ARRIVAL_POISSON, TRACE_ARRIVAL_GAMMA } TraceArrival;
typedef enum { TRACE_LENGTH_FIXED, TRACE_LENGTH_UNIFORM, TRACE_LENGTH_FILE } TraceLength;

typedef struct {
  TraceArrival arrival;
  double       rate;        /* requests per second, > 0 */
  double       cv;          /* gamma: coefficient of variation of inter-arrivals (> 0); 1 = Poisson */
  gint64       num_requests;/* > 0 */
  TraceLength  lengths;
  gint64       prompt_tokens, output_tokens;       /* fixed */
  gint64       prompt_min, prompt_max, output_min, output_max; /* uniform, inclusive */
  const char  *length_file; /* file: CSV with num_prefill_tokens,num_decode_tokens (sampled with replacement) */
} TraceGenSpec;

void trace_gen_spec_init (TraceGenSpec *g);

typedef struct TraceSource TraceSource;

/* Open a trace file. NULL with TRACE_ERROR_IO naming the path, or PARSE when
 * the header is wrong. Free with trace_source_free(). */
TraceSource *trace_source_open (const char *path, TraceFormat fmt, const TraceOptions *opts,
                                GError **error);
/* A synthetic workload drawing from RNG stream (seed, "workload"). Windowing
 * options (limit, time_scale) apply as for files. NULL on invalid spec with
 * the field named. */
TraceSource *trace_source_new_synthetic (const TraceGenSpec *spec, guint64 seed,
                                         const TraceOptions *opts, GError **error);
/* Next request into *out. TRUE on success; FALSE at the end (error unset) or
 * on a malformed row (error set, "file:line: ..."). */
gboolean     trace_source_next (TraceSource *src, TraceRequest *out, GError **error);
/* Human-readable description for outputs ("azure:path" or "synthetic:poisson rate=...") */
const char  *trace_source_describe (const TraceSource *src);
void         trace_source_free (TraceSource *src);

#endif
