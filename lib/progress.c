/*  =========================================================================
    progress.c - the progress line (see progress.h)

    The text is built by one pure function (sluice_progress_text) so the
    unit test reads it without a terminal; the rest is the redraw clock and
    the write. The rate is done ÷ elapsed since the line was created, and
    the ETA (total - done) ÷ rate, shown once the total is known.
    =========================================================================
*/

#include "private.h"
#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

struct _sluice_progress_t {
    int fd;                     //  the terminal (not owned)
    unsigned what;              //  SLUICE_PROGRESS_* bits
    int width;                  //  columns
    int64_t started;            //  ms, when created
    int64_t next;               //  ms, next redraw due
    bool ended;                 //  the final line was drawn
};

sluice_progress_t *
sluice_progress_from_config (const sluice_config_t *config, int fd)
{
    unsigned what = (config->progress? SLUICE_PROGRESS_LINE: 0)
                  | (config->bar? SLUICE_PROGRESS_BAR: 0)
                  | (config->eta? SLUICE_PROGRESS_ETA: 0);
    if (!what || config->progress_when == SLUICE_PROGRESS_NEVER
    ||  (config->progress_when == SLUICE_PROGRESS_AUTO && !isatty (fd)))
        return NULL;
    return sluice_progress_new (fd, what, 0);
}

sluice_progress_t *
sluice_progress_new (int fd, unsigned what, int width)
{
    sluice_progress_t *self = (sluice_progress_t *) calloc (1, sizeof *self);
    assert (self);
    self->fd = fd;
    self->what = what;
    struct winsize size;
    if (!width && ioctl (fd, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20)
        width = size.ws_col;
    self->width = width? width: 80;
    self->started = sluice_now_ms ();
    return self;
}

void
sluice_progress_destroy (sluice_progress_t **self_p)
{
    assert (self_p);
    if (*self_p && (*self_p)->fd == STDERR_FILENO)
        sluice_log_over_progress (false);
    free (*self_p);
    *self_p = NULL;
}

//  "1:02:03", "2:03" or "5 s".
static void
s_duration (int64_t secs, char *buf, size_t size)
{
    if (secs >= 3600)
        snprintf (buf, size, "%d:%02d:%02d", (int) (secs / 3600), (int) (secs / 60 % 60),
                  (int) (secs % 60));
    else
    if (secs >= 60)
        snprintf (buf, size, "%d:%02d", (int) (secs / 60), (int) (secs % 60));
    else
        snprintf (buf, size, "%d s", (int) secs);
}

void
sluice_progress_text (const sluice_counts_t *c, unsigned what, int64_t elapsed_ms,
                      bool final, int width, char *buf, size_t size)
{
    double secs = elapsed_ms > 0? (double) elapsed_ms / 1000.0: 0.001;
    double rate = (double) c->done / secs;
    char total [32] = "?", tail [64] = "";
    if (c->total_known)
        snprintf (total, sizeof total, "%" PRIu64, c->total);
    if (final)
        snprintf (tail, sizeof tail, ", %.1f s", secs);
    else
    if (what & (SLUICE_PROGRESS_ETA | SLUICE_PROGRESS_BAR)) {
        char left [32] = "?";
        if (c->total_known && rate > 0)
            s_duration ((int64_t) ((double) (c->total - c->done) / rate + 0.5), left,
                        sizeof left);
        snprintf (tail, sizeof tail, ", ETA %s", left);
    }
    char counts [256];
    snprintf (counts, sizeof counts, "%" PRIu64 "/%s done, %" PRIu64 " failed, %.0f/s, "
              "%zu worker%s%s", c->done, total, c->failed, rate, c->workers,
              c->workers == 1? "": "s", tail);
    if (!(what & SLUICE_PROGRESS_BAR)) {
        snprintf (buf, size, "sluice: %s", counts);
        return;
    }
    //  [#####.....]  45% counts: the bar takes what the counts leave
    int percent = c->total_known && c->total? (int) (c->done * 100 / c->total): 0;
    int room = width - (int) strlen (counts) - 9;
    int cells = room > 40? 40: room;
    size_t used = 0;
    if (cells >= 5) {
        int full = c->total_known && c->total? (int) (c->done * (uint64_t) cells / c->total): 0;
        buf [used++] = '[';
        for (int i = 0; i < cells && used + 2 < size; i++)
            buf [used++] = i < full? '#': '.';
        buf [used++] = ']';
        buf [used++] = ' ';
    }
    snprintf (buf + used, size - used, "%3d%% %s", percent, counts);
}

void
sluice_progress_draw (sluice_progress_t *self, const sluice_counts_t *counts, bool final)
{
    int64_t now = sluice_now_ms ();
    if (self->ended || (!final && now < self->next))
        return;
    self->next = now + SLUICE_PROGRESS_MS;
    char text [512], line [600];
    sluice_progress_text (counts, self->what, now - self->started, final, self->width, text,
                          sizeof text);
    //  cut to the width, so the line never wraps (and \r reaches its start)
    if ((int) strlen (text) >= self->width)
        text [self->width - 1] = 0;
    //  the cursor is left at the line's start, so a log line written
    //  meanwhile (a warning, the summary) overwrites the line, not follows it
    //  --bar's final state is written, then erased (the bar goes away)
    bool erase = final && (self->what & SLUICE_PROGRESS_BAR);
    int n = snprintf (line, sizeof line, "\r\033[K%s%s", text,
                      erase? "\r\033[K": final? "\n": "\r");
    if (write (self->fd, line, (size_t) n) < 0)
        self->ended = true;     //  the terminal went away: stop drawing
    self->ended |= final;
    if (self->fd == STDERR_FILENO)
        sluice_log_over_progress (!self->ended);
}

int64_t
sluice_progress_timeout (sluice_progress_t *self)
{
    int64_t left = self->next - sluice_now_ms ();
    return left < 0? 0: left;
}
