/*  =========================================================================
    test_log.c - log lines with ISO 8601 timestamps (util.c)

    The first test is the typical use: zsys logs a warning through
    sluice_log_stream and stderr gets it stamped in ISO 8601 UTC. Then a
    table of lines for sluice_log_rewrite (what is a zsys stamp, what passes
    unchanged), and the stream's own duties: a line written in pieces is
    rewritten once whole, a line too long to hold passes unchanged, and
    lines logged from several threads at once arrive whole. stderr (fd 2)
    is captured in a temporary file for each stream test.
    =========================================================================
*/

#define _POSIX_C_SOURCE 200809L     //  fileno, dup2
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <pthread.h>
#include <regex.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "private.h"

//  "W: (test) 2026-12-01T19:44:24.123Z " at the start of a line
#define T_ISO_LINE "^[EWNID]: \\(test\\) [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}" \
                   "\\.[0-9]{3}Z "

//  --------------------------------------------------------------------------
//  Helpers

static int t_saved_stderr = -1;     //  fd 2 while it is captured
static FILE *t_capture;             //  the file that holds fd 2's output

//  Send fd 2 to a fresh temporary file.
static void
t_capture_start (void)
{
    t_capture = tmpfile ();
    assert_non_null (t_capture);
    fflush (stderr);
    t_saved_stderr = dup (STDERR_FILENO);
    assert_true (t_saved_stderr >= 0);
    assert_int_equal (dup2 (fileno (t_capture), STDERR_FILENO), STDERR_FILENO);
}

//  Give fd 2 back; returns what was written to it (the caller frees it).
static char *
t_capture_end (void)
{
    fflush (sluice_log_stream ());
    fflush (stderr);
    dup2 (t_saved_stderr, STDERR_FILENO);
    close (t_saved_stderr);
    assert_int_equal (fseek (t_capture, 0, SEEK_END), 0);
    long size = ftell (t_capture);
    assert_true (size >= 0);
    rewind (t_capture);
    char *text = calloc (1, (size_t) size + 1);
    assert_non_null (text);
    assert_int_equal (fread (text, 1, (size_t) size, t_capture), (size_t) size);
    fclose (t_capture);
    return text;
}

//  True if line matches the extended regular expression pattern.
static bool
t_matches (const char *line, const char *pattern)
{
    regex_t re;
    assert_int_equal (regcomp (&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool match = regexec (&re, line, 0, NULL, 0) == 0;
    regfree (&re);
    return match;
}

//  sluice_log_rewrite of a string, as a string.
static void
t_rewrite (const char *line, int64_t epoch_ms, char *out, size_t outsize)
{
    size_t size = sluice_log_rewrite (line, strlen (line), epoch_ms, out, outsize - 1);
    out [size] = 0;
}

//  --------------------------------------------------------------------------
//  Tests

static void
test_a_zsys_warning_reaches_stderr_stamped_in_iso_8601_utc (void **state)
{
    (void) state;
    t_capture_start ();
    zsys_set_logident ("test");
    zsys_set_logstream (sluice_log_stream ());
    zsys_warning ("sink not responding on %s", ">tcp://localhost:5559");
    char *text = t_capture_end ();
    assert_true (t_matches (text, T_ISO_LINE "sink not responding on >tcp://localhost:5559\n$"));
    free (text);
}

#define T_MS 1796154264123LL        //  2026-12-01T19:44:24.123Z

static void
test_rewrite_changes_only_a_zsys_stamp (void **state)
{
    (void) state;
    static const struct {
        const char *line, *expected;
    } cases [] = {
        //  zsys with an ident, its newline kept
        { "W: (sink) 26-12-01 20:44:24 message\n",
          "W: (sink) 2026-12-01T19:44:24.123Z message\n" },
        //  zsys without an ident
        { "I: 26-12-01 20:44:24 hello", "I: 2026-12-01T19:44:24.123Z hello" },
        //  an empty message: zsys still writes the space after its stamp
        { "D: (worker) 99-01-01 00:00:00 \n", "D: (worker) 2026-12-01T19:44:24.123Z \n" },
        //  an ident with a space in it
        { "E: (my prog) 26-12-01 20:44:24 x", "E: (my prog) 2026-12-01T19:44:24.123Z x" },
        //  what the message says is never touched
        { "W: (a) 26-12-01 20:44:24 at 26-12-01 20:44:24\n",
          "W: (a) 2026-12-01T19:44:24.123Z at 26-12-01 20:44:24\n" },
        //  not zsys lines: passed through unchanged
        { "sluice: invalid --window value 'abc'\n", "sluice: invalid --window value 'abc'\n" },
        { "W: (sink) no stamp here\n", "W: (sink) no stamp here\n" },
        { "W: (sink) 26-12-01 20:44\n", "W: (sink) 26-12-01 20:44\n" },
        { "W: (sink 26-12-01 20:44:24 unclosed\n", "W: (sink 26-12-01 20:44:24 unclosed\n" },
        { "w: (sink) 26-12-01 20:44:24 lower case\n", "w: (sink) 26-12-01 20:44:24 lower case\n" },
        { "W: (sink) 26-12-01T20:44:24 x\n", "W: (sink) 26-12-01T20:44:24 x\n" },
        { "W: (sink) 26-12-01 20:44:24", "W: (sink) 26-12-01 20:44:24" },
        { "", "" },
        { "\n", "\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char out [256];
        t_rewrite (cases [i].line, T_MS, out, sizeof out);
        assert_string_equal (out, cases [i].expected);
    }
}

static void
test_rewrite_pads_milliseconds_and_spans_the_epoch (void **state)
{
    (void) state;
    char out [128];
    t_rewrite ("I: 70-01-01 00:00:00 x", 0, out, sizeof out);
    assert_string_equal (out, "I: 1970-01-01T00:00:00.000Z x");
    t_rewrite ("I: 70-01-01 00:00:00 x", 7, out, sizeof out);
    assert_string_equal (out, "I: 1970-01-01T00:00:00.007Z x");
    t_rewrite ("I: 00-03-01 00:00:00 x", 951868799999LL, out, sizeof out);
    assert_string_equal (out, "I: 2000-02-29T23:59:59.999Z x");
}

static void
test_a_line_written_in_pieces_is_rewritten_once_whole (void **state)
{
    (void) state;
    t_capture_start ();
    FILE *stream = sluice_log_stream ();
    fputs ("W: (test) 26-1", stream);
    fflush (stream);
    fputs ("2-01 20:44:24 in ", stream);
    fflush (stream);
    fputs ("pieces\nI: (test) 26-12-01 20:44:25 next\n", stream);
    fputs ("not a log line\n", stream);
    char *text = t_capture_end ();
    char *second = strchr (text, '\n') + 1;
    assert_true (t_matches (text, T_ISO_LINE "in pieces\n"));
    assert_true (t_matches (second, T_ISO_LINE "next\nnot a log line\n$"));
    free (text);
}

static void
test_a_line_longer_than_the_buffer_passes_unchanged (void **state)
{
    (void) state;
    size_t size = 10000;
    char *line = malloc (size + 1);
    assert_non_null (line);
    memcpy (line, "W: (test) 26-12-01 20:44:24 ", 28);
    memset (line + 28, 'x', size - 29);
    line [size - 1] = '\n';
    line [size] = 0;
    t_capture_start ();
    fputs (line, sluice_log_stream ());
    fputs ("W: (test) 26-12-01 20:44:24 after\n", sluice_log_stream ());
    char *text = t_capture_end ();
    assert_int_equal (strncmp (text, line, size), 0);
    assert_true (t_matches (text + size, T_ISO_LINE "after\n$"));
    free (text);
    free (line);
}

#define T_THREADS 4
#define T_LINES 250

static void *
t_logger (void *args)
{
    int thread = *(int *) args;
    for (int i = 0; i < T_LINES; i++)
        zsys_info ("thread %d line %d of a line long enough to be written in one go", thread, i);
    return NULL;
}

static void
test_lines_logged_from_several_threads_arrive_whole (void **state)
{
    (void) state;
    zsys_set_logident ("test");
    zsys_set_logstream (sluice_log_stream ());
    t_capture_start ();
    pthread_t threads [T_THREADS];
    int ids [T_THREADS];
    for (int t = 0; t < T_THREADS; t++) {
        ids [t] = t;
        assert_int_equal (pthread_create (&threads [t], NULL, t_logger, &ids [t]), 0);
    }
    for (int t = 0; t < T_THREADS; t++)
        pthread_join (threads [t], NULL);
    char *text = t_capture_end ();
    int lines = 0;
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n"), lines++)
        assert_true (t_matches (line, T_ISO_LINE "thread [0-9] line [0-9]+ of a line long "
                                      "enough to be written in one go$"));
    assert_int_equal (lines, T_THREADS * T_LINES);
    free (text);
}

//  A program whose ZeroMQ context never closes (as libzmq 4.3.4's
//  zmq_ctx_term can hang) still exits, with its own code, and says why.
//  The child stands for it: sluice_exit_bounded_after, then an exit
//  handler that blocks forever, as zsys_shutdown would.
static void
s_block_forever (void)
{
    while (true)
        pause ();
}

static void
test_an_exit_whose_context_hangs_ends_with_its_own_code (void **state)
{
    (void) state;
    int pipefd [2];
    assert_int_equal (pipe (pipefd), 0);
    int64_t started = zclock_mono ();
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        dup2 (pipefd [1], STDERR_FILENO);
        close (pipefd [0]);
        sluice_init_process ("test", 0);
        atexit (s_block_forever);
        exit (sluice_exit_bounded_after (3, 1));
    }
    close (pipefd [1]);
    char text [512] = "";
    size_t used = 0;
    ssize_t n;
    struct pollfd item = { .fd = pipefd [0], .events = POLLIN };
    //  a child that is not bounded would block for good: kill it at 5 s
    while (poll (&item, 1, 5000) == 1
    &&     (n = read (pipefd [0], text + used, sizeof text - 1 - used)) > 0)
        used += (size_t) n;
    kill (pid, SIGKILL);
    text [used] = 0;
    close (pipefd [0]);
    int status;
    assert_int_equal (waitpid (pid, &status, 0), pid);
    int64_t elapsed = zclock_mono () - started;
    assert_true (WIFEXITED (status));
    assert_int_equal (WEXITSTATUS (status), 3);
    assert_true (elapsed >= 900 && elapsed < 5000);
    assert_non_null (strstr (text, "W: (test) the ZeroMQ context did not close within 1 s "
                                   "(libzmq 4.3.4); exiting with 3"));
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_a_zsys_warning_reaches_stderr_stamped_in_iso_8601_utc),
        cmocka_unit_test (test_rewrite_changes_only_a_zsys_stamp),
        cmocka_unit_test (test_rewrite_pads_milliseconds_and_spans_the_epoch),
        cmocka_unit_test (test_a_line_written_in_pieces_is_rewritten_once_whole),
        cmocka_unit_test (test_a_line_longer_than_the_buffer_passes_unchanged),
        cmocka_unit_test (test_lines_logged_from_several_threads_arrive_whole),
        cmocka_unit_test (test_an_exit_whose_context_hangs_ends_with_its_own_code),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
