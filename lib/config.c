/*  =========================================================================
    config.c - endpoints and options for the three roles

    Precedence is flag > environment > topology file > default. The layers
    are applied in the reverse order (defaults, then file, then env, then
    flags), each overwriting the one below. Every layer goes through the
    option table (options.c): a value is parsed and checked the same way
    whether it comes from a flag, a variable, a file or sluice_config_set.

    An endpoint item without '@' (bind) or '>' (connect) takes its role's
    natural direction: the ventilator binds tasks and connects to control,
    the sink binds results and control, workers connect to both. So one
    value such as SLUICE_TASKS=tcp://vent-host:5557 serves every program.

    A topology file is checked line by line against the table before any
    value is used: a misspelt key would otherwise be ignored in silence,
    and every task would end lost.
    =========================================================================
*/

#include "private.h"
#include "options.h"

#include <ctype.h>
#include <math.h>
#include <sys/stat.h>

sluice_config_t *
sluice_config_new (sluice_role_t role)
{
    sluice_config_t *self = (sluice_config_t *) calloc (1, sizeof *self);
    assert (self);
    self->role = role;
    self->shown = (char **) calloc (sluice_option_count (), sizeof (char *));
    assert (self->shown);
    self->mode = SLUICE_MODE_NONE;
    self->input = SLUICE_INPUT_LINES;
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    self->jobs = cores > 0? (unsigned) cores: 1;
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        char err [256];
        if (opt->def && sluice_option_store (opt, self, opt->def, err, sizeof err))
            assert (!"bad default in the option table");
    }
    return self;
}

uint32_t
sluice_command_flags (const sluice_config_t *config)
{
    bool nul = config->input == SLUICE_INPUT_NUL;
    if (config->mode != SLUICE_MODE_EXEC)
        return nul? SLUICE_COMMAND_NUL: 0;
    uint32_t flags = config->args? SLUICE_COMMAND_ARGS: 0;
    if (config->pipe)
        flags |= SLUICE_COMMAND_PIPE | (nul? SLUICE_COMMAND_NUL: 0);
    return flags;
}

void
sluice_config_destroy (sluice_config_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_config_t *self = *self_p;
        free (self->tasks);
        free (self->results);
        free (self->control);
        free (self->journal);
        free (self->command);
        free (self->termseq);
        free (self->colsep);
        free (self->output);
        free (self->halt);
        free (self->joblog);
        free (self->results_dir);
        free (self->keys);
        free (self->key);
        free (self->allow);
        for (size_t i = 0; i < sluice_option_count (); i++)
            free (self->shown [i]);
        free (self->shown);
        free (self);
        *self_p = NULL;
    }
}

int
sluice_config_set (sluice_config_t *self, const char *name, const char *value, char *err,
                   size_t errlen)
{
    assert (self);
    const sluice_option_t *opt = sluice_option_find (name);
    if (!opt || opt->cli) {
        snprintf (err, errlen, "unknown option '%s'", name? name: "(null)");
        return -1;
    }
    return sluice_option_store (opt, self, value, err, errlen);
}

const char *
sluice_config_get (const sluice_config_t *self, const char *name)
{
    assert (self);
    const sluice_option_t *opt = sluice_option_find (name);
    if (!opt || opt->cli)
        return NULL;
    size_t index = (size_t) (opt - sluice_option_at (0));
    free (self->shown [index]);
    self->shown [index] = sluice_option_show (opt, self);
    return self->shown [index];
}

sluice_role_t
sluice_config_role (const sluice_config_t *self)
{
    assert (self);
    return self->role;
}

//  Natural direction of an endpoint for a role: '@' bind or '>' connect.
static char
s_natural (sluice_role_t role, const char *name)
{
    if (streq (name, "tasks"))
        return role == SLUICE_ROLE_VENTILATOR? '@': '>';
    if (streq (name, "results"))
        return role == SLUICE_ROLE_SINK? '@': '>';
    return role == SLUICE_ROLE_SINK? '@': '>';
}

//  Rewrite "*" as the local host for a connecting side: a default such as
//  tcp://*:5557 connects to tcp://localhost:5557.
static void
s_append_item (char *out, size_t outlen, char direction, const char *item)
{
    size_t used = strlen (out);
    if (direction == '>' && strncmp (item, "tcp://*:", 8) == 0)
        snprintf (out + used, outlen - used, "%s>tcp://localhost:%s",
                  used? ",": "", item + 8);
    else
        snprintf (out + used, outlen - used, "%s%c%s", used? ",": "", direction, item);
}

//  Check one endpoint item: transport://address, with a port for tcp:
//  "*" (any free port, where binding) or a number up to 65535 (libzmq
//  would take tcp://host:99999 as port 34463, 99999 modulo 65536). Returns
//  NULL, or why the item is invalid: "" when the item says it itself.
static const char *
s_invalid_item (const char *item, char direction)
{
    const char *sep = strstr (item, "://");
    if (!sep || sep == item || !sep [3])
        return "";
    if (strncmp (item, "tcp://", 6) == 0) {
        const char *colon = strrchr (item + 6, ':');
        if (!colon || !colon [1])
            return "";
        const char *port = colon + 1;
        if (streq (port, "*"))
            return NULL;
        size_t digits = strspn (port, "0123456789");
        if (digits == 0 || port [digits])
            return "";
        errno = 0;
        unsigned long long number = strtoull (port, NULL, 10);
        if (errno == ERANGE || number > 65535)
            return "the port is above 65535";
        if (number == 0 && direction == '>')
            return "port 0 cannot be connected to";
    }
    return NULL;
}

int
sluice_config_set_endpoint (sluice_config_t *self, const char *name,
                            const char *value, char *err, size_t errlen)
{
    const sluice_option_t *opt = sluice_option_find (name);
    if (!opt || opt->type != SLUICE_TYPE_ENDPOINT) {
        snprintf (err, errlen, "unknown endpoint '%s'", name? name: "(null)");
        return -1;
    }
    char **field = (char **) ((char *) self + opt->offset);
    size_t outlen = strlen (value) * 2 + 64;
    char *out = (char *) calloc (1, outlen);
    char *list = strdup (value);
    assert (out && list);
    int rc = 0;
    char *save = NULL;
    int items = 0;
    for (char *item = strtok_r (list, ",", &save); item; item = strtok_r (NULL, ",", &save)) {
        while (isspace ((unsigned char) *item))
            item++;
        char *tail = item + strlen (item);
        while (tail > item && isspace ((unsigned char) tail [-1]))
            *--tail = 0;
        char direction = s_natural (self->role, name);
        if (*item == '@' || *item == '>')
            direction = *item++;
        const char *why = s_invalid_item (item, direction);
        if (why) {
            snprintf (err, errlen, "invalid %s endpoint '%s'%s%s", name, item,
                      *why? ": ": "", why);
            rc = -1;
            break;
        }
        s_append_item (out, outlen, direction, item);
        items++;
    }
    if (rc == 0 && items == 0) {
        snprintf (err, errlen, "invalid %s endpoint '%s'", name, value);
        rc = -1;
    }
    free (list);
    if (rc == 0) {
        free (*field);
        *field = out;
    }
    else
        free (out);
    return rc;
}

int
sluice_config_load_env (sluice_config_t *self, char *err, size_t errlen)
{
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        const char *value = opt->env? getenv (opt->env): NULL;
        if (value && *value) {
            char inner [256];
            if (sluice_option_store (opt, self, value, inner, sizeof inner)) {
                snprintf (err, errlen, "%s: %s", opt->env, inner);
                return -1;
            }
        }
    }
    return 0;
}

//  Check every name in a topology file against the table: a name at the
//  top is a section that holds keys of the table, a name under it one of
//  those keys. Stores the line of each key found in lines (by table index).
//  Returns 0, or -1 with "path:N: unknown key 'name'" in err.
static int
s_check_names (const char *path, size_t *lines, char *err, size_t errlen)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (err, errlen, "cannot read config '%s': %s", path, strerror (errno));
        return -1;
    }
    char section [128] = "", key [128] = "";
    char *line = NULL;
    size_t size = 0, number = 0;
    int rc = 0;
    while (rc == 0 && getline (&line, &size, file) != -1) {
        number++;
        size_t indent = strspn (line, " ");
        char *name = line + indent;
        size_t len = strcspn (name, " \t=#\r\n");
        if (len == 0)
            continue;               //  blank line or comment
        name [len] = 0;
        size_t depth = indent / 4;
        bool known = false;
        if (depth == 0) {
            snprintf (section, sizeof section, "%s", name);
            known = sluice_option_zpl_section (section);
        }
        else
        if (depth == 1) {
            snprintf (key, sizeof key, "%s/%s", section, name);
            const sluice_option_t *opt = sluice_option_find_zpl (key);
            if (opt)
                lines [opt - sluice_option_at (0)] = number;
            known = opt != NULL;
        }
        if (!known) {
            snprintf (err, errlen, "%s:%zu: unknown %s '%s'", path, number,
                      depth == 0? "section": "key", name);
            rc = -1;
        }
    }
    free (line);
    fclose (file);
    return rc;
}

//  Parse a topology file as ZPL; NULL if it cannot be read or is not
//  valid ZPL. Not zconfig_load: CZMQ 4.2.1's leaks its zfile_t whenever
//  the text is not valid ZPL (it drops the handle before it knows the
//  parse failed), so the bytes are read here for zconfig_chunk_load.
static zconfig_t *
s_load_zpl (const char *path, size_t size)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    zchunk_t *chunk = zchunk_read (file, size);
    fclose (file);
    if (!chunk)
        return NULL;
    zconfig_t *root = zconfig_chunk_load (chunk);
    zchunk_destroy (&chunk);
    return root;
}

int
sluice_config_load_file (sluice_config_t *self, const char *path, char *err,
                         size_t errlen)
{
    //  stat, not open: opening a FIFO would block until a writer came
    struct stat info;
    if (stat (path, &info)) {
        snprintf (err, errlen, "cannot read config '%s': %s", path, strerror (errno));
        return -1;
    }
    if (!S_ISREG (info.st_mode)) {
        snprintf (err, errlen, "cannot read config '%s': %s", path,
                  S_ISDIR (info.st_mode)? "is a directory": "not a regular file");
        return -1;
    }
    zconfig_t *root = s_load_zpl (path, (size_t) info.st_size);
    if (!root) {
        snprintf (err, errlen, "cannot parse config '%s' (not valid ZPL)", path);
        return -1;
    }
    size_t *lines = (size_t *) calloc (sluice_option_count (), sizeof (size_t));
    assert (lines);
    int rc = s_check_names (path, lines, err, errlen);
    const sluice_option_t *opt;
    for (size_t i = 0; rc == 0 && (opt = sluice_option_at (i)); i++) {
        const char *value = lines [i]? zconfig_get (root, opt->zpl, NULL): NULL;
        char inner [256];
        if (value && *value && sluice_option_store (opt, self, value, inner, sizeof inner)) {
            snprintf (err, errlen, "%s:%zu: %s: %s", path, lines [i], opt->zpl, inner);
            rc = -1;
        }
    }
    free (lines);
    zconfig_destroy (&root);
    return rc;
}

//  Parse a non-negative decimal number with an optional fraction; returns
//  the rest of the string in *rest, or -1.
static double
s_number (const char *value, char **rest)
{
    if (!value || !isdigit ((unsigned char) *value))
        return -1;
    //  digits [. digits] only: strtod alone would take "0x10" and "1e3"
    size_t len = strspn (value, "0123456789");
    if (value [len] == '.')
        len += 1 + strspn (value + len + 1, "0123456789");
    char digits [64];
    if (len >= sizeof digits)
        return -1;
    memcpy (digits, value, len);
    digits [len] = 0;
    errno = 0;
    double number = strtod (digits, NULL);
    if (errno || !isfinite (number) || number < 0)
        return -1;
    *rest = (char *) value + len;
    return number;
}

int64_t
sluice_parse_duration (const char *value)
{
    char *unit;
    double number = s_number (value, &unit);
    if (number < 0)
        return -1;
    double scale;
    if (!*unit || streq (unit, "s"))
        scale = 1000;
    else
    if (streq (unit, "ms"))
        scale = 1;
    else
    if (streq (unit, "m"))
        scale = 60000;
    else
    if (streq (unit, "h"))
        scale = 3600000;
    else
        return -1;
    double ms = number * scale;
    if (ms > 1e15)
        return -1;
    return (int64_t) (ms + 0.5);
}

int64_t
sluice_parse_size (const char *value)
{
    char *unit;
    double number = s_number (value, &unit);
    if (number < 0)
        return -1;
    double scale;
    if (!*unit || streq (unit, "B"))
        scale = 1;
    else
    if (streq (unit, "k") || streq (unit, "K") || streq (unit, "KiB"))
        scale = 1024;
    else
    if (streq (unit, "M") || streq (unit, "MiB"))
        scale = 1024.0 * 1024;
    else
    if (streq (unit, "G") || streq (unit, "GiB"))
        scale = 1024.0 * 1024 * 1024;
    else
        return -1;
    double bytes = number * scale;
    if (bytes > 1e15)
        return -1;
    return (int64_t) bytes;
}

int64_t
sluice_parse_count (const char *value)
{
    if (!value || !isdigit ((unsigned char) *value))
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll (value, &end, 10);
    if (errno || *end || n < 0 || n > INT32_MAX)
        return -1;
    return n;
}

int
sluice_config_resolve (sluice_config_t *self, const char *file, const char *tasks,
                       const char *results, const char *control, char *err, size_t errlen)
{
    if (file && sluice_config_load_file (self, file, err, errlen))
        return -1;
    if (sluice_config_load_env (self, err, errlen))
        return -1;
    if (tasks && sluice_config_set_endpoint (self, "tasks", tasks, err, errlen))
        return -1;
    if (results && sluice_config_set_endpoint (self, "results", results, err, errlen))
        return -1;
    if (control && sluice_config_set_endpoint (self, "control", control, err, errlen))
        return -1;
    return 0;
}
