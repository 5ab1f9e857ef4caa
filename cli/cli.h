/* cli/cli.h — what the servesim subcommands share: the command table entry
 * type, common options (--set, --catalog) and scenario loading. Each command
 * lives in cli/cmd_<name>.c and only parses arguments and calls the libraries.
 */
#ifndef CLI_CLI_H
#define CLI_CLI_H

#include <glib.h>
#include "policies/registry.h"
#include "serve/scenario.h"

typedef struct {
  char   **sets;
  char    *out;
  char    *catalog;
  gboolean quiet;
  gboolean no_render;
  char   **plugins;      /* --plugin FILE.so, repeatable */
} CommonOpts;

/* Adds --set and --catalog to a command's options. */
void           cli_add_common (GOptionContext *ctx, CommonOpts *o);
/* The scenario from an optional positional argument (argv[1]) plus the
 * common options; NULL with an error. */
ServeScenario *cli_load_scenario (int argc, char **argv, CommonOpts *o, GError **error);
void           cli_common_clear (CommonOpts *o);
/* Loads every --plugin into the registry; FALSE with an error naming the file. */
gboolean       cli_load_plugins (PolicyRegistry *reg, CommonOpts *o, GError **error);

/* Subcommands: argv[0] is "servesim NAME". Return the exit status. */
int cli_cmd_replay (int argc, char **argv);
int cli_cmd_describe (int argc, char **argv);
int cli_cmd_validate (int argc, char **argv);
int cli_cmd_calibrate (int argc, char **argv);
int cli_validate_ops (int argc, char **argv);
int cli_validate_comm (int argc, char **argv);
int cli_validate_kernels (int argc, char **argv);  /* cli/validate_kernels.c */
int cli_validate_host (int argc, char **argv);     /* cli/validate_kernels.c */
/* cli/validate_cost.c: prints the per-class accuracy table of a calibration set; FALSE when a limit (> 0) is exceeded. */
#include "models/calibrate.h"
gboolean cli_cost_report (const ModelCalSet *s, const double *pred, gboolean comm,
                          double max_median, double max_p90, int only);
int cli_cmd_plan (int argc, char **argv);

#endif
