/*  =========================================================================
    test_ledger.c - the journal and state file format: one writer, one parser

    The first test is the typical use: a ventilator records its batch and
    acknowledged ranges, and a re-run reads them back. The rest feed the
    parser hand-written files: torn last lines, corrupt lines, overlapping
    and out-of-order ranges, an empty file, a file naming two batches, the
    journal's older ack line, and the sink's state file: commits with
    offsets, a torn commit, a corrupt line among commits, end, and a commit
    before any batch.
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
#include "ledger.h"

#define T_BATCH_A "000102030405060708090a0b0c0d0e0f"
#define T_BATCH_B "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"

static const uint8_t t_batch_a [SLUICE_BATCH_SIZE] = {
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
};

//  A fresh temporary path (the file does not exist); free with t_remove.
static char *
t_path (void)
{
    char *path = strdup ("/tmp/sluice-test-ledger-XXXXXX");
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    unlink (path);
    return path;
}

//  A temporary file holding text.
static char *
t_file (const char *text)
{
    char *path = t_path ();
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
    return path;
}

//  The whole content of a file (free it).
static char *
t_read (const char *path)
{
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    char *text = calloc (1, 4096);
    size_t n = fread (text, 1, 4095, file);
    text [n] = 0;
    fclose (file);
    return text;
}

static void
t_remove (char *path)
{
    unlink (path);
    free (path);
}

//  Open a ledger that must open.
static sluice_ledger_t *
t_open (const char *path)
{
    char err [256] = "";
    sluice_ledger_t *ledger = sluice_ledger_open (path, err, sizeof err);
    assert_non_null (ledger);
    return ledger;
}

//  Typical use: write a batch and two drains of ranges; a re-run reads the
//  batch and merged ranges back.
static void
test_a_journal_written_is_read_back_by_a_rerun (void **state)
{
    (void) state;
    char *path = t_path ();
    sluice_ledger_t *ledger = t_open (path);
    assert_false (sluice_ledger_batch (ledger, NULL, NULL));
    assert_int_equal (sluice_ledger_write_batch (ledger, t_batch_a, 0), 0);
    sluice_ledger_add_range (ledger, 1, 3, false);
    sluice_ledger_add_range (ledger, 4, 4, false);         //  joins 1-3
    sluice_ledger_add_range (ledger, 6, 6, true);
    assert_int_equal (sluice_ledger_flush (ledger), 0);
    sluice_ledger_add_range (ledger, 5, 5, false);
    sluice_ledger_destroy (&ledger);                       //  flushes
    assert_null (ledger);
    char *text = t_read (path);
    assert_string_equal (text, "batch " T_BATCH_A "\nack 1-4 6-6f\nack 5-5\n");
    free (text);

    ledger = t_open (path);
    uint8_t batch [SLUICE_BATCH_SIZE];
    assert_true (sluice_ledger_batch (ledger, batch, NULL));
    assert_memory_equal (batch, t_batch_a, SLUICE_BATCH_SIZE);
    size_t count;
    const sluice_range_t *ranges = sluice_ledger_ranges (ledger, &count);
    assert_int_equal (count, 2);
    assert_int_equal (ranges [0].first, 1);
    assert_int_equal (ranges [0].last, 5);
    assert_true (ranges [1].failed);
    assert_int_equal (sluice_ledger_acked (ledger), 6);
    assert_int_equal (sluice_ledger_failed (ledger), 1);
    assert_true (sluice_ledger_has (ledger, 5));
    assert_false (sluice_ledger_has (ledger, 7));
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  A torn last line is ignored and cut, so the next line starts clean.
static void
test_a_torn_last_line_is_ignored_and_cut (void **state)
{
    (void) state;
    char *path = t_file ("batch " T_BATCH_A "\nack 1-2\nack 3-");
    sluice_ledger_t *ledger = t_open (path);
    assert_int_equal (sluice_ledger_acked (ledger), 2);
    assert_int_equal (sluice_ledger_torn (ledger), 6);
    assert_int_equal (sluice_ledger_corrupt (ledger), 0);
    sluice_ledger_add_range (ledger, 3, 3, false);
    sluice_ledger_destroy (&ledger);
    char *text = t_read (path);
    assert_string_equal (text, "batch " T_BATCH_A "\nack 1-2\nack 3-3\n");
    free (text);
    t_remove (path);
}

//  Corrupt complete lines are counted and skipped; the rest load.
static void
test_corrupt_lines_are_counted_and_skipped (void **state)
{
    (void) state;
    char *path = t_file ("batch " T_BATCH_A "\n"
                         "ack 1-2\n"
                         "ack 5-3\n"                 //  last before first
                         "ack 0-1\n"                 //  ids start at 1
                         "ack 4-x\n"                 //  not a number
                         "batch 0011\n"              //  short batch id
                         "garbage\n"                 //  unknown verb
                         "\n"                        //  empty line
                         "end\n"                     //  missing total
                         "ack 7-8\n");
    sluice_ledger_t *ledger = t_open (path);
    assert_int_equal (sluice_ledger_corrupt (ledger), 7);
    assert_int_equal (sluice_ledger_acked (ledger), 4);
    assert_true (sluice_ledger_has (ledger, 8));
    assert_false (sluice_ledger_has (ledger, 4));
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  Overlapping and out-of-order ranges merge; an id counts once, and an
//  id acknowledged both failed and ok (a --retry-failed run) is ok.
static void
test_overlapping_out_of_order_ranges_merge (void **state)
{
    (void) state;
    char *path = t_file ("batch " T_BATCH_A "\n"
                         "ack 10-20 1-5\n"
                         "ack 3-12f\n"
                         "ack 21-21\n"
                         "ack 15-16\n");
    sluice_ledger_t *ledger = t_open (path);
    size_t count;
    const sluice_range_t *ranges = sluice_ledger_ranges (ledger, &count);
    //  1-5 ok, 6-9 failed (3-12f, where no ok range holds it), 10-21 ok
    assert_int_equal (count, 3);
    assert_int_equal (ranges [0].last, 5);
    assert_int_equal (ranges [1].first, 6);
    assert_int_equal (ranges [1].last, 9);
    assert_true (ranges [1].failed);
    assert_int_equal (ranges [2].first, 10);
    assert_int_equal (ranges [2].last, 21);
    assert_int_equal (sluice_ledger_acked (ledger), 21);
    assert_int_equal (sluice_ledger_failed (ledger), 4);
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  An empty file, or none, holds no batch and no ranges.
static void
test_an_empty_file_holds_nothing (void **state)
{
    (void) state;
    char *path = t_file ("");
    sluice_ledger_t *ledger = t_open (path);
    assert_false (sluice_ledger_batch (ledger, NULL, NULL));
    assert_int_equal (sluice_ledger_acked (ledger), 0);
    assert_false (sluice_ledger_has (ledger, 1));
    assert_false (sluice_ledger_end (ledger, NULL));
    assert_false (sluice_ledger_committed (ledger, NULL));
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  A later batch line naming another batch forgets the earlier batch.
static void
test_a_journal_from_another_batch_is_forgotten (void **state)
{
    (void) state;
    char *path = t_file ("batch " T_BATCH_B "\nack 1-100\nend 100\n"
                         "complete 100 0\n"
                         "batch " T_BATCH_A "\nack 1-2\n"
                         "batch " T_BATCH_A "\nack 3-3\n");  //  same batch resumed
    sluice_ledger_t *ledger = t_open (path);
    uint8_t batch [SLUICE_BATCH_SIZE];
    assert_true (sluice_ledger_batch (ledger, batch, NULL));
    assert_memory_equal (batch, t_batch_a, SLUICE_BATCH_SIZE);
    assert_int_equal (sluice_ledger_acked (ledger), 3);
    assert_false (sluice_ledger_end (ledger, NULL));
    assert_false (sluice_ledger_complete (ledger, NULL, NULL));
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  A journal written before the range syntax ("ack FIRST LAST FAILED")
//  still loads.
static void
test_the_older_ack_line_still_loads (void **state)
{
    (void) state;
    char *path = t_file ("batch " T_BATCH_A "\nack 1 5 0\nack 6 7 1\n"
                         "ack 8 9 2\n"                //  failed must be 0 or 1
                         "complete 7 2\n");
    sluice_ledger_t *ledger = t_open (path);
    assert_int_equal (sluice_ledger_acked (ledger), 7);
    assert_int_equal (sluice_ledger_failed (ledger), 2);
    assert_int_equal (sluice_ledger_corrupt (ledger), 1);
    uint64_t total, failed;
    assert_true (sluice_ledger_complete (ledger, &total, &failed));
    assert_int_equal (total, 7);
    assert_int_equal (failed, 2);
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  The sink's state file lines: batch with its window, commit offsets with
//  their ranges on the same line, end.
static void
test_a_sink_state_file_loads_commits_and_end (void **state)
{
    (void) state;
    char *path = t_path ();
    sluice_ledger_t *ledger = t_open (path);
    sluice_ledger_write_batch (ledger, t_batch_a, 64);
    sluice_ledger_commit (ledger, 0);                     //  baseline, no ranges
    sluice_ledger_add_range (ledger, 1, 2, false);
    sluice_ledger_add_range (ledger, 4, 4, true);
    sluice_ledger_commit (ledger, 120);
    sluice_ledger_write_end (ledger, 4);
    sluice_ledger_destroy (&ledger);
    char *text = t_read (path);
    assert_string_equal (text, "batch " T_BATCH_A " 64\ncommit 0\n"
                               "commit 120 1-2 4-4f\nend 4\n");
    free (text);
    ledger = t_open (path);
    uint64_t window = 0, offset = 0, total = 0;
    assert_true (sluice_ledger_batch (ledger, NULL, &window));
    assert_int_equal (window, 64);
    assert_true (sluice_ledger_committed (ledger, &offset));
    assert_int_equal (offset, 120);
    assert_true (sluice_ledger_end (ledger, &total));
    assert_int_equal (total, 4);
    assert_int_equal (sluice_ledger_acked (ledger), 3);
    assert_int_equal (sluice_ledger_failed (ledger), 1);
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  A sink's state file as written across runs: commit lines carry the
//  output offset and the ranges of ids it holds; ranges from every commit
//  merge, and the last offset wins.
static void
test_sink_commits_carry_an_offset_and_their_ranges (void **state)
{
    (void) state;
    char *path = t_file ("batch " T_BATCH_A " 100\n"
                         "commit 0\n"                  //  baseline
                         "commit 40 1-3 5-5f\n"
                         "batch " T_BATCH_A " 100\n"   //  resumed
                         "commit 40\n"                 //  its baseline
                         "commit 75 4-4 6-7\n");
    sluice_ledger_t *ledger = t_open (path);
    uint64_t window = 0, offset = 0;
    assert_true (sluice_ledger_batch (ledger, NULL, &window));
    assert_int_equal (window, 100);
    assert_true (sluice_ledger_committed (ledger, &offset));
    assert_int_equal (offset, 75);
    size_t count;
    const sluice_range_t *ranges = sluice_ledger_ranges (ledger, &count);
    //  1-4 ok, 5 failed, 6-7 ok
    assert_int_equal (count, 3);
    assert_int_equal (ranges [0].first, 1);
    assert_int_equal (ranges [0].last, 4);
    assert_true (ranges [1].failed);
    assert_int_equal (ranges [2].last, 7);
    assert_int_equal (sluice_ledger_acked (ledger), 7);
    assert_int_equal (sluice_ledger_failed (ledger), 1);
    assert_false (sluice_ledger_end (ledger, NULL));
    assert_int_equal (sluice_ledger_corrupt (ledger), 0);
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  A commit line torn at the end (the sink died mid-write) is cut: its
//  offset and its ids are not restored, and the next commit starts clean.
static void
test_sink_a_torn_commit_line_is_cut_with_its_ids (void **state)
{
    (void) state;
    char *path = t_file ("batch " T_BATCH_A " 100\ncommit 0\n"
                         "commit 40 1-3\n"
                         "commit 90 4-6 7-");
    sluice_ledger_t *ledger = t_open (path);
    uint64_t offset = 0;
    assert_true (sluice_ledger_committed (ledger, &offset));
    assert_int_equal (offset, 40);
    assert_int_equal (sluice_ledger_acked (ledger), 3);
    assert_false (sluice_ledger_has (ledger, 4));
    assert_int_equal (sluice_ledger_torn (ledger), strlen ("commit 90 4-6 7-"));
    assert_int_equal (sluice_ledger_corrupt (ledger), 0);
    sluice_ledger_add_range (ledger, 4, 4, false);
    assert_int_equal (sluice_ledger_commit (ledger, 55), 0);
    sluice_ledger_destroy (&ledger);
    char *text = t_read (path);
    assert_string_equal (text, "batch " T_BATCH_A " 100\ncommit 0\n"
                               "commit 40 1-3\ncommit 55 4-4\n");
    free (text);
    t_remove (path);
}

//  A corrupt line in the middle of a state file is skipped and counted;
//  the lines on either side load.
static void
test_sink_a_corrupt_line_in_the_middle_is_skipped (void **state)
{
    (void) state;
    char *path = t_file ("batch " T_BATCH_A " 100\ncommit 0\n"
                         "commit 40 1-3\n"
                         "commit 6x 4-5\n"             //  not a number
                         "commit 90 6-7\n"
                         "end 9\n");
    sluice_ledger_t *ledger = t_open (path);
    assert_int_equal (sluice_ledger_corrupt (ledger), 1);
    uint64_t offset = 0, total = 0;
    assert_true (sluice_ledger_committed (ledger, &offset));
    assert_int_equal (offset, 90);
    assert_int_equal (sluice_ledger_acked (ledger), 5);
    assert_false (sluice_ledger_has (ledger, 4));
    assert_true (sluice_ledger_has (ledger, 7));
    assert_true (sluice_ledger_end (ledger, &total));
    assert_int_equal (total, 9);
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  An end line records the batch total, written or loaded; it is
//  forgotten with its batch.
static void
test_sink_an_end_line_gives_the_total (void **state)
{
    (void) state;
    char *path = t_path ();
    sluice_ledger_t *ledger = t_open (path);
    assert_false (sluice_ledger_end (ledger, NULL));
    sluice_ledger_write_batch (ledger, t_batch_a, 8);
    assert_int_equal (sluice_ledger_write_end (ledger, 20), 0);
    sluice_ledger_destroy (&ledger);
    ledger = t_open (path);
    uint64_t total = 0;
    assert_true (sluice_ledger_end (ledger, &total));
    assert_int_equal (total, 20);
    sluice_ledger_destroy (&ledger);
    t_remove (path);

    path = t_file ("batch " T_BATCH_B " 8\nend 20\nbatch " T_BATCH_A " 8\n");
    ledger = t_open (path);
    assert_false (sluice_ledger_end (ledger, NULL));
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  A commit line before any batch line belongs to no batch: its offset
//  and ranges are ignored, and it is not corrupt.
static void
test_sink_a_commit_before_any_batch_is_ignored (void **state)
{
    (void) state;
    char *path = t_file ("commit 500 1-50\n"
                         "batch " T_BATCH_A " 100\n"
                         "commit 0\n");
    sluice_ledger_t *ledger = t_open (path);
    uint64_t offset = 1;
    assert_true (sluice_ledger_committed (ledger, &offset));
    assert_int_equal (offset, 0);
    assert_int_equal (sluice_ledger_acked (ledger), 0);
    assert_int_equal (sluice_ledger_corrupt (ledger), 0);
    sluice_ledger_destroy (&ledger);
    t_remove (path);

    path = t_file ("commit 500 1-50\n");
    ledger = t_open (path);
    assert_false (sluice_ledger_committed (ledger, NULL));
    assert_false (sluice_ledger_batch (ledger, NULL, NULL));
    sluice_ledger_destroy (&ledger);
    t_remove (path);
}

//  A ledger that cannot be opened says why.
static void
test_an_unwritable_path_fails_with_a_message (void **state)
{
    (void) state;
    char err [256] = "";
    sluice_ledger_t *ledger = sluice_ledger_open ("/nonexistent/dir/j", err, sizeof err);
    assert_null (ledger);
    assert_non_null (strstr (err, "cannot open /nonexistent/dir/j"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_a_journal_written_is_read_back_by_a_rerun),
        cmocka_unit_test (test_a_torn_last_line_is_ignored_and_cut),
        cmocka_unit_test (test_corrupt_lines_are_counted_and_skipped),
        cmocka_unit_test (test_overlapping_out_of_order_ranges_merge),
        cmocka_unit_test (test_an_empty_file_holds_nothing),
        cmocka_unit_test (test_a_journal_from_another_batch_is_forgotten),
        cmocka_unit_test (test_the_older_ack_line_still_loads),
        cmocka_unit_test (test_a_sink_state_file_loads_commits_and_end),
        cmocka_unit_test (test_sink_commits_carry_an_offset_and_their_ranges),
        cmocka_unit_test (test_sink_a_torn_commit_line_is_cut_with_its_ids),
        cmocka_unit_test (test_sink_a_corrupt_line_in_the_middle_is_skipped),
        cmocka_unit_test (test_sink_an_end_line_gives_the_total),
        cmocka_unit_test (test_sink_a_commit_before_any_batch_is_ignored),
        cmocka_unit_test (test_an_unwritable_path_fails_with_a_message),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
