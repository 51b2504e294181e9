/*  =========================================================================
    ventilator - read tasks from files or stdin and stream them to workers

    Thin command-line shell over sluice_ventilator_t: parse options through
    the option table (flag > env > file > default), add the inputs, run.
    =========================================================================
*/

#include "../lib/private.h"
#include "../lib/progress.h"
#include "../lib/dryrun.h"
#include "../cli/cli.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

static const sluice_cli_t s_program = {
    .name = "ventilator",
    .role = SLUICE_ROLE_VENTILATOR,
    .synopsis = "[OPTIONS] [FILE...]",
    .about = "Read tasks (one per line) from FILEs or stdin and stream them to workers;\n"
             "exit when the sink has written every result.\n",
    .epilogue = "Endpoints: @ binds, > connects, comma-separated lists.\n"
                "Durations: 250ms, 2s, 5m, bare number = seconds.\n"
                "Exit: 0 all tasks succeeded, 1 some failed, 2 usage or bad input,\n"
                "3 runtime error, 4 interrupted (batch abandoned).\n",
    .operands = true,
    .summary = "read tasks from files or stdin and stream them to workers",
    .exits = {
        "every task succeeded",
        "batch complete, some tasks failed or were lost",
        "usage error, bad option value, invalid input record or one over --max-size",
        "runtime error (cannot bind, cannot open a file; no worker can run the batch's command)",
        "interrupted, or the sink's output failed or was interrupted: batch abandoned",
    },
};

//  Open every input before any socket is made: a missing file is an error
//  before any work. Returns the descriptors, or NULL after logging.
static int *
s_open_inputs (int argc, char *argv [], int first)
{
    int *fds = (int *) calloc ((size_t) (argc - first) + 1, sizeof (int));
    assert (fds);
    for (int i = first; i < argc; i++) {
        fds [i - first] = streq (argv [i], "-")? STDIN_FILENO: open (argv [i], O_RDONLY);
        if (fds [i - first] < 0) {
            fprintf (stderr, "ventilator: cannot open '%s': %s\n", argv [i], strerror (errno));
            for (int j = first; j < i; j++)
                if (fds [j - first] != STDIN_FILENO)
                    close (fds [j - first]);
            free (fds);
            return NULL;
        }
    }
    return fds;
}

//  Run the batch as sluice_ventilator_run does, drawing the progress line
//  (when there is none, just run). Returns the exit code.
static int
s_run (sluice_ventilator_t *ventilator, const sluice_config_t *config)
{
    sluice_progress_t *progress = sluice_progress_from_config (config, STDERR_FILENO);
    if (!progress)
        return sluice_ventilator_run (ventilator);
    sluice_ventilator_close (ventilator);
    sluice_counts_t counts;
    while (sluice_ventilator_status (ventilator) < 0 && !zsys_interrupted) {
        struct pollfd item = { sluice_ventilator_fd (ventilator), POLLIN, 0 };
        int64_t timeout = sluice_ventilator_timeout (ventilator);
        if (sluice_progress_timeout (progress) < timeout)
            timeout = sluice_progress_timeout (progress);
        poll (&item, 1, (int) timeout);
        sluice_ventilator_service (ventilator);
        sluice_ventilator_counts (ventilator, &counts);
        sluice_progress_draw (progress, &counts, false);
    }
    int rc = sluice_ventilator_wait (ventilator);      //  interrupted: abandons
    sluice_ventilator_counts (ventilator, &counts);
    sluice_progress_draw (progress, &counts, true);
    sluice_progress_destroy (&progress);
    return rc;
}

int
main (int argc, char *argv [])
{
    int first, rc;
    sluice_config_t *config = sluice_cli_parse (&s_program, argc, argv, &first, &rc);
    if (!config)
        return rc;
    int *fds = s_open_inputs (argc, argv, first);
    if (!fds) {
        sluice_config_destroy (&config);
        return SLUICE_EXIT_RUNTIME;
    }
    sluice_init_process ("ventilator", config->verbose);
    if (config->dry_run) {
        //  print the command lines, bind nothing
        rc = first == argc? sluice_dryrun_fd (config, STDIN_FILENO, "stdin", stdout)
                          : SLUICE_EXIT_OK;
        for (int i = first; i < argc && rc == SLUICE_EXIT_OK; i++)
            rc = sluice_dryrun_fd (config, fds [i - first], argv [i], stdout);
        sluice_config_destroy (&config);
        free (fds);
        return rc;
    }
    char err [512];
    sluice_ventilator_t *ventilator = sluice_ventilator_new (config, err, sizeof err);
    if (!ventilator) {
        zsys_error ("%s", err);
        rc = SLUICE_EXIT_RUNTIME;
    }
    else {
        if (first == argc)
            sluice_ventilator_add_input (ventilator, STDIN_FILENO, "stdin");
        for (int i = first; i < argc; i++)
            sluice_ventilator_add_input (ventilator, fds [i - first], argv [i]);
        rc = s_run (ventilator, config);
        sluice_ventilator_destroy (&ventilator);
    }
    sluice_config_destroy (&config);
    free (fds);
    return sluice_exit_bounded (rc);
}
