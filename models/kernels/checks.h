/* models/kernels/checks.h — the counter and equivalence checks of the
 * reference kernels, shared by `servesim validate kernels` and the CUnit
 * tests: each check runs its kernels on seeded random shapes and says whether
 * the counts equal the cost model's (counter checks), whether a transformed
 * computation equals the reference (equivalence checks: bit-exact or within a
 * stated tolerance in double), or how large a lossy method's error is (lossy
 * checks, which pass on sanity bounds only). What each proves: docs/kernels.md.
 * It does not own the kernels or any timing.
 */
#ifndef MODEL_KERNELS_CHECKS_H
#define MODEL_KERNELS_CHECKS_H

#include <glib.h>

typedef struct {
  guint64 seed;
  int     trials;   /* random shapes per check (>= 1) */
  int     scale;    /* 1 = small (make check), 2.. = larger shapes */
} KernCheckOpts;

typedef struct {
  gboolean pass;
  double   error;    /* worst mismatch: relative count difference, max relative
                        output error, or the lossy metric */
  double   tol;      /* what error had to stay within (0 = bit-exact) */
  char     detail[256];
} KernCheckResult;

typedef struct {
  const char *name;
  const char *kind;   /* "counter" | "equivalence" | "lossy" */
  const char *what;   /* one line */
  void      (*run) (const KernCheckOpts *o, KernCheckResult *r);
} KernCheck;

/* The checks, NULL-name terminated; static storage. */
const KernCheck *kern_checks (void);
/* The check named `name`, or NULL. */
const KernCheck *kern_check_find (const char *name);
/* Runs one check (r is filled; never fails to produce a result). */
void kern_check_run (const KernCheck *chk, const KernCheckOpts *o, KernCheckResult *r);

#endif
