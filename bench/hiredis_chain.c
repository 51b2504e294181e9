/*  hiredis_chain.c - baseline benchmark: a redis list queue driven from C
    with hiredis, batching 100 tasks per round trip.

        hiredis_chain producer PORT N SIZE  LPUSH N tasks of SIZE bytes onto
                                            bench:tasks, 100 pipelined per trip
        hiredis_chain worker PORT           RPOP bench:tasks 100 (BRPOP when the
                                            list is empty), echo each task as a
                                            result, 100 LPUSHes pipelined, forever
        hiredis_chain collector PORT N      RPOP bench:results 100 (BRPOP when
                                            empty) until N results; print
                                            "tasks=N secs=S rate=R" (first->last)

    The redis-server is 127.0.0.1:PORT, started and flushed by bench/run.
    Needs redis >= 6.2 for RPOP with a count.
*/

#define _POSIX_C_SOURCE 200809L

#include <hiredis.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_BATCH 100
#define S_TASKS "bench:tasks"
#define S_RESULTS "bench:results"

/*  Print a fatal error and exit.  */
_Noreturn static void
s_die (const char *what, const redisContext *rc)
{
    fprintf (stderr, "hiredis_chain: %s: %s\n", what,
             rc && rc->err ? rc->errstr : "unexpected reply");
    exit (1);
}

/*  Print the usage text and exit with status 2.  */
_Noreturn static void
s_usage (void)
{
    fprintf (stderr,
             "usage: hiredis_chain producer PORT N SIZE\n"
             "       hiredis_chain worker PORT\n"
             "       hiredis_chain collector PORT N\n");
    exit (2);
}

/*  Parse a non-negative decimal count, exiting on garbage.  */
static long
s_count (const char *text)
{
    char *end = NULL;
    errno = 0;
    long value = strtol (text, &end, 10);
    if (errno || end == text || *end || value < 0) {
        fprintf (stderr, "hiredis_chain: bad number '%s'\n", text);
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

/*  Connect to redis on 127.0.0.1:PORT.  */
static redisContext *
s_connect (long port)
{
    redisContext *rc = redisConnect ("127.0.0.1", (int) port);
    if (!rc || rc->err)
        s_die ("redisConnect", rc);
    return rc;
}

/*  Read COUNT pending pipelined replies, checking none is an error.  */
static void
s_drain (redisContext *rc, long count)
{
    for (long i = 0; i < count; i++) {
        redisReply *reply = NULL;
        if (redisGetReply (rc, (void **) &reply) != REDIS_OK)
            s_die ("redisGetReply", rc);
        if (reply->type == REDIS_REPLY_ERROR) {
            fprintf (stderr, "hiredis_chain: %s\n", reply->str);
            exit (1);
        }
        freeReplyObject (reply);
    }
}

/*  Pop up to S_BATCH items from KEY: RPOP with a count, falling back to a
    blocking BRPOP of one item when the list is empty.  Returns a reply
    whose element/elements hold the popped items (caller frees), and sets
    *FIRST to the index of the first item in it.  */
static redisReply *
s_pop_batch (redisContext *rc, const char *key, size_t *first)
{
    while (1) {
        redisReply *reply = redisCommand (rc, "RPOP %s %d", key, S_BATCH);
        if (!reply)
            s_die ("RPOP", rc);
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
            *first = 0;
            return reply;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            fprintf (stderr, "hiredis_chain: RPOP: %s\n", reply->str);
            exit (1);
        }
        freeReplyObject (reply);
        //  Empty: block for one item; BRPOP returns [key, value]
        reply = redisCommand (rc, "BRPOP %s 0", key);
        if (!reply)
            s_die ("BRPOP", rc);
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
            *first = 1;
            return reply;
        }
        freeReplyObject (reply);
    }
}

/*  Producer: LPUSH N tasks of SIZE bytes, S_BATCH commands per round trip.  */
static int
s_producer (long port, long n, size_t size)
{
    redisContext *rc = s_connect (port);
    char *payload = malloc (size ? size : 1);
    if (!payload)
        return 1;
    memset (payload, 'x', size);
    long pending = 0;
    for (long i = 0; i < n; i++) {
        payload [0] = (char) ('a' + i % 26);
        if (redisAppendCommand (rc, "LPUSH %s %b", S_TASKS, payload, size) != REDIS_OK)
            s_die ("redisAppendCommand", rc);
        if (++pending == S_BATCH) {
            s_drain (rc, pending);
            pending = 0;
        }
    }
    s_drain (rc, pending);
    free (payload);
    redisFree (rc);
    return 0;
}

/*  Worker: pop batches of tasks, LPUSH each back as a result, pipelined.  */
static int
s_worker (long port)
{
    redisContext *rc = s_connect (port);
    while (1) {
        size_t first;
        redisReply *batch = s_pop_batch (rc, S_TASKS, &first);
        for (size_t i = first; i < batch->elements; i++) {
            redisReply *item = batch->element [i];
            if (redisAppendCommand (rc, "LPUSH %s %b", S_RESULTS,
                                    item->str, item->len) != REDIS_OK)
                s_die ("redisAppendCommand", rc);
        }
        s_drain (rc, (long) (batch->elements - first));
        freeReplyObject (batch);
    }
    return 0;
}

/*  Collector: pop results in batches until N arrived; print throughput.  */
static int
s_collector (long port, long n)
{
    redisContext *rc = s_connect (port);
    long got = 0;
    int64_t start = 0;
    while (got < n) {
        size_t first;
        redisReply *batch = s_pop_batch (rc, S_RESULTS, &first);
        if (got == 0)
            start = s_now_ns ();
        got += (long) (batch->elements - first);
        freeReplyObject (batch);
    }
    double secs = (double) (s_now_ns () - start) / 1e9;
    printf ("tasks=%ld secs=%.6f rate=%.0f\n", got, secs,
            secs > 0 ? (double) got / secs : 0.0);
    fflush (stdout);
    redisFree (rc);
    return 0;
}

/*  Dispatch on the mode word in argv[1].  */
int
main (int argc, char *argv [])
{
    if (argc == 5 && !strcmp (argv [1], "producer"))
        return s_producer (s_count (argv [2]), s_count (argv [3]),
                           (size_t) s_count (argv [4]));
    if (argc == 3 && !strcmp (argv [1], "worker"))
        return s_worker (s_count (argv [2]));
    if (argc == 4 && !strcmp (argv [1], "collector"))
        return s_collector (s_count (argv [2]), s_count (argv [3]));
    s_usage ();
}
