/*  =========================================================================
    fuzz_reader.c - libFuzzer target for the ventilator's input records

    The reader (lib/reader.c) cuts records out of input fds in one of three
    formats and refuses a record over --max-size. This target feeds it
    through pipes, a few bytes at a time, as a slow producer would, and
    checks every record against a reference cut of the whole input made
    here: the same records, in the same order, and an error exactly where
    the reference finds an invalid or too large record.

    Input layout (so the fuzzer chooses everything):
      byte 0: bits 0-1 format (0 lines, 1 NUL, 2 MessagePack, 3 lines),
              bits 2-3 --max-size (1k, 1500, 8200, 64M: records of at most
              512, 750, 4104 bytes, or about 64M),
              bits 4-5 inputs - 1 (the rest is cut into that many equal
              parts), bits 6-7 growth: each part as is, three times over,
              or padded with one filler byte ('x' for lines and NUL
              records, which makes a long last record; 'z' for
              MessagePack, which fills a bin or str the part began) to
              70 KB, more than a pipe holds, or 600 KB, more than the
              reader buffers for a small --max-size, so a record too
              large is skipped to its end. (Padding, not repeating: an
              input of 150,000 short records runs a second per input.)
      byte 1: bytes written to a pipe at a time (1 to 65536, in steps)
      the rest: the input bytes

    Build and run: `make fuzz`, or make tests/fuzz/fuzz_reader and
    tests/fuzz/fuzz_reader WORKDIR tests/fuzz/corpus-reader.
    =========================================================================
*/

#include "fuzz.h"
#include "reader.h"

#include <fcntl.h>

#define T_INPUTS_MAX 4

static const size_t t_max_sizes [4] = { 1024, 1500, 8200, 64 << 20 };

//  One input: its bytes, and how much of them the pipe has been given.
typedef struct {
    uint8_t *data;
    size_t size;
    size_t written;
    int read_fd;
    int write_fd;               //  -1 once everything is written
} t_input_t;

//  The reference cut of one record of an input at *at: 1 with the payload,
//  0 at the end of the input, -1 if the record is invalid. *used gets the
//  record's bytes (for -1: as far as it is known to reach).
static int
t_cut (int format, const uint8_t *data, size_t size, size_t *at,
       const uint8_t **payload, size_t *payload_size, size_t *used)
{
    if (*at == size)
        return 0;
    const uint8_t *start = data + *at;
    size_t avail = size - *at;
    if (format == SLUICE_INPUT_MSGPACK) {
        long n = sluice_record_parse (start, avail, payload, payload_size);
        *used = n > 0? (size_t) n: avail;
        if (n <= 0)
            return -1;          //  invalid, or cut short by the end of input
    }
    else {
        uint8_t delim = format == SLUICE_INPUT_NUL? 0: '\n';
        const uint8_t *end = (const uint8_t *) memchr (start, delim, avail);
        *payload = start;
        *payload_size = end? (size_t) (end - start): avail;
        *used = end? *payload_size + 1: avail;
    }
    *at += *used;
    return 1;
}

//  Give the pipe of the reader's current input its next bytes, and close
//  it once all are given.
static void
t_feed (t_input_t *inputs, size_t count, int fd, size_t step)
{
    for (size_t i = 0; i < count; i++) {
        t_input_t *input = &inputs [i];
        if (input->read_fd != fd || input->write_fd < 0)
            continue;
        size_t n = input->size - input->written < step? input->size - input->written: step;
        if (n) {
            ssize_t rc = write (input->write_fd, input->data + input->written, n);
            T_CHECK (rc > 0 || (rc < 0 && errno == EAGAIN));
            if (rc > 0)
                input->written += (size_t) rc;
        }
        if (input->written == input->size) {
            close (input->write_fd);
            input->write_fd = -1;
        }
    }
}

//  Build the inputs from the fuzzer's bytes (see the layout above).
static void
t_inputs (t_input_t *inputs, int format, int growth, size_t count, const uint8_t *body,
          size_t size)
{
    size_t part = size / count;
    uint8_t filler = format == SLUICE_INPUT_MSGPACK? 'z': 'x';
    for (size_t i = 0; i < count; i++) {
        const uint8_t *from = body + i * part;
        size_t n = i == count - 1? size - i * part: part;
        size_t want = growth == 0? n
                    : growth == 1? 3 * n
                    : growth == 2? 70 * 1024: 600 * 1024;
        if (want < n)
            want = n;
        t_input_t *input = &inputs [i];
        input->size = want;
        input->data = (uint8_t *) malloc (want? want: 1);
        T_CHECK (input->data);
        if (n)
            memcpy (input->data, from, n);
        if (growth == 1)
            for (size_t at = n; at < want; at++)
                input->data [at] = from [at % n];
        else
            memset (input->data + n, filler, want - n);
        input->written = 0;
        int fds [2];
        T_CHECK (pipe (fds) == 0);
        fcntl (fds [1], F_SETFL, fcntl (fds [1], F_GETFL) | O_NONBLOCK);
        input->read_fd = fds [0];
        input->write_fd = fds [1];
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    t_quiet_logs ();
    if (size < 2)
        return 0;
    int format = data [0] & 3;
    if (format == 3)
        format = SLUICE_INPUT_LINES;
    size_t max_size = t_max_sizes [(data [0] >> 2) & 3];
    size_t record_max = sluice_payload_max (max_size);
    size_t count = (size_t) ((data [0] >> 4) & 3) + 1;
    int growth = data [0] >> 6;
    size_t step = (size_t) 1 << (data [1] % 17);
    step += data [1] / 17;      //  not only powers of two

    t_input_t inputs [T_INPUTS_MAX];
    t_inputs (inputs, format, growth, count, data + 2, size - 2);
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += inputs [i].size;
    //  at most 32 writes in all: the reader parses an incomplete MessagePack
    //  record again after each read, so a large one costs reads x size
    if (step < total / 32)
        step = total / 32;

    sluice_reader_t *reader = sluice_reader_new (format, max_size);
    for (size_t i = 0; i < count; i++)
        sluice_reader_add (reader, inputs [i].read_fd, "fuzz");

    //  reference position: input index and offset
    size_t ref_input = 0, ref_at = 0;
    bool failed = false;
    uint64_t records = 0;
    int idle = 0;               //  fills in a row that brought nothing
    while (!failed) {
        const uint8_t *got;
        size_t got_size;
        int rc = sluice_reader_next (reader, &got, &got_size);
        if (rc == 1) {
            //  the reference must have the same record
            const uint8_t *want = NULL;
            size_t want_size = 0, used = 0;
            int ref = 0;
            while (ref_input < count
               &&  (ref = t_cut (format, inputs [ref_input].data, inputs [ref_input].size,
                                 &ref_at, &want, &want_size, &used)) == 0) {
                ref_input++;
                ref_at = 0;
            }
            T_CHECK (ref == 1);
            T_CHECK (want_size <= record_max && got_size == want_size);
            T_CHECK (want_size == 0 || memcmp (got, want, want_size) == 0);
            records++;
            idle = 0;
            continue;
        }
        if (rc < 0)
            failed = true;
        else
        if (sluice_reader_done (reader))
            break;
        else {
            t_feed (inputs, count, sluice_reader_fd (reader), step);
            rc = sluice_reader_fill (reader);
            if (rc < 0)
                failed = true;
            else
                idle = rc == 0? idle + 1: 0;
            //  a reader that neither reads nor cuts records is stuck
            T_CHECK (idle < 1000);
        }
    }
    //  the reference from where the reader stopped: an error needs an
    //  invalid or too large record next; the end, none left
    const uint8_t *want;
    size_t want_size, used = 0;
    int ref = 0;
    while (ref_input < count
       &&  (ref = t_cut (format, inputs [ref_input].data, inputs [ref_input].size,
                         &ref_at, &want, &want_size, &used)) == 0) {
        ref_input++;
        ref_at = 0;
    }
    if (failed)
        //  a MessagePack record is refused once its bytes outgrow the
        //  buffer, before its payload is known: larger than a record may be
        T_CHECK (ref == -1 || (ref == 1 && want_size > record_max)
              || (format == SLUICE_INPUT_MSGPACK && used > record_max));
    else
        T_CHECK (ref == 0 && sluice_reader_done (reader));
    sluice_reader_destroy (&reader);
    for (size_t i = 0; i < count; i++) {
        close (inputs [i].read_fd);
        if (inputs [i].write_fd >= 0)
            close (inputs [i].write_fd);
        free (inputs [i].data);
    }
    return 0;
}
