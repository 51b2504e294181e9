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

//  posix_spawn argv with stdout on out_fd and stdin on in_fd (or
//  /dev/null when in_fd is -1). Returns 0 or an errno value.
static int
s_posix_spawn (pid_t *pid, char *const argv [], int out_fd, int in_fd)
{
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, out_fd, STDOUT_FILENO);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2 (&actions, in_fd, STDIN_FILENO);
    else
        posix_spawn_file_actions_addopen (&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    s_spawnattr (&attr);
    int rc = posix_spawn (pid, argv [0], &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    return rc;
}

int
sluice_spawn_start (sluice_child_t *child, char *const argv [], bool with_stdin)
{
    *child = (sluice_child_t) { .pid = 0, .in_fd = -1, .out_fd = -1, .error = 0 };
    //  posix_spawn reports a failed exec only where it uses vfork (not
    //  under valgrind, say): check first, so a missing command always fails
    if (access (argv [0], X_OK)) {
        child->error = errno;
        return -1;
    }
    int out [2], in [2];
    if (s_pipes (out, in, with_stdin)) {
        child->error = errno;
        return -1;
    }
    int rc = s_posix_spawn (&child->pid, argv, out [1], with_stdin? in [0]: -1);
    close (out [1]);
    if (in [0] >= 0)
        close (in [0]);
    if (rc) {
        close (out [0]);
        if (in [1] >= 0)
            close (in [1]);
        child->pid = 0;
        child->error = errno = rc;
        return -1;
    }
    fcntl (out [0], F_SETFL, O_NONBLOCK);
    if (in [1] >= 0)
        fcntl (in [1], F_SETFL, O_NONBLOCK);
    child->out_fd = out [0];
    child->in_fd = in [1];
    return 0;
}

int
sluice_spawn_shell (sluice_child_t *child, const char *command, bool with_stdin)
{
    char *argv [] = { (char *) "/bin/sh", (char *) "-c", (char *) command, NULL };
    return sluice_spawn_start (child, argv, with_stdin);
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

//  Close the child's pipes.
static void
s_close_pipes (sluice_child_t *child)
{
    sluice_spawn_close_input (child);
    if (child->out_fd >= 0) {
        close (child->out_fd);
        child->out_fd = -1;
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
