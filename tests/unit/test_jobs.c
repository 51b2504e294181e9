/*  =========================================================================
    test_jobs.c - GNU parallel's job options: halt, rerun, joblog, median

    Strategy: each module's typical use first (a --halt spec evaluated as
    a batch goes, a failed run retried, a joblog written and read back),
    then tables of the parser's cases and of parallel's exit codes as
    parallel 20221122 gives them (measured, see lib/halt.c), and the range
    resolution a retried journal relies on: ok wins over failed.
    =========================================================================
*/

#include "private.h"
#include "halt.h"
#include "rerun.h"
#include "joblog.h"
#include "median.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>
#include <cmocka.h>

//  Typical use: soon,fail=3% of 100 tasks holds at the third failure.
static void
test_halt_holds_at_its_percentage (void **state)
{
    (void) state;
    sluice_halt_t halt;
    assert_int_equal (sluice_halt_parse ("soon,fail=3%", &halt), 0);
    assert_false (sluice_halt_reached (&halt, 50, 2, 100));
    assert_true (sluice_halt_reached (&halt, 51, 3, 100));
    char text [32];
    sluice_halt_text (&halt, text, sizeof text);
    assert_string_equal (text, "soon,fail=3%");
}

static void
test_halt_parse_table (void **state)
{
    (void) state;
    static const struct {
        const char *text;
        int rc;
        sluice_halt_when_t when;
        sluice_halt_why_t why;
        uint64_t count;
        bool percent;
    } cases [] = {
        { "now,fail=1", 0, SLUICE_HALT_NOW, SLUICE_HALT_FAIL, 1, false },
        { "soon,success=2", 0, SLUICE_HALT_SOON, SLUICE_HALT_SUCCESS, 2, false },
        { "now,done=50%", 0, SLUICE_HALT_NOW, SLUICE_HALT_DONE, 50, true },
        { "never", 0, SLUICE_HALT_NEVER, SLUICE_HALT_FAIL, 0, false },
        { "2", 0, SLUICE_HALT_NOW, SLUICE_HALT_FAIL, 1, false },        //  parallel's old
        { "-1", 0, SLUICE_HALT_SOON, SLUICE_HALT_SUCCESS, 1, false },
        { "20%", 0, SLUICE_HALT_SOON, SLUICE_HALT_FAIL, 20, true },
        { "later,fail=1", -1, 0, 0, 0, false },                         //  no such WHEN
        { "now,fail=0", -1, 0, 0, 0, false },                           //  never holds
        { "now,fail=101%", -1, 0, 0, 0, false },
        { "now,fail=1x", -1, 0, 0, 0, false },
        { "now,oops=1", -1, 0, 0, 0, false },
        { "now", -1, 0, 0, 0, false },
        { "", -1, 0, 0, 0, false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        sluice_halt_t halt;
        int rc = sluice_halt_parse (cases [i].text, &halt);
        if (rc != cases [i].rc)
            fail_msg ("'%s': %d, expected %d", cases [i].text, rc, cases [i].rc);
        if (rc == 0 && (halt.when != cases [i].when || halt.why != cases [i].why
                    ||  halt.count != cases [i].count || halt.percent != cases [i].percent))
            fail_msg ("'%s': parsed wrong", cases [i].text);
    }
}

//  The exit codes parallel gives (tests/integration/58-jobs.sh runs both)
static void
test_halt_exit_codes_are_parallels (void **state)
{
    (void) state;
    static const struct {
        const char *halt;       //  NULL: no --halt
        uint64_t done, failed, total;
        int last_code;
        int exit;
    } cases [] = {
        { NULL, 5, 0, 5, 0, 0 },                    //  all ok
        { NULL, 5, 3, 5, 2, 3 },                    //  the number failed
        { NULL, 150, 150, 150, 1, 101 },            //  more than 100
        { "now,fail=1", 2, 1, 6, 3, 3 },            //  the failed task's code
        { "soon,fail=2", 3, 2, 7, 4, 2 },           //  a count: the number
        { "soon,fail=30%", 10, 1, 10, 1, 10 },      //  not reached: still the %
        { "soon,fail=50%", 7, 5, 10, 1, 50 },
        { "soon,success=2", 3, 1, 5, 1, 0 },        //  reached: 0
        { "soon,success=9", 3, 2, 3, 1, 2 },        //  not reached: the number
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        sluice_halt_t halt;
        if (cases [i].halt)
            assert_int_equal (sluice_halt_parse (cases [i].halt, &halt), 0);
        int code = sluice_halt_exit (cases [i].halt? &halt: NULL, cases [i].done,
                                     cases [i].failed, cases [i].total, cases [i].last_code);
        if (code != cases [i].exit)
            fail_msg ("case %zu (%s): exit %d, expected %d", i,
                      cases [i].halt? cases [i].halt: "none", code, cases [i].exit);
    }
}

//  Typical use: ids 1-5 ran, 2 and 4 failed; retry runs exactly 2 and 4,
//  resume also runs 6 on, never run.
static void
test_rerun_runs_exactly_the_failed (void **state)
{
    (void) state;
    sluice_rerun_t *retry = sluice_rerun_new (SLUICE_RERUN_RETRY_FAILED);
    sluice_rerun_t *resume = sluice_rerun_new (SLUICE_RERUN_RESUME_FAILED);
    sluice_rerun_t *both [2] = { retry, resume };
    for (int i = 0; i < 2; i++) {
        sluice_rerun_add (both [i], 1, 1, false);
        sluice_rerun_add (both [i], 2, 2, true);
        sluice_rerun_add (both [i], 3, 3, false);
        sluice_rerun_add (both [i], 5, 5, false);
        sluice_rerun_add (both [i], 4, 4, true);
    }
    for (uint64_t id = 1; id <= 7; id++) {
        bool failed = id == 2 || id == 4;
        assert_int_equal (sluice_rerun_skips (retry, id), !failed);
        assert_int_equal (sluice_rerun_skips (resume, id), !failed && id <= 5);
    }
    assert_int_equal (sluice_rerun_failed (retry), 2);
    assert_int_equal (sluice_rerun_ok (retry), 3);
    sluice_rerun_destroy (&retry);
    sluice_rerun_destroy (&resume);
    assert_null (retry);
}

//  A journal that retried: an ok range wins over the failed one it overlaps.
static void
test_ranges_resolve_ok_wins (void **state)
{
    (void) state;
    sluice_range_t in [] = { { 1, 10, true }, { 3, 3, false }, { 8, 12, false },
                             { 20, 21, true }, { 2, 2, true } };
    size_t count;
    sluice_range_t *out = sluice_ranges_resolve (in, 5, &count);
    sluice_range_t want [] = { { 1, 2, true }, { 3, 3, false }, { 4, 7, true },
                               { 8, 12, false }, { 20, 21, true } };
    assert_int_equal (count, 5);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal (out [i].first, want [i].first);
        assert_int_equal (out [i].last, want [i].last);
        assert_int_equal (out [i].failed, want [i].failed);
    }
    free (out);
    assert_null (sluice_ranges_resolve (in, 0, &count));
    assert_int_equal (count, 0);
}

//  Typical use: a joblog written as parallel's, read back for --retry-failed.
static void
test_joblog_written_and_read_back (void **state)
{
    (void) state;
    char path [] = "/tmp/test_jobs.XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    char err [256];
    sluice_joblog_t *log = sluice_joblog_open (path, "echo {}", NULL, false, err, sizeof err);
    assert_non_null (log);
    sluice_result_t ok = { .id = 1, .status = SLUICE_STATUS_OK, .elapsed_us = 1500,
                           .output = (const uint8_t *) "a\n", .output_size = 2,
                           .input = (const uint8_t *) "a", .input_size = 1 };
    sluice_result_t bad = { .id = 2, .status = SLUICE_STATUS_SIGNAL, .code = 9,
                            .input = (const uint8_t *) "b c", .input_size = 3 };
    sluice_joblog_write (log, &ok, (const uint8_t *) "h:1:1", 5);
    sluice_joblog_write (log, &bad, (const uint8_t *) "h:1:1", 5);
    sluice_joblog_destroy (&log);
    FILE *file = fopen (path, "r");
    char line [256];
    assert_non_null (fgets (line, sizeof line, file));
    assert_string_equal (line, SLUICE_JOBLOG_HEADER "\n");
    assert_non_null (fgets (line, sizeof line, file));
    char *runtime = strchr (strchr (strchr (line, '\t') + 1, '\t') + 1, '\t') + 1;
    assert_memory_equal (runtime, "     0.002\t1\t2\t0\t0\techo a\n", 27);
    assert_non_null (fgets (line, sizeof line, file));
    assert_non_null (strstr (line, "\t3\t0\t0\t9\techo 'b c'\n"));
    fclose (file);
    sluice_rerun_t *rerun = sluice_rerun_new (SLUICE_RERUN_RETRY_FAILED);
    size_t skipped = 9;
    assert_int_equal (sluice_joblog_load (path, rerun, &skipped, err, sizeof err), 0);
    assert_int_equal (skipped, 0);
    assert_true (sluice_rerun_skips (rerun, 1));
    assert_false (sluice_rerun_skips (rerun, 2));
    sluice_rerun_destroy (&rerun);
    unlink (path);
}

//  Typical use: no median before SLUICE_MEDIAN_MIN values, then the middle one.
static void
test_median_of_the_last_values (void **state)
{
    (void) state;
    sluice_median_t *median = sluice_median_new ();
    int64_t value;
    sluice_median_add (median, 100);
    sluice_median_add (median, 300);
    assert_false (sluice_median_get (median, &value));
    sluice_median_add (median, 200);
    assert_true (sluice_median_get (median, &value));
    assert_int_equal (value, 200);
    for (int i = 0; i < SLUICE_MEDIAN_KEEP; i++)
        sluice_median_add (median, 7);          //  the old values are forgotten
    assert_true (sluice_median_get (median, &value));
    assert_int_equal (value, 7);
    sluice_median_destroy (&median);
    assert_null (median);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_halt_holds_at_its_percentage),
        cmocka_unit_test (test_halt_parse_table),
        cmocka_unit_test (test_halt_exit_codes_are_parallels),
        cmocka_unit_test (test_rerun_runs_exactly_the_failed),
        cmocka_unit_test (test_ranges_resolve_ok_wins),
        cmocka_unit_test (test_joblog_written_and_read_back),
        cmocka_unit_test (test_median_of_the_last_values),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
