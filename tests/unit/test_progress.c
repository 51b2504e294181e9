/*  =========================================================================
    test_progress.c - the progress line's text and its redraws

    The first test is the typical use: a line drawn on a pipe (standing in
    for the terminal) mid-batch and at its end. Then the text itself, from
    the pure sluice_progress_text: the total unknown, the ETA, the bar.
    =========================================================================
*/

#include "private.h"
#include "progress.h"

#include <setjmp.h>
#include <stdarg.h>
#include <unistd.h>
#include <cmocka.h>

//  Read what was drawn on the pipe so far (non-blocking is not needed:
//  the tests read only after writing).
static void
t_drawn (int fd, char *buf, size_t size)
{
    ssize_t n = read (fd, buf, size - 1);
    buf [n > 0? n: 0] = 0;
}

static void
test_line_is_redrawn_in_place_and_left_on_screen_at_the_end (void **state)
{
    (void) state;
    int fds [2];
    assert_int_equal (pipe (fds), 0);
    sluice_progress_t *progress = sluice_progress_new (fds [1], SLUICE_PROGRESS_LINE, 80);
    sluice_counts_t counts = { .done = 5, .failed = 1, .total = 10, .total_known = true,
                               .workers = 2 };
    sluice_progress_draw (progress, &counts, false);
    char buf [1024];
    t_drawn (fds [0], buf, sizeof buf);
    assert_non_null (strstr (buf, "\r\033[Ksluice: 5/10 done, 1 failed, "));
    assert_non_null (strstr (buf, "/s, 2 workers\r"));
    sluice_progress_draw (progress, &counts, false);        //  too soon: nothing
    counts.done = 10;
    sluice_progress_draw (progress, &counts, true);          //  final: always
    t_drawn (fds [0], buf, sizeof buf);
    assert_non_null (strstr (buf, "sluice: 10/10 done, 1 failed, "));
    assert_int_equal (buf [strlen (buf) - 1], '\n');
    sluice_progress_draw (progress, &counts, true);          //  after the end: nothing
    sluice_progress_destroy (&progress);
    assert_null (progress);
    close (fds [1]);
    t_drawn (fds [0], buf, sizeof buf);
    assert_string_equal (buf, "");
    close (fds [0]);
}

static void
test_total_is_unknown_until_the_input_end (void **state)
{
    (void) state;
    sluice_counts_t counts = { .done = 3, .total = 7, .workers = 1 };
    char buf [256];
    sluice_progress_text (&counts, SLUICE_PROGRESS_ETA, 1000, false, 80, buf, sizeof buf);
    assert_string_equal (buf, "sluice: 3/? done, 0 failed, 3/s, 1 worker, ETA ?");
}

static void
test_eta_is_what_is_left_at_the_rate_so_far (void **state)
{
    (void) state;
    sluice_counts_t counts = { .done = 100, .total = 700, .total_known = true, .workers = 1 };
    char buf [256];
    sluice_progress_text (&counts, SLUICE_PROGRESS_ETA, 10000, false, 80, buf, sizeof buf);
    assert_string_equal (buf, "sluice: 100/700 done, 0 failed, 10/s, 1 worker, ETA 1:00");
    sluice_progress_text (&counts, SLUICE_PROGRESS_ETA, 10000, true, 80, buf, sizeof buf);
    assert_string_equal (buf, "sluice: 100/700 done, 0 failed, 10/s, 1 worker, 10.0 s");
}

static void
test_bar_fills_with_the_fraction_done (void **state)
{
    (void) state;
    sluice_counts_t counts = { .done = 1, .total = 2, .total_known = true, .workers = 1 };
    char buf [256];
    sluice_progress_text (&counts, SLUICE_PROGRESS_BAR, 1000, false, 80, buf, sizeof buf);
    assert_non_null (strstr (buf, "] "));
    const char *end = strchr (buf, ']');
    size_t cells = (size_t) (end - buf) - 1;
    assert_true (cells >= 5);
    assert_int_equal (strspn (buf + 1, "#"), cells / 2);
    assert_non_null (strstr (buf, "]  50% 1/2 done, 0 failed, 1/s, 1 worker, ETA 1 s"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_line_is_redrawn_in_place_and_left_on_screen_at_the_end),
        cmocka_unit_test (test_total_is_unknown_until_the_input_end),
        cmocka_unit_test (test_eta_is_what_is_left_at_the_rate_so_far),
        cmocka_unit_test (test_bar_fills_with_the_fraction_done),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
