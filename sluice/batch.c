/*  =========================================================================
    batch.c - one sluice batch: ventilator and sink here, the worker a thread

    The ventilator and the sink live in this thread and are driven by one
    poll(2) loop through the embedding API (as examples/embed_pipeline.c
    does), the sink writing to stdout itself. The local worker is the
    library's worker (sluice_worker_serve) in a second thread, with the
    options sluice was given for it. The three meet on inproc:// endpoints
    private to this process: no files, no ports, and no libzmq I/O thread
    between them (over ipc each message crossed two, and the worker was a
    second process to start, link and stop: a one-task job took 19-26 ms,
    and commands/s 0.57-0.61 of the spawn floor; see README Performance).

    Leaving. When the batch ends the worker is interrupted once and joined
    while the sink is still open: it drains, reads the last STORED and
    returns. Ctrl-C, as in GNU parallel: the first SIGINT (or SIGTERM)
    starts no more tasks (the ventilator pauses, the worker is interrupted
    and hands back what it has queued) and lets the running ones finish,
    their results still written; the second interrupts the worker again,
    and it stops its commands with --termseq. The signal handlers write to
    a self-pipe in the loop's poll set, and so does the worker thread when
    it returns, so the loop sees both at once rather than at its next
    timeout. The worker thread blocks SIGINT, SIGTERM and SIGCHLD (its
    commands get an empty mask), so they come to this loop; SIGCHLD keeps
    its default, since the worker waits for its commands by pidfd. Once
    the worker has returned, an interrupted batch is abandoned (ABANDON to
    the sink, DROP to any remote worker) and sluice exits 4. A SIGKILLed
    sluice takes its worker with it; the commands then running are in
    their own process groups and run to their end, their output lost.
    =========================================================================
*/

#include "run.h"
#include "../lib/progress.h"
#include "../lib/options.h"
#include "../lib/dryrun.h"
#include "../lib/halt.h"

#include "../lib/worker_core.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#define S_STOP_MS 2000          //  after the first interrupt, time for the worker to drain
#define S_KILL_MS 1000          //  after its second, time to stop its commands
#define S_SETTLE_MS 2000        //  one role failed: time for the other to hear
#define S_STORED_WAIT_MS 100    //  remote workers: time to read the last STORED

//  The running batch.
typedef struct {
    sluice_args_t *args;
    char prefix [64];               //  of the private inproc endpoints
    sluice_worker_t *worker;        //  the local worker, served by its thread
    pthread_t thread;
    bool started;                   //  the thread was started
    bool joined;                    //  and joined
    atomic_bool returned;           //  sluice_worker_serve returned
    int worker_rc;                  //  what it returned
    int told;                       //  interrupts passed to it
    sluice_ventilator_t *vent;
    sluice_sink_t *sink;
    sluice_progress_t *progress;    //  --progress, --bar, --eta; or NULL
    int interrupts;                 //  SIGINT/SIGTERM seen and passed on
} s_batch_t;

static volatile sig_atomic_t s_signals;    //  SIGINT/SIGTERM received
static int s_wake_fds [2] = { -1, -1 };    //  self-pipe: a signal wakes the poll

//  Wake the loop's poll(2) at once: the signal may come just before it
//  sleeps, or be taken by another thread (a libzmq one), where no EINTR
//  reaches the main thread's poll and the reaction waited for the next
//  timeout (up to 1 s).
static void
s_wake_loop (void)
{
    int saved = errno;
    if (s_wake_fds [1] >= 0) {
        ssize_t n = write (s_wake_fds [1], "", 1);  //  EAGAIN: one is pending
        (void) n;
    }
    errno = saved;
}

//  Count a SIGINT or SIGTERM; the loop acts on it.
static void
s_on_signal (int signum)
{
    (void) signum;
    s_signals = s_signals + 1;
    s_wake_loop ();
}

//  Take SIGINT and SIGTERM from CZMQ's handler: the first one is not an
//  abandon here, but a pause. Both write to the self-pipe that s_wait
//  polls. Returns 0, or -1 if the pipe cannot be made.
static int
s_signals_catch (void)
{
    if (s_wake_fds [0] < 0 && pipe2 (s_wake_fds, O_CLOEXEC | O_NONBLOCK))
        return -1;
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGINT, &action, NULL);
    sigaction (SIGTERM, &action, NULL);
    //  a hangup (the terminal closed) is a stop too, as in GNU parallel
    sluice_catch_hangup (s_on_signal, NULL);
    return 0;
}

//  Empty the self-pipe (its wakeups have been seen).
static void
s_wake_drain (void)
{
    char bytes [64];
    while (read (s_wake_fds [0], bytes, sizeof bytes) > 0)
        ;
}

//  Set an endpoint: the private one, then the user's (may be NULL).
//  Returns 0, or -1 with a message in err.
static int
s_endpoint (s_batch_t *self, sluice_config_t *config, const char *name, char direction,
            const char *user, char *err, size_t errlen)
{
    char value [PATH_MAX + 512];
    snprintf (value, sizeof value, "%c%s%s%s%s", direction, self->prefix, name,
              user? ",": "", user? user: "");
    return sluice_config_set_endpoint (config, name, value, err, errlen);
}

//  Create the ventilator and the sink, bound to the private endpoints
//  (and --tasks, --results). Returns 0, or -1 with a message in err.
static int
s_roles_new (s_batch_t *self, char *err, size_t errlen)
{
    sluice_args_t *args = self->args;
    //  the local worker's summary and the sink's say what the
    //  ventilator's does; their warnings and failures still show
    //  (sluice -q: not the per-task failures either)
    sluice_config_set (args->sink, "summary", "0", err, errlen);
    if (s_endpoint (self, args->vent, "tasks", '@', args->tasks, err, errlen)
    ||  s_endpoint (self, args->vent, "control", '>', NULL, err, errlen)
    ||  s_endpoint (self, args->sink, "results", '@', args->results, err, errlen)
    ||  s_endpoint (self, args->sink, "control", '@', NULL, err, errlen))
        return -1;
    self->sink = sluice_sink_new (args->sink, err, errlen);
    if (self->sink)
        self->vent = sluice_ventilator_new (args->vent, err, errlen);
    return self->vent? 0: -1;
}

//  The worker thread: serve until interrupted (or a fatal error), then
//  wake the loop.
static void *
s_worker_main (void *arg)
{
    s_batch_t *self = (s_batch_t *) arg;
    self->worker_rc = sluice_worker_serve (self->worker);
    atomic_store (&self->returned, true);
    s_wake_loop ();
    return NULL;
}

//  Start the local worker: the library's, on the private endpoints, in a
//  thread that leaves SIGINT, SIGTERM and SIGCHLD to this one. Returns 0,
//  or -1 with a message in err.
static int
s_worker_start (s_batch_t *self, char *err, size_t errlen)
{
    sluice_config_t *config = self->args->worker;
    char tasks [128], results [128];
    snprintf (tasks, sizeof tasks, ">%stasks", self->prefix);
    snprintf (results, sizeof results, ">%sresults", self->prefix);
    //  its summary would repeat the ventilator's; its warnings still show
    if (sluice_config_set (config, "exec", self->args->command, err, errlen)
    ||  sluice_config_set (config, "quiet", "1", err, errlen)
    ||  sluice_config_set_endpoint (config, "tasks", tasks, err, errlen)
    ||  sluice_config_set_endpoint (config, "results", results, err, errlen))
        return -1;
    self->worker = sluice_worker_new (config, err, errlen);
    if (!self->worker)
        return -1;
    sigset_t blocked, old;
    sigemptyset (&blocked);
    sigaddset (&blocked, SIGINT);
    sigaddset (&blocked, SIGTERM);
    sigaddset (&blocked, SIGHUP);
    sigaddset (&blocked, SIGCHLD);
    pthread_sigmask (SIG_BLOCK, &blocked, &old);
    atomic_init (&self->returned, false);
    int rc = pthread_create (&self->thread, NULL, s_worker_main, self);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (rc) {
        snprintf (err, errlen, "cannot start the worker: %s", strerror (rc));
        return -1;
    }
    self->started = true;
    return 0;
}

//  True once the worker has returned (or was never started); joins it.
static bool
s_worker_gone (s_batch_t *self)
{
    if (!self->started || self->joined)
        return true;
    if (!atomic_load (&self->returned))
        return false;
    pthread_join (self->thread, NULL);
    self->joined = true;
    return true;
}

//  Interrupt the worker (sluice_worker_interrupt), if it still serves.
static void
s_worker_tell (s_batch_t *self)
{
    if (!s_worker_gone (self)) {
        sluice_worker_interrupt (self->worker);
        self->told++;
    }
}

//  Wait up to msecs for the worker to return. Returns true if it did.
static bool
s_worker_wait (s_batch_t *self, int msecs)
{
    int64_t deadline = sluice_now_ms () + msecs;
    while (!s_worker_gone (self) && sluice_now_ms () < deadline)
        poll (NULL, 0, 1);
    return s_worker_gone (self);
}

//  Stop the worker: drain (one interrupt), or at once (a second) when
//  the batch was abandoned. Returns false if it did not return: it is
//  then still using its sockets, and the process must leave without
//  shutting libzmq down.
static bool
s_worker_stop (s_batch_t *self, bool at_once)
{
    if (s_worker_gone (self))
        return true;
    if (self->told == 0)
        s_worker_tell (self);
    if (!at_once && self->told < 2 && s_worker_wait (self, S_STOP_MS))
        return true;
    if (self->told < 2)
        s_worker_tell (self);
    if (s_worker_wait (self, S_KILL_MS))
        return true;
    zsys_warning ("the worker did not stop; leaving without it");
    return false;
}

//  Give the ventilator its input: the stream itself, or as many tasks of
//  the lists as its window takes. Returns true once every task is in.
static bool
s_feed (s_batch_t *self)
{
    const char *data;
    size_t size;
    while (sluice_sources_next (self->args->sources, &data, &size) == 1)
        if (sluice_ventilator_try_submit (self->vent, data, size, NULL)) {
            sluice_sources_unget (self->args->sources);
            return false;
        }
    sluice_ventilator_close (self->vent);
    return true;
}

//  Wait until either role's descriptor is readable or a service is due;
//  then say which roles are due (only they are serviced: each service
//  asks every socket of its role whether a message waits, a system call
//  or two each).
static void
s_wait (s_batch_t *self, bool *vent_due, bool *sink_due)
{
    struct pollfd fds [3] = {
        { sluice_ventilator_fd (self->vent), POLLIN, 0 },
        { sluice_sink_fd (self->sink), POLLIN, 0 },
        { s_wake_fds [0], POLLIN, 0 }
    };
    int64_t timeout = sluice_ventilator_timeout (self->vent);
    if (sluice_sink_timeout (self->sink) < timeout)
        timeout = sluice_sink_timeout (self->sink);
    if (self->progress && sluice_progress_timeout (self->progress) < timeout)
        timeout = sluice_progress_timeout (self->progress);
    int ready = poll (fds, 3, (int) timeout);
    if (fds [2].revents)
        s_wake_drain ();
    //  a signal or a failed poll: both, as before any change
    bool all = ready <= 0 || fds [2].revents;
    *vent_due = all || fds [0].revents || sluice_ventilator_timeout (self->vent) == 0;
    *sink_due = all || fds [1].revents || sluice_sink_timeout (self->sink) == 0;
}

//  Redraw the progress line, if any (at most every SLUICE_PROGRESS_MS).
static void
s_progress (s_batch_t *self, bool final)
{
    if (!self->progress)
        return;
    sluice_counts_t counts;
    sluice_ventilator_counts (self->vent, &counts);
    sluice_progress_draw (self->progress, &counts, final);
}

//  Pass a new SIGINT/SIGTERM on: the first pauses the batch and lets the
//  running tasks finish, the second stops them.
static void
s_interrupt (s_batch_t *self)
{
    if (self->interrupts >= s_signals)
        return;
    self->interrupts++;
    if (self->interrupts == 1) {
        zsys_warning ("interrupted: starting no more tasks, letting the running ones "
                      "finish (interrupt again to stop them)");
        sluice_ventilator_pause (self->vent);
    }
    else
    if (self->interrupts == 2)
        zsys_warning ("interrupted again: stopping the running tasks");
    s_worker_tell (self);
}

//  What a role's service would return, from its status (a role not due).
static int
s_service_code (int status)
{
    return status < 0? 0: status == SLUICE_EXIT_OK || status == SLUICE_EXIT_FAILED? 1: -1;
}

//  The service loop, until both roles have finished. Returns false if
//  interrupted (and the worker has left).
static bool
s_loop (s_batch_t *self)
{
    const char *name;
    int fd = sluice_sources_fd (self->args->sources, &name);
    bool fed = fd >= 0;
    if (fed) {
        sluice_ventilator_add_input (self->vent, fd, name);
        sluice_ventilator_close (self->vent);
    }
    int64_t settle = 0;
    bool vent_due = true, sink_due = true;
    while (sluice_ventilator_status (self->vent) < 0 || sluice_sink_status (self->sink) < 0) {
        s_interrupt (self);
        if (self->interrupts && s_worker_gone (self))
            return false;
        if (!fed)
            fed = s_feed (self);
        //  what one role sends the other (acks, over inproc) makes the
        //  other's descriptor readable: it is serviced next round
        int vent = vent_due? sluice_ventilator_service (self->vent)
                           : s_service_code (sluice_ventilator_status (self->vent));
        int sink = sink_due? sluice_sink_service (self->sink)
                           : s_service_code (sluice_sink_status (self->sink));
        if ((vent < 0 || sink < 0) && !settle)
            settle = sluice_now_ms () + S_SETTLE_MS;
        if (settle && sluice_now_ms () > settle)
            break;
        if (s_worker_gone (self) && self->interrupts)
            return false;
        if (s_worker_gone (self) && !self->args->tasks) {
            zsys_error ("the worker stopped (status %d) before the batch completed",
                        self->worker_rc);
            break;
        }
        s_progress (self, false);
        s_wait (self, &vent_due, &sink_due);
    }
    return true;
}

//  A role's exit code other than 0 and 1 as sluice's (run.h).
static int
s_role_code (int code)
{
    return code == SLUICE_EXIT_USAGE? SLUICE_RUN_EXIT_USAGE
         : code == SLUICE_EXIT_ABANDONED? SLUICE_RUN_EXIT_INTERRUPTED: SLUICE_RUN_EXIT_RUNTIME;
}

//  A completed (or halted) batch's exit code, as GNU parallel's: the
//  number of failed tasks, 101 above 100, or what --halt makes it.
static int
s_count_code (s_batch_t *self)
{
    sluice_counts_t counts;
    sluice_ventilator_counts (self->vent, &counts);
    sluice_halt_t halt;
    const char *text = sluice_config_get (self->args->vent, "halt");
    bool halting = *text && sluice_halt_parse (text, &halt) == 0;
    return sluice_halt_exit (halting? &halt: NULL, counts.done, counts.failed, counts.total,
                             sluice_sink_last_failure (self->sink));
}

//  The batch's exit code: the sink's when its output failed, else the
//  ventilator's (the two agree on 0 and 1).
static int
s_exit_code (s_batch_t *self)
{
    int vent = sluice_ventilator_status (self->vent);
    int sink = sluice_sink_status (self->sink);
    if (sink == SLUICE_EXIT_RUNTIME)
        return SLUICE_RUN_EXIT_RUNTIME;
    if (vent == SLUICE_EXIT_OK || vent == SLUICE_EXIT_FAILED)
        return s_count_code (self);
    if (vent >= 0)
        return s_role_code (vent);
    return sink > SLUICE_EXIT_FAILED? s_role_code (sink): SLUICE_RUN_EXIT_RUNTIME;
}

//  --dry-run: print each task's command line, start nothing. Returns the
//  exit code.
static int
s_dry_run (sluice_args_t *args)
{
    const char *name;
    int fd = sluice_sources_fd (args->sources, &name);
    if (fd >= 0) {
        int rc = sluice_dryrun_fd (args->vent, fd, name, stdout);
        return rc == SLUICE_EXIT_OK? rc: SLUICE_RUN_EXIT_USAGE;
    }
    const char *data;
    size_t size;
    while (sluice_sources_next (args->sources, &data, &size) == 1)
        sluice_dryrun_print (args->vent, data, size, stdout);
    return SLUICE_EXIT_OK;
}

int
sluice_batch_run (sluice_args_t *args)
{
    s_batch_t self = { .args = args };
    char err [512];
    //  a combination is an argument list, or (--colsep, --pipe: args.c's
    //  s_columns) one record joined by spaces
    if (sluice_sources_open (args->sources, args->nul, !args->worker->args, err, sizeof err)) {
        fprintf (stderr, "sluice: %s\n", err);
        return SLUICE_RUN_EXIT_RUNTIME;
    }
    if (streq (sluice_config_get (args->vent, "dry-run"), "1"))
        return s_dry_run (args);
    int verbose = streq (sluice_config_get (args->vent, "verbose"), "1");
    sluice_init_process ("sluice", verbose);
    signal (SIGPIPE, SIG_IGN);
    s_signals = 0;
    int rc = SLUICE_RUN_EXIT_RUNTIME;
    snprintf (self.prefix, sizeof self.prefix, "inproc://sluice-%d-%p-", (int) getpid (),
              (void *) &self);
    if (s_signals_catch ())
        zsys_error ("cannot make a pipe: %s", strerror (errno));
    else
    if (s_roles_new (&self, err, sizeof err) || s_worker_start (&self, err, sizeof err))
        zsys_error ("%s", err);
    else {
        self.progress = sluice_progress_from_config (args->vent, STDERR_FILENO);
        if (s_loop (&self))
            rc = s_exit_code (&self);
        else {
            //  interrupted, and the worker has left: abandon the batch
            //  (remote workers drop it), let the sink hear it and stop
            sluice_ventilator_abandon (self.vent);
            int64_t settle = sluice_now_ms () + S_SETTLE_MS;
            while (sluice_sink_status (self.sink) < 0 && sluice_now_ms () < settle) {
                sluice_ventilator_service (self.vent);
                sluice_sink_service (self.sink);
                bool vent_due, sink_due;
                s_wait (&self, &vent_due, &sink_due);
            }
            rc = SLUICE_RUN_EXIT_INTERRUPTED;
        }
        s_progress (&self, true);
        sluice_progress_destroy (&self.progress);
        if (args->tasks || args->results)
            sluice_sink_settle (self.sink, S_STORED_WAIT_MS);
    }
    bool stopped = s_worker_stop (&self, rc >= SLUICE_RUN_EXIT_INTERRUPTED);
    sluice_ventilator_destroy (&self.vent);
    sluice_sink_destroy (&self.sink);
    if (!stopped) {
        //  its sockets are in use: zsys_shutdown would wait for them
        fflush (NULL);
        _exit (rc);
    }
    sluice_worker_destroy (&self.worker);
    zsys_shutdown ();
    return rc;
}
