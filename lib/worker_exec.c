/*  =========================================================================
    worker_exec.c - the --exec runner: one command per task, -j at once

    A slot per -j holds a task taken from the worker core, its child and
    the output collected so far. The loop is the embedding API's own:
    poll(2) on sluice_worker_fd beside the children's pipes, with
    sluice_worker_timeout as the timeout, and each child's pidfd for its
    exit, so nothing waits on a fixed timer. A command without shell
    syntax is run directly (sluice_spawn_direct_new has the rule), else
    with /bin/sh -c; its replacement strings ({} {#} {%} {1} ...) are
    parsed once into a template. Each command's environment adds
    SLUICE_TASK_ID, SLUICE_SLOT, SLUICE_ATTEMPT and SLUICE_BATCH. Uses
    only the worker core's public calls and spawn.h.
    =========================================================================
*/

#include "private.h"
#include "spawn.h"
#include "worker_core.h"
#include "median.h"

#include <signal.h>

#define S_KILL_GRACE_MS 2000        //  SIGTERM to SIGKILL on task timeout
#define S_PACK_MS 5                 //  a result waits this long for others

//  One running task.
typedef struct {
    sluice_job_t *job;          //  NULL when the slot is free
    sluice_task_t task;         //  its id and payload (owned by the core)
    sluice_child_t child;       //  the command
    size_t in_done;             //  payload bytes written to stdin (--pipe)
    int in_end;                 //  the byte after them ('\n', NUL), -1 once written
    sluice_spawn_buf_t out;     //  stdout collected
    sluice_spawn_buf_t err;     //  stderr collected, at most --stderr-max
    uint64_t err_dropped;       //  stderr bytes beyond --stderr-max, discarded
    bool too_big;               //  output exceeded --max-size
    int64_t deadline;           //  task timeout, ms, 0 for none
    int64_t started_ms;         //  when the command started (--task-timeout N%)
    int kill_stage;             //  0 none, 1 TERM sent, 2 KILL sent
    bool timed_out;
    bool stopping;              //  its batch was dropped: --termseq under way
    sluice_termstop_t stop;     //  the next step of the --termseq
    pid_t group;                //  s_stop_all: its process group, until gone
} s_slot_t;

//  The process group of a stopped command that outlived it: a shell died
//  of the first signal, a child of it ignores that signal. The --termseq
//  goes on against the group, then SIGKILL, until no member is left.
typedef struct {
    pid_t group;
    sluice_termstop_t stop;
    int64_t kill_at;            //  once the sequence is over: SIGKILL then
} s_orphan_t;

//  The runner's state.
typedef struct {
    sluice_worker_t *worker;
    const sluice_config_t *config;
    sluice_template_t *template; //  the command's replacement strings
    sluice_direct_t *direct;    //  the command without /bin/sh, or NULL
    char *command;              //  the command template and direct were made
    bool args;                  //  ... for argument-list tasks (ARGS)
                                //  for (a --pool batch's own may differ)
    s_slot_t *slots;            //  config->jobs of them
    size_t running;             //  slots in use
    struct pollfd *fds;         //  [0] the worker, then the children's pipes
    s_slot_t **owners;          //  the slot of each fds entry
    sluice_median_t *runtimes;  //  --task-timeout N%: of the tasks that succeeded
    s_orphan_t *orphans;        //  stopped commands' groups still alive
    size_t orphan_count, orphan_alloc;
} s_exec_t;

static void s_exec_destroy (s_exec_t **self_p);

//  Make the replacement-string template and the direct form of command,
//  once per command (a --pool worker runs each batch's own). Returns 0,
//  or -1 with the reason (an unknown replacement string) in err.
static int
s_prepare (s_exec_t *self, const char *command, bool args, char *err, size_t errlen)
{
    if (self->command && streq (self->command, command) && self->args == args)
        return 0;
    sluice_template_t *template = sluice_template_new (command, args? sluice_colsep_args
                                                       : self->config->colsep, err, errlen);
    if (!template)
        return -1;
    sluice_template_destroy (&self->template);
    sluice_spawn_direct_destroy (&self->direct);
    free (self->command);
    self->template = template;
    self->args = args;
    self->command = strdup (command);
    assert (self->command);
    if (!self->config->shell)
        self->direct = sluice_spawn_direct_new (self->template);
    sluice_debug ("--exec runs %s", self->direct? sluice_spawn_direct_path (self->direct)
                  : "/bin/sh -c");
    return 0;
}

//  Create the runner for a worker. Returns NULL after logging a bad
//  command (the command line checks it first: this is for embedders).
static s_exec_t *
s_exec_new (sluice_worker_t *worker)
{
    const sluice_config_t *config = sluice_worker_config (worker);
    s_exec_t *self = (s_exec_t *) calloc (1, sizeof *self);
    assert (self);
    self->worker = worker;
    self->config = config;
    size_t jobs = self->config->jobs;
    self->slots = (s_slot_t *) calloc (jobs, sizeof (s_slot_t));
    self->fds = (struct pollfd *) calloc (1 + 3 * jobs, sizeof (struct pollfd));
    self->owners = (s_slot_t **) calloc (1 + 3 * jobs, sizeof (s_slot_t *));
    assert (self->slots && self->fds && self->owners);
    for (size_t i = 0; i < jobs; i++)
        self->slots [i].child.pid_fd = self->slots [i].child.err_fd = -1;
    self->runtimes = sluice_median_new ();
    //  a fixed --exec command is checked now (the command line checked it
    //  first: this is for embedders); a --pool batch's when it comes
    char err [256];
    if (config->command && s_prepare (self, config->command, config->args, err, sizeof err)) {
        zsys_error ("--exec: %s", err);
        s_exec_destroy (&self);
        return NULL;
    }
    return self;
}

//  Go on stopping the process group of a stopped command that was reaped
//  while a member of its group lives on.
static void
s_orphan_add (s_exec_t *self, pid_t group, sluice_termstop_t stop)
{
    if (self->orphan_count == self->orphan_alloc) {
        self->orphan_alloc = self->orphan_alloc? self->orphan_alloc * 2: 4;
        self->orphans = (s_orphan_t *) realloc (self->orphans,
                                                self->orphan_alloc * sizeof *self->orphans);
        assert (self->orphans);
    }
    self->orphans [self->orphan_count++] = (s_orphan_t) { group, stop, 0 };
}

//  One step of each orphaned group's --termseq; forget the groups that
//  are gone. Lowers *timeout to the next step (a group is looked at
//  again within 50 ms: its members' exits wake nothing here).
static void
s_orphans_step (s_exec_t *self, int64_t now, int *timeout)
{
    const sluice_termseq_t *seq = sluice_worker_termseq (self->worker);
    for (size_t i = 0; i < self->orphan_count; ) {
        s_orphan_t *orphan = &self->orphans [i];
        if (!sluice_spawn_group_alive (orphan->group)) {
            self->orphans [i] = self->orphans [--self->orphan_count];
            continue;
        }
        int64_t wait = sluice_spawn_group_step (orphan->group, seq, &orphan->stop,
                                                &orphan->kill_at, now, NULL);
        if (wait > 50)
            wait = 50;
        if (wait < *timeout)
            *timeout = (int) wait;
        i++;
    }
}

//  Stop every command still running with the --termseq (a second
//  signal, or the end of --grace), and reap them. Blocks until they are
//  gone: the last signal's wait at most, then SIGKILL.
static void
s_stop_all (s_exec_t *self)
{
    const sluice_termseq_t *seq = sluice_worker_termseq (self->worker);
    size_t left = 0;
    for (size_t i = 0; i < self->config->jobs; i++) {
        s_slot_t *slot = &self->slots [i];
        slot->stop = (sluice_termstop_t) { 0, 0 };
        slot->group = slot->child.pid > 0? slot->child.pid: 0;
        if (slot->group)
            left++;
    }
    if (left)
        zsys_info ("stopping %zu running commands (--termseq %s)", left,
                   self->config->termseq? self->config->termseq: SLUICE_TERMSEQ_DEFAULT);
    //  a command counts as stopped once its whole process group is gone,
    //  not when it alone is reaped (a shell's child may outlive it)
    int64_t kill_at = 0;        //  one for all: they were signalled together
    bool any_killed = false;
    left += self->orphan_count;
    while (left) {
        int64_t now = sluice_now_ms ();
        int timeout = 5;
        left = 0;
        for (size_t i = 0; i < self->config->jobs; i++) {
            s_slot_t *slot = &self->slots [i];
            int status, code;
            if (!slot->group)
                continue;
            if (slot->child.pid > 0)
                sluice_spawn_reap (&slot->child, false, &status, &code);
            if (slot->child.pid <= 0 && !sluice_spawn_group_alive (slot->group)) {
                slot->group = 0;
                continue;
            }
            left++;
            bool killed;
            int64_t wait = sluice_spawn_group_step (slot->group, seq, &slot->stop, &kill_at,
                                                    now, &killed);
            any_killed |= killed;
            if (wait < timeout)
                timeout = (int) wait;
        }
        s_orphans_step (self, now, &timeout);
        left += self->orphan_count;
        if (left && any_killed) {
            //  the sequence is over and some command ignored it
            for (size_t i = 0; i < self->config->jobs; i++) {
                s_slot_t *slot = &self->slots [i];
                int status, code;
                if (slot->group)
                    kill (-slot->group, SIGKILL);
                if (slot->child.pid > 0)
                    sluice_spawn_reap (&slot->child, true, &status, &code);
                slot->group = 0;
            }
            for (size_t i = 0; i < self->orphan_count; i++)
                kill (-self->orphans [i].group, SIGKILL);
            self->orphan_count = 0;
            return;
        }
        if (left)
            poll (NULL, 0, timeout > 0? (timeout < 5? timeout: 5): 1);
    }
}

//  Destroy the runner; stops commands still running (s_stop_all).
static void
s_exec_destroy (s_exec_t **self_p)
{
    s_exec_t *self = *self_p;
    s_stop_all (self);
    for (size_t i = 0; i < self->config->jobs; i++) {
        free (self->slots [i].out.data);
        free (self->slots [i].err.data);
    }
    sluice_spawn_direct_destroy (&self->direct);
    sluice_template_destroy (&self->template);
    free (self->command);
    free (self->slots);
    free (self->orphans);
    free (self->fds);
    free (self->owners);
    sluice_median_destroy (&self->runtimes);
    free (self);
    *self_p = NULL;
}

//  Answer a slot's task with its stderr and free the slot.
static void
s_answer (s_exec_t *self, s_slot_t *slot, int status, int code, const void *out, size_t size)
{
    sluice_worker_reply_stderr (self->worker, slot->job, status, code, out, size,
                                slot->err.data, slot->err.size, slot->err_dropped);
    slot->job = NULL;
    self->running--;
}

//  The environment of a slot's command: ours, and the task's id, slot,
//  attempt and batch (32 hex digits). Free the array.
static char **
s_environ (s_exec_t *self, s_slot_t *slot, char vars [4][64])
{
    char batch [2 * SLUICE_BATCH_SIZE + 1];
    const uint8_t *id = sluice_worker_job_batch (slot->job);
    for (size_t i = 0; i < SLUICE_BATCH_SIZE; i++)
        snprintf (batch + 2 * i, 3, "%02x", id [i]);
    snprintf (vars [0], 64, "SLUICE_TASK_ID=%" PRIu64, slot->task.id);
    snprintf (vars [1], 64, "SLUICE_SLOT=%zu", (size_t) (slot - self->slots) + 1);
    snprintf (vars [2], 64, "SLUICE_ATTEMPT=%" PRIu32, slot->task.attempt);
    snprintf (vars [3], 64, "SLUICE_BATCH=%s", batch);
    char *list [] = { vars [0], vars [1], vars [2], vars [3], NULL };
    return sluice_spawn_environ (list);
}

//  --task-timeout N%: once SLUICE_MEDIAN_MIN tasks have succeeded, a
//  running command without a deadline gets one at N% of their median
//  runtime after its start.
static void
s_relative_deadline (s_exec_t *self, s_slot_t *slot)
{
    int64_t median;
    if (!self->config->task_timeout_pct || slot->deadline || slot->kill_stage
    ||  !sluice_median_get (self->runtimes, &median))
        return;
    int64_t limit = median * (int64_t) self->config->task_timeout_pct / 100;
    slot->deadline = slot->started_ms + (limit > 0? limit: 1);
}

//  Answer a task that did not run (or whose output was refused) as an
//  error whose stderr says why, so the sink's failure line can tell.
static void
s_answer_error (s_exec_t *self, s_slot_t *slot, const char *why)
{
    zsys_warning ("task %" PRIu64 ": %s", slot->task.id, why);
    slot->err.size = 0;
    slot->err_dropped = 0;
    sluice_spawn_buf_t *err = &slot->err;
    size_t size = strlen (why);
    if (err->capacity < size + 1) {
        err->capacity = size + 1;
        err->data = (uint8_t *) realloc (err->data, err->capacity);
        assert (err->data);
    }
    memcpy (err->data, why, size);
    err->data [size] = '\n';
    err->size = size + 1;
    s_answer (self, slot, SLUICE_STATUS_ERROR, 127, NULL, 0);
}

//  Start the command for the task in a slot. On failure the task is
//  answered as an error.
static void
s_start (s_exec_t *self, s_slot_t *slot)
{
    int pipe_end;
    bool args;
    const char *command = sluice_worker_job_command (self->worker, slot->job, &pipe_end, &args);
    bool pipe = pipe_end >= 0;
    char err [256];
    if (!command || s_prepare (self, command, args, err, sizeof err)) {
        char why [300];
        snprintf (why, sizeof why, "cannot run the batch's command: %s", command? err: "none");
        s_answer_error (self, slot, why);
        return;
    }
    int pipes = (pipe? SLUICE_SPAWN_STDIN: 0)
              | (self->config->stderr_inherit? 0: SLUICE_SPAWN_STDERR);
    slot->err.size = 0;
    slot->err_dropped = 0;
    int rc;
    sluice_values_t values = {
        .data = slot->task.data? slot->task.data: (const uint8_t *) "",
        .size = slot->task.size, .id = slot->task.id,
        .slot = (unsigned) (slot - self->slots) + 1
    };
    char vars [4][64];
    char **envp = s_environ (self, slot, vars);
    if (self->direct) {
        char **argv = sluice_spawn_direct_argv (self->direct, pipe? NULL: &values);
        rc = argv? sluice_spawn_exec_env (&slot->child, sluice_spawn_direct_path (self->direct),
                                          argv, envp, pipes): 1;
    }
    else {
        //  --pipe: the task is on stdin, the command runs as it is
        char *line = pipe? strdup (command): sluice_template_shell (self->template, &values);
        rc = line? sluice_spawn_shell_env (&slot->child, line, envp, pipes): 1;
        free (line);
    }
    free (envp);
    if (rc > 0) {
        s_answer_error (self, slot, "payload contains a NUL byte; use --pipe");
        return;
    }
    if (rc) {
        char why [PATH_MAX + 64];
        snprintf (why, sizeof why, "cannot run %s: %s",
                  self->direct? sluice_spawn_direct_path (self->direct): "/bin/sh",
                  strerror (slot->child.error));
        s_answer_error (self, slot, why);
        return;
    }
    slot->in_done = 0;
    slot->in_end = pipe_end;
    slot->out.size = 0;
    slot->too_big = slot->timed_out = false;
    slot->kill_stage = 0;
    slot->stopping = false;
    slot->stop = (sluice_termstop_t) { 0, 0 };
    slot->started_ms = sluice_now_ms ();
    slot->deadline = self->config->task_timeout_ms
                   ? slot->started_ms + self->config->task_timeout_ms: 0;
    s_relative_deadline (self, slot);
}

//  Start queued tasks in free slots.
static void
s_dispatch (s_exec_t *self)
{
    for (size_t i = 0; i < self->config->jobs && self->running < self->config->jobs; i++) {
        s_slot_t *slot = &self->slots [i];
        if (slot->job)
            continue;
        slot->job = sluice_worker_recv (self->worker, &slot->task);
        if (!slot->job)
            return;
        self->running++;
        s_start (self, slot);
    }
}

//  Read what the command wrote to stdout; closes the pipe at EOF.
static void
s_read_output (s_exec_t *self, s_slot_t *slot)
{
    size_t limit = sluice_payload_max (self->config->max_size);
    if (sluice_spawn_read (slot->child.out_fd, &slot->out, limit, &slot->too_big)) {
        close (slot->child.out_fd);
        slot->child.out_fd = -1;
    }
}

//  Read what the command wrote to stderr, keeping --stderr-max bytes;
//  closes the pipe at EOF.
static void
s_read_stderr (s_exec_t *self, s_slot_t *slot)
{
    if (sluice_spawn_read_bounded (slot->child.err_fd, &slot->err, self->config->stderr_max,
                                   &slot->err_dropped)) {
        close (slot->child.err_fd);
        slot->child.err_fd = -1;
    }
}

//  Feed the payload to the command's stdin (--pipe).
static void
s_write_input (s_slot_t *slot)
{
    while (slot->in_done < slot->task.size || slot->in_end >= 0) {
        bool end = slot->in_done == slot->task.size;
        char byte = (char) slot->in_end;
        ssize_t n = end? write (slot->child.in_fd, &byte, 1)
                       : write (slot->child.in_fd, slot->task.data + slot->in_done,
                                slot->task.size - slot->in_done);
        if (n > 0 && end)
            slot->in_end = -1;
        if (n > 0) {
            slot->in_done += end? 0: (size_t) n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        break;                  //  EPIPE: the command does not read its input
    }
    sluice_spawn_close_input (&slot->child);
}

//  Reap a slot whose output is closed, if its command has exited; answer it.
static void
s_reap (s_exec_t *self, s_slot_t *slot)
{
    int status, code;
    pid_t group = slot->child.pid;
    if (!sluice_spawn_reap (&slot->child, false, &status, &code))
        return;
    if ((slot->stopping || slot->kill_stage) && sluice_spawn_group_alive (group))
        s_orphan_add (self, group, slot->stopping? slot->stop: (sluice_termstop_t) { 0, 0 });
    if (slot->timed_out && status != SLUICE_STATUS_ERROR)
        status = SLUICE_STATUS_TIMEOUT;
    if (status == SLUICE_STATUS_OK && self->config->task_timeout_pct) {
        sluice_median_add (self->runtimes, sluice_now_ms () - slot->started_ms);
        for (size_t i = 0; i < self->config->jobs; i++)
            if (self->slots [i].job && &self->slots [i] != slot)
                s_relative_deadline (self, &self->slots [i]);
    }
    size_t size = slot->out.size;
    if (slot->too_big) {
        s_answer_error (self, slot, "output larger than --max-size; reported as error");
        return;
    }
    s_answer (self, slot, status, code, slot->out.data, size);
}

//  Kill a command past its --task-timeout: TERM, then KILL.
static void
s_timeout (s_slot_t *slot, int64_t now)
{
    if (!slot->deadline || now < slot->deadline)
        return;
    if (slot->kill_stage == 0) {
        zsys_warning ("task %" PRIu64 " exceeded --task-timeout; terminating", slot->task.id);
        sluice_spawn_kill (&slot->child, SIGTERM);
        slot->timed_out = true;
        slot->kill_stage = 1;
        slot->deadline = now + S_KILL_GRACE_MS;
    }
    else
    if (slot->kill_stage == 1) {
        sluice_spawn_kill (&slot->child, SIGKILL);
        slot->kill_stage = 2;
        slot->deadline = 0;
    }
}

//  Stop the command of a dropped batch with the --termseq, a step at a
//  time; lowers *timeout to the next step.
static void
s_drop_step (s_exec_t *self, s_slot_t *slot, int64_t now, int *timeout)
{
    if (!slot->stopping) {
        if (!sluice_worker_job_dropped (self->worker, slot->job))
            return;
        slot->stopping = true;
        slot->stop = (sluice_termstop_t) { 0, 0 };
    }
    const sluice_termseq_t *seq = sluice_worker_termseq (self->worker);
    int signal = sluice_termseq_step (seq, &slot->stop, now);
    if (signal)
        sluice_spawn_kill (&slot->child, signal);
    int64_t wait = sluice_termseq_wait (seq, &slot->stop, now);
    if (wait >= 0 && wait < *timeout)
        *timeout = (int) wait;
}

//  Add one pipe to the poll set.
static void
s_watch (s_exec_t *self, size_t *n, s_slot_t *slot, int fd, short events)
{
    self->owners [*n] = slot;
    self->fds [(*n)++] = (struct pollfd) { .fd = fd, .events = events, .revents = 0 };
}

//  Enforce timeouts and fill the poll set with the children's pipes.
//  Returns the number of fds entries; lowers *timeout to the next deadline.
static size_t
s_watch_children (s_exec_t *self, int *timeout)
{
    size_t n = 1;
    int64_t now = sluice_now_ms ();
    if (self->orphan_count)
        s_orphans_step (self, now, timeout);
    for (size_t i = 0; i < self->config->jobs; i++) {
        s_slot_t *slot = &self->slots [i];
        if (!slot->job || !slot->child.pid)
            continue;
        s_timeout (slot, now);
        s_drop_step (self, slot, now, timeout);
        if (slot->deadline && slot->deadline - now < *timeout)
            *timeout = slot->deadline > now? (int) (slot->deadline - now): 0;
        if (slot->child.out_fd >= 0)
            s_watch (self, &n, slot, slot->child.out_fd, POLLIN);
        if (slot->child.err_fd >= 0)
            s_watch (self, &n, slot, slot->child.err_fd, POLLIN);
        if (slot->child.in_fd >= 0)
            s_watch (self, &n, slot, slot->child.in_fd, POLLOUT);
        if (slot->child.out_fd < 0 && slot->child.err_fd < 0 && slot->child.in_fd < 0) {
            if (slot->child.pid_fd >= 0)
                s_watch (self, &n, slot, slot->child.pid_fd, POLLIN);
            else
            if (*timeout > 5)
                *timeout = 5;   //  no pidfd (an old kernel): reap soon
        }
    }
    return n;
}

//  Wait for the worker or a child, then move the children's bytes, reap
//  those that finished and start the next tasks in their slots at once
//  (the results go out at the next turn, while the new commands run).
//  Returns true if the worker core is due a turn: its fd is readable, a
//  timeout passed, or a task was answered. A child's pipe alone is not a
//  reason: a turn is a round of some 25 libzmq calls, a poll(2) and a
//  getpid(2) each, and there are three pipe events per command.
static bool
s_wait (s_exec_t *self)
{
    int timeout = 1000;
    size_t n = s_watch_children (self, &timeout);
    int rc = sluice_worker_poll (self->worker, self->fds, n, timeout);
    bool due = rc <= 0 || self->fds [0].revents;
    size_t running = self->running;
    for (size_t i = 1; i < n; i++) {
        s_slot_t *slot = self->owners [i];
        if (!self->fds [i].revents || self->fds [i].fd == slot->child.pid_fd)
            continue;           //  exited: reaped below
        if (self->fds [i].fd == slot->child.err_fd)
            s_read_stderr (self, slot);
        else
        if (self->fds [i].events & POLLIN)
            s_read_output (self, slot);
        else
        if (slot->child.in_fd >= 0)
            s_write_input (slot);
    }
    for (size_t i = 0; i < self->config->jobs; i++) {
        s_slot_t *slot = &self->slots [i];
        if (slot->job && slot->child.pid && slot->child.out_fd < 0 && slot->child.err_fd < 0)
            s_reap (self, slot);
    }
    if (self->running < running) {
        s_dispatch (self);
        due = true;
    }
    return due;
}

int
sluice_worker_exec_run (sluice_worker_t *worker)
{
    s_exec_t *self = s_exec_new (worker);
    if (!self)
        return SLUICE_EXIT_USAGE;
    sluice_worker_pack (worker, S_PACK_MS);
    bool due = true;
    while (!due || !sluice_worker_turn (worker)) {
        s_dispatch (self);
        due = s_wait (self);
    }
    s_exec_destroy (&self);
    return SLUICE_EXIT_OK;
}
