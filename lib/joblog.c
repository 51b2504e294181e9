/*  =========================================================================
    joblog.c - --joblog FILE: GNU parallel's joblog, written and read back

    The writer formats each line with stdio into the file's buffer; the
    sink flushes it when it flushes its output, so a joblog line is on disk
    no later than the result's acknowledgement. The reader takes only what
    --retry-failed needs: Seq, Exitval and Signal.
    =========================================================================
*/

#include "private.h"
#include "joblog.h"
#include "spawn.h"

#include <sys/stat.h>
#include <time.h>

struct _sluice_joblog_t {
    FILE *file;                 //  open for writing
    char *path;                 //  for messages
    const char *command;        //  the batch's command, or NULL (borrowed)
    sluice_template_t *template;    //  the command, parsed once; NULL with --pipe
    bool pipe;                  //  --pipe: the command runs as it is
    bool failed;                //  a write failed (logged)
};

//  The path without parallel's "+" (append) prefix.
static const char *
s_path (const char *path)
{
    return path [0] == '+'? path + 1: path;
}

sluice_joblog_t *
sluice_joblog_open (const char *path, const char *command, const char *colsep, bool pipe,
                    char *err, size_t errlen)
{
    bool append = path [0] == '+';
    FILE *file = fopen (s_path (path), append? "a": "w");
    if (!file) {
        snprintf (err, errlen, "cannot open joblog %s: %s", s_path (path), strerror (errno));
        return NULL;
    }
    sluice_joblog_t *self = (sluice_joblog_t *) calloc (1, sizeof *self);
    assert (self);
    self->file = file;
    self->path = strdup (s_path (path));
    assert (self->path);
    self->command = command;
    self->pipe = pipe;
    char why [256];
    if (command && !pipe)
        self->template = sluice_template_new (command, colsep, why, sizeof why);
    struct stat st;
    if (fstat (fileno (file), &st) == 0 && st.st_size == 0)
        fputs (SLUICE_JOBLOG_HEADER "\n", file);
    return self;
}

void
sluice_joblog_destroy (sluice_joblog_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_joblog_t *self = *self_p;
        sluice_joblog_flush (self);
        fclose (self->file);
        free (self->path);
        sluice_template_destroy (&self->template);
        free (self);
        *self_p = NULL;
    }
}

//  parallel's Exitval and Signal for a result.
static void
s_exit_fields (const sluice_result_t *r, int *exitval, int *signal)
{
    *exitval = 0;
    *signal = 0;
    if (r->status == SLUICE_STATUS_EXIT || r->status == SLUICE_STATUS_ERROR)
        *exitval = r->code? r->code: 1;
    else
    if (r->status == SLUICE_STATUS_SIGNAL)
        *signal = r->code;
    else
    if (r->status == SLUICE_STATUS_TIMEOUT) {
        *exitval = -1;
        *signal = 15;
    }
    else
    if (r->status == SLUICE_STATUS_LOST)
        *exitval = -1;
}

//  Write bytes as one field: a tab or newline becomes a space.
static void
s_field (FILE *file, const char *data, size_t size)
{
    for (size_t i = 0; i < size; i++)
        fputc (data [i] == '\t' || data [i] == '\n'? ' ': data [i], file);
}

//  Write the Command field: the command line built as the worker builds
//  it (spawn.c), the command alone with --pipe, the input without one.
static void
s_command (sluice_joblog_t *self, const sluice_result_t *r)
{
    const uint8_t *input = r->input? r->input: (const uint8_t *) "";
    size_t size = r->input? r->input_size: 0;
    sluice_values_t values = { .data = input, .size = size, .id = 1, .slot = 1 };
    char *line = self->template? sluice_template_shell (self->template, &values): NULL;
    if (line)
        s_field (self->file, line, strlen (line));
    else
    if (self->command && self->pipe)
        s_field (self->file, self->command, strlen (self->command));
    else
        s_field (self->file, (const char *) input, size);
    free (line);
}

void
sluice_joblog_write (sluice_joblog_t *self, const sluice_result_t *r, const uint8_t *worker,
                     size_t worker_size)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    double runtime = (double) r->elapsed_us / 1e6;
    double start = (double) now.tv_sec + (double) now.tv_nsec / 1e9 - runtime;
    int exitval, signal;
    s_exit_fields (r, &exitval, &signal);
    fprintf (self->file, "%" PRIu64 "\t", r->id);
    s_field (self->file, worker_size? (const char *) worker: ":", worker_size? worker_size: 1);
    fprintf (self->file, "\t%.3f\t%10.3f\t%zu\t%zu\t%d\t%d\t", start, runtime,
             r->input? r->input_size: (size_t) 0, r->output_size, exitval, signal);
    s_command (self, r);
    fputc ('\n', self->file);
}

int
sluice_joblog_flush (sluice_joblog_t *self)
{
    if (fflush (self->file) == 0)
        return 0;
    if (!self->failed)
        zsys_warning ("cannot write joblog %s: %s", self->path, strerror (errno));
    self->failed = true;
    return -1;
}

//  Parse a decimal integer filling the whole field. Returns 0 or -1.
static int
s_int (const char *field, long long *value)
{
    char *end;
    errno = 0;
    *value = strtoll (field, &end, 10);
    return *field && !*end && !errno? 0: -1;
}

//  Parse one task line into rerun. Returns 0, or -1 if it is not one.
static int
s_load_line (char *line, sluice_rerun_t *rerun)
{
    char *fields [9];
    size_t count = 0;
    //  strsep keeps empty fields (a Host of ""), strtok would not
    for (char *cursor = line; count < 9 && cursor; count++)
        fields [count] = strsep (&cursor, "\t");
    long long seq, exitval, signal;
    if (count < 9 || s_int (fields [0], &seq) || seq < 1 || (uint64_t) seq > SLUICE_ID_MAX
    ||  s_int (fields [6], &exitval) || s_int (fields [7], &signal))
        return -1;
    sluice_rerun_add (rerun, (uint64_t) seq, (uint64_t) seq, exitval != 0 || signal != 0);
    return 0;
}

int
sluice_joblog_load (const char *path, sluice_rerun_t *rerun, size_t *skipped, char *err,
                    size_t errlen)
{
    FILE *file = fopen (s_path (path), "r");
    if (!file) {
        snprintf (err, errlen, "cannot read joblog %s: %s", s_path (path), strerror (errno));
        return -1;
    }
    char *line = NULL;
    size_t size = 0, bad = 0;
    ssize_t len;
    while ((len = getline (&line, &size, file)) > 0) {
        if (line [len - 1] == '\n')
            line [--len] = 0;
        if (strncmp (line, "Seq\t", 4) == 0)
            continue;           //  the header
        if (s_load_line (line, rerun))
            bad++;
    }
    free (line);
    fclose (file);
    if (skipped)
        *skipped = bad;
    return 0;
}
