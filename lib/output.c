/*  =========================================================================
    output.c - the sink's output: buffer, record formats, flush and commit

    Owns the bytes between a final result and the output file. Records are
    formatted into one growable buffer and written in large writes by
    flush; the committed offset (file size after the last flush) is what
    the sink's state file records, so a crash costs at most the bytes past
    it, which a resumed sink cuts. Formats, byte for byte:

    - lines:   the output, plus a newline if it does not end with one;
               nothing for an empty output.
    - raw:     the output exactly as produced, nothing added: the bytes
               of a binary output (gzip -c) survive.
    - jsonl:   {"id":N,"input":"..."|null,"status":"ok","exit_code":N,
               "attempts":N,"worker":"...","elapsed":S.SSSSSS,"output":"...",
               "stderr":"..."} and "stderr_dropped":N before the } when
               the worker discarded stderr. Always valid UTF-8 and never
               ambiguous: a byte field (input, output, stderr) that is
               valid UTF-8 is a JSON string (quote, backslash and control
               bytes escaped); one that is not is KEY_base64 instead
               ("output_base64":"..."), its bytes in base64 (RFC 4648).
               The worker identity is a string, an invalid byte \u00XX.
    - msgpack: one map per result (9 keys, 10 with input), uints as uint64,
               byte strings as bin32; readable by ventilator --msgpack and
               by sluice_output_parse (sluice cat), which formats it again
               exactly as the sink would have.

    Bounded: a record is never expanded whole in memory. Once the buffer
    passes S_SPILL_AT, what it holds is written out (spilled) before more
    is appended, and a large piece is written straight from the message, so
    one 60 MiB result in --format jsonl (up to six bytes out per byte in)
    costs about S_SPILL_AT here, not 360 MiB (it took a sink to 438 MB). A
    spill is not a commit: the committed offset moves only at flush, so a
    crash mid-record leaves bytes past the commit, which a resumed sink
    cuts. A record formatted to be held for -k is pinned: it stays in one
    piece in the buffer (the sink bounds it with sluice_output_bound first).

    A reader output (the embedding API) writes nothing: it packs each
    result into an internal record that sluice_output_take hands back.
    This is where a joblog and aggregation will go.
    =========================================================================
*/

#include "private.h"
#include "output.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_BUFFER_START (128 * 1024)     //  first buffer size
#define S_COMPACT_AT (1024 * 1024)      //  reader: reclaim taken bytes beyond this
#define S_SPILL_AT (1024 * 1024)        //  write the buffer out beyond this, mid-record

//  Reader records: this header, then the output bytes, the input, the
//  stderr.
typedef struct {
    uint64_t id;
    uint64_t elapsed_us;
    uint64_t output_size;
    uint64_t input_size;
    uint64_t stderr_size;
    uint64_t stderr_dropped;
    uint32_t attempt;
    uint32_t flags;
    uint32_t status;
    int32_t code;
    uint32_t has_input;         //  the result carries its input
} s_packed_t;

struct _sluice_output_t {
    int fd;                     //  output file, -1 for a reader
    sluice_format_t format;     //  record format (unused by a reader)
    uint8_t *data;              //  buffered records
    size_t size;                //  bytes in data
    size_t capacity;            //  bytes allocated at data
    size_t read;                //  reader: bytes of data already taken
    uint64_t committed;         //  output offset of the last flush
    char *name;                 //  path, or "stdout", for messages
    bool failed;                //  a write failed: the output is closed
    uint8_t *taken;             //  reader: copy of the record last taken
    size_t taken_capacity;
    bool pinned;                //  no spill: a record is being formatted whole
    uint64_t spilled;           //  bytes written since the last flush, not committed
    bool tag;                   //  --tag: lines prefixed by the input and a tab
};

//  --------------------------------------------------------------------------
//  Construction

sluice_output_t *
sluice_output_new (int fd, sluice_format_t format)
{
    sluice_output_t *self = (sluice_output_t *) calloc (1, sizeof *self);
    assert (self);
    self->fd = fd;
    self->format = format;
    self->name = strdup (fd == STDOUT_FILENO? "stdout": "output");
    assert (self->name);
    self->capacity = S_BUFFER_START;
    self->data = (uint8_t *) malloc (self->capacity);
    assert (self->data);
    return self;
}

sluice_output_t *
sluice_output_open (const char *path, bool append, sluice_format_t format, char *err,
                    size_t errlen)
{
    int fd = open (path, O_WRONLY | O_CREAT | (append? O_APPEND: O_TRUNC), 0644);
    if (fd < 0) {
        snprintf (err, errlen, "cannot open output %s: %s", path, strerror (errno));
        return NULL;
    }
    sluice_output_t *self = sluice_output_new (fd, format);
    free (self->name);
    self->name = strdup (path);
    assert (self->name);
    return self;
}

sluice_output_t *
sluice_output_new_reader (void)
{
    return sluice_output_new (-1, SLUICE_FORMAT_MSGPACK);
}

void
sluice_output_set_tag (sluice_output_t *self, bool tag)
{
    self->tag = tag;
}

void
sluice_output_destroy (sluice_output_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_output_t *self = *self_p;
        if (self->fd > STDERR_FILENO)
            close (self->fd);
        free (self->data);
        free (self->name);
        free (self->taken);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Buffer

//  Write size bytes to the output. Returns 0, or -1 if the output cannot be
//  written (logged once; the output is then failed).
static int
s_write (sluice_output_t *self, const uint8_t *data, size_t size)
{
    if (self->failed)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write (self->fd, data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            //  a reader that went away (`sink | head`) is no error of ours:
            //  say so plainly, once; anything else names the output
            if (errno == EPIPE)
                zsys_error ("output closed");
            else
                zsys_error ("cannot write %s: %s", self->name, strerror (errno));
            self->failed = true;
            return -1;
        }
        done += (size_t) n;
    }
    return 0;
}

//  True if n more bytes should not go through the buffer as it is: it
//  would pass S_SPILL_AT, and it may be written out now.
static bool
s_spill_due (sluice_output_t *self, size_t n)
{
    return self->fd >= 0 && !self->pinned && self->size + n > S_SPILL_AT;
}

//  Write the buffer out without committing it (see the header). A failed
//  output drops it: the next flush reports the failure.
static void
s_spill (sluice_output_t *self)
{
    if (s_write (self, self->data, self->size) == 0)
        self->spilled += self->size;
    self->size = 0;
}

//  Make room for n more bytes in the buffer; returns where they go.
static uint8_t *
s_reserve (sluice_output_t *self, size_t n)
{
    if (self->size && s_spill_due (self, n))
        s_spill (self);
    if (self->size + n > self->capacity) {
        while (self->size + n > self->capacity)
            self->capacity *= 2;
        self->data = (uint8_t *) realloc (self->data, self->capacity);
        assert (self->data);
    }
    return self->data + self->size;
}

static void
s_put (sluice_output_t *self, const void *data, size_t size)
{
    //  a large piece (an output) goes straight out, not through the buffer
    if (size > S_SPILL_AT && s_spill_due (self, size)) {
        s_spill (self);
        if (s_write (self, (const uint8_t *) data, size) == 0)
            self->spilled += size;
        return;
    }
    if (size)
        memcpy (s_reserve (self, size), data, size);
    self->size += size;
}

static void
s_str (sluice_output_t *self, const char *text)
{
    s_put (self, text, strlen (text));
}

void
sluice_output_put (sluice_output_t *self, const void *data, size_t size)
{
    s_put (self, data, size);
}

size_t
sluice_output_size (sluice_output_t *self)
{
    return self->size - self->read;
}

const uint8_t *
sluice_output_since (sluice_output_t *self, size_t mark, size_t *size)
{
    assert (self->read + mark <= self->size);
    *size = self->size - self->read - mark;
    return self->data + self->read + mark;
}

void
sluice_output_cut (sluice_output_t *self, size_t mark)
{
    assert (self->read + mark <= self->size);
    self->size = self->read + mark;
}

//  --------------------------------------------------------------------------
//  Formats

//  The length of the valid UTF-8 sequence at data [0], or 0 if invalid.
//  Valid as RFC 3629 says: the second byte's range after E0, ED, F0 and
//  F4 rules out overlong forms, surrogates and code points above U+10FFFF.
static size_t
s_utf8_length (const uint8_t *data, size_t size)
{
    uint8_t b = data [0];
    size_t len = (b & 0xe0) == 0xc0? 2: (b & 0xf0) == 0xe0? 3: (b & 0xf8) == 0xf0? 4: 0;
    bool valid = len && len <= size && b >= 0xc2 && b <= 0xf4;
    for (size_t k = 1; valid && k < len; k++)
        valid = (data [k] & 0xc0) == 0x80;
    if (valid && len > 2)
        valid = (b != 0xe0 || data [1] >= 0xa0) && (b != 0xed || data [1] < 0xa0)
             && (b != 0xf0 || data [1] >= 0x90) && (b != 0xf4 || data [1] < 0x90);
    return valid? len: 0;
}

//  Append one byte as the body of a JSON string, escaped if need be.
static void
s_json_byte (sluice_output_t *self, uint8_t b)
{
    char esc [8];
    if (b == '"' || b == '\\') {
        esc [0] = '\\';
        esc [1] = (char) b;
        s_put (self, esc, 2);
    }
    else
    if (b == '\n' || b == '\t' || b == '\r')
        s_str (self, b == '\n'? "\\n": b == '\t'? "\\t": "\\r");
    else
    if (b < 0x20 || b >= 0x80) {
        snprintf (esc, sizeof esc, "\\u%04x", b);
        s_str (self, esc);
    }
    else
        s_put (self, &b, 1);
}

//  Append bytes as the body of a JSON string: valid UTF-8 passes through,
//  control characters are escaped, an invalid byte becomes \u00XX.
static void
s_json (sluice_output_t *self, const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; ) {
        size_t len = data [i] >= 0x80? s_utf8_length (data + i, size - i): 0;
        if (len) {
            s_put (self, data + i, len);
            i += len;
        }
        else
            s_json_byte (self, data [i++]);
    }
}

//  --tag: each line of the output after the input and a tab.
static void
s_format_tagged (sluice_output_t *self, const sluice_result_t *r)
{
    const uint8_t *line = r->output, *end = r->output + r->output_size;
    while (line < end) {
        const uint8_t *eol = (const uint8_t *) memchr (line, '\n', (size_t) (end - line));
        size_t len = eol? (size_t) (eol - line): (size_t) (end - line);
        s_put (self, r->input, r->input_size);
        s_put (self, "\t", 1);
        s_put (self, line, len);
        s_put (self, "\n", 1);
        line += len + 1;
    }
}

//  True if the bytes are valid UTF-8 throughout (RFC 3629).
static bool
s_utf8_valid (const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; ) {
        size_t len = data [i] < 0x80? 1: s_utf8_length (data + i, size - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

//  Append bytes in base64 (RFC 4648, with padding).
static void
s_base64 (sluice_output_t *self, const uint8_t *data, size_t size)
{
    static const char alphabet [] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *p = (char *) s_reserve (self, (size + 2) / 3 * 4);
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t) data [i] << 16;
        if (i + 1 < size)
            v |= (uint32_t) data [i + 1] << 8;
        if (i + 2 < size)
            v |= data [i + 2];
        *p++ = alphabet [v >> 18];
        *p++ = alphabet [(v >> 12) & 63];
        *p++ = i + 1 < size? alphabet [(v >> 6) & 63]: '=';
        *p++ = i + 2 < size? alphabet [v & 63]: '=';
    }
    self->size += (size + 2) / 3 * 4;
}

//  Append ,"key":"text" for bytes that are valid UTF-8, else
//  ,"key_base64":"...": every byte is kept and none is ambiguous.
static void
s_json_field (sluice_output_t *self, const char *key, const uint8_t *data, size_t size)
{
    bool text = s_utf8_valid (data, size);
    s_str (self, ",\"");
    s_str (self, key);
    s_str (self, text? "\":\"": "_base64\":\"");
    if (text)
        s_json (self, data, size);
    else
        s_base64 (self, data, size);
    s_put (self, "\"", 1);
}

static void
s_format_raw (sluice_output_t *self, const sluice_result_t *r)
{
    s_put (self, r->output, r->output_size);
}

static void
s_format_lines (sluice_output_t *self, const sluice_result_t *r)
{
    if (self->tag && r->input) {
        s_format_tagged (self, r);
        return;
    }
    if (r->output_size) {
        s_put (self, r->output, r->output_size);
        if (r->output [r->output_size - 1] != '\n')
            s_put (self, "\n", 1);
    }
}

static void
s_format_jsonl (sluice_output_t *self, const sluice_result_t *r, const uint8_t *worker,
                size_t worker_size)
{
    char text [128];
    snprintf (text, sizeof text, "{\"id\":%" PRIu64, r->id);
    s_str (self, text);
    if (r->input)
        s_json_field (self, "input", r->input, r->input_size);
    else
        s_str (self, ",\"input\":null");
    snprintf (text, sizeof text,
              ",\"status\":\"%s\",\"exit_code\":%d,\"attempts\":%u,\"worker\":\"",
              sluice_status_name ((int) r->status), (int) r->code, r->attempt);
    s_str (self, text);
    s_json (self, worker, worker_size);
    snprintf (text, sizeof text, "\",\"elapsed\":%.6f", (double) r->elapsed_us / 1e6);
    s_str (self, text);
    s_json_field (self, "output", r->output, r->output_size);
    s_json_field (self, "stderr", r->stderr_data, r->stderr_size);
    if (r->stderr_dropped) {
        snprintf (text, sizeof text, ",\"stderr_dropped\":%" PRIu64, r->stderr_dropped);
        s_str (self, text);
    }
    s_str (self, "}\n");
}

//  A msgpack fixstr (keys and status names are short).
static void
s_mp_str (sluice_output_t *self, const char *text)
{
    size_t len = strlen (text);
    uint8_t header = (uint8_t) (0xa0 | len);
    assert (len < 32);
    s_put (self, &header, 1);
    s_put (self, text, len);
}

//  A msgpack uint64, always 9 bytes.
static void
s_mp_uint (sluice_output_t *self, uint64_t value)
{
    uint8_t buf [9] = { 0xcf };
    for (int i = 0; i < 8; i++)
        buf [1 + i] = (uint8_t) (value >> (56 - 8 * i));
    s_put (self, buf, 9);
}

//  A msgpack bin32, always with a 5-byte header.
static void
s_mp_bin (sluice_output_t *self, const uint8_t *data, size_t size)
{
    uint8_t header [5] = { 0xc6, (uint8_t) (size >> 24), (uint8_t) (size >> 16),
                           (uint8_t) (size >> 8), (uint8_t) size };
    s_put (self, header, 5);
    s_put (self, data, size);
}

static void
s_format_msgpack (sluice_output_t *self, const sluice_result_t *r, const uint8_t *worker,
                  size_t worker_size)
{
    uint8_t header = (uint8_t) (0x80 | (r->input? 10: 9));
    s_put (self, &header, 1);
    s_mp_str (self, "id");
    s_mp_uint (self, r->id);
    s_mp_str (self, "status");
    s_mp_str (self, sluice_status_name ((int) r->status));
    s_mp_str (self, "code");
    s_mp_uint (self, (uint64_t) (uint32_t) r->code);
    s_mp_str (self, "attempts");
    s_mp_uint (self, r->attempt);
    s_mp_str (self, "worker");
    s_mp_bin (self, worker, worker_size);
    s_mp_str (self, "elapsed_us");
    s_mp_uint (self, r->elapsed_us);
    s_mp_str (self, "output");
    s_mp_bin (self, r->output, r->output_size);
    if (r->input) {
        s_mp_str (self, "input");
        s_mp_bin (self, r->input, r->input_size);
    }
    s_mp_str (self, "stderr");
    s_mp_bin (self, r->stderr_data, r->stderr_size);
    s_mp_str (self, "stderr_dropped");
    s_mp_uint (self, r->stderr_dropped);
}

//  Reader: pack the result whole, for sluice_output_take.
static void
s_format_packed (sluice_output_t *self, const sluice_result_t *r)
{
    s_packed_t packed = {
        .id = r->id, .elapsed_us = r->elapsed_us, .output_size = r->output_size,
        .input_size = r->input? r->input_size: 0, .stderr_size = r->stderr_size,
        .stderr_dropped = r->stderr_dropped, .attempt = r->attempt,
        .flags = r->flags, .status = r->status, .code = r->code,
        .has_input = r->input != NULL
    };
    s_put (self, &packed, sizeof packed);
    s_put (self, r->output, r->output_size);
    if (r->input)
        s_put (self, r->input, r->input_size);
    s_put (self, r->stderr_data, r->stderr_size);
}

void
sluice_output_record (sluice_output_t *self, const sluice_result_t *result,
                      const uint8_t *worker, size_t worker_size)
{
    if (self->fd < 0)
        s_format_packed (self, result);
    else
    if (self->format == SLUICE_FORMAT_LINES)
        s_format_lines (self, result);
    else
    if (self->format == SLUICE_FORMAT_RAW)
        s_format_raw (self, result);
    else
    if (self->format == SLUICE_FORMAT_JSONL)
        s_format_jsonl (self, result, worker, worker_size);
    else
        s_format_msgpack (self, result, worker, worker_size);
}

//  --------------------------------------------------------------------------
//  Flush and commit

int
sluice_output_flush (sluice_output_t *self)
{
    if (self->fd < 0)
        return 0;
    if (s_write (self, self->data, self->size))
        return -1;
    self->committed += self->spilled + self->size;
    self->spilled = 0;
    self->size = 0;
    //  a record held for -k may have grown the buffer: give it back
    if (self->capacity > 2 * S_SPILL_AT) {
        self->capacity = S_BUFFER_START;
        self->data = (uint8_t *) realloc (self->data, self->capacity);
        assert (self->data);
    }
    return 0;
}

void
sluice_output_pin (sluice_output_t *self, bool pinned)
{
    self->pinned = pinned;
}

size_t
sluice_output_bound (sluice_output_t *self, const sluice_result_t *r, size_t worker_size)
{
    size_t bytes = r->output_size + (r->input? r->input_size: 0) + worker_size;
    //  jsonl writes an invalid or control byte as \u00XX: six for one
    if (self->fd >= 0 && self->format == SLUICE_FORMAT_JSONL)
        bytes *= 6;
    return bytes + 256;
}

uint64_t
sluice_output_committed (sluice_output_t *self)
{
    return self->committed;
}

int
sluice_output_resume (sluice_output_t *self, bool have_commit, uint64_t commit,
                      char *err, size_t errlen)
{
    struct stat st;
    if (fstat (self->fd, &st) == 0 && have_commit && (uint64_t) st.st_size > commit) {
        zsys_info ("cutting %" PRIu64 " unacknowledged bytes from the output",
                   (uint64_t) st.st_size - commit);
        if (ftruncate (self->fd, (off_t) commit)) {
            snprintf (err, errlen, "cannot truncate output: %s", strerror (errno));
            return -1;
        }
    }
    if (fstat (self->fd, &st) == 0)
        self->committed = (uint64_t) st.st_size;
    return 0;
}

//  --------------------------------------------------------------------------
//  Reader

bool
sluice_output_ready (sluice_output_t *self)
{
    return self->read < self->size;
}

//  Reclaim the space of taken records once it is worth a move.
static void
s_compact (sluice_output_t *self)
{
    if (self->read == self->size)
        self->read = self->size = 0;
    else
    if (self->read > S_COMPACT_AT && self->read > self->size / 2) {
        memmove (self->data, self->data + self->read, self->size - self->read);
        self->size -= self->read;
        self->read = 0;
    }
}

int
sluice_output_take (sluice_output_t *self, sluice_result_t *result)
{
    if (!sluice_output_ready (self))
        return 0;
    s_packed_t packed;
    memcpy (&packed, self->data + self->read, sizeof packed);
    size_t size = sizeof packed + packed.output_size + packed.input_size + packed.stderr_size;
    assert (self->read + size <= self->size);
    if (self->taken_capacity < size) {
        self->taken_capacity = size;
        self->taken = (uint8_t *) realloc (self->taken, size);
        assert (self->taken);
    }
    memcpy (self->taken, self->data + self->read, size);
    self->read += size;
    s_compact (self);
    const uint8_t *bytes = self->taken + sizeof packed;
    *result = (sluice_result_t) {
        .id = packed.id, .attempt = packed.attempt, .flags = packed.flags,
        .status = packed.status, .code = packed.code, .elapsed_us = packed.elapsed_us,
        .output = bytes, .output_size = (size_t) packed.output_size,
        .input = packed.has_input? bytes + packed.output_size: NULL,
        .input_size = (size_t) packed.input_size,
        .stderr_data = bytes + packed.output_size + packed.input_size,
        .stderr_size = (size_t) packed.stderr_size, .stderr_dropped = packed.stderr_dropped
    };
    return 1;
}

//  Shorten bytes into text for a log line: printable ASCII kept, any
//  other byte as \xXX, cut at the buffer's size.
static void
s_printable (char *text, size_t room, const uint8_t *data, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; data && i < size && n + 5 < room; i++) {
        uint8_t b = data [i];
        if (b >= 0x20 && b < 0x7f)
            text [n++] = (char) b;
        else
            n += (size_t) snprintf (text + n, room - n, "\\x%02x", b);
    }
    text [n] = 0;
}

//  The last non-empty line of bytes (without its newline), or NULL.
static const uint8_t *
s_last_line (const uint8_t *data, size_t size, size_t *line_size)
{
    while (size && (data [size - 1] == '\n' || data [size - 1] == '\r'))
        size--;
    if (!size)
        return NULL;
    const uint8_t *start = data + size;
    while (start > data && start [-1] != '\n')
        start--;
    *line_size = (size_t) (data + size - start);
    return start;
}

void
sluice_output_warn_failure (const sluice_result_t *r)
{
    char input [160], why [240];
    s_printable (input, sizeof input, r->input, r->input_size);
    size_t line_size = 0;
    const uint8_t *line = s_last_line (r->stderr_data, r->stderr_size, &line_size);
    s_printable (why, sizeof why, line, line_size);
    zsys_warning ("task %" PRIu64 " failed (%s %d, attempt %u): %s%s%s", r->id,
                  sluice_status_name ((int) r->status), (int) r->code, r->attempt, input,
                  line? ": ": "", why);
}

void
sluice_output_show_stderr (int fd, const sluice_result_t *r)
{
    if (!r->stderr_size && !r->stderr_dropped)
        return;
    char tag [64];
    int tag_size = snprintf (tag, sizeof tag, "[task %" PRIu64 "] ", r->id);
    //  one buffer, one write: the task's lines stay together, and never
    //  interleave with a log line or another task's
    zchunk_t *text = zchunk_new (NULL, r->stderr_size + 256);
    const uint8_t *p = r->stderr_data, *end = p + r->stderr_size;
    while (p < end) {
        const uint8_t *nl = (const uint8_t *) memchr (p, '\n', (size_t) (end - p));
        const uint8_t *stop = nl? nl + 1: end;
        zchunk_extend (text, tag, (size_t) tag_size);
        zchunk_extend (text, p, (size_t) (stop - p));
        if (!nl)
            zchunk_extend (text, "\n", 1);
        p = stop;
    }
    if (r->stderr_dropped) {
        char marker [128];
        int n = snprintf (marker, sizeof marker, "%s... stderr truncated: %" PRIu64
                          " more bytes dropped (--stderr-max)\n", tag, r->stderr_dropped);
        zchunk_extend (text, marker, (size_t) n);
    }
    const uint8_t *data = zchunk_data (text);
    size_t left = zchunk_size (text);
    while (left) {
        ssize_t n = write (fd, data, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;              //  stderr gone: nothing to tell it
        data += n;
        left -= (size_t) n;
    }
    zchunk_destroy (&text);
}
