/*  =========================================================================
    sluice.h - public API of libsluice, a brokerless ZeroMQ task pipeline

    A ventilator hands tasks to workers over a ROUTER/DEALER credit channel,
    workers send results to a sink over DEALER/ROUTER and hold each until
    the sink says STORED, and the sink acknowledges results to the
    ventilator over a control channel. Every message is one MessagePack
    array; docs/PROTOCOL.md is the normative wire specification.

    Sections, in the order a newcomer should read them:
      codec      - encode and validate-then-decode every wire message
      config     - endpoints and options by name; flag > env > file > default
      ventilator - reads input, leases tasks, re-sends what is not acked
      worker     - takes tasks when it has free slots, runs them, holds results
      sink       - writes each task's result exactly once, acknowledges it
    Every role is embeddable in any event loop: sluice_X_fd, sluice_X_timeout
    and sluice_X_service, none of which blocks.
    =========================================================================
*/

#ifndef SLUICE_H_INCLUDED
#define SLUICE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Everything declared in this header is the public API, exported by
//  libsluice.so; the library is compiled with -fvisibility=hidden, so what
//  private.h and the module headers declare stays inside it.
#if defined (__GNUC__)
#   pragma GCC visibility push (default)
#endif

#define SLUICE_VERSION_STRING "0.1.0"

//  Exit codes shared by the three programs and returned by the run methods
#define SLUICE_EXIT_OK 0         //  every task succeeded
#define SLUICE_EXIT_FAILED 1     //  the batch completed, some tasks failed
#define SLUICE_EXIT_USAGE 2      //  bad command line or configuration
#define SLUICE_EXIT_RUNTIME 3    //  cannot bind, cannot open a file, ...
#define SLUICE_EXIT_ABANDONED 4  //  the batch was abandoned (SIGINT)

//  ---------------------------------------------------------------------
//  Codec: wire messages (see docs/PROTOCOL.md)

#define SLUICE_SIGNATURE 0x51CE   //  first element of every message
#define SLUICE_PROTOCOL 5         //  protocol version, second element
#define SLUICE_BATCH_SIZE 16      //  batch ids are 16 raw bytes (a UUID)

typedef enum {
    SLUICE_MSG_TASKS = 1,      //  ventilator -> worker: one or more tasks
    SLUICE_MSG_RESULTS = 2,    //  worker -> sink: one or more results
    SLUICE_MSG_CREDIT = 3,     //  worker -> ventilator: free slots
    SLUICE_MSG_PROGRESS = 4,   //  worker -> ventilator: tasks still running
    SLUICE_MSG_BEGIN = 5,      //  ventilator -> sink: batch parameters
    SLUICE_MSG_END = 6,        //  ventilator -> sink: batch task count
    SLUICE_MSG_ABANDON = 7,    //  ventilator -> sink: batch abandoned
    SLUICE_MSG_LOST = 8,       //  ventilator -> sink: tasks given up
    SLUICE_MSG_PING = 9,       //  ventilator -> sink: heartbeat
    SLUICE_MSG_ACK = 10,       //  sink -> ventilator: results written
    SLUICE_MSG_RETRY = 11,     //  sink -> ventilator: failed run, retry it
    SLUICE_MSG_COMPLETE = 12,  //  sink -> ventilator: batch complete
    SLUICE_MSG_PONG = 13,      //  sink -> ventilator: heartbeat reply
    SLUICE_MSG_BYE = 14,       //  ventilator -> sink: completion seen
    SLUICE_MSG_STORED = 15,    //  sink -> worker: these results are written
    SLUICE_MSG_REFUSE = 16,    //  worker -> ventilator: will not run this batch
    SLUICE_MSG_DROP = 17,      //  ventilator -> worker: stop the batch's tasks
    SLUICE_MSG_HANDBACK = 18,  //  worker -> ventilator: will not start these tasks
    SLUICE_MSG_MAX = 18
} sluice_msg_type_t;

//  The command a batch carries in its TASKS (protocol 3): how its tasks
//  are run. A worker with a fixed command refuses a batch naming another;
//  a --pool worker runs it (docs/PROTOCOL.md section 4.1).
#define SLUICE_COMMAND_EXEC 1      //  kind: /bin/sh -c per task (--exec)
#define SLUICE_COMMAND_COPROC 2    //  kind: long-lived copies (--coproc)
#define SLUICE_COMMAND_PIPE 1      //  flag: --exec with the payload on stdin
#define SLUICE_COMMAND_NUL 2       //  flag: --coproc records are NUL-delimited
#define SLUICE_COMMAND_ARGS 4      //  flag: each payload is NUL-separated arguments

typedef struct {
    uint32_t kind;              //  SLUICE_COMMAND_EXEC or _COPROC
    uint32_t flags;             //  SLUICE_COMMAND_PIPE, SLUICE_COMMAND_NUL
    const char *line;           //  the command line, as given to --exec
} sluice_command_t;

//  Why a worker refuses a batch (REFUSE's reason)
#define SLUICE_REFUSE_COMMAND 1    //  its fixed command is not the batch's
#define SLUICE_REFUSE_UNTRUSTED 2  //  --pool: the command came over an unauthenticated,
                                   //  non-local connection
#define SLUICE_REFUSE_NO_COMMAND 3 //  --pool: the batch carries no command
#define SLUICE_REFUSE_UNSUPPORTED 4    //  --pool: a kind the pool does not run (--coproc)
#define SLUICE_REFUSE_MAX 4

//  Task flags, copied by the worker into the result
#define SLUICE_FLAG_WANT_INPUT 1   //  return the input with the result
#define SLUICE_FLAG_RETRYABLE 2    //  a failed run of this attempt may be retried

//  Result status
typedef enum {
    SLUICE_STATUS_OK = 0,       //  command exited 0
    SLUICE_STATUS_EXIT = 1,     //  command exited non-zero; code = exit code
    SLUICE_STATUS_SIGNAL = 2,   //  command killed by a signal; code = signal
    SLUICE_STATUS_TIMEOUT = 3,  //  --task-timeout expired; command killed
    SLUICE_STATUS_LOST = 4,     //  given up after --max-attempts deliveries
    SLUICE_STATUS_ERROR = 5,    //  command could not be started
    SLUICE_STATUS_MAX = 5
} sluice_status_t;

//  One task, as sent by the ventilator. Data is borrowed from the message.
typedef struct {
    uint64_t id;            //  sequence number within the batch, from 1
    uint32_t attempt;       //  1 on first delivery, +1 on each redelivery
    uint32_t flags;         //  SLUICE_FLAG_*
    const uint8_t *data;    //  payload bytes
    size_t size;            //  payload size
} sluice_task_t;

//  One result, as sent by a worker. Byte fields are borrowed.
typedef struct {
    uint64_t id;            //  task id
    uint32_t attempt;       //  attempt that produced this result
    uint32_t flags;         //  the task's flags
    uint32_t status;        //  sluice_status_t
    int32_t code;           //  exit code or signal number
    uint64_t elapsed_us;    //  processing time on the worker
    const uint8_t *output;  //  command output
    size_t output_size;
    const uint8_t *input;   //  task input, or NULL when not returned
    size_t input_size;
    const uint8_t *stderr_data;     //  the command's stderr, at most --stderr-max
    size_t stderr_size;             //  bytes (protocol 4; 0 when none)
    uint64_t stderr_dropped;        //  stderr bytes beyond --stderr-max, discarded
} sluice_result_t;

//  A validated message. Scalars are decoded; list items are read with the
//  sluice_msg_next_* functions, which cannot fail after a successful decode.
typedef struct {
    int type;                           //  sluice_msg_type_t
    bool has_batch;                     //  false when the batch is nil
    uint8_t batch[SLUICE_BATCH_SIZE];   //  batch id
    uint64_t arg[3];                    //  type-specific scalars
    const uint8_t *worker;              //  RESULTS: worker identity
    size_t worker_size;
    bool has_command;                   //  TASKS: the batch names its command
    uint32_t command_kind;              //  TASKS: SLUICE_COMMAND_EXEC, _COPROC
    uint32_t command_flags;             //  TASKS: SLUICE_COMMAND_PIPE, _NUL
    const uint8_t *command;             //  TASKS: the command line (not NUL-terminated)
    size_t command_size;
    uint32_t count;                     //  number of list items
    uint32_t next;                      //  items read so far
    const uint8_t *cur;                 //  cursor into the list
    const uint8_t *end;                 //  end of the message
} sluice_msg_t;

//  Reusable message encoder; owns one growable buffer.
typedef struct _sluice_encoder_t sluice_encoder_t;

//  Create an encoder. Never returns NULL (aborts on out of memory).
sluice_encoder_t *
    sluice_encoder_new (void);

//  Destroy an encoder; nulls the caller's pointer.
void
    sluice_encoder_destroy (sluice_encoder_t **self_p);

//  Start a list message (TASKS, PROGRESS, LOST, ACK, RETRY, STORED, HANDBACK). batch
//  may be NULL.
void
    sluice_encoder_begin (sluice_encoder_t *self, int type, const uint8_t *batch);

//  Start a TASKS message of a batch that runs command (NULL: the batch
//  names no command; sluice_encoder_begin (TASKS) does the same).
void
    sluice_encoder_begin_tasks (sluice_encoder_t *self, const uint8_t *batch,
                                const sluice_command_t *command);

//  Start a RESULTS message from the given worker identity (written as bin).
void
    sluice_encoder_begin_results (sluice_encoder_t *self, const uint8_t *batch,
                                  const char *worker);

//  Append one task to a TASKS message.
void
    sluice_encoder_task (sluice_encoder_t *self, uint64_t id, uint32_t attempt,
                         uint32_t flags, const void *data, size_t size);

//  Append one result to a RESULTS message.
void
    sluice_encoder_result (sluice_encoder_t *self, const sluice_result_t *result);

//  Append one list item of unsigned integers (PROGRESS, HANDBACK: 1, RETRY: 2,
//  STORED: 2 = [first, last], ACK: 3).
void
    sluice_encoder_uints (sluice_encoder_t *self, size_t n, const uint64_t *values);

//  Append one LOST item.
void
    sluice_encoder_lost (sluice_encoder_t *self, uint64_t id, uint32_t attempts,
                         const void *input, size_t size);

//  Encode a scalar message (CREDIT, BEGIN, END, ABANDON, PING, COMPLETE,
//  PONG, BYE, REFUSE, DROP) with n unsigned arguments. batch may be NULL.
void
    sluice_encoder_scalar (sluice_encoder_t *self, int type, const uint8_t *batch,
                           size_t n, const uint64_t *args);

//  Encode CREDIT [credit, reset]: the worker's free room, added to what the
//  ventilator knows (reset false) or replacing it (reset true). CREDIT
//  [0, false] is the worker's heartbeat.
void
    sluice_encoder_credit (sluice_encoder_t *self, uint64_t credit, bool reset);

//  Number of list items appended since begin.
uint32_t
    sluice_encoder_count (sluice_encoder_t *self);

//  Finish the message; returns its bytes, valid until the next begin.
const uint8_t *
    sluice_encoder_data (sluice_encoder_t *self, size_t *size);

//  Validate a whole message and decode its header. Returns 0, or -1 with a
//  static reason in *reason when the message is malformed (not MessagePack,
//  wrong signature or version, unknown type, wrong field types, truncated,
//  trailing bytes). Never allocates; a message cannot claim more items than
//  it has bytes.
int
    sluice_msg_decode (sluice_msg_t *msg, const void *data, size_t size,
                       const char **reason);

//  Decode only the header of a message; its list items are validated as
//  the sluice_msg_next_* functions read them (one pass instead of two, for
//  the hot paths). Returns 0, or -1 with a reason as sluice_msg_decode.
int
    sluice_msg_open (sluice_msg_t *msg, const void *data, size_t size,
                     const char **reason);

//  The next functions return 1 (or the number of values read) for an item,
//  0 at the end of the list, and -1 if the item or what follows the list is
//  malformed (then the message reads as ended). After sluice_msg_decode
//  they never return -1.

//  Read the next task of a TASKS message.
int
    sluice_msg_next_task (sluice_msg_t *msg, sluice_task_t *task);

//  Read the next result of a RESULTS message.
int
    sluice_msg_next_result (sluice_msg_t *msg, sluice_result_t *result);

//  Read the next item of PROGRESS/HANDBACK/ACK/RETRY/STORED into values (up to 3).
int
    sluice_msg_next_uints (sluice_msg_t *msg, uint64_t *values);

//  Read the next LOST item.
int
    sluice_msg_next_lost (sluice_msg_t *msg, uint64_t *id, uint32_t *attempts,
                          const uint8_t **input, size_t *size);

//  Named scalar arguments of a decoded message; 0 for a message of another
//  type.
static inline uint64_t
    sluice_msg_credit (const sluice_msg_t *msg)         //  CREDIT: tasks granted
    { return msg->type == SLUICE_MSG_CREDIT? msg->arg [0]: 0; }
static inline bool
    sluice_msg_reset (const sluice_msg_t *msg)          //  CREDIT: replaces, not adds
    { return msg->type == SLUICE_MSG_CREDIT && msg->arg [1] != 0; }
static inline uint64_t
    sluice_msg_total (const sluice_msg_t *msg)          //  END, COMPLETE: task count
    { return msg->type == SLUICE_MSG_END || msg->type == SLUICE_MSG_COMPLETE? msg->arg [0]: 0; }
static inline uint64_t
    sluice_msg_low (const sluice_msg_t *msg)            //  PING: ids below are acked
    { return msg->type == SLUICE_MSG_PING? msg->arg [0]: 0; }
static inline uint64_t
    sluice_msg_refuse_reason (const sluice_msg_t *msg)  //  REFUSE: SLUICE_REFUSE_*
    { return msg->type == SLUICE_MSG_REFUSE? msg->arg [0]: 0; }

//  Name of a message type or status, for logs ("TASKS", "ok", ...).
const char *
    sluice_msg_type_name (int type);
const char *
    sluice_status_name (int status);

//  ---------------------------------------------------------------------
//  Config: endpoints and options. One struct serves all three roles.
//  Precedence is flag > environment > topology file > default.
//  A role (ventilator, worker, sink) reads the config it was created with
//  for as long as it lives: destroy the config only after the role.

typedef enum { SLUICE_ROLE_VENTILATOR, SLUICE_ROLE_WORKER, SLUICE_ROLE_SINK } sluice_role_t;
typedef enum { SLUICE_INPUT_LINES, SLUICE_INPUT_NUL, SLUICE_INPUT_MSGPACK } sluice_input_t;
typedef enum {
    SLUICE_MODE_ECHO, SLUICE_MODE_EXEC, SLUICE_MODE_COPROC, SLUICE_MODE_NONE,
    SLUICE_MODE_POOL            //  worker --pool: run the command each batch carries
} sluice_mode_t;
typedef enum {
    SLUICE_FORMAT_LINES, SLUICE_FORMAT_JSONL, SLUICE_FORMAT_MSGPACK,
    SLUICE_FORMAT_RAW           //  each output exactly as produced, nothing added
} sluice_format_t;

//  The settings of one program: endpoints and options. Opaque: set and read
//  options by their long option name (the option table in lib/options.c).
typedef struct _sluice_config_t sluice_config_t;

//  Create a config with the role's defaults. Never returns NULL.
sluice_config_t *
    sluice_config_new (sluice_role_t role);

//  Destroy a config; nulls the caller's pointer.
void
    sluice_config_destroy (sluice_config_t **self_p);

//  Set an option by its long name ("jobs", "tasks", "window", "format",
//  "keep-order", "exec", ...; `worker --help` lists a role's names) from its
//  command-line form: durations "2s", sizes "64M", booleans "1"/"0" or
//  "true"/"false". Options of other roles are stored and ignored. Returns 0,
//  or -1 with a one-line message naming the value (or the unknown name) in err.
int
    sluice_config_set (sluice_config_t *self, const char *name, const char *value,
                       char *err, size_t errlen);

//  An option's value in the string form sluice_config_set takes back
//  ("30s", "64M", "1", "" for an unset file name). The string is owned by
//  the config and valid until the next get of that name or the config's
//  destruction (so one config is not read from two threads at once).
//  Returns NULL for an unknown name.
const char *
    sluice_config_get (const sluice_config_t *self, const char *name);

//  The role the config was created for.
sluice_role_t
    sluice_config_role (const sluice_config_t *self);

//  Load endpoints and options from a ZPL topology file (section "sluice",
//  keys named as the long options that have one). An unknown section or key
//  is an error naming it and its line; so is a path that is not a regular
//  file (a directory, a FIFO: refused without opening it, so never blocks).
//  Returns 0, or -1 with a one-line message in err ("topology.zpl:3:
//  unknown key 'result'").
int
    sluice_config_load_file (sluice_config_t *self, const char *path,
                             char *err, size_t errlen);

//  Load the options that have an environment variable (SLUICE_TASKS,
//  SLUICE_RESULTS, SLUICE_CONTROL); empty variables are ignored.
//  Returns 0, or -1 with a message in err.
int
    sluice_config_load_env (sluice_config_t *self, char *err, size_t errlen);

//  Set one endpoint ("tasks", "results", "control") from a user value:
//  items without @ or > take the role's natural direction. Returns 0, or -1
//  with a message in err naming the bad value.
int
    sluice_config_set_endpoint (sluice_config_t *self, const char *name,
                                const char *value, char *err, size_t errlen);

//  Apply the layers above the defaults: topology file (may be NULL), then
//  environment, then endpoint flags (each may be NULL). Returns 0, or -1
//  with a one-line message in err.
int
    sluice_config_resolve (sluice_config_t *self, const char *file, const char *tasks,
                           const char *results, const char *control,
                           char *err, size_t errlen);

//  Parse a duration: "250ms", "2s", "5m", "1h", bare number = seconds.
//  Returns milliseconds, or -1 if the value is not a duration.
int64_t
    sluice_parse_duration (const char *value);

//  Parse a size: "65536", "64k", "64KiB", "64M", "1G". Returns bytes or -1.
int64_t
    sluice_parse_size (const char *value);

//  Parse a positive count ("4"). Returns it, or -1.
int64_t
    sluice_parse_count (const char *value);

//  ---------------------------------------------------------------------
//  Ventilator: streams tasks to workers, leases and re-sends them until the
//  sink acknowledges each one.

typedef struct _sluice_ventilator_t sluice_ventilator_t;

//  Create a ventilator and bind/connect its sockets. Returns NULL with a
//  message in err on failure (e.g. cannot bind).
sluice_ventilator_t *
    sluice_ventilator_new (const sluice_config_t *config, char *err, size_t errlen);

//  Destroy a ventilator; nulls the caller's pointer.
void
    sluice_ventilator_destroy (sluice_ventilator_t **self_p);

//  Add an input file descriptor, read in config->input format, in order.
void
    sluice_ventilator_add_input (sluice_ventilator_t *self, int fd, const char *name);

//  Submit one task from an embedding program. Blocks (servicing the
//  sockets) while the window is full. Returns the task id, or 0 if
//  interrupted (or the ventilator was closed or has finished).
uint64_t
    sluice_ventilator_submit (sluice_ventilator_t *self, const void *data, size_t size);

//  Read all inputs, then wait until the batch completes (close, then wait).
//  Returns an exit code: SLUICE_EXIT_OK, _FAILED, _ABANDONED or _USAGE.
int
    sluice_ventilator_run (sluice_ventilator_t *self);

//  Embedding in any event loop (poll(2), epoll, libuv, asyncio): watch the
//  fd for readability and call service when it is readable or when the
//  timeout has passed; none of these calls blocks.

//  A file descriptor (an epoll fd owned by the ventilator, holding its
//  sockets' ZMQ_FDs, the input being waited for and a wakeup eventfd) that
//  is readable, level-triggered, whenever service should be called.
int
    sluice_ventilator_fd (sluice_ventilator_t *self);

//  Milliseconds until service is next due (0 = now); at most 1000.
int64_t
    sluice_ventilator_timeout (sluice_ventilator_t *self);

//  Read what arrived, send what can be sent, read inputs while the window
//  has room, run timers. Returns 0 while the batch runs, 1 once it has
//  completed, -1 on a fatal error (bad input record; batch abandoned).
int
    sluice_ventilator_service (sluice_ventilator_t *self);

//  Submit one task without blocking: 0 and *id (may be NULL) on success;
//  -1 with errno EAGAIN when the window is full (service, wait for the fd
//  or the timeout, retry), EPIPE after close or once finished.
int
    sluice_ventilator_try_submit (sluice_ventilator_t *self, const void *data,
                                  size_t size, uint64_t *id);

//  No more tasks will be submitted: the batch ends once every input is
//  read and every task is acknowledged.
void
    sluice_ventilator_close (sluice_ventilator_t *self);

//  Send no more tasks (a first Ctrl-C): what workers are running goes on,
//  and its results are still written and acknowledged. Never blocks.
void
    sluice_ventilator_pause (sluice_ventilator_t *self);

//  Give the batch up now: ABANDON to the sink, DROP to every worker (they
//  kill the batch's commands and forget its tasks), status
//  SLUICE_EXIT_ABANDONED. Never blocks; no-op once the batch has ended.
void
    sluice_ventilator_abandon (sluice_ventilator_t *self);

//  -1 while the batch runs; once it has ended, its exit code.
int
    sluice_ventilator_status (sluice_ventilator_t *self);

//  Service until the batch ends, or abandon it on SIGINT/SIGTERM (CZMQ's
//  zsys_interrupted). Returns the exit code.
int
    sluice_ventilator_wait (sluice_ventilator_t *self);

//  Where a batch stands, for a progress display.
typedef struct {
    uint64_t done;              //  tasks acknowledged: their result written
    uint64_t failed;            //  of them, failed
    uint64_t total;             //  tasks read so far; the batch's total once known
    bool total_known;           //  every input has been read (or closed)
    size_t workers;             //  workers connected now
} sluice_counts_t;

//  Fill counts with the batch's state now. Never blocks.
void
    sluice_ventilator_counts (sluice_ventilator_t *self, sluice_counts_t *counts);

//  ---------------------------------------------------------------------
//  Worker: takes tasks when it has a free slot, processes them, sends
//  results to the sink and holds each until the sink says STORED (re-sent
//  after a reconnect, or after 5 s without STORED). Embeddable in any
//  event loop: wait for
//  sluice_worker_fd to be readable (or sluice_worker_timeout to pass), call
//  sluice_worker_service, take tasks with sluice_worker_recv and answer
//  each with sluice_worker_reply. No call blocks.

typedef struct _sluice_worker_t sluice_worker_t;

//  Create a worker and connect its sockets. Returns NULL with err on failure.
sluice_worker_t *
    sluice_worker_new (const sluice_config_t *config, char *err, size_t errlen);

//  Destroy a worker; nulls the caller's pointer. Results not yet STORED
//  by the sink are dropped (their tasks are re-sent when their leases
//  expire).
void
    sluice_worker_destroy (sluice_worker_t **self_p);

//  Run the configured mode (echo, exec, coproc) until SIGTERM or SIGINT;
//  then finish the tasks in hand within --grace (a second signal stops at
//  once, as does the end of the grace, with unsent results logged).
//  Returns an exit code.
int
    sluice_worker_run (sluice_worker_t *self);

//  A file descriptor (an epoll fd owned by the worker, holding the ZMQ_FD
//  of its sockets and of their monitors, and an eventfd) that is readable,
//  level-triggered,
//  whenever the caller should call sluice_worker_service: a socket has
//  work, or tasks wait for sluice_worker_recv. Works with poll(2), epoll,
//  libuv, asyncio add_reader.
int
    sluice_worker_fd (sluice_worker_t *self);

//  Milliseconds until sluice_worker_service is next due (0 = now): progress
//  reports, credit re-announcements, replies not yet sent. Never negative;
//  at most 1000.
int64_t
    sluice_worker_timeout (sluice_worker_t *self);

//  Never blocks: reads arriving tasks and STORED, sends credit, progress
//  reports and heartbeats, sends (and re-sends) the results the sink has
//  not STORED, and logs the warnings of a missing or wrong peer. Returns 0
//  while the worker has work, 1 once it is drained and every result is
//  STORED, -1 on a fatal error.
int
    sluice_worker_service (sluice_worker_t *self);

//  Take the next queued task. The task's bytes are owned by the worker and
//  stay valid until the task is answered. Returns a handle, or NULL if no
//  task is queued. Never blocks.
typedef struct _sluice_job_t sluice_job_t;
sluice_job_t *
    sluice_worker_recv (sluice_worker_t *self, sluice_task_t *task);

//  Answer a task taken with sluice_worker_recv. Never blocks: the result
//  joins the hold and leaves on a later service; its slot is freed once it
//  is sent, the result itself once the sink has STORED it.
void
    sluice_worker_reply (sluice_worker_t *self, sluice_job_t *job, int status,
                         int code, const void *output, size_t size);

//  sluice_worker_reply with the task's stderr (its first bytes, and the
//  count of bytes beyond them that were discarded), carried to the sink.
void
    sluice_worker_reply_stderr (sluice_worker_t *self, sluice_job_t *job, int status,
                                int code, const void *output, size_t size,
                                const void *err, size_t err_size, uint64_t err_dropped);

//  Stop taking tasks (SIGTERM): the ventilator is told no slots are free.
//  Then service returns 1 once the tasks in hand are answered and STORED.
void
    sluice_worker_drain (sluice_worker_t *self);

//  Start no more tasks, as the worker program does on its first SIGINT or
//  SIGTERM (GNU parallel's first Ctrl-C): drain, and hand the tasks that
//  are queued, not yet taken with sluice_worker_recv, back to the
//  ventilator at once (HANDBACK), which gives them to other workers
//  without spending an attempt; tasks that arrive later go back the same
//  way. The tasks taken are answered as usual, and service returns 1 once
//  they are STORED. Returns how many were handed back (0 when stopped
//  already).
size_t
    sluice_worker_stop (sluice_worker_t *self);

//  ---------------------------------------------------------------------
//  Sink: collects results, writes each task's result exactly once and
//  acknowledges it, exits when the batch is complete. Embeddable: poll
//  sluice_sink_fd, call sluice_sink_service, and (a reader sink) take the
//  results with sluice_sink_next.

typedef struct _sluice_sink_t sluice_sink_t;

//  Create a sink, open its output and bind its sockets. NULL + err on failure.
sluice_sink_t *
    sluice_sink_new (const sluice_config_t *config, char *err, size_t errlen);

//  Destroy a sink; nulls the caller's pointer.
void
    sluice_sink_destroy (sluice_sink_t **self_p);

//  Collect until the batch completes: a poll(2) loop over sluice_sink_fd
//  and sluice_sink_service, stopped by SIGINT/SIGTERM. Returns an exit code.
int
    sluice_sink_run (sluice_sink_t *self);

//  Create a sink that writes nothing: the caller takes each result with
//  sluice_sink_next (its input too when config's format is jsonl). Binds
//  its sockets; NULL + err on failure.
sluice_sink_t *
    sluice_sink_new_reader (const sluice_config_t *config, char *err, size_t errlen);

//  A file descriptor (epoll, over the sockets' ZMQ_FDs and an eventfd) that
//  is readable, level-triggered, whenever sluice_sink_service is due; also
//  while results wait for sluice_sink_next. For poll(2), epoll, libuv,
//  asyncio add_reader.
int
    sluice_sink_fd (sluice_sink_t *self);

//  Milliseconds until sluice_sink_service is next due (0 = now); never
//  negative, at most 1000.
int64_t
    sluice_sink_timeout (sluice_sink_t *self);

//  Never blocks: reads what arrived, writes and acknowledges results, runs
//  timers. Returns 0 while the batch runs, 1 once the sink has finished
//  (see sluice_sink_status), -1 on a fatal error (the output failed).
int
    sluice_sink_service (sluice_sink_t *self);

//  Take the next result (a sink made with sluice_sink_new_reader only).
//  Never blocks. Returns 1 with a result (byte fields borrowed until the
//  next call), 0 if none is ready now, -1 once the batch is complete and
//  every result was taken. Each task's result comes exactly once; it is
//  acknowledged to the ventilator on the next call to sluice_sink_next or
//  sluice_sink_service, never before. With keep-order, in id order.
int
    sluice_sink_next (sluice_sink_t *self, sluice_result_t *result);

//  -1 while the batch runs; once finished, the exit code (SLUICE_EXIT_OK,
//  _FAILED, _ABANDONED or _RUNTIME).
int
    sluice_sink_status (sluice_sink_t *self);

//  Once finished, before sluice_sink_destroy: wait until every worker sent
//  STORED has said it read it (a receipt, protocol 5.1), or until max_ms
//  after the last STORED, whichever is first (a worker's connection that
//  closes loses what it had not read; the worker would hold those results
//  in vain). Blocks. Returns how many workers gave no receipt (0: none
//  was owed one). sluice_sink_run calls it with 100 ms.
int
    sluice_sink_settle (sluice_sink_t *self, int max_ms);

#if defined (__GNUC__)
#   pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
