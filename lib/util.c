/*  =========================================================================
    util.c - small helpers every role uses: rate-limited warnings, socket
    attach with host-name binds, clocks, process identity
    =========================================================================
*/

#include "private.h"

#include <netdb.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int sluice_verbose = 0;

void
sluice_warn_ratelimited (sluice_ratelimit_t *limit, const char *format, ...)
{
    int64_t now = sluice_now_ms ();
    if (limit->last_ms && now - limit->last_ms < 1000) {
        limit->suppressed++;
        return;
    }
    char line [512];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof line, format, args);
    va_end (args);
    if (limit->suppressed)
        zsys_warning ("%s (and %" PRIu64 " more in the last second)", line,
                      limit->suppressed);
    else
        zsys_warning ("%s", line);
    limit->last_ms = now;
    limit->suppressed = 0;
}

//  libzmq binds only to interfaces and numeric addresses. So that one value
//  such as tcp://vent-host:5557 serves every host, resolve a host name in a
//  tcp bind endpoint to its address. Writes the endpoint to use into out.
static void
s_resolve_bind (const char *endpoint, char *out, size_t outlen)
{
    snprintf (out, outlen, "%s", endpoint);
    if (strncmp (endpoint, "tcp://", 6))
        return;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || *host == '*' || *host == '[' || colon == host)
        return;
    char name [256];
    size_t len = (size_t) (colon - host);
    if (len >= sizeof name)
        return;
    memcpy (name, host, len);
    name [len] = 0;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *info = NULL;
    //  numeric addresses and interface names are left to libzmq
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo (name, NULL, &hints, &info) == 0) {
        freeaddrinfo (info);
        return;
    }
    //  prefer IPv4: "localhost" often resolves to ::1 first, which libzmq
    //  binds only with ZMQ_IPV6 (set by sluice_attach for such addresses)
    hints.ai_flags = 0;
    hints.ai_family = AF_INET;
    if (getaddrinfo (name, NULL, &hints, &info) || !info) {
        hints.ai_family = AF_UNSPEC;
        if (getaddrinfo (name, NULL, &hints, &info) || !info)
            return;
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
}

int
sluice_attach (zsock_t *sock, const char *endpoints, char *err, size_t errlen)
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
        if (bind) {
            char resolved [512];
            s_resolve_bind (endpoint, resolved, sizeof resolved);
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
    int ivl = 1000, timeout = 5000, ttl = 10000;
    zmq_setsockopt (handle, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt (handle, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    zmq_setsockopt (handle, ZMQ_HEARTBEAT_TTL, &ttl, sizeof ttl);
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

int64_t
sluice_now_ms (void)
{
    return sluice_now_us () / 1000;
}

int64_t
sluice_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *
sluice_identity (void)
{
    static char identity [300];
    static pid_t cached_pid;
    if (cached_pid != getpid ()) {
        char host [256] = "unknown";
        gethostname (host, sizeof host - 1);
        cached_pid = getpid ();
        snprintf (identity, sizeof identity, "%s:%d", host, (int) cached_pid);
    }
    return identity;
}

void
sluice_batch_str (const uint8_t *batch, char *buf)
{
    for (int i = 0; i < SLUICE_BATCH_SIZE; i++)
        sprintf (buf + i * 2, "%02x", batch [i]);
    buf [SLUICE_BATCH_SIZE * 2] = 0;
}

int
sluice_send (void *socket, const void *data, size_t size, int flags)
{
    zmq_msg_t msg;
    zmq_msg_init_size (&msg, size);
    memcpy (zmq_msg_data (&msg), data, size);
    if (zmq_msg_send (&msg, socket, flags) < 0) {
        int saved = errno;
        zmq_msg_close (&msg);
        errno = saved;
        return -1;
    }
    return 0;
}

void
sluice_init_process (const char *ident, int verbose)
{
    zsys_set_logident (ident);
    zsys_set_logstream (stderr);
    zsys_set_logsystem (false);
    zsys_set_io_threads (1);
    zsys_set_linger (5000);
    zsys_init ();
    sluice_verbose = verbose;
}
