/*  =========================================================================
    window.c - slot ring, send queue and leases of the ventilator

    Owns the window of unacknowledged tasks: a ring of slots indexed by id
    (ids are sequential, so id % size finds a slot), the queue of ids
    waiting to be sent, each delivery's lease and owner (an opaque handle
    of the worker it went to, so a lost worker's tasks can be taken back),
    and the slot states. The
    allowed transitions are listed in window.h and checked in one place,
    s_transition. Knows nothing of sockets or clocks.
    =========================================================================
*/

#include "private.h"
#include "window.h"

#define S_SLOT_KEEP 256             //  slot buffers up to this size are reused
//  Blame for a lost worker, in thousandths of a reclaim. A worker that
//  dies holding up to S_BLAME_TASKS of our tasks charges each a whole
//  reclaim (a task that kills its worker is among few); one holding k more
//  shares S_BLAME_TASKS reclaims among them. Measured: with the results a
//  protocol-2 worker holds until stored, 30-chaos (a kill every 300 ms,
//  thousands of --echo tasks per worker) gave 16 of 100,000 innocent tasks
//  five whole reclaims, and so LOST.
#define S_BLAME_UNIT 1000
#define S_BLAME_TASKS 64

typedef struct {
    uint64_t id;                //  task id, 0 when never used
    uint32_t attempt;           //  deliveries so far
    uint32_t failures;          //  failed runs reported by the sink
    uint32_t reclaims;          //  deliveries taken back from lost workers
    uint32_t blame;             //  their share of the deaths, S_BLAME_UNIT a whole one
    uint8_t state;              //  sluice_slot_state_t
    int64_t deadline;           //  lease expiry, ms
    int64_t held_until;         //  SENT: no renewal past this (--max-held)
    uint64_t owner;             //  worker of the delivery while SENT, else 0
    uint8_t *data;              //  payload (buffer reused across tasks)
    size_t size;                //  payload size
    size_t capacity;            //  allocated bytes of data
} s_slot_t;

struct _sluice_window_t {
    s_slot_t *slots;            //  ring of size slots
    size_t size;                //  tasks held at most
    size_t max_bytes;           //  payload bytes held at most
    uint64_t low;               //  every id below low is acknowledged
    uint64_t next_id;           //  id of the next task added
    size_t bytes;               //  payload bytes of the tasks held
    uint64_t *queue;            //  ids waiting to be sent (ring of 2 * size)
    size_t queue_head;          //  index of the first queued id
    size_t queue_len;           //  queued ids, stale ones included
    uint64_t resent;            //  deliveries after the first
    uint64_t reclaimed;         //  deliveries taken back from lost workers
    int64_t lease_ms;           //  lease given at take (sluice_window_set_max_held)
    int64_t max_held_ms;        //  total hold of a delivery at most; 0: none
    uint64_t overheld;          //  deliveries expired at their hold limit
};

//  Change a slot's state, asserting the transition is an allowed one (the
//  table in window.h). The only place a slot's state is written.
static void
s_transition (s_slot_t *slot, sluice_slot_state_t to)
{
    static const uint8_t allowed [5] = {
        [SLUICE_SLOT_FREE]   = 1 << SLUICE_SLOT_QUEUED | 1 << SLUICE_SLOT_DONE,
        [SLUICE_SLOT_QUEUED] = 1 << SLUICE_SLOT_SENT | 1 << SLUICE_SLOT_DONE,
        [SLUICE_SLOT_SENT]   = 1 << SLUICE_SLOT_QUEUED | 1 << SLUICE_SLOT_LOST
                             | 1 << SLUICE_SLOT_DONE,
        [SLUICE_SLOT_LOST]   = 1 << SLUICE_SLOT_DONE,
        [SLUICE_SLOT_DONE]   = 1 << SLUICE_SLOT_FREE,
    };
    assert (slot->state < 5 && (allowed [slot->state] & (1 << to)));
    slot->state = (uint8_t) to;
    if (to != SLUICE_SLOT_SENT)
        slot->owner = 0;        //  only a delivery has an owner
}

sluice_window_t *
sluice_window_new (size_t size, size_t max_bytes)
{
    sluice_window_t *self = (sluice_window_t *) calloc (1, sizeof *self);
    assert (self);
    self->size = size? size: 1;
    self->max_bytes = max_bytes;
    self->slots = (s_slot_t *) calloc (self->size, sizeof (s_slot_t));
    self->queue = (uint64_t *) calloc (self->size * 2, sizeof (uint64_t));
    assert (self->slots && self->queue);
    self->low = 1;
    self->next_id = 1;
    return self;
}

static s_slot_t *
    s_slot (sluice_window_t *self, uint64_t id);

void
sluice_window_destroy (sluice_window_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_window_t *self = *self_p;
        //  only the slots ids were ever given: a walk over all of a large
        //  window's slots touched every page of it (131,072 slots: 3 ms of
        //  a one-task job's 18)
        uint64_t first = self->next_id > self->size? self->next_id - self->size: 1;
        for (uint64_t id = first; id < self->next_id; id++)
            free (s_slot (self, id)->data);
        free (self->slots);
        free (self->queue);
        free (self);
        *self_p = NULL;
    }
}

//  The slot for id, whatever it holds.
static s_slot_t *
s_slot (sluice_window_t *self, uint64_t id)
{
    return &self->slots [id % self->size];
}

//  The slot holding id if id is in the window and not yet acknowledged.
static s_slot_t *
s_live_slot (sluice_window_t *self, uint64_t id)
{
    if (id < self->low || id >= self->next_id)
        return NULL;
    s_slot_t *slot = s_slot (self, id);
    return slot->id == id && slot->state != SLUICE_SLOT_DONE? slot: NULL;
}

//  Drop stale ids (acknowledged or sent since they were queued) from a
//  full queue.
static void
s_queue_compact (sluice_window_t *self)
{
    size_t capacity = self->size * 2;
    size_t kept = 0;
    for (size_t i = 0; i < self->queue_len; i++) {
        uint64_t id = self->queue [(self->queue_head + i) % capacity];
        s_slot_t *slot = s_live_slot (self, id);
        if (slot && slot->state == SLUICE_SLOT_QUEUED)
            self->queue [(self->queue_head + kept++) % capacity] = id;
    }
    self->queue_len = kept;
}

//  Queue an id for sending, at the tail or the head. Ids acknowledged while
//  queued stay as stale entries until popped or compacted.
static void
s_queue_push (sluice_window_t *self, uint64_t id, bool head)
{
    size_t capacity = self->size * 2;
    if (self->queue_len == capacity)
        s_queue_compact (self);
    assert (self->queue_len < capacity);
    if (head) {
        self->queue_head = (self->queue_head + capacity - 1) % capacity;
        self->queue [self->queue_head] = id;
    }
    else
        self->queue [(self->queue_head + self->queue_len) % capacity] = id;
    self->queue_len++;
}

bool
sluice_window_full (sluice_window_t *self)
{
    return self->next_id - self->low >= self->size
        || (self->bytes >= self->max_bytes && self->next_id > self->low);
}

//  Free acknowledged slots at the low watermark and advance it.
static void
s_advance (sluice_window_t *self)
{
    while (self->low < self->next_id) {
        s_slot_t *slot = s_slot (self, self->low);
        if (slot->state != SLUICE_SLOT_DONE)
            break;
        self->bytes -= slot->size;
        slot->size = 0;
        s_transition (slot, SLUICE_SLOT_FREE);
        //  small buffers are kept for the next task in this slot; large
        //  ones are not, or every slot of the ring would keep one and the
        //  byte bound of the window would not bound memory
        if (slot->capacity > S_SLOT_KEEP) {
            free (slot->data);
            slot->data = NULL;
            slot->capacity = 0;
        }
        self->low++;
    }
}

uint64_t
sluice_window_add (sluice_window_t *self, const void *data, size_t size)
{
    assert (!sluice_window_full (self));
    uint64_t id = self->next_id++;
    s_slot_t *slot = s_slot (self, id);
    if (slot->capacity < size) {
        free (slot->data);
        slot->capacity = size < 64? 64: size;
        slot->data = (uint8_t *) malloc (slot->capacity);
        assert (slot->data);
    }
    if (size)
        memcpy (slot->data, data, size);
    slot->id = id;
    slot->size = size;
    slot->attempt = 0;
    slot->failures = 0;
    slot->reclaims = 0;
    slot->blame = 0;
    self->bytes += size;
    s_transition (slot, SLUICE_SLOT_QUEUED);
    s_queue_push (self, id, false);
    return id;
}

uint64_t
sluice_window_skip (sluice_window_t *self)
{
    assert (!sluice_window_full (self));
    uint64_t id = self->next_id++;
    s_slot_t *slot = s_slot (self, id);
    slot->id = id;
    slot->size = 0;
    s_transition (slot, SLUICE_SLOT_DONE);
    s_advance (self);
    return id;
}

//  Fill a task view of a slot.
static void
s_task_view (const s_slot_t *slot, sluice_window_task_t *task)
{
    task->id = slot->id;
    task->attempt = slot->attempt;
    task->failures = slot->failures;
    task->reclaims = slot->reclaims;
    task->data = slot->data;
    task->size = slot->size;
    task->alone = slot->attempt > 1 || slot->reclaims > 0;
}

int
sluice_window_take (sluice_window_t *self, bool first, int64_t deadline,
                    uint64_t owner, sluice_window_task_t *task)
{
    assert (owner);
    size_t capacity = self->size * 2;
    while (self->queue_len) {
        uint64_t id = self->queue [self->queue_head];
        s_slot_t *slot = s_live_slot (self, id);
        if (!slot || slot->state != SLUICE_SLOT_QUEUED) {
            self->queue_head = (self->queue_head + 1) % capacity;
            self->queue_len--;
            continue;           //  stale: acknowledged while queued
        }
        //  a re-sent task travels alone: tasks whose leases expired
        //  together (their worker died) are spread over the workers, so a
        //  task that kills its worker does not use up its neighbours'
        //  attempts (reclaimed tasks likewise: their reclaim count)
        if ((slot->attempt > 0 || slot->reclaims > 0) && !first)
            return 0;
        self->queue_head = (self->queue_head + 1) % capacity;
        self->queue_len--;
        slot->attempt++;
        if (slot->attempt > 1)
            self->resent++;
        slot->deadline = deadline;
        //  the delivery began a lease before its first deadline
        slot->held_until = self->max_held_ms
                         ? deadline - self->lease_ms + self->max_held_ms: INT64_MAX;
        s_transition (slot, SLUICE_SLOT_SENT);
        slot->owner = owner;
        s_task_view (slot, task);
        return 1;
    }
    return 0;
}

void
sluice_window_untake (sluice_window_t *self, uint64_t id)
{
    s_slot_t *slot = s_live_slot (self, id);
    assert (slot && slot->state == SLUICE_SLOT_SENT);
    if (slot->attempt-- > 1)
        self->resent--;
    s_transition (slot, SLUICE_SLOT_QUEUED);
    s_queue_push (self, id, true);
}

void
sluice_window_set_max_held (sluice_window_t *self, int64_t lease_ms, int64_t max_held_ms)
{
    self->lease_ms = lease_ms;
    self->max_held_ms = max_held_ms;
}

bool
sluice_window_renew (sluice_window_t *self, uint64_t id, uint64_t owner, int64_t deadline)
{
    s_slot_t *slot = s_live_slot (self, id);
    if (!slot || slot->state != SLUICE_SLOT_SENT || slot->owner != owner
    ||  slot->deadline >= slot->held_until)
        return false;
    slot->deadline = deadline < slot->held_until? deadline: slot->held_until;
    return true;
}

uint64_t
sluice_window_overheld (sluice_window_t *self)
{
    return self->overheld;
}

bool
sluice_window_retry (sluice_window_t *self, uint64_t id, uint32_t attempt)
{
    s_slot_t *slot = s_live_slot (self, id);
    if (!slot || slot->state != SLUICE_SLOT_SENT || slot->attempt != attempt)
        return false;
    slot->failures++;
    s_transition (slot, SLUICE_SLOT_QUEUED);
    s_queue_push (self, id, false);
    return true;
}

bool
sluice_window_ack (sluice_window_t *self, uint64_t id)
{
    s_slot_t *slot = s_live_slot (self, id);
    if (!slot)
        return false;
    s_transition (slot, SLUICE_SLOT_DONE);
    if (id == self->low)
        s_advance (self);
    return true;
}

//  Handle one expired lease (see sluice_window_expire). Returns true if
//  the task was requeued.
static bool
s_expire_slot (s_slot_t *slot, int64_t now, int64_t lease_ms, uint32_t max_attempts,
               sluice_window_lost_fn *lost, void *arg)
{
    //  deliveries ended by a lease and by a lost worker both count
    if (slot->state == SLUICE_SLOT_SENT
    &&  (uint64_t) slot->attempt * S_BLAME_UNIT + slot->blame
        < (uint64_t) max_attempts * S_BLAME_UNIT) {
        sluice_debug ("task %" PRIu64 " lease expired (attempt %u); re-sending",
                      slot->id, slot->attempt);
        s_transition (slot, SLUICE_SLOT_QUEUED);
        return true;
    }
    bool first = slot->state == SLUICE_SLOT_SENT;
    if (first)
        s_transition (slot, SLUICE_SLOT_LOST);
    slot->deadline = now + lease_ms;
    if (lost) {
        sluice_window_task_t task;
        s_task_view (slot, &task);
        lost (arg, &task, first);
    }
    return false;
}

size_t
sluice_window_expire (sluice_window_t *self, int64_t now, int64_t lease_ms,
                      uint32_t max_attempts, bool renew_only,
                      sluice_window_lost_fn *lost, void *arg)
{
    size_t requeued = 0;
    for (uint64_t id = self->low; id < self->next_id; id++) {
        s_slot_t *slot = s_slot (self, id);
        if ((slot->state != SLUICE_SLOT_SENT && slot->state != SLUICE_SLOT_LOST)
        ||  slot->deadline > now)
            continue;
        if (renew_only)
            slot->deadline = now + lease_ms;
        else {
            if (slot->state == SLUICE_SLOT_SENT && slot->deadline == slot->held_until)
                self->overheld++;       //  renewed up to its limit
            if (!s_expire_slot (slot, now, lease_ms, max_attempts, lost, arg))
                continue;
            //  at the tail: sent at the head, re-sends would reach a worker
            //  sooner and spend their attempts within a short sink outage
            //  (before the sink counts as silent), see 36-sink-outage.sh
            s_queue_push (self, id, false);
            requeued++;
        }
    }
    return requeued;
}

//  Take one delivery back from its lost worker (see sluice_window_reclaim).
//  Returns true if the task was requeued, false if it was lost.
static bool
s_reclaim_slot (sluice_window_t *self, s_slot_t *slot, int64_t now, int64_t lease_ms,
                uint32_t max_attempts, uint32_t blame, sluice_window_lost_fn *lost, void *arg)
{
    self->reclaimed++;
    //  undone as in untake: the next take delivers the same attempt, and
    //  attempt + reclaims counts the deliveries
    if (slot->attempt-- > 1)
        self->resent--;
    slot->reclaims++;
    slot->blame += blame;
    //  the attempt left is the deliveries whose leases expired: they count
    //  whole, with the blame for lost workers, towards max_attempts
    if ((uint64_t) slot->attempt * S_BLAME_UNIT + slot->blame
        < (uint64_t) max_attempts * S_BLAME_UNIT) {
        s_transition (slot, SLUICE_SLOT_QUEUED);
        return true;
    }
    sluice_debug ("task %" PRIu64 " reclaimed from %u lost workers; giving up",
                  slot->id, slot->reclaims);
    s_transition (slot, SLUICE_SLOT_LOST);
    slot->deadline = now + lease_ms;
    if (lost) {
        sluice_window_task_t task;
        s_task_view (slot, &task);
        lost (arg, &task, true);
    }
    return false;
}

size_t
sluice_window_reclaim (sluice_window_t *self, uint64_t owner, int64_t now, int64_t lease_ms,
                       uint32_t max_attempts, sluice_window_lost_fn *lost, void *arg)
{
    if (!owner)
        return 0;
    size_t held = sluice_window_held (self, owner), taken = 0;
    uint32_t blame = held <= S_BLAME_TASKS? S_BLAME_UNIT
                   : (uint32_t) (S_BLAME_TASKS * S_BLAME_UNIT / held);
    if (blame == 0)
        blame = 1;
    //  highest id first: each goes to the head, so the lowest is sent first
    for (uint64_t id = self->next_id; id-- > self->low; ) {
        s_slot_t *slot = s_slot (self, id);
        if (slot->state != SLUICE_SLOT_SENT || slot->owner != owner)
            continue;
        taken++;
        if (s_reclaim_slot (self, slot, now, lease_ms, max_attempts, blame, lost, arg))
            s_queue_push (self, id, true);
    }
    return taken;
}

size_t
sluice_window_refused (sluice_window_t *self, uint64_t owner)
{
    if (!owner)
        return 0;
    size_t taken = 0;
    //  highest id first, as reclaim: the lowest goes out first
    for (uint64_t id = self->next_id; id-- > self->low; ) {
        s_slot_t *slot = s_slot (self, id);
        if (slot->state != SLUICE_SLOT_SENT || slot->owner != owner)
            continue;
        //  never run: the delivery did not happen, as in untake
        if (slot->attempt-- > 1)
            self->resent--;
        s_transition (slot, SLUICE_SLOT_QUEUED);
        s_queue_push (self, id, true);
        taken++;
    }
    return taken;
}

bool
sluice_window_handback (sluice_window_t *self, uint64_t id, uint64_t owner)
{
    s_slot_t *slot = s_live_slot (self, id);
    if (!owner || !slot || slot->state != SLUICE_SLOT_SENT || slot->owner != owner)
        return false;
    //  never run: as refused, for one task
    if (slot->attempt-- > 1)
        self->resent--;
    s_transition (slot, SLUICE_SLOT_QUEUED);
    s_queue_push (self, id, true);
    return true;
}

size_t
sluice_window_held (sluice_window_t *self, uint64_t owner)
{
    size_t held = 0;
    for (uint64_t id = self->low; owner && id < self->next_id; id++) {
        s_slot_t *slot = s_slot (self, id);
        held += slot->state == SLUICE_SLOT_SENT && slot->owner == owner;
    }
    return held;
}

//  Index of owner in the ascending array owners, or -1.
static ptrdiff_t
s_owner_index (const uint64_t *owners, size_t n, uint64_t owner)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (owners [mid] == owner)
            return (ptrdiff_t) mid;
        if (owners [mid] < owner)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

size_t
sluice_window_held_many (sluice_window_t *self, const uint64_t *owners, size_t n,
                         size_t *held)
{
    size_t total = 0;
    memset (held, 0, n * sizeof *held);
    for (uint64_t id = self->low; n && id < self->next_id; id++) {
        s_slot_t *slot = s_slot (self, id);
        ptrdiff_t i = slot->state == SLUICE_SLOT_SENT? s_owner_index (owners, n, slot->owner): -1;
        if (i >= 0) {
            held [i]++;
            total++;
        }
    }
    return total;
}

size_t
sluice_window_reclaim_many (sluice_window_t *self, const uint64_t *owners, size_t n,
                            int64_t now, int64_t lease_ms, uint32_t max_attempts,
                            sluice_window_lost_fn *lost, void *arg, size_t *taken)
{
    size_t *held = (size_t *) calloc (n? n: 1, sizeof (size_t));
    assert (held);
    sluice_window_held_many (self, owners, n, held);
    memset (taken, 0, n * sizeof *taken);
    size_t total = 0;
    for (uint64_t id = self->next_id; n && id-- > self->low; ) {
        s_slot_t *slot = s_slot (self, id);
        ptrdiff_t i = slot->state == SLUICE_SLOT_SENT? s_owner_index (owners, n, slot->owner): -1;
        if (i < 0)
            continue;
        uint32_t blame = held [i] <= S_BLAME_TASKS? S_BLAME_UNIT
                       : (uint32_t) (S_BLAME_TASKS * S_BLAME_UNIT / held [i]);
        taken [i]++;
        total++;
        if (s_reclaim_slot (self, slot, now, lease_ms, max_attempts, blame? blame: 1, lost, arg))
            s_queue_push (self, id, true);
    }
    free (held);
    return total;
}

size_t
sluice_window_transfer (sluice_window_t *self, uint64_t from, uint64_t to,
                        int64_t deadline)
{
    size_t moved = 0;
    for (uint64_t id = self->low; from && id < self->next_id; id++) {
        s_slot_t *slot = s_slot (self, id);
        if (slot->state == SLUICE_SLOT_SENT && slot->owner == from) {
            slot->owner = to;
            if (slot->deadline > deadline)
                slot->deadline = deadline;
            moved++;
        }
    }
    return moved;
}

uint64_t
sluice_window_owner (sluice_window_t *self, uint64_t id)
{
    s_slot_t *slot = s_live_slot (self, id);
    return slot && slot->state == SLUICE_SLOT_SENT? slot->owner: 0;
}

size_t
sluice_window_count (sluice_window_t *self, sluice_slot_state_t state)
{
    size_t count = 0;
    for (uint64_t id = self->low; id < self->next_id; id++)
        if (s_slot (self, id)->state == state)
            count++;
    return count;
}

sluice_slot_state_t
sluice_window_state (sluice_window_t *self, uint64_t id)
{
    if (id < self->low || id >= self->next_id)
        return SLUICE_SLOT_FREE;
    return (sluice_slot_state_t) s_slot (self, id)->state;
}

uint64_t
sluice_window_low (sluice_window_t *self)
{
    return self->low;
}

uint64_t
sluice_window_total (sluice_window_t *self)
{
    return self->next_id - 1;
}

size_t
sluice_window_bytes (sluice_window_t *self)
{
    return self->bytes;
}

bool
sluice_window_has_queued (sluice_window_t *self)
{
    return self->queue_len > 0;
}

uint64_t
sluice_window_resent (sluice_window_t *self)
{
    return self->resent;
}

uint64_t
sluice_window_reclaimed (sluice_window_t *self)
{
    return self->reclaimed;
}
