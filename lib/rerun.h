/*  =========================================================================
    rerun.h - --retry-failed and --resume-failed: which tasks run again

    What an earlier run of the batch did, as ranges of task ids that
    finished ok or failed (from the ventilator's journal, or from a joblog
    in GNU parallel's format, lib/joblog.c), and the rule of each mode:

        --retry-failed    run exactly the ids that failed; skip the rest
                          (done ok, or never run)
        --resume-failed   run the ids that failed and those never run;
                          skip the ids done ok

    An id that failed once and then succeeded (a later run) is ok. Ids
    are the tasks' sequence numbers, so the input must be the same; the
    command may change (that is the point: fix it, re-run the failures).
    Socket-free.
    =========================================================================
*/

#ifndef SLUICE_RERUN_H_INCLUDED
#define SLUICE_RERUN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

typedef struct _sluice_rerun_t sluice_rerun_t;

//  An empty record for mode (SLUICE_RERUN_RETRY_FAILED or _RESUME_FAILED).
//  Never returns NULL.
sluice_rerun_t *
    sluice_rerun_new (unsigned mode);

//  Destroy it; nulls the caller's pointer.
void
    sluice_rerun_destroy (sluice_rerun_t **self_p);

//  Record that ids first..last finished, failed or not (any order).
void
    sluice_rerun_add (sluice_rerun_t *self, uint64_t first, uint64_t last, bool failed);

//  True if id is not to run in this batch (see the table above).
bool
    sluice_rerun_skips (sluice_rerun_t *self, uint64_t id);

//  Ids recorded as failed and as ok (after resolving), for the log.
uint64_t
    sluice_rerun_failed (sluice_rerun_t *self);
uint64_t
    sluice_rerun_ok (sluice_rerun_t *self);

#endif
