/*  =========================================================================
    cli.h - command-line pieces the three programs share

    The options every program takes (-c, --max-size, -v, -q, --help,
    --version) and the one-line usage error. Not part of the public API.
    =========================================================================
*/

#ifndef SLUICE_CLI_H_INCLUDED
#define SLUICE_CLI_H_INCLUDED

#include <getopt.h>
#include "sluice.h"

//  Option codes shared by the programs, above any program's own
enum { SLUICE_OPT_MAX_SIZE = 1000, SLUICE_OPT_HELP, SLUICE_OPT_VERSION };

//  Entries for a struct option table, before its terminating zero entry
#define SLUICE_COMMON_OPTIONS \
    { "config", required_argument, NULL, 'c' }, \
    { "max-size", required_argument, NULL, SLUICE_OPT_MAX_SIZE }, \
    { "verbose", no_argument, NULL, 'v' }, \
    { "quiet", no_argument, NULL, 'q' }, \
    { "help", no_argument, NULL, SLUICE_OPT_HELP }, \
    { "version", no_argument, NULL, SLUICE_OPT_VERSION }

//  Short options of the shared entries, for getopt_long's optstring
#define SLUICE_COMMON_SHORT "c:vq"

//  Print "PROGRAM: invalid OPTION value 'VALUE'" and exit 2.
void
    sluice_cli_bad (const char *program, const char *option, const char *value)
    __attribute__ ((noreturn));

//  Handle a shared option: stores -c in *file, exits 0 after --help or
//  --version. Returns true if handled; false for an unknown option (getopt
//  has already printed one line naming it).
bool
    sluice_cli_common (sluice_config_t *config, int opt, const char *arg,
                       const char *program, const char *usage, const char **file);

#endif
