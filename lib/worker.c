/*  =========================================================================
    worker.c - takes tasks when it has free slots, runs them, pushes results

    Flow control is by credit: the worker tells the ventilator how many
    tasks it will accept (free slots plus --prefetch) and the ventilator
    never sends more, so a late joiner or a fast worker beside a slow one
    gets its share and nothing queues without bound. A slot is released
    only when its result has left for the sink, so a slow sink stops the
    worker taking tasks. While a task runs the worker reports it in
    progress, and the ventilator renews its lease.

    Modes: --echo answers inline; --exec runs /bin/sh -c per task with
    posix_spawn; --coproc keeps -j long-lived copies of a command and
    streams one record per task through each.
    =========================================================================
*/

#include "private.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define S_PROGRESS_MS 250           //  progress report period: well under
                                    //  the shortest useful lease (--timeout)
#define S_RESYNC_MS 1000            //  idle time before re-announcing credit
#define S_FLUSH_TASKS 256           //  results packed per message at most
#define S_FLUSH_BYTES (256 * 1024)
#define S_KILL_GRACE_MS 2000        //  SIGTERM to SIGKILL on task timeout
#define S_COPROC_MAX_DEPTH 1024     //  --coproc: records in flight per copy at most
#define S_WORK_IN_HAND_MS 200       //  --coproc: tasks held, in time to run them
#define S_QUIET_WARN_MS 10000       //  --coproc: silence before warning of buffering

struct _sluice_job_t {
    sluice_job_t *next;         //  in the queue or free list
    uint8_t batch [SLUICE_BATCH_SIZE];
    uint64_t id;
    uint32_t attempt;
    uint32_t flags;
    uint8_t *data;              //  payload, buffer reused
    size_t size;
    size_t capacity;
    int64_t started_us;         //  when processing began
    int64_t received_us;        //  when it arrived, 0 when the job is free
    //  --exec / --coproc state
    pid_t pid;                  //  child, 0 when none
    int out_fd;                 //  child's stdout, -1 when closed
    int in_fd;                  //  child's stdin (pipe mode), -1 when done
    size_t in_done;             //  payload bytes written to stdin
    uint8_t *out;               //  output collected
    size_t out_size;
    size_t out_capacity;
    bool too_big;               //  output exceeded --max-size
    int64_t deadline;           //  task timeout, ms, 0 for none
    int kill_stage;             //  0 none, 1 TERM sent, 2 KILL sent
    bool timed_out;
};

struct _sluice_worker_t {
    const sluice_config_t *config;
    zsock_t *tasks;             //  DEALER to the ventilator
    zsock_t *results;           //  PUSH to the sink
    void *tasks_handle;
    void *results_handle;
    sluice_encoder_t *control;  //  credit and progress messages
    sluice_encoder_t *outbox;   //  results being packed
    uint8_t outbox_batch [SLUICE_BATCH_SIZE];
    size_t outbox_bytes;
    //  a packed result message the sink has not taken yet
    zmq_msg_t pending;
    bool has_pending;
    uint64_t pending_count;     //  slots it holds
    //  credit
    uint64_t capacity;          //  tasks held at most (credit target)
    size_t pool;                //  jobs allocated: the largest capacity
    bool adaptive;              //  --coproc with automatic prefetch
    int64_t rate_ms;            //  start of the current rate interval
    uint64_t rate_done;         //  tasks done at its start
    uint64_t held;              //  received, not yet answered and sent
    uint64_t promised;          //  credit granted, tasks not yet arrived
    bool draining;              //  SIGTERM: take no more
    int64_t last_task_ms;       //  when a task last arrived
    int64_t last_resync_ms;
    int64_t next_progress;
    //  jobs
    sluice_job_t *jobs;         //  pool of capacity jobs
    sluice_job_t *free_jobs;
    sluice_job_t *queue_head;   //  received, not yet taken
    sluice_job_t *queue_tail;
    uint64_t running;           //  jobs taken and not yet answered
    //  counts
    uint64_t done;
    uint64_t dropped;
    sluice_ratelimit_t limit;
};

//  --------------------------------------------------------------------------
//  Construction

sluice_worker_t *
sluice_worker_new (const sluice_config_t *config, char *err, size_t errlen)
{
    sluice_worker_t *self = (sluice_worker_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    //  a command that closes its stdin early must not kill the worker
    signal (SIGPIPE, SIG_IGN);
    size_t prefetch = config->prefetch;
    self->adaptive = prefetch == SIZE_MAX && config->mode == SLUICE_MODE_COPROC;
    if (prefetch == SIZE_MAX)
        prefetch = config->mode == SLUICE_MODE_ECHO? 8192
                 : config->mode == SLUICE_MODE_COPROC? config->jobs * S_COPROC_MAX_DEPTH: 0;
    self->capacity = (config->mode == SLUICE_MODE_ECHO? 0: config->jobs) + prefetch;
    if (self->capacity == 0)
        self->capacity = 1;
    self->pool = self->capacity;
    if (self->adaptive)
        self->capacity = config->jobs * 4;
    self->jobs = (sluice_job_t *) calloc (self->pool, sizeof (sluice_job_t));
    assert (self->jobs);
    for (size_t i = 0; i < self->pool; i++) {
        self->jobs [i].next = self->free_jobs;
        self->jobs [i].out_fd = -1;
        self->jobs [i].in_fd = -1;
        self->free_jobs = &self->jobs [i];
    }
    self->control = sluice_encoder_new ();
    self->outbox = sluice_encoder_new ();
    zmq_msg_init (&self->pending);
    self->tasks = sluice_socket_new (ZMQ_DEALER, config, config->tasks, 1000, err, errlen);
    //  credit bounds what arrives; results wait in our outbox, not in libzmq
    self->results = self->tasks
                  ? sluice_socket_new (ZMQ_PUSH, config, config->results, 1000, err, errlen)
                  : NULL;
    if (!self->results) {
        sluice_worker_destroy (&self);
        return NULL;
    }
    self->tasks_handle = zsock_resolve (self->tasks);
    self->results_handle = zsock_resolve (self->results);
    self->last_task_ms = sluice_now_ms ();
    self->next_progress = self->last_task_ms + S_PROGRESS_MS;
    return self;
}

void
sluice_worker_destroy (sluice_worker_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_worker_t *self = *self_p;
        //  results must leave (unless the sink is gone for good); credit
        //  and progress are worthless once we stop
        sluice_set_linger (self->tasks, 0);
        sluice_set_linger (self->results, 5000);
        zsock_destroy (&self->tasks);
        zsock_destroy (&self->results);
        zmq_msg_close (&self->pending);
        sluice_encoder_destroy (&self->control);
        sluice_encoder_destroy (&self->outbox);
        for (size_t i = 0; i < self->pool; i++) {
            sluice_job_t *job = &self->jobs [i];
            if (job->pid > 0) {
                kill (-job->pid, SIGKILL);
                waitpid (job->pid, NULL, 0);
            }
            if (job->out_fd >= 0)
                close (job->out_fd);
            if (job->in_fd >= 0)
                close (job->in_fd);
            free (job->data);
            free (job->out);
        }
        free (self->jobs);
        free (self);
        *self_p = NULL;
    }
}

void *
sluice_worker_socket (sluice_worker_t *self)
{
    return self->tasks_handle;
}

//  --------------------------------------------------------------------------
//  Credit and progress

static void
s_send_control (sluice_worker_t *self)
{
    size_t size;
    const uint8_t *data = sluice_encoder_data (self->control, &size);
    sluice_send (self->tasks_handle, data, size, ZMQ_DONTWAIT);
}

static void
s_send_credit (sluice_worker_t *self, uint64_t credit, bool reset)
{
    uint64_t args [2] = { credit, reset };
    sluice_encoder_scalar (self->control, SLUICE_MSG_CREDIT, NULL, 2, args);
    s_send_control (self);
}

//  Grant credit for free room, in chunks of a quarter of the capacity so
//  a fast stream of tasks costs few credit messages.
static void
s_grant (sluice_worker_t *self)
{
    if (self->draining)
        return;
    int64_t now = sluice_now_ms ();
    if (self->adaptive && now - self->rate_ms >= 100) {
        //  hold S_WORK_IN_HAND_MS of work at the measured rate: a fast
        //  command gets a deep pipeline, a slow one does not hoard tasks
        //  its peers could run
        uint64_t done = self->done - self->rate_done;
        uint64_t want = done * S_WORK_IN_HAND_MS / (uint64_t) (now - self->rate_ms);
        uint64_t floor = self->config->jobs * 2;
        self->capacity = want < floor? floor: want > self->pool? self->pool: want;
        self->rate_ms = now;
        self->rate_done = self->done;
    }
    uint64_t used = self->held + self->promised;
    uint64_t room = used < self->capacity? self->capacity - used: 0;
    uint64_t threshold = self->capacity / 4? self->capacity / 4: 1;
    if (room >= threshold) {
        s_send_credit (self, room, false);
        self->promised += room;
    }
    else
    if (self->held == 0 && now - self->last_task_ms >= S_RESYNC_MS
    &&  now - self->last_resync_ms >= S_RESYNC_MS) {
        //  idle with credit outstanding: a restarted ventilator may not know
        //  us, or tasks were lost in a reconnect; announce our room afresh
        s_send_credit (self, self->capacity, true);
        self->promised = self->capacity;
        self->last_resync_ms = now;
    }
}

void
sluice_worker_drain (sluice_worker_t *self)
{
    if (!self->draining) {
        self->draining = true;
        s_send_credit (self, 0, true);
        self->promised = 0;
    }
}

//  Report tasks held for over a second (running or queued) so their leases
//  are renewed: one PROGRESS message per batch among them.
static void
s_progress (sluice_worker_t *self)
{
    int64_t now = sluice_now_ms ();
    if (now < self->next_progress)
        return;
    self->next_progress = now + S_PROGRESS_MS;
    int64_t old = sluice_now_us () - S_PROGRESS_MS * 1000;
    for (size_t i = 0; i < self->pool; i++) {
        sluice_job_t *lead = &self->jobs [i];
        if (!lead->received_us || lead->received_us > old)
            continue;
        bool first = true;
        for (size_t k = 0; k < i && first; k++)
            if (self->jobs [k].received_us && self->jobs [k].received_us <= old
            &&  memcmp (self->jobs [k].batch, lead->batch, SLUICE_BATCH_SIZE) == 0)
                first = false;
        if (!first)
            continue;
        sluice_encoder_begin (self->control, SLUICE_MSG_PROGRESS, lead->batch);
        for (size_t k = i; k < self->pool; k++) {
            sluice_job_t *job = &self->jobs [k];
            if (job->received_us && job->received_us <= old
            &&  memcmp (job->batch, lead->batch, SLUICE_BATCH_SIZE) == 0)
                sluice_encoder_uints (self->control, 1, &job->id);
        }
        s_send_control (self);
    }
}

//  --------------------------------------------------------------------------
//  Results outbox

//  Try to hand the pending message to libzmq. Returns true if none is left.
static bool
s_send_pending (sluice_worker_t *self)
{
    if (!self->has_pending)
        return true;
    if (zmq_msg_send (&self->pending, self->results_handle, ZMQ_DONTWAIT) < 0)
        return false;
    self->has_pending = false;
    self->held -= self->pending_count;
    self->pending_count = 0;
    zmq_msg_init (&self->pending);
    return true;
}

//  Close the outbox into a message and try to send it.
static void
s_flush_outbox (sluice_worker_t *self)
{
    uint32_t count = sluice_encoder_count (self->outbox);
    if (!count || self->has_pending)
        return;
    zmq_msg_close (&self->pending);
    int rc = sluice_encoder_take (self->outbox, &self->pending);
    assert (rc == 0);
    self->has_pending = true;
    self->pending_count = count;
    sluice_encoder_begin_results (self->outbox, self->outbox_batch, sluice_identity ());
    self->outbox_bytes = 0;
    s_send_pending (self);
}

//  Add one result to the outbox; flushes when the batch changes or the
//  outbox is full. With a message still pending, waits for the sink.
static void
s_outbox_add (sluice_worker_t *self, const uint8_t *batch, const sluice_result_t *result)
{
    bool same = sluice_encoder_count (self->outbox)
             && memcmp (batch, self->outbox_batch, SLUICE_BATCH_SIZE) == 0;
    if (!same || sluice_encoder_count (self->outbox) >= S_FLUSH_TASKS
    ||  self->outbox_bytes >= S_FLUSH_BYTES) {
        while (sluice_encoder_count (self->outbox)) {
            s_flush_outbox (self);
            if (self->has_pending) {
                zmq_pollitem_t item = { self->results_handle, 0, ZMQ_POLLOUT, 0 };
                zmq_poll (&item, 1, 100);
                s_send_pending (self);
                if (zsys_interrupted && self->draining)
                    break;
            }
        }
        if (!sluice_encoder_count (self->outbox)) {
            memcpy (self->outbox_batch, batch, SLUICE_BATCH_SIZE);
            sluice_encoder_begin_results (self->outbox, batch, sluice_identity ());
        }
    }
    sluice_encoder_result (self->outbox, result);
    self->outbox_bytes += result->output_size + result->input_size + 32;
    self->done++;
}

//  --------------------------------------------------------------------------
//  Receiving tasks

//  Answer every task of a message at once (--echo): no job, no copy.
//  Returns the number of tasks read.
static uint32_t
s_echo (sluice_worker_t *self, sluice_msg_t *msg)
{
    sluice_task_t task;
    uint32_t taken = 0;
    while (sluice_msg_next_task (msg, &task) > 0) {
        taken++;
        sluice_result_t result = {
            .id = task.id, .attempt = task.attempt, .flags = task.flags,
            .output = task.data, .output_size = task.size
        };
        if (task.flags & SLUICE_FLAG_WANT_INPUT) {
            result.input = task.data;
            result.input_size = task.size;
        }
        s_outbox_add (self, msg->batch, &result);
    }
    return taken;
}

//  Queue every task of a message as a job. Returns the number read.
static uint32_t
s_enqueue (sluice_worker_t *self, sluice_msg_t *msg)
{
    sluice_task_t task;
    uint32_t taken = 0;
    while (sluice_msg_next_task (msg, &task) > 0) {
        taken++;
        sluice_job_t *job = self->free_jobs;
        if (!job) {
            //  more than we granted: the ventilator will re-send on lease expiry
            self->held--;
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "dropped task beyond granted credit");
            continue;
        }
        self->free_jobs = job->next;
        job->next = NULL;
        memcpy (job->batch, msg->batch, SLUICE_BATCH_SIZE);
        job->id = task.id;
        job->attempt = task.attempt;
        job->flags = task.flags;
        if (job->capacity < task.size) {
            free (job->data);
            job->capacity = task.size;
            job->data = (uint8_t *) malloc (task.size);
            assert (job->data);
        }
        if (task.size)
            memcpy (job->data, task.data, task.size);
        job->size = task.size;
        job->received_us = sluice_now_us ();
        if (self->queue_tail)
            self->queue_tail->next = job;
        else
            self->queue_head = job;
        self->queue_tail = job;
    }
    return taken;
}

//  Drain the tasks socket.
static void
s_recv_tasks (sluice_worker_t *self)
{
    while (true) {
        zmq_msg_t body;
        zmq_msg_init (&body);
        if (zmq_msg_recv (&body, self->tasks_handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&body);
            return;
        }
        sluice_msg_t msg;
        const char *reason = "not a TASKS message";
        if (zmq_msg_more (&body)
        ||  sluice_msg_open (&msg, zmq_msg_data (&body), zmq_msg_size (&body), &reason)
        ||  msg.type != SLUICE_MSG_TASKS) {
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "dropped malformed task message "
                                     "(%zu bytes): %s", zmq_msg_size (&body), reason);
            zmq_msg_close (&body);
            continue;
        }
        self->last_task_ms = sluice_now_ms ();
        self->held += msg.count;
        self->promised = self->promised > msg.count? self->promised - msg.count: 0;
        //  one pass: tasks before a malformed item are valid and are run
        uint32_t taken = self->config->mode == SLUICE_MODE_ECHO
                       ? s_echo (self, &msg): s_enqueue (self, &msg);
        if (taken < msg.count) {
            self->held -= msg.count - taken;
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "dropped the rest of a task message "
                                     "(%zu bytes): malformed list item", zmq_msg_size (&body));
        }
        zmq_msg_close (&body);
    }
}

void
sluice_worker_service (sluice_worker_t *self)
{
    s_recv_tasks (self);
    if (!s_send_pending (self))
        return;
    s_flush_outbox (self);
    s_grant (self);
    s_progress (self);
}

sluice_job_t *
sluice_worker_recv (sluice_worker_t *self, sluice_task_t *task)
{
    sluice_job_t *job = self->queue_head;
    if (!job)
        return NULL;
    self->queue_head = job->next;
    if (!self->queue_head)
        self->queue_tail = NULL;
    job->next = NULL;
    job->started_us = sluice_now_us ();
    self->running++;
    task->id = job->id;
    task->attempt = job->attempt;
    task->flags = job->flags;
    task->data = job->data;
    task->size = job->size;
    return job;
}

void
sluice_worker_reply (sluice_worker_t *self, sluice_job_t *job, int status, int code,
                     const void *output, size_t size)
{
    sluice_result_t result = {
        .id = job->id, .attempt = job->attempt, .flags = job->flags,
        .status = (uint32_t) status, .code = code,
        .elapsed_us = (uint64_t) (sluice_now_us () - job->started_us),
        .output = (const uint8_t *) output, .output_size = size
    };
    //  failures always carry their input, so the sink can report them
    if ((job->flags & SLUICE_FLAG_WANT_INPUT) || status != SLUICE_STATUS_OK) {
        result.input = job->data;
        result.input_size = job->size;
    }
    s_outbox_add (self, job->batch, &result);
    job->started_us = 0;
    job->received_us = 0;
    job->next = self->free_jobs;
    self->free_jobs = job;
    self->running--;
}

//  --------------------------------------------------------------------------
//  --exec: one /bin/sh -c per task

//  Append payload to buf as one shell word in single quotes.
static void
s_quote (zchunk_t *buf, const uint8_t *data, size_t size)
{
    zchunk_extend (buf, "'", 1);
    for (size_t i = 0; i < size; i++) {
        if (data [i] == '\'')
            zchunk_extend (buf, "'\\''", 4);
        else
            zchunk_extend (buf, data + i, 1);
    }
    zchunk_extend (buf, "'", 1);
}

//  Build the shell command for a job: {} is replaced by the quoted
//  payload; without {} the payload is appended as the last argument; with
//  --pipe the command is used as is. Returns a string, or NULL if the
//  payload cannot be an argument (it holds a NUL byte).
static char *
s_command (sluice_worker_t *self, sluice_job_t *job)
{
    const char *command = self->config->command;
    if (self->config->pipe)
        return strdup (command);
    if (memchr (job->data, 0, job->size))
        return NULL;
    zchunk_t *buf = zchunk_new (NULL, strlen (command) + job->size + 16);
    const char *braces = strstr (command, "{}");
    if (!braces) {
        zchunk_extend (buf, command, strlen (command));
        zchunk_extend (buf, " ", 1);
        s_quote (buf, job->data, job->size);
    }
    else {
        const char *p = command;
        while (braces) {
            zchunk_extend (buf, p, (size_t) (braces - p));
            s_quote (buf, job->data, job->size);
            p = braces + 2;
            braces = strstr (p, "{}");
        }
        zchunk_extend (buf, p, strlen (p));
    }
    zchunk_extend (buf, "", 1);
    char *result = strdup ((const char *) zchunk_data (buf));
    zchunk_destroy (&buf);
    return result;
}

//  Spawn attributes for commands: their own process group, so a timeout
//  kills the whole command; default signal handling, since ours (SIGPIPE
//  ignored) must not leak into it.
static void
s_spawnattr (posix_spawnattr_t *attr)
{
    posix_spawnattr_init (attr);
    sigset_t defaults;
    sigemptyset (&defaults);
    sigaddset (&defaults, SIGPIPE);
    sigaddset (&defaults, SIGINT);
    sigaddset (&defaults, SIGTERM);
    posix_spawnattr_setsigdefault (attr, &defaults);
    sigset_t none;
    sigemptyset (&none);
    posix_spawnattr_setsigmask (attr, &none);
    posix_spawnattr_setpgroup (attr, 0);
    posix_spawnattr_setflags (attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF
                                    | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_USEVFORK);
}

//  Start the command for a job. Returns 0, or -1 with the job answered as
//  an error.
static int
s_spawn (sluice_worker_t *self, sluice_job_t *job)
{
    char *command = s_command (self, job);
    if (!command) {
        const char *message = "payload contains a NUL byte; use --pipe\n";
        sluice_worker_reply (self, job, SLUICE_STATUS_ERROR, 127, NULL, 0);
        zsys_warning ("task %" PRIu64 ": %s", job->id, message);
        return -1;
    }
    int out [2], in [2] = { -1, -1 };
    if (pipe2 (out, O_CLOEXEC)
    ||  (self->config->pipe && pipe2 (in, O_CLOEXEC))) {
        zsys_error ("cannot create pipe: %s", strerror (errno));
        free (command);
        sluice_worker_reply (self, job, SLUICE_STATUS_ERROR, 127, NULL, 0);
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, out [1], STDOUT_FILENO);
    if (self->config->pipe)
        posix_spawn_file_actions_adddup2 (&actions, in [0], STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    s_spawnattr (&attr);
    char *argv [] = { (char *) "sh", (char *) "-c", command, NULL };
    pid_t pid;
    int rc = posix_spawn (&pid, "/bin/sh", &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    free (command);
    close (out [1]);
    if (in [0] >= 0)
        close (in [0]);
    if (rc) {
        zsys_warning ("task %" PRIu64 ": cannot run /bin/sh: %s", job->id, strerror (rc));
        close (out [0]);
        if (in [1] >= 0)
            close (in [1]);
        sluice_worker_reply (self, job, SLUICE_STATUS_ERROR, 127, NULL, 0);
        return -1;
    }
    fcntl (out [0], F_SETFL, O_NONBLOCK);
    if (in [1] >= 0)
        fcntl (in [1], F_SETFL, O_NONBLOCK);
    job->pid = pid;
    job->out_fd = out [0];
    job->in_fd = in [1];
    job->in_done = 0;
    job->out_size = 0;
    job->too_big = false;
    job->timed_out = false;
    job->kill_stage = 0;
    job->deadline = self->config->task_timeout_ms
                  ? sluice_now_ms () + self->config->task_timeout_ms: 0;
    return 0;
}

//  Read what the command wrote to stdout; closes the pipe at EOF.
static void
s_read_output (sluice_worker_t *self, sluice_job_t *job)
{
    size_t limit = self->config->max_size > 4096? self->config->max_size - 4096: 0;
    while (true) {
        if (job->out_capacity - job->out_size < 65536) {
            job->out_capacity = job->out_capacity? job->out_capacity * 2: 65536;
            job->out = (uint8_t *) realloc (job->out, job->out_capacity);
            assert (job->out);
        }
        ssize_t n = read (job->out_fd, job->out + job->out_size,
                          job->out_capacity - job->out_size);
        if (n > 0) {
            if (job->out_size + (size_t) n > limit) {
                job->too_big = true;    //  keep reading so the command can finish
                continue;
            }
            job->out_size += (size_t) n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        close (job->out_fd);
        job->out_fd = -1;
        return;
    }
}

//  Feed the payload to the command's stdin (--pipe).
static void
s_write_input (sluice_job_t *job)
{
    while (job->in_done < job->size) {
        ssize_t n = write (job->in_fd, job->data + job->in_done, job->size - job->in_done);
        if (n > 0) {
            job->in_done += (size_t) n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        break;                  //  EPIPE: the command does not read its input
    }
    close (job->in_fd);
    job->in_fd = -1;
}

//  Reap a job whose output is closed; answer it. Returns true if done.
static bool
s_reap (sluice_worker_t *self, sluice_job_t *job)
{
    int wstatus;
    pid_t rc = waitpid (job->pid, &wstatus, WNOHANG);
    if (rc == 0)
        return false;
    if (job->in_fd >= 0) {
        close (job->in_fd);
        job->in_fd = -1;
    }
    int status = SLUICE_STATUS_OK, code = 0;
    if (rc < 0) {
        status = SLUICE_STATUS_ERROR;
        code = 127;
    }
    else
    if (WIFSIGNALED (wstatus)) {
        status = job->timed_out? SLUICE_STATUS_TIMEOUT: SLUICE_STATUS_SIGNAL;
        code = WTERMSIG (wstatus);
    }
    else
    if (WEXITSTATUS (wstatus)) {
        status = job->timed_out? SLUICE_STATUS_TIMEOUT: SLUICE_STATUS_EXIT;
        code = WEXITSTATUS (wstatus);
    }
    else
    if (job->timed_out)
        status = SLUICE_STATUS_TIMEOUT;
    if (job->too_big) {
        zsys_warning ("task %" PRIu64 ": output larger than --max-size; reported as error",
                      job->id);
        status = SLUICE_STATUS_ERROR;
        job->out_size = 0;
    }
    job->pid = 0;
    sluice_worker_reply (self, job, status, code, job->out, job->out_size);
    return true;
}

//  Kill commands past their --task-timeout: TERM, then KILL.
static void
s_timeouts (sluice_job_t *job, int64_t now)
{
    if (!job->pid || !job->deadline || now < job->deadline)
        return;
    if (job->kill_stage == 0) {
        zsys_warning ("task %" PRIu64 " exceeded --task-timeout; terminating", job->id);
        kill (-job->pid, SIGTERM);
        job->timed_out = true;
        job->kill_stage = 1;
        job->deadline = now + S_KILL_GRACE_MS;
    }
    else
    if (job->kill_stage == 1) {
        kill (-job->pid, SIGKILL);
        job->kill_stage = 2;
        job->deadline = 0;
    }
}

//  Run the --exec mode loop until interrupted and drained.
static int
s_run_exec (sluice_worker_t *self)
{
    size_t jobs = self->config->jobs;
    zmq_pollitem_t *items = (zmq_pollitem_t *) calloc (2 + 2 * self->pool,
                                                       sizeof (zmq_pollitem_t));
    sluice_job_t **owners = (sluice_job_t **) calloc (2 + 2 * self->pool,
                                                      sizeof (sluice_job_t *));
    assert (items && owners);
    int64_t drain_deadline = 0;
    while (true) {
        if (zsys_interrupted && !self->draining) {
            sluice_worker_drain (self);
            drain_deadline = sluice_now_ms () + self->config->grace_ms;
            zsys_info ("stopping: finishing %" PRIu64 " tasks in hand", self->held);
        }
        sluice_worker_service (self);
        //  start queued tasks in free slots
        while (self->running < jobs) {
            sluice_task_t task;
            sluice_job_t *job = sluice_worker_recv (self, &task);
            if (!job)
                break;
            s_spawn (self, job);
        }
        if (self->draining && self->held == 0)
            break;
        if (self->draining && sluice_now_ms () > drain_deadline) {
            zsys_warning ("grace period over: abandoning %" PRIu64 " tasks", self->held);
            break;
        }
        //  poll the sockets and every child pipe
        size_t n = 0;
        items [n++] = (zmq_pollitem_t) { self->tasks_handle, 0, ZMQ_POLLIN, 0 };
        items [n++] = (zmq_pollitem_t) { self->results_handle, 0,
                                         self->has_pending? ZMQ_POLLOUT: 0, 0 };
        int64_t now = sluice_now_ms ();
        //  wake up for the next progress report while tasks run
        int timeout = self->running && self->next_progress - now < 1000
                    ? (self->next_progress > now? (int) (self->next_progress - now): 0)
                    : 1000;
        for (size_t i = 0; i < self->pool; i++) {
            sluice_job_t *job = &self->jobs [i];
            if (!job->pid)
                continue;
            s_timeouts (job, now);
            if (job->deadline) {
                int64_t left = job->deadline - now;
                if (left < timeout)
                    timeout = left > 0? (int) left: 0;
            }
            if (job->out_fd >= 0) {
                owners [n] = job;
                items [n++] = (zmq_pollitem_t) { NULL, job->out_fd, ZMQ_POLLIN, 0 };
            }
            if (job->in_fd >= 0) {
                owners [n] = job;
                items [n++] = (zmq_pollitem_t) { NULL, job->in_fd, ZMQ_POLLOUT, 0 };
            }
            if (job->out_fd < 0 && job->in_fd < 0)
                timeout = timeout > 5? 5: timeout;  //  exited? reap soon
        }
        zmq_poll (items, (int) n, timeout);
        for (size_t i = 2; i < n; i++) {
            if (!items [i].revents)
                continue;
            sluice_job_t *job = owners [i];
            if (items [i].events & ZMQ_POLLIN)
                s_read_output (self, job);
            else
            if (job->in_fd >= 0)
                s_write_input (job);
        }
        for (size_t i = 0; i < self->pool; i++) {
            sluice_job_t *job = &self->jobs [i];
            if (job->pid && job->out_fd < 0)
                s_reap (self, job);
        }
    }
    free (items);
    free (owners);
    return SLUICE_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  --coproc: -j long-lived copies, one record in, one record out

typedef struct {
    pid_t pid;                  //  0 when not running
    int in_fd;                  //  its stdin, non-blocking
    int out_fd;                 //  its stdout, non-blocking
    zchunk_t *wbuf;             //  records not yet written to stdin
    size_t wdone;               //  bytes of wbuf written
    uint8_t *rbuf;              //  stdout bytes not yet split into records
    size_t rsize;
    size_t rcapacity;
    sluice_job_t *head;         //  jobs in flight, in order
    sluice_job_t *tail;
    size_t inflight;
    int64_t quiet_since;        //  last output, or when records were first in flight
    bool warned;                //  warned that it may buffer its output
} s_copy_t;

//  Start (or restart) one copy of the command. Returns 0 or -1.
static int
s_copy_start (sluice_worker_t *self, s_copy_t *copy)
{
    int in [2], out [2];
    if (pipe2 (in, O_CLOEXEC))
        return -1;
    if (pipe2 (out, O_CLOEXEC)) {
        close (in [0]);
        close (in [1]);
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, in [0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2 (&actions, out [1], STDOUT_FILENO);
    posix_spawnattr_t attr;
    s_spawnattr (&attr);
    char *argv [] = { (char *) "sh", (char *) "-c", self->config->command, NULL };
    int rc = posix_spawn (&copy->pid, "/bin/sh", &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    close (in [0]);
    close (out [1]);
    if (rc) {
        zsys_error ("cannot start --coproc command: %s", strerror (rc));
        close (in [1]);
        close (out [0]);
        copy->pid = 0;
        return -1;
    }
    fcntl (in [1], F_SETFL, O_NONBLOCK);
    fcntl (out [0], F_SETFL, O_NONBLOCK);
    copy->in_fd = in [1];
    copy->out_fd = out [0];
    zchunk_set (copy->wbuf, NULL, 0);
    copy->wdone = 0;
    copy->rsize = 0;
    copy->warned = false;
    return 0;
}

//  A copy died (or was killed): reap it, fail its first job with the exit
//  status, put the others back in the queue, and restart it.
static void
s_copy_died (sluice_worker_t *self, s_copy_t *copy, bool timed_out)
{
    if (copy->in_fd >= 0)
        close (copy->in_fd);
    if (copy->out_fd >= 0)
        close (copy->out_fd);
    copy->in_fd = copy->out_fd = -1;
    int wstatus = 0;
    if (copy->pid > 0) {
        kill (-copy->pid, SIGKILL);
        waitpid (copy->pid, &wstatus, 0);
    }
    copy->pid = 0;
    int status = timed_out? SLUICE_STATUS_TIMEOUT
               : WIFSIGNALED (wstatus)? SLUICE_STATUS_SIGNAL: SLUICE_STATUS_EXIT;
    int code = WIFSIGNALED (wstatus)? WTERMSIG (wstatus): WEXITSTATUS (wstatus);
    sluice_job_t *job = copy->head;
    copy->head = copy->tail = NULL;
    copy->inflight = 0;
    if (job) {
        sluice_job_t *rest = job->next;
        zsys_warning ("--coproc copy exited (%s %d) on task %" PRIu64 "; restarting",
                      sluice_status_name (status), code, job->id);
        sluice_worker_reply (self, job, status, code, NULL, 0);
        //  innocent bystanders run again on a fresh copy, not reported
        while (rest) {
            sluice_job_t *next = rest->next;
            rest->next = self->queue_head;
            self->queue_head = rest;
            if (!self->queue_tail)
                self->queue_tail = rest;
            self->running--;
            rest = next;
        }
    }
    if (!zsys_interrupted)
        s_copy_start (self, copy);
}

//  Split complete records off the copy's stdout; answer jobs in order.
static void
s_copy_read (sluice_worker_t *self, s_copy_t *copy)
{
    uint8_t delim = self->config->input == SLUICE_INPUT_NUL? 0: '\n';
    while (true) {
        if (copy->rcapacity - copy->rsize < 65536) {
            copy->rcapacity = copy->rcapacity? copy->rcapacity * 2: 131072;
            copy->rbuf = (uint8_t *) realloc (copy->rbuf, copy->rcapacity);
            assert (copy->rbuf);
        }
        ssize_t n = read (copy->out_fd, copy->rbuf + copy->rsize,
                          copy->rcapacity - copy->rsize);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (n <= 0) {
            if (copy->in_fd < 0 && copy->inflight == 0) {
                //  we closed its stdin (draining) and it answered everything
                close (copy->out_fd);
                copy->out_fd = -1;
                waitpid (copy->pid, NULL, 0);
                copy->pid = 0;
            }
            else
                s_copy_died (self, copy, false);
            return;
        }
        copy->rsize += (size_t) n;
        copy->quiet_since = sluice_now_ms ();
        size_t start = 0;
        while (start < copy->rsize) {
            uint8_t *end = (uint8_t *) memchr (copy->rbuf + start, delim, copy->rsize - start);
            if (!end)
                break;
            size_t len = (size_t) (end - copy->rbuf) - start;
            sluice_job_t *job = copy->head;
            if (job) {
                copy->head = job->next;
                if (!copy->head)
                    copy->tail = NULL;
                copy->inflight--;
                sluice_worker_reply (self, job, SLUICE_STATUS_OK, 0, copy->rbuf + start, len);
            }
            else
                sluice_warn_ratelimited (&self->limit, "--coproc wrote a line nobody asked for");
            start += len + 1;
        }
        memmove (copy->rbuf, copy->rbuf + start, copy->rsize - start);
        copy->rsize -= start;
    }
}

//  Write pending records to the copy's stdin.
static void
s_copy_write (sluice_worker_t *self, s_copy_t *copy)
{
    if (copy->in_fd < 0)
        return;
    size_t size = zchunk_size (copy->wbuf);
    while (copy->wdone < size) {
        ssize_t n = write (copy->in_fd, zchunk_data (copy->wbuf) + copy->wdone,
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

//  Run the --coproc mode loop until interrupted and drained.
static int
s_run_coproc (sluice_worker_t *self)
{
    size_t copies = self->config->jobs;
    size_t depth = self->pool / copies? self->pool / copies: 1;
    uint8_t delim = self->config->input == SLUICE_INPUT_NUL? 0: '\n';
    s_copy_t *copy = (s_copy_t *) calloc (copies, sizeof (s_copy_t));
    zmq_pollitem_t *items = (zmq_pollitem_t *) calloc (2 + 2 * copies, sizeof (zmq_pollitem_t));
    size_t *owner = (size_t *) calloc (2 + 2 * copies, sizeof (size_t));
    assert (copy && items && owner);
    for (size_t i = 0; i < copies; i++) {
        copy [i].wbuf = zchunk_new (NULL, 65536);
        copy [i].in_fd = copy [i].out_fd = -1;
        if (s_copy_start (self, &copy [i])) {
            for (size_t k = 0; k < i; k++)
                kill (copy [k].pid, SIGKILL);
            return SLUICE_EXIT_RUNTIME;
        }
    }
    int64_t drain_deadline = 0;
    while (true) {
        if (zsys_interrupted && !self->draining) {
            sluice_worker_drain (self);
            drain_deadline = sluice_now_ms () + self->config->grace_ms;
        }
        sluice_worker_service (self);
        //  hand queued tasks to the least loaded copies
        while (self->queue_head) {
            s_copy_t *best = NULL;
            for (size_t i = 0; i < copies; i++)
                if (copy [i].pid && copy [i].inflight < depth
                &&  (!best || copy [i].inflight < best->inflight))
                    best = &copy [i];
            if (!best)
                break;
            sluice_task_t task;
            sluice_job_t *job = sluice_worker_recv (self, &task);
            if (memchr (task.data, delim, task.size)) {
                sluice_worker_reply (self, job, SLUICE_STATUS_ERROR, 127, NULL, 0);
                sluice_warn_ratelimited (&self->limit, "task %" PRIu64 " contains the record "
                                         "delimiter; --coproc cannot frame it", task.id);
                continue;
            }
            if (best->inflight == 0)
                best->quiet_since = sluice_now_ms ();
            zchunk_extend (best->wbuf, task.data, task.size);
            zchunk_extend (best->wbuf, &delim, 1);
            if (best->tail)
                best->tail->next = job;
            else
                best->head = job;
            best->tail = job;
            best->inflight++;
        }
        if (self->draining && self->held == 0)
            break;
        if (self->draining && sluice_now_ms () > drain_deadline)
            break;
        //  draining with nothing queued: close each copy's stdin once its
        //  records are written, so a command that buffers its output
        //  flushes it at end of input, as it would at the end of a pipe
        for (size_t i = 0; self->draining && !self->queue_head && i < copies; i++)
            if (copy [i].pid && copy [i].in_fd >= 0
            &&  copy [i].wdone == zchunk_size (copy [i].wbuf)) {
                close (copy [i].in_fd);
                copy [i].in_fd = -1;
            }
        size_t n = 0;
        items [n++] = (zmq_pollitem_t) { self->tasks_handle, 0, ZMQ_POLLIN, 0 };
        items [n++] = (zmq_pollitem_t) { self->results_handle, 0,
                                         self->has_pending? ZMQ_POLLOUT: 0, 0 };
        for (size_t i = 0; i < copies; i++) {
            if (!copy [i].pid)
                continue;
            //  the classic coproc trap: a command that buffers its output
            //  when it is not a terminal never answers a single record
            if (copy [i].inflight && !copy [i].warned
            &&  sluice_now_ms () - copy [i].quiet_since > S_QUIET_WARN_MS) {
                zsys_warning ("--coproc copy %d has not answered for %d s with %zu records "
                              "in flight; does it buffer its output? (try stdbuf -oL, "
                              "sed -u, awk -W interactive, python3 -u)", (int) copy [i].pid,
                              S_QUIET_WARN_MS / 1000, copy [i].inflight);
                copy [i].warned = true;
            }
            //  the oldest task of a copy past --task-timeout: kill the copy
            sluice_job_t *head = copy [i].head;
            if (head && self->config->task_timeout_ms
            &&  (sluice_now_us () - head->started_us) / 1000 > self->config->task_timeout_ms) {
                s_copy_died (self, &copy [i], true);
                continue;
            }
            owner [n] = owner [n + 1] = i;
            items [n++] = (zmq_pollitem_t) { NULL, copy [i].out_fd, ZMQ_POLLIN, 0 };
            items [n++] = (zmq_pollitem_t) { NULL, copy [i].in_fd,
                                             copy [i].in_fd >= 0 && zchunk_size (copy [i].wbuf)
                                             ? ZMQ_POLLOUT: 0, 0 };
        }
        zmq_poll (items, (int) n, self->has_pending || sluice_encoder_count (self->outbox)? 1: 200);
        for (size_t k = 2; k + 1 < n; k += 2) {
            s_copy_t *c = &copy [owner [k]];
            if (items [k + 1].revents && c->pid && c->in_fd == items [k + 1].fd)
                s_copy_write (self, c);
            if (items [k].revents && c->pid && c->out_fd == items [k].fd)
                s_copy_read (self, c);
        }
        //  start writing new records at once rather than after a poll
        for (size_t i = 0; i < copies; i++)
            if (copy [i].pid && zchunk_size (copy [i].wbuf) > copy [i].wdone)
                s_copy_write (self, &copy [i]);
    }
    for (size_t i = 0; i < copies; i++) {
        if (copy [i].in_fd >= 0)
            close (copy [i].in_fd);
        if (copy [i].out_fd >= 0)
            close (copy [i].out_fd);
        if (copy [i].pid) {
            kill (-copy [i].pid, SIGTERM);
            waitpid (copy [i].pid, NULL, 0);
        }
        zchunk_destroy (&copy [i].wbuf);
        free (copy [i].rbuf);
    }
    free (copy);
    free (items);
    free (owner);
    return SLUICE_EXIT_OK;
}

//  Run the --echo mode loop until interrupted.
static int
s_run_echo (sluice_worker_t *self)
{
    while (!zsys_interrupted) {
        sluice_worker_service (self);
        zmq_pollitem_t items [2] = {
            { self->tasks_handle, 0, ZMQ_POLLIN, 0 },
            { self->results_handle, 0, self->has_pending? ZMQ_POLLOUT: 0, 0 }
        };
        zmq_poll (items, 2, self->has_pending || sluice_encoder_count (self->outbox)? 10: 500);
    }
    //  answered tasks still in the outbox leave before we go
    sluice_worker_drain (self);
    int64_t deadline = sluice_now_ms () + self->config->grace_ms;
    while ((self->has_pending || sluice_encoder_count (self->outbox))
       &&  sluice_now_ms () < deadline) {
        s_flush_outbox (self);
        zmq_pollitem_t item = { self->results_handle, 0, ZMQ_POLLOUT, 0 };
        zmq_poll (&item, 1, 100);
        s_send_pending (self);
    }
    return SLUICE_EXIT_OK;
}

int
sluice_worker_run (sluice_worker_t *self)
{
    int rc;
    if (self->config->mode == SLUICE_MODE_ECHO)
        rc = s_run_echo (self);
    else
    if (self->config->mode == SLUICE_MODE_COPROC)
        rc = s_run_coproc (self);
    else
        rc = s_run_exec (self);
    s_flush_outbox (self);
    int64_t deadline = sluice_now_ms () + 2000;
    while (self->has_pending && sluice_now_ms () < deadline) {
        zmq_pollitem_t item = { self->results_handle, 0, ZMQ_POLLOUT, 0 };
        zmq_poll (&item, 1, 100);
        s_send_pending (self);
    }
    if (!self->config->quiet)
        zsys_info ("%" PRIu64 " tasks done, %" PRIu64 " malformed messages dropped",
                   self->done, self->dropped);
    return rc;
}
