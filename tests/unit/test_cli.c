/*  =========================================================================
    test_cli.c - the programs' command line, driven by the option table

    The first test is the typical use: a worker's options come from its
    flags, then the environment, then the topology file, then the
    defaults, whatever the order of -c and the flags in argv. The rest pin
    down the exit codes and the one line of every usage error: a bad value
    named as the user spelt its option, an unknown topology key, two modes
    or none, an option that needs another, a stray operand. Each test runs
    sluice_cli_parse in-process with stderr captured.
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
#include <unistd.h>
#include <getopt.h>
#include <cmocka.h>

#include "private.h"
#include "../cli/cli.h"

static const sluice_cli_t s_worker = {
    .name = "worker", .role = SLUICE_ROLE_WORKER, .synopsis = "[OPTIONS]",
    .about = "", .epilogue = "", .required = "mode",
};
static const sluice_cli_t s_ventilator = {
    .name = "ventilator", .role = SLUICE_ROLE_VENTILATOR, .synopsis = "[FILE...]",
    .about = "", .epilogue = "", .operands = true,
};
static const sluice_cli_t s_sink = {
    .name = "sink", .role = SLUICE_ROLE_SINK, .synopsis = "", .about = "", .epilogue = "",
};

//  --------------------------------------------------------------------------
//  Helpers

static char t_stderr [4096];    //  what the last t_parse wrote on stderr
static int t_rc;                //  its exit code, when it returned NULL
static int t_operand;           //  its first operand

//  Run sluice_cli_parse on a NULL-terminated argument list, stderr captured.
static sluice_config_t *
t_parse (const sluice_cli_t *program, ...)
{
    char *argv [32];
    int argc = 0;
    va_list args;
    va_start (args, program);
    for (char *arg; (arg = va_arg (args, char *)); )
        argv [argc++] = arg;
    va_end (args);
    argv [argc] = NULL;

    fflush (stderr);
    int saved = dup (STDERR_FILENO);
    FILE *capture = tmpfile ();
    assert_non_null (capture);
    dup2 (fileno (capture), STDERR_FILENO);
    optind = 0;                 //  getopt starts afresh
    t_rc = -1;
    sluice_config_t *config = sluice_cli_parse (program, argc, argv, &t_operand, &t_rc);
    fflush (stderr);
    dup2 (saved, STDERR_FILENO);
    close (saved);
    rewind (capture);
    size_t size = fread (t_stderr, 1, sizeof t_stderr - 1, capture);
    t_stderr [size] = 0;
    fclose (capture);
    return config;
}

//  Assert the last parse failed with exit 2 and one line containing words.
static void
t_usage_error (const char *words)
{
    assert_int_equal (t_rc, SLUICE_EXIT_USAGE);
    const char *newline = strchr (t_stderr, '\n');
    if (!newline || newline [1])
        fail_msg ("not one line on stderr: '%s'", t_stderr);
    if (!strstr (t_stderr, words))
        fail_msg ("'%s' does not name '%s'", t_stderr, words);
}

static char *
t_file (const char *text)
{
    char *path = strdup ("/tmp/sluice-test-cli-XXXXXX");
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
    return path;
}

static int
t_clear_env (void **state)
{
    (void) state;
    unsetenv ("SLUICE_TASKS");
    unsetenv ("SLUICE_RESULTS");
    unsetenv ("SLUICE_CONTROL");
    return 0;
}

//  --------------------------------------------------------------------------
//  Typical use

static void
test_flag_beats_env_beats_file_beats_default (void **state)
{
    (void) state;
    char *path = t_file ("sluice\n"
                         "    tasks = \"ipc:///tmp/file-t\"\n"
                         "    results = \"ipc:///tmp/file-r\"\n"
                         "    jobs = 2\n"
                         "    grace = 5s\n");
    setenv ("SLUICE_RESULTS", "ipc:///tmp/env-r", 1);
    //  the flags come before -c: they still win over the file
    sluice_config_t *config = t_parse (&s_worker, "worker", "-j", "3", "--tasks",
                                       "ipc:///tmp/flag-t", "--echo", "-c", path, NULL);
    assert_non_null (config);
    assert_string_equal (t_stderr, "");
    assert_int_equal (config->jobs, 3);                             //  flag
    assert_string_equal (config->tasks, ">ipc:///tmp/flag-t");      //  flag
    assert_string_equal (config->results, ">ipc:///tmp/env-r");     //  environment
    assert_int_equal (config->grace_ms, 5000);                      //  file
    assert_int_equal (config->max_size, 64 * 1024 * 1024);          //  default
    assert_int_equal (config->mode, SLUICE_MODE_ECHO);
    sluice_config_destroy (&config);

    config = t_parse (&s_worker, "worker", "--exec", "gzip -c {}", "--pipe", "-c", path,
                      "--jobs=4", NULL);
    assert_non_null (config);
    assert_int_equal (config->jobs, 4);
    assert_int_equal (config->mode, SLUICE_MODE_EXEC);
    assert_string_equal (config->command, "gzip -c {}");
    assert_true (config->pipe);
    sluice_config_destroy (&config);
    unlink (path);
    free (path);
}

//  --------------------------------------------------------------------------
//  Exit codes and usage errors

static void
test_help_and_version_exit_zero (void **state)
{
    (void) state;
    int saved = dup (STDOUT_FILENO);
    FILE *quiet = fopen ("/dev/null", "w");
    fflush (stdout);
    dup2 (fileno (quiet), STDOUT_FILENO);
    assert_null (t_parse (&s_sink, "sink", "--help", NULL));
    assert_int_equal (t_rc, 0);
    assert_null (t_parse (&s_sink, "sink", "--version", NULL));
    assert_int_equal (t_rc, 0);
    fflush (stdout);
    dup2 (saved, STDOUT_FILENO);
    close (saved);
    fclose (quiet);
    assert_string_equal (t_stderr, "");
}

//  A bad value is named with the option as the user spelt it.
static void
test_bad_value_names_option_and_value (void **state)
{
    (void) state;
    assert_null (t_parse (&s_worker, "worker", "--echo", "-j", "0%", NULL));
    t_usage_error ("worker: invalid -j value '0%'");
    assert_null (t_parse (&s_worker, "worker", "--echo", "--jobs", "x", NULL));
    t_usage_error ("worker: invalid --jobs value 'x'");
    assert_null (t_parse (&s_ventilator, "ventilator", "--timeout", "5x", NULL));
    t_usage_error ("ventilator: invalid --timeout value '5x'");
    assert_null (t_parse (&s_sink, "sink", "--format", "xml", NULL));
    t_usage_error ("sink: invalid --format value 'xml'");
    assert_null (t_parse (&s_sink, "sink", "--results", "tcp://nowhere", NULL));
    t_usage_error ("sink: invalid results endpoint 'tcp://nowhere'");
    assert_null (t_parse (&s_worker, "worker", "--exec", "", NULL));
    t_usage_error ("worker: invalid --exec value ''");
}

//  An option another program takes is unknown here (getopt names it).
static void
test_option_of_another_role_is_unknown (void **state)
{
    (void) state;
    assert_null (t_parse (&s_sink, "sink", "--window", "5", NULL));
    t_usage_error ("--window");
    assert_null (t_parse (&s_ventilator, "ventilator", "-j", "5", NULL));
    t_usage_error ("j");
}

static void
test_unknown_topology_key_names_file_and_line (void **state)
{
    (void) state;
    char *path = t_file ("sluice\n    tasks = \"tcp://vent:5557\"\n    result = \"x\"\n");
    assert_null (t_parse (&s_sink, "sink", "-c", path, NULL));
    char want [256];
    snprintf (want, sizeof want, "sink: %s:3: unknown key 'result'\n", path);
    assert_string_equal (t_stderr, want);
    assert_int_equal (t_rc, SLUICE_EXIT_USAGE);
    unlink (path);
    free (path);
}

static void
test_worker_takes_exactly_one_mode (void **state)
{
    (void) state;
    assert_null (t_parse (&s_worker, "worker", "--tasks", "ipc:///tmp/x", NULL));
    t_usage_error ("worker: choose one of --echo, --exec CMD, --coproc CMD");
    assert_null (t_parse (&s_worker, "worker", "--echo", "--coproc", "cat", NULL));
    t_usage_error ("choose one of");
    assert_null (t_parse (&s_worker, "worker", "--echo", "--pipe", NULL));
    t_usage_error ("worker: --pipe needs --exec CMD");
}

static void
test_operands (void **state)
{
    (void) state;
    sluice_config_t *config = t_parse (&s_ventilator, "ventilator", "a.txt", "-0", "b.txt",
                                       NULL);
    assert_non_null (config);
    assert_int_equal (config->input, SLUICE_INPUT_NUL);
    assert_int_equal (t_operand, 2);            //  getopt moved the operands last
    sluice_config_destroy (&config);
    assert_null (t_parse (&s_sink, "sink", "stray", NULL));
    t_usage_error ("sink: unexpected argument 'stray'");
    assert_null (t_parse (&s_sink, "sink", "--append", NULL));
    t_usage_error ("sink: --append needs -o FILE");
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_flag_beats_env_beats_file_beats_default,
                                         t_clear_env, t_clear_env),
        cmocka_unit_test (test_help_and_version_exit_zero),
        cmocka_unit_test (test_bad_value_names_option_and_value),
        cmocka_unit_test (test_option_of_another_role_is_unknown),
        cmocka_unit_test (test_unknown_topology_key_names_file_and_line),
        cmocka_unit_test (test_worker_takes_exactly_one_mode),
        cmocka_unit_test (test_operands),
    };
    t_clear_env (NULL);
    return cmocka_run_group_tests (tests, NULL, NULL);
}
