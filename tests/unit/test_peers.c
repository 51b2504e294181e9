/*  =========================================================================
    test_peers.c - known workers, their credit, round robin

    The first test is the typical use: two workers announce credit, tasks
    are spread over them in turn, spending it. The rest: reset replaces
    credit, the cap, a full worker loses its credit, a gone worker is
    forgotten and its handle finds nothing (the generation), a worker is
    found by its connection's fd, silence, per-identity task counts, an
    over-long routing id is refused.
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
#include <cmocka.h>

#include "peers.h"

#define T_MAX_CREDIT 1000

//  The worker with a one-letter routing id.
static sluice_peer_t *
t_peer (sluice_peers_t *peers, const char *name)
{
    return sluice_peers_get (peers, (const uint8_t *) name, strlen (name));
}

//  Typical use: workers with credit are served in turn until it is spent.
static void
test_workers_with_credit_are_served_in_turn (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    sluice_peers_credit (peers, t_peer (peers, "a"), 2, false);
    sluice_peers_credit (peers, t_peer (peers, "b"), 1, false);
    assert_int_equal (sluice_peers_count (peers), 2);
    assert_int_equal (sluice_peers_credit_total (peers), 3);
    const char *order [3];
    for (int i = 0; i < 3; i++) {
        sluice_peer_t *peer = sluice_peers_next (peers);
        assert_non_null (peer);
        order [i] = peer->routing [0] == 'a'? "a": "b";
        sluice_peers_spend (peers, peer, 1);
    }
    assert_string_equal (order [0], "a");
    assert_string_equal (order [1], "b");
    assert_string_equal (order [2], "a");
    assert_null (sluice_peers_next (peers));
    assert_int_equal (sluice_peers_credit_total (peers), 0);
    sluice_peers_destroy (&peers);
    assert_null (peers);
}

//  CREDIT with reset replaces the credit; without, adds to it; both capped.
static void
test_reset_replaces_credit_and_credit_is_capped (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    sluice_peer_t *a = t_peer (peers, "a");
    sluice_peers_credit (peers, a, 5, false);
    sluice_peers_credit (peers, a, 5, false);
    assert_int_equal (a->credit, 10);
    sluice_peers_credit (peers, a, 3, true);
    assert_int_equal (a->credit, 3);
    sluice_peers_credit (peers, a, UINT64_MAX, false);
    assert_int_equal (a->credit, T_MAX_CREDIT);
    assert_int_equal (sluice_peers_credit_total (peers), T_MAX_CREDIT);
    sluice_peers_destroy (&peers);
}

//  A worker whose pipe is full loses its credit but stays known; a gone
//  worker is forgotten.
static void
test_a_refusing_worker_loses_credit_and_a_gone_one_is_forgotten (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    sluice_peers_credit (peers, t_peer (peers, "a"), 4, false);
    sluice_peers_credit (peers, t_peer (peers, "b"), 4, false);
    sluice_peers_refused (peers, t_peer (peers, "a"));
    assert_int_equal (sluice_peers_count (peers), 2);
    assert_int_equal (sluice_peers_credit_total (peers), 4);
    sluice_peers_remove (peers, t_peer (peers, "b"));
    assert_int_equal (sluice_peers_count (peers), 1);
    assert_int_equal (sluice_peers_credit_total (peers), 0);
    assert_null (sluice_peers_next (peers));
    sluice_peers_destroy (&peers);
}

//  A routing id longer than a peer holds is refused, not truncated.
static void
test_an_overlong_routing_id_is_refused (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    uint8_t routing [300] = { 0 };
    assert_null (sluice_peers_get (peers, routing, sizeof routing));
    assert_non_null (sluice_peers_get (peers, routing, 256));
    sluice_peers_destroy (&peers);
}

//  A removed worker's handle finds nothing, even once its slot is reused:
//  the generation differs. It rejoins with a new handle and no credit.
static void
test_a_removed_workers_handle_finds_nothing_after_its_slot_is_reused (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    sluice_peer_t *a = t_peer (peers, "a");
    uint64_t old = a->handle;
    assert_int_not_equal (old, 0);
    sluice_peers_credit (peers, a, 4, false);
    assert_ptr_equal (sluice_peers_lookup (peers, old), a);
    sluice_peers_remove (peers, a);
    assert_null (sluice_peers_lookup (peers, old));
    sluice_peer_t *b = t_peer (peers, "b");                 //  takes a's slot
    assert_int_not_equal (b->handle, old);
    assert_null (sluice_peers_lookup (peers, old));
    assert_ptr_equal (sluice_peers_lookup (peers, b->handle), b);
    sluice_peer_t *again = t_peer (peers, "a");             //  speaks again
    assert_int_not_equal (again->handle, old);
    assert_int_equal (again->credit, 0);
    assert_int_equal (sluice_peers_count (peers), 2);
    assert_null (sluice_peers_lookup (peers, 0));
    sluice_peers_destroy (&peers);
}

//  A worker is found by the connection its messages came on; a reused fd
//  belongs to the worker that spoke on it last.
static void
test_a_worker_is_found_by_the_fd_of_its_messages (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    sluice_peer_t *a = t_peer (peers, "a");
    sluice_peer_t *b = t_peer (peers, "b");
    assert_null (sluice_peers_by_fd (peers, 7));
    sluice_peers_seen (peers, a, 0, 7);
    sluice_peers_seen (peers, b, 0, 8);
    assert_ptr_equal (sluice_peers_by_fd (peers, 7), a);
    sluice_peers_seen (peers, b, 0, 7);                     //  a's fd closed, reused
    assert_ptr_equal (sluice_peers_by_fd (peers, 7), b);
    assert_null (sluice_peers_by_fd (peers, 8));
    assert_null (sluice_peers_by_fd (peers, -1));
    sluice_peers_destroy (&peers);
}

//  A worker not heard from for longer than the silence limit is reported;
//  touching every worker restarts the count.
static void
test_a_silent_worker_is_found_and_touch_restarts_the_count (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    sluice_peer_t *a = t_peer (peers, "a");
    sluice_peer_t *b = t_peer (peers, "b");
    sluice_peers_seen (peers, a, 1000, -1);
    sluice_peers_seen (peers, b, 2500, -1);
    assert_null (sluice_peers_silent (peers, 3000, 2000));
    assert_ptr_equal (sluice_peers_silent (peers, 3001, 2000), a);
    sluice_peers_touch (peers, 3001);
    assert_null (sluice_peers_silent (peers, 5001, 2000));
    assert_non_null (sluice_peers_silent (peers, 5002, 2000));
    sluice_peers_destroy (&peers);
}

//  The tasks each worker was sent are counted by identity, across a leave
//  and a rejoin; a binary routing id is shown in hex.
static void
test_tasks_are_counted_per_identity_across_rejoins (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    sluice_peer_t *a = t_peer (peers, "host:12:1");
    assert_string_equal (a->identity, "host:12:1");
    sluice_peers_credit (peers, a, 5, false);
    sluice_peers_spend (peers, a, 3);
    sluice_peers_remove (peers, a);
    a = t_peer (peers, "host:12:1");
    sluice_peers_credit (peers, a, 5, false);
    sluice_peers_spend (peers, a, 2);
    sluice_peer_t *z = sluice_peers_get (peers, (const uint8_t *) "\0\x80\0\0\x29", 5);
    assert_string_equal (z->identity, "0x0080000029");
    const char *identity;
    uint64_t tasks;
    assert_true (sluice_peers_history (peers, 0, &identity, &tasks));
    assert_string_equal (identity, "host:12:1");
    assert_int_equal (tasks, 5);
    assert_true (sluice_peers_history (peers, 1, &identity, &tasks));
    assert_int_equal (tasks, 0);
    assert_false (sluice_peers_history (peers, 2, &identity, &tasks));
    sluice_peers_destroy (&peers);
}

//  Many workers, each found again by its routing id; one removed is
//  forgotten (found by neither id nor handle) and the others stay found.
static void
test_thousands_of_workers_are_found_by_routing_id_and_one_forgotten (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    uint64_t handles [5000];
    char name [32];
    for (int i = 0; i < 5000; i++) {
        snprintf (name, sizeof name, "w%d", i);
        handles [i] = t_peer (peers, name)->handle;
    }
    assert_int_equal (sluice_peers_count (peers), 5000);
    sluice_peer_t *gone = sluice_peers_lookup (peers, handles [1234]);
    sluice_peers_remove (peers, gone);
    assert_null (sluice_peers_lookup (peers, handles [1234]));
    assert_int_equal (sluice_peers_count (peers), 4999);
    for (int i = 0; i < 5000; i++) {
        snprintf (name, sizeof name, "w%d", i);
        sluice_peer_t *peer = t_peer (peers, name);       //  found, or added anew
        assert_true (i == 1234? peer->handle != handles [i]: peer->handle == handles [i]);
    }
    sluice_peers_destroy (&peers);
}

//  A peer that joins and leaves in a loop leaves no trace: the table's
//  count stays at the workers that are there.
static void
test_a_peer_that_joins_and_leaves_a_hundred_thousand_times_leaves_nothing (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    t_peer (peers, "real");
    char name [32];
    for (int i = 0; i < 100000; i++) {
        snprintf (name, sizeof name, "churn%d", i);
        sluice_peer_t *peer = t_peer (peers, name);
        sluice_peers_seen (peers, peer, 1, 100 + i % 50);
        sluice_peers_credit (peers, peer, 10, true);
        sluice_peers_remove (peers, peer);
    }
    assert_int_equal (sluice_peers_count (peers), 1);
    assert_int_equal (sluice_peers_credit_total (peers), 0);
    assert_null (sluice_peers_by_fd (peers, 120));
    sluice_peers_destroy (&peers);
}

//  At its maximum the table refuses a new worker, but still finds a known
//  one; a removal makes room again.
static void
test_a_full_table_refuses_a_new_worker_until_one_leaves (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    sluice_peers_set_max (peers, 2);
    sluice_peer_t *a = t_peer (peers, "a");
    t_peer (peers, "b");
    assert_true (sluice_peers_full (peers));
    assert_null (sluice_peers_get (peers, (const uint8_t *) "c", 1));
    assert_non_null (sluice_peers_get (peers, (const uint8_t *) "a", 1));
    sluice_peers_remove (peers, a);
    assert_false (sluice_peers_full (peers));
    assert_non_null (sluice_peers_get (peers, (const uint8_t *) "c", 1));
    sluice_peers_destroy (&peers);
}

//  The per-identity rows stop at 4096; later identities share one more
//  row, "other workers".
static void
test_identity_rows_stop_at_4096_and_later_ones_share_other_workers (void **state)
{
    (void) state;
    sluice_peers_t *peers = sluice_peers_new (T_MAX_CREDIT);
    char name [32];
    for (int i = 0; i < 5000; i++) {
        snprintf (name, sizeof name, "w%d", i);
        sluice_peer_t *peer = t_peer (peers, name);
        sluice_peers_credit (peers, peer, 1, false);
        sluice_peers_spend (peers, peer, 1);
        sluice_peers_remove (peers, peer);
    }
    const char *identity;
    uint64_t tasks;
    size_t rows = 0;
    while (sluice_peers_history (peers, rows, &identity, &tasks))
        rows++;
    assert_int_equal (rows, 4097);
    assert_true (sluice_peers_history (peers, 4096, &identity, &tasks));
    assert_string_equal (identity, "other workers");
    assert_int_equal (tasks, 5000 - 4096);
    sluice_peers_destroy (&peers);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_workers_with_credit_are_served_in_turn),
        cmocka_unit_test (test_reset_replaces_credit_and_credit_is_capped),
        cmocka_unit_test (test_a_refusing_worker_loses_credit_and_a_gone_one_is_forgotten),
        cmocka_unit_test (test_an_overlong_routing_id_is_refused),
        cmocka_unit_test (test_a_removed_workers_handle_finds_nothing_after_its_slot_is_reused),
        cmocka_unit_test (test_a_worker_is_found_by_the_fd_of_its_messages),
        cmocka_unit_test (test_a_silent_worker_is_found_and_touch_restarts_the_count),
        cmocka_unit_test (test_tasks_are_counted_per_identity_across_rejoins),
        cmocka_unit_test (test_thousands_of_workers_are_found_by_routing_id_and_one_forgotten),
        cmocka_unit_test (test_a_peer_that_joins_and_leaves_a_hundred_thousand_times_leaves_nothing),
        cmocka_unit_test (test_a_full_table_refuses_a_new_worker_until_one_leaves),
        cmocka_unit_test (test_identity_rows_stop_at_4096_and_later_ones_share_other_workers),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
