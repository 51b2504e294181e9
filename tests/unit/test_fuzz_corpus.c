/*  =========================================================================
    test_fuzz_corpus.c - replays every fuzz corpus through its fuzz target

    Each target in tests/fuzz/ is compiled for this test as a plain
    function (the Makefile renames LLVMFuzzerTestOneInput to t_fuzz_NAME),
    so every `make unit` (and `make valgrind`, `make SANITIZE=...`) runs
    each file of tests/fuzz/corpus-NAME through exactly the function
    libFuzzer exercises: the corpora are regression tests. The decoder's
    seeds also carry an expectation in their name: valid-msg-* decode,
    bad-msg-* are rejected, valid-record-* parse, bad-record-* are invalid.
    The corpora are found beside this test's binary (../fuzz/corpus-NAME),
    or under $SLUICE_FUZZ_CORPUS (the directory holding corpus-NAME).
    =========================================================================
*/

#include "private.h"

#include <dirent.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

typedef int (t_target_fn) (const uint8_t *data, size_t size);

//  The targets, as the Makefile compiles them for this test
t_target_fn t_fuzz_decode, t_fuzz_reader, t_fuzz_ledger, t_fuzz_config, t_fuzz_output;

static const struct {
    const char *name;           //  tests/fuzz/fuzz_NAME.c, tests/fuzz/corpus-NAME
    t_target_fn *run;
    size_t seeds_min;           //  the corpus holds at least these files
} t_targets [] = {
    { "decode", t_fuzz_decode, 30 },    //  wire messages, --msgpack records
    { "reader", t_fuzz_reader, 15 },    //  input records: lines, NUL, MessagePack
    { "ledger", t_fuzz_ledger, 15 },    //  journal and sink state files
    { "config", t_fuzz_config, 15 },    //  topology files, option values
    { "output", t_fuzz_output, 10 },    //  the sink's records of outside bytes
};

#define T_TARGETS (sizeof t_targets / sizeof t_targets [0])

//  Find the corpus directory of a target; returns a path the caller
//  frees, or NULL.
static char *
t_corpus_dir (const char *target)
{
    const char *env = getenv ("SLUICE_FUZZ_CORPUS");
    if (env && *env)
        return zsys_sprintf ("%s/corpus-%s", env, target);
    char exe [4096];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    char *candidates [2] = { NULL, NULL };
    if (n > 0) {
        exe [n] = 0;
        candidates [0] = zsys_sprintf ("%s/../fuzz/corpus-%s", dirname (exe), target);
    }
    //  as compiled from the repository root: tests/unit/test_fuzz_corpus.c
    char source [] = __FILE__;
    candidates [1] = zsys_sprintf ("%s/../fuzz/corpus-%s", dirname (source), target);
    char *found = NULL;
    for (int i = 0; i < 2 && !found; i++) {
        struct stat st;
        if (candidates [i] && stat (candidates [i], &st) == 0 && S_ISDIR (st.st_mode))
            found = strdup (candidates [i]);
    }
    zstr_free (&candidates [0]);
    zstr_free (&candidates [1]);
    return found;
}

//  Read a whole file into an exact-size heap buffer (NULL for empty files).
static uint8_t *
t_read_file (const char *path, size_t *size)
{
    FILE *file = fopen (path, "rb");
    assert_non_null (file);
    fseek (file, 0, SEEK_END);
    long length = ftell (file);
    assert_true (length >= 0);
    rewind (file);
    *size = (size_t) length;
    uint8_t *data = length? (uint8_t *) malloc (*size): NULL;
    if (length) {
        assert_non_null (data);
        assert_int_equal (fread (data, 1, *size, file), *size);
    }
    fclose (file);
    return data;
}

static bool
t_starts_with (const char *name, const char *prefix)
{
    return strncmp (name, prefix, strlen (prefix)) == 0;
}

//  Check what a seed's name promises.
static void
t_check_expectation (const char *name, const uint8_t *data, size_t size)
{
    sluice_msg_t msg;
    const uint8_t *payload;
    size_t payload_size;
    if (t_starts_with (name, "valid-msg-")) {
        const char *reason = NULL;
        if (sluice_msg_decode (&msg, data, size, &reason))
            fail_msg ("%s: rejected: %s", name, reason);
        assert_int_equal (msg.type, atoi (name + strlen ("valid-msg-")));
    }
    else
    if (t_starts_with (name, "bad-msg-"))
        assert_int_equal (sluice_msg_decode (&msg, data, size, NULL), -1);
    else
    if (t_starts_with (name, "valid-record-"))
        assert_true (sluice_record_parse (data, size, &payload, &payload_size) > 0);
    else
    if (t_starts_with (name, "bad-record-"))
        assert_int_equal (sluice_record_parse (data, size, &payload, &payload_size), -1);
}

//  Replay one target's corpus; returns the number of files.
static size_t
t_replay (size_t index, size_t *valid_msgs)
{
    const char *target = t_targets [index].name;
    char *dir_path = t_corpus_dir (target);
    if (!dir_path)
        fail_msg ("fuzz corpus of %s not found (set SLUICE_FUZZ_CORPUS)", target);
    DIR *dir = opendir (dir_path);
    if (!dir)
        fail_msg ("cannot open %s", dir_path);
    size_t files = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char *path = zsys_sprintf ("%s/%s", dir_path, entry->d_name);
        size_t size;
        uint8_t *data = t_read_file (path, &size);
        //  an empty file: give the target a valid pointer, as libFuzzer does
        uint8_t none = 0;
        assert_int_equal (t_targets [index].run (data? data: &none, size), 0);
        if (streq (target, "decode")) {
            t_check_expectation (entry->d_name, data? data: &none, size);
            if (t_starts_with (entry->d_name, "valid-msg-"))
                (*valid_msgs)++;
        }
        files++;
        free (data);
        zstr_free (&path);
    }
    closedir (dir);
    free (dir_path);
    return files;
}

//  Typical use: every corpus file goes through its target unharmed.
static void
test_replay_every_corpus (void **state)
{
    (void) state;
    for (size_t i = 0; i < T_TARGETS; i++) {
        size_t valid = 0;
        size_t files = t_replay (i, &valid);
        //  no corpus can shrink or vanish unseen
        if (files < t_targets [i].seeds_min)
            fail_msg ("corpus-%s holds %zu files, expected at least %zu", t_targets [i].name,
                      files, t_targets [i].seeds_min);
        //  one valid seed per message type
        if (streq (t_targets [i].name, "decode"))
            assert_int_equal (valid, SLUICE_MSG_MAX);
    }
}

//  The targets themselves hold on inputs the corpora may not have.
static void
test_targets_on_edge_inputs (void **state)
{
    (void) state;
    uint8_t bytes [64];
    for (size_t i = 0; i < T_TARGETS; i++) {
        memset (bytes, 0, sizeof bytes);
        for (size_t size = 0; size <= sizeof bytes; size++)
            assert_int_equal (t_targets [i].run (bytes, size), 0);
        memset (bytes, 0xff, sizeof bytes);
        for (size_t size = 0; size <= sizeof bytes; size++)
            assert_int_equal (t_targets [i].run (bytes, size), 0);
    }
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_replay_every_corpus),
        cmocka_unit_test (test_targets_on_edge_inputs),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
