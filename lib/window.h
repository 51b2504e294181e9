/*  =========================================================================
    window.h - the ventilator's window of unacknowledged tasks

    A ring of slots indexed by task id (ids are sequential), a send queue of
    ids, and a lease and an owner (the worker it went to, an opaque handle)
    per delivery. Socket-free and clock-free: the caller
    passes the time. Every change of a slot's state goes through one
    function that asserts the transition is one of these:

        FREE   -> QUEUED   a new task enters the window        (add)
        FREE   -> DONE     acknowledged in an earlier run      (skip)
        QUEUED -> SENT     packed into a TASKS message         (take)
        SENT   -> QUEUED   its send failed: attempt undone     (untake)
        SENT   -> QUEUED   the sink asks for a retry           (retry)
        SENT   -> QUEUED   its lease expired, attempts remain  (expire)
        SENT   -> LOST     its lease expired at max attempts   (expire)
        SENT   -> QUEUED   its worker is gone: attempt undone  (reclaim)
        SENT   -> LOST     expiries + reclaims at max_attempts (reclaim)
        SENT   -> QUEUED   its worker refused the batch: attempt undone,
                           no reclaim counted               (refused)
        SENT   -> QUEUED   its worker handed it back unstarted: attempt
                           undone, no reclaim counted       (handback)
        QUEUED, SENT, LOST -> DONE   the sink acknowledged it  (ack)
        DONE   -> FREE     the low watermark passes it         (ack)
    =========================================================================
*/

#ifndef SLUICE_WINDOW_H_INCLUDED
#define SLUICE_WINDOW_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sluice_window_t sluice_window_t;

//  Slot states (see the transition table above)
typedef enum {
    SLUICE_SLOT_FREE,           //  no task
    SLUICE_SLOT_QUEUED,         //  waiting in the send queue
    SLUICE_SLOT_SENT,           //  leased to a worker
    SLUICE_SLOT_LOST,           //  given up; reported to the sink until acked
    SLUICE_SLOT_DONE            //  acknowledged, waiting for the low watermark
} sluice_slot_state_t;

//  A task as the window hands it out. Data is borrowed until the slot is
//  acknowledged.
typedef struct {
    uint64_t id;                //  task id
    uint32_t attempt;           //  deliveries, this one included
    uint32_t failures;          //  failed runs reported by the sink
    uint32_t reclaims;          //  deliveries taken back from lost workers
                                //  (attempt + reclaims: deliveries so far)
    const uint8_t *data;        //  payload
    size_t size;                //  payload size
    bool alone;                 //  a re-send: close the message after it
} sluice_window_task_t;

//  Called by sluice_window_expire for each task given up; first is true
//  the first time (the task was just declared lost).
typedef void (sluice_window_lost_fn) (void *arg, const sluice_window_task_t *task,
                                      bool first);

//  Create a window of size tasks (at least 1) holding at most max_bytes of
//  payload (a single task may exceed it). Never returns NULL.
sluice_window_t *
    sluice_window_new (size_t size, size_t max_bytes);

//  Destroy a window; nulls the caller's pointer.
void
    sluice_window_destroy (sluice_window_t **self_p);

//  True if no task can be added: size tasks, or max_bytes of payload.
bool
    sluice_window_full (sluice_window_t *self);

//  Add a task (copied) and queue it for sending. The window must not be
//  full. Returns its id (1, 2, ...).
uint64_t
    sluice_window_add (sluice_window_t *self, const void *data, size_t size);

//  Add a task already acknowledged in an earlier run: it takes the next id
//  and is done at once. Returns its id.
uint64_t
    sluice_window_skip (sluice_window_t *self);

//  Take the next queued task for a message being packed (first: the message
//  is empty) for the worker owner (a nonzero handle): it becomes SENT with
//  attempt + 1, a lease until deadline, and that owner. A re-sent or
//  reclaimed task travels alone: it is taken only first, with task->alone
//  set. Returns 1 with *task, or 0 when no task can join this message.
int
    sluice_window_take (sluice_window_t *self, bool first, int64_t deadline,
                        uint64_t owner, sluice_window_task_t *task);

//  Undo a take whose message could not be sent: the task goes back to the
//  head of the queue with its attempt restored. Untake in reverse order.
void
    sluice_window_untake (sluice_window_t *self, uint64_t id);

//  Bound the total time one delivery may be held: take leases each task
//  for lease_ms, and renewals never carry a lease past max_held_ms after
//  the delivery was sent (0: no bound, the default). Its owner cannot keep
//  it for ever: it expires at the bound and is re-sent, or lost.
void
    sluice_window_set_max_held (sluice_window_t *self, int64_t lease_ms,
                                int64_t max_held_ms);

//  Renew the lease of a SENT task to deadline (a worker reports it still
//  running), capped at the delivery's hold bound. Only the task's owner
//  (the worker it was delivered to) may renew it. Returns true if the
//  lease was renewed, false if the task is not SENT, is another worker's,
//  or has reached its bound.
bool
    sluice_window_renew (sluice_window_t *self, uint64_t id, uint64_t owner,
                         int64_t deadline);

//  Deliveries that expired at their hold bound (renewed up to it), so far.
uint64_t
    sluice_window_overheld (sluice_window_t *self);

//  The sink asks for attempt of a SENT task to be retried: queue it again.
//  Returns true if it was requeued.
bool
    sluice_window_retry (sluice_window_t *self, uint64_t id, uint32_t attempt);

//  Acknowledge a task in the window and advance the low watermark past
//  acknowledged slots. Returns true if the task was not acknowledged yet.
bool
    sluice_window_ack (sluice_window_t *self, uint64_t id);

//  Handle leases that ended before now. With renew_only (the sink is
//  silent, so no ack could have come) every lease is renewed. Otherwise a
//  task with attempts left goes back to the tail of the queue; one at
//  max_attempts, or already lost, becomes LOST with a new lease and is
//  reported to lost (may be NULL). Returns the number of tasks requeued.
size_t
    sluice_window_expire (sluice_window_t *self, int64_t now, int64_t lease_ms,
                          uint32_t max_attempts, bool renew_only,
                          sluice_window_lost_fn *lost, void *arg);

//  The worker owner is gone: every task delivered to it and not yet
//  acknowledged goes back to the head of the queue, in id order, with its
//  attempt undone (the re-delivery does not spend one) and its reclaim
//  count + 1. A task whose expired deliveries plus reclaims reach
//  max_attempts (it kills every worker it reaches) becomes LOST with a lease of lease_ms and is reported to
//  lost (may be NULL). A worker that held more than 64 tasks shares the
//  blame: each of its k tasks counts 64/k of a reclaim towards LOST.
//  Returns the number of tasks taken back (requeued or lost).
size_t
    sluice_window_reclaim (sluice_window_t *self, uint64_t owner, int64_t now,
                           int64_t lease_ms, uint32_t max_attempts,
                           sluice_window_lost_fn *lost, void *arg);

//  The worker owner refused the batch (REFUSE): it ran none of the tasks
//  delivered to it. Each goes back to the head of the queue, in id order,
//  with its attempt undone and nothing counted towards max_attempts.
//  Returns the number of tasks taken back.
size_t
    sluice_window_refused (sluice_window_t *self, uint64_t owner);

//  The worker owner hands task id back unstarted (HANDBACK: it is
//  stopping): if the task is SENT to owner, it goes back to the head of
//  the queue with its attempt undone and nothing counted towards
//  max_attempts. Returns true if it was taken back; false if the task is
//  not SENT, or is another worker's.
bool
    sluice_window_handback (sluice_window_t *self, uint64_t id, uint64_t owner);

//  How many delivered, unacknowledged tasks owner holds.
size_t
    sluice_window_held (sluice_window_t *self, uint64_t owner);

//  As sluice_window_held for n owners at once, in one pass over the window:
//  owners ascending, held [i] for owners [i]. Returns their sum.
size_t
    sluice_window_held_many (sluice_window_t *self, const uint64_t *owners, size_t n,
                             size_t *held);

//  As sluice_window_reclaim for n owners at once (ascending), in two passes
//  over the window however many owners left: taken [i] is the number taken
//  back from owners [i]. Returns their sum. (A peer that connects, takes
//  tasks and closes in a loop leaves hundreds of owners to reclaim a scan.)
size_t
    sluice_window_reclaim_many (sluice_window_t *self, const uint64_t *owners, size_t n,
                                int64_t now, int64_t lease_ms, uint32_t max_attempts,
                                sluice_window_lost_fn *lost, void *arg, size_t *taken);

//  Give every delivered task of owner from to owner to (a worker that was
//  taken for gone came back under a new handle), its lease cut to deadline
//  at the latest: what the worker still holds its progress reports renew,
//  what was lost on the dead connection expires soon. Returns how many moved.
size_t
    sluice_window_transfer (sluice_window_t *self, uint64_t from, uint64_t to,
                            int64_t deadline);

//  The worker a SENT task was delivered to; 0 if id is not SENT.
uint64_t
    sluice_window_owner (sluice_window_t *self, uint64_t id);

//  Number of tasks in the window in state (not FREE).
size_t
    sluice_window_count (sluice_window_t *self, sluice_slot_state_t state);

//  State of the slot holding id (FREE when id is not in the window).
sluice_slot_state_t
    sluice_window_state (sluice_window_t *self, uint64_t id);

//  Every id below low is acknowledged.
uint64_t
    sluice_window_low (sluice_window_t *self);

//  Number of ids handed out so far (the last id).
uint64_t
    sluice_window_total (sluice_window_t *self);

//  Payload bytes held.
size_t
    sluice_window_bytes (sluice_window_t *self);

//  True if the send queue may hold a task to send.
bool
    sluice_window_has_queued (sluice_window_t *self);

//  Deliveries after the first, so far (reclaimed deliveries not counted).
uint64_t
    sluice_window_resent (sluice_window_t *self);

//  Tasks taken back from lost workers, so far.
uint64_t
    sluice_window_reclaimed (sluice_window_t *self);

#endif
