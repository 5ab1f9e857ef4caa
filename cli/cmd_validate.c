/* cli/cmd_validate.c — `servesim validate WHAT`: checks of the cost model
 * against measured data or real computation. Each check is a row of the table
 * below, implemented in its own cli/validate_*.c file; this file only
 * dispatches and lists them.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv); /* argv[0] = "servesim validate NAME" */
  const char *help;
} ValidateCheck;

/* Add a check: implement it in cli/validate_<area>.c, declare it in cli/cli.h,
 * and add its row here. */
static const ValidateCheck checks[] = {
  { "ops", cli_validate_ops, "per-operator kernel times vs measured (--profiles DIR)" },
  { "comm", cli_validate_comm, "collective times vs measured / nccl-tests (--data PATH)" },
  { "kernels", cli_validate_kernels, "reference kernels: counters = cost model, equivalences, lossy errors" },
  { "host", cli_validate_host, "this CPU: measure, write its device entry, predicted vs measured times" },
  { NULL, NULL, NULL }
};

static void
print_usage (FILE *fp)
{
  fprintf (fp, "Usage: servesim validate WHAT [OPTIONS]\n\nChecks:\n");
  for (const ValidateCheck *c = checks; c->name; c++)
    fprintf (fp, "  %-10s %s\n", c->name, c->help);
  fprintf (fp, "\nRun 'servesim validate WHAT --help' for a check's options.\n");
}

int
cli_cmd_validate (int argc, char **argv)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
    print_usage (argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const ValidateCheck *c = checks; c->name; c++) {
    if (strcmp (argv[1], c->name) != 0)
      continue;
    char *prog = g_strdup_printf ("servesim validate %s", c->name);
    g_set_prgname (prog);
    argv[1] = prog;
    int rc = c->run (argc - 1, argv + 1);
    g_free (prog);
    return rc;
  }
  fprintf (stderr, "servesim validate: unknown check '%s'\n\n", argv[1]);
  print_usage (stderr);
  return 2;
}
