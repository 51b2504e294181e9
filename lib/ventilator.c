/*  =========================================================================
    ventilator.c - streams tasks to workers and sees each one acknowledged

    Wires three socket-free modules to two sockets. Records read from the
    inputs (reader.c), or submitted by an embedding program, enter the window
    (window.c: slot ring, send queue, leases), at most config->window
    unacknowledged tasks. Queued tasks go to workers that announced credit
    (free slots) on a ROUTER socket; each delivery is leased for
    config->timeout_ms, renewed on PROGRESS, re-sent on expiry, and its slot
    freed only when the sink acknowledges the result as written (DEALER to
    the sink). With --journal, acknowledged ranges go to a ledger
    (ledger.c) so a re-run skips them. Input is read only while the window
    has room, so a slow sink or slow workers push back all the way to the
    shell pipe.

    A worker that is gone costs seconds, not a lease. The ventilator learns
    it three ways: a send to it fails (EHOSTUNREACH), its connection
    closes (the socket monitor's DISCONNECTED names the fd, which peers.c
    maps to the worker its messages came on), or it is silent for
    S_WORKER_SILENT_MS (workers speak at least every 250 ms). It is then
    forgotten (sent nothing until it speaks again) and every task it held
    goes back to the head of the queue with its attempt unchanged
    (window.c's reclaim). Leases stay as the last resort for a worker that
    is alive but stuck.

    One service loop does everything and never blocks (sluice_ventilator_
    service); the blocking calls (submit, run, wait) poll the ventilator's
    epoll fd and call it.
    =========================================================================
*/

#include "private.h"
#include "window.h"
#include "ledger.h"
#include "reader.h"
#include "peers.h"
#include "monitor.h"
#include "halt.h"
#include "joblog.h"
#include "rerun.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define S_PACK_TASKS 256            //  tasks packed into one message at most
#define S_PACK_BYTES (256 * 1024)   //  payload bytes packed, soft limit
#define S_READS_PER_SERVICE 8       //  input reads in one service call at most
#define S_PUMP_ROUNDS 4             //  receive/dispatch rounds in one service call
#define S_DRAIN_MAX 512             //  messages one socket gives in one round at most:
                                    //  a flood of workers cannot starve the sink
#define S_PING_MS 1000              //  heartbeat to the sink
#define S_SINK_SILENT_MS 5000       //  sink considered gone after this
#define S_SCAN_MS 100               //  lease expiry scan period
#define S_WAIT_MS 100               //  blocking calls re-check signals this often
#define S_WINDOW_BYTES (16 * 1024 * 1024)  //  payload bytes held at most
#define S_MAX_CREDIT 1000000        //  credit a worker may announce at most
#define S_WORKER_SILENT_MS 2000     //  a worker silent this long is gone (8 heartbeats)
#define S_SUSPECT_MAX_MS 10000      //  while every worker is silent, reclaim no sooner
//  A returning worker's tasks: renewed by its progress reports, or re-sent
//  when this lease ends. Those it finished while we could not hear it are
//  stored and are in no report: their ACKs may have died with our control
//  connection, and the sink sends them again at the next PING after that
//  (we ping at once when a worker is back, and the sink owes them until a
//  send succeeds). Three PING periods cover a PING lost on a connection
//  that is dying too, and the next one.
#define S_RETURN_LEASE_MS (3 * S_PING_MS)
//  A worker that stops gracefully sends its last results to the sink as its
//  connection to us closes; the sink's ACK follows within milliseconds.
//  Reclaiming at once would re-run those tasks, so a disconnect (or a
//  failed send, which it causes) is reclaimed this much later.
#define S_RECLAIM_GRACE_MS 250
#define S_NO_WORKERS_MS 5000        //  warn when no worker for this long
#define S_NO_WORKERS_REPEAT_MS 30000    //  and repeat at most this often
#define S_REFUSED_FAIL_MS 5000      //  every worker refused the batch this long: fail
#define S_DROP_LINGER_MS 1000       //  time for DROP to leave before the socket closes

//  Scalars of the messages the ventilator reads, by name (docs/PROTOCOL.md
//  section 4)
#define S_CREDIT_ROOM(msg) ((msg)->arg [0])       //  CREDIT: slots offered
#define S_CREDIT_RESET(msg) ((msg)->arg [1])      //  CREDIT: replaces, not adds
#define S_PONG_NEED_INPUT(msg) ((msg)->arg [0])   //  PONG: results carry inputs
#define S_PONG_HAS_END(msg) ((msg)->arg [1])      //  PONG: the sink knows END
#define S_COMPLETE_TOTAL(msg) ((msg)->arg [0])    //  COMPLETE: tasks written
#define S_COMPLETE_FAILED(msg) ((msg)->arg [1])   //  COMPLETE: of them failed
//  Fields of list items
enum { S_ACK_FIRST, S_ACK_LAST, S_ACK_FAILED };  //  ACK [first, last, failed]
enum { S_RETRY_ID, S_RETRY_ATTEMPT };            //  RETRY [id, attempt]

//  A lost worker whose tasks are reclaimed at due
typedef struct {
    uint64_t handle;            //  its peer handle: the owner of its deliveries
    int64_t due;                //  when to reclaim
    int64_t since;              //  when it was taken for gone
    bool suspected;             //  our own link was suspected meanwhile
    const char *reason;         //  "disconnected", "silent 2 s", "send failed"
    uint64_t unheard;           //  tasks sent to it after its last message
    uint64_t credit_peak;       //  the most credit it held at once
    char identity [sizeof ((sluice_peer_t *) 0)->identity];
} s_gone_t;

struct _sluice_ventilator_t {
    const sluice_config_t *config;
    zsock_t *tasks;             //  ROUTER to workers
    zsock_t *control;           //  DEALER to the sink
    void *tasks_handle;         //  raw sockets for the hot path
    void *control_handle;
    sluice_encoder_t *encoder;
    uint8_t batch [SLUICE_BATCH_SIZE];
    char batch_str [SLUICE_BATCH_SIZE * 2 + 1];
    sluice_window_t *window;    //  unacknowledged tasks
    sluice_ledger_t *journal;   //  --journal, or NULL
    sluice_peers_t *peers;      //  workers and their credit
    sluice_reader_t *reader;    //  records of the inputs
    sluice_monitor_t *monitor;  //  the tasks socket's events: disconnects
    sluice_security_t *security;    //  keys, or protected mode (security.c)
    sluice_command_t command;   //  the batch's command (--exec, --coproc), if any
    bool has_command;
    uint64_t *refusers;         //  handles of the workers that refused the batch
    size_t refuser_count;
    int64_t refused_since;      //  when only refusing workers were left, or 0
    bool paused;                //  send no more tasks (first Ctrl-C)
    bool dropped_sent;          //  DROP went to the workers
    s_gone_t *gone;             //  lost workers whose tasks are not reclaimed yet
    size_t gone_count;
    size_t gone_alloc;
    int64_t workerless_since;   //  when the last worker left (or creation)
    int64_t workerless_warned;  //  when "no workers" was last logged, or 0
    int64_t last_timers;        //  when the timers last ran
    char tasks_text [256];      //  the tasks endpoints for messages
    bool input_blocked;         //  the last read found nothing (EAGAIN)
    int input_watched;          //  input fd in the epoll set, or -1
    //  embedding: one fd to poll
    int epoll_fd;               //  ZMQ_FDs, watched input, wakeup
    int wakeup_fd;              //  eventfd: service is due now
    bool woken;                 //  wakeup_fd is set
    //  batch phase
    bool begin_sent;
    bool closed;                //  no more tasks will be submitted
    bool end_sent;
    bool complete;              //  every task acknowledged
    int status;                 //  exit code once finished, else -1
    int64_t started;            //  when BEGIN was sent
    //  sink
    bool need_input;            //  sink wants inputs with results
    bool sink_alive;
    int64_t sink_seen;          //  last message from the sink
    int64_t next_ping;
    int64_t next_scan;
    size_t lost_items;          //  items in the LOST message being packed
    size_t lost_bytes;          //  its inputs' bytes, and 32 a item
    //  counts
    uint64_t acked;
    uint64_t failed;
    uint64_t lost;
    uint64_t dropped;
    sluice_ratelimit_t limit;
    sluice_ratelimit_t peer_limit;  //  the --max-peers lines, apart from the rest
    //  jobs (GNU parallel's options)
    sluice_rerun_t *rerun;      //  --retry-failed, --resume-failed: what ran before
    sluice_halt_t halt;         //  --halt
    bool halting;               //  its condition held: no more tasks start
    uint64_t run_done;          //  acknowledged in this run (--halt counts them)
    uint64_t run_failed;        //  of them, failed
};

//  --------------------------------------------------------------------------
//  Journal

//  Open the journal: resume the batch it names (its acknowledged ids are
//  skipped and counted), or record ours. Returns 0, or -1 with err.
static int
s_journal_open (sluice_ventilator_t *self, const char *path, char *err, size_t errlen)
{
    self->journal = sluice_ledger_open (path, err, errlen);
    if (!self->journal)
        return -1;
    if (!sluice_ledger_batch (self->journal, self->batch, NULL)) {
        if (sluice_ledger_write_batch (self->journal, self->batch, 0)) {
            snprintf (err, errlen, "cannot write journal %s: %s", path, strerror (errno));
            return -1;
        }
        return 0;
    }
    self->acked = sluice_ledger_acked (self->journal);
    self->failed = sluice_ledger_failed (self->journal);
    if (self->rerun) {
        //  the ids to skip are counted as they are read (s_add_task)
        size_t count;
        const sluice_range_t *ranges = sluice_ledger_ranges (self->journal, &count);
        for (size_t i = 0; i < count; i++)
            sluice_rerun_add (self->rerun, ranges [i].first, ranges [i].last, ranges [i].failed);
        self->acked = self->failed = 0;
    }
    if (self->acked)
        zsys_info ("journal %s: resuming batch, %" PRIu64 " tasks already acknowledged",
                   path, self->acked);
    return 0;
}

//  --retry-failed, --resume-failed: what the earlier run did, from the
//  journal (read by s_journal_open) or else from --joblog. Returns 0, or
//  -1 with err.
static int
s_rerun_open (sluice_ventilator_t *self, char *err, size_t errlen)
{
    const sluice_config_t *config = self->config;
    if (config->rerun == SLUICE_RERUN_NONE)
        return 0;
    if (sluice_config_check_rerun (config, err, errlen))
        return -1;
    self->rerun = sluice_rerun_new (config->rerun);
    size_t skipped = 0;
    if (!config->journal
    &&  sluice_joblog_load (config->joblog, self->rerun, &skipped, err, errlen))
        return -1;
    if (skipped)
        zsys_warning ("%s: skipped %zu lines that are not joblog lines", config->joblog,
                      skipped);
    return 0;
}

int
sluice_config_check_rerun (const sluice_config_t *config, char *err, size_t errlen)
{
    if (config->rerun == SLUICE_RERUN_NONE || config->journal || config->joblog)
        return 0;
    snprintf (err, errlen, "%s needs --journal FILE or --joblog FILE (the earlier run)",
              config->rerun == SLUICE_RERUN_RETRY_FAILED? "--retry-failed": "--resume-failed");
    return -1;
}

//  --------------------------------------------------------------------------
//  Construction

//  The command the batch carries in its TASKS: --exec or --coproc, with
//  --pipe and -0 as flags; none without either.
static void
s_command_init (sluice_ventilator_t *self)
{
    const sluice_config_t *config = self->config;
    if (!config->command
    ||  (config->mode != SLUICE_MODE_EXEC && config->mode != SLUICE_MODE_COPROC))
        return;
    self->has_command = true;
    self->command.line = config->command;
    self->command.kind = config->mode == SLUICE_MODE_EXEC? SLUICE_COMMAND_EXEC
                                                         : SLUICE_COMMAND_COPROC;
    self->command.flags = sluice_command_flags (config);
}

//  An endpoint list for messages: "@tcp://*:5557,@ipc://x" without the
//  bind/connect marks, "tcp://*:5557, ipc://x".
static void
s_endpoint_text (const char *endpoints, char *out, size_t outlen)
{
    size_t used = 0;
    out [0] = 0;
    for (const char *p = endpoints; *p && used + 1 < outlen; p++) {
        if ((*p == '@' || *p == '>') && (p == endpoints || p [-1] == ','))
            continue;
        used += (size_t) snprintf (out + used, outlen - used, *p == ','? ", ": "%c", *p);
    }
}

//  Create the epoll set over both sockets' ZMQ_FDs and the wakeup eventfd.
//  Returns 0, or -1 with err.
static int
s_poller_new (sluice_ventilator_t *self, char *err, size_t errlen)
{
    self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    self->wakeup_fd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    int fds [4] = { zsock_fd (self->tasks), zsock_fd (self->control), self->wakeup_fd,
                    sluice_monitor_fd (self->monitor) };
    for (int i = 0; i < 4 && self->epoll_fd >= 0 && self->wakeup_fd >= 0; i++) {
        struct epoll_event event = { .events = EPOLLIN, .data.fd = fds [i] };
        if (epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, fds [i], &event) == 0)
            continue;
        snprintf (err, errlen, "cannot watch sockets: %s", strerror (errno));
        return -1;
    }
    if (self->epoll_fd >= 0 && self->wakeup_fd >= 0)
        return 0;
    snprintf (err, errlen, "cannot create poller: %s", strerror (errno));
    return -1;
}

//  Create both sockets, the monitor and the poller. Returns 0, or -1 with
//  err.
static int
s_sockets_new (sluice_ventilator_t *self, char *err, size_t errlen)
{
    const sluice_config_t *config = self->config;
    self->security = sluice_security_new (config, err, errlen);
    if (!self->security)
        return -1;
    //  workers send credit and progress only: small messages (a worker's
    //  half-sent frame holds at most --max-control-size)
    self->tasks = sluice_socket_open (ZMQ_ROUTER, config, self->security, SLUICE_CHANNEL_TASKS,
                                      config->tasks, 100000, SLUICE_SOCKET_SMALL, err, errlen);
    if (!self->tasks)
        return -1;
    //  the sink serves the control routing id that began the batch: keep it
    //  across reconnects, and make it unguessable
    self->control = sluice_socket_open (ZMQ_DEALER, config, self->security,
                                        SLUICE_CHANNEL_CONTROL, config->control, 100000,
                                        SLUICE_SOCKET_RANDOM_ID | SLUICE_SOCKET_SMALL,
                                        err, errlen);
    if (!self->control)
        return -1;
    self->tasks_handle = zsock_resolve (self->tasks);
    self->control_handle = zsock_resolve (self->control);
    //  a send to a worker that has gone fails instead of vanishing
    zmq_setsockopt (self->tasks_handle, ZMQ_ROUTER_MANDATORY, &(int) { 1 }, sizeof (int));
    self->monitor = sluice_monitor_new (self->tasks_handle, err, errlen);
    if (!self->monitor)
        return -1;
    sluice_monitor_set_max (self->monitor, config->max_peers);
    return s_poller_new (self, err, errlen);
}

sluice_ventilator_t *
sluice_ventilator_new (const sluice_config_t *config, char *err, size_t errlen)
{
    sluice_log_init ();
    sluice_ventilator_t *self = (sluice_ventilator_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    self->encoder = sluice_encoder_new ();
    zuuid_t *uuid = zuuid_new ();
    memcpy (self->batch, zuuid_data (uuid), SLUICE_BATCH_SIZE);
    zuuid_destroy (&uuid);
    self->window = sluice_window_new (config->window, S_WINDOW_BYTES);
    //  --max-held: 10 x --timeout unless given, and never below one lease
    int64_t max_held = config->max_held_ms? config->max_held_ms: 10 * config->timeout_ms;
    sluice_window_set_max_held (self->window, config->timeout_ms,
                                max_held > config->timeout_ms? max_held: config->timeout_ms);
    self->reader = sluice_reader_new (config->input, config->max_size);
    self->peers = sluice_peers_new (S_MAX_CREDIT);
    sluice_peers_set_max (self->peers, config->max_peers);
    self->input_watched = self->epoll_fd = self->wakeup_fd = -1;
    self->status = -1;
    self->need_input = true;
    self->sink_alive = true;
    self->sink_seen = sluice_now_ms ();
    self->workerless_since = self->last_timers = self->sink_seen;
    s_endpoint_text (config->tasks, self->tasks_text, sizeof self->tasks_text);
    s_command_init (self);
    if (config->halt)
        sluice_halt_parse (config->halt, &self->halt);     //  checked by the option table
    if (s_rerun_open (self, err, errlen)
    ||  (config->journal && s_journal_open (self, config->journal, err, errlen))
    ||  s_sockets_new (self, err, errlen)) {
        sluice_ventilator_destroy (&self);
        return NULL;
    }
    sluice_batch_str (self->batch, self->batch_str);
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
        if (self->epoll_fd >= 0)
            close (self->epoll_fd);
        if (self->wakeup_fd >= 0)
            close (self->wakeup_fd);
        sluice_monitor_destroy (&self->monitor);
        //  a DROP must reach the workers, or they run the batch on
        sluice_set_linger (self->tasks, self->dropped_sent? S_DROP_LINGER_MS: 0);
        sluice_set_linger (self->control, 2000);
        zsock_destroy (&self->tasks);
        zsock_destroy (&self->control);
        sluice_security_destroy (&self->security);
        sluice_encoder_destroy (&self->encoder);
        sluice_window_destroy (&self->window);
        sluice_ledger_destroy (&self->journal);
        sluice_peers_destroy (&self->peers);
        sluice_reader_destroy (&self->reader);
        sluice_rerun_destroy (&self->rerun);
        free (self->gone);
        free (self->refusers);
        free (self);
        *self_p = NULL;
    }
}

void
sluice_ventilator_add_input (sluice_ventilator_t *self, int fd, const char *name)
{
    sluice_reader_add (self->reader, fd, name);
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

//  BEGIN [window, retries, max_attempts]: the sink sizes its state.
static void
s_send_begin (sluice_ventilator_t *self)
{
    uint64_t args [3] = {
        self->config->window? self->config->window: 1,
        self->config->retries,
        self->config->max_attempts
    };
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_BEGIN, self->batch, 3, args);
    s_control_send (self);
}

//  Start the batch once: BEGIN to the sink.
static void
s_begin (sluice_ventilator_t *self)
{
    if (self->begin_sent)
        return;
    self->begin_sent = true;
    self->started = sluice_now_ms ();
    s_send_begin (self);
}

//  END [total]: no task follows the last one.
static void
s_send_end (sluice_ventilator_t *self)
{
    uint64_t total = sluice_window_total (self->window);
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_END, self->batch, 1, &total);
    s_control_send (self);
}

//  Send a scalar message without arguments (ABANDON, BYE).
static void
s_send_bare (sluice_ventilator_t *self, int type)
{
    sluice_encoder_scalar (self->encoder, type, self->batch, 0, NULL);
    s_control_send (self);
}

//  --------------------------------------------------------------------------
//  Wakeup: the epoll fd turns readable when service is due and no socket
//  or input will say so

//  Make the fd readable (once; cleared by the next service).
static void
s_wakeup (sluice_ventilator_t *self)
{
    if (self->woken)
        return;
    self->woken = true;
    if (eventfd_write (self->wakeup_fd, 1))
        sluice_warn_ratelimited (&self->limit, "cannot signal wakeup: %s", strerror (errno));
}

//  Clear the wakeup at the start of a service.
static void
s_wakeup_clear (sluice_ventilator_t *self)
{
    if (!self->woken)
        return;
    eventfd_t value;
    if (eventfd_read (self->wakeup_fd, &value) == 0 || errno == EAGAIN)
        self->woken = false;
}

//  True if a socket (tasks, control, monitor) holds a message (ZMQ_EVENTS):
//  its ZMQ_FD may not signal it again, since ZMQ_FD is edge-triggered.
static bool
s_sockets_readable (sluice_ventilator_t *self)
{
    int events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt (self->tasks_handle, ZMQ_EVENTS, &events, &size) == 0
    &&  (events & ZMQ_POLLIN))
        return true;
    if (sluice_monitor_pending (self->monitor))
        return true;
    size = sizeof events;
    return zmq_getsockopt (self->control_handle, ZMQ_EVENTS, &events, &size) == 0
        && (events & ZMQ_POLLIN);
}

//  --------------------------------------------------------------------------
//  Workers

//  Flags of one delivery of a task.
static uint32_t
s_task_flags (sluice_ventilator_t *self, const sluice_window_task_t *task)
{
    uint32_t flags = 0;
    //  a result carries its output and, asked, its input: a task over half
    //  of what a message may carry could not have both (the sink would
    //  drop the connection over --max-size, again at each re-send)
    if (self->need_input && task->size <= sluice_payload_max (self->config->max_size) / 2)
        flags |= SLUICE_FLAG_WANT_INPUT;
    if (task->failures < self->config->retries)
        flags |= SLUICE_FLAG_RETRYABLE;
    return flags;
}

//  Send the packed TASKS message to a worker. Returns 0, or -1 if the
//  worker cannot take it (errno EHOSTUNREACH: it has gone).
static int
s_send_tasks (sluice_ventilator_t *self, const sluice_peer_t *peer)
{
    if (sluice_send (self->tasks_handle, peer->routing, peer->routing_size,
                     ZMQ_SNDMORE | ZMQ_DONTWAIT))
        return -1;
    //  ROUTER_MANDATORY fails on the routing frame, so once it is accepted
    //  the body is too
    zmq_msg_t body;
    if (sluice_encoder_take (self->encoder, &body) == 0
    &&  zmq_msg_send (&body, self->tasks_handle, ZMQ_DONTWAIT) < 0) {
        //  cannot happen in libzmq 4.3; the leases recover if it does
        sluice_warn_ratelimited (&self->limit, "cannot send tasks: %s", zmq_strerror (errno));
        zmq_msg_close (&body);
    }
    return 0;
}

//  A task given up (sluice_window_lost_fn): packed into LOST messages.
static void
s_on_lost (void *arg, const sluice_window_task_t *task, bool first)
{
    sluice_ventilator_t *self = (sluice_ventilator_t *) arg;
    if (first) {
        self->lost++;
        zsys_warning ("task %" PRIu64 " lost after %u deliveries; giving up",
                      task->id, task->attempt + task->reclaims);
    }
    //  the sink's control socket takes messages of --max-control-size at
    //  most (a half-sent frame there costs no more): one LOST carries many
    //  items up to that, and an input too large for it alone is cut
    size_t room = sluice_payload_max (SLUICE_CONTROL_SIZE (self->config));
    size_t size = task->size < room? task->size: room;
    if (first && size < task->size)
        zsys_warning ("task %" PRIu64 ": its input (%zu bytes) is cut to %zu bytes in the "
                      "sink's lost record (--max-control-size)", task->id, task->size, size);
    if (self->lost_items && self->lost_bytes + size > room) {
        s_control_send (self);
        self->lost_items = 0;
    }
    if (self->lost_items == 0) {
        sluice_encoder_begin (self->encoder, SLUICE_MSG_LOST, self->batch);
        self->lost_bytes = 0;
    }
    //  the sink records deliveries: a reclaimed delivery kept its attempt
    //  number but was one
    sluice_encoder_lost (self->encoder, task->id, task->attempt + task->reclaims, task->data,
                         size);
    self->lost_bytes += size + 32;
    if (++self->lost_items == S_PACK_TASKS) {
        s_control_send (self);
        self->lost_items = 0;
    }
}

//  True if the worker of handle refused the batch.
static bool
s_refuses (sluice_ventilator_t *self, uint64_t handle)
{
    for (size_t i = 0; i < self->refuser_count; i++)
        if (self->refusers [i] == handle)
            return true;
    return false;
}

//  A worker that refused is gone: it no longer counts among the refusers.
static void
s_refuser_forget (sluice_ventilator_t *self, uint64_t handle)
{
    for (size_t i = 0; i < self->refuser_count; i++)
        if (self->refusers [i] == handle) {
            self->refusers [i] = self->refusers [--self->refuser_count];
            return;
        }
}

//  The worker is gone (reason): forget it at once, so it is sent nothing
//  until it speaks again, and reclaim the tasks it holds grace ms later.
static void
s_worker_gone (sluice_ventilator_t *self, sluice_peer_t *peer, const char *reason,
               int64_t grace)
{
    if (self->gone_count == self->gone_alloc) {
        self->gone_alloc = self->gone_alloc? self->gone_alloc * 2: 16;
        self->gone = (s_gone_t *) realloc (self->gone, self->gone_alloc * sizeof (s_gone_t));
        assert (self->gone);
    }
    s_gone_t *gone = &self->gone [self->gone_count++];
    gone->handle = peer->handle;
    gone->due = sluice_now_ms () + grace;
    gone->since = sluice_now_ms ();
    gone->suspected = false;
    gone->reason = reason;
    gone->unheard = peer->sent_unheard;
    gone->credit_peak = peer->credit_peak;
    snprintf (gone->identity, sizeof gone->identity, "%s", peer->identity);
    s_refuser_forget (self, peer->handle);
    sluice_peers_remove (self->peers, peer);
    if (sluice_peers_count (self->peers) == 0)
        self->workerless_since = sluice_now_ms ();
}

//  True while a gone worker's tasks should wait: no other worker has been
//  heard from lately, so the silence or the disconnects are more likely our
//  own link than that worker (every worker went quiet at once). Then its
//  tasks wait for it to come back (s_worker_back), for another worker to
//  speak, or S_SUSPECT_MAX_MS, whichever is first; the lease stays the
//  last resort.
static bool
s_suspect_own_link (sluice_ventilator_t *self, const s_gone_t *gone, int64_t now)
{
    //  "lately" is half the silence limit: workers that fell silent
    //  together cross the limit a scan or two apart
    return now - gone->since < S_SUSPECT_MAX_MS
        && !sluice_peers_any_recent (self->peers, now, S_WORKER_SILENT_MS / 2);
}

//  Order of gone workers by handle (sluice_window_*_many want owners
//  ascending).
static int
s_gone_cmp (const void *a, const void *b)
{
    uint64_t x = ((const s_gone_t *) a)->handle, y = ((const s_gone_t *) b)->handle;
    return x < y? -1: x > y;
}

//  Whether a gone worker's tasks wait (true) or are reclaimed now, given
//  how many it holds.
static bool
s_gone_waits (sluice_ventilator_t *self, s_gone_t *gone, size_t held, int64_t now)
{
    if (held == 0)
        gone->suspected = false;    //  nothing to wait for
    else
    if (s_suspect_own_link (self, gone, now))
        gone->suspected = true;
    else
    if (gone->suspected) {
        //  workers are heard again: the link is back, and this one may
        //  be reconnecting too; give it the time a silence takes
        gone->suspected = false;
        gone->due = now + S_WORKER_SILENT_MS;
    }
    return gone->due > now || gone->suspected;
}

//  Reclaim the tasks of lost workers whose grace has ended: back to the
//  head of the queue, attempt unchanged (or LOST, reported to the sink, if
//  reclaimed max-attempts times). One pass over the window counts what
//  every gone worker holds, one more takes back the tasks of all that are
//  due: a peer that joins and leaves in a loop leaves hundreds a scan.
static void
s_reclaim_due (sluice_ventilator_t *self, int64_t now)
{
    self->lost_items = 0;
    size_t n = self->gone_count;
    if (!n)
        return;
    qsort (self->gone, n, sizeof (s_gone_t), s_gone_cmp);
    uint64_t *owners = (uint64_t *) malloc (n * sizeof (uint64_t));
    size_t *counts = (size_t *) malloc (2 * n * sizeof (size_t));
    bool *waits = (bool *) malloc (n * sizeof (bool));
    assert (owners && counts && waits);
    for (size_t i = 0; i < n; i++)
        owners [i] = self->gone [i].handle;
    sluice_window_held_many (self->window, owners, n, counts);
    size_t due = 0;
    for (size_t i = 0; i < n; i++) {
        waits [i] = s_gone_waits (self, &self->gone [i], counts [i], now);
        if (!waits [i] && counts [i])
            owners [due++] = self->gone [i].handle;
    }
    size_t *taken = counts + n;
    sluice_window_reclaim_many (self->window, owners, due, now, self->config->timeout_ms,
                                self->config->max_attempts, s_on_lost, self, taken);
    size_t kept = 0, k = 0;
    for (size_t i = 0; i < n; i++) {
        s_gone_t *gone = &self->gone [i];
        if (waits [i]) {
            self->gone [kept++] = *gone;
            continue;
        }
        bool held = k < due && owners [k] == gone->handle;
        //  what went after its last word is what a vanished host costs: at
        //  most its credit (tests/hosts measures it)
        sluice_debug ("worker %s left (%s), %zu tasks reclaimed, %" PRIu64 " sent after it "
                      "was last heard (credit at most %" PRIu64 ")", gone->identity, gone->reason,
                      held? taken [k]: (size_t) 0, gone->unheard, gone->credit_peak);
        k += held;
    }
    self->gone_count = kept;
    free (owners);
    free (counts);
    free (waits);
    if (self->lost_items)
        s_control_send (self);
}

//  A worker speaks for the first time since it joined: if it was taken for
//  gone and its tasks are not reclaimed yet (our link was down, not its
//  process), it still holds most of them: they become its own again, on a
//  short lease that its progress reports renew for what it really holds
//  (tasks in flight on the dead connection were lost with it).
static void
s_worker_back (sluice_ventilator_t *self, sluice_peer_t *peer)
{
    for (size_t i = 0; i < self->gone_count; i++) {
        s_gone_t *gone = &self->gone [i];
        if (strcmp (gone->identity, peer->identity))
            continue;
        size_t moved = sluice_window_transfer (self->window, gone->handle, peer->handle,
                                               sluice_now_ms () + S_RETURN_LEASE_MS);
        sluice_debug ("worker %s is back, holding its %zu tasks", peer->identity, moved);
        //  ask the sink for the ACKs it owes now, not a PING period later
        if (moved)
            self->next_ping = sluice_now_ms ();
        self->gone [i] = self->gone [--self->gone_count];
        return;
    }
}

//  Pack queued tasks for one worker and send them. Returns the number sent,
//  or -1 if the worker refused them (they go back to the queue head).
static int
s_send_to_peer (sluice_ventilator_t *self, sluice_peer_t *peer)
{
    uint64_t limit = peer->credit < S_PACK_TASKS? peer->credit: S_PACK_TASKS;
    int64_t deadline = sluice_now_ms () + self->config->timeout_ms;
    uint64_t sent_ids [S_PACK_TASKS];
    size_t taken = 0, bytes = 0;
    sluice_window_task_t task;
    sluice_encoder_begin_tasks (self->encoder, self->batch,
                                self->has_command? &self->command: NULL);
    while (taken < limit && bytes < S_PACK_BYTES
       &&  sluice_window_take (self->window, taken == 0, deadline, peer->handle, &task)) {
        if (taken && bytes + task.size > sluice_payload_max (self->config->max_size)) {
            sluice_window_untake (self->window, task.id);   //  next message: --max-size
            break;
        }
        sluice_encoder_task (self->encoder, task.id, task.attempt, s_task_flags (self, &task),
                             task.data, task.size);
        sent_ids [taken++] = task.id;
        bytes += task.size;
        if (task.alone)
            break;
    }
    if (!taken)
        return 0;
    if (s_send_tasks (self, peer) == 0) {
        sluice_peers_spend (self->peers, peer, taken);
        return (int) taken;
    }
    bool gone = errno == EHOSTUNREACH;
    for (size_t i = taken; i-- > 0; )
        sluice_window_untake (self->window, sent_ids [i]);
    //  gone: reclaim what it holds; its pipe is full: wait until it
    //  announces credit again
    if (gone)
        s_worker_gone (self, peer, "send failed", S_RECLAIM_GRACE_MS);
    else
        sluice_peers_refused (self->peers, peer);
    return -1;
}

//  Hand queued tasks to workers with credit, round robin, until a round
//  sends nothing. The turn stops at the worker that took the last queued
//  task, so the next tasks go to the one after it: a round that went on
//  to visit every worker would start each dispatch at the same one, and a
//  paced input (a few tasks at a time) would all go to the first worker
//  with credit, however many others waited (a worker back from an outage
//  got no task for seconds).
static void
s_dispatch (sluice_ventilator_t *self)
{
    while (!self->paused && sluice_window_has_queued (self->window)) {
        bool progress = false;
        for (size_t n = sluice_peers_count (self->peers);
             n > 0 && sluice_window_has_queued (self->window); n--) {
            sluice_peer_t *peer = sluice_peers_next (self->peers);
            if (!peer)
                break;
            if (s_send_to_peer (self, peer) != 0)
                progress = true;
        }
        if (!progress)
            break;
    }
}

//  PROGRESS [ids]: the worker still runs these tasks; renew the leases of
//  those delivered to it (a worker cannot renew another's), up to
//  --max-held in all.
static void
s_handle_progress (sluice_ventilator_t *self, sluice_msg_t *msg, uint64_t owner)
{
    if (memcmp (msg->batch, self->batch, SLUICE_BATCH_SIZE))
        return;                 //  progress of an earlier batch
    int64_t deadline = sluice_now_ms () + self->config->timeout_ms;
    uint64_t id;
    while (sluice_msg_next_uints (msg, &id) > 0)
        sluice_window_renew (self->window, id, owner, deadline);
}

//  What a REFUSE's reason says, for the log.
static const char *
s_refuse_text (uint64_t reason)
{
    switch (reason) {
        case SLUICE_REFUSE_COMMAND:
            return "it runs its own fixed command, not this batch's";
        case SLUICE_REFUSE_UNTRUSTED:
            return "it is a --pool worker and this ventilator is neither authenticated "
                   "(--keys) nor on loopback or ipc";
        case SLUICE_REFUSE_NO_COMMAND:
            return "it is a --pool worker and this batch carries no command (give the "
                   "ventilator --exec CMD)";
        case SLUICE_REFUSE_UNSUPPORTED:
            return "it is a --pool worker, which runs --exec batches only";
        default:
            return "unknown reason";
    }
}

//  REFUSE [reason] of our batch: the worker will run none of its tasks.
//  Take back what it holds without spending an attempt, and send it
//  nothing more (its credit is ignored from now on).
static void
s_handle_refuse (sluice_ventilator_t *self, const sluice_msg_t *msg, sluice_peer_t *peer)
{
    if (memcmp (msg->batch, self->batch, SLUICE_BATCH_SIZE))
        return;                 //  a refusal of an earlier batch
    size_t taken = sluice_window_refused (self->window, peer->handle);
    if (s_refuses (self, peer->handle)) {
        sluice_debug ("worker %s refused %zu more tasks", peer->identity, taken);
        return;
    }
    zsys_warning ("worker %s refused the batch: %s; %zu tasks re-queued for other workers",
                  peer->identity, s_refuse_text (sluice_msg_refuse_reason (msg)), taken);
    self->refusers = (uint64_t *) realloc (self->refusers,
                                           (self->refuser_count + 1) * sizeof (uint64_t));
    assert (self->refusers);
    self->refusers [self->refuser_count++] = peer->handle;
    sluice_peers_refused (self->peers, peer);
}

//  HANDBACK [ids] of our batch: the worker will not start these tasks: it
//  is stopping, or they came beyond the credit it granted (section 6).
//  Take back those delivered to it, without spending an attempt, for
//  other workers at once (not at their lease's end).
static void
s_handle_handback (sluice_ventilator_t *self, sluice_msg_t *msg, sluice_peer_t *peer)
{
    if (memcmp (msg->batch, self->batch, SLUICE_BATCH_SIZE))
        return;                 //  an earlier batch's
    size_t taken = 0;
    uint64_t id;
    while (sluice_msg_next_uints (msg, &id) > 0)
        taken += sluice_window_handback (self->window, id, peer->handle);
    if (!peer->draining)
        sluice_debug ("worker %s had no room for %zu tasks sent beyond its credit: "
                      "re-queued", peer->identity, taken);
    else
    if (!self->config->quiet)
        zsys_info ("worker %s is stopping: %zu tasks it had not started re-queued for other "
                   "workers", peer->identity, taken);
}

//  Handle one message from a worker: CREDIT, PROGRESS, REFUSE or HANDBACK.
static void
s_handle_worker (sluice_ventilator_t *self, zmq_msg_t *routing, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason;
    if (sluice_msg_decode (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason)
    ||  (msg.type != SLUICE_MSG_CREDIT && msg.type != SLUICE_MSG_PROGRESS
    &&   msg.type != SLUICE_MSG_REFUSE && msg.type != SLUICE_MSG_HANDBACK)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed message from a worker "
                                 "(%zu bytes): %s", zmq_msg_size (body),
                                 msg.type? sluice_msg_type_name (msg.type): reason);
        return;
    }
    //  a connection has one routing id: another worker last seen on this
    //  fd left, and the fd was reused before its DISCONNECTED was read (a
    //  peer that joins and leaves in a loop); forget it now, or it would
    //  hold its place in the table until it is found silent
    int fd = zmq_msg_get (body, ZMQ_SRCFD);
    sluice_peer_t *other = sluice_peers_by_fd (self->peers, fd);
    if (other && (other->routing_size != zmq_msg_size (routing)
              ||  memcmp (other->routing, zmq_msg_data (routing), other->routing_size)))
        s_worker_gone (self, other, "disconnected", S_RECLAIM_GRACE_MS);
    sluice_peer_t *peer = sluice_peers_get (self->peers, zmq_msg_data (routing),
                                            zmq_msg_size (routing));
    if (!peer && sluice_peers_full (self->peers)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->peer_limit, "%zu workers known, the --max-peers "
                                 "limit: ignored a new one", self->config->max_peers);
    }
    if (peer) {
        self->workerless_since = 0;
        if (peer->seen_ms == 0)
            s_worker_back (self, peer);
        sluice_peers_seen (self->peers, peer, sluice_now_ms (), fd);
    }
    if (!peer)
        return;
    if (msg.type == SLUICE_MSG_REFUSE)
        s_handle_refuse (self, &msg, peer);
    else
    if (msg.type == SLUICE_MSG_CREDIT && !s_refuses (self, peer->handle))
        sluice_peers_credit (self->peers, peer, S_CREDIT_ROOM (&msg),
                             S_CREDIT_RESET (&msg) != 0);
    else
    if (msg.type == SLUICE_MSG_PROGRESS)
        s_handle_progress (self, &msg, peer->handle);
    else
    if (msg.type == SLUICE_MSG_HANDBACK)
        s_handle_handback (self, &msg, peer);
}

//  Drain the tasks socket (S_DRAIN_MAX messages at most).
static void
s_recv_workers (sluice_ventilator_t *self)
{
    for (int n = 0; n < S_DRAIN_MAX; n++) {
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

//  Read the monitor: a closed connection is a worker gone. Read after the
//  tasks socket, so the last messages a worker sent before it closed are
//  handled first.
static void
s_recv_monitor (sluice_ventilator_t *self)
{
    sluice_monitor_event_t event;
    for (int n = 0; n < 4 * S_DRAIN_MAX && sluice_monitor_next (self->monitor, &event); n++) {
        if (event.refused)
            sluice_warn_ratelimited (&self->peer_limit, "%s: %zu connections, the "
                                     "--max-peers limit: refused %s", self->tasks_text,
                                     self->config->max_peers, event.peer);
        if (event.event != ZMQ_EVENT_DISCONNECTED)
            continue;
        if (event.failed)
            sluice_security_failed (self->security, SLUICE_CHANNEL_TASKS, event.peer,
                                    event.failed, event.failure);
        if (event.timed_out)
            sluice_warn_ratelimited (&self->limit, "no answer from worker %s on %s for %s "
                                     "(heartbeat timeout); disconnected", event.peer,
                                     self->tasks_text, sluice_monitor_silence (&event));
        if (event.dropped) {
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "peer %s sent a message over "
                                     "--max-control-size %zu; disconnected", event.peer,
                                     SLUICE_CONTROL_SIZE (self->config));
        }
        sluice_peer_t *peer = sluice_peers_by_fd (self->peers, event.value);
        if (peer)
            s_worker_gone (self, peer, "disconnected", S_RECLAIM_GRACE_MS);
    }
}

//  --------------------------------------------------------------------------
//  Sink messages

//  Mark one task acknowledged. Returns true if it was new.
static bool
s_ack (sluice_ventilator_t *self, uint64_t id, bool failed)
{
    if (!sluice_window_ack (self->window, id))
        return false;
    self->acked++;
    self->run_done++;
    if (failed) {
        self->failed++;
        self->run_failed++;
    }
    return true;
}

//  Acknowledge ids first..last (clipped to the window) and journal the
//  runs of them that were new.
static void
s_ack_range (sluice_ventilator_t *self, uint64_t first, uint64_t last, bool failed)
{
    uint64_t low = sluice_window_low (self->window);
    uint64_t total = sluice_window_total (self->window);
    if (first < low)
        first = low;
    if (last > total)
        last = total;
    uint64_t run_start = 0;
    for (uint64_t id = first; id <= last && id >= first; id++) {
        bool fresh = s_ack (self, id, failed);
        if (fresh && !run_start)
            run_start = id;
        if (!fresh && run_start && self->journal)
            sluice_ledger_add_range (self->journal, run_start, id - 1, failed);
        if (!fresh)
            run_start = 0;
    }
    if (run_start && self->journal)
        sluice_ledger_add_range (self->journal, run_start, last, failed);
}

//  PONG [need_input, has_end]: a sink that does not know our batch
//  (restarted) hears BEGIN again, and END if it lacks it.
static void
s_handle_pong (sluice_ventilator_t *self, const sluice_msg_t *msg, bool ours)
{
    self->need_input = S_PONG_NEED_INPUT (msg) != 0;
    if (!ours)
        s_send_begin (self);
    if (self->end_sent && (!ours || !S_PONG_HAS_END (msg)))
        s_send_end (self);
}

//  COMPLETE [total, failed]: the sink has written every result; trust its
//  count of failures. Accepted only after END, for our total.
static void
s_handle_complete (sluice_ventilator_t *self, const sluice_msg_t *msg)
{
    if (!self->end_sent || S_COMPLETE_TOTAL (msg) != sluice_window_total (self->window))
        return;
    self->complete = true;
    if (S_COMPLETE_FAILED (msg) > self->failed)
        self->failed = S_COMPLETE_FAILED (msg);
    self->acked = S_COMPLETE_TOTAL (msg);
}

//  Handle the list of an ACK or RETRY message of our batch.
static void
s_handle_items (sluice_ventilator_t *self, sluice_msg_t *msg)
{
    uint64_t item [3];
    if (msg->type == SLUICE_MSG_ACK)
        while (sluice_msg_next_uints (msg, item) > 0)
            s_ack_range (self, item [S_ACK_FIRST], item [S_ACK_LAST],
                         item [S_ACK_FAILED] != 0);
    else
        while (sluice_msg_next_uints (msg, item) > 0)
            sluice_window_retry (self->window, item [S_RETRY_ID],
                                 (uint32_t) item [S_RETRY_ATTEMPT]);
}

//  DROP [batch] to every worker we know: the batch is over, so they kill
//  its running commands and forget its tasks and results. Once; the
//  socket lingers on destruction so that it leaves.
static void
s_drop_workers (sluice_ventilator_t *self)
{
    if (self->dropped_sent)
        return;
    self->dropped_sent = true;
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_DROP, self->batch, 0, NULL);
    size_t size;
    const uint8_t *data = sluice_encoder_data (self->encoder, &size);
    size_t cursor = 0, told = 0;
    sluice_peer_t *peer;
    while ((peer = sluice_peers_each (self->peers, &cursor)))
        if (sluice_send (self->tasks_handle, peer->routing, peer->routing_size,
                         ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0
        &&  sluice_send (self->tasks_handle, data, size, ZMQ_DONTWAIT) == 0)
            told++;
    if (told)
        zsys_info ("told %zu worker%s to drop the batch", told, told == 1? "": "s");
}

//  ABANDON from the sink: its output failed (closed or full); no result
//  will be written, so stop instead of waiting for acknowledgements.
static void
s_handle_sink_abandon (sluice_ventilator_t *self)
{
    zsys_error ("the sink abandoned the batch (its output failed, or it was interrupted)");
    s_drop_workers (self);
    self->status = SLUICE_EXIT_ABANDONED;
}

//  Handle one message from the sink: ACK, RETRY, COMPLETE, PONG or ABANDON.
static void
s_handle_sink (sluice_ventilator_t *self, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason = "unexpected message type";
    if (sluice_msg_decode (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason)
    ||  (msg.type != SLUICE_MSG_ACK && msg.type != SLUICE_MSG_RETRY
    &&   msg.type != SLUICE_MSG_COMPLETE && msg.type != SLUICE_MSG_PONG
    &&   msg.type != SLUICE_MSG_ABANDON)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed message from the sink "
                                 "(%zu bytes): %s", zmq_msg_size (body), reason);
        return;
    }
    if (!self->sink_alive)
        zsys_info ("sink is back");
    self->sink_alive = true;
    self->sink_seen = sluice_now_ms ();
    bool ours = msg.has_batch && memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE) == 0;
    if (msg.type == SLUICE_MSG_PONG)
        s_handle_pong (self, &msg, ours);
    else
    if (ours && msg.type == SLUICE_MSG_COMPLETE)
        s_handle_complete (self, &msg);
    else
    if (ours && msg.type == SLUICE_MSG_ABANDON)
        s_handle_sink_abandon (self);
    else
    if (ours)
        s_handle_items (self, &msg);
}

//  Drain the control socket, then journal what it acknowledged.
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
                sluice_ledger_flush (self->journal);
            return;
        }
        s_handle_sink (self, &body);
        zmq_msg_close (&body);
    }
}

//  --------------------------------------------------------------------------
//  Timers: heartbeat, sink liveness, lease expiry

static int
    s_abandon (sluice_ventilator_t *self, int status);

//  Fail the batch when every worker refused it (a fixed command of their
//  own, or a --pool worker that does not trust us) for S_REFUSED_FAIL_MS
//  while tasks wait: no one here will ever run them.
static void
s_check_refused (sluice_ventilator_t *self, int64_t now)
{
    bool stuck = self->refuser_count
              && sluice_peers_count (self->peers) == self->refuser_count
              && sluice_window_count (self->window, SLUICE_SLOT_QUEUED);
    if (!stuck)
        self->refused_since = 0;
    else
    if (!self->refused_since)
        self->refused_since = now;
    else
    if (now - self->refused_since >= S_REFUSED_FAIL_MS) {
        zsys_error ("no worker can run this batch: every connected worker (%zu) has refused "
                    "it for %d s; start workers with the batch's command, or --pool workers",
                    self->refuser_count, S_REFUSED_FAIL_MS / 1000);
        s_abandon (self, SLUICE_EXIT_RUNTIME);
    }
}

//  Heartbeat: PING [low] tells the sink our low watermark, so a sink
//  restarted without its state learns which ids were finished before it
//  started. Also notices a silent sink.
static void
s_ping (sluice_ventilator_t *self, int64_t now)
{
    uint64_t low = sluice_window_low (self->window);
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_PING, self->batch, 1, &low);
    s_control_send (self);
    self->next_ping = now + S_PING_MS;
    if (self->sink_alive && now - self->sink_seen > S_SINK_SILENT_MS) {
        zsys_warning ("sink not responding on %s; waiting for it", self->config->control);
        self->sink_alive = false;
    }
}

//  Workers silent for S_WORKER_SILENT_MS are gone. A ventilator that did
//  not run its timers for a while (stopped, or an embedding program that
//  did not call service) heard nothing either: it starts counting again.
static void
s_silent_workers (sluice_ventilator_t *self, int64_t now)
{
    if (now - self->last_timers > S_WORKER_SILENT_MS / 2)
        sluice_peers_touch (self->peers, now);
    self->last_timers = now;
    sluice_peer_t *peer;
    while ((peer = sluice_peers_silent (self->peers, now, S_WORKER_SILENT_MS)))
        s_worker_gone (self, peer, "silent 2 s", 0);
}

//  Warn (at most every S_NO_WORKERS_REPEAT_MS) when tasks wait and no
//  worker has been connected for S_NO_WORKERS_MS.
static void
s_warn_workerless (sluice_ventilator_t *self, int64_t now)
{
    if (!self->workerless_since || now - self->workerless_since < S_NO_WORKERS_MS
    ||  (self->workerless_warned && now - self->workerless_warned < S_NO_WORKERS_REPEAT_MS))
        return;
    size_t waiting = sluice_window_count (self->window, SLUICE_SLOT_QUEUED);
    if (!waiting)
        return;
    zsys_warning ("no workers connected to %s for %d s (%zu tasks waiting)", self->tasks_text,
                  (int) ((now - self->workerless_since) / 1000), waiting);
    self->workerless_warned = now;
}

//  Run the heartbeat, the worker checks and the lease scan when due.
static void
s_timers (sluice_ventilator_t *self)
{
    int64_t now = sluice_now_ms ();
    if (now >= self->next_ping)
        s_ping (self, now);
    if (now < self->next_scan)
        return;
    self->next_scan = now + S_SCAN_MS;
    s_silent_workers (self, now);
    s_reclaim_due (self, now);
    s_warn_workerless (self, now);
    s_check_refused (self, now);
    if (self->status >= 0)
        return;
    //  while the sink is silent no result can be acknowledged, so an expired
    //  lease says nothing about the worker: renew leases instead of using up
    //  attempts (and declaring every task lost when the sink is down long)
    bool sink_silent = now - self->sink_seen >= S_PING_MS * 5 / 2;
    self->lost_items = 0;
    sluice_window_expire (self->window, now, self->config->timeout_ms,
                          self->config->max_attempts, sink_silent, s_on_lost, self);
    if (self->lost_items)
        s_control_send (self);
}

//  --------------------------------------------------------------------------
//  Input

//  Add one task to the window, or skip it if the journal says an earlier
//  run saw it acknowledged (already counted). The window must have room.
static uint64_t
s_add_task (sluice_ventilator_t *self, const void *data, size_t size)
{
    uint64_t id = sluice_window_total (self->window) + 1;
    if (self->rerun && sluice_rerun_skips (self->rerun, id)) {
        self->acked++;          //  done ok before, or (--retry-failed) not to run
        return sluice_window_skip (self->window);
    }
    if (!self->rerun && self->journal && sluice_ledger_has (self->journal, id))
        return sluice_window_skip (self->window);
    return sluice_window_add (self->window, data, size);
}

//  Take records from the inputs into the window while it has room, reading
//  more as needed (a few reads per call, so one fast input does not starve
//  the sockets). Returns -1 on a bad record or a read error, else 0.
static int
s_feed (sluice_ventilator_t *self)
{
    for (int reads = 0; ; reads++) {
        const uint8_t *data;
        size_t size;
        int rc = 0;
        while (!sluice_window_full (self->window)
           &&  (rc = sluice_reader_next (self->reader, &data, &size)) > 0)
            s_add_task (self, data, size);
        if (rc < 0)
            return -1;
        if (sluice_reader_done (self->reader) || sluice_window_full (self->window)
        ||  reads == S_READS_PER_SERVICE)
            return 0;
        rc = sluice_reader_fill (self->reader);
        if (rc < 0)
            return -1;
        self->input_blocked = rc == 0;
        if (self->input_blocked)
            return 0;
    }
}

//  True if the current input should be read now (the window has room and
//  the input did not say it had nothing).
static bool
s_input_ready (sluice_ventilator_t *self)
{
    return !sluice_reader_done (self->reader) && !self->input_blocked
        && !sluice_window_full (self->window);
}

//  Keep the epoll set watching the current input exactly while it is
//  waited for (blocked, with room in the window). Regular files cannot be
//  watched, but they never block either.
static void
s_watch_input (sluice_ventilator_t *self)
{
    int fd = -1;
    if (self->input_blocked && !sluice_window_full (self->window))
        fd = sluice_reader_fd (self->reader);
    if (fd == self->input_watched)
        return;
    if (self->input_watched >= 0)
        epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, self->input_watched, NULL);
    struct epoll_event event = { .events = EPOLLIN, .data.fd = fd };
    if (fd >= 0 && epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, fd, &event)) {
        fd = -1;
        self->input_blocked = false;    //  unwatchable: just read it again
    }
    self->input_watched = fd;
}

//  --------------------------------------------------------------------------
//  Service loop

//  Receive from both sockets and dispatch, until neither holds a message
//  (or a few rounds: then the wakeup brings the caller back). Returns true
//  if a socket may still hold messages.
static bool
s_pump (sluice_ventilator_t *self)
{
    for (int round = 0; round < S_PUMP_ROUNDS; round++) {
        s_dispatch (self);
        s_recv_workers (self);
        s_recv_monitor (self);
        s_recv_sink (self);
        s_dispatch (self);
        if (!s_sockets_readable (self))
            return false;
    }
    return true;
}

//  With -v, after the summary: the tasks each worker was sent.
static void
s_log_workers (sluice_ventilator_t *self)
{
    const char *identity;
    uint64_t tasks;
    for (size_t i = 0; sluice_peers_history (self->peers, i, &identity, &tasks); i++)
        sluice_debug ("worker %s: %" PRIu64 " tasks", identity, tasks);
}

//  The batch ends: tell the sink we saw it complete, journal it, log the
//  summary, set the exit code.
static void
s_finish (sluice_ventilator_t *self)
{
    uint64_t total = sluice_window_total (self->window);
    s_send_bare (self, SLUICE_MSG_BYE);
    if (self->journal)
        sluice_ledger_write_complete (self->journal, total, self->failed);
    double secs = (double) (sluice_now_ms () - self->started) / 1000.0;
    if (!self->config->quiet)
        zsys_info ("%" PRIu64 " tasks, %" PRIu64 " failed, %" PRIu64 " re-sent, %"
                   PRIu64 " reclaimed, %" PRIu64 " lost, %" PRIu64 " dropped, %.2f s",
                   total, self->failed, sluice_window_resent (self->window),
                   sluice_window_reclaimed (self->window), self->lost, self->dropped, secs);
    if (!self->config->quiet && sluice_window_overheld (self->window))
        zsys_info ("%" PRIu64 " deliveries held past --max-held (re-sent or lost)",
                   sluice_window_overheld (self->window));
    if (!self->config->quiet && sluice_security_refused (self->security))
        zsys_info ("%" PRIu64 " connections refused (see docs/SECURITY.md)",
                   sluice_security_refused (self->security));
    s_log_workers (self);
    self->status = self->failed? SLUICE_EXIT_FAILED: SLUICE_EXIT_OK;
}

//  Move the batch on: END once closed and every input read; finished once
//  every task is acknowledged.
static void
s_phase (sluice_ventilator_t *self)
{
    uint64_t total = sluice_window_total (self->window);
    if (self->closed && sluice_reader_done (self->reader) && !self->end_sent) {
        sluice_debug ("end of input: %" PRIu64 " tasks", total);
        s_send_end (self);
        self->end_sent = true;
    }
    if (self->end_sent && self->acked == total)
        self->complete = true;
    if (self->complete && self->status < 0)
        s_finish (self);
}

//  --halt: once its condition holds, start no more tasks; end the batch
//  at once (now: DROP stops the running tasks) or when none is running
//  (soon). The sink is told BYE, as for a batch whose every task is
//  acknowledged, and finishes with its own count. No complete line is
//  journaled: --resume runs what the halt left.
static void
s_halt_check (sluice_ventilator_t *self)
{
    if (self->halt.when == SLUICE_HALT_NEVER || self->status >= 0)
        return;
    char text [64];
    sluice_halt_text (&self->halt, text, sizeof text);
    if (!self->halting && sluice_halt_reached (&self->halt, self->run_done, self->run_failed,
                                               sluice_window_total (self->window))) {
        self->halting = self->paused = true;
        zsys_warning ("--halt %s: %" PRIu64 " tasks done, %" PRIu64 " failed; %s", text,
                      self->run_done, self->run_failed,
                      self->halt.when == SLUICE_HALT_NOW? "stopping the running tasks"
                      : "starting no more tasks, letting the running ones finish");
    }
    if (!self->halting || (self->halt.when == SLUICE_HALT_SOON
                           && sluice_window_count (self->window, SLUICE_SLOT_SENT)))
        return;
    s_drop_workers (self);
    s_send_bare (self, SLUICE_MSG_BYE);
    if (!self->config->quiet)
        zsys_info ("halted (--halt %s): %" PRIu64 " tasks done, %" PRIu64 " failed, %" PRIu64
                   " not run", text, self->acked, self->failed,
                   sluice_window_total (self->window) - self->acked);
    self->status = self->failed? SLUICE_EXIT_FAILED: SLUICE_EXIT_OK;
}

//  Give up the batch: tell the sink, set the exit code. Returns -1.
static int
s_abandon (sluice_ventilator_t *self, int status)
{
    s_send_bare (self, SLUICE_MSG_ABANDON);
    s_drop_workers (self);
    self->status = status;
    return -1;
}

int
sluice_ventilator_service (sluice_ventilator_t *self)
{
    if (self->status >= 0)
        return self->status == SLUICE_EXIT_OK || self->status == SLUICE_EXIT_FAILED? 1: -1;
    s_wakeup_clear (self);
    s_begin (self);
    if (s_feed (self))
        return s_abandon (self, SLUICE_EXIT_USAGE);
    bool more = s_pump (self);
    s_timers (self);
    s_halt_check (self);
    s_phase (self);
    if (self->status >= 0)
        return self->status == SLUICE_EXIT_OK || self->status == SLUICE_EXIT_FAILED? 1: -1;
    s_watch_input (self);
    //  sends since the pump may have taken a ZMQ_FD edge: look again
    if (more || s_input_ready (self) || s_sockets_readable (self))
        s_wakeup (self);
    return 0;
}

int
sluice_ventilator_fd (sluice_ventilator_t *self)
{
    return self->epoll_fd;
}

int64_t
sluice_ventilator_timeout (sluice_ventilator_t *self)
{
    if (self->woken || self->status >= 0)
        return 0;
    int64_t until = self->next_ping < self->next_scan? self->next_ping: self->next_scan;
    int64_t timeout = until - sluice_now_ms ();
    return timeout < 0? 0: timeout > 1000? 1000: timeout;
}

int
sluice_ventilator_try_submit (sluice_ventilator_t *self, const void *data, size_t size,
                              uint64_t *id)
{
    if (self->closed || self->status >= 0) {
        errno = EPIPE;
        return -1;
    }
    if (sluice_window_full (self->window)) {
        errno = EAGAIN;
        return -1;
    }
    s_begin (self);
    uint64_t new_id = s_add_task (self, data, size);
    if (id)
        *id = new_id;
    s_wakeup (self);            //  the next service dispatches it
    return 0;
}

void
sluice_ventilator_close (sluice_ventilator_t *self)
{
    self->closed = true;
    s_wakeup (self);
}

void
sluice_ventilator_pause (sluice_ventilator_t *self)
{
    self->paused = true;
}

void
sluice_ventilator_abandon (sluice_ventilator_t *self)
{
    if (self->status < 0)
        s_abandon (self, SLUICE_EXIT_ABANDONED);
}

int
sluice_ventilator_status (sluice_ventilator_t *self)
{
    return self->status;
}

//  --------------------------------------------------------------------------
//  Blocking conveniences, on top of the service loop

//  Wait up to cap ms for the fd (or the next timer), then service.
static void
s_wait_once (sluice_ventilator_t *self, int64_t cap)
{
    int64_t timeout = sluice_ventilator_timeout (self);
    struct pollfd item = { .fd = self->epoll_fd, .events = POLLIN };
    if (timeout > 0)
        poll (&item, 1, (int) (timeout < cap? timeout: cap));
    sluice_ventilator_service (self);
}

uint64_t
sluice_ventilator_submit (sluice_ventilator_t *self, const void *data, size_t size)
{
    uint64_t id;
    while (sluice_ventilator_try_submit (self, data, size, &id)) {
        if (errno != EAGAIN || zsys_interrupted)
            return 0;
        s_wait_once (self, S_WAIT_MS);
    }
    //  keep the pipeline moving without a poll per task
    if ((id & 63) == 0)
        sluice_ventilator_service (self);
    return id;
}

int
sluice_ventilator_wait (sluice_ventilator_t *self)
{
    while (self->status < 0) {
        if (zsys_interrupted) {
            zsys_warning ("interrupted: batch abandoned");
            s_abandon (self, SLUICE_EXIT_ABANDONED);
            break;
        }
        s_wait_once (self, S_WAIT_MS);
    }
    return self->status;
}

int
sluice_ventilator_run (sluice_ventilator_t *self)
{
    sluice_ventilator_close (self);
    return sluice_ventilator_wait (self);
}

void
sluice_ventilator_counts (sluice_ventilator_t *self, sluice_counts_t *counts)
{
    *counts = (sluice_counts_t) {
        .done = self->acked, .failed = self->failed,
        .total = sluice_window_total (self->window),
        .total_known = self->end_sent, .workers = sluice_peers_count (self->peers)
    };
}
