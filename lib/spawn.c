/*  =========================================================================
    spawn.c - child processes for --exec and --coproc (see spawn.h)

    Commands run in their own process group, so a timeout or a stop kills
    the whole pipeline a shell command started, not just the shell; they
    get default signal handling, since ours (SIGPIPE ignored, SIGTERM
    caught) must not leak into them.
    =========================================================================
*/

#include "private.h"
#include "spawn.h"

#include <ctype.h>
#include <dirent.h>

#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <spawn.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

//  True if GNU parallel leaves a byte unquoted: - _ . + / and alphanumerics
static bool
s_quote_safe (uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c && strchr ("-_.+/", c));
}

void
sluice_spawn_quote (zchunk_t *buf, const uint8_t *data, size_t size)
{
    //  GNU parallel's shell_quote_scalar_default, byte for byte: a word of
    //  safe bytes as it is, '' for none, else in single quotes, each ' as
    //  '"'"', and the '' that leaves at either end dropped
    bool safe = size > 0;
    for (size_t i = 0; safe && i < size; i++)
        safe = s_quote_safe (data [i]);
    if (safe) {
        zchunk_extend (buf, data, size);
        return;
    }
    if (!size) {
        zchunk_extend (buf, "''", 2);
        return;
    }
    //  a ' is '"'"': close, "'", reopen; at either end the '' it leaves goes
    if (data [0] != '\'')
        zchunk_extend (buf, "'", 1);
    for (size_t i = 0; i < size; i++) {
        if (data [i] != '\'') {
            zchunk_extend (buf, data + i, 1);
            continue;
        }
        if (i > 0)
            zchunk_extend (buf, "'", 1);
        zchunk_extend (buf, "\"'\"", 3);
        if (i + 1 < size)
            zchunk_extend (buf, "'", 1);
    }
    if (data [size - 1] != '\'')
        zchunk_extend (buf, "'", 1);
}

char *
sluice_spawn_command (const char *command, const char *colsep, const uint8_t *data,
                      size_t size)
{
    char err [256];
    sluice_template_t *template = sluice_template_new (command, colsep, err, sizeof err);
    if (!template)
        return NULL;
    //  an empty payload may be NULL
    sluice_values_t values = { .data = data? data: (const uint8_t *) "", .size = size,
                               .id = 1, .slot = 1 };
    char *result = sluice_template_shell (template, &values);
    sluice_template_destroy (&template);
    return result;
}

//  Spawn attributes: own process group, default dispositions, no mask.
static void
s_spawnattr (posix_spawnattr_t *attr)
{
    posix_spawnattr_init (attr);
    sigset_t defaults;
    sigemptyset (&defaults);
    sigaddset (&defaults, SIGPIPE);
    sigaddset (&defaults, SIGINT);
    sigaddset (&defaults, SIGTERM);
    posix_spawnattr_setsigdefault (attr, &defaults);
    sigset_t none;
    sigemptyset (&none);
    posix_spawnattr_setsigmask (attr, &none);
    posix_spawnattr_setpgroup (attr, 0);
    posix_spawnattr_setflags (attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF
                                    | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_USEVFORK);
}

//  Close both ends of a pipe that were opened (-1 entries are skipped).
static void
s_close_pair (int fds [2])
{
    for (int i = 0; i < 2; i++)
        if (fds [i] >= 0)
            close (fds [i]);
}

//  Create the stdout pipe and, if asked, the stdin pipe. Returns 0 or -1.
static int
s_pipes (int out [2], int in [2], bool with_stdin)
{
    in [0] = in [1] = -1;
    if (pipe2 (out, O_CLOEXEC))
        return -1;
    if (with_stdin && pipe2 (in, O_CLOEXEC)) {
        int saved = errno;
        s_close_pair (out);
        errno = saved;
        return -1;
    }
    return 0;
}

//  posix_spawn argv with stdout on out_fd, stdin on in_fd (or /dev/null
//  when in_fd is -1), stderr on err_fd (inherited when -1) and envp as its
//  environment (ours when NULL). Returns 0 or an errno value.
static int
s_posix_spawn (pid_t *pid, const char *path, char *const argv [], char *const envp [],
               int out_fd, int in_fd, int err_fd)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, out_fd, STDOUT_FILENO);
    if (err_fd >= 0)
        posix_spawn_file_actions_adddup2 (&actions, err_fd, STDERR_FILENO);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2 (&actions, in_fd, STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    s_spawnattr (&attr);
    int rc = posix_spawn (pid, path, &actions, &attr, argv, envp? envp: environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    return rc;
}

int
sluice_spawn_start (sluice_child_t *child, char *const argv [], int pipes)
{
    return sluice_spawn_exec_env (child, argv [0], argv, NULL, pipes);
}

int
sluice_spawn_exec (sluice_child_t *child, const char *path, char *const argv [],
                   int pipes)
{
    return sluice_spawn_exec_env (child, path, argv, NULL, pipes);
}

int
sluice_spawn_exec_env (sluice_child_t *child, const char *path, char *const argv [],
                       char *const envp [], int pipes)
{
    bool with_stdin = pipes & SLUICE_SPAWN_STDIN;
    *child = (sluice_child_t) { .pid = 0, .in_fd = -1, .out_fd = -1, .err_fd = -1,
                                .error = 0, .pid_fd = -1 };
    //  posix_spawn reports a failed exec only where it uses vfork (not
    //  under valgrind, say): check first, so a missing command always fails.
    //  The last path found executable is not checked again (a syscall a
    //  command): it was there, and where it has gone since, the vfork
    //  posix_spawn says so itself
    static _Thread_local char checked [256];
    if (strcmp (path, checked)) {
        if (access (path, X_OK)) {
            child->error = errno;
            return -1;
        }
        if (strlen (path) < sizeof checked)
            strcpy (checked, path);
    }
    int out [2], in [2], err [2] = { -1, -1 };
    if (s_pipes (out, in, with_stdin)) {
        child->error = errno;
        return -1;
    }
    if ((pipes & SLUICE_SPAWN_STDERR) && pipe2 (err, O_CLOEXEC)) {
        child->error = errno;
        s_close_pair (out);
        s_close_pair (in);
        return -1;
    }
    int rc = s_posix_spawn (&child->pid, path, argv, envp, out [1], with_stdin? in [0]: -1,
                            err [1]);
    close (out [1]);
    if (in [0] >= 0)
        close (in [0]);
    if (err [1] >= 0)
        close (err [1]);
    if (rc) {
        close (out [0]);
        if (in [1] >= 0)
            close (in [1]);
        if (err [0] >= 0)
            close (err [0]);
        child->pid = 0;
        child->error = errno = rc;
        return -1;
    }
    fcntl (out [0], F_SETFL, O_NONBLOCK);
    if (in [1] >= 0)
        fcntl (in [1], F_SETFL, O_NONBLOCK);
    if (err [0] >= 0)
        fcntl (err [0], F_SETFL, O_NONBLOCK);
    child->out_fd = out [0];
    child->in_fd = in [1];
    child->err_fd = err [0];
    //  a command closes its stdout a moment before it can be reaped: the
    //  pidfd tells the runner when, so it never polls for the exit
    //  (pidfd_open sets close-on-exec itself)
    child->pid_fd = pidfd_open (child->pid, 0);
    return 0;
}

int
sluice_spawn_shell (sluice_child_t *child, const char *command, int pipes)
{
    return sluice_spawn_shell_env (child, command, NULL, pipes);
}

int
sluice_spawn_shell_env (sluice_child_t *child, const char *command, char *const envp [],
                        int pipes)
{
    char *argv [] = { (char *) "/bin/sh", (char *) "-c", (char *) command, NULL };
    return sluice_spawn_exec_env (child, argv [0], argv, envp, pipes);
}

char **
sluice_spawn_environ (char *const vars [])
{
    size_t nvars = 0, nenv = 0;
    while (vars [nvars])
        nvars++;
    while (environ [nenv])
        nenv++;
    char **envp = (char **) malloc ((nvars + nenv + 1) * sizeof (char *));
    assert (envp);
    size_t count = 0;
    for (size_t i = 0; i < nvars; i++)
        envp [count++] = vars [i];
    for (size_t i = 0; i < nenv; i++) {
        bool replaced = false;
        for (size_t j = 0; j < nvars && !replaced; j++) {
            size_t name = strcspn (vars [j], "=") + 1;
            replaced = strncmp (environ [i], vars [j], name) == 0;
        }
        if (!replaced)
            envp [count++] = environ [i];
    }
    envp [count] = NULL;
    return envp;
}

void
sluice_spawn_kill (const sluice_child_t *child, int signal)
{
    if (child->pid > 0)
        kill (-child->pid, signal);
}

int64_t
sluice_spawn_group_step (pid_t group, const sluice_termseq_t *seq, sluice_termstop_t *stop,
                         int64_t *kill_at, int64_t now, bool *killed)
{
    if (killed)
        *killed = false;
    int signal = sluice_termseq_step (seq, stop, now);
    if (signal)
        kill (-group, signal);
    int64_t wait = sluice_termseq_wait (seq, stop, now);
    if (wait >= 0)
        return wait;
    //  every signal sent, and the group lives on: some member ignored them
    if (!*kill_at)
        *kill_at = stop->due_ms > now + 10? stop->due_ms: now + 1000;
    if (now < *kill_at)
        return *kill_at - now;
    kill (-group, SIGKILL);
    if (killed)
        *killed = true;
    return 0;
}

//  True while a process group has a live member. A member that has exited
//  is a zombie until its parent reaps it, and a stopped command's orphans are
//  init's, which may take seconds (2 s measured on a small VM's init): a
//  zombie does not count, so /proc is read when kill(2) finds the group.
bool
sluice_spawn_group_alive (pid_t group)
{
    if (kill (-group, 0) < 0 && errno == ESRCH)
        return false;
    DIR *proc = opendir ("/proc");
    if (!proc)
        return true;
    bool alive = false;
    struct dirent *entry;
    while (!alive && (entry = readdir (proc))) {
        if (entry->d_name [0] < '1' || entry->d_name [0] > '9')
            continue;
        char path [300], line [512];
        snprintf (path, sizeof path, "/proc/%s/stat", entry->d_name);
        FILE *file = fopen (path, "r");
        if (!file)
            continue;
        size_t size = fread (line, 1, sizeof line - 1, file);
        fclose (file);
        line [size] = 0;
        //  "pid (comm) state ppid pgrp ...": comm may hold anything
        char *end = strrchr (line, ')');
        char state;
        int ppid, pgrp;
        if (end && sscanf (end + 1, " %c %d %d", &state, &ppid, &pgrp) == 3)
            alive = pgrp == group && state != 'Z' && state != 'X';
    }
    closedir (proc);
    return alive;
}

void
sluice_spawn_close_input (sluice_child_t *child)
{
    if (child->in_fd >= 0) {
        close (child->in_fd);
        child->in_fd = -1;
    }
}

void
sluice_spawn_status (int wstatus, int *status, int *code)
{
    if (WIFSIGNALED (wstatus)) {
        *status = SLUICE_STATUS_SIGNAL;
        *code = WTERMSIG (wstatus);
    }
    else {
        *code = WEXITSTATUS (wstatus);
        *status = *code? SLUICE_STATUS_EXIT: SLUICE_STATUS_OK;
    }
}

//  Close the child's pipes (and its pidfd).
static void
s_close_pipes (sluice_child_t *child)
{
    sluice_spawn_close_input (child);
    if (child->pid_fd >= 0) {
        close (child->pid_fd);
        child->pid_fd = -1;
    }
    if (child->out_fd >= 0) {
        close (child->out_fd);
        child->out_fd = -1;
    }
    if (child->err_fd >= 0) {
        close (child->err_fd);
        child->err_fd = -1;
    }
}

int
sluice_spawn_reap (sluice_child_t *child, bool block, int *status, int *code)
{
    int wstatus = 0;
    pid_t rc = child->pid > 0? waitpid (child->pid, &wstatus, block? 0: WNOHANG): -1;
    if (rc == 0)
        return 0;
    if (rc < 0) {
        *status = SLUICE_STATUS_ERROR;      //  never started, or not ours
        *code = 127;
    }
    else
        sluice_spawn_status (wstatus, status, code);
    child->pid = 0;
    s_close_pipes (child);
    return 1;
}

void
sluice_spawn_stop (sluice_child_t *child, int wait_ms)
{
    int status, code;
    s_close_pipes (child);
    if (child->pid <= 0)
        return;
    sluice_spawn_kill (child, SIGTERM);
    int64_t deadline = sluice_now_ms () + wait_ms;
    while (!sluice_spawn_reap (child, false, &status, &code)) {
        if (sluice_now_ms () >= deadline) {
            sluice_spawn_kill (child, SIGKILL);
            sluice_spawn_reap (child, true, &status, &code);
            return;
        }
        poll (NULL, 0, 5);
    }
}

int
sluice_spawn_read (int fd, sluice_spawn_buf_t *buf, size_t limit, bool *overflow)
{
    while (true) {
        if (buf->capacity - buf->size < 65536) {
            buf->capacity = buf->capacity? buf->capacity * 2: 131072;
            buf->data = (uint8_t *) realloc (buf->data, buf->capacity);
            assert (buf->data);
        }
        ssize_t n = read (fd, buf->data + buf->size, buf->capacity - buf->size);
        if (n > 0) {
            if (buf->size + (size_t) n > limit)
                *overflow = true;       //  keep reading so the command can finish
            else
                buf->size += (size_t) n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        return 1;
    }
}

int
sluice_spawn_read_bounded (int fd, sluice_spawn_buf_t *buf, size_t limit, uint64_t *dropped)
{
    uint8_t chunk [16384];
    while (true) {
        ssize_t n = read (fd, chunk, sizeof chunk);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (n <= 0)
            return 1;
        size_t keep = buf->size < limit? limit - buf->size: 0;
        if (keep > (size_t) n)
            keep = (size_t) n;
        if (keep && buf->capacity - buf->size < keep) {
            buf->capacity = buf->size + keep > 2 * buf->capacity? buf->size + keep
                          : 2 * buf->capacity;
            buf->data = (uint8_t *) realloc (buf->data, buf->capacity);
            assert (buf->data);
        }
        if (keep)
            memcpy (buf->data + buf->size, chunk, keep);
        buf->size += keep;
        *dropped += (uint64_t) n - keep;
    }
}

//  --------------------------------------------------------------------------
//  Replacement strings, as GNU parallel reads them

enum { S_RS_ARG, S_RS_SEQ, S_RS_SLOT };                 //  what a string stands for
enum { S_EDIT_NONE, S_EDIT_DOT, S_EDIT_BASE, S_EDIT_DIR, S_EDIT_BASEDOT };

//  One replacement string found in a command.
typedef struct {
    int kind;                   //  S_RS_ARG: the task or a column; {#}; {%}
    long column;                //  0 the task (every column), N the Nth, -N the Nth last
    int edit;                   //  S_EDIT_*: {.} {/} {//} {/.} and their {N.} forms
    size_t length;              //  bytes, braces included
} s_rs_t;

struct _sluice_template_t {
    char *command;              //  as given
    bool any;                   //  holds a replacement string; else the task is appended
    bool raw;                   //  its first word holds one: values unquoted (parallel)
    bool columns;               //  --colsep given, or args
    bool args;                  //  the task is NUL-separated arguments (sluice_colsep_args)
    bool spread;                //  with --colsep, holds {} {.} ...: several words
    regex_t colsep;             //  compiled --colsep, when columns
};

//  A task's columns under --colsep: [start, end) of each, untrimmed.
typedef struct {
    const sluice_values_t *values;
    size_t count;
    size_t *start, *end;
} s_cols_t;

//  Bytes a candidate string may hold between its braces: GNU parallel's
//  own replacement strings are made of these ({1/.}, {#}, {=...=}, {+/}).
static bool
s_rs_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c && strchr ("_.#%/+=-", c));
}

//  Read the replacement string at p (a '{'). Returns 1 with *rs filled
//  for a known one, -1 for a candidate sluice does not know (rs->length
//  covers it), 0 for braces that are no replacement string at all.
static int
s_rs_parse (const char *p, s_rs_t *rs)
{
    *rs = (s_rs_t) { .kind = S_RS_ARG, .column = 0, .edit = S_EDIT_NONE, .length = 0 };
    if (p [0] != '{')
        return 0;
    const char *close = p + 1;
    while (s_rs_char (*close))
        close++;
    if (*close != '}') {
        const char *perl = p [1] == '='? strstr (p, "=}"): NULL;
        if (!perl)
            return 0;
        rs->length = (size_t) (perl + 2 - p);   //  {= perl expression =}
        return -1;
    }
    rs->length = (size_t) (close + 1 - p);
    const char *inner = p + 1;
    size_t size = (size_t) (close - inner);
    if (size == 1 && (*inner == '#' || *inner == '%')) {
        rs->kind = *inner == '#'? S_RS_SEQ: S_RS_SLOT;
        return 1;
    }
    const char *edit = inner;
    bool negative = *edit == '-';
    if (negative)
        edit++;
    while (edit < close && *edit >= '0' && *edit <= '9')
        rs->column = rs->column * 10 + (*edit++ - '0');
    bool digits = edit > inner + negative;
    if ((negative && !digits) || (digits && (rs->column == 0 || rs->column > 1000000)))
        return -1;
    if (negative)
        rs->column = -rs->column;
    static const char *edits [] = { "", ".", "/", "//", "/." };
    size_t rest = (size_t) (close - edit);
    for (int i = 0; i < 5; i++)
        if (strlen (edits [i]) == rest && strncmp (edit, edits [i], rest) == 0) {
            rs->edit = i;
            return 1;
        }
    return -1;
}

//  Walks a command as /bin/sh reads its quotes, far enough to tell where
//  a brace is: inside single quotes, or right after a $.
typedef struct {
    bool single;                //  inside '...'
    bool twice;                 //  inside "..."
} s_quotes_t;

//  Step over the byte at p (not a replacement string); returns the bytes taken.
static size_t
s_quotes_step (s_quotes_t *q, const char *p)
{
    if (q->single) {
        q->single = *p != '\'';
        return 1;
    }
    if (*p == '\\' && p [1])
        return 2;
    if (*p == '"')
        q->twice = !q->twice;
    else
    if (*p == '\'' && !q->twice)
        q->single = true;
    return 1;
}

//  The replacement string at p of command, or 0: none after a $ (${HOME},
//  ${#}, ${1} stay the shell's). An unknown one outside single quotes is
//  -1 (awk '{print}' keeps its braces).
static int
s_rs_at (const char *command, const char *p, const s_quotes_t *q, s_rs_t *rs)
{
    if (*p != '{' || (p > command && p [-1] == '$'))
        return 0;
    int rc = s_rs_parse (p, rs);
    return rc < 0 && q->single? 0: rc;
}

//  Perl's POSIX-ERE-compatible escapes for --colsep: \t \n \r \d \D,
//  also inside [...] (regcomp has \s \S \w \W itself). Returns a string
//  the caller frees.
static char *
s_colsep_pattern (const char *colsep)
{
    zchunk_t *buf = zchunk_new (NULL, strlen (colsep) * 6 + 1);
    bool bracket = false;
    for (const char *p = colsep; *p; p++) {
        if (*p == '\\' && p [1] && strchr ("tnrdD", p [1])) {
            char c = *++p;
            const char *text = c == 't'? "\t": c == 'n'? "\n": c == 'r'? "\r"
                             : bracket? (c == 'd'? "0-9": "\\D")
                             : c == 'd'? "[0-9]": "[^0-9]";
            zchunk_extend (buf, text, strlen (text));
            continue;
        }
        if (*p == '\\' && p [1] && !bracket) {
            zchunk_extend (buf, p++, 2);
            continue;
        }
        if (!bracket && *p == '[') {
            bracket = true;
            zchunk_extend (buf, p, 1);
            if (p [1] == '^')
                zchunk_extend (buf, ++p, 1);
            if (p [1] == ']')
                zchunk_extend (buf, ++p, 1);
            continue;
        }
        if (bracket && *p == ']')
            bracket = false;
        zchunk_extend (buf, p, 1);
    }
    zchunk_extend (buf, "", 1);
    char *pattern = strdup ((const char *) zchunk_data (buf));
    zchunk_destroy (&buf);
    return pattern;
}

const char sluice_colsep_args [] = "(the task's arguments)";

const char *
sluice_spawn_colsep (const sluice_config_t *config)
{
    return config->args? sluice_colsep_args: config->colsep;
}

sluice_template_t *
sluice_template_new (const char *command, const char *colsep, char *err, size_t errlen)
{
    sluice_template_t *self = (sluice_template_t *) calloc (1, sizeof *self);
    assert (self);
    self->command = strdup (command);
    assert (self->command);
    if (colsep == sluice_colsep_args)
        self->columns = self->args = true;
    else
    if (colsep && *colsep) {
        char *pattern = s_colsep_pattern (colsep);
        int rc = regcomp (&self->colsep, pattern, REG_EXTENDED);
        free (pattern);
        if (rc) {
            char why [128];
            regerror (rc, &self->colsep, why, sizeof why);
            snprintf (err, errlen, "invalid --colsep value '%s': %s", colsep, why);
            free (self->command);
            free (self);
            return NULL;
        }
        self->columns = true;
    }
    s_quotes_t q = { false, false };
    bool first_word = true;         //  still in the command's first word
    for (const char *p = command; *p; ) {
        s_rs_t rs;
        int rc = s_rs_at (command, p, &q, &rs);
        if (rc < 0 || (rc > 0 && !self->columns && rs.column != 0 && labs (rs.column) != 1)) {
            snprintf (err, errlen, rc < 0? "unknown replacement string '%.*s'"
                      : "replacement string '%.*s' needs --colsep", (int) rs.length, p);
            sluice_template_destroy (&self);
            return NULL;
        }
        if (rc > 0) {
            self->any = true;
            self->raw |= first_word;
            self->spread |= self->columns && rs.kind == S_RS_ARG && rs.column == 0;
            p += rs.length;
            continue;
        }
        first_word &= !strchr (" \t\n=", *p);
        p += s_quotes_step (&q, p);
    }
    //  parallel appends {}: with --colsep, every column as a word
    self->spread |= !self->any && self->columns;
    return self;
}

int
sluice_spawn_check (const char *command, const sluice_config_t *config, char *err,
                    size_t errlen)
{
    sluice_template_t *template = sluice_template_new (command, sluice_spawn_colsep (config),
                                                       err, errlen);
    int rc = template? 0: -1;
    sluice_template_destroy (&template);
    return rc;
}

void
sluice_template_destroy (sluice_template_t **self_p)
{
    assert (self_p);
    sluice_template_t *self = *self_p;
    if (!self)
        return;
    if (self->columns && !self->args)
        regfree (&self->colsep);
    free (self->command);
    free (self);
    *self_p = NULL;
}

bool
sluice_template_any (const sluice_template_t *self)
{
    return self->any;
}

//  Split the task at --colsep as Perl's split (LIMIT -1) does: every field
//  kept, trailing empty ones too; an empty match splits between bytes.
static void
s_cols_split (const sluice_template_t *self, s_cols_t *cols)
{
    size_t size = cols->values->size, capacity = 8;
    if (self->args) {
        //  one argument per NUL-separated field, as it is
        const uint8_t *data = cols->values->data;
        size_t fields = 1;
        for (size_t i = 0; i < size; i++)
            fields += data [i] == 0;
        cols->start = (size_t *) malloc (fields * sizeof (size_t));
        cols->end = (size_t *) malloc (fields * sizeof (size_t));
        assert (cols->start && cols->end);
        cols->count = 0;
        size_t from = 0;
        for (size_t i = 0; i <= size; i++)
            if (i == size || data [i] == 0) {
                cols->start [cols->count] = from;
                cols->end [cols->count++] = i;
                from = i + 1;
            }
        return;
    }
    //  regexec reads up to a NUL whatever REG_STARTEND says (glibc's does
    //  not, ASan's interceptor does): give it a terminated copy
    char *data = (char *) malloc (size + 1);
    assert (data);
    memcpy (data, cols->values->data, size);
    data [size] = 0;
    cols->count = 0;
    cols->start = (size_t *) malloc (capacity * sizeof (size_t));
    cols->end = (size_t *) malloc (capacity * sizeof (size_t));
    assert (cols->start && cols->end);
    size_t field = 0, from = 0;
    while (self->columns && from <= size) {
        regmatch_t match [1] = { { .rm_so = (regoff_t) from, .rm_eo = (regoff_t) size } };
        if (regexec (&self->colsep, data, 1, match,
                     REG_STARTEND | (from? REG_NOTBOL: 0)))
            break;
        size_t so = (size_t) match [0].rm_so, eo = (size_t) match [0].rm_eo;
        if (so == eo && (so == field || so >= size)) {
            from = so + 1;          //  no empty field from an empty match
            if (so >= size)
                break;
            continue;
        }
        if (cols->count + 2 > capacity) {
            capacity *= 2;
            cols->start = (size_t *) realloc (cols->start, capacity * sizeof (size_t));
            cols->end = (size_t *) realloc (cols->end, capacity * sizeof (size_t));
            assert (cols->start && cols->end);
        }
        cols->start [cols->count] = field;
        cols->end [cols->count++] = so;
        field = from = eo;
    }
    cols->start [cols->count] = field;
    cols->end [cols->count++] = size;
    free (data);
}

//  True if rs names a column the task does not have.
static bool
s_cols_absent (const sluice_template_t *self, s_cols_t *cols, const s_rs_t *rs)
{
    if (rs->kind != S_RS_ARG || rs->column == 0)
        return false;
    if (!cols->start)
        s_cols_split (self, cols);
    long index = rs->column > 0? rs->column - 1: (long) cols->count + rs->column;
    return index < 0 || (size_t) index >= cols->count;
}

//  Perl's \s, which --colsep's implied --trim rl takes off each column.
static bool
s_space (uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

//  File::Basename's dirname on Unix, which {//} is: all before the last
//  '/', trailing slashes dropped (one kept); "." for none; a path ending
//  in '/' is the dirname of itself without the slash.
static void
s_dirname (zchunk_t *value, const uint8_t *data, size_t size)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t slash = size;
        while (slash > 0 && data [slash - 1] != '/')
            slash--;
        bool basename = slash < size;
        if (slash == 0) {
            data = (const uint8_t *) "./";
            slash = 2;
        }
        size = slash;
        while (size > 1 && data [size - 1] == '/')
            size--;
        if (basename)
            break;
    }
    zchunk_extend (value, data, size);
}

//  The value of one replacement string's edit applied to data, into
//  value: parallel's perl s:.*/:: ({/}; '.' stops at a newline, so it
//  cuts up to the last '/' of the first line that has one) and
//  s:\.[^/.]*$:: ({.}: from the last '.' when no '/' follows it).
static void
s_edit (zchunk_t *value, int edit, const uint8_t *data, size_t size)
{
    zchunk_set (value, NULL, 0);
    if (edit == S_EDIT_DIR) {
        s_dirname (value, data, size);
        return;
    }
    size_t line = 0, cut = 0;       //  [line, cut) is dropped
    if (edit == S_EDIT_BASE || edit == S_EDIT_BASEDOT)
        for (size_t i = 0; i < size; i++) {
            if (data [i] == '\n' && cut)
                break;
            if (data [i] == '\n')
                line = i + 1;
            else
            if (data [i] == '/')
                cut = i + 1;
        }
    if (!cut)
        line = 0;
    zchunk_extend (value, data, line);
    zchunk_extend (value, data + cut, size - cut);
    if (edit == S_EDIT_DOT || edit == S_EDIT_BASEDOT) {
        const uint8_t *text = zchunk_data (value);
        size_t length = zchunk_size (value);
        for (size_t i = length; i-- > 0; ) {
            if (text [i] == '/')
                break;
            if (text [i] == '.') {
                zchunk_set (value, NULL, i);
                break;
            }
        }
    }
}

//  Append one argument's value (data, edited, quoted unless raw) to out.
static void
s_append_value (zchunk_t *out, zchunk_t *value, const s_rs_t *rs, const uint8_t *data,
                size_t size, bool trim, bool quote)
{
    while (trim && size && s_space (data [0])) {
        data++;
        size--;
    }
    while (trim && size && s_space (data [size - 1]))
        size--;
    s_edit (value, rs->edit, data, size);
    if (quote)
        sluice_spawn_quote (out, zchunk_data (value), zchunk_size (value));
    else
        zchunk_extend (out, zchunk_data (value), zchunk_size (value));
}

//  Append the value of a replacement string for a task to out.
static void
s_append_rs (const sluice_template_t *self, zchunk_t *out, const s_rs_t *rs,
             s_cols_t *cols, bool quote)
{
    const sluice_values_t *v = cols->values;
    if (rs->kind != S_RS_ARG) {
        char number [32];
        snprintf (number, sizeof number, "%" PRIu64, rs->kind == S_RS_SEQ? v->id
                  : (uint64_t) v->slot);
        zchunk_extend (out, number, strlen (number));
        return;
    }
    zchunk_t *value = zchunk_new (NULL, v->size + 16);
    if (!self->columns)
        s_append_value (out, value, rs, v->data, v->size, false, quote);
    else {
        if (!cols->start)
            s_cols_split (self, cols);
        for (size_t i = 0; rs->column == 0 && i < cols->count; i++) {
            if (i)
                zchunk_extend (out, " ", 1);
            s_append_value (out, value, rs, v->data + cols->start [i],
                            cols->end [i] - cols->start [i], !self->args, quote);
        }
        //  a column the line does not have is nothing, not even '' (parallel)
        long index = rs->column > 0? rs->column - 1: (long) cols->count + rs->column;
        if (rs->column && index >= 0 && (size_t) index < cols->count)
            s_append_value (out, value, rs, v->data + cols->start [index],
                            cols->end [index] - cols->start [index], !self->args, quote);
    }
    zchunk_destroy (&value);
}

//  Append text (length bytes of the command) with its replacement strings
//  replaced to out. Returns out.
static zchunk_t *
s_expand (const sluice_template_t *self, zchunk_t *out, const char *text, size_t length,
          s_cols_t *cols, bool quote)
{
    s_quotes_t q = { false, false };
    const char *end = text + length;
    for (const char *p = text; p < end; ) {
        s_rs_t rs;
        if (s_rs_at (text, p, &q, &rs) > 0 && p + rs.length <= end) {
            s_append_rs (self, out, &rs, cols, quote);
            p += rs.length;
            continue;
        }
        size_t step = s_quotes_step (&q, p);
        zchunk_extend (out, p, step);
        p += step;
    }
    return out;
}

char *
sluice_template_shell (const sluice_template_t *self, const sluice_values_t *values)
{
    if (!self->args && memchr (values->data, 0, values->size))
        return NULL;
    s_cols_t cols = { .values = values, .count = 0, .start = NULL, .end = NULL };
    zchunk_t *buf = zchunk_new (NULL, strlen (self->command) + 2 * values->size + 16);
    s_expand (self, buf, self->command, strlen (self->command), &cols, !self->raw);
    if (!self->any) {
        zchunk_extend (buf, " ", 1);
        s_expand (self, buf, "{}", 2, &cols, true);
    }
    zchunk_extend (buf, "", 1);
    char *result = strdup ((const char *) zchunk_data (buf));
    zchunk_destroy (&buf);
    free (cols.start);
    free (cols.end);
    return result;
}

//  --------------------------------------------------------------------------
//  Commands run without /bin/sh

#define S_WORDS_MAX 256             //  words in a direct command, at most

struct _sluice_direct_t {
    char *path;                 //  the program, found in PATH
    char *text;                 //  the command, its words NUL-terminated in place
    char *words [S_WORDS_MAX];  //  into text
    size_t count;
    const sluice_template_t *template;  //  its replacement strings (borrowed)
    char *argv [S_WORDS_MAX + 2];   //  the last call's argv
    char *built [S_WORDS_MAX + 1];  //  its words that hold the payload (freed)
};

//  Shell keywords and builtins (dash's and POSIX's): a command starting
//  with one runs in the shell, where it means what the user expects
//  (echo's backslash escapes are the builtin's, not /bin/echo's).
static const char *s_builtins [] = {
    "!", ".", ":", "[", "alias", "bg", "break", "case", "cd", "chdir", "command",
    "continue", "do", "done", "echo", "elif", "else", "esac", "eval", "exec", "exit",
    "export", "false", "fc", "fg", "fi", "for", "getopts", "hash", "if", "in", "jobs",
    "kill", "local", "printf", "pwd", "read", "readonly", "return", "set", "shift",
    "test", "then", "times", "trap", "true", "type", "ulimit", "umask", "unalias",
    "unset", "until", "wait", "while", NULL
};

//  True if the command, its replacement strings taken out, holds shell syntax.
static bool
s_has_shell_syntax (const char *command)
{
    s_quotes_t q = { false, false };
    for (const char *p = command; *p; p++) {
        s_rs_t rs;
        if (s_rs_at (command, p, &q, &rs) > 0) {
            p += rs.length - 1;
            continue;
        }
        if (strchr ("|&;<>()$`\\\"'*?[]{}#~\n", *p))
            return true;
    }
    return false;
}

//  The program a command word names: itself if it holds a '/', else the
//  first executable file of that name in PATH (an empty entry is the
//  current directory), as execvp and the shell search. NULL if none.
static char *
s_find_program (const char *name)
{
    if (strchr (name, '/'))
        return access (name, X_OK) == 0? strdup (name): NULL;
    const char *path = getenv ("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        size_t len = strcspn (path, ":");
        char *candidate = len? zsys_sprintf ("%.*s/%s", (int) len, path, name)
                        : strdup (name);
        struct stat st;
        if (candidate && stat (candidate, &st) == 0 && S_ISREG (st.st_mode)
        &&  access (candidate, X_OK) == 0)
            return candidate;
        free (candidate);
        if (!path [len])
            return NULL;
        path += len + 1;
    }
}

sluice_direct_t *
sluice_spawn_direct_new (const sluice_template_t *template)
{
    //  parallel leaves the values unquoted when the first word holds one,
    //  and {} under --colsep is several words: both are the shell's to split
    const char *command = template->command;
    if (template->raw || template->spread || s_has_shell_syntax (command))
        return NULL;
    sluice_direct_t *self = (sluice_direct_t *) calloc (1, sizeof *self);
    assert (self);
    self->template = template;
    self->text = strdup (command);
    assert (self->text);
    for (char *word = strtok (self->text, " \t"); word; word = strtok (NULL, " \t")) {
        if (self->count == S_WORDS_MAX) {
            sluice_spawn_direct_destroy (&self);
            return NULL;
        }
        self->words [self->count++] = word;
    }
    const char *first = self->count? self->words [0]: "";
    bool builtin = false;
    for (size_t i = 0; s_builtins [i]; i++)
        builtin |= streq (first, s_builtins [i]);
    if (!self->count || builtin || strchr (first, '=')
    ||  !(self->path = s_find_program (first)))
        sluice_spawn_direct_destroy (&self);
    return self;
}

void
sluice_spawn_direct_destroy (sluice_direct_t **self_p)
{
    assert (self_p);
    sluice_direct_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; self->built [i]; i++)
        free (self->built [i]);
    free (self->path);
    free (self->text);
    free (self);
    *self_p = NULL;
}

//  A word with its replacement strings replaced by their raw values; the
//  caller frees it.
static char *
s_substitute (const sluice_template_t *template, const char *word, s_cols_t *cols)
{
    zchunk_t *buf = zchunk_new (NULL, strlen (word) + cols->values->size + 1);
    s_expand (template, buf, word, strlen (word), cols, false);
    zchunk_extend (buf, "", 1);
    char *result = (char *) malloc (zchunk_size (buf));
    assert (result);
    memcpy (result, zchunk_data (buf), zchunk_size (buf));
    zchunk_destroy (&buf);
    return result;
}

char **
sluice_spawn_direct_argv (sluice_direct_t *self, const sluice_values_t *values)
{
    for (size_t i = 0; self->built [i]; i++) {
        free (self->built [i]);
        self->built [i] = NULL;
    }
    if (values && !self->template->args && memchr (values->data, 0, values->size))
        return NULL;
    s_cols_t cols = { .values = values, .count = 0, .start = NULL, .end = NULL };
    size_t argc = 0, built = 0;
    for (size_t i = 0; i < self->count; i++) {
        s_rs_t rs;
        if (values && self->template->columns && s_rs_parse (self->words [i], &rs) > 0
        &&  rs.length == strlen (self->words [i]) && s_cols_absent (self->template, &cols, &rs))
            continue;           //  the shell would see no word at all
        if (values && strchr (self->words [i], '{'))
            self->argv [argc++] = self->built [built++] = s_substitute (self->template,
                                                                         self->words [i], &cols);
        else
            self->argv [argc++] = self->words [i];
    }
    if (values && !self->template->any)
        self->argv [argc++] = self->built [built++] = s_substitute (self->template, "{}",
                                                                     &cols);
    self->argv [argc] = NULL;
    free (cols.start);
    free (cols.end);
    return self->argv;
}

const char *
sluice_spawn_direct_path (sluice_direct_t *self)
{
    return self->path;
}
