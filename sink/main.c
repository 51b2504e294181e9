/*  =========================================================================
    sink - collect results, write each exactly once, exit when complete

    Thin command-line shell over sluice_sink_t: parse options through the
    option table (flag > env > file > default), collect until complete.
    =========================================================================
*/

#include "../lib/private.h"
#include "../cli/cli.h"

#include <signal.h>

static const sluice_cli_t s_program = {
    .name = "sink",
    .role = SLUICE_ROLE_SINK,
    .synopsis = "[OPTIONS]",
    .about = "Write each task's result once to stdout (or -o FILE); exit when the batch\n"
             "is complete. Failed tasks are reported on stderr.\n",
    .epilogue = "Endpoints: @ binds, > connects, comma-separated lists.\n"
                "Exit: 0 all tasks succeeded, 1 some failed, 2 usage error, 3 runtime\n"
                "error, 4 batch abandoned or interrupted.\n",
    .summary = "collect results, write each exactly once, exit when the batch is complete",
    .exits = {
        "every task succeeded",
        "batch complete, some failed",
        "usage error",
        "runtime error (cannot bind, cannot write output: \"output closed\" on EPIPE)",
        "batch abandoned by the ventilator, or interrupted",
    },
};

int
main (int argc, char *argv [])
{
    int first, rc;
    sluice_config_t *config = sluice_cli_parse (&s_program, argc, argv, &first, &rc);
    if (!config)
        return rc;
    sluice_init_process ("sink", config->verbose);
    //  a closed output (`sink | head -1`) is EPIPE from write, handled
    //  and logged, instead of a silent death
    signal (SIGPIPE, SIG_IGN);
    char err [512];
    sluice_sink_t *sink = sluice_sink_new (config, err, sizeof err);
    if (!sink) {
        zsys_error ("%s", err);
        rc = SLUICE_EXIT_RUNTIME;
    }
    else {
        rc = sluice_sink_run (sink);
        sluice_sink_destroy (&sink);
    }
    sluice_config_destroy (&config);
    return sluice_exit_bounded (rc);
}
