/*  =========================================================================
    monitor.c - a socket's connection events, read without waiting

    See monitor.h. libzmq 4.3 writes each event as two frames on the
    monitor's PAIR: six bytes (uint16 event, uint32 value, host byte order)
    and the address. A failed handshake is followed by a DISCONNECTED of
    the same connection, which must not count as a peer leaving: the state
    keeps how many such DISCONNECTEDs are still due.
    =========================================================================
*/

#include "private.h"
#include "monitor.h"

#include <netdb.h>

struct _sluice_monitor_t {
    void *socket;               //  the monitored socket (not ours)
    zsock_t *pair;              //  reads the events
    void *pair_handle;
    sluice_monitor_state_t state;
    int failed_pending;         //  DISCONNECTEDs due after failed handshakes
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
    self->pair = zsock_new (ZMQ_PAIR);
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
        free (self);
        *self_p = NULL;
    }
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

//  Fold one event into the state.
static void
s_fold (sluice_monitor_t *self, const sluice_monitor_event_t *event)
{
    sluice_monitor_state_t *state = &self->state;
    switch (event->event) {
        case ZMQ_EVENT_CONNECTED:
        case ZMQ_EVENT_CONNECT_DELAYED:
        case ZMQ_EVENT_CLOSED:
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
            if (self->failed_pending)
                self->failed_pending--;
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
    if (state->last_attempt == ZMQ_EVENT_CLOSED)
        snprintf (buf, buflen, "refused");
    else
    if (state->last_attempt == ZMQ_EVENT_CONNECT_DELAYED)
        snprintf (buf, buflen, "no answer");
    else
    if (state->last_attempt == ZMQ_EVENT_CONNECTED)
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
        case ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND:
        case ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE:
        case ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED: return "not a ZMTP peer";
        case 0: return "no detail";
        default: return "malformed ZMTP";
    }
}
