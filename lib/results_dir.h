/*  =========================================================================
    results_dir.h - --results DIR: a directory per task, as GNU parallel's

    Each final result becomes DIR/1/<input>/ holding three files, as
    `parallel --results DIR` lays them out (parallel 20221122):

        seq       the task id, no newline
        stdout    the command's output
        stderr    the command's error output

    <input> is the task's input with each '/' written as "\_", as parallel
    names it. "1" is parallel's number of the input source; a task of
    several sources (sluice's argument lists, ARGS) nests one level per
    source as parallel does: DIR/1/a/2/b for `::: a ::: b`. The exit
    status is in --joblog, as with parallel.
    =========================================================================
*/

#ifndef SLUICE_RESULTS_DIR_H_INCLUDED
#define SLUICE_RESULTS_DIR_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

typedef struct _sluice_results_dir_t sluice_results_dir_t;

//  A writer under dir (created if missing); args: each input is a list of
//  NUL-separated arguments, one directory level per source. Returns NULL
//  with "cannot create DIR: reason" in err.
sluice_results_dir_t *
    sluice_results_dir_new (const char *dir, bool args, char *err, size_t errlen);

//  Destroy it; nulls the caller's pointer.
void
    sluice_results_dir_destroy (sluice_results_dir_t **self_p);

//  Write one final result's directory. Returns 0, or -1 when it cannot
//  (logged, rate-limited; the result still goes to the output).
int
    sluice_results_dir_write (sluice_results_dir_t *self, const sluice_result_t *result);

#endif
