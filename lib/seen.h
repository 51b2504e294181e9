/*  =========================================================================
    seen.h - the sink's set of finished task ids and its reorder buffer

    Internal to libsluice; see seen.c for the design.
    =========================================================================
*/

#ifndef SLUICE_SEEN_H_INCLUDED
#define SLUICE_SEEN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sluice_seen_t sluice_seen_t;

//  Create a set sized for a window of tasks in flight, with nothing done
//  (the watermark is 1). With reorder, it also keeps a reorder buffer of
//  records held until the ids below them are done. Never returns NULL.
sluice_seen_t *
    sluice_seen_new (uint64_t window, bool reorder);

//  Destroy a set and the records it holds; nulls the caller's pointer.
void
    sluice_seen_destroy (sluice_seen_t **self_p);

//  Grow the set (and the reorder buffer) for a larger window; ids done or
//  held above the watermark are carried over. Never shrinks.
void
    sluice_seen_resize (sluice_seen_t *self, uint64_t window);

//  Forget everything: nothing done, nothing held, the watermark is 1.
void
    sluice_seen_reset (sluice_seen_t *self);

//  The low watermark: every id below it is done, the id itself is not.
uint64_t
    sluice_seen_low (sluice_seen_t *self);

//  True if id lies below the top of the window (low + capacity), where the
//  set can record it. Ids below the watermark count as inside.
bool
    sluice_seen_in_window (sluice_seen_t *self, uint64_t id);

//  True if id is done: below the watermark, or marked in the bitmap.
bool
    sluice_seen_is_done (sluice_seen_t *self, uint64_t id);

//  True if a record for id is held in the reorder buffer.
bool
    sluice_seen_is_held (sluice_seen_t *self, uint64_t id);

//  Mark id done (id must be in the window); the watermark moves past every
//  done id above it.
void
    sluice_seen_add (sluice_seen_t *self, uint64_t id);

//  Every id below low is done (the ventilator says it was acknowledged,
//  e.g. to an earlier sink): move the watermark up. Records held below the
//  new watermark are dropped. A lower value is ignored.
void
    sluice_seen_skip_to (sluice_seen_t *self, uint64_t low);

//  Whether the reorder buffer could hold a record of size bytes for id.
typedef enum {
    SLUICE_SEEN_ROOM,           //  yes
    SLUICE_SEEN_AHEAD,          //  id is at or beyond low + window: no task that
                                //  far ahead can be in flight
    SLUICE_SEEN_FULL            //  the records held and this one would pass the
                                //  byte limit
} sluice_seen_room_t;

//  Hold at most this many bytes of records (0, the default: no limit).
void
    sluice_seen_set_hold_max (sluice_seen_t *self, size_t bytes);

//  Bytes of the records held now.
size_t
    sluice_seen_held_bytes (sluice_seen_t *self);

//  Whether a record of size bytes for id fits (see sluice_seen_room_t);
//  check before sluice_seen_hold, which enforces only the ring's ids.
sluice_seen_room_t
    sluice_seen_room (sluice_seen_t *self, uint64_t id, size_t size);

//  Hold a copy of a record for id until every id below it is done. Returns
//  0, or -1 if id is done, already held, or outside the window (refused,
//  not held: the buffer stays bounded).
int
    sluice_seen_hold (sluice_seen_t *self, uint64_t id, bool failed,
                      const void *data, size_t size);

//  Release the record held for the watermark id, if any: mark it done and
//  return 1 with its id, failed flag and bytes (borrowed until the next
//  release); 0 if the watermark id is not held. Call it in a loop to release
//  every record that is now in order.
int
    sluice_seen_release (sluice_seen_t *self, uint64_t *id, bool *failed,
                         const uint8_t **data, size_t *size);

#endif
