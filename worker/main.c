/*  =========================================================================
    worker - take tasks from a ventilator, process them, push results

    Thin command-line shell over sluice_worker_t.
    =========================================================================
*/

#include "../lib/private.h"
#include "../lib/cli.h"


static const char *s_usage =
    "Usage: worker [OPTIONS] (--echo | --exec CMD | --coproc CMD)\n"
    "Serve batch after batch until SIGINT/SIGTERM, then finish the tasks in hand.\n"
    "\n"
    "      --echo             return each payload unchanged\n"
    "      --exec CMD         run CMD with /bin/sh -c per task; {} is replaced by\n"
    "                         the shell-quoted payload, else it is appended\n"
    "      --pipe             with --exec: payload on the command's stdin\n"
    "      --coproc CMD       keep -j copies of CMD running; one line in, one out\n"
    "  -0, --null             with --coproc: NUL-delimited records\n"
    "  -j, --jobs N           tasks processed at once (default: cores)\n"
    "      --prefetch N       tasks held beyond free slots (default: 0 for\n"
    "                         --exec, 8192 for --echo, 32 per copy for --coproc)\n"
    "      --task-timeout DUR kill a command running longer (TERM, then KILL)\n"
    "      --grace DUR        on SIGTERM, time to finish tasks in hand (default 30s)\n"
    "  -c, --config FILE      ZPL topology file shared by all programs\n"
    "      --tasks EP         ventilator endpoint(s) (default >tcp://localhost:5557)\n"
    "      --results EP       sink endpoint(s) (default >tcp://localhost:5558)\n"
    "      --max-size SIZE    largest message (default 64M)\n"
    "  -v, --verbose          log debug lines\n"
    "  -q, --quiet            no summary\n"
    "      --help, --version\n"
    "\n"
    "Exit: 0 stopped cleanly, 2 usage error, 3 runtime error.\n";

enum { OPT_TASKS = 256, OPT_RESULTS, OPT_ECHO, OPT_EXEC, OPT_PIPE, OPT_COPROC, OPT_PREFETCH,
       OPT_TASK_TIMEOUT, OPT_GRACE };

static struct option s_options [] = {
    { "tasks", required_argument, NULL, OPT_TASKS },
    { "results", required_argument, NULL, OPT_RESULTS },
    { "echo", no_argument, NULL, OPT_ECHO },
    { "exec", required_argument, NULL, OPT_EXEC },
    { "pipe", no_argument, NULL, OPT_PIPE },
    { "coproc", required_argument, NULL, OPT_COPROC },
    { "null", no_argument, NULL, '0' },
    { "jobs", required_argument, NULL, 'j' },
    { "prefetch", required_argument, NULL, OPT_PREFETCH },
    { "task-timeout", required_argument, NULL, OPT_TASK_TIMEOUT },
    { "grace", required_argument, NULL, OPT_GRACE },
    SLUICE_COMMON_OPTIONS,
    { NULL, 0, NULL, 0 }
};

//  Set the processing mode once; two modes is a usage error.
static void
s_mode (sluice_config_t *config, sluice_mode_t mode, const char *command)
{
    if (config->mode != SLUICE_MODE_NONE) {
        fprintf (stderr, "worker: choose one of --echo, --exec, --coproc\n");
        exit (SLUICE_EXIT_USAGE);
    }
    if (command && !*command)
        sluice_cli_bad ("worker", mode == SLUICE_MODE_EXEC? "--exec": "--coproc", command);
    config->mode = mode;
    config->command = command? strdup (command): NULL;
}

int
main (int argc, char *argv [])
{
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_WORKER);
    const char *file = NULL, *tasks = NULL, *results = NULL;
    int opt;
    int64_t n;
    bool nul = false;
    while ((opt = getopt_long (argc, argv, SLUICE_COMMON_SHORT "0j:", s_options, NULL)) != -1) {
        switch (opt) {
            case OPT_TASKS: tasks = optarg; break;
            case OPT_RESULTS: results = optarg; break;
            case OPT_ECHO: s_mode (config, SLUICE_MODE_ECHO, NULL); break;
            case OPT_EXEC: s_mode (config, SLUICE_MODE_EXEC, optarg); break;
            case OPT_COPROC: s_mode (config, SLUICE_MODE_COPROC, optarg); break;
            case OPT_PIPE: config->pipe = true; break;
            case '0': nul = true; break;
            case 'j':
                if ((n = sluice_parse_count (optarg)) < 1 || n > 4096)
                    sluice_cli_bad ("worker", "-j", optarg);
                config->jobs = (unsigned) n;
                break;
            case OPT_PREFETCH:
                if ((n = sluice_parse_count (optarg)) < 0 || n > 1000000)
                    sluice_cli_bad ("worker", "--prefetch", optarg);
                config->prefetch = (size_t) n;
                break;
            case OPT_TASK_TIMEOUT:
                if ((n = sluice_parse_duration (optarg)) < 1)
                    sluice_cli_bad ("worker", "--task-timeout", optarg);
                config->task_timeout_ms = n;
                break;
            case OPT_GRACE:
                if ((n = sluice_parse_duration (optarg)) < 0)
                    sluice_cli_bad ("worker", "--grace", optarg);
                config->grace_ms = n;
                break;
            default:
                if (!sluice_cli_common (config, opt, optarg, "worker", s_usage, &file))
                    return SLUICE_EXIT_USAGE;
                break;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "worker: unexpected argument '%s'\n", argv [optind]);
        return SLUICE_EXIT_USAGE;
    }
    if (config->mode == SLUICE_MODE_NONE) {
        fprintf (stderr, "worker: choose one of --echo, --exec CMD, --coproc CMD\n");
        return SLUICE_EXIT_USAGE;
    }
    if (config->pipe && config->mode != SLUICE_MODE_EXEC) {
        fprintf (stderr, "worker: --pipe needs --exec\n");
        return SLUICE_EXIT_USAGE;
    }
    config->input = nul? SLUICE_INPUT_NUL: SLUICE_INPUT_LINES;
    char err [512];
    if (sluice_config_resolve (config, file, tasks, results, NULL, err, sizeof err)) {
        fprintf (stderr, "worker: %s\n", err);
        return SLUICE_EXIT_USAGE;
    }
    sluice_init_process ("worker", config->verbose);
    sluice_worker_t *worker = sluice_worker_new (config, err, sizeof err);
    if (!worker) {
        zsys_error ("%s", err);
        return SLUICE_EXIT_RUNTIME;
    }
    int rc = sluice_worker_run (worker);
    sluice_worker_destroy (&worker);
    sluice_config_destroy (&config);
    return rc;
}
