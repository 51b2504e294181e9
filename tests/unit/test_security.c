/*  =========================================================================
    test_security.c - who may connect: addresses, keys and the ZAP decision

    The first tests pin down protected mode's address rules (loopback, ipc,
    --allow items, IPv4 peers of dual-stack sockets); then keygen and the
    checks every program makes of its keys; then the decision the ZAP
    handler makes for each channel with and without keys. Keys are made in
    a fresh temporary directory per test.
    =========================================================================
*/

#include "private.h"
#include "security.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Helpers

//  A fresh directory holding a deployment's keys; removed by t_keys_remove.
static char *
t_keys (void)
{
    char *dir = strdup ("/tmp/sluice-test-keys-XXXXXX");
    assert_non_null (mkdtemp (dir));
    char err [512] = "";
    const char *hosts [] = { "h1" };
    if (sluice_keygen (dir, hosts, 1, true, err, sizeof err))
        fail_msg ("%s", err);
    return dir;
}

static void
t_keys_remove (char **dir_p)
{
    char command [600];
    snprintf (command, sizeof command, "rm -rf '%s'", *dir_p);
    assert_int_equal (system (command), 0);
    free (*dir_p);
    *dir_p = NULL;
}

//  A config of role with name=value pairs (NULL-terminated).
static sluice_config_t *
t_config (sluice_role_t role, ...)
{
    sluice_config_t *config = sluice_config_new (role);
    va_list args;
    va_start (args, role);
    const char *name;
    while ((name = va_arg (args, const char *))) {
        const char *value = va_arg (args, const char *);
        char err [512];
        if (sluice_config_set (config, name, value, err, sizeof err))
            fail_msg ("%s", err);
    }
    va_end (args);
    return config;
}

//  The 32-byte public key of dir/name.cert
static void
t_public_key (const char *dir, const char *name, uint8_t *key)
{
    char path [600];
    snprintf (path, sizeof path, "%s/%s.cert", dir, name);
    zcert_t *cert = zcert_load (path);
    assert_non_null (cert);
    memcpy (key, zcert_public_key (cert), 32);
    zcert_destroy (&cert);
}

//  --------------------------------------------------------------------------
//  Addresses

static void
test_loopback_and_ipc_peers_are_local_others_are_not (void **state)
{
    (void) state;
    assert_true (sluice_peer_is_local ("127.0.0.1"));
    assert_true (sluice_peer_is_local ("127.255.0.9"));
    assert_true (sluice_peer_is_local ("::1"));
    assert_true (sluice_peer_is_local ("::ffff:127.0.0.1"));
    assert_true (sluice_peer_is_local ("localhost:0:0:1234"));     //  ipc, SO_PEERCRED
    assert_true (sluice_peer_is_local (""));                      //  ipc, no credentials
    assert_false (sluice_peer_is_local ("128.0.0.1"));
    assert_false (sluice_peer_is_local ("10.0.0.1"));
    assert_false (sluice_peer_is_local ("::2"));
    assert_false (sluice_peer_is_local ("::ffff:10.0.0.1"));
    assert_false (sluice_peer_is_local ("fe80::1"));
}

static void
test_an_allow_item_matches_its_prefix_only (void **state)
{
    (void) state;
    sluice_net_t net;
    assert_int_equal (sluice_net_parse ("10.1.0.0/16", &net), 0);
    assert_true (sluice_net_contains (&net, "10.1.2.3"));
    assert_true (sluice_net_contains (&net, "10.1.255.255"));
    assert_false (sluice_net_contains (&net, "10.2.0.1"));
    assert_true (sluice_net_contains (&net, "::ffff:10.1.9.9"));  //  dual-stack peer
    assert_false (sluice_net_contains (&net, "2001:db8::1"));
    assert_int_equal (sluice_net_parse ("192.168.1.7", &net), 0);  //  a host: /32
    assert_true (sluice_net_contains (&net, "192.168.1.7"));
    assert_false (sluice_net_contains (&net, "192.168.1.8"));
    assert_int_equal (sluice_net_parse ("10.0.0.0/9", &net), 0);   //  not on a byte
    assert_true (sluice_net_contains (&net, "10.127.0.1"));
    assert_false (sluice_net_contains (&net, "10.128.0.1"));
    assert_int_equal (sluice_net_parse ("2001:db8::/32", &net), 0);
    assert_true (sluice_net_contains (&net, "2001:db8:1::5"));
    assert_false (sluice_net_contains (&net, "2001:db9::5"));
    assert_int_equal (sluice_net_parse ("0.0.0.0/0", &net), 0);
    assert_true (sluice_net_contains (&net, "203.0.113.9"));
}

static void
test_a_bad_allow_item_is_refused (void **state)
{
    (void) state;
    sluice_net_t net;
    const char *bad [] = { "", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x",
                           "host.example", "10.0.0", "/8", "10.0.0.0/-1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        if (sluice_net_parse (bad [i], &net) == 0)
            fail_msg ("'%s' accepted", bad [i]);
    char err [512];
    sluice_config_t *config = t_config (SLUICE_ROLE_SINK, "allow", "10.0.0.0/8,nope", NULL);
    assert_int_equal (sluice_security_check (config, err, sizeof err), -1);
    assert_non_null (strstr (err, "invalid --allow value 'nope'"));
    sluice_config_destroy (&config);
}

//  --------------------------------------------------------------------------
//  Keys

static void
test_keygen_makes_every_role_a_private_secret (void **state)
{
    (void) state;
    char *dir = t_keys ();
    const char *names [] = { "ventilator", "sink", "worker", "worker-h1" };
    for (size_t i = 0; i < 4; i++) {
        char path [600];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s.cert_secret", dir, names [i]);
        assert_int_equal (stat (path, &st), 0);
        assert_int_equal (st.st_mode & 0777, 0600);
        snprintf (path, sizeof path, "%s/%s.cert", dir, names [i]);
        assert_int_equal (stat (path, &st), 0);
        assert_int_equal (st.st_mode & 0777, 0644);
    }
    //  four different keys
    uint8_t keys [4][32];
    for (size_t i = 0; i < 4; i++)
        t_public_key (dir, names [i], keys [i]);
    for (size_t i = 0; i < 4; i++)
        for (size_t j = i + 1; j < 4; j++)
            assert_memory_not_equal (keys [i], keys [j], 32);
    char err [512];
    assert_int_equal (sluice_keygen (dir, NULL, 0, false, err, sizeof err), -1);
    assert_non_null (strstr (err, "exists"));
    t_keys_remove (&dir);
}

static void
test_a_secret_others_can_read_is_refused_by_every_role (void **state)
{
    (void) state;
    char *dir = t_keys ();
    const char *names [] = { "ventilator", "worker", "sink" };
    for (int role = 0; role < 3; role++) {
        char secret [600], err [512] = "";
        snprintf (secret, sizeof secret, "%s/%s.cert_secret", dir, names [role]);
        sluice_config_t *config = t_config ((sluice_role_t) role, "keys", dir, NULL);
        assert_int_equal (sluice_security_check (config, err, sizeof err), 0);
        chmod (secret, 0640);
        assert_int_equal (sluice_security_check (config, err, sizeof err), -1);
        assert_non_null (strstr (err, "is readable by others (mode 0640)"));
        assert_non_null (strstr (err, secret));
        assert_null (sluice_security_new (config, err, sizeof err));
        chmod (secret, 0600);
        sluice_config_destroy (&config);
    }
    t_keys_remove (&dir);
}

//  --------------------------------------------------------------------------
//  The ZAP decision

static void
test_without_keys_only_local_and_allowed_peers_are_accepted (void **state)
{
    (void) state;
    char err [512];
    sluice_config_t *config = t_config (SLUICE_ROLE_VENTILATOR, "allow", "10.9.0.0/16", NULL);
    sluice_security_t *security = sluice_security_new (config, err, sizeof err);
    assert_non_null (security);
    assert_string_equal (sluice_security_decide (security, SLUICE_CHANNEL_TASKS, "127.0.0.1",
                                                 "NULL", NULL), "200");
    assert_string_equal (sluice_security_decide (security, SLUICE_CHANNEL_TASKS,
                                                 "localhost:0:0:99", "NULL", NULL), "200");
    assert_string_equal (sluice_security_decide (security, SLUICE_CHANNEL_TASKS, "10.9.3.4",
                                                 "NULL", NULL), "200");
    assert_int_equal (sluice_security_refused (security), 0);
    assert_string_equal (sluice_security_decide (security, SLUICE_CHANNEL_TASKS, "10.8.3.4",
                                                 "NULL", NULL), "400");
    assert_string_equal (sluice_security_decide (security, SLUICE_CHANNEL_TASKS, "10.8.3.4",
                                                 "NULL", NULL), "400");
    assert_int_equal (sluice_security_refused (security), 2);
    sluice_security_destroy (&security);
    sluice_config_destroy (&config);
}

static void
test_insecure_sets_no_zap_domain_and_protected_mode_does (void **state)
{
    (void) state;
    char err [512], domain [64];
    size_t size;
    for (int insecure = 0; insecure < 2; insecure++) {
        sluice_config_t *config = t_config (SLUICE_ROLE_SINK, "insecure",
                                            insecure? "1": "0", NULL);
        sluice_security_t *security = sluice_security_new (config, err, sizeof err);
        assert_non_null (security);
        zsock_t *sock = zsock_new (ZMQ_ROUTER);
        void *handle = zsock_resolve (sock);
        assert_int_equal (sluice_security_prepare (security, handle, SLUICE_CHANNEL_RESULTS,
                                                   "tcp://127.0.0.1:1", true, err,
                                                   sizeof err), 0);
        size = sizeof domain;
        assert_int_equal (zmq_getsockopt (handle, ZMQ_ZAP_DOMAIN, domain, &size), 0);
        if (insecure)
            assert_string_equal (domain, "");
        else
            assert_true (strncmp (domain, "sluice-", 7) == 0);
        zsock_destroy (&sock);
        sluice_security_destroy (&security);
        sluice_config_destroy (&config);
    }
}

static void
test_with_keys_each_channel_takes_only_its_peers_keys (void **state)
{
    (void) state;
    char *dir = t_keys ();
    char *other = t_keys ();
    uint8_t worker [32], host [32], vent [32], stranger [32];
    t_public_key (dir, "worker", worker);
    t_public_key (dir, "worker-h1", host);
    t_public_key (dir, "ventilator", vent);
    t_public_key (other, "worker", stranger);
    char err [512];
    sluice_config_t *config = t_config (SLUICE_ROLE_SINK, "keys", dir, NULL);
    sluice_security_t *sink = sluice_security_new (config, err, sizeof err);
    assert_non_null (sink);
    assert_true (sluice_security_curve (sink));
    //  results: worker keys, shared or per host
    assert_string_equal (sluice_security_decide (sink, SLUICE_CHANNEL_RESULTS, "10.0.0.1",
                                                 "CURVE", worker), "200");
    assert_string_equal (sluice_security_decide (sink, SLUICE_CHANNEL_RESULTS, "10.0.0.2",
                                                 "CURVE", host), "200");
    assert_string_equal (sluice_security_decide (sink, SLUICE_CHANNEL_RESULTS, "127.0.0.1",
                                                 "CURVE", vent), "400");
    assert_string_equal (sluice_security_decide (sink, SLUICE_CHANNEL_RESULTS, "127.0.0.1",
                                                 "CURVE", stranger), "400");
    //  with keys, loopback without a key is no exception
    assert_string_equal (sluice_security_decide (sink, SLUICE_CHANNEL_RESULTS, "127.0.0.1",
                                                 "NULL", NULL), "400");
    //  control: the ventilator's key only
    assert_string_equal (sluice_security_decide (sink, SLUICE_CHANNEL_CONTROL, "10.0.0.3",
                                                 "CURVE", vent), "200");
    assert_string_equal (sluice_security_decide (sink, SLUICE_CHANNEL_CONTROL, "10.0.0.3",
                                                 "CURVE", worker), "400");
    assert_int_equal (sluice_security_refused (sink), 4);
    sluice_security_destroy (&sink);
    sluice_config_destroy (&config);
    t_keys_remove (&dir);
    t_keys_remove (&other);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_loopback_and_ipc_peers_are_local_others_are_not),
        cmocka_unit_test (test_an_allow_item_matches_its_prefix_only),
        cmocka_unit_test (test_a_bad_allow_item_is_refused),
        cmocka_unit_test (test_keygen_makes_every_role_a_private_secret),
        cmocka_unit_test (test_a_secret_others_can_read_is_refused_by_every_role),
        cmocka_unit_test (test_without_keys_only_local_and_allowed_peers_are_accepted),
        cmocka_unit_test (test_insecure_sets_no_zap_domain_and_protected_mode_does),
        cmocka_unit_test (test_with_keys_each_channel_takes_only_its_peers_keys),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
