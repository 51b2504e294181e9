/*  =========================================================================
    reader.c - records from a sequence of input file descriptors

    Owns the inputs of the ventilator, the read buffer and the record
    formats: lines, NUL-terminated records, MessagePack records (a bin or
    str is the payload; a map's "output", i.e. a sink's --format msgpack
    output). Records are numbered from 1 across inputs, for messages.
    =========================================================================
*/

#include "private.h"
#include "reader.h"

#include <fcntl.h>
#include <unistd.h>

#define S_READ_CHUNK (256 * 1024)   //  bytes read from input at once

typedef struct {
    int fd;                     //  input file descriptor
    char *name;                 //  for messages
} s_input_t;

struct _sluice_reader_t {
    sluice_input_t format;      //  record format
    size_t max_size;            //  --max-size, for messages
    size_t record_max;          //  a record is at most this large
    s_input_t *inputs;
    size_t input_count;
    size_t input_index;         //  input being read
    uint8_t *buffer;            //  read buffer
    size_t buffer_size;
    size_t buffer_start;        //  first unparsed byte
    size_t buffer_end;          //  end of valid bytes
    size_t scanned;             //  bytes after buffer_start known to hold no delimiter
    bool eof;                   //  current input hit EOF
    uint64_t records;           //  records taken so far
    bool skipping;              //  reading past a record over max_size
    size_t skipped;             //  its bytes so far
};

sluice_reader_t *
sluice_reader_new (int format, size_t max_size)
{
    sluice_reader_t *self = (sluice_reader_t *) calloc (1, sizeof *self);
    assert (self);
    self->format = (sluice_input_t) format;
    self->max_size = max_size;
    self->record_max = sluice_payload_max (max_size);
    self->buffer_size = S_READ_CHUNK * 2;
    self->buffer = (uint8_t *) malloc (self->buffer_size);
    assert (self->buffer);
    return self;
}

void
sluice_reader_destroy (sluice_reader_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_reader_t *self = *self_p;
        for (size_t i = 0; i < self->input_count; i++)
            free (self->inputs [i].name);
        free (self->inputs);
        free (self->buffer);
        free (self);
        *self_p = NULL;
    }
}

void
sluice_reader_add (sluice_reader_t *self, int fd, const char *name)
{
    self->inputs = (s_input_t *) realloc (self->inputs,
                                          (self->input_count + 1) * sizeof (s_input_t));
    assert (self->inputs);
    self->inputs [self->input_count].fd = fd;
    self->inputs [self->input_count].name = strdup (name);
    self->input_count++;
    fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
}

//  Name of the input being read, for messages.
static const char *
s_name (sluice_reader_t *self)
{
    return self->inputs [self->input_index].name;
}

//  Log a record over record_max: its number and size (a lower bound if
//  unknown). Returns -1.
static int
s_oversized (sluice_reader_t *self, size_t size, bool exact)
{
    zsys_error ("%s: record %" PRIu64 " is %s%zu bytes, over --max-size %zu"
                " (a record may be %zu bytes)", s_name (self), self->records + 1,
                exact? "": "at least ", size, self->max_size, self->record_max);
    return -1;
}

//  Move on to the next input once the current one is exhausted.
static void
s_next_input (sluice_reader_t *self)
{
    while (self->input_index < self->input_count && self->eof
       &&  self->buffer_start == self->buffer_end) {
        self->input_index++;
        self->eof = false;
        self->buffer_start = self->buffer_end = 0;
        self->scanned = 0;
    }
}

//  Cut one MessagePack record. Returns bytes used, 0 if incomplete, -1 if
//  invalid.
static long
s_cut_msgpack (sluice_reader_t *self, const uint8_t *start, size_t avail,
               const uint8_t **data, size_t *size)
{
    long used = sluice_record_parse (start, avail, data, size);
    if (used < 0 || (used == 0 && self->eof)) {
        zsys_error ("%s: invalid MessagePack record %" PRIu64
                    " (expected bin, str, or a map with \"output\")",
                    s_name (self), self->records + 1);
        return -1;
    }
    return used;
}

//  Cut one delimited record (line or NUL); the last one of an input may
//  lack its terminator. Returns bytes used, or 0 if incomplete. The search
//  resumes where the last one ended: a long record arriving through a pipe
//  was searched from its start after every read (1.6 s for 64 MiB).
static long
s_cut_delimited (sluice_reader_t *self, const uint8_t *start, size_t avail,
                 const uint8_t **data, size_t *size)
{
    uint8_t delim = self->format == SLUICE_INPUT_NUL? 0: '\n';
    const uint8_t *end = (const uint8_t *) memchr (start + self->scanned, delim,
                                                   avail - self->scanned);
    if (!end && !self->eof) {
        self->scanned = avail;
        return 0;
    }
    self->scanned = 0;
    *data = start;
    *size = end? (size_t) (end - start): avail;
    return (long) (end? *size + 1: avail);
}

int
sluice_reader_next (sluice_reader_t *self, const uint8_t **data, size_t *size)
{
    s_next_input (self);
    if (self->buffer_start == self->buffer_end)
        return 0;
    const uint8_t *start = self->buffer + self->buffer_start;
    size_t avail = self->buffer_end - self->buffer_start;
    long used = self->format == SLUICE_INPUT_MSGPACK
              ? s_cut_msgpack (self, start, avail, data, size)
              : s_cut_delimited (self, start, avail, data, size);
    if (used <= 0)
        return (int) used;
    if (*size > self->record_max)
        return s_oversized (self, *size, true);
    self->buffer_start += (size_t) used;
    self->records++;
    return 1;
}

//  Make room in the buffer for a read: compact, then grow if a single
//  record fills it, to at most record_max plus a read chunk (room for the
//  largest record and its framing). Once an incomplete record fills that
//  it is too large: a delimited one is read on to its end, unbuffered,
//  to learn its size (skipping); a MessagePack one is an error at once.
//  Returns -1 for that error, else 0.
static int
s_buffer_room (sluice_reader_t *self)
{
    if (self->skipping)
        return 0;
    if (self->buffer_start > 0) {
        memmove (self->buffer, self->buffer + self->buffer_start,
                 self->buffer_end - self->buffer_start);
        self->buffer_end -= self->buffer_start;
        self->buffer_start = 0;
    }
    if (self->buffer_size - self->buffer_end >= S_READ_CHUNK / 2)
        return 0;
    size_t limit = self->record_max + S_READ_CHUNK;
    if (self->buffer_size >= limit && self->format == SLUICE_INPUT_MSGPACK)
        return s_oversized (self, self->buffer_end, false);
    if (self->buffer_size >= limit) {
        self->skipping = true;
        self->skipped = self->buffer_end;
        self->buffer_end = 0;
        self->scanned = 0;
        return 0;
    }
    self->buffer_size = self->buffer_size * 2 < limit? self->buffer_size * 2: limit;
    self->buffer = (uint8_t *) realloc (self->buffer, self->buffer_size);
    assert (self->buffer);
    return 0;
}

//  Skipping: n bytes more of the too large record were read. Returns 1
//  until its end (delimiter or end of input), then -1 (logged).
static int
s_skip (sluice_reader_t *self, size_t n)
{
    uint8_t delim = self->format == SLUICE_INPUT_NUL? 0: '\n';
    const uint8_t *end = (const uint8_t *) memchr (self->buffer, delim, n);
    if (!end && !self->eof) {
        self->skipped += n;
        return 1;
    }
    return s_oversized (self, self->skipped + (end? (size_t) (end - self->buffer): n), true);
}

int
sluice_reader_fill (sluice_reader_t *self)
{
    s_next_input (self);
    if (self->input_index >= self->input_count || self->eof)
        return 1;               //  nothing more to read here
    if (s_buffer_room (self))
        return -1;
    s_input_t *input = &self->inputs [self->input_index];
    ssize_t n = read (input->fd, self->buffer + self->buffer_end,
                      self->buffer_size - self->buffer_end);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n < 0) {
        zsys_error ("cannot read %s: %s", input->name, strerror (errno));
        return -1;
    }
    if (n == 0)
        self->eof = true;
    if (self->skipping)
        return s_skip (self, (size_t) n);
    self->buffer_end += (size_t) n;
    return 1;
}

bool
sluice_reader_done (sluice_reader_t *self)
{
    s_next_input (self);
    return self->input_index >= self->input_count;
}

int
sluice_reader_fd (sluice_reader_t *self)
{
    return sluice_reader_done (self)? -1: self->inputs [self->input_index].fd;
}
