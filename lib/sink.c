/*  =========================================================================
    sink.c - writes each task's result exactly once and acknowledges it

    Results arrive on a PULL socket from any number of workers. The sink
    keeps the set of finished task ids as a low watermark plus a bitmap of
    the window above it (the ventilator never has more than its window in
    flight), so duplicates - a re-sent task whose first run also finished,
    a reconnect replay - are dropped in constant memory. A result is
    acknowledged to the ventilator only after its record has been written
    to the output (and, with --append, committed to the state file), so a
    crash between the two costs a re-send, never a loss or a duplicate.
    =========================================================================
*/

#include "private.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_OUT_FLUSH (64 * 1024)     //  flush output beyond this many bytes
#define S_EARLY_MAX 1024            //  result messages held before the batch begins
#define S_EARLY_BYTES (16 * 1024 * 1024)
#define S_MAX_ACKS 1024             //  ack ranges per message

typedef struct {
    uint64_t id;                //  task id held, 0 if empty
    uint8_t *data;              //  formatted record
    size_t size;
    size_t capacity;
    bool failed;
} s_held_t;

struct _sluice_sink_t {
    const sluice_config_t *config;
    zsock_t *results;           //  PULL from workers
    zsock_t *control;           //  ROUTER to the ventilator
    void *results_handle;
    void *control_handle;
    sluice_encoder_t *encoder;
    uint8_t routing [256];      //  ventilator's routing id on control
    size_t routing_size;
    //  batch
    bool have_batch;
    uint8_t batch [SLUICE_BATCH_SIZE];
    uint64_t window;            //  from BEGIN
    uint64_t total;             //  from END, 0 until known
    bool have_end;
    bool abandoned;
    bool bye;                   //  the ventilator saw the batch complete
    //  finished ids: all below low, plus bits for [low, low + cap)
    uint64_t low;
    uint8_t *bits;
    size_t cap;                 //  bits, a power of two
    //  --keep-order reorder buffer, a ring of cap entries
    s_held_t *held;
    //  output
    int fd;                     //  output file descriptor
    uint8_t *out;               //  output buffer
    size_t out_size;
    size_t out_capacity;
    uint64_t committed;         //  output offset of the last flush
    FILE *state;                //  --append state file
    char *state_path;
    //  acknowledgements waiting for the output to be flushed
    uint64_t (*acks) [3];       //  first, last, failed
    size_t ack_count;
    uint64_t (*retries) [2];    //  id, attempt
    size_t retry_count;
    //  results received before the batch began
    zlist_t *early;
    size_t early_bytes;         //  bytes held in early
    //  counts
    uint64_t written;
    uint64_t failed;
    uint64_t duplicates;
    uint64_t dropped;
    int64_t started;
    int64_t vent_seen;          //  last message from the ventilator
    bool vent_silent;           //  warned that it went silent
    sluice_ratelimit_t limit;
};

//  --------------------------------------------------------------------------
//  Finished-id set

static bool
s_is_done (sluice_sink_t *self, uint64_t id)
{
    if (id < self->low)
        return true;
    if (id >= self->low + self->cap)
        return false;
    size_t bit = (size_t) (id & (self->cap - 1));
    return (self->bits [bit / 8] >> (bit % 8)) & 1;
}

static void
s_set_done (sluice_sink_t *self, uint64_t id)
{
    size_t bit = (size_t) (id & (self->cap - 1));
    self->bits [bit / 8] |= (uint8_t) (1 << (bit % 8));
    //  slide the window: clear bits as the watermark passes them
    while (true) {
        size_t low_bit = (size_t) (self->low & (self->cap - 1));
        if (!((self->bits [low_bit / 8] >> (low_bit % 8)) & 1))
            break;
        self->bits [low_bit / 8] &= (uint8_t) ~(1 << (low_bit % 8));
        self->low++;
    }
}

static void
    s_release_held (sluice_sink_t *self);

//  Every id below low is finished (the ventilator's PING says it was
//  acknowledged, e.g. to an earlier sink): move the watermark up.
static void
s_skip_to (sluice_sink_t *self, uint64_t low)
{
    if (low <= self->low)
        return;
    if (low - self->low >= self->cap) {
        memset (self->bits, 0, self->cap / 8);
        self->low = low;
        return;
    }
    //  the id at the watermark is never done, so each call moves it on
    while (self->low < low)
        s_set_done (self, self->low);
    if (self->config->keep_order)
        s_release_held (self);
}

//  Size the set and reorder buffer for a window of tasks.
static void
s_size_window (sluice_sink_t *self, uint64_t window)
{
    size_t cap = 1024;
    while (cap < window * 2 && cap < ((size_t) 1 << 30))
        cap *= 2;
    if (cap <= self->cap)
        return;
    //  rebuild: carry over ids that are done above the watermark
    uint8_t *bits = (uint8_t *) calloc (cap / 8, 1);
    assert (bits);
    for (uint64_t id = self->low; self->cap && id < self->low + self->cap; id++)
        if (s_is_done (self, id))
            bits [(id & (cap - 1)) / 8] |= (uint8_t) (1 << ((id & (cap - 1)) % 8));
    free (self->bits);
    self->bits = bits;
    if (self->config->keep_order) {
        s_held_t *held = (s_held_t *) calloc (cap, sizeof (s_held_t));
        assert (held);
        for (size_t i = 0; i < self->cap; i++)
            if (self->held [i].id)
                held [self->held [i].id & (cap - 1)] = self->held [i];
            else
                free (self->held [i].data);
        free (self->held);
        self->held = held;
    }
    self->cap = cap;
}

//  --------------------------------------------------------------------------
//  Output

//  Make room for n more bytes in the output buffer.
static uint8_t *
s_out_reserve (sluice_sink_t *self, size_t n)
{
    if (self->out_size + n > self->out_capacity) {
        while (self->out_size + n > self->out_capacity)
            self->out_capacity *= 2;
        self->out = (uint8_t *) realloc (self->out, self->out_capacity);
        assert (self->out);
    }
    return self->out + self->out_size;
}

static void
s_out_put (sluice_sink_t *self, const void *data, size_t size)
{
    memcpy (s_out_reserve (self, size), data, size);
    self->out_size += size;
}

static void
s_out_str (sluice_sink_t *self, const char *text)
{
    s_out_put (self, text, strlen (text));
}

//  Append bytes as the body of a JSON string: valid UTF-8 passes through,
//  control characters are escaped, an invalid byte becomes \u00XX.
static void
s_out_json (sluice_sink_t *self, const uint8_t *data, size_t size)
{
    char esc [8];
    for (size_t i = 0; i < size; ) {
        uint8_t b = data [i];
        if (b == '"' || b == '\\') {
            esc [0] = '\\';
            esc [1] = (char) b;
            s_out_put (self, esc, 2);
            i++;
        }
        else
        if (b < 0x20) {
            const char *named = b == '\n'? "\\n": b == '\t'? "\\t": b == '\r'? "\\r": NULL;
            if (named)
                s_out_str (self, named);
            else {
                snprintf (esc, sizeof esc, "\\u%04x", b);
                s_out_str (self, esc);
            }
            i++;
        }
        else
        if (b < 0x80) {
            s_out_put (self, &b, 1);
            i++;
        }
        else {
            size_t len = (b & 0xe0) == 0xc0? 2: (b & 0xf0) == 0xe0? 3: (b & 0xf8) == 0xf0? 4: 0;
            bool valid = len && i + len <= size && b >= 0xc2 && b <= 0xf4;
            for (size_t k = 1; valid && k < len; k++)
                valid = (data [i + k] & 0xc0) == 0x80;
            if (valid) {
                s_out_put (self, data + i, len);
                i += len;
            }
            else {
                snprintf (esc, sizeof esc, "\\u%04x", b);
                s_out_str (self, esc);
                i++;
            }
        }
    }
}

//  msgpack helpers for --format msgpack records
static void
s_mp_str (sluice_sink_t *self, const char *text)
{
    size_t len = strlen (text);
    uint8_t header = (uint8_t) (0xa0 | len);
    assert (len < 32);
    s_out_put (self, &header, 1);
    s_out_put (self, text, len);
}

static void
s_mp_uint (sluice_sink_t *self, uint64_t value)
{
    uint8_t buf [9] = { 0xcf };
    for (int i = 0; i < 8; i++)
        buf [1 + i] = (uint8_t) (value >> (56 - 8 * i));
    s_out_put (self, buf, 9);
}

static void
s_mp_bin (sluice_sink_t *self, const uint8_t *data, size_t size)
{
    uint8_t header [5] = { 0xc6, (uint8_t) (size >> 24), (uint8_t) (size >> 16),
                           (uint8_t) (size >> 8), (uint8_t) size };
    s_out_put (self, header, 5);
    if (size)
        s_out_put (self, data, size);
}

//  Format one final result as a record in the output buffer.
static void
s_format (sluice_sink_t *self, const sluice_result_t *r, const uint8_t *worker,
          size_t worker_size)
{
    sluice_format_t format = self->config->format;
    if (format == SLUICE_FORMAT_LINES) {
        if (r->output_size) {
            s_out_put (self, r->output, r->output_size);
            if (r->output [r->output_size - 1] != '\n')
                s_out_put (self, "\n", 1);
        }
        return;
    }
    char number [128];
    if (format == SLUICE_FORMAT_JSONL) {
        snprintf (number, sizeof number, "{\"id\":%" PRIu64 ",\"input\":", r->id);
        s_out_str (self, number);
        if (r->input) {
            s_out_put (self, "\"", 1);
            s_out_json (self, r->input, r->input_size);
            s_out_put (self, "\"", 1);
        }
        else
            s_out_str (self, "null");
        snprintf (number, sizeof number,
                  ",\"status\":\"%s\",\"exit_code\":%d,\"attempts\":%u,\"worker\":\"",
                  sluice_status_name ((int) r->status), (int) r->code, r->attempt);
        s_out_str (self, number);
        s_out_json (self, worker, worker_size);
        snprintf (number, sizeof number, "\",\"elapsed\":%.6f,\"output\":\"",
                  (double) r->elapsed_us / 1e6);
        s_out_str (self, number);
        s_out_json (self, r->output, r->output_size);
        s_out_str (self, "\"}\n");
        return;
    }
    //  msgpack: a map per task, readable by ventilator --msgpack
    uint8_t header = (uint8_t) (0x80 | (r->input? 8: 7));
    s_out_put (self, &header, 1);
    s_mp_str (self, "id");
    s_mp_uint (self, r->id);
    s_mp_str (self, "status");
    s_mp_str (self, sluice_status_name ((int) r->status));
    s_mp_str (self, "code");
    s_mp_uint (self, (uint64_t) (uint32_t) r->code);
    s_mp_str (self, "attempts");
    s_mp_uint (self, r->attempt);
    s_mp_str (self, "worker");
    s_mp_bin (self, worker, worker_size);
    s_mp_str (self, "elapsed_us");
    s_mp_uint (self, r->elapsed_us);
    s_mp_str (self, "output");
    s_mp_bin (self, r->output, r->output_size);
    if (r->input) {
        s_mp_str (self, "input");
        s_mp_bin (self, r->input, r->input_size);
    }
}

//  Queue an acknowledgement, extending the last range when contiguous.
static void
s_queue_ack (sluice_sink_t *self, uint64_t id, bool failed)
{
    if (self->ack_count) {
        uint64_t *last = self->acks [self->ack_count - 1];
        if (last [1] + 1 == id && last [2] == (uint64_t) failed) {
            last [1] = id;
            return;
        }
    }
    self->acks = realloc (self->acks, (self->ack_count + 1) * sizeof *self->acks);
    assert (self->acks);
    self->acks [self->ack_count][0] = id;
    self->acks [self->ack_count][1] = id;
    self->acks [self->ack_count][2] = failed;
    self->ack_count++;
}

//  Send the encoded message to one peer on the control socket.
static void
s_control_send_to (sluice_sink_t *self, const void *routing, size_t routing_size)
{
    if (!routing_size)
        return;
    size_t size;
    const uint8_t *data = sluice_encoder_data (self->encoder, &size);
    if (sluice_send (self->control_handle, routing, routing_size,
                     ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0)
        sluice_send (self->control_handle, data, size, ZMQ_DONTWAIT);
}

//  Send a message to the ventilator of our batch, if one has spoken.
static void
s_control_send (sluice_sink_t *self)
{
    s_control_send_to (self, self->routing, self->routing_size);
}

//  Write the output buffer, commit it to the state file, then send the
//  acknowledgements and retry requests it covers. Returns 0, or -1 if the
//  output cannot be written (the sink cannot go on).
static int
s_flush (sluice_sink_t *self)
{
    size_t done = 0;
    while (done < self->out_size) {
        ssize_t n = write (self->fd, self->out + done, self->out_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            zsys_error ("cannot write output: %s", strerror (errno));
            return -1;
        }
        done += (size_t) n;
    }
    self->committed += self->out_size;
    self->out_size = 0;
    if (self->state && self->ack_count) {
        fprintf (self->state, "commit %" PRIu64, self->committed);
        for (size_t i = 0; i < self->ack_count; i++)
            fprintf (self->state, " %" PRIu64 "-%" PRIu64 "%s", self->acks [i][0],
                     self->acks [i][1], self->acks [i][2]? "f": "");
        fprintf (self->state, "\n");
        fflush (self->state);
    }
    for (size_t i = 0; i < self->ack_count; i += S_MAX_ACKS) {
        sluice_encoder_begin (self->encoder, SLUICE_MSG_ACK, self->batch);
        for (size_t k = i; k < self->ack_count && k < i + S_MAX_ACKS; k++)
            sluice_encoder_uints (self->encoder, 3, self->acks [k]);
        s_control_send (self);
    }
    self->ack_count = 0;
    if (self->retry_count) {
        sluice_encoder_begin (self->encoder, SLUICE_MSG_RETRY, self->batch);
        for (size_t i = 0; i < self->retry_count; i++)
            sluice_encoder_uints (self->encoder, 2, self->retries [i]);
        s_control_send (self);
        self->retry_count = 0;
    }
    return 0;
}

//  Report a failed task on stderr: id, status, input (shortened).
static void
s_report_failure (const sluice_result_t *r)
{
    char input [160] = "";
    size_t n = 0;
    for (size_t i = 0; r->input && i < r->input_size && n + 5 < sizeof input; i++) {
        uint8_t b = r->input [i];
        if (b >= 0x20 && b < 0x7f)
            input [n++] = (char) b;
        else
            n += (size_t) snprintf (input + n, sizeof input - n, "\\x%02x", b);
    }
    input [n] = 0;
    zsys_warning ("task %" PRIu64 " failed (%s %d, attempt %u): %s", r->id,
                      sluice_status_name ((int) r->status), (int) r->code, r->attempt, input);
}

//  Write the records held for --keep-order that are now in sequence.
static void
s_release_held (sluice_sink_t *self)
{
    while (true) {
        s_held_t *held = &self->held [self->low & (self->cap - 1)];
        if (held->id != self->low)
            break;
        s_out_put (self, held->data, held->size);
        held->id = 0;
        s_queue_ack (self, self->low, held->failed);
        s_set_done (self, self->low);
    }
}

//  Take one final result: write it (or hold it for order), mark it done.
static void
s_final (sluice_sink_t *self, const sluice_result_t *r, const uint8_t *worker,
         size_t worker_size)
{
    bool failed = r->status != SLUICE_STATUS_OK;
    self->written++;
    if (failed) {
        self->failed++;
        s_report_failure (r);
    }
    if (!self->config->keep_order || r->id == self->low) {
        s_format (self, r, worker, worker_size);
        s_queue_ack (self, r->id, failed);
        s_set_done (self, r->id);
        if (self->config->keep_order)
            s_release_held (self);
        return;
    }
    //  format into the output buffer, then move the bytes to the held slot
    size_t mark = self->out_size;
    s_format (self, r, worker, worker_size);
    s_held_t *held = &self->held [r->id & (self->cap - 1)];
    size_t size = self->out_size - mark;
    if (held->capacity < size) {
        free (held->data);
        held->capacity = size;
        held->data = (uint8_t *) malloc (size);
        assert (held->data);
    }
    memcpy (held->data, self->out + mark, size);
    held->size = size;
    held->id = r->id;
    held->failed = failed;
    self->out_size = mark;
}

//  True if a result for id is already written or held.
static bool
s_seen (sluice_sink_t *self, uint64_t id)
{
    if (s_is_done (self, id))
        return true;
    return self->config->keep_order && self->held [id & (self->cap - 1)].id == id;
}

//  Handle one result item. Returns false if the item is out of range.
static bool
s_result (sluice_sink_t *self, const sluice_result_t *r, const uint8_t *worker,
          size_t worker_size)
{
    if (r->id == 0 || (self->have_end && r->id > self->total)
    ||  r->id >= self->low + self->cap)
        return false;
    if (s_seen (self, r->id)) {
        self->duplicates++;
        //  acknowledge again: the ventilator may have missed the first ack
        if (s_is_done (self, r->id))
            s_queue_ack (self, r->id, r->status != SLUICE_STATUS_OK);
        return true;
    }
    if (r->status != SLUICE_STATUS_OK && (r->flags & SLUICE_FLAG_RETRYABLE)) {
        self->retries = realloc (self->retries, (self->retry_count + 1) * sizeof *self->retries);
        assert (self->retries);
        self->retries [self->retry_count][0] = r->id;
        self->retries [self->retry_count][1] = r->attempt;
        self->retry_count++;
        sluice_debug ("task %" PRIu64 " failed on attempt %u; retrying", r->id, r->attempt);
        return true;
    }
    s_final (self, r, worker, worker_size);
    return true;
}

//  --------------------------------------------------------------------------
//  State file (--append)

//  Adopt a batch: size the window and record it in the state file.
static void
s_adopt_batch (sluice_sink_t *self, const uint8_t *batch, uint64_t window)
{
    memcpy (self->batch, batch, SLUICE_BATCH_SIZE);
    self->have_batch = true;
    self->window = window;
    s_size_window (self, window);
    if (self->state) {
        char hex [SLUICE_BATCH_SIZE * 2 + 1];
        sluice_batch_str (batch, hex);
        fprintf (self->state, "batch %s %" PRIu64 "\n", hex, window);
        //  a baseline: bytes found past it after a crash were written for
        //  this batch but never committed, even before its first commit
        fprintf (self->state, "commit %" PRIu64 "\n", self->committed + self->out_size);
        fflush (self->state);
    }
}

//  Replay the state file of an earlier run of this sink: batch, end, and
//  committed results; cut the output back to the last commit so a record
//  written but never acknowledged is not left behind. Returns 0 or -1.
static int
s_state_load (sluice_sink_t *self, char *err, size_t errlen)
{
    FILE *file = fopen (self->state_path, "r");
    uint64_t commit = 0;
    bool have_commit = false;
    off_t complete = 0;         //  end of the last complete line
    if (file) {
        char *line = NULL;
        size_t size = 0;
        ssize_t len;
        while ((len = getline (&line, &size, file)) > 0) {
            if (line [len - 1] != '\n')
                break;          //  torn last line: ignore it and its output
            complete += len;
            char hex [64];
            unsigned long long a, b;
            if (sscanf (line, "batch %40s %llu", hex, &a) == 2 && strlen (hex) == 32) {
                uint8_t batch [SLUICE_BATCH_SIZE];
                for (int i = 0; i < SLUICE_BATCH_SIZE; i++) {
                    unsigned byte;
                    sscanf (hex + i * 2, "%2x", &byte);
                    batch [i] = (uint8_t) byte;
                }
                if (self->have_batch && memcmp (batch, self->batch, SLUICE_BATCH_SIZE)) {
                    //  a new batch began later in the file: start over
                    self->low = 1;
                    memset (self->bits, 0, self->cap / 8);
                    self->have_end = false;
                    self->written = self->failed = 0;
                }
                s_adopt_batch (self, batch, a);
            }
            else
            if (sscanf (line, "end %llu", &a) == 1) {
                self->total = a;
                self->have_end = true;
            }
            else
            if (sscanf (line, "commit %llu", &a) == 1 && self->have_batch) {
                commit = a;
                have_commit = true;
                char *p = strchr (line + 7, ' ');
                while (p && *p == ' ') {
                    char *end;
                    a = strtoull (p + 1, &end, 10);
                    if (*end != '-')
                        break;
                    b = strtoull (end + 1, &end, 10);
                    bool failed = *end == 'f';
                    for (uint64_t id = a; id <= b && id >= a; id++)
                        if (!s_is_done (self, id) && id < self->low + self->cap) {
                            s_set_done (self, id);
                            self->written++;
                            if (failed)
                                self->failed++;
                        }
                    p = strchr (end, ' ');
                }
            }
        }
        free (line);
        fclose (file);
    }
    struct stat st;
    if (fstat (self->fd, &st) == 0 && have_commit && (uint64_t) st.st_size > commit) {
        zsys_info ("cutting %" PRIu64 " unacknowledged bytes from the output",
                   (uint64_t) st.st_size - commit);
        if (ftruncate (self->fd, (off_t) commit)) {
            snprintf (err, errlen, "cannot truncate output: %s", strerror (errno));
            return -1;
        }
    }
    if (fstat (self->fd, &st) == 0)
        self->committed = (uint64_t) st.st_size;
    if (self->written)
        zsys_info ("resuming batch: %" PRIu64 " results already written", self->written);
    //  drop a torn last line, so the next line does not glue onto it
    if (truncate (self->state_path, complete) && errno != ENOENT) {
        snprintf (err, errlen, "cannot truncate %s: %s", self->state_path, strerror (errno));
        return -1;
    }
    self->state = fopen (self->state_path, "a");
    if (!self->state) {
        snprintf (err, errlen, "cannot open %s: %s", self->state_path, strerror (errno));
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Construction

sluice_sink_t *
sluice_sink_new (const sluice_config_t *config, char *err, size_t errlen)
{
    sluice_sink_t *self = (sluice_sink_t *) calloc (1, sizeof *self);
    assert (self);
    self->config = config;
    self->encoder = sluice_encoder_new ();
    self->low = 1;
    s_size_window (self, config->window);
    self->out_capacity = S_OUT_FLUSH * 2;
    self->out = (uint8_t *) malloc (self->out_capacity);
    assert (self->out);
    self->early = zlist_new ();
    self->fd = STDOUT_FILENO;
    if (config->output) {
        int flags = O_WRONLY | O_CREAT | (config->append? O_APPEND: O_TRUNC);
        self->fd = open (config->output, flags, 0644);
        if (self->fd < 0) {
            snprintf (err, errlen, "cannot open output %s: %s", config->output, strerror (errno));
            self->fd = -1;
            sluice_sink_destroy (&self);
            return NULL;
        }
        if (config->append) {
            self->state_path = zsys_sprintf ("%s.sluice-state", config->output);
            if (s_state_load (self, err, errlen)) {
                sluice_sink_destroy (&self);
                return NULL;
            }
        }
    }
    //  no high-water mark on results: the ventilator's window already
    //  bounds what is in flight, and libzmq 4.3.4 can abort when a peer
    //  disconnects while input is stopped at the mark ("Assertion failed:
    //  !_io_error (stream_engine_base.cpp:331)", seen under load here)
    self->results = sluice_socket_new (ZMQ_PULL, config, config->results, 0, err, errlen);
    self->control = self->results
                  ? sluice_socket_new (ZMQ_ROUTER, config, config->control, 1000, err, errlen)
                  : NULL;
    if (!self->control) {
        sluice_sink_destroy (&self);
        return NULL;
    }
    self->results_handle = zsock_resolve (self->results);
    self->control_handle = zsock_resolve (self->control);
    return self;
}

void
sluice_sink_destroy (sluice_sink_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_sink_t *self = *self_p;
        sluice_set_linger (self->results, 0);
        sluice_set_linger (self->control, 1000);
        zsock_destroy (&self->results);
        zsock_destroy (&self->control);
        sluice_encoder_destroy (&self->encoder);
        if (self->held)
            for (size_t i = 0; i < self->cap; i++)
                free (self->held [i].data);
        free (self->held);
        free (self->bits);
        free (self->out);
        free (self->acks);
        free (self->retries);
        zlist_destroy (&self->early);
        if (self->state)
            fclose (self->state);
        zstr_free (&self->state_path);
        if (self->fd > STDERR_FILENO)
            close (self->fd);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Messages

//  Handle one RESULTS message; return false to keep it for later (it
//  arrived before the batch began).
static bool
s_handle_results (sluice_sink_t *self, const void *data, size_t size)
{
    sluice_msg_t msg;
    const char *reason = "not a RESULTS message";
    if (sluice_msg_open (&msg, data, size, &reason) || msg.type != SLUICE_MSG_RESULTS) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed result message "
                                 "(%zu bytes): %s", size, reason);
        return true;
    }
    if (!self->have_batch)
        return false;
    if (memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE)) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped results of an unknown batch");
        return true;
    }
    //  one pass: results before a malformed item are valid and are kept
    sluice_result_t result;
    int rc;
    while ((rc = sluice_msg_next_result (&msg, &result)) > 0)
        if (!s_result (self, &result, msg.worker, msg.worker_size)) {
            self->dropped++;
            sluice_warn_ratelimited (&self->limit, "dropped result for task %" PRIu64
                                     " outside the batch", result.id);
        }
    if (rc < 0) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped the rest of a result message "
                                 "(%zu bytes): malformed list item", size);
    }
    return true;
}

//  Process results that arrived before the batch began.
static void
s_replay_early (sluice_sink_t *self)
{
    zchunk_t *chunk;
    while ((chunk = (zchunk_t *) zlist_pop (self->early))) {
        s_handle_results (self, zchunk_data (chunk), zchunk_size (chunk));
        zchunk_destroy (&chunk);
    }
    self->early_bytes = 0;
}

static void
s_send_pong (sluice_sink_t *self, zmq_msg_t *routing)
{
    uint64_t args [2] = { self->config->format == SLUICE_FORMAT_JSONL, self->have_end };
    sluice_encoder_scalar (self->encoder, SLUICE_MSG_PONG,
                           self->have_batch? self->batch: NULL, 2, args);
    s_control_send_to (self, zmq_msg_data (routing), zmq_msg_size (routing));
}

//  Remember the peer that speaks for our batch: acks and COMPLETE go there.
static void
s_adopt_routing (sluice_sink_t *self, zmq_msg_t *routing)
{
    if (zmq_msg_size (routing) <= sizeof self->routing) {
        memcpy (self->routing, zmq_msg_data (routing), zmq_msg_size (routing));
        self->routing_size = zmq_msg_size (routing);
    }
}

//  Handle one control message from the ventilator.
static void
s_handle_control (sluice_sink_t *self, zmq_msg_t *routing, zmq_msg_t *body)
{
    sluice_msg_t msg;
    const char *reason = "unexpected message type";
    if (sluice_msg_decode (&msg, zmq_msg_data (body), zmq_msg_size (body), &reason)
    ||  msg.type < SLUICE_MSG_BEGIN || msg.type > SLUICE_MSG_BYE
    ||  msg.type == SLUICE_MSG_ACK || msg.type == SLUICE_MSG_RETRY
    ||  msg.type == SLUICE_MSG_COMPLETE || msg.type == SLUICE_MSG_PONG) {
        self->dropped++;
        sluice_warn_ratelimited (&self->limit, "dropped malformed control message "
                                 "(%zu bytes): %s", zmq_msg_size (body), reason);
        return;
    }
    if (msg.type == SLUICE_MSG_BEGIN) {
        if (self->have_batch && memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE)) {
            if (self->written || self->have_end) {
                self->dropped++;
                sluice_warn_ratelimited (&self->limit,
                    "ignoring a second batch; this sink serves one batch");
                return;
            }
            self->have_batch = false;
        }
        if (!self->have_batch) {
            s_adopt_batch (self, msg.batch, msg.arg [0]);
            char hex [SLUICE_BATCH_SIZE * 2 + 1];
            sluice_batch_str (msg.batch, hex);
            sluice_debug ("batch %s began (window %" PRIu64 ")", hex, msg.arg [0]);
            s_replay_early (self);
        }
        s_adopt_routing (self, routing);
        self->vent_seen = sluice_now_ms ();
        s_send_pong (self, routing);
        return;
    }
    if (!self->have_batch || memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE)) {
        //  not our batch: answer the sender, but keep acknowledging ours
        if (msg.type == SLUICE_MSG_PING)
            s_send_pong (self, routing);
        return;
    }
    s_adopt_routing (self, routing);
    self->vent_seen = sluice_now_ms ();
    switch (msg.type) {
        case SLUICE_MSG_END:
            if (!self->have_end) {
                self->total = msg.arg [0];
                self->have_end = true;
                if (self->state) {
                    fprintf (self->state, "end %" PRIu64 "\n", self->total);
                    fflush (self->state);
                }
            }
            break;
        case SLUICE_MSG_PING:
            s_skip_to (self, msg.arg [0]);
            s_send_pong (self, routing);
            break;
        case SLUICE_MSG_ABANDON:
            self->abandoned = true;
            break;
        case SLUICE_MSG_BYE:
            self->bye = true;
            break;
        case SLUICE_MSG_LOST: {
            uint64_t id;
            uint32_t attempts;
            const uint8_t *input;
            size_t size;
            while (sluice_msg_next_lost (&msg, &id, &attempts, &input, &size) > 0) {
                sluice_result_t r = { .id = id, .attempt = attempts,
                                      .status = SLUICE_STATUS_LOST, .input = input,
                                      .input_size = size };
                s_result (self, &r, (const uint8_t *) "", 0);
            }
            break;
        }
        default:
            break;
    }
}

//  Drain both sockets. Returns -1 if the output failed.
static int
s_drain (sluice_sink_t *self)
{
    int budget = 10000;
    while (budget-- > 0) {
        bool any = false;
        zmq_msg_t routing, body;
        zmq_msg_init (&routing);
        if (zmq_msg_recv (&routing, self->control_handle, ZMQ_DONTWAIT) >= 0) {
            any = true;
            zmq_msg_init (&body);
            if (zmq_msg_more (&routing)
            &&  zmq_msg_recv (&body, self->control_handle, ZMQ_DONTWAIT) >= 0
            &&  !zmq_msg_more (&body))
                s_handle_control (self, &routing, &body);
            else {
                self->dropped++;
                sluice_warn_ratelimited (&self->limit, "dropped malformed control frames");
                while (zmq_msg_more (&body) && zmq_msg_recv (&body, self->control_handle, 0) >= 0)
                    ;
            }
            zmq_msg_close (&body);
        }
        zmq_msg_close (&routing);
        zmq_msg_init (&body);
        if (zmq_msg_recv (&body, self->results_handle, ZMQ_DONTWAIT) >= 0) {
            any = true;
            if (zmq_msg_more (&body)) {
                self->dropped++;
                sluice_warn_ratelimited (&self->limit, "dropped multi-part result message");
                while (zmq_msg_more (&body) && zmq_msg_recv (&body, self->results_handle, 0) >= 0)
                    ;
            }
            else
            if (!s_handle_results (self, zmq_msg_data (&body), zmq_msg_size (&body))) {
                if (zlist_size (self->early) < S_EARLY_MAX
                &&  self->early_bytes + zmq_msg_size (&body) <= S_EARLY_BYTES) {
                    zlist_append (self->early,
                                  zchunk_new (zmq_msg_data (&body), zmq_msg_size (&body)));
                    self->early_bytes += zmq_msg_size (&body);
                }
                else
                    sluice_warn_ratelimited (&self->limit,
                        "dropped results that arrived before the batch began "
                        "(they will be re-sent)");
            }
        }
        zmq_msg_close (&body);
        if (self->out_size >= S_OUT_FLUSH && s_flush (self))
            return -1;
        if (!any)
            break;
    }
    return s_flush (self);
}

//  Destroy results still held from before the batch began.
static void
s_purge_early (sluice_sink_t *self)
{
    zchunk_t *chunk;
    while ((chunk = (zchunk_t *) zlist_pop (self->early)))
        zchunk_destroy (&chunk);
}

//  The ventilator pings every second: say so when it goes silent and when
//  it is back (it may be restarting with --journal).
static void
s_watch_ventilator (sluice_sink_t *self)
{
    if (!self->vent_seen)
        return;
    bool silent = sluice_now_ms () - self->vent_seen > 5000;
    if (silent && !self->vent_silent)
        zsys_warning ("ventilator not heard from for 5 s; waiting for it");
    else
    if (!silent && self->vent_silent)
        zsys_info ("ventilator is back");
    self->vent_silent = silent;
}

int
sluice_sink_run (sluice_sink_t *self)
{
    self->started = sluice_now_ms ();
    int64_t first_result = 0;
    int rc = SLUICE_EXIT_OK;
    while (true) {
        if (zsys_interrupted) {
            zsys_warning ("interrupted before the batch completed");
            rc = SLUICE_EXIT_ABANDONED;
            break;
        }
        if (s_drain (self)) {
            rc = SLUICE_EXIT_RUNTIME;
            break;
        }
        if (!first_result && self->written)
            first_result = sluice_now_ms ();
        if (self->abandoned) {
            zsys_warning ("the ventilator abandoned the batch");
            rc = SLUICE_EXIT_ABANDONED;
            break;
        }
        if (self->have_end && self->low > self->total)
            break;
        if (self->bye) {
            //  the ventilator counted every task acknowledged, some by an
            //  earlier sink (journal resume): nothing more will come
            zsys_info ("the ventilator reports the batch complete");
            break;
        }
        s_watch_ventilator (self);
        zmq_pollitem_t items [2] = {
            { self->results_handle, 0, ZMQ_POLLIN, 0 },
            { self->control_handle, 0, ZMQ_POLLIN, 0 }
        };
        zmq_poll (items, 2, 500);
    }
    s_purge_early (self);
    if (rc == SLUICE_EXIT_OK) {
        //  tell the ventilator, and wait briefly for its goodbye
        uint64_t args [2] = { self->total, self->failed };
        int64_t deadline = sluice_now_ms () + 3000;
        bool bye = self->bye;
        //  the ventilator may not have spoken to us yet (this sink was
        //  restarted with --append) or may have changed (a --journal
        //  re-run): whoever speaks for our batch - it pings every second -
        //  learns that the batch is complete
        while (!bye && sluice_now_ms () < deadline && !zsys_interrupted) {
            if (self->routing_size) {
                sluice_encoder_scalar (self->encoder, SLUICE_MSG_COMPLETE, self->batch, 2, args);
                s_control_send (self);
            }
            zmq_pollitem_t item = { self->control_handle, 0, ZMQ_POLLIN, 0 };
            if (zmq_poll (&item, 1, 300) > 0) {
                zmq_msg_t routing, body;
                zmq_msg_init (&routing);
                zmq_msg_init (&body);
                sluice_msg_t msg;
                if (zmq_msg_recv (&routing, self->control_handle, ZMQ_DONTWAIT) >= 0
                &&  zmq_msg_more (&routing)
                &&  zmq_msg_recv (&body, self->control_handle, ZMQ_DONTWAIT) >= 0
                &&  sluice_msg_decode (&msg, zmq_msg_data (&body), zmq_msg_size (&body), NULL) == 0
                &&  msg.has_batch
                &&  memcmp (msg.batch, self->batch, SLUICE_BATCH_SIZE) == 0) {
                    s_adopt_routing (self, &routing);
                    if (msg.type == SLUICE_MSG_BYE)
                        bye = true;
                }
                zmq_msg_close (&routing);
                zmq_msg_close (&body);
            }
        }
        rc = self->failed? SLUICE_EXIT_FAILED: SLUICE_EXIT_OK;
    }
    double secs = (double) (sluice_now_ms () - self->started) / 1000.0;
    if (!self->config->quiet)
        zsys_info ("%" PRIu64 " tasks, %" PRIu64 " failed, %.2f s, %.0f tasks/s%s",
                   self->written, self->failed, secs,
                   secs > 0? (double) self->written / secs: 0.0, "");
    if (!self->config->quiet && (self->dropped || self->duplicates))
        zsys_info ("%" PRIu64 " malformed or foreign messages dropped, %" PRIu64
                   " duplicate results ignored", self->dropped, self->duplicates);
    return rc;
}
