/*  =========================================================================
    dryrun.c - --dry-run: print each task's command line, run nothing

    Used by `ventilator --exec CMD --dry-run` (its inputs) and by sluice
    (its sources); nothing is bound, no worker is needed.
    =========================================================================
*/

#include "private.h"
#include "dryrun.h"
#include "reader.h"
#include "spawn.h"

#include <poll.h>

int
sluice_dryrun_print (const sluice_config_t *config, const void *data, size_t size, FILE *out)
{
    const char *command = config->command? config->command: "";
    if (config->pipe) {
        fprintf (out, "%s\n", command);
        return 0;
    }
    char *line = sluice_spawn_command (command, sluice_spawn_colsep (config),
                                       (const uint8_t *) data, size);
    if (!line) {
        zsys_warning ("--dry-run: a task holds a NUL byte; no command line can carry it");
        return -1;
    }
    fprintf (out, "%s\n", line);
    free (line);
    return 0;
}

int
sluice_dryrun_fd (const sluice_config_t *config, int fd, const char *name, FILE *out)
{
    sluice_reader_t *reader = sluice_reader_new (config->input, config->max_size);
    sluice_reader_add (reader, fd, name);
    int rc = SLUICE_EXIT_OK;
    while (rc == SLUICE_EXIT_OK) {
        const uint8_t *data;
        size_t size;
        int next;
        while ((next = sluice_reader_next (reader, &data, &size)) > 0)
            sluice_dryrun_print (config, data, size, out);
        if (next < 0 || sluice_reader_done (reader)) {
            rc = next < 0? SLUICE_EXIT_USAGE: SLUICE_EXIT_OK;
            break;
        }
        int filled = sluice_reader_fill (reader);
        if (filled < 0)
            rc = SLUICE_EXIT_USAGE;
        else
        if (filled == 0) {
            struct pollfd item = { sluice_reader_fd (reader), POLLIN, 0 };
            poll (&item, 1, -1);
        }
    }
    sluice_reader_destroy (&reader);
    return rc;
}
