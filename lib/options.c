/*  =========================================================================
    options.c - the option table, and each type's parser and string form

    Owns the table of every option (see options.h for its columns) and the
    typed store/show of a value into a sluice_config_t field. The table is
    in --help order. A plain option is one row naming its field; the few
    that set more than one field (--echo/--exec/--coproc set the mode and
    the command, -0/--msgpack the input format) name a store and a show
    function instead.
    =========================================================================
*/

#include "private.h"
#include "options.h"
#include "termseq.h"
#include "halt.h"

#include <stddef.h>
#include <sys/resource.h>
#include <unistd.h>

//  The field of a plain row: its offset and width
#define FIELD(f) .offset = offsetof (sluice_config_t, f), \
                 .width = sizeof (((sluice_config_t *) 0)->f)

#define VENT SLUICE_FOR_VENTILATOR
#define WORKER SLUICE_FOR_WORKER
#define SINK SLUICE_FOR_SINK
#define ALL SLUICE_FOR_ALL

static sluice_option_store_fn s_mode_store, s_input_store, s_termseq_store;
static sluice_option_show_fn s_mode_show, s_input_show, s_termseq_show;
static sluice_option_store_fn s_halt_store, s_rerun_store, s_task_timeout_store, s_jobs_store;
static sluice_option_show_fn s_halt_show, s_rerun_show, s_task_timeout_show;

static const sluice_option_t s_table [] = {
    //  the worker's processing mode: exactly one
    { .name = "echo", .roles = WORKER, .type = SLUICE_TYPE_BOOL, .group = "mode",
      .help = "return each payload unchanged",
      .store = s_mode_store, .show = s_mode_show, .choice = SLUICE_MODE_ECHO },
    { .name = "exec", .roles = VENT | WORKER, .type = SLUICE_TYPE_STRING, .arg = "CMD",
      .group = "mode", .min = 1,
      .help = "run CMD per task; {} {.} {/} {//} {/.} {#} {%}\n"
              "{1} ... are replaced as GNU parallel does,\n"
              "shell-quoted; without any the task is appended; CMD\n"
              "runs without /bin/sh when it has no shell syntax\n"
              "(none of | & ; < > ( ) $ ` \\ \" ' * ? [ ] { } # ~\n"
              "newline, no = in its first word, which is no sh\n"
              "keyword or builtin and holds no replacement\n"
              "string), else with sh -c. Its environment has\n"
              "SLUICE_TASK_ID, SLUICE_SLOT, SLUICE_ATTEMPT,\n"
              "SLUICE_BATCH. The results of quick commands go to\n"
              "the sink packed: one waits at most 5 ms for others\n"
              "(ventilator: the batch's command, sent with its\n"
              "tasks; a worker with another refuses it)",
      .store = s_mode_store, .show = s_mode_show, .choice = SLUICE_MODE_EXEC },
    { .name = "pipe", .roles = VENT | WORKER, .type = SLUICE_TYPE_BOOL, .needs = "exec", FIELD (pipe),
      .help = "with --exec: each task on the command's stdin,\n"
              "then a newline (NUL with -0)" },
    { .name = "shell", .roles = WORKER, .type = SLUICE_TYPE_BOOL, .needs = "exec",
      FIELD (shell), .help = "with --exec: always run CMD with /bin/sh -c" },
    { .name = "colsep", .roles = WORKER, .type = SLUICE_TYPE_STRING, .arg = "REGEX",
      .needs = "exec", FIELD (colsep), .min = 1,
      .help = "with --exec: split each task into columns {1} {2}\n"
              "... at REGEX (POSIX ERE, plus \\t \\n \\r \\d), each\n"
              "trimmed of white space, as GNU parallel's --colsep" },
    { .name = "coproc", .roles = VENT | WORKER, .type = SLUICE_TYPE_STRING, .arg = "CMD",
      .group = "mode", .min = 1, .help = "keep -j copies of CMD running; one line in, one out",
      .store = s_mode_store, .show = s_mode_show, .choice = SLUICE_MODE_COPROC },
    { .name = "pool", .roles = WORKER, .type = SLUICE_TYPE_BOOL, .group = "mode",
      .help = "run the command each batch carries (ventilator\n"
              "--exec): remote execution, accepted only from a\n"
              "ventilator authenticated by --keys or on loopback\n"
              "or ipc",
      .store = s_mode_store, .show = s_mode_show, .choice = SLUICE_MODE_POOL },
    { .name = "jobs", .letter = 'j', .roles = WORKER, .type = SLUICE_TYPE_COUNT, .arg = "N",
      .zpl = "sluice/jobs", FIELD (jobs), .min = 1, .max = 4096, .store = s_jobs_store,
      .help = "tasks processed at once (default: cores); as\n"
              "in GNU parallel, +N and -N are cores plus or\n"
              "minus N, N% that share of the cores (at least 1),\n"
              "0 as many as the open-file limit allows (4 per\n"
              "command, at most 4096)" },
    { .name = "prefetch", .roles = WORKER, .type = SLUICE_TYPE_COUNT, .arg = "N",
      .zpl = "sluice/prefetch", FIELD (prefetch), .min = 0, .max = 1000000, .auto_ok = true,
      .def = "auto", .help = "tasks held beyond free slots (default: enough for\n"
                             "the round trip with --exec and --coproc, and at\n"
                             "least 8 ms of tasks; 32768 for --echo)" },
    { .name = "task-timeout", .roles = WORKER, .type = SLUICE_TYPE_DURATION, .arg = "DUR",
      .zpl = "sluice/task-timeout", .min = 1,
      .help = "kill a command running longer (TERM, then KILL);\n"
              "N% (GNU parallel's --timeout N%): longer than N%\n"
              "of the median runtime of the tasks that succeeded",
      .store = s_task_timeout_store, .show = s_task_timeout_show },
    { .name = "grace", .roles = WORKER, .type = SLUICE_TYPE_DURATION, .arg = "DUR",
      .zpl = "sluice/grace", FIELD (grace_ms), .min = 0, .def = "30s",
      .help = "on SIGINT/SIGTERM/SIGHUP, time running tasks\nhave to finish before --termseq stops them" },
    { .name = "termseq", .roles = WORKER, .type = SLUICE_TYPE_STRING, .arg = "SEQ",
      .zpl = "sluice/termseq", .def = SLUICE_TERMSEQ_DEFAULT,
      .help = "how a command, or a --coproc copy, is stopped\n"
              "(a second Ctrl-C, a dropped batch): signal, ms,\n"
              "signal... (default TERM,200,KILL)",
      .store = s_termseq_store, .show = s_termseq_show },
    { .name = "stderr", .roles = WORKER, .type = SLUICE_TYPE_ENUM, .arg = "HOW",
      .zpl = "sluice/stderr", FIELD (stderr_inherit), .choices = "capture|inherit",
      .def = "capture",
      .help = "--exec: capture each task's stderr and send it\n"
              "with its result (default), or inherit: the\n"
              "worker's own stderr, untagged" },
    { .name = "stderr-max", .roles = WORKER, .type = SLUICE_TYPE_SIZE, .arg = "SIZE",
      .zpl = "sluice/stderr-max", FIELD (stderr_max), .min = 0, .def = "64K",
      .help = "stderr kept per task; beyond it discarded and\n"
              "counted (default 64K)" },

    //  the sink's output
    { .name = "output", .letter = 'o', .roles = SINK, .type = SLUICE_TYPE_STRING,
      .arg = "FILE", FIELD (output), .help = "write results to FILE" },
    { .name = "append", .roles = SINK, .type = SLUICE_TYPE_BOOL, .needs = "output",
      FIELD (append), .help = "append to FILE and resume after a crash (keeps\n"
                              "FILE.sluice-state)" },
    { .name = "format", .roles = SINK, .type = SLUICE_TYPE_ENUM, .arg = "F", FIELD (format),
      .choices = "lines|jsonl|msgpack|raw", .def = "lines",
      .help = "lines (default: a newline added where\n"
              "missing), jsonl, msgpack, raw (each output\n"
              "exactly as produced)" },
    { .name = "keep-order", .letter = 'k', .roles = SINK, .type = SLUICE_TYPE_BOOL,
      FIELD (keep_order), .help = "print results in input order" },
    { .name = "reorder-max", .roles = SINK, .type = SLUICE_TYPE_SIZE, .arg = "SIZE",
      .zpl = "sluice/reorder-max", FIELD (reorder_max), .min = 0, .def = "64M",
      .help = "with -k: bytes of records held out of order at\nmost (a result beyond is "
              "dropped, re-sent later)" },
    { .name = "tag", .roles = SINK, .type = SLUICE_TYPE_BOOL, FIELD (tag),
      .help = "lines: prefix each output line with its task's\ninput and a tab (GNU parallel's --tag)" },
    { .name = "joblog", .roles = VENT | SINK, .type = SLUICE_TYPE_STRING, .arg = "FILE",
      FIELD (joblog), .min = 1,
      .help = "sink: a line per task in GNU parallel's joblog\n"
              "format (+FILE appends); ventilator: where\n"
              "--retry-failed reads the failures" },
    { .name = "results-dir", .roles = SINK, .type = SLUICE_TYPE_STRING, .arg = "DIR",
      FIELD (results_dir), .min = 1,
      .help = "a directory per task, DIR/1/INPUT/ (several\n"
              "sources: DIR/1/A/2/B/) with seq, stdout, stderr\n"
              "(GNU parallel's --results DIR)" },

    //  topology, shared by all programs
    { .name = "config", .letter = 'c', .roles = ALL, .type = SLUICE_TYPE_STRING, .cli = true,
      .arg = "FILE", .help = "ZPL topology file shared by all programs" },
    { .name = "tasks", .roles = VENT | WORKER, .type = SLUICE_TYPE_ENDPOINT, .arg = "EP",
      .env = "SLUICE_TASKS", .zpl = "sluice/tasks", FIELD (tasks), .def = "tcp://*:5557",
      .help = "tasks endpoint(s)" },
    { .name = "results", .roles = WORKER | SINK, .type = SLUICE_TYPE_ENDPOINT, .arg = "EP",
      .env = "SLUICE_RESULTS", .zpl = "sluice/results", FIELD (results), .def = "tcp://*:5558",
      .help = "results endpoint(s)" },
    { .name = "control", .roles = VENT | SINK, .type = SLUICE_TYPE_ENDPOINT, .arg = "EP",
      .env = "SLUICE_CONTROL", .zpl = "sluice/control", FIELD (control), .def = "tcp://*:5559",
      .help = "sink control endpoint(s)" },

    //  the ventilator's input and window
    { .name = "null", .letter = '0', .roles = VENT | WORKER, .type = SLUICE_TYPE_BOOL,
      .help = "records are NUL-delimited (ventilator input;\nworker --coproc, and --pipe: each ends in NUL)",
      .store = s_input_store, .show = s_input_show, .choice = SLUICE_INPUT_NUL },
    { .name = "msgpack", .roles = VENT, .type = SLUICE_TYPE_BOOL,
      .help = "tasks are a stream of MessagePack objects",
      .store = s_input_store, .show = s_input_show, .choice = SLUICE_INPUT_MSGPACK },
    //  the window covers the ACK's round trip (ventilator, worker, sink,
    //  ventilator: three one-way trips) at the rate of small tasks: at
    //  20 ms a trip and 1 % loss, 32,768 held --echo to a quarter of its
    //  loopback rate (tests/hosts delay-echo: 4.0x), 131,072 to 1.5x
    { .name = "window", .roles = VENT, .type = SLUICE_TYPE_COUNT, .arg = "N",
      .zpl = "sluice/window", FIELD (window), .min = 1, .max = SLUICE_WINDOW_MAX,
      .def = "131072",
      .help = "unacknowledged tasks held at most (also bounded\nto 16 MiB of payload)" },
    { .name = "timeout", .roles = VENT, .type = SLUICE_TYPE_DURATION, .arg = "DUR",
      .zpl = "sluice/timeout", FIELD (timeout_ms), .min = 1000, .def = "30s",
      .help = "lease of one delivery before re-sending" },
    { .name = "max-held", .roles = VENT, .type = SLUICE_TYPE_DURATION, .arg = "DUR",
      .zpl = "sluice/max-held", FIELD (max_held_ms), .min = 1000,
      .help = "total time one delivery may be held, PROGRESS\nincluded (default: 10 x --timeout)" },
    { .name = "retries", .roles = VENT, .type = SLUICE_TYPE_COUNT, .arg = "N",
      .zpl = "sluice/retries", FIELD (retries), .min = 0, .def = "0",
      .help = "re-runs of a failed command" },
    { .name = "max-attempts", .roles = VENT, .type = SLUICE_TYPE_COUNT, .arg = "N",
      .zpl = "sluice/max-attempts", FIELD (max_attempts), .min = 1, .def = "5",
      .help = "deliveries before a task is lost" },
    { .name = "journal", .roles = VENT, .type = SLUICE_TYPE_STRING, .arg = "FILE",
      FIELD (journal), .help = "record acknowledged tasks; re-run to resume" },
    { .name = "retry-failed", .roles = VENT, .type = SLUICE_TYPE_BOOL, .group = "rerun",
      .help = "run exactly the tasks that failed in the run\n"
              "recorded by --journal or --joblog, same ids",
      .store = s_rerun_store, .show = s_rerun_show, .choice = SLUICE_RERUN_RETRY_FAILED },
    { .name = "resume-failed", .roles = VENT, .type = SLUICE_TYPE_BOOL, .group = "rerun",
      .help = "as --retry-failed, and the tasks never run",
      .store = s_rerun_store, .show = s_rerun_show, .choice = SLUICE_RERUN_RESUME_FAILED },
    { .name = "halt", .roles = VENT, .type = SLUICE_TYPE_STRING, .arg = "WHEN,WHY=N",
      .zpl = "sluice/halt",
      .help = "stop early, as GNU parallel's --halt: WHEN now\n"
              "(kill running tasks) or soon (let them finish),\n"
              "WHY fail, success or done, N tasks or N%",
      .store = s_halt_store, .show = s_halt_show },
    { .name = "dry-run", .roles = VENT, .type = SLUICE_TYPE_BOOL, FIELD (dry_run),
      .needs = "exec", .help = "print each task's command line, run nothing" },
    { .name = "progress", .roles = VENT, .type = SLUICE_TYPE_BOOL, .env = "SLUICE_PROGRESS",
      .zpl = "sluice/progress", FIELD (progress),
      .help = "a status line on stderr: done/total, failed, rate,\n"
              "workers (on a terminal; see --progress-when)" },
    { .name = "bar", .roles = VENT, .type = SLUICE_TYPE_BOOL, .env = "SLUICE_BAR",
      .zpl = "sluice/bar", FIELD (bar),
      .help = "a progress bar on stderr, erased at the end" },
    { .name = "eta", .roles = VENT, .type = SLUICE_TYPE_BOOL, .env = "SLUICE_ETA",
      .zpl = "sluice/eta", FIELD (eta),
      .help = "the status line with the estimated time left" },
    { .name = "progress-when", .roles = VENT, .type = SLUICE_TYPE_ENUM, .arg = "WHEN",
      .env = "SLUICE_PROGRESS_WHEN", .zpl = "sluice/progress-when", FIELD (progress_when),
      .choices = "auto|always|never", .def = "auto",
      .help = "draw --progress/--bar/--eta: auto (stderr is a\n"
              "terminal; the default), always, never" },

    //  security, shared by all programs (security.c, docs/SECURITY.md)
    { .name = "keys", .roles = ALL, .type = SLUICE_TYPE_STRING, .arg = "DIR",
      .env = "SLUICE_KEYS", .zpl = "security/keys", FIELD (keys),
      .help = "CURVE: encrypt and authenticate every connection\n"
              "with the deployment's keys in DIR (made by\n"
              "'sluice keygen DIR')" },
    { .name = "key", .roles = ALL, .type = SLUICE_TYPE_STRING, .arg = "FILE",
      .env = "SLUICE_KEY", .zpl = "security/key", FIELD (key), .needs = "keys",
      .help = "this program's secret certificate (default:\n"
              "DIR/ROLE.cert_secret; a worker prefers\n"
              "DIR/worker-HOST.cert_secret)" },
    { .name = "allow", .roles = ALL, .type = SLUICE_TYPE_STRING, .arg = "ADDR[/BITS],...",
      .env = "SLUICE_ALLOW", .zpl = "security/allow", FIELD (allow),
      .help = "without --keys, also accept tcp peers from these\n"
              "addresses (default: only loopback and ipc)" },
    { .name = "insecure", .roles = ALL, .type = SLUICE_TYPE_BOOL,
      .env = "SLUICE_INSECURE", .zpl = "security/insecure", FIELD (insecure),
      .help = "without --keys, accept tcp peers from any address" },

    //  every program
    { .name = "max-size", .roles = ALL, .type = SLUICE_TYPE_SIZE, .arg = "SIZE",
      .zpl = "sluice/max-size", FIELD (max_size), .min = 1024, .def = "64M",
      .help = "largest message" },
    { .name = "max-control-size", .roles = VENT | SINK, .type = SLUICE_TYPE_SIZE,
      .arg = "SIZE", .zpl = "sluice/max-control-size", FIELD (max_control_size), .min = 1024,
      .def = "256K", .help = "largest message a socket takes that carries no task\n"
                           "payload in (credit, progress, acks; LOST is\ncut to it); at least 64k is used" },
    { .name = "max-peers", .roles = VENT | SINK, .type = SLUICE_TYPE_COUNT, .arg = "N",
      .zpl = "sluice/max-peers", FIELD (max_peers), .min = 1, .max = 1000000, .def = "256",
      .help = "connections one bound socket accepts, and workers\nknown, at most" },
    { .name = "verbose", .letter = 'v', .roles = ALL, .type = SLUICE_TYPE_BOOL,
      FIELD (verbose), .help = "log debug lines" },
    { .name = "quiet", .letter = 'q', .roles = ALL, .type = SLUICE_TYPE_BOOL, FIELD (quiet),
      .help = "no summary (sink: nor a line per failed task)" },
    { .name = "summary", .roles = SINK, .type = SLUICE_TYPE_BOOL, .zpl = "sluice/summary",
      FIELD (summary), .def = "1",
      .help = "log the summary at exit (default; sluice\n"
              "turns its sink's off, the ventilator's says it)" },
    { .name = "help", .roles = ALL, .type = SLUICE_TYPE_BOOL, .cli = true,
      .help = "print this help and exit" },
    { .name = "version", .roles = ALL, .type = SLUICE_TYPE_BOOL, .cli = true,
      .help = "print the version and exit" },
};

#define S_COUNT (sizeof s_table / sizeof s_table [0])

const sluice_option_t *
sluice_option_at (size_t index)
{
    return index < S_COUNT? &s_table [index]: NULL;
}

size_t
sluice_option_count (void)
{
    return S_COUNT;
}

const sluice_option_t *
sluice_option_find (const char *name)
{
    for (size_t i = 0; name && i < S_COUNT; i++)
        if (streq (s_table [i].name, name))
            return &s_table [i];
    return NULL;
}

const sluice_option_t *
sluice_option_find_zpl (const char *key)
{
    for (size_t i = 0; i < S_COUNT; i++)
        if (s_table [i].zpl && streq (s_table [i].zpl, key))
            return &s_table [i];
    return NULL;
}

bool
sluice_option_zpl_section (const char *section)
{
    size_t len = strlen (section);
    for (size_t i = 0; i < S_COUNT; i++)
        if (s_table [i].zpl && strncmp (s_table [i].zpl, section, len) == 0
        &&  s_table [i].zpl [len] == '/')
            return true;
    return false;
}

bool
sluice_option_for (const sluice_option_t *opt, sluice_role_t role)
{
    return (opt->roles & (1u << role)) != 0;
}

//  --------------------------------------------------------------------------
//  Plain fields, read and written by width

static void
s_put (sluice_config_t *config, const sluice_option_t *opt, uint64_t value)
{
    char *field = (char *) config + opt->offset;
    if (opt->width == 1) {
        bool b = value != 0;
        memcpy (field, &b, 1);
    }
    else
    if (opt->width == 4) {
        uint32_t u = (uint32_t) value;
        memcpy (field, &u, 4);
    }
    else {
        assert (opt->width == 8);
        memcpy (field, &value, 8);
    }
}

static uint64_t
s_get (const sluice_config_t *config, const sluice_option_t *opt)
{
    const char *field = (const char *) config + opt->offset;
    if (opt->width == 1) {
        bool b;
        memcpy (&b, field, 1);
        return b;
    }
    if (opt->width == 4) {
        uint32_t u;
        memcpy (&u, field, 4);
        return u;
    }
    uint64_t u;
    memcpy (&u, field, 8);
    return u;
}

//  Parse a boolean: 1/0, true/false. Returns 1, 0 or -1.
static int
s_bool (const char *value)
{
    if (streq (value, "1") || streq (value, "true"))
        return 1;
    if (streq (value, "0") || streq (value, "false"))
        return 0;
    return -1;
}

//  Index of value in "a|b|c", or -1.
static int
s_choice (const char *choices, const char *value)
{
    size_t len = strlen (value);
    int index = 0;
    for (const char *p = choices; *p; index++) {
        size_t item = strcspn (p, "|");
        if (item == len && len && strncmp (p, value, len) == 0)
            return index;
        p += item;
        if (*p == '|')
            p++;
    }
    return -1;
}

//  Parse a number of the row's type within its range; -1 if not valid.
static int64_t
s_number (const sluice_option_t *opt, const char *value)
{
    int64_t n = opt->type == SLUICE_TYPE_DURATION? sluice_parse_duration (value)
              : opt->type == SLUICE_TYPE_SIZE? sluice_parse_size (value)
              : sluice_parse_count (value);
    if (n < 0 || n < opt->min || (opt->max && n > opt->max))
        return -1;
    return n;
}

int
sluice_option_store (const sluice_option_t *opt, sluice_config_t *config, const char *value,
                     char *err, size_t errlen)
{
    assert (opt && config);
    if (!value || opt->cli) {
        snprintf (err, errlen, "invalid %s value '%s'", opt->name, value? value: "(null)");
        return -1;
    }
    if (opt->type == SLUICE_TYPE_ENDPOINT)
        return sluice_config_set_endpoint (config, opt->name, value, err, errlen);
    int rc = 0;
    if (opt->store)
        rc = opt->store (config, opt, value);
    else
    if (opt->type == SLUICE_TYPE_BOOL) {
        int b = s_bool (value);
        if (b < 0)
            rc = -1;
        else
            s_put (config, opt, (uint64_t) b);
    }
    else
    if (opt->type == SLUICE_TYPE_ENUM) {
        int index = s_choice (opt->choices, value);
        if (index < 0)
            rc = -1;
        else
            s_put (config, opt, (uint64_t) index);
    }
    else
    if (opt->type == SLUICE_TYPE_STRING) {
        if ((int64_t) strlen (value) < opt->min)
            rc = -1;
        else {
            char **field = (char **) ((char *) config + opt->offset);
            free (*field);
            *field = strdup (value);
            assert (*field);
        }
    }
    else
    if (opt->auto_ok && streq (value, "auto"))
        s_put (config, opt, SIZE_MAX);
    else {
        int64_t n = s_number (opt, value);
        if (n < 0)
            rc = -1;
        else
            s_put (config, opt, (uint64_t) n);
    }
    if (rc && streq (opt->name, "timeout") && sluice_parse_duration (value) >= 0)
        //  workers report progress every 250 ms: a shorter lease would
        //  expire between two reports of a task that runs fine
        snprintf (err, errlen, "invalid %s value '%s': shorter than 1s "
                  "(4 progress intervals of 250ms)", opt->name, value);
    else
    if (rc)
        snprintf (err, errlen, "invalid %s value '%s'", opt->name, value);
    return rc;
}

//  A duration in its shortest exact unit: "30s", "250ms", "5m".
static char *
s_show_duration (int64_t ms)
{
    if (ms && ms % 3600000 == 0)
        return zsys_sprintf ("%" PRId64 "h", ms / 3600000);
    if (ms && ms % 60000 == 0)
        return zsys_sprintf ("%" PRId64 "m", ms / 60000);
    if (ms % 1000 == 0)
        return zsys_sprintf ("%" PRId64 "s", ms / 1000);
    return zsys_sprintf ("%" PRId64 "ms", ms);
}

//  A size in its largest exact unit: "64M", "1536", "2G".
static char *
s_show_size (uint64_t bytes)
{
    static const char *units [] = { "", "k", "M", "G" };
    int unit = 0;
    while (unit < 3 && bytes && bytes % 1024 == 0) {
        bytes /= 1024;
        unit++;
    }
    return zsys_sprintf ("%" PRIu64 "%s", bytes, units [unit]);
}

char *
sluice_option_show (const sluice_option_t *opt, const sluice_config_t *config)
{
    assert (opt && config);
    if (opt->cli)
        return strdup ("");
    if (opt->show)
        return opt->show (config, opt);
    if (opt->type == SLUICE_TYPE_ENDPOINT || opt->type == SLUICE_TYPE_STRING) {
        const char *text = *(char * const *) ((const char *) config + opt->offset);
        return strdup (text? text: "");
    }
    uint64_t value = s_get (config, opt);
    if (opt->type == SLUICE_TYPE_BOOL)
        return strdup (value? "1": "0");
    if (opt->type == SLUICE_TYPE_ENUM) {
        const char *p = opt->choices;
        for (uint64_t i = 0; i < value && *p; i++)
            p += strcspn (p, "|") + (p [strcspn (p, "|")] == '|');
        return zsys_sprintf ("%.*s", (int) strcspn (p, "|"), p);
    }
    if (opt->type == SLUICE_TYPE_DURATION && value == 0 && opt->min > 0)
        return strdup ("");             //  unset (--task-timeout: none)
    if (opt->type == SLUICE_TYPE_DURATION)
        return s_show_duration ((int64_t) value);
    if (opt->type == SLUICE_TYPE_SIZE)
        return s_show_size (value);
    if (opt->auto_ok && value == SIZE_MAX)
        return strdup ("auto");
    return zsys_sprintf ("%" PRIu64, value);
}

//  --------------------------------------------------------------------------
//  Rows that set more than one field

//  --echo (1/0), --exec CMD, --coproc CMD: the worker's mode and command.
//  Turning --echo off leaves no mode.
static int
s_mode_store (sluice_config_t *config, const sluice_option_t *opt, const char *value)
{
    if (opt->type == SLUICE_TYPE_BOOL) {
        int on = s_bool (value);
        if (on < 0)
            return -1;
        if (on || config->mode == (sluice_mode_t) opt->choice) {
            config->mode = on? (sluice_mode_t) opt->choice: SLUICE_MODE_NONE;
            free (config->command);
            config->command = NULL;
        }
        return 0;
    }
    if ((int64_t) strlen (value) < opt->min)
        return -1;
    char *command = strdup (value);
    assert (command);
    free (config->command);
    config->command = command;
    config->mode = (sluice_mode_t) opt->choice;
    return 0;
}

static char *
s_mode_show (const sluice_config_t *config, const sluice_option_t *opt)
{
    bool on = config->mode == (sluice_mode_t) opt->choice;
    if (opt->type == SLUICE_TYPE_BOOL)
        return strdup (on? "1": "0");
    return strdup (on && config->command? config->command: "");
}

//  --termseq SEQ: checked as it is stored, kept as text.
static int
s_termseq_store (sluice_config_t *config, const sluice_option_t *opt, const char *value)
{
    (void) opt;
    sluice_termseq_t seq;
    if (sluice_termseq_parse (value, &seq))
        return -1;
    char *copy = strdup (value);
    assert (copy);
    free (config->termseq);
    config->termseq = copy;
    return 0;
}

static char *
s_termseq_show (const sluice_config_t *config, const sluice_option_t *opt)
{
    (void) opt;
    return strdup (config->termseq? config->termseq: "");
}

//  -0/--null, --msgpack (1/0): the input record format. Turning one off
//  returns to lines.
static int
s_input_store (sluice_config_t *config, const sluice_option_t *opt, const char *value)
{
    int on = s_bool (value);
    if (on < 0)
        return -1;
    if (on)
        config->input = (sluice_input_t) opt->choice;
    else
    if (config->input == (sluice_input_t) opt->choice)
        config->input = SLUICE_INPUT_LINES;
    return 0;
}

static char *
s_input_show (const sluice_config_t *config, const sluice_option_t *opt)
{
    return strdup (config->input == (sluice_input_t) opt->choice? "1": "0");
}

//  --halt WHEN,WHY=N[%]: checked as it is stored (halt.c), kept as text.
static int
s_halt_store (sluice_config_t *config, const sluice_option_t *opt, const char *value)
{
    (void) opt;
    sluice_halt_t halt;
    if (sluice_halt_parse (value, &halt))
        return -1;
    char *copy = strdup (value);
    assert (copy);
    free (config->halt);
    config->halt = copy;
    return 0;
}

static char *
s_halt_show (const sluice_config_t *config, const sluice_option_t *opt)
{
    (void) opt;
    return strdup (config->halt? config->halt: "");
}

//  --retry-failed, --resume-failed (1/0): which tasks of the earlier run
//  run again. Turning one off leaves neither.
static int
s_rerun_store (sluice_config_t *config, const sluice_option_t *opt, const char *value)
{
    int on = s_bool (value);
    if (on < 0)
        return -1;
    if (on)
        config->rerun = (unsigned) opt->choice;
    else
    if (config->rerun == (unsigned) opt->choice)
        config->rerun = SLUICE_RERUN_NONE;
    return 0;
}

static char *
s_rerun_show (const sluice_config_t *config, const sluice_option_t *opt)
{
    return strdup (config->rerun == (unsigned) opt->choice? "1": "0");
}

//  --task-timeout DUR, or N% of the median runtime (1..1000000 percent).
static int
s_task_timeout_store (sluice_config_t *config, const sluice_option_t *opt, const char *value)
{
    size_t digits = strspn (value, "0123456789");
    if (digits && digits < 8 && value [digits] == '%' && !value [digits + 1]) {
        unsigned pct = (unsigned) strtoul (value, NULL, 10);
        if (pct == 0)
            return -1;
        config->task_timeout_pct = pct;
        config->task_timeout_ms = 0;
        return 0;
    }
    int64_t ms = sluice_parse_duration (value);
    if (ms < opt->min)
        return -1;
    config->task_timeout_ms = ms;
    config->task_timeout_pct = 0;
    return 0;
}

//  -j 0, GNU parallel's "as many as possible": as many commands as the
//  open-file limit leaves descriptors for (each running command holds up
//  to 4: its stdin, stdout and stderr pipes and a pidfd; 64 kept for the
//  worker's own sockets), at least 1, at most opt->max.
static long
s_jobs_possible (const sluice_option_t *opt)
{
    struct rlimit limit;
    long fds = getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
             ? (long) limit.rlim_cur: opt->max * 4 + 64;
    long jobs = (fds - 64) / 4;
    return jobs < 1? 1: jobs > opt->max? opt->max: jobs;
}

//  -j: N, or as GNU parallel reads it, +N (cores + N), -N (cores - N) or
//  N% (of the cores), each at least 1, or 0: as many as possible.
static int
s_jobs_store (sluice_config_t *config, const sluice_option_t *opt, const char *value)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    if (cores < 1)
        cores = 1;
    char sign = *value == '+' || *value == '-'? *value: 0;
    const char *digits = value + (sign != 0);
    size_t count = strspn (digits, "0123456789");
    bool percent = !sign && count && digits [count] == '%';
    if (count == 0 || count > 9 || digits [count + percent] != 0)
        return -1;
    long n = strtol (digits, NULL, 10), jobs = n;
    if (!sign && !percent && n == 0)
        jobs = s_jobs_possible (opt);
    else
    if (sign == '+')
        jobs = cores + n;
    else
    if (sign == '-')
        jobs = cores - n < 1? 1: cores - n;
    else
    if (percent) {
        if (n == 0)
            return -1;
        jobs = cores * n / 100 < 1? 1: cores * n / 100;
    }
    if (jobs < opt->min || jobs > opt->max)
        return -1;
    config->jobs = (unsigned) jobs;
    return 0;
}

static char *
s_task_timeout_show (const sluice_config_t *config, const sluice_option_t *opt)
{
    (void) opt;
    if (config->task_timeout_pct)
        return zsys_sprintf ("%u%%", config->task_timeout_pct);
    if (!config->task_timeout_ms)
        return strdup ("");             //  unset: none
    return s_show_duration (config->task_timeout_ms);
}
