/*  =========================================================================
    peers.h - the workers a ventilator knows, and the credit each announced

    A worker is known by its ROUTER routing id (bytes). Credit is the number
    of tasks a worker will accept; CREDIT adds to it (or, with reset,
    replaces it) and each task sent spends one. Workers with credit are
    served round robin. Socket-free and clock-free: the caller passes the
    time.

    Each worker the table learns of gets a handle: its slot and that slot's
    generation, never 0, never reused. The window records the handle as the
    owner of each delivery, so a worker forgotten (gone) leaves no dangling
    pointer: its handle just finds nothing. The table also keeps, by
    identity, how many tasks each worker was sent, across leaves and
    rejoins, for the ventilator's summary (at most 4096 identities; later
    ones share a row "other workers").

    Every operation on one worker is O(1) (routing ids and identities are
    hashed, connections indexed by fd), so a peer that connects, announces
    credit and leaves in a loop costs a constant per cycle; the table holds
    at most the workers set by sluice_peers_set_max.
    =========================================================================
*/

#ifndef SLUICE_PEERS_H_INCLUDED
#define SLUICE_PEERS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sluice_peers_t sluice_peers_t;

//  One worker
typedef struct {
    uint8_t routing [256];      //  ROUTER routing id
    size_t routing_size;
    char identity [516];        //  routing id as text (host:pid:N), or 0x + hex
    uint64_t handle;            //  slot + generation; nonzero
    uint64_t credit;            //  tasks the worker will accept
    int64_t seen_ms;            //  when its last message arrived
    uint64_t sent_unheard;      //  tasks sent to it since its last message
    uint64_t credit_peak;       //  the most credit it held at once
    bool draining;              //  its last CREDIT was [0, reset]: it is stopping
    int fd;                     //  connection its messages came on (ZMQ_SRCFD), or -1
    size_t history;             //  its row in the per-identity counts
} sluice_peer_t;

//  Create an empty table; a worker's credit is capped at max_credit.
//  Never returns NULL.
sluice_peers_t *
    sluice_peers_new (uint64_t max_credit);

//  Destroy a table; nulls the caller's pointer.
void
    sluice_peers_destroy (sluice_peers_t **self_p);

//  Hold at most max_peers workers (0, the default: no limit).
void
    sluice_peers_set_max (sluice_peers_t *self, size_t max_peers);

//  True if the table holds its maximum of workers: a new one is refused.
bool
    sluice_peers_full (sluice_peers_t *self);

//  The worker with this routing id, added if new (logged with -v as
//  "worker IDENTITY joined"). NULL if the routing id is longer than a peer
//  can hold, or if it is new and the table is full (sluice_peers_full).
//  Valid until it is removed.
sluice_peer_t *
    sluice_peers_get (sluice_peers_t *self, const uint8_t *routing, size_t size);

//  The worker with this handle; NULL if it was removed (or never was).
sluice_peer_t *
    sluice_peers_lookup (sluice_peers_t *self, uint64_t handle);

//  The worker whose messages arrive on connection fd; NULL if none.
sluice_peer_t *
    sluice_peers_by_fd (sluice_peers_t *self, int fd);

//  A message from the worker arrived at now on connection fd (-1 if not
//  known). A connection has one worker: another worker last seen on fd
//  loses it (that connection closed and the fd was reused).
void
    sluice_peers_seen (sluice_peers_t *self, sluice_peer_t *peer, int64_t now, int fd);

//  A worker silent since before now - silent_ms, or NULL.
sluice_peer_t *
    sluice_peers_silent (sluice_peers_t *self, int64_t now, int64_t silent_ms);

//  True if some worker was heard from in the last recent_ms.
bool
    sluice_peers_any_recent (sluice_peers_t *self, int64_t now, int64_t recent_ms);

//  Count every worker as heard from at now (the caller itself was not
//  listening, so silence says nothing about them).
void
    sluice_peers_touch (sluice_peers_t *self, int64_t now);

//  CREDIT [room, reset]: add room to the worker's credit, or set it.
void
    sluice_peers_credit (sluice_peers_t *self, sluice_peer_t *peer, uint64_t room,
                         bool reset);

//  The worker sent tasks: spend that much of its credit.
void
    sluice_peers_spend (sluice_peers_t *self, sluice_peer_t *peer, uint64_t tasks);

//  The worker refused a message (its pipe is full): take its credit away
//  until it announces more.
void
    sluice_peers_refused (sluice_peers_t *self, sluice_peer_t *peer);

//  The worker is gone: forget it (its credit, its handle). It is added
//  again, with a new handle, when it speaks again.
void
    sluice_peers_remove (sluice_peers_t *self, sluice_peer_t *peer);

//  The next worker with credit, round robin; NULL if none has any.
sluice_peer_t *
    sluice_peers_next (sluice_peers_t *self);

//  Every known worker in turn: start with *cursor 0; NULL after the last.
sluice_peer_t *
    sluice_peers_each (sluice_peers_t *self, size_t *cursor);

//  Credit of all workers, and how many workers are known.
uint64_t
    sluice_peers_credit_total (sluice_peers_t *self);
size_t
    sluice_peers_count (sluice_peers_t *self);

//  Row index of the per-identity counts: every worker seen, in order of
//  first arrival. Returns false past the last row, else true with its
//  identity (borrowed) and the tasks it was sent in all.
bool
    sluice_peers_history (sluice_peers_t *self, size_t index, const char **identity,
                          uint64_t *tasks);

#endif
