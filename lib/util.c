/*  =========================================================================
    util.c - small helpers every role uses: rate-limited warnings, clocks,
    process identity, log lines with ISO 8601 timestamps
    =========================================================================
*/

#define _GNU_SOURCE             //  fopencookie
#include "private.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
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

//  --------------------------------------------------------------------------
//  Log lines with ISO 8601 timestamps
//
//  zsys stamps each line "W: (ident) 26-12-01 19:44:24 text", in local time
//  to the second, and has no option for another format. So its log stream
//  is a stdio stream of our own (fopencookie) in front of stderr, which
//  rewrites the stamp of every complete line as "2026-12-01T19:44:24.123Z"
//  (UTC, to the millisecond, taken as the line is written) and passes
//  anything else through unchanged. zsys writes a line with one fprintf and
//  an fflush, from any thread; the cookie keeps a partial line, under a
//  mutex, until its newline comes.

#define S_LOG_LINE 4096         //  a longer line is passed on unchanged
#define S_STAMP 17              //  strlen ("26-12-01 19:44:24")

typedef struct {
    FILE *target;               //  where the lines go: stderr
    pthread_mutex_t mutex;      //  guards line and used
    char line [S_LOG_LINE];     //  bytes of a line whose newline has not come
    size_t used;                //  bytes in line
} s_log_t;

//  True if text is a zsys stamp, "YY-MM-DD HH:MM:SS" then a space.
static bool
s_is_stamp (const char *text)
{
    static const char *shape = "00-00-00 00:00:00 ";
    for (size_t i = 0; shape [i]; i++)
        if (shape [i] == '0'? !isdigit ((unsigned char) text [i]): text [i] != shape [i])
            return false;
    return true;
}

size_t
sluice_log_rewrite (const char *line, size_t size, int64_t epoch_ms, char *out,
                    size_t outsize)
{
    assert (outsize >= size + SLUICE_LOG_GROWTH);
    //  "W: " then, if zsys has an ident, "(ident) "
    size_t stamp = 3;
    bool zsys = size > 3 && isupper ((unsigned char) line [0]) && line [1] == ':'
             && line [2] == ' ';
    if (zsys && line [3] == '(') {
        const char *close = memchr (line + 3, ')', size - 3);
        zsys = close && (size_t) (close - line) + 1 < size && close [1] == ' ';
        stamp = zsys? (size_t) (close - line) + 2: 0;
    }
    if (!zsys || size < stamp + S_STAMP + 1 || !s_is_stamp (line + stamp)) {
        memcpy (out, line, size);
        return size;
    }
    time_t seconds = (time_t) (epoch_ms / 1000);
    struct tm utc;
    gmtime_r (&seconds, &utc);
    char iso [32];
    size_t length = strftime (iso, sizeof iso, "%Y-%m-%dT%H:%M:%S", &utc);
    length += (size_t) snprintf (iso + length, sizeof iso - length, ".%03dZ",
                                 (int) (epoch_ms % 1000));
    assert (length <= S_STAMP + SLUICE_LOG_GROWTH);
    size_t rest = size - stamp - S_STAMP;
    memcpy (out, line, stamp);
    memcpy (out + stamp, iso, length);
    memcpy (out + stamp + length, line + stamp + S_STAMP, rest);
    return stamp + length + rest;
}

static atomic_bool s_log_over_progress;    //  a progress line is on stderr

void
sluice_log_over_progress (bool shown)
{
    atomic_store (&s_log_over_progress, shown);
}

//  Pass the held bytes on, rewritten if they are a whole line.
static void
s_log_emit (s_log_t *self, bool whole)
{
    char out [S_LOG_LINE + SLUICE_LOG_GROWTH];
    //  the progress line leaves the cursor at its start: clear it first, so
    //  a shorter log line keeps none of it (it is drawn again below)
    if (self->target == stderr && atomic_load (&s_log_over_progress))
        fputs ("\033[K", self->target);
    if (whole) {
        struct timespec now;
        clock_gettime (CLOCK_REALTIME, &now);
        int64_t ms = (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
        size_t size = sluice_log_rewrite (self->line, self->used, ms, out, sizeof out);
        fwrite (out, 1, size, self->target);
    }
    else
        fwrite (self->line, 1, self->used, self->target);
    self->used = 0;
}

//  The cookie's write: hold bytes until a newline, then emit the line.
static ssize_t
s_log_write (void *cookie, const char *data, size_t size)
{
    s_log_t *self = (s_log_t *) cookie;
    pthread_mutex_lock (&self->mutex);
    for (size_t i = 0; i < size; ) {
        const char *newline = (const char *) memchr (data + i, '\n', size - i);
        size_t take = newline? (size_t) (newline - data) + 1 - i: size - i;
        if (self->used + take > S_LOG_LINE) {
            //  too long to be zsys's (1 KiB at most): pass it on as it is
            s_log_emit (self, false);
            fwrite (data + i, 1, take, self->target);
        }
        else {
            memcpy (self->line + self->used, data + i, take);
            self->used += take;
            if (newline)
                s_log_emit (self, true);
        }
        i += take;
    }
    fflush (self->target);
    pthread_mutex_unlock (&self->mutex);
    return (ssize_t) size;
}

static FILE *s_log_stream;

static void
s_log_stream_new (void)
{
    static s_log_t log = { .mutex = PTHREAD_MUTEX_INITIALIZER };
    log.target = stderr;
    s_log_stream = fopencookie (&log, "w", (cookie_io_functions_t) { .write = s_log_write });
    if (s_log_stream)
        setvbuf (s_log_stream, NULL, _IOLBF, 0);
    else
        s_log_stream = stderr;      //  logs as zsys stamps them, but logs
}

FILE *
sluice_log_stream (void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once (&once, s_log_stream_new);
    return s_log_stream;
}

//  A program that embeds libsluice owns its stdout (results may travel on
//  it), while CZMQ logs to stdout by default: the first role created sends
//  the logs to stderr, through sluice_log_stream. A program that wants them
//  elsewhere calls zsys_set_logstream after creating its roles.
void
sluice_log_init (void)
{
    static bool done = false;
    if (!done) {
        zsys_set_logstream (sluice_log_stream ());
        done = true;
    }
}

static char s_ident [64] = "sluice";   //  the program, for the exit message
static volatile sig_atomic_t s_exit_status;
static char s_exit_message [160];

//  SIGALRM after sluice_exit_bounded: the context did not close in time.
static void
s_exit_alarm (int signum)
{
    (void) signum;
    ssize_t written = write (STDERR_FILENO, s_exit_message, strlen (s_exit_message));
    (void) written;             //  nothing more to do if stderr is gone
    _exit (s_exit_status);
}

int
sluice_exit_bounded (int rc)
{
    return sluice_exit_bounded_after (rc, SLUICE_EXIT_WAIT_S);
}

int
sluice_exit_bounded_after (int rc, unsigned seconds)
{
    s_exit_status = rc;
    snprintf (s_exit_message, sizeof s_exit_message,
              "W: (%s) the ZeroMQ context did not close within %u s (libzmq 4.3.4); "
              "exiting with %d\n", s_ident, seconds, rc);
    fflush (NULL);
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_exit_alarm;
    sigemptyset (&action.sa_mask);
    sigaction (SIGALRM, &action, NULL);
    alarm (seconds);
    return rc;
}

void
sluice_catch_hangup (void (*handler) (int), struct sigaction *old)
{
    struct sigaction was;
    memset (&was, 0, sizeof was);           //  SIG_DFL, should the query fail
    sigaction (SIGHUP, NULL, &was);
    if (old)
        *old = was;
    if (was.sa_handler == SIG_IGN)
        return;                 //  nohup: it stays ignored
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset (&action.sa_mask);
    sigaction (SIGHUP, &action, NULL);
}

//  SIGHUP: a stop, as SIGTERM is to CZMQ's handler.
static void
s_on_hangup (int signum)
{
    (void) signum;
    zsys_interrupted = 1;
}

void
sluice_init_process (const char *ident, int verbose)
{
    snprintf (s_ident, sizeof s_ident, "%s", ident);
    zsys_set_logident (ident);
    zsys_set_logstream (sluice_log_stream ());
    zsys_set_logsystem (false);
    zsys_set_io_threads (1);
    zsys_set_linger (5000);
    zsys_init ();
    //  a hangup (the terminal closed) stops a program as SIGTERM does,
    //  rather than killing it mid-batch
    sluice_catch_hangup (s_on_hangup, NULL);
    sluice_verbose = verbose;
}
