/* cli/main.c — the servesim command line: dispatch to a subcommand.
 *
 * Each subcommand is in cli/cmd_<name>.c and only parses arguments and calls
 * the libraries under sim/ models/ policies/ traces/ plots/ serve/. To add a
 * command: write cli_cmd_<name>() and list it in `commands` below.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *help; /* one line for the command list */
} Command;

static const Command commands[] = {
  { "replay", cli_cmd_replay, "[SCENARIO.json]   run a scenario (the bundled default when none is given)" },
  { "describe", cli_cmd_describe, "WHAT            gpus | networks | models | schedulers | routers, or\n"
    "                           the fully resolved scenario (describe scenario [SCENARIO.json])" },
  { "validate", cli_cmd_validate, "WHAT            check the cost model against data or computation" },
  { "calibrate", cli_cmd_calibrate, "--profiles DIR  fit GPU device profiles to measured kernel and NCCL times" },
  { "plan", cli_cmd_plan, "PLAN.json           capacity planning: search a space of configurations" },
};

static void
print_help (FILE *fp)
{
  fprintf (fp, "servesim " PACKAGE_VERSION " — discrete-event performance simulator for LLM serving\n\n"
           "Usage: servesim COMMAND [OPTIONS] [ARGS]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (fp, "  %s %s\n", commands[i].name, commands[i].help);
  fprintf (fp, "  help                     this text\n"
           "  version                  print the version\n\n"
           "Run 'servesim COMMAND --help' for a command's options.\n");
}

int
main (int argc, char **argv)
{
  if (argc < 2) {
    print_help (stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp (cmd, "help") == 0 || strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0) {
    print_help (stdout);
    return 0;
  }
  if (strcmp (cmd, "version") == 0 || strcmp (cmd, "--version") == 0) {
    printf ("servesim %s\n", PACKAGE_VERSION);
    return 0;
  }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    if (strcmp (cmd, commands[i].name) != 0)
      continue;
    /* The command sees argv[0] = "servesim NAME", for its --help. */
    char *prog = g_strdup_printf ("servesim %s", cmd);
    g_set_prgname (prog);
    argv[1] = prog;
    int rc = commands[i].run (argc - 1, argv + 1);
    g_free (prog);
    return rc;
  }
  fprintf (stderr, "servesim: unknown command '%s'\n\n", cmd);
  print_help (stderr);
  return 2;
}
