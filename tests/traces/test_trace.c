/* tests/traces/test_trace.c — the trace readers and synthetic generators of
 * traces/trace.c: every format on good input (values and arrival ns exact),
 * the bundled excerpt, line-ending and encoding quirks, one test per kind of
 * malformed row (message "path:line: ..."), windowing, and the statistics and
 * determinism of the synthetic workloads. The full shared traces are read
 * when $SERVESIM_SHARED_DATA names a directory. Does not test the serving
 * world that consumes the requests.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "sim/util.h"
#include "tests/testutil.h"
#include "traces/trace.h"

/* ------------------------------------------------------------------------ */
/* helpers                                                                  */

static char *tmp;

static char *
write_tmp (const char *name, const char *text)
{
  if (!tmp)
    tmp = test_tmpdir ();
  return test_write_file (tmp, name, text);
}

/* Reads every request into a new array; *n_out = count. On error returns the
 * requests read so far and sets *error. */
static GArray *
read_all (TraceSource *src, GError **error)
{
  GArray *a = g_array_new (FALSE, TRUE, sizeof (TraceRequest));
  TraceRequest r;
  while (trace_source_next (src, &r, error)) {
    r.prefix_blocks = NULL; /* not valid past the next call */
    g_array_append_val (a, r);
  }
  return a;
}

/* Opens `text` as a file in format fmt with opts and reads it all. */
static GArray *
read_text (const char *text, TraceFormat fmt, const TraceOptions *opts, char **path_out,
           GError **error)
{
  char *path = write_tmp ("t.trace", text);
  TraceSource *src = trace_source_open (path, fmt, opts, error);
  GArray *a = NULL;
  if (src) {
    a = read_all (src, error);
    trace_source_free (src);
  }
  if (path_out)
    *path_out = path;
  else
    g_free (path);
  return a;
}

#define REQ(a, i) (&g_array_index ((a), TraceRequest, (i)))

/* Asserts that reading `text` fails with TRACE_ERROR_PARSE whose message is
 * "<path>:<line>: ..." and contains `needle`. */
static void
expect_parse_error (const char *text, TraceFormat fmt, int line, const char *needle)
{
  GError *e = NULL;
  char *path = NULL;
  GArray *a = read_text (text, fmt, NULL, &path, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_PARSE));
  char *prefix = g_strdup_printf ("%s:%d: ", path, line);
  CU_ASSERT_TRUE (g_str_has_prefix (e->message, prefix));
  CU_ASSERT_PTR_NOT_NULL (strstr (e->message, needle));
  if (!g_str_has_prefix (e->message, prefix) || !strstr (e->message, needle))
    fprintf (stderr, "\n  message: %s\n  wanted:  %s...%s\n", e->message, prefix, needle);
  g_free (prefix);
  g_free (path);
  g_error_free (e);
  if (a)
    g_array_free (a, TRUE);
}

static void
expect_option_error (const TraceOptions *o, const char *needle)
{
  GError *e = NULL;
  char *path = write_tmp ("opt.csv", "arrival_s,prompt_tokens,output_tokens\n0,1,1\n");
  TraceSource *src = trace_source_open (path, TRACE_FORMAT_CSV, o, &e);
  CU_ASSERT_PTR_NULL (src);
  CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_INVALID));
  CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, needle) : NULL);
  trace_source_free (src);
  g_clear_error (&e);
  g_free (path);
}

/* ------------------------------------------------------------------------ */
/* formats                                                                  */

static void
test_format_names (void)
{
  TraceFormat f;
  const TraceFormat all[] = { TRACE_FORMAT_AUTO, TRACE_FORMAT_AZURE, TRACE_FORMAT_VIDUR,
                              TRACE_FORMAT_MOONCAKE, TRACE_FORMAT_CSV };
  for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
    CU_ASSERT_TRUE (trace_format_from_string (trace_format_to_string (all[i]), &f));
    CU_ASSERT_EQUAL (f, all[i]);
  }
  CU_ASSERT_FALSE (trace_format_from_string ("parquet", &f));
  CU_ASSERT_FALSE (trace_format_from_string (NULL, &f));
}

static void
test_azure_good (void)
{
  GError *e = NULL;
  char *path;
  GArray *a = read_text ("TIMESTAMP,ContextTokens,GeneratedTokens\n"
                         "2023-11-16 18:15:46.6805900,374,44\n"
                         "2023-11-16 18:15:50.9951690,396,109\n"
                         "2023-11-30 23:59:59.999999999,1,1\n"
                         "2023-12-01 00:00:00,10000000,7\n"
                         "2024-03-01T00:00:00.5,2,3\n",
                         TRACE_FORMAT_AZURE, NULL, &path, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 5);
  CU_ASSERT_EQUAL (REQ (a, 0)->arrival, 0);
  CU_ASSERT_EQUAL (REQ (a, 0)->prompt_tokens, 374);
  CU_ASSERT_EQUAL (REQ (a, 0)->output_tokens, 44);
  CU_ASSERT_EQUAL (REQ (a, 0)->source_line, 2);
  CU_ASSERT_EQUAL (REQ (a, 0)->n_prefix_blocks, 0);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, 4314579000LL);
  CU_ASSERT_EQUAL (REQ (a, 1)->output_tokens, 109);
  CU_ASSERT_EQUAL (REQ (a, 1)->id, 1);
  /* 2023-11-16 18:15:46.68059 to 2023-11-30 23:59:59.999999999: 14 days minus
   * 18:15:46.68059, plus 23:59:59.999999999 */
  gint64 t0 = (18 * 3600 + 15 * 60 + 46) * SIM_S + 680590000;
  gint64 t2 = 14 * 86400 * SIM_S + (23 * 3600 + 59 * 60 + 59) * SIM_S + 999999999;
  CU_ASSERT_EQUAL (REQ (a, 2)->arrival, t2 - t0);
  CU_ASSERT_EQUAL (REQ (a, 3)->arrival, t2 - t0 + 1); /* month boundary: one ns later */
  CU_ASSERT_EQUAL (REQ (a, 3)->prompt_tokens, 10000000);
  /* leap year: Dec 2023 (31) + Jan (31) + Feb 2024 (29) days after 2023-12-01 */
  CU_ASSERT_EQUAL (REQ (a, 4)->arrival, t2 - t0 + 1 + 91 * 86400 * SIM_S + 500000000);
  CU_ASSERT_EQUAL (REQ (a, 4)->id, 4);
  CU_ASSERT_EQUAL (REQ (a, 4)->source_line, 6);
  g_array_free (a, TRUE);

  TraceSource *src = trace_source_open (path, TRACE_FORMAT_AZURE, NULL, &e);
  char *want = g_strdup_printf ("azure:%s", path);
  CU_ASSERT_STRING_EQUAL (trace_source_describe (src), want);
  g_free (want);
  trace_source_free (src);
  g_free (path);
}

static void
test_vidur_good (void)
{
  GError *e = NULL;
  /* columns in another order, an extra column, a quoted field */
  GArray *a = read_text ("num_decode_tokens,extra,arrived_at,num_prefill_tokens\n"
                         "10,x,1.5,100\n"
                         "20,\"a,b\",1.75,200\n"
                         "30,,3.0,300.0\n",
                         TRACE_FORMAT_VIDUR, NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 3);
  CU_ASSERT_EQUAL (REQ (a, 0)->arrival, 0);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, 250000000);
  CU_ASSERT_EQUAL (REQ (a, 2)->arrival, 1500000000);
  CU_ASSERT_EQUAL (REQ (a, 0)->prompt_tokens, 100);
  CU_ASSERT_EQUAL (REQ (a, 0)->output_tokens, 10);
  CU_ASSERT_EQUAL (REQ (a, 1)->prompt_tokens, 200);
  CU_ASSERT_EQUAL (REQ (a, 2)->prompt_tokens, 300);
  CU_ASSERT_EQUAL (REQ (a, 2)->output_tokens, 30);
  g_array_free (a, TRUE);
}

static void
test_mooncake_good (void)
{
  GError *e = NULL;
  char *path = write_tmp ("m.jsonl",
                          "{\"timestamp\": 100, \"input_length\": 1024, \"output_length\": 5, "
                          "\"hash_ids\": [0, 1]}\n"
                          "{\"timestamp\": 100, \"input_length\": 600, \"output_length\": 7, "
                          "\"hash_ids\": [0, 18446744073, 2]}\n"
                          "{\"output_length\": 9, \"input_length\": 3, \"timestamp\": 2500.5}\n");
  TraceSource *src = trace_source_open (path, TRACE_FORMAT_MOONCAKE, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (src);
  TraceRequest r;
  CU_ASSERT_TRUE_FATAL (trace_source_next (src, &r, &e));
  CU_ASSERT_EQUAL (r.arrival, 0);
  CU_ASSERT_EQUAL (r.prompt_tokens, 1024);
  CU_ASSERT_EQUAL (r.output_tokens, 5);
  CU_ASSERT_EQUAL_FATAL (r.n_prefix_blocks, 2);
  CU_ASSERT_EQUAL (r.prefix_blocks[0], 0);
  CU_ASSERT_EQUAL (r.prefix_blocks[1], 1);
  CU_ASSERT_EQUAL (r.source_line, 1);
  CU_ASSERT_TRUE_FATAL (trace_source_next (src, &r, &e));
  CU_ASSERT_EQUAL (r.arrival, 0);
  CU_ASSERT_EQUAL_FATAL (r.n_prefix_blocks, 3);
  CU_ASSERT_EQUAL (r.prefix_blocks[1], 18446744073ULL);
  CU_ASSERT_EQUAL (r.prefix_blocks[2], 2);
  CU_ASSERT_TRUE_FATAL (trace_source_next (src, &r, &e));
  CU_ASSERT_EQUAL (r.arrival, 2400500000LL);
  CU_ASSERT_EQUAL (r.prompt_tokens, 3);
  CU_ASSERT_EQUAL (r.output_tokens, 9);
  CU_ASSERT_EQUAL (r.n_prefix_blocks, 0);
  CU_ASSERT_EQUAL (r.id, 2);
  CU_ASSERT_FALSE (trace_source_next (src, &r, &e));
  CU_ASSERT_PTR_NULL (e);
  char *want = g_strdup_printf ("mooncake:%s", path);
  CU_ASSERT_STRING_EQUAL (trace_source_describe (src), want);
  g_free (want);
  trace_source_free (src);
  g_free (path);
}

/* Optional "priority" and "client" columns, in any CSV format. */
static void
test_class_columns (void)
{
  GError *e = NULL;
  GArray *a = read_text ("arrival_s,prompt_tokens,output_tokens,client,priority\n"
                         "0,10,2,3,1\n1,11,2,0,0\n", TRACE_FORMAT_CSV, NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 2);
  CU_ASSERT_EQUAL (REQ (a, 0)->priority, 1);
  CU_ASSERT_EQUAL (REQ (a, 0)->client, 3);
  CU_ASSERT_EQUAL (REQ (a, 1)->priority, 0);
  CU_ASSERT_EQUAL (REQ (a, 1)->client, 0);
  g_array_free (a, TRUE);
  /* absent columns: unset */
  a = read_text ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,5\n", TRACE_FORMAT_VIDUR,
                 NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 1);
  CU_ASSERT_EQUAL (REQ (a, 0)->priority, -1);
  CU_ASSERT_EQUAL (REQ (a, 0)->client, -1);
  g_array_free (a, TRUE);
  /* bad values name the column and line */
  expect_parse_error ("arrival_s,prompt_tokens,output_tokens,priority\n0,1,1,0\n1,1,1,-2\n",
                      TRACE_FORMAT_CSV, 3, "column 'priority'");
  expect_parse_error ("arrival_s,prompt_tokens,output_tokens,priority\n0,1,1,high\n",
                      TRACE_FORMAT_CSV, 2, "whole number");
  expect_parse_error ("arrival_s,prompt_tokens,output_tokens,client\n0,1,1,99999999999\n",
                      TRACE_FORMAT_CSV, 2, "column 'client'");
  expect_parse_error ("arrival_s,prompt_tokens,output_tokens,client\n0,1,1,\n",
                      TRACE_FORMAT_CSV, 2, "column 'client'");
  /* a row too short to hold the optional column */
  expect_parse_error ("arrival_s,prompt_tokens,output_tokens,client\n0,1,1\n",
                      TRACE_FORMAT_CSV, 2, "column 'client' is field 4");
}

/* Optional "conversation" column: whole number ids, wider range than the
 * classes; absent = -1; bad values name the file, line and column. */
static void
test_conversation_column (void)
{
  GError *e = NULL;
  GArray *a = read_text ("arrival_s,prompt_tokens,output_tokens,conversation,client\n"
                         "0,10,2,7,1\n1,30,2,7,1\n2,11,2,123456789012,0\n3,5,5,0,0\n",
                         TRACE_FORMAT_CSV, NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 4);
  CU_ASSERT_EQUAL (REQ (a, 0)->conversation, 7);
  CU_ASSERT_EQUAL (REQ (a, 1)->conversation, 7);
  CU_ASSERT_EQUAL (REQ (a, 2)->conversation, G_GINT64_CONSTANT (123456789012));
  CU_ASSERT_EQUAL (REQ (a, 3)->conversation, 0);
  CU_ASSERT_EQUAL (REQ (a, 0)->client, 1);
  CU_ASSERT_EQUAL (REQ (a, 0)->priority, -1);
  g_array_free (a, TRUE);
  /* the vidur format may carry it too; header names are case-insensitive */
  a = read_text ("arrived_at,num_prefill_tokens,num_decode_tokens,Conversation\n0,5,5,42\n",
                 TRACE_FORMAT_VIDUR, NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 1);
  CU_ASSERT_EQUAL (REQ (a, 0)->conversation, 42);
  g_array_free (a, TRUE);
  /* absent: -1 (CSV without it, and the synthetic generator via the same path) */
  a = read_text ("arrival_s,prompt_tokens,output_tokens\n0,5,5\n", TRACE_FORMAT_CSV, NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 1);
  CU_ASSERT_EQUAL (REQ (a, 0)->conversation, -1);
  g_array_free (a, TRUE);
  const char *h = "arrival_s,prompt_tokens,output_tokens,conversation\n";
  char *t;
#define BAD(rows, line, what)                                   \
  t = g_strconcat (h, rows, NULL);                              \
  expect_parse_error (t, TRACE_FORMAT_CSV, line, what);         \
  g_free (t)
  BAD ("0,1,1,3\n1,1,1,-1\n", 3, "column 'conversation'");
  BAD ("0,1,1,chat-7\n", 2, "column 'conversation': expected a whole number from 0 to");
  BAD ("0,1,1,2.5\n", 2, "column 'conversation'");
  BAD ("0,1,1,\n", 2, "found ''");
  BAD ("0,1,1,1000000000000001\n", 2, "column 'conversation'");
  BAD ("0,1,1,99999999999999999999999\n", 2, "column 'conversation'"); /* overflows gint64 */
  BAD ("0,1,1\n", 2, "column 'conversation' is field 4");
#undef BAD
}

static void
test_generic_csv (void)
{
  GError *e = NULL;
  TraceOptions o;
  trace_options_init (&o);
  o.col_arrival = "t_ms";
  o.col_prompt = "in";
  o.col_output = "out";
  o.arrival_unit_s = 0.001;
  char *path;
  GArray *a = read_text ("out,in,t_ms\n5,50,1000\n6,60,1250\n7,70,1250\n", TRACE_FORMAT_CSV,
                         &o, &path, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 3);
  CU_ASSERT_EQUAL (REQ (a, 0)->arrival, 0);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, 250000000);
  CU_ASSERT_EQUAL (REQ (a, 2)->arrival, 250000000);
  CU_ASSERT_EQUAL (REQ (a, 1)->prompt_tokens, 60);
  CU_ASSERT_EQUAL (REQ (a, 1)->output_tokens, 6);
  g_array_free (a, TRUE);
  TraceSource *src = trace_source_open (path, TRACE_FORMAT_CSV, &o, &e);
  CU_ASSERT_PTR_NOT_NULL (strstr (trace_source_describe (src), "columns=t_ms,in,out"));
  CU_ASSERT_PTR_NOT_NULL (strstr (trace_source_describe (src), "arrival_unit_s=0.001"));
  trace_source_free (src);
  g_free (path);

  /* default column names */
  a = read_text ("arrival_s,prompt_tokens,output_tokens\n2,1,1\n2.5,3,4\n", TRACE_FORMAT_CSV,
                 NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 2);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, 500000000);
  g_array_free (a, TRUE);
}

static void
test_auto_sniff (void)
{
  static const struct { const char *text, *prefix; gint64 prompt; } cases[] = {
    { "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n",
      "azure:", 374 },
    { "\n\narrived_at,num_prefill_tokens,num_decode_tokens\n0.5,11,2\n", "vidur:", 11 },
    { "\xEF\xBB\xBF{\"timestamp\": 0, \"input_length\": 12, \"output_length\": 1}\n",
      "mooncake:", 12 },
    { "arrival_s,prompt_tokens,output_tokens\n0,13,1\n", "csv:", 13 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GError *e = NULL;
    char *path = write_tmp ("auto.txt", cases[i].text);
    TraceSource *src = trace_source_open (path, TRACE_FORMAT_AUTO, NULL, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL (src);
    CU_ASSERT_TRUE (g_str_has_prefix (trace_source_describe (src), cases[i].prefix));
    TraceRequest r;
    CU_ASSERT_TRUE (trace_source_next (src, &r, &e));
    CU_ASSERT_EQUAL (r.prompt_tokens, cases[i].prompt);
    CU_ASSERT_EQUAL (r.arrival, 0);
    CU_ASSERT_FALSE (trace_source_next (src, &r, &e));
    CU_ASSERT_PTR_NULL (e);
    trace_source_free (src);
    g_free (path);
  }
}

static void
check_excerpt (TraceSource *src)
{
  GError *e = NULL;
  GArray *a = read_all (src, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 1000);
  CU_ASSERT_EQUAL (REQ (a, 0)->arrival, 0);
  CU_ASSERT_EQUAL (REQ (a, 0)->prompt_tokens, 374);
  CU_ASSERT_EQUAL (REQ (a, 0)->output_tokens, 44);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, 4314579000LL);
  gboolean monotone = TRUE;
  for (guint i = 1; i < a->len; i++)
    monotone = monotone && REQ (a, i)->arrival >= REQ (a, i - 1)->arrival
               && REQ (a, i)->id == i && REQ (a, i)->prompt_tokens >= 1;
  CU_ASSERT_TRUE (monotone);
  /* last row 2023-11-16 18:19:22.7079830, line 1001 */
  CU_ASSERT_EQUAL (REQ (a, 999)->arrival, (3 * 60 + 36) * SIM_S + 27393000);
  CU_ASSERT_EQUAL (REQ (a, 999)->prompt_tokens, 309);
  CU_ASSERT_EQUAL (REQ (a, 999)->output_tokens, 18);
  CU_ASSERT_EQUAL (REQ (a, 999)->source_line, 1001);
  g_array_free (a, TRUE);
}

static void
test_bundled_excerpt (void)
{
  GError *e = NULL;
  char *path = sim_data_find ("traces/data/azure_conv_1k.csv", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (path);
  TraceSource *src = trace_source_open (path, TRACE_FORMAT_AUTO, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (src);
  CU_ASSERT_TRUE (g_str_has_prefix (trace_source_describe (src), "azure:"));
  check_excerpt (src);
  trace_source_free (src);
  g_free (path);
  /* a relative path that names no file here is looked up as bundled data */
  src = trace_source_open ("traces/data/azure_conv_1k.csv", TRACE_FORMAT_AZURE, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (src);
  check_excerpt (src);
  trace_source_free (src);
}

/* ------------------------------------------------------------------------ */
/* line endings and encodings                                               */

static void
check_three (const char *text, TraceFormat fmt)
{
  GError *e = NULL;
  GArray *a = read_text (text, fmt, NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (a);
  CU_ASSERT_EQUAL_FATAL (a->len, 3);
  for (int i = 0; i < 3; i++) {
    CU_ASSERT_EQUAL (REQ (a, i)->arrival, i * SIM_S);
    CU_ASSERT_EQUAL (REQ (a, i)->prompt_tokens, 10 * (i + 1));
    CU_ASSERT_EQUAL (REQ (a, i)->output_tokens, i + 1);
  }
  g_array_free (a, TRUE);
}

static void
test_crlf (void)
{
  check_three ("arrived_at,num_prefill_tokens,num_decode_tokens\r\n1,10,1\r\n2,20,2\r\n3,30,3\r\n",
               TRACE_FORMAT_VIDUR);
  check_three ("TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-01-01 00:00:00,10,1\r\n"
               "2023-01-01 00:00:01,20,2\r\n2023-01-01 00:00:02,30,3\r\n",
               TRACE_FORMAT_AZURE);
  check_three ("{\"timestamp\":0,\"input_length\":10,\"output_length\":1}\r\n"
               "{\"timestamp\":1000,\"input_length\":20,\"output_length\":2}\r\n"
               "{\"timestamp\":2000,\"input_length\":30,\"output_length\":3}\r\n",
               TRACE_FORMAT_MOONCAKE);
}

static void
test_blank_lines (void)
{
  check_three ("\n  \narrived_at,num_prefill_tokens,num_decode_tokens\n\n1,10,1\n \t\n2,20,2\n"
               "\r\n3,30,3\n\n\n", TRACE_FORMAT_VIDUR);
  check_three ("\n{\"timestamp\":0,\"input_length\":10,\"output_length\":1}\n\n"
               "{\"timestamp\":1000,\"input_length\":20,\"output_length\":2}\n   \n"
               "{\"timestamp\":2000,\"input_length\":30,\"output_length\":3}\n\n",
               TRACE_FORMAT_MOONCAKE);
  /* line numbers count blank lines */
  expect_parse_error ("arrived_at,num_prefill_tokens,num_decode_tokens\n\n\n1,x,1\n",
                      TRACE_FORMAT_VIDUR, 4, "'x'");
}

static void
test_no_final_newline (void)
{
  check_three ("arrived_at,num_prefill_tokens,num_decode_tokens\n1,10,1\n2,20,2\n3,30,3",
               TRACE_FORMAT_VIDUR);
  check_three ("TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-01-01 00:00:00,10,1\r\n"
               "2023-01-01 00:00:01,20,2\r\n2023-01-01 00:00:02,30,3",
               TRACE_FORMAT_AZURE);
  check_three ("{\"timestamp\":0,\"input_length\":10,\"output_length\":1}\n"
               "{\"timestamp\":1000,\"input_length\":20,\"output_length\":2}\n"
               "{\"timestamp\":2000,\"input_length\":30,\"output_length\":3}",
               TRACE_FORMAT_MOONCAKE);
}

static void
test_bom (void)
{
  check_three ("\xEF\xBB\xBFTIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-01-01 00:00:00,10,1\r\n"
               "2023-01-01 00:00:01,20,2\r\n2023-01-01 00:00:02,30,3\r\n",
               TRACE_FORMAT_AZURE);
  check_three ("\xEF\xBB\xBF{\"timestamp\":0,\"input_length\":10,\"output_length\":1}\n"
               "{\"timestamp\":1000,\"input_length\":20,\"output_length\":2}\n"
               "{\"timestamp\":2000,\"input_length\":30,\"output_length\":3}\n",
               TRACE_FORMAT_MOONCAKE);
}

static void
test_long_lines (void)
{
  /* lines longer than the 64 KiB read buffer, and many of them */
  GString *s = g_string_new ("arrival_s,pad,prompt_tokens,output_tokens\n");
  for (int i = 0; i < 5; i++) {
    g_string_append_printf (s, "%d,", i);
    for (int k = 0; k < 100000; k++)
      g_string_append_c (s, 'a' + (k + i) % 26);
    g_string_append_printf (s, ",%d,%d\n", i + 1, i + 2);
  }
  for (int i = 5; i < 20000; i++)
    g_string_append_printf (s, "%d,,%d,%d\n", i, i + 1, i + 2);
  GError *e = NULL;
  GArray *a = read_text (s->str, TRACE_FORMAT_CSV, NULL, NULL, &e);
  g_string_free (s, TRUE);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 20000);
  gboolean ok = TRUE;
  for (guint i = 0; i < a->len; i++)
    ok = ok && REQ (a, i)->arrival == (gint64) i * SIM_S && REQ (a, i)->prompt_tokens == i + 1
         && REQ (a, i)->output_tokens == i + 2 && REQ (a, i)->source_line == i + 2;
  CU_ASSERT_TRUE (ok);
  g_array_free (a, TRUE);
}

/* ------------------------------------------------------------------------ */
/* malformed input                                                          */

#define VH "arrived_at,num_prefill_tokens,num_decode_tokens\n"
#define AH "TIMESTAMP,ContextTokens,GeneratedTokens\n"

static void
test_bad_numbers (void)
{
  expect_parse_error (VH "0,1,1\n1,99999999999,1\n", TRACE_FORMAT_VIDUR, 3,
                      "column 'num_prefill_tokens': expected a token count <= 10000000, found "
                      "'99999999999' (absurd)");
  expect_parse_error (VH "0,1,1\n1,10000001,1\n", TRACE_FORMAT_VIDUR, 3, "absurd");
  expect_parse_error (VH "0,1,1e300\n", TRACE_FORMAT_VIDUR, 2, "absurd");
  expect_parse_error (VH "0,1,99999999999999999999999999\n", TRACE_FORMAT_VIDUR, 2, "absurd");
  expect_parse_error (VH "1e300,1,1\n", TRACE_FORMAT_VIDUR, 2, "absurd");
  expect_parse_error (VH "0,-5,1\n", TRACE_FORMAT_VIDUR, 2,
                      "column 'num_prefill_tokens': expected a token count >= 1, found '-5'");
  expect_parse_error (VH "0,5,0\n", TRACE_FORMAT_VIDUR, 2,
                      "column 'num_decode_tokens': expected a token count >= 1, found '0'");
  expect_parse_error (VH "-0.5,5,1\n", TRACE_FORMAT_VIDUR, 2,
                      "column 'arrived_at': expected an arrival time >= 0, found '-0.5'");
  expect_parse_error (VH "0,12abc,1\n", TRACE_FORMAT_VIDUR, 2,
                      "column 'num_prefill_tokens': expected a token count (integer >= 1), "
                      "found '12abc'");
  expect_parse_error (VH "0,1,1\nabc,1,1\n", TRACE_FORMAT_VIDUR, 3,
                      "column 'arrived_at': expected an arrival time (number >= 0), found 'abc'");
  expect_parse_error (VH "0,,1\n", TRACE_FORMAT_VIDUR, 2,
                      "column 'num_prefill_tokens': empty field");
  expect_parse_error (VH ",1,1\n", TRACE_FORMAT_VIDUR, 2, "column 'arrived_at': empty field");
  expect_parse_error (VH "0,nan,1\n", TRACE_FORMAT_VIDUR, 2, "found 'nan'");
  expect_parse_error (VH "inf,1,1\n", TRACE_FORMAT_VIDUR, 2, "found 'inf'");
  expect_parse_error (VH "NaN,1,1\n", TRACE_FORMAT_VIDUR, 2, "found 'NaN'");
  expect_parse_error (VH "0,1.5,1\n", TRACE_FORMAT_VIDUR, 2, "whole number of tokens");
  expect_parse_error (VH "0,0x10,1\n", TRACE_FORMAT_VIDUR, 2, "found '0x10'");
  expect_parse_error (AH "2023-11-16 18:15:46.6805900,374,-44\n", TRACE_FORMAT_AZURE, 2,
                      "column 'GeneratedTokens': expected a token count >= 1, found '-44'");
}

static void
test_bad_timestamps (void)
{
  static const char *bad[] = {
    "2023-11-16 18:15:46.1234567890", /* 10 fractional digits */
    "2023-11-16",
    "2023-13-16 18:15:46",
    "2023-02-29 00:00:00", /* not a leap year */
    "2023-11-16 24:00:00",
    "2023-11-16 18:15:46.",
    "2023-11-16 18:15:46Z",
    "16/11/2023 18:15:46",
    "",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    char *text = g_strdup_printf (AH "2023-11-16 18:15:46,1,1\n%s,1,1\n", bad[i]);
    char *needle = g_strdup_printf ("column 'TIMESTAMP': expected a timestamp like "
                                    "'2023-11-16 18:15:46.6805900' (at most 9 fractional "
                                    "digits), found '%s'", bad[i]);
    expect_parse_error (text, TRACE_FORMAT_AZURE, 3, needle);
    g_free (text);
    g_free (needle);
  }
  /* leap day in a leap year is fine */
  GError *e = NULL;
  GArray *a = read_text (AH "2024-02-28 12:00:00,1,1\n2024-02-29 12:00:00,1,1\n",
                         TRACE_FORMAT_AZURE, NULL, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 2);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, 86400 * SIM_S);
  g_array_free (a, TRUE);
}

static void
test_missing_columns (void)
{
  expect_parse_error ("TIMESTAMP,Context,GeneratedTokens\n2023-11-16 18:15:46,1,1\n",
                      TRACE_FORMAT_AZURE, 1,
                      "missing required column 'ContextTokens' for the azure format (expected a "
                      "header naming TIMESTAMP, ContextTokens, GeneratedTokens; header found: "
                      "TIMESTAMP,Context,GeneratedTokens)");
  expect_parse_error ("arrived_at,num_prefill_tokens\n1,2\n", TRACE_FORMAT_VIDUR, 1,
                      "missing required column 'num_decode_tokens'");
  /* a file without a header: its first row is reported as the header */
  expect_parse_error ("\n1.0,2,3\n", TRACE_FORMAT_VIDUR, 2,
                      "missing required column 'arrived_at' for the vidur format (expected a "
                      "header naming arrived_at, num_prefill_tokens, num_decode_tokens; header "
                      "found: 1.0,2,3)");
  expect_parse_error ("a,b,c\n1,2,3\n", TRACE_FORMAT_AUTO, 1,
                      "missing required column 'arrival_s' for the csv format");
  /* auto picks the closest format, so the message names what is missing */
  expect_parse_error ("TIMESTAMP,Context,GeneratedTokens\n", TRACE_FORMAT_AUTO, 1,
                      "missing required column 'ContextTokens' for the azure format");
  expect_parse_error ("arrived_at,num_prefill_tokens,decode\n", TRACE_FORMAT_AUTO, 1,
                      "missing required column 'num_decode_tokens' for the vidur format");
  expect_parse_error ("", TRACE_FORMAT_AZURE, 1, "empty file");
  expect_parse_error ("\n\n", TRACE_FORMAT_AUTO, 1, "empty file");
}

static void
test_too_few_fields (void)
{
  expect_parse_error (AH "2023-11-16 18:15:46,1,1\n2023-11-16 18:15:47,1\n", TRACE_FORMAT_AZURE,
                      3, "too few fields: expected at least 3 (column 'GeneratedTokens' is field "
                         "3), found 2");
  expect_parse_error ("num_decode_tokens,arrived_at,num_prefill_tokens\n1\n", TRACE_FORMAT_VIDUR,
                      2, "too few fields: expected at least 3 (column 'arrived_at' is field 2), "
                         "found 1");
}

static void
test_backwards_time (void)
{
  expect_parse_error (VH "1.0,1,1\n2.5,1,1\n2.25,1,1\n", TRACE_FORMAT_VIDUR, 4,
                      "arrival time '2.25' goes backwards: the previous row's was '2.5'");
  expect_parse_error (AH "2023-11-16 18:15:46.6805900,1,1\n2023-11-16 18:15:45,1,1\n",
                      TRACE_FORMAT_AZURE, 3,
                      "arrival time '2023-11-16 18:15:45' goes backwards: the previous row's "
                      "was '2023-11-16 18:15:46.6805900'");
  expect_parse_error ("{\"timestamp\":5,\"input_length\":1,\"output_length\":1}\n"
                      "{\"timestamp\":4,\"input_length\":1,\"output_length\":1}\n",
                      TRACE_FORMAT_MOONCAKE, 2,
                      "arrival time '4' goes backwards: the previous row's was '5'");
}

/* one Mooncake line */
#define MJ(ts, in, out, rest) \
  "{\"timestamp\":" ts ",\"input_length\":" in ",\"output_length\":" out rest "}\n"

static void
test_bad_json (void)
{
  expect_parse_error (MJ ("0", "1", "1", "") "{\"timestamp\": 1, \"input_length\": \n",
                      TRACE_FORMAT_MOONCAKE, 2, "invalid JSON at column");
  expect_parse_error ("{\"timestamp\": 1,, }\n", TRACE_FORMAT_MOONCAKE, 1, "invalid JSON");
  expect_parse_error ("[1,2]\n", TRACE_FORMAT_MOONCAKE, 1,
                      "expected a JSON object, found an array");
  expect_parse_error ("{\"input_length\":1,\"output_length\":1}\n", TRACE_FORMAT_MOONCAKE, 1,
                      "missing key 'timestamp'");
  expect_parse_error (MJ ("\"0\"", "1", "1", ""), TRACE_FORMAT_MOONCAKE, 1,
                      "key 'timestamp': expected an arrival time in ms (number >= 0), found a "
                      "string");
  expect_parse_error (MJ ("-1", "1", "1", ""), TRACE_FORMAT_MOONCAKE, 1,
                      "expected an arrival time >= 0 ms");
  expect_parse_error ("{\"timestamp\":0,\"output_length\":1}\n", TRACE_FORMAT_MOONCAKE, 1,
                      "missing key 'input_length'");
  expect_parse_error (MJ ("0", "0", "1", ""), TRACE_FORMAT_MOONCAKE, 1,
                      "key 'input_length': expected a token count >= 1, found '0'");
  expect_parse_error (MJ ("0", "1", "20000000", ""), TRACE_FORMAT_MOONCAKE, 1,
                      "key 'output_length': expected a token count <= 10000000, found "
                      "'20000000' (absurd)");
  expect_parse_error (MJ ("0", "1", "\"5\"", ""), TRACE_FORMAT_MOONCAKE, 1,
                      "key 'output_length': expected a token count (integer >= 1), found a "
                      "string");
}

static void
test_bad_hash_ids (void)
{
  expect_parse_error (MJ ("0", "1", "1", ",\"hash_ids\":\"0,1\""), TRACE_FORMAT_MOONCAKE, 1,
                      "key 'hash_ids': expected an array of non-negative integers, found a "
                      "string");
  expect_parse_error (MJ ("0", "1", "1", ",\"hash_ids\":{}"), TRACE_FORMAT_MOONCAKE, 1,
                      "found an object");
  expect_parse_error (MJ ("0", "1", "1", ",\"hash_ids\":[0,1]") MJ ("0", "1", "1",
                      ",\"hash_ids\":[0,\"x\"]"), TRACE_FORMAT_MOONCAKE, 2,
                      "key 'hash_ids', element 1: expected a non-negative integer, found a "
                      "string");
  expect_parse_error (MJ ("0", "1", "1", ",\"hash_ids\":[0,1.5]"), TRACE_FORMAT_MOONCAKE, 1,
                      "element 1: expected a non-negative integer, found a real number");
  expect_parse_error (MJ ("0", "1", "1", ",\"hash_ids\":[3,-1]"), TRACE_FORMAT_MOONCAKE, 1,
                      "element 1: expected a non-negative integer, found -1");
}

static void
test_error_is_sticky (void)
{
  GError *e = NULL;
  char *path = write_tmp ("s.csv", VH "0,1,1\n1,x,1\n2,1,1\n");
  TraceSource *src = trace_source_open (path, TRACE_FORMAT_VIDUR, NULL, &e);
  TraceRequest r;
  CU_ASSERT_TRUE (trace_source_next (src, &r, &e));
  CU_ASSERT_FALSE (trace_source_next (src, &r, &e));
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  char *first = g_strdup (e->message);
  g_clear_error (&e);
  CU_ASSERT_FALSE (trace_source_next (src, &r, &e));
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_STRING_EQUAL (e->message, first);
  g_clear_error (&e);
  CU_ASSERT_FALSE (trace_source_next (src, &r, NULL)); /* NULL error is allowed */
  g_free (first);
  trace_source_free (src);
  g_free (path);
}

static void
test_missing_file (void)
{
  GError *e = NULL;
  TraceSource *src = trace_source_open ("/nonexistent/dir/trace.csv", TRACE_FORMAT_AUTO, NULL, &e);
  CU_ASSERT_PTR_NULL (src);
  CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_IO));
  CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, "'/nonexistent/dir/trace.csv'") : NULL);
  g_clear_error (&e);
  src = trace_source_open ("no-such-trace.csv", TRACE_FORMAT_AZURE, NULL, &e);
  CU_ASSERT_PTR_NULL (src);
  CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_IO));
  CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, "no-such-trace.csv") : NULL);
  g_clear_error (&e);
  if (!tmp)
    tmp = test_tmpdir ();
  src = trace_source_open (tmp, TRACE_FORMAT_AZURE, NULL, &e);
  CU_ASSERT_PTR_NULL (src);
  CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_IO));
  CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, "is a directory") : NULL);
  g_clear_error (&e);
}

/* ------------------------------------------------------------------------ */
/* windowing                                                                */

/* rows at 0..9 s, prompt = 100 + second; a malformed row after them. */
static const char *win_text =
  VH "10,100,1\n11,101,1\n12,102,1\n13,103,1\n14,104,1\n15,105,1\n16,106,1\n17,107,1\n"
  "18,108,1\n19,109,1\nthis row is malformed and must not be read,,\n";

static void
test_window_limit (void)
{
  GError *e = NULL;
  TraceOptions o;
  trace_options_init (&o);
  o.limit = 3;
  char *path;
  GArray *a = read_text (win_text, TRACE_FORMAT_VIDUR, &o, &path, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 3);
  CU_ASSERT_EQUAL (REQ (a, 2)->prompt_tokens, 102);
  CU_ASSERT_EQUAL (REQ (a, 2)->arrival, 2 * SIM_S);
  g_array_free (a, TRUE);
  TraceSource *src = trace_source_open (path, TRACE_FORMAT_VIDUR, &o, &e);
  CU_ASSERT_PTR_NOT_NULL (strstr (trace_source_describe (src), " limit=3"));
  trace_source_free (src);
  g_free (path);
  /* without a limit the malformed row is reached */
  expect_parse_error (win_text, TRACE_FORMAT_VIDUR, 12, "column 'arrived_at'");
}

static void
test_window_start_end (void)
{
  GError *e = NULL;
  TraceOptions o;
  trace_options_init (&o);
  o.start_s = 2.5;
  o.end_s = 6.0; /* exclusive */
  GArray *a = read_text (win_text, TRACE_FORMAT_VIDUR, &o, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 3);
  for (int i = 0; i < 3; i++) {
    CU_ASSERT_EQUAL (REQ (a, i)->id, i);
    CU_ASSERT_EQUAL (REQ (a, i)->prompt_tokens, 103 + i);
    CU_ASSERT_EQUAL (REQ (a, i)->arrival, 500000000LL + i * SIM_S); /* from the window start */
    CU_ASSERT_EQUAL (REQ (a, i)->source_line, 5 + i);
  }
  g_array_free (a, TRUE);
  /* start + limit: first N after the window start */
  o.end_s = 0;
  o.limit = 2;
  o.start_s = 7;
  a = read_text (win_text, TRACE_FORMAT_VIDUR, &o, NULL, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 2);
  CU_ASSERT_EQUAL (REQ (a, 0)->prompt_tokens, 107);
  CU_ASSERT_EQUAL (REQ (a, 0)->arrival, 0);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, SIM_S);
  g_array_free (a, TRUE);
  /* window past the end: nothing, and the malformed row is still an error */
  trace_options_init (&o);
  o.start_s = 100;
  a = read_text (win_text, TRACE_FORMAT_VIDUR, &o, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL (e);
  CU_ASSERT_EQUAL (a->len, 0);
  g_clear_error (&e);
  g_array_free (a, TRUE);
}

static void
test_window_time_scale (void)
{
  GError *e = NULL;
  TraceOptions o;
  trace_options_init (&o);
  o.time_scale = 0.5;
  o.start_s = 1;
  o.end_s = 4;
  char *path;
  GArray *a = read_text (win_text, TRACE_FORMAT_VIDUR, &o, &path, &e);
  CU_ASSERT_PTR_NULL (e);
  CU_ASSERT_EQUAL_FATAL (a->len, 3); /* the window is on original time: rows 1, 2, 3 s */
  CU_ASSERT_EQUAL (REQ (a, 0)->arrival, 0);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, 500000000);
  CU_ASSERT_EQUAL (REQ (a, 2)->arrival, SIM_S);
  g_array_free (a, TRUE);
  TraceSource *src = trace_source_open (path, TRACE_FORMAT_VIDUR, &o, &e);
  char *want = g_strdup_printf ("vidur:%s start_s=1 end_s=4 time_scale=0.5", path);
  CU_ASSERT_STRING_EQUAL (trace_source_describe (src), want);
  g_free (want);
  trace_source_free (src);
  g_free (path);
  o.time_scale = 3;
  o.start_s = 0;
  o.end_s = 0;
  o.limit = 2;
  a = read_text (win_text, TRACE_FORMAT_VIDUR, &o, NULL, &e);
  CU_ASSERT_EQUAL_FATAL (a->len, 2);
  CU_ASSERT_EQUAL (REQ (a, 1)->arrival, 3 * SIM_S);
  g_array_free (a, TRUE);
}

static void
test_bad_options (void)
{
  TraceOptions o;
  trace_options_init (&o);
  o.time_scale = 0;
  expect_option_error (&o, "workload.time_scale must be > 0 and finite (got 0)");
  o.time_scale = -1;
  expect_option_error (&o, "workload.time_scale must be > 0 and finite (got -1)");
  o.time_scale = NAN;
  expect_option_error (&o, "workload.time_scale");
  o.time_scale = INFINITY;
  expect_option_error (&o, "workload.time_scale");
  trace_options_init (&o);
  o.start_s = -1;
  expect_option_error (&o, "workload.start must be >= 0 and finite (got -1)");
  trace_options_init (&o);
  o.start_s = 5;
  o.end_s = 5;
  expect_option_error (&o, "workload.end must be > workload.start");
  trace_options_init (&o);
  o.end_s = NAN;
  expect_option_error (&o, "workload.end");
  trace_options_init (&o);
  o.arrival_unit_s = 0;
  expect_option_error (&o, "workload.arrival_unit_s must be > 0");
}

/* ------------------------------------------------------------------------ */
/* synthetic                                                                */

static GArray *
gen_all (const TraceGenSpec *g, guint64 seed, const TraceOptions *o)
{
  GError *e = NULL;
  TraceSource *src = trace_source_new_synthetic (g, seed, o, &e);
  CU_ASSERT_PTR_NULL (e);
  if (!src)
    return g_array_new (FALSE, TRUE, sizeof (TraceRequest));
  GArray *a = read_all (src, &e);
  CU_ASSERT_PTR_NULL (e);
  trace_source_free (src);
  return a;
}

static gboolean
same_requests (GArray *a, GArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (REQ (a, i)->arrival != REQ (b, i)->arrival
        || REQ (a, i)->prompt_tokens != REQ (b, i)->prompt_tokens
        || REQ (a, i)->output_tokens != REQ (b, i)->output_tokens || REQ (a, i)->id != i)
      return FALSE;
  return TRUE;
}

static void
test_synth_describe (void)
{
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  g.rate = 2;
  g.num_requests = 1000;
  GError *e = NULL;
  TraceSource *s = trace_source_new_synthetic (&g, 1, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  CU_ASSERT_STRING_EQUAL (trace_source_describe (s),
                          "synthetic:poisson rate=2 n=1000 lengths=fixed(512,128) seed=1");
  TraceRequest r;
  CU_ASSERT_TRUE (trace_source_next (s, &r, &e));
  CU_ASSERT_TRUE (r.arrival > 0); /* first arrival after one inter-arrival draw */
  CU_ASSERT_EQUAL (r.prompt_tokens, 512);
  CU_ASSERT_EQUAL (r.output_tokens, 128);
  CU_ASSERT_EQUAL (r.source_line, 0);
  CU_ASSERT_EQUAL (r.n_prefix_blocks, 0);
  trace_source_free (s);
  g.arrival = TRACE_ARRIVAL_GAMMA;
  g.cv = 2;
  g.lengths = TRACE_LENGTH_UNIFORM;
  g.prompt_min = 10;
  g.prompt_max = 20;
  g.output_min = 1;
  g.output_max = 5;
  TraceOptions o;
  trace_options_init (&o);
  o.limit = 10;
  s = trace_source_new_synthetic (&g, 7, &o, &e);
  CU_ASSERT_STRING_EQUAL (trace_source_describe (s),
                          "synthetic:gamma rate=2 cv=2 n=1000 lengths=uniform(10-20,1-5) seed=7 "
                          "limit=10");
  trace_source_free (s);
}

static void
test_synth_determinism (void)
{
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  g.lengths = TRACE_LENGTH_UNIFORM;
  g.num_requests = 5000;
  for (int kind = 0; kind < 2; kind++) {
    g.arrival = kind ? TRACE_ARRIVAL_GAMMA : TRACE_ARRIVAL_POISSON;
    g.cv = 3;
    GArray *a = gen_all (&g, 42, NULL), *b = gen_all (&g, 42, NULL), *c = gen_all (&g, 43, NULL);
    CU_ASSERT_EQUAL (a->len, 5000);
    CU_ASSERT_TRUE (same_requests (a, b));
    CU_ASSERT_FALSE (same_requests (a, c));
    gboolean monotone = TRUE;
    for (guint i = 1; i < a->len; i++)
      monotone = monotone && REQ (a, i)->arrival >= REQ (a, i - 1)->arrival;
    CU_ASSERT_TRUE (monotone);
    g_array_free (a, TRUE);
    g_array_free (b, TRUE);
    g_array_free (c, TRUE);
  }
}

/* mean rate (n / last arrival) and cv of inter-arrival times */
static void
rate_and_cv (GArray *a, double *rate, double *cv)
{
  double sum = 0, sum2 = 0;
  for (guint i = 0; i < a->len; i++) {
    double dt = SIM_TIME_TO_S (REQ (a, i)->arrival - (i ? REQ (a, i - 1)->arrival : 0));
    sum += dt;
    sum2 += dt * dt;
  }
  double mean = sum / a->len;
  *rate = 1.0 / mean;
  *cv = sqrt (sum2 / a->len - mean * mean) / mean;
}

static void
test_synth_rates (void)
{
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  g.num_requests = 100000;
  g.rate = 5.5;
  double rate, cv;
  GArray *a = gen_all (&g, 1, NULL);
  CU_ASSERT_EQUAL_FATAL (a->len, 100000);
  rate_and_cv (a, &rate, &cv);
  CU_ASSERT_DOUBLE_EQUAL (rate, 5.5, 5.5 * 0.02);
  CU_ASSERT_DOUBLE_EQUAL (cv, 1.0, 0.03);
  g_array_free (a, TRUE);

  g.arrival = TRACE_ARRIVAL_GAMMA;
  g.cv = 2;
  a = gen_all (&g, 1, NULL);
  CU_ASSERT_EQUAL_FATAL (a->len, 100000);
  rate_and_cv (a, &rate, &cv);
  CU_ASSERT_DOUBLE_EQUAL (rate, 5.5, 5.5 * 0.03);
  CU_ASSERT_DOUBLE_EQUAL (cv, 2.0, 0.1);
  g_array_free (a, TRUE);

  g.cv = 0.25; /* smoother than Poisson */
  a = gen_all (&g, 1, NULL);
  rate_and_cv (a, &rate, &cv);
  CU_ASSERT_DOUBLE_EQUAL (rate, 5.5, 5.5 * 0.01);
  CU_ASSERT_DOUBLE_EQUAL (cv, 0.25, 0.01);
  g_array_free (a, TRUE);
}

static void
test_synth_uniform (void)
{
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  g.lengths = TRACE_LENGTH_UNIFORM;
  g.prompt_min = 100;
  g.prompt_max = 110;
  g.output_min = 1;
  g.output_max = 3;
  g.num_requests = 20000;
  GArray *a = gen_all (&g, 9, NULL);
  gboolean in = TRUE, pmin = FALSE, pmax = FALSE, omin = FALSE, omax = FALSE;
  double psum = 0;
  for (guint i = 0; i < a->len; i++) {
    TraceRequest *r = REQ (a, i);
    in = in && r->prompt_tokens >= 100 && r->prompt_tokens <= 110 && r->output_tokens >= 1
         && r->output_tokens <= 3;
    pmin |= r->prompt_tokens == 100;
    pmax |= r->prompt_tokens == 110;
    omin |= r->output_tokens == 1;
    omax |= r->output_tokens == 3;
    psum += r->prompt_tokens;
  }
  CU_ASSERT_TRUE (in);
  CU_ASSERT_TRUE (pmin && pmax && omin && omax); /* inclusive bounds */
  CU_ASSERT_DOUBLE_EQUAL (psum / a->len, 105.0, 0.1);
  g_array_free (a, TRUE);
  /* min == max is a fixed length */
  g.prompt_min = g.prompt_max = 7;
  g.num_requests = 10;
  a = gen_all (&g, 9, NULL);
  CU_ASSERT_EQUAL (REQ (a, 9)->prompt_tokens, 7);
  g_array_free (a, TRUE);
}

static void
test_synth_length_file (void)
{
  GError *e = NULL;
  char *path = write_tmp ("lengths.csv", "x,num_decode_tokens,num_prefill_tokens\r\n"
                                         "a,5,500\r\n\r\nb,7,700\r\nc,9,900");
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  g.lengths = TRACE_LENGTH_FILE;
  g.length_file = path;
  g.num_requests = 3000;
  GArray *a = gen_all (&g, 3, NULL);
  CU_ASSERT_EQUAL_FATAL (a->len, 3000);
  int seen[3] = { 0, 0, 0 };
  gboolean pairs_ok = TRUE;
  for (guint i = 0; i < a->len; i++) {
    TraceRequest *r = REQ (a, i);
    int k = (int) (r->prompt_tokens / 200) - 2; /* 500,700,900 -> 0,1,2 */
    pairs_ok = pairs_ok && k >= 0 && k <= 2 && r->prompt_tokens == 500 + 200 * k
               && r->output_tokens == 5 + 2 * k;
    if (k >= 0 && k <= 2)
      seen[k]++;
  }
  CU_ASSERT_TRUE (pairs_ok);
  for (int k = 0; k < 3; k++)
    CU_ASSERT_TRUE (seen[k] > 850 && seen[k] < 1150);
  g_array_free (a, TRUE);
  TraceSource *s = trace_source_new_synthetic (&g, 3, NULL, &e);
  char *want = g_strdup_printf ("lengths=file(%s)", path);
  CU_ASSERT_PTR_NOT_NULL (strstr (trace_source_describe (s), want));
  g_free (want);
  trace_source_free (s);

  /* the bundled length file, found by its relative path */
  g.length_file = "traces/data/arxiv_lengths_1k.csv";
  g.num_requests = 1000;
  a = gen_all (&g, 3, NULL);
  CU_ASSERT_EQUAL (a->len, 1000);
  gboolean ok = TRUE;
  for (guint i = 0; i < a->len; i++)
    ok = ok && REQ (a, i)->prompt_tokens >= 1 && REQ (a, i)->output_tokens >= 1;
  CU_ASSERT_TRUE (ok);
  g_array_free (a, TRUE);

  /* bad length files */
  static const struct { const char *text, *needle; } bad[] = {
    { "num_prefill_tokens,foo\n1,2\n", "missing required column 'num_decode_tokens'" },
    { "num_prefill_tokens,num_decode_tokens\n", "expected at least one row of lengths" },
    { "num_prefill_tokens,num_decode_tokens\n5,-1\n", ":2: column 'num_decode_tokens': expected "
                                                      "a token count >= 1, found '-1'" },
    { "num_prefill_tokens,num_decode_tokens\n5\n", ":2: too few fields" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    char *p = write_tmp ("badlen.csv", bad[i].text);
    g.length_file = p;
    TraceSource *src = trace_source_new_synthetic (&g, 1, NULL, &e);
    CU_ASSERT_PTR_NULL (src);
    CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_PARSE));
    CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, bad[i].needle) : NULL);
    CU_ASSERT_TRUE (e && g_str_has_prefix (e->message, p));
    g_clear_error (&e);
    g_free (p);
  }
  g.length_file = "/nonexistent/lengths.csv";
  CU_ASSERT_PTR_NULL (trace_source_new_synthetic (&g, 1, NULL, &e));
  CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_IO));
  CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, "workload.generator.length_file") : NULL);
  CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, "/nonexistent/lengths.csv") : NULL);
  g_clear_error (&e);
  g_free (path);
}

static void
test_synth_window (void)
{
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  g.num_requests = 200;
  g.rate = 10;
  GArray *full = gen_all (&g, 5, NULL);
  TraceOptions o;
  trace_options_init (&o);
  o.limit = 50;
  o.time_scale = 0.5;
  GArray *half = gen_all (&g, 5, &o);
  CU_ASSERT_EQUAL_FATAL (half->len, 50);
  gboolean ok = TRUE;
  for (guint i = 0; i < half->len; i++)
    ok = ok && llabs (REQ (half, i)->arrival - REQ (full, i)->arrival / 2) <= 1;
  CU_ASSERT_TRUE (ok);
  g_array_free (half, TRUE);
  /* start/end on the generated time */
  trace_options_init (&o);
  o.start_s = 5;
  o.end_s = 10;
  GArray *w = gen_all (&g, 5, &o);
  guint expect = 0, first = 0;
  for (guint i = 0; i < full->len; i++)
    if (REQ (full, i)->arrival >= 5 * SIM_S && REQ (full, i)->arrival < 10 * SIM_S)
      first = expect++ ? first : i;
  CU_ASSERT_TRUE (expect > 20);
  CU_ASSERT_EQUAL_FATAL (w->len, expect);
  CU_ASSERT_EQUAL (REQ (w, 0)->arrival, REQ (full, first)->arrival - 5 * SIM_S);
  CU_ASSERT_EQUAL (REQ (w, 0)->id, 0);
  g_array_free (w, TRUE);
  g_array_free (full, TRUE);
}

static void
expect_spec_error (const TraceGenSpec *g, const char *needle)
{
  GError *e = NULL;
  TraceSource *s = trace_source_new_synthetic (g, 1, NULL, &e);
  CU_ASSERT_PTR_NULL (s);
  CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_INVALID));
  CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, needle) : NULL);
  if (e && !strstr (e->message, needle))
    fprintf (stderr, "\n  message: %s\n  wanted: %s\n", e->message, needle);
  trace_source_free (s);
  g_clear_error (&e);
}

static void
test_synth_bad_specs (void)
{
  TraceGenSpec g;
  trace_gen_spec_init (&g);
  g.rate = -1;
  expect_spec_error (&g, "workload.generator.rate must be > 0 and finite (got -1)");
  g.rate = 0;
  expect_spec_error (&g, "workload.generator.rate must be > 0 and finite (got 0)");
  g.rate = INFINITY;
  expect_spec_error (&g, "workload.generator.rate");
  trace_gen_spec_init (&g);
  g.arrival = TRACE_ARRIVAL_GAMMA;
  g.cv = 0;
  expect_spec_error (&g, "workload.generator.cv must be > 0 and finite (got 0)");
  g.cv = NAN;
  expect_spec_error (&g, "workload.generator.cv");
  trace_gen_spec_init (&g);
  g.num_requests = 0;
  expect_spec_error (&g, "workload.generator.num_requests must be > 0 (got 0)");
  trace_gen_spec_init (&g);
  g.prompt_tokens = 0;
  expect_spec_error (&g, "workload.generator.prompt_tokens must be in [1, 10000000] (got 0)");
  trace_gen_spec_init (&g);
  g.output_tokens = 20000000;
  expect_spec_error (&g, "workload.generator.output_tokens must be in [1, 10000000]");
  trace_gen_spec_init (&g);
  g.lengths = TRACE_LENGTH_UNIFORM;
  g.prompt_min = 0;
  expect_spec_error (&g, "workload.generator.prompt_min must be in [1, 10000000] (got 0)");
  g.prompt_min = 50;
  g.prompt_max = 10;
  expect_spec_error (&g, "workload.generator.prompt_max must be >= prompt_min (got 10 < 50)");
  g.prompt_max = 60;
  g.output_min = 9;
  g.output_max = 8;
  expect_spec_error (&g, "workload.generator.output_max must be >= output_min");
  trace_gen_spec_init (&g);
  g.lengths = TRACE_LENGTH_FILE;
  expect_spec_error (&g, "workload.generator.length_file must name a CSV file");
  trace_gen_spec_init (&g);
  TraceOptions o;
  trace_options_init (&o);
  o.time_scale = -2;
  GError *e = NULL;
  CU_ASSERT_PTR_NULL (trace_source_new_synthetic (&g, 1, &o, &e));
  CU_ASSERT_TRUE (g_error_matches (e, TRACE_ERROR, TRACE_ERROR_INVALID));
  CU_ASSERT_PTR_NOT_NULL (e ? strstr (e->message, "workload.time_scale") : NULL);
  g_clear_error (&e);
}

/* ------------------------------------------------------------------------ */
/* the full shared traces                                                   */

static void
count_shared (const char *rel, TraceFormat fmt, guint expect, gboolean blocks)
{
  const char *root = g_getenv ("SERVESIM_SHARED_DATA");
  char *path = root ? g_build_filename (root, rel, NULL) : NULL;
  if (!path || !g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    fprintf (stderr, "(skipped: %s not found; set SERVESIM_SHARED_DATA) ", rel);
    g_free (path);
    return;
  }
  GError *e = NULL;
  TraceSource *src = trace_source_open (path, fmt, NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (src);
  TraceRequest r;
  guint n = 0;
  SimTime prev = 0;
  gboolean monotone = TRUE, any_blocks = FALSE;
  while (trace_source_next (src, &r, &e)) {
    monotone = monotone && r.arrival >= prev && r.id == n;
    any_blocks |= r.n_prefix_blocks > 0;
    prev = r.arrival;
    n++;
  }
  CU_ASSERT_PTR_NULL (e);
  g_clear_error (&e);
  CU_ASSERT_EQUAL (n, expect);
  CU_ASSERT_TRUE (monotone);
  CU_ASSERT_TRUE (prev > 0);
  CU_ASSERT_EQUAL (any_blocks, blocks);
  trace_source_free (src);
  g_free (path);
}

static void
test_shared_traces (void)
{
  count_shared ("traces/azure2023/AzureLLMInferenceTrace_conv.csv", TRACE_FORMAT_AUTO, 19366,
                FALSE);
  count_shared ("traces/azure2023/AzureLLMInferenceTrace_code.csv", TRACE_FORMAT_AZURE, 8819,
                FALSE);
  count_shared ("traces/mooncake/conversation_trace.jsonl", TRACE_FORMAT_AUTO, 12031, TRUE);
}

int
main (void)
{
  static const TestCase cases[] = {
    { "format names", test_format_names },
    { "azure good", test_azure_good },
    { "vidur good", test_vidur_good },
    { "mooncake good", test_mooncake_good },
    { "generic csv", test_generic_csv },
    { "optional priority and client columns", test_class_columns },
    { "optional conversation column", test_conversation_column },
    { "auto sniff", test_auto_sniff },
    { "bundled excerpt", test_bundled_excerpt },
    { "crlf", test_crlf },
    { "blank lines", test_blank_lines },
    { "no final newline", test_no_final_newline },
    { "bom", test_bom },
    { "long lines", test_long_lines },
    { "bad numbers", test_bad_numbers },
    { "bad timestamps", test_bad_timestamps },
    { "missing columns", test_missing_columns },
    { "too few fields", test_too_few_fields },
    { "backwards time", test_backwards_time },
    { "bad json", test_bad_json },
    { "bad hash_ids", test_bad_hash_ids },
    { "error is sticky", test_error_is_sticky },
    { "missing file", test_missing_file },
    { "window limit", test_window_limit },
    { "window start/end", test_window_start_end },
    { "window time_scale", test_window_time_scale },
    { "bad options", test_bad_options },
    { "synthetic describe", test_synth_describe },
    { "synthetic determinism", test_synth_determinism },
    { "synthetic rates", test_synth_rates },
    { "synthetic uniform", test_synth_uniform },
    { "synthetic length file", test_synth_length_file },
    { "synthetic window", test_synth_window },
    { "synthetic bad specs", test_synth_bad_specs },
    { "shared traces", test_shared_traces },
    { NULL, NULL },
  };
  int rc = test_run_suite ("traces", cases);
  if (tmp) {
    test_rmdir_r (tmp);
    g_free (tmp);
  }
  return rc;
}
