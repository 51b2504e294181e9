/*  =========================================================================
    fuzz_output.c - libFuzzer target for the sink's record formats

    A result's input, worker identity and output are bytes from outside
    (a task, a peer, a command), and the sink writes them as lines, JSON
    lines or MessagePack (lib/output.c). This target formats one result
    from the fuzzer's bytes and reads the record back as its consumer
    would:

      - jsonl: one line, strictly valid UTF-8 (RFC 3629: no overlong
        forms, no surrogates, nothing above U+10FFFF), whose "input",
        "worker" and "output" strings decode (\u00XX as byte XX) to the
        bytes given;
      - msgpack: one record that ventilator --msgpack reads
        (sluice_record_parse) as exactly the output;
      - lines: the output, newline-terminated, nothing for an empty one.

    Input layout: byte 0: bits 0-1 format (0 lines, 1 jsonl, 2 msgpack,
    3 jsonl), bit 2 the input is returned, bits 3-5 status (mod 6); byte 1:
    input size, byte 2: worker size (each cut to what is there); then the
    input, the worker and the output bytes.

    Build and run: `make fuzz`, or make tests/fuzz/fuzz_output and
    tests/fuzz/fuzz_output WORKDIR tests/fuzz/corpus-output.
    =========================================================================
*/

#include "fuzz.h"
#include "output.h"

#include <fcntl.h>

//  Length of the valid UTF-8 sequence at p (RFC 3629 table 3-7), 0 if
//  none: the reference the encoder's output is held to.
static size_t
t_utf8 (const uint8_t *p, size_t left)
{
    uint8_t b = p [0];
    size_t len = b >= 0xc2 && b <= 0xdf? 2: b >= 0xe0 && b <= 0xef? 3
               : b >= 0xf0 && b <= 0xf4? 4: 0;
    if (!len || len > left)
        return 0;
    uint8_t lo = b == 0xe0? 0xa0: b == 0xf0? 0x90: 0x80;
    uint8_t hi = b == 0xed? 0x9f: b == 0xf4? 0x8f: 0xbf;
    if (p [1] < lo || p [1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if ((p [k] & 0xc0) != 0x80)
            return 0;
    return len;
}

static int
t_hex (uint8_t c)
{
    return c >= '0' && c <= '9'? c - '0': c >= 'a' && c <= 'f'? c - 'a' + 10
         : c >= 'A' && c <= 'F'? c - 'A' + 10: -1;
}

//  Decode the JSON string that follows "key":" in the record into out
//  (room for size bytes); returns the decoded length. Aborts on bad JSON.
static size_t
t_json_field (const uint8_t *record, size_t size, const char *key, uint8_t *out)
{
    char pattern [32];
    snprintf (pattern, sizeof pattern, "\"%s\":\"", key);
    const uint8_t *p = (const uint8_t *) memmem (record, size, pattern, strlen (pattern));
    T_CHECK (p);
    p += strlen (pattern);
    const uint8_t *end = record + size;
    size_t n = 0;
    while (true) {
        T_CHECK (p < end);
        uint8_t c = *p;
        if (c == '"')
            return n;
        T_CHECK (c >= 0x20);                    //  no raw control bytes
        if (c == '\\') {
            T_CHECK (p + 1 < end);
            uint8_t e = p [1];
            if (e == 'u') {
                T_CHECK (p + 6 <= end);
                int v = 0;
                for (int k = 2; k < 6; k++) {
                    int h = t_hex (p [k]);
                    T_CHECK (h >= 0);
                    v = v * 16 + h;
                }
                T_CHECK (v <= 0xff);            //  the encoder escapes single bytes only
                out [n++] = (uint8_t) v;
                p += 6;
            }
            else {
                T_CHECK (e == '"' || e == '\\' || e == 'n' || e == 't' || e == 'r');
                out [n++] = e == 'n'? '\n': e == 't'? '\t': e == 'r'? '\r': e;
                p += 2;
            }
        }
        else
        if (c < 0x80)
            out [n++] = *p++;
        else {
            size_t len = t_utf8 (p, (size_t) (end - p));
            T_CHECK (len);                      //  strictly valid UTF-8 only
            memcpy (out + n, p, len);
            n += len;
            p += len;
        }
    }
}

static void
t_check_jsonl (const uint8_t *record, size_t size, const sluice_result_t *r,
               const uint8_t *worker, size_t worker_size)
{
    T_CHECK (size > 0 && record [size - 1] == '\n');
    T_CHECK (memchr (record, '\n', size - 1) == NULL);
    uint8_t *decoded = (uint8_t *) malloc (size);
    T_CHECK (decoded);
    size_t n = t_json_field (record, size, "output", decoded);
    T_CHECK (n == r->output_size && (n == 0 || memcmp (decoded, r->output, n) == 0));
    n = t_json_field (record, size, "worker", decoded);
    T_CHECK (n == worker_size && (n == 0 || memcmp (decoded, worker, n) == 0));
    if (r->input) {
        n = t_json_field (record, size, "input", decoded);
        T_CHECK (n == r->input_size && (n == 0 || memcmp (decoded, r->input, n) == 0));
    }
    else
        T_CHECK (memmem (record, size, "\"input\":null,", 13));
    free (decoded);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    t_quiet_logs ();
    if (size < 3)
        return 0;
    int format = data [0] & 3;
    if (format == 3)
        format = SLUICE_FORMAT_JSONL;
    const uint8_t *p = data + 3, *end = data + size;
    size_t input_size = data [1] < (size_t) (end - p)? data [1]: (size_t) (end - p);
    const uint8_t *input = p;
    p += input_size;
    size_t worker_size = data [2] < (size_t) (end - p)? data [2]: (size_t) (end - p);
    const uint8_t *worker = p;
    p += worker_size;
    sluice_result_t r = {
        .id = size, .attempt = 1, .status = (uint32_t) ((data [0] >> 3) & 7) % 6,
        .code = -1, .elapsed_us = 1500, .output = p, .output_size = (size_t) (end - p),
        .input = data [0] & 4? input: NULL, .input_size = data [0] & 4? input_size: 0
    };

    int null = open ("/dev/null", O_WRONLY);
    T_CHECK (null >= 0);
    sluice_output_t *output = sluice_output_new (null, (sluice_format_t) format);
    size_t mark = sluice_output_size (output);
    sluice_output_record (output, &r, worker, worker_size);
    size_t record_size;
    const uint8_t *record = sluice_output_since (output, mark, &record_size);
    if (format == SLUICE_FORMAT_LINES) {
        size_t want = r.output_size + (r.output_size && end [-1] != '\n');
        T_CHECK (record_size == want);
        T_CHECK (!r.output_size || memcmp (record, r.output, r.output_size) == 0);
    }
    else
    if (format == SLUICE_FORMAT_JSONL)
        t_check_jsonl (record, record_size, &r, worker, worker_size);
    else {
        const uint8_t *payload;
        size_t payload_size;
        long used = sluice_record_parse (record, record_size, &payload, &payload_size);
        T_CHECK (used > 0 && (size_t) used == record_size);
        T_CHECK (payload_size == r.output_size);
        T_CHECK (!payload_size || memcmp (payload, r.output, payload_size) == 0);
    }
    sluice_output_destroy (&output);
    return 0;
}
