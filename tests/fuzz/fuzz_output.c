/*  =========================================================================
    fuzz_output.c - libFuzzer target for the sink's record formats

    A result's input, worker identity and output are bytes from outside
    (a task, a peer, a command), and the sink writes them as lines, JSON
    lines or MessagePack (lib/output.c). This target formats one result
    from the fuzzer's bytes and reads the record back as its consumer
    would:

      - jsonl: one line, strictly valid UTF-8 (RFC 3629: no overlong
        forms, no surrogates, nothing above U+10FFFF), whose "worker"
        string decodes (\u00XX as byte XX) to the bytes given, and whose
        "input", "output" and "stderr" are each either a string (of
        valid UTF-8 bytes: no \u escape above 0x1f) or, exactly when the
        bytes are not valid UTF-8, KEY_base64 that decodes to them;
      - msgpack: one record that ventilator --msgpack reads
        (sluice_record_parse) as exactly the output, and that
        sluice_record_parse_result reads back as the whole result;
      - lines: the output, newline-terminated, nothing for an empty one;
      - raw: the output, byte for byte.

    Input layout: byte 0: bits 0-1 format (0 lines, 1 jsonl, 2 msgpack,
    3 raw, jsonl again with bit 6), bit 2 the input is returned, bits 3-5
    status (mod 6); byte 1: input size, byte 2: worker size (each cut to
    what is there); then the input, the worker and the output bytes. The
    stderr is the output's first half.

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

//  Decode the base64 string that follows "key_base64":" into out;
//  returns the decoded length. Aborts on anything but canonical base64.
static size_t
t_base64_field (const uint8_t *record, size_t size, const char *key, uint8_t *out)
{
    static const char alphabet [] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char pattern [40];
    snprintf (pattern, sizeof pattern, "\"%s_base64\":\"", key);
    const uint8_t *p = (const uint8_t *) memmem (record, size, pattern, strlen (pattern));
    T_CHECK (p);
    p += strlen (pattern);
    const uint8_t *end = (const uint8_t *) memchr (p, '"', (size_t) (record + size - p));
    T_CHECK (end && (end - p) % 4 == 0);
    size_t n = 0;
    for (; p < end; p += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            const char *at = p [k] == '='? NULL: strchr (alphabet, p [k]);
            T_CHECK (p [k] == '=' || (at && p [k]));
            T_CHECK (p [k] != '=' || p + 4 == end);
            pad += p [k] == '=';
            v = v << 6 | (uint32_t) (at? at - alphabet: 0);
        }
        T_CHECK (pad <= 2);
        out [n++] = (uint8_t) (v >> 16);
        if (pad < 2)
            out [n++] = (uint8_t) (v >> 8);
        if (pad < 1)
            out [n++] = (uint8_t) v;
    }
    return n;
}

//  Decode the JSON string that follows "key":" in the record into out
//  (room for size bytes); returns the decoded length, or SIZE_MAX if the
//  record has no such key. Aborts on bad JSON.
static size_t
t_json_field (const uint8_t *record, size_t size, const char *key, uint8_t *out)
{
    char pattern [32];
    snprintf (pattern, sizeof pattern, "\"%s\":\"", key);
    const uint8_t *p = (const uint8_t *) memmem (record, size, pattern, strlen (pattern));
    if (!p)
        return SIZE_MAX;
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

//  True if the bytes are valid UTF-8 throughout.
static bool
t_valid (const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < size; ) {
        size_t len = data [i] < 0x80? 1: t_utf8 (data + i, size - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

//  A byte field is a string when valid UTF-8, else KEY_base64: either way
//  it reads back as the bytes given.
static void
t_check_bytes (const uint8_t *record, size_t size, const char *key, const uint8_t *want,
               size_t want_size, uint8_t *decoded)
{
    size_t n = t_json_field (record, size, key, decoded);
    if (t_valid (want, want_size))
        T_CHECK (n != SIZE_MAX);
    else {
        T_CHECK (n == SIZE_MAX);
        n = t_base64_field (record, size, key, decoded);
    }
    T_CHECK (n == want_size && (n == 0 || memcmp (decoded, want, n) == 0));
}

static void
t_check_jsonl (const uint8_t *record, size_t size, const sluice_result_t *r,
               const uint8_t *worker, size_t worker_size)
{
    T_CHECK (size > 0 && record [size - 1] == '\n');
    T_CHECK (memchr (record, '\n', size - 1) == NULL);
    T_CHECK (t_valid (record, size));
    uint8_t *decoded = (uint8_t *) malloc (size);
    T_CHECK (decoded);
    t_check_bytes (record, size, "output", r->output, r->output_size, decoded);
    t_check_bytes (record, size, "stderr", r->stderr_data, r->stderr_size, decoded);
    size_t n = t_json_field (record, size, "worker", decoded);
    T_CHECK (n == worker_size && (n == 0 || memcmp (decoded, worker, n) == 0));
    if (r->input)
        t_check_bytes (record, size, "input", r->input, r->input_size, decoded);
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
    static const int formats [] = { SLUICE_FORMAT_LINES, SLUICE_FORMAT_JSONL,
                                    SLUICE_FORMAT_MSGPACK, SLUICE_FORMAT_RAW };
    int format = data [0] & 64? SLUICE_FORMAT_JSONL: formats [data [0] & 3];
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
        .input = data [0] & 4? input: NULL, .input_size = data [0] & 4? input_size: 0,
        .stderr_data = p, .stderr_size = (size_t) (end - p) / 2, .stderr_dropped = size
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
    if (format == SLUICE_FORMAT_RAW)
        T_CHECK (record_size == r.output_size
              && (!r.output_size || memcmp (record, r.output, r.output_size) == 0));
    else
    if (format == SLUICE_FORMAT_JSONL)
        t_check_jsonl (record, record_size, &r, worker, worker_size);
    else {
        sluice_result_t back;
        const uint8_t *back_worker;
        size_t back_worker_size;
        T_CHECK (sluice_record_parse_result (record, record_size, &back, &back_worker,
                                             &back_worker_size) == (long) record_size);
        T_CHECK (back.id == r.id && back.status == r.status && back.code == r.code
              && back.attempt == r.attempt && back.elapsed_us == r.elapsed_us
              && back.stderr_dropped == r.stderr_dropped
              && back.stderr_size == r.stderr_size && back_worker_size == worker_size
              && (back.input != NULL) == (r.input != NULL)
              && back.input_size == r.input_size);
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
