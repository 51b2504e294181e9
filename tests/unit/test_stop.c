/*  =========================================================================
    test_stop.c - an embedded worker's stop: what it holds goes elsewhere

    Typical use, in one process over inproc: a ventilator and a reader sink,
    worker A with -j 1 and --prefetch 8 takes one task and holds the rest
    queued; its program calls sluice_worker_stop (as the worker program
    does on the first SIGINT). The queued tasks go back to the ventilator
    at once (HANDBACK), worker B, started after, runs them, A answers the
    task it took and drains. Every result is written once, the batch
    completes, and no task spent an attempt. Then: a second stop hands
    back nothing.

    And as sluice runs its local worker: served in a thread of its own
    (sluice_worker_serve), stopped from another with
    sluice_worker_interrupt. It serves on after a batch completes; one
    interrupt drains it (a running command finishes first), a second
    stops that command at once, and the thread returns 0.
    =========================================================================
*/

#include "private.h"
#include "worker_core.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define N 20

static sluice_config_t *
s_config (sluice_role_t role, const char *const *pairs)
{
    sluice_config_t *config = sluice_config_new (role);
    char err [256];
    for (; *pairs; pairs += 2)
        assert_int_equal (sluice_config_set (config, pairs [0], pairs [1], err, sizeof err), 0);
    return config;
}

//  The configs of one pipeline in this process: a ventilator and a sink
//  on inproc://NAME-tasks, -results and -control, and their worker.
typedef struct {
    sluice_config_t *vent;
    sluice_config_t *sink;
    sluice_config_t *worker;
} s_configs_t;

//  Point the three configs at NAME's endpoints.
static void
s_endpoints (s_configs_t *configs, const char *name)
{
    char tasks [128], results [128], control [128];
    snprintf (tasks, sizeof tasks, "inproc://%s-tasks", name);
    snprintf (results, sizeof results, "inproc://%s-results", name);
    snprintf (control, sizeof control, "inproc://%s-control", name);
    const struct { sluice_config_t *config; const char *key; char side; const char *ep; } set [] = {
        { configs->vent, "tasks", '@', tasks }, { configs->vent, "control", '>', control },
        { configs->sink, "results", '@', results }, { configs->sink, "control", '@', control },
        { configs->worker, "tasks", '>', tasks }, { configs->worker, "results", '>', results }
    };
    char err [256], value [130];
    for (size_t i = 0; i < sizeof set / sizeof set [0]; i++) {
        snprintf (value, sizeof value, "%c%s", set [i].side, set [i].ep);
        assert_int_equal (sluice_config_set (set [i].config, set [i].key, value, err, sizeof err),
                          0);
    }
}

//  The configs for NAME, the worker's with these settings too.
static s_configs_t
s_configs (const char *name, const char *const *worker_pairs)
{
    const char *none [] = { NULL };
    s_configs_t configs = { s_config (SLUICE_ROLE_VENTILATOR, none),
                            s_config (SLUICE_ROLE_SINK, none),
                            s_config (SLUICE_ROLE_WORKER, worker_pairs) };
    s_endpoints (&configs, name);
    return configs;
}

//  A reader sink and a ventilator on the configs' endpoints.
static void
s_roles_new (s_configs_t *configs, sluice_ventilator_t **vent, sluice_sink_t **sink)
{
    char err [256];
    *sink = sluice_sink_new_reader (configs->sink, err, sizeof err);
    assert_non_null (*sink);
    *vent = sluice_ventilator_new (configs->vent, err, sizeof err);
    assert_non_null (*vent);
}

static void
s_configs_destroy (s_configs_t *configs)
{
    sluice_config_destroy (&configs->worker);
    sluice_config_destroy (&configs->sink);
    sluice_config_destroy (&configs->vent);
}

//  One round: service every role, wait at most 10 ms for any of them.
static void
s_round (sluice_ventilator_t *vent, sluice_sink_t *sink, sluice_worker_t *a,
         sluice_worker_t *b, int *a_rc)
{
    sluice_ventilator_service (vent);
    sluice_sink_service (sink);
    int rc = sluice_worker_service (a);
    if (rc)
        *a_rc = rc;
    if (b)
        sluice_worker_service (b);
    struct pollfd fds [4] = {
        { sluice_ventilator_fd (vent), POLLIN, 0 }, { sluice_sink_fd (sink), POLLIN, 0 },
        { sluice_worker_fd (a), POLLIN, 0 }, { b? sluice_worker_fd (b): -1, POLLIN, 0 }
    };
    poll (fds, 4, 10);
}

static void
test_a_stopped_worker_hands_its_queue_to_another (void **state)
{
    (void) state;
    const char *worker_pairs [] = { "jobs", "1", "prefetch", "8", NULL };
    s_configs_t configs = s_configs ("stop", worker_pairs);
    sluice_ventilator_t *vent;
    sluice_sink_t *sink;
    s_roles_new (&configs, &vent, &sink);
    char err [256];
    sluice_worker_t *a = sluice_worker_new (configs.worker, err, sizeof err);
    assert_non_null (a);
    for (int i = 1; i <= N; i++) {
        char payload [16];
        int size = snprintf (payload, sizeof payload, "t%d", i);
        assert_int_equal (sluice_ventilator_try_submit (vent, payload, (size_t) size, NULL), 0);
    }
    sluice_ventilator_close (vent);

    //  A fills its slot and its prefetch; it takes one task
    int a_rc = 0;
    int64_t deadline = sluice_now_ms () + 5000;
    while (sluice_worker_queued (a) < 9 && sluice_now_ms () < deadline)
        s_round (vent, sink, a, NULL, &a_rc);
    sluice_task_t task;
    sluice_job_t *held = sluice_worker_recv (a, &task);
    assert_non_null (held);
    char held_payload [16];
    size_t held_size = task.size < sizeof held_payload? task.size: sizeof held_payload;
    memcpy (held_payload, task.data, held_size);
    size_t queued = sluice_worker_queued (a);
    assert_int_equal (queued, 8);

    //  the stop hands the 8 queued tasks back; a second one nothing
    assert_int_equal (sluice_worker_stop (a), queued);
    assert_int_equal (sluice_worker_queued (a), 0);
    assert_int_equal (sluice_worker_stop (a), 0);
    assert_true (sluice_worker_draining (a));

    //  B runs them; A answers the one it took and drains
    sluice_worker_t *b = sluice_worker_new (configs.worker, err, sizeof err);
    assert_non_null (b);
    int seen [N + 1] = { 0 };
    uint32_t max_attempt = 0;
    deadline = sluice_now_ms () + 10000;
    bool answered = false;
    while (sluice_ventilator_status (vent) < 0 && sluice_now_ms () < deadline) {
        s_round (vent, sink, a, b, &a_rc);
        if (!answered) {
            sluice_worker_reply (a, held, SLUICE_STATUS_OK, 0, held_payload, held_size);
            answered = true;
        }
        assert_null (sluice_worker_recv (a, &task));    //  nothing new for A
        sluice_job_t *job;
        while ((job = sluice_worker_recv (b, &task)))
            sluice_worker_reply (b, job, SLUICE_STATUS_OK, 0, task.data, task.size);
        sluice_result_t result;
        while (sluice_sink_next (sink, &result) == 1) {
            char text [16] = "";
            assert_true (result.output_size > 1 && result.output_size < sizeof text);
            memcpy (text, result.output, result.output_size);
            int id = atoi (text + 1);
            assert_true (id >= 1 && id <= N);
            seen [id]++;
            if (result.attempt > max_attempt)
                max_attempt = result.attempt;
        }
    }
    assert_int_equal (sluice_ventilator_status (vent), SLUICE_EXIT_OK);
    for (int id = 1; id <= N; id++)
        assert_int_equal (seen [id], 1);
    assert_int_equal (max_attempt, 1);      //  HANDBACK spent no attempt
    //  A has drained: every task it took answered and STORED
    deadline = sluice_now_ms () + 5000;
    while (a_rc == 0 && sluice_now_ms () < deadline)
        s_round (vent, sink, a, b, &a_rc);
    assert_int_equal (a_rc, 1);

    sluice_worker_destroy (&b);
    sluice_worker_destroy (&a);
    sluice_ventilator_destroy (&vent);
    sluice_sink_destroy (&sink);
    s_configs_destroy (&configs);
}

//  The worker thread: serve until interrupted.
typedef struct {
    sluice_worker_t *worker;
    atomic_bool returned;
    int rc;
} s_served_t;

static void *
s_serve_main (void *arg)
{
    s_served_t *served = (s_served_t *) arg;
    served->rc = sluice_worker_serve (served->worker);
    atomic_store (&served->returned, true);
    return NULL;
}

//  Service the ventilator and the sink for msecs, or until the thread
//  returns (until_return). Returns true if it has returned.
static bool
s_service_for (sluice_ventilator_t *vent, sluice_sink_t *sink, s_served_t *served,
               int msecs, bool until_return)
{
    int64_t deadline = sluice_now_ms () + msecs;
    while (sluice_now_ms () < deadline) {
        if (until_return && atomic_load (&served->returned))
            break;
        sluice_ventilator_service (vent);
        sluice_sink_service (sink);
        sluice_result_t result;
        while (sluice_sink_next (sink, &result) == 1)
            ;
        struct pollfd fds [2] = {
            { sluice_ventilator_fd (vent), POLLIN, 0 }, { sluice_sink_fd (sink), POLLIN, 0 }
        };
        poll (fds, 2, 5);
    }
    return atomic_load (&served->returned);
}

//  Processes whose command line is exactly "sleep 30.77" (the test's).
static int
s_sleepers (void)
{
    FILE *ps = popen ("pgrep -xf 'sleep 30.77' | wc -l", "r");
    int count = -1;
    if (ps) {
        if (fscanf (ps, "%d", &count) != 1)
            count = -1;
        pclose (ps);
    }
    return count;
}

static void
test_a_served_worker_stops_on_interrupts (void **state)
{
    (void) state;
    const char *worker_pairs [] = { "exec", "echo {}", "jobs", "2", "quiet", "1", NULL };
    s_configs_t configs = s_configs ("serve", worker_pairs);
    sluice_ventilator_t *vent;
    sluice_sink_t *sink;
    s_roles_new (&configs, &vent, &sink);
    char err [256];
    s_served_t served = { .worker = sluice_worker_new (configs.worker, err, sizeof err) };
    assert_non_null (served.worker);
    atomic_init (&served.returned, false);
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_serve_main, &served), 0);

    //  one batch of 10, then the worker serves on
    for (int i = 1; i <= 10; i++) {
        char payload [16];
        int size = snprintf (payload, sizeof payload, "%d", i);
        assert_int_equal (sluice_ventilator_try_submit (vent, payload, (size_t) size, NULL), 0);
    }
    sluice_ventilator_close (vent);
    int64_t deadline = sluice_now_ms () + 10000;
    while (sluice_ventilator_status (vent) < 0 && sluice_now_ms () < deadline)
        s_service_for (vent, sink, &served, 10, false);
    assert_int_equal (sluice_ventilator_status (vent), SLUICE_EXIT_OK);
    assert_false (s_service_for (vent, sink, &served, 300, true));

    //  one interrupt: nothing runs, so it drains and returns
    sluice_worker_interrupt (served.worker);
    assert_true (s_service_for (vent, sink, &served, 5000, true));
    assert_int_equal (pthread_join (thread, NULL), 0);
    assert_int_equal (served.rc, SLUICE_EXIT_OK);
    sluice_worker_destroy (&served.worker);
    sluice_ventilator_destroy (&vent);
    sluice_sink_destroy (&sink);

    //  a command that runs long: one interrupt lets it run, a second
    //  stops it at once
    s_endpoints (&configs, "serve-2");
    assert_int_equal (sluice_config_set (configs.worker, "exec", "sleep {}", err, sizeof err), 0);
    s_roles_new (&configs, &vent, &sink);
    served.worker = sluice_worker_new (configs.worker, err, sizeof err);
    assert_non_null (served.worker);
    atomic_store (&served.returned, false);
    assert_int_equal (pthread_create (&thread, NULL, s_serve_main, &served), 0);
    assert_int_equal (sluice_ventilator_try_submit (vent, "30.77", 5, NULL), 0);
    sluice_ventilator_close (vent);
    deadline = sluice_now_ms () + 5000;
    while (s_sleepers () < 1 && sluice_now_ms () < deadline)
        s_service_for (vent, sink, &served, 20, false);
    assert_int_equal (s_sleepers (), 1);
    sluice_worker_interrupt (served.worker);
    assert_false (s_service_for (vent, sink, &served, 500, true));
    assert_int_equal (s_sleepers (), 1);        //  the first lets it run
    sluice_worker_interrupt (served.worker);
    assert_true (s_service_for (vent, sink, &served, 3000, true));
    assert_int_equal (pthread_join (thread, NULL), 0);
    assert_int_equal (served.rc, SLUICE_EXIT_OK);
    assert_int_equal (s_sleepers (), 0);        //  the second stopped it
    sluice_worker_destroy (&served.worker);
    sluice_ventilator_destroy (&vent);
    sluice_sink_destroy (&sink);
    s_configs_destroy (&configs);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_a_stopped_worker_hands_its_queue_to_another),
        cmocka_unit_test (test_a_served_worker_stops_on_interrupts),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
