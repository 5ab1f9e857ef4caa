/* plots/plot.c — figures out: CDF and timeline data files with the gnuplot
 * scripts that draw them, Graphviz .dot graphs, and rendering both when the
 * tools are installed.
 *
 * Every figure is two generated text files (data + .gp script, or one .dot)
 * written atomically into a caller-chosen directory; rendering is a separate,
 * optional step that runs gnuplot or dot with the directory as working
 * directory, so a results directory can be re-rendered (or rendered on another
 * machine) without servesim. It does not own simulation state, choose what
 * to plot, name the output directory, or decide whether a missing tool is
 * fatal: callers hand it arrays of numbers and a graph description and get a
 * GError (domain PLOT_ERROR) they can report or ignore.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "plots/plot.h"
#include "sim/util.h"

G_DEFINE_QUARK (plot-error-quark, plot_error)

/* ------------------------------------------------------------------------ */
/* Text helpers                                                             */
/* ------------------------------------------------------------------------ */

/* Room for any double formatted by fmt_double. */
#define NUM_BUF 40

/* `v` in the C locale with the fewest significant digits (15..17) that read
 * back to the same double; NaN as "NaN" (gnuplot reads it as missing with
 * `set datafile missing "NaN"`), infinities as "Inf" / "-Inf". Returns buf. */
static const char *
fmt_double (char buf[NUM_BUF], double v)
{
  if (isnan (v))
    g_strlcpy (buf, "NaN", NUM_BUF);
  else if (isinf (v))
    g_strlcpy (buf, v > 0 ? "Inf" : "-Inf", NUM_BUF);
  else {
    static const char *const fmts[] = { "%.15g", "%.16g", "%.17g" };
    for (guint i = 0; i < G_N_ELEMENTS (fmts); i++) {
      g_ascii_formatd (buf, NUM_BUF, fmts[i], v);
      if (g_ascii_strtod (buf, NULL) == v)
        break;
    }
  }
  return buf;
}

/* Appends `s` (NULL reads as "") as a double-quoted string that both gnuplot
 * and Graphviz read back verbatim: backslash and double quote escaped, newline
 * written as \n (a line break in titles and labels for both tools), other
 * control characters as spaces, invalid UTF-8 replaced. Never spans lines. */
static void
append_quoted (GString *out, const char *s)
{
  char *valid = g_utf8_make_valid (s ? s : "", -1);
  g_string_append_c (out, '"');
  for (const char *p = valid; *p; p++) {
    unsigned char c = (unsigned char) *p;
    if (c == '\\' || c == '"') {
      g_string_append_c (out, '\\');
      g_string_append_c (out, (char) c);
    } else if (c == '\n')
      g_string_append (out, "\\n");
    else if (c < 0x20 || c == 0x7f)
      g_string_append_c (out, ' ');
    else
      g_string_append_c (out, (char) c);
  }
  g_string_append_c (out, '"');
  g_free (valid);
}

/* Appends `s` (NULL reads as "") with every control character (newlines
 * included) as a space and invalid UTF-8 replaced: safe in a one-line comment. */
static void
append_comment_text (GString *out, const char *s)
{
  char *valid = g_utf8_make_valid (s ? s : "", -1);
  for (const char *p = valid; *p; p++) {
    unsigned char c = (unsigned char) *p;
    g_string_append_c (out, (c < 0x20 || c == 0x7f) ? ' ' : (char) c);
  }
  g_free (valid);
}

/* A figure name is a bare file name: it is joined to `dir` and used inside
 * scripts. */
static gboolean
valid_name (const char *name)
{
  return name && *name && !strchr (name, '/') && !strchr (name, G_DIR_SEPARATOR);
}

/* ------------------------------------------------------------------------ */
/* Atomic output files with errors in the PLOT_ERROR domain                 */
/* ------------------------------------------------------------------------ */

static gboolean
out_open (SimAtomicFile *f, const char *dir, const char *file, GError **error)
{
  char *path = g_build_filename (dir, file, NULL);
  GError *e = NULL;
  gboolean ok = FALSE;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_IO,
                 "cannot write '%s': directory '%s' does not exist", path, dir);
  else if (!sim_atomic_file_open (f, path, &e))
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_IO, "cannot write '%s': %s", path, e->message);
  else
    ok = TRUE;
  g_clear_error (&e);
  g_free (path);
  return ok;
}

static gboolean
out_commit (SimAtomicFile *f, GError **error)
{
  GError *e = NULL;
  if (sim_atomic_file_commit (f, &e))
    return TRUE;
  g_set_error_literal (error, PLOT_ERROR, PLOT_ERROR_IO, e->message);
  g_error_free (e);
  return FALSE;
}

/* Writes `text` to <dir>/<file> atomically. */
static gboolean
write_text (const char *dir, const char *file, const char *text, gsize len, GError **error)
{
  SimAtomicFile f;
  if (!out_open (&f, dir, file, error))
    return FALSE;
  if (len)
    fwrite (text, 1, len, f.fp);
  return out_commit (&f, error);
}

/* ------------------------------------------------------------------------ */
/* gnuplot scripts                                                          */
/* ------------------------------------------------------------------------ */

/* The opening lines every script shares: a comment saying what it is and how
 * to render it, the terminal (pngcairo when this gnuplot has it, else the
 * libgd png terminal) and the output file. */
static void
gp_preamble (GString *gp, const char *what, const char *title, const char *name, int height)
{
  g_string_append_printf (gp, "# servesim %s: ", what);
  append_comment_text (gp, title);
  g_string_append (gp, "\n# Render with `gnuplot ");
  append_comment_text (gp, name);
  g_string_append (gp, ".gp` in this directory; it writes ");
  append_comment_text (gp, name);
  g_string_append (gp, ".png.\n");
  g_string_append_printf (gp,
                          "if (strstrt(GPVAL_TERMINALS.\" \", \" pngcairo \") > 0) {\n"
                          "  set terminal pngcairo size 900,%d\n"
                          "} else {\n"
                          "  set terminal png size 900,%d\n"
                          "}\n", height, height);
  g_string_append (gp, "set encoding utf8\n");
  char *png = g_strconcat (name, ".png", NULL);
  g_string_append (gp, "set output ");
  append_quoted (gp, png);
  g_string_append_c (gp, '\n');
  g_free (png);
}

/* A script body for a figure with nothing to draw: says so on stderr and
 * draws a "no data" page, so rendering succeeds and the .png exists. */
static void
gp_no_data (GString *gp, const char *name, const char *why)
{
  char *msg = g_strdup_printf ("servesim: nothing to plot in %s.dat (%s)", name, why);
  g_string_append (gp, "print ");
  append_quoted (gp, msg);
  g_string_append (gp, "\n"
                       "unset border\n"
                       "unset tics\n"
                       "unset key\n"
                       "set label 1 \"no data\" at graph 0.5, graph 0.5 center\n"
                       "plot [0:1] [0:1] NaN notitle\n");
  g_free (msg);
}

/* ------------------------------------------------------------------------ */
/* CDF                                                                      */
/* ------------------------------------------------------------------------ */

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Writes <dir>/<name>.dat and <dir>/<name>.gp (see plot.h for the layout).
 * Non-finite values (NaN, ±Inf) are skipped and counted in the series'
 * header comment; the fraction is i/n over the finite values. An empty series
 * gets a comment-only block: gnuplot's `index` does not count such blocks, so
 * the script numbers only the non-empty ones. When every series is empty the
 * script prints a message and draws a "no data" page. Returns FALSE with
 * PLOT_ERROR_IO (naming the path) when a file cannot be written; nothing
 * half-written is left behind. */
gboolean
plot_write_cdf (const char *dir, const char *name, const char *title,
                const char *xlabel, const PlotSeries *series, gsize n_series,
                GError **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (valid_name (name), FALSE);
  g_return_val_if_fail (n_series == 0 || series != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  for (gsize s = 0; s < n_series; s++)
    g_return_val_if_fail (series[s].n == 0 || series[s].values != NULL, FALSE);

  gboolean ok = FALSE;
  SimAtomicFile f = { 0 };
  char *dat = g_strconcat (name, ".dat", NULL);
  char *gpname = g_strconcat (name, ".gp", NULL);
  gsize *kept = g_new0 (gsize, n_series + 1);
  GString *line = g_string_new (NULL);
  GString *gp = g_string_new (NULL);
  double *sorted = NULL;
  char num[NUM_BUF];

  if (!out_open (&f, dir, dat, error))
    goto out;
  g_string_assign (line, "# servesim CDF: ");
  append_comment_text (line, title);
  g_string_append (line, "\n# columns: value, cumulative fraction i/n of the series' values\n"
                         "# one block per series, blocks separated by two blank lines\n");
  fputs (line->str, f.fp);
  for (gsize s = 0; s < n_series; s++) {
    const PlotSeries *ps = &series[s];
    gsize n = 0;
    sorted = g_renew (double, sorted, ps->n ? ps->n : 1);
    for (gsize i = 0; i < ps->n; i++)
      if (isfinite (ps->values[i]))
        sorted[n++] = ps->values[i];
    qsort (sorted, n, sizeof *sorted, cmp_double);
    kept[s] = n;

    g_string_printf (line, "%s# series %" G_GSIZE_FORMAT ": ", s ? "\n\n" : "", s);
    if (ps->label)
      append_comment_text (line, ps->label);
    else
      g_string_append_printf (line, "series %" G_GSIZE_FORMAT, s);
    if (n)
      g_string_append_printf (line, " (%" G_GSIZE_FORMAT " values", n);
    else
      g_string_append (line, " (no values");
    if (ps->n > n)
      g_string_append_printf (line, ", %" G_GSIZE_FORMAT " non-finite skipped", ps->n - n);
    g_string_append (line, ")\n");
    fputs (line->str, f.fp);
    for (gsize i = 0; i < n; i++) {
      fputs (fmt_double (num, sorted[i]), f.fp);
      fputc (' ', f.fp);
      fputs (fmt_double (num, (double) (i + 1) / (double) n), f.fp);
      fputc ('\n', f.fp);
    }
  }
  if (!out_commit (&f, error))
    goto out;

  gp_preamble (gp, "CDF", title, name, 600);
  if (title) {
    g_string_append (gp, "set title ");
    append_quoted (gp, title);
    g_string_append (gp, " noenhanced\n");
  }
  g_string_append (gp, "set xlabel ");
  append_quoted (gp, xlabel ? xlabel : "value");
  g_string_append (gp, " noenhanced\n"
                       "set ylabel \"fraction of requests\"\n"
                       "set yrange [0:1.05]\n"
                       "set ytics 0, 0.1, 1\n"
                       "set grid\n"
                       "set key bottom right\n");
  gsize block = 0;
  for (gsize s = 0; s < n_series; s++) {
    if (!kept[s])
      continue;
    g_string_append (gp, block ? ", \\\n     " : "plot ");
    append_quoted (gp, dat);
    g_string_append_printf (gp, " index %" G_GSIZE_FORMAT " using 1:2 with steps lw 2 title ",
                            block);
    if (series[s].label)
      append_quoted (gp, series[s].label);
    else {
      char *l = g_strdup_printf ("series %" G_GSIZE_FORMAT, s);
      append_quoted (gp, l);
      g_free (l);
    }
    g_string_append (gp, " noenhanced");
    block++;
  }
  if (block)
    g_string_append_c (gp, '\n');
  else
    gp_no_data (gp, name, n_series ? "all series are empty" : "no series");
  ok = write_text (dir, gpname, gp->str, gp->len, error);

out:
  sim_atomic_file_abort (&f);
  g_free (sorted);
  g_free (kept);
  g_free (dat);
  g_free (gpname);
  g_string_free (line, TRUE);
  g_string_free (gp, TRUE);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Timeline                                                                 */
/* ------------------------------------------------------------------------ */

/* Writes <dir>/<name>.dat (a comment per column naming it, then one row per
 * sample: t and the n_cols values; NaN marks a missing value) and
 * <dir>/<name>.gp (one stacked panel per column drawn as steps — each value
 * holds until the next sample — on a shared time axis). With no rows or no
 * columns the script prints a message and draws a "no data" page. Returns
 * FALSE with PLOT_ERROR_IO (naming the path) when a file cannot be written. */
gboolean
plot_write_timeline (const char *dir, const char *name, const char *title,
                     const double *t, const double *values, gsize n,
                     const char *const *col_names, gsize n_cols, GError **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (valid_name (name), FALSE);
  g_return_val_if_fail (n == 0 || t != NULL, FALSE);
  g_return_val_if_fail (n == 0 || n_cols == 0 || values != NULL, FALSE);
  g_return_val_if_fail (n_cols == 0 || col_names != NULL, FALSE);
  g_return_val_if_fail (n_cols == 0 || n <= G_MAXSIZE / n_cols, FALSE);
  g_return_val_if_fail (n_cols <= 1000, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  gboolean ok = FALSE;
  SimAtomicFile f = { 0 };
  char *dat = g_strconcat (name, ".dat", NULL);
  char *gpname = g_strconcat (name, ".gp", NULL);
  GString *line = g_string_new (NULL);
  GString *gp = g_string_new (NULL);
  char num[NUM_BUF];
  double tmin = INFINITY, tmax = -INFINITY;

  if (!out_open (&f, dir, dat, error))
    goto out;
  g_string_assign (line, "# servesim timeline: ");
  append_comment_text (line, title);
  g_string_append (line, "\n# column 1: t (simulated time, s)\n");
  for (gsize c = 0; c < n_cols; c++) {
    g_string_append_printf (line, "# column %" G_GSIZE_FORMAT ": ", c + 2);
    append_comment_text (line, col_names[c]);
    g_string_append_c (line, '\n');
  }
  fputs (line->str, f.fp);
  for (gsize i = 0; i < n; i++) {
    fputs (fmt_double (num, t[i]), f.fp);
    if (isfinite (t[i])) {
      tmin = MIN (tmin, t[i]);
      tmax = MAX (tmax, t[i]);
    }
    for (gsize c = 0; c < n_cols; c++) {
      fputc (' ', f.fp);
      fputs (fmt_double (num, values[i * n_cols + c]), f.fp);
    }
    fputc ('\n', f.fp);
  }
  if (!out_commit (&f, error))
    goto out;

  int height = (int) MAX (600, 250 * n_cols);
  gp_preamble (gp, "timeline", title, name, height);
  if (n == 0 || n_cols == 0) {
    if (title) {
      g_string_append (gp, "set title ");
      append_quoted (gp, title);
      g_string_append (gp, " noenhanced\n");
    }
    gp_no_data (gp, name, n ? "no columns" : "no samples");
    ok = write_text (dir, gpname, gp->str, gp->len, error);
    goto out;
  }
  g_string_append (gp, "set datafile missing \"NaN\"\n");
  g_string_append_printf (gp, "set multiplot layout %" G_GSIZE_FORMAT ",1", n_cols);
  if (title) {
    g_string_append (gp, " title ");
    append_quoted (gp, title);
    g_string_append (gp, " noenhanced");
  }
  g_string_append (gp, "\n"
                       "set grid\n"
                       "unset key\n"
                       "set lmargin 12\n"
                       "set offsets 0, 0, graph 0.05, graph 0.05\n");
  if (tmin < tmax) {
    g_string_append_printf (gp, "set xrange [%s:", fmt_double (num, tmin));
    g_string_append_printf (gp, "%s]\n", fmt_double (num, tmax));
  }
  g_string_append (gp, "unset xlabel\n");
  for (gsize c = 0; c < n_cols; c++) {
    if (c + 1 == n_cols)
      g_string_append (gp, "set xlabel \"simulated time (s)\"\n");
    /* A quantity that is never negative (counts, fractions) gets an axis
     * starting at 0, not at the bottom offset below it. */
    gboolean nonneg = TRUE;
    for (gsize i = 0; i < n && nonneg; i++)
      nonneg = !(values[i * n_cols + c] < 0);
    g_string_append (gp, nonneg ? "set yrange [0:*]\n" : "set autoscale y\n");
    g_string_append (gp, "set ylabel ");
    append_quoted (gp, col_names[c]);
    g_string_append (gp, " noenhanced\nplot ");
    append_quoted (gp, dat);
    g_string_append_printf (gp, " using 1:%" G_GSIZE_FORMAT " with steps lw 2 notitle\n", c + 2);
  }
  g_string_append (gp, "unset multiplot\n");
  ok = write_text (dir, gpname, gp->str, gp->len, error);

out:
  sim_atomic_file_abort (&f);
  g_free (dat);
  g_free (gpname);
  g_string_free (line, TRUE);
  g_string_free (gp, TRUE);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Graphviz graphs                                                          */
/* ------------------------------------------------------------------------ */

/* A node or a cluster, in insertion order inside its parent cluster. */
typedef struct GraphItem GraphItem;
struct GraphItem {
  gboolean   is_cluster;
  char      *id;
  char      *label;     /* NULL: none (Graphviz shows the node id) */
  char      *shape;     /* nodes only; NULL: Graphviz's default */
  GPtrArray *children;  /* clusters only: GraphItem*, owned */
};

typedef struct {
  char *from, *to, *label;
} GraphEdge;

struct PlotGraph {
  char      *name;      /* may be NULL */
  GraphItem *root;      /* an unnamed cluster holding the top level */
  GPtrArray *open;      /* clusters begun and not ended, root first (borrowed) */
  GPtrArray *edges;     /* GraphEdge*, owned */
};

static void
graph_item_free (gpointer p)
{
  GraphItem *it = p;
  if (it->children)
    g_ptr_array_free (it->children, TRUE);
  g_free (it->id);
  g_free (it->label);
  g_free (it->shape);
  g_free (it);
}

static void
graph_edge_free (gpointer p)
{
  GraphEdge *e = p;
  g_free (e->from);
  g_free (e->to);
  g_free (e->label);
  g_free (e);
}

static GraphItem *
graph_cluster_new (const char *id, const char *label)
{
  GraphItem *it = g_new0 (GraphItem, 1);
  it->is_cluster = TRUE;
  it->id = g_strdup (id);
  it->label = g_strdup (label);
  it->children = g_ptr_array_new_with_free_func (graph_item_free);
  return it;
}

/* A new, empty graph called `name` (may be NULL). Never fails; free with
 * plot_graph_free. */
PlotGraph *
plot_graph_new (const char *name)
{
  PlotGraph *g = g_new0 (PlotGraph, 1);
  g->name = g_strdup (name);
  g->root = graph_cluster_new (NULL, NULL);
  g->open = g_ptr_array_new ();
  g_ptr_array_add (g->open, g->root);
  g->edges = g_ptr_array_new_with_free_func (graph_edge_free);
  return g;
}

void
plot_graph_free (PlotGraph *g)
{
  if (!g)
    return;
  graph_item_free (g->root);
  g_ptr_array_free (g->open, TRUE);
  g_ptr_array_free (g->edges, TRUE);
  g_free (g->name);
  g_free (g);
}

static GraphItem *
graph_current (PlotGraph *g)
{
  return g_ptr_array_index (g->open, g->open->len - 1);
}

/* Written as subgraph "cluster_<id>" (Graphviz draws only subgraphs whose name
 * starts with "cluster" as boxes); ids must be unique in the graph. */
void
plot_graph_begin_cluster (PlotGraph *g, const char *id, const char *label)
{
  g_return_if_fail (g != NULL && id != NULL);
  GraphItem *c = graph_cluster_new (id, label);
  g_ptr_array_add (graph_current (g)->children, c);
  g_ptr_array_add (g->open, c);
}

/* Ends the innermost open cluster; calling it with none open is a programmer
 * error (critical warning, no effect). Clusters left open are closed by
 * plot_graph_write. */
void
plot_graph_end_cluster (PlotGraph *g)
{
  g_return_if_fail (g != NULL);
  g_return_if_fail (g->open->len > 1);
  g_ptr_array_set_size (g->open, g->open->len - 1);
}

/* `label` and `shape` may be NULL (Graphviz defaults: the id, an ellipse). */
void
plot_graph_node (PlotGraph *g, const char *id, const char *label, const char *shape)
{
  g_return_if_fail (g != NULL && id != NULL);
  GraphItem *n = g_new0 (GraphItem, 1);
  n->id = g_strdup (id);
  n->label = g_strdup (label);
  n->shape = g_strdup (shape);
  g_ptr_array_add (graph_current (g)->children, n);
}

/* Edges are written after all nodes, at the top level, in insertion order;
 * an edge naming an undeclared node makes Graphviz create it. `label` may be
 * NULL. */
void
plot_graph_edge (PlotGraph *g, const char *from, const char *to, const char *label)
{
  g_return_if_fail (g != NULL && from != NULL && to != NULL);
  GraphEdge *e = g_new0 (GraphEdge, 1);
  e->from = g_strdup (from);
  e->to = g_strdup (to);
  e->label = g_strdup (label);
  g_ptr_array_add (g->edges, e);
}

static void
graph_write_items (GString *out, const GraphItem *cluster, int depth)
{
  for (guint i = 0; i < cluster->children->len; i++) {
    const GraphItem *it = g_ptr_array_index (cluster->children, i);
    g_string_append_printf (out, "%*s", 2 * depth, "");
    if (it->is_cluster) {
      char *sub = g_strconcat ("cluster_", it->id, NULL);
      g_string_append (out, "subgraph ");
      append_quoted (out, sub);
      g_string_append (out, " {\n");
      g_free (sub);
      if (it->label) {
        g_string_append_printf (out, "%*slabel=", 2 * (depth + 1), "");
        append_quoted (out, it->label);
        g_string_append (out, ";\n");
      }
      graph_write_items (out, it, depth + 1);
      g_string_append_printf (out, "%*s}\n", 2 * depth, "");
    } else {
      append_quoted (out, it->id);
      if (it->label || it->shape) {
        g_string_append (out, " [");
        if (it->label) {
          g_string_append (out, "label=");
          append_quoted (out, it->label);
        }
        if (it->shape) {
          g_string_append (out, it->label ? ", shape=" : "shape=");
          append_quoted (out, it->shape);
        }
        g_string_append_c (out, ']');
      }
      g_string_append (out, ";\n");
    }
  }
}

/* The graph as DOT text; deterministic (insertion order). Caller frees. */
static char *
graph_to_dot (const PlotGraph *g)
{
  GString *out = g_string_new ("digraph ");
  if (g->name) {
    append_quoted (out, g->name);
    g_string_append_c (out, ' ');
  }
  g_string_append (out, "{\n");
  graph_write_items (out, g->root, 1);
  for (guint i = 0; i < g->edges->len; i++) {
    const GraphEdge *e = g_ptr_array_index (g->edges, i);
    g_string_append (out, "  ");
    append_quoted (out, e->from);
    g_string_append (out, " -> ");
    append_quoted (out, e->to);
    if (e->label) {
      g_string_append (out, " [label=");
      append_quoted (out, e->label);
      g_string_append_c (out, ']');
    }
    g_string_append (out, ";\n");
  }
  g_string_append (out, "}\n");
  return g_string_free (out, FALSE);
}

/* Writes <dir>/<name>.dot atomically (clusters still open are closed).
 * FALSE with PLOT_ERROR_IO naming the path when it cannot be written. */
gboolean
plot_graph_write (const PlotGraph *g, const char *dir, const char *name, GError **error)
{
  g_return_val_if_fail (g != NULL && dir != NULL, FALSE);
  g_return_val_if_fail (valid_name (name), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  char *text = graph_to_dot (g);
  char *file = g_strconcat (name, ".dot", NULL);
  gboolean ok = write_text (dir, file, text, strlen (text), error);
  g_free (file);
  g_free (text);
  return ok;
}

/* ------------------------------------------------------------------------ */
/* Finding and running the tools                                            */
/* ------------------------------------------------------------------------ */

/* $env_name when set (empty: treat the tool as missing; a name without a
 * slash is looked up in $PATH), else the configure-time path if it is still
 * an executable file, else `prog` in $PATH. NULL when not found. */
static char *
find_tool (const char *env_name, const char *configured, const char *prog)
{
  const char *env = g_getenv (env_name);
  if (env)
    return *env ? g_find_program_in_path (env) : NULL;
  if (configured && *configured && g_file_test (configured, G_FILE_TEST_IS_EXECUTABLE)
      && !g_file_test (configured, G_FILE_TEST_IS_DIR))
    return g_strdup (configured);
  return g_find_program_in_path (prog);
}

/* Path of gnuplot: $SERVESIM_GNUPLOT when set ("" = none), else the
 * configure-time path, else $PATH. NULL when not installed. Caller frees. */
char *
plot_find_gnuplot (void)
{
  return find_tool ("SERVESIM_GNUPLOT", SERVESIM_GNUPLOT, "gnuplot");
}

/* Path of Graphviz dot: $SERVESIM_DOT when set ("" = none), else the
 * configure-time path, else $PATH. NULL when not installed. Caller frees. */
char *
plot_find_dot (void)
{
  return find_tool ("SERVESIM_DOT", SERVESIM_DOT, "dot");
}

static void
set_tool_missing (GError **error, const char *tool, const char *env_name,
                  const char *package, const char *target, const char *written)
{
  const char *env = g_getenv (env_name);
  char *why = env ? g_strdup_printf (" (%s is set to '%s')", env_name, env) : g_strdup ("");
  g_set_error (error, PLOT_ERROR, PLOT_ERROR_TOOL_MISSING,
               "%s not found%s: install the Debian package %s to render %s (%s)",
               tool, why, package, target, written);
  g_free (why);
}

/* A file name as a command-line argument: one starting with '-' gets "./". */
static char *
arg_path (const char *file)
{
  return file[0] == '-' ? g_strconcat ("./", file, NULL) : g_strdup (file);
}

/* Runs argv with cwd `dir`, stdin and stdout on /dev/null. FALSE with
 * PLOT_ERROR_TOOL_FAILED (the tool's stderr included) unless it exits 0. */
static gboolean
run_tool (const char *dir, char **argv, const char *tool, const char *target, GError **error)
{
  char *err = NULL;
  int status = 0;
  GError *e = NULL;
  gboolean ok = FALSE;
  if (!g_spawn_sync (dir, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err,
                     &status, &e)) {
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_TOOL_FAILED, "cannot run %s (%s) on %s: %s",
                 tool, argv[0], target, e->message);
    g_error_free (e);
    return FALSE;
  }
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    ok = TRUE;
  else {
    char *how = WIFEXITED (status) ? g_strdup_printf ("exit status %d", WEXITSTATUS (status))
              : WIFSIGNALED (status) ? g_strdup_printf ("killed by signal %d", WTERMSIG (status))
              : g_strdup_printf ("wait status %d", status);
    g_strstrip (err);
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_TOOL_FAILED, "%s failed on %s (%s): %s",
                 tool, target, how, *err ? err : "no message");
    g_free (how);
  }
  g_free (err);
  return ok;
}

/* Runs gnuplot on <dir>/<script> with cwd `dir` (where the script's data and
 * output live). FALSE with PLOT_ERROR_IO when the script does not exist,
 * PLOT_ERROR_TOOL_MISSING (saying which package to install) when gnuplot is
 * not found, PLOT_ERROR_TOOL_FAILED with gnuplot's stderr when it fails. */
gboolean
plot_render_gnuplot (const char *dir, const char *script, GError **error)
{
  g_return_val_if_fail (dir != NULL && script != NULL && *script, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  char *path = g_build_filename (dir, script, NULL);
  char *tool = NULL, *arg = NULL;
  gboolean ok = FALSE;
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_IO, "cannot render '%s': no such file", path);
    goto out;
  }
  tool = plot_find_gnuplot ();
  if (!tool) {
    set_tool_missing (error, "gnuplot", "SERVESIM_GNUPLOT", "gnuplot-nox", path,
                      "data and script were written");
    goto out;
  }
  arg = arg_path (script);
  char *argv[] = { tool, arg, NULL };
  ok = run_tool (dir, argv, "gnuplot", path, error);
out:
  g_free (arg);
  g_free (tool);
  g_free (path);
  return ok;
}

/* Runs `dot -Tsvg <name>.dot -o <name>.svg` with cwd `dir`; the SVG goes to a
 * temporary file renamed into place on success, so a failed run leaves no
 * partial <name>.svg. Errors as plot_render_gnuplot (package: graphviz). */
gboolean
plot_render_dot (const char *dir, const char *name, GError **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (valid_name (name), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  char *dotfile = g_strconcat (name, ".dot", NULL);
  char *path = g_build_filename (dir, dotfile, NULL);
  char *svg = g_strconcat (name, ".svg", NULL);
  char *svg_path = g_build_filename (dir, svg, NULL);
  char *tmp_path = NULL, *tool = NULL, *in_arg = NULL, *out_arg = NULL;
  gboolean ok = FALSE;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_IO, "cannot render '%s': no such file", path);
    goto out;
  }
  tool = plot_find_dot ();
  if (!tool) {
    set_tool_missing (error, "dot", "SERVESIM_DOT", "graphviz", path, "the .dot file was written");
    goto out;
  }
  tmp_path = g_strconcat (svg_path, ".tmp.XXXXXX", NULL);
  int fd = g_mkstemp (tmp_path);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_IO, "cannot write '%s': %s", svg_path,
                 g_strerror (e));
    g_clear_pointer (&tmp_path, g_free);
    goto out;
  }
  (void) fchmod (fd, 0644);
  close (fd);
  in_arg = arg_path (dotfile);
  char *tmp_base = g_path_get_basename (tmp_path);
  out_arg = arg_path (tmp_base);
  g_free (tmp_base);
  char *argv[] = { tool, (char *) "-Tsvg", in_arg, (char *) "-o", out_arg, NULL };
  if (!run_tool (dir, argv, "dot", path, error))
    goto out;
  if (g_rename (tmp_path, svg_path) != 0) {
    int e = errno;
    g_set_error (error, PLOT_ERROR, PLOT_ERROR_IO, "cannot write '%s': %s", svg_path,
                 g_strerror (e));
    goto out;
  }
  g_clear_pointer (&tmp_path, g_free);
  ok = TRUE;
out:
  if (tmp_path)
    g_unlink (tmp_path);
  g_free (tmp_path);
  g_free (in_arg);
  g_free (out_arg);
  g_free (tool);
  g_free (svg_path);
  g_free (svg);
  g_free (path);
  g_free (dotfile);
  return ok;
}
