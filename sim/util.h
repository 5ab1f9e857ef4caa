/* sim/util.h — small services every layer needs: locating bundled data files
 * and writing output files atomically. Knows nothing of what the files hold.
 */
#ifndef SIM_UTIL_H
#define SIM_UTIL_H

#include <stdio.h>
#include <glib.h>

#define SIM_ERROR (sim_error_quark ())
GQuark sim_error_quark (void);
typedef enum { SIM_ERROR_IO, SIM_ERROR_INVALID } SimError;

/* Find a bundled data file by its path relative to the source tree (for
 * example "models/catalog/gpus.json"). Looks in $SERVESIM_DATA_DIR, then the
 * installed data directory, then the source tree the binary was built from.
 * Returns a newly allocated path (g_free) or NULL with an error naming every
 * place looked at. */
char *sim_data_find (const char *relpath, GError **error);

/* An output file written to "<path>.tmp.XXXXXX" and renamed over <path> on
 * commit, so readers never see a half-written file. */
typedef struct {
  FILE *fp;
  char *path;
  char *tmp_path;
} SimAtomicFile;

/* Opens the temporary file. FALSE with error when the directory is not writable. */
gboolean sim_atomic_file_open (SimAtomicFile *f, const char *path, GError **error);
/* Flushes, closes and renames. FALSE with error on any write failure (the
 * temporary is removed). The struct is cleared either way. */
gboolean sim_atomic_file_commit (SimAtomicFile *f, GError **error);
/* Closes and removes the temporary; safe on a cleared or committed struct. */
void     sim_atomic_file_abort (SimAtomicFile *f);

#endif
