/*  =========================================================================
    peers.c - table of known workers and their credit

    Owns the ventilator's view of its workers: routing ids, each worker's
    credit and their sum, and the round-robin position that spreads tasks
    over the workers with credit. A small array: a batch has tens of
    workers, and a linear search over routing ids costs less than a hash.
    =========================================================================
*/

#include "private.h"
#include "peers.h"

struct _sluice_peers_t {
    sluice_peer_t *peers;       //  known workers
    size_t count;
    size_t next;                //  round-robin position
    uint64_t total_credit;      //  sum of the workers' credit
    uint64_t max_credit;        //  cap of one worker's credit
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
        free ((*self_p)->peers);
        free (*self_p);
        *self_p = NULL;
    }
}

sluice_peer_t *
sluice_peers_get (sluice_peers_t *self, const uint8_t *routing, size_t size)
{
    for (size_t i = 0; i < self->count; i++)
        if (self->peers [i].routing_size == size
        &&  memcmp (self->peers [i].routing, routing, size) == 0)
            return &self->peers [i];
    if (size > sizeof self->peers [0].routing)
        return NULL;
    self->peers = (sluice_peer_t *) realloc (self->peers,
                                             (self->count + 1) * sizeof (sluice_peer_t));
    assert (self->peers);
    sluice_peer_t *peer = &self->peers [self->count++];
    memset (peer, 0, sizeof *peer);
    memcpy (peer->routing, routing, size);
    peer->routing_size = size;
    sluice_debug ("worker joined (%zu workers)", self->count);
    return peer;
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
}

void
sluice_peers_refused (sluice_peers_t *self, sluice_peer_t *peer, bool gone)
{
    self->total_credit -= peer->credit;
    peer->credit = 0;
    if (!gone)
        return;
    size_t index = (size_t) (peer - self->peers);
    assert (index < self->count);
    self->peers [index] = self->peers [--self->count];
    if (self->next >= self->count)
        self->next = 0;
    sluice_debug ("worker left (%zu workers)", self->count);
}

sluice_peer_t *
sluice_peers_next (sluice_peers_t *self)
{
    if (!self->total_credit)
        return NULL;
    for (size_t n = self->count; n > 0; n--) {
        if (self->next >= self->count)
            self->next = 0;
        sluice_peer_t *peer = &self->peers [self->next++];
        if (peer->credit)
            return peer;
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
