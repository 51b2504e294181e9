/*  =========================================================================
    test_spawn.c - shell quoting, replacement strings and spawn status mapping

    The first test is the typical use: a payload full of shell syntax is
    substituted for {} and the real /bin/sh hands it back byte for byte.
    Quoting is then checked on tricky bytes (quotes, newlines, the empty
    payload), and the status mapping on real children: exit 3, a child
    killed by SIGKILL, a command that cannot be started. Commands without
    shell syntax run directly: a table of payloads checks that the direct
    form and sh -c pass the same arguments, a table of commands that shell
    syntax keeps the shell.
    =========================================================================
*/

#include "private.h"
#include "spawn.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <cmocka.h>

//  --------------------------------------------------------------------------
//  Helpers

//  Run a shell command, wait for it; returns its stdout (free it) and sets
//  *status and *code.
static char *
t_collect (sluice_child_t child, int *status, int *code);

static char *
t_run (const char *command, int *status, int *code)
{
    sluice_child_t child;
    assert_int_equal (sluice_spawn_shell (&child, command, false), 0);
    return t_collect (child, status, code);
}

//  Wait for a started child; returns its stdout (free it).
static char *
t_collect (sluice_child_t child, int *status, int *code)
{
    sluice_spawn_buf_t out = { NULL, 0, 0 };
    bool overflow = false;
    while (sluice_spawn_read (child.out_fd, &out, SIZE_MAX, &overflow) == 0)
        usleep (1000);
    assert_int_equal (sluice_spawn_reap (&child, true, status, code), 1);
    assert_false (overflow);
    char *text = (char *) malloc (out.size + 1);
    assert_non_null (text);
    memcpy (text, out.data, out.size);
    text [out.size] = 0;
    free (out.data);
    return text;
}

//  The direct form of command (NULL if it needs the shell); *template_p
//  holds its template, to destroy after it.
static sluice_direct_t *
t_direct (const char *command, sluice_template_t **template_p)
{
    char err [256];
    *template_p = sluice_template_new (command, NULL, err, sizeof err);
    return *template_p? sluice_spawn_direct_new (*template_p): NULL;
}

//  The direct form's argv for a payload as task 1 in slot 1.
static char **
t_argv (sluice_direct_t *direct, const char *payload, size_t size)
{
    sluice_values_t values = { .data = (const uint8_t *) payload, .size = size, .id = 1,
                               .slot = 1 };
    return sluice_spawn_direct_argv (direct, &values);
}

//  Quote a payload as one shell word; returns the word (free it).
static char *
t_quote (const char *payload)
{
    zchunk_t *buf = zchunk_new (NULL, 64);
    sluice_spawn_quote (buf, (const uint8_t *) payload, strlen (payload));
    zchunk_extend (buf, "", 1);
    char *word = strdup ((const char *) zchunk_data (buf));
    zchunk_destroy (&buf);
    return word;
}

//  Assert that the shell, given the quoted payload as printf's argument,
//  prints exactly the payload.
static void
t_round_trip (const char *payload)
{
    char *command = sluice_spawn_command ("printf %s {}", NULL, (const uint8_t *) payload,
                                          strlen (payload));
    assert_non_null (command);
    int status, code;
    char *out = t_run (command, &status, &code);
    assert_int_equal (status, SLUICE_STATUS_OK);
    assert_string_equal (out, payload);
    free (out);
    free (command);
}

//  --------------------------------------------------------------------------
//  Typical use

static void
test_payload_substituted_for_braces_reaches_the_command_unchanged (void **state)
{
    (void) state;
    t_round_trip ("it's $HOME; `rm -rf /` \"quoted\" * | & > x");
}

//  --------------------------------------------------------------------------
//  Quoting

static void
test_quote_wraps_payload_in_single_quotes (void **state)
{
    (void) state;
    char *word = t_quote ("a b");
    assert_string_equal (word, "'a b'");
    free (word);
}

static void
test_quote_closes_escapes_and_reopens_around_a_single_quote (void **state)
{
    (void) state;
    char *word = t_quote ("it's");
    assert_string_equal (word, "'it'\"'\"'s'");
    free (word);
    t_round_trip ("'");
    t_round_trip ("''''");
}

static void
test_quote_keeps_newlines_and_tabs_inside_the_word (void **state)
{
    (void) state;
    t_round_trip ("line one\nline two\n\ttabbed\r\n");
}

static void
test_quote_of_empty_payload_is_an_empty_word (void **state)
{
    (void) state;
    char *word = t_quote ("");
    assert_string_equal (word, "''");
    free (word);
    int status, code;
    char *out = t_run ("set -- ''; echo $#", &status, &code);
    assert_string_equal (out, "1\n");
    free (out);
}

static void
test_quote_passes_high_bytes_and_backslashes_through (void **state)
{
    (void) state;
    t_round_trip ("caf\xc3\xa9 \\n \\\\ \x01\x7f\xff");
}

//  --------------------------------------------------------------------------
//  {} substitution

static void
test_command_without_braces_gets_the_payload_appended (void **state)
{
    (void) state;
    char *command = sluice_spawn_command ("echo", NULL, (const uint8_t *) "x y", 3);
    assert_string_equal (command, "echo 'x y'");
    free (command);
}

static void
test_command_replaces_every_pair_of_braces (void **state)
{
    (void) state;
    char *command = sluice_spawn_command ("echo {} and {}", NULL, (const uint8_t *) "p", 1);
    assert_string_equal (command, "echo p and p");     //  safe bytes: unquoted, as parallel
    free (command);
}

//  a word the shell reads back unquoted stays bare, as GNU parallel leaves
//  it (--dry-run, --joblog); a reserved word or any other byte is quoted
static void
test_command_leaves_a_plain_word_bare (void **state)
{
    (void) state;
    char *command = sluice_spawn_command ("echo {}", NULL, (const uint8_t *) "a-1/b.c", 7);
    assert_string_equal (command, "echo a-1/b.c");
    free (command);
    command = sluice_spawn_command ("echo {}", NULL, (const uint8_t *) "p q", 3);
    assert_string_equal (command, "echo 'p q'");
    free (command);
    command = sluice_spawn_command ("echo", NULL, (const uint8_t *) "a=b", 3);
    assert_string_equal (command, "echo 'a=b'");
    free (command);
}

//  an empty task's payload is NULL, size 0 (memchr on NULL was UB: UBSan)
static void
test_command_takes_an_empty_payload_as_null (void **state)
{
    (void) state;
    char *command = sluice_spawn_command ("echo x{}y", NULL, NULL, 0);
    assert_string_equal (command, "echo x''y");
    free (command);
}

static void
test_command_refuses_a_payload_with_a_nul_byte (void **state)
{
    (void) state;
    assert_null (sluice_spawn_command ("echo {}", NULL, (const uint8_t *) "a\0b", 3));
}

//  --------------------------------------------------------------------------
//  Replacement strings, as GNU parallel 20221122 reads them (each expected
//  value below is what parallel printed for the same command and input)

//  The shell command for command, colsep and payload, as task id in slot.
static char *
t_shell (const char *command, const char *colsep, const char *payload, uint64_t id,
         unsigned slot)
{
    char err [256];
    sluice_template_t *template = sluice_template_new (command, colsep, err, sizeof err);
    if (!template)
        fail_msg ("'%s' refused: %s", command, err);
    sluice_values_t values = { .data = (const uint8_t *) payload, .size = strlen (payload),
                               .id = id, .slot = slot };
    char *line = sluice_template_shell (template, &values);
    sluice_template_destroy (&template);
    return line;
}

static void
test_quote_leaves_safe_words_bare_as_parallel_does (void **state)
{
    (void) state;
    const char *cases [][2] = {
        { "plain", "plain" },
        { "-n", "-n" },
        { "a+b/c.d_e-9", "a+b/c.d_e-9" },       //  all of parallel's safe bytes
        { "caf\xc3\xa9", "'caf\xc3\xa9'" },     //  a high byte is not safe
        { "'", "\"'\"" },                       //  no '' left at either end
        { "''", "\"'\"''\"'\"" },
        { "'lead", "\"'\"'lead'" },
        { "end'", "'end'\"'\"" },
        { "a=b", "'a=b'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *word = t_quote (cases [i][0]);
        assert_string_equal (word, cases [i][1]);
        free (word);
        t_round_trip (cases [i][0]);
    }
}

static void
test_path_edits_are_parallels_perl_substitutions (void **state)
{
    (void) state;
    //  input, then {.} {/} {//} {/.}; the first word holds them, so raw
    const char *cases [][5] = {
        { "dir/sub/file.tar.gz", "dir/sub/file.tar", "file.tar.gz", "dir/sub", "file.tar" },
        { "a.b/c", "a.b/c", "c", "a.b", "c" },
        { ".hidden", "", ".hidden", ".", "" },
        { "noext", "noext", "noext", ".", "noext" },
        { "dir/", "dir/", "", ".", "" },
        { "dir/sub/", "dir/sub/", "", "dir", "" },
        { "/", "/", "", "/", "" },
        { "a\nb/c", "a\nb/c", "a\nc", "a\nb", "a\nc" },     //  . stops at a newline
        { "x/y\nz/w", "x/y\nz/w", "y\nz/w", "x/y\nz", "y\nz/w" },
        { "/a", "/a", "a", "/", "a" },
        { "a//b", "a//b", "b", "a", "b" },
        { "", "", "", ".", "" },
        { "a/b/", "a/b/", "", "a", "" },
        { "a.b.c", "a.b", "a.b.c", ".", "a.b" },
    };
    const char *edits [] = { "{.}", "{/}", "{//}", "{/.}" };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++)
        for (size_t e = 0; e < 4; e++) {
            char *line = t_shell (edits [e], NULL, cases [i][0], 1, 1);
            if (!streq (line, cases [i][e + 1]))
                fail_msg ("%s of '%s': got '%s', want '%s'", edits [e], cases [i][0], line,
                          cases [i][e + 1]);
            free (line);
        }
}

static void
test_seq_and_slot_are_the_task_id_and_the_slot_given (void **state)
{
    (void) state;
    char *line = t_shell ("echo {#}-{%} {}", NULL, "a b", 42, 3);
    assert_string_equal (line, "echo 42-3 'a b'");
    free (line);
}

static void
test_values_are_quoted_in_any_quotes_as_parallel_does (void **state)
{
    (void) state;
    char *line = t_shell ("echo \"{}\" '{/}'", NULL, "d/a b", 1, 1);
    assert_string_equal (line, "echo \"'d/a b'\" ''a b''");
    free (line);
}

static void
test_a_first_word_holding_one_inserts_every_value_unquoted (void **state)
{
    (void) state;
    const char *cases [][2] = {
        { "{} x {}", "a b x a b" },             //  the task is shell code
        { "{#}{}", "1a b" },
        { " {} x", " 'a b' x" },                //  a leading blank: quoted again
        { "V={} env", "V='a b' env" },          //  an assignment is no command
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *line = t_shell (cases [i][0], NULL, "a b", 1, 1);
        assert_string_equal (line, cases [i][1]);
        free (line);
    }
}

static void
test_unknown_replacement_strings_are_refused_naming_them (void **state)
{
    (void) state;
    const char *cases [][2] = {
        { "echo {foo}", "unknown replacement string '{foo}'" },
        { "echo {3}", "replacement string '{3}' needs --colsep" },
        { "echo {0}", "unknown replacement string '{0}'" },
        { "echo {1x}", "unknown replacement string '{1x}'" },
        { "echo {##}", "unknown replacement string '{##}'" },
        { "echo {= s/a/b/ =}", "unknown replacement string '{= s/a/b/ =}'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char err [256] = "";
        sluice_template_t *template = sluice_template_new (cases [i][0], NULL, err, sizeof err);
        assert_null (template);
        assert_string_equal (err, cases [i][1]);
    }
    //  braces that are no replacement string
    const char *fine [] = { "awk '{print}'", "echo ${HOME} ${#} ${1}", "echo {a b}", "f() { :; }",
                            "echo {1} {-1}" };
    for (size_t i = 0; i < sizeof fine / sizeof fine [0]; i++) {
        char err [256];
        sluice_template_t *template = sluice_template_new (fine [i], NULL, err, sizeof err);
        if (!template)
            fail_msg ("'%s' refused: %s", fine [i], err);
        sluice_template_destroy (&template);
    }
}

static void
test_colsep_splits_trims_and_leaves_out_missing_columns (void **state)
{
    (void) state;
    char *line = t_shell ("echo {1} {2} {3} {4} {-1} {5} {1.}", ",", " a.x , b ,, c ", 1, 1);
    assert_string_equal (line, "echo a.x b '' c c  a");
    free (line);
    line = t_shell ("echo {}", ",", "x,,y z", 1, 1);     //  {}: every column, a word each
    assert_string_equal (line, "echo x '' 'y z'");
    free (line);
    line = t_shell ("echo {2}+{1}", "[,;]+", "a;;,b", 1, 1);     //  a POSIX ERE
    assert_string_equal (line, "echo b+a");
    free (line);
    line = t_shell ("echo {2}", "\\t", "a\tb", 1, 1);     //  Perl's \t
    assert_string_equal (line, "echo b");
    free (line);
    char err [256];
    assert_null (sluice_template_new ("echo {}", "(", err, sizeof err));
    assert_non_null (strstr (err, "invalid --colsep value '('"));
}

static void
test_direct_form_leaves_out_a_word_for_a_missing_column (void **state)
{
    (void) state;
    char err [256];
    sluice_template_t *template = sluice_template_new ("env printf %s. {3} x{3}y {2}", ",",
                                                       err, sizeof err);
    sluice_direct_t *direct = sluice_spawn_direct_new (template);
    assert_non_null (direct);
    char **argv = t_argv (direct, "a,b", 3);
    assert_string_equal (argv [2], "%s.");
    assert_string_equal (argv [3], "xy");
    assert_string_equal (argv [4], "b");
    assert_null (argv [5]);
    sluice_spawn_direct_destroy (&direct);
    sluice_template_destroy (&template);
    //  {} under --colsep is several words: the shell's to split
    template = sluice_template_new ("env printf %s. {}", ",", err, sizeof err);
    assert_null (sluice_spawn_direct_new (template));
    sluice_template_destroy (&template);
}

//  A task of several sources (ARGS): one argument per NUL-separated field,
//  untrimmed, {N} the Nth, appended one word each; the shell form quotes
//  each.
static void
test_argument_lists_are_one_word_per_source (void **state)
{
    (void) state;
    char err [256];
    sluice_template_t *template = sluice_template_new ("env printf %s. {2} {1} {-1} {3}",
                                                       sluice_colsep_args, err, sizeof err);
    assert_non_null (template);
    sluice_direct_t *direct = sluice_spawn_direct_new (template);
    assert_non_null (direct);
    char **argv = t_argv (direct, " a b\0c", 6);
    assert_string_equal (argv [2], "%s.");
    assert_string_equal (argv [3], "c");
    assert_string_equal (argv [4], " a b");
    assert_string_equal (argv [5], "c");
    assert_null (argv [6]);
    sluice_spawn_direct_destroy (&direct);
    sluice_template_destroy (&template);
    template = sluice_template_new ("cp", sluice_colsep_args, err, sizeof err);
    sluice_values_t values = { (const uint8_t *) "it's\0d", 6, 1, 1 };
    char *line = sluice_template_shell (template, &values);
    assert_string_equal (line, "cp 'it'\"'\"'s' d");
    free (line);
    sluice_template_destroy (&template);
    //  {2} without --colsep is an error only for a one-argument task
    assert_null (sluice_template_new ("echo {2}", NULL, err, sizeof err));
    char *command = sluice_spawn_command ("echo {2}-{1}", sluice_colsep_args,
                                          (const uint8_t *) "x\0y", 3);
    assert_string_equal (command, "echo y-x");
    free (command);
}

static void
test_environ_puts_the_variables_first_and_drops_our_copies (void **state)
{
    (void) state;
    setenv ("SLUICE_SLOT", "99", 1);
    char *vars [] = { (char *) "SLUICE_SLOT=1", (char *) "SLUICE_TASK_ID=7", NULL };
    char **envp = sluice_spawn_environ (vars);
    assert_string_equal (envp [0], "SLUICE_SLOT=1");
    assert_string_equal (envp [1], "SLUICE_TASK_ID=7");
    size_t slots = 0;
    for (size_t i = 0; envp [i]; i++)
        slots += strncmp (envp [i], "SLUICE_SLOT=", 12) == 0;
    assert_int_equal (slots, 1);
    free (envp);
    unsetenv ("SLUICE_SLOT");
}

//  --------------------------------------------------------------------------
//  Status mapping

static void
test_exit_zero_maps_to_ok (void **state)
{
    (void) state;
    int status, code;
    char *out = t_run ("echo hello", &status, &code);
    assert_string_equal (out, "hello\n");
    assert_int_equal (status, SLUICE_STATUS_OK);
    assert_int_equal (code, 0);
    free (out);
}

static void
test_exit_status_maps_to_exit_code (void **state)
{
    (void) state;
    int status, code;
    free (t_run ("exit 3", &status, &code));
    assert_int_equal (status, SLUICE_STATUS_EXIT);
    assert_int_equal (code, 3);
}

static void
test_signal_maps_to_signal_status (void **state)
{
    (void) state;
    int status, code;
    free (t_run ("kill -9 $$", &status, &code));
    assert_int_equal (status, SLUICE_STATUS_SIGNAL);
    assert_int_equal (code, SIGKILL);
}

//  The last program found executable is not looked up again; once it is
//  gone, starting it still fails (posix_spawn's vfork child reports the
//  failed exec; under valgrind, which has no vfork, the child exits 127)
static void
test_a_program_removed_after_a_run_fails_to_start (void **state)
{
    (void) state;
    char dir [] = "/tmp/sluice-spawn.XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path [64];
    snprintf (path, sizeof path, "%s/prog", dir);
    char copy [160];
    snprintf (copy, sizeof copy, "cp /bin/true %s", path);
    assert_int_equal (system (copy), 0);
    char *argv [] = { path, NULL };
    sluice_child_t child;
    int status, code;
    assert_int_equal (sluice_spawn_start (&child, argv, false), 0);
    assert_int_equal (sluice_spawn_reap (&child, true, &status, &code), 1);
    assert_int_equal (status, SLUICE_STATUS_OK);
    assert_int_equal (unlink (path), 0);
    assert_int_equal (rmdir (dir), 0);
    int rc = sluice_spawn_start (&child, argv, false);
    if (rc == 0) {
        assert_int_equal (sluice_spawn_reap (&child, true, &status, &code), 1);
        assert_int_equal (status, SLUICE_STATUS_EXIT);
        assert_int_equal (code, 127);
    }
    else {
        assert_int_equal (rc, -1);
        assert_int_equal (child.error, ENOENT);
    }
}

static void
test_missing_command_maps_to_error (void **state)
{
    (void) state;
    sluice_child_t child;
    char *argv [] = { (char *) "/nonexistent/sluice-command", NULL };
    assert_int_equal (sluice_spawn_start (&child, argv, false), -1);
    assert_int_equal (child.error, ENOENT);
    assert_int_equal (child.pid, 0);
    int status, code;
    assert_int_equal (sluice_spawn_reap (&child, true, &status, &code), 1);
    assert_int_equal (status, SLUICE_STATUS_ERROR);
    assert_int_equal (code, 127);
}

static void
test_kill_reaches_the_whole_process_group (void **state)
{
    (void) state;
    sluice_child_t child;
    //  the shell waits on a grandchild: killing only the shell would leave it
    assert_int_equal (sluice_spawn_shell (&child, "sleep 30 & wait", false), 0);
    sluice_spawn_kill (&child, SIGTERM);
    //  end of file on stdout: the grandchild, which holds it too, is dead
    sluice_spawn_buf_t out = { NULL, 0, 0 };
    bool overflow = false;
    for (int i = 0; i < 5000 && !sluice_spawn_read (child.out_fd, &out, 0, &overflow); i++)
        usleep (1000);
    assert_int_equal (sluice_spawn_read (child.out_fd, &out, 0, &overflow), 1);
    free (out.data);
    int status, code;
    assert_int_equal (sluice_spawn_reap (&child, true, &status, &code), 1);
    assert_int_equal (status, SLUICE_STATUS_SIGNAL);
    assert_int_equal (code, SIGTERM);
    assert_int_equal (child.out_fd, -1);
}

//  A group that ignores every signal of its --termseq gets SIGKILL when
//  the last signal's wait is over, and not before (times are passed in).
static void
test_group_step_kills_after_the_last_wait_a_group_that_ignores_the_sequence (void **state)
{
    (void) state;
    sluice_child_t child;
    assert_int_equal (sluice_spawn_shell (&child, "trap '' TERM; echo ready; sleep 30", false),
                      0);
    //  wait for the trap to be set: the shell says so after it
    sluice_spawn_buf_t out = { NULL, 0, 0 };
    bool overflow = false;
    for (int i = 0; i < 5000 && out.size == 0; i++) {
        sluice_spawn_read (child.out_fd, &out, SIZE_MAX, &overflow);
        if (out.size == 0)
            usleep (1000);
    }
    assert_true (out.size > 0);
    sluice_termseq_t seq;
    assert_int_equal (sluice_termseq_parse ("TERM,500", &seq), 0);
    sluice_termstop_t stop = { 0, 0 };
    int64_t kill_at = 0;
    bool killed = true;
    //  TERM at 1000, then the wait of 500 ms: SIGKILL is due at 1500
    assert_int_equal (sluice_spawn_group_step (child.pid, &seq, &stop, &kill_at, 1000, &killed),
                      500);
    assert_false (killed);
    assert_int_equal (kill_at, 1500);
    usleep (50 * 1000);
    assert_true (sluice_spawn_group_alive (child.pid));     //  TERM was ignored
    assert_int_equal (sluice_spawn_group_step (child.pid, &seq, &stop, &kill_at, 1200, &killed),
                      300);
    assert_false (killed);
    assert_int_equal (sluice_spawn_group_step (child.pid, &seq, &stop, &kill_at, 1500, &killed),
                      0);
    assert_true (killed);
    int status, code;
    assert_int_equal (sluice_spawn_reap (&child, true, &status, &code), 1);
    assert_int_equal (status, SLUICE_STATUS_SIGNAL);
    assert_int_equal (code, SIGKILL);
    free (out.data);
}

static void
test_reap_without_blocking_leaves_a_running_child_alone (void **state)
{
    (void) state;
    sluice_child_t child;
    assert_int_equal (sluice_spawn_shell (&child, "sleep 30", false), 0);
    int status, code;
    assert_int_equal (sluice_spawn_reap (&child, false, &status, &code), 0);
    sluice_spawn_stop (&child, 1000);
    assert_int_equal (child.pid, 0);
}

static void
test_stdin_pipe_carries_input_to_the_command (void **state)
{
    (void) state;
    sluice_child_t child;
    assert_int_equal (sluice_spawn_shell (&child, "tr a-z A-Z", true), 0);
    assert_int_equal (write (child.in_fd, "abc", 3), 3);
    sluice_spawn_close_input (&child);
    sluice_spawn_buf_t out = { NULL, 0, 0 };
    bool overflow = false;
    while (sluice_spawn_read (child.out_fd, &out, SIZE_MAX, &overflow) == 0)
        usleep (1000);
    assert_int_equal (out.size, 3);
    assert_memory_equal (out.data, "ABC", 3);
    int status, code;
    sluice_spawn_reap (&child, true, &status, &code);
    assert_int_equal (status, SLUICE_STATUS_OK);
    free (out.data);
}

static void
test_read_past_the_limit_discards_and_flags_overflow (void **state)
{
    (void) state;
    sluice_child_t child;
    assert_int_equal (sluice_spawn_shell (&child, "head -c 200000 /dev/zero", false), 0);
    sluice_spawn_buf_t out = { NULL, 0, 0 };
    bool overflow = false;
    while (sluice_spawn_read (child.out_fd, &out, 1000, &overflow) == 0)
        usleep (1000);
    assert_true (overflow);
    assert_true (out.size <= 1000);
    int status, code;
    sluice_spawn_reap (&child, true, &status, &code);
    assert_int_equal (status, SLUICE_STATUS_OK);
    free (out.data);
}

//  --------------------------------------------------------------------------
//  Commands run without the shell

//  Run template for payload both ways; assert the outputs are equal.
static void
t_same_both_ways (const char *template, const char *payload)
{
    sluice_template_t *parsed;
    sluice_direct_t *direct = t_direct (template, &parsed);
    assert_non_null (direct);
    char **argv = t_argv (direct, payload, strlen (payload));
    assert_non_null (argv);
    sluice_child_t child;
    assert_int_equal (sluice_spawn_exec (&child, sluice_spawn_direct_path (direct), argv,
                                         false), 0);
    int status, code;
    char *direct_out = t_collect (child, &status, &code);
    assert_int_equal (status, SLUICE_STATUS_OK);
    char *command = sluice_spawn_command (template, NULL, (const uint8_t *) payload,
                                          strlen (payload));
    char *shell_out = t_run (command, &status, &code);
    assert_string_equal (direct_out, shell_out);
    free (direct_out);
    free (shell_out);
    free (command);
    sluice_spawn_direct_destroy (&direct);
    sluice_template_destroy (&parsed);
}

static void
test_direct_form_passes_the_arguments_sh_would (void **state)
{
    (void) state;
    const char *payloads [] = {
        "plain", "a b", "it's", "*", "", "$HOME", "x\ty", "-n", "a\nb", "  two  spaces  ",
    };
    for (size_t i = 0; i < sizeof payloads / sizeof payloads [0]; i++) {
        t_same_both_ways ("/usr/bin/printf %s.", payloads [i]);      //  appended
        t_same_both_ways ("env printf %s.", payloads [i]);      //  env finds printf
    }
}

static void
test_direct_form_keeps_a_word_with_braces_one_argument (void **state)
{
    (void) state;
    t_same_both_ways ("/usr/bin/printf %s. x{}y {} {}{}", "a b");
    sluice_template_t *template;
    sluice_direct_t *direct = t_direct ("env printf %s. x{}y", &template);
    char **argv = t_argv (direct, "a b", 3);
    assert_string_equal (argv [0], "env");
    assert_string_equal (argv [3], "xa by");
    assert_null (argv [4]);
    argv = sluice_spawn_direct_argv (direct, NULL);      //  --pipe: left as is
    assert_string_equal (argv [3], "x{}y");
    assert_null (t_argv (direct, "a\0b", 3));
    sluice_spawn_direct_destroy (&direct);
    sluice_template_destroy (&template);
}

static void
test_shell_syntax_keeps_the_shell (void **state)
{
    (void) state;
    const char *commands [] = {
        "echo {}",                  //  a builtin: its own semantics (backslashes)
        "cd /tmp",                  //  a builtin that must run in the shell
        "if true",                  //  a keyword
        "cat {} | wc -l",           //  a pipe
        "gzip $FILE",               //  an expansion
        "ls *.c",                   //  a glob
        "ls ~",                     //  a tilde
        "A=1 env",                  //  an assignment
        "true; false",              //  a list
        "printf '%s' {}",           //  quotes
        "{} --version",             //  the program is the task
        "no-such-command-sluice {}",    //  not in PATH: sh says so, exit 127
        "env {",                    //  a brace that is not {}
        "env x # comment",
        "",
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands [0]; i++) {
        sluice_template_t *template;
        sluice_direct_t *direct = t_direct (commands [i], &template);
        sluice_template_destroy (&template);
        if (direct)
            fail_msg ("'%s' should need the shell", commands [i]);
    }
    sluice_template_t *template;
    sluice_direct_t *direct = t_direct ("gzip -9 {}", &template);
    assert_non_null (direct);
    sluice_spawn_direct_destroy (&direct);
    sluice_template_destroy (&template);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_payload_substituted_for_braces_reaches_the_command_unchanged),
        cmocka_unit_test (test_quote_wraps_payload_in_single_quotes),
        cmocka_unit_test (test_quote_closes_escapes_and_reopens_around_a_single_quote),
        cmocka_unit_test (test_quote_keeps_newlines_and_tabs_inside_the_word),
        cmocka_unit_test (test_quote_of_empty_payload_is_an_empty_word),
        cmocka_unit_test (test_quote_passes_high_bytes_and_backslashes_through),
        cmocka_unit_test (test_command_without_braces_gets_the_payload_appended),
        cmocka_unit_test (test_command_replaces_every_pair_of_braces),
        cmocka_unit_test (test_command_leaves_a_plain_word_bare),
        cmocka_unit_test (test_command_takes_an_empty_payload_as_null),
        cmocka_unit_test (test_command_refuses_a_payload_with_a_nul_byte),
        cmocka_unit_test (test_quote_leaves_safe_words_bare_as_parallel_does),
        cmocka_unit_test (test_path_edits_are_parallels_perl_substitutions),
        cmocka_unit_test (test_seq_and_slot_are_the_task_id_and_the_slot_given),
        cmocka_unit_test (test_values_are_quoted_in_any_quotes_as_parallel_does),
        cmocka_unit_test (test_a_first_word_holding_one_inserts_every_value_unquoted),
        cmocka_unit_test (test_unknown_replacement_strings_are_refused_naming_them),
        cmocka_unit_test (test_colsep_splits_trims_and_leaves_out_missing_columns),
        cmocka_unit_test (test_direct_form_leaves_out_a_word_for_a_missing_column),
        cmocka_unit_test (test_environ_puts_the_variables_first_and_drops_our_copies),
        cmocka_unit_test (test_exit_zero_maps_to_ok),
        cmocka_unit_test (test_exit_status_maps_to_exit_code),
        cmocka_unit_test (test_signal_maps_to_signal_status),
        cmocka_unit_test (test_missing_command_maps_to_error),
        cmocka_unit_test (test_a_program_removed_after_a_run_fails_to_start),
        cmocka_unit_test (test_kill_reaches_the_whole_process_group),
        cmocka_unit_test (test_group_step_kills_after_the_last_wait_a_group_that_ignores_the_sequence),
        cmocka_unit_test (test_reap_without_blocking_leaves_a_running_child_alone),
        cmocka_unit_test (test_stdin_pipe_carries_input_to_the_command),
        cmocka_unit_test (test_read_past_the_limit_discards_and_flags_overflow),
        cmocka_unit_test (test_direct_form_passes_the_arguments_sh_would),
        cmocka_unit_test (test_direct_form_keeps_a_word_with_braces_one_argument),
        cmocka_unit_test (test_shell_syntax_keeps_the_shell),
        cmocka_unit_test (test_argument_lists_are_one_word_per_source),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
