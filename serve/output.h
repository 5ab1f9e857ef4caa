/* serve/output.h — a run's files.
 *
 * requests.csv is streamed (one row per request as it finishes) into a
 * temporary file; summary.json, scenario.json, the plot data and scripts and
 * cluster.dot are written at the end; everything appears under its final
 * name only when the run succeeded. Owns file formats, not the numbers.
 */
#ifndef SERVE_OUTPUT_H
#define SERVE_OUTPUT_H

#include "serve/world.h"

typedef struct ServeOutput ServeOutput;

/* Creates the output directory if needed and opens requests.csv's temporary.
 * NULL with an error naming the path. */
ServeOutput *serve_output_new (const ServeScenario *sc, GError **error);
/* One row; `why` non-NULL marks a rejected request. */
void         serve_output_request (ServeOutput *out, const struct ServeRequest *r, const char *why);
/* Write every end-of-run file and commit requests.csv. */
gboolean     serve_output_commit (ServeOutput *out, ServeWorld *w, GError **error);
/* Remove temporaries (and the directory when this run created it and it is empty). */
void         serve_output_abort (ServeOutput *out);
void         serve_output_free (ServeOutput *out);
/* Notes on what was (not) rendered, for the summary text (borrowed). */
const char  *serve_output_notes (const ServeOutput *out);
/* Adds a line to the notes printed after the run's summary. */
void         serve_output_add_note (ServeOutput *out, const char *text);

#endif
