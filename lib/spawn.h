/*  =========================================================================
    spawn.h - child processes for --exec and --coproc

    Owns what both runners need from the operating system: starting
    /bin/sh -c in its own process group with posix_spawn, the pipes to its
    stdin and stdout, killing the whole group, reading a pipe into a
    growable buffer, mapping a wait status to a (sluice_status_t, code)
    pair, quoting a value as one shell word as GNU parallel does, and
    GNU parallel's replacement strings ({} {.} {/} {#} {%} {1} ...).
    Socket-free, so tests/unit/test_spawn.c runs it for real.
    =========================================================================
*/

#ifndef SLUICE_SPAWN_H_INCLUDED
#define SLUICE_SPAWN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <czmq.h>
#include "termseq.h"

//  A started child: its process id (also its process group) and its pipes.
typedef struct {
    pid_t pid;                  //  0 when none
    int in_fd;                  //  its stdin, non-blocking; -1 when none
    int out_fd;                 //  its stdout, non-blocking; -1 when closed
    int err_fd;                 //  its stderr (SLUICE_SPAWN_STDERR), non-blocking;
                                //  -1 when closed or inherited
    int error;                  //  errno of a failed start, else 0
    int pid_fd;                 //  pidfd, readable once it has exited; -1 if none
} sluice_child_t;

//  Bytes read from a pipe; the caller owns data (free it).
typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
} sluice_spawn_buf_t;

//  Append data to buf as one shell word, exactly as GNU parallel quotes
//  it: bytes of [-_.+/A-Za-z0-9] as they are, the empty word as '', else
//  in single quotes with each ' as '"'"' (and the '' that leaves at either
//  end dropped). The shell reads back exactly these bytes.
void
    sluice_spawn_quote (zchunk_t *buf, const uint8_t *data, size_t size);

//  A command's replacement strings, parsed once: GNU parallel's {} {.} {/}
//  {//} {/.} {#} {%}, and {N} {N.} {N/} {N//} {N/.} (N from 1, -N from
//  the end) for the columns of --colsep.
typedef struct _sluice_template_t sluice_template_t;

//  What one run substitutes.
typedef struct {
    const uint8_t *data;        //  the task
    size_t size;
    uint64_t id;                //  {#}: the task id, from 1
    unsigned slot;              //  {%}: the job slot, 1..-j
} sluice_values_t;

//  sluice_template_new's colsep for a task that is a list of arguments,
//  separated by NUL bytes (a batch of several sources,
//  the command's ARGS flag): {} is every argument as a word, {N} the Nth,
//  untrimmed; without a replacement string they are appended as words.
extern const char sluice_colsep_args [];

//  The colsep of a config's command: sluice_colsep_args when its tasks
//  are argument lists (config->args), else its --colsep (or NULL).
const char *
    sluice_spawn_colsep (const sluice_config_t *config);

//  Parse command. colsep (NULL for none) is a POSIX extended regular
//  expression (regcomp) with Perl's \t \n \r \d \D; its columns are
//  split as Perl's split does and trimmed of white space, as parallel's
//  --colsep. Returns NULL with a one-line message in err for an unknown
//  replacement string outside single quotes ("unknown replacement string
//  '{foo}'"; braces after a $ and {...} holding other bytes are never
//  one), for {N} (N beyond 1) without colsep, or for a colsep regcomp
//  refuses.
sluice_template_t *
    sluice_template_new (const char *command, const char *colsep, char *err,
                         size_t errlen);

//  Check an --exec command and config's --colsep as sluice_template_new
//  does. Returns 0, or -1 with the message in err.
int
    sluice_spawn_check (const char *command, const sluice_config_t *config, char *err,
                        size_t errlen);

//  Destroy a template; nulls the pointer.
void
    sluice_template_destroy (sluice_template_t **self_p);

//  True if the command holds a replacement string (else the task is
//  appended, as {}).
bool
    sluice_template_any (const sluice_template_t *self);

//  The shell command for one run: each replacement string replaced by its
//  value shell-quoted (unquoted when the command's first word holds one,
//  as parallel does: the task is then shell code); without any, the quoted
//  task appended. Returns a string the caller frees, or NULL if the task
//  holds a NUL byte (no shell word can carry it).
char *
    sluice_template_shell (const sluice_template_t *self, const sluice_values_t *values);

//  The shell command for one payload: sluice_template_shell of command
//  with colsep (sluice_template_new's), as task 1 in slot 1. NULL also for
//  a bad command.
char *
    sluice_spawn_command (const char *command, const char *colsep, const uint8_t *data,
                          size_t size);

//  A copy of environ with vars ("NAME=value", NULL-terminated) first and
//  any earlier entry of those names left out. Free the array, not its
//  strings.
char **
    sluice_spawn_environ (char *const vars []);

//  What a child's stdin and stderr are (the pipes argument below); true
//  alone means SLUICE_SPAWN_STDIN.
#define SLUICE_SPAWN_STDIN 1        //  stdin a pipe (else /dev/null)
#define SLUICE_SPAWN_STDERR 2       //  stderr a pipe (else the worker's own)

//  Start argv[0] (a path) with argv in a new process group, default signal
//  handling, stdout a pipe, stdin a pipe with SLUICE_SPAWN_STDIN else
//  /dev/null, stderr a pipe with SLUICE_SPAWN_STDERR else inherited.
//  Returns 0, or -1 with errno (and child->error) set: then no process
//  exists and sluice_spawn_reap reports SLUICE_STATUS_ERROR.
int
    sluice_spawn_start (sluice_child_t *child, char *const argv [], int pipes);

//  sluice_spawn_start, running the program at path (argv [0] is only its
//  name, as a shell passes it).
int
    sluice_spawn_exec (sluice_child_t *child, const char *path, char *const argv [],
                       int pipes);

//  sluice_spawn_exec with envp as the environment (NULL: ours).
int
    sluice_spawn_exec_env (sluice_child_t *child, const char *path, char *const argv [],
                           char *const envp [], int pipes);

//  sluice_spawn_start of "/bin/sh -c command".
int
    sluice_spawn_shell (sluice_child_t *child, const char *command, int pipes);

//  sluice_spawn_shell with envp as the environment (NULL: ours).
int
    sluice_spawn_shell_env (sluice_child_t *child, const char *command, char *const envp [],
                            int pipes);

//  Send a signal to the child's whole process group (no-op without one).
void
    sluice_spawn_kill (const sluice_child_t *child, int signal);

//  True while the process group has a live member (zombies do not count:
//  a reaped command's orphans are init's to reap, which may take seconds).
bool
    sluice_spawn_group_alive (pid_t group);

//  One step of stopping a process group with a --termseq: send it the
//  signal that is due; once every signal is sent, SIGKILL at *kill_at
//  (set then: the last signal's due time, or 1 s on if that is now or
//  within 10 ms) and at every step after. Returns the ms until the next
//  step is due (0: now), and sets *killed (unless NULL) when SIGKILL was
//  sent. The one rule for --exec commands, their orphaned groups and
//  --coproc copies.
int64_t
    sluice_spawn_group_step (pid_t group, const sluice_termseq_t *seq, sluice_termstop_t *stop,
                             int64_t *kill_at, int64_t now, bool *killed);

//  Close the child's stdin (end of input for it).
void
    sluice_spawn_close_input (sluice_child_t *child);

//  Map a waitpid status to a result status and code: exit 0 is OK, exit N
//  is EXIT with code N, death by signal S is SIGNAL with code S.
void
    sluice_spawn_status (int wstatus, int *status, int *code);

//  Reap the child; with block false only if it has exited. Closes its
//  pipes once reaped. Returns 1 with *status/*code set (a child that failed
//  to start reads as SLUICE_STATUS_ERROR, code 127), 0 if still running.
int
    sluice_spawn_reap (sluice_child_t *child, bool block, int *status, int *code);

//  Stop a child for good: TERM to its group, up to wait_ms for it to exit,
//  then KILL; reaps it and closes its pipes.
void
    sluice_spawn_stop (sluice_child_t *child, int wait_ms);

//  Read from fd into buf until it would block. Bytes beyond limit are
//  read and discarded (so the writer can finish) and set *overflow.
//  Returns 0 when it would block, 1 at end of file or on a read error.
int
    sluice_spawn_read (int fd, sluice_spawn_buf_t *buf, size_t limit, bool *overflow);

//  Read from fd into buf until it would block, keeping at most limit
//  bytes in buf (the first ones); the bytes beyond are read, discarded
//  and added to *dropped (so the writer can finish). Returns 0 when it
//  would block, 1 at end of file or on a read error.
int
    sluice_spawn_read_bounded (int fd, sluice_spawn_buf_t *buf, size_t limit,
                               uint64_t *dropped);

//  A command run without /bin/sh: its words, split once, and its program
//  found once in PATH. See sluice_spawn_direct_new for when that is exact.
typedef struct _sluice_direct_t sluice_direct_t;

//  The direct form of an --exec command, or NULL when it needs /bin/sh:
//  when, once its replacement strings are taken out, it holds a shell
//  metacharacter (any of | & ; < > ( ) $ ` \ " ' * ? [ ] { } # ~, a
//  newline, or = in its first word), or its first word holds a
//  replacement string (parallel does not quote them then), or it holds {}
//  {.} {/} {//} {/.} under --colsep (several words), or its first word is
//  a shell keyword or builtin, or is not found in PATH. Words are split at
//  spaces and tabs, as the shell splits them; then sh -c and the direct
//  form run the same program with the same arguments. The template is
//  borrowed and must outlive the direct form.
sluice_direct_t *
    sluice_spawn_direct_new (const sluice_template_t *template);

//  Destroy a direct command; nulls the pointer.
void
    sluice_spawn_direct_destroy (sluice_direct_t **self_p);

//  The argv for one run: each word's replacement strings replaced by
//  their raw values, so a word holding one is exactly one argument;
//  without any, the task is appended as one more argument. With values
//  NULL (--pipe) the words are left as they are. Returns argv, owned by
//  self and valid until the next call, or NULL if the task holds a NUL
//  byte.
char **
    sluice_spawn_direct_argv (sluice_direct_t *self, const sluice_values_t *values);

//  The program's resolved path (for sluice_spawn_exec).
const char *
    sluice_spawn_direct_path (sluice_direct_t *self);

#endif
