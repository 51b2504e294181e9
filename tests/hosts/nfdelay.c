/*  nfdelay - per-packet delay, jitter and loss in user space (NFQUEUE).

    The test kernel has no sch_netem, so tests/hosts injects delay and loss
    with this program instead. Run one copy inside each network namespace
    whose traffic it shapes, after a rule such as

        iptables -A INPUT -i eth0 -j NFQUEUE --queue-num 0

    Every queued packet is either dropped at once (probability LOSS) or held
    for DELAY +- JITTER ms (uniform) and then accepted. Release times never
    go backwards: one FIFO for all packets, so order is kept within every
    flow (jitter then only stretches gaps, as netem does with rate limits).

    Usage: nfdelay [-q QUEUE] [-d DELAY_MS] [-j JITTER_MS] [-l LOSS_PERCENT]
                   [-s SEED]
    On SIGINT/SIGTERM it accepts every packet it holds, prints one line of
    counters on stderr ("nfdelay: seen N dropped N held-max N mean-delay
    X ms overruns N") and exits 0 (SIGALRM ends it 2 s later if it hangs).
    The netlink socket is non-blocking and the queue fails open. It prints "nfdelay: ready" once the queue is bound.

    Build: cc -O2 -o nfdelay nfdelay.c -lnetfilter_queue -lnfnetlink
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define RING (1u << 20)                 /*  packets held at most */

static struct { uint32_t id; int64_t due_us; } ring [RING];
static uint32_t head, tail;             /*  ring [head..tail) is held */
static struct nfq_q_handle *qh;
static int64_t last_due;
static double loss, delay_us, jitter_us;
static uint64_t seen, dropped, held_max, delayed, overruns;
static double delay_sum_us;
static volatile sig_atomic_t stop;

static int64_t
now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double
uniform (void)                          /*  [0, 1) */
{
    return (double) (random () & 0x7fffffff) / 2147483648.0;
}

static int
on_packet (struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *data)
{
    (void) msg; (void) data;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr (nfa);
    if (!ph)
        return 0;
    uint32_t id = ntohl (ph->packet_id);
    seen++;
    if (uniform () < loss) {
        dropped++;
        return nfq_set_verdict (q, id, NF_DROP, 0, NULL);
    }
    if (tail - head >= RING)            /*  full: let it through now */
        return nfq_set_verdict (q, id, NF_ACCEPT, 0, NULL);
    int64_t now = now_us ();
    int64_t due = now + (int64_t) (delay_us + jitter_us * (2 * uniform () - 1));
    if (due < last_due)
        due = last_due;                 /*  keep FIFO order */
    last_due = due;
    ring [tail % RING].id = id;
    ring [tail % RING].due_us = due;
    tail++;
    if (tail - head > held_max)
        held_max = tail - head;
    delayed++;
    delay_sum_us += (double) (due - now);
    return 0;
}

static void
release (int64_t upto)
{
    while (head != tail && ring [head % RING].due_us <= upto) {
        nfq_set_verdict (qh, ring [head % RING].id, NF_ACCEPT, 0, NULL);
        head++;
    }
}

static void
on_signal (int sig)
{
    (void) sig;
    stop = 1;
    alarm (2);                          /*  SIGALRM ends us if the loop hangs */
}

int
main (int argc, char *argv [])
{
    int queue = 0, opt;
    unsigned seed = (unsigned) getpid ();
    while ((opt = getopt (argc, argv, "q:d:j:l:s:")) != -1) {
        switch (opt) {
            case 'q': queue = atoi (optarg); break;
            case 'd': delay_us = atof (optarg) * 1000; break;
            case 'j': jitter_us = atof (optarg) * 1000; break;
            case 'l': loss = atof (optarg) / 100; break;
            case 's': seed = (unsigned) strtoul (optarg, NULL, 10); break;
            default:
                fprintf (stderr, "usage: nfdelay [-q QUEUE] [-d MS] [-j MS] [-l PERCENT] [-s SEED]\n");
                return 2;
        }
    }
    if (jitter_us > delay_us)
        jitter_us = delay_us;
    srandom (seed);
    struct nfq_handle *h = nfq_open ();
    if (!h) {
        perror ("nfdelay: nfq_open");
        return 3;
    }
    nfq_unbind_pf (h, AF_INET);         /*  harmless on new kernels */
    nfq_bind_pf (h, AF_INET);
    qh = nfq_create_queue (h, (uint16_t) queue, on_packet, NULL);
    if (!qh) {
        perror ("nfdelay: nfq_create_queue");
        return 3;
    }
    if (nfq_set_mode (qh, NFQNL_COPY_META, 0) < 0) {
        perror ("nfdelay: nfq_set_mode");
        return 3;
    }
    nfq_set_queue_maxlen (qh, RING);
    //  if the kernel's queue ever fills, let packets through rather than drop
    nfq_set_queue_flags (qh, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    //  GSO packets are queued whole (we never touch the payload)
    nfq_set_queue_flags (qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
    nfnl_rcvbufsiz (nfq_nfnlh (h), 16 << 20);
    int fd = nfq_fd (h);
    //  never block in recv or in a verdict's send
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    fprintf (stderr, "nfdelay: ready (queue %d, delay %.1f ms +- %.1f ms, loss %.2f %%)\n",
             queue, delay_us / 1000, jitter_us / 1000, loss * 100);
    static char buf [65536] __attribute__ ((aligned));
    while (!stop) {
        int timeout = -1;
        if (head != tail) {
            int64_t wait = ring [head % RING].due_us - now_us ();
            timeout = wait <= 0? 0: (int) ((wait + 999) / 1000);
        }
        struct pollfd pfd = { fd, POLLIN, 0 };
        int rc = poll (&pfd, 1, timeout);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0) {
            for (int i = 0; i < 1024 && !stop; i++) {
                ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n < 0 && errno == ENOBUFS) {
                    overruns++;         /*  kernel dropped notifications */
                    continue;
                }
                if (n <= 0)
                    break;
                nfq_handle_packet (h, buf, (int) n);
            }
        }
        release (now_us ());
    }
    release (INT64_MAX);
    fprintf (stderr, "nfdelay: seen %" PRIu64 " dropped %" PRIu64 " held-max %" PRIu64
             " mean-delay %.2f ms overruns %" PRIu64 "\n", seen, dropped, held_max,
             delayed? delay_sum_us / (double) delayed / 1000: 0.0, overruns);
    nfq_destroy_queue (qh);
    nfq_close (h);
    return 0;
}
