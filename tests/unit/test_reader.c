/*  =========================================================================
    test_reader.c - records from a sequence of input fds

    The first test is the typical use: lines from two inputs in order. The
    rest: a last record without terminator, NUL records, an empty pipe that
    says "nothing ready" instead of blocking, an invalid MessagePack record,
    a record over the size limit. Inputs are pipes written by the test.
    =========================================================================
*/

#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sluice.h"
#include "reader.h"

//  A pipe holding bytes; closed for writing unless keep_open. Returns the
//  read end; *writer gets the write end (or -1).
static int
t_pipe (const void *bytes, size_t size, bool keep_open, int *writer)
{
    int fds [2];
    assert_int_equal (pipe (fds), 0);
    assert_int_equal (write (fds [1], bytes, size), (ssize_t) size);
    if (!keep_open) {
        close (fds [1]);
        fds [1] = -1;
    }
    if (writer)
        *writer = fds [1];
    return fds [0];
}

//  Take the next record, filling as needed; returns its text (static) or
//  NULL when done.
static const char *
t_next (sluice_reader_t *reader)
{
    static char text [256];
    const uint8_t *data;
    size_t size;
    for (int tries = 0; tries < 100; tries++) {
        int rc = sluice_reader_next (reader, &data, &size);
        assert_true (rc >= 0);
        if (rc == 1) {
            memcpy (text, data, size);
            text [size] = 0;
            return text;
        }
        if (sluice_reader_done (reader))
            return NULL;
        assert_int_equal (sluice_reader_fill (reader), 1);
    }
    fail_msg ("no record after 100 fills");
    return NULL;
}

//  Typical use: two inputs read in order, one record per line.
static void
test_lines_of_two_inputs_come_in_order (void **state)
{
    (void) state;
    sluice_reader_t *reader = sluice_reader_new (SLUICE_INPUT_LINES, 1 << 20);
    int a = t_pipe ("one\ntwo\n", 8, false, NULL);
    int b = t_pipe ("three\n", 6, false, NULL);
    sluice_reader_add (reader, a, "a");
    sluice_reader_add (reader, b, "b");
    assert_string_equal (t_next (reader), "one");
    assert_string_equal (t_next (reader), "two");
    assert_string_equal (t_next (reader), "three");
    assert_null (t_next (reader));
    assert_true (sluice_reader_done (reader));
    assert_int_equal (sluice_reader_fd (reader), -1);
    sluice_reader_destroy (&reader);
    assert_null (reader);
    close (a);
    close (b);
}

//  The last record of an input needs no terminator; an empty input gives
//  no record.
static void
test_a_last_record_needs_no_terminator (void **state)
{
    (void) state;
    sluice_reader_t *reader = sluice_reader_new (SLUICE_INPUT_LINES, 1 << 20);
    int a = t_pipe ("x\ny", 3, false, NULL);
    int b = t_pipe ("", 0, false, NULL);
    sluice_reader_add (reader, a, "a");
    sluice_reader_add (reader, b, "b");
    assert_string_equal (t_next (reader), "x");
    assert_string_equal (t_next (reader), "y");
    assert_null (t_next (reader));
    sluice_reader_destroy (&reader);
    close (a);
    close (b);
}

//  A record that arrives in pieces is cut whole: the search for its end
//  resumes after the bytes already searched (it once restarted from the
//  record's start after every read), and starts over for the next record.
static void
test_a_record_arriving_in_pieces_is_cut_whole (void **state)
{
    (void) state;
    sluice_reader_t *reader = sluice_reader_new (SLUICE_INPUT_LINES, 1 << 20);
    int writer;
    int fd = t_pipe ("abc", 3, true, &writer);
    sluice_reader_add (reader, fd, "pipe");
    const uint8_t *data;
    size_t size;
    //  each piece is read, and searched, before the next one is written
    const char *pieces [] = { "def", "gh\nxy", "z", "\nlast" };
    const char *records [] = { NULL, "abcdefgh", NULL, "xyz" };
    assert_int_equal (sluice_reader_fill (reader), 1);
    assert_int_equal (sluice_reader_next (reader, &data, &size), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal (write (writer, pieces [i], strlen (pieces [i])),
                          (ssize_t) strlen (pieces [i]));
        assert_int_equal (sluice_reader_fill (reader), 1);
        if (records [i]) {
            assert_int_equal (sluice_reader_next (reader, &data, &size), 1);
            assert_int_equal (size, strlen (records [i]));
            assert_memory_equal (data, records [i], size);
        }
        assert_int_equal (sluice_reader_next (reader, &data, &size), 0);
    }
    close (writer);
    assert_string_equal (t_next (reader), "last");
    assert_null (t_next (reader));
    sluice_reader_destroy (&reader);
    close (fd);
}

//  NUL-terminated records may hold newlines.
static void
test_nul_records_may_hold_newlines (void **state)
{
    (void) state;
    sluice_reader_t *reader = sluice_reader_new (SLUICE_INPUT_NUL, 1 << 20);
    int a = t_pipe ("a\nb\0c\0", 6, false, NULL);
    sluice_reader_add (reader, a, "a");
    assert_string_equal (t_next (reader), "a\nb");
    assert_string_equal (t_next (reader), "c");
    assert_null (t_next (reader));
    sluice_reader_destroy (&reader);
    close (a);
}

//  An open pipe with nothing in it says "nothing ready"; it never blocks.
static void
test_an_empty_open_pipe_is_not_ready (void **state)
{
    (void) state;
    sluice_reader_t *reader = sluice_reader_new (SLUICE_INPUT_LINES, 1 << 20);
    int writer;
    int a = t_pipe ("par", 3, true, &writer);
    sluice_reader_add (reader, a, "a");
    const uint8_t *data;
    size_t size;
    assert_int_equal (sluice_reader_fill (reader), 1);
    assert_int_equal (sluice_reader_next (reader, &data, &size), 0);   //  incomplete
    assert_int_equal (sluice_reader_fill (reader), 0);                  //  EAGAIN
    assert_int_equal (sluice_reader_fd (reader), a);
    assert_int_equal (write (writer, "tial\n", 5), 5);
    assert_string_equal (t_next (reader), "partial");
    close (writer);
    assert_null (t_next (reader));
    sluice_reader_destroy (&reader);
    close (a);
}

//  An invalid MessagePack record stops the reader.
static void
test_an_invalid_msgpack_record_is_an_error (void **state)
{
    (void) state;
    sluice_reader_t *reader = sluice_reader_new (SLUICE_INPUT_MSGPACK, 1 << 20);
    //  a bin of 2 bytes "hi", then a positive fixint (not a record)
    int a = t_pipe ("\xc4\x02hi\x07", 5, false, NULL);
    sluice_reader_add (reader, a, "a");
    assert_string_equal (t_next (reader), "hi");
    const uint8_t *data;
    size_t size;
    assert_int_equal (sluice_reader_next (reader, &data, &size), -1);
    sluice_reader_destroy (&reader);
    close (a);
}

//  A record larger than max_size is an error, not an endless buffer: it
//  is read (unbuffered) to its end, here the end of input, to name its size.
static void
test_a_record_over_max_size_is_an_error (void **state)
{
    (void) state;
    sluice_reader_t *reader = sluice_reader_new (SLUICE_INPUT_LINES, 1000);
    static char big [64 * 1024];
    memset (big, 'x', sizeof big);
    int writer;
    int a = t_pipe (big, sizeof big, true, &writer);
    sluice_reader_add (reader, a, "a");
    int rc = 1;
    const uint8_t *data;
    size_t size;
    for (int i = 0; i < 100 && rc == 1; i++) {
        assert_int_equal (sluice_reader_next (reader, &data, &size), 0);
        rc = sluice_reader_fill (reader);
        if (rc == 0)
            assert_int_equal (write (writer, big, sizeof big), (ssize_t) sizeof big);
        rc = rc == 0? 1: rc;
    }
    assert_int_equal (rc, 1);       //  still reading to the record's end
    close (writer);
    for (int i = 0; i < 1000 && rc == 1; i++)
        rc = sluice_reader_fill (reader);
    assert_int_equal (rc, -1);
    sluice_reader_destroy (&reader);
    close (a);
}

//  A complete record over the payload limit is an error too, even one
//  that fits the read buffer; a record of exactly the limit is not.
static void
test_a_buffered_record_over_max_size_is_an_error (void **state)
{
    (void) state;
    sluice_reader_t *reader = sluice_reader_new (SLUICE_INPUT_LINES, 2048);    //  records of 1024
    static char lines [1025 + 1026];
    memset (lines, 'x', sizeof lines);
    lines [1024] = '\n';             //  record 1: 1024 bytes
    lines [sizeof lines - 1] = '\n'; //  record 2: 1025 bytes
    int a = t_pipe (lines, sizeof lines, false, NULL);
    sluice_reader_add (reader, a, "a");
    const uint8_t *data;
    size_t size;
    assert_int_equal (sluice_reader_fill (reader), 1);
    assert_int_equal (sluice_reader_next (reader, &data, &size), 1);
    assert_int_equal (size, 1024);
    assert_int_equal (sluice_reader_next (reader, &data, &size), -1);
    sluice_reader_destroy (&reader);
    close (a);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_lines_of_two_inputs_come_in_order),
        cmocka_unit_test (test_a_last_record_needs_no_terminator),
        cmocka_unit_test (test_a_record_arriving_in_pieces_is_cut_whole),
        cmocka_unit_test (test_nul_records_may_hold_newlines),
        cmocka_unit_test (test_an_empty_open_pipe_is_not_ready),
        cmocka_unit_test (test_an_invalid_msgpack_record_is_an_error),
        cmocka_unit_test (test_a_record_over_max_size_is_an_error),
        cmocka_unit_test (test_a_buffered_record_over_max_size_is_an_error),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
