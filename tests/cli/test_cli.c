/* tests/cli/test_cli.c — cli/main.c: runs the built servesim program (./servesim
 * in the build directory, where make check runs; $SERVESIM_BIN overrides) and
 * checks exit codes, help text, the describe listings, the resolved scenario,
 * error messages on stderr and the files a replay writes. Does not test the
 * library behind it (tests/serve/, tests/policies/).
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <jansson.h>

#include "tests/testutil.h"

static char *tmp;
static const char *bin;

typedef struct {
  int   status; /* exit code, or -1 when it did not exit normally */
  char *out, *err;
} Result;

static void
result_clear (Result *r)
{
  g_free (r->out);
  g_free (r->err);
  memset (r, 0, sizeof *r);
}

/* Runs servesim with the NULL-terminated arguments. */
static Result
run (const char *first, ...)
{
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) bin);
  va_list ap;
  va_start (ap, first);
  for (const char *a = first; a; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  Result r = { -1, NULL, NULL };
  int wait = 0;
  GError *e = NULL;
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                     &wait, &e)) {
    fprintf (stderr, "\n    cannot run %s: %s\n", bin, e->message);
    g_error_free (e);
    r.out = g_strdup ("");
    r.err = g_strdup ("");
  } else if (WIFEXITED (wait))
    r.status = WEXITSTATUS (wait);
  g_ptr_array_free (argv, TRUE);
  return r;
}

static gboolean
contains (const char *hay, const char *needle)
{
  gboolean ok = hay && strstr (hay, needle) != NULL;
  if (!ok)
    fprintf (stderr, "\n    output lacks '%s':\n%.2000s\n", needle, hay ? hay : "(null)");
  return ok;
}

static void
test_help (void)
{
  Result r = run ("replay", "--help", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "--set"));
  CU_ASSERT_TRUE (contains (r.out, "--out"));
  CU_ASSERT_TRUE (contains (r.out, "--quiet"));
  CU_ASSERT_TRUE (contains (r.out, "--no-render"));
  CU_ASSERT_TRUE (contains (r.out, "servesim replay"));
  result_clear (&r);
  r = run ("describe", "--help", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "--set"));
  CU_ASSERT_TRUE (contains (r.out, "--catalog"));
  CU_ASSERT_TRUE (contains (r.out, "gpus"));
  result_clear (&r);
  r = run ("help", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "replay"));
  CU_ASSERT_TRUE (contains (r.out, "describe"));
  result_clear (&r);
  r = run ("version", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, PACKAGE_VERSION));
  result_clear (&r);
  /* no command: usage on stderr, non-zero */
  r = run (NULL);
  CU_ASSERT_NOT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.err, "Usage"));
  result_clear (&r);
}

static void
test_describe_gpus (void)
{
  Result r = run ("describe", "gpus", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "h100-sxm"));
  CU_ASSERT_TRUE (contains (r.out, "a100-80gb"));
  /* a header line plus one line per GPU */
  char **lines = g_strsplit (r.out, "\n", -1);
  guint n = 0;
  for (char **l = lines + 1; *l; l++)
    n += **l != '\0';
  g_strfreev (lines);
  CU_ASSERT_TRUE (n >= 13);
  result_clear (&r);
}

static void
test_describe_models_policies (void)
{
  Result r = run ("describe", "models", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "llama-3.1-8b"));
  CU_ASSERT_TRUE (contains (r.out, "llama-3.1-70b"));
  CU_ASSERT_TRUE (contains (r.out, "window 4096"));   /* mistral-7b */
  CU_ASSERT_TRUE (contains (r.out, "full, q/k norm"));   /* qwen3 */
  CU_ASSERT_TRUE (contains (r.out, "full, rotary 32 of 80"));   /* phi-2 */
  CU_ASSERT_TRUE (contains (r.out, "full, learned positions"));   /* opt */
  result_clear (&r);
  r = run ("describe", "schedulers", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "vllm"));
  CU_ASSERT_TRUE (contains (r.out, "template"));
  CU_ASSERT_TRUE (contains (r.out, "max_batch_size"));
  result_clear (&r);
  r = run ("describe", "routers", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "round-robin"));
  result_clear (&r);
  r = run ("describe", "nothing", NULL);
  CU_ASSERT_NOT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.err, "nothing"));
  CU_ASSERT_TRUE (contains (r.err, "gpus"));
  result_clear (&r);
  r = run ("describe", NULL);
  CU_ASSERT_NOT_EQUAL (r.status, 0);
  result_clear (&r);
}

static void
test_describe_scenario (void)
{
  Result r = run ("describe", "scenario", "--set", "cluster.replicas=3", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  json_error_t jerr;
  json_t *j = json_loads (r.out ? r.out : "", 0, &jerr);
  CU_ASSERT_PTR_NOT_NULL (j);
  CU_ASSERT_TRUE (contains (r.out, "\"replicas\": 3"));
  CU_ASSERT_TRUE (contains (r.out, "max_batch_size"));
  if (j) {
    json_t *sched = json_object_get (j, "scheduler");
    CU_ASSERT_EQUAL (json_integer_value (json_object_get (sched, "max_batch_size")), 256);
    CU_ASSERT_TRUE (json_is_number (json_object_get (sched, "watermark")));
    CU_ASSERT_EQUAL (json_integer_value (json_object_get (json_object_get (j, "cluster"), "replicas")), 3);
  }
  json_decref (j);
  result_clear (&r);
  /* from a file, with --set over it */
  char *p = test_write_file (tmp, "s.json", "{ \"name\": \"from-file\", \"cluster\": { \"tp\": 2 } }\n");
  r = run ("describe", "scenario", p, "--set", "seed=9", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "\"from-file\""));
  CU_ASSERT_TRUE (contains (r.out, "\"tp\": 2"));
  CU_ASSERT_TRUE (contains (r.out, "\"seed\": 9"));
  result_clear (&r);
  g_free (p);
  /* a bad --set: non-zero, field named on stderr, nothing on stdout */
  r = run ("describe", "scenario", "--set", "cluster.replicas=0", NULL);
  CU_ASSERT_NOT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.err, "cluster.replicas"));
  CU_ASSERT_STRING_EQUAL (r.out, "");
  result_clear (&r);
}

/* No input makes the program crash: an object --set that drops a section's
 * required fields ends in a message or a valid run, never a signal. */
static void
test_no_crash_on_object_set (void)
{
  static const char *const sets[] = { "cluster={\"replicas\": 3}", "cluster={\"gpu\": \"h100-sxm\"}" };
  for (guint i = 0; i < G_N_ELEMENTS (sets); i++) {
    Result r = run ("describe", "scenario", "--set", sets[i], NULL);
    CU_ASSERT_TRUE (r.status >= 0); /* exited, not killed by a signal */
    if (r.status < 0)
      fprintf (stderr, "\n    'describe scenario --set %s' crashed\n", sets[i]);
    else if (r.status != 0)
      CU_ASSERT_TRUE (contains (r.err, "cluster"));
    result_clear (&r);
  }
}

static void
test_unknown_command (void)
{
  Result r = run ("replya", NULL);
  CU_ASSERT_NOT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.err, "replya"));
  result_clear (&r);
  r = run ("replay", "--no-such-option", NULL);
  CU_ASSERT_NOT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.err, "no-such-option"));
  result_clear (&r);
}

static void
test_replay_bad_gpu (void)
{
  char *out = g_build_filename (tmp, "bad-gpu", NULL);
  Result r = run ("replay", "--out", out, "--no-render", "--quiet", "--set", "cluster.gpu=nope", NULL);
  CU_ASSERT_NOT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.err, "cluster.gpu"));
  CU_ASSERT_TRUE (contains (r.err, "nope"));
  CU_ASSERT_TRUE (contains (r.err, "h100-sxm"));
  CU_ASSERT_TRUE (contains (r.err, "a100-80gb"));
  CU_ASSERT_FALSE (g_file_test (out, G_FILE_TEST_EXISTS));
  result_clear (&r);
  /* more than one scenario file */
  r = run ("replay", "a.json", "b.json", NULL);
  CU_ASSERT_NOT_EQUAL (r.status, 0);
  result_clear (&r);
  g_free (out);
}

static void
test_replay_writes (void)
{
  char *out = g_build_filename (tmp, "replay-out", NULL);
  Result r = run ("replay", "--out", out, "--no-render", "--quiet", "--set", "workload.trace=null",
                  "--set", "workload.generator.num_requests=20", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  if (r.status != 0)
    fprintf (stderr, "\n    stderr: %s\n", r.err);
  CU_ASSERT_STRING_EQUAL (r.out, ""); /* --quiet */
  char *sum = g_build_filename (out, "summary.json", NULL);
  json_error_t jerr;
  json_t *j = json_load_file (sum, 0, &jerr);
  CU_ASSERT_PTR_NOT_NULL (j);
  CU_ASSERT_EQUAL (json_integer_value (json_object_get (json_object_get (j, "requests"), "completed")), 20);
  json_decref (j);
  char *csv = g_build_filename (out, "requests.csv", NULL);
  CU_ASSERT_TRUE (g_file_test (csv, G_FILE_TEST_IS_REGULAR));
  char *png = g_build_filename (out, "ttft_cdf.png", NULL);
  CU_ASSERT_FALSE (g_file_test (png, G_FILE_TEST_EXISTS)); /* --no-render */
  char *scen = g_build_filename (out, "scenario.json", NULL);
  char *text = NULL;
  CU_ASSERT_TRUE (g_file_get_contents (scen, &text, NULL, NULL));
  CU_ASSERT_TRUE (contains (text, "\"render\": false"));
  g_free (text);
  result_clear (&r);
  /* without --quiet: the summary on stdout */
  r = run ("replay", "--out", out, "--no-render", "--set", "workload.trace=null", "--set",
           "workload.generator.num_requests=5", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "5 completed"));
  CU_ASSERT_TRUE (contains (r.out, "TTFT"));
  result_clear (&r);
  g_free (scen);
  g_free (png);
  g_free (csv);
  g_free (sum);
  g_free (out);
}

/* --catalog FILE takes the file name as it is, whatever characters it holds
 * (like --out). */
/* validate ops --profile-of: another GPU's profile carried over to the
 * measured one (our H200 data, always in the tree), named in the header, and
 * predicting differently from the GPU's own; bad uses exit 2 with a reason. */
static void
test_validate_profile_of (void)
{
  char *dir = g_build_filename (g_getenv ("top_srcdir") ? g_getenv ("top_srcdir") : ".",
                                "measurements", "h200", NULL);
  Result own = run ("validate", "ops", "--profiles", dir, "--no-plots", NULL);
  Result r = run ("validate", "ops", "--profiles", dir, "--no-plots", "--profile-of", "h100-sxm", NULL);
  CU_ASSERT_EQUAL (own.status, 0);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "operators (another GPU's profile) on h200"));
  CU_ASSERT_TRUE (contains (r.out, "profile: h100-sxm's (hopper"));
  CU_ASSERT_TRUE (contains (r.out, "carried over to h200 (hopper)"));
  /* the qkv line at T >= 16 differs: the H100's profile is from CUDA 12.1 */
  const char *a = strstr (own.out, "T>=16"), *b = strstr (r.out, "T>=16");
  CU_ASSERT_TRUE_FATAL (a && b);
  CU_ASSERT_NOT_EQUAL (strncmp (a, b, 60), 0);
  /* a threshold applies to the carried-over predictions too */
  result_clear (&r);
  r = run ("validate", "ops", "--profiles", dir, "--no-plots", "--profile-of", "h100-sxm",
           "--max-median-ape", "10", NULL);
  CU_ASSERT_EQUAL (r.status, 1);
  result_clear (&r);
  r = run ("validate", "ops", "--profiles", dir, "--no-plots", "--profile-of", "nope", NULL);
  CU_ASSERT_EQUAL (r.status, 2);
  CU_ASSERT_TRUE (contains (r.err, "nope"));
  result_clear (&r);
  r = run ("validate", "ops", "--profiles", dir, "--no-plots", "--profile-of", "h100-sxm",
           "--leave-one-out", NULL);
  CU_ASSERT_EQUAL (r.status, 2);
  CU_ASSERT_TRUE (contains (r.err, "exclude each other"));
  result_clear (&r);
  result_clear (&own);
  g_free (dir);
}

/* validate comm --network: collectives across nodes predicted with a
 * network's parameters, named in the header; the network an A100-80GB
 * profile was fitted on reproduces it, another one does not; bad uses exit 2. */
static void
test_validate_network (void)
{
  char *dir = g_build_filename (tmp, "net-data", NULL);
  g_mkdir_with_parents (dir, 0755);
  char *log = test_write_file (dir, "all_reduce_output.dat",
    "# nThread 1 nGpus 1 minBytes 4 maxBytes 8 step: 2(factor)\n"
    "#  Rank  0 Group  0 Pid 1 on node-a device  0 [0x07] NVIDIA A100-SXM4-80GB\n"
    "#  Rank  1 Group  0 Pid 2 on node-a device  1 [0x0f] NVIDIA A100-SXM4-80GB\n"
    "#  Rank  2 Group  0 Pid 3 on node-b device  0 [0x07] NVIDIA A100-SXM4-80GB\n"
    "#  Rank  3 Group  0 Pid 4 on node-b device  1 [0x0f] NVIDIA A100-SXM4-80GB\n"
    "     4194304   1048576  float  sum  -1   900.0  4.66  6.99  0   900.0  4.66  6.99  0\n"
    "    67108864  16777216  float  sum  -1  9000.0  7.46  11.18  0  9000.0  7.46  11.18  0\n");
  Result own = run ("validate", "comm", "--data", dir, "--no-plots", NULL);
  Result same = run ("validate", "comm", "--data", dir, "--no-plots", "--network", "vidur-a100-cluster", NULL);
  Result ndr = run ("validate", "comm", "--data", dir, "--no-plots", "--network", "ndr400-8", NULL);
  CU_ASSERT_EQUAL (own.status, 0);
  CU_ASSERT_EQUAL (same.status, 0);
  CU_ASSERT_EQUAL (ndr.status, 0);
  CU_ASSERT_TRUE (contains (ndr.out, "network (across nodes): ndr400-8, carried over from alcf-sophia-hdr"));
  const char *a = strstr (own.out, ">=1MiB"), *b = strstr (same.out, ">=1MiB"), *c = strstr (ndr.out, ">=1MiB");
  CU_ASSERT_TRUE_FATAL (a && b && c);
  CU_ASSERT_EQUAL (strncmp (a, b, 60), 0);      /* the profile's own network */
  CU_ASSERT_NOT_EQUAL (strncmp (a, c, 60), 0);  /* 6x faster NICs */
  result_clear (&own);
  result_clear (&same);
  result_clear (&ndr);
  /* --by-config: the large sizes split by cluster shape */
  Result bc = run ("validate", "comm", "--data", dir, "--no-plots", "--by-config", NULL);
  CU_ASSERT_EQUAL (bc.status, 0);
  CU_ASSERT_TRUE (contains (bc.out, "by configuration, sizes >= 1 MiB"));
  CU_ASSERT_TRUE (contains (bc.out, "all_reduce        4 ranks, 2 nodes of 2"));
  result_clear (&bc);
  /* operators: by source (model) and TP; our H200 data are always in the tree */
  char *h200 = g_build_filename (g_getenv ("top_srcdir") ? g_getenv ("top_srcdir") : ".",
                                 "measurements", "h200", NULL);
  bc = run ("validate", "ops", "--profiles", h200, "--no-plots", "--by-config", NULL);
  CU_ASSERT_EQUAL (bc.status, 0);
  CU_ASSERT_TRUE (contains (bc.out, "by configuration, T >= 16"));
  CU_ASSERT_TRUE (contains (bc.out, "mlp_down        Llama-2-70b-hf TP 8"));
  result_clear (&bc);
  g_free (h200);
  Result r = run ("validate", "comm", "--data", dir, "--no-plots", "--network", "nope", NULL);
  CU_ASSERT_EQUAL (r.status, 2);
  CU_ASSERT_TRUE (contains (r.err, "unknown network 'nope'"));
  result_clear (&r);
  r = run ("validate", "ops", "--profiles", dir, "--no-plots", "--network", "ndr400-8", NULL);
  CU_ASSERT_EQUAL (r.status, 2);
  CU_ASSERT_TRUE (contains (r.err, "applies to 'validate comm'"));
  result_clear (&r);
  r = run ("describe", "networks", NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "ndr400-8") && contains (r.out, "parameters: "));
  result_clear (&r);
  /* calibrate --networks-out: the fitted inter-node values as a network
   * entry that loads as a catalog and names what it gives */
  char *cal = g_build_filename (tmp, "net-cal", NULL);
  char *nets = g_build_filename (cal, "nets.json", NULL);
  r = run ("calibrate", "--profiles", dir, "--out", cal, "--networks-out", nets, NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "wrote 1 network to"));
  result_clear (&r);
  r = run ("describe", "networks", "--catalog", nets, NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "a100-80gb-measured") && contains (r.out, "given: comm_bw.inter"));
  result_clear (&r);
  /* collectives inside one node say nothing about a network: no file */
  char *one = g_build_filename (tmp, "net-one-node", NULL);
  g_mkdir_with_parents (one, 0755);
  g_free (test_write_file (one, "all_reduce_output.dat",
    "# nThread 1 nGpus 1 minBytes 4 maxBytes 8 step: 2(factor)\n"
    "#  Rank  0 Group  0 Pid 1 on node-a device  0 [0x07] NVIDIA A100-SXM4-80GB\n"
    "#  Rank  1 Group  0 Pid 2 on node-a device  1 [0x0f] NVIDIA A100-SXM4-80GB\n"
    "     4194304   1048576  float  sum  -1   30.0  139.8  139.8  0   30.0  139.8  139.8  0\n"));
  char *none = g_build_filename (cal, "none.json", NULL);
  r = run ("calibrate", "--profiles", one, "--out", cal, "--networks-out", none, NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "no collective crossed nodes"));
  CU_ASSERT_FALSE (g_file_test (none, G_FILE_TEST_EXISTS));
  result_clear (&r);
  /* all-reduces only (enough rows to fit the collectives): the send/recv's
   * and all-to-all's launch costs and rates, which they cannot tell, are
   * kept from the closest calibrated GPU (the other A100), said on the
   * terminal and in the profile's source */
  char *ar = g_build_filename (tmp, "net-allreduce-only", NULL), *cal2 = g_build_filename (tmp, "cal-ar", NULL);
  g_mkdir_with_parents (ar, 0755);
  GString *log2 = g_string_new ("# nThread 1 nGpus 1 minBytes 4 maxBytes 8 step: 2(factor)\n"
                                "#  Rank  0 Group  0 Pid 1 on node-a device  0 [0x07] NVIDIA A100-SXM4-80GB\n"
                                "#  Rank  1 Group  0 Pid 2 on node-a device  1 [0x0f] NVIDIA A100-SXM4-80GB\n");
  for (double sz = 1 << 20; sz <= 64 << 20; sz *= 2)
    g_string_append_printf (log2, "%12.0f %12.0f  float  sum  -1  %8.1f  1.0  1.0  0  %8.1f  1.0  1.0  0\n", sz,
                            sz / 4, 20 + sz / 150e3, 20 + sz / 150e3);
  g_free (test_write_file (ar, "all_reduce_output.dat", log2->str));
  g_string_free (log2, TRUE);
  r = run ("calibrate", "--profiles", ar, "--out", cal2, NULL);
  CU_ASSERT_EQUAL (r.status, 0);
  CU_ASSERT_TRUE (contains (r.out, "kept, the data cannot tell them: comm_p2p_frac, comm_a2a_lat_s, "
                                   "comm_a2a_frac, comm_p2p_lat_s from a100-40gb"));
  char *prof = g_build_filename (cal2, "a100-80gb.json", NULL), *ptext = NULL;
  CU_ASSERT_TRUE (g_file_get_contents (prof, &ptext, NULL, NULL));
  CU_ASSERT_TRUE (ptext && contains (ptext, "collective parameters the data cannot tell, kept from a100-40gb"));
  g_free (ptext);
  g_free (prof);
  g_free (cal2);
  g_free (ar);
  result_clear (&r);
  g_free (none);
  g_free (one);
  r = run ("calibrate", "--profiles", dir, "--out", cal, "--networks-out", "/nonexistent/dir/n.json", NULL);
  CU_ASSERT_EQUAL (r.status, 2);
  CU_ASSERT_TRUE (contains (r.err, "/nonexistent/dir/n.json"));
  result_clear (&r);
  g_free (nets);
  g_free (cal);
  g_free (log);
  g_free (dir);
}

static void
test_catalog_path_verbatim (void)
{
  char *src = NULL;
  char *gpus = g_build_filename (g_getenv ("top_srcdir") ? g_getenv ("top_srcdir") : ".",
                                 "models", "catalog", "gpus.json", NULL);
  if (!g_file_get_contents (gpus, &src, NULL, NULL)) {
    CU_FAIL ("cannot read models/catalog/gpus.json (top_srcdir unset?)");
    g_free (gpus);
    return;
  }
  static const char *const names[] = { "plain.json", "back\\slash.json", "quo\"te.json" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    char *p = test_write_file (tmp, names[i], src);
    Result r = run ("describe", "scenario", "--catalog", p, NULL);
    CU_ASSERT_EQUAL (r.status, 0);
    if (r.status != 0)
      fprintf (stderr, "\n    --catalog '%s': %s\n", p, r.err);
    json_error_t jerr;
    json_t *j = json_loads (r.out, 0, &jerr);
    CU_ASSERT_TRUE (j && json_is_string (json_object_get (j, "catalog"))
                    && strcmp (json_string_value (json_object_get (j, "catalog")), p) == 0);
    json_decref (j);
    result_clear (&r);
    g_free (p);
  }
  g_free (src);
  g_free (gpus);
}

int
main (void)
{
  bin = g_getenv ("SERVESIM_BIN");
  if (!bin)
    bin = "./servesim";
  if (!g_file_test (bin, G_FILE_TEST_IS_EXECUTABLE)) {
    fprintf (stderr, "%s not found: run from the build directory (make check) or set SERVESIM_BIN\n",
             bin);
    return 1;
  }
  tmp = test_tmpdir ();
  static const TestCase cases[] = {
    { "--help of replay and describe", test_help },
    { "describe gpus", test_describe_gpus },
    { "describe models, schedulers, routers", test_describe_models_policies },
    { "describe scenario --set", test_describe_scenario },
    { "unknown command / option", test_unknown_command },
    { "no crash on --set of a whole section", test_no_crash_on_object_set },
    { "replay with unknown gpu", test_replay_bad_gpu },
    { "validate comm --network, describe networks", test_validate_network },
    { "replay --out --no-render --quiet", test_replay_writes },
    { "--catalog FILE taken verbatim", test_catalog_path_verbatim },
    { "validate ops --profile-of another GPU", test_validate_profile_of },
    { NULL, NULL }
  };
  int rc = test_run_suite ("cli", cases);
  test_rmdir_r (tmp);
  g_free (tmp);
  return rc;
}
