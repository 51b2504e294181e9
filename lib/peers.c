/*  =========================================================================
    peers.c - table of known workers and their credit

    Owns the ventilator's view of its workers: routing ids, each worker's
    credit and their sum, when each was last heard from, the round-robin
    position that spreads tasks over the workers with credit, and the
    per-identity task counts of the summary.

    A hostile peer can connect, announce credit and close as fast as the
    loopback allows (200,000 times in a minute took the old linear table
    to 1.7 GB and a 60 s batch to 144 s), so nothing here is linear in the
    peers ever seen: routing ids and identities are found by hash (open
    addressing, linear probing, backward-shift deletion), connections by
    an array indexed by fd, free slots by a stack. The table holds at most
    max_peers workers (sluice_peers_set_max; the caller logs the refusal),
    and the per-identity counts at most S_HISTORY_MAX rows: later
    identities share one row, "other workers".

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

#define S_HISTORY_MAX 4096         //  per-identity rows kept at most
#define S_HISTORY_OTHERS "other workers"    //  the row of every later identity

//  An open-addressing index: entries are row + 1 (0: empty), cap a power
//  of two kept at least twice the rows indexed.
typedef struct {
    uint32_t *entries;
    size_t cap;
    size_t used;
} s_index_t;

struct _sluice_peers_t {
    s_slot_t **slots;           //  slots, used or free
    size_t slot_count;
    size_t count;               //  slots used
    size_t max_peers;           //  slots used at most; 0: no limit
    size_t *free;               //  stack of free slot indexes
    size_t free_count;
    s_index_t by_routing;       //  used slots by routing id
    s_index_t by_identity;      //  history rows by identity
    uint32_t *by_fd;            //  slot index + 1 by connection fd, 0: none
    size_t fd_cap;              //  entries at by_fd
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
        free (self->free);
        free (self->by_routing.entries);
        free (self->by_identity.entries);
        free (self->by_fd);
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

//  --------------------------------------------------------------------------
//  Index: open addressing with linear probing over rows of some array; the
//  caller says how to hash a key and whether a row matches it.

typedef bool (s_match_fn) (sluice_peers_t *self, uint32_t row, const void *key, size_t size);

//  FNV-1a of a key.
static uint64_t
s_hash (const void *key, size_t size)
{
    uint64_t hash = 14695981039346656037ULL;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ ((const uint8_t *) key) [i]) * 1099511628211ULL;
    return hash;
}

//  The position of key in the index (its entry, or the empty entry where it
//  would go).
static size_t
s_index_find (sluice_peers_t *self, s_index_t *index, const void *key, size_t size,
              s_match_fn *match)
{
    size_t pos = (size_t) s_hash (key, size) & (index->cap - 1);
    while (index->entries [pos] && !match (self, index->entries [pos] - 1, key, size))
        pos = (pos + 1) & (index->cap - 1);
    return pos;
}

//  The row indexed under key, or -1.
static int64_t
s_index_get (sluice_peers_t *self, s_index_t *index, const void *key, size_t size,
             s_match_fn *match)
{
    if (!index->cap)
        return -1;
    size_t pos = s_index_find (self, index, key, size, match);
    return index->entries [pos]? (int64_t) index->entries [pos] - 1: -1;
}

//  Index row under key (not indexed yet); hash_of gives each row's key to
//  rehash when the index grows.
typedef void (s_key_fn) (sluice_peers_t *self, uint32_t row, const void **key, size_t *size);

static void
s_index_put (sluice_peers_t *self, s_index_t *index, uint32_t row, const void *key,
             size_t size, s_match_fn *match, s_key_fn *key_of)
{
    if ((index->used + 1) * 2 > index->cap) {
        s_index_t old = *index;
        index->cap = old.cap? old.cap * 2: 64;
        index->entries = (uint32_t *) calloc (index->cap, sizeof (uint32_t));
        assert (index->entries);
        for (size_t i = 0; i < old.cap; i++)
            if (old.entries [i]) {
                const void *k;
                size_t n;
                key_of (self, old.entries [i] - 1, &k, &n);
                index->entries [s_index_find (self, index, k, n, match)] = old.entries [i];
            }
        free (old.entries);
    }
    index->entries [s_index_find (self, index, key, size, match)] = row + 1;
    index->used++;
}

//  Remove the entry of key (indexed), shifting back the entries after it so
//  that every probe sequence stays unbroken.
static void
s_index_remove (sluice_peers_t *self, s_index_t *index, const void *key, size_t size,
                s_match_fn *match, s_key_fn *key_of)
{
    size_t hole = s_index_find (self, index, key, size, match);
    assert (index->entries [hole]);
    index->entries [hole] = 0;
    index->used--;
    for (size_t pos = (hole + 1) & (index->cap - 1); index->entries [pos];
         pos = (pos + 1) & (index->cap - 1)) {
        const void *k;
        size_t n;
        key_of (self, index->entries [pos] - 1, &k, &n);
        size_t home = (size_t) s_hash (k, n) & (index->cap - 1);
        //  move it into the hole unless its home lies in (hole, pos]
        bool stays = hole <= pos? (home > hole && home <= pos): (home > hole || home <= pos);
        if (!stays) {
            index->entries [hole] = index->entries [pos];
            index->entries [pos] = 0;
            hole = pos;
        }
    }
}

static bool
s_routing_match (sluice_peers_t *self, uint32_t row, const void *key, size_t size)
{
    const sluice_peer_t *peer = &self->slots [row]->peer;
    return peer->routing_size == size && memcmp (peer->routing, key, size) == 0;
}

static void
s_routing_key (sluice_peers_t *self, uint32_t row, const void **key, size_t *size)
{
    *key = self->slots [row]->peer.routing;
    *size = self->slots [row]->peer.routing_size;
}

static bool
s_identity_match (sluice_peers_t *self, uint32_t row, const void *key, size_t size)
{
    (void) size;
    return streq (self->history [row].identity, (const char *) key);
}

static void
s_identity_key (sluice_peers_t *self, uint32_t row, const void **key, size_t *size)
{
    *key = self->history [row].identity;
    *size = strlen (self->history [row].identity);
}

//  --------------------------------------------------------------------------
//  Rows and slots

//  The per-identity row of identity, added if new (once S_HISTORY_MAX rows
//  exist, the shared row of later identities). Returns its index.
static size_t
s_history_row (sluice_peers_t *self, const char *identity)
{
    int64_t row = s_index_get (self, &self->by_identity, identity, strlen (identity),
                               s_identity_match);
    if (row >= 0)
        return (size_t) row;
    if (self->history_count >= S_HISTORY_MAX)
        identity = S_HISTORY_OTHERS;
    row = s_index_get (self, &self->by_identity, identity, strlen (identity),
                       s_identity_match);
    if (row >= 0)
        return (size_t) row;
    if (self->history_count % 64 == 0) {
        self->history = (s_history_t *) realloc (self->history,
                                                 (self->history_count + 64) * sizeof (s_history_t));
        assert (self->history);
    }
    s_history_t *entry = &self->history [self->history_count];
    snprintf (entry->identity, sizeof entry->identity, "%s", identity);
    entry->tasks = 0;
    s_index_put (self, &self->by_identity, (uint32_t) self->history_count, entry->identity,
                 strlen (entry->identity), s_identity_match, s_identity_key);
    return self->history_count++;
}

//  A free slot, allocated if every slot is used.
static s_slot_t *
s_free_slot (sluice_peers_t *self, size_t *index)
{
    if (self->free_count) {
        *index = self->free [--self->free_count];
        return self->slots [*index];
    }
    if (self->slot_count % 64 == 0) {
        self->slots = (s_slot_t **) realloc (self->slots,
                                             (self->slot_count + 64) * sizeof (s_slot_t *));
        assert (self->slots);
        self->free = (size_t *) realloc (self->free, (self->slot_count + 64) * sizeof (size_t));
        assert (self->free);
    }
    s_slot_t *slot = (s_slot_t *) calloc (1, sizeof *slot);
    assert (slot);
    *index = self->slot_count;
    self->slots [self->slot_count++] = slot;
    return slot;
}

void
sluice_peers_set_max (sluice_peers_t *self, size_t max_peers)
{
    self->max_peers = max_peers;
}

bool
sluice_peers_full (sluice_peers_t *self)
{
    return self->max_peers && self->count >= self->max_peers;
}

sluice_peer_t *
sluice_peers_get (sluice_peers_t *self, const uint8_t *routing, size_t size)
{
    int64_t row = s_index_get (self, &self->by_routing, routing, size, s_routing_match);
    if (row >= 0)
        return &self->slots [row]->peer;
    if (size > sizeof ((sluice_peer_t *) 0)->routing || sluice_peers_full (self))
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
    s_index_put (self, &self->by_routing, (uint32_t) index, peer->routing, size,
                 s_routing_match, s_routing_key);
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

//  Slot index + 1 of the worker on fd, 0 if none.
static uint32_t
s_fd_slot (sluice_peers_t *self, int fd)
{
    return fd >= 0 && (size_t) fd < self->fd_cap? self->by_fd [fd]: 0;
}

//  Record (slot index + 1) or clear (0) the worker on fd.
static void
s_fd_set (sluice_peers_t *self, int fd, uint32_t value)
{
    if ((size_t) fd >= self->fd_cap) {
        size_t cap = self->fd_cap? self->fd_cap: 256;
        while (cap <= (size_t) fd)
            cap *= 2;
        self->by_fd = (uint32_t *) realloc (self->by_fd, cap * sizeof (uint32_t));
        assert (self->by_fd);
        memset (self->by_fd + self->fd_cap, 0, (cap - self->fd_cap) * sizeof (uint32_t));
        self->fd_cap = cap;
    }
    self->by_fd [fd] = value;
}

sluice_peer_t *
sluice_peers_by_fd (sluice_peers_t *self, int fd)
{
    uint32_t value = s_fd_slot (self, fd);
    return value? &self->slots [value - 1]->peer: NULL;
}

void
sluice_peers_seen (sluice_peers_t *self, sluice_peer_t *peer, int64_t now, int fd)
{
    peer->seen_ms = now;
    peer->sent_unheard = 0;
    if (fd < 0 || fd == peer->fd)
        return;
    sluice_peer_t *other = sluice_peers_by_fd (self, fd);
    if (other)
        other->fd = -1;
    if (peer->fd >= 0 && s_fd_slot (self, peer->fd) == (peer->handle & 0xffffffff))
        s_fd_set (self, peer->fd, 0);
    peer->fd = fd;
    s_fd_set (self, fd, (uint32_t) (peer->handle & 0xffffffff));
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
    peer->draining = reset && room == 0;
    if (peer->credit > self->max_credit)
        peer->credit = self->max_credit;
    if (peer->credit > peer->credit_peak)
        peer->credit_peak = peer->credit;
    self->total_credit += peer->credit;
}

void
sluice_peers_spend (sluice_peers_t *self, sluice_peer_t *peer, uint64_t tasks)
{
    assert (tasks <= peer->credit);
    peer->credit -= tasks;
    peer->sent_unheard += tasks;
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
    s_index_remove (self, &self->by_routing, peer->routing, peer->routing_size,
                    s_routing_match, s_routing_key);
    if (peer->fd >= 0 && s_fd_slot (self, peer->fd) == index)
        s_fd_set (self, peer->fd, 0);
    slot->used = false;
    self->free [self->free_count++] = index - 1;
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
