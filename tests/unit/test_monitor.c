/*  =========================================================================
    test_monitor.c - a socket's connection events, read without waiting

    Strategy: real libzmq sockets on loopback TCP, no other process. Each
    test drives one kind of connection life (a peer that answers, a port
    nobody listens on, a name that does not resolve) and reads the
    monitor until the state shows it, with a deadline: what the worker's
    re-sends and warnings rely on. The first test is the typical use.
    =========================================================================
*/

#include "private.h"
#include "monitor.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <cmocka.h>

//  Read events until done (state) is true or 3 s pass; returns done.
static bool
t_until (sluice_monitor_t *monitor, bool (*done) (const sluice_monitor_state_t *))
{
    int64_t deadline = sluice_now_ms () + 3000;
    sluice_monitor_event_t event;
    while (sluice_now_ms () < deadline) {
        while (sluice_monitor_next (monitor, &event))
            ;
        if (done (sluice_monitor_state (monitor)))
            return true;
        struct pollfd item = { sluice_monitor_fd (monitor), POLLIN, 0 };
        poll (&item, 1, 50);
    }
    return false;
}

static bool
t_connected (const sluice_monitor_state_t *state)
{
    return state->connected == 1;
}

static bool
t_retried (const sluice_monitor_state_t *state)
{
    return state->retries >= 2;
}

//  A free loopback port: bind a ROUTER to port 0 and read it back.
static zsock_t *
t_router (int *port)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    assert_non_null (router);
    *port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert_true (*port > 0);
    return router;
}

//  Typical use: monitor a DEALER before it connects; the handshake with a
//  ROUTER shows as one connected peer, its end as none.
static void
test_handshake_then_disconnect (void **state_p)
{
    (void) state_p;
    int port;
    zsock_t *router = t_router (&port);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    char err [256];
    sluice_monitor_t *monitor = sluice_monitor_new (zsock_resolve (dealer), err, sizeof err);
    assert_non_null (monitor);
    assert_true (sluice_monitor_fd (monitor) >= 0);
    assert_int_equal (zsock_connect (dealer, "tcp://127.0.0.1:%d", port), 0);
    assert_true (t_until (monitor, t_connected));
    assert_int_equal (sluice_monitor_state (monitor)->handshakes, 1);
    //  the ROUTER goes away: the DEALER loses its peer
    int64_t before = sluice_now_ms ();
    zsock_destroy (&router);
    int64_t deadline = before + 3000;
    sluice_monitor_event_t event;
    while (sluice_monitor_state (monitor)->connected && sluice_now_ms () < deadline) {
        while (sluice_monitor_next (monitor, &event))
            ;
        zclock_sleep (20);
    }
    assert_int_equal (sluice_monitor_state (monitor)->connected, 0);
    assert_true (sluice_monitor_state (monitor)->down_since_ms >= before);
    sluice_monitor_destroy (&monitor);
    assert_null (monitor);
    sluice_monitor_destroy (&monitor);          //  a second call is safe
    zsock_destroy (&dealer);
}

//  A port nobody listens on: attempts are refused. The reason asked
//  between an attempt's CONNECT_DELAYED and its CLOSED (the 5 s warning
//  once fell there, seen in the hosts suite) is still "refused": the
//  attempt has no outcome yet, so the one before it says why.
static void
test_refused_port (void **state_p)
{
    (void) state_p;
    int port;
    zsock_t *router = t_router (&port);
    zsock_destroy (&router);                    //  the port is free again
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    char err [256], reason [300];
    sluice_monitor_t *monitor = sluice_monitor_new (zsock_resolve (dealer), err, sizeof err);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    zsock_connect (dealer, "%s", endpoint);
    assert_true (t_until (monitor, t_retried));
    assert_string_equal (sluice_monitor_reason (monitor, endpoint, reason, sizeof reason),
                         "refused");
    assert_int_equal (sluice_monitor_state (monitor)->connected, 0);
    //  read one event at a time up to the next attempt's CONNECT_DELAYED
    int64_t deadline = sluice_now_ms () + 3000;
    sluice_monitor_event_t event = { 0 };
    bool delayed = false;
    while (!delayed && sluice_now_ms () < deadline) {
        if (sluice_monitor_next (monitor, &event))
            delayed = event.event == ZMQ_EVENT_CONNECT_DELAYED;
        else {
            struct pollfd item = { sluice_monitor_fd (monitor), POLLIN, 0 };
            poll (&item, 1, 50);
        }
    }
    assert_true (delayed);
    assert_string_equal (sluice_monitor_reason (monitor, endpoint, reason, sizeof reason),
                         "refused");
    sluice_monitor_destroy (&monitor);
    zsock_destroy (&dealer);
}

//  A host name that does not resolve: libzmq only retries, and the
//  reason names the host.
static void
test_unresolvable_host (void **state_p)
{
    (void) state_p;
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    char err [256], reason [300];
    sluice_monitor_t *monitor = sluice_monitor_new (zsock_resolve (dealer), err, sizeof err);
    const char *endpoint = ">tcp://nosuchhost.invalid:5558";
    zsock_connect (dealer, "%s", endpoint + 1);
    assert_true (t_until (monitor, t_retried));
    assert_string_equal (sluice_monitor_reason (monitor, endpoint, reason, sizeof reason),
                         "cannot resolve host 'nosuchhost.invalid'");
    sluice_monitor_destroy (&monitor);
    zsock_destroy (&dealer);
}

static void
test_names (void **state_p)
{
    (void) state_p;
    assert_string_equal (sluice_monitor_event_name (ZMQ_EVENT_HANDSHAKE_SUCCEEDED),
                         "HANDSHAKE_SUCCEEDED");
    assert_string_equal (sluice_monitor_event_name (0), "?");
    assert_string_equal (sluice_monitor_protocol_error (ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA),
                         "wrong socket type");
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_handshake_then_disconnect),
        cmocka_unit_test (test_refused_port),
        cmocka_unit_test (test_unresolvable_host),
        cmocka_unit_test (test_names),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
