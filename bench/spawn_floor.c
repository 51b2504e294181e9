/*  =========================================================================
    spawn_floor - the floor of one command per task on this machine

    Runs a command N times, J at once, the cheapest way a C program can:
    posix_spawn with vfork semantics, stdout to a pipe this program reads
    and copies to its own stdout, the next command started as soon as one
    is reaped. No tasks on the wire, no results, no bookkeeping: what is
    left is the cost of starting the commands themselves. bench/run prints
    it beside xargs and sluice --exec, so a target that asks more than this
    floor reaches can be seen to be out of reach here.

    Usage: spawn_floor N J PROGRAM            PROGRAM i, for i in 1..N
           spawn_floor N J /bin/sh SCRIPT     /bin/sh -c SCRIPT i
    =========================================================================
*/

#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_JOBS 64

extern char **environ;

typedef struct {
    pid_t pid;                  //  0 when the slot is free
    int fd;                     //  its stdout
} slot_t;

//  Start task i in a slot. Returns 0, or -1 after a message.
static int
start (slot_t *slot, int argc, char **argv, long i)
{
    int pipefd [2];
    if (pipe2 (pipefd, O_CLOEXEC)) {
        perror ("spawn_floor: pipe2");
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init (&actions);
    posix_spawn_file_actions_adddup2 (&actions, pipefd [1], 1);
    posix_spawnattr_t attr;
    posix_spawnattr_init (&attr);
    posix_spawnattr_setflags (&attr, POSIX_SPAWN_USEVFORK);
    char arg [32];
    snprintf (arg, sizeof arg, "%ld", i);
    char *direct [] = { argv [3], arg, NULL };
    char *shell [] = { "sh", "-c", argc > 4? argv [4]: NULL, arg, NULL };
    int rc = posix_spawn (&slot->pid, argv [3], &actions, &attr,
                          argc > 4? shell: direct, environ);
    posix_spawn_file_actions_destroy (&actions);
    posix_spawnattr_destroy (&attr);
    close (pipefd [1]);
    if (rc) {
        fprintf (stderr, "spawn_floor: cannot run %s: %s\n", argv [3], strerror (rc));
        close (pipefd [0]);
        return -1;
    }
    slot->fd = pipefd [0];
    return 0;
}

int
main (int argc, char **argv)
{
    long n = argc > 3? atol (argv [1]): 0;
    int jobs = argc > 3? atoi (argv [2]): 0;
    if (n < 1 || jobs < 1 || jobs > MAX_JOBS) {
        fprintf (stderr, "usage: spawn_floor N J PROGRAM | spawn_floor N J /bin/sh SCRIPT\n");
        return 2;
    }
    slot_t slots [MAX_JOBS] = { { 0, -1 } };
    long started = 0, done = 0;
    char buffer [65536];
    while (done < n) {
        for (int j = 0; j < jobs && started < n; j++)
            if (!slots [j].pid && start (&slots [j], argc, argv, ++started))
                return 1;
        struct pollfd fds [MAX_JOBS];
        int owner [MAX_JOBS], count = 0;
        for (int j = 0; j < jobs; j++)
            if (slots [j].pid) {
                fds [count] = (struct pollfd) { .fd = slots [j].fd, .events = POLLIN };
                owner [count++] = j;
            }
        if (poll (fds, (nfds_t) count, -1) < 0)
            continue;
        for (int k = 0; k < count; k++) {
            if (!fds [k].revents)
                continue;
            slot_t *slot = &slots [owner [k]];
            ssize_t size = read (slot->fd, buffer, sizeof buffer);
            if (size > 0) {
                if (fwrite (buffer, 1, (size_t) size, stdout) != (size_t) size)
                    return 1;
                continue;
            }
            close (slot->fd);
            int status;
            waitpid (slot->pid, &status, 0);
            slot->pid = 0;
            done++;
        }
    }
    return fflush (stdout)? 1: 0;
}
