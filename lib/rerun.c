/*  =========================================================================
    rerun.c - --retry-failed and --resume-failed: which tasks run again

    Ranges are collected as they come and resolved once, on the first
    lookup (sluice_ranges_resolve: sorted, ok wins), so a lookup is a
    binary search and memory is the number of ranges, not of tasks.
    =========================================================================
*/

#include "private.h"
#include "rerun.h"

struct _sluice_rerun_t {
    unsigned mode;              //  SLUICE_RERUN_RETRY_FAILED or _RESUME_FAILED
    sluice_range_t *ranges;     //  as added, then resolved
    size_t count;
    size_t capacity;
    bool resolved;              //  ranges are sorted and disjoint
};

sluice_rerun_t *
sluice_rerun_new (unsigned mode)
{
    sluice_rerun_t *self = (sluice_rerun_t *) calloc (1, sizeof *self);
    assert (self);
    assert (mode == SLUICE_RERUN_RETRY_FAILED || mode == SLUICE_RERUN_RESUME_FAILED);
    self->mode = mode;
    return self;
}

void
sluice_rerun_destroy (sluice_rerun_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_rerun_t *self = *self_p;
        free (self->ranges);
        free (self);
        *self_p = NULL;
    }
}

void
sluice_rerun_add (sluice_rerun_t *self, uint64_t first, uint64_t last, bool failed)
{
    assert (first >= 1 && last >= first);
    if (self->count == self->capacity) {
        self->capacity = self->capacity? 2 * self->capacity: 64;
        self->ranges = (sluice_range_t *) realloc (self->ranges,
                                                   self->capacity * sizeof *self->ranges);
        assert (self->ranges);
    }
    self->ranges [self->count++] = (sluice_range_t) { first, last, failed };
    self->resolved = false;
}

//  Sort and resolve the ranges once, before lookups.
static void
s_resolve (sluice_rerun_t *self)
{
    if (self->resolved)
        return;
    size_t count;
    sluice_range_t *resolved = sluice_ranges_resolve (self->ranges, self->count, &count);
    free (self->ranges);
    self->ranges = resolved;
    self->count = self->capacity = count;
    self->resolved = true;
}

bool
sluice_rerun_skips (sluice_rerun_t *self, uint64_t id)
{
    s_resolve (self);
    const sluice_range_t *range = sluice_ranges_find (self->ranges, self->count, id);
    bool known = range != NULL;
    if (known && range->failed)
        return false;           //  failed: both modes run it again
    if (known)
        return true;            //  done ok
    return self->mode == SLUICE_RERUN_RETRY_FAILED;    //  never run
}

//  Ids in the resolved ranges that agree with failed.
static uint64_t
s_count (sluice_rerun_t *self, bool failed)
{
    s_resolve (self);
    uint64_t n = 0;
    for (size_t i = 0; i < self->count; i++)
        if (self->ranges [i].failed == failed)
            n += self->ranges [i].last - self->ranges [i].first + 1;
    return n;
}

uint64_t
sluice_rerun_failed (sluice_rerun_t *self)
{
    return s_count (self, true);
}

uint64_t
sluice_rerun_ok (sluice_rerun_t *self)
{
    return s_count (self, false);
}
