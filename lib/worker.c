/*  =========================================================================
    worker.c - the worker core: credit, progress, the results hold, sockets

    Flow control is by credit: the worker tells the ventilator how many
    tasks it will accept (free slots plus prefetch) and the ventilator
    never sends more, so a late joiner or a fast worker beside a slow one
    gets its share and nothing queues without bound. A slot is released
    when its result has left for the sink, so a slow sink stops the worker
    taking tasks. While a task runs the worker reports it in progress, and
    the ventilator renews its lease.

    The results hold (protocol 2). A result is kept, packed in its RESULTS
    message, from the moment it is answered until the sink says STORED for
    it: a connection that dies with results in its libzmq pipe loses
    nothing, because everything not STORED is sent again at once when the
    results socket completes a new handshake (socket monitor), and again
    if not STORED within S_RESEND_MS of its last send. The sink's duplicate
    filter makes a re-send harmless. PROGRESS lists held results too, so
    the ventilator renews their leases while the sink is out of reach: no
    task runs twice for an outage between a live worker and the sink. The
    hold is bounded (S_HOLD_RESULTS results, S_HOLD_BYTES bytes); while it
    is full no credit is granted. The results DEALER has ZMQ_IMMEDIATE, so
    with no sink connected nothing queues in libzmq at all.

    Nothing here blocks. Warnings come from the two sockets' monitors: no
    ventilator, or no sink, for S_WARN_MS (with the reason: refused, no
    answer, cannot resolve host), and a handshake that failed (a peer that
    is not what the socket expects), each once per episode.

    Stopping (sluice_worker_run): the first SIGTERM/SIGINT drains, and the
    worker leaves once every result is STORED, at the end of --grace, or
    S_LINGER_MS after the last task in hand was answered if the sink stores
    nothing; a second signal leaves at once. Leaving with results not
    stored logs how many.

    Embedding: sluice_worker_fd is an epoll fd holding the ZMQ_FD of both
    sockets and of their monitors, and an eventfd; service reads ZMQ_EVENTS
    until it shows no POLLIN (ZMQ_FD is edge-triggered) and sets the
    eventfd for work no socket will signal. The runners for --exec and
    --coproc live in worker_exec.c and worker_coproc.c and use only that API.
    =========================================================================
*/

#include "private.h"
#include "monitor.h"
#include "worker_core.h"
#include "termseq.h"
#include "ledger.h"

#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define S_PROGRESS_MS 250           //  progress report period: well under
                                    //  the shortest useful lease (--timeout)
#define S_HEARTBEAT_MS 250          //  CREDIT [0, 0] when nothing else went
#define S_RESYNC_MS 1000            //  idle time before re-announcing credit
#define S_RECEIPT_MS 5              //  idle this long after the last STORED:
                                    //  send the receipt (protocol 5.1)
#define S_FLUSH_TASKS 256           //  results packed per message at most
#define S_FLUSH_BYTES (256 * 1024)
#define S_SERVICE_ROUNDS 64         //  socket rounds per service call at most
#define S_RESULTS_HWM 1000          //  messages libzmq holds per connected sink
#define S_LINGER_MS 5000            //  stopping: time results wait for STORED
#define S_RESEND_MS 5000            //  re-send what is not STORED this long
#define S_RETRY_MS 100              //  a re-send libzmq refused is tried again after
#define S_HOLD_RESULTS 65536        //  results held until STORED, at most
#define S_HOLD_BYTES (128 << 20)    //  and their bytes (one larger message still fits)
#define S_WARN_MS 5000              //  a peer missing this long is worth a warning
#define S_RTT_MAX_MS 1000           //  a longer credit-to-tasks wait is no round trip
#define S_RTT_SAMPLES 8             //  the round trip is the least of these
#define S_DROPPED_MAX 16            //  dropped batches remembered

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
    char *command;              //  --pool: the batch's command line, buffer reused
    size_t command_capacity;
    uint32_t command_flags;     //  its batch's command flags (0 if none): --pool
                                //  runs by them all, a fixed command by ARGS
};

//  A packed RESULTS message, held from its packing until STORED covers
//  every result in it.
typedef struct _s_packed_t s_packed_t;
struct _s_packed_t {
    s_packed_t *next;
    zmq_msg_t msg;              //  the message; copies of it are sent
    uint8_t batch [SLUICE_BATCH_SIZE];
    uint64_t *ids;              //  its results' task ids, 0 once STORED
    uint32_t count;             //  results (and, until sent, slots) it holds
    uint32_t left;              //  results not yet STORED
    uint64_t min_id, max_id;    //  range of ids, to skip it quickly
    int64_t packed_ms;          //  when it was packed
    int64_t sent_ms;            //  last send; 0 never sent; 1 due at once
};

//  The results outbox and hold: results being packed into one message,
//  then every packed message not yet fully STORED, in packing order. The
//  messages never sent are a suffix of the list, from first_unsent.
typedef struct {
    sluice_encoder_t *encoder;  //  results being packed
    uint8_t batch [SLUICE_BATCH_SIZE];  //  their batch
    size_t bytes;               //  their size, roughly (32 bytes a result over)
    int64_t first_ms;           //  when the first of them was added
    size_t payload_max;         //  what a message may carry (--max-size)
    uint64_t *ids;              //  their ids (S_FLUSH_TASKS)
    s_packed_t *head;           //  held messages, oldest first
    s_packed_t *tail;
    s_packed_t *first_unsent;   //  first message never sent, or NULL
    uint64_t unsent;            //  results never sent, packed or not
    uint64_t results;           //  results held (not STORED), packed or not
    uint64_t held_bytes;        //  bytes of the held messages
    int64_t next_resend_ms;     //  earliest re-send due
    int64_t disconnected_ms;    //  when a results connection was last seen to die
    uint64_t sent;              //  results sent once (summary)
    uint64_t resent;            //  results sent again
    uint64_t stored;            //  results STORED
} s_outbox_t;

//  A socket's monitor and the warnings it drives.
typedef struct {
    sluice_monitor_t *monitor;  //  connection events of the socket
    sluice_channel_t channel;   //  tasks or results
    const char *what;           //  "ventilator" or "sink": the peer expected
    char endpoint [256];        //  endpoints as configured, for messages
    bool warned_down;           //  warned for the current outage
    bool warned_handshake;      //  warned of a failed handshake since the last success
    char last_address [256];    //  address of the last event
    int64_t reached_ms;         //  last completed handshake
    bool inproc;                //  every endpoint inproc: no events, never down
} s_watch_t;

struct _sluice_worker_t {
    const sluice_config_t *config;
    zsock_t *tasks;             //  DEALER to the ventilator
    zsock_t *results;           //  DEALER to the sink
    void *tasks_handle;
    void *results_handle;
    s_watch_t tasks_watch;      //  the tasks socket's monitor
    s_watch_t results_watch;    //  the results socket's monitor
    sluice_security_t *security;    //  keys, or protected mode (security.c)
    int epoll_fd;               //  sluice_worker_fd: ZMQ_FDs and wakeup
    int wakeup_fd;              //  eventfd: work that no socket signals
    bool woken;                 //  wakeup_fd is set
    sluice_encoder_t *control;  //  credit and progress messages, receipts
    bool receipt_due;           //  one is due at receipt_ms if still idle
    int64_t receipt_ms;
    uint8_t receipt_batch [SLUICE_BATCH_SIZE];
    s_outbox_t outbox;          //  results the sink has not STORED yet
    char routing_id [256];      //  host:pid:N of the tasks DEALER
    //  credit
    sluice_credit_plan_t plan;  //  capacity (may adapt), pool, adaptive
    int64_t rate_ms;            //  start of the current rate interval
    uint64_t rate_done;         //  tasks done at its start
    double rate;                //  EWMA of completions per second
    double rtt [S_RTT_SAMPLES]; //  last credit-to-tasks round trips, ms
    size_t rtt_count;           //  samples taken (ring index)
    sluice_rtt_meter_t meter;   //  grants awaiting their first task
    double task_ms;             //  EWMA of the time one task takes, ms
    uint64_t held;              //  received, not yet answered and sent
    uint64_t promised;          //  credit granted, tasks not yet arrived
    bool draining;              //  SIGTERM: take no more
    int64_t grace_end;          //  when draining must end, ms
    bool abandoned;             //  stopped with results unsent: no linger
    int64_t linger_from;        //  draining, all answered, results not stored since
    unsigned signals_seen;      //  stop signals turn has seen (both kinds)
    atomic_uint interrupts;     //  sluice_worker_interrupt calls (any thread)
    int interrupt_fd;           //  eventfd in the epoll set: an interrupt came
    int64_t last_task_ms;       //  when a task last arrived
    int64_t clock_us;           //  a runner's time for recv and reply; 0: the clock
    int64_t last_resync_ms;
    int64_t last_control_ms;    //  when anything last went to the ventilator
    int64_t next_progress;
    //  jobs
    sluice_job_t *jobs;         //  pool of plan.pool jobs
    sluice_job_t *free_jobs;
    sluice_job_t *queue_head;   //  received, not yet taken
    sluice_job_t *queue_tail;
    size_t queue_count;         //  jobs in the queue
    sluice_range_t *stored;     //  a STORED message's ranges, as read (reused)
    size_t stored_alloc;
    //  batches: the command check (REFUSE) and DROP
    sluice_termseq_t termseq;   //  how a command is stopped (--termseq)
    bool stopping;              //  a stop signal: start nothing more
    uint8_t refused [SLUICE_BATCH_SIZE];    //  the batch last refused (logged once)
    bool has_refused;
    uint8_t gone [S_DROPPED_MAX][SLUICE_BATCH_SIZE];    //  batches dropped, a ring
    size_t gone_count;
    size_t gone_next;
    uint64_t drops;             //  DROPs taken (sluice_worker_drops)
    int64_t pack_ms;            //  a result waits this long for others (0: none)
    //  counts
    uint64_t done;              //  tasks answered
    uint64_t dropped;
    bool warned_sink_peer;      //  said that --tasks points at a sink
    uint64_t refused_tasks;     //  tasks of refused batches
    uint64_t discarded;         //  tasks and results of dropped batches
    uint64_t handed_back;       //  stopping: tasks handed back unstarted (HANDBACK)
    uint64_t beyond_credit;     //  tasks that came beyond our credit, handed back
    uint64_t stderr_truncated;  //  tasks whose stderr went past --stderr-max
    sluice_ratelimit_t limit;
};

//  --------------------------------------------------------------------------
//  Credit and prefetch policy (pure)

sluice_credit_plan_t
sluice_worker_credit_plan (sluice_mode_t mode, unsigned jobs, size_t prefetch)
{
    sluice_credit_plan_t plan = { 0, 0, false, false };
    bool automatic = prefetch == SIZE_MAX;
    plan.adaptive = automatic && mode == SLUICE_MODE_COPROC;
    plan.latency = automatic && mode != SLUICE_MODE_ECHO;
    //  --echo answers at once: its prefetch is its whole pipeline, and
    //  must cover a round trip at its rate (8,192 held one worker to
    //  180,000 tasks/s over a 45 ms round trip, half its loopback rate)
    if (automatic)
        prefetch = mode == SLUICE_MODE_ECHO? 32768
                 : mode == SLUICE_MODE_COPROC? (size_t) jobs * SLUICE_COPROC_MAX_DEPTH: 0;
    plan.capacity = (mode == SLUICE_MODE_ECHO? 0: jobs) + prefetch;
    if (plan.capacity == 0)
        plan.capacity = 1;
    plan.pool = plan.capacity;
    if (plan.adaptive)
        plan.capacity = (uint64_t) jobs * 4;
    //  room for the largest prefetch the round trip may ask for
    if (plan.latency && mode == SLUICE_MODE_EXEC)
        plan.pool = plan.capacity + SLUICE_PREFETCH_MAX;
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

uint64_t
sluice_worker_prefetch (double rate, double rtt_ms)
{
    //  twice the tasks that complete during one round trip, or the tasks
    //  that complete in SLUICE_PREFETCH_IN_HAND_MS, whichever is more,
    //  rounded to the nearest. Across a 20 ms link at 100 tasks/s that is
    //  4 (the round trip's); on loopback the round trip asks for nothing,
    //  and the time in hand keeps a quick worker's slots fed: the least
    //  round trip measured (0.2 ms over tcp here) is not the one a credit
    //  takes while the commands keep both cores busy, and with one task in
    //  hand a slot idled after 6 commands in 10 (1000 /bin/echo at -j 2).
    //  A slow worker (20 tasks/s, 'sleep 0.1' at -j 2) holds none back
    //  from its peers; a quick one, a few milliseconds of work.
    if (!(rate > 0) || !(rtt_ms > 0))
        return 0;
    double trip = rate * rtt_ms / 1000.0 * 2;
    double in_hand = rate * SLUICE_PREFETCH_IN_HAND_MS / 1000.0;
    double want = floor ((trip > in_hand? trip: in_hand) + 0.5);
    return want >= SLUICE_PREFETCH_MAX? SLUICE_PREFETCH_MAX: (uint64_t) want;
}

double
sluice_worker_rtt (const double *samples, size_t n)
{
    //  the least recent sample: a wait for a ventilator that had no task
    //  for us (at the start, between batches) is not the network's
    double least = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || samples [i] < least)
            least = samples [i];
    return least;
}

void
sluice_rtt_meter_credit (sluice_rtt_meter_t *self, uint64_t credit, bool reset, int64_t now_us)
{
    if (reset) {
        self->count = 0;
        self->granted = self->received;
    }
    if (!credit)
        return;
    if (self->count == SLUICE_RTT_PENDING) {
        //  too many grants in flight: forget the oldest
        self->head = (self->head + 1) % SLUICE_RTT_PENDING;
        self->count--;
    }
    size_t tail = (self->head + self->count++) % SLUICE_RTT_PENDING;
    self->sent_us [tail] = now_us;
    self->first [tail] = self->granted + 1;
    self->granted += credit;
}

double
sluice_rtt_meter_tasks (sluice_rtt_meter_t *self, uint64_t count, int64_t now_us)
{
    self->received += count;
    double rtt_ms = -1;
    while (self->count && self->first [self->head] <= self->received) {
        rtt_ms = (double) (now_us - self->sent_us [self->head]) / 1000.0;
        self->head = (self->head + 1) % SLUICE_RTT_PENDING;
        self->count--;
    }
    return rtt_ms;
}

double
sluice_worker_task_rate (double completed_per_s, unsigned jobs, double mean_task_ms)
{
    double can = mean_task_ms > 0? (double) jobs * 1000.0 / mean_task_ms: 0;
    return can > completed_per_s? can: completed_per_s;
}

double
sluice_worker_ewma (double old, double sample, double weight)
{
    return old > 0? old + (sample - old) * weight: sample;
}

sluice_credit_t
sluice_worker_credit (const sluice_credit_state_t *state)
{
    sluice_credit_t none = { 0, false };
    uint64_t bound = state->capacity / 2? state->capacity / 2: 1;
    if (state->draining || state->hold_full || state->unsent > bound)
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
//  Results outbox and hold

//  Create the outbox's encoder and id buffer.
static void
s_outbox_init (s_outbox_t *self)
{
    self->encoder = sluice_encoder_new ();
    self->ids = (uint64_t *) calloc (S_FLUSH_TASKS, sizeof (uint64_t));
    assert (self->ids);
}

//  Close the results being packed into a held message at the tail.
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
    memcpy (packed->batch, self->batch, SLUICE_BATCH_SIZE);
    packed->ids = (uint64_t *) malloc (count * sizeof (uint64_t));
    assert (packed->ids);
    memcpy (packed->ids, self->ids, count * sizeof (uint64_t));
    packed->count = packed->left = count;
    packed->min_id = UINT64_MAX;
    for (uint32_t i = 0; i < count; i++) {
        if (packed->ids [i] < packed->min_id)
            packed->min_id = packed->ids [i];
        if (packed->ids [i] > packed->max_id)
            packed->max_id = packed->ids [i];
    }
    packed->packed_ms = sluice_now_ms ();
    self->held_bytes += zmq_msg_size (&packed->msg);
    if (self->tail)
        self->tail->next = packed;
    else
        self->head = packed;
    self->tail = packed;
    if (!self->first_unsent)
        self->first_unsent = packed;
    sluice_encoder_begin_results (self->encoder, self->batch, sluice_identity ());
    self->bytes = 0;
}

//  Send one held message (a copy: the original stays until STORED).
//  Returns 0, or -1 if libzmq cannot take it now.
static int
s_outbox_send_one (s_packed_t *packed, void *socket, int64_t now)
{
    zmq_msg_t copy;
    zmq_msg_init (&copy);
    if (zmq_msg_copy (&copy, &packed->msg) || zmq_msg_send (&copy, socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&copy);
        return -1;
    }
    packed->sent_ms = now;
    return 0;
}

//  Send again every held message that was sent and is due: marked for
//  re-send (a new handshake) or not STORED within S_RESEND_MS.
static void
s_outbox_resend (s_outbox_t *self, void *socket, int64_t now)
{
    if (now < self->next_resend_ms)
        return;
    self->next_resend_ms = INT64_MAX;
    for (s_packed_t *packed = self->head; packed && packed != self->first_unsent;
         packed = packed->next) {
        int64_t due = packed->sent_ms == 1? 0: packed->sent_ms + S_RESEND_MS;
        if (due <= now) {
            if (s_outbox_send_one (packed, socket, now)) {
                //  libzmq cannot take it now: try again soon, not in a spin
                self->next_resend_ms = now + S_RETRY_MS;
                return;
            }
            self->resent += packed->left;
            due = now + S_RESEND_MS;
        }
        if (due < self->next_resend_ms)
            self->next_resend_ms = due;
    }
}

//  Hand new messages, then due re-sends, to libzmq while it takes them.
//  Returns the number of results sent for the first time (each frees a
//  slot).
static uint64_t
s_outbox_send (s_outbox_t *self, void *socket)
{
    int64_t now = sluice_now_ms ();
    uint64_t sent = 0;
    while (self->first_unsent) {
        s_packed_t *packed = self->first_unsent;
        if (s_outbox_send_one (packed, socket, now))
            break;
        sent += packed->count;
        self->first_unsent = packed->next;
        if (now + S_RESEND_MS < self->next_resend_ms)
            self->next_resend_ms = now + S_RESEND_MS;
    }
    self->unsent -= sent;
    self->sent += sent;
    s_outbox_resend (self, socket, now);
    return sent;
}

//  A new handshake on the results socket: whatever was sent before the
//  last connection was seen to die, and is not STORED, may have died in
//  its pipe; send it again now. (With ZMQ_IMMEDIATE nothing is sent while
//  no connection is up, so after a first handshake there is nothing.)
static void
s_outbox_resend_lost (s_outbox_t *self)
{
    for (s_packed_t *packed = self->head; packed && packed != self->first_unsent;
         packed = packed->next)
        if (packed->sent_ms <= self->disconnected_ms) {
            packed->sent_ms = 1;
            self->next_resend_ms = 0;
        }
}

//  Unlink and free a held message (prev is the one before it, or NULL).
static void
s_outbox_unlink (s_outbox_t *self, s_packed_t *prev, s_packed_t *packed)
{
    if (prev)
        prev->next = packed->next;
    else
        self->head = packed->next;
    if (self->tail == packed)
        self->tail = prev;
    if (self->first_unsent == packed)
        self->first_unsent = packed->next;
    self->held_bytes -= zmq_msg_size (&packed->msg);
    zmq_msg_close (&packed->msg);
    free (packed->ids);
    free (packed);
}

//  Free the held results of batch that STORED's ranges name (sorted and
//  disjoint, as sluice_ranges_resolve makes them), in one walk over the
//  held messages, however many ranges: with -j copies answering in turn,
//  the sink's ranges are often one id each, and a walk per range (each
//  looking at every id of the messages it overlaps) took 39 % of a
//  --coproc worker. Returns the results freed that were never sent.
static uint64_t
s_outbox_stored (s_outbox_t *self, const uint8_t *batch, const sluice_range_t *ranges,
                 size_t count)
{
    uint64_t freed = 0;
    if (!count)
        return 0;
    uint64_t low = ranges [0].first, high = ranges [count - 1].last;
    bool unsent = false;
    s_packed_t *prev = NULL, *packed = self->head;
    while (packed) {
        s_packed_t *next = packed->next;
        if (packed == self->first_unsent)
            unsent = true;
        if (packed->max_id >= low && packed->min_id <= high
        &&  memcmp (packed->batch, batch, SLUICE_BATCH_SIZE) == 0) {
            for (uint32_t i = 0; i < packed->count; i++)
                if (packed->ids [i] && sluice_ranges_find (ranges, count, packed->ids [i])) {
                    packed->ids [i] = 0;
                    packed->left--;
                    self->results--;
                    self->stored++;
                }
            if (packed->left == 0) {
                if (unsent) {
                    freed += packed->count;
                    self->unsent -= packed->count;
                }
                s_outbox_unlink (self, prev, packed);
                packed = next;
                continue;
            }
        }
        prev = packed;
        packed = next;
    }
    return freed;
}

//  Add one result to the outbox; closes the message being packed first
//  when the batch changes or it is full. Never sends.
static void
s_outbox_add (s_outbox_t *self, const uint8_t *batch, const sluice_result_t *result)
{
    uint32_t count = sluice_encoder_count (self->encoder);
    bool same = count && memcmp (batch, self->batch, SLUICE_BATCH_SIZE) == 0;
    size_t size = result->output_size + result->input_size + result->stderr_size + 32;
    //  a large result goes in a message of its own: packed after others it
    //  could take the message over the sink's --max-size (which may be
    //  less than ours), and the sink's libzmq would drop the connection,
    //  and the re-sent message with it, again and again
    if (!same || count >= S_FLUSH_TASKS || self->bytes >= S_FLUSH_BYTES
    ||  size >= S_FLUSH_BYTES || self->bytes + size > self->payload_max) {
        s_outbox_close (self);
        memcpy (self->batch, batch, SLUICE_BATCH_SIZE);
        sluice_encoder_begin_results (self->encoder, batch, sluice_identity ());
        count = 0;
    }
    if (count == 0)
        self->first_ms = sluice_now_ms ();
    sluice_encoder_result (self->encoder, result);
    self->ids [count] = result->id;
    self->bytes += size;
    self->unsent++;
    self->results++;
}

//  True while the hold is full: no more credit until STORED frees it.
static bool
s_outbox_full (const s_outbox_t *self)
{
    return self->results >= S_HOLD_RESULTS || self->held_bytes >= S_HOLD_BYTES;
}

//  Drop everything in the outbox and its encoder.
static void
s_outbox_purge (s_outbox_t *self)
{
    while (self->head)
        s_outbox_unlink (self, NULL, self->head);
    sluice_encoder_destroy (&self->encoder);
    free (self->ids);
    self->ids = NULL;
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

//  Write a normalized endpoint list without its @ and > markers.
static void
s_endpoint_text (const char *endpoints, char *buf, size_t buflen)
{
    size_t used = 0;
    for (const char *p = endpoints; *p && used + 1 < buflen; p++) {
        bool marker = (*p == '@' || *p == '>') && (p == endpoints || p [-1] == ',');
        if (!marker)
            buf [used++] = *p;
    }
    buf [used] = 0;
}

//  True if every endpoint of a list is inproc:// (libzmq's monitor tells
//  nothing of those connections, and one in this process is never down).
static bool
s_inproc_only (const char *endpoints)
{
    const char *at = endpoints;
    while (*at) {
        at += *at == '@' || *at == '>';
        if (strncmp (at, "inproc://", 9))
            return false;
        const char *comma = strchr (at, ',');
        if (!comma)
            return true;
        at = comma + 1;
    }
    return false;
}

//  Create one of the worker's DEALERs: the shared options, a routing id
//  host:pid:N, a monitor started before the connects (to see every
//  event), then attach. Returns the socket, or NULL with err.
static zsock_t *
s_socket_new (sluice_worker_t *self, const char *endpoints, int hwm, bool immediate,
              s_watch_t *watch, char *routing_id, size_t idlen, char *err, size_t errlen)
{
    static int s_sockets;       //  sockets this process has made (N)
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock) {
        snprintf (err, errlen, "cannot create socket: %s", zmq_strerror (errno));
        return NULL;
    }
    sluice_socket_setup (sock, self->config);
    void *handle = zsock_resolve (sock);
    zmq_setsockopt (handle, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (handle, ZMQ_RCVHWM, &hwm, sizeof hwm);
    //  must precede the connects: queue nothing for a peer not connected
    if (immediate)
        zmq_setsockopt (handle, ZMQ_IMMEDIATE, &(int) { 1 }, sizeof (int));
    snprintf (routing_id, idlen, "%s:%d", sluice_identity (), ++s_sockets);
    zmq_setsockopt (handle, ZMQ_ROUTING_ID, routing_id, strlen (routing_id));
    s_endpoint_text (endpoints, watch->endpoint, sizeof watch->endpoint);
    watch->inproc = s_inproc_only (endpoints);
    watch->monitor = sluice_monitor_new (handle, err, errlen);
    if (!watch->monitor
    ||  sluice_attach (sock, self->security, watch->channel, endpoints, err, errlen)) {
        sluice_monitor_destroy (&watch->monitor);
        sluice_set_linger (sock, 0);
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
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
    self->interrupt_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (self->epoll_fd < 0 || self->wakeup_fd < 0 || self->interrupt_fd < 0
    ||  s_epoll_add (self->epoll_fd, self->interrupt_fd)
    ||  s_epoll_add (self->epoll_fd, tasks_fd) || s_epoll_add (self->epoll_fd, results_fd)
    ||  s_epoll_add (self->epoll_fd, sluice_monitor_fd (self->tasks_watch.monitor))
    ||  s_epoll_add (self->epoll_fd, sluice_monitor_fd (self->results_watch.monitor))
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
    self->epoll_fd = self->wakeup_fd = self->interrupt_fd = -1;
    atomic_init (&self->interrupts, 0);
    //  a command that closes its stdin early must not kill the worker
    signal (SIGPIPE, SIG_IGN);
    self->plan = sluice_worker_credit_plan (config->mode == SLUICE_MODE_POOL? SLUICE_MODE_EXEC
                                            : config->mode, config->jobs, config->prefetch);
    if (sluice_termseq_parse (config->termseq? config->termseq: SLUICE_TERMSEQ_DEFAULT,
                              &self->termseq))
        sluice_termseq_parse (SLUICE_TERMSEQ_DEFAULT, &self->termseq);
    s_jobs_new (self);
    self->control = sluice_encoder_new ();
    s_outbox_init (&self->outbox);
    self->outbox.payload_max = sluice_payload_max (config->max_size);
    self->tasks_watch.what = "ventilator";
    self->results_watch.what = "sink";
    self->tasks_watch.channel = SLUICE_CHANNEL_TASKS;
    self->results_watch.channel = SLUICE_CHANNEL_RESULTS;
    //  credit bounds what arrives; results wait in our hold, not in libzmq
    char results_id [256];
    self->security = sluice_security_new (config, err, errlen);
    self->tasks = !self->security? NULL: s_socket_new (self, config->tasks, 1000, false, &self->tasks_watch,
                                self->routing_id, sizeof self->routing_id, err, errlen);
    self->results = self->tasks
                  ? s_socket_new (self, config->results, S_RESULTS_HWM, true,
                                  &self->results_watch, results_id, sizeof results_id,
                                  err, errlen)
                  : NULL;
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
    sluice_debug ("tasks routing id %s, results routing id %s", self->routing_id, results_id);
    self->last_task_ms = sluice_now_ms ();
    self->next_progress = self->last_task_ms + S_PROGRESS_MS;
    self->outbox.next_resend_ms = INT64_MAX;
    return self;
}

void
sluice_worker_destroy (sluice_worker_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_worker_t *self = *self_p;
        //  results already sent may still be in libzmq's pipe: let them
        //  leave (unless the sink is gone for good, or we were told to
        //  stop without them); credit and progress are worthless once we stop
        if (self->tasks)
            sluice_set_linger (self->tasks, 0);
        if (self->results)
            sluice_set_linger (self->results, self->abandoned? 0: S_LINGER_MS);
        sluice_monitor_destroy (&self->tasks_watch.monitor);
        sluice_monitor_destroy (&self->results_watch.monitor);
        zsock_destroy (&self->tasks);
        zsock_destroy (&self->results);
        sluice_security_destroy (&self->security);
        if (self->epoll_fd >= 0)
            close (self->epoll_fd);
        if (self->wakeup_fd >= 0)
            close (self->wakeup_fd);
        if (self->interrupt_fd >= 0)
            close (self->interrupt_fd);
        s_outbox_purge (&self->outbox);
        sluice_encoder_destroy (&self->control);
        for (size_t i = 0; i < self->plan.pool; i++) {
            free (self->jobs [i].data);
            free (self->jobs [i].command);
        }
        free (self->jobs);
        free (self->stored);
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

const sluice_termseq_t *
sluice_worker_termseq (sluice_worker_t *self)
{
    return &self->termseq;
}

const char *
sluice_worker_job_command (sluice_worker_t *self, const sluice_job_t *job, int *pipe_end,
                           bool *args)
{
    bool pool = self->config->mode == SLUICE_MODE_POOL;
    uint32_t flags = pool? job->command_flags: sluice_command_flags (self->config);
    *pipe_end = !(flags & SLUICE_COMMAND_PIPE)? -1: flags & SLUICE_COMMAND_NUL? 0: '\n';
    *args = (job->command_flags & SLUICE_COMMAND_ARGS) != 0;
    if (pool)
        return job->command? job->command: "";
    return self->config->command;
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
    if (sluice_send (self->tasks_handle, data, size, ZMQ_DONTWAIT) == 0)
        self->last_control_ms = sluice_now_ms ();
}

//  Send one CREDIT message; a grant starts a round-trip measurement.
static void
s_send_credit (sluice_worker_t *self, uint64_t credit, bool reset)
{
    sluice_encoder_credit (self->control, credit, reset);
    s_send_control (self);
    sluice_rtt_meter_credit (&self->meter, credit, reset, sluice_now_us ());
}

//  Adapt the capacity to the measured rate and round trip (--exec and
//  --coproc with automatic prefetch), at most every 100 ms.
static void
s_adapt (sluice_worker_t *self, int64_t now)
{
    if (now - self->rate_ms < 100)
        return;
    uint64_t done = self->done - self->rate_done;
    double per_s = (double) done * 1000.0 / (double) (now - self->rate_ms);
    if (self->rate_ms)
        self->rate = sluice_worker_ewma (self->rate, per_s, 0.3);
    if (!self->plan.latency) {
        self->rate_ms = now;
        self->rate_done = self->done;
        return;
    }
    uint64_t jobs = self->config->jobs;
    size_t samples = self->rtt_count < S_RTT_SAMPLES? self->rtt_count: S_RTT_SAMPLES;
    double rate = sluice_worker_task_rate (self->rate, self->config->jobs, self->task_ms);
    double rtt = sluice_worker_rtt (self->rtt, samples);
    uint64_t capacity = jobs + sluice_worker_prefetch (rate, rtt);
    if (self->plan.adaptive) {
        uint64_t in_hand = sluice_worker_credit_adapt (done, now - self->rate_ms,
                                                       self->config->jobs, self->plan.pool);
        if (in_hand > capacity)
            capacity = in_hand;
    }
    capacity = capacity < self->plan.pool? capacity: self->plan.pool;
    if (capacity != self->plan.capacity)
        sluice_debug ("prefetch: rate %.1f/s (completed %.1f/s, a task %.2f ms x %u jobs)"
                      " rtt %.2f ms (least of %zu): capacity %" PRIu64 " (was %" PRIu64 ")",
                      rate, self->rate, self->task_ms, self->config->jobs, rtt, samples,
                      capacity, self->plan.capacity);
    self->plan.capacity = capacity;
    self->rate_ms = now;
    self->rate_done = self->done;
}

//  When an idle worker re-announces its credit (section 6): a restarted
//  ventilator may not know us, or tasks were lost in a reconnect. Never
//  while we hold a task, are draining, or have no connection to the
//  ventilator: libzmq would queue each reset and deliver them together
//  after the reconnect, where the second would race the tasks the first
//  bought (the handshake re-announces anyway, and its event wakes us).
static int64_t
s_resync_at (sluice_worker_t *self)
{
    if (self->held || self->draining
    ||  (!self->tasks_watch.inproc
    &&   sluice_monitor_state (self->tasks_watch.monitor)->connected == 0))
        return INT64_MAX;
    return (self->last_task_ms > self->last_resync_ms
            ? self->last_task_ms: self->last_resync_ms) + S_RESYNC_MS;
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
        .hold_full = s_outbox_full (&self->outbox),
        .resync_due = now >= s_resync_at (self)
    };
    sluice_credit_t credit = sluice_worker_credit (&state);
    if (credit.reset) {
        self->promised = credit.credit;
        self->last_resync_ms = now;
    }
    else {
        self->promised += credit.credit;
        //  a re-announce the policy declines (a full hold, results that
        //  cannot go) waits its next period: else the timeout, due now,
        //  would spin until STORED comes
        if (state.resync_due && credit.credit == 0)
            self->last_resync_ms = now;
    }
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

#define S_PROGRESS_BATCHES 8        //  batches one round reports at most

//  Add batch to the set (up to S_PROGRESS_BATCHES) unless it is in it.
static void
s_batch_add (uint8_t (*set) [SLUICE_BATCH_SIZE], size_t *n, const uint8_t *batch)
{
    for (size_t i = 0; i < *n; i++)
        if (memcmp (set [i], batch, SLUICE_BATCH_SIZE) == 0)
            return;
    if (*n < S_PROGRESS_BATCHES)
        memcpy (set [(*n)++], batch, SLUICE_BATCH_SIZE);
}

#define S_PROGRESS_IDS 4096         //  ids one PROGRESS lists at most: 37 KiB at
                                    //  most, under any --max-control-size

//  Add one id to the PROGRESS (or HANDBACK: type) being packed for batch;
//  send it when full.
static void
s_list_id (sluice_worker_t *self, int type, const uint8_t *batch, uint64_t id)
{
    sluice_encoder_uints (self->control, 1, &id);
    if (sluice_encoder_count (self->control) == S_PROGRESS_IDS) {
        s_send_control (self);
        sluice_encoder_begin (self->control, type, batch);
    }
}

//  Add one id to the PROGRESS being packed for batch.
static void
s_progress_id (sluice_worker_t *self, const uint8_t *batch, uint64_t id)
{
    s_list_id (self, SLUICE_MSG_PROGRESS, batch, id);
}

//  Send PROGRESS for batch (one message per S_PROGRESS_IDS): the jobs received before old_us and the
//  held results packed before old_ms.
static void
s_progress_batch (sluice_worker_t *self, const uint8_t *batch, int64_t old_us, int64_t old_ms)
{
    sluice_encoder_begin (self->control, SLUICE_MSG_PROGRESS, batch);
    for (size_t k = 0; k < self->plan.pool; k++) {
        const sluice_job_t *job = &self->jobs [k];
        if (job->received_us && job->received_us <= old_us
        &&  memcmp (job->batch, batch, SLUICE_BATCH_SIZE) == 0)
            s_progress_id (self, batch, job->id);
    }
    for (s_packed_t *packed = self->outbox.head; packed; packed = packed->next)
        if (packed->packed_ms <= old_ms && memcmp (packed->batch, batch, SLUICE_BATCH_SIZE) == 0)
            for (uint32_t i = 0; i < packed->count; i++)
                if (packed->ids [i])
                    s_progress_id (self, batch, packed->ids [i]);
    if (sluice_encoder_count (self->control))
        s_send_control (self);
}

//  Report every task we hold for a while - queued, running, or answered
//  and not yet STORED - so its lease is renewed, also while the sink is
//  out of reach: one PROGRESS message per batch among them.
static void
s_progress (sluice_worker_t *self)
{
    int64_t now = sluice_now_ms ();
    if (now < self->next_progress)
        return;
    self->next_progress = now + S_PROGRESS_MS;
    int64_t old_us = sluice_now_us () - S_PROGRESS_MS * 1000;
    int64_t old_ms = now - S_PROGRESS_MS;
    uint8_t batches [S_PROGRESS_BATCHES][SLUICE_BATCH_SIZE];
    size_t n = 0;
    for (size_t i = 0; i < self->plan.pool; i++)
        if (self->jobs [i].received_us && self->jobs [i].received_us <= old_us)
            s_batch_add (batches, &n, self->jobs [i].batch);
    for (s_packed_t *packed = self->outbox.head; packed; packed = packed->next)
        if (packed->packed_ms <= old_ms)
            s_batch_add (batches, &n, packed->batch);
    for (size_t i = 0; i < n; i++)
        s_progress_batch (self, batches [i], old_us, old_ms);
}

//  Heartbeat: CREDIT [0, 0] when nothing else went to a connected
//  ventilator for S_HEARTBEAT_MS, so it knows we are alive.
static void
s_heartbeat (sluice_worker_t *self)
{
    const sluice_monitor_state_t *state = sluice_monitor_state (self->tasks_watch.monitor);
    int64_t now = sluice_now_ms ();
    if (state->connected && now - self->last_control_ms >= S_HEARTBEAT_MS) {
        sluice_encoder_credit (self->control, 0, false);
        s_send_control (self);
        self->last_control_ms = now;    //  also if it could not go: no spin
    }
}

//  --------------------------------------------------------------------------
//  Monitors: re-sends on a new handshake, and the warnings

//  Warn, once until a handshake succeeds, that the peer at address is not
//  what the socket expects.
static void
s_watch_wrong_peer (s_watch_t *watch, const char *address)
{
    if (watch->warned_handshake)
        return;
    const sluice_monitor_state_t *state = sluice_monitor_state (watch->monitor);
    const char *peer = strncmp (address, "tcp://", 6)? address: address + 6;
    zsys_warning ("%s: peer %s is not a sluice %s (handshake failed: %s)",
                  watch->endpoint, *peer? peer: watch->endpoint, watch->what, state->failure);
    watch->warned_handshake = true;
}

//  Read a socket's monitor events. A completed handshake on the results
//  socket re-sends everything held; a failed one names the peer.
static void
s_watch_events (sluice_worker_t *self, s_watch_t *watch)
{
    sluice_monitor_event_t event;
    while (sluice_monitor_next (watch->monitor, &event)) {
        sluice_debug ("%s socket: %s %s (%d)", watch->what,
                      sluice_monitor_event_name (event.event), event.address, event.value);
        if (*event.address)
            snprintf (watch->last_address, sizeof watch->last_address, "%s", event.address);
        if (event.event == ZMQ_EVENT_DISCONNECTED && event.dropped) {
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "peer %s sent a message over --max-size "
                                     "%zu; disconnected", event.peer, self->config->max_size);
        }
        //  a stopped peer or a dead path, not a bad message: not counted
        if (event.event == ZMQ_EVENT_DISCONNECTED && event.timed_out)
            sluice_warn_ratelimited (&self->limit, "no answer from the %s at %s for %s "
                                     "(heartbeat timeout); reconnecting", watch->what,
                                     watch->endpoint, sluice_monitor_silence (&event));
        if (event.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            if (watch->warned_down || watch->warned_handshake)
                zsys_info ("reached the %s at %s", watch->what, watch->endpoint);
            watch->warned_down = watch->warned_handshake = false;
            watch->reached_ms = sluice_now_ms ();
            //  a new ventilator knows nothing of us: re-announce our credit
            //  at once when idle, not after S_RESYNC_MS. Not on the first
            //  handshake: the first grant is on its way, and a reset racing
            //  the tasks it already bought would double the credit (under
            //  20 ms of delay the excess was dropped and waited a lease)
            if (watch == &self->tasks_watch
            &&  sluice_monitor_state (watch->monitor)->handshakes > 1) {
                self->last_task_ms = self->last_resync_ms = 0;
                s_wake (self);
            }
            if (watch == &self->results_watch) {
                s_outbox_resend_lost (&self->outbox);
                s_wake (self);
            }
        }
        else
        if (event.event == ZMQ_EVENT_DISCONNECTED && watch == &self->results_watch)
            self->outbox.disconnected_ms = sluice_now_ms ();
        const sluice_monitor_state_t *state = sluice_monitor_state (watch->monitor);
        if (state->failure_certain && state->failures_in_row)
            s_watch_wrong_peer (watch, event.address);
    }
}

//  Warn once per outage when a socket has had no peer for S_WARN_MS.
static void
s_watch_check (sluice_worker_t *self, s_watch_t *watch, int64_t now)
{
    const sluice_monitor_state_t *state = sluice_monitor_state (watch->monitor);
    if (watch->inproc)
        return;
    //  a handshake failed and libzmq did not retry within a second: it
    //  gave the endpoint up, as it does after a protocol error (a peer of
    //  the wrong socket type); a peer that merely went away is retried
    if (state->failures_in_row && !state->retries_since_failure
    &&  now - state->failure_ms >= 1000 && !state->connected)
        s_watch_wrong_peer (watch, watch->last_address);
    if (state->connected || watch->warned_down || watch->warned_handshake
    ||  now - state->down_since_ms < S_WARN_MS)
        return;
    watch->warned_down = true;
    char reason [300];
    //  a CURVE server that cannot decrypt our HELLO (we hold another
    //  server key than its own) just closes: say what to check
    const char *keys = sluice_security_curve (self->security) && state->handshake_failures
                     ? "; the handshake never completed: is the key in --keys DIR this "
                       "peer's (the same deployment)?": "";
    if (watch == &self->tasks_watch)
        zsys_warning ("no ventilator at %s for %d s: %s%s", watch->endpoint, S_WARN_MS / 1000,
                      sluice_monitor_reason (watch->monitor, self->config->tasks,
                                             reason, sizeof reason), keys);
    else
        zsys_warning ("cannot reach the sink at %s for %d s: %s%s", watch->endpoint,
                      S_WARN_MS / 1000, sluice_monitor_reason (watch->monitor,
                                                              self->config->results,
                                                              reason, sizeof reason), keys);
}

//  --------------------------------------------------------------------------
//  STORED from the sink

//  Take one message from the results socket: STORED frees held results.
static void
s_take_stored (sluice_worker_t *self, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason = "not a STORED message";
    if (zmq_msg_more (body)
    ||  sluice_msg_decode (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason)
    ||  msg.type != SLUICE_MSG_STORED) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped a message from the sink "
                                 "(%zu bytes): %s", zmq_msg_size (body), reason);
        return;
    }
    //  the ranges, resolved, then one walk over the hold
    size_t count = 0;
    uint64_t range [3];
    while (sluice_msg_next_uints (&msg, range) == 2)
        if (range [0] && range [0] <= range [1]) {
            if (count == self->stored_alloc) {
                self->stored_alloc = self->stored_alloc? self->stored_alloc * 2: 64;
                self->stored = (sluice_range_t *) realloc (self->stored, self->stored_alloc
                                                           * sizeof *self->stored);
                assert (self->stored);
            }
            self->stored [count++] = (sluice_range_t) { range [0], range [1], false };
        }
    size_t resolved_count;
    sluice_range_t *resolved = sluice_ranges_resolve (self->stored, count, &resolved_count);
    uint64_t results = self->outbox.results;
    uint64_t freed = s_outbox_stored (&self->outbox, msg.batch, resolved, resolved_count);
    self->held -= freed < self->held? freed: self->held;
    free (resolved);
    //  holding nothing now: tell the sink we read its STOREDs (a receipt,
    //  protocol 5.1), so a sink whose batch is complete need not wait in
    //  case we had not; s_send_receipt sends it once we have been idle
    //  S_RECEIPT_MS
    if (self->outbox.results < results && self->held == 0 && self->outbox.results == 0) {
        self->receipt_due = true;
        self->receipt_ms = sluice_now_ms () + S_RECEIPT_MS;
        memcpy (self->receipt_batch, msg.batch, SLUICE_BATCH_SIZE);
    }
}

//  Send the receipt that is due, once the worker has been idle since the
//  STORED that emptied its hold for S_RECEIPT_MS (at once when it is
//  stopping). Work that came meanwhile cancels it: a worker fed one task
//  at a time (a window of 1) would otherwise answer every STORED with a
//  message, and the next idle spell has its own.
static void
s_send_receipt (sluice_worker_t *self, int64_t now)
{
    if (!self->receipt_due)
        return;
    if (self->held || self->outbox.results) {
        self->receipt_due = false;
        return;
    }
    if (now < self->receipt_ms && !self->draining)
        return;
    self->receipt_due = false;
    sluice_encoder_begin_results (self->control, self->receipt_batch, sluice_identity ());
    size_t size;
    const uint8_t *data = sluice_encoder_data (self->control, &size);
    zmq_send (self->results_handle, data, size, ZMQ_DONTWAIT);
}

//  Read every message the results socket has now.
static void
s_recv_stored (sluice_worker_t *self)
{
    while (true) {
        zmq_msg_t body;
        zmq_msg_init (&body);
        if (zmq_msg_recv (&body, self->results_handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&body);
            return;
        }
        s_take_stored (self, &body);
        zmq_msg_close (&body);
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

//  --pool: give a job its batch's command.
static void
s_job_command (sluice_job_t *job, const sluice_msg_t *msg)
{
    if (job->command_capacity < msg->command_size + 1) {
        free (job->command);
        job->command_capacity = msg->command_size + 1;
        job->command = (char *) malloc (job->command_capacity);
        assert (job->command);
    }
    memcpy (job->command, msg->command, msg->command_size);
    job->command [msg->command_size] = 0;
}

//  Queue every task of a message as a job. Returns the number read.
static uint32_t
s_enqueue (sluice_worker_t *self, sluice_msg_t *msg)
{
    sluice_task_t task;
    uint32_t taken = 0, excess = 0;
    while (sluice_msg_next_task (msg, &task) > 0) {
        taken++;
        sluice_job_t *job = s_job_fill (self, msg->batch, &task);
        if (job)
            job->command_flags = msg->has_command? msg->command_flags: 0;
        if (job && self->config->mode == SLUICE_MODE_POOL)
            s_job_command (job, msg);
        if (!job) {
            //  more than we granted (section 6: a reset CREDIT raced tasks
            //  bought with an earlier grant, e.g. queued while the link
            //  was down): hand it back unstarted, so the ventilator sends
            //  it on at once, not when its lease ends
            if (excess++ == 0)
                sluice_encoder_begin (self->control, SLUICE_MSG_HANDBACK, msg->batch);
            s_list_id (self, SLUICE_MSG_HANDBACK, msg->batch, task.id);
            self->held--;
            continue;
        }
        if (self->queue_tail)
            self->queue_tail->next = job;
        else
            self->queue_head = job;
        self->queue_tail = job;
        self->queue_count++;
        s_wake (self);
    }
    if (excess) {
        if (sluice_encoder_count (self->control))
            s_send_control (self);
        self->beyond_credit += excess;
        sluice_warn_ratelimited (&self->limit, "%" PRIu32 " tasks came beyond the credit "
                                 "granted (%" PRIu64 " held at most): handed back to the "
                                 "ventilator", excess, self->plan.pool);
    }
    return taken;
}

//  --------------------------------------------------------------------------
//  Batches: whose command runs here, and DROP

//  True if the batch was dropped by its ventilator.
static bool
s_batch_gone (sluice_worker_t *self, const uint8_t *batch)
{
    for (size_t i = 0; i < self->gone_count; i++)
        if (memcmp (self->gone [i], batch, SLUICE_BATCH_SIZE) == 0)
            return true;
    return false;
}

bool
sluice_worker_job_dropped (sluice_worker_t *self, const sluice_job_t *job)
{
    return self->gone_count && s_batch_gone (self, job->batch);
}

uint64_t
sluice_worker_drops (sluice_worker_t *self)
{
    return self->drops;
}

//  True if a --pool worker may run the command this message carries: our
//  tasks connection is CURVE (we complete a handshake only with the
//  server key we hold, or as a server accept only the ventilator's key),
//  or the message came from a loopback or ipc peer.
static bool
s_trusted (sluice_worker_t *self, zmq_msg_t *body)
{
    if (sluice_security_curve (self->security))
        return true;
    const char *peer = zmq_msg_gets (body, "Peer-Address");
    return peer && sluice_peer_is_local (peer);
}

//  The flags a fixed command must match: ARGS is not one of them (it says
//  how the batch's payloads are cut into arguments, which any exec worker
//  follows, job by job).
#define S_FLAGS_KNOWN (SLUICE_COMMAND_PIPE | SLUICE_COMMAND_NUL)

//  Whether this worker runs the tasks of a TASKS message: 0, or the
//  SLUICE_REFUSE_* reason it will not.
static int
s_check_command (sluice_worker_t *self, const sluice_msg_t *msg, zmq_msg_t *body)
{
    const sluice_config_t *config = self->config;
    if (config->mode == SLUICE_MODE_POOL) {
        if (!msg->has_command)
            return SLUICE_REFUSE_NO_COMMAND;
        if (msg->command_kind != SLUICE_COMMAND_EXEC)
            return SLUICE_REFUSE_UNSUPPORTED;
        return s_trusted (self, body)? 0: SLUICE_REFUSE_UNTRUSTED;
    }
    if (!msg->has_command)
        return 0;               //  the batch leaves the command to its workers
    if (config->mode == SLUICE_MODE_ECHO || !config->command)
        return SLUICE_REFUSE_COMMAND;
    uint32_t kind = config->mode == SLUICE_MODE_EXEC? SLUICE_COMMAND_EXEC: SLUICE_COMMAND_COPROC;
    if (msg->command_kind != kind || (msg->command_flags & S_FLAGS_KNOWN) != (sluice_command_flags (config) & S_FLAGS_KNOWN)
    ||  msg->command_size != strlen (config->command)
    ||  memcmp (msg->command, config->command, msg->command_size))
        return SLUICE_REFUSE_COMMAND;
    return 0;
}

//  A command's flags as its options: " --pipe -0".
static void
s_flags_text (uint32_t flags, char *text, size_t size)
{
    snprintf (text, size, "%s%s", flags & SLUICE_COMMAND_PIPE? " --pipe": "",
              flags & SLUICE_COMMAND_NUL? " -0": "");
}

//  Refuse the tasks of a batch (reason): REFUSE to the ventilator, which
//  takes them back for other workers, and one log line per batch.
static void
s_refuse (sluice_worker_t *self, const sluice_msg_t *msg, int reason)
{
    self->refused_tasks += msg->count;
    uint64_t args [1] = { (uint64_t) reason };
    sluice_encoder_scalar (self->control, SLUICE_MSG_REFUSE, msg->batch, 1, args);
    s_send_control (self);
    if (self->has_refused && memcmp (self->refused, msg->batch, SLUICE_BATCH_SIZE) == 0)
        return;
    memcpy (self->refused, msg->batch, SLUICE_BATCH_SIZE);
    self->has_refused = true;
    char batch [SLUICE_BATCH_SIZE * 2 + 1];
    sluice_batch_str (msg->batch, batch);
    int shown = msg->command_size > 200? 200: (int) msg->command_size;
    const char *theirs = msg->has_command? (const char *) msg->command: "";
    if (reason == SLUICE_REFUSE_COMMAND) {
        const sluice_config_t *config = self->config;
        bool exec = msg->command_kind == SLUICE_COMMAND_EXEC && config->mode == SLUICE_MODE_EXEC;
        char theirs_as [80] = "", ours_as [80] = "";
        if (exec) {
            s_flags_text (msg->command_flags & S_FLAGS_KNOWN, theirs_as, sizeof theirs_as);
            s_flags_text ((sluice_command_flags (config) & S_FLAGS_KNOWN), ours_as, sizeof ours_as);
        }
        zsys_warning ("refused batch %s: it runs %s'%.*s'%s, this worker runs %s '%s'%s", batch,
                      msg->command_kind == SLUICE_COMMAND_COPROC? "--coproc ": "--exec ",
                      shown, theirs, theirs_as, config->mode == SLUICE_MODE_ECHO? "--echo"
                      : config->mode == SLUICE_MODE_COPROC? "--coproc": "--exec",
                      config->command? config->command: "", ours_as);
    }
    else
    if (reason == SLUICE_REFUSE_UNTRUSTED)
        zsys_warning ("refused batch %s: a --pool worker runs a batch's command ('%.*s') only "
                      "from a ventilator authenticated by --keys, or on loopback or ipc; "
                      "this one is neither", batch, shown, theirs);
    else
    if (reason == SLUICE_REFUSE_NO_COMMAND)
        zsys_warning ("refused batch %s: it carries no command for this --pool worker "
                      "(give the ventilator --exec CMD)", batch);
    else
        zsys_warning ("refused batch %s: a --pool worker runs --exec batches only, not "
                      "--coproc '%.*s'", batch, shown, theirs);
}

//  Take a job off the queue and free it, unanswered.
static void
s_job_discard (sluice_worker_t *self, sluice_job_t *job)
{
    job->started_us = 0;
    job->received_us = 0;
    job->next = self->free_jobs;
    self->free_jobs = job;
    self->held -= self->held? 1: 0;
}

//  Discard the queued jobs of batch (NULL: every queued job), unanswered.
//  Returns how many.
static size_t
s_queue_discard (sluice_worker_t *self, const uint8_t *batch)
{
    size_t discarded = 0;
    sluice_job_t *job = self->queue_head, *kept = NULL;
    self->queue_head = self->queue_tail = NULL;
    while (job) {
        sluice_job_t *next = job->next;
        if (!batch || memcmp (job->batch, batch, SLUICE_BATCH_SIZE) == 0) {
            s_job_discard (self, job);
            discarded++;
            self->queue_count--;
        }
        else {
            job->next = NULL;
            if (kept)
                kept->next = job;
            else
                self->queue_head = job;
            kept = self->queue_tail = job;
        }
        job = next;
    }
    return discarded;
}

//  Stopping: hand every queued job back to the ventilator unstarted
//  (HANDBACK, one message per batch and per S_PROGRESS_IDS), so other
//  workers run them at once rather than at their lease's end, and free
//  them. Returns how many.
static size_t
s_queue_hand_back (sluice_worker_t *self)
{
    size_t total = 0;
    while (self->queue_head) {
        uint8_t batch [SLUICE_BATCH_SIZE];
        memcpy (batch, self->queue_head->batch, SLUICE_BATCH_SIZE);
        sluice_encoder_begin (self->control, SLUICE_MSG_HANDBACK, batch);
        for (sluice_job_t *job = self->queue_head; job; job = job->next)
            if (memcmp (job->batch, batch, SLUICE_BATCH_SIZE) == 0)
                s_list_id (self, SLUICE_MSG_HANDBACK, batch, job->id);
        if (sluice_encoder_count (self->control))
            s_send_control (self);
        total += s_queue_discard (self, batch);
    }
    self->handed_back += total;
    return total;
}

//  Stopping: hand the tasks of a TASKS message that came after the drain
//  credit straight back (HANDBACK), unqueued. Returns how many.
static uint32_t
s_hand_back (sluice_worker_t *self, sluice_msg_t *msg)
{
    sluice_encoder_begin (self->control, SLUICE_MSG_HANDBACK, msg->batch);
    sluice_task_t task;
    uint32_t taken = 0;
    while (sluice_msg_next_task (msg, &task) > 0) {
        s_list_id (self, SLUICE_MSG_HANDBACK, msg->batch, task.id);
        taken++;
    }
    if (sluice_encoder_count (self->control))
        s_send_control (self);
    self->handed_back += taken;
    return taken;
}

//  Jobs taken by the runner and not answered yet (of batch, or any).
static size_t
s_running (sluice_worker_t *self, const uint8_t *batch)
{
    size_t running = 0;
    for (size_t i = 0; i < self->plan.pool; i++) {
        const sluice_job_t *job = &self->jobs [i];
        if (job->received_us && job->started_us
        &&  (!batch || memcmp (job->batch, batch, SLUICE_BATCH_SIZE) == 0))
            running++;
    }
    return running;
}

//  DROP [batch]: its ventilator gave it up. Forget its queued tasks and
//  held results, let the runner stop its running commands (--termseq;
//  their results are discarded), take none of its tasks still in flight,
//  and be ready for the next batch at once.
static void
s_drop (sluice_worker_t *self, const uint8_t *batch)
{
    if (s_batch_gone (self, batch))
        return;
    memcpy (self->gone [self->gone_next], batch, SLUICE_BATCH_SIZE);
    self->gone_next = (self->gone_next + 1) % S_DROPPED_MAX;
    if (self->gone_count < S_DROPPED_MAX)
        self->gone_count++;
    self->drops++;
    size_t queued = s_queue_discard (self, batch);
    s_outbox_close (&self->outbox);
    uint64_t stored = self->outbox.stored, held = self->outbox.results;
    const sluice_range_t every = { 1, UINT64_MAX, false };
    uint64_t freed = s_outbox_stored (&self->outbox, batch, &every, 1);
    self->held -= freed < self->held? freed: self->held;
    uint64_t results = held - self->outbox.results;
    self->outbox.stored = stored;
    self->discarded += queued + results;
    char text [SLUICE_BATCH_SIZE * 2 + 1];
    sluice_batch_str (batch, text);
    zsys_info ("the ventilator dropped batch %s: stopping %zu running commands, %zu queued "
               "tasks and %" PRIu64 " results discarded", text, s_running (self, batch), queued,
               results);
    self->last_task_ms = self->last_resync_ms = 0;
    s_wake (self);
}

//  Take in one message from the tasks socket: echo or queue its tasks,
//  refuse them, or DROP a batch.
static void
s_take_message (sluice_worker_t *self, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason = "not a TASKS message";
    bool opened = !zmq_msg_more (body)
               && sluice_msg_open (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason) == 0;
    if (opened && msg.type == SLUICE_MSG_STORED) {
        //  a sink answers the CREDIT it got on its results endpoint so
        if (!self->warned_sink_peer) {
            const char *peer = zmq_msg_gets (body, "Peer-Address");
            zsys_warning ("%s: peer %s is a sluice sink's results endpoint (it answered "
                          "STORED), not a ventilator: --tasks points at the sink",
                          self->config->tasks + 1, peer? peer: "?");
            self->warned_sink_peer = true;
        }
        self->dropped++;
        return;
    }
    if (!opened || (msg.type != SLUICE_MSG_TASKS && msg.type != SLUICE_MSG_DROP)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed task message "
                                 "(%zu bytes): %s", zmq_msg_size (body), reason);
        return;
    }
    if (msg.type == SLUICE_MSG_DROP) {
        s_drop (self, msg.batch);
        return;
    }
    self->last_task_ms = sluice_now_ms ();
    double rtt_ms = sluice_rtt_meter_tasks (&self->meter, msg.count, sluice_now_us ());
    if (rtt_ms >= 0 && rtt_ms < S_RTT_MAX_MS)
        self->rtt [self->rtt_count++ % S_RTT_SAMPLES] = rtt_ms;
    self->promised = self->promised > msg.count? self->promised - msg.count: 0;
    if (self->gone_count && s_batch_gone (self, msg.batch)) {
        self->discarded += msg.count;       //  in flight when its DROP came
        return;
    }
    int refuse = s_check_command (self, &msg, body);
    if (refuse) {
        s_refuse (self, &msg, refuse);
        return;
    }
    if (self->stopping && self->config->mode != SLUICE_MODE_ECHO) {
        if (s_hand_back (self, &msg) < msg.count) {
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "dropped the rest of a task message "
                                     "(%zu bytes): malformed list item", zmq_msg_size (body));
        }
        return;
    }
    self->held += msg.count;
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

//  True when the results being packed should go now: packing is off
//  (sluice_worker_pack), the first of them has waited pack_ms, they are
//  half the capacity (more unsent would hold back credit, section 6), no
//  other task is in hand to join them, fewer than one more result is
//  expected within pack_ms at the rate tasks complete, or the worker is
//  stopping.
static bool
s_pack_done (sluice_worker_t *self, int64_t now)
{
    uint32_t count = sluice_encoder_count (self->outbox.encoder);
    if (!self->pack_ms || !count || self->draining || self->stopping)
        return true;
    if (now - self->outbox.first_ms >= self->pack_ms || count >= self->plan.capacity / 2)
        return true;
    double rate = sluice_worker_task_rate (self->rate, self->config->jobs, self->task_ms);
    if (rate * (double) self->pack_ms < 1000.0)
        return true;
    return self->held <= self->outbox.unsent;
}

void
sluice_worker_pack (sluice_worker_t *self, int64_t ms)
{
    self->pack_ms = ms > 0? ms: 0;
}

//  One round over the sockets: read tasks, send results, credit and
//  progress. Returns true if a socket still has work (another round);
//  sets *fatal if the ZeroMQ context is gone.
static bool
s_service_round (sluice_worker_t *self, bool *fatal)
{
    s_watch_events (self, &self->tasks_watch);
    s_watch_events (self, &self->results_watch);
    if (s_recv_tasks (self)) {
        *fatal = true;
        return false;
    }
    s_recv_stored (self);
    if (s_pack_done (self, sluice_now_ms ()))
        s_outbox_close (&self->outbox);
    self->held -= s_outbox_send (&self->outbox, self->results_handle);
    s_grant (self);
    s_progress (self);
    s_heartbeat (self);
    int64_t now = sluice_now_ms ();
    s_send_receipt (self, now);
    s_watch_check (self, &self->tasks_watch, now);
    s_watch_check (self, &self->results_watch, now);
    //  sends may have consumed ZMQ_FD's edge: ask both sockets afresh
    bool more = (s_events (self->tasks_handle) & ZMQ_POLLIN) != 0;
    int results = s_events (self->results_handle);
    if ((results & ZMQ_POLLIN) || ((results & ZMQ_POLLOUT) && self->outbox.first_unsent))
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
    return self->draining && self->held == 0 && self->outbox.results == 0? 1: 0;
}

int64_t
sluice_worker_timeout (sluice_worker_t *self)
{
    if (self->woken)
        return 0;
    int64_t now = sluice_now_ms ();
    if (s_pack_done (self, now) && sluice_encoder_count (self->outbox.encoder))
        return 0;
    int64_t due = now + 1000;
    if (sluice_encoder_count (self->outbox.encoder))
        due = self->outbox.first_ms + self->pack_ms;  //  packing: due when it must go
    if ((self->held || self->outbox.results) && self->next_progress < due)
        due = self->next_progress;
    if (self->outbox.next_resend_ms < due)
        due = self->outbox.next_resend_ms;
    if (self->receipt_due && self->receipt_ms < due)
        due = self->receipt_ms;
    if (sluice_monitor_state (self->tasks_watch.monitor)->connected
    &&  self->last_control_ms + S_HEARTBEAT_MS < due)
        due = self->last_control_ms + S_HEARTBEAT_MS;
    int64_t resync = s_resync_at (self);
    if (resync < due)
        due = resync;
    return due > now? due - now: 0;
}

//  --------------------------------------------------------------------------
//  Jobs

sluice_job_t *
sluice_worker_recv (sluice_worker_t *self, sluice_task_t *task)
{
    sluice_job_t *job = self->queue_head;
    if (self->stopping)
        job = NULL;
    while (job && self->gone_count && s_batch_gone (self, job->batch)) {
        //  requeued (a --coproc copy died) after its batch was dropped
        self->queue_head = job->next;
        if (!self->queue_head)
            self->queue_tail = NULL;
        self->queue_count--;
        s_job_discard (self, job);
        self->discarded++;
        job = self->queue_head;
    }
    if (!job) {
        s_unwake (self);        //  the caller has seen every task
        return NULL;
    }
    self->queue_head = job->next;
    if (!self->queue_head)
        self->queue_tail = NULL;
    self->queue_count--;
    job->next = NULL;
    job->started_us = sluice_worker_now_us (self);
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
    sluice_worker_reply_stderr (self, job, status, code, output, size, NULL, 0, 0);
}

void
sluice_worker_reply_stderr (sluice_worker_t *self, sluice_job_t *job, int status, int code,
                            const void *output, size_t size, const void *err,
                            size_t err_size, uint64_t err_dropped)
{
    sluice_result_t result = {
        .id = job->id, .attempt = job->attempt, .flags = job->flags,
        .status = (uint32_t) status, .code = code,
        .elapsed_us = (uint64_t) (sluice_worker_now_us (self) - job->started_us),
        .output = (const uint8_t *) output, .output_size = size,
        .stderr_data = (const uint8_t *) err, .stderr_size = err_size,
        .stderr_dropped = err_dropped
    };
    if (err_dropped)
        self->stderr_truncated++;
    //  failures always carry their input, so the sink can report them
    if ((job->flags & SLUICE_FLAG_WANT_INPUT) || status != SLUICE_STATUS_OK) {
        result.input = job->data;
        result.input_size = job->size;
    }
    if (job->started_us)
        self->task_ms = sluice_worker_ewma (self->task_ms, (double) result.elapsed_us / 1000.0, 0.1);
    if (self->gone_count && s_batch_gone (self, job->batch)) {
        self->discarded++;      //  its batch was dropped: nobody wants it
        self->held -= self->held? 1: 0;
    }
    else
        s_answered (self, job->batch, &result);
    job->started_us = 0;
    job->received_us = 0;
    job->next = self->free_jobs;
    self->free_jobs = job;
}

const uint8_t *
sluice_worker_job_batch (const sluice_job_t *job)
{
    return job->batch;
}

void
sluice_worker_requeue (sluice_worker_t *self, sluice_job_t *job)
{
    job->started_us = 0;
    job->next = self->queue_head;
    self->queue_head = job;
    if (!self->queue_tail)
        self->queue_tail = job;
    self->queue_count++;
    s_wake (self);
}

size_t
sluice_worker_stop (sluice_worker_t *self)
{
    if (self->stopping)
        return 0;
    //  as GNU parallel: start nothing more, let what runs finish; the
    //  queued tasks go back to the ventilator at once (HANDBACK), after
    //  the drain credit, so they do not come back here
    self->stopping = true;
    sluice_worker_drain (self);
    return s_queue_hand_back (self);
}

size_t
sluice_worker_queued (sluice_worker_t *self)
{
    return self->stopping? 0: self->queue_count;
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

//  Stop signals seen so far: the process's (sluice_worker_run) and
//  sluice_worker_interrupt's.
static unsigned
s_stops (sluice_worker_t *self)
{
    return (unsigned) s_signals + atomic_load (&self->interrupts);
}

//  Clear the signal and interrupt eventfds once a new stop has been seen.
static void
s_signal_seen (sluice_worker_t *self)
{
    unsigned stops = s_stops (self);
    if (self->signals_seen != stops) {
        self->signals_seen = stops;
        uint64_t value;
        if (s_signal_fd >= 0 && read (s_signal_fd, &value, sizeof value) < 0 && errno != EAGAIN)
            sluice_debug ("signal eventfd: %s", strerror (errno));
        if (read (self->interrupt_fd, &value, sizeof value) < 0 && errno != EAGAIN)
            sluice_debug ("interrupt eventfd: %s", strerror (errno));
    }
}

void
sluice_worker_interrupt (sluice_worker_t *self)
{
    atomic_fetch_add (&self->interrupts, 1);
    uint64_t one = 1;
    if (write (self->interrupt_fd, &one, sizeof one) < 0)
        sluice_debug ("interrupt eventfd: %s", strerror (errno));
}

//  Install (or, with old, restore) the SIGTERM/SIGINT/SIGHUP handlers
//  (old: three).
static void
s_signals_catch (struct sigaction *old, bool restore)
{
    if (restore) {
        sigaction (SIGTERM, &old [0], NULL);
        sigaction (SIGINT, &old [1], NULL);
        sigaction (SIGHUP, &old [2], NULL);
        return;
    }
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigemptyset (&action.sa_mask);
    sigaction (SIGTERM, &action, &old [0]);
    sigaction (SIGINT, &action, &old [1]);
    //  a hangup (its terminal closed) stops it as SIGTERM does, so its
    //  commands are not left running
    sluice_catch_hangup (s_on_signal, &old [2]);
}

//  Stop without the results the sink has not taken: say how many.
static void
s_abandon (sluice_worker_t *self, const char *why)
{
    zsys_warning ("%s: abandoning %" PRIu64 " tasks in hand, %" PRIu64 " results unsent, %"
                  PRIu64 " sent and not stored", why, self->held - self->outbox.unsent,
                  self->outbox.unsent, self->outbox.results - self->outbox.unsent);
    self->abandoned = true;
}

int
sluice_worker_turn (sluice_worker_t *self)
{
    s_signal_seen (self);
    unsigned stops = self->signals_seen;
    if (stops >= 2) {
        s_abandon (self, s_signals >= 2? "second signal": "told to stop at once");
        return 1;
    }
    if (stops && !self->stopping) {
        size_t queued = sluice_worker_stop (self);
        size_t running = s_running (self, NULL);
        if (running)
            zsys_info ("stopping: %zu running tasks may finish within --grace (a second "
                       "signal stops them), %zu queued tasks handed back", running, queued);
        else
        if (!self->config->quiet)
            zsys_info ("stopping: no task running, %zu queued tasks handed back", queued);
    }
    int64_t now = sluice_now_ms ();
    if (self->draining && now > self->grace_end && (self->held || self->outbox.results)) {
        s_abandon (self, "grace period over");
        return 1;
    }
    //  every task answered, results waiting for a sink to store them:
    //  wait S_LINGER_MS, not the whole grace
    bool answered = self->draining && self->held == self->outbox.unsent
                 && self->outbox.results;
    self->linger_from = answered? (self->linger_from? self->linger_from: now): 0;
    if (answered && now - self->linger_from > S_LINGER_MS) {
        s_abandon (self, "the sink did not take the results");
        return 1;
    }
    return sluice_worker_service (self) != 0;
}

void
sluice_worker_clock (sluice_worker_t *self, int64_t now_us)
{
    self->clock_us = now_us;
}

int64_t
sluice_worker_now_us (sluice_worker_t *self)
{
    return self->clock_us? self->clock_us: sluice_now_us ();
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

//  Serve in the configured mode until stopped; then say what was done.
static int
s_serve (sluice_worker_t *self)
{
    int rc = self->config->mode == SLUICE_MODE_ECHO? s_run_echo (self)
           : self->config->mode == SLUICE_MODE_COPROC? sluice_worker_coproc_run (self)
           : sluice_worker_exec_run (self);
    if (!self->config->quiet)
        zsys_info ("%" PRIu64 " tasks run, %" PRIu64 " results sent, %" PRIu64 " stored (%"
                   PRIu64 " re-sent), %" PRIu64 " malformed messages dropped", self->done,
                   self->outbox.sent, self->outbox.stored, self->outbox.resent, self->dropped);
    uint64_t failed = sluice_monitor_state (self->tasks_watch.monitor)->handshake_failures
                    + sluice_monitor_state (self->results_watch.monitor)->handshake_failures;
    if (!self->config->quiet && failed)
        zsys_info ("%" PRIu64 " failed handshakes with the ventilator or the sink", failed);
    if (!self->config->quiet && (self->refused_tasks || self->discarded))
        zsys_info ("%" PRIu64 " tasks of refused batches, %" PRIu64 " tasks and results of "
                   "dropped batches discarded", self->refused_tasks, self->discarded);
    if (!self->config->quiet && self->handed_back)
        zsys_info ("%" PRIu64 " tasks handed back unstarted while stopping", self->handed_back);
    if (!self->config->quiet && self->beyond_credit)
        zsys_info ("%" PRIu64 " tasks came beyond the credit granted and were handed back",
                   self->beyond_credit);
    if (!self->config->quiet && self->stderr_truncated)
        zsys_info ("%" PRIu64 " tasks' stderr truncated at --stderr-max %zu bytes",
                   self->stderr_truncated, self->config->stderr_max);
    return rc;
}

int
sluice_worker_run (sluice_worker_t *self)
{
    struct sigaction old [3];
    s_signals = 0;
    s_signal_fd_open (self, false);
    s_signals_catch (old, false);
    int rc = s_serve (self);
    s_signals_catch (old, true);
    s_signal_fd_open (self, true);
    return rc;
}

int
sluice_worker_serve (sluice_worker_t *self)
{
    return s_serve (self);
}
