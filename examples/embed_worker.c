/*  =========================================================================
    embed_worker.c - a worker embedded in another program's own loop

    It upper-cases each task. The program owns the loop: it polls the
    worker's socket beside whatever else it watches (here: nothing but a
    one-second tick), lets libsluice service credit, progress and results,
    and answers each task it takes.

    Build: cc -o embed_worker embed_worker.c $(pkg-config --cflags --libs libsluice libczmq)
    Run:   embed_worker [TASKS-ENDPOINT RESULTS-ENDPOINT]
    =========================================================================
*/

#include <ctype.h>
#include <czmq.h>
#include <sluice.h>

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
    config->jobs = 4;
    sluice_worker_t *worker = sluice_worker_new (config, err, sizeof err);
    if (!worker) {
        fprintf (stderr, "embed_worker: %s\n", err);
        return 3;
    }
    zmq_pollitem_t item = { sluice_worker_socket (worker), 0, ZMQ_POLLIN, 0 };
    char *upper = NULL;
    size_t upper_size = 0;
    while (!zsys_interrupted) {
        zmq_poll (&item, 1, 1000);
        sluice_worker_service (worker);
        sluice_task_t task;
        sluice_job_t *job;
        while ((job = sluice_worker_recv (worker, &task))) {
            if (upper_size < task.size) {
                upper_size = task.size;
                upper = realloc (upper, upper_size);
            }
            for (size_t i = 0; i < task.size; i++)
                upper [i] = (char) toupper (task.data [i]);
            sluice_worker_reply (worker, job, SLUICE_STATUS_OK, 0, upper, task.size);
        }
    }
    sluice_worker_drain (worker);
    sluice_worker_service (worker);
    free (upper);
    sluice_worker_destroy (&worker);
    sluice_config_destroy (&config);
    return 0;
}
