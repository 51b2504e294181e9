/*  =========================================================================
    test_fuzz_corpus.c - replays the fuzz corpus through the fuzz target

    tests/fuzz/fuzz_decode.c is compiled into this test as is, so every
    `make unit` (and `make valgrind`, `make SANITIZE=...`) runs each file of
    tests/fuzz/corpus through exactly the function libFuzzer exercises. The
    seed files also carry an expectation in their name: valid-msg-* decode,
    bad-msg-* are rejected, valid-record-* parse, bad-record-* are invalid.
    The corpus is found beside this test's binary (../fuzz/corpus), or at
    $SLUICE_FUZZ_CORPUS.
    =========================================================================
*/

#include "../fuzz/fuzz_decode.c"

#include <dirent.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

//  Find the corpus directory; returns a path the caller frees, or NULL.
static char *
t_corpus_dir (void)
{
    const char *env = getenv ("SLUICE_FUZZ_CORPUS");
    if (env && *env)
        return strdup (env);
    char exe [4096];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    char *candidates [2] = { NULL, NULL };
    if (n > 0) {
        exe [n] = 0;
        candidates [0] = zsys_sprintf ("%s/../fuzz/corpus", dirname (exe));
    }
    //  as compiled from the repository root: tests/unit/test_fuzz_corpus.c
    char source [] = __FILE__;
    candidates [1] = zsys_sprintf ("%s/../fuzz/corpus", dirname (source));
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

//  Typical use: every corpus file goes through the fuzz target unharmed.
static void
test_replay_corpus (void **state)
{
    (void) state;
    char *dir_path = t_corpus_dir ();
    if (!dir_path)
        fail_msg ("fuzz corpus not found (set SLUICE_FUZZ_CORPUS)");
    DIR *dir = opendir (dir_path);
    assert_non_null (dir);
    size_t files = 0, valid = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char *path = zsys_sprintf ("%s/%s", dir_path, entry->d_name);
        size_t size;
        uint8_t *data = t_read_file (path, &size);
        //  an empty file: give the target a valid pointer, as libFuzzer does
        uint8_t none = 0;
        assert_int_equal (LLVMFuzzerTestOneInput (data? data: &none, size), 0);
        t_check_expectation (entry->d_name, data? data: &none, size);
        if (t_starts_with (entry->d_name, "valid-msg-"))
            valid++;
        files++;
        free (data);
        zstr_free (&path);
    }
    closedir (dir);
    free (dir_path);
    //  one valid seed per message type, so the corpus cannot vanish unseen
    assert_int_equal (valid, SLUICE_MSG_MAX);
    assert_true (files > valid);
}

//  The target itself holds on inputs the corpus may not have.
static void
test_target_on_edge_inputs (void **state)
{
    (void) state;
    uint8_t bytes [64];
    memset (bytes, 0, sizeof bytes);
    for (size_t size = 0; size <= sizeof bytes; size++)
        assert_int_equal (LLVMFuzzerTestOneInput (bytes, size), 0);
    memset (bytes, 0xff, sizeof bytes);
    for (size_t size = 0; size <= sizeof bytes; size++)
        assert_int_equal (LLVMFuzzerTestOneInput (bytes, size), 0);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_replay_corpus),
        cmocka_unit_test (test_target_on_edge_inputs),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
