/*  =========================================================================
    test_credit.c - the worker's credit and prefetch policy

    The policy is pure (worker_core.h): a state in, a CREDIT decision out,
    so each rule of the flow control is one small test here instead of a
    timing-dependent script. The first test is the typical use: a fresh
    --exec worker grants its free slots, and as tasks arrive and results
    leave it grants again what was freed. The rest pin down the chunking,
    the limits (never beyond free slots plus prefetch, nothing while
    draining or while the outbox holds a backlog of unsent results), the
    idle resync, the per-mode plans and the adaptive --coproc capacity;
    then the latency prefetch of protocol 2 (rate x round trip x 2), the
    results hold, whose being full stops credit, and how the round trip
    and the rate are measured: each grant timed to its own first task,
    the rate what the jobs can run.
    =========================================================================
*/

#include "private.h"
#include "worker_core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

//  --------------------------------------------------------------------------
//  Helpers

//  A state with the given capacity and nothing held.
static sluice_credit_state_t
t_state (uint64_t capacity)
{
    sluice_credit_state_t state = { .capacity = capacity };
    return state;
}

//  Apply a decision to the state as the worker does.
static void
t_apply (sluice_credit_state_t *state, sluice_credit_t credit)
{
    if (credit.reset)
        state->promised = credit.credit;
    else
        state->promised += credit.credit;
}

//  --------------------------------------------------------------------------
//  Typical use

static void
test_exec_worker_grants_free_slots_then_what_each_result_frees (void **state_p)
{
    (void) state_p;
    sluice_credit_plan_t plan = sluice_worker_credit_plan (SLUICE_MODE_EXEC, 4, 0);
    assert_int_equal (plan.capacity, 4);
    sluice_credit_state_t state = t_state (plan.capacity);
    sluice_credit_t credit = sluice_worker_credit (&state);
    assert_int_equal (credit.credit, 4);            //  every slot is free
    assert_false (credit.reset);
    t_apply (&state, credit);
    //  four tasks arrive: promised turns into held, no room left
    state.promised = 0;
    state.held = 4;
    assert_int_equal (sluice_worker_credit (&state).credit, 0);
    //  one result leaves for the sink: its slot is granted again
    state.held = 3;
    credit = sluice_worker_credit (&state);
    assert_int_equal (credit.credit, 1);
    assert_false (credit.reset);
}

//  --------------------------------------------------------------------------
//  Limits

static void
test_credit_never_exceeds_free_slots_plus_prefetch (void **state_p)
{
    (void) state_p;
    //  every combination of held and promised up to beyond the capacity
    for (uint64_t held = 0; held <= 12; held++)
        for (uint64_t promised = 0; promised <= 12; promised++) {
            sluice_credit_state_t state = t_state (8);
            state.held = held;
            state.promised = promised;
            sluice_credit_t credit = sluice_worker_credit (&state);
            assert_false (credit.reset);
            assert_true (held + promised + credit.credit <= 8
                         || credit.credit == 0);
        }
}

static void
test_credit_is_granted_in_chunks_of_a_quarter_of_the_capacity (void **state_p)
{
    (void) state_p;
    sluice_credit_state_t state = t_state (100);
    state.held = 80;                                //  room 20 < 25
    assert_int_equal (sluice_worker_credit (&state).credit, 0);
    state.held = 75;                                //  room 25
    assert_int_equal (sluice_worker_credit (&state).credit, 25);
}

static void
test_a_capacity_below_four_grants_single_slots (void **state_p)
{
    (void) state_p;
    sluice_credit_state_t state = t_state (2);
    state.held = 1;
    assert_int_equal (sluice_worker_credit (&state).credit, 1);
}

static void
test_draining_worker_grants_nothing (void **state_p)
{
    (void) state_p;
    sluice_credit_state_t state = t_state (8);
    state.draining = true;
    state.resync_due = true;
    sluice_credit_t credit = sluice_worker_credit (&state);
    assert_int_equal (credit.credit, 0);
    assert_false (credit.reset);
}

static void
test_no_credit_while_the_outbox_holds_over_half_the_capacity_unsent (void **state_p)
{
    (void) state_p;
    //  a sink that takes nothing: results pile up, the ventilator must stop
    sluice_credit_state_t state = t_state (8192);
    state.held = 4097;
    state.unsent = 4097;
    assert_int_equal (sluice_worker_credit (&state).credit, 0);
    //  the sink drains the backlog: room is granted again
    state.held = state.unsent = 4096;
    assert_int_equal (sluice_worker_credit (&state).credit, 4096);
}

static void
test_unsent_results_keep_their_slots (void **state_p)
{
    (void) state_p;
    //  held counts results still in the outbox: answered is not freed
    sluice_credit_state_t state = t_state (4);
    state.held = 4;
    state.unsent = 2;
    assert_int_equal (sluice_worker_credit (&state).credit, 0);
}

//  --------------------------------------------------------------------------
//  Resync

static void
test_idle_worker_reannounces_its_whole_capacity_with_reset (void **state_p)
{
    (void) state_p;
    sluice_credit_state_t state = t_state (8);
    state.promised = 8;                             //  granted, nothing came
    state.resync_due = true;
    sluice_credit_t credit = sluice_worker_credit (&state);
    assert_int_equal (credit.credit, 8);
    assert_true (credit.reset);
    t_apply (&state, credit);
    assert_int_equal (state.promised, 8);           //  replaced, not added
}

static void
test_free_room_is_granted_before_any_resync (void **state_p)
{
    (void) state_p;
    sluice_credit_state_t state = t_state (8);
    state.resync_due = true;
    sluice_credit_t credit = sluice_worker_credit (&state);
    assert_int_equal (credit.credit, 8);
    assert_false (credit.reset);
}

//  --------------------------------------------------------------------------
//  Plans per mode

static void
test_echo_holds_32768_tasks_by_default_and_no_slots (void **state_p)
{
    (void) state_p;
    sluice_credit_plan_t plan = sluice_worker_credit_plan (SLUICE_MODE_ECHO, 4, SIZE_MAX);
    assert_int_equal (plan.capacity, 32768);
    assert_int_equal (plan.pool, 32768);
    assert_false (plan.adaptive);
}

static void
test_exec_prefetch_adds_to_the_slots (void **state_p)
{
    (void) state_p;
    sluice_credit_plan_t plan = sluice_worker_credit_plan (SLUICE_MODE_EXEC, 4, SIZE_MAX);
    assert_int_equal (plan.capacity, 4);
    plan = sluice_worker_credit_plan (SLUICE_MODE_EXEC, 4, 6);
    assert_int_equal (plan.capacity, 10);
    assert_int_equal (plan.pool, 10);
}

static void
test_zero_capacity_is_raised_to_one (void **state_p)
{
    (void) state_p;
    sluice_credit_plan_t plan = sluice_worker_credit_plan (SLUICE_MODE_ECHO, 4, 0);
    assert_int_equal (plan.capacity, 1);
}

static void
test_coproc_default_prefetch_is_adaptive_and_starts_at_four_per_copy (void **state_p)
{
    (void) state_p;
    sluice_credit_plan_t plan = sluice_worker_credit_plan (SLUICE_MODE_COPROC, 2, SIZE_MAX);
    assert_true (plan.adaptive);
    assert_int_equal (plan.capacity, 8);
    assert_int_equal (plan.pool, 2 + 2 * SLUICE_COPROC_MAX_DEPTH);
    //  an explicit prefetch is fixed
    plan = sluice_worker_credit_plan (SLUICE_MODE_COPROC, 2, 10);
    assert_false (plan.adaptive);
    assert_int_equal (plan.capacity, 12);
}

//  --------------------------------------------------------------------------
//  Adaptive capacity (--coproc)

static void
test_adaptive_capacity_holds_work_in_hand_at_the_measured_rate (void **state_p)
{
    (void) state_p;
    //  1,000 tasks in 100 ms: 200 ms of work is 2,000 tasks
    assert_int_equal (sluice_worker_credit_adapt (1000, 100, 2, 100000), 2000);
}

static void
test_adaptive_capacity_stays_between_two_per_job_and_the_pool (void **state_p)
{
    (void) state_p;
    assert_int_equal (sluice_worker_credit_adapt (0, 100, 4, 1000), 8);
    assert_int_equal (sluice_worker_credit_adapt (1000000, 100, 4, 1000), 1000);
    assert_int_equal (sluice_worker_credit_adapt (10, 0, 4, 1000), 8);
}

//  --------------------------------------------------------------------------
//  Latency prefetch and the results hold (protocol 2)

//  Loopback: a round trip well under a millisecond asks for nothing of its
//  own; the prefetch is then the tasks that complete in
//  SLUICE_PREFETCH_IN_HAND_MS (8 ms), so a slow worker holds only what it
//  runs and a quick one keeps its slots fed.
static void
test_prefetch_is_zero_on_loopback (void **state_p)
{
    (void) state_p;
    assert_int_equal (sluice_worker_prefetch (2.0, 0.2), 0);       //  'sleep 0.5'
    assert_int_equal (sluice_worker_prefetch (20.0, 0.2), 0);      //  'sleep 0.1' x 2
    assert_int_equal (sluice_worker_prefetch (62.0, 0.2), 0);      //  0.496: not worth one
    assert_int_equal (sluice_worker_prefetch (63.0, 0.2), 1);      //  0.504
    assert_int_equal (sluice_worker_prefetch (1000.0, 0.02), 8);   //  inproc: 8 ms of tasks
    assert_int_equal (sluice_worker_prefetch (2000.0, 0.2), 16);
    assert_int_equal (sluice_worker_prefetch (5000.0, 5.0), 50);   //  the round trip's own
}

//  Across a 20 ms link the prefetch covers twice the round trip's tasks.
static void
test_prefetch_covers_the_round_trip (void **state_p)
{
    (void) state_p;
    assert_int_equal (sluice_worker_prefetch (100.0, 20.0), 4);    //  100/s x 0.02 s x 2
    assert_int_equal (sluice_worker_prefetch (400.0, 25.0), 20);
    assert_int_equal (sluice_worker_prefetch (10.0, 20.0), 0);     //  0.4: not worth one
    assert_int_equal (sluice_worker_prefetch (15.0, 20.0), 1);     //  0.6
}

static void
test_prefetch_is_bounded_and_zero_when_unknown (void **state_p)
{
    (void) state_p;
    assert_int_equal (sluice_worker_prefetch (1e6, 1000.0), SLUICE_PREFETCH_MAX);
    assert_int_equal (sluice_worker_prefetch (0.0, 20.0), 0);
    assert_int_equal (sluice_worker_prefetch (100.0, 0.0), 0);
    assert_int_equal (sluice_worker_prefetch (-1.0, -1.0), 0);
}

//  The round trip is the least recent sample: the first CREDIT of a run
//  waits for the batch to start, which says nothing of the network.
static void
test_round_trip_is_the_least_sample (void **state_p)
{
    (void) state_p;
    double samples [3] = { 300.0, 0.3, 0.25 };
    assert_true (sluice_worker_rtt (samples, 3) == 0.25);
    assert_true (sluice_worker_rtt (samples, 1) == 300.0);
    assert_true (sluice_worker_rtt (samples, 0) == 0.0);
}

static void
test_ewma_starts_at_the_first_sample (void **state_p)
{
    (void) state_p;
    assert_true (sluice_worker_ewma (0.0, 50.0, 0.3) == 50.0);
    double v = sluice_worker_ewma (100.0, 0.0, 0.25);
    assert_true (v > 74.9 && v < 75.1);
}

//  --exec without --prefetch starts at its slots and has room to adapt.
static void
test_exec_plan_has_room_for_latency_prefetch (void **state_p)
{
    (void) state_p;
    sluice_credit_plan_t plan = sluice_worker_credit_plan (SLUICE_MODE_EXEC, 4, SIZE_MAX);
    assert_true (plan.latency);
    assert_int_equal (plan.capacity, 4);
    assert_int_equal (plan.pool, 4 + SLUICE_PREFETCH_MAX);
    //  an explicit --prefetch is taken as is
    plan = sluice_worker_credit_plan (SLUICE_MODE_EXEC, 4, 2);
    assert_false (plan.latency);
    assert_int_equal (plan.pool, 6);
    //  --echo answers at once: no round trip to cover
    plan = sluice_worker_credit_plan (SLUICE_MODE_ECHO, 4, SIZE_MAX);
    assert_false (plan.latency);
}

//  A full hold (results not STORED) grants nothing, even with room.
static void
test_full_hold_stops_credit (void **state_p)
{
    (void) state_p;
    sluice_credit_state_t state = t_state (8);
    state.hold_full = true;
    sluice_credit_t credit = sluice_worker_credit (&state);
    assert_int_equal (credit.credit, 0);
    assert_false (credit.reset);
    //  nor the idle re-announce
    state.resync_due = true;
    state.held = state.promised = 8;
    assert_int_equal (sluice_worker_credit (&state).credit, 0);
    //  STORED frees it: credit flows again
    state.hold_full = false;
    state.held = state.promised = 0;
    assert_int_equal (sluice_worker_credit (&state).credit, 8);
}

//  The round trip of a grant is measured to the arrival of its own first
//  task: tasks an earlier grant paid for, still in flight when it went,
//  say nothing of it. (Timing the first TASKS after any CREDIT measured
//  1-16 ms across a 43 ms round trip, and the prefetch stayed at 0.)
static void
test_a_grant_sent_while_tasks_are_in_flight_is_timed_to_its_own_first_task (void **state_p)
{
    (void) state_p;
    sluice_rtt_meter_t meter = { .head = 0 };
    sluice_rtt_meter_credit (&meter, 2, false, 0);          //  tasks 1-2
    sluice_rtt_meter_credit (&meter, 1, false, 30000);      //  task 3, 30 ms later
    //  task 1 arrives 43 ms after its grant, 13 ms after the second one
    assert_true (sluice_rtt_meter_tasks (&meter, 1, 43000) == 43.0);
    //  task 2 belongs to the first grant too: no sample
    assert_true (sluice_rtt_meter_tasks (&meter, 1, 44000) < 0);
    //  task 3 is the second grant's first: 43 ms, not 13
    assert_true (sluice_rtt_meter_tasks (&meter, 1, 73000) == 43.0);
    //  nothing is pending any more
    assert_true (sluice_rtt_meter_tasks (&meter, 1, 80000) < 0);
}

//  When one message carries the first tasks of several grants, the newest
//  grant's wait is the round trip (the older ones also waited for it).
static void
test_one_message_paying_several_grants_gives_the_newest_grants_round_trip (void **state_p)
{
    (void) state_p;
    sluice_rtt_meter_t meter = { .head = 0 };
    sluice_rtt_meter_credit (&meter, 1, false, 0);
    sluice_rtt_meter_credit (&meter, 1, false, 5000);
    sluice_rtt_meter_credit (&meter, 1, false, 10000);
    assert_true (sluice_rtt_meter_tasks (&meter, 3, 50000) == 40.0);
}

//  A reset grant replaces every earlier one: the ventilator owes only it.
static void
test_a_reset_grant_replaces_the_grants_still_pending (void **state_p)
{
    (void) state_p;
    sluice_rtt_meter_t meter = { .head = 0 };
    sluice_rtt_meter_credit (&meter, 4, false, 0);
    assert_true (sluice_rtt_meter_tasks (&meter, 1, 40000) == 40.0);
    //  three of the four were lost; an idle resync re-announces 4
    sluice_rtt_meter_credit (&meter, 4, true, 1000000);
    assert_true (sluice_rtt_meter_tasks (&meter, 1, 1042000) == 42.0);
    //  a drain (credit 0, reset) leaves nothing to time
    sluice_rtt_meter_credit (&meter, 0, true, 2000000);
    assert_true (sluice_rtt_meter_tasks (&meter, 3, 2050000) < 0);
}

//  More grants in flight than the meter keeps: the oldest go untimed, the
//  newest are still matched to their own first task.
static void
test_grants_beyond_the_pending_ring_forget_the_oldest (void **state_p)
{
    (void) state_p;
    sluice_rtt_meter_t meter = { .head = 0 };
    for (int i = 0; i < SLUICE_RTT_PENDING + 10; i++)
        sluice_rtt_meter_credit (&meter, 1, false, (int64_t) i * 1000);
    assert_int_equal (meter.count, SLUICE_RTT_PENDING);
    //  the first ten tasks paid for grants no longer kept
    assert_true (sluice_rtt_meter_tasks (&meter, 10, 100000) < 0);
    //  task 11 is grant 10's (sent at 10 ms)
    assert_true (sluice_rtt_meter_tasks (&meter, 1, 100000) == 90.0);
}

//  The rate the prefetch covers is what the worker can run: -j over the
//  time a task takes, when that is more than it completed (under latency
//  completions are bound by the round trip, and prefetch 0 kept them so:
//  2 jobs of 2 ms 'echo' completed 45/s across 43 ms).
static void
test_the_rate_is_what_the_jobs_can_run_not_only_what_the_round_trip_let_through (void **state_p)
{
    (void) state_p;
    double rate = sluice_worker_task_rate (45.0, 2, 2.0);
    assert_true (rate == 1000.0);
    //  so one measured round trip is enough: 1000/s x 43 ms x 2
    assert_int_equal (sluice_worker_prefetch (rate, 43.0), 86);
    //  a faster completion rate (a --coproc pipeline) is kept
    assert_true (sluice_worker_task_rate (5000.0, 1, 2.0) == 5000.0);
    //  nothing known yet: the completions alone
    assert_true (sluice_worker_task_rate (45.0, 2, 0.0) == 45.0);
}

//  On loopback the fairness cases still ask for nothing beyond the slots:
//  'sleep 0.5' and 'sleep 0.05' at -j 1 across a 0.3 ms round trip.
static void
test_slow_and_fast_workers_on_loopback_still_prefetch_nothing (void **state_p)
{
    (void) state_p;
    assert_int_equal (sluice_worker_prefetch (sluice_worker_task_rate (2.0, 1, 500.0), 0.3), 0);
    assert_int_equal (sluice_worker_prefetch (sluice_worker_task_rate (20.0, 1, 50.0), 0.3), 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_exec_worker_grants_free_slots_then_what_each_result_frees),
        cmocka_unit_test (test_credit_never_exceeds_free_slots_plus_prefetch),
        cmocka_unit_test (test_credit_is_granted_in_chunks_of_a_quarter_of_the_capacity),
        cmocka_unit_test (test_a_capacity_below_four_grants_single_slots),
        cmocka_unit_test (test_draining_worker_grants_nothing),
        cmocka_unit_test (test_no_credit_while_the_outbox_holds_over_half_the_capacity_unsent),
        cmocka_unit_test (test_unsent_results_keep_their_slots),
        cmocka_unit_test (test_idle_worker_reannounces_its_whole_capacity_with_reset),
        cmocka_unit_test (test_free_room_is_granted_before_any_resync),
        cmocka_unit_test (test_echo_holds_32768_tasks_by_default_and_no_slots),
        cmocka_unit_test (test_exec_prefetch_adds_to_the_slots),
        cmocka_unit_test (test_zero_capacity_is_raised_to_one),
        cmocka_unit_test (test_coproc_default_prefetch_is_adaptive_and_starts_at_four_per_copy),
        cmocka_unit_test (test_adaptive_capacity_holds_work_in_hand_at_the_measured_rate),
        cmocka_unit_test (test_adaptive_capacity_stays_between_two_per_job_and_the_pool),
        cmocka_unit_test (test_prefetch_is_zero_on_loopback),
        cmocka_unit_test (test_prefetch_covers_the_round_trip),
        cmocka_unit_test (test_prefetch_is_bounded_and_zero_when_unknown),
        cmocka_unit_test (test_round_trip_is_the_least_sample),
        cmocka_unit_test (test_ewma_starts_at_the_first_sample),
        cmocka_unit_test (test_exec_plan_has_room_for_latency_prefetch),
        cmocka_unit_test (test_full_hold_stops_credit),
        cmocka_unit_test (test_a_grant_sent_while_tasks_are_in_flight_is_timed_to_its_own_first_task),
        cmocka_unit_test (test_one_message_paying_several_grants_gives_the_newest_grants_round_trip),
        cmocka_unit_test (test_a_reset_grant_replaces_the_grants_still_pending),
        cmocka_unit_test (test_grants_beyond_the_pending_ring_forget_the_oldest),
        cmocka_unit_test (test_the_rate_is_what_the_jobs_can_run_not_only_what_the_round_trip_let_through),
        cmocka_unit_test (test_slow_and_fast_workers_on_loopback_still_prefetch_nothing),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
