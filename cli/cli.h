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

typedef struct _sluice_option_t sluice_option_t;

#define SLUICE_CLI_EXITS 6      //  exit codes 0..4 (SLUICE_EXIT_*); sluice: six rows

//  What a program says about itself
typedef struct {
    const char *name;           //  program name: messages, --help, --version
    sluice_role_t role;         //  which rows of the option table it takes
    const char *synopsis;       //  --help: what follows "Usage: NAME "
    const char *about;          //  --help: lines after the usage line
    const char *epilogue;       //  --help: lines after the options
    bool operands;              //  takes operands (FILE...); else one is an error
    const char *required;       //  an option group one of which must be given, or NULL
    const char *summary;        //  man page NAME line: what the program does
    const char *exits [SLUICE_CLI_EXITS];   //  man page: meaning of each exit code, or NULL
} sluice_cli_t;

//  One option as a man page and a completion show it
typedef struct {
    const sluice_option_t *opt; //  its row (a program may add rows of its own)
    const char *help;           //  its help text ('\n' continues the line)
    const char *def;            //  its default in string form, or NULL
} sluice_cli_item_t;

//  One program's manual page and bash completion: what --help says, and more
typedef struct {
    const char *name;           //  program (or subcommand) name
    const char *summary;        //  NAME line, after "name - "
    const char *synopsis;       //  usage lines, each after the name, '\n' between
    const char *about;          //  DESCRIPTION: --help's text, hard-wrapped
    const char *more;           //  DESCRIPTION: further paragraphs ('\n\n' between), or NULL
    const sluice_cli_item_t *items;     //  the options, in --help order
    size_t count;               //  number of items
    const char *const *exits;   //  SLUICE_CLI_EXITS meanings, NULL for a code not used
    const char *const *exit_codes;  //  each row's code ("1-100"), or NULL: its index
    const char *subcommands;    //  "ventilator worker sink keygen", or NULL
    const char *operands;       //  completion of operands: "file", "dir", "command", NULL
    bool subcommand;            //  completion: a subcommand of sluice, not a program
    bool layers;                //  reads the environment and a topology file (-c)
    const char *environment;    //  ENVIRONMENT: further paragraphs, or NULL
    const char *files;          //  FILES: further paragraphs, or NULL
    const char *examples;       //  EXAMPLES: command lines, or NULL
} sluice_cli_page_t;

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

//  Print the program's man page (roff, section 1): NAME, SYNOPSIS,
//  DESCRIPTION, OPTIONS (each with its argument, default, environment
//  variable and topology key), VALUES, ENVIRONMENT, FILES, SECURITY, EXIT
//  STATUS, SEE ALSO. The hidden flag --help-man prints it.
void
    sluice_cli_man (const sluice_cli_page_t *page, FILE *stream);

//  Print the program's bash completion: a function _sluice_NAME (_sluice
//  for sluice) completing its options, their values (choices, files,
//  directories, commands) and operands, and its `complete` line. The
//  hidden flag --help-completion prints it.
void
    sluice_cli_completion (const sluice_cli_page_t *page, FILE *stream);

//  The security paragraph of --help.
const char *
    sluice_cli_security_text (void);

//  sluice keygen [--force] DIR [HOST...]: create a deployment's CURVE
//  certificates in DIR (security.c's sluice_keygen) and say what to copy
//  where. argv [0] is "keygen". Returns the exit code.
int
    sluice_cli_keygen (const char *name, int argc, char *argv []);

#endif
