/*  =========================================================================
    keygen.c - sluice keygen: a deployment's CURVE certificates in one step

    Makes DIR/ventilator.cert, DIR/sink.cert and DIR/worker.cert (each with
    a _secret file only its owner may read), and DIR/worker-HOST.cert for
    each HOST named, then says which files each host needs.
    =========================================================================
*/

#include "../lib/private.h"
#include "cli.h"

static void
s_usage (const char *name, FILE *stream)
{
    fprintf (stream,
        "Usage: %s keygen [--force] DIR [HOST...]\n"
        "Create a deployment's CURVE certificates in DIR (made 0700 if missing):\n"
        "ventilator.cert, sink.cert and worker.cert, each with a _secret file of\n"
        "mode 0600, and worker-HOST.cert for each HOST named (a worker on HOST uses\n"
        "its own key, so one host's key can be withdrawn by deleting its .cert).\n"
        "Then every program takes --keys DIR (or SLUICE_KEYS, or 'security/keys'\n"
        "in the topology file). Each host needs every public .cert file and only\n"
        "its own role's _secret file.\n"
        "  --force   replace existing certificates\n"
        "Exit: 0 created, 2 usage error, 3 cannot write.\n", name);
}

int
sluice_cli_keygen (const char *name, int argc, char *argv [])
{
    bool force = false;
    int first = 1;
    for (; first < argc && argv [first][0] == '-' && argv [first][1]; first++) {
        if (streq (argv [first], "--force"))
            force = true;
        else
        if (streq (argv [first], "--help")) {
            s_usage (name, stdout);
            return SLUICE_EXIT_OK;
        }
        else
        if (streq (argv [first], "--")) {
            first++;
            break;
        }
        else {
            fprintf (stderr, "%s keygen: unknown option '%s'\n", name, argv [first]);
            return SLUICE_EXIT_USAGE;
        }
    }
    if (first >= argc) {
        fprintf (stderr, "%s keygen: missing DIR (usage: %s keygen [--force] DIR [HOST...])\n",
                 name, name);
        return SLUICE_EXIT_USAGE;
    }
    const char *dir = argv [first];
    char err [512];
    if (sluice_keygen (dir, (const char *const *) argv + first + 1, (size_t) (argc - first - 1),
                       force, err, sizeof err)) {
        fprintf (stderr, "%s keygen: %s\n", name, err);
        return strstr (err, "invalid host") || strstr (err, "exists")
             ? SLUICE_EXIT_USAGE: SLUICE_EXIT_RUNTIME;
    }
    printf ("made %s/ventilator.cert, %s/sink.cert, %s/worker.cert", dir, dir, dir);
    for (int i = first + 1; i < argc; i++)
        printf (", %s/worker-%s.cert", dir, argv [i]);
    printf (" (each with its _secret)\n"
            "copy to every host: the .cert files; to each host only the _secret of the\n"
            "role it runs; then run every program with --keys %s\n", dir);
    return SLUICE_EXIT_OK;
}
