/*  =========================================================================
    args.c - the sluice command line, from the option table

    sluice takes a chosen set of the roles' options (the option table's
    rows, so their spelling, checks, messages and help are the roles'
    own), stores each in the config of every role it concerns, and adds
    its own: -a FILE, and COMMAND [ARG...] [::: ARG...]... as operands.
    Parsing stops at COMMAND (getopt's "+"), so the command's own options
    are left to it: `sluice -j 4 grep -c x`.
    =========================================================================
*/

#include "run.h"
#include "../lib/options.h"

#include <getopt.h>

#define VENT SLUICE_FOR_VENTILATOR
#define WORKER SLUICE_FOR_WORKER
#define SINK SLUICE_FOR_SINK

//  The role options sluice takes, and the roles whose config each sets.
//  --tasks and --results set no role directly (see batch.c).
static const struct {
    const char *name;
    unsigned roles;
} s_rows [] = {
    { "jobs", WORKER }, { "prefetch", WORKER }, { "task-timeout", WORKER },
    { "pipe", WORKER }, { "output", SINK }, { "format", SINK }, { "keep-order", SINK },
    { "tasks", 0 }, { "results", 0 }, { "null", VENT }, { "window", VENT },
    { "timeout", VENT }, { "max-held", VENT }, { "retries", VENT },
    { "max-attempts", VENT }, { "journal", VENT },
    { "max-size", VENT | WORKER | SINK }, { "verbose", VENT | WORKER | SINK },
    { "quiet", VENT }, { "keys", VENT | WORKER | SINK }, { "allow", VENT | SINK },
    { "insecure", VENT | SINK }, { "help", 0 }, { "version", 0 },
};
#define S_ROWS (sizeof s_rows / sizeof s_rows [0])
#define S_ARG_FILE 'a'          //  -a FILE, sluice's own

//  Help lines that differ from the roles' (sluice binds both endpoints).
static const char *
s_help_text (const sluice_option_t *opt)
{
    if (streq (opt->name, "tasks"))
        return "also bind EP (tcp://*:7000) for workers on other\nhosts";
    if (streq (opt->name, "results"))
        return "also bind EP for those workers' results";
    if (streq (opt->name, "quiet"))
        return "no summary line";
    return opt->help;
}

//  The sluice row of an option-table row, or -1.
static int
s_row (const sluice_option_t *opt)
{
    for (size_t i = 0; i < S_ROWS; i++)
        if (streq (s_rows [i].name, opt->name))
            return (int) i;
    return -1;
}

void
sluice_args_help (FILE *stream)
{
    fprintf (stream,
        "Usage: sluice [OPTIONS] COMMAND [ARG...] [::: ARG...]...\n"
        "       sluice ventilator|worker|sink [OPTIONS...]\n"
        "Run COMMAND once per task, -j at once on this host, and write each result\n"
        "to stdout once; exit when every task is done. Tasks are the lines of stdin\n"
        "(-0: NUL-delimited records), or of each -a FILE, or the ARGs after :::.\n"
        "COMMAND ARG... are joined by spaces and run with /bin/sh -c; {} is replaced\n"
        "by the shell-quoted task, else the task is appended. Several sources\n"
        "combine as in GNU parallel: one task per combination, values joined by\n"
        "a space. `sluice ventilator|worker|sink` run that program, with its\n"
        "own options (`sluice worker --help`).\n\n");
    fprintf (stream, "  %-22s %s\n", "-a, --arg-file FILE", "read tasks from FILE (repeatable)");
    sluice_config_t *defaults [3] = {
        sluice_config_new (SLUICE_ROLE_VENTILATOR), sluice_config_new (SLUICE_ROLE_WORKER),
        sluice_config_new (SLUICE_ROLE_SINK)
    };
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        int row = s_row (opt);
        if (row < 0)
            continue;
        char left [64] = "    ";
        if (opt->letter)
            snprintf (left, sizeof left, "-%c, ", opt->letter);
        size_t used = strlen (left);
        snprintf (left + used, sizeof left - used, "--%s%s%s", opt->name, opt->arg? " ": "",
                  opt->arg? opt->arg: "");
        fprintf (stream, "  %-22s ", left);
        const char *help = s_help_text (opt);
        for (const char *p = help; *p; p++) {
            fputc (*p, stream);
            if (*p == '\n')
                fprintf (stream, "%25s", "");
        }
        unsigned roles = s_rows [row].roles;
        sluice_role_t role = roles & WORKER? SLUICE_ROLE_WORKER
                           : roles & SINK? SLUICE_ROLE_SINK: SLUICE_ROLE_VENTILATOR;
        if (opt->def && roles && opt->type != SLUICE_TYPE_BOOL && !strstr (help, "default"))
            fprintf (stream, " (default %s)", sluice_config_get (defaults [role], opt->name));
        fputc ('\n', stream);
    }
    for (int i = 0; i < 3; i++)
        sluice_config_destroy (&defaults [i]);
    fprintf (stream,
        "\nDurations: 250ms, 2s, 5m, bare number = seconds.\n"
        "Exit: 0 all tasks succeeded, 1 some failed, 2 usage error or bad input,\n"
        "3 runtime error (cannot bind, cannot write the output), 4 interrupted.\n"
        "Example: seq 1 1000 | sluice -j 4 'echo x{}'\n");
}

void
sluice_args_destroy (sluice_args_t **self_p)
{
    assert (self_p);
    sluice_args_t *self = *self_p;
    if (!self)
        return;
    sluice_config_destroy (&self->vent);
    sluice_config_destroy (&self->worker);
    sluice_config_destroy (&self->sink);
    sluice_sources_destroy (&self->sources);
    free (self->command);
    free (self->tasks);
    free (self->results);
    free (self);
    *self_p = NULL;
}

//  Store one option's value in the configs of its roles. Returns -1 to go
//  on, or an exit code after --help, --version or a bad value.
static int
s_option (sluice_args_t *self, const sluice_option_t *opt, bool long_form, const char *value)
{
    if (streq (opt->name, "help")) {
        sluice_args_help (stdout);
        return SLUICE_EXIT_OK;
    }
    if (streq (opt->name, "version")) {
        printf ("sluice (sluice) %s\n", SLUICE_VERSION_STRING);
        return SLUICE_EXIT_OK;
    }
    char err [512];
    if (opt->type == SLUICE_TYPE_ENDPOINT) {
        //  checked now, in the role that binds it; attached in batch.c
        bool tasks = streq (opt->name, "tasks");
        if (sluice_config_set_endpoint (tasks? self->vent: self->sink, opt->name, value, err,
                                        sizeof err)) {
            fprintf (stderr, "sluice: %s\n", err);
            return SLUICE_EXIT_USAGE;
        }
        char **field = tasks? &self->tasks: &self->results;
        free (*field);
        *field = strdup (value);
        return -1;
    }
    if (streq (opt->name, "null"))
        self->nul = true;
    sluice_config_t *configs [3] = { self->vent, self->worker, self->sink };
    unsigned roles = s_rows [s_row (opt)].roles;
    for (int role = 0; role < 3; role++) {
        if (!(roles & (1u << role)) || !sluice_option_store (opt, configs [role], value, err,
                                                               sizeof err))
            continue;
        const char *why = strstr (err, "': ");
        why = why? why + 1: "";
        if (long_form)
            fprintf (stderr, "sluice: invalid --%s value '%s'%s\n", opt->name, value, why);
        else
            fprintf (stderr, "sluice: invalid -%c value '%s'%s\n", opt->letter, value, why);
        return SLUICE_EXIT_USAGE;
    }
    return -1;
}

//  The operands: COMMAND [ARG...] up to the first :::, then one list per
//  :::. Returns 0, or -1 after a one-line error.
static int
s_operands (sluice_args_t *self, int argc, char *argv [], int first)
{
    int end = first;
    while (end < argc && !streq (argv [end], ":::"))
        end++;
    if (end == first) {
        fprintf (stderr, "sluice: no COMMAND given (try 'sluice --help')\n");
        return -1;
    }
    size_t length = 0;
    for (int i = first; i < end; i++)
        length += strlen (argv [i]) + 1;
    self->command = (char *) calloc (1, length);
    assert (self->command);
    for (int i = first; i < end; i++) {
        if (i > first)
            strcat (self->command, " ");
        strcat (self->command, argv [i]);
    }
    while (end < argc) {
        int start = ++end;
        while (end < argc && !streq (argv [end], ":::"))
            end++;
        sluice_sources_add_list (self->sources, argv + start, (size_t) (end - start));
    }
    return 0;
}

//  getopt's tables, from the sluice rows of the option table.
static size_t
s_tables (const sluice_option_t **rows, struct option *longopts, char *shortopts)
{
    size_t count = 0, letters = 0;
    shortopts [letters++] = '+';        //  stop at COMMAND
    shortopts [letters++] = ':';        //  a missing argument is ':'
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        if (s_row (opt) < 0)
            continue;
        bool arg = opt->type != SLUICE_TYPE_BOOL;
        longopts [count] = (struct option) {
            opt->name, arg? required_argument: no_argument, NULL, 256 + (int) count
        };
        rows [count++] = opt;
        if (opt->letter) {
            shortopts [letters++] = opt->letter;
            if (arg)
                shortopts [letters++] = ':';
        }
    }
    longopts [count++] = (struct option) { "arg-file", required_argument, NULL, S_ARG_FILE };
    longopts [count] = (struct option) { NULL, 0, NULL, 0 };
    strcpy (shortopts + letters, "a:");
    return count - 1;
}

sluice_args_t *
sluice_args_parse (int argc, char *argv [], int *rc)
{
    const sluice_option_t *rows [S_ROWS];
    struct option longopts [S_ROWS + 2];
    char shortopts [2 * S_ROWS + 8];
    size_t count = s_tables (rows, longopts, shortopts);

    sluice_args_t *self = (sluice_args_t *) calloc (1, sizeof *self);
    assert (self);
    self->vent = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    self->worker = sluice_config_new (SLUICE_ROLE_WORKER);
    self->sink = sluice_config_new (SLUICE_ROLE_SINK);
    self->sources = sluice_sources_new ();
    *rc = -1;
    opterr = 0;
    optind = 1;
    int code, index;
    while (*rc < 0
       && (index = -1, code = getopt_long (argc, argv, shortopts, longopts, &index)) != -1) {
        const char *given = argv [optind - 1];
        if (code == '?' || code == ':') {
            if (optopt && optopt < 256)
                fprintf (stderr, "sluice: %s -%c\n", code == '?'? "unknown option"
                         : "missing value for", optopt);
            else
                fprintf (stderr, "sluice: %s '%s'\n", code == '?'? "unknown option"
                         : "missing value for", given);
            *rc = SLUICE_EXIT_USAGE;
        }
        else
        if (code == S_ARG_FILE)
            sluice_sources_add_file (self->sources, optarg);
        else {
            const sluice_option_t *opt = code >= 256? rows [code - 256]: NULL;
            for (size_t i = 0; !opt && i < count; i++)
                if (rows [i]->letter == code)
                    opt = rows [i];
            assert (opt);
            *rc = s_option (self, opt, index >= 0,
                            opt->type == SLUICE_TYPE_BOOL? "1": optarg);
        }
    }
    if (*rc < 0 && s_operands (self, argc, argv, optind))
        *rc = SLUICE_EXIT_USAGE;
    if (*rc >= 0)
        sluice_args_destroy (&self);
    return self;
}
