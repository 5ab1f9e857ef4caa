/* plots/plot.h — figures out.
 *
 * Writes data files and gnuplot scripts (CDFs, timelines) and Graphviz .dot
 * files, and renders them when gnuplot / dot are installed. It knows nothing
 * of simulation state: callers hand it arrays of numbers and a graph description.
 */
#ifndef PLOT_PLOT_H
#define PLOT_PLOT_H

#include <glib.h>

#define PLOT_ERROR (plot_error_quark ())
GQuark plot_error_quark (void);
typedef enum { PLOT_ERROR_IO, PLOT_ERROR_TOOL_MISSING, PLOT_ERROR_TOOL_FAILED } PlotError;

/* One CDF series: `n` values (any order; copied and sorted). */
typedef struct {
  const char   *label;
  const double *values;
  gsize         n;
} PlotSeries;

/* Writes <dir>/<name>.dat (columns: value, cumulative fraction, one block per
 * series separated by two blank lines) and <dir>/<name>.gp which renders
 * <name>.png. `title` and `xlabel` go into the script verbatim (quoted safely).
 * Files are written atomically. FALSE with PLOT_ERROR_IO on failure. */
gboolean plot_write_cdf (const char *dir, const char *name, const char *title,
                         const char *xlabel, const PlotSeries *series, gsize n_series,
                         GError **error);

/* Timeline: `n` rows of t (seconds) and `n_cols` named columns, row-major in
 * `values` (n * n_cols). Writes <name>.dat and <name>.gp (one panel per column,
 * stacked, shared time axis) rendering <name>.png. */
gboolean plot_write_timeline (const char *dir, const char *name, const char *title,
                              const double *t, const double *values, gsize n,
                              const char *const *col_names, gsize n_cols, GError **error);

/* A graph for Graphviz: nodes grouped into clusters, and labelled edges. */
typedef struct PlotGraph PlotGraph;
PlotGraph *plot_graph_new (const char *name);
void       plot_graph_free (PlotGraph *g);
/* Starts a subgraph cluster; nodes added until plot_graph_end_cluster() go in it. Nestable. */
void       plot_graph_begin_cluster (PlotGraph *g, const char *id, const char *label);
void       plot_graph_end_cluster (PlotGraph *g);
void       plot_graph_node (PlotGraph *g, const char *id, const char *label, const char *shape);
void       plot_graph_edge (PlotGraph *g, const char *from, const char *to, const char *label);
/* Writes <dir>/<name>.dot atomically. */
gboolean   plot_graph_write (const PlotGraph *g, const char *dir, const char *name, GError **error);

/* Path of gnuplot / dot (configure-time path if it still exists, else $PATH),
 * or NULL when not installed. Caller frees. */
char    *plot_find_gnuplot (void);
char    *plot_find_dot (void);
/* Run gnuplot on <dir>/<script> (cwd = dir) / dot -Tsvg <dir>/<name>.dot -o
 * <name>.svg. PLOT_ERROR_TOOL_MISSING says which package to install. */
gboolean plot_render_gnuplot (const char *dir, const char *script, GError **error);
gboolean plot_render_dot (const char *dir, const char *name, GError **error);

#endif
