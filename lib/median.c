/*  =========================================================================
    median.c - the median of the last values added

    The median is recomputed on the first get after an add (a sort of at
    most SLUICE_MEDIAN_KEEP values: microseconds, once per finished task).
    =========================================================================
*/

#include "private.h"
#include "median.h"

struct _sluice_median_t {
    int64_t ring [SLUICE_MEDIAN_KEEP];  //  the last values
    size_t count;               //  values in the ring
    size_t next;                //  where the next one goes
    bool fresh;                 //  median is up to date
    int64_t median;
};

sluice_median_t *
sluice_median_new (void)
{
    sluice_median_t *self = (sluice_median_t *) calloc (1, sizeof *self);
    assert (self);
    return self;
}

void
sluice_median_destroy (sluice_median_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

void
sluice_median_add (sluice_median_t *self, int64_t value)
{
    self->ring [self->next] = value;
    self->next = (self->next + 1) % SLUICE_MEDIAN_KEEP;
    if (self->count < SLUICE_MEDIAN_KEEP)
        self->count++;
    self->fresh = false;
}

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

bool
sluice_median_get (sluice_median_t *self, int64_t *median)
{
    if (self->count < SLUICE_MEDIAN_MIN)
        return false;
    if (!self->fresh) {
        int64_t sorted [SLUICE_MEDIAN_KEEP];
        memcpy (sorted, self->ring, self->count * sizeof sorted [0]);
        qsort (sorted, self->count, sizeof sorted [0], s_cmp);
        self->median = sorted [(self->count - 1) / 2];
        self->fresh = true;
    }
    *median = self->median;
    return true;
}
