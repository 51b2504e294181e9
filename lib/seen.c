/*  =========================================================================
    seen.c - the sink's set of finished task ids and its reorder buffer

    Owns two things the sink needs to write each result exactly once, in
    constant memory, without knowing about sockets:

    - The dedup set: every id below a low watermark is done, and a bitmap
      of `cap` bits (a power of two, at least twice the ventilator's window)
      records the done ids in [low, low + cap). Id n lives at bit n mod cap,
      so the window wraps around the bitmap as the watermark moves; a bit is
      cleared as the watermark passes it, ready for id n + cap. The
      ventilator never has more than its window in flight, so an id at or
      beyond low + cap cannot be valid and is refused.
    - The reorder buffer (--keep-order): a ring of `cap` slots indexed the
      same way, holding the formatted record of an id that finished before
      the ids below it. It is bounded by the same window; a record is
      released, in id order, when the watermark reaches it.
    =========================================================================
*/

#include "private.h"
#include "seen.h"

#define S_CAP_MIN 1024                  //  bits in the smallest set
#define S_CAP_MAX ((size_t) 1 << 30)    //  bits in the largest set

typedef struct {
    uint64_t id;                //  task id held, 0 if the slot is empty
    bool failed;                //  the task's result is a failure
    uint8_t *data;              //  the formatted record (kept for reuse)
    size_t size;                //  bytes of the record
    size_t capacity;            //  bytes allocated at data
} s_held_t;

struct _sluice_seen_t {
    uint64_t low;               //  every id below is done; low itself is not
    uint8_t *bits;              //  done ids in [low, low + cap), bit id % cap
    size_t cap;                 //  bits, a power of two
    s_held_t *held;             //  reorder ring of cap slots, or NULL
    uint64_t window;            //  the ventilator's window (ids in flight at most)
    size_t hold_max;            //  bytes the ring may hold; 0: no limit
    size_t held_bytes;          //  bytes allocated for held records
    uint8_t *released;          //  the record released last, lent to the caller
};

//  Bit index of an id in the bitmap (and slot index in the ring).
static size_t
s_slot (sluice_seen_t *self, uint64_t id)
{
    return (size_t) (id & (self->cap - 1));
}

static bool
s_bit (sluice_seen_t *self, uint64_t id)
{
    size_t bit = s_slot (self, id);
    return (self->bits [bit / 8] >> (bit % 8)) & 1;
}

//  The smallest capacity for a window: at least twice the window.
static size_t
s_cap_for (uint64_t window)
{
    size_t cap = S_CAP_MIN;
    while (cap < window * 2 && cap < S_CAP_MAX)
        cap *= 2;
    return cap;
}

sluice_seen_t *
sluice_seen_new (uint64_t window, bool reorder)
{
    sluice_seen_t *self = (sluice_seen_t *) calloc (1, sizeof *self);
    assert (self);
    self->low = 1;
    self->window = window;
    self->cap = s_cap_for (window);
    self->bits = (uint8_t *) calloc (self->cap / 8, 1);
    assert (self->bits);
    if (reorder) {
        self->held = (s_held_t *) calloc (self->cap, sizeof (s_held_t));
        assert (self->held);
    }
    return self;
}

void
sluice_seen_destroy (sluice_seen_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_seen_t *self = *self_p;
        for (size_t i = 0; self->held && i < self->cap; i++)
            free (self->held [i].data);
        free (self->held);
        free (self->released);
        free (self->bits);
        free (self);
        *self_p = NULL;
    }
}

//  Move held records into a ring of a new capacity; frees the old ring.
static s_held_t *
s_rehold (sluice_seen_t *self, size_t cap)
{
    s_held_t *held = (s_held_t *) calloc (cap, sizeof (s_held_t));
    assert (held);
    for (size_t i = 0; i < self->cap; i++)
        if (self->held [i].id)
            held [self->held [i].id & (cap - 1)] = self->held [i];
        else {
            self->held_bytes -= self->held [i].capacity;
            free (self->held [i].data);
        }
    free (self->held);
    return held;
}

void
sluice_seen_resize (sluice_seen_t *self, uint64_t window)
{
    if (window > self->window)
        self->window = window;
    size_t cap = s_cap_for (window);
    if (cap <= self->cap)
        return;
    //  rebuild: carry over ids that are done above the watermark
    uint8_t *bits = (uint8_t *) calloc (cap / 8, 1);
    assert (bits);
    for (uint64_t id = self->low; id < self->low + self->cap; id++)
        if (s_bit (self, id))
            bits [(id & (cap - 1)) / 8] |= (uint8_t) (1 << ((id & (cap - 1)) % 8));
    free (self->bits);
    self->bits = bits;
    if (self->held)
        self->held = s_rehold (self, cap);
    self->cap = cap;
}

//  Empty a slot of the ring, freeing its record.
static void
s_free_held (sluice_seen_t *self, s_held_t *held)
{
    self->held_bytes -= held->capacity;
    free (held->data);
    held->data = NULL;
    held->capacity = 0;
    held->size = 0;
    held->id = 0;
}

void
sluice_seen_reset (sluice_seen_t *self)
{
    self->low = 1;
    memset (self->bits, 0, self->cap / 8);
    for (size_t i = 0; self->held && i < self->cap; i++)
        s_free_held (self, &self->held [i]);
}

void
sluice_seen_set_hold_max (sluice_seen_t *self, size_t bytes)
{
    self->hold_max = bytes;
}

size_t
sluice_seen_held_bytes (sluice_seen_t *self)
{
    return self->held_bytes;
}

sluice_seen_room_t
sluice_seen_room (sluice_seen_t *self, uint64_t id, size_t size)
{
    if (id >= self->low + self->window)
        return SLUICE_SEEN_AHEAD;
    if (self->hold_max && self->held_bytes + size > self->hold_max)
        return SLUICE_SEEN_FULL;
    return SLUICE_SEEN_ROOM;
}

uint64_t
sluice_seen_low (sluice_seen_t *self)
{
    return self->low;
}

bool
sluice_seen_in_window (sluice_seen_t *self, uint64_t id)
{
    return id < self->low + self->cap;
}

bool
sluice_seen_is_done (sluice_seen_t *self, uint64_t id)
{
    if (id < self->low)
        return true;
    if (!sluice_seen_in_window (self, id))
        return false;
    return s_bit (self, id);
}

bool
sluice_seen_is_held (sluice_seen_t *self, uint64_t id)
{
    return self->held && id >= self->low && self->held [s_slot (self, id)].id == id;
}

void
sluice_seen_add (sluice_seen_t *self, uint64_t id)
{
    if (id < self->low)
        return;
    assert (sluice_seen_in_window (self, id));
    size_t bit = s_slot (self, id);
    self->bits [bit / 8] |= (uint8_t) (1 << (bit % 8));
    //  slide the window: clear bits as the watermark passes them, so the
    //  bit is free for the id one capacity above
    while (s_bit (self, self->low)) {
        size_t low_bit = s_slot (self, self->low);
        self->bits [low_bit / 8] &= (uint8_t) ~(1 << (low_bit % 8));
        self->low++;
    }
}

//  Drop the record held for id, if any (it was acknowledged elsewhere).
static void
s_unhold (sluice_seen_t *self, uint64_t id)
{
    if (self->held && self->held [s_slot (self, id)].id == id)
        s_free_held (self, &self->held [s_slot (self, id)]);
}

void
sluice_seen_skip_to (sluice_seen_t *self, uint64_t low)
{
    if (low <= self->low)
        return;
    if (low - self->low >= self->cap) {
        //  the whole window is below the new watermark
        memset (self->bits, 0, self->cap / 8);
        for (size_t i = 0; self->held && i < self->cap; i++)
            s_free_held (self, &self->held [i]);
        self->low = low;
        return;
    }
    //  the id at the watermark is never done, so each step moves it on
    while (self->low < low) {
        s_unhold (self, self->low);
        sluice_seen_add (self, self->low);
    }
}

int
sluice_seen_hold (sluice_seen_t *self, uint64_t id, bool failed, const void *data,
                  size_t size)
{
    assert (self->held);
    if (!sluice_seen_in_window (self, id) || sluice_seen_is_done (self, id)
    ||  sluice_seen_is_held (self, id))
        return -1;
    s_held_t *held = &self->held [s_slot (self, id)];
    if (held->capacity < size) {
        s_free_held (self, held);
        held->capacity = size;
        held->data = (uint8_t *) malloc (size? size: 1);
        assert (held->data);
        self->held_bytes += size;
    }
    if (size)
        memcpy (held->data, data, size);
    held->size = size;
    held->id = id;
    held->failed = failed;
    return 0;
}

int
sluice_seen_release (sluice_seen_t *self, uint64_t *id, bool *failed,
                     const uint8_t **data, size_t *size)
{
    if (!sluice_seen_is_held (self, self->low))
        return 0;
    s_held_t *held = &self->held [s_slot (self, self->low)];
    //  the record leaves the ring (and its bytes the count); the caller
    //  borrows it until the next release
    free (self->released);
    self->released = held->data;
    self->held_bytes -= held->capacity;
    *id = self->low;
    *failed = held->failed;
    *data = held->data;
    *size = held->size;
    held->data = NULL;
    held->capacity = held->size = 0;
    held->id = 0;
    sluice_seen_add (self, self->low);
    return 1;
}
