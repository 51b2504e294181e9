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
#include "../cli/cli.h"
#include "../lib/spawn.h"

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
    { "pipe", VENT | WORKER | SINK }, { "shell", WORKER }, { "colsep", WORKER },
    { "grace", WORKER }, { "termseq", WORKER }, { "stderr", WORKER }, { "stderr-max", WORKER },
    { "output", SINK }, { "format", SINK },
    { "keep-order", SINK }, { "reorder-max", SINK }, { "tag", SINK }, { "joblog", VENT | SINK }, { "results-dir", SINK },
    { "retry-failed", VENT }, { "resume-failed", VENT }, { "halt", VENT }, { "dry-run", VENT },
    { "tasks", 0 }, { "results", 0 }, { "null", VENT | WORKER }, { "window", VENT },
    { "timeout", VENT }, { "max-held", VENT }, { "retries", VENT },
    { "max-attempts", VENT }, { "journal", VENT }, { "progress", VENT }, { "bar", VENT },
    { "eta", VENT }, { "progress-when", VENT },
    { "max-size", VENT | WORKER | SINK }, { "verbose", VENT | WORKER | SINK },
    { "quiet", VENT | SINK }, { "keys", VENT | WORKER | SINK }, { "allow", VENT | SINK },
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
        return "also bind EP for those workers' results; a value\n"
               "without :// is a DIR, as --results-dir (GNU\n"
               "parallel's --results DIR)";
    if (streq (opt->name, "timeout"))
        return "lease of one delivery before re-sending; N% is\n"
               "GNU parallel's --timeout N% (--task-timeout N%)";
    if (streq (opt->name, "quiet"))
        return "no summary line, nor a line per failed task";
    if (streq (opt->name, "prefetch"))
        return "tasks held beyond free slots (default: enough for\n"
               "the round trip, and at least 8 ms of tasks)";
    //  sluice has no --exec: its COMMAND is one
    const char *exec = "with --exec: ";
    if (strncmp (opt->help, exec, strlen (exec)) == 0)
        return opt->help + strlen (exec);
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

//  sluice's own row, beside the table's (parsed in sluice_args_parse)
static const sluice_option_t s_arg_file = {
    .name = "arg-file", .letter = S_ARG_FILE, .type = SLUICE_TYPE_STRING, .arg = "FILE",
    .help = "read tasks from FILE (repeatable)"
};

static const char *s_about =
    "Run COMMAND once per task, -j at once on this host, and write each result\n"
    "to stdout once; exit when every task is done. Tasks are the lines of stdin\n"
    "(-0: NUL-delimited records), or of each -a FILE, or the ARGs after :::.\n"
    "COMMAND ARG... are joined by spaces. Replacement strings, as GNU parallel's,\n"
    "each value shell-quoted as parallel quotes it (unquoted when the first\n"
    "word holds one); without any the task is appended:\n"
    "  {}    the task                  {#}   the task id (1, 2, ...)\n"
    "  {.}   without its extension     {%}   the job slot (1..-j)\n"
    "  {/}   its basename              {N}   source N, or column N with --colsep\n"
    "  {//}  its dirname                     (-N: from the end); {N.} {N/} ...\n"
    "  {/.}  basename, no extension\n"
    "An unknown {...} is a usage error. The command's environment has\n"
    "SLUICE_TASK_ID, SLUICE_SLOT, SLUICE_ATTEMPT and SLUICE_BATCH.\n"
    "The command runs with /bin/sh -c if it has shell syntax (a character of\n"
    "| & ; < > ( ) $ ` \\ \" ' * ? [ ] { } # ~ or a newline outside replacement\n"
    "strings, = in the first word, a first word that is an sh keyword or\n"
    "builtin such as echo, or holds one, or is not in PATH), and always with\n"
    "--shell; else directly: split at spaces and tabs, the program found in\n"
    "PATH, each word holding replacement strings one argument: the same\n"
    "arguments the shell would pass. Several sources combine as in GNU\n"
    "parallel: one task per combination, one argument per source ({1} {2}\n"
    "without --colsep; appended one word each): cp ::: a ::: b runs cp a b.\n"
    "`sluice ventilator|worker|sink` run that program, with its own options\n"
    "(`sluice worker --help`).\n";

//  sluice's options as --help, the man page and the completion show them:
//  -a, then the rows of the table it takes, with its own help text and the
//  default of the role each sets (borrowed from defaults). Returns the count.
static size_t
s_items (sluice_cli_item_t *items, sluice_config_t *defaults [3])
{
    size_t count = 0;
    items [count++] = (sluice_cli_item_t) { &s_arg_file, s_arg_file.help, NULL };
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        int row = s_row (opt);
        if (row < 0)
            continue;
        unsigned roles = s_rows [row].roles;
        sluice_role_t role = roles & WORKER? SLUICE_ROLE_WORKER
                           : roles & SINK? SLUICE_ROLE_SINK: SLUICE_ROLE_VENTILATOR;
        bool shown = opt->def && roles && opt->type != SLUICE_TYPE_BOOL;
        items [count++] = (sluice_cli_item_t) {
            opt, s_help_text (opt), shown? sluice_config_get (defaults [role], opt->name): NULL
        };
    }
    return count;
}

//  The three roles' default configs, for s_items.
static void
s_defaults_new (sluice_config_t *defaults [3])
{
    defaults [0] = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    defaults [1] = sluice_config_new (SLUICE_ROLE_WORKER);
    defaults [2] = sluice_config_new (SLUICE_ROLE_SINK);
}

static void
s_defaults_destroy (sluice_config_t *defaults [3])
{
    for (int i = 0; i < 3; i++)
        sluice_config_destroy (&defaults [i]);
}

void
sluice_args_help (FILE *stream)
{
    fprintf (stream,
        "Usage: sluice [OPTIONS] COMMAND [ARG...] [::: ARG...]...\n"
        "       sluice ventilator|worker|sink [OPTIONS...]\n"
        "%s\n", s_about);
    sluice_config_t *defaults [3];
    s_defaults_new (defaults);
    sluice_cli_item_t items [S_ROWS + 1];
    size_t count = s_items (items, defaults);
    for (size_t i = 0; i < count; i++) {
        const sluice_option_t *opt = items [i].opt;
        char left [64] = "    ";
        if (opt->letter)
            snprintf (left, sizeof left, "-%c, ", opt->letter);
        size_t used = strlen (left);
        snprintf (left + used, sizeof left - used, "--%s%s%s", opt->name, opt->arg? " ": "",
                  opt->arg? opt->arg: "");
        fprintf (stream, "  %-22s ", left);
        for (const char *p = items [i].help; *p; p++) {
            fputc (*p, stream);
            if (*p == '\n')
                fprintf (stream, "%25s", "");
        }
        if (items [i].def && !strstr (items [i].help, "default"))
            fprintf (stream, " (default %s)", items [i].def);
        fputc ('\n', stream);
    }
    s_defaults_destroy (defaults);
    fprintf (stream,
        "\nDurations: 250ms, 2s, 5m, bare number = seconds.\n"
        "Exit (GNU parallel's): 0 all tasks succeeded, 1-100 that many failed\n"
        "(--halt fail=N%%: the percentage; --halt ...,fail=1: that task's code),\n"
        "101 more than 100 failed, 130 interrupted, 254 runtime error (cannot\n"
        "bind, cannot write the output), 255 usage error or bad input.\n"
        "Example: seq 1 1000 | sluice -j 4 'echo x{}'\n");
}

//  --------------------------------------------------------------------------
//  sluice(1) and its bash completion (the hidden --help-man and
//  --help-completion, run by the Makefile)

static const char *s_exits [SLUICE_CLI_EXITS] = {
    "all tasks succeeded",
    "that many failed (--halt fail=N%: the percentage; --halt ...,fail=1: that task's code)",
    "more than 100 failed",
    "interrupted",
    "runtime error (cannot bind, cannot write the output)",
    "usage error or bad input",
};
static const char *s_exit_codes [SLUICE_CLI_EXITS] = { "0", "1-100", "101", "130", "254", "255" };

//  "name\tmeaning" lines
static const char *s_subcommands =
    "ventilator\tRun the ventilator with its own options, exactly as ventilator(1).\n"
    "worker\tRun a worker with its own options, exactly as worker(1).\n"
    "sink\tRun the sink with its own options, exactly as sink(1).\n"
    "keygen\t[--force] DIR [HOST...]: create a deployment's CURVE certificates in "
    "DIR (ventilator.cert, sink.cert, worker.cert, each with a _secret file of mode "
    "0600, and worker-HOST.cert per HOST); --force replaces existing ones. "
    "Then every program takes --keys DIR (`sluice keygen --help`).\n"
    "cat\t[--format lines|raw|jsonl|msgpack] [FILE...]: read a sink's --format "
    "msgpack output (FILEs, or stdin) and write it as the sink would have in that "
    "format (default lines), byte for byte (`sluice cat --help`).\n";

static const char *s_more =
    "Inside, sluice is the three roles in one process: the ventilator and the\n"
    "sink run in its own poll loop, the worker in a second thread; they meet on\n"
    "inproc:// endpoints private to the process. Nothing listens on a port\n"
    "unless asked: --tasks tcp://*:7000 --results tcp://*:7001 also binds those,\n"
    "and workers on other hosts (`worker --exec ... --tasks tcp://this-host:7000\n"
    "--results tcp://this-host:7001`) join the same batch; they should run the\n"
    "same command. The first SIGINT, SIGTERM or SIGHUP starts no more tasks and\n"
    "lets the running ones finish; the second stops them (--termseq), and sluice\n"
    "exits 130. Under nohup (SIGHUP ignored) a hangup changes nothing.\n\n"
    "The roles' options keep their names and checks. Parsing stops at COMMAND,\n"
    "so its own options are its own (sluice -j 4 grep -c x). sluice reads no\n"
    "topology file; of the SLUICE_* variables it reads only SLUICE_PROGRESS,\n"
    "SLUICE_BAR, SLUICE_ETA and SLUICE_PROGRESS_WHEN, under its flags (its\n"
    "commands inherit the environment).\n";

static const char *s_examples =
    "seq 1 1000 | sluice -j 4 'echo x{}'\n"
    "find . -name '*.log' | sluice -j 8 gzip -9      # gzip -9 'a.log'\n"
    "sluice -k 'convert {} {}.png' ::: *.svg         # in order\n"
    "printf '%s\\0' * | sluice -0 --format jsonl wc -c\n"
    "sluice echo ::: a b ::: 1 2                     # 'a 1', 'a 2', 'b 1', 'b 2'\n";

//  sluice keygen, for its completion
static const sluice_option_t s_keygen_rows [] = {
    { .name = "force", .type = SLUICE_TYPE_BOOL, .help = "replace existing certificates" },
    { .name = "help", .type = SLUICE_TYPE_BOOL, .help = "print the help and exit" },
};

//  Print sluice(1) (man) or the completion of sluice and sluice keygen.
static void
s_document (bool man, FILE *stream)
{
    sluice_config_t *defaults [3];
    s_defaults_new (defaults);
    sluice_cli_item_t items [S_ROWS + 1];
    sluice_cli_page_t page = {
        .name = "sluice",
        .summary = "run a command once per task, on every core, with honest exit codes",
        .synopsis = "[OPTIONS] COMMAND [ARG...] [::: ARG...]...\n"
                    "ventilator|worker|sink [OPTIONS...]\n"
                    "keygen [--force] DIR [HOST...]\n"
                    "cat [--format lines|raw|jsonl|msgpack] [FILE...]",
        .about = s_about, .more = s_more, .examples = s_examples, .items = items,
        .count = s_items (items, defaults), .exits = s_exits, .exit_codes = s_exit_codes,
        .subcommands = s_subcommands, .operands = "command",
    };
    if (man)
        sluice_cli_man (&page, stream);
    else {
        sluice_cli_item_t keygen_items [2] = {
            { &s_keygen_rows [0], s_keygen_rows [0].help, NULL },
            { &s_keygen_rows [1], s_keygen_rows [1].help, NULL },
        };
        sluice_cli_page_t keygen = {
            .name = "keygen", .items = keygen_items, .count = 2, .operands = "dir",
            .subcommand = true
        };
        sluice_cli_completion (&keygen, stream);
        sluice_cli_completion (&page, stream);
    }
    s_defaults_destroy (defaults);
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
    if (streq (opt->name, "results") && !strstr (value, "://"))
        opt = sluice_option_find ("results-dir");       //  parallel's --results DIR
    if (streq (opt->name, "timeout") && *value && value [strlen (value) - 1] == '%')
        opt = sluice_option_find ("task-timeout");      //  parallel's --timeout N%
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

//  How every role reads a task's columns: several sources make each task
//  an argument list (args: the command's ARGS flag, so remote workers
//  read it too), but for --colsep to split and for --pipe's stdin they
//  stay one record, joined by spaces; --colsep, given to the worker, also
//  builds the command lines of --dry-run (the ventilator) and --joblog
//  (the sink).
static void
s_columns (sluice_args_t *args)
{
    sluice_config_t *roles [3] = { args->vent, args->worker, args->sink };
    for (size_t i = 0; i < 3; i++) {
        roles [i]->args = sluice_sources_combined (args->sources) && !args->worker->colsep
                       && !args->worker->pipe;
        if (roles [i] != args->worker && args->worker->colsep) {
            free (roles [i]->colsep);
            roles [i]->colsep = strdup (args->worker->colsep);
            assert (roles [i]->colsep);
        }
    }
}

//  Check COMMAND's replacement strings, and that --resume-failed has a
//  record to read, now, so either is a usage error before anything starts. Returns 0, or -1 after a one-line error.
static int
s_check_command (sluice_args_t *self)
{
    char err [512];
    if (sluice_spawn_check (self->command, self->worker, err, sizeof err)
    ||  sluice_config_check_rerun (self->vent, err, sizeof err)) {
        fprintf (stderr, "sluice: %s\n", err);
        return -1;
    }
    return 0;
}

//  The progress rows' environment variables (SLUICE_PROGRESS, ...), under
//  the flags that follow. (Other rows' variables are the roles' own: the
//  endpoints here are sluice's private ones.) Returns -1, or 2 after a
//  one-line error.
static int
s_environment (sluice_args_t *self)
{
    const char *names [] = { "progress", "bar", "eta", "progress-when" };
    for (size_t i = 0; i < 4; i++) {
        const sluice_option_t *opt = sluice_option_find (names [i]);
        const char *value = opt && opt->env? getenv (opt->env): NULL;
        char err [256];
        if (value && sluice_option_store (opt, self->vent, value, err, sizeof err)) {
            fprintf (stderr, "sluice: invalid %s value '%s'\n", opt->env, value);
            return SLUICE_EXIT_USAGE;
        }
    }
    return -1;
}

//  What GNU parallel's options imply across the roles: the sink's
//  joblog names each task's command line (it needs the command), and
//  appends when it is the record --retry-failed reads; --halt soon starts
//  no more tasks, so the worker holds none beyond its -j (no prefetch)
//  unless --prefetch says otherwise.
static void
s_jobs_settings (sluice_args_t *self)
{
    char err [256];
    sluice_config_set (self->sink, "exec", self->command, err, sizeof err);
    const char *joblog = sluice_config_get (self->vent, "joblog");
    bool rerun = streq (sluice_config_get (self->vent, "retry-failed"), "1")
              || streq (sluice_config_get (self->vent, "resume-failed"), "1");
    if (rerun && *joblog && joblog [0] != '+') {
        char *append = zsys_sprintf ("+%s", joblog);
        sluice_config_set (self->sink, "joblog", append, err, sizeof err);
        zstr_free (&append);
    }
    if (*sluice_config_get (self->vent, "halt")
    &&  streq (sluice_config_get (self->worker, "prefetch"), "auto"))
        sluice_config_set (self->worker, "prefetch", "0", err, sizeof err);
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
    size_t rows_count = count;
    longopts [count++] = (struct option) { "arg-file", required_argument, NULL, S_ARG_FILE };
    for (size_t i = 0; i < rows_count; i++)
        if (streq (rows [i]->name, "termseq"))     //  GNU parallel spells it both ways
            longopts [count++] = (struct option) { "term-seq", required_argument, NULL,
                                                   256 + (int) i };
    longopts [count] = (struct option) { NULL, 0, NULL, 0 };
    strcpy (shortopts + letters, "a:");
    return rows_count;
}

sluice_args_t *
sluice_args_parse (int argc, char *argv [], int *rc)
{
    const sluice_option_t *rows [S_ROWS];
    struct option longopts [S_ROWS + 3];
    char shortopts [2 * S_ROWS + 8];
    size_t count = s_tables (rows, longopts, shortopts);
    if (argc == 2
    && (streq (argv [1], "--help-man") || streq (argv [1], "--help-completion"))) {
        s_document (streq (argv [1], "--help-man"), stdout);
        *rc = SLUICE_EXIT_OK;
        return NULL;
    }

    sluice_args_t *self = (sluice_args_t *) calloc (1, sizeof *self);
    assert (self);
    self->vent = sluice_config_new (SLUICE_ROLE_VENTILATOR);
    self->worker = sluice_config_new (SLUICE_ROLE_WORKER);
    self->sink = sluice_config_new (SLUICE_ROLE_SINK);
    self->sources = sluice_sources_new ();
    *rc = s_environment (self);
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
    if (*rc < 0)
        s_columns (self);
    if (*rc < 0 && s_check_command (self))
        *rc = SLUICE_EXIT_USAGE;
    //  the batch carries its command: a worker left over from another job
    //  (--tasks tcp://...) refuses it instead of running its own
    char err [512];
    if (*rc < 0 && sluice_config_set (self->vent, "exec", self->command, err, sizeof err)) {
        fprintf (stderr, "sluice: %s\n", err);
        *rc = SLUICE_EXIT_USAGE;
    }
    if (*rc < 0)
        s_jobs_settings (self);
    if (*rc >= 0)
        sluice_args_destroy (&self);
    return self;
}
