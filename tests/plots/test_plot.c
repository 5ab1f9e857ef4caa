/* tests/plots/test_plot.c — tests for plots/plot.c: exact data files, script
 * text, DOT text and escaping, atomic writes and I/O errors, tool lookup
 * overrides, and (only when gnuplot / dot are installed) rendering to PNG/SVG.
 * It does not judge how the figures look.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "plots/plot.h"
#include "tests/testutil.h"

static char *
read_file (const char *dir, const char *name)
{
  char *p = g_build_filename (dir, name, NULL);
  char *text = NULL;
  gboolean ok = g_file_get_contents (p, &text, NULL, NULL);
  g_free (p);
  CU_ASSERT_TRUE (ok);
  return text;
}

/* TRUE when `text` has `line` as one whole line. */
static gboolean
has_line (const char *text, const char *line)
{
  gsize n = strlen (line);
  for (const char *p = text; p && *p; ) {
    const char *nl = strchr (p, '\n');
    gsize len = nl ? (gsize) (nl - p) : strlen (p);
    if (len == n && memcmp (p, line, n) == 0)
      return TRUE;
    p = nl ? nl + 1 : NULL;
  }
  return FALSE;
}

/* No leftover "*.tmp.*" files in dir. */
static void
assert_no_tmp (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  const char *n;
  while ((n = g_dir_read_name (d)))
    CU_ASSERT_PTR_NULL (strstr (n, ".tmp"));
  g_dir_close (d);
}

static const double A[] = { 3, 1, NAN, 2 };
static const double B[] = { 0.5, -1 };

static void
write_two_series (const char *dir, const char *name)
{
  PlotSeries s[] = { { "a", A, G_N_ELEMENTS (A) }, { "b", B, G_N_ELEMENTS (B) } };
  GError *e = NULL;
  CU_ASSERT_TRUE (plot_write_cdf (dir, name, "Latency", "latency (s)", s, 2, &e));
  CU_ASSERT_PTR_NULL (e);
  g_clear_error (&e);
}

static void
test_cdf_data_exact (void)
{
  char *dir = test_tmpdir ();
  write_two_series (dir, "lat");
  char *dat = read_file (dir, "lat.dat");
  CU_ASSERT_STRING_EQUAL (dat,
    "# servesim CDF: Latency\n"
    "# columns: value, cumulative fraction i/n of the series' values\n"
    "# one block per series, blocks separated by two blank lines\n"
    "# series 0: a (3 values, 1 non-finite skipped)\n"
    "1 0.3333333333333333\n"
    "2 0.6666666666666666\n"
    "3 1\n"
    "\n"
    "\n"
    "# series 1: b (2 values)\n"
    "-1 0.5\n"
    "0.5 1\n");
  /* the input arrays are not touched */
  CU_ASSERT_EQUAL (A[0], 3);
  CU_ASSERT_EQUAL (B[0], 0.5);
  assert_no_tmp (dir);
  g_free (dat);
  test_rmdir_r (dir);
  g_free (dir);
}

static void
test_cdf_script_text (void)
{
  char *dir = test_tmpdir ();
  write_two_series (dir, "lat");
  char *gp = read_file (dir, "lat.gp");
  CU_ASSERT_TRUE (has_line (gp, "  set terminal pngcairo size 900,600"));
  CU_ASSERT_TRUE (has_line (gp, "set output \"lat.png\""));
  CU_ASSERT_TRUE (has_line (gp, "set title \"Latency\" noenhanced"));
  CU_ASSERT_TRUE (has_line (gp, "set xlabel \"latency (s)\" noenhanced"));
  CU_ASSERT_TRUE (has_line (gp, "set ylabel \"fraction of requests\""));
  CU_ASSERT_TRUE (has_line (gp, "set grid"));
  CU_ASSERT_TRUE (has_line (gp, "set key bottom right"));
  CU_ASSERT_TRUE (has_line (gp, "plot \"lat.dat\" index 0 using 1:2 with steps lw 2 "
                                "title \"a\" noenhanced, \\"));
  CU_ASSERT_TRUE (has_line (gp, "     \"lat.dat\" index 1 using 1:2 with steps lw 2 "
                                "title \"b\" noenhanced"));
  g_free (gp);

  /* same input, same bytes */
  char *dat1 = read_file (dir, "lat.dat");
  char *gp1 = read_file (dir, "lat.gp");
  write_two_series (dir, "lat");
  char *dat2 = read_file (dir, "lat.dat");
  char *gp2 = read_file (dir, "lat.gp");
  CU_ASSERT_STRING_EQUAL (dat1, dat2);
  CU_ASSERT_STRING_EQUAL (gp1, gp2);
  g_free (dat1);
  g_free (dat2);
  g_free (gp1);
  g_free (gp2);
  test_rmdir_r (dir);
  g_free (dir);
}

static void
test_cdf_escaping (void)
{
  char *dir = test_tmpdir ();
  static const double v[] = { 1 };
  PlotSeries s[] = { { "say \"hi\"", v, 1 } };
  GError *e = NULL;
  CU_ASSERT_TRUE (plot_write_cdf (dir, "esc", "p99 \"tail\" C:\\dir\nnext", "x\\y", s, 1, &e));
  CU_ASSERT_PTR_NULL (e);
  char *gp = read_file (dir, "esc.gp");
  CU_ASSERT_TRUE (has_line (gp, "set title \"p99 \\\"tail\\\" C:\\\\dir\\nnext\" noenhanced"));
  CU_ASSERT_TRUE (has_line (gp, "set xlabel \"x\\\\y\" noenhanced"));
  CU_ASSERT_TRUE (has_line (gp, "plot \"esc.dat\" index 0 using 1:2 with steps lw 2 "
                                "title \"say \\\"hi\\\"\" noenhanced"));
  /* the comment stays on one line */
  CU_ASSERT_TRUE (has_line (gp, "# servesim CDF: p99 \"tail\" C:\\dir next"));
  char *dat = read_file (dir, "esc.dat");
  CU_ASSERT_TRUE (has_line (dat, "# servesim CDF: p99 \"tail\" C:\\dir next"));
  CU_ASSERT_TRUE (has_line (dat, "1 1"));
  g_free (dat);
  g_free (gp);
  test_rmdir_r (dir);
  g_free (dir);
}

static void
test_cdf_empty_series (void)
{
  char *dir = test_tmpdir ();
  static const double x[] = { 2, 1 };
  static const double nan_only[] = { NAN };
  PlotSeries s[] = { { "x", x, 2 }, { "none", NULL, 0 }, { NULL, nan_only, 1 }, { "y", x, 2 } };
  GError *e = NULL;
  CU_ASSERT_TRUE (plot_write_cdf (dir, "emp", NULL, NULL, s, 4, &e));
  CU_ASSERT_PTR_NULL (e);
  char *dat = read_file (dir, "emp.dat");
  CU_ASSERT_STRING_EQUAL (dat,
    "# servesim CDF: \n"
    "# columns: value, cumulative fraction i/n of the series' values\n"
    "# one block per series, blocks separated by two blank lines\n"
    "# series 0: x (2 values)\n"
    "1 0.5\n"
    "2 1\n"
    "\n\n"
    "# series 1: none (no values)\n"
    "\n\n"
    "# series 2: series 2 (no values, 1 non-finite skipped)\n"
    "\n\n"
    "# series 3: y (2 values)\n"
    "1 0.5\n"
    "2 1\n");
  char *gp = read_file (dir, "emp.gp");
  /* gnuplot's index skips comment-only blocks: "y" is data set 1 */
  CU_ASSERT_TRUE (has_line (gp, "plot \"emp.dat\" index 0 using 1:2 with steps lw 2 "
                                "title \"x\" noenhanced, \\"));
  CU_ASSERT_TRUE (has_line (gp, "     \"emp.dat\" index 1 using 1:2 with steps lw 2 "
                                "title \"y\" noenhanced"));
  CU_ASSERT_TRUE (has_line (gp, "set xlabel \"value\" noenhanced"));
  CU_ASSERT_PTR_NULL (strstr (gp, "set title"));
  g_free (gp);
  g_free (dat);

  /* all empty: a script that says so and draws nothing */
  PlotSeries none[] = { { "a", NULL, 0 }, { "b", nan_only, 1 } };
  CU_ASSERT_TRUE (plot_write_cdf (dir, "none", "t", "x", none, 2, &e));
  CU_ASSERT_PTR_NULL (e);
  gp = read_file (dir, "none.gp");
  CU_ASSERT_TRUE (has_line (gp, "print \"servesim: nothing to plot in none.dat "
                                "(all series are empty)\""));
  CU_ASSERT_PTR_NULL (strstr (gp, "index"));
  g_free (gp);
  test_rmdir_r (dir);
  g_free (dir);
}

static void
test_timeline (void)
{
  char *dir = test_tmpdir ();
  const double t[] = { 0, 0.5, 1.25 };
  const double v[] = { 1, 10,
                       2, NAN,
                       0, 30 };
  const char *const cols[] = { "queue depth", "kv \"used\"" };
  GError *e = NULL;
  CU_ASSERT_TRUE (plot_write_timeline (dir, "tl", "Replica 0", t, v, 3, cols, 2, &e));
  CU_ASSERT_PTR_NULL (e);
  char *dat = read_file (dir, "tl.dat");
  CU_ASSERT_STRING_EQUAL (dat,
    "# servesim timeline: Replica 0\n"
    "# column 1: t (simulated time, s)\n"
    "# column 2: queue depth\n"
    "# column 3: kv \"used\"\n"
    "0 1 10\n"
    "0.5 2 NaN\n"
    "1.25 0 30\n");
  char *gp = read_file (dir, "tl.gp");
  CU_ASSERT_TRUE (has_line (gp, "  set terminal pngcairo size 900,600"));
  CU_ASSERT_TRUE (has_line (gp, "set output \"tl.png\""));
  CU_ASSERT_TRUE (has_line (gp, "set datafile missing \"NaN\""));
  CU_ASSERT_TRUE (has_line (gp, "set multiplot layout 2,1 title \"Replica 0\" noenhanced"));
  CU_ASSERT_TRUE (has_line (gp, "set xrange [0:1.25]"));
  CU_ASSERT_TRUE (has_line (gp, "set ylabel \"queue depth\" noenhanced"));
  CU_ASSERT_TRUE (has_line (gp, "plot \"tl.dat\" using 1:2 with steps lw 2 notitle"));
  CU_ASSERT_TRUE (has_line (gp, "set ylabel \"kv \\\"used\\\"\" noenhanced"));
  CU_ASSERT_TRUE (has_line (gp, "plot \"tl.dat\" using 1:3 with steps lw 2 notitle"));
  CU_ASSERT_TRUE (has_line (gp, "set xlabel \"simulated time (s)\""));
  CU_ASSERT_TRUE (has_line (gp, "unset multiplot"));
  /* the shared x label comes once, before the last panel */
  const char *xl = strstr (gp, "set xlabel \"simulated time (s)\"");
  CU_ASSERT_PTR_NOT_NULL (xl);
  CU_ASSERT_PTR_NULL (strstr (xl + 1, "set xlabel \"simulated"));
  CU_ASSERT_TRUE (xl && strstr (gp, "using 1:2") < xl && strstr (gp, "using 1:3") > xl);
  g_free (gp);
  g_free (dat);

  /* no rows: header only, a no-data script */
  CU_ASSERT_TRUE (plot_write_timeline (dir, "empty", NULL, NULL, NULL, 0, cols, 2, &e));
  CU_ASSERT_PTR_NULL (e);
  gp = read_file (dir, "empty.gp");
  CU_ASSERT_PTR_NOT_NULL (strstr (gp, "print \"servesim: nothing to plot in empty.dat"));
  CU_ASSERT_PTR_NULL (strstr (gp, "multiplot"));
  g_free (gp);
  assert_no_tmp (dir);
  test_rmdir_r (dir);
  g_free (dir);
}

static PlotGraph *
small_graph (void)
{
  PlotGraph *g = plot_graph_new ("cluster view");
  plot_graph_node (g, "router", "Router", "box");
  plot_graph_begin_cluster (g, "node0", "Node 0");
  plot_graph_node (g, "gpu0", "GPU 0\n\"H100\"", NULL);
  plot_graph_begin_cluster (g, "tp", "TP group");
  plot_graph_node (g, "a\\b", NULL, "ellipse");
  plot_graph_end_cluster (g);
  plot_graph_end_cluster (g);
  plot_graph_node (g, "sink", NULL, NULL);
  plot_graph_edge (g, "router", "gpu0", "requests");
  plot_graph_edge (g, "gpu0", "a\\b", NULL);
  return g;
}

static const char SMALL_DOT[] =
  "digraph \"cluster view\" {\n"
  "  \"router\" [label=\"Router\", shape=\"box\"];\n"
  "  subgraph \"cluster_node0\" {\n"
  "    label=\"Node 0\";\n"
  "    \"gpu0\" [label=\"GPU 0\\n\\\"H100\\\"\"];\n"
  "    subgraph \"cluster_tp\" {\n"
  "      label=\"TP group\";\n"
  "      \"a\\\\b\" [shape=\"ellipse\"];\n"
  "    }\n"
  "  }\n"
  "  \"sink\";\n"
  "  \"router\" -> \"gpu0\" [label=\"requests\"];\n"
  "  \"gpu0\" -> \"a\\\\b\";\n"
  "}\n";

static void
test_graph_dot (void)
{
  char *dir = test_tmpdir ();
  PlotGraph *g = small_graph ();
  GError *e = NULL;
  CU_ASSERT_TRUE (plot_graph_write (g, dir, "topo", &e));
  CU_ASSERT_PTR_NULL (e);
  char *dot = read_file (dir, "topo.dot");
  CU_ASSERT_STRING_EQUAL (dot, SMALL_DOT);
  g_free (dot);
  assert_no_tmp (dir);
  plot_graph_free (g);

  /* unnamed graph, cluster left open: closed on write */
  g = plot_graph_new (NULL);
  plot_graph_begin_cluster (g, "c", NULL);
  plot_graph_node (g, "n", NULL, NULL);
  CU_ASSERT_TRUE (plot_graph_write (g, dir, "open", &e));
  dot = read_file (dir, "open.dot");
  CU_ASSERT_STRING_EQUAL (dot, "digraph {\n  subgraph \"cluster_c\" {\n    \"n\";\n  }\n}\n");
  g_free (dot);
  plot_graph_free (g);
  plot_graph_free (NULL);
  test_rmdir_r (dir);
  g_free (dir);
}

static void
test_missing_dir (void)
{
  char *dir = test_tmpdir ();
  char *missing = g_build_filename (dir, "no", "such", NULL);
  static const double v[] = { 1 };
  PlotSeries s[] = { { "a", v, 1 } };
  GError *e = NULL;
  CU_ASSERT_FALSE (plot_write_cdf (missing, "lat", "t", "x", s, 1, &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_IO));
  CU_ASSERT_TRUE (e && strstr (e->message, missing) && strstr (e->message, "lat.dat"));
  g_clear_error (&e);

  const double t[] = { 0 };
  const char *const cols[] = { "c" };
  CU_ASSERT_FALSE (plot_write_timeline (missing, "tl", NULL, t, v, 1, cols, 1, &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_IO));
  CU_ASSERT_TRUE (e && strstr (e->message, missing) != NULL);
  g_clear_error (&e);

  PlotGraph *g = plot_graph_new ("g");
  CU_ASSERT_FALSE (plot_graph_write (g, missing, "topo", &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_IO));
  CU_ASSERT_TRUE (e && strstr (e->message, missing) && strstr (e->message, "topo.dot"));
  g_clear_error (&e);
  plot_graph_free (g);

  /* rendering a file that was never written is an I/O error, not a tool one */
  CU_ASSERT_FALSE (plot_render_gnuplot (dir, "nothing.gp", &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_IO));
  g_clear_error (&e);
  CU_ASSERT_FALSE (plot_render_dot (dir, "nothing", &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_IO));
  g_clear_error (&e);

  /* nothing was created next to the missing directory */
  GDir *d = g_dir_open (dir, 0, NULL);
  CU_ASSERT_PTR_NULL (g_dir_read_name (d));
  g_dir_close (d);
  g_free (missing);
  test_rmdir_r (dir);
  g_free (dir);
}

static void
test_tool_missing (void)
{
  char *dir = test_tmpdir ();
  write_two_series (dir, "lat");
  PlotGraph *g = small_graph ();
  CU_ASSERT_TRUE (plot_graph_write (g, dir, "topo", NULL));
  plot_graph_free (g);

  GError *e = NULL;
  g_setenv ("SERVESIM_GNUPLOT", "", TRUE);
  g_setenv ("SERVESIM_DOT", "", TRUE);
  CU_ASSERT_PTR_NULL (plot_find_gnuplot ());
  CU_ASSERT_PTR_NULL (plot_find_dot ());
  CU_ASSERT_FALSE (plot_render_gnuplot (dir, "lat.gp", &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_TOOL_MISSING));
  CU_ASSERT_TRUE (e && strstr (e->message, "gnuplot not found") &&
                  strstr (e->message, "gnuplot-nox") && strstr (e->message, "lat.gp") &&
                  strstr (e->message, dir));
  g_clear_error (&e);
  CU_ASSERT_FALSE (plot_render_dot (dir, "topo", &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_TOOL_MISSING));
  CU_ASSERT_TRUE (e && strstr (e->message, "graphviz") && strstr (e->message, "topo.dot"));
  g_clear_error (&e);

  /* an override naming no executable is missing too */
  g_setenv ("SERVESIM_GNUPLOT", "/nonexistent/gnuplot", TRUE);
  CU_ASSERT_PTR_NULL (plot_find_gnuplot ());
  CU_ASSERT_FALSE (plot_render_gnuplot (dir, "lat.gp", &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_TOOL_MISSING));
  g_clear_error (&e);

  /* an override naming a program finds it in $PATH */
  g_setenv ("SERVESIM_GNUPLOT", "sh", TRUE);
  char *sh = plot_find_gnuplot ();
  CU_ASSERT_PTR_NOT_NULL (sh);
  g_free (sh);

  g_unsetenv ("SERVESIM_GNUPLOT");
  g_unsetenv ("SERVESIM_DOT");
  test_rmdir_r (dir);
  g_free (dir);
}

static void
assert_png (const char *dir, const char *name)
{
  char *p = g_build_filename (dir, name, NULL);
  char *data = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE (g_file_get_contents (p, &data, &len, NULL));
  CU_ASSERT_TRUE (len > 8 && memcmp (data, "\x89PNG\r\n\x1a\n", 8) == 0);
  g_free (data);
  g_free (p);
}

static void
test_render_gnuplot (void)
{
  g_unsetenv ("SERVESIM_GNUPLOT");
  char *tool = plot_find_gnuplot ();
  if (!tool) {
    fprintf (stderr, " (gnuplot not installed: skipped) ");
    return;
  }
  g_free (tool);
  char *dir = test_tmpdir ();
  GError *e = NULL;
  write_two_series (dir, "lat");
  CU_ASSERT_TRUE (plot_render_gnuplot (dir, "lat.gp", &e));
  CU_ASSERT_PTR_NULL (e);
  g_clear_error (&e);
  assert_png (dir, "lat.png");

  const double t[] = { 0, 0.5, 1.25 };
  const double v[] = { 1, 10, 2, NAN, 0, 30 };
  const char *const cols[] = { "queue_depth", "kv" };
  CU_ASSERT_TRUE (plot_write_timeline (dir, "tl", "t \"q\" \\", t, v, 3, cols, 2, &e));
  CU_ASSERT_TRUE (plot_render_gnuplot (dir, "tl.gp", &e));
  CU_ASSERT_PTR_NULL (e);
  g_clear_error (&e);
  assert_png (dir, "tl.png");

  PlotSeries none[] = { { "a", NULL, 0 } };
  CU_ASSERT_TRUE (plot_write_cdf (dir, "none", "empty", "x", none, 1, &e));
  CU_ASSERT_TRUE (plot_render_gnuplot (dir, "none.gp", &e));
  CU_ASSERT_PTR_NULL (e);
  g_clear_error (&e);
  assert_png (dir, "none.png");

  /* a failing script: TOOL_FAILED carrying gnuplot's complaint */
  char *bad = test_write_file (dir, "bad.gp", "plot no_such_function_xyz(x)\n");
  CU_ASSERT_FALSE (plot_render_gnuplot (dir, "bad.gp", &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_TOOL_FAILED));
  CU_ASSERT_TRUE (e && strstr (e->message, "no_such_function_xyz") != NULL);
  g_clear_error (&e);
  g_free (bad);
  test_rmdir_r (dir);
  g_free (dir);
}

static void
test_render_dot (void)
{
  g_unsetenv ("SERVESIM_DOT");
  char *tool = plot_find_dot ();
  if (!tool) {
    fprintf (stderr, " (dot not installed: skipped) ");
    return;
  }
  g_free (tool);
  char *dir = test_tmpdir ();
  GError *e = NULL;
  PlotGraph *g = small_graph ();
  CU_ASSERT_TRUE (plot_graph_write (g, dir, "topo", &e));
  plot_graph_free (g);
  CU_ASSERT_TRUE (plot_render_dot (dir, "topo", &e));
  CU_ASSERT_PTR_NULL (e);
  g_clear_error (&e);
  char *svg = read_file (dir, "topo.svg");
  CU_ASSERT_TRUE (svg && strstr (svg, "<svg") != NULL);
  CU_ASSERT_TRUE (svg && strstr (svg, "TP group") != NULL);
  g_free (svg);
  assert_no_tmp (dir);

  /* a syntax error: TOOL_FAILED, no .svg and no temporary left */
  g_free (test_write_file (dir, "bad.dot", "digraph { a -> ; }\n"));
  CU_ASSERT_FALSE (plot_render_dot (dir, "bad", &e));
  CU_ASSERT_TRUE (g_error_matches (e, PLOT_ERROR, PLOT_ERROR_TOOL_FAILED));
  CU_ASSERT_TRUE (e && strstr (e->message, "syntax error") != NULL);
  g_clear_error (&e);
  char *badsvg = g_build_filename (dir, "bad.svg", NULL);
  CU_ASSERT_FALSE (g_file_test (badsvg, G_FILE_TEST_EXISTS));
  g_free (badsvg);
  assert_no_tmp (dir);
  test_rmdir_r (dir);
  g_free (dir);
}

int
main (void)
{
  static const TestCase cases[] = {
    { "cdf data exact", test_cdf_data_exact },
    { "cdf script text", test_cdf_script_text },
    { "cdf escaping", test_cdf_escaping },
    { "cdf empty series", test_cdf_empty_series },
    { "timeline", test_timeline },
    { "graph dot", test_graph_dot },
    { "missing directory", test_missing_dir },
    { "tool missing", test_tool_missing },
    { "render gnuplot", test_render_gnuplot },
    { "render dot", test_render_dot },
    { NULL, NULL },
  };
  return test_run_suite ("plots/plot", cases);
}
