/*  =========================================================================
    progress.h - the progress line: --progress, --bar, --eta on a terminal

    Owns one status line redrawn in place on a terminal (stderr): done of
    total (the total once the input end is reached), failed, rate, ETA and
    workers connected. It knows no socket: a program's loop passes the
    ventilator's counts (sluice_ventilator_counts) and calls draw; draw
    redraws at most every SLUICE_PROGRESS_MS. Each redraw is "\r", "erase
    to end of line", the text and "\r" (so a log line written meanwhile
    overwrites it rather than trailing it). The final draw leaves the line
    on screen with a newline (--progress, --eta), or erases it (--bar). Nothing is drawn when the fd is
    not a terminal unless --progress-when always.
    =========================================================================
*/

#ifndef SLUICE_PROGRESS_H_INCLUDED
#define SLUICE_PROGRESS_H_INCLUDED

#include "private.h"

#define SLUICE_PROGRESS_MS 100      //  redraw at most 10 times a second

//  What the line shows (bits)
#define SLUICE_PROGRESS_LINE 1u     //  --progress: counts, rate, workers
#define SLUICE_PROGRESS_BAR 2u      //  --bar: a bar and the percentage first
#define SLUICE_PROGRESS_ETA 4u      //  --eta: the estimated time left

typedef struct _sluice_progress_t sluice_progress_t;

//  The line a config asks for (--progress, --bar, --eta, --progress-when)
//  drawn on fd, or NULL when nothing is to be drawn: none asked, or fd is
//  not a terminal (unless --progress-when always), or --progress-when never.
sluice_progress_t *
    sluice_progress_from_config (const sluice_config_t *config, int fd);

//  Create a line drawing what (SLUICE_PROGRESS_* bits) on fd, the clock
//  starting now; width is the terminal's columns (0: ask the terminal,
//  else 80).
sluice_progress_t *
    sluice_progress_new (int fd, unsigned what, int width);

//  Destroy the line; nulls the pointer. Draws nothing.
void
    sluice_progress_destroy (sluice_progress_t **self_p);

//  Redraw with these counts if SLUICE_PROGRESS_MS have passed since the
//  last redraw (always when final). The final draw ends the line.
void
    sluice_progress_draw (sluice_progress_t *self, const sluice_counts_t *counts,
                          bool final);

//  Milliseconds until the next redraw is due (for a poll timeout).
int64_t
    sluice_progress_timeout (sluice_progress_t *self);

//  The text of one line (no \r, no escape), in buf. Pure, for the tests:
//  elapsed_ms since the start, final once the batch has ended.
void
    sluice_progress_text (const sluice_counts_t *counts, unsigned what, int64_t elapsed_ms,
                          bool final, int width, char *buf, size_t size);

#endif
