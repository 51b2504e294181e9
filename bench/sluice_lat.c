/*  =========================================================================
    sluice_lat.c - round-trip latency of a sluice pipeline, one task in flight

    An embedded ventilator (libsluice) with window = 1: sluice_ventilator_submit
    of task i blocks until task i-1 has been acknowledged by the sink, so the
    interval between two consecutive submit returns is one full round trip
    ventilator -> worker -> sink -> ACK -> ventilator. Collects N intervals
    after WARMUP (default 100) unmeasured ones, then finishes the batch with
    sluice_ventilator_run and prints

        tasks=N p50_us=P50 p99_us=P99

    (the same line as raw_chain lat-vent). Run beside a worker (--echo -j 1)
    and a sink; see bench/run.

    Usage: sluice_lat TASKS-EP CONTROL-EP N PAYLOAD [WARMUP]
           e.g. sluice_lat @tcp://127.0.0.1:7001 '>tcp://127.0.0.1:7003' 10000 16
    =========================================================================
*/

#define _POSIX_C_SOURCE 200809L

#include "sluice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

//  Percentile of a sorted array in microseconds: index (n-1)*pct/100, the
//  same rule as raw_chain lat-vent, so the two columns compare.
static double
s_pct_us (const int64_t *sorted, size_t n, size_t pct)
{
    return (double) sorted [(n - 1) * pct / 100] / 1000.0;
}

int
main (int argc, char *argv [])
{
    if (argc < 5 || argc > 6) {
        fprintf (stderr, "usage: sluice_lat TASKS-EP CONTROL-EP N PAYLOAD [WARMUP]\n");
        return 2;
    }
    long n = atol (argv [3]);
    long payload = atol (argv [4]);
    long warmup = argc == 6? atol (argv [5]): 100;
    if (n < 1 || payload < 1 || warmup < 1) {
        fprintf (stderr, "sluice_lat: N, PAYLOAD and WARMUP must be positive\n");
        return 2;
    }
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    char err [512];
    if (sluice_config_set (config, "tasks", argv [1], err, sizeof err)
    ||  sluice_config_set (config, "control", argv [2], err, sizeof err)
    ||  sluice_config_set (config, "window", "1", err, sizeof err)
    ||  sluice_config_set (config, "quiet", "1", err, sizeof err)) {
        fprintf (stderr, "sluice_lat: %s\n", err);
        sluice_config_destroy (&config);
        return 2;
    }
    sluice_ventilator_t *v = sluice_ventilator_new (config, err, sizeof err);
    if (!v) {
        fprintf (stderr, "sluice_lat: %s\n", err);
        return 3;
    }
    char *data = (char *) malloc ((size_t) payload);
    memset (data, 'x', (size_t) payload);
    int64_t *lat = (int64_t *) calloc ((size_t) n, sizeof (int64_t));
    if (!data || !lat) {
        fprintf (stderr, "sluice_lat: out of memory\n");
        return 3;
    }
    //  submit #0 returns at once (window empty); submit #k (k >= 1) returns
    //  when task k is acked, i.e. one round trip after submit #k-1 returned
    int64_t prev = 0;
    long total = warmup + n;
    for (long k = 0; k <= total; k++) {
        if (sluice_ventilator_submit (v, data, (size_t) payload) == 0) {
            fprintf (stderr, "sluice_lat: interrupted\n");
            return 4;
        }
        int64_t t = s_now_ns ();
        if (k > warmup)
            lat [k - warmup - 1] = t - prev;
        prev = t;
    }
    int rc = sluice_ventilator_run (v);
    if (rc != SLUICE_EXIT_OK) {
        fprintf (stderr, "sluice_lat: batch ended with exit code %d\n", rc);
        return rc;
    }
    qsort (lat, (size_t) n, sizeof (int64_t), s_cmp);
    printf ("tasks=%ld p50_us=%.1f p99_us=%.1f\n", n,
            s_pct_us (lat, (size_t) n, 50), s_pct_us (lat, (size_t) n, 99));
    fflush (stdout);
    sluice_ventilator_destroy (&v);
    sluice_config_destroy (&config);
    free (lat);
    free (data);
    return 0;
}
