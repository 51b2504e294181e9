/*  =========================================================================
    test_codec.c - round trips and rejection of every sluice wire message

    The first test is the codec's typical use: a ventilator encodes a TASKS
    message, a worker decodes it and reads the tasks one by one. The rest
    round-trip every other message type, then feed the decoder malformed
    bytes (short, truncated, lying about lengths, wrong types) which must
    all be rejected with -1 and a reason, never crash and never allocate.
    Malformed input is always copied into a buffer of exactly its size, so
    a sanitizer or valgrind catches any read past the end.
    =========================================================================
*/

#include "private.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <msgpack.h>

//  A string literal and its length, for hand-built bytes
#define T_LIT(s) s, sizeof (s) - 1

//  A batch id used throughout: 16 distinct bytes
static const uint8_t t_batch [SLUICE_BATCH_SIZE] = {
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf
};

//  --------------------------------------------------------------------------
//  Helpers

//  Decode bytes that must be valid; fails the test with the reason if not.
static void
t_decode_ok (sluice_msg_t *msg, const uint8_t *data, size_t size)
{
    const char *reason = NULL;
    if (sluice_msg_decode (msg, data, size, &reason))
        fail_msg ("valid message rejected: %s", reason);
}

//  Decode a copy of the bytes (exactly size bytes on the heap) that must be
//  rejected; checks -1 and a non-empty reason, and returns the reason.
static const char *
t_reject (const void *data, size_t size)
{
    uint8_t *copy = (uint8_t *) malloc (size? size: 1);
    assert_non_null (copy);
    if (size)
        memcpy (copy, data, size);
    sluice_msg_t msg;
    const char *reason = NULL;
    int rc = sluice_msg_decode (&msg, copy, size, &reason);
    free (copy);
    if (rc != -1)
        fail_msg ("malformed message (%zu bytes) accepted as %s", size,
                  sluice_msg_type_name (msg.type));
    assert_non_null (reason);
    assert_true (strlen (reason) > 0);
    return reason;
}

//  Reject and check that the reason mentions the given words.
static void
t_reject_because (const void *data, size_t size, const char *words)
{
    const char *reason = t_reject (data, size);
    if (!strstr (reason, words))
        fail_msg ("reason '%s' does not mention '%s'", reason, words);
}

//  A msgpack-c packer for hand-built messages (valid or not).
typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
} t_packer_t;

static void
t_packer_init (t_packer_t *t)
{
    msgpack_sbuffer_init (&t->buffer);
    msgpack_packer_init (&t->pk, &t->buffer, msgpack_sbuffer_write);
}

static void
t_packer_destroy (t_packer_t *t)
{
    msgpack_sbuffer_destroy (&t->buffer);
}

//  Write raw bytes into a hand-built message.
static void
t_raw (t_packer_t *t, const void *data, size_t size)
{
    msgpack_sbuffer_write (&t->buffer, (const char *) data, size);
}

//  Write a header: array of n, signature, version, type, batch (or nil).
//  A TASKS header also gets its command, nil, so n counts as in protocol 2.
static void
t_header (t_packer_t *t, uint32_t n, int type, bool batch)
{
    msgpack_pack_array (&t->pk, type == SLUICE_MSG_TASKS? n + 1: n);
    msgpack_pack_uint16 (&t->pk, SLUICE_SIGNATURE);
    msgpack_pack_uint8 (&t->pk, SLUICE_PROTOCOL);
    msgpack_pack_int (&t->pk, type);
    if (batch) {
        msgpack_pack_bin (&t->pk, SLUICE_BATCH_SIZE);
        msgpack_pack_bin_body (&t->pk, t_batch, SLUICE_BATCH_SIZE);
    }
    else
        msgpack_pack_nil (&t->pk);
    if (type == SLUICE_MSG_TASKS)
        msgpack_pack_nil (&t->pk);
}

static void
t_bin (t_packer_t *t, const void *data, size_t size)
{
    msgpack_pack_bin (&t->pk, size);
    msgpack_pack_bin_body (&t->pk, data, size);
}

//  Reject what the packer holds, then reset it.
static void
t_reject_packed (t_packer_t *t, const char *words)
{
    if (words)
        t_reject_because (t->buffer.data, t->buffer.size, words);
    else
        t_reject (t->buffer.data, t->buffer.size);
    msgpack_sbuffer_clear (&t->buffer);
}

//  Accept what the packer holds, then reset it.
static void
t_accept_packed (t_packer_t *t, sluice_msg_t *msg, uint8_t **copy)
{
    *copy = (uint8_t *) malloc (t->buffer.size);
    assert_non_null (*copy);
    memcpy (*copy, t->buffer.data, t->buffer.size);
    t_decode_ok (msg, *copy, t->buffer.size);
    msgpack_sbuffer_clear (&t->buffer);
}

//  Read every item of a decoded message, whatever its type. Returns the
//  number of items read, which must equal msg->count.
static uint32_t
t_drain (sluice_msg_t *msg)
{
    uint32_t items = 0;
    sluice_task_t task;
    sluice_result_t result;
    uint64_t values [3], id;
    uint32_t attempts;
    const uint8_t *input;
    size_t size;
    while (sluice_msg_next_task (msg, &task)
       ||  sluice_msg_next_result (msg, &result)
       ||  sluice_msg_next_uints (msg, values)
       ||  sluice_msg_next_lost (msg, &id, &attempts, &input, &size))
        items++;
    return items;
}

//  One small valid example of each message type, for truncation and
//  mutation tests. Returns a malloc'd copy of exactly *size bytes.
static uint8_t *
t_example (int type, size_t *size)
{
    sluice_encoder_t *encoder = sluice_encoder_new ();
    uint64_t args [3] = { 100000, 2, 5 };
    switch (type) {
        case SLUICE_MSG_TASKS:
            sluice_encoder_begin_tasks (encoder, t_batch, &(sluice_command_t) {
                                        SLUICE_COMMAND_COPROC, SLUICE_COMMAND_NUL, "cat" });
            sluice_encoder_task (encoder, 1, 1, SLUICE_FLAG_WANT_INPUT, T_LIT ("hello"));
            sluice_encoder_task (encoder, 300, 70000, 3, T_LIT (""));
            break;
        case SLUICE_MSG_RESULTS: {
            sluice_encoder_begin_results (encoder, t_batch, "host:42");
            sluice_result_t r = { .id = 1, .attempt = 1, .flags = 1, .status = 1,
                                  .code = -2, .elapsed_us = 1234567,
                                  .output = (const uint8_t *) "out", .output_size = 3,
                                  .input = (const uint8_t *) "in", .input_size = 2 };
            sluice_encoder_result (encoder, &r);
            r.input = NULL;
            sluice_encoder_result (encoder, &r);
            break;
        }
        case SLUICE_MSG_PROGRESS:
        case SLUICE_MSG_HANDBACK:
            sluice_encoder_begin (encoder, type, t_batch);
            sluice_encoder_uints (encoder, 1, args);
            sluice_encoder_uints (encoder, 1, args + 1);
            break;
        case SLUICE_MSG_ACK:
            sluice_encoder_begin (encoder, type, t_batch);
            sluice_encoder_uints (encoder, 3, (uint64_t []) { 1, 300, 0 });
            break;
        case SLUICE_MSG_RETRY:
            sluice_encoder_begin (encoder, type, t_batch);
            sluice_encoder_uints (encoder, 2, (uint64_t []) { 7, 2 });
            break;
        case SLUICE_MSG_STORED:
            sluice_encoder_begin (encoder, type, t_batch);
            sluice_encoder_uints (encoder, 2, (uint64_t []) { 1, 300 });
            sluice_encoder_uints (encoder, 2, (uint64_t []) { 302, 302 });
            break;
        case SLUICE_MSG_LOST:
            sluice_encoder_begin (encoder, type, t_batch);
            sluice_encoder_lost (encoder, 9, 5, T_LIT ("input"));
            break;
        case SLUICE_MSG_CREDIT:
            sluice_encoder_scalar (encoder, type, t_batch, 2, (uint64_t []) { 256, 1 });
            break;
        case SLUICE_MSG_BEGIN:
            sluice_encoder_scalar (encoder, type, t_batch, 3, args);
            break;
        case SLUICE_MSG_END:
        case SLUICE_MSG_PING:
        case SLUICE_MSG_REFUSE:
            sluice_encoder_scalar (encoder, type, t_batch, 1, args);
            break;
        case SLUICE_MSG_COMPLETE:
        case SLUICE_MSG_PONG:
            sluice_encoder_scalar (encoder, type, t_batch, 2, args);
            break;
        default:
            sluice_encoder_scalar (encoder, type, t_batch, 0, NULL);
            break;
    }
    const uint8_t *data = sluice_encoder_data (encoder, size);
    uint8_t *copy = (uint8_t *) malloc (*size);
    assert_non_null (copy);
    memcpy (copy, data, *size);
    sluice_encoder_destroy (&encoder);
    return copy;
}

//  --------------------------------------------------------------------------
//  Round trips

//  Typical use: the ventilator packs tasks, a worker reads them back.
static void
test_tasks_round_trip (void **state)
{
    (void) state;
    size_t big_size = 1024 * 1024;
    uint8_t *big = (uint8_t *) malloc (big_size);
    assert_non_null (big);
    for (size_t i = 0; i < big_size; i++)
        big [i] = (uint8_t) (i * 31 + 7);

    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin (encoder, SLUICE_MSG_TASKS, t_batch);
    sluice_encoder_task (encoder, 1, 1, SLUICE_FLAG_WANT_INPUT, T_LIT ("hello"));
    sluice_encoder_task (encoder, 2, 3, SLUICE_FLAG_RETRYABLE, T_LIT (""));
    sluice_encoder_task (encoder, UINT64_MAX, UINT32_MAX, UINT32_MAX, big, big_size);
    assert_int_equal (sluice_encoder_count (encoder), 3);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);

    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_TASKS);
    assert_true (msg.has_batch);
    assert_memory_equal (msg.batch, t_batch, SLUICE_BATCH_SIZE);
    assert_int_equal (msg.count, 3);

    sluice_task_t task;
    assert_int_equal (sluice_msg_next_task (&msg, &task), 1);
    assert_int_equal (task.id, 1);
    assert_int_equal (task.attempt, 1);
    assert_int_equal (task.flags, SLUICE_FLAG_WANT_INPUT);
    assert_int_equal (task.size, 5);
    assert_memory_equal (task.data, "hello", sizeof ("hello") - 1);

    assert_int_equal (sluice_msg_next_task (&msg, &task), 1);
    assert_int_equal (task.id, 2);
    assert_int_equal (task.attempt, 3);
    assert_int_equal (task.flags, SLUICE_FLAG_RETRYABLE);
    assert_int_equal (task.size, 0);

    assert_int_equal (sluice_msg_next_task (&msg, &task), 1);
    assert_true (task.id == UINT64_MAX);
    assert_true (task.attempt == UINT32_MAX);
    assert_true (task.flags == UINT32_MAX);
    assert_int_equal (task.size, big_size);
    assert_memory_equal (task.data, big, big_size);
    //  borrowed: the payload points into the message, no copy
    assert_true (task.data > data && task.data + task.size <= data + size);

    assert_int_equal (sluice_msg_next_task (&msg, &task), 0);
    assert_int_equal (sluice_msg_next_task (&msg, &task), 0);
    //  other readers do not apply to a TASKS message
    uint64_t values [3];
    assert_int_equal (sluice_msg_next_uints (&msg, values), 0);

    sluice_encoder_destroy (&encoder);
    assert_null (encoder);
    sluice_encoder_destroy (&encoder);          //  safe a second time
    free (big);
}

static void
test_tasks_empty_list (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin (encoder, SLUICE_MSG_TASKS, t_batch);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.count, 0);
    sluice_task_t task;
    assert_int_equal (sluice_msg_next_task (&msg, &task), 0);
    sluice_encoder_destroy (&encoder);
}

static void
test_results_round_trip (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin_results (encoder, t_batch, "worker-host:4242");
    sluice_result_t with_input = {
        .id = 17, .attempt = 2, .flags = SLUICE_FLAG_WANT_INPUT,
        .status = SLUICE_STATUS_EXIT, .code = 3, .elapsed_us = 1500000,
        .output = (const uint8_t *) "out\n", .output_size = 4,
        .input = (const uint8_t *) "in", .input_size = 2
    };
    sluice_result_t without_input = {
        .id = 18, .attempt = 1, .status = SLUICE_STATUS_SIGNAL, .code = -9,
        .elapsed_us = UINT64_MAX
    };
    sluice_result_t empty_input = {
        .id = 19, .attempt = 1, .status = SLUICE_STATUS_ERROR, .code = INT32_MIN,
        .input = (const uint8_t *) "", .input_size = 0
    };
    sluice_result_t max_code = {
        .id = 20, .attempt = 1, .status = SLUICE_STATUS_MAX, .code = INT32_MAX
    };
    sluice_encoder_result (encoder, &with_input);
    sluice_encoder_result (encoder, &without_input);
    sluice_encoder_result (encoder, &empty_input);
    sluice_encoder_result (encoder, &max_code);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);

    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_RESULTS);
    assert_memory_equal (msg.batch, t_batch, SLUICE_BATCH_SIZE);
    assert_int_equal (msg.worker_size, strlen ("worker-host:4242"));
    assert_memory_equal (msg.worker, "worker-host:4242", msg.worker_size);
    assert_int_equal (msg.count, 4);

    sluice_result_t r;
    assert_int_equal (sluice_msg_next_result (&msg, &r), 1);
    assert_int_equal (r.id, 17);
    assert_int_equal (r.attempt, 2);
    assert_int_equal (r.flags, SLUICE_FLAG_WANT_INPUT);
    assert_int_equal (r.status, SLUICE_STATUS_EXIT);
    assert_int_equal (r.code, 3);
    assert_int_equal (r.elapsed_us, 1500000);
    assert_int_equal (r.output_size, 4);
    assert_memory_equal (r.output, "out\n", sizeof ("out\n") - 1);
    assert_non_null (r.input);
    assert_int_equal (r.input_size, 2);
    assert_memory_equal (r.input, "in", sizeof ("in") - 1);

    assert_int_equal (sluice_msg_next_result (&msg, &r), 1);
    assert_int_equal (r.id, 18);
    assert_int_equal (r.status, SLUICE_STATUS_SIGNAL);
    assert_int_equal (r.code, -9);
    assert_true (r.elapsed_us == UINT64_MAX);
    assert_int_equal (r.output_size, 0);
    assert_null (r.input);              //  nil: input not returned
    assert_int_equal (r.input_size, 0);

    assert_int_equal (sluice_msg_next_result (&msg, &r), 1);
    assert_int_equal (r.id, 19);
    assert_int_equal (r.code, INT32_MIN);
    assert_non_null (r.input);          //  empty input is not "no input"
    assert_int_equal (r.input_size, 0);

    assert_int_equal (sluice_msg_next_result (&msg, &r), 1);
    assert_int_equal (r.status, SLUICE_STATUS_MAX);
    assert_int_equal (r.code, INT32_MAX);

    assert_int_equal (sluice_msg_next_result (&msg, &r), 0);
    sluice_encoder_destroy (&encoder);
}

static void
test_credit_round_trip (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    //  a worker's credit carries no batch
    sluice_encoder_scalar (encoder, SLUICE_MSG_CREDIT, NULL, 2, (uint64_t []) { 256, 0 });
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_CREDIT);
    assert_false (msg.has_batch);
    assert_int_equal (msg.arg [0], 256);
    assert_int_equal (msg.arg [1], 0);
    assert_int_equal (msg.count, 0);
    assert_int_equal (t_drain (&msg), 0);

    //  reset credit, with a batch: also valid
    sluice_encoder_scalar (encoder, SLUICE_MSG_CREDIT, t_batch, 2, (uint64_t []) { 0, 1 });
    data = sluice_encoder_data (encoder, &size);
    t_decode_ok (&msg, data, size);
    assert_true (msg.has_batch);
    assert_int_equal (msg.arg [0], 0);
    assert_int_equal (msg.arg [1], 1);
    sluice_encoder_destroy (&encoder);
}

static void
test_progress_round_trip (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin (encoder, SLUICE_MSG_PROGRESS, t_batch);
    uint64_t ids [] = { 1, 127, 128, 65536, UINT64_MAX };
    for (size_t i = 0; i < 5; i++)
        sluice_encoder_uints (encoder, 1, &ids [i]);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_PROGRESS);
    assert_int_equal (msg.count, 5);
    uint64_t values [3];
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal (sluice_msg_next_uints (&msg, values), 1);
        assert_true (values [0] == ids [i]);
    }
    assert_int_equal (sluice_msg_next_uints (&msg, values), 0);
    sluice_encoder_destroy (&encoder);
}

static void
test_ack_and_retry_round_trip (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin (encoder, SLUICE_MSG_ACK, t_batch);
    sluice_encoder_uints (encoder, 3, (uint64_t []) { 1, 100, 0 });
    sluice_encoder_uints (encoder, 3, (uint64_t []) { 101, 101, 1 });
    sluice_encoder_uints (encoder, 3, (uint64_t []) { 103, UINT64_MAX, 0 });
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_ACK);
    assert_int_equal (msg.count, 3);
    uint64_t v [3];
    assert_int_equal (sluice_msg_next_uints (&msg, v), 3);
    assert_true (v [0] == 1 && v [1] == 100 && v [2] == 0);
    assert_int_equal (sluice_msg_next_uints (&msg, v), 3);
    assert_true (v [0] == 101 && v [1] == 101 && v [2] == 1);
    assert_int_equal (sluice_msg_next_uints (&msg, v), 3);
    assert_true (v [0] == 103 && v [1] == UINT64_MAX && v [2] == 0);
    assert_int_equal (sluice_msg_next_uints (&msg, v), 0);

    sluice_encoder_begin (encoder, SLUICE_MSG_RETRY, t_batch);
    sluice_encoder_uints (encoder, 2, (uint64_t []) { 5, 1 });
    sluice_encoder_uints (encoder, 2, (uint64_t []) { 6, 4 });
    data = sluice_encoder_data (encoder, &size);
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_RETRY);
    assert_int_equal (msg.count, 2);
    assert_int_equal (sluice_msg_next_uints (&msg, v), 2);
    assert_true (v [0] == 5 && v [1] == 1);
    assert_int_equal (sluice_msg_next_uints (&msg, v), 2);
    assert_true (v [0] == 6 && v [1] == 4);
    assert_int_equal (sluice_msg_next_uints (&msg, v), 0);
    sluice_encoder_destroy (&encoder);
}

static void
test_lost_round_trip (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin (encoder, SLUICE_MSG_LOST, t_batch);
    sluice_encoder_lost (encoder, 42, 5, T_LIT ("the input"));
    sluice_encoder_lost (encoder, 43, 1, T_LIT (""));
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_LOST);
    assert_int_equal (msg.count, 2);
    uint64_t id;
    uint32_t attempts;
    const uint8_t *input;
    size_t input_size;
    assert_int_equal (sluice_msg_next_lost (&msg, &id, &attempts, &input, &input_size), 1);
    assert_int_equal (id, 42);
    assert_int_equal (attempts, 5);
    assert_int_equal (input_size, 9);
    assert_memory_equal (input, "the input", sizeof ("the input") - 1);
    assert_int_equal (sluice_msg_next_lost (&msg, &id, &attempts, &input, &input_size), 1);
    assert_int_equal (id, 43);
    assert_int_equal (input_size, 0);
    assert_int_equal (sluice_msg_next_lost (&msg, &id, &attempts, &input, &input_size), 0);
    sluice_encoder_destroy (&encoder);
}

//  BEGIN, END, ABANDON, PING, COMPLETE, PONG, BYE: header plus scalars.
static void
test_scalar_messages_round_trip (void **state)
{
    (void) state;
    struct {
        int type;
        size_t n;
        uint64_t args [3];
    } cases [] = {
        { SLUICE_MSG_BEGIN, 3, { 10000, 2, 5 } },
        { SLUICE_MSG_END, 1, { 123456789012ULL } },
        { SLUICE_MSG_ABANDON, 0, { 0 } },
        { SLUICE_MSG_PING, 1, { 77 } },
        { SLUICE_MSG_COMPLETE, 2, { 1000, 3 } },
        { SLUICE_MSG_PONG, 2, { 1, 0 } },
        { SLUICE_MSG_BYE, 0, { 0 } },
    };
    sluice_encoder_t *encoder = sluice_encoder_new ();
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        sluice_encoder_scalar (encoder, cases [i].type, t_batch, cases [i].n, cases [i].args);
        size_t size;
        const uint8_t *data = sluice_encoder_data (encoder, &size);
        sluice_msg_t msg;
        t_decode_ok (&msg, data, size);
        assert_int_equal (msg.type, cases [i].type);
        assert_true (msg.has_batch);
        assert_memory_equal (msg.batch, t_batch, SLUICE_BATCH_SIZE);
        for (size_t k = 0; k < cases [i].n; k++)
            assert_true (msg.arg [k] == cases [i].args [k]);
        for (size_t k = cases [i].n; k < 3; k++)
            assert_int_equal (msg.arg [k], 0);
        assert_int_equal (t_drain (&msg), 0);
    }
    //  a sink that has no batch yet answers PING with a batch-less PONG
    sluice_encoder_scalar (encoder, SLUICE_MSG_PONG, NULL, 2, (uint64_t []) { 0, 0 });
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_PONG);
    assert_false (msg.has_batch);
    sluice_encoder_destroy (&encoder);
}

//  One encoder serves list and scalar messages in turn.
static void
test_encoder_reuse (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    for (int round = 0; round < 3; round++) {
        sluice_encoder_begin (encoder, SLUICE_MSG_TASKS, t_batch);
        for (int i = 0; i < 300; i++)
            sluice_encoder_task (encoder, (uint64_t) i + 1, 1, 0, T_LIT ("x"));
        size_t size;
        const uint8_t *data = sluice_encoder_data (encoder, &size);
        sluice_msg_t msg;
        t_decode_ok (&msg, data, size);
        assert_int_equal (msg.count, 300);
        assert_int_equal (t_drain (&msg), 300);

        sluice_encoder_scalar (encoder, SLUICE_MSG_END, t_batch, 1, (uint64_t []) { 300 });
        data = sluice_encoder_data (encoder, &size);
        t_decode_ok (&msg, data, size);
        assert_int_equal (msg.type, SLUICE_MSG_END);
        assert_int_equal (msg.arg [0], 300);
        assert_int_equal (sluice_encoder_count (encoder), 0);
    }
    sluice_encoder_destroy (&encoder);
}

//  Another implementation may pick any integer, array and byte encoding:
//  fixarray lists, int8 for small values, str for bytes. All are valid.
static void
test_accepts_other_encodings (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    //  [0x51ce as uint32, 5 as int8, 1 as int16, batch as str, a command as
    //  fixarray [int8, uint16, str], fixarray list]
    t_raw (&t, T_LIT ("\x96\xce\x00\x00\x51\xce\xd0\x05\xd1\x00\x01"));
    msgpack_pack_str (&t.pk, SLUICE_BATCH_SIZE);
    msgpack_pack_str_body (&t.pk, t_batch, SLUICE_BATCH_SIZE);
    t_raw (&t, T_LIT ("\x93\xd0\x01\xcd\x00\x01\xa2" "wc"));
    t_raw (&t, T_LIT ("\x91\x94"));                      //  one task of 4 fields
    t_raw (&t, T_LIT ("\xd3\x00\x00\x00\x00\x00\x00\x00\x07"));   //  id 7 as int64
    t_raw (&t, T_LIT ("\xcd\x00\x02"));                  //  attempt 2 as uint16
    t_raw (&t, T_LIT ("\x00"));                          //  flags 0
    t_raw (&t, T_LIT ("\xa3" "abc"));                    //  payload as str
    sluice_msg_t msg;
    uint8_t *copy;
    t_accept_packed (&t, &msg, &copy);
    assert_int_equal (msg.type, SLUICE_MSG_TASKS);
    assert_memory_equal (msg.batch, t_batch, SLUICE_BATCH_SIZE);
    assert_true (msg.has_command);
    assert_int_equal (msg.command_kind, SLUICE_COMMAND_EXEC);
    assert_int_equal (msg.command_flags, SLUICE_COMMAND_PIPE);
    assert_int_equal (msg.command_size, 2);
    assert_memory_equal (msg.command, "wc", 2);
    sluice_task_t task;
    assert_int_equal (sluice_msg_next_task (&msg, &task), 1);
    assert_int_equal (task.id, 7);
    assert_int_equal (task.attempt, 2);
    assert_int_equal (task.size, 3);
    assert_memory_equal (task.data, "abc", sizeof ("abc") - 1);
    free (copy);

    //  a result's code as int64 within int32 range, input as str
    t_header (&t, 6, SLUICE_MSG_RESULTS, true);
    t_raw (&t, T_LIT ("\xa1w\x91\x9a\x01\x01\x00\x01"));
    t_raw (&t, T_LIT ("\xd3\xff\xff\xff\xff\x80\x00\x00\x00"));     //  code INT32_MIN
    t_raw (&t, T_LIT ("\x00\xc4\x00\xa2hi\xa3" "err\xcd\x01\x00"));    //  stderr as str
    t_accept_packed (&t, &msg, &copy);
    sluice_result_t r;
    assert_int_equal (sluice_msg_next_result (&msg, &r), 1);
    assert_int_equal (r.code, INT32_MIN);
    assert_int_equal (r.input_size, 2);
    assert_int_equal (r.stderr_size, 3);
    assert_memory_equal (r.stderr_data, "err", 3);
    assert_int_equal (r.stderr_dropped, 256);
    free (copy);
    t_packer_destroy (&t);
}

//  STORED (protocol 2): the sink names the ranges of task ids it has
//  written; each item is [first, last], both inclusive.
static void
test_stored_round_trip (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    uint64_t ranges [2][2] = { { 1, 3 }, { 7, 7 } };
    sluice_encoder_begin (encoder, SLUICE_MSG_STORED, t_batch);
    sluice_encoder_uints (encoder, 2, ranges [0]);
    sluice_encoder_uints (encoder, 2, ranges [1]);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (msg.type, SLUICE_MSG_STORED);
    assert_int_equal (msg.count, 2);
    uint64_t values [3];
    assert_int_equal (sluice_msg_next_uints (&msg, values), 2);
    assert_int_equal (values [0], 1);
    assert_int_equal (values [1], 3);
    assert_int_equal (sluice_msg_next_uints (&msg, values), 2);
    assert_int_equal (values [0], 7);
    assert_int_equal (sluice_msg_next_uints (&msg, values), 0);
    sluice_encoder_destroy (&encoder);
    //  a range is a pair: a bare id or a triple is malformed
    t_packer_t t;
    t_packer_init (&t);
    t_header (&t, 5, SLUICE_MSG_STORED, true);
    t_raw (&t, T_LIT ("\x91\x01"));
    t_reject_packed (&t, "malformed list item");
    t_header (&t, 5, SLUICE_MSG_STORED, true);
    t_raw (&t, T_LIT ("\x91\x93\x01\x02\x03"));
    t_reject_packed (&t, "malformed list item");
    t_packer_destroy (&t);
}

//  CREDIT has a named encoder and accessors; [0, 0] is the heartbeat.
static void
test_credit_encoder_and_accessors (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_credit (encoder, 300, true);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    t_decode_ok (&msg, data, size);
    assert_int_equal (sluice_msg_credit (&msg), 300);
    assert_true (sluice_msg_reset (&msg));
    assert_int_equal (sluice_msg_total (&msg), 0);      //  not an END
    sluice_encoder_credit (encoder, 0, false);
    data = sluice_encoder_data (encoder, &size);
    t_decode_ok (&msg, data, size);
    assert_int_equal (sluice_msg_credit (&msg), 0);
    assert_false (sluice_msg_reset (&msg));
    sluice_encoder_destroy (&encoder);
}

//  A protocol-1 peer is named as such in the reason, so the log says why.
static void
test_rejects_protocol_1_by_name (void **state)
{
    (void) state;
    t_reject_because (T_LIT ("\x94\xcd\x51\xce\x01\x0e\xc4\x10" "0123456789abcdef"),
                      "peer speaks sluice protocol 1");
}

//  A protocol-3 peer (results of 8 fields, no stderr) is named too: an
//  operator upgrading a pipeline sees which program is behind.
static void
test_rejects_protocol_3_by_name (void **state)
{
    (void) state;
    t_reject_because (T_LIT ("\x94\xcd\x51\xce\x03\x0e\xc4\x10" "0123456789abcdef"),
                      "peer speaks sluice protocol 3, this is protocol 5");
}

//  A protocol-4 peer (no HANDBACK) is named too.
static void
test_rejects_protocol_4_by_name (void **state)
{
    (void) state;
    t_reject_because (T_LIT ("\x94\xcd\x51\xce\x04\x0e\xc4\x10" "0123456789abcdef"),
                      "peer speaks sluice protocol 4, this is protocol 5");
}

//  Protocol 5: HANDBACK lists the ids a stopping worker will not start,
//  as PROGRESS lists the ids it runs.
static void
test_handback_lists_ids (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    uint64_t ids [3] = { 3, 9, 12 };
    sluice_encoder_begin (encoder, SLUICE_MSG_HANDBACK, t_batch);
    for (int i = 0; i < 3; i++)
        sluice_encoder_uints (encoder, 1, &ids [i]);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    sluice_msg_t msg;
    assert_int_equal (sluice_msg_decode (&msg, data, size, NULL), 0);
    assert_int_equal (msg.type, SLUICE_MSG_HANDBACK);
    assert_int_equal (msg.count, 3);
    uint64_t id;
    for (int i = 0; i < 3; i++) {
        assert_int_equal (sluice_msg_next_uints (&msg, &id), 1);
        assert_int_equal (id, ids [i]);
    }
    assert_int_equal (sluice_msg_next_uints (&msg, &id), 0);
    assert_string_equal (sluice_msg_type_name (SLUICE_MSG_HANDBACK), "HANDBACK");
    sluice_encoder_destroy (&encoder);
}

//  Protocol 4: a result carries its command's stderr (bounded by the
//  worker) and how many stderr bytes beyond the bound were discarded.
static void
test_result_carries_stderr (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin_results (encoder, t_batch, "w");
    sluice_result_t r = {
        .id = 3, .attempt = 1, .status = SLUICE_STATUS_EXIT, .code = 1,
        .output = (const uint8_t *) "", .output_size = 0,
        .stderr_data = (const uint8_t *) "grep: x: No such file\n", .stderr_size = 22,
        .stderr_dropped = 70000
    };
    sluice_encoder_result (encoder, &r);
    sluice_result_t none = { .id = 4, .attempt = 1 };     //  no stderr: c4 00 00
    sluice_encoder_result (encoder, &none);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    //  the second item ends with empty output, nil input, empty stderr, 0
    assert_memory_equal (data + size - 6, "\xc4\x00\xc0\xc4\x00\x00", 6);
    sluice_msg_t msg;
    assert_int_equal (sluice_msg_decode (&msg, data, size, NULL), 0);
    sluice_result_t got;
    assert_int_equal (sluice_msg_next_result (&msg, &got), 1);
    assert_int_equal (got.stderr_size, 22);
    assert_memory_equal (got.stderr_data, "grep: x: No such file\n", 22);
    assert_int_equal (got.stderr_dropped, 70000);
    assert_int_equal (sluice_msg_next_result (&msg, &got), 1);
    assert_int_equal (got.stderr_size, 0);
    assert_int_equal (got.stderr_dropped, 0);
    assert_int_equal (sluice_msg_next_result (&msg, &got), 0);
    sluice_encoder_destroy (&encoder);
}

//  The worker identity of RESULTS is written as bin, as every byte field.
static void
test_results_identity_is_bin (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin_results (encoder, t_batch, "h:1");
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    //  96 cd 51 ce 02 02 c4 10 <16 bytes> c4 03 'h' ':' '1'
    assert_int_equal (data [24], 0xc4);
    assert_int_equal (data [25], 3);
    assert_memory_equal (data + 26, "h:1", 3);
    sluice_encoder_destroy (&encoder);
}

static void
test_names (void **state)
{
    (void) state;
    assert_string_equal (sluice_msg_type_name (SLUICE_MSG_TASKS), "TASKS");
    assert_string_equal (sluice_msg_type_name (SLUICE_MSG_BYE), "BYE");
    assert_string_equal (sluice_msg_type_name (0), "?");
    assert_string_equal (sluice_msg_type_name (SLUICE_MSG_STORED), "STORED");
    assert_string_equal (sluice_msg_type_name (SLUICE_MSG_REFUSE), "REFUSE");
    assert_string_equal (sluice_msg_type_name (SLUICE_MSG_DROP), "DROP");
    assert_string_equal (sluice_msg_type_name (SLUICE_MSG_HANDBACK), "HANDBACK");
    assert_string_equal (sluice_msg_type_name (19), "?");
    assert_string_equal (sluice_msg_type_name (-1), "?");
    assert_string_equal (sluice_status_name (SLUICE_STATUS_OK), "ok");
    assert_string_equal (sluice_status_name (SLUICE_STATUS_TIMEOUT), "timeout");
    assert_string_equal (sluice_status_name (SLUICE_STATUS_ERROR), "error");
    assert_string_equal (sluice_status_name (6), "?");
    assert_string_equal (sluice_status_name (-1), "?");
}

//  --------------------------------------------------------------------------
//  Malformed messages

static void
test_rejects_empty_buffer (void **state)
{
    (void) state;
    t_reject_because (T_LIT (""), "not a sluice message");
    sluice_msg_t msg;
    const char *reason = NULL;
    uint8_t byte = 0x94;
    assert_int_equal (sluice_msg_decode (&msg, &byte, 0, &reason), -1);
    assert_non_null (reason);
    //  a NULL reason pointer is allowed
    assert_int_equal (sluice_msg_decode (&msg, &byte, 0, NULL), -1);
}

static void
test_rejects_non_arrays (void **state)
{
    (void) state;
    t_reject_because (T_LIT ("\xc0"), "not a sluice message");              //  nil
    t_reject_because (T_LIT ("\x05"), "not a sluice message");              //  int
    t_reject_because (T_LIT ("\xa3" "abc"), "not a sluice message");        //  str
    t_reject_because (T_LIT ("\xc4\x01x"), "not a sluice message");         //  bin
    t_reject_because (T_LIT ("\x81\x01\x02"), "not a sluice message");      //  map
    t_reject_because (T_LIT ("\xc1"), "not a sluice message");              //  reserved
    t_reject (T_LIT ("\xff\xff\xff\xff"));
}

static void
test_rejects_short_arrays (void **state)
{
    (void) state;
    t_reject_because (T_LIT ("\x90"), "not a sluice message");
    t_reject_because (T_LIT ("\x91\xcd\x51\xce"), "not a sluice message");
    t_reject_because (T_LIT ("\x92\xcd\x51\xce\x05"), "not a sluice message");
    t_reject_because (T_LIT ("\x93\xcd\x51\xce\x05\x0e"), "not a sluice message");
    //  array16 and array32 headers with too few elements
    t_reject_because (T_LIT ("\xdc\x00\x03\xcd\x51\xce\x05\x0e"), "not a sluice message");
    t_reject_because (T_LIT ("\xdd\x00\x00\x00\x02\xcd\x51\xce\x05"), "not a sluice message");
}

static void
test_rejects_wrong_signature (void **state)
{
    (void) state;
    //  BYE with a good batch but a bad signature
    t_packer_t t;
    t_packer_init (&t);
    uint64_t signatures [] = { 0, 0x51cf, 0xce51, 0x151ce, 1 };
    for (size_t i = 0; i < 5; i++) {
        msgpack_pack_array (&t.pk, 4);
        msgpack_pack_uint64 (&t.pk, signatures [i]);
        msgpack_pack_uint8 (&t.pk, SLUICE_PROTOCOL);
        msgpack_pack_uint8 (&t.pk, SLUICE_MSG_BYE);
        t_bin (&t, t_batch, SLUICE_BATCH_SIZE);
        t_reject_packed (&t, "signature");
    }
    //  the signature as a string, a negative number, nil
    t_raw (&t, T_LIT ("\x94\xa2\x51\xce\x01\x0e\xc0"));
    t_reject_packed (&t, "signature");
    t_raw (&t, T_LIT ("\x94\xd1\xae\x32\x01\x0e\xc0"));
    t_reject_packed (&t, "signature");
    t_raw (&t, T_LIT ("\x94\xc0\x01\x0e\xc0"));
    t_reject_packed (&t, "signature");
    t_packer_destroy (&t);
}

static void
test_rejects_wrong_version (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    int versions [] = { 0, 1, 2, 3, 4, 6, 255, -1 };
    for (size_t i = 0; i < sizeof versions / sizeof versions [0]; i++) {
        msgpack_pack_array (&t.pk, 4);
        msgpack_pack_uint16 (&t.pk, SLUICE_SIGNATURE);
        msgpack_pack_int (&t.pk, versions [i]);
        msgpack_pack_uint8 (&t.pk, SLUICE_MSG_BYE);
        t_bin (&t, t_batch, SLUICE_BATCH_SIZE);
        t_reject_packed (&t, "protocol");
    }
    t_packer_destroy (&t);
}

static void
test_rejects_unknown_types (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    int types [] = { 0, 19, 20, 127, 255, 65536, -1 };
    for (size_t i = 0; i < sizeof types / sizeof types [0]; i++) {
        t_header (&t, 4, types [i], true);
        t_reject_packed (&t, "unknown message type");
    }
    //  the type as a string
    t_raw (&t, T_LIT ("\x94\xcd\x51\xce\x05\xa1\x0e\xc0"));
    t_reject_packed (&t, "unknown message type");
    t_packer_destroy (&t);
}

static void
test_rejects_bad_batch (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    size_t lengths [] = { 0, 1, 15, 17, 32 };
    uint8_t bytes [32] = { 0 };
    for (size_t i = 0; i < 5; i++) {
        msgpack_pack_array (&t.pk, 4);
        msgpack_pack_uint16 (&t.pk, SLUICE_SIGNATURE);
        msgpack_pack_uint8 (&t.pk, SLUICE_PROTOCOL);
        msgpack_pack_uint8 (&t.pk, SLUICE_MSG_BYE);
        t_bin (&t, bytes, lengths [i]);
        t_reject_packed (&t, "batch");
    }
    //  the batch as an integer, a bool, an array
    t_raw (&t, T_LIT ("\x94\xcd\x51\xce\x05\x0e\x05"));
    t_reject_packed (&t, "batch");
    t_raw (&t, T_LIT ("\x94\xcd\x51\xce\x05\x0e\xc3"));
    t_reject_packed (&t, "batch");
    t_raw (&t, T_LIT ("\x94\xcd\x51\xce\x05\x0e\x90"));
    t_reject_packed (&t, "batch");
    t_packer_destroy (&t);
}

//  Only CREDIT (from a worker) and PONG (from a sink with no batch yet)
//  may leave the batch nil.
static void
test_rejects_nil_batch_where_required (void **state)
{
    (void) state;
    for (int type = 1; type <= SLUICE_MSG_MAX; type++) {
        size_t size;
        uint8_t *example = t_example (type, &size);
        //  the batch starts at offset 6 (after 9x cd 51 ce 01 type) in
        //  every example; replace its 18 bytes by one nil
        assert_int_equal (example [6], 0xc4);
        assert_int_equal (example [7], SLUICE_BATCH_SIZE);
        uint8_t *nil = (uint8_t *) malloc (size - 17);
        assert_non_null (nil);
        memcpy (nil, example, 6);
        nil [6] = 0xc0;
        memcpy (nil + 7, example + 24, size - 24);
        sluice_msg_t msg;
        const char *reason = NULL;
        int rc = sluice_msg_decode (&msg, nil, size - 17, &reason);
        if (type == SLUICE_MSG_CREDIT || type == SLUICE_MSG_PONG) {
            if (rc)
                fail_msg ("%s with nil batch rejected: %s", sluice_msg_type_name (type), reason);
            assert_false (msg.has_batch);
        }
        else
            t_reject_because (nil, size - 17, "missing batch id");
        free (nil);
        free (example);
    }
}

static void
test_rejects_wrong_field_count (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    //  scalar types with one argument too few and one too many
    int types [] = { SLUICE_MSG_CREDIT, SLUICE_MSG_BEGIN, SLUICE_MSG_END, SLUICE_MSG_ABANDON,
                     SLUICE_MSG_PING, SLUICE_MSG_COMPLETE, SLUICE_MSG_PONG, SLUICE_MSG_BYE };
    int arity [] = { 2, 3, 1, 0, 1, 2, 2, 0 };
    for (size_t i = 0; i < 8; i++) {
        for (int delta = -1; delta <= 1; delta += 2) {
            int n = arity [i] + delta;
            if (n < 0)
                continue;
            t_header (&t, (uint32_t) (4 + n), types [i], true);
            for (int k = 0; k < n; k++)
                msgpack_pack_uint8 (&t.pk, 1);
            t_reject_packed (&t, "wrong number of fields");
        }
    }
    //  list types without their list, and with an extra field
    int lists [] = { SLUICE_MSG_TASKS, SLUICE_MSG_PROGRESS, SLUICE_MSG_LOST,
                     SLUICE_MSG_ACK, SLUICE_MSG_RETRY, SLUICE_MSG_STORED,
                     SLUICE_MSG_HANDBACK };
    for (size_t i = 0; i < 7; i++) {
        t_header (&t, 4, lists [i], true);
        t_reject_packed (&t, "wrong number of fields");
        t_header (&t, 6, lists [i], true);
        t_raw (&t, T_LIT ("\x90\x90"));
        t_reject_packed (&t, "wrong number of fields");
    }
    //  RESULTS without its worker identity
    t_header (&t, 5, SLUICE_MSG_RESULTS, true);
    t_raw (&t, T_LIT ("\x90"));
    t_reject_packed (&t, "wrong number of fields");
    t_packer_destroy (&t);
}

static void
test_rejects_nil_or_missing_list (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    t_header (&t, 5, SLUICE_MSG_TASKS, true);
    msgpack_pack_nil (&t.pk);
    t_reject_packed (&t, "bad item list");
    t_header (&t, 5, SLUICE_MSG_ACK, true);
    msgpack_pack_map (&t.pk, 0);
    t_reject_packed (&t, "bad item list");
    t_header (&t, 5, SLUICE_MSG_PROGRESS, true);
    msgpack_pack_uint8 (&t.pk, 1);
    t_reject_packed (&t, "bad item list");
    //  RESULTS: worker identity must be bytes
    t_header (&t, 6, SLUICE_MSG_RESULTS, true);
    msgpack_pack_uint8 (&t.pk, 1);
    t_raw (&t, T_LIT ("\x90"));
    t_reject_packed (&t, "bad worker identity");
    t_header (&t, 6, SLUICE_MSG_RESULTS, true);
    msgpack_pack_nil (&t.pk);
    t_raw (&t, T_LIT ("\x90"));
    t_reject_packed (&t, "bad worker identity");
    t_packer_destroy (&t);
}

//  Scalar arguments must be non-negative integers.
static void
test_rejects_wrong_scalar_types (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    const char *bad [] = {
        "\xa1" "5",                 //  str
        "\xff",                     //  -1 as negative fixint
        "\xd0\x80",                 //  -128 as int8
        "\xd3\xff\xff\xff\xff\xff\xff\xff\xff",     //  -1 as int64
        "\xc0",                     //  nil
        "\xc3",                     //  true
        "\xca\x3f\x80\x00\x00",     //  1.0 as float32
        "\x90",                     //  array
    };
    size_t sizes [] = { 2, 1, 2, 9, 1, 1, 5, 1 };
    for (size_t i = 0; i < 8; i++) {
        //  in the first and in the last argument
        t_header (&t, 6, SLUICE_MSG_CREDIT, false);
        t_raw (&t, bad [i], sizes [i]);
        msgpack_pack_uint8 (&t.pk, 0);
        t_reject_packed (&t, "not an unsigned integer");
        t_header (&t, 7, SLUICE_MSG_BEGIN, true);
        msgpack_pack_uint8 (&t.pk, 0);
        msgpack_pack_uint8 (&t.pk, 0);
        t_raw (&t, bad [i], sizes [i]);
        t_reject_packed (&t, "not an unsigned integer");
    }
    t_packer_destroy (&t);
}

//  Build a TASKS message with one task whose fields are given raw.
static void
t_task_raw (t_packer_t *t, const char *item, size_t size)
{
    t_header (t, 5, SLUICE_MSG_TASKS, true);
    t_raw (t, T_LIT ("\x91"));
    t_raw (t, item, size);
}

static void
test_rejects_bad_tasks (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    //  the valid item, for reference: [1, 1, 0, bin "x"]
    t_task_raw (&t, T_LIT ("\x94\x01\x01\x00\xc4\x01x"));
    sluice_msg_t msg;
    uint8_t *copy;
    t_accept_packed (&t, &msg, &copy);
    free (copy);
    struct {
        const char *item;
        size_t size;
    } cases [] = {
        { T_LIT ("\x93\x01\x01\x00") },                          //  arity 3
        { T_LIT ("\x95\x01\x01\x00\xc4\x01x\x00") },             //  arity 5
        { T_LIT ("\x90") },                                      //  arity 0
        { T_LIT ("\x94\xa1" "1\x01\x00\xc4\x01x") },             //  id as str
        { T_LIT ("\x94\xff\x01\x00\xc4\x01x") },                 //  id negative
        { T_LIT ("\x94\x01\xff\x00\xc4\x01x") },                 //  attempt negative
        { T_LIT ("\x94\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x00\xc4\x01x") },  //  attempt 2^32
        { T_LIT ("\x94\x01\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xc4\x01x") },  //  flags 2^32
        { T_LIT ("\x94\x01\x01\x00\x05") },                      //  payload as int
        { T_LIT ("\x94\x01\x01\x00\xc0") },                      //  payload nil
        { T_LIT ("\x01") },                                      //  not an array
        { T_LIT ("\xc0") },                                      //  nil item
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        t_task_raw (&t, cases [i].item, cases [i].size);
        t_reject_packed (&t, "malformed list item");
    }
    //  a good task followed by a bad one: the whole message is dropped
    t_header (&t, 5, SLUICE_MSG_TASKS, true);
    t_raw (&t, T_LIT ("\x92\x94\x01\x01\x00\xc4\x01x\x94\x02\x01\x00\x05"));
    t_reject_packed (&t, "malformed list item");
    t_packer_destroy (&t);
}

//  Build a RESULTS message with one result whose fields are given raw.
static void
t_result_raw (t_packer_t *t, const char *item, size_t size)
{
    t_header (t, 6, SLUICE_MSG_RESULTS, true);
    t_raw (t, T_LIT ("\xa1w\x91"));
    t_raw (t, item, size);
}

static void
test_rejects_bad_results (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    //  the valid item: [id 1, attempt 1, flags 0, status 5, code -1,
    //  elapsed 0, output "", input nil, stderr "", stderr_dropped 0]
    t_result_raw (&t, T_LIT ("\x9a\x01\x01\x00\x05\xff\x00\xc4\x00\xc0\xc4\x00\x00"));
    sluice_msg_t msg;
    uint8_t *copy;
    t_accept_packed (&t, &msg, &copy);
    free (copy);
    struct {
        const char *item;
        size_t size;
    } cases [] = {
        { T_LIT ("\x9a\x01\x01\x00\x06\xff\x00\xc4\x00\xc0\xc4\x00\x00") },             //  status 6
        { T_LIT ("\x9a\x01\x01\x00\xcc\xff\xff\x00\xc4\x00\xc0\xc4\x00\x00") },         //  status 255
        { T_LIT ("\x9a\x01\x01\x00\xce\xff\xff\xff\xff\xff\x00\xc4\x00\xc0\xc4\x00\x00") },  //  status 2^32-1
        { T_LIT ("\x9a\x01\x01\x00\x00\xce\x80\x00\x00\x00\x00\xc4\x00\xc0\xc4\x00\x00") },  //  code 2^31
        { T_LIT ("\x9a\x01\x01\x00\x00\xd3\xff\xff\xff\xff\x7f\xff\xff\xff\x00\xc4\x00\xc0\xc4\x00\x00") },  //  code < INT32_MIN
        { T_LIT ("\x9a\x01\x01\x00\x00\xa1" "0\x00\xc4\x00\xc0\xc4\x00\x00") },         //  code as str
        { T_LIT ("\x9a\x01\x01\x00\x00\x00\xff\xc4\x00\xc0\xc4\x00\x00") },             //  elapsed negative
        { T_LIT ("\x9a\x01\x01\x00\x00\x00\x00\xc0\xc0\xc4\x00\x00") },                  //  output nil
        { T_LIT ("\x9a\x01\x01\x00\x00\x00\x00\xc4\x00\x05\xc4\x00\x00") },             //  input as int
        { T_LIT ("\x97\x01\x01\x00\x00\x00\x00\xc4\x00") },                  //  arity 7
        { T_LIT ("\x98\x01\x01\x00\x00\x00\x00\xc4\x00\xc0") },             //  arity 8 (protocol 3)
        { T_LIT ("\x99\x01\x01\x00\x00\x00\x00\xc4\x00\xc0\xc0") },         //  arity 9
        { T_LIT ("\x9b\x01\x01\x00\x00\x00\x00\xc4\x00\xc0\xc4\x00\x00\x00") },  //  arity 11
        { T_LIT ("\x9a\x01\x01\x00\x00\x00\x00\xc4\x00\xc0\xc0\x00") },     //  stderr nil
        { T_LIT ("\x9a\x01\x01\x00\x00\x00\x00\xc4\x00\xc0\xc4\x00\xff") }, //  dropped negative
        { T_LIT ("\x9a\x01\x01\x00\x00\x00\x00\xc4\x00\xc0\xc4\x05\x00") }, //  stderr too long
        { T_LIT ("\x9a\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\xc4\x00\xc0\xc4\x00\x00") },  //  attempt 2^32
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        t_result_raw (&t, cases [i].item, cases [i].size);
        t_reject_packed (&t, "malformed list item");
    }
    t_packer_destroy (&t);
}

static void
test_rejects_bad_uint_items (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    struct {
        int type;
        const char *item;
        size_t size;
    } cases [] = {
        { SLUICE_MSG_PROGRESS, T_LIT ("\x91\x01") },             //  array, not a bare id
        { SLUICE_MSG_PROGRESS, T_LIT ("\xff") },                 //  negative
        { SLUICE_MSG_PROGRESS, T_LIT ("\xa1" "1") },             //  str
        { SLUICE_MSG_ACK, T_LIT ("\x92\x01\x02") },              //  arity 2
        { SLUICE_MSG_ACK, T_LIT ("\x94\x01\x02\x00\x00") },      //  arity 4
        { SLUICE_MSG_ACK, T_LIT ("\x93\x01\x02\xc2") },          //  false, not 0
        { SLUICE_MSG_ACK, T_LIT ("\x01") },                      //  bare id
        { SLUICE_MSG_RETRY, T_LIT ("\x93\x01\x02\x00") },        //  arity 3
        { SLUICE_MSG_RETRY, T_LIT ("\x91\x01") },                //  arity 1
        { SLUICE_MSG_RETRY, T_LIT ("\x92\x01\xff") },            //  negative attempt
        { SLUICE_MSG_LOST, T_LIT ("\x92\x01\x01") },             //  arity 2
        { SLUICE_MSG_LOST, T_LIT ("\x94\x01\x01\xc4\x00\x00") }, //  arity 4
        { SLUICE_MSG_LOST, T_LIT ("\x93\x01\xcf\x00\x00\x00\x01\x00\x00\x00\x00\xc4\x00") },  //  attempts 2^32
        { SLUICE_MSG_LOST, T_LIT ("\x93\x01\x01\xc0") },         //  input nil
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        t_header (&t, 5, cases [i].type, true);
        t_raw (&t, T_LIT ("\x91"));
        t_raw (&t, cases [i].item, cases [i].size);
        t_reject_packed (&t, "malformed list item");
    }
    t_packer_destroy (&t);
}

//  Every strict prefix of every valid example is rejected.
static void
test_rejects_every_truncation (void **state)
{
    (void) state;
    for (int type = 1; type <= SLUICE_MSG_MAX; type++) {
        size_t size;
        uint8_t *example = t_example (type, &size);
        sluice_msg_t msg;
        t_decode_ok (&msg, example, size);
        assert_int_equal (msg.type, type);
        for (size_t n = 0; n < size; n++)
            t_reject (example, n);
        free (example);
    }
}

static void
test_rejects_trailing_bytes (void **state)
{
    (void) state;
    for (int type = 1; type <= SLUICE_MSG_MAX; type++) {
        size_t size;
        uint8_t *example = t_example (type, &size);
        uint8_t *longer = (uint8_t *) malloc (size * 2);
        assert_non_null (longer);
        memcpy (longer, example, size);
        longer [size] = 0xc0;
        t_reject_because (longer, size + 1, "trailing bytes");
        //  two messages back to back in one frame
        memcpy (longer + size, example, size);
        t_reject_because (longer, size * 2, "trailing bytes");
        free (longer);
        free (example);
    }
}

//  Lengths that claim more than the message holds are refused before any
//  allocation or read: each case has only a few bytes after the claim.
static void
test_rejects_huge_claimed_lengths (void **state)
{
    (void) state;
    //  the whole message an array32 of 2^32-1 elements, then 3 bytes
    t_reject_because (T_LIT ("\xdd\xff\xff\xff\xff\xcd\x51\xce"), "not a sluice message");
    t_reject_because (T_LIT ("\xdc\xff\xff\xcd\x51\xce"), "not a sluice message");
    t_packer_t t;
    t_packer_init (&t);
    //  the task list claims 2^32-1 items
    t_header (&t, 5, SLUICE_MSG_TASKS, true);
    t_raw (&t, T_LIT ("\xdd\xff\xff\xff\xff\x94\x01\x01"));
    t_reject_packed (&t, "bad item list");
    //  a task payload claims 4 GiB as bin32, str32, 64 KiB as bin16
    const char *payloads [] = { "\xc6\xff\xff\xff\xff", "\xdb\xff\xff\xff\xff",
                                "\xc5\xff\xff", "\xc4\xff", "\xbf" };
    size_t sizes [] = { 5, 5, 3, 2, 1 };
    for (size_t i = 0; i < 5; i++) {
        t_header (&t, 5, SLUICE_MSG_TASKS, true);
        t_raw (&t, T_LIT ("\x91\x94\x01\x01\x00"));
        t_raw (&t, payloads [i], sizes [i]);
        t_raw (&t, T_LIT ("abc"));
        t_reject_packed (&t, "malformed list item");
    }
    //  the batch claims 4 GiB
    t_raw (&t, T_LIT ("\x94\xcd\x51\xce\x05\x0e\xc6\xff\xff\xff\xff\x00\x01\x02"));
    t_reject_packed (&t, "batch");
    //  the worker identity claims 4 GiB
    t_header (&t, 6, SLUICE_MSG_RESULTS, true);
    t_raw (&t, T_LIT ("\xdb\xff\xff\xff\xff\x90"));
    t_reject_packed (&t, "bad worker identity");
    //  a task item claims 2^32-1 fields
    t_header (&t, 5, SLUICE_MSG_TASKS, true);
    t_raw (&t, T_LIT ("\x91\xdd\xff\xff\xff\xff\x01\x01\x00"));
    t_reject_packed (&t, "malformed list item");
    t_packer_destroy (&t);
}

//  Flip every byte of every example to a handful of values: whatever the
//  decoder accepts must be fully readable.
static void
test_survives_mutations (void **state)
{
    (void) state;
    const uint8_t values [] = { 0x00, 0x01, 0x7f, 0x80, 0x90, 0xa0, 0xc0, 0xc1, 0xc4,
                                0xcc, 0xcf, 0xd0, 0xd3, 0xdd, 0xe0, 0xff };
    for (int type = 1; type <= SLUICE_MSG_MAX; type++) {
        size_t size;
        uint8_t *example = t_example (type, &size);
        for (size_t at = 0; at < size; at++) {
            for (size_t v = 0; v < sizeof values; v++) {
                uint8_t *copy = (uint8_t *) malloc (size);
                assert_non_null (copy);
                memcpy (copy, example, size);
                copy [at] = values [v];
                sluice_msg_t msg;
                const char *reason = NULL;
                if (sluice_msg_decode (&msg, copy, size, &reason) == 0)
                    assert_int_equal (t_drain (&msg), msg.count);
                else
                    assert_non_null (reason);
                free (copy);
            }
        }
        free (example);
    }
}

//  --------------------------------------------------------------------------
//  Input records (ventilator --msgpack)

//  Parse a copy of exactly size bytes; returns what sluice_record_parse does.
static long
t_record (const void *data, size_t size, const uint8_t **payload, size_t *payload_size,
          size_t *offset)
{
    uint8_t *copy = (uint8_t *) malloc (size? size: 1);
    assert_non_null (copy);
    if (size)
        memcpy (copy, data, size);
    *payload = NULL;
    *payload_size = 0;
    long rc = sluice_record_parse (copy, size, payload, payload_size);
    *offset = *payload? (size_t) (*payload - copy): 0;
    free (copy);
    return rc;
}

static void
test_record_parse_bin_and_str (void **state)
{
    (void) state;
    const uint8_t *payload;
    size_t size, offset;
    //  a bin record followed by the start of the next one
    assert_int_equal (t_record (T_LIT ("\xc4\x03" "abc\xc4"), &payload, &size, &offset), 5);
    assert_int_equal (size, 3);
    assert_int_equal (offset, 2);
    assert_int_equal (t_record (T_LIT ("\xa3" "xyz"), &payload, &size, &offset), 4);
    assert_int_equal (size, 3);
    assert_int_equal (offset, 1);
    assert_int_equal (t_record (T_LIT ("\xc4\x00"), &payload, &size, &offset), 2);
    assert_int_equal (size, 0);
    assert_int_equal (t_record (T_LIT ("\xda\x00\x02" "hi"), &payload, &size, &offset), 5);
    assert_int_equal (size, 2);
}

//  The sink's --format msgpack records can be fed back to a ventilator.
static void
test_record_parse_map_with_output (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    msgpack_pack_map (&t.pk, 4);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("id"));
    msgpack_pack_uint64 (&t.pk, 7);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("nested"));
    msgpack_pack_array (&t.pk, 2);
    msgpack_pack_map (&t.pk, 1);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("output"));           //  not this one
    msgpack_pack_str_with_body (&t.pk, T_LIT ("inner"));
    msgpack_pack_double (&t.pk, 1.5);
    msgpack_pack_uint8 (&t.pk, 9);                              //  a non-string key
    msgpack_pack_nil (&t.pk);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("output"));
    msgpack_pack_bin_with_body (&t.pk, T_LIT ("result!"));
    size_t record = t.buffer.size;
    msgpack_pack_nil (&t.pk);                                   //  next record
    const uint8_t *payload;
    size_t size, offset;
    assert_int_equal (t_record (t.buffer.data, t.buffer.size, &payload, &size, &offset),
                      (long) record);
    assert_int_equal (size, 7);
    assert_memory_equal (t.buffer.data + offset, "result!", sizeof ("result!") - 1);

    //  "output" as a str value
    msgpack_sbuffer_clear (&t.buffer);
    msgpack_pack_map (&t.pk, 1);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("output"));
    msgpack_pack_str_with_body (&t.pk, T_LIT ("text"));
    assert_int_equal (t_record (t.buffer.data, t.buffer.size, &payload, &size, &offset),
                      (long) t.buffer.size);
    assert_int_equal (size, 4);

    //  a command's output loses one trailing newline (the next stage's
    //  task is "two\nlines", as --format lines would have split it); a bin
    //  or str record is the payload exactly
    msgpack_sbuffer_clear (&t.buffer);
    msgpack_pack_map (&t.pk, 1);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("output"));
    msgpack_pack_bin_with_body (&t.pk, T_LIT ("two\nlines\n\n"));
    assert_int_equal (t_record (t.buffer.data, t.buffer.size, &payload, &size, &offset),
                      (long) t.buffer.size);
    assert_int_equal (size, 10);
    assert_memory_equal (t.buffer.data + offset, "two\nlines\n", 10);
    msgpack_sbuffer_clear (&t.buffer);
    msgpack_pack_map (&t.pk, 1);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("output"));
    msgpack_pack_bin_with_body (&t.pk, T_LIT ("\n"));
    assert_int_equal (t_record (t.buffer.data, t.buffer.size, &payload, &size, &offset),
                      (long) t.buffer.size);
    assert_int_equal (size, 0);
    msgpack_sbuffer_clear (&t.buffer);
    msgpack_pack_bin_with_body (&t.pk, T_LIT ("kept\n"));
    assert_int_equal (t_record (t.buffer.data, t.buffer.size, &payload, &size, &offset),
                      (long) t.buffer.size);
    assert_int_equal (size, 5);
    t_packer_destroy (&t);
}

static void
test_record_parse_invalid (void **state)
{
    (void) state;
    const uint8_t *payload;
    size_t size, offset;
    //  a map without "output", or with a non-bytes output
    assert_int_equal (t_record (T_LIT ("\x81\xa2id\x01"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\x80"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\x81\xa6output\x05"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\x81\xa6output\xc0"), &payload, &size, &offset), -1);
    //  not a bin, str or map
    assert_int_equal (t_record (T_LIT ("\x05"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\xc0"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\x91\xc4\x00"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\xcb\x00\x00\x00\x00\x00\x00\x00\x00"), &payload, &size,
                                &offset), -1);
    //  the reserved byte, alone or inside a container
    assert_int_equal (t_record (T_LIT ("\xc1"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\x82\xa1" "a\xc1\xa6output\xa1x"), &payload, &size,
                                &offset), -1);
}

//  Every strict prefix of a valid record is incomplete (0), not invalid.
static void
test_record_parse_incomplete (void **state)
{
    (void) state;
    t_packer_t t;
    t_packer_init (&t);
    msgpack_pack_map (&t.pk, 3);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("id"));
    msgpack_pack_uint64 (&t.pk, 1ULL << 40);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("list"));
    msgpack_pack_array (&t.pk, 3);
    msgpack_pack_int32 (&t.pk, -70000);
    msgpack_pack_float (&t.pk, 2.5f);
    msgpack_pack_ext_with_body (&t.pk, T_LIT ("abcd"), 1);
    msgpack_pack_str_with_body (&t.pk, T_LIT ("output"));
    msgpack_pack_bin_with_body (&t.pk, T_LIT ("the output"));
    const uint8_t *payload;
    size_t size, offset;
    for (size_t n = 0; n < t.buffer.size; n++)
        if (t_record (t.buffer.data, n, &payload, &size, &offset) != 0)
            fail_msg ("prefix of %zu bytes not reported incomplete", n);
    assert_int_equal (t_record (t.buffer.data, t.buffer.size, &payload, &size, &offset),
                      (long) t.buffer.size);
    assert_int_equal (size, 10);
    t_packer_destroy (&t);

    //  huge claimed lengths are incomplete, not allocated
    assert_int_equal (t_record (T_LIT ("\xc6\xff\xff\xff\xff" "abc"), &payload, &size, &offset), 0);
    assert_int_equal (t_record (T_LIT ("\xdf\xff\xff\xff\xff\x01\x02\x03"), &payload, &size,
                                &offset), 0);
}

//  What cannot be a record (an array, a number, nil) is invalid at its
//  first byte, complete or not: the reader parses an incomplete record
//  again after every read, and an array of millions of items arriving
//  through a pipe was skipped whole each time before being refused.
static void
test_record_parse_refuses_a_non_record_at_its_first_byte (void **state)
{
    (void) state;
    const uint8_t *payload;
    size_t size, offset;
    assert_int_equal (t_record (T_LIT ("\xdd\xff\xff\xff\xff\x01\x02\x03"), &payload, &size,
                                &offset), -1);
    assert_int_equal (t_record (T_LIT ("\xdc\x00\x05"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\x93"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\xcf\x00"), &payload, &size, &offset), -1);
    assert_int_equal (t_record (T_LIT ("\xc7\x05"), &payload, &size, &offset), -1);
    //  a str, a bin or a map cut short is still only incomplete
    assert_int_equal (t_record (T_LIT ("\xd9\x05" "ab"), &payload, &size, &offset), 0);
    assert_int_equal (t_record (T_LIT ("\xc5\x01"), &payload, &size, &offset), 0);
    assert_int_equal (t_record (T_LIT ("\xde\x00\x01\xa6output"), &payload, &size, &offset), 0);
}

//  Nesting is bounded: deep enough for real data, never a stack overflow.
static void
test_record_parse_nested_depth (void **state)
{
    (void) state;
    size_t depth = 100000;
    uint8_t *deep = (uint8_t *) malloc (depth + 16);
    assert_non_null (deep);
    const uint8_t *payload;
    size_t size, offset;
    //  {"a": [[[ ... ]]], "output": "x"} with 20 levels: accepted
    size_t n = 0;
    deep [n++] = 0x82;
    deep [n++] = 0xa1;
    deep [n++] = 'a';
    for (int i = 0; i < 20; i++)
        deep [n++] = 0x91;
    deep [n++] = 0xc0;
    memcpy (deep + n, T_LIT ("\xa6output\xa1x"));
    n += 9;
    assert_int_equal (t_record (deep, n, &payload, &size, &offset), (long) n);
    assert_int_equal (size, 1);
    //  100000 nested arrays: invalid, whether complete or not
    memset (deep, 0x91, depth);
    deep [depth] = 0xc0;
    assert_int_equal (t_record (deep, depth + 1, &payload, &size, &offset), -1);
    assert_int_equal (t_record (deep, depth, &payload, &size, &offset), -1);
    //  nested maps too
    memset (deep, 0x81, depth);
    assert_int_equal (t_record (deep, depth, &payload, &size, &offset), -1);
    free (deep);
}

//  sluice_msg_open validates list items as they are read: the items before
//  a malformed one come out, then -1, then the message reads as ended.
static void
test_open_reads_valid_items_then_fails (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    uint8_t batch [SLUICE_BATCH_SIZE] = { 1 };
    sluice_encoder_begin (encoder, SLUICE_MSG_TASKS, batch);
    sluice_encoder_task (encoder, 1, 1, 0, "one", 3);
    sluice_encoder_task (encoder, 2, 1, 0, "two", 3);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    uint8_t *copy = malloc (size);
    memcpy (copy, data, size);
    //  corrupt the second task's array header (fixarray 4 -> fixarray 3)
    size_t second = size - (1 + 1 + 1 + 1 + 2 + 3);
    assert_int_equal (copy [second], 0x94);
    copy [second] = 0x93;
    sluice_msg_t msg;
    assert_int_equal (sluice_msg_decode (&msg, copy, size, NULL), -1);
    assert_int_equal (sluice_msg_open (&msg, copy, size, NULL), 0);
    sluice_task_t task;
    assert_int_equal (sluice_msg_next_task (&msg, &task), 1);
    assert_int_equal (task.id, 1);
    assert_int_equal (sluice_msg_next_task (&msg, &task), -1);
    assert_int_equal (sluice_msg_next_task (&msg, &task), 0);
    free (copy);
    //  trailing bytes after a valid list are reported at its end
    data = sluice_encoder_data (encoder, &size);
    copy = malloc (size + 1);
    memcpy (copy, data, size);
    copy [size] = 0xc0;
    assert_int_equal (sluice_msg_open (&msg, copy, size + 1, NULL), 0);
    assert_int_equal (sluice_msg_next_task (&msg, &task), 1);
    assert_int_equal (sluice_msg_next_task (&msg, &task), 1);
    assert_int_equal (sluice_msg_next_task (&msg, &task), -1);
    free (copy);
    sluice_encoder_destroy (&encoder);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_tasks_round_trip),
        cmocka_unit_test (test_open_reads_valid_items_then_fails),
        cmocka_unit_test (test_tasks_empty_list),
        cmocka_unit_test (test_results_round_trip),
        cmocka_unit_test (test_credit_round_trip),
        cmocka_unit_test (test_progress_round_trip),
        cmocka_unit_test (test_ack_and_retry_round_trip),
        cmocka_unit_test (test_lost_round_trip),
        cmocka_unit_test (test_scalar_messages_round_trip),
        cmocka_unit_test (test_encoder_reuse),
        cmocka_unit_test (test_accepts_other_encodings),
        cmocka_unit_test (test_names),
        cmocka_unit_test (test_stored_round_trip),
        cmocka_unit_test (test_credit_encoder_and_accessors),
        cmocka_unit_test (test_rejects_protocol_1_by_name),
        cmocka_unit_test (test_results_identity_is_bin),
        cmocka_unit_test (test_rejects_protocol_3_by_name),
        cmocka_unit_test (test_rejects_protocol_4_by_name),
        cmocka_unit_test (test_handback_lists_ids),
        cmocka_unit_test (test_result_carries_stderr),
        cmocka_unit_test (test_rejects_empty_buffer),
        cmocka_unit_test (test_rejects_non_arrays),
        cmocka_unit_test (test_rejects_short_arrays),
        cmocka_unit_test (test_rejects_wrong_signature),
        cmocka_unit_test (test_rejects_wrong_version),
        cmocka_unit_test (test_rejects_unknown_types),
        cmocka_unit_test (test_rejects_bad_batch),
        cmocka_unit_test (test_rejects_nil_batch_where_required),
        cmocka_unit_test (test_rejects_wrong_field_count),
        cmocka_unit_test (test_rejects_nil_or_missing_list),
        cmocka_unit_test (test_rejects_wrong_scalar_types),
        cmocka_unit_test (test_rejects_bad_tasks),
        cmocka_unit_test (test_rejects_bad_results),
        cmocka_unit_test (test_rejects_bad_uint_items),
        cmocka_unit_test (test_rejects_every_truncation),
        cmocka_unit_test (test_rejects_trailing_bytes),
        cmocka_unit_test (test_rejects_huge_claimed_lengths),
        cmocka_unit_test (test_survives_mutations),
        cmocka_unit_test (test_record_parse_bin_and_str),
        cmocka_unit_test (test_record_parse_map_with_output),
        cmocka_unit_test (test_record_parse_invalid),
        cmocka_unit_test (test_record_parse_incomplete),
        cmocka_unit_test (test_record_parse_refuses_a_non_record_at_its_first_byte),
        cmocka_unit_test (test_record_parse_nested_depth),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
