/*  =========================================================================
    peers.h - the workers a ventilator knows, and the credit each announced

    A worker is known by its ROUTER routing id (bytes). Credit is the number
    of tasks a worker will accept; CREDIT adds to it (or, with reset,
    replaces it) and each task sent spends one. Workers with credit are
    served round robin. Socket-free.
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
    uint64_t credit;            //  tasks the worker will accept
} sluice_peer_t;

//  Create an empty table; a worker's credit is capped at max_credit.
//  Never returns NULL.
sluice_peers_t *
    sluice_peers_new (uint64_t max_credit);

//  Destroy a table; nulls the caller's pointer.
void
    sluice_peers_destroy (sluice_peers_t **self_p);

//  The worker with this routing id, added if new. NULL if the routing id
//  is longer than a peer can hold. Valid until the next add or remove.
sluice_peer_t *
    sluice_peers_get (sluice_peers_t *self, const uint8_t *routing, size_t size);

//  CREDIT [room, reset]: add room to the worker's credit, or set it.
void
    sluice_peers_credit (sluice_peers_t *self, sluice_peer_t *peer, uint64_t room,
                         bool reset);

//  The worker sent tasks: spend that much of its credit.
void
    sluice_peers_spend (sluice_peers_t *self, sluice_peer_t *peer, uint64_t tasks);

//  The worker refused a message: with gone, forget it; else (its pipe is
//  full) take its credit away until it announces more.
void
    sluice_peers_refused (sluice_peers_t *self, sluice_peer_t *peer, bool gone);

//  The next worker with credit, round robin; NULL if none has any.
sluice_peer_t *
    sluice_peers_next (sluice_peers_t *self);

//  Credit of all workers, and how many workers are known.
uint64_t
    sluice_peers_credit_total (sluice_peers_t *self);
size_t
    sluice_peers_count (sluice_peers_t *self);

#endif
