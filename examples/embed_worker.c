/*  =========================================================================
    embed_worker.c - a worker embedded in another program's own loop

    It upper-cases each task. The program owns the loop and knows nothing
    of ZeroMQ: it waits with poll(2) on sluice_worker_fd (beside whatever
    else it would watch), with sluice_worker_timeout as the timeout, lets
    libsluice service credit, progress and results, and answers each task
    it takes. On SIGTERM or SIGINT it stops as the worker program does:
    it takes no more tasks, hands the queued ones back to the ventilator
    (sluice_worker_stop), and leaves once the tasks it took are answered
    and sent, or after five seconds; a second signal stops it at once.

    Build: cc -o embed_worker embed_worker.c $(pkg-config --cflags --libs libsluice)
    Run:   embed_worker [TASKS-ENDPOINT RESULTS-ENDPOINT]
    =========================================================================
*/

#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <czmq.h>
#include <sluice.h>

#define GRACE_MS 5000               //  time to finish the tasks in hand

static volatile sig_atomic_t s_signals = 0;     //  SIGTERM/SIGINT received

//  Count a stop signal; poll(2) returns EINTR, so the loop sees it at once.
static void
s_on_signal (int signum)
{
    (void) signum;
    s_signals = s_signals + 1;
}

//  Our own handlers, installed after the worker is created (creating it
//  initialises CZMQ, which would install its own).
static void
s_catch_signals (void)
{
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);
}

//  Milliseconds on a monotonic clock.
static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Answer every queued task with its payload in upper case.
static void
s_answer_tasks (sluice_worker_t *worker, char **upper, size_t *upper_size)
{
    sluice_task_t task;
    sluice_job_t *job;
    while ((job = sluice_worker_recv (worker, &task))) {
        if (*upper_size < task.size) {
            *upper_size = task.size;
            *upper = realloc (*upper, *upper_size);
        }
        for (size_t i = 0; i < task.size; i++)
            (*upper) [i] = (char) toupper (task.data [i]);
        sluice_worker_reply (worker, job, SLUICE_STATUS_OK, 0, *upper, task.size);
    }
}

//  The program's loop: poll, service, answer; drain on the first signal.
static int
s_serve (sluice_worker_t *worker)
{
    char *upper = NULL;
    size_t upper_size = 0;
    int64_t grace_end = 0;
    struct pollfd item = { .fd = sluice_worker_fd (worker), .events = POLLIN };
    int rc = 0;
    while (s_signals < 2) {
        if (s_signals && !grace_end) {
            sluice_worker_stop (worker);
            grace_end = s_now_ms () + GRACE_MS;
        }
        rc = sluice_worker_service (worker);
        if (rc != 0 || (grace_end && s_now_ms () >= grace_end))
            break;
        s_answer_tasks (worker, &upper, &upper_size);
        poll (&item, 1, (int) sluice_worker_timeout (worker));
    }
    free (upper);
    return rc < 0? 3: 0;
}

int
main (int argc, char *argv [])
{
    zsys_set_logstream (stderr);
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_WORKER);
    char err [256];
    if (argc == 3
    &&  (sluice_config_set_endpoint (config, "tasks", argv [1], err, sizeof err)
    ||   sluice_config_set_endpoint (config, "results", argv [2], err, sizeof err))) {
        fprintf (stderr, "embed_worker: %s\n", err);
        return 2;
    }
    if (sluice_config_set (config, "jobs", "4", err, sizeof err)) {
        fprintf (stderr, "embed_worker: %s\n", err);
        return 2;
    }
    sluice_worker_t *worker = sluice_worker_new (config, err, sizeof err);
    if (!worker) {
        fprintf (stderr, "embed_worker: %s\n", err);
        return 3;
    }
    s_catch_signals ();
    int rc = s_serve (worker);
    sluice_worker_destroy (&worker);
    sluice_config_destroy (&config);
    return rc;
}
