/*  =========================================================================
    util.c - small helpers every role uses: rate-limited warnings, clocks,
    process identity
    =========================================================================
*/

#include "private.h"

#include <stdarg.h>
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

size_t
sluice_payload_max (size_t max_size)
{
    //  the smallest --max-size (1 KiB) still carries records of half that
    return max_size > 2 * SLUICE_ENVELOPE? max_size - SLUICE_ENVELOPE: max_size / 2;
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

//  A program that embeds libsluice owns its stdout (results may travel on
//  it), while CZMQ logs to stdout by default: the first role created sends
//  the logs to stderr. A program that wants them elsewhere calls
//  zsys_set_logstream after creating its roles.
void
sluice_log_init (void)
{
    static bool done = false;
    if (!done) {
        zsys_set_logstream (stderr);
        done = true;
    }
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
