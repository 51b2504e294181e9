/*  =========================================================================
    peers.c - table of known workers and their credit

    Owns the ventilator's view of its workers: routing ids, each worker's
    credit and their sum, when each was last heard from, the round-robin
    position that spreads tasks over the workers with credit, and the
    per-identity task counts of the summary. A small table: a batch has
    tens of workers, and a linear search over routing ids costs less than
    a hash.

    Slots are allocated one by one and never move, so a peer pointer stays
    valid until the peer is removed; a removed slot is reused by the next
    worker with its generation + 1, so an old handle finds nothing.
    =========================================================================
*/

#include "private.h"
#include "peers.h"

//  One slot of the table
typedef struct {
    sluice_peer_t peer;         //  the worker, when used
    bool used;                  //  holds a known worker
    uint32_t generation;        //  bumped at each reuse of the slot
} s_slot_t;

//  One row of the per-identity counts
typedef struct {
    char identity [sizeof ((sluice_peer_t *) 0)->identity];
    uint64_t tasks;             //  tasks sent to it in all
} s_history_t;

struct _sluice_peers_t {
    s_slot_t **slots;           //  slots, used or free
    size_t slot_count;
    size_t count;               //  slots used
    size_t next;                //  round-robin position (a slot index)
    uint64_t total_credit;      //  sum of the workers' credit
    uint64_t max_credit;        //  cap of one worker's credit
    s_history_t *history;       //  every identity seen
    size_t history_count;
};

sluice_peers_t *
sluice_peers_new (uint64_t max_credit)
{
    sluice_peers_t *self = (sluice_peers_t *) calloc (1, sizeof *self);
    assert (self);
    self->max_credit = max_credit;
    return self;
}

void
sluice_peers_destroy (sluice_peers_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_peers_t *self = *self_p;
        for (size_t i = 0; i < self->slot_count; i++)
            free (self->slots [i]);
        free (self->slots);
        free (self->history);
        free (self);
        *self_p = NULL;
    }
}

//  Write a routing id as text: as is if printable (a sluice worker's
//  host:pid:N), else 0x and hex (libzmq's generated ids start with 0).
static void
s_identity (const uint8_t *routing, size_t size, char *out, size_t outlen)
{
    bool printable = size > 0;
    for (size_t i = 0; i < size && printable; i++)
        printable = routing [i] >= 0x20 && routing [i] < 0x7f;
    if (printable) {
        snprintf (out, outlen, "%.*s", (int) size, (const char *) routing);
        return;
    }
    size_t used = (size_t) snprintf (out, outlen, "0x");
    for (size_t i = 0; i < size && used + 3 <= outlen; i++)
        used += (size_t) snprintf (out + used, outlen - used, "%02x", routing [i]);
}

//  The per-identity row of identity, added if new. Returns its index.
static size_t
s_history_row (sluice_peers_t *self, const char *identity)
{
    for (size_t i = 0; i < self->history_count; i++)
        if (streq (self->history [i].identity, identity))
            return i;
    self->history = (s_history_t *) realloc (self->history,
                                             (self->history_count + 1) * sizeof (s_history_t));
    assert (self->history);
    s_history_t *row = &self->history [self->history_count];
    snprintf (row->identity, sizeof row->identity, "%s", identity);
    row->tasks = 0;
    return self->history_count++;
}

//  A free slot, allocated if every slot is used.
static s_slot_t *
s_free_slot (sluice_peers_t *self, size_t *index)
{
    for (size_t i = 0; i < self->slot_count; i++)
        if (!self->slots [i]->used) {
            *index = i;
            return self->slots [i];
        }
    self->slots = (s_slot_t **) realloc (self->slots,
                                         (self->slot_count + 1) * sizeof (s_slot_t *));
    assert (self->slots);
    s_slot_t *slot = (s_slot_t *) calloc (1, sizeof *slot);
    assert (slot);
    *index = self->slot_count;
    self->slots [self->slot_count++] = slot;
    return slot;
}

sluice_peer_t *
sluice_peers_get (sluice_peers_t *self, const uint8_t *routing, size_t size)
{
    for (size_t i = 0; i < self->slot_count; i++) {
        sluice_peer_t *peer = &self->slots [i]->peer;
        if (self->slots [i]->used && peer->routing_size == size
        &&  memcmp (peer->routing, routing, size) == 0)
            return peer;
    }
    if (size > sizeof ((sluice_peer_t *) 0)->routing)
        return NULL;
    size_t index;
    s_slot_t *slot = s_free_slot (self, &index);
    slot->used = true;
    slot->generation++;
    sluice_peer_t *peer = &slot->peer;
    memset (peer, 0, sizeof *peer);
    memcpy (peer->routing, routing, size);
    peer->routing_size = size;
    s_identity (routing, size, peer->identity, sizeof peer->identity);
    peer->handle = (uint64_t) slot->generation << 32 | (uint64_t) (index + 1);
    peer->fd = -1;
    peer->history = s_history_row (self, peer->identity);
    self->count++;
    sluice_debug ("worker %s joined (%zu workers)", peer->identity, self->count);
    return peer;
}

sluice_peer_t *
sluice_peers_lookup (sluice_peers_t *self, uint64_t handle)
{
    size_t index = (size_t) (handle & 0xffffffff);
    if (index == 0 || index > self->slot_count)
        return NULL;
    s_slot_t *slot = self->slots [index - 1];
    return slot->used && slot->peer.handle == handle? &slot->peer: NULL;
}

sluice_peer_t *
sluice_peers_by_fd (sluice_peers_t *self, int fd)
{
    for (size_t i = 0; i < self->slot_count && fd >= 0; i++)
        if (self->slots [i]->used && self->slots [i]->peer.fd == fd)
            return &self->slots [i]->peer;
    return NULL;
}

void
sluice_peers_seen (sluice_peers_t *self, sluice_peer_t *peer, int64_t now, int fd)
{
    peer->seen_ms = now;
    if (fd < 0 || fd == peer->fd)
        return;
    sluice_peer_t *other = sluice_peers_by_fd (self, fd);
    if (other)
        other->fd = -1;
    peer->fd = fd;
}

sluice_peer_t *
sluice_peers_silent (sluice_peers_t *self, int64_t now, int64_t silent_ms)
{
    for (size_t i = 0; i < self->slot_count; i++)
        if (self->slots [i]->used && now - self->slots [i]->peer.seen_ms > silent_ms)
            return &self->slots [i]->peer;
    return NULL;
}

bool
sluice_peers_any_recent (sluice_peers_t *self, int64_t now, int64_t recent_ms)
{
    for (size_t i = 0; i < self->slot_count; i++)
        if (self->slots [i]->used && now - self->slots [i]->peer.seen_ms <= recent_ms)
            return true;
    return false;
}

void
sluice_peers_touch (sluice_peers_t *self, int64_t now)
{
    for (size_t i = 0; i < self->slot_count; i++)
        if (self->slots [i]->used)
            self->slots [i]->peer.seen_ms = now;
}

void
sluice_peers_credit (sluice_peers_t *self, sluice_peer_t *peer, uint64_t room, bool reset)
{
    if (room > self->max_credit)
        room = self->max_credit;
    self->total_credit -= peer->credit;
    peer->credit = reset? room: peer->credit + room;
    if (peer->credit > self->max_credit)
        peer->credit = self->max_credit;
    self->total_credit += peer->credit;
}

void
sluice_peers_spend (sluice_peers_t *self, sluice_peer_t *peer, uint64_t tasks)
{
    assert (tasks <= peer->credit);
    peer->credit -= tasks;
    self->total_credit -= tasks;
    self->history [peer->history].tasks += tasks;
}

void
sluice_peers_refused (sluice_peers_t *self, sluice_peer_t *peer)
{
    self->total_credit -= peer->credit;
    peer->credit = 0;
}

void
sluice_peers_remove (sluice_peers_t *self, sluice_peer_t *peer)
{
    size_t index = (size_t) (peer->handle & 0xffffffff);
    assert (index >= 1 && index <= self->slot_count);
    s_slot_t *slot = self->slots [index - 1];
    assert (slot->used && &slot->peer == peer);
    sluice_peers_refused (self, peer);
    slot->used = false;
    self->count--;
}

sluice_peer_t *
sluice_peers_next (sluice_peers_t *self)
{
    if (!self->total_credit)
        return NULL;
    for (size_t n = self->slot_count; n > 0; n--) {
        if (self->next >= self->slot_count)
            self->next = 0;
        s_slot_t *slot = self->slots [self->next++];
        if (slot->used && slot->peer.credit)
            return &slot->peer;
    }
    return NULL;
}

sluice_peer_t *
sluice_peers_each (sluice_peers_t *self, size_t *cursor)
{
    while (*cursor < self->slot_count) {
        s_slot_t *slot = self->slots [(*cursor)++];
        if (slot->used)
            return &slot->peer;
    }
    return NULL;
}

uint64_t
sluice_peers_credit_total (sluice_peers_t *self)
{
    return self->total_credit;
}

size_t
sluice_peers_count (sluice_peers_t *self)
{
    return self->count;
}

bool
sluice_peers_history (sluice_peers_t *self, size_t index, const char **identity,
                      uint64_t *tasks)
{
    if (index >= self->history_count)
        return false;
    *identity = self->history [index].identity;
    *tasks = self->history [index].tasks;
    return true;
}
