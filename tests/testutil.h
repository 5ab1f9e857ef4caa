/* tests/testutil.h — the boilerplate every CUnit test program shares: register
 * one suite of named cases, run it in basic mode, and exit non-zero on failure.
 */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <glib.h>
#include <glib/gstdio.h>

typedef struct {
  const char *name;
  void      (*fn) (void);
} TestCase;

/* Runs the NULL-terminated list as one suite; returns the process exit code. */
static inline int
test_run_suite (const char *suite_name, const TestCase *cases)
{
  if (CU_initialize_registry () != CUE_SUCCESS)
    return 2;
  CU_pSuite s = CU_add_suite (suite_name, NULL, NULL);
  for (const TestCase *c = cases; c->name; c++)
    CU_add_test (s, c->name, c->fn);
  CU_basic_set_mode (CU_BRM_VERBOSE);
  CU_basic_run_tests ();
  unsigned failed = CU_get_number_of_failures () + CU_get_number_of_tests_failed ();
  CU_cleanup_registry ();
  return failed ? 1 : 0;
}

/* Path of a bundled file relative to the source tree (uses $top_srcdir set by make check). */
static inline char *
test_src_path (const char *rel)
{
  const char *top = g_getenv ("top_srcdir");
  return g_build_filename (top ? top : ".", rel, NULL);
}

/* A fresh temporary directory (g_free the result; remove with test_rmdir_r). */
static inline char *
test_tmpdir (void)
{
  GError *e = NULL;
  char *d = g_dir_make_tmp ("servesim-test-XXXXXX", &e);
  g_assert_no_error (e);
  return d;
}

static inline void
test_rmdir_r (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  const char *n;
  while ((n = g_dir_read_name (d))) {
    char *p = g_build_filename (dir, n, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      test_rmdir_r (p);
    else
      g_remove (p);
    g_free (p);
  }
  g_dir_close (d);
  g_rmdir (dir);
}

/* Write `text` to <dir>/<name>; returns the path (g_free). */
static inline char *
test_write_file (const char *dir, const char *name, const char *text)
{
  char *p = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
  return p;
}

#endif
