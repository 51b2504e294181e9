/*  =========================================================================
    worker - take tasks from a ventilator, process them, push results

    Thin command-line shell over sluice_worker_t: parse options through the
    option table (flag > env > file > default), run until SIGTERM.
    =========================================================================
*/

#include "../lib/private.h"
#include "../cli/cli.h"

static const sluice_cli_t s_program = {
    .name = "worker",
    .role = SLUICE_ROLE_WORKER,
    .synopsis = "[OPTIONS] (--echo | --exec CMD | --coproc CMD | --pool)",
    .about = "Serve batch after batch until SIGINT/SIGTERM/SIGHUP: the first lets\n"
             "running tasks finish (within --grace), the second stops them (--termseq).\n",
    .epilogue = "Endpoints: @ binds, > connects, comma-separated lists.\n"
                "Durations: 250ms, 2s, 5m, bare number = seconds.\n"
                "Exit: 0 stopped cleanly, 2 usage error, 3 runtime error.\n",
    .required = "mode",
    .summary = "take tasks from a ventilator, run them, push results to the sink",
    .exits = {
        [SLUICE_EXIT_OK] = "stopped cleanly (SIGINT/SIGTERM/SIGHUP)",
        [SLUICE_EXIT_USAGE] = "usage error",
        [SLUICE_EXIT_RUNTIME] = "runtime error",
    },
};

int
main (int argc, char *argv [])
{
    int first, rc;
    sluice_config_t *config = sluice_cli_parse (&s_program, argc, argv, &first, &rc);
    if (!config)
        return rc;
    sluice_init_process ("worker", config->verbose);
    char err [512];
    sluice_worker_t *worker = sluice_worker_new (config, err, sizeof err);
    if (!worker) {
        zsys_error ("%s", err);
        rc = SLUICE_EXIT_RUNTIME;
    }
    else {
        rc = sluice_worker_run (worker);
        sluice_worker_destroy (&worker);
    }
    sluice_config_destroy (&config);
    return sluice_exit_bounded (rc);
}
