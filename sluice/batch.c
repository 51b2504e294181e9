/*  =========================================================================
    batch.c - one sluice batch: ventilator and sink here, the worker a child

    The ventilator and the sink live in this process and are driven by one
    poll(2) loop through the embedding API (as examples/embed_pipeline.c
    does), the sink writing to stdout itself. The worker is this binary
    again (`sluice worker --exec COMMAND ...`), so it runs the worker's
    own code and option checks unchanged; it is a child process rather
    than a thread because a worker stops by signal and runs its commands
    from its own loop. They meet on ipc:// endpoints in a private mkdtemp
    directory (0700), bound before the worker starts so that its first
    connect succeeds (a refused one would wait out the 100 ms reconnect).

    Leaving. When the batch ends the worker is sent SIGTERM and waited
    for while the sink is still open: it drains, reads the last STORED and
    exits (ZMQ_IMMEDIATE drops what a peer has not read when a connection
    closes, so closing the sink first could strand it). Ctrl-C, as in GNU
    parallel: the first SIGINT (or SIGTERM) starts no more tasks (the
    ventilator pauses, the worker is passed the signal and hands back what
    it has queued) and lets the running ones finish, their results still
    written; the second is passed on too, and the worker stops its
    commands with --termseq. The signal handlers (and SIGCHLD's) write
    to a self-pipe in the loop's poll set, so the loop sees a signal, and
    the worker's exit, at once rather than at its next timeout. Once the
    worker has left, the batch is
    abandoned (ABANDON to the sink, DROP to any remote worker) and sluice
    exits 4. A worker that still lingers is killed. Then the context is shut down,
    so every ipc file is closed, and the directory removed. The worker
    has PR_SET_PDEATHSIG, so even a SIGKILLed sluice leaves no worker
    running for long (only the directory, which nothing can clean).
    =========================================================================
*/

#include "run.h"
#include "../lib/progress.h"
#include "../lib/options.h"
#include "../lib/dryrun.h"
#include "../lib/halt.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_STOP_MS 2000          //  after SIGTERM, time for the worker to drain
#define S_KILL_MS 1000          //  after its second signal, before SIGKILL
#define S_SETTLE_MS 2000        //  one role failed: time for the other to hear
#define S_STORED_WAIT_MS 100    //  remote workers: time to read the last STORED
#define S_IPC_MAX 80            //  room for the directory in a 108-byte sun_path

//  The running batch.
typedef struct {
    sluice_args_t *args;
    char dir [PATH_MAX];            //  the private ipc directory, or ""
    pid_t worker;                   //  the local worker, 0 once reaped
    int worker_rc;                  //  its exit status, once reaped
    sluice_ventilator_t *vent;
    sluice_sink_t *sink;
    sluice_progress_t *progress;    //  --progress, --bar, --eta; or NULL
    int interrupts;                 //  SIGINT/SIGTERM seen and passed on
} s_batch_t;

static volatile sig_atomic_t s_signals;    //  SIGINT/SIGTERM received
static volatile sig_atomic_t s_children;   //  SIGCHLDs received
static bool s_children_caught;             //  s_children counts them
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

//  SIGCHLD: the worker may have exited; the loop reaps it.
static void
s_on_child (int signum)
{
    (void) signum;
    s_children = s_children + 1;
    s_wake_loop ();
}

//  Take SIGINT and SIGTERM from CZMQ's handler: the first one is not an
//  abandon here, but a pause. Both, and SIGCHLD, write to the self-pipe
//  that s_wait polls. Returns 0, or -1 if the pipe cannot be made.
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
    action.sa_handler = s_on_child;
    action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    s_children_caught = sigaction (SIGCHLD, &action, NULL) == 0;
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

//  Make the private directory for the ipc endpoints, in $TMPDIR (or /tmp
//  when that path is too long for a socket). Returns 0 or -1 (errno).
static int
s_dir_make (s_batch_t *self)
{
    const char *base = getenv ("TMPDIR");
    if (!base || !*base || strlen (base) > S_IPC_MAX)
        base = "/tmp";
    snprintf (self->dir, sizeof self->dir, "%s/sluice.XXXXXX", base);
    if (!mkdtemp (self->dir)) {
        self->dir [0] = 0;
        return -1;
    }
    return 0;
}

//  Remove the private directory and what libzmq may have left in it.
static void
s_dir_remove (s_batch_t *self)
{
    if (!self->dir [0])
        return;
    const char *names [] = { "tasks", "results", "control" };
    char path [PATH_MAX + 16];
    for (size_t i = 0; i < 3; i++) {
        snprintf (path, sizeof path, "%s/%s", self->dir, names [i]);
        unlink (path);
    }
    if (rmdir (self->dir))
        zsys_warning ("cannot remove %s: %s", self->dir, strerror (errno));
    self->dir [0] = 0;
}

//  Set an endpoint: the private one, then the user's (may be NULL).
//  Returns 0, or -1 with a message in err.
static int
s_endpoint (s_batch_t *self, sluice_config_t *config, const char *name, char direction,
            const char *user, char *err, size_t errlen)
{
    char value [PATH_MAX + 512];
    snprintf (value, sizeof value, "%cipc://%s/%s%s%s", direction, self->dir, name,
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

//  Start the local worker: this binary as `sluice worker`, in its own
//  process group (a terminal's Ctrl-C is ours to pass on), stdin and
//  stdout on /dev/null. Returns 0, or -1 with a message in err.
static int
s_worker_start (s_batch_t *self, char *err, size_t errlen)
{
    const sluice_config_t *config = self->args->worker;
    char tasks [PATH_MAX + 32], results [PATH_MAX + 32];
    snprintf (tasks, sizeof tasks, ">ipc://%s/tasks", self->dir);
    snprintf (results, sizeof results, ">ipc://%s/results", self->dir);
    //  the values were checked by the option table; shown, they read back
    const char *copied [] = { "jobs", "prefetch", "task-timeout", "max-size", "grace",
                              "termseq", "stderr", "stderr-max" };
    char flags [8][320];
    char *argv [32] = { "sluice", "worker", "-q", "--exec", self->args->command,
                        "--tasks", tasks, "--results", results };
    int argc = 9;
    for (size_t i = 0; i < 8; i++) {
        const char *value = sluice_config_get (config, copied [i]);
        if (!*value || (streq (value, "0") && !streq (copied [i], "stderr-max")))
            continue;           //  unset (--task-timeout)
        snprintf (flags [i], sizeof flags [i], "--%s=%s", copied [i], value);
        argv [argc++] = flags [i];
    }
    if (streq (sluice_config_get (config, "pipe"), "1"))
        argv [argc++] = "--pipe";
    if (streq (sluice_config_get (config, "shell"), "1"))
        argv [argc++] = "--shell";
    if (config->colsep) {
        argv [argc++] = "--colsep";
        argv [argc++] = config->colsep;
    }
    if (streq (sluice_config_get (config, "verbose"), "1"))
        argv [argc++] = "-v";
    //  with keys, the private ipc endpoints use them too
    char keys [PATH_MAX + 16];
    if (*sluice_config_get (config, "keys")) {
        snprintf (keys, sizeof keys, "--keys=%s", sluice_config_get (config, "keys"));
        argv [argc++] = keys;
    }
    argv [argc] = NULL;

    //  the worker takes its settings from these flags only: an option's
    //  SLUICE_* variable (SLUICE_KEYS...) would reach it and not the
    //  ventilator and sink in this process, which read no environment
    extern char **environ;
    size_t nenv = 0;
    while (environ [nenv])
        nenv++;
    char **env = (char **) calloc (nenv + 1, sizeof (char *));
    assert (env);
    size_t kept = 0;
    for (size_t i = 0; i < nenv; i++) {
        bool option = false;
        const sluice_option_t *opt;
        for (size_t o = 0; !option && (opt = sluice_option_at (o)); o++)
            option = opt->env && strncmp (environ [i], opt->env, strlen (opt->env)) == 0
                  && environ [i][strlen (opt->env)] == '=';
        if (!option)
            env [kept++] = environ [i];
    }
    int null_fd = open ("/dev/null", O_RDWR | O_CLOEXEC);
    pid_t parent = getpid ();
    pid_t pid = null_fd < 0? -1: fork ();
    if (pid == 0) {
        //  only async-signal-safe calls between fork and exec
        setpgid (0, 0);
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != parent)
            _exit (SLUICE_EXIT_RUNTIME);
        dup2 (null_fd, STDIN_FILENO);
        dup2 (null_fd, STDOUT_FILENO);
        execve ("/proc/self/exe", argv, env);
        _exit (127);
    }
    int saved = errno;
    free (env);
    if (null_fd >= 0)
        close (null_fd);
    if (pid < 0) {
        snprintf (err, errlen, "cannot start the worker: %s", strerror (saved));
        return -1;
    }
    self->worker = pid;
    return 0;
}

//  Reap the worker if it has exited: asked of the kernel only after a
//  SIGCHLD (the loop asks several times a task). Returns true if it is gone.
static bool
s_worker_gone (s_batch_t *self)
{
    static sig_atomic_t seen = -1;
    if (!self->worker || (s_children_caught && seen == s_children))
        return self->worker == 0;
    seen = s_children;              //  one that comes after this is seen next time
    int status;
    if (waitpid (self->worker, &status, WNOHANG) == self->worker) {
        self->worker = 0;
        self->worker_rc = WIFEXITED (status)? WEXITSTATUS (status): 128 + WTERMSIG (status);
    }
    return self->worker == 0;
}

//  Wait up to msecs for the worker to exit. Returns true if it did.
static bool
s_worker_wait (s_batch_t *self, int msecs)
{
    int64_t deadline = sluice_now_ms () + msecs;
    while (!s_worker_gone (self) && sluice_now_ms () < deadline)
        poll (NULL, 0, 1);
    return self->worker == 0;
}

//  Stop the worker: drain (SIGTERM), or at once (a second signal) when
//  the batch was abandoned; kill it if it lingers.
static void
s_worker_stop (s_batch_t *self, bool at_once)
{
    if (!self->worker)
        return;
    kill (self->worker, SIGTERM);
    if (!at_once && s_worker_wait (self, S_STOP_MS))
        return;
    kill (self->worker, SIGINT);
    if (s_worker_wait (self, S_KILL_MS))
        return;
    zsys_warning ("the worker did not stop; killing it");
    kill (self->worker, SIGKILL);
    s_worker_wait (self, S_KILL_MS);
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
    if (self->worker)
        kill (self->worker, self->interrupts == 1? SIGINT: SIGTERM);
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
            zsys_error ("the worker exited (status %d) before the batch completed",
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
    if (sluice_sources_open (args->sources, args->nul, err, sizeof err)) {
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
    if (s_signals_catch ())
        zsys_error ("cannot make a pipe: %s", strerror (errno));
    else
    if (s_dir_make (&self))
        zsys_error ("cannot make a directory in %s: %s", getenv ("TMPDIR")? getenv ("TMPDIR")
                    : "/tmp", strerror (errno));
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
            poll (NULL, 0, S_STORED_WAIT_MS);
    }
    s_worker_stop (&self, rc >= SLUICE_RUN_EXIT_INTERRUPTED);
    sluice_ventilator_destroy (&self.vent);
    sluice_sink_destroy (&self.sink);
    zsys_shutdown ();
    s_dir_remove (&self);
    return rc;
}
