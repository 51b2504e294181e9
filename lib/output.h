/*  =========================================================================
    output.h - the sink's output: buffer, record formats, flush and commit

    Internal to libsluice; see output.c for the design.
    =========================================================================
*/

#ifndef SLUICE_OUTPUT_H_INCLUDED
#define SLUICE_OUTPUT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

typedef struct _sluice_output_t sluice_output_t;

//  An output that writes records in format to fd (owned and closed by the
//  output when above stderr). Never returns NULL.
sluice_output_t *
    sluice_output_new (int fd, sluice_format_t format);

//  An output that writes to the file at path, truncated or (append)
//  appended to. Returns NULL with "cannot open output PATH: reason" in err.
sluice_output_t *
    sluice_output_open (const char *path, bool append, sluice_format_t format,
                        char *err, size_t errlen);

//  An output that writes nothing: records wait in the buffer until the
//  caller takes them with sluice_output_take. Never returns NULL.
sluice_output_t *
    sluice_output_new_reader (void);

//  --tag: in the lines format, prefix each line of a result's output with
//  its input and a tab, as GNU parallel's --tag (a result without input
//  is written untagged).
void
    sluice_output_set_tag (sluice_output_t *self, bool tag);

//  Destroy an output (closing its file); nulls the caller's pointer.
void
    sluice_output_destroy (sluice_output_t **self_p);

//  Append the record of one final result to the buffer, in the output's
//  format. worker is the identity of the worker that sent it.
void
    sluice_output_record (sluice_output_t *self, const sluice_result_t *result,
                          const uint8_t *worker, size_t worker_size);

//  Append bytes formatted earlier (a record held for --keep-order).
void
    sluice_output_put (sluice_output_t *self, const void *data, size_t size);

//  Bytes in the buffer, written by neither flush nor take. Use it as a
//  mark before sluice_output_record to find that record's bytes.
size_t
    sluice_output_size (sluice_output_t *self);

//  The bytes appended since mark (borrowed until the next append).
const uint8_t *
    sluice_output_since (sluice_output_t *self, size_t mark, size_t *size);

//  Drop the bytes appended since mark.
void
    sluice_output_cut (sluice_output_t *self, size_t mark);

//  Write the buffer to the output and commit it: the committed offset moves
//  past it. Returns 0, or -1 if the output cannot be written, logged once
//  ("output closed" on EPIPE, else "cannot write PATH: reason"); the
//  output is then failed and every later flush returns -1 silently. A
//  reader keeps its records for sluice_output_take: flush does nothing.
int
    sluice_output_flush (sluice_output_t *self);

//  While pinned, records stay whole in the buffer (for sluice_output_since);
//  otherwise a buffer past 1 MiB is written out mid-record, uncommitted.
void
    sluice_output_pin (sluice_output_t *self, bool pinned);

//  At most how many bytes the record of this result takes in the output's
//  format (jsonl: six bytes out per byte in, at worst).
size_t
    sluice_output_bound (sluice_output_t *self, const sluice_result_t *result,
                         size_t worker_size);

//  Output offset of the last flush: the bytes committed to the file.
uint64_t
    sluice_output_committed (sluice_output_t *self);

//  Resume a file written by an earlier run: if have_commit, cut bytes
//  written past commit (never acknowledged); go on at the file's end.
//  Returns 0, or -1 with a message in err.
int
    sluice_output_resume (sluice_output_t *self, bool have_commit, uint64_t commit,
                          char *err, size_t errlen);

//  Reader: take the next record. Returns 1 with the result's fields
//  borrowed until the next take, or 0 if no record is waiting.
int
    sluice_output_take (sluice_output_t *self, sluice_result_t *result);

//  Reader: true if a record is waiting for sluice_output_take.
bool
    sluice_output_ready (sluice_output_t *self);

//  Report a failed task on stderr: id, status, code, attempt, input
//  (shortened, non-printable bytes escaped) and the last line of its
//  stderr, which says why.
void
    sluice_output_warn_failure (const sluice_result_t *result);

//  Write a task's stderr to fd, each line prefixed "[task ID] ", in one
//  write(2) so that it never interleaves with other lines; a truncated
//  stderr ends with a marker line giving the bytes dropped. Nothing for
//  a task with no stderr.
void
    sluice_output_show_stderr (int fd, const sluice_result_t *result);

#endif
