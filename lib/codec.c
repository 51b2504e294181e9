/*  =========================================================================
    codec.c - encode and validate-then-decode sluice wire messages

    Encoding uses msgpack-c's packer into a reusable buffer: no allocation
    per message once the buffer has grown. Decoding does not use msgpack-c's
    unpacker, which allocates room for as many objects as an array *claims*
    before reading them (five bytes can ask for gigabytes). Instead a cursor
    checks every length against the bytes that remain, validates the whole
    message once, and then hands out borrowed views of its fields.
    =========================================================================
*/

#include "private.h"

#include <msgpack.h>

struct _sluice_encoder_t {
    msgpack_sbuffer buffer;     //  message bytes, reused between messages
    msgpack_packer packer;      //  writes into buffer
    size_t list_at;             //  offset of the list header to patch
    uint32_t count;             //  list items appended
    bool has_list;              //  message ends with a list
};

//  --------------------------------------------------------------------------
//  Encoder

//  Hot path. Packing a task through msgpack_pack_* costs one callback and
//  one small memcpy per field: callgrind showed msgpack_sbuffer_write at 27%
//  of a --echo worker's instructions. Task and result items are therefore
//  written straight into the packer's buffer, in the same encodings
//  msgpack-c would choose (smallest integer form, bin 8/16/32).

//  Make room for n more bytes; returns where to write them.
static uint8_t *
s_reserve (sluice_encoder_t *self, size_t n)
{
    msgpack_sbuffer *buffer = &self->buffer;
    if (buffer->alloc - buffer->size < n) {
        size_t alloc = buffer->alloc? buffer->alloc * 2: 8192;
        while (alloc < buffer->size + n)
            alloc *= 2;
        buffer->data = (char *) realloc (buffer->data, alloc);
        assert (buffer->data);
        buffer->alloc = alloc;
    }
    return (uint8_t *) buffer->data + buffer->size;
}

static inline uint8_t *
s_put_be (uint8_t *p, uint8_t marker, uint64_t value, int bytes)
{
    *p++ = marker;
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (uint8_t) (value >> (8 * i));
    return p;
}

//  Write an unsigned integer in its smallest encoding (at most 9 bytes).
static inline uint8_t *
s_put_uint (uint8_t *p, uint64_t value)
{
    if (value < 128) {
        *p++ = (uint8_t) value;
        return p;
    }
    if (value <= UINT8_MAX)
        return s_put_be (p, 0xcc, value, 1);
    if (value <= UINT16_MAX)
        return s_put_be (p, 0xcd, value, 2);
    if (value <= UINT32_MAX)
        return s_put_be (p, 0xce, value, 4);
    return s_put_be (p, 0xcf, value, 8);
}

//  Write a signed 32-bit integer (at most 5 bytes).
static inline uint8_t *
s_put_int (uint8_t *p, int32_t value)
{
    if (value >= 0)
        return s_put_uint (p, (uint64_t) value);
    if (value >= -32) {
        *p++ = (uint8_t) (int8_t) value;
        return p;
    }
    if (value >= INT8_MIN)
        return s_put_be (p, 0xd0, (uint64_t) (uint8_t) (int8_t) value, 1);
    if (value >= INT16_MIN)
        return s_put_be (p, 0xd1, (uint64_t) (uint16_t) (int16_t) value, 2);
    return s_put_be (p, 0xd2, (uint64_t) (uint32_t) value, 4);
}

//  Write a bin header and body (header at most 5 bytes).
static inline uint8_t *
s_put_bin (uint8_t *p, const void *data, size_t size)
{
    if (size <= UINT8_MAX)
        p = s_put_be (p, 0xc4, size, 1);
    else
    if (size <= UINT16_MAX)
        p = s_put_be (p, 0xc5, size, 2);
    else
        p = s_put_be (p, 0xc6, size, 4);
    if (size)
        memcpy (p, data, size);
    return p + size;
}

static inline void
s_commit (sluice_encoder_t *self, const uint8_t *end)
{
    self->buffer.size = (size_t) (end - (const uint8_t *) self->buffer.data);
}

sluice_encoder_t *
sluice_encoder_new (void)
{
    sluice_encoder_t *self = (sluice_encoder_t *) calloc (1, sizeof *self);
    assert (self);
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->packer, &self->buffer, msgpack_sbuffer_write);
    return self;
}

void
sluice_encoder_destroy (sluice_encoder_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_encoder_t *self = *self_p;
        msgpack_sbuffer_destroy (&self->buffer);
        free (self);
        *self_p = NULL;
    }
}

//  Write the common header: array of n, signature, version, type, batch.
static void
s_header (sluice_encoder_t *self, size_t n, int type, const uint8_t *batch)
{
    self->buffer.size = 0;
    self->count = 0;
    self->has_list = false;
    msgpack_pack_array (&self->packer, n);
    msgpack_pack_uint16 (&self->packer, SLUICE_SIGNATURE);
    msgpack_pack_uint8 (&self->packer, SLUICE_PROTOCOL);
    msgpack_pack_uint8 (&self->packer, (uint8_t) type);
    if (batch) {
        msgpack_pack_bin (&self->packer, SLUICE_BATCH_SIZE);
        msgpack_pack_bin_body (&self->packer, batch, SLUICE_BATCH_SIZE);
    }
    else
        msgpack_pack_nil (&self->packer);
}

//  Reserve an array32 header for the list; its count is patched at the end.
static void
s_open_list (sluice_encoder_t *self)
{
    static const char placeholder [5] = { (char) 0xdd, 0, 0, 0, 0 };
    self->list_at = self->buffer.size;
    msgpack_sbuffer_write (&self->buffer, placeholder, sizeof placeholder);
    self->has_list = true;
}

void
sluice_encoder_begin (sluice_encoder_t *self, int type, const uint8_t *batch)
{
    if (type == SLUICE_MSG_TASKS) {
        sluice_encoder_begin_tasks (self, batch, NULL);
        return;
    }
    s_header (self, 5, type, batch);
    s_open_list (self);
}

void
sluice_encoder_begin_tasks (sluice_encoder_t *self, const uint8_t *batch,
                            const sluice_command_t *command)
{
    s_header (self, 6, SLUICE_MSG_TASKS, batch);
    if (command) {
        msgpack_pack_array (&self->packer, 3);
        msgpack_pack_uint32 (&self->packer, command->kind);
        msgpack_pack_uint32 (&self->packer, command->flags);
        size_t size = strlen (command->line);
        msgpack_pack_bin (&self->packer, size);
        if (size)
            msgpack_pack_bin_body (&self->packer, command->line, size);
    }
    else
        msgpack_pack_nil (&self->packer);
    s_open_list (self);
}

static void
s_pack_bin (sluice_encoder_t *self, const void *data, size_t size)
{
    msgpack_pack_bin (&self->packer, size);
    if (size)
        msgpack_pack_bin_body (&self->packer, data, size);
}

void
sluice_encoder_begin_results (sluice_encoder_t *self, const uint8_t *batch,
                              const char *worker)
{
    s_header (self, 6, SLUICE_MSG_RESULTS, batch);
    s_pack_bin (self, worker, strlen (worker));
    s_open_list (self);
}

void
sluice_encoder_task (sluice_encoder_t *self, uint64_t id, uint32_t attempt,
                     uint32_t flags, const void *data, size_t size)
{
    uint8_t *p = s_reserve (self, 1 + 9 + 5 + 5 + 5 + size);
    *p++ = 0x94;                //  fixarray of 4
    p = s_put_uint (p, id);
    p = s_put_uint (p, attempt);
    p = s_put_uint (p, flags);
    p = s_put_bin (p, data, size);
    s_commit (self, p);
    self->count++;
}

void
sluice_encoder_result (sluice_encoder_t *self, const sluice_result_t *r)
{
    uint8_t *p = s_reserve (self, 1 + 9 + 5 + 5 + 5 + 5 + 9 + 5 + r->output_size
                                  + 5 + r->input_size + 5 + r->stderr_size + 9);
    *p++ = 0x9a;                //  fixarray of 10
    p = s_put_uint (p, r->id);
    p = s_put_uint (p, r->attempt);
    p = s_put_uint (p, r->flags);
    p = s_put_uint (p, r->status);
    p = s_put_int (p, r->code);
    p = s_put_uint (p, r->elapsed_us);
    p = s_put_bin (p, r->output, r->output_size);
    if (r->input)
        p = s_put_bin (p, r->input, r->input_size);
    else
        *p++ = 0xc0;            //  nil
    p = s_put_bin (p, r->stderr_data, r->stderr_size);
    p = s_put_uint (p, r->stderr_dropped);
    s_commit (self, p);
    self->count++;
}

void
sluice_encoder_uints (sluice_encoder_t *self, size_t n, const uint64_t *values)
{
    assert (n >= 1 && n <= 3);
    uint8_t *p = s_reserve (self, 1 + 9 * n);
    if (n > 1)
        *p++ = (uint8_t) (0x90 | n);
    for (size_t i = 0; i < n; i++)
        p = s_put_uint (p, values [i]);
    s_commit (self, p);
    self->count++;
}

void
sluice_encoder_lost (sluice_encoder_t *self, uint64_t id, uint32_t attempts,
                     const void *input, size_t size)
{
    msgpack_pack_array (&self->packer, 3);
    msgpack_pack_uint64 (&self->packer, id);
    msgpack_pack_uint32 (&self->packer, attempts);
    s_pack_bin (self, input, size);
    self->count++;
}

void
sluice_encoder_scalar (sluice_encoder_t *self, int type, const uint8_t *batch,
                       size_t n, const uint64_t *args)
{
    s_header (self, 4 + n, type, batch);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_uint64 (&self->packer, args [i]);
}

void
sluice_encoder_credit (sluice_encoder_t *self, uint64_t credit, bool reset)
{
    uint64_t args [2] = { credit, reset };
    sluice_encoder_scalar (self, SLUICE_MSG_CREDIT, NULL, 2, args);
}

uint32_t
sluice_encoder_count (sluice_encoder_t *self)
{
    return self->count;
}

const uint8_t *
sluice_encoder_data (sluice_encoder_t *self, size_t *size)
{
    if (self->has_list) {
        uint8_t *p = (uint8_t *) self->buffer.data + self->list_at + 1;
        p [0] = (uint8_t) (self->count >> 24);
        p [1] = (uint8_t) (self->count >> 16);
        p [2] = (uint8_t) (self->count >> 8);
        p [3] = (uint8_t) self->count;
    }
    *size = self->buffer.size;
    return (const uint8_t *) self->buffer.data;
}

//  Free callback for zmq_msg_init_data.
static void
s_free_buffer (void *data, void *hint)
{
    (void) hint;
    free (data);
}

int
sluice_encoder_take (sluice_encoder_t *self, zmq_msg_t *msg)
{
    size_t size;
    sluice_encoder_data (self, &size);
    size_t hint = self->buffer.alloc;
    if (zmq_msg_init_data (msg, self->buffer.data, size, s_free_buffer, NULL))
        return -1;
    //  the next message starts in a fresh buffer of the same capacity, so
    //  a stream of large messages does not grow one from scratch each time
    self->buffer.data = (char *) malloc (hint);
    assert (self->buffer.data);
    self->buffer.alloc = hint;
    self->buffer.size = 0;
    self->has_list = false;
    self->count = 0;
    return 0;
}

//  --------------------------------------------------------------------------
//  Bounded MessagePack cursor. Each reader returns 0 and advances, or -1
//  and leaves the cursor unspecified (the caller drops the message).

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
} s_cursor_t;

//  Read n bytes big-endian as an unsigned integer.
static int
s_be (s_cursor_t *c, size_t n, uint64_t *value)
{
    if ((size_t) (c->end - c->p) < n)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | c->p [i];
    c->p += n;
    *value = v;
    return 0;
}

//  Read a non-negative integer of any MessagePack integer encoding.
static int
s_uint_slow (s_cursor_t *c, uint64_t *value)
{
    if (c->p >= c->end)
        return -1;
    uint8_t b = *c->p++;
    switch (b) {
        case 0xcc: return s_be (c, 1, value);
        case 0xcd: return s_be (c, 2, value);
        case 0xce: return s_be (c, 4, value);
        case 0xcf: return s_be (c, 8, value);
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            //  signed encodings are accepted when the value is >= 0
            size_t n = (size_t) 1 << (b - 0xd0);
            if (s_be (c, n, value))
                return -1;
            if (*value >> (n * 8 - 1))
                return -1;
            return 0;
        }
        default: return -1;
    }
}

//  Fast path for the common positive fixint (ids, attempts, flags).
static inline int
s_uint (s_cursor_t *c, uint64_t *value)
{
    const uint8_t *p = c->p;
    size_t left = (size_t) (c->end - p);
    if (left && p [0] <= 0x7f) {
        *value = p [0];
        c->p += 1;
        return 0;
    }
    if (left >= 3 && p [0] == 0xcd) {
        *value = (uint64_t) p [1] << 8 | p [2];
        c->p += 3;
        return 0;
    }
    if (left >= 5 && p [0] == 0xce) {
        *value = (uint64_t) p [1] << 24 | (uint64_t) p [2] << 16 | (uint64_t) p [3] << 8 | p [4];
        c->p += 5;
        return 0;
    }
    return s_uint_slow (c, value);
}

//  A list item failed to read: the rest of the message is unreadable.
static int
s_next_fail (sluice_msg_t *msg)
{
    msg->next = msg->count;
    msg->cur = msg->end;
    return -1;
}

//  Read an unsigned integer that must fit in 32 bits.
static int
s_uint32 (s_cursor_t *c, uint32_t *value)
{
    uint64_t v;
    if (s_uint (c, &v) || v > UINT32_MAX)
        return -1;
    *value = (uint32_t) v;
    return 0;
}

//  Read a signed 32-bit integer of any integer encoding.
static int
s_int32 (s_cursor_t *c, int32_t *value)
{
    if (c->p >= c->end)
        return -1;
    uint8_t b = *c->p;
    if (b >= 0xe0) {
        c->p++;
        *value = (int8_t) b;
        return 0;
    }
    if (b >= 0xd0 && b <= 0xd3) {
        c->p++;
        size_t n = (size_t) 1 << (b - 0xd0);
        uint64_t raw;
        if (s_be (c, n, &raw))
            return -1;
        int64_t v = n == 8? (int64_t) raw
                  : (int64_t) (raw ^ ((uint64_t) 1 << (n * 8 - 1))) - ((int64_t) 1 << (n * 8 - 1));
        if (v < INT32_MIN || v > INT32_MAX)
            return -1;
        *value = (int32_t) v;
        return 0;
    }
    uint64_t u;
    if (s_uint (c, &u) || u > INT32_MAX)
        return -1;
    *value = (int32_t) u;
    return 0;
}

//  Read an array header.
static int
s_array (s_cursor_t *c, uint32_t *count)
{
    if (c->p >= c->end)
        return -1;
    uint8_t b = *c->p++;
    uint64_t n;
    if ((b & 0xf0) == 0x90)
        n = b & 0x0f;
    else
    if (b == 0xdc) {
        if (s_be (c, 2, &n))
            return -1;
    }
    else
    if (b == 0xdd) {
        if (s_be (c, 4, &n))
            return -1;
    }
    else
        return -1;
    //  every element takes at least one byte: a larger claim is a lie
    if (n > (uint64_t) (c->end - c->p))
        return -1;
    *count = (uint32_t) n;
    return 0;
}

//  Read bin or str bytes; *data points into the message.
static int
s_bytes_slow (s_cursor_t *c, const uint8_t **data, size_t *size)
{
    if (c->p >= c->end)
        return -1;
    uint8_t b = *c->p++;
    uint64_t n;
    if ((b & 0xe0) == 0xa0)
        n = b & 0x1f;
    else
    if (b == 0xc4 || b == 0xd9) {
        if (s_be (c, 1, &n))
            return -1;
    }
    else
    if (b == 0xc5 || b == 0xda) {
        if (s_be (c, 2, &n))
            return -1;
    }
    else
    if (b == 0xc6 || b == 0xdb) {
        if (s_be (c, 4, &n))
            return -1;
    }
    else
        return -1;
    if (n > (uint64_t) (c->end - c->p))
        return -1;
    *data = c->p;
    *size = (size_t) n;
    c->p += n;
    return 0;
}

//  Fast path for bin 8, the encoding of every payload under 256 bytes.
static inline int
s_bytes (s_cursor_t *c, const uint8_t **data, size_t *size)
{
    if (c->end - c->p >= 2 && c->p [0] == 0xc4 && c->p [1] <= c->end - c->p - 2) {
        *size = c->p [1];
        *data = c->p + 2;
        c->p += 2 + *size;
        return 0;
    }
    return s_bytes_slow (c, data, size);
}

//  Read nil, returning 1 if it was nil (and consuming it), 0 if not.
static int
s_nil (s_cursor_t *c)
{
    if (c->p < c->end && *c->p == 0xc0) {
        c->p++;
        return 1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Item readers shared by validation and iteration

static int
s_task (s_cursor_t *c, sluice_task_t *task)
{
    uint32_t n;
    if (s_array (c, &n) || n != 4
    ||  s_uint (c, &task->id) || s_uint32 (c, &task->attempt)
    ||  s_uint32 (c, &task->flags)
    ||  s_bytes (c, &task->data, &task->size))
        return -1;
    return 0;
}

static int
s_result (s_cursor_t *c, sluice_result_t *r)
{
    uint32_t n;
    if (s_array (c, &n) || n != 10
    ||  s_uint (c, &r->id) || s_uint32 (c, &r->attempt)
    ||  s_uint32 (c, &r->flags) || s_uint32 (c, &r->status)
    ||  s_int32 (c, &r->code) || s_uint (c, &r->elapsed_us)
    ||  s_bytes (c, &r->output, &r->output_size))
        return -1;
    if (r->status > SLUICE_STATUS_MAX)
        return -1;
    if (s_nil (c)) {
        r->input = NULL;
        r->input_size = 0;
    }
    else
    if (s_bytes (c, &r->input, &r->input_size))
        return -1;
    return s_bytes (c, &r->stderr_data, &r->stderr_size)
        || s_uint (c, &r->stderr_dropped)? -1: 0;
}

//  Items of PROGRESS and HANDBACK (1 uint), RETRY and STORED (array of
//  2), ACK (array of 3).
static int
s_uints (s_cursor_t *c, int type, uint64_t *values)
{
    if (type == SLUICE_MSG_PROGRESS || type == SLUICE_MSG_HANDBACK)
        return s_uint (c, &values [0])? -1: 1;
    uint32_t want = type == SLUICE_MSG_RETRY || type == SLUICE_MSG_STORED? 2: 3;
    uint32_t n;
    if (s_array (c, &n) || n != want)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (s_uint (c, &values [i]))
            return -1;
    return (int) n;
}

static int
s_lost (s_cursor_t *c, uint64_t *id, uint32_t *attempts, const uint8_t **input,
        size_t *size)
{
    uint32_t n;
    if (s_array (c, &n) || n != 3
    ||  s_uint (c, id) || s_uint32 (c, attempts) || s_bytes (c, input, size))
        return -1;
    return 0;
}

//  Validate one list item of the given message type.
static int
s_check_item (s_cursor_t *c, int type)
{
    if (type == SLUICE_MSG_TASKS) {
        sluice_task_t task;
        return s_task (c, &task);
    }
    if (type == SLUICE_MSG_RESULTS) {
        sluice_result_t result;
        return s_result (c, &result);
    }
    if (type == SLUICE_MSG_LOST) {
        uint64_t id;
        uint32_t attempts;
        const uint8_t *input;
        size_t size;
        return s_lost (c, &id, &attempts, &input, &size);
    }
    uint64_t values [3];
    return s_uints (c, type, values) < 0? -1: 0;
}

//  Number of scalar arguments of each scalar message type, -1 for lists.
static int
s_scalars (int type)
{
    switch (type) {
        case SLUICE_MSG_CREDIT:   return 2;   //  credit, reset
        case SLUICE_MSG_BEGIN:    return 3;   //  window, retries, max_attempts
        case SLUICE_MSG_END:      return 1;   //  count
        case SLUICE_MSG_ABANDON:  return 0;
        case SLUICE_MSG_PING:     return 1;   //  low: every id below it is acknowledged
        case SLUICE_MSG_COMPLETE: return 2;   //  total, failed
        case SLUICE_MSG_PONG:     return 2;   //  need_input, has_end
        case SLUICE_MSG_BYE:      return 0;
        case SLUICE_MSG_REFUSE:   return 1;   //  reason
        case SLUICE_MSG_DROP:     return 0;
        default:                  return -1;
    }
}

//  TASKS' command: nil, or [kind, flags, line] with a known kind.
static int
s_command (s_cursor_t *c, sluice_msg_t *msg)
{
    if (s_nil (c))
        return 0;
    uint32_t n;
    if (s_array (c, &n) || n != 3
    ||  s_uint32 (c, &msg->command_kind) || s_uint32 (c, &msg->command_flags)
    ||  s_bytes (c, &msg->command, &msg->command_size))
        return -1;
    if (msg->command_kind != SLUICE_COMMAND_EXEC && msg->command_kind != SLUICE_COMMAND_COPROC)
        return -1;
    msg->has_command = true;
    return 0;
}

//  Decode the header; with walk, validate every list item too.
static int
s_decode (sluice_msg_t *msg, const void *data, size_t size, const char **reason,
          bool walk)
{
    const char *dummy;
    if (!reason)
        reason = &dummy;
    memset (msg, 0, sizeof *msg);
    s_cursor_t c = { (const uint8_t *) data, (const uint8_t *) data + size };
    uint32_t n;
    uint64_t signature, version = 0, type;  //  version is read even if s_uint fails
    if (s_array (&c, &n) || n < 4) {
        *reason = "not a sluice message (expected a MessagePack array)";
        return -1;
    }
    if (s_uint (&c, &signature) || signature != SLUICE_SIGNATURE) {
        *reason = "bad signature";
        return -1;
    }
    if (s_uint (&c, &version) || version != SLUICE_PROTOCOL) {
        //  the versions a deployed peer is likely to speak get a reason
        //  an operator can act on
        *reason = version == 1? "peer speaks sluice protocol 1, this is protocol 5"
                : version == 2? "peer speaks sluice protocol 2, this is protocol 5"
                : version == 3? "peer speaks sluice protocol 3, this is protocol 5"
                : version == 4? "peer speaks sluice protocol 4, this is protocol 5"
                : "unsupported protocol version";
        return -1;
    }
    if (s_uint (&c, &type) || type < 1 || type > SLUICE_MSG_MAX) {
        *reason = "unknown message type";
        return -1;
    }
    msg->type = (int) type;
    if (!s_nil (&c)) {
        const uint8_t *batch;
        size_t batch_size;
        if (s_bytes (&c, &batch, &batch_size) || batch_size != SLUICE_BATCH_SIZE) {
            *reason = "bad batch id";
            return -1;
        }
        memcpy (msg->batch, batch, SLUICE_BATCH_SIZE);
        msg->has_batch = true;
    }
    int scalars = s_scalars (msg->type);
    if (scalars >= 0) {
        if (n != 4 + (uint32_t) scalars) {
            *reason = "wrong number of fields";
            return -1;
        }
        for (int i = 0; i < scalars; i++)
            if (s_uint (&c, &msg->arg [i])) {
                *reason = "field is not an unsigned integer";
                return -1;
            }
    }
    else {
        bool six = msg->type == SLUICE_MSG_RESULTS || msg->type == SLUICE_MSG_TASKS;
        if (n != (six? 6u: 5u)) {
            *reason = "wrong number of fields";
            return -1;
        }
        if (msg->type == SLUICE_MSG_RESULTS
        &&  s_bytes (&c, &msg->worker, &msg->worker_size)) {
            *reason = "bad worker identity";
            return -1;
        }
        if (msg->type == SLUICE_MSG_TASKS && s_command (&c, msg)) {
            *reason = "bad batch command";
            return -1;
        }
        if (s_array (&c, &msg->count)) {
            *reason = "bad item list";
            return -1;
        }
        msg->cur = c.p;
        for (uint32_t i = 0; walk && i < msg->count; i++)
            if (s_check_item (&c, msg->type)) {
                *reason = "malformed list item";
                return -1;
            }
        if (!walk)
            c.p = c.end;        //  items and trailing bytes checked as read
    }
    if (c.p != c.end) {
        *reason = "trailing bytes";
        return -1;
    }
    if (!msg->has_batch && msg->type != SLUICE_MSG_CREDIT && msg->type != SLUICE_MSG_PONG) {
        *reason = "missing batch id";
        return -1;
    }
    msg->end = c.end;
    return 0;
}

int
sluice_msg_decode (sluice_msg_t *msg, const void *data, size_t size,
                   const char **reason)
{
    return s_decode (msg, data, size, reason, true);
}

int
sluice_msg_open (sluice_msg_t *msg, const void *data, size_t size,
                 const char **reason)
{
    return s_decode (msg, data, size, reason, false);
}

//  Common tail of the next functions: the list is over (0, or -1 if bytes
//  follow it), or item reading failed (-1, and the message reads as ended).
static int
s_next_end (sluice_msg_t *msg)
{
    return msg->cur == msg->end? 0: s_next_fail (msg);
}

int
sluice_msg_next_task (sluice_msg_t *msg, sluice_task_t *task)
{
    if (msg->type != SLUICE_MSG_TASKS)
        return 0;
    if (msg->next >= msg->count)
        return s_next_end (msg);
    s_cursor_t c = { msg->cur, msg->end };
    if (s_task (&c, task))
        return s_next_fail (msg);
    msg->cur = c.p;
    msg->next++;
    return 1;
}

int
sluice_msg_next_result (sluice_msg_t *msg, sluice_result_t *result)
{
    if (msg->type != SLUICE_MSG_RESULTS)
        return 0;
    if (msg->next >= msg->count)
        return s_next_end (msg);
    s_cursor_t c = { msg->cur, msg->end };
    if (s_result (&c, result))
        return s_next_fail (msg);
    msg->cur = c.p;
    msg->next++;
    return 1;
}

int
sluice_msg_next_uints (sluice_msg_t *msg, uint64_t *values)
{
    if (msg->type != SLUICE_MSG_PROGRESS && msg->type != SLUICE_MSG_ACK
    &&  msg->type != SLUICE_MSG_RETRY && msg->type != SLUICE_MSG_STORED
    &&  msg->type != SLUICE_MSG_HANDBACK)
        return 0;
    if (msg->next >= msg->count)
        return s_next_end (msg);
    s_cursor_t c = { msg->cur, msg->end };
    int n = s_uints (&c, msg->type, values);
    if (n < 0)
        return s_next_fail (msg);
    msg->cur = c.p;
    msg->next++;
    return n;
}

int
sluice_msg_next_lost (sluice_msg_t *msg, uint64_t *id, uint32_t *attempts,
                      const uint8_t **input, size_t *size)
{
    if (msg->type != SLUICE_MSG_LOST)
        return 0;
    if (msg->next >= msg->count)
        return s_next_end (msg);
    s_cursor_t c = { msg->cur, msg->end };
    if (s_lost (&c, id, attempts, input, size))
        return s_next_fail (msg);
    msg->cur = c.p;
    msg->next++;
    return 1;
}

const char *
sluice_msg_type_name (int type)
{
    static const char *names [] = {
        "?", "TASKS", "RESULTS", "CREDIT", "PROGRESS", "BEGIN", "END", "ABANDON",
        "LOST", "PING", "ACK", "RETRY", "COMPLETE", "PONG", "BYE", "STORED", "REFUSE",
        "DROP", "HANDBACK"
    };
    return type >= 1 && type <= SLUICE_MSG_MAX? names [type]: "?";
}

const char *
sluice_status_name (int status)
{
    static const char *names [] = { "ok", "exit", "signal", "timeout", "lost", "error" };
    return status >= 0 && status <= SLUICE_STATUS_MAX? names [status]: "?";
}

//  --------------------------------------------------------------------------
//  Input records for ventilator --msgpack

//  Skip one object of any type. Returns 0, 1 if the bytes end before the
//  object does, -1 if it is invalid (reserved byte 0xc1 or nested too deep).
static int
s_skip (s_cursor_t *c, int depth)
{
    if (depth > 32)
        return -1;
    if (c->p >= c->end)
        return 1;
    uint8_t b = *c->p;
    uint64_t n = 0;
    size_t count = 0;           //  nested objects to skip
    size_t skip = 0;            //  bytes to skip after the header
    size_t header = 1;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        ;
    else
    if ((b & 0xe0) == 0xa0)
        skip = b & 0x1f;
    else
    if ((b & 0xf0) == 0x90)
        count = b & 0x0f;
    else
    if ((b & 0xf0) == 0x80)
        count = (size_t) (b & 0x0f) * 2;
    else {
        size_t len = 0;
        switch (b) {
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: case 0xca: skip = 4; break;
            case 0xcf: case 0xd3: case 0xcb: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xc4: case 0xd9: len = 1; break;
            case 0xc5: case 0xda: len = 2; break;
            case 0xc6: case 0xdb: len = 4; break;
            case 0xc7: len = 1; skip = 1; break;
            case 0xc8: len = 2; skip = 1; break;
            case 0xc9: len = 4; skip = 1; break;
            case 0xdc: case 0xde: len = 2; break;
            case 0xdd: case 0xdf: len = 4; break;
            default: return -1;
        }
        if (len) {
            s_cursor_t h = { c->p + 1, c->end };
            if (s_be (&h, len, &n))
                return 1;
            header += len;
            if (b == 0xdc || b == 0xdd)
                count = (size_t) n;
            else
            if (b == 0xde || b == 0xdf)
                count = (size_t) n * 2;
            else
                skip += (size_t) n;
        }
    }
    if ((uint64_t) (c->end - c->p) < header + skip)
        return 1;
    c->p += header + skip;
    for (size_t i = 0; i < count; i++) {
        int rc = s_skip (c, depth + 1);
        if (rc)
            return rc;
    }
    return 0;
}

//  True if an object starting with byte b can be a record: a str, a bin
//  or a map.
static bool
s_record_type (uint8_t b)
{
    return (b & 0xe0) == 0xa0 || (b >= 0xd9 && b <= 0xdb)     //  str
        || (b >= 0xc4 && b <= 0xc6)                             //  bin
        || (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;        //  map
}

long
sluice_record_parse (const uint8_t *data, size_t size, const uint8_t **payload,
                     size_t *payload_size)
{
    //  anything else is refused at its first byte, not once skipped whole:
    //  the reader parses an incomplete record again on every read, so an
    //  8 MiB array arriving through a pipe took a second to be refused
    if (size && !s_record_type (data [0]))
        return -1;
    s_cursor_t c = { data, data + size };
    int rc = s_skip (&c, 0);
    if (rc)
        return rc > 0? 0: -1;
    long used = (long) (c.p - data);
    s_cursor_t r = { data, c.p };
    if (s_bytes (&r, payload, payload_size) == 0)
        return used;
    //  a map: find the "output" key
    r.p = data;
    uint8_t b = *r.p++;
    uint64_t pairs;
    if ((b & 0xf0) == 0x80)
        pairs = b & 0x0f;
    else
    if (b == 0xde) {
        if (s_be (&r, 2, &pairs))
            return -1;
    }
    else
    if (b == 0xdf) {
        if (s_be (&r, 4, &pairs))
            return -1;
    }
    else
        return -1;
    for (uint64_t i = 0; i < pairs; i++) {
        const uint8_t *key;
        size_t key_size;
        const uint8_t *before = r.p;
        if (s_bytes (&r, &key, &key_size) == 0) {
            if (key_size == 6 && memcmp (key, "output", 6) == 0) {
                if (s_bytes (&r, payload, payload_size))
                    return -1;
                //  a command's output ends in a newline, which is no part
                //  of the next stage's task (as a line of --format lines)
                if (*payload_size && (*payload) [*payload_size - 1] == '\n')
                    (*payload_size)--;
                return used;
            }
        }
        else {
            r.p = before;
            if (s_skip (&r, 1))
                return -1;
        }
        if (s_skip (&r, 1))
            return -1;
    }
    return -1;
}

//  Compare a key read from a record with a name.
static bool
s_key_is (const uint8_t *key, size_t size, const char *name)
{
    return size == strlen (name) && memcmp (key, name, size) == 0;
}

//  Read one value of a sink record map into r (the key says which field).
//  Unknown keys are skipped. Returns 0 or -1.
static int
s_record_field (s_cursor_t *c, const uint8_t *key, size_t size, sluice_result_t *r,
                const uint8_t **worker, size_t *worker_size, unsigned *seen)
{
    uint64_t v;
    if (s_key_is (key, size, "id") || s_key_is (key, size, "attempts")
    ||  s_key_is (key, size, "elapsed_us") || s_key_is (key, size, "stderr_dropped")
    ||  s_key_is (key, size, "code")) {
        if (s_key_is (key, size, "code")) {
            //  written as the uint64 of its 32 bits; a signed form is taken too
            int32_t code;
            s_cursor_t saved = *c;
            if (s_int32 (c, &code) == 0) {
                r->code = code;
                return 0;
            }
            *c = saved;
            if (s_uint (c, &v) || v > UINT32_MAX)
                return -1;
            r->code = (int32_t) (uint32_t) v;
            return 0;
        }
        if (s_uint (c, &v))
            return -1;
        if (key [0] == 'i') {
            r->id = v;
            *seen |= 1;
        }
        else
        if (key [0] == 'a') {
            if (v > UINT32_MAX)
                return -1;
            r->attempt = (uint32_t) v;
        }
        else
        if (key [0] == 'e')
            r->elapsed_us = v;
        else
            r->stderr_dropped = v;
        return 0;
    }
    if (s_key_is (key, size, "status")) {
        const uint8_t *name;
        size_t name_size;
        if (s_bytes (c, &name, &name_size))
            return -1;
        for (int status = 0; status <= SLUICE_STATUS_MAX; status++)
            if (s_key_is (name, name_size, sluice_status_name (status))) {
                r->status = (uint32_t) status;
                return 0;
            }
        return -1;
    }
    if (s_key_is (key, size, "input") && s_nil (c)) {
        r->input = NULL;
        return 0;
    }
    const uint8_t **data = s_key_is (key, size, "output")? &r->output
                         : s_key_is (key, size, "input")? &r->input
                         : s_key_is (key, size, "stderr")? &r->stderr_data
                         : s_key_is (key, size, "worker")? worker: NULL;
    size_t *data_size = data == &r->output? &r->output_size
                      : data == &r->input? &r->input_size
                      : data == &r->stderr_data? &r->stderr_size: worker_size;
    if (!data)
        return s_skip (c, 1)? -1: 0;
    if (data == &r->output)
        *seen |= 2;
    return s_bytes (c, data, data_size);
}

long
sluice_record_parse_result (const uint8_t *data, size_t size, sluice_result_t *r,
                            const uint8_t **worker, size_t *worker_size)
{
    s_cursor_t c = { data, data + size };
    int rc = s_skip (&c, 0);
    if (rc)
        return rc > 0? 0: -1;
    long used = (long) (c.p - data);
    s_cursor_t m = { data, c.p };
    uint8_t b = *m.p++;
    uint64_t pairs;
    if ((b & 0xf0) == 0x80)
        pairs = b & 0x0f;
    else
    if (b == 0xde || b == 0xdf) {
        if (s_be (&m, b == 0xde? 2: 4, &pairs))
            return -1;
    }
    else
        return -1;
    *r = (sluice_result_t) { .attempt = 1 };
    *worker = NULL;
    *worker_size = 0;
    unsigned seen = 0;          //  bit 0: id, bit 1: output
    for (uint64_t i = 0; i < pairs; i++) {
        const uint8_t *key;
        size_t key_size;
        if (s_bytes (&m, &key, &key_size)
        ||  s_record_field (&m, key, key_size, r, worker, worker_size, &seen))
            return -1;
    }
    return seen == 3? used: -1;
}
