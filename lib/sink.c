/*  =========================================================================
    sink.c - writes each task's result exactly once and acknowledges it

    Results arrive on a ROUTER socket from any number of worker DEALERs
    (protocol 2), and each worker is told STORED for the results it may
    forget; the ventilator speaks on a ROUTER control socket. This file
    wires three modules to those sockets:

    - seen.c: the set of finished task ids (a low watermark plus a bitmap
      of the window above it, so duplicates - a re-sent task whose first
      run also finished, a reconnect replay - are dropped in constant
      memory) and the --keep-order reorder buffer;
    - output.c: the output buffer, the record formats, flush and commit;
    - ledger.c: the state file of --append (its batch, end and commits),
      read back to resume (below, in its own section).

    A result is acknowledged to the ventilator, and STORED to its worker,
    only after its record has been written to the output (and, with
    --append, committed to the state file), so a crash between the two
    costs a re-send, never a loss or a duplicate. A duplicate is STORED
    again (the first STORED may have been lost with its connection), and so
    is a result the sink will never take (out of range, or of another batch
    once this sink is committed to its own): the worker must not hold it
    for ever. Two exceptions, both costing at most a re-run after a crash,
    never a loss: a record held for --keep-order, and a result queued for
    a reader, count as stored once they are in the sink's memory. A reader sink (the embedding API) writes nothing: the caller
    takes each result with sluice_sink_next, and it is acknowledged on the
    caller's next call, once the caller has it.

    Phases: RUNNING until the batch is complete (END seen and every id
    written, or the ventilator's BYE), abandoned, or the output failed;
    COMPLETING while it repeats COMPLETE and waits briefly for BYE;
    ABANDONING (interrupted, or the output failed) until the ventilator
    has been sent ABANDON, for 1.5 s at most; DONE.
    sluice_sink_service moves through them without blocking;
    sluice_sink_run is a poll(2) loop around it.
    =========================================================================
*/

#include "private.h"
#include "ledger.h"
#include "monitor.h"
#include "output.h"
#include "seen.h"
#include "joblog.h"
#include "results_dir.h"
#include "spawn.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define S_FLUSH_AT (64 * 1024)      //  flush output beyond this many bytes
#define S_EARLY_MAX 1024            //  result messages held before the batch begins
#define S_EARLY_BYTES (16 * 1024 * 1024)
#define S_MAX_ACKS 1024             //  ack ranges per message (and STORED ranges)
#define S_SENT_ACKS 4096            //  ack ranges kept to send again after a gap
#define S_RESYNC_GAP_MS 2000        //  a PING after this silence: send them again
#define S_DRAIN_BUDGET 10000        //  messages read per service call at most
#define S_SERVICE_MS 500            //  service at least this often while running
#define S_SILENT_MS 5000            //  warn when the ventilator is silent this long
#define S_COMPLETE_EVERY_MS 300     //  COMPLETE is repeated this often
#define S_COMPLETE_WAIT_MS 3000     //  for the ventilator's BYE at most
#define S_STORED_WAIT_MS 100        //  keep the connections this long after
                                    //  the last STORED (see sluice_sink_run)
#define S_HANDOVER_MS 2500          //  a BEGIN from another peer takes the batch
                                    //  over once its ventilator is this silent
#define S_ABANDON_WAIT_MS 1500      //  ABANDONING: for a ventilator to tell, at
                                    //  most (its DEALER retries a connection
                                    //  every second at most)
#define S_ABANDON_POLL_MS 50        //  ABANDONING: look again this often

//  Protocol scalars by name (docs/PROTOCOL.md, section 4)
static inline uint64_t
s_begin_window (const sluice_msg_t *msg)    //  BEGIN: tasks in flight at most
{
    return msg->arg [0];
}

static inline uint64_t
s_end_count (const sluice_msg_t *msg)       //  END: tasks in the batch
{
    return msg->arg [0];
}

static inline uint64_t
s_ping_low (const sluice_msg_t *msg)        //  PING: every id below is acknowledged
{
    return msg->arg [0];
}

typedef enum { S_RUNNING, S_COMPLETING, S_ABANDONING, S_DONE } s_phase_t;

//  STORED ranges waiting for the output to be flushed, for one worker
//  (results routing id) and batch.
typedef struct {
    uint8_t routing [256];      //  the worker's results routing id
    size_t routing_size;
    uint8_t batch [SLUICE_BATCH_SIZE];
    uint64_t (*ranges) [2];     //  first, last
    size_t count;
    size_t alloc;
} s_stored_t;

struct _sluice_sink_t {
    const sluice_config_t *config;
    zsock_t *results;           //  ROUTER to workers' results DEALERs
    zsock_t *control;           //  ROUTER to the ventilator
    void *results_handle;
    sluice_monitor_t *monitor;  //  the results socket's events: oversized drops
    sluice_monitor_t *control_monitor;  //  the control socket's: ditto, and its
                                //  connection limit
    sluice_security_t *security;    //  keys, or protected mode (security.c)
    void *control_handle;
    sluice_encoder_t *encoder;
    uint8_t routing [256];      //  the batch's ventilator: routing id on control
    size_t routing_size;        //  of the BEGIN adopted; 0 until then
    uint64_t skipped_to;        //  PING moved the watermark up to here: ids
                                //  below it were not all written by us
    uint64_t skipped;           //  ids PING marked done that we did not write
    //  batch
    bool have_batch;
    uint8_t batch [SLUICE_BATCH_SIZE];
    uint64_t total;             //  from END, 0 until known
    bool have_end;
    bool abandoned;
    bool bye;                   //  the ventilator saw the batch complete
    sluice_seen_t *seen;        //  ids written (reader: queued for the caller)
    sluice_output_t *output;    //  records on their way out
    sluice_joblog_t *joblog;    //  --joblog, or NULL
    sluice_results_dir_t *results_dir;  //  --results-dir, or NULL
    int last_failure;           //  exit code of the last failed task (--halt fail=1)
    //  reader (embedding API)
    bool reader;                //  the caller takes results with sluice_sink_next
    sluice_seen_t *taken;       //  reader: ids taken by the caller and acked
    bool have_taken;            //  the caller holds a result not yet acked
    uint64_t taken_id;
    bool taken_failed;
    //  --append state file
    sluice_ledger_t *state;     //  the state file, or NULL
    char *state_path;
    //  acknowledgements waiting for the output to be flushed
    uint64_t (*acks) [3];       //  first, last, failed
    size_t ack_count;
    uint64_t (*owed) [3];       //  ACK ranges whose send failed (no connection to
    size_t owed_count;          //  the ventilator): tried again at every flush;
    size_t owed_alloc;          //  at most the window's ids
    size_t ack_capacity;        //  allocated entries, grown by doubling
    uint64_t (*sent_acks) [3];  //  ring of the last ack ranges sent: what a
    size_t sent_head;           //  dead control connection may have lost
    size_t sent_count;
    uint64_t (*retries) [2];    //  id, attempt
    size_t retry_count;
    //  STORED waiting for the output to be flushed, per worker
    s_stored_t *stored;
    size_t stored_count;
    s_stored_t *peer;           //  entry of the results message being handled
    bool warned_wrong_peer;     //  a tasks socket sent to our results port
    int64_t told_wrong_peer_ms; //  when we last answered one (STORED, no range)
    int64_t stored_ms;          //  when STORED was last sent
    zhashx_t *unread;           //  workers (results routing id, in hex) sent
                                //  STORED and no receipt since (protocol 5.1)
    //  results received before the batch began
    zlist_t *early;
    size_t early_bytes;         //  bytes held in early
    //  embedding: what the caller polls, where the sink is
    int epoll_fd;               //  socket ZMQ_FDs and event_fd
    int event_fd;               //  readable while work waits that no socket signals
    bool signalled;             //  event_fd is set
    bool more_input;            //  the last drain stopped with input left
    s_phase_t phase;
    int status;                 //  exit code once DONE, else -1
    int64_t complete_next;      //  COMPLETING: when COMPLETE is next sent
    int64_t complete_deadline;  //  COMPLETING: when to stop waiting for BYE
    int64_t abandon_deadline;   //  ABANDONING: when to stop trying to tell
    int64_t created;            //  when sluice_sink_new made it
    int abandon_status;         //  ABANDONING: the exit code then
    //  counts
    uint64_t written;
    uint64_t flushed;           //  of those, records that reached the output
    uint64_t buffered;          //  records in the output buffer, not flushed
    uint64_t failed;
    uint64_t duplicates;
    uint64_t dropped;
    uint64_t ignored;           //  control messages from another peer
    uint64_t hold_dropped;      //  of dropped: results -k could not hold
    uint64_t stderr_truncated;  //  results whose stderr the worker cut
    int64_t started;
    int64_t vent_seen;          //  last message from the ventilator
    bool acks_owed;             //  an ACK may have died with a control connection
                                //  (one closed, or a send failed): send the
                                //  remembered ones again at the next PING
    bool vent_silent;           //  warned that it went silent
    sluice_ratelimit_t limit;
    sluice_ratelimit_t peer_limit;  //  the --max-peers lines
    sluice_ratelimit_t hold_limit;  //  the -k drops
};

static void
    s_adopt_batch (sluice_sink_t *self, const uint8_t *batch, uint64_t window);

//  True if results must carry their input: jsonl, msgpack (from which
//  sluice cat makes the jsonl later), --tag, --joblog, --results-dir.
static bool
s_need_input (const sluice_sink_t *self)
{
    const sluice_config_t *config = self->config;
    return config->format == SLUICE_FORMAT_JSONL || config->format == SLUICE_FORMAT_MSGPACK
        || config->tag || config->joblog || config->results_dir;
}
static int
    s_state_write_commit (sluice_sink_t *self);

//  --------------------------------------------------------------------------
//  Acknowledgements

//  Queue an acknowledgement, extending the last range when contiguous.
static void
s_queue_ack (sluice_sink_t *self, uint64_t id, bool failed)
{
    if (self->ack_count) {
        uint64_t *last = self->acks [self->ack_count - 1];
        if (last [1] + 1 == id && last [2] == (uint64_t) failed) {
            last [1] = id;
            return;
        }
    }
    if (self->ack_count == self->ack_capacity) {
        //  doubled, not one more: where realloc always copies (ASan's does)
        //  one per range is quadratic, and a stalled output queues 60,000
        self->ack_capacity = self->ack_capacity? 2 * self->ack_capacity: 64;
        self->acks = realloc (self->acks, self->ack_capacity * sizeof *self->acks);
        assert (self->acks);
    }
    self->acks [self->ack_count][0] = id;
    self->acks [self->ack_count][1] = id;
    self->acks [self->ack_count][2] = failed;
    self->ack_count++;
}

//  Queue a request to run a failed attempt again.
static void
s_queue_retry (sluice_sink_t *self, const sluice_result_t *r)
{
    self->retries = realloc (self->retries, (self->retry_count + 1) * sizeof *self->retries);
    assert (self->retries);
    self->retries [self->retry_count][0] = r->id;
    self->retries [self->retry_count][1] = r->attempt;
    self->retry_count++;
    sluice_debug ("task %" PRIu64 " failed on attempt %u; retrying", r->id, r->attempt);
}

//  Send the encoded message to one peer on the control socket. Returns 0,
//  or -1 with errno (EHOSTUNREACH: the peer has no connection).
static int
s_control_send_to (sluice_sink_t *self, const void *routing, size_t routing_size)
{
    if (!routing_size)
        return 0;
    size_t size;
    const uint8_t *data = sluice_encoder_data (self->encoder, &size);
    if (sluice_send (self->control_handle, routing, routing_size,
                     ZMQ_SNDMORE | ZMQ_DONTWAIT))
        return -1;
    return sluice_send (self->control_handle, data, size, ZMQ_DONTWAIT);
}

//  Send a message to the ventilator of our batch, if one has spoken.
//  Returns 0, or -1 with errno.
static int
s_control_send (sluice_sink_t *self)
{
    return s_control_send_to (self, self->routing, self->routing_size);
}

//  The STORED entry of a worker and batch, created if new.
static s_stored_t *
s_stored_peer (sluice_sink_t *self, const uint8_t *routing, size_t routing_size,
               const uint8_t *batch)
{
    if (routing_size == 0 || routing_size > 256)
        return NULL;
    for (size_t i = 0; i < self->stored_count; i++) {
        s_stored_t *peer = &self->stored [i];
        if (peer->routing_size == routing_size && !memcmp (peer->routing, routing, routing_size)
        &&  !memcmp (peer->batch, batch, SLUICE_BATCH_SIZE))
            return peer;
    }
    self->stored = (s_stored_t *) realloc (self->stored,
                                           (self->stored_count + 1) * sizeof *self->stored);
    assert (self->stored);
    s_stored_t *peer = &self->stored [self->stored_count++];
    memset (peer, 0, sizeof *peer);
    memcpy (peer->routing, routing, routing_size);
    peer->routing_size = routing_size;
    memcpy (peer->batch, batch, SLUICE_BATCH_SIZE);
    return peer;
}

//  The unread set's key for a worker: its results routing id in hex.
static char *
s_unread_key (const uint8_t *routing, size_t routing_size, char key [513])
{
    for (size_t i = 0; i < routing_size && i < 256; i++)
        snprintf (key + 2 * i, 3, "%02x", routing [i]);
    key [2 * (routing_size < 256? routing_size: 256)] = 0;
    return key;
}

//  A STORED went to this worker: it may not have read it yet.
static void
s_unread_add (sluice_sink_t *self, const uint8_t *routing, size_t routing_size)
{
    char key [513];
    zhashx_insert (self->unread, s_unread_key (routing, routing_size, key), self);
}

//  A receipt: this worker has read every STORED sent to it before.
static void
s_unread_remove (sluice_sink_t *self, const uint8_t *routing, size_t routing_size)
{
    char key [513];
    zhashx_delete (self->unread, s_unread_key (routing, routing_size, key));
}

//  Queue STORED for a task id of the results message being handled,
//  extending the last range when contiguous.
static void
s_queue_stored (sluice_sink_t *self, uint64_t id)
{
    s_stored_t *peer = self->peer;
    if (!peer)
        return;                 //  LOST: no worker to tell
    if (peer->count) {
        uint64_t *last = peer->ranges [peer->count - 1];
        if (id >= last [0] && id <= last [1] + 1) {
            if (id > last [1])
                last [1] = id;
            return;
        }
    }
    if (peer->count == peer->alloc) {
        peer->alloc = peer->alloc? peer->alloc * 2: 16;
        peer->ranges = realloc (peer->ranges, peer->alloc * sizeof *peer->ranges);
        assert (peer->ranges);
    }
    peer->ranges [peer->count][0] = id;
    peer->ranges [peer->count][1] = id;
    peer->count++;
}

//  Send every queued STORED to its worker (coalesced: at most S_MAX_ACKS
//  ranges a message), then forget the entries. A worker that is gone
//  drops them; it re-sends what it holds when it is back.
static void
s_send_stored (sluice_sink_t *self)
{
    for (size_t p = 0; p < self->stored_count; p++) {
        s_stored_t *peer = &self->stored [p];
        for (size_t i = 0; i < peer->count; i += S_MAX_ACKS) {
            sluice_encoder_begin (self->encoder, SLUICE_MSG_STORED, peer->batch);
            for (size_t k = i; k < peer->count && k < i + S_MAX_ACKS; k++)
                sluice_encoder_uints (self->encoder, 2, peer->ranges [k]);
            size_t size;
            const uint8_t *data = sluice_encoder_data (self->encoder, &size);
            if (sluice_send (self->results_handle, peer->routing, peer->routing_size,
                             ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0)
                sluice_send (self->results_handle, data, size, ZMQ_DONTWAIT);
            self->stored_ms = sluice_now_ms ();
            s_unread_add (self, peer->routing, peer->routing_size);
        }
        free (peer->ranges);
    }
    free (self->stored);
    self->stored = NULL;
    self->stored_count = 0;
}

//  Remember an ack range sent, merging it into the last one when they are
//  contiguous; the ring forgets the oldest beyond S_SENT_ACKS ranges.
static void
s_remember_ack (sluice_sink_t *self, const uint64_t *range)
{
    if (!self->sent_acks) {
        self->sent_acks = calloc (S_SENT_ACKS, sizeof *self->sent_acks);
        assert (self->sent_acks);
    }
    if (self->sent_count) {
        uint64_t *last = self->sent_acks [(self->sent_head + self->sent_count - 1) % S_SENT_ACKS];
        if (last [1] + 1 == range [0] && last [2] == range [2]) {
            last [1] = range [1];
            return;
        }
    }
    if (self->sent_count == S_SENT_ACKS) {
        self->sent_head = (self->sent_head + 1) % S_SENT_ACKS;
        self->sent_count--;
    }
    memcpy (self->sent_acks [(self->sent_head + self->sent_count++) % S_SENT_ACKS], range,
            3 * sizeof (uint64_t));
}

//  The ventilator was silent for a while, or a control connection closed,
//  or an ACK could not be sent: acknowledgements may have died on the way,
//  and the ventilator would then re-send tasks whose results are written.
//  Send again every remembered range at or above its low watermark
//  (acknowledging an id twice has no effect). A send that fails leaves
//  them owed for the next PING.
static void
s_resend_acks (sluice_sink_t *self, uint64_t low)
{
    self->acks_owed = false;
    size_t in_message = 0;
    for (size_t i = 0; i < self->sent_count; i++) {
        uint64_t range [3];
        memcpy (range, self->sent_acks [(self->sent_head + i) % S_SENT_ACKS], sizeof range);
        if (range [1] < low)
            continue;
        if (range [0] < low)
            range [0] = low;
        if (in_message == 0)
            sluice_encoder_begin (self->encoder, SLUICE_MSG_ACK, self->batch);
        sluice_encoder_uints (self->encoder, 3, range);
        if (++in_message == S_MAX_ACKS) {
            if (s_control_send (self))
                self->acks_owed = true;
            in_message = 0;
        }
    }
    if (in_message && s_control_send (self))
        self->acks_owed = true;
    sluice_debug ("sent %zu acknowledged ranges again (from %" PRIu64 ")%s", self->sent_count,
                  low, self->acks_owed? "; the ventilator has no connection: owed": "");
}

//  Add an ack range to those owed, merging it into the last one when they
//  are contiguous.
static void
s_owe_ack (sluice_sink_t *self, const uint64_t *range)
{
    if (self->owed_count) {
        uint64_t *last = self->owed [self->owed_count - 1];
        if (last [1] + 1 == range [0] && last [2] == range [2]) {
            last [1] = range [1];
            return;
        }
    }
    if (self->owed_count == self->owed_alloc) {
        self->owed_alloc = self->owed_alloc? self->owed_alloc * 2: 64;
        self->owed = realloc (self->owed, self->owed_alloc * sizeof *self->owed);
        assert (self->owed);
    }
    memcpy (self->owed [self->owed_count++], range, 3 * sizeof (uint64_t));
}

//  Send the queued acknowledgements, retry requests and STORED. ACKs that
//  find no connection to the ventilator (its link is down, or it is
//  reconnecting: EHOSTUNREACH) stay owed and go at the next flush that
//  can send them; the remembered ring alone would forget them under a
//  burst of results (4096 ranges), and the ventilator would re-run them.
static void
s_send_acks (sluice_sink_t *self)
{
    for (size_t k = 0; k < self->ack_count; k++) {
        s_remember_ack (self, self->acks [k]);
        s_owe_ack (self, self->acks [k]);
    }
    self->ack_count = 0;
    size_t sent = 0;
    for (; sent < self->owed_count; sent += S_MAX_ACKS) {
        sluice_encoder_begin (self->encoder, SLUICE_MSG_ACK, self->batch);
        for (size_t k = sent; k < self->owed_count && k < sent + S_MAX_ACKS; k++)
            sluice_encoder_uints (self->encoder, 3, self->owed [k]);
        if (s_control_send (self)) {
            self->acks_owed = true;     //  and the ring again at the next PING
            break;
        }
    }
    if (sent >= self->owed_count)
        self->owed_count = 0;
    else {
        memmove (self->owed, self->owed + sent,
                 (self->owed_count - sent) * sizeof *self->owed);
        self->owed_count -= sent;
    }
    //  S_MAX_ACKS a message, well under the ventilator's --max-control-size
    for (size_t i = 0; i < self->retry_count; i += S_MAX_ACKS) {
        sluice_encoder_begin (self->encoder, SLUICE_MSG_RETRY, self->batch);
        for (size_t k = i; k < self->retry_count && k < i + S_MAX_ACKS; k++)
            sluice_encoder_uints (self->encoder, 2, self->retries [k]);
        s_control_send (self);
    }
    self->retry_count = 0;
    s_send_stored (self);
}

//  Write the output buffer, commit it to the state file, then send the
//  acknowledgements and retry requests it covers. Returns 0, or -1 if the
//  output cannot be written (the sink cannot go on).
static int
s_flush (sluice_sink_t *self)
{
    if (sluice_output_flush (self->output))
        return -1;
    self->flushed += self->buffered;
    self->buffered = 0;
    if (self->joblog)
        sluice_joblog_flush (self->joblog);
    if (self->state && self->ack_count)
        s_state_write_commit (self);
    s_send_acks (self);
    return 0;
}

//  Reader: the caller has the result it took last; acknowledge it now.
static void
s_settle_taken (sluice_sink_t *self)
{
    if (!self->have_taken)
        return;
    self->have_taken = false;
    s_queue_ack (self, self->taken_id, self->taken_failed);
    if (sluice_seen_in_window (self->taken, self->taken_id))
        sluice_seen_add (self->taken, self->taken_id);
}

//  --------------------------------------------------------------------------
//  Results

//  A record is out: a file sink acknowledges it with the next flush; a
//  reader once the caller has taken it.
static void
s_record_done (sluice_sink_t *self, uint64_t id, bool failed)
{
    if (!self->reader) {
        s_queue_ack (self, id, failed);
        self->buffered++;
    }
}

//  Write the records held for --keep-order that are now in sequence.
static void
s_release_held (sluice_sink_t *self)
{
    uint64_t id;
    bool failed;
    const uint8_t *data;
    size_t size;
    while (sluice_seen_release (self->seen, &id, &failed, &data, &size)) {
        sluice_output_put (self->output, data, size);
        s_record_done (self, id, failed);
    }
}

//  Every id below low was acknowledged (e.g. to an earlier sink).
static void
s_skip_to (sluice_sink_t *self, uint64_t low)
{
    sluice_seen_skip_to (self->seen, low);
    if (self->taken)
        sluice_seen_skip_to (self->taken, low);
    if (self->config->keep_order)
        s_release_held (self);
}

//  True if a result that comes before its turn (-k) may be held: its id is
//  inside the ventilator's window and its record fits --reorder-max. If
//  not, it is dropped, counted and logged, and not STORED: its worker
//  sends it again within 5 s (a forged one is simply gone), and the
//  result whose turn it is never needs holding, so the batch goes on.
static bool
s_may_hold (sluice_sink_t *self, const sluice_result_t *r, size_t worker_size)
{
    size_t bound = sluice_output_bound (self->output, r, worker_size);
    sluice_seen_room_t room = sluice_seen_room (self->seen, r->id, bound);
    if (room == SLUICE_SEEN_ROOM)
        return true;
    self->dropped++;
    self->hold_dropped++;
    if (room == SLUICE_SEEN_AHEAD)
        sluice_warn_ratelimited (&self->hold_limit, "dropped result %" PRIu64 ": far ahead "
                                 "of the window (every id below %" PRIu64 " is written), "
                                 "not held for -k", r->id, sluice_seen_low (self->seen));
    else
        sluice_warn_ratelimited (&self->hold_limit, "dropped result %" PRIu64 " (up to %zu "
                                 "bytes): -k holds %zu bytes, the --reorder-max limit is %zu; "
                                 "its worker sends it again", r->id, bound,
                                 sluice_seen_held_bytes (self->seen),
                                 self->config->reorder_max);
    return false;
}

static bool
    s_final_shown (sluice_sink_t *self, const sluice_result_t *r, const sluice_result_t *given,
                   const uint8_t *worker, size_t worker_size);

//  Take one final result: write it (or hold it for order), mark it done.
//  Returns false if it was dropped instead (s_may_hold). An argument
//  list's input (ARGS, sluice's several sources) is shown as GNU parallel
//  shows {}: its arguments joined by spaces (--tag, jsonl, msgpack); the
//  joblog and --results-dir take it as it is.
static bool
s_final (sluice_sink_t *self, const sluice_result_t *r, const uint8_t *worker,
         size_t worker_size)
{
    if (!self->config->args || !r->input || !memchr (r->input, 0, r->input_size))
        return s_final_shown (self, r, r, worker, worker_size);
    uint8_t *joined = (uint8_t *) malloc (r->input_size);
    assert (joined);
    for (size_t i = 0; i < r->input_size; i++)
        joined [i] = r->input [i]? r->input [i]: ' ';
    sluice_result_t shown = *r;
    shown.input = joined;
    bool taken = s_final_shown (self, &shown, r, worker, worker_size);
    free (joined);
    return taken;
}

//  s_final, with r the result as shown and given the one received.
static bool
s_final_shown (sluice_sink_t *self, const sluice_result_t *r, const sluice_result_t *given,
               const uint8_t *worker, size_t worker_size)
{
    bool failed = r->status != SLUICE_STATUS_OK;
    bool in_turn = !self->config->keep_order || r->id == sluice_seen_low (self->seen);
    if (!in_turn && !s_may_hold (self, r, worker_size))
        return false;
    self->written++;
    //  the task's stderr, tagged and whole, then why it failed (a reader
    //  sink's caller has the stderr in the result)
    if (!self->reader)
        sluice_output_show_stderr (STDERR_FILENO, r);
    if (r->stderr_dropped)
        self->stderr_truncated++;
    if (failed) {
        self->failed++;
        if (!self->config->quiet)
            sluice_output_warn_failure (r);
        self->last_failure = r->status == SLUICE_STATUS_EXIT? r->code
                           : r->status == SLUICE_STATUS_SIGNAL? 128 + r->code: 1;
    }
    if (self->joblog)
        sluice_joblog_write (self->joblog, given, worker, worker_size);
    if (self->results_dir)
        sluice_results_dir_write (self->results_dir, given);
    if (in_turn) {
        sluice_output_record (self->output, r, worker, worker_size);
        s_record_done (self, r->id, failed);
        sluice_seen_add (self->seen, r->id);
        if (self->config->keep_order)
            s_release_held (self);
        return true;
    }
    //  format into the output buffer (in one piece: pinned), then move the
    //  bytes to the held slot
    sluice_output_pin (self->output, true);
    size_t mark = sluice_output_size (self->output);
    sluice_output_record (self->output, r, worker, worker_size);
    size_t size;
    const uint8_t *record = sluice_output_since (self->output, mark, &size);
    int rc = sluice_seen_hold (self->seen, r->id, failed, record, size);
    assert (rc == 0);           //  s_result checked the window
    (void) rc;
    sluice_output_cut (self->output, mark);
    sluice_output_pin (self->output, false);
    return true;
}

//  True if the ventilator may have missed our acknowledgement of id.
static bool
s_acked (sluice_sink_t *self, uint64_t id)
{
    return sluice_seen_is_done (self->reader? self->taken: self->seen, id);
}

//  Handle one result item. Returns false if the item is out of range.
static bool
s_result (sluice_sink_t *self, const sluice_result_t *r, const uint8_t *worker,
          size_t worker_size)
{
    //  every item is STORED: written, a duplicate, a retry or out of range,
    //  the worker need not hold it any longer; but for one -k could not
    //  hold (s_final), which its worker must send again
    if (r->id == 0 || (self->have_end && r->id > self->total)
    ||  !sluice_seen_in_window (self->seen, r->id)) {
        s_queue_stored (self, r->id);
        return false;
    }
    if (sluice_seen_is_done (self->seen, r->id) || sluice_seen_is_held (self->seen, r->id)) {
        s_queue_stored (self, r->id);
        self->duplicates++;
        //  acknowledge again: the ventilator may have missed the first ack;
        //  never below a PING skip, where we cannot know we wrote the id
        //  (the ventilator holds every such id acknowledged already)
        if (s_acked (self, r->id) && r->id >= self->skipped_to)
            s_queue_ack (self, r->id, r->status != SLUICE_STATUS_OK);
        return true;
    }
    if (r->status != SLUICE_STATUS_OK && (r->flags & SLUICE_FLAG_RETRYABLE)) {
        s_queue_stored (self, r->id);
        s_queue_retry (self, r);
    }
    else
    if (s_final (self, r, worker, worker_size))
        s_queue_stored (self, r->id);
    return true;
}

//  --------------------------------------------------------------------------
//  State file (--append): a ledger (ledger.c) holding "batch HEX WINDOW",
//  "end N" and "commit OFFSET FIRST-LAST[f] ...", read back on resume.

//  Record the batch and a commit baseline: bytes found past it after a
//  crash were written for this batch but never committed, even before its
//  first commit.
static void
s_state_write_batch (sluice_sink_t *self, uint64_t window)
{
    sluice_ledger_write_batch (self->state, self->batch, window);
    sluice_ledger_commit (self->state,
        sluice_output_committed (self->output) + sluice_output_size (self->output));
}

static void
s_state_write_end (sluice_sink_t *self)
{
    sluice_ledger_write_end (self->state, self->total);
}

//  Record the output offset just flushed and the acks it covers, on one
//  line. Returns 0 or -1.
static int
s_state_write_commit (sluice_sink_t *self)
{
    for (size_t i = 0; i < self->ack_count; i++)
        sluice_ledger_add_range (self->state, self->acks [i][0], self->acks [i][1],
                                 self->acks [i][2] != 0);
    return sluice_ledger_commit (self->state, sluice_output_committed (self->output));
}

//  Restore the committed ids of the ledger (sorted, not overlapping) into
//  the dedup set and the counts. Only ids inside its window are taken, as
//  from a worker: the ledger cannot check that. Once one id is outside,
//  every later one is too (the ids below it are all in, so the watermark
//  can no longer move), and the rest are only counted.
static void
s_state_restore_ids (sluice_sink_t *self, sluice_ledger_t *ledger)
{
    size_t count;
    const sluice_range_t *ranges = sluice_ledger_ranges (ledger, &count);
    uint64_t rejected = 0;      //  ids outside the window
    for (size_t i = 0; i < count; i++) {
        const sluice_range_t *range = &ranges [i];
        if (rejected) {
            rejected += range->last - range->first + 1;
            continue;
        }
        for (uint64_t id = range->first; ; id++) {
            if (!sluice_seen_in_window (self->seen, id)) {
                rejected = range->last - id + 1;
                break;
            }
            sluice_seen_add (self->seen, id);
            self->written++;
            self->flushed++;
            self->failed += range->failed;
            if (id == range->last)
                break;
        }
    }
    if (rejected)
        zsys_warning ("%s: %" PRIu64 " committed ids lie beyond the window, not restored",
                      self->state_path, rejected);
}

//  Resume from the state file of an earlier run of this sink: batch,
//  window, end and committed results; cut the output back to the last
//  commit so a record written but never acknowledged is not left behind.
//  The ledger drops a torn last line (its ids are not restored) and stays
//  open for appending. Returns 0 or -1 with a message in err.
static int
s_state_load (sluice_sink_t *self, char *err, size_t errlen)
{
    sluice_ledger_t *ledger = sluice_ledger_open (self->state_path, err, errlen);
    if (!ledger)
        return -1;
    uint8_t batch [SLUICE_BATCH_SIZE];
    uint64_t window, commit = 0;
    self->have_end = sluice_ledger_end (ledger, &self->total);
    if (sluice_ledger_batch (ledger, batch, &window)) {
        s_adopt_batch (self, batch, window);    //  no state yet: writes nothing
        s_state_restore_ids (self, ledger);
    }
    self->state = ledger;
    bool have_commit = sluice_ledger_committed (ledger, &commit);
    if (sluice_output_resume (self->output, have_commit, commit, err, errlen))
        return -1;
    if (self->written)
        zsys_info ("resuming batch: %" PRIu64 " results already written", self->written);
    return 0;
}

//  --------------------------------------------------------------------------
//  Messages

//  Adopt a batch: size the window and record it in the state file.
static void
s_adopt_batch (sluice_sink_t *self, const uint8_t *batch, uint64_t window)
{
    memcpy (self->batch, batch, SLUICE_BATCH_SIZE);
    self->have_batch = true;
    sluice_seen_resize (self->seen, window);
    if (self->taken)
        sluice_seen_resize (self->taken, window);
    if (self->state)
        s_state_write_batch (self, window);
}

//  STORED every item of a message of another batch, if this sink will
//  never serve that batch (it has written results of its own, or END).
static void
s_foreign_results (sluice_sink_t *self, sluice_msg_t *msg, const uint8_t *routing,
                   size_t routing_size)
{
    if (!self->written && !self->have_end)
        return;
    self->peer = s_stored_peer (self, routing, routing_size, msg->batch);
    sluice_result_t result;
    while (sluice_msg_next_result (msg, &result) > 0)
        s_queue_stored (self, result.id);
    self->peer = NULL;
}

//  Handle one RESULTS message from the worker with the given results
//  routing id; return false to keep it for later (it arrived before the
//  batch began).
static bool
s_handle_results (sluice_sink_t *self, const uint8_t *routing, size_t routing_size,
                  const void *data, size_t size)
{
    sluice_msg_t msg;
    const char *reason = "not a RESULTS message";
    if (sluice_msg_open (&msg, data, size, &reason) || msg.type != SLUICE_MSG_RESULTS) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed result message "
                                 "(%zu bytes): %s", size, reason);
        return true;
    }
    if (msg.count == 0) {
        //  a receipt (protocol 5.1): the worker has read our STOREDs
        if (self->have_batch && !memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE))
            s_unread_remove (self, routing, routing_size);
        return true;
    }
    if (!self->have_batch)
        return false;
    if (memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped results of an unknown batch");
        s_foreign_results (self, &msg, routing, routing_size);
        return true;
    }
    //  one pass: results before a malformed item are valid and are kept
    self->peer = s_stored_peer (self, routing, routing_size, msg.batch);
    sluice_result_t result;
    int rc;
    while ((rc = sluice_msg_next_result (&msg, &result)) > 0)
        if (!s_result (self, &result, msg.worker, msg.worker_size)) {
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "dropped result for task %" PRIu64
                                     " outside the batch", result.id);
        }
    self->peer = NULL;
    if (rc < 0) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped the rest of a result message "
                                 "(%zu bytes): malformed list item", size);
    }
    return true;
}

//  Hold a RESULTS message that arrived before the batch began (bounded),
//  with its worker's routing id: [size byte, routing id, message].
static void
s_keep_early (sluice_sink_t *self, const uint8_t *routing, size_t routing_size,
              const void *data, size_t size)
{
    if (zlist_size (self->early) < S_EARLY_MAX && self->early_bytes + size <= S_EARLY_BYTES
    &&  routing_size <= 255) {
        zchunk_t *chunk = zchunk_new (NULL, 1 + routing_size + size);
        uint8_t length = (uint8_t) routing_size;
        zchunk_append (chunk, &length, 1);
        zchunk_append (chunk, routing, routing_size);
        zchunk_append (chunk, data, size);
        zlist_append (self->early, chunk);
        self->early_bytes += size;
    }
    else
        sluice_warn_ratelimited (&self->limit, "dropped results that arrived before the "
                                 "batch began (they will be re-sent)");
}

//  Process results that arrived before the batch began.
static void
s_replay_early (sluice_sink_t *self)
{
    zchunk_t *chunk;
    while ((chunk = (zchunk_t *) zlist_pop (self->early))) {
        const uint8_t *data = zchunk_data (chunk);
        size_t routing_size = data [0];
        s_handle_results (self, data + 1, routing_size, data + 1 + routing_size,
                          zchunk_size (chunk) - 1 - routing_size);
        zchunk_destroy (&chunk);
    }
    self->early_bytes = 0;
}

//  True if routing is the batch's ventilator: the peer whose BEGIN the
//  sink adopted (its DEALER keeps a random routing id across reconnects).
static bool
s_is_ventilator (sluice_sink_t *self, zmq_msg_t *routing)
{
    return self->routing_size && zmq_msg_size (routing) == self->routing_size
        && !memcmp (zmq_msg_data (routing), self->routing, self->routing_size);
}

//  Answer BEGIN or PING: whether we need inputs, whether we have END. The
//  batch id goes to the batch's ventilator only (anyone else gets nil): it
//  is what a peer must know to speak for the batch.
static void
s_send_pong (sluice_sink_t *self, zmq_msg_t *routing)
{
    bool own = self->have_batch && s_is_ventilator (self, routing);
    uint64_t args [2] = { s_need_input (self),                          //  need_input
                          own && self->have_end };                      //  has_end
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_PONG, own? self->batch: NULL, 2, args);
    s_control_send_to (self, zmq_msg_data (routing), zmq_msg_size (routing));
}

//  Remember the peer that began our batch: acks and COMPLETE go there, and
//  only its control messages count.
static void
s_adopt_routing (sluice_sink_t *self, zmq_msg_t *routing)
{
    if (zmq_msg_size (routing) <= sizeof self->routing) {
        memcpy (self->routing, zmq_msg_data (routing), zmq_msg_size (routing));
        self->routing_size = zmq_msg_size (routing);
    }
    self->vent_seen = sluice_now_ms ();
}

//  Ignore (and count) a control message from a peer that is not the
//  batch's ventilator; a PING still gets its PONG, with no batch id.
static void
s_ignore_peer (sluice_sink_t *self, const sluice_msg_t *msg, zmq_msg_t *routing)
{
    self->ignored++;
    sluice_warn_ratelimited (&self->limit, "ignored %s from a peer other than the batch's "
                             "ventilator", sluice_msg_type_name (msg->type));
    if (msg->type == SLUICE_MSG_PING)
        s_send_pong (self, routing);
}

//  True if the batch's ventilator has no connection left (its process
//  died): a PONG to it - harmless, of its own batch - fails with
//  EHOSTUNREACH under ZMQ_ROUTER_MANDATORY.
static bool
s_ventilator_gone (sluice_sink_t *self)
{
    uint64_t args [2] = { s_need_input (self), self->have_end };
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_PONG,
                           self->have_batch? self->batch: NULL, 2, args);
    return s_control_send (self) && errno == EHOSTUNREACH;
}

//  True if BEGIN from this peer may (re)define the batch: the sink has no
//  ventilator yet, it is the ventilator, or the ventilator is gone - its
//  connection closed, or silent for S_HANDOVER_MS (it PINGs every second)
//  - and a new one, e.g. a restart with its journal, takes over.
static bool
s_may_begin (sluice_sink_t *self, zmq_msg_t *routing)
{
    return !self->routing_size || s_is_ventilator (self, routing)
        || sluice_now_ms () - self->vent_seen >= S_HANDOVER_MS
        || s_ventilator_gone (self);
}

//  BEGIN: adopt the batch unless we already serve another, or another
//  peer speaks for ours; answer PONG. A window above SLUICE_WINDOW_MAX is
//  refused: the duplicate filter (and -k's reorder ring) is sized by it.
static void
s_handle_begin (sluice_sink_t *self, const sluice_msg_t *msg, zmq_msg_t *routing)
{
    if (s_begin_window (msg) > SLUICE_WINDOW_MAX) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "ignored BEGIN: window %" PRIu64
                                 " above %" PRIu64, s_begin_window (msg), SLUICE_WINDOW_MAX);
        return;
    }
    if (!s_may_begin (self, routing)) {
        s_ignore_peer (self, msg, routing);
        return;
    }
    if (self->routing_size && !s_is_ventilator (self, routing))
        zsys_info ("the batch's ventilator is gone: a new one takes over");
    if (self->have_batch && memcmp (msg->batch, self->batch, SLUICE_BATCH_SIZE)) {
        if (self->written || self->have_end) {
            self->dropped++;
            sluice_warn_ratelimited (&self->limit,
                "ignoring a second batch; this sink serves one batch");
            return;
        }
        self->have_batch = false;
    }
    if (self->have_batch)
        sluice_seen_resize (self->seen, s_begin_window (msg));   //  a restart's, if larger
    if (!self->have_batch) {
        s_adopt_batch (self, msg->batch, s_begin_window (msg));
        char hex [SLUICE_BATCH_SIZE * 2 + 1];
        sluice_batch_str (msg->batch, hex);
        sluice_debug ("batch %s began (window %" PRIu64 ")", hex, s_begin_window (msg));
        s_replay_early (self);
    }
    s_adopt_routing (self, routing);
    s_send_pong (self, routing);
}

//  LOST: the ventilator gave these tasks up; each is a final result.
static void
s_handle_lost (sluice_sink_t *self, sluice_msg_t *msg)
{
    uint64_t id;
    uint32_t attempts;
    const uint8_t *input;
    size_t size;
    while (sluice_msg_next_lost (msg, &id, &attempts, &input, &size) > 0) {
        sluice_result_t r = { .id = id, .attempt = attempts, .status = SLUICE_STATUS_LOST,
                              .input = input, .input_size = size };
        s_result (self, &r, (const uint8_t *) "", 0);
    }
}

//  END: record the task count, unless it is above SLUICE_ID_MAX or below
//  an id already written (then it is refused, counted and logged).
static void
s_handle_end (sluice_sink_t *self, const sluice_msg_t *msg)
{
    uint64_t count = s_end_count (msg);
    if (count > SLUICE_ID_MAX || count + 1 < sluice_seen_low (self->seen)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "ignored END: count %" PRIu64 " %s", count,
                                 count > SLUICE_ID_MAX? "too large": "below written ids");
        return;
    }
    self->total = count;
    self->have_end = true;
    if (self->state)
        s_state_write_end (self);
}

//  PING [low] from the batch's ventilator: every id below low is
//  acknowledged there (to an earlier sink, or in an earlier run), so move
//  the watermark up to it. Ids it skips were not written by this sink: a
//  result for one is STORED, never ACKed (s_result), and they are counted.
//  A low above the END count + 1 (or SLUICE_ID_MAX + 1) is refused.
static void
s_handle_ping (sluice_sink_t *self, const sluice_msg_t *msg, zmq_msg_t *routing)
{
    uint64_t low = s_ping_low (msg);
    uint64_t most = self->have_end? self->total + 1: SLUICE_ID_MAX + 1;
    if (low > most) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "ignored PING: low %" PRIu64
                                 " above %" PRIu64, low, most);
    }
    else
    if (low > sluice_seen_low (self->seen)) {
        //  count the ids skipped that we neither wrote nor hold (bounded by
        //  the window; a skip happens only after a restart)
        uint64_t id = sluice_seen_low (self->seen);
        for (; id < low && sluice_seen_in_window (self->seen, id); id++)
            if (!sluice_seen_is_done (self->seen, id) && !sluice_seen_is_held (self->seen, id))
                self->skipped++;
        self->skipped += low - id;
        if (low > self->skipped_to)
            self->skipped_to = low;
        s_skip_to (self, low);
    }
    s_send_pong (self, routing);
}

//  END, PING, ABANDON, BYE, LOST from our batch's ventilator.
static void
s_handle_batch_message (sluice_sink_t *self, sluice_msg_t *msg, zmq_msg_t *routing)
{
    bool after_gap = self->vent_seen
                  && sluice_now_ms () - self->vent_seen > S_RESYNC_GAP_MS;
    self->vent_seen = sluice_now_ms ();
    if (msg->type == SLUICE_MSG_END && !self->have_end)
        s_handle_end (self, msg);
    else
    if (msg->type == SLUICE_MSG_PING) {
        s_handle_ping (self, msg, routing);
        if (after_gap || self->acks_owed)
            s_resend_acks (self, s_ping_low (msg));
    }
    else
    if (msg->type == SLUICE_MSG_ABANDON)
        self->abandoned = true;
    else
    if (msg->type == SLUICE_MSG_BYE)
        self->bye = true;
    else
    if (msg->type == SLUICE_MSG_LOST)
        s_handle_lost (self, msg);
}

//  True for the types a ventilator sends a sink.
static bool
s_from_ventilator (int type)
{
    return type == SLUICE_MSG_BEGIN || type == SLUICE_MSG_END || type == SLUICE_MSG_ABANDON
        || type == SLUICE_MSG_LOST || type == SLUICE_MSG_PING || type == SLUICE_MSG_BYE;
}

//  Handle one control message from the ventilator.
static void
s_handle_control (sluice_sink_t *self, zmq_msg_t *routing, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason = "unexpected message type";
    if (sluice_msg_decode (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason)
    ||  !s_from_ventilator (msg.type)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed control message "
                                 "(%zu bytes): %s", zmq_msg_size (body), reason);
    }
    else
    if (msg.type == SLUICE_MSG_BEGIN)
        s_handle_begin (self, &msg, routing);
    else
    if (self->routing_size && !s_is_ventilator (self, routing))
        s_ignore_peer (self, &msg, routing);
    else
    if (self->have_batch && msg.has_batch && !memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE))
        s_handle_batch_message (self, &msg, routing);
    else
    if (msg.type == SLUICE_MSG_PING)
        s_send_pong (self, routing);    //  not our batch: answer the sender
}

//  --------------------------------------------------------------------------
//  Sockets

//  Discard the remaining frames of a multi-part message.
static void
s_skip_frames (void *handle, zmq_msg_t *frame)
{
    while (zmq_msg_more (frame) && zmq_msg_recv (frame, handle, 0) >= 0)
        ;
}

//  Receive one [routing id, body] message from a ROUTER without waiting
//  (routing and body initialised by the caller). Returns 1 for one, 0 if
//  none was waiting, -1 for a message of any other shape, whose frames
//  are discarded.
static int
s_recv_routed (void *handle, zmq_msg_t *routing, zmq_msg_t *body)
{
    if (zmq_msg_recv (routing, handle, ZMQ_DONTWAIT) < 0)
        return 0;
    if (zmq_msg_more (routing) && zmq_msg_recv (body, handle, ZMQ_DONTWAIT) >= 0
    &&  !zmq_msg_more (body))
        return 1;
    s_skip_frames (handle, body);
    return -1;
}

//  Read and handle one control message. Returns false if none was waiting.
static bool
s_recv_control (sluice_sink_t *self)
{
    zmq_msg_t routing, body;
    zmq_msg_init (&routing);
    zmq_msg_init (&body);
    int rc = s_recv_routed (self->control_handle, &routing, &body);
    if (rc > 0)
        s_handle_control (self, &routing, &body);
    else
    if (rc < 0) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed control frames");
    }
    zmq_msg_close (&body);
    zmq_msg_close (&routing);
    return rc != 0;
}

//  True (and warned once) if a results message is what a worker sends a
//  ventilator: a worker's --tasks points at our results endpoint. It is
//  answered (at most once a second) with a STORED of no range, which a
//  worker's tasks socket never gets from a ventilator, so the worker can
//  say what is wrong too (protocol 5.4).
static bool
s_wrong_peer (sluice_sink_t *self, zmq_msg_t *routing, zmq_msg_t *body)
{
    sluice_msg_t msg;
    if (sluice_msg_open (&msg, zmq_msg_data (body), zmq_msg_size (body), NULL)
    ||  (msg.type != SLUICE_MSG_CREDIT && msg.type != SLUICE_MSG_PROGRESS))
        return false;
    self->dropped++;
    if (!self->warned_wrong_peer) {
        const char *address = zmq_msg_gets (body, "Peer-Address");
        char endpoints [256];
        snprintf (endpoints, sizeof endpoints, "%s", self->config->results + 1);
        zsys_warning ("%s: peer %s is not a sluice worker's results socket (it sent %s: "
                      "its --tasks endpoint points here)", endpoints, address? address: "?",
                      sluice_msg_type_name (msg.type));
        self->warned_wrong_peer = true;
    }
    int64_t now = sluice_now_ms ();
    if (now - self->told_wrong_peer_ms >= 1000) {
        static const uint8_t none [SLUICE_BATCH_SIZE] = { 0 };
        sluice_encoder_begin (self->encoder, SLUICE_MSG_STORED, none);
        size_t size;
        const uint8_t *data = sluice_encoder_data (self->encoder, &size);
        if (sluice_send (self->results_handle, zmq_msg_data (routing), zmq_msg_size (routing),
                         ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0)
            sluice_send (self->results_handle, data, size, ZMQ_DONTWAIT);
        self->told_wrong_peer_ms = now;
    }
    return true;
}

//  Read and handle one results message ([routing id, RESULTS] on the
//  ROUTER). Returns false if none was waiting.
static bool
s_recv_results (sluice_sink_t *self)
{
    zmq_msg_t routing, body;
    zmq_msg_init (&routing);
    zmq_msg_init (&body);
    int rc = s_recv_routed (self->results_handle, &routing, &body);
    if (rc < 0) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped multi-part result message");
    }
    else
    if (rc > 0 && !s_wrong_peer (self, &routing, &body)
    &&  !s_handle_results (self, zmq_msg_data (&routing), zmq_msg_size (&routing),
                           zmq_msg_data (&body), zmq_msg_size (&body)))
        s_keep_early (self, zmq_msg_data (&routing), zmq_msg_size (&routing),
                      zmq_msg_data (&body), zmq_msg_size (&body));
    zmq_msg_close (&body);
    zmq_msg_close (&routing);
    return rc != 0;
}

//  True if ZMQ_EVENTS shows a message waiting on the socket (reading it
//  also re-arms the edge-triggered ZMQ_FD).
static bool
s_readable (void *handle)
{
    int events = 0;
    size_t size = sizeof events;
    return zmq_getsockopt (handle, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN);
}

//  Read the results socket's monitor: libzmq drops a message over
//  --max-size by closing its connection, which only the monitor sees.
//  (A worker whose routing id is taken over by its own reconnection
//  while the old connection looks alive could be counted too: rare.)
static void
s_recv_monitor (sluice_sink_t *self)
{
    sluice_monitor_event_t event;
    for (int control = 0; control < 2; control++) {
        sluice_monitor_t *monitor = control? self->control_monitor: self->monitor;
        const char *endpoint = (control? self->config->control: self->config->results) + 1;
        while (sluice_monitor_next (monitor, &event)) {
            if (event.refused)
                sluice_warn_ratelimited (&self->peer_limit, "%s: %zu connections, the "
                                         "--max-peers limit: refused %s", endpoint,
                                         self->config->max_peers, event.peer);
            //  a control connection closed: ACKs queued in it are gone
            if (control && event.event == ZMQ_EVENT_DISCONNECTED && !event.failed)
                self->acks_owed = true;
            //  a new one (the ventilator reconnected) takes over its routing
            //  id from the old, which may be dead without our knowing: what
            //  went into the old is lost, the ring sent again at a gap's
            //  PING included when that PING came late on the old connection
            //  (TCP's retransmission after a link heals) just before the new
            //  handshake. Owed again: the next PING, on the new connection,
            //  gets the ring (tests/integration/67-ack-handover.sh)
            if (control && event.event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                self->acks_owed = true;
            if (event.event == ZMQ_EVENT_DISCONNECTED && event.failed)
                sluice_security_failed (self->security, control? SLUICE_CHANNEL_CONTROL
                                                                : SLUICE_CHANNEL_RESULTS,
                                        event.peer, event.failed, event.failure);
            if (event.event == ZMQ_EVENT_DISCONNECTED && event.timed_out)
                sluice_warn_ratelimited (&self->limit, "no answer from %s %s on %s for %s "
                                         "(heartbeat timeout); disconnected",
                                         control? "the ventilator": "worker", event.peer,
                                         endpoint, sluice_monitor_silence (&event));
            if (event.event != ZMQ_EVENT_DISCONNECTED || !event.dropped)
                continue;
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "peer %s sent a message over %s %zu; "
                                     "disconnected", event.peer,
                                     control? "--max-control-size": "--max-size",
                                     control? SLUICE_CONTROL_SIZE (self->config)
                                            : self->config->max_size);
        }
    }
}

//  Read both sockets until neither has input (or the budget is spent, then
//  more_input says so), flushing as the output fills. Returns -1 if the
//  output failed.
static int
s_drain (sluice_sink_t *self)
{
    s_recv_monitor (self);
    self->more_input = true;
    for (int budget = S_DRAIN_BUDGET; budget > 0; budget--) {
        bool any = s_recv_control (self);
        any = s_recv_results (self) || any;
        if (sluice_output_size (self->output) >= S_FLUSH_AT && s_flush (self))
            return -1;
        if (any)
            continue;
        //  flushing sends acks; then ZMQ_EVENTS, checked last, re-arms ZMQ_FD
        if (s_flush (self))
            return -1;
        if (!s_readable (self->control_handle) && !s_readable (self->results_handle)) {
            self->more_input = false;
            break;
        }
    }
    return s_flush (self);
}

//  --------------------------------------------------------------------------
//  Phases

//  Enter DONE with an exit code.
static void
s_finish (sluice_sink_t *self, int status)
{
    self->phase = S_DONE;
    self->status = status;
}

//  The exit code of a batch that completed.
static int
s_completed_status (sluice_sink_t *self)
{
    return self->failed? SLUICE_EXIT_FAILED: SLUICE_EXIT_OK;
}

//  True once END is known and every id up to it is written (reader: taken).
static bool
s_all_written (sluice_sink_t *self)
{
    sluice_seen_t *set = self->reader? self->taken: self->seen;
    return self->have_end && sluice_seen_low (set) > self->total;
}

//  RUNNING: see whether the batch is over.
static void
s_check_running (sluice_sink_t *self)
{
    if (self->abandoned) {
        zsys_warning ("the ventilator abandoned the batch");
        s_finish (self, SLUICE_EXIT_ABANDONED);
        return;
    }
    if (s_all_written (self)) {
        self->phase = S_COMPLETING;
        self->complete_next = sluice_now_ms ();
        self->complete_deadline = self->complete_next + S_COMPLETE_WAIT_MS;
    }
    else
    if (self->bye) {
        //  the ventilator counted every task acknowledged, some by an
        //  earlier sink (journal resume): nothing more will come
        zsys_info ("the ventilator reports the batch complete");
        s_finish (self, s_completed_status (self));
    }
}

//  COMPLETING: tell the ventilator, and wait briefly for its goodbye. The
//  ventilator may not have spoken to us yet (this sink was restarted with
//  --append) or may have changed (a --journal re-run): whoever speaks for
//  our batch - it pings every second - learns that the batch is complete.
static void
s_check_completing (sluice_sink_t *self)
{
    int64_t now = sluice_now_ms ();
    if (self->bye || now >= self->complete_deadline) {
        s_finish (self, s_completed_status (self));
        return;
    }
    if (now >= self->complete_next && self->routing_size) {
        uint64_t args [2] = { self->total, self->failed };     //  COMPLETE [total, failed]
        sluice_encoder_scalar (self->encoder, SLUICE_MSG_COMPLETE, self->batch, 2, args);
        s_control_send (self);
        self->complete_next = now + S_COMPLETE_EVERY_MS;
        //  a send may take the ZMQ_FD edge of a BYE that just arrived
        if (s_readable (self->control_handle))
            self->more_input = true;
    }
}

//  The ventilator pings every second: say so when it goes silent and when
//  it is back (it may be restarting with --journal).
static void
s_watch_ventilator (sluice_sink_t *self)
{
    if (!self->vent_seen)
        return;
    bool silent = sluice_now_ms () - self->vent_seen > S_SILENT_MS;
    if (silent && !self->vent_silent)
        zsys_warning ("ventilator not heard from for 5 s; waiting for it");
    else
    if (!silent && self->vent_silent)
        zsys_info ("ventilator is back");
    self->vent_silent = silent;
}

//  True if a batch may be on its way although no ventilator has begun it
//  here: the sink started less than S_ABANDON_WAIT_MS ago (its peers may
//  not have connected yet), a peer is connected to either socket (a
//  worker of a pool, a ventilator whose BEGIN has not arrived), or
//  results wait for a BEGIN.
static bool
s_batch_expected (sluice_sink_t *self)
{
    if (sluice_now_ms () - self->created < S_ABANDON_WAIT_MS)
        return true;
    s_recv_monitor (self);
    const sluice_monitor_state_t *results = sluice_monitor_state (self->monitor);
    const sluice_monitor_state_t *control = sluice_monitor_state (self->control_monitor);
    return results->accepted || results->connected || control->accepted
        || control->connected || zlist_size (self->early);
}

//  Give the batch up with this exit code: enter ABANDONING, which tells
//  the ventilator (it would otherwise wait for acknowledgements that never
//  come; it stops, and tells its workers to drop the batch). Nothing more
//  is written. A sink that knows no ventilator and expects no batch stops
//  at once.
static void
s_abandon (sluice_sink_t *self, int status)
{
    if (self->phase == S_ABANDONING || self->phase == S_DONE)
        return;
    if (!self->routing_size && !s_batch_expected (self)) {
        s_finish (self, status);
        return;
    }
    self->phase = S_ABANDONING;
    self->abandon_status = status;
    self->abandon_deadline = sluice_now_ms () + S_ABANDON_WAIT_MS;
}

//  ABANDONING: send ABANDON to the batch's ventilator, again until libzmq
//  takes it (a send fails while its connection is down: ROUTER_MANDATORY).
//  If none has begun the batch here yet - its DEALER may be between two
//  connection attempts, which are up to a second apart - the first peer
//  that speaks for a batch (BEGIN, PING, END) is told that its batch is
//  abandoned: that is all it learns. Other control messages are read and
//  discarded; results are left unread. The socket's linger then delivers
//  the ABANDON.
static void
s_check_abandoning (sluice_sink_t *self)
{
    zmq_msg_t routing, body;
    zmq_msg_init (&routing);
    zmq_msg_init (&body);
    int rc;
    while ((rc = s_recv_routed (self->control_handle, &routing, &body)) != 0) {
        sluice_msg_t msg;
        if (rc > 0 && !self->routing_size && zmq_msg_size (&routing) <= sizeof self->routing
        &&  sluice_msg_decode (&msg, zmq_msg_data (&body), zmq_msg_size (&body), NULL) == 0
        &&  msg.has_batch && (msg.type == SLUICE_MSG_BEGIN || msg.type == SLUICE_MSG_PING
                              || msg.type == SLUICE_MSG_END)) {
            memcpy (self->batch, msg.batch, SLUICE_BATCH_SIZE);
            self->have_batch = true;
            s_adopt_routing (self, &routing);
        }
    }
    zmq_msg_close (&body);
    zmq_msg_close (&routing);
    bool told = false;
    if (self->routing_size && self->have_batch) {
        sluice_encoder_scalar (self->encoder, SLUICE_MSG_ABANDON, self->batch, 0, NULL);
        told = s_control_send (self) == 0;
    }
    //  a sink that started a moment ago has had no peer by now: no one to tell
    if (!told && !self->routing_size && !s_batch_expected (self)) {
        s_finish (self, self->abandon_status);
        return;
    }
    if (!told && sluice_now_ms () < self->abandon_deadline)
        return;
    if (!told && self->routing_size)
        zsys_warning ("could not tell the ventilator that the batch is abandoned (no "
                      "connection to it for %.1f s): it goes on waiting for a sink",
                      S_ABANDON_WAIT_MS / 1000.0);
    else
    if (!told)
        zsys_warning ("no ventilator spoke within %.1f s: none was told that the batch is "
                      "abandoned", S_ABANDON_WAIT_MS / 1000.0);
    s_finish (self, self->abandon_status);
}

//  The output cannot be written (logged): tell the ventilator, which would
//  otherwise wait forever for acknowledgements, and stop with status 3.
static void
s_output_failed (sluice_sink_t *self)
{
    s_abandon (self, SLUICE_EXIT_RUNTIME);
}

//  --------------------------------------------------------------------------
//  Embedding API

//  Set or clear the eventfd that keeps sluice_sink_fd readable.
static void
s_signal (sluice_sink_t *self, bool on)
{
    uint64_t value = 1;
    if (on && !self->signalled)
        self->signalled = write (self->event_fd, &value, sizeof value) == sizeof value;
    else
    if (!on && self->signalled) {
        self->signalled = false;
        if (read (self->event_fd, &value, sizeof value) < 0)
            self->signalled = errno != EAGAIN;
    }
}

int
sluice_sink_fd (sluice_sink_t *self)
{
    return self->epoll_fd;
}

int64_t
sluice_sink_timeout (sluice_sink_t *self)
{
    if (self->signalled || self->phase == S_DONE)
        return 0;
    if (self->phase == S_ABANDONING)
        return S_ABANDON_POLL_MS;
    if (self->phase == S_COMPLETING) {
        //  COMPLETE is due when someone speaks for the batch; BYE by the deadline
        int64_t due = self->complete_deadline;
        if (self->routing_size && self->complete_next < due)
            due = self->complete_next;
        due -= sluice_now_ms ();
        return due < 0? 0: due > S_COMPLETE_EVERY_MS? S_COMPLETE_EVERY_MS: due;
    }
    return S_SERVICE_MS;
}

int
sluice_sink_service (sluice_sink_t *self)
{
    if (self->phase == S_ABANDONING)
        s_check_abandoning (self);      //  its eventfd stays clear (below)
    else
    if (self->phase != S_DONE) {
        s_signal (self, false);
        s_settle_taken (self);
        if (s_drain (self))
            s_output_failed (self);
        if (self->phase == S_RUNNING)
            s_check_running (self);
        if (self->phase == S_COMPLETING)
            s_check_completing (self);
        s_watch_ventilator (self);
    }
    bool ready = self->reader && sluice_output_ready (self->output);
    s_signal (self, self->phase == S_ABANDONING? false
                    : self->more_input || ready || self->phase == S_DONE);
    if (self->phase != S_DONE)
        return 0;
    return self->status == SLUICE_EXIT_RUNTIME? -1: 1;
}

int
sluice_sink_next (sluice_sink_t *self, sluice_result_t *result)
{
    assert (self->reader);
    bool settled = self->have_taken;
    s_settle_taken (self);
    if (sluice_output_take (self->output, result)) {
        self->have_taken = true;
        self->taken_id = result->id;
        self->taken_failed = result->status != SLUICE_STATUS_OK;
        return 1;
    }
    s_send_acks (self);
    if (settled)
        s_signal (self, true);  //  the batch may be complete: service is due
    return self->phase == S_DONE? -1: 0;
}

int
sluice_sink_last_failure (sluice_sink_t *self)
{
    return self->last_failure;
}

int
sluice_sink_status (sluice_sink_t *self)
{
    return self->phase == S_DONE? self->status: -1;
}

//  --------------------------------------------------------------------------
//  Construction

//  Watch the sockets' ZMQ_FDs and the eventfd with one epoll fd. Returns 0,
//  or -1 with a message in err.
static int
s_epoll_setup (sluice_sink_t *self, char *err, size_t errlen)
{
    self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    self->event_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->epoll_fd < 0 || self->event_fd < 0) {
        snprintf (err, errlen, "cannot create an epoll fd: %s", strerror (errno));
        return -1;
    }
    int fds [5] = { self->event_fd, -1, -1, sluice_monitor_fd (self->monitor),
                    sluice_monitor_fd (self->control_monitor) };
    size_t size = sizeof (int);
    zmq_getsockopt (self->results_handle, ZMQ_FD, &fds [1], &size);
    size = sizeof (int);
    zmq_getsockopt (self->control_handle, ZMQ_FD, &fds [2], &size);
    for (int i = 0; i < 5; i++) {
        struct epoll_event event = { .events = EPOLLIN, .data.fd = fds [i] };
        if (epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, fds [i], &event)) {
            snprintf (err, errlen, "cannot watch a socket: %s", strerror (errno));
            return -1;
        }
    }
    return 0;
}

//  Open --joblog and --results-dir. Returns 0, or -1 with a message in err.
static int
s_open_jobs (sluice_sink_t *self, char *err, size_t errlen)
{
    const sluice_config_t *config = self->config;
    if (config->joblog) {
        bool exec = config->mode == SLUICE_MODE_EXEC;
        self->joblog = sluice_joblog_open (config->joblog, exec? config->command: NULL,
                                           sluice_spawn_colsep (config), config->pipe, err,
                                           errlen);
        if (!self->joblog)
            return -1;
    }
    if (config->results_dir) {
        self->results_dir = sluice_results_dir_new (config->results_dir, config->args, err,
                                                    errlen);
        if (!self->results_dir)
            return -1;
    }
    return 0;
}

//  Open the output of a file sink (stdout without -o), resuming with
//  --append. Returns 0, or -1 with a message in err.
static int
s_open_output (sluice_sink_t *self, char *err, size_t errlen)
{
    const sluice_config_t *config = self->config;
    if (s_open_jobs (self, err, errlen))
        return -1;
    if (!config->output) {
        self->output = sluice_output_new (STDOUT_FILENO, config->format);
        sluice_output_set_tag (self->output, config->tag);
        return 0;
    }
    self->output = sluice_output_open (config->output, config->append, config->format,
                                       err, errlen);
    if (!self->output)
        return -1;
    sluice_output_set_tag (self->output, config->tag);
    if (!config->append)
        return 0;
    self->state_path = zsys_sprintf ("%s.sluice-state", config->output);
    return s_state_load (self, err, errlen);
}

//  Bind the sockets and set up the fd the caller polls.
static int
s_open_sockets (sluice_sink_t *self, char *err, size_t errlen)
{
    const sluice_config_t *config = self->config;
    //  no high-water mark on results: the ventilator's window already
    //  bounds what is in flight, and libzmq 4.3.4 can abort when a peer
    //  disconnects while input is stopped at the mark ("Assertion failed:
    //  !_io_error (stream_engine_base.cpp:331)", seen under load here)
    self->security = sluice_security_new (config, err, errlen);
    if (!self->security)
        return -1;
    self->results = sluice_socket_open (ZMQ_ROUTER, config, self->security,
                                        SLUICE_CHANNEL_RESULTS, config->results, 0, 0,
                                        err, errlen);
    //  the ventilator's control messages are small, LOST included (it cuts
    //  an input to fit): a peer's half-sent frame holds --max-control-size
    self->control = self->results
                  ? sluice_socket_open (ZMQ_ROUTER, config, self->security,
                                        SLUICE_CHANNEL_CONTROL, config->control, 1000,
                                        SLUICE_SOCKET_SMALL, err, errlen)
                  : NULL;
    if (!self->control)
        return -1;
    self->results_handle = zsock_resolve (self->results);
    self->control_handle = zsock_resolve (self->control);
    //  a send to a departed ventilator fails: a new one may take over
    zmq_setsockopt (self->control_handle, ZMQ_ROUTER_MANDATORY, &(int) { 1 }, sizeof (int));
    self->monitor = sluice_monitor_new (self->results_handle, err, errlen);
    self->control_monitor = self->monitor
                          ? sluice_monitor_new (self->control_handle, err, errlen): NULL;
    if (!self->control_monitor)
        return -1;
    sluice_monitor_set_max (self->monitor, config->max_peers);
    sluice_monitor_set_max (self->control_monitor, config->max_peers);
    return s_epoll_setup (self, err, errlen);
}

//  A sink writing to its configured output, or (reader) for the caller.
static sluice_sink_t *
s_new (const sluice_config_t *config, bool reader, char *err, size_t errlen)
{
    sluice_log_init ();
    sluice_sink_t *self = (sluice_sink_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    self->created = sluice_now_ms ();
    self->reader = reader;
    self->encoder = sluice_encoder_new ();
    //  sized by the batch's window when it is adopted (BEGIN, or the state
    //  file), not by our own --window default: -k holds nothing at or past
    //  low + the ventilator's window, where no real task can be in flight
    self->seen = sluice_seen_new (1, config->keep_order);
    sluice_seen_set_hold_max (self->seen, config->reorder_max);
    self->taken = reader? sluice_seen_new (config->window, false): NULL;
    self->early = zlist_new ();
    self->unread = zhashx_new ();
    self->epoll_fd = self->event_fd = -1;
    self->status = -1;
    self->started = sluice_now_ms ();
    if (reader)
        self->output = sluice_output_new_reader ();
    if ((!reader && s_open_output (self, err, errlen))
    ||  s_open_sockets (self, err, errlen))
        sluice_sink_destroy (&self);
    return self;
}

sluice_sink_t *
sluice_sink_new (const sluice_config_t *config, char *err, size_t errlen)
{
    return s_new (config, false, err, errlen);
}

sluice_sink_t *
sluice_sink_new_reader (const sluice_config_t *config, char *err, size_t errlen)
{
    return s_new (config, true, err, errlen);
}

//  Destroy results still held from before the batch began.
static void
s_purge_early (sluice_sink_t *self)
{
    zchunk_t *chunk;
    while ((chunk = (zchunk_t *) zlist_pop (self->early)))
        zchunk_destroy (&chunk);
    self->early_bytes = 0;
}

void
sluice_sink_destroy (sluice_sink_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_sink_t *self = *self_p;
        sluice_set_linger (self->results, 1000);    //  the last STORED
        sluice_set_linger (self->control, 1000);
        sluice_monitor_destroy (&self->monitor);
        sluice_monitor_destroy (&self->control_monitor);
        zsock_destroy (&self->results);
        zsock_destroy (&self->control);
        sluice_security_destroy (&self->security);
        if (self->epoll_fd >= 0)
            close (self->epoll_fd);
        if (self->event_fd >= 0)
            close (self->event_fd);
        sluice_encoder_destroy (&self->encoder);
        sluice_seen_destroy (&self->seen);
        sluice_seen_destroy (&self->taken);
        sluice_output_destroy (&self->output);
        sluice_joblog_destroy (&self->joblog);
        sluice_results_dir_destroy (&self->results_dir);
        free (self->acks);
        free (self->owed);
        free (self->sent_acks);
        free (self->retries);
        for (size_t i = 0; i < self->stored_count; i++)
            free (self->stored [i].ranges);
        free (self->stored);
        zhashx_destroy (&self->unread);
        s_purge_early (self);
        zlist_destroy (&self->early);
        sluice_ledger_destroy (&self->state);
        zstr_free (&self->state_path);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Run

//  Log the summary line (and the dropped and duplicate counts). A file
//  sink counts the records that reached its output, not those still in
//  its buffer when the output failed or the batch was abandoned.
static void
s_log_summary (sluice_sink_t *self)
{
    if (self->config->quiet || !self->config->summary)
        return;
    double secs = (double) (sluice_now_ms () - self->started) / 1000.0;
    uint64_t written = self->reader? self->written: self->flushed;
    zsys_info ("%" PRIu64 " tasks, %" PRIu64 " failed, %.2f s, %.0f tasks/s%s",
               written, self->failed, secs, secs > 0? (double) written / secs: 0.0, "");
    if (self->dropped || self->duplicates)
        zsys_info ("%" PRIu64 " malformed or foreign messages dropped, %" PRIu64
                   " duplicate results ignored", self->dropped, self->duplicates);
    if (self->hold_dropped)
        zsys_info ("%" PRIu64 " results not held for -k (far ahead of the window, or over "
                   "--reorder-max)", self->hold_dropped);
    if (sluice_security_refused (self->security))
        zsys_info ("%" PRIu64 " connections refused (see docs/SECURITY.md)",
                   sluice_security_refused (self->security));
    if (self->ignored)
        zsys_info ("%" PRIu64 " control messages from a peer other than the ventilator "
                   "ignored", self->ignored);
    if (self->stderr_truncated)
        zsys_info ("%" PRIu64 " tasks' stderr truncated by their worker (--stderr-max)",
                   self->stderr_truncated);
    if (self->skipped)
        zsys_info ("%" PRIu64 " ids below the ventilator's low watermark were not written "
                   "by this sink (acknowledged earlier, says the ventilator)", self->skipped);
}

//  SIGINT/SIGTERM: abandon a running batch; stop waiting for BYE.
static void
s_interrupt (sluice_sink_t *self)
{
    if (self->phase == S_RUNNING) {
        zsys_warning ("interrupted before the batch completed");
        s_abandon (self, SLUICE_EXIT_ABANDONED);
    }
    else
    if (self->phase == S_COMPLETING)
        s_finish (self, s_completed_status (self));
}

//  True if body is a receipt of our batch: a RESULTS with no items.
static bool
s_is_receipt (sluice_sink_t *self, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason;
    return self->have_batch
        && sluice_msg_open (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason) == 0
        && msg.type == SLUICE_MSG_RESULTS && msg.count == 0
        && !memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE);
}

int
sluice_sink_settle (sluice_sink_t *self, int max_ms)
{
    //  A worker's results DEALER has ZMQ_IMMEDIATE, and libzmq then drops
    //  what the worker has received but not read yet when the connection
    //  closes: leaving at once would lose the last STORED (seen in one run
    //  of five here), and the worker would hold its results in vain. A
    //  worker of protocol 5.1 says when it has read them (a receipt, which
    //  it sends once it holds nothing); one of 5.0 never does, and gets
    //  max_ms after the last STORED. Anything else that arrives now is
    //  left unread, as a sink that has stopped leaves it.
    void *handle = self->results_handle;
    int fd = -1;
    size_t size = sizeof fd;
    if (zmq_getsockopt (handle, ZMQ_FD, &fd, &size))
        return (int) zhashx_size (self->unread);
    while (zhashx_size (self->unread)) {
        int64_t wait = self->stored_ms + max_ms - sluice_now_ms ();
        if (wait <= 0)
            break;
        zmq_msg_t routing, body;
        zmq_msg_init (&routing);
        zmq_msg_init (&body);
        int rc = s_recv_routed (handle, &routing, &body);
        if (rc > 0 && s_is_receipt (self, &body))
            s_unread_remove (self, zmq_msg_data (&routing), zmq_msg_size (&routing));
        zmq_msg_close (&body);
        zmq_msg_close (&routing);
        if (rc != 0)
            continue;
        //  nothing waiting: ZMQ_EVENTS re-arms the edge-triggered ZMQ_FD
        if (s_readable (handle))
            continue;
        struct pollfd item = { fd, POLLIN, 0 };
        poll (&item, 1, (int) wait);
    }
    size_t unread = zhashx_size (self->unread);
    if (unread)
        sluice_debug ("%zu workers sent no receipt for their last STORED", unread);
    return (int) unread;
}

int
sluice_sink_run (sluice_sink_t *self)
{
    self->started = sluice_now_ms ();
    while (sluice_sink_service (self) == 0) {
        if (zsys_interrupted && self->phase != S_ABANDONING) {
            s_interrupt (self);
            continue;
        }
        struct pollfd item = { sluice_sink_fd (self), POLLIN, 0 };
        poll (&item, 1, (int) sluice_sink_timeout (self));
    }
    sluice_sink_settle (self, S_STORED_WAIT_MS);
    s_purge_early (self);
    s_log_summary (self);
    return self->status;
}
