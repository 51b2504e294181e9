/*  =========================================================================
    embed_sink.c - a sink embedded in another program's own loop

    The program takes every result itself instead of having libsluice
    write it to a file, and prints "id<TAB>output" lines. It owns the loop:
    poll(2) on the sink's one file descriptor (beside whatever else the
    program watches), sluice_sink_service when it is readable or the
    timeout expires, then sluice_sink_next until no result is ready. Each
    result is delivered once, and acknowledged to the ventilator only on
    the call after the one that delivered it: once the program has it.

    Build: cc -o embed_sink embed_sink.c $(pkg-config --cflags --libs libsluice libczmq)
    Run:   embed_sink [RESULTS-ENDPOINT CONTROL-ENDPOINT [keep-order]]
    Exit:  the sink's status (0 all tasks succeeded, 1 some failed, ...)
    =========================================================================
*/

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include <sluice.h>

//  Print one result as "id<TAB>output", without the output's last newline.
static void
s_print (const sluice_result_t *result)
{
    size_t size = result->output_size;
    if (size && result->output [size - 1] == '\n')
        size--;
    printf ("%" PRIu64 "\t%.*s\n", result->id, (int) size, (const char *) result->output);
}

int
main (int argc, char *argv [])
{
    zsys_set_logstream (stderr);
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_SINK);
    char err [256];
    if (argc >= 3
    &&  (sluice_config_set_endpoint (config, "results", argv [1], err, sizeof err)
    ||   sluice_config_set_endpoint (config, "control", argv [2], err, sizeof err))) {
        fprintf (stderr, "embed_sink: %s\n", err);
        return 2;
    }
    if (argc >= 4 && strcmp (argv [3], "keep-order") == 0
    &&  sluice_config_set (config, "keep-order", "1", err, sizeof err)) {
        fprintf (stderr, "embed_sink: %s\n", err);
        return 2;
    }
    sluice_sink_t *sink = sluice_sink_new_reader (config, err, sizeof err);
    if (!sink) {
        fprintf (stderr, "embed_sink: %s\n", err);
        return 3;
    }
    struct pollfd item = { sluice_sink_fd (sink), POLLIN, 0 };
    while (!zsys_interrupted) {
        int state = sluice_sink_service (sink);
        sluice_result_t result;
        int got;
        while ((got = sluice_sink_next (sink, &result)) == 1)
            s_print (&result);
        if (got < 0 || state < 0)
            break;              //  every result taken, or a fatal error
        poll (&item, 1, (int) sluice_sink_timeout (sink));
    }
    fflush (stdout);
    int status = sluice_sink_status (sink);
    //  let the workers read their last STORED before the connections close
    sluice_sink_settle (sink, 100);
    sluice_sink_destroy (&sink);
    sluice_config_destroy (&config);
    return status < 0? SLUICE_EXIT_ABANDONED: status;
}
