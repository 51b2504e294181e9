/*  =========================================================================
    worker_coproc.c - the --coproc runner: -j long-lived copies of a
    command, one record in, one record out

    Each copy is fed records on its stdin and answers them in order on its
    stdout, so the tasks in flight on a copy form a ring, oldest first. A
    copy that dies fails its oldest task with its exit status and hands
    the others back to the worker core's queue to run again on a fresh
    copy. The loop is the embedding API's own: poll(2) on sluice_worker_fd
    beside the copies' pipes. Uses only the worker core's public calls and
    spawn.h.

    Stopping. A copy serves many tasks and batches, so a DROP cannot stop
    one task: a copy that holds records of a dropped batch is stopped
    whole with the --termseq (a step at a time, in the loop), its output
    discarded; then the dropped batch's records are discarded, the others
    it held go back to the queue, and a fresh copy starts for the next
    batch. The copies that hold nothing of that batch run on. When the
    runner ends, each copy's stdin is closed; one with nothing in flight
    has S_STOP_WAIT_MS to exit at its end of input, and every copy still
    there (at once for one with records in flight: a second signal, the
    end of --grace) is stopped with the --termseq, then SIGKILL.
    =========================================================================
*/

#include "private.h"
#include "spawn.h"
#include "worker_core.h"

#include <signal.h>

#define S_QUIET_WARN_MS 10000       //  silence before warning of buffering
#define S_POLL_MS 200               //  checks for timeouts and silence at least this often
#define S_STOP_WAIT_MS 500          //  a copy's time to exit once its stdin is closed

//  One task in flight on a copy.
typedef struct {
    sluice_job_t *job;
    uint64_t id;
    int64_t started_ms;         //  when it was taken from the queue
} s_flight_t;

//  One copy of the command.
typedef struct {
    sluice_child_t child;       //  pid 0 when not running
    zchunk_t *wbuf;             //  records not yet written to stdin
    size_t wdone;               //  bytes of wbuf written
    sluice_spawn_buf_t rbuf;    //  stdout bytes not yet split into records
    s_flight_t *ring;           //  tasks in flight, oldest at first
    size_t first;
    size_t inflight;
    int64_t quiet_since;        //  last output, or when records were first in flight
    bool warned;                //  warned that it may buffer its output
    bool stopping;              //  the --termseq is under way (DROP, or the end)
    pid_t group;                //  its process group, while stopping
    sluice_termstop_t stop;     //  its next step
    int64_t kill_at;            //  SIGKILL then if the sequence did not stop it
} s_copy_t;

//  The runner's state.
typedef struct {
    sluice_worker_t *worker;
    const sluice_config_t *config;
    s_copy_t *copies;           //  config->jobs of them
    size_t ncopies;
    size_t depth;               //  records in flight per copy at most
    uint8_t delim;              //  record delimiter
    bool queue_empty;           //  the last dispatch emptied the worker's queue
    uint64_t drops;             //  the worker's DROPs seen (sluice_worker_drops)
    struct pollfd *fds;         //  [0] the worker, then out/in of each copy
    size_t *owner;              //  the copy of each fds entry
    sluice_ratelimit_t limit;
} s_coproc_t;

//  Start (or restart) one copy of the command. Returns 0 or -1.
static int
s_copy_start (s_coproc_t *self, s_copy_t *copy)
{
    //  a copy serves many tasks (and batches): only its slot is its own
    char slot [32];
    snprintf (slot, sizeof slot, "SLUICE_SLOT=%zu", (size_t) (copy - self->copies) + 1);
    char *vars [] = { slot, NULL };
    char **envp = sluice_spawn_environ (vars);
    int rc = sluice_spawn_shell_env (&copy->child, self->config->command, envp, true);
    free (envp);
    if (rc) {
        zsys_error ("cannot start --coproc command: %s", strerror (copy->child.error));
        return -1;
    }
    zchunk_set (copy->wbuf, NULL, 0);
    copy->wdone = 0;
    copy->rbuf.size = 0;
    copy->warned = false;
    copy->stopping = false;
    return 0;
}

//  Create the runner and start its copies. Returns NULL if one cannot start.
static s_coproc_t *
s_coproc_new (sluice_worker_t *worker)
{
    s_coproc_t *self = (s_coproc_t *) calloc (1, sizeof *self);
    assert (self);
    self->worker = worker;
    self->config = sluice_worker_config (worker);
    self->ncopies = self->config->jobs;
    size_t pool = sluice_worker_pool (worker);
    self->depth = pool / self->ncopies? pool / self->ncopies: 1;
    self->delim = self->config->input == SLUICE_INPUT_NUL? 0: '\n';
    self->copies = (s_copy_t *) calloc (self->ncopies, sizeof (s_copy_t));
    self->fds = (struct pollfd *) calloc (1 + 2 * self->ncopies, sizeof (struct pollfd));
    self->owner = (size_t *) calloc (1 + 2 * self->ncopies, sizeof (size_t));
    assert (self->copies && self->fds && self->owner);
    bool started = true;
    for (size_t i = 0; i < self->ncopies; i++) {
        s_copy_t *copy = &self->copies [i];
        copy->wbuf = zchunk_new (NULL, 65536);
        copy->ring = (s_flight_t *) calloc (self->depth, sizeof (s_flight_t));
        assert (copy->ring);
        copy->child = (sluice_child_t) { .pid = 0, .in_fd = -1, .out_fd = -1, .error = 0,
                                         .pid_fd = -1, .err_fd = -1 };
        if (started && s_copy_start (self, copy))
            started = false;
    }
    return self;
}

static void s_stop_all (s_coproc_t *self);

//  Stop every copy (s_stop_all) and destroy the runner.
static void
s_coproc_destroy (s_coproc_t **self_p)
{
    s_coproc_t *self = *self_p;
    s_stop_all (self);
    for (size_t i = 0; i < self->ncopies; i++) {
        s_copy_t *copy = &self->copies [i];
        zchunk_destroy (&copy->wbuf);
        free (copy->rbuf.data);
        free (copy->ring);
    }
    free (self->copies);
    free (self->fds);
    free (self->owner);
    free (self);
    *self_p = NULL;
}

//  True if every copy is running.
static bool
s_all_started (s_coproc_t *self)
{
    for (size_t i = 0; i < self->ncopies; i++)
        if (!self->copies [i].child.pid)
            return false;
    return true;
}

//  Take the oldest task in flight off a copy; NULL if none.
static sluice_job_t *
s_copy_pop (s_copy_t *copy, size_t depth)
{
    if (!copy->inflight)
        return NULL;
    sluice_job_t *job = copy->ring [copy->first].job;
    copy->first = (copy->first + 1) % depth;
    copy->inflight--;
    return job;
}

//  Hand a copy's tasks in flight back to the worker's queue, in order.
static void
s_copy_requeue (s_coproc_t *self, s_copy_t *copy)
{
    while (copy->inflight) {
        size_t last = (copy->first + copy->inflight - 1) % self->depth;
        sluice_worker_requeue (self->worker, copy->ring [last].job);
        copy->inflight--;
    }
    copy->first = 0;
}

//  A copy died (or was killed): reap it, fail its oldest task with the
//  exit status, put the others back in the queue, and restart it.
static void
s_copy_died (s_coproc_t *self, s_copy_t *copy, bool timed_out)
{
    int status, code;
    sluice_spawn_kill (&copy->child, SIGKILL);
    sluice_spawn_reap (&copy->child, true, &status, &code);
    if (timed_out)
        status = SLUICE_STATUS_TIMEOUT;
    else
    if (status == SLUICE_STATUS_OK)
        status = SLUICE_STATUS_EXIT;        //  exit 0 with records unanswered: a failure
    uint64_t id = copy->inflight? copy->ring [copy->first].id: 0;
    sluice_job_t *job = s_copy_pop (copy, self->depth);
    if (job) {
        zsys_warning ("--coproc copy exited (%s %d) on task %" PRIu64 "; restarting",
                      sluice_status_name (status), code, id);
        sluice_worker_reply (self->worker, job, status, code, NULL, 0);
        //  innocent bystanders run again on a fresh copy, not reported
        s_copy_requeue (self, copy);
    }
    if (!sluice_worker_draining (self->worker))
        s_copy_start (self, copy);
}

//  Begin stopping a copy with the --termseq; its output is discarded from
//  now on, and nothing more is written to it.
static void
s_copy_stop (s_copy_t *copy)
{
    copy->stopping = true;
    if (copy->child.pid)
        copy->group = copy->child.pid;
    copy->stop = (sluice_termstop_t) { 0, 0 };
    copy->kill_at = 0;
}

//  A stopped copy is gone: discard its records of dropped batches, put
//  the others back in the queue (in order), and start a fresh copy.
static void
s_copy_stopped (s_coproc_t *self, s_copy_t *copy)
{
    for (size_t k = copy->inflight; k-- > 0; ) {
        sluice_job_t *job = copy->ring [(copy->first + k) % self->depth].job;
        if (sluice_worker_job_dropped (self->worker, job))
            sluice_worker_reply (self->worker, job, SLUICE_STATUS_SIGNAL, 0, NULL, 0);
        else
            sluice_worker_requeue (self->worker, job);
    }
    copy->first = copy->inflight = 0;
    copy->stopping = false;
    if (!sluice_worker_draining (self->worker))
        s_copy_start (self, copy);
}

//  One step of a stopping copy's --termseq, sent to its process group:
//  reap the copy once it exits, send the signal that is due, SIGKILL once
//  the sequence is over and its last wait (at least 1 s) has passed.
//  Lowers *timeout to the next step. Returns true once the whole group is
//  gone: a shell's children (a script it runs, their commands) may
//  outlive it, ignoring a signal that stopped the shell.
static bool
s_copy_stop_step (s_coproc_t *self, s_copy_t *copy, int64_t now, int *timeout)
{
    int status, code;
    if (copy->child.pid)
        sluice_spawn_reap (&copy->child, false, &status, &code);
    if (!copy->child.pid && !sluice_spawn_group_alive (copy->group))
        return true;
    if (!copy->child.pid && *timeout > 5)
        *timeout = 5;           //  only the group is left: no pidfd to wait on
    const sluice_termseq_t *seq = sluice_worker_termseq (self->worker);
    bool killed;
    int64_t wait = sluice_spawn_group_step (copy->group, seq, &copy->stop, &copy->kill_at, now,
                                            &killed);
    if (killed) {
        //  the sequence is over and the copy ignored it; the group's
        //  other members are reaped by init, soon: wait a while for them
        if (copy->child.pid)
            sluice_spawn_reap (&copy->child, true, &status, &code);
        if (!sluice_spawn_group_alive (copy->group) || now >= copy->kill_at + 1000)
            return true;
        if (*timeout > 5)
            *timeout = 5;
        return false;
    }
    if (wait < *timeout)
        *timeout = (int) wait;
    return false;
}

//  Read and discard what a stopping copy writes (so it never blocks on a
//  full pipe); stop watching its stdout at end of file.
static void
s_copy_discard (s_copy_t *copy)
{
    bool overflow = false;
    int eof = sluice_spawn_read (copy->child.out_fd, &copy->rbuf, SIZE_MAX, &overflow);
    copy->rbuf.size = 0;
    if (eof) {
        close (copy->child.out_fd);
        copy->child.out_fd = -1;
    }
}

//  After a DROP: stop each copy that holds records of a dropped batch.
static void
s_check_drops (s_coproc_t *self)
{
    uint64_t drops = sluice_worker_drops (self->worker);
    if (drops == self->drops)
        return;
    self->drops = drops;
    for (size_t i = 0; i < self->ncopies; i++) {
        s_copy_t *copy = &self->copies [i];
        size_t held = 0;
        for (size_t k = 0; copy->child.pid && !copy->stopping && k < copy->inflight; k++)
            held += sluice_worker_job_dropped (self->worker,
                                               copy->ring [(copy->first + k) % self->depth].job);
        if (!held)
            continue;
        zsys_info ("--coproc copy %d holds %zu records of a dropped batch: stopping it "
                   "(--termseq %s) and starting a fresh one", (int) copy->child.pid, held,
                   self->config->termseq? self->config->termseq: SLUICE_TERMSEQ_DEFAULT);
        s_copy_stop (copy);
    }
}

//  Stop every copy for good, and reap them. Each one's stdin is closed; a
//  copy with nothing in flight has S_STOP_WAIT_MS to exit at its end of
//  input; the others, and any still there then, get the --termseq (and
//  SIGKILL at its end). Blocks until they are gone.
static void
s_stop_all (s_coproc_t *self)
{
    size_t left = 0, busy = 0;
    for (size_t i = 0; i < self->ncopies; i++) {
        s_copy_t *copy = &self->copies [i];
        sluice_spawn_close_input (&copy->child);
        if (!copy->child.pid && !copy->stopping)
            continue;
        if (copy->child.pid)
            copy->group = copy->child.pid;
        left++;
        if (copy->inflight && !copy->stopping) {
            s_copy_stop (copy);
            busy++;
        }
    }
    if (busy)
        zsys_info ("stopping %zu --coproc copies with records in flight (--termseq %s)", busy,
                   self->config->termseq? self->config->termseq: SLUICE_TERMSEQ_DEFAULT);
    int64_t idle_until = sluice_now_ms () + S_STOP_WAIT_MS;
    while (left) {
        int64_t now = sluice_now_ms ();
        int timeout = 5;
        left = 0;
        for (size_t i = 0; i < self->ncopies; i++) {
            s_copy_t *copy = &self->copies [i];
            int status, code;
            if (!copy->child.pid && !copy->stopping)
                continue;
            if (copy->child.out_fd >= 0)
                s_copy_discard (copy);
            if (!copy->stopping) {
                //  exited at its end of input; what it started may not have
                if (sluice_spawn_reap (&copy->child, false, &status, &code)
                &&  !sluice_spawn_group_alive (copy->group))
                    continue;
                if (now < idle_until) {
                    left++;
                    continue;
                }
                s_copy_stop (copy);
            }
            if (!s_copy_stop_step (self, copy, now, &timeout))
                left++;
            else
                copy->stopping = false;
        }
        if (left)
            poll (NULL, 0, timeout > 0? (timeout < 5? timeout: 5): 1);
    }
}

//  Answer the copy's tasks with the complete records in its read buffer.
static void
s_copy_split (s_coproc_t *self, s_copy_t *copy)
{
    sluice_spawn_buf_t *buf = &copy->rbuf;
    size_t start = 0;
    while (start < buf->size) {
        uint8_t *end = (uint8_t *) memchr (buf->data + start, self->delim, buf->size - start);
        if (!end)
            break;
        size_t len = (size_t) (end - buf->data) - start;
        sluice_job_t *job = s_copy_pop (copy, self->depth);
        if (job)
            sluice_worker_reply (self->worker, job, SLUICE_STATUS_OK, 0, buf->data + start, len);
        else
            sluice_warn_ratelimited (&self->limit, "--coproc wrote a line nobody asked for");
        start += len + 1;
    }
    memmove (buf->data, buf->data + start, buf->size - start);
    buf->size -= start;
}

//  Read the copy's stdout and answer what it wrote; at end of file it has
//  either finished (we closed its stdin, it answered all) or died.
static void
s_copy_read (s_coproc_t *self, s_copy_t *copy)
{
    size_t before = copy->rbuf.size;
    bool overflow = false;
    int eof = sluice_spawn_read (copy->child.out_fd, &copy->rbuf, SIZE_MAX, &overflow);
    if (copy->rbuf.size > before)
        copy->quiet_since = sluice_worker_now_us (self->worker) / 1000;
    s_copy_split (self, copy);
    if (!eof)
        return;
    if (copy->child.in_fd < 0 && copy->inflight == 0) {
        int status, code;
        sluice_spawn_reap (&copy->child, true, &status, &code);
    }
    else
        s_copy_died (self, copy, false);
}

//  Write pending records to the copy's stdin.
static void
s_copy_write (s_coproc_t *self, s_copy_t *copy)
{
    if (copy->child.in_fd < 0 || copy->stopping)
        return;
    size_t size = zchunk_size (copy->wbuf);
    while (copy->wdone < size) {
        ssize_t n = write (copy->child.in_fd, zchunk_data (copy->wbuf) + copy->wdone,
                           size - copy->wdone);
        if (n > 0) {
            copy->wdone += (size_t) n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        s_copy_died (self, copy, false);
        return;
    }
    zchunk_set (copy->wbuf, NULL, 0);
    copy->wdone = 0;
}

//  The running copy with the fewest records in flight and room for one
//  more, or NULL.
static s_copy_t *
s_least_loaded (s_coproc_t *self)
{
    s_copy_t *best = NULL;
    for (size_t i = 0; i < self->ncopies; i++) {
        s_copy_t *copy = &self->copies [i];
        if (copy->child.pid && !copy->stopping && copy->inflight < self->depth
        &&  (!best || copy->inflight < best->inflight))
            best = copy;
    }
    return best;
}

//  Queue one task's record on a copy, or fail it if it cannot be framed.
static void
s_copy_feed (s_coproc_t *self, s_copy_t *copy, sluice_job_t *job, const sluice_task_t *task)
{
    if (memchr (task->data, self->delim, task->size)) {
        sluice_worker_reply (self->worker, job, SLUICE_STATUS_ERROR, 127, NULL, 0);
        sluice_warn_ratelimited (&self->limit, "task %" PRIu64 " contains the record "
                                 "delimiter; --coproc cannot frame it", task->id);
        return;
    }
    int64_t now = sluice_worker_now_us (self->worker) / 1000;
    if (copy->inflight == 0)
        copy->quiet_since = now;
    zchunk_extend (copy->wbuf, task->data, task->size);
    zchunk_extend (copy->wbuf, &self->delim, 1);
    size_t slot = (copy->first + copy->inflight) % self->depth;
    copy->ring [slot] = (s_flight_t) { job, task->id, now };
    copy->inflight++;
}

//  Hand queued tasks to the least loaded copies, in runs of consecutive
//  tasks: the least loaded copy takes its share of the queue (queued /
//  copies, at least one) at once. Each copy's results are then runs of
//  ids, which the sink acknowledges and STOREs as one range each; copies
//  taking every other id made those ranges one id each. A short queue
//  (slow commands, little prefetch) still splits evenly.
static void
s_dispatch (s_coproc_t *self)
{
    self->queue_empty = false;
    s_copy_t *best;
    while ((best = s_least_loaded (self))) {
        size_t run = sluice_worker_queued (self->worker) / self->ncopies;
        if (run == 0)
            run = 1;
        for (size_t i = 0; i < run && best->inflight < self->depth; i++) {
            sluice_task_t task;
            sluice_job_t *job = sluice_worker_recv (self->worker, &task);
            if (!job) {
                self->queue_empty = true;
                return;
            }
            s_copy_feed (self, best, job, &task);
        }
    }
}

//  Draining with nothing queued: close each copy's stdin once its records
//  are written, so a command that buffers its output flushes it at end of
//  input, as it would at the end of a pipe.
static void
s_close_inputs (s_coproc_t *self)
{
    if (!sluice_worker_draining (self->worker) || !self->queue_empty)
        return;
    for (size_t i = 0; i < self->ncopies; i++) {
        s_copy_t *copy = &self->copies [i];
        if (copy->child.pid && !copy->stopping && copy->wdone == zchunk_size (copy->wbuf))
            sluice_spawn_close_input (&copy->child);
    }
}

//  Warn of a copy that seems to buffer its output; kill one whose oldest
//  task is past --task-timeout. Returns false if the copy was killed.
static bool
s_copy_check (s_coproc_t *self, s_copy_t *copy, int64_t now)
{
    //  the classic coproc trap: a command that buffers its output when
    //  it is not a terminal never answers a single record
    if (copy->inflight && !copy->warned && now - copy->quiet_since > S_QUIET_WARN_MS) {
        zsys_warning ("--coproc copy %d has not answered for %d s with %zu records "
                      "in flight; does it buffer its output? (try stdbuf -oL, "
                      "sed -u, awk -W interactive, python3 -u)", (int) copy->child.pid,
                      S_QUIET_WARN_MS / 1000, copy->inflight);
        copy->warned = true;
    }
    int64_t timeout = self->config->task_timeout_ms;
    if (copy->inflight && timeout && now - copy->ring [copy->first].started_ms > timeout) {
        s_copy_died (self, copy, true);
        return false;
    }
    return true;
}

//  Fill the poll set with the copies' pipes (a stopping copy's stdout and
//  pidfd), stepping the stopping copies' --termseq. Returns the number of
//  entries; lowers *timeout to the next step.
static size_t
s_watch_copies (s_coproc_t *self, int *timeout)
{
    size_t n = 1;
    int64_t now = sluice_now_ms ();
    for (size_t i = 0; i < self->ncopies; i++) {
        s_copy_t *copy = &self->copies [i];
        if (copy->stopping) {
            if (s_copy_stop_step (self, copy, now, timeout)) {
                s_copy_stopped (self, copy);
                continue;
            }
            if (copy->child.pid_fd < 0 && *timeout > 5)
                *timeout = 5;   //  no pidfd (an old kernel): reap soon
            self->owner [n] = self->owner [n + 1] = i;
            self->fds [n++] = (struct pollfd) { .fd = copy->child.out_fd, .events = POLLIN };
            self->fds [n++] = (struct pollfd) { .fd = copy->child.pid_fd, .events = POLLIN };
            continue;
        }
        if (!copy->child.pid || !s_copy_check (self, copy, now))
            continue;
        bool writing = copy->child.in_fd >= 0 && zchunk_size (copy->wbuf);
        self->owner [n] = self->owner [n + 1] = i;
        self->fds [n++] = (struct pollfd) { .fd = copy->child.out_fd, .events = POLLIN };
        self->fds [n++] = (struct pollfd) { .fd = writing? copy->child.in_fd: -1,
                                            .events = POLLOUT };
    }
    return n;
}

//  Wait for the worker or a copy, then move the copies' bytes.
static void
s_wait (s_coproc_t *self)
{
    int timeout = S_POLL_MS;
    size_t n = s_watch_copies (self, &timeout);
    sluice_worker_clock (self->worker, 0);
    sluice_worker_poll (self->worker, self->fds, n, timeout);
    sluice_worker_clock (self->worker, sluice_now_us ());
    for (size_t k = 1; k + 1 < n; k += 2) {
        s_copy_t *copy = &self->copies [self->owner [k]];
        if (copy->stopping) {
            //  its exit (pidfd) is reaped by the next s_watch_copies
            if (self->fds [k].revents && copy->child.out_fd >= 0)
                s_copy_discard (copy);
            continue;
        }
        if (self->fds [k + 1].revents && copy->child.pid && copy->child.in_fd >= 0)
            s_copy_write (self, copy);
        if (self->fds [k].revents && copy->child.pid && copy->child.out_fd == self->fds [k].fd)
            s_copy_read (self, copy);
    }
    //  start writing new records at once rather than after a poll
    for (size_t i = 0; i < self->ncopies; i++) {
        s_copy_t *copy = &self->copies [i];
        if (copy->child.pid && zchunk_size (copy->wbuf) > copy->wdone)
            s_copy_write (self, copy);
    }
}

int
sluice_worker_coproc_run (sluice_worker_t *worker)
{
    s_coproc_t *self = s_coproc_new (worker);
    if (!s_all_started (self)) {
        s_coproc_destroy (&self);
        return SLUICE_EXIT_RUNTIME;
    }
    while (!sluice_worker_turn (worker)) {
        //  one clock read a round for the tasks taken and answered
        sluice_worker_clock (worker, sluice_now_us ());
        s_check_drops (self);
        s_dispatch (self);
        s_close_inputs (self);
        s_wait (self);
        sluice_worker_clock (worker, 0);
    }
    s_coproc_destroy (&self);
    return SLUICE_EXIT_OK;
}
