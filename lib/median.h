/*  =========================================================================
    median.h - the median of the last values added (runtimes)

    For --task-timeout N% (GNU parallel's --timeout N%): a task is killed
    once it runs longer than N% of the median runtime of the tasks that
    succeeded. Keeps the last SLUICE_MEDIAN_KEEP values in a ring, so
    memory is fixed and the median follows a batch whose tasks change.
    =========================================================================
*/

#ifndef SLUICE_MEDIAN_H_INCLUDED
#define SLUICE_MEDIAN_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define SLUICE_MEDIAN_KEEP 1001     //  values kept
#define SLUICE_MEDIAN_MIN 3         //  values before a median is given

typedef struct _sluice_median_t sluice_median_t;

//  An empty set. Never returns NULL.
sluice_median_t *
    sluice_median_new (void);

//  Destroy it; nulls the caller's pointer.
void
    sluice_median_destroy (sluice_median_t **self_p);

//  Add a value (the oldest is forgotten beyond SLUICE_MEDIAN_KEEP).
void
    sluice_median_add (sluice_median_t *self, int64_t value);

//  True with the median of the values kept in *median once at least
//  SLUICE_MEDIAN_MIN were added (the lower middle of an even count).
bool
    sluice_median_get (sluice_median_t *self, int64_t *median);

#endif
