/*  =========================================================================
    test_termseq.c - the --termseq parser and its steps

    Strategy: the default sequence stepped through with a fake clock as a
    worker stopping a command would, then a table of texts the parser must
    accept or refuse.
    =========================================================================
*/

#include "private.h"
#include "termseq.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

//  Typical use: TERM at once, KILL 200 ms later, then nothing more.
static void
test_default_sequence_steps (void **state)
{
    (void) state;
    sluice_termseq_t seq;
    assert_int_equal (sluice_termseq_parse (SLUICE_TERMSEQ_DEFAULT, &seq), 0);
    sluice_termstop_t stop = { 0, 0 };
    assert_int_equal (sluice_termseq_step (&seq, &stop, 1000), SIGTERM);
    assert_int_equal (sluice_termseq_wait (&seq, &stop, 1000), 200);
    assert_int_equal (sluice_termseq_step (&seq, &stop, 1100), 0);
    assert_int_equal (sluice_termseq_step (&seq, &stop, 1200), SIGKILL);
    assert_int_equal (sluice_termseq_step (&seq, &stop, 5000), 0);
    assert_int_equal (sluice_termseq_wait (&seq, &stop, 5000), -1);
}

static void
test_parse_table (void **state)
{
    (void) state;
    static const struct {
        const char *text;
        int rc;
        size_t count;
    } cases [] = {
        { "TERM,200,KILL", 0, 2 },                  //  the default
        { "TERM,200,TERM,100,TERM,50,KILL,25", 0, 4 },  //  GNU parallel's default
        { "SIGINT", 0, 1 },                         //  SIG prefix, one signal
        { "15,1000,9", 0, 2 },                      //  numbers
        { "KILL", 0, 1 },                           //  at once
        { "", -1, 0 },                              //  nothing
        { "TERM,", -1, 0 },                         //  trailing comma
        { "TERM,abc,KILL", -1, 0 },                 //  wait not a number
        { "NOPE", -1, 0 },                          //  unknown signal
        { "99", -1, 0 },                            //  no such signal number
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        sluice_termseq_t seq;
        int rc = sluice_termseq_parse (cases [i].text, &seq);
        if (rc != cases [i].rc)
            fail_msg ("'%s': %d, expected %d", cases [i].text, rc, cases [i].rc);
        if (rc == 0)
            assert_int_equal (seq.count, cases [i].count);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_default_sequence_steps),
        cmocka_unit_test (test_parse_table),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
