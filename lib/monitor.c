/*  =========================================================================
    monitor.c - a socket's connection events, read without waiting

    See monitor.h. libzmq 4.3 writes each event as two frames on the
    monitor's PAIR: six bytes (uint16 event, uint32 value, host byte order)
    and the address. A failed handshake is followed by a DISCONNECTED of
    the same connection, which must not count as a peer leaving: the state
    keeps how many such DISCONNECTEDs are still due.

    libzmq drops a message over ZMQ_MAXMSGSIZE by closing the connection,
    and reports nothing but that DISCONNECTED (the same as for a peer that
    left). To tell the two apart the monitor keeps a probe per connection:
    a dup of its fd, taken at ACCEPTED or CONNECTED, which holds the
    kernel socket open after libzmq closes its own fd. At DISCONNECTED a
    probe that reads EOF (or an error) means the peer closed; one that is
    still alive, with bytes unread or none, means libzmq closed a live
    connection itself. After a successful handshake two things do that: a
    decode error (an oversized message, or broken ZMTP framing), and the
    ZMTP heartbeat timeout (the peer sent nothing for 5 s: it is stopped,
    or the path to it is down). The probe tells them apart by how long
    the peer has been silent: for tcp, TCP_INFO's tcpi_last_data_recv
    (nearly the timeout: a heartbeat timeout; recent: a bad message); for
    ipc, which has no such clock, bytes still unread mean the rest of an
    oversized frame, and bytes we sent that the peer has not read mean a
    peer that stopped reading. The probe is closed there, so the peer sees
    the close a moment later than without.
    Best effort: a connection that libzmq closes before its ACCEPTED is
    read has no probe (the dup fails), and its drop goes uncounted.

    The probe also enforces a limit on accepted connections: one beyond it
    is shut down through its probe (shutdown acts on the kernel socket, so
    it cannot hit an fd that libzmq closed and reused meanwhile).
    =========================================================================
*/

#include "private.h"
#include "monitor.h"

//  A CLOSED read this long after its CONNECT_DELAYED ended a connect that
//  timed out (ZMQ_CONNECT_TIMEOUT, 1 s), not one that was refused
#define S_TIMED_OUT_MS 800

//  A connection libzmq closed after its peer was silent this long was
//  closed by the heartbeat timeout (the decode error of a bad message
//  comes right after the message's bytes)
#define S_SILENT_MS (SLUICE_HEARTBEAT_TIMEOUT_MS * 9 / 10)

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

//  One live connection, watched through a dup of its fd.
typedef struct {
    int fd;                     //  libzmq's fd (the events' value)
    int probe;                  //  our dup of it
    char peer [256];            //  the peer's address, for messages
    bool accepted;              //  ACCEPTED (a bound socket), not CONNECTED
    bool refused;               //  shut down over the limit
    int64_t since_ms;           //  when it was made
} s_probe_t;

struct _sluice_monitor_t {
    void *socket;               //  the monitored socket (not ours)
    zsock_t *pair;              //  reads the events
    void *pair_handle;
    sluice_monitor_state_t state;
    int failed_pending;         //  DISCONNECTEDs due after failed handshakes
    int64_t delayed_ms;         //  when the last CONNECT_DELAYED was read
    int before_delay;           //  the outcome of the attempt before it
    s_probe_t *probes;          //  live connections
    size_t probe_count;
    size_t probe_capacity;
    size_t *by_fd;              //  probe index + 1 by libzmq's fd, 0: none (a
    size_t fd_capacity;         //  flood of connections costs O(1) each)
    size_t max;                 //  accepted connections at most; 0: no limit
};

sluice_monitor_t *
sluice_monitor_new (void *socket, char *err, size_t errlen)
{
    static int s_sequence;      //  one inproc address per monitor
    sluice_monitor_t *self = (sluice_monitor_t *) calloc (1, sizeof *self);
    assert (self);
    self->socket = socket;
    char address [64];
    snprintf (address, sizeof address, "inproc://sluice-monitor-%d-%p", ++s_sequence, socket);
    if (zmq_socket_monitor (socket, address, ZMQ_EVENT_ALL)) {
        snprintf (err, errlen, "cannot monitor a socket: %s", zmq_strerror (errno));
        free (self);
        return NULL;
    }
    //  libzmq's io thread sends each event blocking: at the high-water
    //  mark it would stop serving every connection until we read (a flood
    //  of connections makes events faster than one loop round), and our
    //  zmq_socket_monitor (NULL) at destroy would wait for it forever. No
    //  limit on the reading side makes the inproc pipe unlimited.
    self->pair = zsock_new (ZMQ_PAIR);
    if (self->pair)
        zsock_set_rcvhwm (self->pair, 0);
    if (!self->pair || zsock_connect (self->pair, "%s", address)) {
        snprintf (err, errlen, "cannot read a socket monitor: %s", zmq_strerror (errno));
        sluice_monitor_destroy (&self);
        return NULL;
    }
    self->pair_handle = zsock_resolve (self->pair);
    self->state.down_since_ms = sluice_now_ms ();
    return self;
}

void
sluice_monitor_destroy (sluice_monitor_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_monitor_t *self = *self_p;
        zmq_socket_monitor (self->socket, NULL, 0);
        sluice_set_linger (self->pair, 0);
        zsock_destroy (&self->pair);
        for (size_t i = 0; i < self->probe_count; i++)
            close (self->probes [i].probe);
        free (self->probes);
        free (self->by_fd);
        free (self);
        *self_p = NULL;
    }
}

void
sluice_monitor_set_max (sluice_monitor_t *self, size_t max)
{
    self->max = max;
}

int
sluice_monitor_fd (sluice_monitor_t *self)
{
    int fd = -1;
    size_t size = sizeof fd;
    zmq_getsockopt (self->pair_handle, ZMQ_FD, &fd, &size);
    return fd;
}

bool
sluice_monitor_pending (sluice_monitor_t *self)
{
    int events = 0;
    size_t size = sizeof events;
    return zmq_getsockopt (self->pair_handle, ZMQ_EVENTS, &events, &size) == 0
        && (events & ZMQ_POLLIN);
}

//  --------------------------------------------------------------------------
//  Probes

static void
    s_probe_remove (sluice_monitor_t *self, sluice_monitor_event_t *event, bool judge);

//  A new connection on fd: keep a dup of it and its peer's address (tcp;
//  else the event's endpoint). Without a spare fd, go without a probe.
static s_probe_t *
s_probe_add (sluice_monitor_t *self, int fd, const char *endpoint)
{
    int probe = fcntl (fd, F_DUPFD_CLOEXEC, 0);
    if (probe < 0)
        return NULL;
    if (self->probe_count == self->probe_capacity) {
        self->probe_capacity = self->probe_capacity? self->probe_capacity * 2: 16;
        self->probes = (s_probe_t *) realloc (self->probes,
                                              self->probe_capacity * sizeof (s_probe_t));
        assert (self->probes);
    }
    if ((size_t) fd >= self->fd_capacity) {
        size_t capacity = self->fd_capacity? self->fd_capacity: 256;
        while (capacity <= (size_t) fd)
            capacity *= 2;
        self->by_fd = (size_t *) realloc (self->by_fd, capacity * sizeof (size_t));
        assert (self->by_fd);
        memset (self->by_fd + self->fd_capacity, 0,
                (capacity - self->fd_capacity) * sizeof (size_t));
        self->fd_capacity = capacity;
    }
    //  events come in order: the DISCONNECTED of an older connection on
    //  this fd was read before this one's ACCEPTED (else: forget its probe)
    if (self->by_fd [fd]) {
        sluice_monitor_event_t stale = { .value = fd };
        s_probe_remove (self, &stale, false);
    }
    self->by_fd [fd] = self->probe_count + 1;
    s_probe_t *entry = &self->probes [self->probe_count++];
    memset (entry, 0, sizeof *entry);
    entry->fd = fd;
    entry->probe = probe;
    entry->since_ms = sluice_now_ms ();
    snprintf (entry->peer, sizeof entry->peer, "%s", endpoint);
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    char host [INET6_ADDRSTRLEN];
    if (getpeername (probe, (struct sockaddr *) &addr, &len))
        return entry;
    if (addr.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *) &addr;
        inet_ntop (AF_INET, &in->sin_addr, host, sizeof host);
        snprintf (entry->peer, sizeof entry->peer, "%s:%u", host, ntohs (in->sin_port));
    }
    else
    if (addr.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;
        inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf (entry->peer, sizeof entry->peer, "[%s]:%u", host, ntohs (in6->sin6_port));
    }
    return entry;
}

//  A connection was accepted (its probe is entry): count it, or shut it
//  down if the socket has its limit of connections already.
static void
s_probe_accepted (sluice_monitor_t *self, s_probe_t *entry, sluice_monitor_event_t *event)
{
    entry->accepted = true;
    if (self->max && self->state.accepted >= self->max) {
        entry->refused = true;
        shutdown (entry->probe, SHUT_RDWR);
        self->state.refused++;
        event->refused = true;
        snprintf (event->peer, sizeof event->peer, "%s", entry->peer);
        return;
    }
    self->state.accepted++;
}

//  True if fd is open on the same socket as probe.
static bool
s_same_socket (int fd, int probe)
{
    struct stat a, b;
    return fstat (fd, &a) == 0 && fstat (probe, &b) == 0
        && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

//  Why libzmq closed a connection its peer kept open (entry's probe still
//  holds it): S_CLOSED_SILENT, with how long the peer had sent nothing in
//  silent_ms (0 if unknown), if the heartbeat timed out; else
//  S_CLOSED_DROPPED, a message it refused.
typedef enum { S_CLOSED_PEER, S_CLOSED_DROPPED, S_CLOSED_SILENT } s_closed_t;

static s_closed_t
s_why_closed (const sluice_monitor_t *self, const s_probe_t *entry, int64_t *silent_ms)
{
    *silent_ms = 0;
    //  no heartbeat can have timed out on a socket that sends none (our
    //  ROUTERs: see sluice_socket_setup), nor on a connection younger than
    //  the timeout (a peer that sends an oversized frame's header and the
    //  rest a moment later, leaving our handshake unread, is not stopped)
    int ivl = 0;
    size_t ivl_len = sizeof ivl;
    if (zmq_getsockopt (self->socket, ZMQ_HEARTBEAT_IVL, &ivl, &ivl_len) == 0 && ivl == 0)
        return S_CLOSED_DROPPED;
    if (sluice_now_ms () - entry->since_ms < S_SILENT_MS)
        return S_CLOSED_DROPPED;
    struct tcp_info info;
    socklen_t len = sizeof info;
    memset (&info, 0, sizeof info);
    if (getsockopt (entry->probe, IPPROTO_TCP, TCP_INFO, &info, &len) == 0
    &&  len >= offsetof (struct tcp_info, tcpi_last_data_recv) + sizeof info.tcpi_last_data_recv) {
        if (info.tcpi_last_data_recv < S_SILENT_MS)
            return S_CLOSED_DROPPED;
        *silent_ms = info.tcpi_last_data_recv;
        return S_CLOSED_SILENT;
    }
    //  not tcp (ipc): the rest of an oversized frame waits unread, while a
    //  stopped peer leaves our heartbeats unread in its queue
    int unread = 0, unsent = 0;
    if (ioctl (entry->probe, SIOCINQ, &unread) == 0 && unread > 0)
        return S_CLOSED_DROPPED;
    if (ioctl (entry->probe, SIOCOUTQ, &unsent) == 0 && unsent > 0)
        return S_CLOSED_SILENT;
    return S_CLOSED_DROPPED;
}

//  Whether libzmq closed the probe's connection while the peer kept it
//  open (and then why: s_why_closed), or the peer closed it. libzmq
//  reports DISCONNECTED just before it closes its fd, so give it a
//  moment; an fd that stays open on the same socket was reused for a
//  newer connection before we read the older one's events (not a drop).
//  The io thread writes events in order and closes the fd before it writes
//  the next one: once another event is queued behind this DISCONNECTED,
//  the close has happened, and waiting cannot change the answer. A reader
//  that is behind (a peer that joins and leaves in a loop) thus never
//  sleeps; a sleep per event there would keep it behind for good.
static s_closed_t
s_closed_by_us (sluice_monitor_t *self, const s_probe_t *entry, int64_t *silent_ms)
{
    //  the peer's close shows as RDHUP even with bytes left unread (a peer
    //  that sent and closed at once): then it left, and nothing is waited
    //  for (a peer that joins and leaves in a loop must cost no sleep)
    struct pollfd pfd = { .fd = entry->probe, .events = POLLIN | POLLRDHUP };
    if (poll (&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        return S_CLOSED_PEER;
    char byte;
    ssize_t n = recv (entry->probe, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        return S_CLOSED_PEER;   //  the peer closed or reset it
    for (int i = 0; i < 20; i++) {
        if (!s_same_socket (entry->fd, entry->probe))
            return s_why_closed (self, entry, silent_ms);
        if (sluice_monitor_pending (self))
            return S_CLOSED_PEER;   //  closed already: the fd is a newer connection's
        usleep (250);
    }
    return S_CLOSED_PEER;
}

//  A connection on fd is gone: say whether libzmq dropped it (and who the
//  peer was), and forget its probe.
static void
s_probe_remove (sluice_monitor_t *self, sluice_monitor_event_t *event, bool judge)
{
    int fd = event->value;
    if (fd < 0 || (size_t) fd >= self->fd_capacity || !self->by_fd [fd])
        return;
    size_t i = self->by_fd [fd] - 1;
    s_probe_t *entry = &self->probes [i];
    snprintf (event->peer, sizeof event->peer, "%s", entry->peer);
    s_closed_t closed = judge && !entry->refused
                      ? s_closed_by_us (self, entry, &event->silent_ms): S_CLOSED_PEER;
    event->dropped = closed == S_CLOSED_DROPPED;
    event->timed_out = closed == S_CLOSED_SILENT;
    if (entry->accepted && !entry->refused)
        self->state.accepted--;
    close (entry->probe);
    self->by_fd [fd] = 0;
    self->probes [i] = self->probes [--self->probe_count];
    if (i < self->probe_count)
        self->by_fd [self->probes [i].fd] = i + 1;
}

//  --------------------------------------------------------------------------
//  Events

//  Fold one event into the state.
static void
s_fold (sluice_monitor_t *self, sluice_monitor_event_t *event)
{
    sluice_monitor_state_t *state = &self->state;
    if (event->event == ZMQ_EVENT_ACCEPTED || event->event == ZMQ_EVENT_CONNECTED) {
        s_probe_t *entry = s_probe_add (self, event->value, event->address);
        if (entry && event->event == ZMQ_EVENT_ACCEPTED)
            s_probe_accepted (self, entry, event);
    }
    switch (event->event) {
        case ZMQ_EVENT_CONNECT_DELAYED:
            self->delayed_ms = sluice_now_ms ();
            self->before_delay = state->last_attempt;
            state->last_attempt = event->event;
            break;
        case ZMQ_EVENT_CLOSED:
            //  a SYN that got no answer is abandoned after ZMQ_CONNECT_TIMEOUT
            //  (1 s, socket.c) with a CLOSED too: that is no answer, not a
            //  refusal (a RST closes within a round trip)
            if (state->last_attempt == ZMQ_EVENT_CONNECT_DELAYED
            &&  sluice_now_ms () - self->delayed_ms >= S_TIMED_OUT_MS)
                break;
            state->last_attempt = event->event;
            break;
        case ZMQ_EVENT_CONNECTED:
            state->last_attempt = event->event;
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            state->retries++;
            state->retries_since_failure++;
            break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            state->connected++;
            state->handshakes++;
            state->last_attempt = 0;
            state->retries = 0;
            state->last_failure = 0;
            state->failures_in_row = 0;
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            state->protocol_error = event->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                  ? event->value: 0;
            state->last_failure = event->event;
            state->handshake_failures++;
            state->failures_in_row++;
            state->failure_ms = sluice_now_ms ();
            state->retries_since_failure = 0;
            state->failure_certain = event->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
            state->failure = event->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                           ? sluice_monitor_protocol_error (event->value)
                           : event->event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                           ? "authentication failed": "no detail";
            self->failed_pending++;
            break;
        case ZMQ_EVENT_DISCONNECTED:
            //  after a failed handshake, libzmq closed it on purpose
            s_probe_remove (self, event, self->failed_pending == 0
                                         && state->last_attempt != ZMQ_EVENT_CONNECTED);
            if (self->failed_pending) {
                self->failed_pending--;
                event->failed = state->last_failure;
                event->failure = state->failure;
            }
            else
            if (state->last_attempt == ZMQ_EVENT_CONNECTED) {
                //  TCP was up and the handshake never completed
                state->last_attempt = ZMQ_EVENT_CLOSED;
                state->last_failure = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
                state->handshake_failures++;
                state->failures_in_row++;
                state->failure_ms = sluice_now_ms ();
                state->retries_since_failure = 0;
                state->failure_certain = false;
                state->failure = "closed before the handshake completed: wrong socket "
                                 "type, or not a ZMTP peer";
            }
            else
            if (state->connected > 0 && --state->connected == 0)
                state->down_since_ms = sluice_now_ms ();
            break;
        default:
            break;
    }
}

int
sluice_monitor_next (sluice_monitor_t *self, sluice_monitor_event_t *event)
{
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (zmq_msg_recv (&frame, self->pair_handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&frame);
        return 0;
    }
    memset (event, 0, sizeof *event);
    if (zmq_msg_size (&frame) >= 6) {
        uint16_t id;
        memcpy (&id, zmq_msg_data (&frame), 2);
        memcpy (&event->value, (uint8_t *) zmq_msg_data (&frame) + 2, 4);
        event->event = id;
    }
    //  the address frame always follows
    while (zmq_msg_more (&frame)) {
        if (zmq_msg_recv (&frame, self->pair_handle, 0) < 0)
            break;
        size_t size = zmq_msg_size (&frame);
        if (size >= sizeof event->address)
            size = sizeof event->address - 1;
        memcpy (event->address, zmq_msg_data (&frame), size);
        event->address [size] = 0;
    }
    zmq_msg_close (&frame);
    s_fold (self, event);
    return 1;
}

const sluice_monitor_state_t *
sluice_monitor_state (sluice_monitor_t *self)
{
    return &self->state;
}

//  Copy the host of a tcp:// endpoint into buf; false if it is not tcp or
//  the host is numeric (an address, not a name to resolve).
static bool
s_host_name (const char *endpoint, char *buf, size_t buflen)
{
    if (*endpoint == '>' || *endpoint == '@')
        endpoint++;
    if (strncmp (endpoint, "tcp://", 6))
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || *host == '[' || (size_t) (colon - host) >= buflen)
        return false;
    memcpy (buf, host, (size_t) (colon - host));
    buf [colon - host] = 0;
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM };
    struct addrinfo *info = NULL;
    if (getaddrinfo (buf, NULL, &hints, &info) == 0) {
        freeaddrinfo (info);
        return false;
    }
    return true;
}

const char *
sluice_monitor_reason (sluice_monitor_t *self, const char *endpoint, char *buf,
                       size_t buflen)
{
    const sluice_monitor_state_t *state = &self->state;
    char host [256];
    //  an attempt under way has no outcome yet (its CLOSED, for a refusal,
    //  may be read a moment later): the one before it says why
    int attempt = state->last_attempt;
    if (attempt == ZMQ_EVENT_CONNECT_DELAYED && self->before_delay
    &&  sluice_now_ms () - self->delayed_ms < S_TIMED_OUT_MS)
        attempt = self->before_delay;
    if (attempt == ZMQ_EVENT_CLOSED)
        snprintf (buf, buflen, "refused");
    else
    if (attempt == ZMQ_EVENT_CONNECT_DELAYED)
        snprintf (buf, buflen, "no answer");
    else
    if (attempt == ZMQ_EVENT_CONNECTED)
        snprintf (buf, buflen, "no answer (connected, but no ZMTP handshake)");
    else
    //  libzmq resolves the name as it connects and, failing, only retries
    //  later: retries with no attempt mean the name did not resolve
    if (state->retries && s_host_name (endpoint, host, sizeof host))
        snprintf (buf, buflen, "cannot resolve host '%s'", host);
    else
    if (state->retries)
        snprintf (buf, buflen, "unreachable");
    else
        snprintf (buf, buflen, "no answer");
    return buf;
}

const char *
sluice_monitor_silence (sluice_monitor_event_t *event)
{
    if (event->silent_ms > 0)
        snprintf (event->silence, sizeof event->silence, "%.1f s",
                  (double) event->silent_ms / 1000);
    else
        snprintf (event->silence, sizeof event->silence, "%d s",
                  SLUICE_HEARTBEAT_TIMEOUT_MS / 1000);
    return event->silence;
}

const char *
sluice_monitor_event_name (int event)
{
    switch (event) {
        case ZMQ_EVENT_CONNECTED: return "CONNECTED";
        case ZMQ_EVENT_CONNECT_DELAYED: return "CONNECT_DELAYED";
        case ZMQ_EVENT_CONNECT_RETRIED: return "CONNECT_RETRIED";
        case ZMQ_EVENT_LISTENING: return "LISTENING";
        case ZMQ_EVENT_BIND_FAILED: return "BIND_FAILED";
        case ZMQ_EVENT_ACCEPTED: return "ACCEPTED";
        case ZMQ_EVENT_ACCEPT_FAILED: return "ACCEPT_FAILED";
        case ZMQ_EVENT_CLOSED: return "CLOSED";
        case ZMQ_EVENT_CLOSE_FAILED: return "CLOSE_FAILED";
        case ZMQ_EVENT_DISCONNECTED: return "DISCONNECTED";
        case ZMQ_EVENT_MONITOR_STOPPED: return "MONITOR_STOPPED";
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: return "HANDSHAKE_FAILED_NO_DETAIL";
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return "HANDSHAKE_SUCCEEDED";
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: return "HANDSHAKE_FAILED_PROTOCOL";
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return "HANDSHAKE_FAILED_AUTH";
        default: return "?";
    }
}

const char *
sluice_monitor_protocol_error (int32_t value)
{
    switch ((uint32_t) value) {
        case ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA: return "wrong socket type";
        case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH: return "security mechanism mismatch";
        case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
            return "CURVE keys do not match: the client holds another server key";
        case ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED:
        case ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY:
        case ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID:
        case ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION:
        case ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE:
        case ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA: return "authentication handler failed";
        case ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND:
        case ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE:
        case ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED: return "not a ZMTP peer";
        case 0: return "no detail";
        default: return "malformed ZMTP";
    }
}
