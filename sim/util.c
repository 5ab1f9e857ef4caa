/* sim/util.c — locating bundled data and atomic output files.
 *
 * Owns the search order for data files and the write-to-temporary-then-rename
 * discipline for outputs. Does not know what the files contain.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "sim/util.h"

G_DEFINE_QUARK (sim-error-quark, sim_error)

char *
sim_data_find (const char *relpath, GError **error)
{
  g_return_val_if_fail (relpath != NULL, NULL);
  const char *roots[3] = { g_getenv ("SERVESIM_DATA_DIR"), SERVESIM_PKGDATADIR, SERVESIM_SRCDIR };
  GString *looked = g_string_new (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (roots); i++) {
    if (!roots[i] || !*roots[i])
      continue;
    char *p = g_build_filename (roots[i], relpath, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_REGULAR)) {
      g_string_free (looked, TRUE);
      return p;
    }
    g_string_append_printf (looked, "%s%s", looked->len ? ", " : "", p);
    g_free (p);
  }
  g_set_error (error, SIM_ERROR, SIM_ERROR_IO,
               "bundled data file '%s' not found (looked at: %s); set SERVESIM_DATA_DIR "
               "to the servesim source or data directory", relpath, looked->str);
  g_string_free (looked, TRUE);
  return NULL;
}

gboolean
sim_atomic_file_open (SimAtomicFile *f, const char *path, GError **error)
{
  g_return_val_if_fail (f != NULL && path != NULL, FALSE);
  memset (f, 0, sizeof *f);
  char *tmpl = g_strdup_printf ("%s.tmp.XXXXXX", path);
  int fd = g_mkstemp (tmpl);
  if (fd < 0) {
    int e = errno;
    g_set_error (error, SIM_ERROR, SIM_ERROR_IO, "cannot create '%s': %s", tmpl, g_strerror (e));
    g_free (tmpl);
    return FALSE;
  }
  /* mkstemp creates 0600; outputs are ordinary files. */
  (void) fchmod (fd, 0644);
  f->fp = fdopen (fd, "w");
  if (!f->fp) {
    int e = errno;
    close (fd);
    g_unlink (tmpl);
    g_set_error (error, SIM_ERROR, SIM_ERROR_IO, "cannot open '%s': %s", tmpl, g_strerror (e));
    g_free (tmpl);
    return FALSE;
  }
  f->path = g_strdup (path);
  f->tmp_path = tmpl;
  return TRUE;
}

static void
atomic_file_clear (SimAtomicFile *f)
{
  g_clear_pointer (&f->path, g_free);
  g_clear_pointer (&f->tmp_path, g_free);
  f->fp = NULL;
}

gboolean
sim_atomic_file_commit (SimAtomicFile *f, GError **error)
{
  g_return_val_if_fail (f != NULL && f->fp != NULL, FALSE);
  gboolean ok = TRUE;
  int e = 0;
  if (fflush (f->fp) != 0 || ferror (f->fp)) {
    e = errno;
    ok = FALSE;
  }
  if (fclose (f->fp) != 0 && ok) {
    e = errno;
    ok = FALSE;
  }
  f->fp = NULL;
  if (ok && g_rename (f->tmp_path, f->path) != 0) {
    e = errno;
    ok = FALSE;
  }
  if (!ok) {
    g_set_error (error, SIM_ERROR, SIM_ERROR_IO, "cannot write '%s': %s", f->path, g_strerror (e));
    g_unlink (f->tmp_path);
  }
  atomic_file_clear (f);
  return ok;
}

void
sim_atomic_file_abort (SimAtomicFile *f)
{
  if (!f)
    return;
  if (f->fp)
    fclose (f->fp);
  if (f->tmp_path)
    g_unlink (f->tmp_path);
  atomic_file_clear (f);
}
