/*  =========================================================================
    test_output.c - the sink's record formats, flush, commit and reader

    The first test is the typical use: a sink formats results as lines,
    flushes them to its file and the committed offset moves past them. The
    rest pin down each format byte for byte (lines; jsonl with its
    escaping of quotes, backslashes, control bytes and non-ASCII bytes;
    the msgpack map), taking back a record held for --keep-order, resuming
    a file after a crash, and the reader output of the embedding API.
    Each test writes to a temporary file and reads back what reached it.
    =========================================================================
*/

#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "private.h"
#include "output.h"

//  --------------------------------------------------------------------------
//  Helpers

//  A result with the given output text (and input text, or NULL).
static sluice_result_t
t_result (uint64_t id, const char *output, const char *input)
{
    sluice_result_t r = {
        .id = id, .attempt = 1, .status = SLUICE_STATUS_OK, .elapsed_us = 1500000,
        .output = (const uint8_t *) output, .output_size = strlen (output),
        .input = (const uint8_t *) input, .input_size = input? strlen (input): 0
    };
    return r;
}

//  An output on a fresh temporary file; *file_fd keeps the file readable.
static sluice_output_t *
t_output (sluice_format_t format, int *file_fd)
{
    FILE *file = tmpfile ();
    assert_non_null (file);
    *file_fd = dup (fileno (file));
    fclose (file);
    return sluice_output_new (dup (*file_fd), format);
}

//  Everything in the file, as a NUL-terminated string of *size bytes.
static char *
t_file_bytes (int file_fd, size_t *size)
{
    off_t end = lseek (file_fd, 0, SEEK_END);
    char *bytes = (char *) calloc (1, (size_t) end + 1);
    assert_non_null (bytes);
    assert_int_equal (pread (file_fd, bytes, (size_t) end, 0), end);
    *size = (size_t) end;
    return bytes;
}

//  The bytes one result formats to, worker "w1".
static char *
t_format (sluice_format_t format, const sluice_result_t *r, size_t *size)
{
    int file_fd;
    sluice_output_t *output = t_output (format, &file_fd);
    sluice_output_record (output, r, (const uint8_t *) "w1", 2);
    assert_int_equal (sluice_output_flush (output), 0);
    sluice_output_destroy (&output);
    char *bytes = t_file_bytes (file_fd, size);
    close (file_fd);
    return bytes;
}

//  Assert that one result formats to exactly want (a C string).
static void
t_format_expect (sluice_format_t format, const sluice_result_t *r, const char *want)
{
    size_t size;
    char *got = t_format (format, r, &size);
    assert_string_equal (got, want);
    assert_int_equal (size, strlen (want));
    free (got);
}

//  --------------------------------------------------------------------------
//  Typical use, lines

static void
test_lines_are_flushed_to_the_file_and_committed (void **state)
{
    (void) state;
    int file_fd;
    sluice_output_t *output = t_output (SLUICE_FORMAT_LINES, &file_fd);
    sluice_result_t a = t_result (1, "alpha\n", NULL);
    sluice_result_t b = t_result (2, "beta", NULL);
    sluice_output_record (output, &a, (const uint8_t *) "w1", 2);
    sluice_output_record (output, &b, (const uint8_t *) "w1", 2);
    assert_int_equal (sluice_output_size (output), 11);     //  buffered, not written
    assert_int_equal (sluice_output_committed (output), 0);
    assert_int_equal (sluice_output_flush (output), 0);
    assert_int_equal (sluice_output_size (output), 0);
    assert_int_equal (sluice_output_committed (output), 11);
    size_t size;
    char *bytes = t_file_bytes (file_fd, &size);
    assert_string_equal (bytes, "alpha\nbeta\n");
    free (bytes);
    sluice_output_destroy (&output);
    assert_null (output);
    sluice_output_destroy (&output);                        //  a second call is safe
    close (file_fd);
}

static void
test_lines_add_a_newline_only_when_missing (void **state)
{
    (void) state;
    sluice_result_t r = t_result (1, "two\nlines", NULL);
    t_format_expect (SLUICE_FORMAT_LINES, &r, "two\nlines\n");
    r = t_result (1, "done\n", NULL);
    t_format_expect (SLUICE_FORMAT_LINES, &r, "done\n");
}

static void
test_lines_write_nothing_for_an_empty_output (void **state)
{
    (void) state;
    sluice_result_t r = t_result (1, "", NULL);
    t_format_expect (SLUICE_FORMAT_LINES, &r, "");
}

//  --------------------------------------------------------------------------
//  jsonl

static void
test_jsonl_record_has_every_field_in_a_fixed_order (void **state)
{
    (void) state;
    sluice_result_t r = t_result (7, "hi\n", "x");
    t_format_expect (SLUICE_FORMAT_JSONL, &r,
        "{\"id\":7,\"input\":\"x\",\"status\":\"ok\",\"exit_code\":0,\"attempts\":1,"
        "\"worker\":\"w1\",\"elapsed\":1.500000,\"output\":\"hi\\n\",\"stderr\":\"\"}\n");
}

static void
test_jsonl_input_is_null_when_not_returned (void **state)
{
    (void) state;
    sluice_result_t r = t_result (12, "", NULL);
    r.status = SLUICE_STATUS_EXIT;
    r.code = 3;
    r.attempt = 2;
    r.elapsed_us = 42;
    t_format_expect (SLUICE_FORMAT_JSONL, &r,
        "{\"id\":12,\"input\":null,\"status\":\"exit\",\"exit_code\":3,\"attempts\":2,"
        "\"worker\":\"w1\",\"elapsed\":0.000042,\"output\":\"\",\"stderr\":\"\"}\n");
}

static void
test_jsonl_escapes_quotes_backslashes_and_control_bytes (void **state)
{
    (void) state;
    sluice_result_t r = t_result (1, "a\"b\\c\td\re\nf\x01g\x1f" "h\x7f", NULL);
    size_t size;
    char *got = t_format (SLUICE_FORMAT_JSONL, &r, &size);
    //  DEL (0x7f) is not a control character in JSON: it passes through
    assert_non_null (strstr (got, "\"output\":\"a\\\"b\\\\c\\td\\re\\nf\\u0001g\\u001fh\x7f\","));
    free (got);
}

static void
test_jsonl_passes_valid_utf8_as_a_string (void **state)
{
    (void) state;
    //  2, 3 and 4-byte sequences pass as they are
    sluice_result_t r = t_result (1, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", NULL);
    size_t size;
    char *got = t_format (SLUICE_FORMAT_JSONL, &r, &size);
    assert_non_null (strstr (got, "\"output\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","));
    free (got);
}

//  Bytes that are not valid UTF-8 become output_base64: the record stays
//  valid UTF-8, and e9 can no longer read as the c3 a9 of "é" (both were
//  \u00e9 or é before, the same code point 233 to jq).
static void
test_jsonl_writes_invalid_utf8_as_base64 (void **state)
{
    (void) state;
    sluice_result_t latin1 = t_result (1, "\xe9", NULL);
    t_format_expect (SLUICE_FORMAT_JSONL, &latin1,
        "{\"id\":1,\"input\":null,\"status\":\"ok\",\"exit_code\":0,\"attempts\":1,"
        "\"worker\":\"w1\",\"elapsed\":1.500000,\"output_base64\":\"6Q==\","
        "\"stderr\":\"\"}\n");
    sluice_result_t utf8 = t_result (1, "\xc3\xa9", NULL);
    size_t size;
    char *got = t_format (SLUICE_FORMAT_JSONL, &utf8, &size);
    assert_non_null (strstr (got, "\"output\":\"\xc3\xa9\","));
    free (got);
    //  a lone continuation byte, 0xff, an overlong 0xc0 0x80, a sequence
    //  cut short by the end: one bad byte makes the whole field base64
    sluice_result_t mixed = t_result (1, "ok\x80\xff\xc0\x80\xe2\x82", NULL);
    got = t_format (SLUICE_FORMAT_JSONL, &mixed, &size);
    assert_non_null (strstr (got, "\"output_base64\":\"b2uA/8CA4oI=\","));
    assert_null (strstr (got, "\"output\":"));
    free (got);
}

//  RFC 3629 rules out 3- and 4-byte forms a first-byte check lets by:
//  overlong ones (E0 80..9F, F0 80..8F), UTF-16 surrogates (ED A0..BF)
//  and code points above U+10FFFF (F4 90..BF): any of them makes the
//  field base64, as for any invalid byte; their valid neighbours alone
//  pass as a string. (fuzz_output found them passing through, which
//  strict decoders refuse.)
static void
test_jsonl_base64_for_overlong_surrogate_and_too_large_utf8 (void **state)
{
    (void) state;
    const char *bad [] = { "\xe0\x9f\xbf", "\xed\xa0\x80", "\xf0\x8f\xbf\xbf",
                           "\xf4\x90\x80\x80" };
    for (size_t i = 0; i < 4; i++) {
        sluice_result_t r = t_result (1, bad [i], NULL);
        size_t size;
        char *got = t_format (SLUICE_FORMAT_JSONL, &r, &size);
        assert_non_null (strstr (got, "\"output_base64\":\""));
        free (got);
    }
    sluice_result_t good = t_result (1, "\xe0\xa0\x80\xed\x9f\xbf\xf0\x90\x80\x80"
                                        "\xf4\x8f\xbf\xbf", NULL);
    size_t size;
    char *got = t_format (SLUICE_FORMAT_JSONL, &good, &size);
    assert_non_null (strstr (got, "\"output\":\"\xe0\xa0\x80\xed\x9f\xbf"
                                  "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\","));
    free (got);
}

//  The task's stderr follows the output, as a string or stderr_base64;
//  stderr_dropped only when the worker cut it; input_base64 as output.
static void
test_jsonl_carries_stderr_and_its_truncation (void **state)
{
    (void) state;
    sluice_result_t r = t_result (3, "", "\xff");
    r.stderr_data = (const uint8_t *) "grep: x\n";
    r.stderr_size = 8;
    r.stderr_dropped = 4096;
    size_t size;
    char *got = t_format (SLUICE_FORMAT_JSONL, &r, &size);
    assert_non_null (strstr (got, "{\"id\":3,\"input_base64\":\"/w==\","));
    assert_non_null (strstr (got, ",\"output\":\"\",\"stderr\":\"grep: x\\n\","
                                  "\"stderr_dropped\":4096}\n"));
    free (got);
    r.stderr_data = (const uint8_t *) "\x1f\x8b";
    r.stderr_size = 2;
    r.stderr_dropped = 0;
    got = t_format (SLUICE_FORMAT_JSONL, &r, &size);
    assert_non_null (strstr (got, ",\"stderr_base64\":\"H4s=\"}\n"));
    free (got);
}

//  raw: each output byte for byte, nothing added, nothing for an empty one.
static void
test_raw_keeps_every_byte (void **state)
{
    (void) state;
    sluice_result_t r = t_result (1, "", NULL);
    static const uint8_t gzip [] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x0a, 0x00 };
    r.output = gzip;
    r.output_size = sizeof gzip;
    size_t size;
    char *got = t_format (SLUICE_FORMAT_RAW, &r, &size);
    assert_int_equal (size, sizeof gzip);
    assert_memory_equal (got, gzip, sizeof gzip);
    free (got);
    sluice_result_t empty = t_result (2, "", NULL);
    t_format_expect (SLUICE_FORMAT_RAW, &empty, "");
    sluice_result_t text = t_result (3, "no newline", NULL);
    t_format_expect (SLUICE_FORMAT_RAW, &text, "no newline");
}

static void
test_jsonl_escapes_the_input_too (void **state)
{
    (void) state;
    sluice_result_t r = t_result (1, "", "say \"hi\"\n");
    size_t size;
    char *got = t_format (SLUICE_FORMAT_JSONL, &r, &size);
    assert_non_null (strstr (got, "\"input\":\"say \\\"hi\\\"\\n\","));
    free (got);
}

//  --------------------------------------------------------------------------
//  msgpack

//  The bytes of a msgpack uint64 (always 9 bytes, as the sink writes it).
#define T_U64(v) 0xcf, 0, 0, 0, 0, (uint8_t) ((v) >> 24), (uint8_t) ((v) >> 16), \
                 (uint8_t) ((v) >> 8), (uint8_t) (v)

static void
test_msgpack_record_is_a_map_of_nine_keys_byte_for_byte (void **state)
{
    (void) state;
    sluice_result_t r = t_result (7, "hi", NULL);
    static const uint8_t want [] = {
        0x89,
        0xa2, 'i', 'd', T_U64 (7),
        0xa6, 's', 't', 'a', 't', 'u', 's', 0xa2, 'o', 'k',
        0xa4, 'c', 'o', 'd', 'e', T_U64 (0),
        0xa8, 'a', 't', 't', 'e', 'm', 'p', 't', 's', T_U64 (1),
        0xa6, 'w', 'o', 'r', 'k', 'e', 'r', 0xc6, 0, 0, 0, 2, 'w', '1',
        0xaa, 'e', 'l', 'a', 'p', 's', 'e', 'd', '_', 'u', 's', T_U64 (1500000),
        0xa6, 'o', 'u', 't', 'p', 'u', 't', 0xc6, 0, 0, 0, 2, 'h', 'i',
        0xa6, 's', 't', 'd', 'e', 'r', 'r', 0xc6, 0, 0, 0, 0,
        0xae, 's', 't', 'd', 'e', 'r', 'r', '_', 'd', 'r', 'o', 'p', 'p', 'e', 'd', T_U64 (0),
    };
    size_t size;
    char *got = t_format (SLUICE_FORMAT_MSGPACK, &r, &size);
    assert_int_equal (size, sizeof want);
    assert_memory_equal (got, want, sizeof want);
    free (got);
}

static void
test_msgpack_record_with_input_has_a_tenth_key (void **state)
{
    (void) state;
    sluice_result_t r = t_result (1, "", "in");
    r.status = SLUICE_STATUS_SIGNAL;
    r.code = -1;                                            //  written as uint32
    size_t size;
    uint8_t *got = (uint8_t *) t_format (SLUICE_FORMAT_MSGPACK, &r, &size);
    assert_int_equal (got [0], 0x8a);
    static const uint8_t code [] = { 0xa4, 'c', 'o', 'd', 'e', 0xcf, 0, 0, 0, 0,
                                     0xff, 0xff, 0xff, 0xff };
    assert_non_null (memmem (got, size, code, sizeof code));
    static const uint8_t tail [] = { 0xa6, 'o', 'u', 't', 'p', 'u', 't', 0xc6, 0, 0, 0, 0,
                                     0xa5, 'i', 'n', 'p', 'u', 't', 0xc6, 0, 0, 0, 2,
                                     'i', 'n' };
    assert_non_null (memmem (got, size, tail, sizeof tail));
    static const uint8_t status [] = { 0xa6, 's', 'i', 'g', 'n', 'a', 'l' };
    assert_non_null (memmem (got, size, status, sizeof status));
    free (got);
}

//  A msgpack record reads back (sluice cat) as the result it was written
//  from, so every other format can be made from it later, byte for byte.
static void
test_msgpack_record_parses_back_to_its_result (void **state)
{
    (void) state;
    sluice_result_t r = t_result (9, "\x1f\x8b", "in\xff");
    r.status = SLUICE_STATUS_EXIT;
    r.code = -2;
    r.attempt = 3;
    r.stderr_data = (const uint8_t *) "oops\n";
    r.stderr_size = 5;
    r.stderr_dropped = 77;
    size_t size;
    uint8_t *got = (uint8_t *) t_format (SLUICE_FORMAT_MSGPACK, &r, &size);
    sluice_result_t back;
    const uint8_t *worker;
    size_t worker_size;
    assert_int_equal (sluice_record_parse_result (got, size, &back, &worker, &worker_size),
                      (long) size);
    assert_int_equal (back.id, 9);
    assert_int_equal (back.status, SLUICE_STATUS_EXIT);
    assert_int_equal (back.code, -2);
    assert_int_equal (back.attempt, 3);
    assert_int_equal (back.elapsed_us, 1500000);
    assert_int_equal (back.output_size, 2);
    assert_memory_equal (back.output, "\x1f\x8b", 2);
    assert_int_equal (back.input_size, 3);
    assert_memory_equal (back.input, "in\xff", 3);
    assert_int_equal (back.stderr_size, 5);
    assert_int_equal (back.stderr_dropped, 77);
    assert_int_equal (worker_size, 2);
    assert_memory_equal (worker, "w1", 2);
    //  incomplete: wait for more; not a record: refused
    assert_int_equal (sluice_record_parse_result (got, size - 1, &back, &worker, &worker_size), 0);
    assert_int_equal (sluice_record_parse_result ((const uint8_t *) "\xc4\x01x", 3, &back,
                                                  &worker, &worker_size), -1);
    free (got);
}

//  --------------------------------------------------------------------------
//  Buffer, commit and resume

static void
test_a_record_is_taken_back_with_since_and_cut (void **state)
{
    (void) state;
    int file_fd;
    sluice_output_t *output = t_output (SLUICE_FORMAT_LINES, &file_fd);
    sluice_result_t a = t_result (1, "one", NULL);
    sluice_result_t b = t_result (2, "two", NULL);
    sluice_output_record (output, &a, (const uint8_t *) "", 0);
    size_t mark = sluice_output_size (output);
    sluice_output_record (output, &b, (const uint8_t *) "", 0);
    size_t size;
    const uint8_t *record = sluice_output_since (output, mark, &size);
    assert_int_equal (size, 4);
    assert_memory_equal (record, "two\n", 4);
    char held [4];
    memcpy (held, record, 4);
    sluice_output_cut (output, mark);                       //  held for order
    assert_int_equal (sluice_output_size (output), 4);
    sluice_output_put (output, held, 4);                    //  released later
    assert_int_equal (sluice_output_flush (output), 0);
    char *bytes = t_file_bytes (file_fd, &size);
    assert_string_equal (bytes, "one\ntwo\n");
    free (bytes);
    sluice_output_destroy (&output);
    close (file_fd);
}

static void
test_resume_cuts_bytes_written_past_the_last_commit (void **state)
{
    (void) state;
    int file_fd;
    sluice_output_t *output = t_output (SLUICE_FORMAT_LINES, &file_fd);
    assert_int_equal (write (file_fd, "1\n2\n13\n17\n", 10), 10);   //  13, 17 uncommitted
    char err [256];
    assert_int_equal (sluice_output_resume (output, true, 4, err, sizeof err), 0);
    assert_int_equal (sluice_output_committed (output), 4);
    assert_int_equal (lseek (file_fd, 0, SEEK_END), 4);
    sluice_output_destroy (&output);
    close (file_fd);
}

static void
test_resume_without_a_commit_goes_on_at_the_end (void **state)
{
    (void) state;
    int file_fd;
    sluice_output_t *output = t_output (SLUICE_FORMAT_LINES, &file_fd);
    assert_int_equal (write (file_fd, "earlier\n", 8), 8);
    char err [256];
    assert_int_equal (sluice_output_resume (output, false, 0, err, sizeof err), 0);
    assert_int_equal (sluice_output_committed (output), 8);
    sluice_output_destroy (&output);
    close (file_fd);
}

static void
test_flush_fails_when_the_output_cannot_be_written (void **state)
{
    (void) state;
    int fds [2];
    assert_int_equal (pipe (fds), 0);
    close (fds [0]);                                        //  no reader: EPIPE
    signal (SIGPIPE, SIG_IGN);
    sluice_output_t *output = sluice_output_new (fds [1], SLUICE_FORMAT_LINES);
    sluice_result_t r = t_result (1, "lost", NULL);
    sluice_output_record (output, &r, (const uint8_t *) "", 0);
    assert_int_equal (sluice_output_flush (output), -1);
    sluice_output_destroy (&output);
}

//  A failed output stays failed: later flushes fail too (silently: the
//  error was logged once) and nothing is committed.
static void
test_a_failed_output_stays_failed (void **state)
{
    (void) state;
    char err [256];
    sluice_output_t *output = sluice_output_open ("/dev/full", false, SLUICE_FORMAT_LINES,
                                                  err, sizeof err);
    assert_non_null (output);
    sluice_result_t r = t_result (1, "full", NULL);
    sluice_output_record (output, &r, (const uint8_t *) "", 0);
    assert_int_equal (sluice_output_flush (output), -1);
    assert_int_equal (sluice_output_flush (output), -1);
    assert_int_equal (sluice_output_committed (output), 0);
    sluice_output_destroy (&output);
}

//  --------------------------------------------------------------------------
//  Reader

static void
test_reader_hands_back_each_result_whole_and_in_order (void **state)
{
    (void) state;
    sluice_output_t *output = sluice_output_new_reader ();
    sluice_result_t a = t_result (1, "alpha", "in-a");
    a.status = SLUICE_STATUS_EXIT;
    a.code = -3;
    a.flags = 2;
    sluice_result_t b = t_result (2, "", NULL);
    sluice_output_record (output, &a, (const uint8_t *) "w1", 2);
    sluice_output_record (output, &b, (const uint8_t *) "w1", 2);
    assert_int_equal (sluice_output_flush (output), 0);     //  a reader keeps them
    assert_true (sluice_output_ready (output));
    sluice_result_t r;
    assert_int_equal (sluice_output_take (output, &r), 1);
    assert_int_equal (r.id, 1);
    assert_int_equal (r.status, SLUICE_STATUS_EXIT);
    assert_int_equal (r.code, -3);
    assert_int_equal (r.flags, 2);
    assert_int_equal (r.attempt, 1);
    assert_int_equal (r.elapsed_us, 1500000);
    assert_int_equal (r.output_size, 5);
    assert_memory_equal (r.output, "alpha", 5);
    assert_int_equal (r.input_size, 4);
    assert_memory_equal (r.input, "in-a", 4);
    assert_int_equal (sluice_output_take (output, &r), 1);
    assert_int_equal (r.id, 2);
    assert_int_equal (r.output_size, 0);
    assert_null (r.input);
    assert_false (sluice_output_ready (output));
    assert_int_equal (sluice_output_take (output, &r), 0);
    sluice_output_destroy (&output);
}

static void
test_reader_keeps_a_taken_result_valid_while_more_arrive (void **state)
{
    (void) state;
    sluice_output_t *output = sluice_output_new_reader ();
    sluice_result_t a = t_result (1, "first", NULL);
    sluice_output_record (output, &a, (const uint8_t *) "", 0);
    sluice_result_t r;
    assert_int_equal (sluice_output_take (output, &r), 1);
    //  enough records to move the buffer
    char big [4096];
    memset (big, 'x', sizeof big - 1);
    big [sizeof big - 1] = 0;
    sluice_result_t b = t_result (2, big, NULL);
    for (int i = 0; i < 100; i++)
        sluice_output_record (output, &b, (const uint8_t *) "", 0);
    assert_memory_equal (r.output, "first", 5);
    for (int i = 0; i < 100; i++) {
        assert_int_equal (sluice_output_take (output, &r), 1);
        assert_int_equal (r.output_size, sizeof big - 1);
    }
    assert_int_equal (sluice_output_take (output, &r), 0);
    sluice_output_destroy (&output);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_lines_are_flushed_to_the_file_and_committed),
        cmocka_unit_test (test_lines_add_a_newline_only_when_missing),
        cmocka_unit_test (test_lines_write_nothing_for_an_empty_output),
        cmocka_unit_test (test_jsonl_record_has_every_field_in_a_fixed_order),
        cmocka_unit_test (test_jsonl_input_is_null_when_not_returned),
        cmocka_unit_test (test_jsonl_escapes_quotes_backslashes_and_control_bytes),
        cmocka_unit_test (test_jsonl_passes_valid_utf8_as_a_string),
        cmocka_unit_test (test_jsonl_writes_invalid_utf8_as_base64),
        cmocka_unit_test (test_jsonl_base64_for_overlong_surrogate_and_too_large_utf8),
        cmocka_unit_test (test_jsonl_carries_stderr_and_its_truncation),
        cmocka_unit_test (test_raw_keeps_every_byte),
        cmocka_unit_test (test_jsonl_escapes_the_input_too),
        cmocka_unit_test (test_msgpack_record_is_a_map_of_nine_keys_byte_for_byte),
        cmocka_unit_test (test_msgpack_record_with_input_has_a_tenth_key),
        cmocka_unit_test (test_msgpack_record_parses_back_to_its_result),
        cmocka_unit_test (test_a_record_is_taken_back_with_since_and_cut),
        cmocka_unit_test (test_resume_cuts_bytes_written_past_the_last_commit),
        cmocka_unit_test (test_resume_without_a_commit_goes_on_at_the_end),
        cmocka_unit_test (test_flush_fails_when_the_output_cannot_be_written),
        cmocka_unit_test (test_a_failed_output_stays_failed),
        cmocka_unit_test (test_reader_hands_back_each_result_whole_and_in_order),
        cmocka_unit_test (test_reader_keeps_a_taken_result_valid_while_more_arrive),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
