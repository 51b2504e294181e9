/*  =========================================================================
    monitor.h - what libzmq knows about a socket's connections, without waiting

    libzmq reports each connection's life (connect delayed, retried, closed,
    handshake succeeded or failed, disconnected) on a socket monitor: a PAIR
    socket on an inproc address that libzmq writes two-frame events to. This
    module starts that monitor for one socket, reads its events without
    blocking, and exposes the PAIR's ZMQ_FD so a role can add it to its
    epoll set (edge-triggered, like every ZMQ_FD: read until none is left).
    It also keeps, per socket, the little state every role's warnings need:
    how many peers are connected now and since when none has been, and what
    the last failed attempt looked like.

    The worker uses it for re-sending held results after a new handshake and
    for its "no ventilator" / "cannot reach the sink" warnings; the
    ventilator can use it to learn a worker is gone (DISCONNECTED carries
    the connection's fd, as zmq_msg_get (msg, ZMQ_SRCFD) does for messages).
    =========================================================================
*/

#ifndef SLUICE_MONITOR_H_INCLUDED
#define SLUICE_MONITOR_H_INCLUDED

#include "private.h"

//  One event, as libzmq reports it.
typedef struct {
    int event;                  //  ZMQ_EVENT_*
    int32_t value;              //  fd, errno, retry interval or ZMQ_PROTOCOL_ERROR_*
    char address [256];         //  the endpoint (connect side) or peer address
    //  DISCONNECTED only:
    char peer [256];            //  the peer's "host:port" (tcp), else the endpoint
    bool refused;               //  ACCEPTED only: over the connection limit,
                                //  shut down at once (sluice_monitor_set_max)
    bool dropped;               //  libzmq closed a live, handshaken connection
                                //  itself after the peer sent something: a
                                //  message over ZMQ_MAXMSGSIZE (or broken
                                //  ZMTP framing)
    bool timed_out;             //  libzmq closed a live connection whose peer
                                //  had sent nothing for the ZMTP heartbeat
                                //  timeout: the peer is stopped or hung, or
                                //  the path to it is down (not a bad message)
    int64_t silent_ms;          //  timed_out: how long it had sent nothing
                                //  (tcp: TCP_INFO), else 0 (unknown)
    char silence [24];          //  sluice_monitor_silence's text
    int failed;                 //  the connection ended a failed handshake:
                                //  its HANDSHAKE_FAILED_* event, else 0
    const char *failure;        //  then why (static text)
} sluice_monitor_event_t;

//  What a monitor has learned of its socket's connections so far.
typedef struct {
    int connected;              //  peers with a completed handshake now
    uint64_t handshakes;        //  completed handshakes so far
    int64_t down_since_ms;      //  when connected last became 0 (or creation)
    int last_attempt;           //  last of CONNECT_DELAYED (no answer yet),
                                //  CLOSED (refused or reset), CONNECTED (TCP
                                //  up, no handshake yet) since the last
                                //  handshake; 0 if none
    uint64_t retries;           //  CONNECT_RETRIED since the last handshake
    int last_failure;           //  last HANDSHAKE_FAILED_* event, 0 if none
    uint64_t handshake_failures;    //  failed handshakes so far: a
                                //  HANDSHAKE_FAILED_* event, or a connection
                                //  closed before its handshake completed
                                //  (libzmq 4.3.4 reports a socket-type
                                //  mismatch only so)
    uint64_t failures_in_row;   //  failed handshakes since the last success
    int64_t failure_ms;         //  when the last one was read
    uint64_t retries_since_failure; //  CONNECT_RETRIED since then: libzmq
                                //  retries after a connection error, and
                                //  gives the endpoint up after a protocol
                                //  error (a peer of the wrong socket type)
    bool failure_certain;       //  the last failure named its reason (a
                                //  ZMTP protocol error), not just a close
    const char *failure;        //  why the last one failed (static text)
    int32_t protocol_error;     //  value of the last HANDSHAKE_FAILED_PROTOCOL
    size_t accepted;            //  accepted connections open now (refused ones
                                //  not counted)
    uint64_t refused;           //  connections refused over the limit so far
} sluice_monitor_state_t;

typedef struct _sluice_monitor_t sluice_monitor_t;

//  Start monitoring a raw libzmq socket (before it binds or connects, to
//  see every event). Returns the monitor, or NULL with a reason in err.
sluice_monitor_t *
    sluice_monitor_new (void *socket, char *err, size_t errlen);

//  Accept at most max connections at once on the monitored socket (0, the
//  default: no limit). A connection accepted beyond it is shut down as
//  soon as its ACCEPTED is read (its event says refused): libzmq then
//  reads EOF and closes it, so an idle or half-sent connection past the
//  limit holds no buffers. Enforced through the connection's probe, a dup
//  of its fd, so it never touches a reused fd.
void
    sluice_monitor_set_max (sluice_monitor_t *self, size_t max);

//  Stop monitoring and destroy the monitor; nulls the caller's pointer.
void
    sluice_monitor_destroy (sluice_monitor_t **self_p);

//  The ZMQ_FD of the monitor's PAIR socket, for poll or epoll. Edge-
//  triggered: after it fires, call sluice_monitor_next until it returns 0.
int
    sluice_monitor_fd (sluice_monitor_t *self);

//  Read the next event without blocking and fold it into the state.
//  Returns 1 with the event filled in, 0 if no event is waiting. Read the
//  events promptly: each connection's probe (an fd, see monitor.c) lives
//  until its DISCONNECTED is read.
int
    sluice_monitor_next (sluice_monitor_t *self, sluice_monitor_event_t *event);

//  The state built from the events read so far.
const sluice_monitor_state_t *
    sluice_monitor_state (sluice_monitor_t *self);

//  True if an event is waiting (ZMQ_EVENTS): its edge-triggered fd may not
//  signal it again.
bool
    sluice_monitor_pending (sluice_monitor_t *self);

//  Why the peer cannot be reached, from the state: "refused", "no answer",
//  "no answer (connected, but no ZMTP handshake)", "cannot resolve host 'x'" (host
//  taken from endpoint), "unreachable". Written into buf; returns buf.
const char *
    sluice_monitor_reason (sluice_monitor_t *self, const char *endpoint, char *buf,
                           size_t buflen);

//  How long a timed-out peer was silent, for messages: "5.2 s" (measured),
//  else the heartbeat timeout ("5 s"); the text is kept in the event.
const char *
    sluice_monitor_silence (sluice_monitor_event_t *event);

//  Name of an event ("HANDSHAKE_SUCCEEDED"), and a short phrase for a
//  ZMQ_PROTOCOL_ERROR_* value ("wrong socket type", "not ZMTP").
const char *
    sluice_monitor_event_name (int event);
const char *
    sluice_monitor_protocol_error (int32_t value);

#endif
