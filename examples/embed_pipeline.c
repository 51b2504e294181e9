/*  =========================================================================
    embed_pipeline.c - submit tasks and consume their results in one program

    A ventilator and a sink live in this process; workers run anywhere. One
    poll(2) loop over both roles' descriptors submits tasks while the window
    has room and takes each result as it arrives, exactly once.

    Build: cc -o embed_pipeline embed_pipeline.c $(pkg-config --cflags --libs libsluice)
    Run:   embed_pipeline COUNT TASKS-ENDPOINT RESULTS-ENDPOINT CONTROL-ENDPOINT
    Prints "id<TAB>output" per result; exits with the batch's exit code.
    =========================================================================
*/

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sluice.h>

//  Make a role's config from "name=value" pairs; exits on a bad value.
static sluice_config_t *
s_config (sluice_role_t role, const char *const *pairs)
{
    sluice_config_t *config = sluice_config_new (role);
    char err [256];
    for (; *pairs; pairs += 2)
        if (sluice_config_set (config, pairs [0], pairs [1], err, sizeof err)) {
            fprintf (stderr, "embed_pipeline: %s\n", err);
            exit (2);
        }
    return config;
}

//  Submit tasks until the window is full or all COUNT are in.
static uint64_t
s_submit (sluice_ventilator_t *vent, uint64_t submitted, uint64_t count)
{
    char payload [32];
    while (submitted < count) {
        int size = snprintf (payload, sizeof payload, "%" PRIu64, submitted + 1);
        uint64_t id;
        if (sluice_ventilator_try_submit (vent, payload, (size_t) size, &id))
            break;              //  EAGAIN: the window is full
        if (++submitted == count)
            sluice_ventilator_close (vent);
    }
    return submitted;
}

//  Print every result that is ready. Returns 1 once the batch is complete.
static int
s_consume (sluice_sink_t *sink)
{
    sluice_result_t result;
    int rc;
    while ((rc = sluice_sink_next (sink, &result)) == 1)
        printf ("%" PRIu64 "\t%.*s\n", result.id, (int) result.output_size,
                (const char *) result.output);
    return rc < 0;
}

//  Wait until either role's descriptor is readable or a service is due.
static void
s_wait (sluice_ventilator_t *vent, sluice_sink_t *sink)
{
    struct pollfd fds [2] = {
        { sluice_ventilator_fd (vent), POLLIN, 0 },
        { sluice_sink_fd (sink), POLLIN, 0 }
    };
    int64_t timeout = sluice_ventilator_timeout (vent);
    if (sluice_sink_timeout (sink) < timeout)
        timeout = sluice_sink_timeout (sink);
    poll (fds, 2, (int) timeout);
}

int
main (int argc, char *argv [])
{
    if (argc != 5) {
        fprintf (stderr, "usage: embed_pipeline COUNT TASKS RESULTS CONTROL\n");
        return 2;
    }
    uint64_t count = strtoull (argv [1], NULL, 10);
    char tasks [256], results [256], control_bind [256], control_connect [256];
    snprintf (tasks, sizeof tasks, "@%s", argv [2]);
    snprintf (results, sizeof results, "@%s", argv [3]);
    snprintf (control_bind, sizeof control_bind, "@%s", argv [4]);
    snprintf (control_connect, sizeof control_connect, ">%s", argv [4]);
    const char *vent_pairs [] = { "tasks", tasks, "control", control_connect, NULL };
    const char *sink_pairs [] = { "results", results, "control", control_bind, NULL };
    sluice_config_t *vent_config = s_config (SLUICE_ROLE_VENTILATOR, vent_pairs);
    sluice_config_t *sink_config = s_config (SLUICE_ROLE_SINK, sink_pairs);
    char err [256];
    sluice_ventilator_t *vent = sluice_ventilator_new (vent_config, err, sizeof err);
    sluice_sink_t *sink = vent ? sluice_sink_new_reader (sink_config, err, sizeof err) : NULL;
    if (!sink) {
        fprintf (stderr, "embed_pipeline: %s\n", err);
        sluice_ventilator_destroy (&vent);
        return 3;
    }
    uint64_t submitted = 0;
    if (count == 0)
        sluice_ventilator_close (vent);
    bool done = false;
    while (!done || sluice_ventilator_status (vent) < 0) {
        submitted = s_submit (vent, submitted, count);
        if (sluice_ventilator_service (vent) < 0 || sluice_sink_service (sink) < 0)
            break;
        if (!done)
            done = s_consume (sink);
        if (!done || sluice_ventilator_status (vent) < 0)
            s_wait (vent, sink);
    }
    int code = sluice_ventilator_status (vent);
    sluice_sink_destroy (&sink);
    sluice_ventilator_destroy (&vent);
    sluice_config_destroy (&sink_config);
    sluice_config_destroy (&vent_config);
    return code < 0 ? 3 : code;
}
