/*  =========================================================================
    ledger.h - append-only record of a batch: its id and acknowledged ids

    One text file, one line per record, fields separated by one space,
    every line ended by '\n':

        batch <32 hex digits> [<window>]   a batch begins (or resumes)
        ack <first>-<last>[f] ...          ids acknowledged (f: failed)
        commit <offset> <first>-<last>[f] ...
                                           output committed up to offset,
                                           and the ids it holds
        end <total>                        the batch holds total tasks
        complete <total> <failed>          the batch completed

    The ventilator's journal writes batch, ack and complete; the sink's
    state file writes batch (with its window), commit and end. A batch line
    naming another batch than the one before starts over: ranges, end and
    complete of the earlier batch are forgotten (the commit offset is not:
    it is a position in the output file). Ranges may overlap and come in
    any order; they are merged on load. Loading drops a torn last line (no
    '\n': the writer died mid-line) and cuts it from the file so the next
    line starts clean; a corrupt complete line is counted, logged and
    skipped. An id both acknowledged failed and acknowledged ok (a
    --retry-failed run that succeeded) counts as ok. A commit line before any batch line belongs to no batch and is
    ignored, its offset with its ranges. The journal's older line
    "ack <first> <last> <0|1>" still loads.
    =========================================================================
*/

#ifndef SLUICE_LEDGER_H_INCLUDED
#define SLUICE_LEDGER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sluice_ledger_t sluice_ledger_t;

//  A run of acknowledged ids
typedef struct {
    uint64_t first;             //  first id, from 1
    uint64_t last;              //  last id, >= first
    bool failed;                //  the tasks failed
} sluice_range_t;

//  Resolve ranges in any order, overlapping or not, into sorted,
//  non-overlapping ones (adjacent ones merged when they agree on failed):
//  an id in an ok range is ok, whatever failed ranges also hold it.
//  Returns a new array (the caller frees it; NULL when count is 0) and
//  its length in *out_count.
sluice_range_t *
    sluice_ranges_resolve (const sluice_range_t *ranges, size_t count, size_t *out_count);

//  The range of sorted, non-overlapping ranges (as resolved) that holds
//  id, or NULL: a binary search.
const sluice_range_t *
    sluice_ranges_find (const sluice_range_t *ranges, size_t count, uint64_t id);

//  Open a ledger file (created if absent): load what it holds, cut a torn
//  last line, then open it for appending. Returns NULL with a message in
//  err if the file cannot be read, cut or opened.
sluice_ledger_t *
    sluice_ledger_open (const char *path, char *err, size_t errlen);

//  Close a ledger (flushing what was appended); nulls the caller's pointer.
void
    sluice_ledger_destroy (sluice_ledger_t **self_p);

//  --- What the file held, for its last batch --------------------------

//  True if the file named a batch: copies it (SLUICE_BATCH_SIZE bytes)
//  and the window written with it (0 when none) if the pointers are set.
bool
    sluice_ledger_batch (sluice_ledger_t *self, uint8_t *batch, uint64_t *window);

//  The acknowledged ranges, sorted, not overlapping; adjacent ranges are
//  merged when they agree on failed. Borrowed until the next load.
const sluice_range_t *
    sluice_ledger_ranges (sluice_ledger_t *self, size_t *count);

//  True if id lies in one of the ranges (binary search).
bool
    sluice_ledger_has (sluice_ledger_t *self, uint64_t id);

//  Ids acknowledged, and of those the failed ones.
uint64_t
    sluice_ledger_acked (sluice_ledger_t *self);
uint64_t
    sluice_ledger_failed (sluice_ledger_t *self);

//  True if an end line was read, with its total.
bool
    sluice_ledger_end (sluice_ledger_t *self, uint64_t *total);

//  True if a commit line was read after a batch line, with the last
//  commit's offset.
bool
    sluice_ledger_committed (sluice_ledger_t *self, uint64_t *offset);

//  True if a complete line was read, with its total and failed counts.
bool
    sluice_ledger_complete (sluice_ledger_t *self, uint64_t *total, uint64_t *failed);

//  Complete lines that could not be parsed and were skipped; bytes of the
//  torn last line that was cut (0 if none).
size_t
    sluice_ledger_corrupt (sluice_ledger_t *self);
size_t
    sluice_ledger_torn (sluice_ledger_t *self);

//  --- Appending ---------------------------------------------------------

//  Append "batch HEX [window]" (window 0: none) and flush. A different
//  batch from the loaded one forgets the loaded ranges. Returns 0 or -1.
int
    sluice_ledger_write_batch (sluice_ledger_t *self, const uint8_t *batch,
                               uint64_t window);

//  Add a range to the pending line (merged with the previous one when
//  they touch and agree on failed). Written by flush or commit.
void
    sluice_ledger_add_range (sluice_ledger_t *self, uint64_t first, uint64_t last,
                             bool failed);

//  Write the pending ranges as one "ack" line (nothing if none) and flush
//  the file. Returns 0 or -1.
int
    sluice_ledger_flush (sluice_ledger_t *self);

//  Write "commit OFFSET" with the pending ranges on the same line (so the
//  ids and the output that holds them commit together) and flush.
int
    sluice_ledger_commit (sluice_ledger_t *self, uint64_t offset);

//  Append "end TOTAL" and flush. Returns 0 or -1.
int
    sluice_ledger_write_end (sluice_ledger_t *self, uint64_t total);

//  Append "complete TOTAL FAILED" and flush. Returns 0 or -1.
int
    sluice_ledger_write_complete (sluice_ledger_t *self, uint64_t total, uint64_t failed);

#endif
