/*  =========================================================================
    ventilator.c - streams tasks to workers and sees each one acknowledged

    The ventilator reads records from its inputs into a window of at most
    config->window unacknowledged tasks (ids are sequential, so the window
    is a ring indexed by id). It hands queued tasks to workers that have
    announced credit (free slots) on a ROUTER socket, leases each delivery
    for config->timeout_ms, renews the lease on PROGRESS, re-sends on
    expiry, and frees a slot only when the sink acknowledges the task's
    result as written. Input is read only while the window has room, so a
    slow sink or slow workers push back all the way to the shell pipe.
    =========================================================================
*/

#include "private.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#define S_PACK_TASKS 256            //  tasks packed into one message at most
#define S_PACK_BYTES (256 * 1024)   //  payload bytes packed, soft limit
#define S_READ_CHUNK (256 * 1024)   //  bytes read from input at once
#define S_PING_MS 1000              //  heartbeat to the sink
#define S_SINK_SILENT_MS 5000       //  sink considered gone after this
#define S_SCAN_MS 100               //  lease expiry scan period
#define S_WINDOW_BYTES (16 * 1024 * 1024)  //  payload bytes held at most
#define S_SLOT_KEEP 256             //  slot buffers up to this size are reused

typedef enum { S_FREE, S_QUEUED, S_SENT, S_LOST_SENT, S_DONE } s_state_t;

typedef struct {
    uint64_t id;                //  task id, 0 when free
    uint32_t attempt;           //  deliveries so far
    uint32_t failures;          //  failed runs reported by the sink
    uint8_t state;              //  s_state_t
    int64_t deadline;           //  lease expiry, ms
    uint8_t *data;              //  payload (buffer reused across tasks)
    size_t size;                //  payload size
    size_t capacity;            //  allocated bytes of data
} s_slot_t;

typedef struct {
    uint8_t routing [256];      //  ROUTER routing id of the worker
    size_t routing_size;
    uint64_t credit;            //  tasks the worker will accept
} s_peer_t;

typedef struct {
    int fd;                     //  input file descriptor
    char *name;                 //  for messages
} s_input_t;

struct _sluice_ventilator_t {
    const sluice_config_t *config;
    zsock_t *tasks;             //  ROUTER to workers
    zsock_t *control;           //  DEALER to the sink
    void *tasks_handle;         //  raw sockets for the hot path
    void *control_handle;
    sluice_encoder_t *encoder;
    uint8_t batch [SLUICE_BATCH_SIZE];
    char batch_str [SLUICE_BATCH_SIZE * 2 + 1];
    //  window of unacknowledged tasks
    s_slot_t *slots;            //  ring of config->window slots
    size_t window;
    uint64_t low;               //  every id below low is acknowledged
    uint64_t next_id;           //  id of the next task read
    size_t window_bytes;        //  payload bytes of the tasks in the window
    uint64_t *queue;            //  ids waiting to be sent (ring)
    size_t queue_head;
    size_t queue_len;
    //  workers
    s_peer_t *peers;
    size_t peer_count;
    size_t peer_next;           //  round-robin position
    uint64_t total_credit;
    //  inputs
    s_input_t *inputs;
    size_t input_count;
    size_t input_index;         //  input being read
    uint8_t *buffer;            //  read buffer
    size_t buffer_size;
    size_t buffer_start;        //  first unparsed byte
    size_t buffer_end;          //  end of valid bytes
    bool input_eof;             //  current input hit EOF
    bool input_done;            //  all inputs read
    bool input_error;           //  bad record: batch abandoned
    //  journal (--journal): acknowledged ids from an earlier run
    FILE *journal;
    uint64_t (*journal_ranges) [3];  //  acknowledged before: first, last, failed
    size_t journal_count;
    size_t journal_next;        //  cursor for s_journal_has
    //  sink
    bool end_sent;
    bool need_input;            //  sink wants inputs with results
    bool sink_alive;
    int64_t sink_seen;          //  last message from the sink
    int64_t next_ping;
    int64_t next_scan;
    //  counts
    uint64_t acked;
    uint64_t failed;
    uint64_t resent;
    uint64_t lost;
    uint64_t dropped;
    bool complete;
    sluice_ratelimit_t limit;
};

//  --------------------------------------------------------------------------
//  Journal

//  Order ranges by their first id, for qsort.
static int
s_range_cmp (const void *a, const void *b)
{
    uint64_t x = ((const uint64_t *) a) [0], y = ((const uint64_t *) b) [0];
    return x < y? -1: x > y;
}

//  Read an earlier run's journal: its batch id and acknowledged ranges,
//  merged and sorted so s_journal_has can search them. Memory is bounded
//  by the number of journal lines, not the number of tasks. Returns 0, or
//  -1 with err.
static int
s_journal_open (sluice_ventilator_t *self, const char *path, char *err, size_t errlen)
{
    FILE *file = fopen (path, "r");
    bool have_batch = false;
    if (file) {
        char line [256];
        size_t capacity = 0;
        while (fgets (line, sizeof line, file)) {
            char hex [64];
            unsigned long long first, last, failed;
            if (sscanf (line, "batch %40s", hex) == 1 && strlen (hex) == 32) {
                for (int i = 0; i < SLUICE_BATCH_SIZE; i++) {
                    unsigned byte;
                    sscanf (hex + i * 2, "%2x", &byte);
                    self->batch [i] = (uint8_t) byte;
                }
                have_batch = true;
            }
            else
            if (sscanf (line, "ack %llu %llu %llu", &first, &last, &failed) == 3
            &&  first >= 1 && last >= first) {
                if (self->journal_count == capacity) {
                    capacity = capacity? capacity * 2: 1024;
                    self->journal_ranges = realloc (self->journal_ranges,
                                                    capacity * sizeof *self->journal_ranges);
                    assert (self->journal_ranges);
                }
                uint64_t *range = self->journal_ranges [self->journal_count++];
                range [0] = first;
                range [1] = last;
                range [2] = failed;
            }
        }
        fclose (file);
        //  merge; ranges of one run never overlap, but a resumed run may
        //  acknowledge an id again
        qsort (self->journal_ranges, self->journal_count, sizeof *self->journal_ranges,
               s_range_cmp);
        size_t merged = 0;
        for (size_t i = 0; i < self->journal_count; i++) {
            uint64_t *range = self->journal_ranges [i];
            uint64_t *last = merged? self->journal_ranges [merged - 1]: NULL;
            if (last && range [0] <= last [1] + 1) {
                if (range [1] > last [1]) {
                    if (range [2])
                        self->failed += range [1] - (range [0] > last [1]? range [0]: last [1] + 1) + 1;
                    self->acked += range [1] - (range [0] > last [1]? range [0]: last [1] + 1) + 1;
                    last [1] = range [1];
                }
                continue;
            }
            memmove (self->journal_ranges [merged], range, sizeof *self->journal_ranges);
            self->acked += range [1] - range [0] + 1;
            if (range [2])
                self->failed += range [1] - range [0] + 1;
            merged++;
        }
        self->journal_count = merged;
    }
    self->journal = fopen (path, "a");
    if (!self->journal) {
        snprintf (err, errlen, "cannot open journal %s: %s", path, strerror (errno));
        return -1;
    }
    if (!have_batch) {
        sluice_batch_str (self->batch, self->batch_str);
        fprintf (self->journal, "batch %s\n", self->batch_str);
        fflush (self->journal);
    }
    else
    if (self->acked)
        zsys_info ("journal %s: resuming batch, %" PRIu64 " tasks already acknowledged",
                   path, self->acked);
    return 0;
}

//  True if the journal says this id was acknowledged in an earlier run.
//  Ids are asked in increasing order, so a cursor walks the ranges.
static bool
s_journal_has (sluice_ventilator_t *self, uint64_t id)
{
    while (self->journal_next < self->journal_count
       &&  self->journal_ranges [self->journal_next][1] < id)
        self->journal_next++;
    return self->journal_next < self->journal_count
        && self->journal_ranges [self->journal_next][0] <= id;
}

//  --------------------------------------------------------------------------
//  Construction

sluice_ventilator_t *
sluice_ventilator_new (const sluice_config_t *config, char *err, size_t errlen)
{
    sluice_ventilator_t *self = (sluice_ventilator_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    self->encoder = sluice_encoder_new ();
    zuuid_t *uuid = zuuid_new ();
    memcpy (self->batch, zuuid_data (uuid), SLUICE_BATCH_SIZE);
    zuuid_destroy (&uuid);
    self->window = config->window? config->window: 1;
    self->slots = (s_slot_t *) calloc (self->window, sizeof (s_slot_t));
    self->queue = (uint64_t *) calloc (self->window * 2, sizeof (uint64_t));
    self->buffer_size = S_READ_CHUNK * 2;
    self->buffer = (uint8_t *) malloc (self->buffer_size);
    assert (self->slots && self->queue && self->buffer);
    self->low = 1;
    self->next_id = 1;
    self->need_input = true;
    self->sink_alive = true;
    self->sink_seen = sluice_now_ms ();

    if (config->journal && s_journal_open (self, config->journal, err, errlen)) {
        sluice_ventilator_destroy (&self);
        return NULL;
    }
    sluice_batch_str (self->batch, self->batch_str);

    self->tasks = sluice_socket_new (ZMQ_ROUTER, config, config->tasks, 100000, err, errlen);
    self->control = self->tasks
                  ? sluice_socket_new (ZMQ_DEALER, config, config->control, 100000, err, errlen)
                  : NULL;
    if (!self->control) {
        sluice_ventilator_destroy (&self);
        return NULL;
    }
    self->tasks_handle = zsock_resolve (self->tasks);
    self->control_handle = zsock_resolve (self->control);
    //  a send to a worker that has gone fails instead of vanishing
    zmq_setsockopt (self->tasks_handle, ZMQ_ROUTER_MANDATORY, &(int) { 1 }, sizeof (int));
    sluice_debug ("batch %s, tasks %s, control %s", self->batch_str, config->tasks,
                config->control);
    return self;
}

void
sluice_ventilator_destroy (sluice_ventilator_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_ventilator_t *self = *self_p;
        sluice_set_linger (self->tasks, 0);
        sluice_set_linger (self->control, 2000);
        zsock_destroy (&self->tasks);
        zsock_destroy (&self->control);
        sluice_encoder_destroy (&self->encoder);
        for (size_t i = 0; i < self->window; i++)
            free (self->slots [i].data);
        free (self->slots);
        free (self->queue);
        free (self->peers);
        for (size_t i = 0; i < self->input_count; i++)
            free (self->inputs [i].name);
        free (self->inputs);
        free (self->buffer);
        free (self->journal_ranges);
        if (self->journal)
            fclose (self->journal);
        free (self);
        *self_p = NULL;
    }
}

void
sluice_ventilator_add_input (sluice_ventilator_t *self, int fd, const char *name)
{
    self->inputs = (s_input_t *) realloc (self->inputs,
                                          (self->input_count + 1) * sizeof (s_input_t));
    assert (self->inputs);
    self->inputs [self->input_count].fd = fd;
    self->inputs [self->input_count].name = strdup (name);
    self->input_count++;
}

//  --------------------------------------------------------------------------
//  Control channel

//  Send a message to the sink; it queues while the sink is away.
static void
s_control_send (sluice_ventilator_t *self)
{
    size_t size;
    const uint8_t *data = sluice_encoder_data (self->encoder, &size);
    if (sluice_send (self->control_handle, data, size, ZMQ_DONTWAIT))
        sluice_warn_ratelimited (&self->limit, "cannot send to sink: %s",
                                 zmq_strerror (errno));
}

static void
s_send_begin (sluice_ventilator_t *self)
{
    uint64_t args [3] = { self->window, self->config->retries, self->config->max_attempts };
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_BEGIN, self->batch, 3, args);
    s_control_send (self);
}

static void
s_send_end (sluice_ventilator_t *self)
{
    uint64_t total = self->next_id - 1;
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_END, self->batch, 1, &total);
    s_control_send (self);
}

//  --------------------------------------------------------------------------
//  Window

static s_slot_t *
s_slot (sluice_ventilator_t *self, uint64_t id)
{
    return &self->slots [id % self->window];
}

//  True if id is in the window and not yet acknowledged.
static s_slot_t *
s_live_slot (sluice_ventilator_t *self, uint64_t id)
{
    if (id < self->low || id >= self->next_id)
        return NULL;
    s_slot_t *slot = s_slot (self, id);
    return slot->id == id && slot->state != S_DONE? slot: NULL;
}

//  Queue an id for sending. Ids acknowledged while queued stay in the queue
//  as stale entries until popped; when the queue fills, drop them.
static void
s_enqueue (sluice_ventilator_t *self, uint64_t id)
{
    size_t capacity = self->window * 2;
    if (self->queue_len == capacity) {
        size_t kept = 0;
        for (size_t i = 0; i < self->queue_len; i++) {
            uint64_t queued = self->queue [(self->queue_head + i) % capacity];
            s_slot_t *slot = s_live_slot (self, queued);
            if (slot && slot->state == S_QUEUED)
                self->queue [(self->queue_head + kept++) % capacity] = queued;
        }
        self->queue_len = kept;
    }
    assert (self->queue_len < capacity);
    self->queue [(self->queue_head + self->queue_len) % capacity] = id;
    self->queue_len++;
}

//  Put an id back at the head of the send queue (it was popped, not sent).
static void
s_requeue_front (sluice_ventilator_t *self, uint64_t id)
{
    size_t capacity = self->window * 2;
    assert (self->queue_len < capacity);
    self->queue_head = (self->queue_head + capacity - 1) % capacity;
    self->queue [self->queue_head] = id;
    self->queue_len++;
}

//  The window is full at --window tasks or S_WINDOW_BYTES of payload
//  (high-water marks count messages, so large tasks are bounded here).
static bool
s_window_full (sluice_ventilator_t *self)
{
    return self->next_id - self->low >= self->window
        || (self->window_bytes >= S_WINDOW_BYTES && self->next_id > self->low);
}

//  Advance the low watermark past acknowledged slots.
static void
s_advance (sluice_ventilator_t *self)
{
    while (self->low < self->next_id) {
        s_slot_t *slot = s_slot (self, self->low);
        if (slot->id == self->low && slot->state != S_DONE)
            break;
        self->window_bytes -= slot->size;
        slot->size = 0;
        slot->state = S_FREE;
        //  small buffers are kept for the next task in this slot; large
        //  ones are not, or every slot of the ring would keep one and the
        //  byte bound of the window would not bound memory
        if (slot->capacity > S_SLOT_KEEP) {
            free (slot->data);
            slot->data = NULL;
            slot->capacity = 0;
        }
        self->low++;
    }
}

//  Mark one task acknowledged. Returns true if it was new.
static bool
s_ack (sluice_ventilator_t *self, uint64_t id, bool failed)
{
    s_slot_t *slot = s_live_slot (self, id);
    if (!slot)
        return false;
    slot->state = S_DONE;
    self->acked++;
    if (failed)
        self->failed++;
    return true;
}

//  Add one task to the window and the send queue. The window must have room.
static uint64_t
s_add_task (sluice_ventilator_t *self, const void *data, size_t size)
{
    assert (!s_window_full (self));
    uint64_t id = self->next_id++;
    s_slot_t *slot = s_slot (self, id);
    slot->id = id;
    if (self->journal && s_journal_has (self, id)) {
        //  acknowledged in an earlier run: skip, already counted
        slot->size = 0;
        slot->state = S_DONE;
        s_advance (self);
        return id;
    }
    if (slot->capacity < size) {
        free (slot->data);
        slot->capacity = size < 64? 64: size;
        //  slot->data was freed or is too small
        slot->data = (uint8_t *) malloc (slot->capacity);
        assert (slot->data);
    }
    if (size)
        memcpy (slot->data, data, size);
    slot->size = size;
    self->window_bytes += size;
    slot->attempt = 0;
    slot->failures = 0;
    slot->state = S_QUEUED;
    s_enqueue (self, id);
    return id;
}

//  --------------------------------------------------------------------------
//  Workers

static s_peer_t *
s_peer (sluice_ventilator_t *self, const uint8_t *routing, size_t size, bool create)
{
    for (size_t i = 0; i < self->peer_count; i++)
        if (self->peers [i].routing_size == size
        &&  memcmp (self->peers [i].routing, routing, size) == 0)
            return &self->peers [i];
    if (!create || size > sizeof self->peers [0].routing)
        return NULL;
    self->peers = (s_peer_t *) realloc (self->peers,
                                        (self->peer_count + 1) * sizeof (s_peer_t));
    assert (self->peers);
    s_peer_t *peer = &self->peers [self->peer_count++];
    memset (peer, 0, sizeof *peer);
    memcpy (peer->routing, routing, size);
    peer->routing_size = size;
    sluice_debug ("worker joined (%zu workers)", self->peer_count);
    return peer;
}

static void
s_peer_remove (sluice_ventilator_t *self, s_peer_t *peer)
{
    self->total_credit -= peer->credit;
    size_t index = (size_t) (peer - self->peers);
    self->peers [index] = self->peers [--self->peer_count];
    if (self->peer_next >= self->peer_count)
        self->peer_next = 0;
    sluice_debug ("worker left (%zu workers)", self->peer_count);
}

//  Pack queued tasks for one peer and send them. Returns the number sent,
//  or -1 if the peer has gone (it is removed).
static int
s_send_to_peer (sluice_ventilator_t *self, s_peer_t *peer)
{
    uint64_t limit = peer->credit < S_PACK_TASKS? peer->credit: S_PACK_TASKS;
    sluice_encoder_begin (self->encoder, SLUICE_MSG_TASKS, self->batch);
    size_t taken = 0, bytes = 0;
    int64_t deadline = sluice_now_ms () + self->config->timeout_ms;
    //  pop ids; acknowledged ones left in the queue are skipped
    uint64_t sent_ids [S_PACK_TASKS];
    while (self->queue_len && taken < limit && bytes < S_PACK_BYTES) {
        uint64_t id = self->queue [self->queue_head];
        self->queue_head = (self->queue_head + 1) % (self->window * 2);
        self->queue_len--;
        s_slot_t *slot = s_live_slot (self, id);
        if (!slot || slot->state != S_QUEUED)
            continue;
        //  a re-sent task travels alone: tasks whose leases expired
        //  together (their worker died) are spread over the workers, so a
        //  task that kills its worker does not use up its neighbours'
        //  attempts
        if (slot->attempt > 0 && taken > 0) {
            s_requeue_front (self, id);
            break;
        }
        uint32_t flags = 0;
        if (self->need_input)
            flags |= SLUICE_FLAG_WANT_INPUT;
        if (slot->failures < self->config->retries)
            flags |= SLUICE_FLAG_RETRYABLE;
        slot->attempt++;
        if (slot->attempt > 1)
            self->resent++;
        slot->state = S_SENT;
        slot->deadline = deadline;
        sluice_encoder_task (self->encoder, id, slot->attempt, flags, slot->data, slot->size);
        sent_ids [taken++] = id;
        bytes += slot->size;
        if (slot->attempt > 1)
            break;
    }
    if (!taken)
        return 0;
    if (sluice_send (self->tasks_handle, peer->routing, peer->routing_size,
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0) {
        //  ROUTER_MANDATORY fails on the routing frame, so once it is
        //  accepted the body is too
        zmq_msg_t body;
        if (sluice_encoder_take (self->encoder, &body) == 0
        &&  zmq_msg_send (&body, self->tasks_handle, ZMQ_DONTWAIT) < 0) {
            //  cannot happen in libzmq 4.3; the leases recover if it does
            sluice_warn_ratelimited (&self->limit, "cannot send tasks: %s",
                                     zmq_strerror (errno));
            zmq_msg_close (&body);
        }
        peer->credit -= taken;
        self->total_credit -= taken;
        return (int) taken;
    }
    //  the worker is gone (or stuck): put the tasks back at the queue head
    for (size_t i = taken; i-- > 0; ) {
        s_slot_t *slot = s_slot (self, sent_ids [i]);
        slot->state = S_QUEUED;
        if (slot->attempt-- > 1)
            self->resent--;
        s_requeue_front (self, sent_ids [i]);
    }
    if (errno == EHOSTUNREACH)
        s_peer_remove (self, peer);
    else {
        //  its pipe is full: wait until it announces credit again
        self->total_credit -= peer->credit;
        peer->credit = 0;
    }
    return -1;
}

//  Hand queued tasks to workers with credit, round robin.
static void
s_dispatch (sluice_ventilator_t *self)
{
    while (self->queue_len && self->total_credit && self->peer_count) {
        bool progress = false;
        for (size_t n = self->peer_count; n > 0 && self->queue_len; n--) {
            if (self->peer_next >= self->peer_count)
                self->peer_next = 0;
            s_peer_t *peer = &self->peers [self->peer_next++];
            if (peer->credit && s_send_to_peer (self, peer) != 0)
                progress = true;
        }
        if (!progress)
            break;
    }
}

//  Handle one message from a worker: CREDIT or PROGRESS.
static void
s_handle_worker (sluice_ventilator_t *self, zmq_msg_t *routing, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason;
    if (sluice_msg_decode (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason)
    ||  (msg.type != SLUICE_MSG_CREDIT && msg.type != SLUICE_MSG_PROGRESS)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed message from a worker "
                                 "(%zu bytes): %s", zmq_msg_size (body),
                                 msg.type? sluice_msg_type_name (msg.type): reason);
        return;
    }
    s_peer_t *peer = s_peer (self, (const uint8_t *) zmq_msg_data (routing),
                             zmq_msg_size (routing), true);
    if (!peer)
        return;
    if (msg.type == SLUICE_MSG_CREDIT) {
        uint64_t credit = msg.arg [0] > 1000000? 1000000: msg.arg [0];
        self->total_credit -= peer->credit;
        peer->credit = msg.arg [1]? credit: peer->credit + credit;
        if (peer->credit > 1000000)
            peer->credit = 1000000;
        self->total_credit += peer->credit;
        return;
    }
    if (memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE))
        return;                 //  progress of an earlier batch
    int64_t deadline = sluice_now_ms () + self->config->timeout_ms;
    uint64_t id;
    while (sluice_msg_next_uints (&msg, &id) > 0) {
        s_slot_t *slot = s_live_slot (self, id);
        if (slot && slot->state == S_SENT)
            slot->deadline = deadline;
    }
}

//  Drain the tasks socket.
static void
s_recv_workers (sluice_ventilator_t *self)
{
    while (true) {
        zmq_msg_t routing, body;
        zmq_msg_init (&routing);
        if (zmq_msg_recv (&routing, self->tasks_handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&routing);
            return;
        }
        zmq_msg_init (&body);
        if (!zmq_msg_more (&routing)
        ||  zmq_msg_recv (&body, self->tasks_handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&routing);
            zmq_msg_close (&body);
            continue;
        }
        //  a DEALER sends one frame; extra frames are not ours
        if (zmq_msg_more (&body)) {
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "dropped multi-part message from a worker");
            while (zmq_msg_more (&body))
                zmq_msg_recv (&body, self->tasks_handle, 0);
        }
        else
            s_handle_worker (self, &routing, &body);
        zmq_msg_close (&routing);
        zmq_msg_close (&body);
    }
}

//  --------------------------------------------------------------------------
//  Sink messages

static void
s_journal_ack (sluice_ventilator_t *self, uint64_t first, uint64_t last, bool failed)
{
    if (self->journal)
        fprintf (self->journal, "ack %" PRIu64 " %" PRIu64 " %d\n", first, last, failed);
}

static void
s_handle_sink (sluice_ventilator_t *self, const zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason = "unexpected message type";
    if (sluice_msg_decode (&msg, zmq_msg_data ((zmq_msg_t *) body),
                           zmq_msg_size ((zmq_msg_t *) body), &reason)
    ||  (msg.type != SLUICE_MSG_ACK && msg.type != SLUICE_MSG_RETRY
    &&   msg.type != SLUICE_MSG_COMPLETE && msg.type != SLUICE_MSG_PONG)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed message from the sink "
                                 "(%zu bytes): %s", zmq_msg_size ((zmq_msg_t *) body), reason);
        return;
    }
    if (!self->sink_alive)
        zsys_info ("sink is back");
    self->sink_alive = true;
    self->sink_seen = sluice_now_ms ();
    bool ours = msg.has_batch && memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE) == 0;
    if (msg.type == SLUICE_MSG_PONG) {
        self->need_input = msg.arg [0] != 0;
        //  a sink that does not know our batch (restarted) hears it again
        if (!ours)
            s_send_begin (self);
        if (self->end_sent && (!ours || !msg.arg [1]))
            s_send_end (self);
        return;
    }
    if (!ours)
        return;
    uint64_t v [3];
    if (msg.type == SLUICE_MSG_ACK) {
        while (sluice_msg_next_uints (&msg, v) > 0) {
            uint64_t first = v [0], last = v [1];
            if (first < self->low)
                first = self->low;
            if (last >= self->next_id)
                last = self->next_id - 1;
            uint64_t run_start = 0;
            for (uint64_t id = first; id <= last && id >= first; id++) {
                bool fresh = s_ack (self, id, v [2] != 0);
                if (fresh && !run_start)
                    run_start = id;
                if (!fresh && run_start) {
                    s_journal_ack (self, run_start, id - 1, v [2] != 0);
                    run_start = 0;
                }
            }
            if (run_start)
                s_journal_ack (self, run_start, last, v [2] != 0);
        }
        s_advance (self);
    }
    else
    if (msg.type == SLUICE_MSG_RETRY) {
        while (sluice_msg_next_uints (&msg, v) > 0) {
            s_slot_t *slot = s_live_slot (self, v [0]);
            if (slot && slot->state == S_SENT && slot->attempt == v [1]) {
                slot->failures++;
                slot->state = S_QUEUED;
                s_enqueue (self, v [0]);
            }
        }
    }
    else
    if (msg.type == SLUICE_MSG_COMPLETE && self->end_sent
    &&  msg.arg [0] == self->next_id - 1) {
        //  the sink has written every result: trust its count of failures
        self->complete = true;
        if (msg.arg [1] > self->failed)
            self->failed = msg.arg [1];
        self->acked = msg.arg [0];
    }
}

static void
s_recv_sink (sluice_ventilator_t *self)
{
    while (true) {
        zmq_msg_t body;
        zmq_msg_init (&body);
        if (zmq_msg_recv (&body, self->control_handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&body);
            //  one write per drain; a line lost in a crash only costs a re-run
            if (self->journal)
                fflush (self->journal);
            return;
        }
        s_handle_sink (self, &body);
        zmq_msg_close (&body);
    }
}

//  --------------------------------------------------------------------------
//  Timers: heartbeat, sink liveness, lease expiry

static void
s_timers (sluice_ventilator_t *self)
{
    int64_t now = sluice_now_ms ();
    if (now >= self->next_ping) {
        //  tell the sink our low watermark: a sink restarted without its
        //  state learns which ids were finished before it started
        uint64_t low = self->low;
        sluice_encoder_scalar (self->encoder, SLUICE_MSG_PING, self->batch, 1, &low);
        s_control_send (self);
        self->next_ping = now + S_PING_MS;
        if (self->sink_alive && now - self->sink_seen > S_SINK_SILENT_MS) {
            zsys_warning ("sink not responding on %s; waiting for it", self->config->control);
            self->sink_alive = false;
        }
    }
    if (now < self->next_scan)
        return;
    self->next_scan = now + S_SCAN_MS;
    //  while the sink is silent no result can be acknowledged, so an expired
    //  lease says nothing about the worker: renew leases instead of using up
    //  attempts (and declaring every task lost when the sink is down long)
    bool sink_recent = now - self->sink_seen < S_PING_MS * 5 / 2;
    size_t lost_items = 0;
    for (uint64_t id = self->low; id < self->next_id; id++) {
        s_slot_t *slot = s_slot (self, id);
        if ((slot->state != S_SENT && slot->state != S_LOST_SENT) || slot->deadline > now)
            continue;
        if (!sink_recent) {
            slot->deadline = now + self->config->timeout_ms;
            continue;
        }
        if (slot->state == S_LOST_SENT || slot->attempt >= self->config->max_attempts) {
            if (slot->state == S_SENT) {
                self->lost++;
                zsys_warning ("task %" PRIu64 " lost after %u deliveries; giving up",
                              id, slot->attempt);
            }
            slot->state = S_LOST_SENT;
            slot->deadline = now + self->config->timeout_ms;
            //  one LOST message carries many items
            if (lost_items == 0)
                sluice_encoder_begin (self->encoder, SLUICE_MSG_LOST, self->batch);
            sluice_encoder_lost (self->encoder, slot->id, slot->attempt, slot->data, slot->size);
            if (++lost_items == S_PACK_TASKS) {
                s_control_send (self);
                lost_items = 0;
            }
        }
        else {
            sluice_debug ("task %" PRIu64 " lease expired (attempt %u); re-sending",
                        id, slot->attempt);
            slot->state = S_QUEUED;
            s_enqueue (self, id);
        }
    }
    if (lost_items)
        s_control_send (self);
}

//  --------------------------------------------------------------------------
//  Input

//  Take complete records from the buffer into the window while it has room.
//  Returns -1 on an invalid record (the batch cannot go on), else 0.
static int
s_parse_records (sluice_ventilator_t *self)
{
    sluice_input_t format = self->config->input;
    while (!s_window_full (self) && self->buffer_start < self->buffer_end) {
        const uint8_t *start = self->buffer + self->buffer_start;
        size_t avail = self->buffer_end - self->buffer_start;
        if (format == SLUICE_INPUT_MSGPACK) {
            const uint8_t *payload;
            size_t payload_size;
            long used = sluice_record_parse (start, avail, &payload, &payload_size);
            if (used < 0 || (used == 0 && self->input_eof)) {
                zsys_error ("%s: invalid MessagePack record %" PRIu64
                            " (expected bin, str, or a map with \"output\")",
                            self->inputs [self->input_index].name, self->next_id);
                return -1;
            }
            if (used == 0)
                break;
            s_add_task (self, payload, payload_size);
            self->buffer_start += (size_t) used;
            continue;
        }
        uint8_t delim = format == SLUICE_INPUT_NUL? 0: '\n';
        const uint8_t *end = (const uint8_t *) memchr (start, delim, avail);
        if (!end) {
            if (!self->input_eof)
                break;
            end = start + avail;        //  last record without terminator
        }
        s_add_task (self, start, (size_t) (end - start));
        self->buffer_start += (size_t) (end - start) + (end < start + avail? 1: 0);
    }
    return 0;
}

//  Read more of the current input. Returns -1 on a read error or record
//  over --max-size, else 0.
static int
s_read_input (sluice_ventilator_t *self)
{
    s_input_t *input = &self->inputs [self->input_index];
    //  compact, then grow if a single record fills the buffer
    if (self->buffer_start > 0) {
        memmove (self->buffer, self->buffer + self->buffer_start,
                 self->buffer_end - self->buffer_start);
        self->buffer_end -= self->buffer_start;
        self->buffer_start = 0;
    }
    if (self->buffer_size - self->buffer_end < S_READ_CHUNK / 2) {
        if (self->buffer_size >= self->config->max_size + S_READ_CHUNK) {
            zsys_error ("%s: record %" PRIu64 " is larger than --max-size (%zu bytes)",
                        input->name, self->next_id, self->config->max_size);
            return -1;
        }
        self->buffer_size *= 2;
        self->buffer = (uint8_t *) realloc (self->buffer, self->buffer_size);
        assert (self->buffer);
    }
    ssize_t n = read (input->fd, self->buffer + self->buffer_end,
                      self->buffer_size - self->buffer_end);
    if (n < 0) {
        if (errno == EINTR || errno == EAGAIN)
            return 0;
        zsys_error ("cannot read %s: %s", input->name, strerror (errno));
        return -1;
    }
    if (n == 0)
        self->input_eof = true;
    self->buffer_end += (size_t) n;
    return 0;
}

//  Move on to the next input once the current one is exhausted.
static void
s_next_input (sluice_ventilator_t *self)
{
    while (self->input_index < self->input_count && self->input_eof
       &&  self->buffer_start == self->buffer_end) {
        self->input_index++;
        self->input_eof = false;
        self->buffer_start = self->buffer_end = 0;
    }
    if (self->input_index >= self->input_count && !self->input_done) {
        self->input_done = true;
        sluice_debug ("end of input: %" PRIu64 " tasks", self->next_id - 1);
    }
}

//  --------------------------------------------------------------------------
//  Main loop

//  One turn of the loop: dispatch, poll for up to timeout ms, handle what
//  arrived, run timers. wait_input says whether to poll the input fd.
static void
s_turn (sluice_ventilator_t *self, int timeout, bool wait_input)
{
    s_dispatch (self);
    zmq_pollitem_t items [3] = {
        { self->tasks_handle, 0, ZMQ_POLLIN, 0 },
        { self->control_handle, 0, ZMQ_POLLIN, 0 },
        { NULL, 0, ZMQ_POLLIN, 0 }
    };
    int count = 2;
    if (wait_input) {
        items [2].fd = self->inputs [self->input_index].fd;
        count = 3;
    }
    int64_t now = sluice_now_ms ();
    int64_t until = self->next_ping < self->next_scan? self->next_ping: self->next_scan;
    if (until - now < timeout)
        timeout = until - now > 0? (int) (until - now): 0;
    int rc = zmq_poll (items, count, timeout);
    if (rc > 0) {
        if (items [0].revents & ZMQ_POLLIN)
            s_recv_workers (self);
        if (items [1].revents & ZMQ_POLLIN)
            s_recv_sink (self);
        if (wait_input && (items [2].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
            if (s_read_input (self))
                self->input_error = true;
    }
    s_timers (self);
}

uint64_t
sluice_ventilator_submit (sluice_ventilator_t *self, const void *data, size_t size)
{
    if (self->next_id == 1)
        s_send_begin (self);
    while (s_window_full (self)) {
        if (zsys_interrupted)
            return 0;
        s_turn (self, 100, false);
    }
    uint64_t id = s_add_task (self, data, size);
    //  keep the pipeline moving without a poll per task
    if ((id & 63) == 0) {
        s_dispatch (self);
        s_recv_workers (self);
        s_recv_sink (self);
    }
    return id;
}

//  Tell the sink the batch is abandoned and give the message time to leave.
static void
s_abandon (sluice_ventilator_t *self)
{
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_ABANDON, self->batch, 0, NULL);
    s_control_send (self);
}

int
sluice_ventilator_run (sluice_ventilator_t *self)
{
    int64_t started = sluice_now_ms ();
    if (self->next_id == 1)
        s_send_begin (self);
    for (size_t i = 0; i < self->input_count; i++)
        fcntl (self->inputs [i].fd, F_SETFL, fcntl (self->inputs [i].fd, F_GETFL) | O_NONBLOCK);
    while (!self->complete) {
        if (zsys_interrupted) {
            zsys_warning ("interrupted: batch abandoned");
            s_abandon (self);
            return SLUICE_EXIT_ABANDONED;
        }
        if (self->input_error) {
            s_abandon (self);
            return SLUICE_EXIT_USAGE;
        }
        if (!self->input_done) {
            if (s_parse_records (self)) {
                self->input_error = true;
                continue;
            }
            s_next_input (self);
        }
        if (self->input_done && !self->end_sent) {
            s_send_end (self);
            self->end_sent = true;
        }
        if (self->end_sent && self->acked == self->next_id - 1)
            self->complete = true;
        if (self->complete)
            break;
        bool wait_input = !self->input_done && !s_window_full (self)
                       && !self->input_eof;
        s_turn (self, 100, wait_input);
    }
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_BYE, self->batch, 0, NULL);
    s_control_send (self);
    if (self->journal)
        fprintf (self->journal, "complete %" PRIu64 " %" PRIu64 "\n",
                 self->next_id - 1, self->failed);
    double secs = (double) (sluice_now_ms () - started) / 1000.0;
    if (!self->config->quiet)
        zsys_info ("%" PRIu64 " tasks, %" PRIu64 " failed, %" PRIu64 " re-sent, %"
                   PRIu64 " lost, %" PRIu64 " dropped, %.2f s",
                   self->next_id - 1, self->failed, self->resent, self->lost,
                   self->dropped, secs);
    return self->failed? SLUICE_EXIT_FAILED: SLUICE_EXIT_OK;
}
