/*  =========================================================================
    test_config.c - endpoints, durations, sizes, and their precedence

    The first test is the typical use: a worker resolves its endpoints from
    a topology file, the environment and its flags, in that order of
    increasing precedence. The rest pin down each role's defaults, the
    natural bind/connect direction of bare endpoints, the messages that
    name a bad value, and the duration, size and count parsers.

    The option table is tested by walking it: every row is settable by its
    long name, its environment variable and its topology-file key, the
    layers stack in order, and a bad value of every type is one line that
    names the value. A new row is covered without a new test.
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
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "private.h"
#include "options.h"

//  --------------------------------------------------------------------------
//  Helpers

//  Write a ZPL topology file to a temporary path; returns the path (free it
//  with t_file_remove).
static char *
t_file (const char *text)
{
    char *path = strdup ("/tmp/sluice-test-config-XXXXXX");
    assert_non_null (path);
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    size_t size = strlen (text);
    assert_int_equal (write (fd, text, size), (ssize_t) size);
    close (fd);
    return path;
}

static void
t_file_remove (char **path_p)
{
    unlink (*path_p);
    free (*path_p);
    *path_p = NULL;
}

//  Clear the endpoint variables so tests do not see each other's (or the
//  caller's) environment.
static int
t_clear_env (void **state)
{
    (void) state;
    unsetenv ("SLUICE_TASKS");
    unsetenv ("SLUICE_RESULTS");
    unsetenv ("SLUICE_CONTROL");
    return 0;
}

//  Assert that text contains words.
static void
t_contains (const char *text, const char *words)
{
    if (!strstr (text, words))
        fail_msg ("'%s' does not contain '%s'", text, words);
}

//  A value of the row's type that the row accepts, and the string form
//  sluice_config_get gives back for it (endpoints add their direction).
static const char *
t_good_value (const sluice_option_t *opt, int which)
{
    if (streq (opt->name, "termseq"))       //  a string with a grammar
        return which? "INT,50,KILL": "TERM,100,KILL";
    if (streq (opt->name, "halt"))          //  ditto (halt.c)
        return which? "soon,fail=10%": "now,fail=1";
    if (streq (opt->name, "task-timeout"))  //  a duration, or N% of the median
        return which? "200%": "2s";
    switch (opt->type) {
        case SLUICE_TYPE_ENDPOINT: return which? "ipc:///tmp/sluice-b": "ipc:///tmp/sluice-a";
        case SLUICE_TYPE_DURATION: return which? "5m": "2s";
        case SLUICE_TYPE_SIZE: return which? "2M": "4k";
        case SLUICE_TYPE_COUNT: return which? "9": "7";
        case SLUICE_TYPE_BOOL: return which? "0": "1";
        case SLUICE_TYPE_ENUM:
            if (streq (opt->name, "progress-when"))
                return which? "never": "always";
            if (streq (opt->name, "stderr"))
                return which? "capture": "inherit";
            return which? "msgpack": "jsonl";
        case SLUICE_TYPE_STRING: return which? "second": "first";
    }
    return NULL;
}

//  A value of the row's type that no row of that type accepts.
static const char *
t_bad_value (const sluice_option_t *opt)
{
    if (streq (opt->name, "termseq"))
        return "TERM,soon,KILL";
    if (streq (opt->name, "halt"))
        return "later,fail=1";
    if (streq (opt->name, "jobs"))
        return "0%";                //  -1 is cores - 1, 0 as many as possible
    switch (opt->type) {
        case SLUICE_TYPE_ENDPOINT: return "nonsense";
        case SLUICE_TYPE_DURATION: return "5x";
        case SLUICE_TYPE_SIZE: return "lots";
        case SLUICE_TYPE_COUNT: return "-1";
        case SLUICE_TYPE_BOOL: return "maybe";
        case SLUICE_TYPE_ENUM: return "xml";
        case SLUICE_TYPE_STRING: return opt->min? "": NULL;    //  any text is a file name
    }
    return NULL;
}

//  Assert that the option reads back as value (endpoints: with a direction).
static void
t_reads (sluice_config_t *config, const sluice_option_t *opt, const char *value)
{
    const char *got = sluice_config_get (config, opt->name);
    assert_non_null (got);
    if (opt->type == SLUICE_TYPE_ENDPOINT) {
        if ((got [0] != '@' && got [0] != '>') || strcmp (got + 1, value))
            fail_msg ("%s reads '%s', not '%s' with a direction", opt->name, got, value);
    }
    else
    if (strcmp (got, value))
        fail_msg ("%s reads '%s', not '%s'", opt->name, got, value);
}

//  Rows that hold a setting (not -c, --help, --version)
#define T_EACH_SETTING(opt, i) \
    for (size_t i = 0; ((opt) = sluice_option_at (i)); i++) if (!(opt)->cli)

//  Set one endpoint that must be accepted; returns the normalized value.
static const char *
t_set (sluice_config_t *config, const char *name, const char *value)
{
    char err [256] = "";
    if (sluice_config_set_endpoint (config, name, value, err, sizeof err))
        fail_msg ("%s '%s' rejected: %s", name, value, err);
    return strcmp (name, "tasks") == 0? config->tasks
         : strcmp (name, "results") == 0? config->results: config->control;
}

//  Set one endpoint that must be rejected with a message naming words.
static void
t_set_fails (sluice_config_t *config, const char *name, const char *value,
             const char *words)
{
    char err [256] = "";
    if (sluice_config_set_endpoint (config, name, value, err, sizeof err) != -1)
        fail_msg ("%s '%s' accepted", name, value);
    if (!strstr (err, words))
        fail_msg ("message '%s' does not name '%s'", err, words);
}

//  --------------------------------------------------------------------------
//  Typical use

//  A worker whose topology file names the hosts, overridden by the
//  environment for results and by a flag for tasks.
static void
test_worker_resolves_file_env_and_flags (void **state)
{
    (void) state;
    char *path = t_file ("sluice\n"
                         "    tasks = \"tcp://file-host:1001\"\n"
                         "    results = \"tcp://file-host:1002\"\n"
                         "    control = \"tcp://file-host:1003\"\n");
    setenv ("SLUICE_RESULTS", "tcp://env-host:2002", 1);

    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_WORKER);
    char err [256] = "";
    int rc = sluice_config_resolve (config, path, "tcp://flag-host:3001", NULL, NULL,
                                    err, sizeof err);
    assert_int_equal (rc, 0);
    assert_string_equal (config->tasks, ">tcp://flag-host:3001");
    assert_string_equal (config->results, ">tcp://env-host:2002");
    assert_string_equal (config->control, ">tcp://file-host:1003");

    sluice_config_destroy (&config);
    assert_null (config);
    sluice_config_destroy (&config);            //  safe a second time
    t_file_remove (&path);
}

//  --------------------------------------------------------------------------
//  Defaults

static void
test_defaults_per_role (void **state)
{
    (void) state;
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    assert_int_equal (config->role, SLUICE_ROLE_VENTILATOR);
    assert_string_equal (config->tasks, "@tcp://*:5557");
    assert_string_equal (config->control, ">tcp://localhost:5559");
    sluice_config_destroy (&config);

    config = sluice_config_new (SLUICE_ROLE_WORKER);
    assert_string_equal (config->tasks, ">tcp://localhost:5557");
    assert_string_equal (config->results, ">tcp://localhost:5558");
    sluice_config_destroy (&config);

    config = sluice_config_new (SLUICE_ROLE_SINK);
    assert_string_equal (config->results, "@tcp://*:5558");
    assert_string_equal (config->control, "@tcp://*:5559");
    sluice_config_destroy (&config);
}

static void
test_default_options (void **state)
{
    (void) state;
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    assert_int_equal (config->max_size, 64 * 1024 * 1024);
    assert_int_equal (config->window, 131072);
    assert_int_equal (config->timeout_ms, 30000);
    assert_int_equal (config->retries, 0);
    assert_int_equal (config->max_attempts, 5);
    assert_int_equal (config->input, SLUICE_INPUT_LINES);
    assert_int_equal (config->mode, SLUICE_MODE_NONE);
    assert_true (config->jobs >= 1);
    assert_true (config->prefetch == SIZE_MAX);     //  auto
    assert_int_equal (config->task_timeout_ms, 0);
    assert_int_equal (config->grace_ms, 30000);
    assert_int_equal (config->format, SLUICE_FORMAT_LINES);
    assert_null (config->journal);
    assert_null (config->command);
    assert_null (config->output);
    assert_false (config->keep_order);
    sluice_config_destroy (&config);
}

//  --------------------------------------------------------------------------
//  Endpoints

//  One bare value serves every program: each takes its natural direction.
static void
test_bare_endpoint_takes_natural_direction (void **state)
{
    (void) state;
    sluice_config_t *vent = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    sluice_config_t *worker = sluice_config_new (SLUICE_ROLE_WORKER);
    sluice_config_t *sink = sluice_config_new (SLUICE_ROLE_SINK);

    assert_string_equal (t_set (vent, "tasks", "tcp://vent:5557"), "@tcp://vent:5557");
    assert_string_equal (t_set (worker, "tasks", "tcp://vent:5557"), ">tcp://vent:5557");
    assert_string_equal (t_set (worker, "results", "tcp://sink:5558"), ">tcp://sink:5558");
    assert_string_equal (t_set (sink, "results", "tcp://sink:5558"), "@tcp://sink:5558");
    assert_string_equal (t_set (vent, "control", "tcp://sink:5559"), ">tcp://sink:5559");
    assert_string_equal (t_set (sink, "control", "tcp://sink:5559"), "@tcp://sink:5559");
    //  other transports too
    assert_string_equal (t_set (vent, "tasks", "ipc:///tmp/tasks"), "@ipc:///tmp/tasks");
    assert_string_equal (t_set (worker, "tasks", "ipc:///tmp/tasks"), ">ipc:///tmp/tasks");
    assert_string_equal (t_set (sink, "results", "inproc://results"), "@inproc://results");

    sluice_config_destroy (&vent);
    sluice_config_destroy (&worker);
    sluice_config_destroy (&sink);
}

static void
test_explicit_direction_is_kept (void **state)
{
    (void) state;
    sluice_config_t *worker = sluice_config_new (SLUICE_ROLE_WORKER);
    //  a worker may bind, e.g. when the ventilator connects out to it
    assert_string_equal (t_set (worker, "tasks", "@tcp://*:6000"), "@tcp://*:6000");
    assert_string_equal (t_set (worker, "tasks", ">tcp://vent:6000"), ">tcp://vent:6000");
    sluice_config_destroy (&worker);

    sluice_config_t *vent = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    assert_string_equal (t_set (vent, "tasks", ">tcp://worker:6000"), ">tcp://worker:6000");
    assert_string_equal (t_set (vent, "control", "@tcp://*:6001"), "@tcp://*:6001");
    //  connecting to the wildcard means connecting to this host
    assert_string_equal (t_set (vent, "tasks", ">tcp://*:6000"), ">tcp://localhost:6000");
    sluice_config_destroy (&vent);
}

static void
test_endpoint_lists (void **state)
{
    (void) state;
    sluice_config_t *worker = sluice_config_new (SLUICE_ROLE_WORKER);
    assert_string_equal (t_set (worker, "tasks", "tcp://a:1,tcp://b:2"),
                         ">tcp://a:1,>tcp://b:2");
    //  blanks around items are ignored; explicit directions mix with bare
    assert_string_equal (t_set (worker, "tasks", " tcp://a:1 , @ipc:///tmp/x,>tcp://*:3 "),
                         ">tcp://a:1,@ipc:///tmp/x,>tcp://localhost:3");
    //  empty items are skipped
    assert_string_equal (t_set (worker, "results", "tcp://a:1,,tcp://b:2,"),
                         ">tcp://a:1,>tcp://b:2");
    sluice_config_destroy (&worker);

    sluice_config_t *sink = sluice_config_new (SLUICE_ROLE_SINK);
    assert_string_equal (t_set (sink, "results", "tcp://*:1,tcp://10.0.0.1:2,tcp://[::1]:3"),
                         "@tcp://*:1,@tcp://10.0.0.1:2,@tcp://[::1]:3");
    sluice_config_destroy (&sink);
}

static void
test_invalid_endpoints_are_rejected (void **state)
{
    (void) state;
    sluice_config_t *worker = sluice_config_new (SLUICE_ROLE_WORKER);
    t_set_fails (worker, "tasks", "", "invalid tasks endpoint ''");
    t_set_fails (worker, "tasks", ",", "invalid tasks endpoint ','");
    t_set_fails (worker, "tasks", "  ", "invalid tasks endpoint ''");
    t_set_fails (worker, "tasks", "localhost:5557", "invalid tasks endpoint 'localhost:5557'");
    t_set_fails (worker, "tasks", "tcp://vent", "'tcp://vent'");
    t_set_fails (worker, "tasks", "tcp://vent:", "'tcp://vent:'");
    t_set_fails (worker, "tasks", "tcp://vent:http", "'tcp://vent:http'");
    t_set_fails (worker, "tasks", "tcp://[::1]", "'tcp://[::1]'");
    t_set_fails (worker, "tasks", "tcp://", "'tcp://'");
    t_set_fails (worker, "tasks", "://vent:5557", "'://vent:5557'");
    t_set_fails (worker, "tasks", "@", "invalid tasks endpoint ''");
    //  libzmq would take 99999 as port 34463 (modulo 65536): say so instead
    t_set_fails (worker, "tasks", "tcp://vent:99999",
                 "invalid tasks endpoint 'tcp://vent:99999': the port is above 65535");
    t_set_fails (worker, "tasks", "tcp://vent:65536", "the port is above 65535");
    t_set_fails (worker, "tasks", "tcp://vent:99999999999999999999999", "above 65535");
    t_set_fails (worker, "tasks", "tcp://vent:5x", "invalid tasks endpoint 'tcp://vent:5x'");
    t_set_fails (worker, "tasks", "tcp://vent:5*", "invalid tasks endpoint 'tcp://vent:5*'");
    t_set_fails (worker, "tasks", "tcp://vent:0", "port 0 cannot be connected to");
    assert_string_equal (t_set (worker, "tasks", "tcp://vent:65535"), ">tcp://vent:65535");
    assert_string_equal (t_set (worker, "tasks", "tcp://vent:00080"), ">tcp://vent:00080");
    sluice_config_destroy (&worker);
    sluice_config_t *sink = sluice_config_new (SLUICE_ROLE_SINK);
    assert_string_equal (t_set (sink, "results", "tcp://127.0.0.1:0"), "@tcp://127.0.0.1:0");
    assert_string_equal (t_set (sink, "results", "tcp://127.0.0.1:*"), "@tcp://127.0.0.1:*");
    t_set_fails (sink, "results", "tcp://127.0.0.1:70000", "the port is above 65535");
    sluice_config_destroy (&sink);
}

//  A rejected value names the bad item of a list and leaves the old value.
static void
test_rejected_endpoint_keeps_old_value (void **state)
{
    (void) state;
    sluice_config_t *worker = sluice_config_new (SLUICE_ROLE_WORKER);
    t_set (worker, "tasks", "tcp://good:1");
    t_set_fails (worker, "tasks", "tcp://good:2, tcp://bad", "invalid tasks endpoint 'tcp://bad'");
    assert_string_equal (worker->tasks, ">tcp://good:1");
    t_set_fails (worker, "control", "nonsense", "invalid control endpoint 'nonsense'");
    sluice_config_destroy (&worker);
}

//  --------------------------------------------------------------------------
//  Parsers

static void
test_parse_duration (void **state)
{
    (void) state;
    assert_int_equal (sluice_parse_duration ("250ms"), 250);
    assert_int_equal (sluice_parse_duration ("2s"), 2000);
    assert_int_equal (sluice_parse_duration ("5m"), 300000);
    assert_int_equal (sluice_parse_duration ("1h"), 3600000);
    assert_int_equal (sluice_parse_duration ("1.5"), 1500);     //  bare = seconds
    assert_int_equal (sluice_parse_duration ("30"), 30000);
    assert_int_equal (sluice_parse_duration ("0"), 0);
    assert_int_equal (sluice_parse_duration ("0.5ms"), 1);      //  rounded
    assert_int_equal (sluice_parse_duration ("1.5m"), 90000);
    assert_int_equal (sluice_parse_duration (""), -1);
    assert_int_equal (sluice_parse_duration (NULL), -1);
    assert_int_equal (sluice_parse_duration ("abc"), -1);
    assert_int_equal (sluice_parse_duration ("5x"), -1);
    assert_int_equal (sluice_parse_duration ("-1"), -1);
    assert_int_equal (sluice_parse_duration ("+1"), -1);
    assert_int_equal (sluice_parse_duration (" 1s"), -1);
    assert_int_equal (sluice_parse_duration ("1 s"), -1);
    assert_int_equal (sluice_parse_duration ("1s "), -1);
    assert_int_equal (sluice_parse_duration ("1S"), -1);
    assert_int_equal (sluice_parse_duration ("ms"), -1);
    assert_int_equal (sluice_parse_duration ("1d"), -1);
    assert_int_equal (sluice_parse_duration ("1e400"), -1);     //  overflow
    assert_int_equal (sluice_parse_duration ("99999999999999h"), -1);
}

static void
test_parse_size (void **state)
{
    (void) state;
    assert_int_equal (sluice_parse_size ("65536"), 65536);
    assert_int_equal (sluice_parse_size ("100B"), 100);
    assert_int_equal (sluice_parse_size ("64k"), 65536);
    assert_int_equal (sluice_parse_size ("64K"), 65536);
    assert_int_equal (sluice_parse_size ("64KiB"), 65536);
    assert_int_equal (sluice_parse_size ("64M"), 64 * 1024 * 1024);
    assert_int_equal (sluice_parse_size ("64MiB"), 64 * 1024 * 1024);
    assert_int_equal (sluice_parse_size ("1G"), 1024 * 1024 * 1024);
    assert_int_equal (sluice_parse_size ("2GiB"), 2LL * 1024 * 1024 * 1024);
    assert_int_equal (sluice_parse_size ("1.5k"), 1536);
    assert_int_equal (sluice_parse_size ("0"), 0);
    assert_int_equal (sluice_parse_size (""), -1);
    assert_int_equal (sluice_parse_size (NULL), -1);
    assert_int_equal (sluice_parse_size ("-1"), -1);
    assert_int_equal (sluice_parse_size ("k"), -1);
    assert_int_equal (sluice_parse_size ("64kb"), -1);
    assert_int_equal (sluice_parse_size ("64m"), -1);           //  m is not mega
    assert_int_equal (sluice_parse_size ("1T"), -1);
    assert_int_equal (sluice_parse_size ("64 M"), -1);
    assert_int_equal (sluice_parse_size ("1e400"), -1);
    assert_int_equal (sluice_parse_size ("999999999G"), -1);
}

static void
test_parse_count (void **state)
{
    (void) state;
    assert_int_equal (sluice_parse_count ("4"), 4);
    assert_int_equal (sluice_parse_count ("0"), 0);             //  callers check >= 1
    assert_int_equal (sluice_parse_count ("007"), 7);
    assert_int_equal (sluice_parse_count ("2147483647"), 2147483647);
    assert_int_equal (sluice_parse_count ("2147483648"), -1);
    assert_int_equal (sluice_parse_count ("99999999999999999999"), -1);
    assert_int_equal (sluice_parse_count (""), -1);
    assert_int_equal (sluice_parse_count (NULL), -1);
    assert_int_equal (sluice_parse_count ("-1"), -1);
    assert_int_equal (sluice_parse_count ("+4"), -1);
    assert_int_equal (sluice_parse_count (" 4"), -1);
    assert_int_equal (sluice_parse_count ("4 "), -1);
    assert_int_equal (sluice_parse_count ("4.0"), -1);
    assert_int_equal (sluice_parse_count ("4k"), -1);
    assert_int_equal (sluice_parse_count ("four"), -1);
}

//  Durations and sizes are decimal: strtod's hexadecimal and exponent
//  forms are not units a user means ("0x10" is not 16 s, "1e3" not 1000 s).
static void
test_parse_rejects_hex_and_exponents (void **state)
{
    (void) state;
    assert_int_equal (sluice_parse_duration ("0x10"), -1);
    assert_int_equal (sluice_parse_duration ("0x1p4s"), -1);
    assert_int_equal (sluice_parse_duration ("1e3"), -1);
    assert_int_equal (sluice_parse_duration ("2E1s"), -1);
    assert_int_equal (sluice_parse_size ("0x10"), -1);
    assert_int_equal (sluice_parse_size ("0x40k"), -1);
    assert_int_equal (sluice_parse_size ("1e3"), -1);
}

//  --------------------------------------------------------------------------
//  Precedence: default < file < environment < flag

static void
test_precedence_file_env_flag (void **state)
{
    (void) state;
    char *path = t_file ("#   topology for the test\n"
                         "sluice\n"
                         "    tasks = \"tcp://file-host:1001\"\n"
                         "    results = \"tcp://file-host:1002\"\n"
                         "    control = \"tcp://file-host:1003\"\n"
                         "    max-size = 1M\n");
    char err [256] = "";

    //  file alone beats the defaults
    sluice_config_t *vent = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    assert_int_equal (sluice_config_resolve (vent, path, NULL, NULL, NULL, err, sizeof err), 0);
    assert_string_equal (vent->tasks, "@tcp://file-host:1001");
    assert_string_equal (vent->control, ">tcp://file-host:1003");
    assert_int_equal (vent->max_size, 1024 * 1024);
    sluice_config_destroy (&vent);

    //  environment beats the file
    setenv ("SLUICE_TASKS", "tcp://env-host:2001", 1);
    setenv ("SLUICE_CONTROL", "tcp://env-host:2003", 1);
    vent = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    assert_int_equal (sluice_config_resolve (vent, path, NULL, NULL, NULL, err, sizeof err), 0);
    assert_string_equal (vent->tasks, "@tcp://env-host:2001");
    assert_string_equal (vent->control, ">tcp://env-host:2003");
    assert_int_equal (vent->max_size, 1024 * 1024);
    sluice_config_destroy (&vent);

    //  flags beat the environment; what no flag names keeps the env value
    vent = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    assert_int_equal (sluice_config_resolve (vent, path, "tcp://flag-host:3001", NULL, NULL,
                                             err, sizeof err), 0);
    assert_string_equal (vent->tasks, "@tcp://flag-host:3001");
    assert_string_equal (vent->control, ">tcp://env-host:2003");
    sluice_config_destroy (&vent);

    //  the same layers give the sink its own directions
    sluice_config_t *sink = sluice_config_new (SLUICE_ROLE_SINK);
    assert_int_equal (sluice_config_resolve (sink, path, NULL, "tcp://flag-host:3002", NULL,
                                             err, sizeof err), 0);
    assert_string_equal (sink->results, "@tcp://flag-host:3002");
    assert_string_equal (sink->control, "@tcp://env-host:2003");
    sluice_config_destroy (&sink);
    t_file_remove (&path);
}

static void
test_env_without_file (void **state)
{
    (void) state;
    char err [256] = "";
    setenv ("SLUICE_RESULTS", "tcp://env-host:2002", 1);
    setenv ("SLUICE_TASKS", "", 1);                 //  empty: ignored
    sluice_config_t *worker = sluice_config_new (SLUICE_ROLE_WORKER);
    assert_int_equal (sluice_config_resolve (worker, NULL, NULL, NULL, NULL, err, sizeof err), 0);
    assert_string_equal (worker->tasks, ">tcp://localhost:5557");
    assert_string_equal (worker->results, ">tcp://env-host:2002");
    sluice_config_destroy (&worker);
}

static void
test_bad_env_names_the_variable (void **state)
{
    (void) state;
    char err [256] = "";
    setenv ("SLUICE_CONTROL", "tcp://nowhere", 1);
    sluice_config_t *sink = sluice_config_new (SLUICE_ROLE_SINK);
    assert_int_equal (sluice_config_resolve (sink, NULL, NULL, NULL, NULL, err, sizeof err), -1);
    assert_non_null (strstr (err, "SLUICE_CONTROL"));
    assert_non_null (strstr (err, "'tcp://nowhere'"));
    sluice_config_destroy (&sink);
}

static void
test_bad_flag_names_the_value (void **state)
{
    (void) state;
    char err [256] = "";
    sluice_config_t *worker = sluice_config_new (SLUICE_ROLE_WORKER);
    assert_int_equal (sluice_config_resolve (worker, NULL, NULL, "sink-host", NULL,
                                             err, sizeof err), -1);
    assert_string_equal (err, "invalid results endpoint 'sink-host'");
    sluice_config_destroy (&worker);
}

static void
test_bad_file (void **state)
{
    (void) state;
    char err [256] = "";
    sluice_config_t *vent = sluice_config_new (SLUICE_ROLE_VENTILATOR);

    //  missing file: named, with the reason
    assert_int_equal (sluice_config_resolve (vent, "/nonexistent/sluice.cfg", NULL, NULL, NULL,
                                             err, sizeof err), -1);
    assert_non_null (strstr (err, "/nonexistent/sluice.cfg"));
    assert_non_null (strstr (err, "No such file"));

    //  a bad endpoint: file, key and value named
    char *path = t_file ("sluice\n    tasks = \"vent-host\"\n");
    assert_int_equal (sluice_config_resolve (vent, path, NULL, NULL, NULL, err, sizeof err), -1);
    assert_non_null (strstr (err, path));
    assert_non_null (strstr (err, "sluice/tasks"));
    assert_non_null (strstr (err, "'vent-host'"));
    t_file_remove (&path);

    //  a bad size
    path = t_file ("sluice\n    max-size = lots\n");
    assert_int_equal (sluice_config_resolve (vent, path, NULL, NULL, NULL, err, sizeof err), -1);
    assert_non_null (strstr (err, "sluice/max-size"));
    assert_non_null (strstr (err, "'lots'"));
    t_file_remove (&path);
    path = t_file ("sluice\n    max-size = 0\n");
    assert_int_equal (sluice_config_resolve (vent, path, NULL, NULL, NULL, err, sizeof err), -1);
    t_file_remove (&path);

    //  a misspelt section is named with its line, and changes nothing
    path = t_file ("#   topology\nsluic\n    tasks = \"tcp://x:1\"\n");
    assert_int_equal (sluice_config_resolve (vent, path, NULL, NULL, NULL, err, sizeof err), -1);
    t_contains (err, ":2: unknown section 'sluic'");
    assert_string_equal (vent->tasks, "@tcp://*:5557");
    t_file_remove (&path);
    sluice_config_destroy (&vent);
}


//  --------------------------------------------------------------------------
//  The option table

//  Every setting is set by its long name, in its command-line form, and
//  read back in the same form.
static void
test_every_option_is_set_by_its_long_name (void **state)
{
    (void) state;
    const sluice_option_t *opt;
    for (int role = SLUICE_ROLE_VENTILATOR; role <= SLUICE_ROLE_SINK; role++) {
        T_EACH_SETTING (opt, i) {
            sluice_config_t *config = sluice_config_new ((sluice_role_t) role);
            for (int which = 0; which < 2; which++) {
                char err [256] = "";
                const char *value = t_good_value (opt, which);
                if (sluice_config_set (config, opt->name, value, err, sizeof err))
                    fail_msg ("%s '%s' rejected: %s", opt->name, value, err);
                t_reads (config, opt, value);
            }
            sluice_config_destroy (&config);
        }
    }
}

//  What get returns is accepted back by set, unchanged: for the defaults too.
static void
test_every_default_reads_back (void **state)
{
    (void) state;
    const sluice_option_t *opt;
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_WORKER);
    sluice_config_t *copy = sluice_config_new (SLUICE_ROLE_WORKER);
    T_EACH_SETTING (opt, i) {
        const char *value = sluice_config_get (config, opt->name);
        assert_non_null (value);
        char err [256] = "";
        if (*value && sluice_config_set (copy, opt->name, value, err, sizeof err))
            fail_msg ("%s default '%s' not accepted back: %s", opt->name, value, err);
        if (*value)
            assert_string_equal (sluice_config_get (copy, opt->name), value);
    }
    assert_string_equal (sluice_config_get (config, "window"), "131072");
    assert_string_equal (sluice_config_get (config, "timeout"), "30s");
    assert_string_equal (sluice_config_get (config, "max-size"), "64M");
    assert_string_equal (sluice_config_get (config, "format"), "lines");
    assert_string_equal (sluice_config_get (config, "prefetch"), "auto");
    assert_string_equal (sluice_config_get (config, "tasks"), ">tcp://localhost:5557");
    assert_string_equal (sluice_config_get (config, "output"), "");
    assert_string_equal (sluice_config_get (config, "echo"), "0");
    assert_null (sluice_config_get (config, "bogus"));
    assert_null (sluice_config_get (config, "help"));
    sluice_config_destroy (&config);
    sluice_config_destroy (&copy);
}

//  Each layer beats the one below, option by option: default < topology
//  file < environment < set (the flags).
static void
test_every_option_layers_in_order (void **state)
{
    (void) state;
    const sluice_option_t *opt;
    T_EACH_SETTING (opt, i) {
        if (!opt->zpl && !opt->env)
            continue;
        char *path = NULL;
        if (opt->zpl) {
            char text [512];
            const char *slash = strchr (opt->zpl, '/');
            snprintf (text, sizeof text, "%.*s\n    %s = \"%s\"\n", (int) (slash - opt->zpl),
                      opt->zpl, slash + 1, t_good_value (opt, 0));
            path = t_file (text);
        }
        char err [256] = "";
        sluice_config_t *config = sluice_config_new (SLUICE_ROLE_VENTILATOR);
        if (path) {                                 //  the file beats the default
            if (sluice_config_load_file (config, path, err, sizeof err))
                fail_msg ("%s: %s", opt->zpl, err);
            t_reads (config, opt, t_good_value (opt, 0));
        }
        if (opt->env) {                             //  the environment beats the file
            setenv (opt->env, t_good_value (opt, 1), 1);
            assert_int_equal (sluice_config_resolve (config, path, NULL, NULL, NULL,
                                                     err, sizeof err), 0);
            t_reads (config, opt, t_good_value (opt, 1));
            unsetenv (opt->env);
        }
        //  set (a flag) beats both
        const char *flag = opt->type == SLUICE_TYPE_ENDPOINT? "ipc:///tmp/sluice-flag"
                         : opt->type == SLUICE_TYPE_COUNT? "11": t_good_value (opt, 1);
        assert_int_equal (sluice_config_set (config, opt->name, flag, err, sizeof err), 0);
        t_reads (config, opt, flag);
        sluice_config_destroy (&config);
        if (path)
            t_file_remove (&path);
    }
}

//  A bad value of any option, from any layer, is one line naming the value
//  (and the variable, or the file, line and key) and changes nothing.
static void
test_every_bad_value_is_named (void **state)
{
    (void) state;
    const sluice_option_t *opt;
    T_EACH_SETTING (opt, i) {
        const char *bad = t_bad_value (opt);
        if (!bad)
            continue;
        char quoted [64], err [256] = "";
        snprintf (quoted, sizeof quoted, "'%s'", bad);
        sluice_config_t *config = sluice_config_new (SLUICE_ROLE_WORKER);
        char *before = strdup (sluice_config_get (config, opt->name));
        if (sluice_config_set (config, opt->name, bad, err, sizeof err) != -1)
            fail_msg ("%s '%s' accepted", opt->name, bad);
        t_contains (err, quoted);
        assert_null (strchr (err, '\n'));
        assert_string_equal (sluice_config_get (config, opt->name), before);
        if (opt->env && *bad) {
            setenv (opt->env, bad, 1);
            assert_int_equal (sluice_config_load_env (config, err, sizeof err), -1);
            t_contains (err, opt->env);
            t_contains (err, quoted);
            unsetenv (opt->env);
        }
        if (opt->zpl && *bad) {
            char text [256];
            const char *slash = strchr (opt->zpl, '/');
            snprintf (text, sizeof text, "#   bad\n%.*s\n    %s = \"%s\"\n",
                      (int) (slash - opt->zpl), opt->zpl, slash + 1, bad);
            char *path = t_file (text);
            assert_int_equal (sluice_config_load_file (config, path, err, sizeof err), -1);
            t_contains (err, path);
            t_contains (err, ":3: ");
            t_contains (err, opt->zpl);
            t_contains (err, quoted);
            t_file_remove (&path);
        }
        free (before);
        sluice_config_destroy (&config);
    }
}

//  Ranges are checked where the table sets them.
static void
test_values_out_of_range_are_rejected (void **state)
{
    (void) state;
    char err [256] = "";
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_WORKER);
    assert_int_equal (sluice_config_set (config, "jobs", "0%", err, sizeof err), -1);
    assert_string_equal (err, "invalid jobs value '0%'");
    //  0: as many as the open-file limit leaves 4 descriptors each for
    struct rlimit limit, low = { 256, 0 };
    getrlimit (RLIMIT_NOFILE, &limit);
    low.rlim_max = limit.rlim_max;
    setrlimit (RLIMIT_NOFILE, &low);
    assert_int_equal (sluice_config_set (config, "jobs", "0", err, sizeof err), 0);
    assert_int_equal (config->jobs, (256 - 64) / 4);
    low.rlim_cur = 40;
    setrlimit (RLIMIT_NOFILE, &low);
    assert_int_equal (sluice_config_set (config, "jobs", "0", err, sizeof err), 0);
    assert_int_equal (config->jobs, 1);
    setrlimit (RLIMIT_NOFILE, &limit);
    assert_int_equal (sluice_config_set (config, "jobs", "4097", err, sizeof err), -1);
    assert_int_equal (sluice_config_set (config, "jobs", "4096", err, sizeof err), 0);
    //  GNU parallel's forms, relative to the cores: +N, -N, N% (at least 1)
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    assert_int_equal (sluice_config_set (config, "jobs", "+2", err, sizeof err), 0);
    assert_int_equal (config->jobs, cores + 2);
    assert_int_equal (sluice_config_set (config, "jobs", "-1", err, sizeof err), 0);
    assert_int_equal (config->jobs, cores > 1? cores - 1: 1);
    assert_int_equal (sluice_config_set (config, "jobs", "-5000", err, sizeof err), 0);
    assert_int_equal (config->jobs, 1);
    assert_int_equal (sluice_config_set (config, "jobs", "200%", err, sizeof err), 0);
    assert_int_equal (config->jobs, cores * 2);
    assert_int_equal (sluice_config_set (config, "jobs", "1%", err, sizeof err), 0);
    assert_int_equal (config->jobs, 1);
    assert_string_equal (sluice_config_get (config, "jobs"), "1");
    const char *bad [] = { "0%", "+", "-", "%", "1.5", "+4096", "4097", "2x", " 1", NULL };
    for (int i = 0; bad [i]; i++)
        assert_int_equal (sluice_config_set (config, "jobs", bad [i], err, sizeof err), -1);
    assert_int_equal (sluice_config_set (config, "max-size", "1023", err, sizeof err), -1);
    assert_int_equal (sluice_config_set (config, "max-size", "1k", err, sizeof err), 0);
    assert_int_equal (sluice_config_set (config, "window", "0", err, sizeof err), -1);
    assert_int_equal (sluice_config_set (config, "grace", "0", err, sizeof err), 0);
    assert_int_equal (sluice_config_set (config, "task-timeout", "0", err, sizeof err), -1);
    assert_int_equal (sluice_config_set (config, "prefetch", "1000001", err, sizeof err), -1);
    assert_int_equal (sluice_config_set (config, "exec", "", err, sizeof err), -1);
    assert_string_equal (err, "invalid exec value ''");
    assert_int_equal (sluice_config_set (config, "bogus", "1", err, sizeof err), -1);
    assert_string_equal (err, "unknown option 'bogus'");
    assert_int_equal (sluice_config_set (config, "help", "1", err, sizeof err), -1);
    sluice_config_destroy (&config);
}

//  The worker's mode: the last of --echo, --exec, --coproc wins, and the
//  fields the library reads follow.
static void
test_mode_options_set_mode_and_command (void **state)
{
    (void) state;
    char err [256] = "";
    sluice_config_t *config = sluice_config_new (SLUICE_ROLE_WORKER);
    assert_int_equal (config->mode, SLUICE_MODE_NONE);
    assert_int_equal (sluice_config_set (config, "exec", "gzip -c {}", err, sizeof err), 0);
    assert_int_equal (config->mode, SLUICE_MODE_EXEC);
    assert_string_equal (config->command, "gzip -c {}");
    assert_string_equal (sluice_config_get (config, "coproc"), "");
    assert_int_equal (sluice_config_set (config, "echo", "true", err, sizeof err), 0);
    assert_int_equal (config->mode, SLUICE_MODE_ECHO);
    assert_null (config->command);
    assert_string_equal (sluice_config_get (config, "exec"), "");
    assert_int_equal (sluice_config_set (config, "echo", "false", err, sizeof err), 0);
    assert_int_equal (config->mode, SLUICE_MODE_NONE);
    assert_int_equal (sluice_config_set (config, "null", "1", err, sizeof err), 0);
    assert_int_equal (config->input, SLUICE_INPUT_NUL);
    assert_int_equal (sluice_config_set (config, "msgpack", "1", err, sizeof err), 0);
    assert_int_equal (config->input, SLUICE_INPUT_MSGPACK);
    assert_string_equal (sluice_config_get (config, "null"), "0");
    assert_int_equal (sluice_config_set (config, "jobs", "4", err, sizeof err), 0);
    assert_int_equal (config->jobs, 4);
    assert_int_equal (sluice_config_set (config, "keep-order", "1", err, sizeof err), 0);
    assert_true (config->keep_order);
    assert_int_equal (sluice_config_set (config, "format", "jsonl", err, sizeof err), 0);
    assert_int_equal (config->format, SLUICE_FORMAT_JSONL);
    sluice_config_destroy (&config);
}

//  A misspelt key would leave its option at the default in silence (every
//  task then ends lost): it is an error naming the key and its line.
static void
test_unknown_key_is_named_with_its_line (void **state)
{
    (void) state;
    char err [256] = "";
    char *path = t_file ("sluice\n"
                         "    tasks = \"tcp://vent:5557\"\n"
                         "    result = \"tcp://sink:5558\"\n");
    sluice_config_t *worker = sluice_config_new (SLUICE_ROLE_WORKER);
    assert_int_equal (sluice_config_load_file (worker, path, err, sizeof err), -1);
    char want [512];
    snprintf (want, sizeof want, "%s:3: unknown key 'result'", path);
    assert_string_equal (err, want);
    assert_string_equal (worker->tasks, ">tcp://localhost:5557");   //  nothing applied
    t_file_remove (&path);

    //  keys nested under a key, and options that have no key, are unknown too
    path = t_file ("sluice\n    tasks = \"tcp://vent:5557\"\n        port = 1\n");
    assert_int_equal (sluice_config_load_file (worker, path, err, sizeof err), -1);
    t_contains (err, ":3: unknown key 'port'");
    t_file_remove (&path);
    path = t_file ("sluice\n    verbose = 1\n");
    assert_int_equal (sluice_config_load_file (worker, path, err, sizeof err), -1);
    t_contains (err, ":2: unknown key 'verbose'");
    t_file_remove (&path);

    //  comments and blank lines are skipped and counted
    path = t_file ("#   topology\n\nsluice\n    #   the ventilator\n    jobs = 3\n"
                   "    window = 100\n");
    assert_int_equal (sluice_config_load_file (worker, path, err, sizeof err), 0);
    assert_int_equal (worker->jobs, 3);
    assert_string_equal (sluice_config_get (worker, "window"), "100");
    sluice_config_destroy (&worker);
    t_file_remove (&path);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_worker_resolves_file_env_and_flags,
                                         t_clear_env, t_clear_env),
        cmocka_unit_test (test_defaults_per_role),
        cmocka_unit_test (test_default_options),
        cmocka_unit_test (test_bare_endpoint_takes_natural_direction),
        cmocka_unit_test (test_explicit_direction_is_kept),
        cmocka_unit_test (test_endpoint_lists),
        cmocka_unit_test (test_invalid_endpoints_are_rejected),
        cmocka_unit_test (test_rejected_endpoint_keeps_old_value),
        cmocka_unit_test (test_parse_duration),
        cmocka_unit_test (test_parse_size),
        cmocka_unit_test (test_parse_count),
        cmocka_unit_test (test_parse_rejects_hex_and_exponents),
        cmocka_unit_test_setup_teardown (test_precedence_file_env_flag, t_clear_env, t_clear_env),
        cmocka_unit_test_setup_teardown (test_env_without_file, t_clear_env, t_clear_env),
        cmocka_unit_test_setup_teardown (test_bad_env_names_the_variable, t_clear_env,
                                         t_clear_env),
        cmocka_unit_test_setup_teardown (test_bad_flag_names_the_value, t_clear_env,
                                         t_clear_env),
        cmocka_unit_test_setup_teardown (test_bad_file, t_clear_env, t_clear_env),
        cmocka_unit_test (test_every_option_is_set_by_its_long_name),
        cmocka_unit_test (test_every_default_reads_back),
        cmocka_unit_test_setup_teardown (test_every_option_layers_in_order, t_clear_env,
                                         t_clear_env),
        cmocka_unit_test_setup_teardown (test_every_bad_value_is_named, t_clear_env,
                                         t_clear_env),
        cmocka_unit_test (test_values_out_of_range_are_rejected),
        cmocka_unit_test (test_mode_options_set_mode_and_command),
        cmocka_unit_test (test_unknown_key_is_named_with_its_line),
    };
    t_clear_env (NULL);
    return cmocka_run_group_tests (tests, NULL, NULL);
}
