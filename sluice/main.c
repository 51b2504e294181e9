/*  =========================================================================
    sluice - run a command over many inputs, or any of the three roles

    `sluice [OPTIONS] COMMAND [ARG...]` runs a whole batch on this host
    (see run.h); `sluice ventilator|worker|sink ARGS...` runs that program
    exactly as its own binary does, so one installed name is enough;
    `sluice cat` reads a sink's msgpack stream back (cat.c).
    =========================================================================
*/

#include "run.h"
#include "roles.h"
#include "../cli/cli.h"

int
main (int argc, char *argv [])
{
    if (argc > 1) {
        //  argv [1] becomes the role's argv [0]: its name, in its messages;
        //  each role's main bounds its own exit (sluice_exit_bounded)
        if (streq (argv [1], "ventilator"))
            return sluice_main_ventilator (argc - 1, argv + 1);
        if (streq (argv [1], "worker"))
            return sluice_main_worker (argc - 1, argv + 1);
        if (streq (argv [1], "sink"))
            return sluice_main_sink (argc - 1, argv + 1);
        if (streq (argv [1], "cat"))
            return sluice_cat_main (argc - 1, argv + 1);
        if (streq (argv [1], "keygen"))
            return sluice_cli_keygen ("sluice", argc - 1, argv + 1);
    }
    int rc;
    sluice_args_t *args = sluice_args_parse (argc, argv, &rc);
    if (!args)
        return rc == SLUICE_EXIT_OK? rc: SLUICE_RUN_EXIT_USAGE;
    rc = sluice_batch_run (args);
    sluice_args_destroy (&args);
    return sluice_exit_bounded (rc);
}
