/*  =========================================================================
    test_peers.c - known workers, their credit, round robin

    The first test is the typical use: two workers announce credit, tasks
    are spread over them in turn, spending it. The rest: reset replaces
    credit, the cap, a full worker loses its credit, a gone worker is
    forgotten, an over-long routing id is refused.
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
    sluice_peers_refused (peers, t_peer (peers, "a"), false);
    assert_int_equal (sluice_peers_count (peers), 2);
    assert_int_equal (sluice_peers_credit_total (peers), 4);
    sluice_peers_refused (peers, t_peer (peers, "b"), true);
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

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_workers_with_credit_are_served_in_turn),
        cmocka_unit_test (test_reset_replaces_credit_and_credit_is_capped),
        cmocka_unit_test (test_a_refusing_worker_loses_credit_and_a_gone_one_is_forgotten),
        cmocka_unit_test (test_an_overlong_routing_id_is_refused),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
