/*  =========================================================================
    socket.c - every sluice socket is made here: create, options, attach

    Owns: the options all sluice sockets share (linger, maximum message
    size, ZMTP heartbeats, reconnect intervals, high-water marks), attach
    to a normalized endpoint list, and binds to host names. Each endpoint
    is secured (CURVE, or the ZAP domain of protected mode) by security.c
    just before its bind or connect.
    =========================================================================
*/

#include "private.h"

#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>

//  libzmq binds only to interfaces and numeric addresses. So that one value
//  such as tcp://vent-host:5557 serves every host, resolve a host name in a
//  tcp bind endpoint to its address. Writes the endpoint to use into out.
//  Returns 0, or -1 with "cannot resolve host 'x'" in err when the host is
//  neither a numeric address, an interface nor a name that resolves
//  (libzmq would say "No such device").
static int
s_resolve_bind (const char *endpoint, char *out, size_t outlen, char *err, size_t errlen)
{
    snprintf (out, outlen, "%s", endpoint);
    if (strncmp (endpoint, "tcp://", 6))
        return 0;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || *host == '*' || *host == '[' || colon == host)
        return 0;
    char name [256];
    size_t len = (size_t) (colon - host);
    if (len >= sizeof name)
        return 0;
    memcpy (name, host, len);
    name [len] = 0;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *info = NULL;
    //  numeric addresses and interface names are left to libzmq
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo (name, NULL, &hints, &info) == 0) {
        freeaddrinfo (info);
        return 0;
    }
    if (if_nametoindex (name))
        return 0;
    //  prefer IPv4: "localhost" often resolves to ::1 first, which libzmq
    //  binds only with ZMQ_IPV6 (set by sluice_attach for such addresses)
    hints.ai_flags = 0;
    hints.ai_family = AF_INET;
    if (getaddrinfo (name, NULL, &hints, &info) || !info) {
        hints.ai_family = AF_UNSPEC;
        if (getaddrinfo (name, NULL, &hints, &info) || !info) {
            snprintf (err, errlen, "cannot resolve host '%s'", name);
            return -1;
        }
    }
    char address [64];
    if (getnameinfo (info->ai_addr, info->ai_addrlen, address, sizeof address,
                     NULL, 0, NI_NUMERICHOST) == 0) {
        if (info->ai_family == AF_INET6)
            snprintf (out, outlen, "tcp://[%s]%s", address, colon);
        else
            snprintf (out, outlen, "tcp://%s%s", address, colon);
    }
    freeaddrinfo (info);
    return 0;
}

int
sluice_attach (zsock_t *sock, sluice_security_t *security, sluice_channel_t channel,
               const char *endpoints, char *err, size_t errlen)
{
    char *list = strdup (endpoints);
    assert (list);
    int rc = 0;
    char *save = NULL;
    for (char *item = strtok_r (list, ",", &save); item && rc == 0;
         item = strtok_r (NULL, ",", &save)) {
        bool bind = *item == '@';
        assert (*item == '@' || *item == '>');
        const char *endpoint = item + 1;
        if (sluice_security_prepare (security, zsock_resolve (sock), channel, endpoint, bind,
                                     err, errlen)) {
            rc = -1;
            break;
        }
        if (bind) {
            char resolved [512], reason [300];
            if (s_resolve_bind (endpoint, resolved, sizeof resolved, reason, sizeof reason)) {
                snprintf (err, errlen, "cannot bind %s: %s", endpoint, reason);
                rc = -1;
                break;
            }
            if (strstr (resolved, "://[")) {
                int on = 1;
                zmq_setsockopt (zsock_resolve (sock), ZMQ_IPV6, &on, sizeof on);
            }
            if (zmq_bind (zsock_resolve (sock), resolved)) {
                snprintf (err, errlen, "cannot bind %s: %s", endpoint, zmq_strerror (errno));
                rc = -1;
            }
        }
        else
        if ((strstr (endpoint, "://[") && zmq_setsockopt (zsock_resolve (sock), ZMQ_IPV6,
                                                          &(int) { 1 }, sizeof (int)))
        ||  zmq_connect (zsock_resolve (sock), endpoint)) {
            snprintf (err, errlen, "cannot connect %s: %s", endpoint, zmq_strerror (errno));
            rc = -1;
        }
    }
    free (list);
    return rc;
}

void
sluice_socket_setup (zsock_t *sock, const sluice_config_t *config)
{
    void *handle = zsock_resolve (sock);
    int64_t max_size = (int64_t) config->max_size;
    zmq_setsockopt (handle, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);
    int linger = -1;
    zmq_setsockopt (handle, ZMQ_LINGER, &linger, sizeof linger);
    //  A ROUTER sends no ZMTP PINGs: its peers (the connecting DEALERs)
    //  ping it, and it answers. libzmq 4.3.4 aborts ("Assertion failed:
    //  !_io_error (stream_engine_base.cpp:331)") when its own heartbeat
    //  timer fires on a connection whose input had stopped (a pipe full, or
    //  taken over by ROUTER_HANDOVER when the peer reconnected) and whose
    //  peer then hung up: the timer calls out_event unchecked. Seen in a
    //  sink stopped for 8 s while its workers reconnected
    //  (39-results-outage, case d). A ROUTER thus never times out a peer
    //  itself (and the TTL does not help: libzmq 4.3.4 arms it only when
    //  the last message was a PING), so a peer host that vanishes would
    //  leave its connection open here; TCP keepalives close it once idle
    //  (5 s, then 5 probes 1 s apart). A stopped peer process still
    //  answers them: the ventilator's own silence rule (2 s) covers that,
    //  and its connection resumes with it.
    if (zsock_type (sock) == ZMQ_ROUTER) {
        zmq_setsockopt (handle, ZMQ_HEARTBEAT_IVL, &(int) { 0 }, sizeof (int));
        zmq_setsockopt (handle, ZMQ_TCP_KEEPALIVE, &(int) { 1 }, sizeof (int));
        zmq_setsockopt (handle, ZMQ_TCP_KEEPALIVE_IDLE, &(int) { 5 }, sizeof (int));
        zmq_setsockopt (handle, ZMQ_TCP_KEEPALIVE_INTVL, &(int) { 1 }, sizeof (int));
        zmq_setsockopt (handle, ZMQ_TCP_KEEPALIVE_CNT, &(int) { 5 }, sizeof (int));
    }
    else {
        int ivl = SLUICE_HEARTBEAT_IVL_MS, timeout = SLUICE_HEARTBEAT_TIMEOUT_MS, ttl = 10000;
        zmq_setsockopt (handle, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
        zmq_setsockopt (handle, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
        zmq_setsockopt (handle, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl);
    }
    //  a connect whose SYN went into a partition would otherwise wait for
    //  TCP's own retransmission (1, 2, 4, 8 s ...) after the link heals;
    //  abandoned after 1 s, each retry sends a fresh SYN
    int connect_timeout = 1000;
    zmq_setsockopt (handle, ZMQ_CONNECT_TIMEOUT, &connect_timeout, sizeof connect_timeout);
    int reconnect = 100, reconnect_max = 1000;
    zmq_setsockopt (handle, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect);
    zmq_setsockopt (handle, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
}

void
sluice_set_linger (zsock_t *sock, int msecs)
{
    if (sock)
        zmq_setsockopt (zsock_resolve (sock), ZMQ_LINGER, &msecs, sizeof msecs);
}

zsock_t *
sluice_socket_open (int type, const sluice_config_t *config, sluice_security_t *security,
                    sluice_channel_t channel, const char *endpoints, int hwm, int flags,
                    char *err, size_t errlen)
{
    zsock_t *sock = zsock_new (type);
    if (!sock) {
        snprintf (err, errlen, "cannot create socket: %s", zmq_strerror (errno));
        return NULL;
    }
    sluice_socket_setup (sock, config);
    void *handle = zsock_resolve (sock);
    zmq_setsockopt (handle, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (handle, ZMQ_RCVHWM, &hwm, sizeof hwm);
    //  a socket that takes in no payload takes in small messages only, so
    //  a peer's half-received frame costs at most this much
    if (flags & SLUICE_SOCKET_SMALL) {
        int64_t max_size = (int64_t) SLUICE_CONTROL_SIZE (config);
        zmq_setsockopt (handle, ZMQ_MAXMSGSIZE, &max_size, sizeof max_size);
    }
    //  must precede the connects: queue nothing for a peer not connected
    if (flags & SLUICE_SOCKET_IMMEDIATE)
        zmq_setsockopt (handle, ZMQ_IMMEDIATE, &(int) { 1 }, sizeof (int));
    //  the peer knows us by this id across reconnects; nobody else can
    //  guess it (a leading zero byte is reserved for libzmq's own ids)
    if (flags & SLUICE_SOCKET_RANDOM_ID) {
        zuuid_t *uuid = zuuid_new ();
        uint8_t id [16];
        memcpy (id, zuuid_data (uuid), sizeof id);
        zuuid_destroy (&uuid);
        id [0] |= 0x80;
        zmq_setsockopt (handle, ZMQ_ROUTING_ID, id, sizeof id);
    }
    //  a worker that reconnects with its routing id (host:pid:N) takes it
    //  over at once, instead of being refused while the old connection is
    //  not yet known to be dead
    if (type == ZMQ_ROUTER)
        zmq_setsockopt (handle, ZMQ_ROUTER_HANDOVER, &(int) { 1 }, sizeof (int));
    if (sluice_attach (sock, security, channel, endpoints, err, errlen)) {
        sluice_set_linger (sock, 0);
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}
