/*  =========================================================================
    cli.h - the command line of the three programs, driven by the option table

    Builds getopt_long's tables, --help and --version from the rows of the
    option table (lib/options.c) that a program's role takes, and applies
    the layers in order of precedence: flag > environment > topology file
    (-c) > default. Compiled into the binaries only, not into libsluice: it
    prints to stdout/stderr and decides exit codes.
    =========================================================================
*/

#ifndef SLUICE_CLI_H_INCLUDED
#define SLUICE_CLI_H_INCLUDED

#include <stdio.h>
#include "../lib/sluice.h"

//  What a program says about itself
typedef struct {
    const char *name;           //  program name: messages, --help, --version
    sluice_role_t role;         //  which rows of the option table it takes
    const char *synopsis;       //  --help: what follows "Usage: NAME "
    const char *about;          //  --help: lines after the usage line
    const char *epilogue;       //  --help: lines after the options
    bool operands;              //  takes operands (FILE...); else one is an error
    const char *required;       //  an option group one of which must be given, or NULL
} sluice_cli_t;

//  Parse argv through the option table: defaults, then the topology file
//  (-c), the environment and the flags. Returns the config, with the index
//  of the first operand in *operand; or NULL after --help or --version
//  (*rc = 0) or after printing a one-line usage error naming the bad value
//  (*rc = 2). Never exits: every path frees what it made.
sluice_config_t *
    sluice_cli_parse (const sluice_cli_t *program, int argc, char *argv [], int *operand,
                      int *rc);

//  Print --help: usage, about, one line per option of the role (from the
//  table, with the role's defaults), epilogue.
void
    sluice_cli_help (const sluice_cli_t *program, FILE *stream);

//  sluice keygen [--force] DIR [HOST...]: create a deployment's CURVE
//  certificates in DIR (security.c's sluice_keygen) and say what to copy
//  where. argv [0] is "keygen". Returns the exit code.
int
    sluice_cli_keygen (const char *name, int argc, char *argv []);

#endif
