/*  =========================================================================
    joblog.h - --joblog FILE: one line per task, in GNU parallel's format

    The file is parallel's joblog, byte for byte in its layout, so the
    tools that read parallel's read ours: a header line, then one line per
    finished task, nine fields separated by tabs:

        Seq  Host  Starttime  JobRuntime  Send  Receive  Exitval  Signal  Command

    Seq is the task id; Host the worker's identity (host:pid:n); Starttime
    epoch seconds with 3 decimals, JobRuntime seconds with 3 decimals in a
    10-wide field, as parallel writes them; Send and Receive the task's
    input and output bytes; Exitval and Signal as parallel's (a signal: 0
    and the signal; a --task-timeout: -1 and 15; a task lost after
    --max-attempts: -1 and 0); Command the command line the task ran, as
    the shell read it (its input alone when the command is not known).
    RESULTS carries no start time, so Starttime is when the sink took the
    result minus the worker's elapsed time. A tab or newline inside a
    command is written as a space, so each task stays one line.

    "+FILE" appends (parallel's spelling); a new or empty file gets the
    header. sluice_joblog_load reads a joblog back for --retry-failed.
    =========================================================================
*/

#ifndef SLUICE_JOBLOG_H_INCLUDED
#define SLUICE_JOBLOG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice.h"
#include "rerun.h"

typedef struct _sluice_joblog_t sluice_joblog_t;

//  The header line parallel writes, without its newline.
#define SLUICE_JOBLOG_HEADER \
    "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"

//  Open the joblog at path ("+path": append), writing the header to a new
//  or empty file. command (may be NULL) is the batch's --exec command,
//  colsep its sluice_spawn_colsep (may be NULL), pipe its --pipe: each
//  line's Command is built from them (command borrowed). Returns NULL
//  with "cannot open joblog PATH: reason" in err.
sluice_joblog_t *
    sluice_joblog_open (const char *path, const char *command, const char *colsep, bool pipe,
                        char *err, size_t errlen);

//  Close it (flushing); nulls the caller's pointer.
void
    sluice_joblog_destroy (sluice_joblog_t **self_p);

//  Append the line of one final result, from worker (its identity).
void
    sluice_joblog_write (sluice_joblog_t *self, const sluice_result_t *result,
                         const uint8_t *worker, size_t worker_size);

//  Write what is buffered to the file. Returns 0, or -1 (logged once).
int
    sluice_joblog_flush (sluice_joblog_t *self);

//  Read a joblog ("+path" too) into rerun: each task line's Seq, failed
//  when its Exitval or Signal is not 0. The header and malformed lines are
//  skipped (those counted in *skipped, may be NULL). Returns 0, or -1 with
//  "cannot read joblog PATH: reason" in err.
int
    sluice_joblog_load (const char *path, sluice_rerun_t *rerun, size_t *skipped,
                        char *err, size_t errlen);

#endif
