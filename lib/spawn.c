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

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

void
sluice_spawn_quote (zchunk_t *buf, const uint8_t *data, size_t size)
{
    zchunk_extend (buf, "'", 1);
    for (size_t i = 0; i < size; i++) {
        if (data [i] == '\'')
            zchunk_extend (buf, "'\\''", 4);     //  close, escaped quote, reopen
        else
            zchunk_extend (buf, data + i, 1);
    }
    zchunk_extend (buf, "'", 1);
}

char *
sluice_spawn_command (const char *command, const uint8_t *data, size_t size)
{
    if (size && memchr (data, 0, size))      //  an empty payload may be NULL
        return NULL;
    zchunk_t *buf = zchunk_new (NULL, strlen (command) + size + 16);
    const char *braces = strstr (command, "{}");
    if (!braces) {
        zchunk_extend (buf, command, strlen (command));
        zchunk_extend (buf, " ", 1);
        sluice_spawn_quote (buf, data, size);
    }
    else {
        const char *p = command;
        while (braces) {
            zchunk_extend (buf, p, (size_t) (braces - p));
            sluice_spawn_quote (buf, data, size);
            p = braces + 2;
            braces = strstr (p, "{}");
        }
        zchunk_extend (buf, p, strlen (p));
    }
    zchunk_extend (buf, "", 1);
    char *result = strdup ((const char *) zchunk_data (buf));
    zchunk_destroy (&buf);
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
//  when in_fd is -1) and stderr on err_fd (inherited when -1). Returns 0
//  or an errno value.
static int
s_posix_spawn (pid_t *pid, const char *path, char *const argv [], int out_fd, int in_fd,
               int err_fd)
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
    int rc = posix_spawn (pid, path, &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    return rc;
}

int
sluice_spawn_start (sluice_child_t *child, char *const argv [], int pipes)
{
    return sluice_spawn_exec (child, argv [0], argv, pipes);
}

int
sluice_spawn_exec (sluice_child_t *child, const char *path, char *const argv [],
                   int pipes)
{
    bool with_stdin = pipes & SLUICE_SPAWN_STDIN;
    *child = (sluice_child_t) { .pid = 0, .in_fd = -1, .out_fd = -1, .err_fd = -1,
                                .error = 0, .pid_fd = -1 };
    //  posix_spawn reports a failed exec only where it uses vfork (not
    //  under valgrind, say): check first, so a missing command always fails
    if (access (path, X_OK)) {
        child->error = errno;
        return -1;
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
    int rc = s_posix_spawn (&child->pid, path, argv, out [1], with_stdin? in [0]: -1,
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
    child->pid_fd = pidfd_open (child->pid, 0);
    if (child->pid_fd >= 0)
        fcntl (child->pid_fd, F_SETFD, FD_CLOEXEC);
    return 0;
}

int
sluice_spawn_shell (sluice_child_t *child, const char *command, int pipes)
{
    char *argv [] = { (char *) "/bin/sh", (char *) "-c", (char *) command, NULL };
    return sluice_spawn_start (child, argv, pipes);
}

void
sluice_spawn_kill (const sluice_child_t *child, int signal)
{
    if (child->pid > 0)
        kill (-child->pid, signal);
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
//  Commands run without /bin/sh

#define S_WORDS_MAX 256             //  words in a direct command, at most

struct _sluice_direct_t {
    char *path;                 //  the program, found in PATH
    char *text;                 //  the command, its words NUL-terminated in place
    char *words [S_WORDS_MAX];  //  into text
    size_t count;
    bool braces;                //  some word holds {}
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

//  True if the command, its {} taken out, holds shell syntax.
static bool
s_has_shell_syntax (const char *command)
{
    for (const char *p = command; *p; p++) {
        if (p [0] == '{' && p [1] == '}') {
            p++;
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
sluice_spawn_direct_new (const char *command)
{
    if (s_has_shell_syntax (command))
        return NULL;
    sluice_direct_t *self = (sluice_direct_t *) calloc (1, sizeof *self);
    assert (self);
    self->text = strdup (command);
    assert (self->text);
    for (char *word = strtok (self->text, " \t"); word; word = strtok (NULL, " \t")) {
        if (self->count == S_WORDS_MAX) {
            sluice_spawn_direct_destroy (&self);
            return NULL;
        }
        self->braces |= strstr (word, "{}") != NULL;
        self->words [self->count++] = word;
    }
    const char *first = self->count? self->words [0]: "";
    bool builtin = false;
    for (size_t i = 0; s_builtins [i]; i++)
        builtin |= streq (first, s_builtins [i]);
    if (!self->count || builtin || strstr (first, "{}") || strchr (first, '=')
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

//  A word with each {} replaced by the payload; the caller frees it.
static char *
s_substitute (const char *word, const uint8_t *data, size_t size)
{
    zchunk_t *buf = zchunk_new (NULL, strlen (word) + size + 1);
    const char *braces;
    while ((braces = strstr (word, "{}"))) {
        zchunk_extend (buf, word, (size_t) (braces - word));
        zchunk_extend (buf, data, size);
        word = braces + 2;
    }
    zchunk_extend (buf, word, strlen (word) + 1);
    char *result = (char *) malloc (zchunk_size (buf));
    assert (result);
    memcpy (result, zchunk_data (buf), zchunk_size (buf));
    zchunk_destroy (&buf);
    return result;
}

char **
sluice_spawn_direct_argv (sluice_direct_t *self, const uint8_t *data, size_t size)
{
    for (size_t i = 0; self->built [i]; i++) {
        free (self->built [i]);
        self->built [i] = NULL;
    }
    if (data && memchr (data, 0, size))
        return NULL;
    size_t argc = 0, built = 0;
    for (size_t i = 0; i < self->count; i++) {
        if (data && strstr (self->words [i], "{}"))
            self->argv [argc++] = self->built [built++] = s_substitute (self->words [i],
                                                                         data, size);
        else
            self->argv [argc++] = self->words [i];
    }
    if (data && !self->braces)
        self->argv [argc++] = self->built [built++] = s_substitute ("{}", data, size);
    self->argv [argc] = NULL;
    return self->argv;
}

const char *
sluice_spawn_direct_path (sluice_direct_t *self)
{
    return self->path;
}
