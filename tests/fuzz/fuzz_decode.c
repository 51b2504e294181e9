/*  =========================================================================
    fuzz_decode.c - libFuzzer target for the wire decoder and record parser

    Every input is decoded as a wire message of each of the 15 types the
    decoder knows (TASKS, RESULTS, LOST, the scalar messages, and the lists
    of unsigned integers: PROGRESS ids, RETRY and STORED pairs, ACK ranges);
    a message the decoder accepts must be fully readable, each item with
    the number of fields of its type, and must survive a re-encode with
    the same values. The one-pass reader (sluice_msg_open, items validated
    as read) must agree with the two-pass one. The same bytes are then
    read as a stream of --msgpack input records, each record within the
    bytes given. Any violation aborts, so libFuzzer (and the unit test)
    report it.

    `make fuzz` builds and runs it (see the Makefile); by hand:

      make tests/fuzz/fuzz_decode
      mkdir -p /tmp/sluice-fuzz/decode
      tests/fuzz/fuzz_decode -max_total_time=60 /tmp/sluice-fuzz/decode \
          tests/fuzz/corpus-decode

    New inputs go to the first directory; tests/fuzz/corpus-decode stays
    the small seed corpus (tests/fuzz/gen_corpus.c) that
    tests/unit/test_fuzz_corpus.c replays through this same function on
    every `make unit`.
    =========================================================================
*/

#include "fuzz.h"

//  Fields of one list item of a list message type (1 to 3), -1 for types
//  whose items are not unsigned integers.
static int
t_uint_fields (int type)
{
    switch (type) {
        case SLUICE_MSG_PROGRESS: case SLUICE_MSG_HANDBACK: return 1;
        case SLUICE_MSG_RETRY: case SLUICE_MSG_STORED: return 2;
        case SLUICE_MSG_ACK: return 3;
        default: return -1;
    }
}

//  Number of scalar arguments of a scalar message type, -1 for lists.
static int
t_scalars (int type)
{
    switch (type) {
        case SLUICE_MSG_CREDIT: case SLUICE_MSG_COMPLETE: case SLUICE_MSG_PONG: return 2;
        case SLUICE_MSG_BEGIN: return 3;
        case SLUICE_MSG_END: case SLUICE_MSG_PING: case SLUICE_MSG_REFUSE: return 1;
        case SLUICE_MSG_ABANDON: case SLUICE_MSG_BYE: case SLUICE_MSG_DROP: return 0;
        default: return -1;
    }
}


//  Read every item of an opened (not yet validated) message; *last is what
//  the final next call returned: 0 at a clean end, -1 on a malformed item.
static uint32_t
t_drain_open (sluice_msg_t *msg, int *last)
{
    uint32_t items = 0;
    sluice_task_t task;
    sluice_result_t result;
    uint64_t values [3], id;
    uint32_t attempts;
    const uint8_t *input;
    size_t size;
    int rc;
    do {
        switch (msg->type) {
            case SLUICE_MSG_TASKS: rc = sluice_msg_next_task (msg, &task); break;
            case SLUICE_MSG_RESULTS: rc = sluice_msg_next_result (msg, &result); break;
            case SLUICE_MSG_LOST: rc = sluice_msg_next_lost (msg, &id, &attempts, &input, &size); break;
            default:
                rc = sluice_msg_next_uints (msg, values);
                T_CHECK (rc <= 0 || rc == t_uint_fields (msg->type));
                break;
        }
        if (rc > 0)
            items++;
    } while (rc > 0);
    *last = rc;
    return items;
}

//  Read every item of a decoded message; returns how many were read.
static uint32_t
t_drain (sluice_msg_t *msg)
{
    int last;
    return t_drain_open (msg, &last);
}

static bool
t_bytes_equal (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    return a_size == b_size && (a_size == 0 || memcmp (a, b, a_size) == 0);
}

//  Re-encode every item of a into the encoder (already begun).
static void
t_encode_items (sluice_encoder_t *encoder, sluice_msg_t *a)
{
    sluice_task_t task;
    sluice_result_t result;
    uint64_t values [3], id;
    uint32_t attempts;
    const uint8_t *input;
    size_t size;
    int n;
    while (sluice_msg_next_task (a, &task))
        sluice_encoder_task (encoder, task.id, task.attempt, task.flags, task.data, task.size);
    while (sluice_msg_next_result (a, &result))
        sluice_encoder_result (encoder, &result);
    while ((n = sluice_msg_next_uints (a, values)) > 0)
        sluice_encoder_uints (encoder, (size_t) n, values);
    while (sluice_msg_next_lost (a, &id, &attempts, &input, &size))
        sluice_encoder_lost (encoder, id, attempts, input, size);
}

//  Compare the items of two decoded messages of the same type.
static void
t_compare_items (sluice_msg_t *a, sluice_msg_t *b)
{
    for (uint32_t i = 0; i < a->count; i++) {
        if (a->type == SLUICE_MSG_TASKS) {
            sluice_task_t x, y;
            T_CHECK (sluice_msg_next_task (a, &x) && sluice_msg_next_task (b, &y));
            T_CHECK (x.id == y.id && x.attempt == y.attempt && x.flags == y.flags);
            T_CHECK (t_bytes_equal (x.data, x.size, y.data, y.size));
        }
        else
        if (a->type == SLUICE_MSG_RESULTS) {
            sluice_result_t x, y;
            T_CHECK (sluice_msg_next_result (a, &x) && sluice_msg_next_result (b, &y));
            T_CHECK (x.id == y.id && x.attempt == y.attempt && x.flags == y.flags);
            T_CHECK (x.status == y.status && x.code == y.code && x.elapsed_us == y.elapsed_us);
            T_CHECK (x.status <= SLUICE_STATUS_MAX);
            T_CHECK (t_bytes_equal (x.output, x.output_size, y.output, y.output_size));
            T_CHECK ((x.input == NULL) == (y.input == NULL));
            T_CHECK (t_bytes_equal (x.input, x.input_size, y.input, y.input_size));
        }
        else
        if (a->type == SLUICE_MSG_LOST) {
            uint64_t xid, yid;
            uint32_t xa, ya;
            const uint8_t *xi, *yi;
            size_t xs, ys;
            T_CHECK (sluice_msg_next_lost (a, &xid, &xa, &xi, &xs)
                  && sluice_msg_next_lost (b, &yid, &ya, &yi, &ys));
            T_CHECK (xid == yid && xa == ya && t_bytes_equal (xi, xs, yi, ys));
        }
        else {
            uint64_t x [3], y [3];
            int n = sluice_msg_next_uints (a, x);
            T_CHECK (n > 0 && n == sluice_msg_next_uints (b, y));
            T_CHECK (memcmp (x, y, (size_t) n * sizeof (uint64_t)) == 0);
        }
    }
    T_CHECK (t_drain (a) == 0 && t_drain (b) == 0);
}

//  Encode the decoded message again and decode the result: same values.
static void
t_round_trip (const sluice_msg_t *decoded)
{
    sluice_msg_t a = *decoded;
    const uint8_t *batch = a.has_batch? a.batch: NULL;
    int scalars = t_scalars (a.type);
    sluice_encoder_t *encoder = sluice_encoder_new ();
    if (scalars >= 0)
        sluice_encoder_scalar (encoder, a.type, batch, (size_t) scalars, a.arg);
    else
    if (a.type == SLUICE_MSG_RESULTS) {
        //  the encoder takes the identity as a C string
        if (memchr (a.worker, 0, a.worker_size)) {
            sluice_encoder_destroy (&encoder);
            return;
        }
        char *worker = strndup ((const char *) a.worker, a.worker_size);
        T_CHECK (worker);
        sluice_encoder_begin_results (encoder, batch, worker);
        free (worker);
    }
    else
    if (a.type == SLUICE_MSG_TASKS && a.has_command) {
        //  the encoder takes the command line as a C string
        if (memchr (a.command, 0, a.command_size)) {
            sluice_encoder_destroy (&encoder);
            return;
        }
        char *line = strndup ((const char *) a.command, a.command_size);
        T_CHECK (line);
        sluice_command_t command = { a.command_kind, a.command_flags, line };
        sluice_encoder_begin_tasks (encoder, batch, &command);
        free (line);
    }
    else
        sluice_encoder_begin (encoder, a.type, batch);
    t_encode_items (encoder, &a);
    T_CHECK (sluice_encoder_count (encoder) == decoded->count);

    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t b;
    const char *reason = NULL;
    T_CHECK (sluice_msg_decode (&b, data, size, &reason) == 0);
    T_CHECK (b.type == decoded->type && b.has_batch == decoded->has_batch);
    T_CHECK (memcmp (b.batch, decoded->batch, SLUICE_BATCH_SIZE) == 0);
    T_CHECK (memcmp (b.arg, decoded->arg, sizeof b.arg) == 0);
    T_CHECK (b.count == decoded->count);
    T_CHECK (t_bytes_equal (b.worker, b.worker_size, decoded->worker, decoded->worker_size));
    T_CHECK (b.has_command == decoded->has_command
             && b.command_kind == decoded->command_kind
             && b.command_flags == decoded->command_flags);
    T_CHECK (t_bytes_equal (b.command, b.command_size, decoded->command,
                            decoded->command_size));
    a = *decoded;
    t_compare_items (&a, &b);
    sluice_encoder_destroy (&encoder);
}

//  Read the bytes as consecutive --msgpack input records.
static void
t_records (const uint8_t *data, size_t size)
{
    size_t at = 0;
    while (at < size) {
        const uint8_t *payload = NULL;
        size_t payload_size = 0;
        long used = sluice_record_parse (data + at, size - at, &payload, &payload_size);
        T_CHECK (used >= -1);
        if (used <= 0)
            break;
        T_CHECK ((size_t) used <= size - at);
        T_CHECK (payload && payload >= data + at);
        T_CHECK (payload + payload_size <= data + at + used);
        at += (size_t) used;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    t_quiet_logs ();
    sluice_msg_t msg;
    const char *reason = NULL;
    if (sluice_msg_decode (&msg, data, size, &reason) == 0) {
        T_CHECK (msg.type >= 1 && msg.type <= SLUICE_MSG_MAX);
        T_CHECK (msg.has_batch || msg.type == SLUICE_MSG_CREDIT || msg.type == SLUICE_MSG_PONG);
        T_CHECK (msg.count <= size);
        t_round_trip (&msg);
        T_CHECK (t_drain (&msg) == msg.count);
    }
    else
        T_CHECK (reason && *reason);
    //  the one-pass path (open, then validate while reading) agrees
    sluice_msg_t lazy;
    bool decoded = sluice_msg_decode (&msg, data, size, NULL) == 0;
    if (sluice_msg_open (&lazy, data, size, NULL) == 0) {
        int last;
        uint32_t items = t_drain_open (&lazy, &last);
        T_CHECK (decoded? last == 0 && items == msg.count: last == -1);
    }
    else
        T_CHECK (!decoded);
    t_records (data, size);
    return 0;
}
