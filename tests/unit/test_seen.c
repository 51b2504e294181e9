/*  =========================================================================
    test_seen.c - the sink's dedup set and reorder buffer

    The first test is the typical use: results finish out of order, the
    low watermark follows the first id not yet done, and a duplicate is
    recognised. The rest pin down the window (its top, its wrap-around the
    bitmap, growing it for BEGIN's window), skip_to, and the reorder
    buffer's bounds and in-order release. Windows are small (10 tasks, so
    the smallest capacity, 1024 ids) unless a test says otherwise.
    =========================================================================
*/

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "seen.h"

#define T_CAP 1024              //  capacity of a set for a small window

//  --------------------------------------------------------------------------
//  Helpers

//  Mark every id in [first, last] done, in increasing order.
static void
t_add_range (sluice_seen_t *seen, uint64_t first, uint64_t last)
{
    for (uint64_t id = first; id <= last; id++)
        sluice_seen_add (seen, id);
}

//  Hold a record whose bytes are its id in text.
static int
t_hold (sluice_seen_t *seen, uint64_t id)
{
    char text [32];
    int size = snprintf (text, sizeof text, "%llu", (unsigned long long) id);
    return sluice_seen_hold (seen, id, id % 2 == 0, text, (size_t) size);
}

//  Release the next record in order; assert it is the one for id.
static void
t_release_expect (sluice_seen_t *seen, uint64_t want)
{
    uint64_t id;
    bool failed;
    const uint8_t *data;
    size_t size;
    char text [32];
    snprintf (text, sizeof text, "%llu", (unsigned long long) want);
    assert_int_equal (sluice_seen_release (seen, &id, &failed, &data, &size), 1);
    assert_int_equal (id, want);
    assert_int_equal (failed, want % 2 == 0);
    assert_int_equal (size, strlen (text));
    assert_memory_equal (data, text, size);
}

//  True if nothing is waiting to be released.
static bool
t_nothing_to_release (sluice_seen_t *seen)
{
    uint64_t id;
    bool failed;
    const uint8_t *data;
    size_t size;
    return sluice_seen_release (seen, &id, &failed, &data, &size) == 0;
}

//  --------------------------------------------------------------------------
//  Dedup set

static void
test_results_out_of_order_move_the_watermark_once_the_gap_fills (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, false);
    assert_int_equal (sluice_seen_low (seen), 1);
    sluice_seen_add (seen, 3);
    sluice_seen_add (seen, 2);
    assert_int_equal (sluice_seen_low (seen), 1);       //  1 is not done yet
    assert_true (sluice_seen_is_done (seen, 3));
    assert_false (sluice_seen_is_done (seen, 1));
    sluice_seen_add (seen, 1);
    assert_int_equal (sluice_seen_low (seen), 4);       //  1, 2, 3 done
    assert_true (sluice_seen_is_done (seen, 2));        //  a duplicate of 2
    assert_false (sluice_seen_is_done (seen, 4));
    sluice_seen_destroy (&seen);
    assert_null (seen);
    sluice_seen_destroy (&seen);                        //  a second call is safe
}

static void
test_a_duplicate_is_done_whether_below_or_above_the_watermark (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, false);
    t_add_range (seen, 1, 5);
    sluice_seen_add (seen, 9);
    assert_true (sluice_seen_is_done (seen, 4));        //  below the watermark
    assert_true (sluice_seen_is_done (seen, 9));        //  in the bitmap
    sluice_seen_add (seen, 9);                          //  adding again changes nothing
    sluice_seen_add (seen, 2);
    assert_int_equal (sluice_seen_low (seen), 6);
    assert_false (sluice_seen_is_done (seen, 8));
    sluice_seen_destroy (&seen);
}

static void
test_the_window_ends_one_capacity_above_the_watermark (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, false);
    assert_true (sluice_seen_in_window (seen, 1));
    assert_true (sluice_seen_in_window (seen, T_CAP));  //  low 1 + cap - 1
    assert_false (sluice_seen_in_window (seen, T_CAP + 1));
    assert_false (sluice_seen_is_done (seen, T_CAP + 1));
    t_add_range (seen, 1, 100);
    assert_true (sluice_seen_in_window (seen, 100 + T_CAP));
    assert_false (sluice_seen_in_window (seen, 101 + T_CAP));
    assert_true (sluice_seen_in_window (seen, 50));     //  done ids count as inside
    sluice_seen_destroy (&seen);
}

static void
test_the_bitmap_wraps_and_a_reused_bit_starts_clear (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, false);
    //  ids 1..1500 done: the watermark has passed the end of the bitmap
    t_add_range (seen, 1, 1500);
    assert_int_equal (sluice_seen_low (seen), 1501);
    //  bit 476 served id 476; now it serves id 476 + 2 * 1024 = 2524
    assert_false (sluice_seen_is_done (seen, 2524));
    sluice_seen_add (seen, 2524);                       //  top of the window
    assert_true (sluice_seen_is_done (seen, 2524));
    assert_int_equal (sluice_seen_low (seen), 1501);
    //  results out of order across the wrap
    for (uint64_t id = 2523; id >= 1501; id--)
        sluice_seen_add (seen, id);
    assert_int_equal (sluice_seen_low (seen), 2525);
    for (uint64_t id = 2525; id < 2525 + T_CAP; id++)
        assert_false (sluice_seen_is_done (seen, id));
    sluice_seen_destroy (&seen);
}

static void
test_the_set_holds_twice_the_window_at_least (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (3000, false);
    assert_true (sluice_seen_in_window (seen, 8192));   //  cap 8192 >= 6000
    assert_false (sluice_seen_in_window (seen, 8193));
    sluice_seen_destroy (&seen);
}

static void
test_resize_grows_for_begins_window_and_keeps_done_ids (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, false);
    t_add_range (seen, 1, 1000);
    sluice_seen_add (seen, 1005);
    sluice_seen_add (seen, 2000);                       //  wrapped: bit 976
    sluice_seen_resize (seen, 5000);                    //  cap 16384
    assert_int_equal (sluice_seen_low (seen), 1001);
    assert_true (sluice_seen_is_done (seen, 1005));
    assert_true (sluice_seen_is_done (seen, 2000));
    assert_false (sluice_seen_is_done (seen, 1004));
    assert_false (sluice_seen_is_done (seen, 2000 + 1024));
    assert_true (sluice_seen_in_window (seen, 1000 + 16384));
    sluice_seen_resize (seen, 10);                      //  never shrinks
    assert_true (sluice_seen_in_window (seen, 1000 + 16384));
    sluice_seen_destroy (&seen);
}

static void
test_reset_forgets_every_done_id (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, false);
    t_add_range (seen, 1, 10);
    sluice_seen_add (seen, 20);
    sluice_seen_reset (seen);
    assert_int_equal (sluice_seen_low (seen), 1);
    assert_false (sluice_seen_is_done (seen, 5));
    assert_false (sluice_seen_is_done (seen, 20));
    sluice_seen_destroy (&seen);
}

//  --------------------------------------------------------------------------
//  skip_to

static void
test_skip_to_moves_the_watermark_past_done_ids_above_it (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, false);
    sluice_seen_add (seen, 7);
    sluice_seen_skip_to (seen, 5);
    assert_int_equal (sluice_seen_low (seen), 5);
    assert_true (sluice_seen_is_done (seen, 4));
    sluice_seen_add (seen, 6);
    sluice_seen_add (seen, 5);
    assert_int_equal (sluice_seen_low (seen), 8);       //  7 was done already
    sluice_seen_skip_to (seen, 6);                      //  lower: ignored
    assert_int_equal (sluice_seen_low (seen), 8);
    sluice_seen_skip_to (seen, 9);                      //  8 acked elsewhere
    assert_int_equal (sluice_seen_low (seen), 9);
    sluice_seen_add (seen, 10);
    sluice_seen_skip_to (seen, 10);
    assert_int_equal (sluice_seen_low (seen), 11);
    sluice_seen_destroy (&seen);
}

static void
test_skip_to_beyond_the_window_clears_the_bitmap (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, false);
    sluice_seen_add (seen, 3);
    sluice_seen_add (seen, 907);                        //  bit 907, as id 5003
    sluice_seen_skip_to (seen, 5000);
    assert_int_equal (sluice_seen_low (seen), 5000);
    assert_true (sluice_seen_is_done (seen, 4999));
    assert_false (sluice_seen_is_done (seen, 5003));    //  the old bit is clear
    assert_true (sluice_seen_in_window (seen, 5000 + T_CAP - 1));
    sluice_seen_destroy (&seen);
}

//  --------------------------------------------------------------------------
//  Reorder buffer

static void
test_reorder_holds_records_and_releases_them_in_id_order (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, true);
    assert_int_equal (t_hold (seen, 3), 0);
    assert_int_equal (t_hold (seen, 2), 0);
    assert_true (sluice_seen_is_held (seen, 2));
    assert_false (sluice_seen_is_done (seen, 2));       //  held is not done
    assert_true (t_nothing_to_release (seen));          //  1 is missing
    sluice_seen_add (seen, 1);                          //  1 is written directly
    t_release_expect (seen, 2);
    t_release_expect (seen, 3);
    assert_true (t_nothing_to_release (seen));
    assert_int_equal (sluice_seen_low (seen), 4);
    assert_true (sluice_seen_is_done (seen, 3));
    assert_false (sluice_seen_is_held (seen, 3));
    sluice_seen_destroy (&seen);
}

static void
test_reorder_refuses_a_result_ahead_of_the_window (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, true);
    assert_int_equal (t_hold (seen, T_CAP + 1), -1);    //  one past the top
    assert_false (sluice_seen_is_held (seen, T_CAP + 1));
    assert_false (sluice_seen_is_held (seen, 1));       //  the same slot, empty
    assert_int_equal (t_hold (seen, T_CAP), 0);         //  the top is accepted
    sluice_seen_destroy (&seen);
}

static void
test_reorder_refuses_a_done_or_already_held_id (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, true);
    sluice_seen_add (seen, 1);
    sluice_seen_add (seen, 5);
    assert_int_equal (t_hold (seen, 1), -1);            //  below the watermark
    assert_int_equal (t_hold (seen, 5), -1);            //  done in the bitmap
    assert_int_equal (t_hold (seen, 4), 0);
    assert_int_equal (t_hold (seen, 4), -1);            //  held already
    sluice_seen_destroy (&seen);
}

static void
test_reorder_releases_in_order_across_the_wrap (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, true);
    t_add_range (seen, 1, 999);
    //  1001 .. 1999 held in reverse order: slots wrap past the ring's end
    for (uint64_t id = 1999; id > 1000; id--)
        assert_int_equal (t_hold (seen, id), 0);
    assert_true (t_nothing_to_release (seen));
    sluice_seen_add (seen, 1000);
    for (uint64_t id = 1001; id <= 1999; id++)
        t_release_expect (seen, id);
    assert_true (t_nothing_to_release (seen));
    assert_int_equal (sluice_seen_low (seen), 2000);
    sluice_seen_destroy (&seen);
}

static void
test_skip_to_drops_records_held_below_the_new_watermark (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, true);
    assert_int_equal (t_hold (seen, 3), 0);
    assert_int_equal (t_hold (seen, 6), 0);
    sluice_seen_skip_to (seen, 5);                      //  3 acked elsewhere
    assert_false (sluice_seen_is_held (seen, 3));
    assert_true (sluice_seen_is_done (seen, 3));
    assert_true (t_nothing_to_release (seen));          //  5 is missing
    sluice_seen_add (seen, 5);
    t_release_expect (seen, 6);
    sluice_seen_skip_to (seen, 100 + T_CAP);            //  beyond the window
    assert_true (t_nothing_to_release (seen));
    sluice_seen_destroy (&seen);
}

static void
test_resize_carries_held_records_to_their_new_slots (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, true);
    assert_int_equal (t_hold (seen, 2), 0);
    assert_int_equal (t_hold (seen, T_CAP), 0);
    sluice_seen_resize (seen, 5000);
    assert_true (sluice_seen_is_held (seen, 2));
    assert_true (sluice_seen_is_held (seen, T_CAP));
    sluice_seen_add (seen, 1);
    t_release_expect (seen, 2);
    sluice_seen_skip_to (seen, T_CAP);
    t_release_expect (seen, T_CAP);
    sluice_seen_destroy (&seen);
}

//  -k's bounds: an id at or past low + window is AHEAD (no real task can
//  be that far), a record that would pass the byte limit is FULL, and the
//  held bytes go back down as records are released.
static void
test_room_refuses_ids_past_low_plus_window_and_records_past_the_byte_limit (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (10, true);
    sluice_seen_set_hold_max (seen, 100);
    assert_int_equal (sluice_seen_room (seen, 10, 10), SLUICE_SEEN_ROOM);
    assert_int_equal (sluice_seen_room (seen, 11, 10), SLUICE_SEEN_AHEAD);
    assert_int_equal (sluice_seen_room (seen, T_CAP - 1, 10), SLUICE_SEEN_AHEAD);
    assert_int_equal (sluice_seen_room (seen, 2, 101), SLUICE_SEEN_FULL);
    char record [60] = { 0 };
    assert_int_equal (sluice_seen_hold (seen, 2, false, record, sizeof record), 0);
    assert_int_equal (sluice_seen_held_bytes (seen), 60);
    assert_int_equal (sluice_seen_room (seen, 3, 41), SLUICE_SEEN_FULL);
    assert_int_equal (sluice_seen_room (seen, 3, 40), SLUICE_SEEN_ROOM);
    sluice_seen_add (seen, 1);
    uint64_t id;
    bool failed;
    const uint8_t *data;
    size_t size;
    assert_int_equal (sluice_seen_release (seen, &id, &failed, &data, &size), 1);
    assert_int_equal (sluice_seen_held_bytes (seen), 0);
    //  the window moved with the watermark (now 3): 12 is inside, 13 not
    assert_int_equal (sluice_seen_room (seen, 12, 10), SLUICE_SEEN_ROOM);
    assert_int_equal (sluice_seen_room (seen, 13, 10), SLUICE_SEEN_AHEAD);
    sluice_seen_destroy (&seen);
}

//  The window the bound uses is the largest BEGIN gave, never shrunk.
static void
test_room_uses_the_batch_window_given_by_resize (void **state)
{
    (void) state;
    sluice_seen_t *seen = sluice_seen_new (1, true);
    assert_int_equal (sluice_seen_room (seen, 2, 1), SLUICE_SEEN_AHEAD);
    sluice_seen_resize (seen, 1024);
    assert_int_equal (sluice_seen_room (seen, 1024, 1), SLUICE_SEEN_ROOM);
    assert_int_equal (sluice_seen_room (seen, 1025, 1), SLUICE_SEEN_AHEAD);
    sluice_seen_resize (seen, 10);
    assert_int_equal (sluice_seen_room (seen, 1024, 1), SLUICE_SEEN_ROOM);
    sluice_seen_destroy (&seen);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_results_out_of_order_move_the_watermark_once_the_gap_fills),
        cmocka_unit_test (test_a_duplicate_is_done_whether_below_or_above_the_watermark),
        cmocka_unit_test (test_the_window_ends_one_capacity_above_the_watermark),
        cmocka_unit_test (test_the_bitmap_wraps_and_a_reused_bit_starts_clear),
        cmocka_unit_test (test_the_set_holds_twice_the_window_at_least),
        cmocka_unit_test (test_resize_grows_for_begins_window_and_keeps_done_ids),
        cmocka_unit_test (test_reset_forgets_every_done_id),
        cmocka_unit_test (test_skip_to_moves_the_watermark_past_done_ids_above_it),
        cmocka_unit_test (test_skip_to_beyond_the_window_clears_the_bitmap),
        cmocka_unit_test (test_reorder_holds_records_and_releases_them_in_id_order),
        cmocka_unit_test (test_reorder_refuses_a_result_ahead_of_the_window),
        cmocka_unit_test (test_reorder_refuses_a_done_or_already_held_id),
        cmocka_unit_test (test_reorder_releases_in_order_across_the_wrap),
        cmocka_unit_test (test_skip_to_drops_records_held_below_the_new_watermark),
        cmocka_unit_test (test_resize_carries_held_records_to_their_new_slots),
        cmocka_unit_test (test_room_refuses_ids_past_low_plus_window_and_records_past_the_byte_limit),
        cmocka_unit_test (test_room_uses_the_batch_window_given_by_resize),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
