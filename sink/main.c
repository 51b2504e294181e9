/*  =========================================================================
    sink - collect results, write each exactly once, exit when complete

    Thin command-line shell over sluice_sink_t.
    =========================================================================
*/

#include "../lib/private.h"
#include "../lib/cli.h"


static const char *s_usage =
    "Usage: sink [OPTIONS]\n"
    "Write each task's result once to stdout (or -o FILE); exit when the batch\n"
    "is complete. Failed tasks are reported on stderr.\n"
    "\n"
    "  -o, --output FILE      write results to FILE\n"
    "      --append           append to FILE and resume after a crash (keeps\n"
    "                         FILE.sluice-state)\n"
    "      --format F         lines (default), jsonl, msgpack\n"
    "  -k, --keep-order       print results in input order\n"
    "  -c, --config FILE      ZPL topology file shared by all programs\n"
    "      --results EP       results endpoint(s) (default @tcp://*:5558)\n"
    "      --control EP       control endpoint(s) (default @tcp://*:5559)\n"
    "      --max-size SIZE    largest message (default 64M)\n"
    "  -v, --verbose          log debug lines\n"
    "  -q, --quiet            no summary\n"
    "      --help, --version\n"
    "\n"
    "Exit: 0 all tasks succeeded, 1 some failed, 2 usage error, 3 runtime\n"
    "error, 4 batch abandoned or interrupted.\n";

enum { OPT_RESULTS = 256, OPT_CONTROL, OPT_APPEND, OPT_FORMAT };

static struct option s_options [] = {
    { "output", required_argument, NULL, 'o' },
    { "append", no_argument, NULL, OPT_APPEND },
    { "format", required_argument, NULL, OPT_FORMAT },
    { "keep-order", no_argument, NULL, 'k' },
    { "results", required_argument, NULL, OPT_RESULTS },
    { "control", required_argument, NULL, OPT_CONTROL },
    SLUICE_COMMON_OPTIONS,
    { NULL, 0, NULL, 0 }
};

int
main (int argc, char *argv [])
{
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_SINK);
    const char *file = NULL, *results = NULL, *control = NULL;
    int opt;
    while ((opt = getopt_long (argc, argv, SLUICE_COMMON_SHORT "o:k", s_options, NULL)) != -1) {
        switch (opt) {
            case 'o': config->output = strdup (optarg); break;
            case OPT_APPEND: config->append = true; break;
            case OPT_FORMAT:
                if (streq (optarg, "lines"))
                    config->format = SLUICE_FORMAT_LINES;
                else
                if (streq (optarg, "jsonl"))
                    config->format = SLUICE_FORMAT_JSONL;
                else
                if (streq (optarg, "msgpack"))
                    config->format = SLUICE_FORMAT_MSGPACK;
                else
                    sluice_cli_bad ("sink", "--format", optarg);
                break;
            case 'k': config->keep_order = true; break;
            case OPT_RESULTS: results = optarg; break;
            case OPT_CONTROL: control = optarg; break;
            default:
                if (!sluice_cli_common (config, opt, optarg, "sink", s_usage, &file))
                    return SLUICE_EXIT_USAGE;
                break;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "sink: unexpected argument '%s'\n", argv [optind]);
        return SLUICE_EXIT_USAGE;
    }
    if (config->append && !config->output) {
        fprintf (stderr, "sink: --append needs -o FILE\n");
        return SLUICE_EXIT_USAGE;
    }
    char err [512];
    if (sluice_config_resolve (config, file, NULL, results, control, err, sizeof err)) {
        fprintf (stderr, "sink: %s\n", err);
        return SLUICE_EXIT_USAGE;
    }
    sluice_init_process ("sink", config->verbose);
    sluice_sink_t *sink = sluice_sink_new (config, err, sizeof err);
    if (!sink) {
        zsys_error ("%s", err);
        return SLUICE_EXIT_RUNTIME;
    }
    int rc = sluice_sink_run (sink);
    sluice_sink_destroy (&sink);
    sluice_config_destroy (&config);
    return rc;
}
