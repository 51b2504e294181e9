/*  =========================================================================
    dryrun.h - --dry-run: print each task's command line, run nothing

    As GNU parallel's --dry-run: one line per task on stdout, the command
    line the worker would run for it, built by the worker's own function
    (sluice_spawn_command: {} replaced by the quoted task, else the task
    appended); with --pipe the command alone (the task would be its stdin).
    =========================================================================
*/

#ifndef SLUICE_DRYRUN_H_INCLUDED
#define SLUICE_DRYRUN_H_INCLUDED

#include <stdio.h>

#include "sluice.h"

//  Print the command line of one task to out. Returns 0, or -1 if the
//  task holds a NUL byte (no shell word can carry it; logged).
int
    sluice_dryrun_print (const sluice_config_t *config, const void *data, size_t size,
                         FILE *out);

//  Print the command line of every record of fd, read in the config's
//  input format (blocking: this is a command-line helper). Returns an exit
//  code: SLUICE_EXIT_OK, or SLUICE_EXIT_USAGE on an invalid record.
int
    sluice_dryrun_fd (const sluice_config_t *config, int fd, const char *name, FILE *out);

#endif
