/*  =========================================================================
    fuzz_config.c - libFuzzer target for topology files and option values

    A topology file is ZPL read by CZMQ's zconfig and checked line by line
    against the option table (lib/config.c); every value, from a file, the
    environment or sluice_config_set, goes through the option parsers
    (lib/options.c: endpoints, durations, sizes, counts, booleans, enums).
    All of that is outside input: it must be accepted or refused with a
    message, never crash, leak or exit. On top, what the config shows of a
    value must be a value it takes back: every option's sluice_config_get
    string, set on a fresh config of the same role in table order, gives
    the same strings again.

    Input layout:
      byte 0: the role (mod 3)
      then the topology file, up to the first NUL byte (none: all of it;
      an empty file is not loaded)
      then NUL-separated settings, each one byte choosing the option
      (index in the table, mod its length) and the value after it; each
      value also goes through sluice_parse_duration, _size and _count.

    Build and run: `make fuzz`, or make tests/fuzz/fuzz_config and
    tests/fuzz/fuzz_config WORKDIR tests/fuzz/corpus-config.
    =========================================================================
*/

#include "fuzz.h"
#include "options.h"

#include <fcntl.h>

//  Load a topology file with stdout sent to /dev/null: CZMQ's zconfig
//  prints its syntax errors there (zclock_log), and the replay's stdout is
//  cmocka's report. Returns what sluice_config_load_file does.
static int
t_load_file (sluice_config_t *config, const char *path, char *err, size_t errlen)
{
    fflush (stdout);
    int saved = dup (STDOUT_FILENO);
    int null = open ("/dev/null", O_WRONLY);
    T_CHECK (saved >= 0 && null >= 0);
    dup2 (null, STDOUT_FILENO);
    close (null);
    int rc = sluice_config_load_file (config, path, err, errlen);
    fflush (stdout);
    dup2 (saved, STDOUT_FILENO);
    close (saved);
    return rc;
}

//  The parsers of one value: a number only from digits, within bounds.
static void
t_parse_value (const char *value)
{
    int64_t ms = sluice_parse_duration (value);
    int64_t bytes = sluice_parse_size (value);
    int64_t count = sluice_parse_count (value);
    bool digit = *value >= '0' && *value <= '9';
    T_CHECK (ms >= -1 && bytes >= -1 && count >= -1);
    T_CHECK (digit || (ms == -1 && bytes == -1 && count == -1));
    T_CHECK (ms <= (int64_t) 1e15 && bytes <= (int64_t) 1e15 && count <= INT32_MAX);
}

//  Apply one setting; a refusal must say why.
static void
t_set (sluice_config_t *config, const uint8_t *setting, size_t size)
{
    if (size == 0)
        return;
    const sluice_option_t *opt = sluice_option_at (setting [0] % sluice_option_count ());
    char *value = strndup ((const char *) setting + 1, size - 1);
    T_CHECK (value);
    t_parse_value (value);
    char err [256] = "";
    int rc = sluice_config_set (config, opt->name, value, err, sizeof err);
    T_CHECK (rc == 0 || rc == -1);
    T_CHECK (rc == 0 || (*err && (opt->cli || strstr (err, opt->name))));
    if (opt->type == SLUICE_TYPE_ENDPOINT) {
        rc = sluice_config_set_endpoint (config, opt->name, value, err, sizeof err);
        T_CHECK (rc == 0 || (rc == -1 && *err));
    }
    free (value);
}

//  What config shows, config takes back (see the header comment).
static void
t_check_shown (const sluice_config_t *config)
{
    sluice_role_t role = sluice_config_role (config);
    sluice_config_t *fresh = sluice_config_new (role);
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        if (opt->cli)
            continue;
        const char *shown = sluice_config_get (config, opt->name);
        T_CHECK (shown);
        if (!*shown)
            continue;           //  unset: nothing to set back
        char err [256] = "";
        if (sluice_config_set (fresh, opt->name, shown, err, sizeof err)) {
            fprintf (stderr, "fuzz_config: %s shows '%s', refused: %s\n", opt->name,
                     shown, err);
            T_CHECK (!"a shown value is refused");
        }
    }
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        if (opt->cli)
            continue;
        const char *a = sluice_config_get (config, opt->name);
        const char *b = sluice_config_get (fresh, opt->name);
        if (!streq (a, b)) {
            fprintf (stderr, "fuzz_config: %s: '%s' set back shows '%s'\n", opt->name, a, b);
            T_CHECK (!"a shown value changes when set back");
        }
    }
    sluice_config_destroy (&fresh);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    t_quiet_logs ();
    if (size == 0)
        return 0;
    sluice_role_t role = (sluice_role_t) (data [0] % 3);
    sluice_config_t *config = sluice_config_new (role);
    const uint8_t *p = data + 1, *end = data + size;
    const uint8_t *nul = (const uint8_t *) memchr (p, 0, (size_t) (end - p));
    size_t file_size = (size_t) ((nul? nul: end) - p);
    if (file_size) {
        const char *path = t_scratch_path ("topology.zpl");
        t_write_file (path, p, file_size);
        char err [256] = "";
        int rc = t_load_file (config, path, err, sizeof err);
        T_CHECK (rc == 0 || (rc == -1 && *err));
        //  every refusal of a file names it
        T_CHECK (rc == 0 || strstr (err, path));
    }
    p = nul? nul + 1: end;
    while (p < end) {
        nul = (const uint8_t *) memchr (p, 0, (size_t) (end - p));
        const uint8_t *stop = nul? nul: end;
        t_set (config, p, (size_t) (stop - p));
        p = nul? nul + 1: end;
    }
    t_check_shown (config);
    sluice_config_destroy (&config);
    return 0;
}
