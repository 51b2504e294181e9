/*  =========================================================================
    reader.h - records read from a sequence of input file descriptors

    The ventilator's inputs: file descriptors read in order, in one record
    format (lines, NUL-terminated, or MessagePack), through one growable
    buffer. Reads never block (the fds are made non-blocking) and happen
    only when the caller asks, so a caller that stops asking pushes back
    on the writer. Socket-free.
    =========================================================================
*/

#ifndef SLUICE_READER_H_INCLUDED
#define SLUICE_READER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _sluice_reader_t sluice_reader_t;

//  Create a reader of records in format (sluice_input_t) for messages of
//  at most max_size bytes: no record larger than sluice_payload_max
//  (max_size). Never returns NULL.
sluice_reader_t *
    sluice_reader_new (int format, size_t max_size);

//  Destroy a reader (it does not close the fds); nulls the caller's pointer.
void
    sluice_reader_destroy (sluice_reader_t **self_p);

//  Add an input, read after those added before; name is for messages.
//  The fd is made non-blocking.
void
    sluice_reader_add (sluice_reader_t *self, int fd, const char *name);

//  Take the next complete record from what was read: 1 with *data and
//  *size (borrowed until the next call), 0 if none is buffered (fill, or
//  the reader is done), -1 on an invalid record or one too large
//  (logged, naming the record number and size; cannot go on).
int
    sluice_reader_next (sluice_reader_t *self, const uint8_t **data, size_t *size);

//  Read more of the current input: 1 if bytes (or its end) came, 0 if none
//  are ready, -1 on a read error or a record too large (logged; a
//  delimited one is read to its end first, to name its size).
int
    sluice_reader_fill (sluice_reader_t *self);

//  True once every input is read and every record taken.
bool
    sluice_reader_done (sluice_reader_t *self);

//  The fd being read, to wait on when fill says nothing is ready; -1 if done.
int
    sluice_reader_fd (sluice_reader_t *self);

#endif
