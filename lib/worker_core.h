/*  =========================================================================
    worker_core.h - what the worker's runners and tests see of the core

    The core (worker.c) owns credit, prefetch, progress reports, the
    results hold, the job queue, the sockets and their monitors. The runners
    (worker_exec.c, worker_coproc.c) use only the public recv / reply /
    service / fd / timeout calls of sluice.h and the few calls below; they
    never see the worker's struct. The credit policy is a pure function
    here so tests/unit/test_credit.c can pin it down without sockets.
    =========================================================================
*/

#ifndef SLUICE_WORKER_CORE_H_INCLUDED
#define SLUICE_WORKER_CORE_H_INCLUDED

#include "private.h"
#include "termseq.h"
#include <poll.h>

//  ---------------------------------------------------------------------
//  Runners: each serves until stopped and returns an exit code.

//  --exec: one /bin/sh -c per task, -j at once.
int
    sluice_worker_exec_run (sluice_worker_t *self);

//  --coproc: -j long-lived copies of a command, one record per task.
int
    sluice_worker_coproc_run (sluice_worker_t *self);

//  Serve as sluice_worker_run does, in a thread of the caller's: the
//  process's signal handlers are left alone, and the worker stops on
//  sluice_worker_interrupt instead (sluice's local worker).
int
    sluice_worker_serve (sluice_worker_t *self);

//  From any thread: as a SIGTERM/SIGINT is to sluice_worker_run. The
//  first drains (queued tasks handed back, the running ones finish), a
//  second stops at once. Async-signal-safe.
void
    sluice_worker_interrupt (sluice_worker_t *self);

//  The batch id of a task taken with sluice_worker_recv (SLUICE_BATCH_SIZE
//  bytes, valid until it is answered).
const uint8_t *
    sluice_worker_job_batch (const sluice_job_t *job);

//  The configuration the worker was created with.
const sluice_config_t *
    sluice_worker_config (sluice_worker_t *self);

//  Tasks the worker can hold at most (its job pool).
size_t
    sluice_worker_pool (sluice_worker_t *self);

//  True once the worker takes no more tasks (signal or sluice_worker_drain).
bool
    sluice_worker_draining (sluice_worker_t *self);

//  One turn of a runner's loop: honours SIGTERM/SIGINT (the first drains,
//  a second stops at once) and --grace, then services the worker.
//  Returns 0 to go on, 1 to stop (drained, grace over, second signal, or
//  a fatal error).
int
    sluice_worker_turn (sluice_worker_t *self);

//  Until the next call, take now_us (sluice_now_us) as the time a task
//  is taken and answered (0: read the clock each time). A runner that
//  answers many tasks a round (--coproc) reads the clock once a round:
//  a clock read per task and answer was 15 % of such a worker.
void
    sluice_worker_clock (sluice_worker_t *self, int64_t now_us);

//  From now on a result waits up to ms (0: not at all, the default) for
//  others to join it in one RESULTS message, as long as more are expected
//  within ms (section 4.2 of docs/PROTOCOL.md): --exec answers one task
//  at a time, and a message per result is a RESULTS, a STORED and an ACK,
//  each waking threads at both ends.
void
    sluice_worker_pack (sluice_worker_t *self, int64_t ms);

//  The time the worker takes now: the held one, else the clock.
int64_t
    sluice_worker_now_us (sluice_worker_t *self);

//  Wait until the worker or one of fds [1..n-1] (set by the caller) is
//  ready, at most max_ms and no longer than sluice_worker_timeout; fills
//  in fds [0] with the worker's fd. Returns what poll(2) returns.
int
    sluice_worker_poll (sluice_worker_t *self, struct pollfd *fds, size_t n, int max_ms);

//  The command to run a job with, and whether its payload goes on stdin
//  (--pipe): *pipe_end is then the byte written after it, '\n', or NUL
//  under -0 (the record's delimiter, as GNU parallel's --pipe passes a
//  record whole), else -1; *args: the payload is NUL-separated arguments
//  (its batch's command has the ARGS flag). The worker's --exec, or (--pool) the
//  command its batch carries.
const char *
    sluice_worker_job_command (sluice_worker_t *self, const sluice_job_t *job, int *pipe_end,
                               bool *args);

//  True if the job's batch was dropped (DROP): stop its command with
//  the --termseq; its reply is discarded.
bool
    sluice_worker_job_dropped (sluice_worker_t *self, const sluice_job_t *job);

//  How many batches the worker has dropped (DROP) so far: a runner looks
//  for the dropped batches' work again only when this changes.
uint64_t
    sluice_worker_drops (sluice_worker_t *self);

//  How commands are stopped (--termseq).
const sluice_termseq_t *
    sluice_worker_termseq (sluice_worker_t *self);

//  Put a task taken with sluice_worker_recv back at the head of the
//  queue, unanswered, to be taken again (a --coproc copy died under it).
void
    sluice_worker_requeue (sluice_worker_t *self, sluice_job_t *job);

//  Tasks queued, not yet taken with sluice_worker_recv (0 once stopping).
size_t
    sluice_worker_queued (sluice_worker_t *self);

//  ---------------------------------------------------------------------
//  Credit and prefetch policy (pure: no sockets, no clock)

//  How many tasks a worker holds, from its mode, -j and --prefetch.
typedef struct {
    uint64_t capacity;          //  credit target: tasks held at most
    uint64_t pool;              //  jobs allocated: the largest capacity
    bool adaptive;              //  --coproc: capacity follows the work in hand
    bool latency;               //  prefetch follows rate x round trip
} sluice_credit_plan_t;

//  The plan for a mode: free slots (-j, none for --echo) plus prefetch,
//  where prefetch SIZE_MAX means the mode's default (32768 for --echo,
//  S_COPROC_MAX_DEPTH per copy for --coproc, adaptive; for --exec it
//  starts at 0 and follows sluice_worker_prefetch, the pool leaving room
//  for SLUICE_PREFETCH_MAX more).
sluice_credit_plan_t
    sluice_worker_credit_plan (sluice_mode_t mode, unsigned jobs, size_t prefetch);

//  Adaptive capacity: enough tasks for SLUICE_WORK_IN_HAND_MS at the rate
//  measured (done tasks in elapsed_ms), at least 2 per job, at most pool.
uint64_t
    sluice_worker_credit_adapt (uint64_t done, int64_t elapsed_ms, unsigned jobs,
                                uint64_t pool);

//  Prefetch that covers the round trip (--exec and --coproc without
//  --prefetch): twice the tasks completed during one round trip, i.e.
//  rate (tasks/s) x rtt_ms / 1000 x 2, or the tasks completed in
//  SLUICE_PREFETCH_IN_HAND_MS if more, rounded to the nearest, in
//  [0, SLUICE_PREFETCH_MAX]. 0 when either is unknown (0 or less).
uint64_t
    sluice_worker_prefetch (double rate, double rtt_ms);

//  The round trip from the last n credit-to-tasks samples (ms): the least
//  of them, since any one may include a wait for a ventilator that had no
//  task to send. 0 with no sample.
double
    sluice_worker_rtt (const double *samples, size_t n);

//  Matches each CREDIT to the first task it pays for, so a round trip is
//  measured from the grant to the arrival of *its* tasks, not of tasks an
//  earlier grant paid for that were still in flight (which measured the
//  round trip far too short under latency). The ventilator serves credit
//  in order over one stream, so the first task of a grant is task number
//  (tasks granted before it) + 1.
#define SLUICE_RTT_PENDING 64           //  grants awaiting their first task at most

typedef struct {
    int64_t sent_us [SLUICE_RTT_PENDING];   //  when each pending grant went
    uint64_t first [SLUICE_RTT_PENDING];    //  the number of its first task
    size_t head, count;                     //  ring of pending grants
    uint64_t granted;                       //  tasks granted, counted from the last reset
    uint64_t received;                      //  tasks received, same count
} sluice_rtt_meter_t;

//  A CREDIT went at now_us: credit more tasks, or with reset, credit tasks
//  from now on replacing every earlier grant.
void
    sluice_rtt_meter_credit (sluice_rtt_meter_t *self, uint64_t credit, bool reset,
                             int64_t now_us);

//  count tasks arrived at now_us. Returns the round trip in ms of the
//  newest grant whose first task is among them, or -1 if none is.
double
    sluice_rtt_meter_tasks (sluice_rtt_meter_t *self, uint64_t count, int64_t now_us);

//  The rate a worker can run tasks at (tasks/s): the larger of the rate it
//  completed them at and jobs over the mean time one takes. Under latency
//  the completions are bound by the credit round trip (prefetch 0: jobs
//  tasks per round trip), so from them alone the prefetch would never grow.
double
    sluice_worker_task_rate (double completed_per_s, unsigned jobs, double mean_task_ms);

//  Exponentially weighted moving average: old moved by weight towards
//  sample; the first sample (old 0 or less) is taken as is.
double
    sluice_worker_ewma (double old, double sample, double weight);

//  What the credit decision reads.
typedef struct {
    uint64_t capacity;          //  credit target
    uint64_t held;              //  received, not yet answered and sent
    uint64_t promised;          //  credit granted, tasks not yet arrived
    uint64_t unsent;            //  answered results never sent yet
    bool hold_full;             //  the results hold is full (not STORED)
    bool draining;              //  take no more tasks
    bool resync_due;            //  idle long enough to re-announce our room
} sluice_credit_state_t;

//  What to send: CREDIT (credit, reset), or nothing when credit is 0 and
//  reset is false.
typedef struct {
    uint64_t credit;
    bool reset;
} sluice_credit_t;

//  The credit decision. Free room (capacity less held and promised) is
//  granted in chunks of at least a quarter of the capacity; nothing while
//  draining, while the hold is full, nor while more than half the capacity
//  of results waits unsent (so a sink that cannot take them stops the
//  ventilator);
//  when idle with too little room, the whole capacity with reset.
sluice_credit_t
    sluice_worker_credit (const sluice_credit_state_t *state);

#define SLUICE_COPROC_MAX_DEPTH 1024    //  --coproc: records in flight per copy at most
#define SLUICE_WORK_IN_HAND_MS 200      //  --coproc: tasks held, in time to run them
#define SLUICE_PREFETCH_MAX 1024        //  adaptive prefetch at most
#define SLUICE_PREFETCH_IN_HAND_MS 8.0  //  --exec: tasks held, at least, in time to run them

#endif
