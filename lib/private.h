/*  =========================================================================
    private.h - internal declarations shared by the libsluice sources

    Every lib .c file includes this first. Names here are not part
    of the public API: they may change without notice.
    =========================================================================
*/

#ifndef SLUICE_PRIVATE_H_INCLUDED
#define SLUICE_PRIVATE_H_INCLUDED

#define _GNU_SOURCE
#include <assert.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>

#include "sluice.h"

//  ---------------------------------------------------------------------
//  config.c: the settings of one program. Library code reads the fields;
//  they are written through the option table (options.h) only.

struct _sluice_config_t {
    sluice_role_t role;
    char *tasks;             //  tasks endpoint list, normalized with @ or >
    char *results;           //  results endpoint list
    char *control;           //  control endpoint list
    size_t max_size;         //  ZMQ_MAXMSGSIZE, bytes
    size_t max_control_size; //  ZMQ_MAXMSGSIZE of sockets that carry no payload in
    size_t max_peers;        //  connections per listening socket, known workers
    int verbose;             //  log debug lines
    bool quiet;              //  no summary, warnings only
    //  security (security.c)
    char *keys;              //  CURVE certificates directory, or NULL
    char *key;               //  this program's certificate, or NULL: from keys
    char *allow;             //  without keys, addresses accepted beyond loopback
    bool insecure;           //  without keys, accept any address
    //  ventilator
    size_t window;           //  unacknowledged tasks held at most
    int64_t timeout_ms;      //  lease of one delivery
    int64_t max_held_ms;     //  total hold of one delivery; 0: 10 x timeout
    unsigned retries;        //  re-runs of a failed command
    unsigned max_attempts;   //  deliveries before a task is lost
    sluice_input_t input;    //  input record format
    char *journal;           //  journal file for --resume, or NULL
    bool progress;           //  --progress: a status line on a terminal
    bool bar;                //  --bar: a progress bar
    bool eta;                //  --eta: the estimated time left
    unsigned progress_when;  //  SLUICE_PROGRESS_AUTO (a terminal), _ALWAYS, _NEVER
    char *halt;              //  --halt WHEN,WHY=N[%] (halt.h), or NULL: never
    unsigned rerun;          //  SLUICE_RERUN_*: --retry-failed, --resume-failed
    bool dry_run;            //  --dry-run: print the commands, run nothing
    //  worker
    sluice_mode_t mode;      //  what a worker does with a task
    char *command;           //  --exec / --coproc command
    bool pipe;               //  --exec: payload on stdin
    bool shell;              //  --exec: always run the command with /bin/sh -c
    char *colsep;            //  --exec: column separator for {1} {2} ..., or NULL
    bool args;               //  sluice, several sources: each task is a list of
                             //  arguments separated by NUL (the command's ARGS)
    unsigned jobs;           //  tasks processed at once
    size_t prefetch;         //  extra tasks held beyond free slots; SIZE_MAX = auto
    int64_t task_timeout_ms; //  0: none
    unsigned task_timeout_pct;   //  --task-timeout N%: of the median runtime; 0: none
    int64_t grace_ms;        //  SIGTERM grace period
    char *termseq;           //  how a command is stopped: "TERM,200,KILL"
    size_t stderr_max;       //  --exec: stderr kept per task, bytes
    bool stderr_inherit;     //  --exec: stderr to the worker's own, not captured
    //  sink
    char *output;            //  output file, or NULL for stdout
    bool append;             //  append to output, resume from its state file
    sluice_format_t format;  //  output format
    bool keep_order;         //  print in input order
    size_t reorder_max;      //  -k: bytes of records held out of order at most
    bool tag;                //  --tag: each output line prefixed by its input, a tab
    char *joblog;            //  --joblog FILE (sink: written; ventilator: read
                             //  by --retry-failed), or NULL
    char *results_dir;       //  --results-dir DIR: parallel's --results layout
    bool summary;            //  log the summary at exit (sluice: the ventilator's)
    char **shown;            //  sluice_config_get strings, one per option
};

//  --retry-failed, --resume-failed: which tasks of an earlier run run again
enum { SLUICE_RERUN_NONE, SLUICE_RERUN_RETRY_FAILED, SLUICE_RERUN_RESUME_FAILED };

//  --progress-when choices
enum { SLUICE_PROGRESS_AUTO, SLUICE_PROGRESS_ALWAYS, SLUICE_PROGRESS_NEVER };

//  Protocol bounds (docs/PROTOCOL.md, section 9): BEGIN's window and
//  --window at most SLUICE_WINDOW_MAX; END's count and PING's low at most
//  SLUICE_ID_MAX (+ 1 for low). A sink refuses a message above them.
#define SLUICE_WINDOW_MAX ((uint64_t) 1 << 20)
#define SLUICE_ID_MAX ((uint64_t) 1 << 62)

//  Debug lines are logged only with -v (CZMQ has no log level of its own).
extern int sluice_verbose;
#define sluice_debug(...) \
    do { if (sluice_verbose) zsys_debug (__VA_ARGS__); } while (0)

//  A warning that is logged at most once a second; the rest are counted
//  and summarised in the next line that gets through.
typedef struct {
    int64_t last_ms;            //  when the last line was logged
    uint64_t suppressed;        //  lines not logged since
} sluice_ratelimit_t;

//  Log a warning through zsys_warning unless one was logged this second.
void
    sluice_warn_ratelimited (sluice_ratelimit_t *limit, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  The exit code of the last failed task a sink wrote (exit code, 128 +
//  signal, else 1), 0 if none: sluice's --halt fail=1 exits with it.
int
    sluice_sink_last_failure (sluice_sink_t *self);

//  ---------------------------------------------------------------------
//  socket.c

#include "security.h"

//  Create a socket of the given ZMQ type for one channel with the shared
//  options, the given send and receive high-water mark (0: none) and the
//  SLUICE_SOCKET_* flags, and attach it to endpoints, each endpoint secured
//  by security (may be NULL: none). Returns the socket, or NULL with
//  "cannot bind X: reason" (or connect) in err.
#define SLUICE_SOCKET_IMMEDIATE 1   //  ZMQ_IMMEDIATE: queue only to connected peers
#define SLUICE_SOCKET_RANDOM_ID 2   //  a random 16-byte routing id, kept on reconnect
//  The --max-control-size in effect: never below 64 KiB, which an ACK of
//  1024 ranges needs.
#define SLUICE_CONTROL_SIZE(config) \
    ((config)->max_control_size < 65536? (size_t) 65536: (config)->max_control_size)
#define SLUICE_SOCKET_SMALL 4       //  takes no payload in: ZMQ_MAXMSGSIZE is
                                    //  --max-control-size, not --max-size
zsock_t *
    sluice_socket_open (int type, const sluice_config_t *config, sluice_security_t *security,
                        sluice_channel_t channel, const char *endpoints, int hwm, int flags,
                        char *err, size_t errlen);

//  Bind or connect a socket to every item of a normalized endpoint list
//  ("@tcp://*:5557,>ipc:///tmp/x"), each secured for channel by security
//  (may be NULL). A bind to a host name binds the address it resolves to.
//  Returns 0, or -1 with "cannot bind X: reason" in err.
int
    sluice_attach (zsock_t *sock, sluice_security_t *security, sluice_channel_t channel,
                   const char *endpoints, char *err, size_t errlen);

//  ZMTP heartbeats (sluice_socket_setup): a PING every second, and a
//  connection that brings nothing in for this long after one is closed
#define SLUICE_HEARTBEAT_IVL_MS 1000
#define SLUICE_HEARTBEAT_TIMEOUT_MS 5000

//  Apply the options every sluice socket shares: linger, max message size,
//  reconnects, and dead-peer detection (ZMTP heartbeats from connecting
//  sockets; a ROUTER answers them and uses TCP keepalives).
void
    sluice_socket_setup (zsock_t *sock, const sluice_config_t *config);

//  Bound how long a socket's unsent messages may delay its destruction.
void
    sluice_set_linger (zsock_t *sock, int msecs);

//  ---------------------------------------------------------------------
//  util.c

//  Bytes a message may spend beyond its payloads: a TASKS or RESULTS
//  message's header and item fields (about 30 bytes a task). An input
//  record or a command's output may be at most sluice_payload_max bytes,
//  so that the message carrying it stays within --max-size.
#define SLUICE_ENVELOPE 4096

//  The largest payload a message of at most max_size bytes can carry.
size_t
    sluice_payload_max (size_t max_size);

//  Milliseconds and microseconds on a monotonic clock.
int64_t
    sluice_now_ms (void);
int64_t
    sluice_now_us (void);

//  "host:pid" of this process; static storage.
const char *
    sluice_identity (void);

//  Format a batch id as 32 hex digits into buf (33 bytes).
void
    sluice_batch_str (const uint8_t *batch, char *buf);

//  Send bytes on a raw socket with the given flags. Returns 0 or -1 (errno).
int
    sluice_send (void *socket, const void *data, size_t size, int flags);

//  Send zsys logs to stderr (once per process, before the first role),
//  through sluice_log_stream.
void
    sluice_log_init (void);

//  Whether a progress line is on stderr (progress.c), its cursor at the
//  line's start: each log line then first clears it.
void
    sluice_log_over_progress (bool shown);

//  The stream zsys logs to: stderr, each line's stamp rewritten in ISO 8601
//  UTC by sluice_log_rewrite. One per process, never closed.
FILE *
    sluice_log_stream (void);

//  Bytes an ISO 8601 stamp adds to a zsys one (2026-12-01T19:44:24.123Z)
#define SLUICE_LOG_GROWTH 8

//  Rewrite one log line (size bytes, its newline included or not) into out,
//  which holds at least size + SLUICE_LOG_GROWTH bytes: zsys's stamp after
//  "W: (ident) " becomes epoch_ms in ISO 8601 UTC with milliseconds; a line
//  without one is copied unchanged. Returns the bytes written.
size_t
    sluice_log_rewrite (const char *line, size_t size, int64_t epoch_ms, char *out,
                        size_t outsize);

//  The flags of the command a config runs (docs/PROTOCOL.md 4.1): --exec:
//  PIPE (and NUL with -0) for --pipe, ARGS for argument lists; --coproc:
//  NUL with -0.
uint32_t
    sluice_command_flags (const sluice_config_t *config);

//  --retry-failed and --resume-failed read the earlier run: they need
//  --journal or --joblog. Returns 0, or -1 with a one-line message in err
//  (a usage error).
int
    sluice_config_check_rerun (const sluice_config_t *config, char *err, size_t errlen);

//  Take SIGHUP (a closed terminal) with handler, unless it is ignored
//  (nohup), which it then stays; the disposition it had goes to *old
//  unless old is NULL.
void
    sluice_catch_hangup (void (*handler) (int), struct sigaction *old);

//  Set up zsys for a command-line program: log ident, logs to stderr
//  (sluice_log_stream), one I/O thread, signal handling via zsys_interrupted.
void
    sluice_init_process (const char *ident, int verbose);

//  A program's last call before it returns rc from main: flush stdio and
//  bound the ZeroMQ context's shutdown (zsys_shutdown, at exit) to
//  SLUICE_EXIT_WAIT_S seconds, after which the process says so on stderr
//  and exits with rc. libzmq 4.3.4 can leave zmq_ctx_term waiting forever
//  for a connection whose input stopped when its peer reconnected
//  (ROUTER_HANDOVER) and which then lost its peer: the work is done and
//  written by then. Returns rc.
#define SLUICE_EXIT_WAIT_S 8        //  above every linger (the worker's 5 s)
int
    sluice_exit_bounded (int rc);

//  The same with another bound, in seconds (tests).
int
    sluice_exit_bounded_after (int rc, unsigned seconds);

//  Finish the encoder's message and move its buffer into msg without a
//  copy (zmq_msg_init_data); the encoder continues in a new buffer. For
//  large packed messages, where a copy costs more than a malloc. Returns
//  0, or -1 if libzmq refused.
int
    sluice_encoder_take (sluice_encoder_t *self, zmq_msg_t *msg);

//  Parse one MessagePack input record (ventilator --msgpack): a bin or str
//  is the payload; a map's "output" value is (sink --format msgpack output),
//  without one trailing newline.
//  Returns bytes consumed, 0 if the record is incomplete, -1 if invalid.
long
    sluice_record_parse (const uint8_t *data, size_t size, const uint8_t **payload,
                         size_t *payload_size);

//  Parse one record of a sink's --format msgpack stream back into the
//  result it was written from (sluice cat): its id, status, code,
//  attempts, elapsed_us, output, input (absent or nil: none), stderr,
//  stderr_dropped, and the worker identity; byte fields borrowed from
//  data. Unknown keys are skipped; id and output are required. Returns
//  bytes consumed, 0 if the record is incomplete, -1 if invalid.
long
    sluice_record_parse_result (const uint8_t *data, size_t size, sluice_result_t *r,
                                const uint8_t **worker, size_t *worker_size);

#endif
