/*  =========================================================================
    worker.c - the worker core: credit, progress, outbox, job queue, sockets

    Flow control is by credit: the worker tells the ventilator how many
    tasks it will accept (free slots plus --prefetch) and the ventilator
    never sends more, so a late joiner or a fast worker beside a slow one
    gets its share and nothing queues without bound. A slot is released
    only when its result has left for the sink, so a slow sink stops the
    worker taking tasks. While a task runs the worker reports it in
    progress, and the ventilator renews its lease.

    Nothing here blocks. Results the sink cannot take yet wait in the
    outbox, a queue of packed RESULTS messages; they still hold their
    slots, so the outbox is bounded by the credit granted, and no credit
    is granted while it holds more than half the capacity. The results
    socket has ZMQ_IMMEDIATE, so with no sink connected results stay in
    our outbox (counted, and reported if we must leave without them)
    rather than in a libzmq pipe.

    Stopping (sluice_worker_run): the first SIGTERM/SIGINT drains, and the
    worker leaves once every result has left, at the end of --grace, or
    S_LINGER_MS after the last task in hand was answered if the sink takes
    nothing (what libzmq's linger used to allow); a second signal leaves
    at once. Leaving with results unsent logs how many.

    Embedding: sluice_worker_fd is an epoll fd holding the ZMQ_FD of both
    sockets and an eventfd; service reads ZMQ_EVENTS until it shows no
    POLLIN (ZMQ_FD is edge-triggered) and sets the eventfd for work no
    socket will signal. The runners for --exec and --coproc live in
    worker_exec.c and worker_coproc.c and use only that API.
    =========================================================================
*/

#include "private.h"
#include "worker_core.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define S_PROGRESS_MS 250           //  progress report period: well under
                                    //  the shortest useful lease (--timeout)
#define S_RESYNC_MS 1000            //  idle time before re-announcing credit
#define S_FLUSH_TASKS 256           //  results packed per message at most
#define S_FLUSH_BYTES (256 * 1024)
#define S_SERVICE_ROUNDS 64         //  socket rounds per service call at most
#define S_RESULTS_HWM 1000          //  messages libzmq holds per connected sink
#define S_LINGER_MS 5000            //  stopping: time results wait for a sink

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
};

//  A packed RESULTS message waiting for the sink.
typedef struct _s_packed_t s_packed_t;
struct _s_packed_t {
    s_packed_t *next;
    zmq_msg_t msg;
    uint64_t count;             //  results (and slots) it holds
};

//  The results outbox: results being packed into one message, then the
//  packed messages the sink has not taken yet, oldest first.
typedef struct {
    sluice_encoder_t *encoder;  //  results being packed
    uint8_t batch [SLUICE_BATCH_SIZE];  //  their batch
    size_t bytes;               //  their size, roughly
    s_packed_t *head;           //  packed messages waiting for the sink
    s_packed_t *tail;
    uint64_t unsent;            //  results in the outbox, packed or not
} s_outbox_t;

struct _sluice_worker_t {
    const sluice_config_t *config;
    zsock_t *tasks;             //  DEALER to the ventilator
    zsock_t *results;           //  PUSH to the sink
    void *tasks_handle;
    void *results_handle;
    int epoll_fd;               //  sluice_worker_fd: both ZMQ_FDs and wakeup
    int wakeup_fd;              //  eventfd: work that no socket signals
    bool woken;                 //  wakeup_fd is set
    sluice_encoder_t *control;  //  credit and progress messages
    s_outbox_t outbox;          //  results the sink has not taken yet
    //  credit
    sluice_credit_plan_t plan;  //  capacity (may adapt), pool, adaptive
    int64_t rate_ms;            //  start of the current rate interval
    uint64_t rate_done;         //  tasks done at its start
    uint64_t held;              //  received, not yet answered and sent
    uint64_t promised;          //  credit granted, tasks not yet arrived
    bool draining;              //  SIGTERM: take no more
    int64_t grace_end;          //  when draining must end, ms
    bool abandoned;             //  stopped with results unsent: no linger
    int64_t linger_from;        //  draining, all answered, results unsent since
    sig_atomic_t signals_seen;  //  stop signals turn has seen
    int64_t last_task_ms;       //  when a task last arrived
    int64_t last_resync_ms;
    int64_t next_progress;
    //  jobs
    sluice_job_t *jobs;         //  pool of plan.pool jobs
    sluice_job_t *free_jobs;
    sluice_job_t *queue_head;   //  received, not yet taken
    sluice_job_t *queue_tail;
    //  counts
    uint64_t done;
    uint64_t dropped;
    sluice_ratelimit_t limit;
};

//  --------------------------------------------------------------------------
//  Credit and prefetch policy (pure)

sluice_credit_plan_t
sluice_worker_credit_plan (sluice_mode_t mode, unsigned jobs, size_t prefetch)
{
    sluice_credit_plan_t plan = { 0, 0, false };
    plan.adaptive = prefetch == SIZE_MAX && mode == SLUICE_MODE_COPROC;
    if (prefetch == SIZE_MAX)
        prefetch = mode == SLUICE_MODE_ECHO? 8192
                 : mode == SLUICE_MODE_COPROC? (size_t) jobs * SLUICE_COPROC_MAX_DEPTH: 0;
    plan.capacity = (mode == SLUICE_MODE_ECHO? 0: jobs) + prefetch;
    if (plan.capacity == 0)
        plan.capacity = 1;
    plan.pool = plan.capacity;
    if (plan.adaptive)
        plan.capacity = (uint64_t) jobs * 4;
    return plan;
}

uint64_t
sluice_worker_credit_adapt (uint64_t done, int64_t elapsed_ms, unsigned jobs, uint64_t pool)
{
    //  a fast command gets a deep pipeline, a slow one does not hoard
    //  tasks its peers could run
    uint64_t want = elapsed_ms > 0? done * SLUICE_WORK_IN_HAND_MS / (uint64_t) elapsed_ms: 0;
    uint64_t floor = (uint64_t) jobs * 2;
    return want < floor? floor: want > pool? pool: want;
}

sluice_credit_t
sluice_worker_credit (const sluice_credit_state_t *state)
{
    sluice_credit_t none = { 0, false };
    uint64_t bound = state->capacity / 2? state->capacity / 2: 1;
    if (state->draining || state->unsent > bound)
        return none;
    uint64_t used = state->held + state->promised;
    uint64_t room = used < state->capacity? state->capacity - used: 0;
    uint64_t threshold = state->capacity / 4? state->capacity / 4: 1;
    if (room >= threshold)
        return (sluice_credit_t) { room, false };
    if (state->resync_due)
        return (sluice_credit_t) { state->capacity, true };
    return none;
}

//  --------------------------------------------------------------------------
//  Results outbox

//  Close the results being packed into a message at the outbox's tail.
static void
s_outbox_close (s_outbox_t *self)
{
    uint32_t count = sluice_encoder_count (self->encoder);
    if (!count)
        return;
    s_packed_t *packed = (s_packed_t *) calloc (1, sizeof *packed);
    assert (packed);
    int rc = sluice_encoder_take (self->encoder, &packed->msg);
    assert (rc == 0);
    packed->count = count;
    if (self->tail)
        self->tail->next = packed;
    else
        self->head = packed;
    self->tail = packed;
    sluice_encoder_begin_results (self->encoder, self->batch, sluice_identity ());
    self->bytes = 0;
}

//  Hand packed messages to libzmq while it takes them. Returns the number
//  of results sent (each frees a slot).
static uint64_t
s_outbox_send (s_outbox_t *self, void *socket)
{
    uint64_t sent = 0;
    while (self->head) {
        s_packed_t *packed = self->head;
        if (zmq_msg_send (&packed->msg, socket, ZMQ_DONTWAIT) < 0)
            break;
        self->head = packed->next;
        if (!self->head)
            self->tail = NULL;
        sent += packed->count;
        zmq_msg_close (&packed->msg);
        free (packed);
    }
    self->unsent -= sent;
    return sent;
}

//  Add one result to the outbox; closes the message being packed first
//  when the batch changes or it is full. Never sends.
static void
s_outbox_add (s_outbox_t *self, const uint8_t *batch, const sluice_result_t *result)
{
    uint32_t count = sluice_encoder_count (self->encoder);
    bool same = count && memcmp (batch, self->batch, SLUICE_BATCH_SIZE) == 0;
    if (!same || count >= S_FLUSH_TASKS || self->bytes >= S_FLUSH_BYTES) {
        s_outbox_close (self);
        memcpy (self->batch, batch, SLUICE_BATCH_SIZE);
        sluice_encoder_begin_results (self->encoder, batch, sluice_identity ());
    }
    sluice_encoder_result (self->encoder, result);
    self->bytes += result->output_size + result->input_size + 32;
    self->unsent++;
}

//  Drop everything in the outbox and its encoder.
static void
s_outbox_purge (s_outbox_t *self)
{
    while (self->head) {
        s_packed_t *packed = self->head;
        self->head = packed->next;
        zmq_msg_close (&packed->msg);
        free (packed);
    }
    self->tail = NULL;
    sluice_encoder_destroy (&self->encoder);
}

//  A task is answered: its result joins the outbox.
static void
s_answered (sluice_worker_t *self, const uint8_t *batch, const sluice_result_t *result)
{
    s_outbox_add (&self->outbox, batch, result);
    self->done++;
}

//  --------------------------------------------------------------------------
//  Construction

//  The results socket: like sluice_socket_new, plus ZMQ_IMMEDIATE (set
//  before connecting, where it takes effect), so that nothing queues in
//  libzmq for a sink that is not there. Returns NULL with err on failure.
static zsock_t *
s_results_socket (const sluice_config_t *config, char *err, size_t errlen)
{
    return sluice_socket_open (ZMQ_PUSH, config, config->results, S_RESULTS_HWM,
                               SLUICE_SOCKET_IMMEDIATE, err, errlen);
}

//  Allocate the job pool, all jobs free.
static void
s_jobs_new (sluice_worker_t *self)
{
    self->jobs = (sluice_job_t *) calloc (self->plan.pool, sizeof (sluice_job_t));
    assert (self->jobs);
    for (size_t i = 0; i < self->plan.pool; i++) {
        self->jobs [i].next = self->free_jobs;
        self->free_jobs = &self->jobs [i];
    }
}

//  Add a file descriptor to the epoll set. Returns 0 or -1.
static int
s_epoll_add (int epoll_fd, int fd)
{
    struct epoll_event event = { .events = EPOLLIN, .data.fd = fd };
    return epoll_ctl (epoll_fd, EPOLL_CTL_ADD, fd, &event);
}

//  Create the epoll set behind sluice_worker_fd. Returns 0, or -1 with err.
static int
s_epoll_new (sluice_worker_t *self, char *err, size_t errlen)
{
    int tasks_fd, results_fd;
    size_t size = sizeof (int);
    zmq_getsockopt (self->tasks_handle, ZMQ_FD, &tasks_fd, &size);
    zmq_getsockopt (self->results_handle, ZMQ_FD, &results_fd, &size);
    self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    self->wakeup_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (self->epoll_fd < 0 || self->wakeup_fd < 0
    ||  s_epoll_add (self->epoll_fd, tasks_fd) || s_epoll_add (self->epoll_fd, results_fd)
    ||  s_epoll_add (self->epoll_fd, self->wakeup_fd)) {
        snprintf (err, errlen, "cannot create the worker's epoll set: %s", strerror (errno));
        return -1;
    }
    return 0;
}

sluice_worker_t *
sluice_worker_new (const sluice_config_t *config, char *err, size_t errlen)
{
    sluice_log_init ();
    sluice_worker_t *self = (sluice_worker_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    self->epoll_fd = self->wakeup_fd = -1;
    //  a command that closes its stdin early must not kill the worker
    signal (SIGPIPE, SIG_IGN);
    self->plan = sluice_worker_credit_plan (config->mode, config->jobs, config->prefetch);
    s_jobs_new (self);
    self->control = sluice_encoder_new ();
    self->outbox.encoder = sluice_encoder_new ();
    //  credit bounds what arrives; results wait in our outbox, not in libzmq
    self->tasks = sluice_socket_new (ZMQ_DEALER, config, config->tasks, 1000, err, errlen);
    self->results = self->tasks? s_results_socket (config, err, errlen): NULL;
    if (!self->results) {
        sluice_worker_destroy (&self);
        return NULL;
    }
    self->tasks_handle = zsock_resolve (self->tasks);
    self->results_handle = zsock_resolve (self->results);
    if (s_epoll_new (self, err, errlen)) {
        sluice_worker_destroy (&self);
        return NULL;
    }
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
        //  results must leave (unless the sink is gone for good, or we
        //  were told to stop without them); credit and progress are
        //  worthless once we stop
        if (self->tasks)
            sluice_set_linger (self->tasks, 0);
        if (self->results)
            sluice_set_linger (self->results, self->abandoned? 0: S_LINGER_MS);
        zsock_destroy (&self->tasks);
        zsock_destroy (&self->results);
        if (self->epoll_fd >= 0)
            close (self->epoll_fd);
        if (self->wakeup_fd >= 0)
            close (self->wakeup_fd);
        s_outbox_purge (&self->outbox);
        sluice_encoder_destroy (&self->control);
        for (size_t i = 0; i < self->plan.pool; i++)
            free (self->jobs [i].data);
        free (self->jobs);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Accessors

int
sluice_worker_fd (sluice_worker_t *self)
{
    return self->epoll_fd;
}

const sluice_config_t *
sluice_worker_config (sluice_worker_t *self)
{
    return self->config;
}

size_t
sluice_worker_pool (sluice_worker_t *self)
{
    return self->plan.pool;
}

bool
sluice_worker_draining (sluice_worker_t *self)
{
    return self->draining;
}

//  --------------------------------------------------------------------------
//  Wakeup: the eventfd for work no socket will signal

//  Make sluice_worker_fd readable until the next service.
static void
s_wake (sluice_worker_t *self)
{
    if (!self->woken) {
        uint64_t one = 1;
        if (write (self->wakeup_fd, &one, sizeof one) == sizeof one)
            self->woken = true;
    }
}

//  Clear the wakeup (service is running now).
static void
s_unwake (sluice_worker_t *self)
{
    if (self->woken) {
        uint64_t value;
        if (read (self->wakeup_fd, &value, sizeof value) < 0)
            zsys_warning ("cannot read the worker's eventfd: %s", strerror (errno));
        self->woken = false;
    }
}

//  --------------------------------------------------------------------------
//  Credit and progress

//  Send the control encoder's message to the ventilator, if it can go.
static void
s_send_control (sluice_worker_t *self)
{
    size_t size;
    const uint8_t *data = sluice_encoder_data (self->control, &size);
    sluice_send (self->tasks_handle, data, size, ZMQ_DONTWAIT);
}

//  Send one CREDIT message.
static void
s_send_credit (sluice_worker_t *self, uint64_t credit, bool reset)
{
    uint64_t args [2] = { credit, reset };
    sluice_encoder_scalar (self->control, SLUICE_MSG_CREDIT, NULL, 2, args);
    s_send_control (self);
}

//  Adapt the capacity to the measured rate (--coproc, automatic prefetch).
static void
s_adapt (sluice_worker_t *self, int64_t now)
{
    if (self->plan.adaptive && now - self->rate_ms >= 100) {
        self->plan.capacity = sluice_worker_credit_adapt (self->done - self->rate_done,
                                                          now - self->rate_ms,
                                                          self->config->jobs, self->plan.pool);
        self->rate_ms = now;
        self->rate_done = self->done;
    }
}

//  Grant credit as the policy decides; a reset replaces what we promised.
static void
s_grant (sluice_worker_t *self)
{
    int64_t now = sluice_now_ms ();
    s_adapt (self, now);
    sluice_credit_state_t state = {
        .capacity = self->plan.capacity, .held = self->held, .promised = self->promised,
        .unsent = self->outbox.unsent, .draining = self->draining,
        //  idle with credit outstanding: a restarted ventilator may not
        //  know us, or tasks were lost in a reconnect
        .resync_due = self->held == 0 && now - self->last_task_ms >= S_RESYNC_MS
                   && now - self->last_resync_ms >= S_RESYNC_MS
    };
    sluice_credit_t credit = sluice_worker_credit (&state);
    if (credit.reset) {
        self->promised = credit.credit;
        self->last_resync_ms = now;
    }
    else
        self->promised += credit.credit;
    if (credit.credit || credit.reset)
        s_send_credit (self, credit.credit, credit.reset);
}

void
sluice_worker_drain (sluice_worker_t *self)
{
    if (!self->draining) {
        self->draining = true;
        self->grace_end = sluice_now_ms () + self->config->grace_ms;
        s_send_credit (self, 0, true);
        self->promised = 0;
    }
}

//  True if job is held long enough to report and belongs to batch.
static bool
s_reportable (const sluice_job_t *job, const uint8_t *batch, int64_t old)
{
    return job->received_us && job->received_us <= old
        && memcmp (job->batch, batch, SLUICE_BATCH_SIZE) == 0;
}

//  Send one PROGRESS message for the reportable jobs of lead's batch,
//  unless an earlier job of that batch already led one.
static void
s_progress_batch (sluice_worker_t *self, size_t lead, int64_t old)
{
    const uint8_t *batch = self->jobs [lead].batch;
    for (size_t k = 0; k < lead; k++)
        if (s_reportable (&self->jobs [k], batch, old))
            return;
    sluice_encoder_begin (self->control, SLUICE_MSG_PROGRESS, batch);
    for (size_t k = lead; k < self->plan.pool; k++)
        if (s_reportable (&self->jobs [k], batch, old))
            sluice_encoder_uints (self->control, 1, &self->jobs [k].id);
    s_send_control (self);
}

//  Report tasks held for a while (running or queued) so their leases are
//  renewed: one PROGRESS message per batch among them.
static void
s_progress (sluice_worker_t *self)
{
    int64_t now = sluice_now_ms ();
    if (now < self->next_progress)
        return;
    self->next_progress = now + S_PROGRESS_MS;
    int64_t old = sluice_now_us () - S_PROGRESS_MS * 1000;
    for (size_t i = 0; i < self->plan.pool; i++) {
        const sluice_job_t *lead = &self->jobs [i];
        if (lead->received_us && lead->received_us <= old)
            s_progress_batch (self, i, old);
    }
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
        s_answered (self, msg->batch, &result);
    }
    return taken;
}

//  Copy a task into a free job. Returns the job, or NULL if none is free.
static sluice_job_t *
s_job_fill (sluice_worker_t *self, const uint8_t *batch, const sluice_task_t *task)
{
    sluice_job_t *job = self->free_jobs;
    if (!job)
        return NULL;
    self->free_jobs = job->next;
    job->next = NULL;
    memcpy (job->batch, batch, SLUICE_BATCH_SIZE);
    job->id = task->id;
    job->attempt = task->attempt;
    job->flags = task->flags;
    if (job->capacity < task->size) {
        free (job->data);
        job->capacity = task->size;
        job->data = (uint8_t *) malloc (task->size);
        assert (job->data);
    }
    if (task->size)
        memcpy (job->data, task->data, task->size);
    job->size = task->size;
    job->received_us = sluice_now_us ();
    return job;
}

//  Queue every task of a message as a job. Returns the number read.
static uint32_t
s_enqueue (sluice_worker_t *self, sluice_msg_t *msg)
{
    sluice_task_t task;
    uint32_t taken = 0;
    while (sluice_msg_next_task (msg, &task) > 0) {
        taken++;
        sluice_job_t *job = s_job_fill (self, msg->batch, &task);
        if (!job) {
            //  more than we granted: the ventilator will re-send on lease expiry
            self->held--;
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "dropped task beyond granted credit");
            continue;
        }
        if (self->queue_tail)
            self->queue_tail->next = job;
        else
            self->queue_head = job;
        self->queue_tail = job;
        s_wake (self);
    }
    return taken;
}

//  Take in one message from the tasks socket: echo or queue its tasks.
static void
s_take_message (sluice_worker_t *self, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason = "not a TASKS message";
    if (zmq_msg_more (body)
    ||  sluice_msg_open (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason)
    ||  msg.type != SLUICE_MSG_TASKS) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed task message "
                                 "(%zu bytes): %s", zmq_msg_size (body), reason);
        return;
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
                                 "(%zu bytes): malformed list item", zmq_msg_size (body));
    }
}

//  Read every message the tasks socket has now. Returns 0, or -1 if the
//  ZeroMQ context is gone (fatal).
static int
s_recv_tasks (sluice_worker_t *self)
{
    while (true) {
        zmq_msg_t body;
        zmq_msg_init (&body);
        if (zmq_msg_recv (&body, self->tasks_handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&body);
            return errno == ETERM? -1: 0;
        }
        s_take_message (self, &body);
        zmq_msg_close (&body);
    }
}

//  ZMQ_EVENTS of a socket; reading it re-arms the socket's ZMQ_FD.
static int
s_events (void *handle)
{
    int events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt (handle, ZMQ_EVENTS, &events, &size))
        return 0;
    return events;
}

//  One round over the sockets: read tasks, send results, credit and
//  progress. Returns true if a socket still has work (another round);
//  sets *fatal if the ZeroMQ context is gone.
static bool
s_service_round (sluice_worker_t *self, bool *fatal)
{
    if (s_recv_tasks (self)) {
        *fatal = true;
        return false;
    }
    s_outbox_close (&self->outbox);
    self->held -= s_outbox_send (&self->outbox, self->results_handle);
    s_grant (self);
    s_progress (self);
    //  sends may have consumed ZMQ_FD's edge: ask both sockets afresh
    bool more = (s_events (self->tasks_handle) & ZMQ_POLLIN) != 0;
    if ((s_events (self->results_handle) & ZMQ_POLLOUT) && self->outbox.head)
        more = true;
    return more;
}

int
sluice_worker_service (sluice_worker_t *self)
{
    s_unwake (self);
    bool more = true, fatal = false;
    for (int round = 0; more && round < S_SERVICE_ROUNDS; round++)
        more = s_service_round (self, &fatal);
    if (fatal)
        return -1;
    //  a busy socket: come back soon rather than starve the caller (new
    //  tasks have already set the wakeup: they wait for recv)
    if (more)
        s_wake (self);
    return self->draining && self->held == 0? 1: 0;
}

int64_t
sluice_worker_timeout (sluice_worker_t *self)
{
    if (self->woken || sluice_encoder_count (self->outbox.encoder))
        return 0;
    int64_t now = sluice_now_ms ();
    int64_t due = now + 1000;
    if (self->held && self->next_progress < due)
        due = self->next_progress;
    int64_t resync = (self->last_task_ms > self->last_resync_ms
                      ? self->last_task_ms: self->last_resync_ms) + S_RESYNC_MS;
    if (!self->held && !self->draining && resync < due)
        due = resync;
    return due > now? due - now: 0;
}

//  --------------------------------------------------------------------------
//  Jobs

sluice_job_t *
sluice_worker_recv (sluice_worker_t *self, sluice_task_t *task)
{
    sluice_job_t *job = self->queue_head;
    if (!job) {
        s_unwake (self);        //  the caller has seen every task
        return NULL;
    }
    self->queue_head = job->next;
    if (!self->queue_head)
        self->queue_tail = NULL;
    job->next = NULL;
    job->started_us = sluice_now_us ();
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
    s_answered (self, job->batch, &result);
    job->started_us = 0;
    job->received_us = 0;
    job->next = self->free_jobs;
    self->free_jobs = job;
}

void
sluice_worker_requeue (sluice_worker_t *self, sluice_job_t *job)
{
    job->started_us = 0;
    job->next = self->queue_head;
    self->queue_head = job;
    if (!self->queue_tail)
        self->queue_tail = job;
    s_wake (self);
}

//  --------------------------------------------------------------------------
//  Running as a program: signals, grace, the echo loop

static volatile sig_atomic_t s_signals;     //  SIGTERM/SIGINT seen by sluice_worker_run
static int s_signal_fd = -1;                //  eventfd in the worker's epoll set

//  Count a stop signal and wake the loop, even one about to poll;
//  zsys_interrupted too, for code that reads it.
static void
s_on_signal (int signum)
{
    (void) signum;
    s_signals = s_signals + 1;
    zsys_interrupted = 1;
    uint64_t one = 1;
    if (s_signal_fd >= 0 && write (s_signal_fd, &one, sizeof one) < 0)
        s_signal_fd = -1;
}

//  Create the signal eventfd and add it to the worker's epoll set (or,
//  with close_it, remove and close it).
static void
s_signal_fd_open (sluice_worker_t *self, bool close_it)
{
    if (close_it) {
        int fd = s_signal_fd;
        s_signal_fd = -1;
        if (fd >= 0) {
            epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
            close (fd);
        }
        return;
    }
    int fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd >= 0 && s_epoll_add (self->epoll_fd, fd) == 0)
        s_signal_fd = fd;
    else
    if (fd >= 0)
        close (fd);
}

//  Clear the signal eventfd once a new signal has been seen.
static void
s_signal_seen (sluice_worker_t *self)
{
    if (self->signals_seen != s_signals) {
        self->signals_seen = s_signals;
        uint64_t value;
        if (s_signal_fd >= 0 && read (s_signal_fd, &value, sizeof value) < 0)
            sluice_debug ("signal eventfd: %s", strerror (errno));
    }
}

//  Install (or, with old, restore) the SIGTERM/SIGINT handlers.
static void
s_signals_catch (struct sigaction *old, bool restore)
{
    if (restore) {
        sigaction (SIGTERM, &old [0], NULL);
        sigaction (SIGINT, &old [1], NULL);
        return;
    }
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, &old [0]);
    sigaction (SIGINT, &action, &old [1]);
}

//  Stop without the results the sink has not taken: say how many.
static void
s_abandon (sluice_worker_t *self, const char *why)
{
    zsys_warning ("%s: abandoning %" PRIu64 " tasks in hand, %" PRIu64 " results unsent",
                  why, self->held - self->outbox.unsent, self->outbox.unsent);
    self->abandoned = true;
}

int
sluice_worker_turn (sluice_worker_t *self)
{
    s_signal_seen (self);
    if (s_signals >= 2) {
        s_abandon (self, "second signal");
        return 1;
    }
    if (s_signals && !self->draining) {
        zsys_info ("stopping: finishing %" PRIu64 " tasks in hand", self->held);
        sluice_worker_drain (self);
    }
    int64_t now = sluice_now_ms ();
    if (self->draining && now > self->grace_end && self->held) {
        s_abandon (self, "grace period over");
        return 1;
    }
    //  every task answered, results waiting for a sink: wait for it as
    //  long as libzmq's linger would have, not the whole grace
    bool answered = self->draining && self->held && self->held == self->outbox.unsent;
    self->linger_from = answered? (self->linger_from? self->linger_from: now): 0;
    if (answered && now - self->linger_from > S_LINGER_MS) {
        s_abandon (self, "the sink did not take the results");
        return 1;
    }
    return sluice_worker_service (self) != 0;
}

int
sluice_worker_poll (sluice_worker_t *self, struct pollfd *fds, size_t n, int max_ms)
{
    int64_t timeout = sluice_worker_timeout (self);
    if (timeout > max_ms)
        timeout = max_ms;
    fds [0] = (struct pollfd) { .fd = self->epoll_fd, .events = POLLIN, .revents = 0 };
    return poll (fds, (nfds_t) n, (int) timeout);
}

//  Run --echo: tasks are answered inside service.
static int
s_run_echo (sluice_worker_t *self)
{
    struct pollfd fds [1];
    while (!sluice_worker_turn (self))
        sluice_worker_poll (self, fds, 1, 1000);
    return SLUICE_EXIT_OK;
}

int
sluice_worker_run (sluice_worker_t *self)
{
    struct sigaction old [2];
    s_signals = 0;
    s_signal_fd_open (self, false);
    s_signals_catch (old, false);
    int rc = self->config->mode == SLUICE_MODE_ECHO? s_run_echo (self)
           : self->config->mode == SLUICE_MODE_COPROC? sluice_worker_coproc_run (self)
           : sluice_worker_exec_run (self);
    s_signals_catch (old, true);
    s_signal_fd_open (self, true);
    if (!self->config->quiet)
        zsys_info ("%" PRIu64 " tasks done, %" PRIu64 " malformed messages dropped",
                   self->done, self->dropped);
    return rc;
}
