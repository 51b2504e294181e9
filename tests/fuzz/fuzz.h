/*  =========================================================================
    fuzz.h - what the libFuzzer targets share: the check macro, quiet logs,
    scratch files

    Every target in tests/fuzz/ is built twice: by `make fuzz` with clang's
    libFuzzer, and by `make unit` with the normal compiler as a plain
    function (LLVMFuzzerTestOneInput renamed by -D) that
    tests/unit/test_fuzz_corpus.c calls on every file of the target's
    corpus. So a target may not keep state that changes its verdict
    between inputs, and it aborts (T_CHECK) on anything it finds wrong.
    =========================================================================
*/

#ifndef SLUICE_FUZZ_H_INCLUDED
#define SLUICE_FUZZ_H_INCLUDED

#include "private.h"

#include <unistd.h>

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  Abort unless the condition holds: the fuzzer's only failure signal.
#define T_CHECK(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
        abort (); \
    } } while (0)

//  Send the library's logs (zsys_*) to /dev/null, once: rejected input is
//  logged, and a fuzzer writing a line per input to stderr is ten times
//  slower. SLUICE_FUZZ_LOG=1 keeps them, to read while reproducing.
static inline void
t_quiet_logs (void)
{
    static bool done = false;
    if (done)
        return;
    done = true;
    const char *keep = getenv ("SLUICE_FUZZ_LOG");
    if (keep && *keep == '1')
        return;
    FILE *null = fopen ("/dev/null", "w");
    if (null)
        zsys_set_logstream (null);
}

//  Scratch files of this process: one directory, removed at exit with
//  the files named by t_scratch_path.
#define T_SCRATCH_MAX 4
static char *t_scratch_dir;
static char *t_scratch_files [T_SCRATCH_MAX];

static inline void
t_scratch_remove (void)
{
    for (int i = 0; i < T_SCRATCH_MAX && t_scratch_files [i]; i++)
        unlink (t_scratch_files [i]);
    if (t_scratch_dir)
        rmdir (t_scratch_dir);
}

//  A path in the scratch directory ($TMPDIR, else /dev/shm, else /tmp),
//  the same for the same name for the whole process. Never NULL.
static inline const char *
t_scratch_path (const char *name)
{
    if (!t_scratch_dir) {
        const char *tmp = getenv ("TMPDIR");
        if (!tmp || !*tmp)
            tmp = access ("/dev/shm", W_OK) == 0? "/dev/shm": "/tmp";
        char *dir = zsys_sprintf ("%s/sluice-fuzz-XXXXXX", tmp);
        T_CHECK (dir && mkdtemp (dir));
        t_scratch_dir = dir;
        atexit (t_scratch_remove);
    }
    int i = 0;
    for (; i < T_SCRATCH_MAX && t_scratch_files [i]; i++) {
        const char *base = strrchr (t_scratch_files [i], '/') + 1;
        if (streq (base, name))
            return t_scratch_files [i];
    }
    T_CHECK (i < T_SCRATCH_MAX);
    t_scratch_files [i] = zsys_sprintf ("%s/%s", t_scratch_dir, name);
    T_CHECK (t_scratch_files [i]);
    return t_scratch_files [i];
}

//  Replace the file at path with exactly these bytes.
static inline void
t_write_file (const char *path, const void *data, size_t size)
{
    FILE *file = fopen (path, "wb");
    T_CHECK (file);
    T_CHECK (size == 0 || fwrite (data, 1, size, file) == size);
    T_CHECK (fclose (file) == 0);
}

#endif
