/*  raw_chain.c - baseline benchmark: the thinnest possible libzmq
    three-hop pipeline (PUSH bind -> PULL/PUSH connect -> PULL bind),
    one zmq_msg per task, no envelope, no acks.  Each role is a mode
    of this one program so the roles can run as separate processes.

    Throughput:
        raw_chain vent ENDPOINT N SIZE      PUSH bind, send N tasks of SIZE bytes,
                                            then hold until SIGTERM/SIGINT (*)
        raw_chain work IN_EP OUT_EP         PULL connect IN_EP, PUSH connect OUT_EP,
                                            forward forever (stop with a signal)
        raw_chain sink ENDPOINT N           PULL bind, receive N, print
                                            "tasks=N secs=S rate=R" (first->last msg)
    Latency (one task in flight at a time):
        raw_chain lat-vent OUT_EP ACK_EP N SIZE
                                            PUSH bind OUT_EP, PULL bind ACK_EP; send one
                                            task, wait for the ack, repeat N times after
                                            a short warm-up; print "p50_us=.. p99_us=.."
        raw_chain lat-sink IN_EP ACK_EP N   PULL bind IN_EP, PUSH connect ACK_EP; answer
                                            every task (warm-up included) with a 1-byte ack,
                                            then hold until SIGTERM/SIGINT (*)
        (workers are the ordinary "work" mode)

    (*) The sending end does not exit by itself: libzmq 4.3 can drop the
    tail of a PUSH queue on zmq_ctx_term despite ZMQ_LINGER -1 when the peer
    is slower (libzmq issue #4660; reproduced here over ipc://), which would
    leave the sink waiting forever.  SIGTERM/SIGINT are blocked from start
    and taken with sigwait() once everything is sent; the driver signals
    after the collector finished.  Ctrl-C therefore acts only after sending.
*/

#define _POSIX_C_SOURCE 200809L

#include <zmq.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_HWM 1000
#define S_WARMUP 200

/*  Print a fatal error naming the failed call and exit.  */
_Noreturn static void
s_die (const char *what)
{
    fprintf (stderr, "raw_chain: %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (1);
}

/*  Print the usage text and exit with status 2.  */
_Noreturn static void
s_usage (void)
{
    fprintf (stderr,
             "usage: raw_chain vent ENDPOINT N SIZE\n"
             "       raw_chain work IN_EP OUT_EP\n"
             "       raw_chain sink ENDPOINT N\n"
             "       raw_chain lat-vent OUT_EP ACK_EP N SIZE\n"
             "       raw_chain lat-sink IN_EP ACK_EP N\n");
    exit (2);
}

/*  Block SIGTERM and SIGINT in this thread (and in threads made later).  */
static void
s_block_signals (sigset_t *set)
{
    sigemptyset (set);
    sigaddset (set, SIGTERM);
    sigaddset (set, SIGINT);
    pthread_sigmask (SIG_BLOCK, set, NULL);
}

/*  Wait for SIGTERM or SIGINT (blocked by s_block_signals), then return.  */
static void
s_hold (const sigset_t *set)
{
    int sig;
    sigwait (set, &sig);
}

/*  Set zero linger on SOCK and close it: used only once the peer is known
    to have everything.  */
static void
s_close_now (void *sock)
{
    int linger = 0;
    zmq_setsockopt (sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close (sock);
}

/*  Parse a non-negative decimal count, exiting on garbage.  */
static long
s_count (const char *text)
{
    char *end = NULL;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno || end == text || *end || value < 0) {
        fprintf (stderr, "raw_chain: bad number '%s'\n", text);
        exit (2);
    }
    return value;
}

/*  Monotonic clock in nanoseconds.  */
static int64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*  Create a socket of TYPE with HWM 1000 both ways and infinite linger,
    then bind (bind != 0) or connect it to ENDPOINT.  */
static void *
s_socket (void *ctx, int type, const char *endpoint, int bind)
{
    void *sock = zmq_socket (ctx, type);
    if (!sock)
        s_die ("zmq_socket");
    int hwm = S_HWM;
    int linger = -1;
    if (zmq_setsockopt (sock, ZMQ_SNDHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (sock, ZMQ_RCVHWM, &hwm, sizeof hwm)
        || zmq_setsockopt (sock, ZMQ_LINGER, &linger, sizeof linger))
        s_die ("zmq_setsockopt");
    if (bind ? zmq_bind (sock, endpoint) : zmq_connect (sock, endpoint))
        s_die (bind ? "zmq_bind" : "zmq_connect");
    return sock;
}

/*  Send one task message of SIZE bytes (pattern-filled) on SOCK.  */
static void
s_send_task (void *sock, size_t size, long seq)
{
    zmq_msg_t msg;
    if (zmq_msg_init_size (&msg, size))
        s_die ("zmq_msg_init_size");
    memset (zmq_msg_data (&msg), 'a' + (int) (seq % 26), size);
    if (zmq_msg_send (&msg, sock, 0) < 0)
        s_die ("zmq_msg_send");
}

/*  Receive and discard one message from SOCK.  */
static void
s_recv_drop (void *sock)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    if (zmq_msg_recv (&msg, sock, 0) < 0)
        s_die ("zmq_msg_recv");
    zmq_msg_close (&msg);
}

/*  Ventilator: bind PUSH and send N tasks of SIZE bytes.  */
static int
s_vent (void *ctx, const char *endpoint, long n, size_t size, const sigset_t *set)
{
    void *push = s_socket (ctx, ZMQ_PUSH, endpoint, 1);
    for (long i = 0; i < n; i++)
        s_send_task (push, size, i);
    s_hold (set);               //  see (*) in the header
    s_close_now (push);
    return 0;
}

/*  Worker: forward every message from IN_EP to OUT_EP unchanged, forever.  */
static int
s_work (void *ctx, const char *in_ep, const char *out_ep)
{
    void *pull = s_socket (ctx, ZMQ_PULL, in_ep, 0);
    void *push = s_socket (ctx, ZMQ_PUSH, out_ep, 0);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (1) {
        if (zmq_msg_recv (&msg, pull, 0) < 0)
            s_die ("zmq_msg_recv");
        if (zmq_msg_send (&msg, push, 0) < 0)
            s_die ("zmq_msg_send");
    }
    return 0;
}

/*  Sink: bind PULL, receive N messages, print the throughput line.  */
static int
s_sink (void *ctx, const char *endpoint, long n)
{
    void *pull = s_socket (ctx, ZMQ_PULL, endpoint, 1);
    int64_t first = 0, last = 0;
    for (long i = 0; i < n; i++) {
        s_recv_drop (pull);
        if (i == 0)
            first = s_now_ns ();
    }
    last = s_now_ns ();
    double secs = (double) (last - first) / 1e9;
    printf ("tasks=%ld secs=%.6f rate=%.0f\n", n, secs,
            secs > 0 ? (double) n / secs : 0.0);
    fflush (stdout);
    zmq_close (pull);
    return 0;
}

/*  qsort comparator for int64_t values.  */
static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

/*  Latency ventilator: send one task, wait for its ack, record the round
    trip; S_WARMUP untimed rounds first; print p50/p99 in microseconds.  */
static int
s_lat_vent (void *ctx, const char *out_ep, const char *ack_ep, long n, size_t size)
{
    void *push = s_socket (ctx, ZMQ_PUSH, out_ep, 1);
    void *pull = s_socket (ctx, ZMQ_PULL, ack_ep, 1);
    int64_t *rtt = malloc ((size_t) (n > 0 ? n : 1) * sizeof *rtt);
    if (!rtt) {
        fprintf (stderr, "raw_chain: out of memory\n");
        return 1;
    }
    for (long i = 0; i < S_WARMUP + n; i++) {
        int64_t start = s_now_ns ();
        s_send_task (push, size, i);
        s_recv_drop (pull);
        if (i >= S_WARMUP)
            rtt [i - S_WARMUP] = s_now_ns () - start;
    }
    qsort (rtt, (size_t) n, sizeof *rtt, s_cmp_i64);
    if (n > 0) {
        long p50 = (n - 1) * 50 / 100, p99 = (n - 1) * 99 / 100;
        printf ("tasks=%ld p50_us=%.1f p99_us=%.1f\n", n,
                (double) rtt [p50] / 1e3, (double) rtt [p99] / 1e3);
        fflush (stdout);
    }
    free (rtt);
    zmq_close (push);
    zmq_close (pull);
    return 0;
}

/*  Latency sink: answer each of S_WARMUP + N tasks with a 1-byte ack.  */
static int
s_lat_sink (void *ctx, const char *in_ep, const char *ack_ep, long n,
            const sigset_t *set)
{
    void *pull = s_socket (ctx, ZMQ_PULL, in_ep, 1);
    void *push = s_socket (ctx, ZMQ_PUSH, ack_ep, 0);
    for (long i = 0; i < S_WARMUP + n; i++) {
        s_recv_drop (pull);
        if (zmq_send (push, "k", 1, 0) < 0)
            s_die ("zmq_send");
    }
    s_hold (set);               //  see (*) in the header
    zmq_close (pull);
    s_close_now (push);
    return 0;
}

/*  Dispatch on the mode word in argv[1].  */
int
main (int argc, char *argv [])
{
    if (argc < 2)
        s_usage ();
    const char *mode = argv [1];
    sigset_t set;
    if (!strcmp (mode, "vent") || !strcmp (mode, "lat-sink"))
        s_block_signals (&set);     //  before zmq_ctx_new starts threads
    void *ctx = zmq_ctx_new ();
    if (!ctx)
        s_die ("zmq_ctx_new");
    int rc;
    if (!strcmp (mode, "vent") && argc == 5)
        rc = s_vent (ctx, argv [2], s_count (argv [3]), (size_t) s_count (argv [4]),
                     &set);
    else
    if (!strcmp (mode, "work") && argc == 4)
        rc = s_work (ctx, argv [2], argv [3]);
    else
    if (!strcmp (mode, "sink") && argc == 4)
        rc = s_sink (ctx, argv [2], s_count (argv [3]));
    else
    if (!strcmp (mode, "lat-vent") && argc == 6)
        rc = s_lat_vent (ctx, argv [2], argv [3], s_count (argv [4]),
                         (size_t) s_count (argv [5]));
    else
    if (!strcmp (mode, "lat-sink") && argc == 5)
        rc = s_lat_sink (ctx, argv [2], argv [3], s_count (argv [4]), &set);
    else
        s_usage ();
    zmq_ctx_term (ctx);
    return rc;
}
