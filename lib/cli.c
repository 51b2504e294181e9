/*  =========================================================================
    cli.c - command-line pieces the three programs share
    =========================================================================
*/

#include "private.h"
#include "cli.h"

void
sluice_cli_bad (const char *program, const char *option, const char *value)
{
    fprintf (stderr, "%s: invalid %s value '%s'\n", program, option, value);
    exit (SLUICE_EXIT_USAGE);
}

bool
sluice_cli_common (sluice_config_t *config, int opt, const char *arg,
                   const char *program, const char *usage, const char **file)
{
    int64_t bytes;
    switch (opt) {
        case 'c':
            *file = arg;
            return true;
        case SLUICE_OPT_MAX_SIZE:
            if ((bytes = sluice_parse_size (arg)) < 1024)
                sluice_cli_bad (program, "--max-size", arg);
            config->max_size = (size_t) bytes;
            return true;
        case 'v':
            config->verbose++;
            return true;
        case 'q':
            config->quiet = true;
            return true;
        case SLUICE_OPT_HELP:
            fputs (usage, stdout);
            exit (SLUICE_EXIT_OK);
        case SLUICE_OPT_VERSION:
            printf ("%s (sluice) %s\n", program, SLUICE_VERSION_STRING);
            exit (SLUICE_EXIT_OK);
        default:
            return false;
    }
}
