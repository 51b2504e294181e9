/*  =========================================================================
    ventilator - read tasks from files or stdin and stream them to workers

    Thin command-line shell over sluice_ventilator_t: parse options, build
    the config (flag > env > file > default), add the inputs, run.
    =========================================================================
*/

#include "../lib/private.h"
#include "../lib/cli.h"

#include <fcntl.h>
#include <unistd.h>

static const char *s_usage =
    "Usage: ventilator [OPTIONS] [FILE...]\n"
    "Read tasks (one per line) from FILEs or stdin and stream them to workers;\n"
    "exit when the sink has written every result.\n"
    "\n"
    "  -c, --config FILE      ZPL topology file shared by all programs\n"
    "      --tasks EP         tasks endpoint(s) (default @tcp://*:5557)\n"
    "      --control EP       sink control endpoint(s) (default >tcp://localhost:5559)\n"
    "  -0, --null             tasks are NUL-delimited\n"
    "      --msgpack          tasks are a stream of MessagePack objects\n"
    "      --window N         unacknowledged tasks held at most (default 32768;\n"
    "                         also bounded to 16 MiB of payload)\n"
    "      --timeout DUR      lease of one delivery before re-sending (default 30s)\n"
    "      --retries N        re-runs of a failed command (default 0)\n"
    "      --max-attempts N   deliveries before a task is lost (default 5)\n"
    "      --journal FILE     record acknowledged tasks; re-run to resume\n"
    "      --max-size SIZE    largest message (default 64M)\n"
    "  -v, --verbose          log debug lines\n"
    "  -q, --quiet            no summary\n"
    "      --help, --version\n"
    "\n"
    "Endpoints: @ binds, > connects, comma-separated lists; env SLUICE_TASKS,\n"
    "SLUICE_CONTROL. Durations: 250ms, 2s, 5m, bare number = seconds.\n"
    "Exit: 0 all tasks succeeded, 1 some failed, 2 usage or bad input,\n"
    "3 runtime error, 4 interrupted (batch abandoned).\n";

enum { OPT_TASKS = 256, OPT_CONTROL, OPT_MSGPACK, OPT_WINDOW, OPT_TIMEOUT, OPT_RETRIES,
       OPT_MAX_ATTEMPTS, OPT_JOURNAL };

static struct option s_options [] = {
    { "tasks", required_argument, NULL, OPT_TASKS },
    { "control", required_argument, NULL, OPT_CONTROL },
    { "null", no_argument, NULL, '0' },
    { "msgpack", no_argument, NULL, OPT_MSGPACK },
    { "window", required_argument, NULL, OPT_WINDOW },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "retries", required_argument, NULL, OPT_RETRIES },
    { "max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS },
    { "journal", required_argument, NULL, OPT_JOURNAL },
    SLUICE_COMMON_OPTIONS,
    { NULL, 0, NULL, 0 }
};

int
main (int argc, char *argv [])
{
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    const char *file = NULL, *tasks = NULL, *control = NULL;
    int opt;
    int64_t n;
    while ((opt = getopt_long (argc, argv, SLUICE_COMMON_SHORT "0", s_options, NULL)) != -1) {
        switch (opt) {
            case OPT_TASKS: tasks = optarg; break;
            case OPT_CONTROL: control = optarg; break;
            case '0': config->input = SLUICE_INPUT_NUL; break;
            case OPT_MSGPACK: config->input = SLUICE_INPUT_MSGPACK; break;
            case OPT_WINDOW:
                if ((n = sluice_parse_count (optarg)) < 1)
                    sluice_cli_bad ("ventilator", "--window", optarg);
                config->window = (size_t) n;
                break;
            case OPT_TIMEOUT:
                if ((n = sluice_parse_duration (optarg)) < 1)
                    sluice_cli_bad ("ventilator", "--timeout", optarg);
                config->timeout_ms = n;
                break;
            case OPT_RETRIES:
                if ((n = sluice_parse_count (optarg)) < 0)
                    sluice_cli_bad ("ventilator", "--retries", optarg);
                config->retries = (unsigned) n;
                break;
            case OPT_MAX_ATTEMPTS:
                if ((n = sluice_parse_count (optarg)) < 1)
                    sluice_cli_bad ("ventilator", "--max-attempts", optarg);
                config->max_attempts = (unsigned) n;
                break;
            case OPT_JOURNAL: config->journal = strdup (optarg); break;
            default:
                if (!sluice_cli_common (config, opt, optarg, "ventilator", s_usage, &file))
                    return SLUICE_EXIT_USAGE;
                break;
        }
    }
    char err [512];
    if (sluice_config_resolve (config, file, tasks, NULL, control, err, sizeof err)) {
        fprintf (stderr, "ventilator: %s\n", err);
        return SLUICE_EXIT_USAGE;
    }
    //  open every input first: a missing file is an error before any work
    int *fds = (int *) calloc ((size_t) (argc - optind) + 1, sizeof (int));
    for (int i = optind; i < argc; i++) {
        fds [i - optind] = streq (argv [i], "-")? STDIN_FILENO: open (argv [i], O_RDONLY);
        if (fds [i - optind] < 0) {
            fprintf (stderr, "ventilator: cannot open '%s': %s\n", argv [i], strerror (errno));
            return SLUICE_EXIT_RUNTIME;
        }
    }
    sluice_init_process ("ventilator", config->verbose);
    sluice_ventilator_t *ventilator = sluice_ventilator_new (config, err, sizeof err);
    if (!ventilator) {
        zsys_error ("%s", err);
        return SLUICE_EXIT_RUNTIME;
    }
    if (optind == argc)
        sluice_ventilator_add_input (ventilator, STDIN_FILENO, "stdin");
    for (int i = optind; i < argc; i++)
        sluice_ventilator_add_input (ventilator, fds [i - optind], argv [i]);
    int rc = sluice_ventilator_run (ventilator);
    sluice_ventilator_destroy (&ventilator);
    sluice_config_destroy (&config);
    free (fds);
    return rc;
}
