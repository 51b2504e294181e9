/*  =========================================================================
    embed_vent.c - a ventilator embedded in another program's own loop

    It submits N tasks ("task 1" ... "task N") and waits for the batch to
    complete. The program owns the loop: it polls the ventilator's fd with
    poll(2) (no ZeroMQ calls of its own), services the ventilator when the
    fd is readable or its timeout has passed, and submits with
    sluice_ventilator_try_submit, which never blocks: when the window is
    full it says EAGAIN and the program goes back to poll.

    Build: cc -o embed_vent embed_vent.c $(pkg-config --cflags --libs libsluice libczmq)
    Run:   embed_vent TASKS-ENDPOINT CONTROL-ENDPOINT N
    Exit:  the batch's exit code (0: every task succeeded)
    =========================================================================
*/

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <czmq.h>
#include <sluice.h>

//  Submit tasks until the window is full or all n are in. Returns the
//  number submitted so far, or -1 on an error other than a full window.
static long
s_submit_some (sluice_ventilator_t *vent, long submitted, long n)
{
    while (submitted < n) {
        char task [32];
        int size = snprintf (task, sizeof task, "task %ld", submitted + 1);
        if (sluice_ventilator_try_submit (vent, task, (size_t) size, NULL) == 0)
            submitted++;
        else
        if (errno == EAGAIN)
            break;              //  window full: back to poll
        else
            return -1;
    }
    if (submitted == n)
        sluice_ventilator_close (vent);
    return submitted;
}

int
main (int argc, char *argv [])
{
    zsys_set_logident ("embed_vent");
    zsys_set_logstream (stderr);
    long n = argc == 4? atol (argv [3]): 0;
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    char err [256];
    if (n < 1
    ||  sluice_config_set_endpoint (config, "tasks", argv [1], err, sizeof err)
    ||  sluice_config_set_endpoint (config, "control", argv [2], err, sizeof err)
    //  a small window, so try_submit meets a full window
    ||  sluice_config_set (config, "window", "64", err, sizeof err)) {
        fprintf (stderr, "usage: embed_vent TASKS-ENDPOINT CONTROL-ENDPOINT N\n");
        sluice_config_destroy (&config);
        return 2;
    }
    sluice_ventilator_t *vent = sluice_ventilator_new (config, err, sizeof err);
    if (!vent) {
        fprintf (stderr, "embed_vent: %s\n", err);
        sluice_config_destroy (&config);
        return 3;
    }
    struct pollfd item = { .fd = sluice_ventilator_fd (vent), .events = POLLIN };
    long submitted = 0;
    int rc = 0;
    while (rc == 0 && !zsys_interrupted) {
        if (submitted >= 0 && submitted < n)
            submitted = s_submit_some (vent, submitted, n);
        poll (&item, 1, (int) sluice_ventilator_timeout (vent));
        rc = sluice_ventilator_service (vent);
    }
    int status = sluice_ventilator_status (vent);
    sluice_ventilator_destroy (&vent);
    sluice_config_destroy (&config);
    return status < 0? SLUICE_EXIT_ABANDONED: status;
}
