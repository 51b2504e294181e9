/*  =========================================================================
    test_protocol_examples.c - keeps docs/PROTOCOL.md true to the encoder

    docs/PROTOCOL.md shows a hex dump of one example of each message type.
    This test builds the same examples with the real encoder and checks
    that each dump appears, byte for byte, in the document; two examples
    are also pinned to constants here, so the wire format cannot drift even
    if the document is regenerated. To regenerate the dumps for the doc:

      tests/unit/test_protocol_examples --dump

    The document is found beside this test's binary (../../docs), or at
    $SLUICE_PROTOCOL_DOC.
    =========================================================================
*/

#include "private.h"

#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "protocol_examples.h"

//  Format bytes as hex dump lines: offset, then 16 bytes in two groups.
//  Returns a string the caller frees.
static char *
t_dump (const uint8_t *data, size_t size)
{
    size_t lines = size / 16 + 1;
    char *text = (char *) calloc (1, lines * 64 + 1);
    assert_non_null (text);
    size_t used = 0;
    for (size_t line = 0; line * 16 < size; line++) {
        used += (size_t) sprintf (text + used, "%04zx ", line * 16);
        for (size_t i = line * 16; i < size && i < line * 16 + 16; i++)
            used += (size_t) sprintf (text + used, "%s%02x", i % 16 == 8? "  ": " ", data [i]);
        text [used++] = '\n';
    }
    return text;
}

//  Find docs/PROTOCOL.md; returns its text (caller frees) or NULL.
static char *
t_read_doc (void)
{
    char *candidates [3] = { NULL, NULL, NULL };
    const char *env = getenv ("SLUICE_PROTOCOL_DOC");
    if (env && *env)
        candidates [0] = strdup (env);
    char exe [4096];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe [n] = 0;
        candidates [1] = zsys_sprintf ("%s/../../docs/PROTOCOL.md", dirname (exe));
    }
    char source [] = __FILE__;
    candidates [2] = zsys_sprintf ("%s/../../docs/PROTOCOL.md", dirname (source));
    char *text = NULL;
    for (int i = 0; i < 3; i++) {
        if (!text && candidates [i]) {
            zfile_t *file = zfile_new (NULL, candidates [i]);
            if (file && zfile_input (file) == 0) {
                zchunk_t *chunk = zfile_read (file, zfile_cursize (file), 0);
                if (chunk) {
                    text = (char *) calloc (1, zchunk_size (chunk) + 1);
                    assert_non_null (text);
                    memcpy (text, zchunk_data (chunk), zchunk_size (chunk));
                    zchunk_destroy (&chunk);
                }
            }
            zfile_destroy (&file);
        }
        free (candidates [i]);
    }
    return text;
}

//  Typical use: the TASKS example, byte for byte as the spec shows it.
static void
test_tasks_example_bytes (void **state)
{
    (void) state;
    static const uint8_t expected [] = {
        0x96,                               //  array of 6
        0xcd, 0x51, 0xce,                   //  signature 0x51CE (uint16)
        0x05,                               //  version 5
        0x01,                               //  type 1 = TASKS
        0xc4, 0x10,                         //  batch: bin 8, 16 bytes
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0x93, 0x01, 0x00,                   //  command: [kind 1 = exec, flags 0,
        0xc4, 0x05, 'w', 'c', ' ', '-', 'c',    //   bin "wc -c"]
        0xdd, 0x00, 0x00, 0x00, 0x02,       //  list: array 32, 2 items
        0x94, 0x01, 0x01, 0x03,             //  [id 1, attempt 1, flags 3,
        0xc4, 0x05, 'h', 'e', 'l', 'l', 'o',    //   bin "hello"]
        0x94, 0x02, 0x01, 0x03,             //  [id 2, attempt 1, flags 3,
        0xc4, 0x05, 'w', 'o', 'r', 'l', 'd'     //   bin "world"]
    };
    sluice_encoder_t *encoder = sluice_encoder_new ();
    size_t size;
    const uint8_t *data = t_example_encode (encoder, SLUICE_MSG_TASKS, &size);
    assert_int_equal (size, sizeof expected);
    assert_memory_equal (data, expected, sizeof expected);
    sluice_encoder_destroy (&encoder);
}

//  The RESULTS example (protocol 4: each result ends with its stderr and
//  the count of stderr bytes dropped beyond the worker's bound).
static void
test_results_example_bytes (void **state)
{
    (void) state;
    static const uint8_t expected [] = {
        0x96, 0xcd, 0x51, 0xce, 0x05, 0x02,     //  RESULTS
        0xc4, 0x10,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0xc4, 0x09, 'h', 'o', 's', 't', ':', '4', '2', '4', '2',
        0xdd, 0x00, 0x00, 0x00, 0x02,           //  2 results
        0x9a, 0x01, 0x01, 0x03, 0x00, 0x00,     //  [id 1, attempt 1, flags 3, ok, 0,
        0xcd, 0x05, 0xdc,                       //   1500 us,
        0xc4, 0x06, 'H', 'E', 'L', 'L', 'O', '\n', //   output "HELLO\n",
        0xc4, 0x05, 'h', 'e', 'l', 'l', 'o',    //   input "hello",
        0xc4, 0x00, 0x00,                       //   no stderr, none dropped]
        0x9a, 0x02, 0x01, 0x03, 0x01, 0x02,     //  [id 2, attempt 1, flags 3, exit, 2,
        0xcd, 0x09, 0xc4,                       //   2500 us,
        0xc4, 0x00,                             //   empty output,
        0xc4, 0x05, 'w', 'o', 'r', 'l', 'd',    //   input "world",
        0xc4, 0x05, 'o', 'o', 'p', 's', '\n',   //   stderr "oops\n",
        0x00                                    //   none dropped]
    };
    sluice_encoder_t *encoder = sluice_encoder_new ();
    size_t size;
    const uint8_t *data = t_example_encode (encoder, SLUICE_MSG_RESULTS, &size);
    assert_int_equal (size, sizeof expected);
    assert_memory_equal (data, expected, sizeof expected);
    sluice_encoder_destroy (&encoder);
}

static void
test_credit_and_ack_example_bytes (void **state)
{
    (void) state;
    static const uint8_t credit [] = {
        0x96, 0xcd, 0x51, 0xce, 0x05, 0x03,     //  CREDIT
        0xc0,                                   //  no batch
        0xcd, 0x01, 0x00,                       //  credit 256
        0x00                                    //  reset 0 (incremental)
    };
    static const uint8_t ack [] = {
        0x95, 0xcd, 0x51, 0xce, 0x05, 0x0a,     //  ACK
        0xc4, 0x10,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0xdd, 0x00, 0x00, 0x00, 0x02,           //  2 ranges
        0x93, 0x01, 0x01, 0x00,                 //  [1, 1, ok]
        0x93, 0x02, 0x02, 0x01                  //  [2, 2, failed]
    };
    sluice_encoder_t *encoder = sluice_encoder_new ();
    size_t size;
    const uint8_t *data = t_example_encode (encoder, SLUICE_MSG_CREDIT, &size);
    assert_int_equal (size, sizeof credit);
    assert_memory_equal (data, credit, sizeof credit);
    data = t_example_encode (encoder, SLUICE_MSG_ACK, &size);
    assert_int_equal (size, sizeof ack);
    assert_memory_equal (data, ack, sizeof ack);
    sluice_encoder_destroy (&encoder);
}

//  STORED (protocol 2), and the worker's heartbeat CREDIT [0, 0].
static void
test_stored_and_heartbeat_bytes (void **state)
{
    (void) state;
    static const uint8_t stored [] = {
        0x95, 0xcd, 0x51, 0xce, 0x05, 0x0f,     //  STORED
        0xc4, 0x10,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0xdd, 0x00, 0x00, 0x00, 0x01,           //  1 range
        0x92, 0x01, 0x02                        //  [first 1, last 2]
    };
    static const uint8_t heartbeat [] = {
        0x96, 0xcd, 0x51, 0xce, 0x05, 0x03,     //  CREDIT
        0xc0, 0x00, 0x00                        //  no batch, [0, 0]
    };
    sluice_encoder_t *encoder = sluice_encoder_new ();
    size_t size;
    const uint8_t *data = t_example_encode (encoder, SLUICE_MSG_STORED, &size);
    assert_int_equal (size, sizeof stored);
    assert_memory_equal (data, stored, sizeof stored);
    sluice_encoder_credit (encoder, 0, false);
    data = sluice_encoder_data (encoder, &size);
    assert_int_equal (size, sizeof heartbeat);
    assert_memory_equal (data, heartbeat, sizeof heartbeat);
    sluice_encoder_destroy (&encoder);
}

//  The receipt (protocol 5.1): a RESULTS with no result, which a worker
//  sends once a STORED leaves it holding nothing. Its dump is in
//  docs/PROTOCOL.md section 4.2.
static void
test_receipt_bytes (void **state)
{
    (void) state;
    static const uint8_t receipt [] = {
        0x96, 0xcd, 0x51, 0xce, 0x05, 0x02,     //  RESULTS
        0xc4, 0x10,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0xc4, 0x09, 'h', 'o', 's', 't', ':', '4', '2', '4', '2',
        0xdd, 0x00, 0x00, 0x00, 0x00            //  no result
    };
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_encoder_begin_results (encoder, t_example_batch, "host:4242");
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    assert_int_equal (size, sizeof receipt);
    assert_memory_equal (data, receipt, sizeof receipt);
    sluice_msg_t msg;
    const char *reason = NULL;
    assert_int_equal (sluice_msg_decode (&msg, data, size, &reason), 0);
    assert_int_equal (msg.type, SLUICE_MSG_RESULTS);
    assert_int_equal (msg.count, 0);
    char *doc = t_read_doc ();
    assert_non_null (doc);
    const char *at = strstr (doc, "the receipt, 40 bytes");
    assert_non_null (at);
    char *dump = t_dump (data, size);
    if (!strstr (at, dump))
        fail_msg ("docs/PROTOCOL.md: the receipt differs from the encoder's:\n%s", dump);
    free (dump);
    free (doc);
    sluice_encoder_destroy (&encoder);
}

//  A TASKS of a batch of several sources (protocol 5.4, the ARGS flag):
//  its dump is in docs/PROTOCOL.md section 4.1.
static void
test_args_tasks_bytes (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    sluice_command_t command = { SLUICE_COMMAND_EXEC, SLUICE_COMMAND_ARGS, "cp" };
    sluice_encoder_begin_tasks (encoder, t_example_batch, &command);
    sluice_encoder_task (encoder, 1, 1, SLUICE_FLAG_WANT_INPUT | SLUICE_FLAG_RETRYABLE,
                         "src\0dst", 7);
    size_t size;
    const uint8_t *data = sluice_encoder_data (encoder, &size);
    assert_int_equal (size, 49);
    sluice_msg_t msg;
    const char *reason = NULL;
    assert_int_equal (sluice_msg_decode (&msg, data, size, &reason), 0);
    assert_int_equal (msg.command_flags, SLUICE_COMMAND_ARGS);
    char *doc = t_read_doc ();
    assert_non_null (doc);
    const char *at = strstr (doc, "the ARGS example, 49 bytes");
    assert_non_null (at);
    char *dump = t_dump (data, size);
    if (!strstr (at, dump))
        fail_msg ("docs/PROTOCOL.md: the ARGS example differs from the encoder's:\n%s", dump);
    free (dump);
    free (doc);
    sluice_encoder_destroy (&encoder);
}

//  REFUSE and DROP, new in protocol 3, HANDBACK, new in protocol 5, and a
//  TASKS whose batch names no command (a ventilator without --exec).
static void
test_refuse_drop_handback_and_bare_tasks_bytes (void **state)
{
    (void) state;
    static const uint8_t refuse [] = {
        0x95, 0xcd, 0x51, 0xce, 0x05, 0x10,     //  REFUSE
        0xc4, 0x10,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0x01                                    //  reason 1: another command
    };
    static const uint8_t drop [] = {
        0x94, 0xcd, 0x51, 0xce, 0x05, 0x11,     //  DROP
        0xc4, 0x10,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
    };
    static const uint8_t handback [] = {
        0x95, 0xcd, 0x51, 0xce, 0x05, 0x12,     //  HANDBACK (protocol 5)
        0xc4, 0x10,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0xdd, 0x00, 0x00, 0x00, 0x01, 0x02      //  [2]: task 2 not started
    };
    static const uint8_t bare [] = {
        0x96, 0xcd, 0x51, 0xce, 0x05, 0x01,     //  TASKS
        0xc4, 0x10,
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
        0xc0,                                   //  no command
        0xdd, 0x00, 0x00, 0x00, 0x00            //  no task
    };
    sluice_encoder_t *encoder = sluice_encoder_new ();
    size_t size;
    const uint8_t *data = t_example_encode (encoder, SLUICE_MSG_REFUSE, &size);
    assert_int_equal (size, sizeof refuse);
    assert_memory_equal (data, refuse, sizeof refuse);
    data = t_example_encode (encoder, SLUICE_MSG_DROP, &size);
    assert_int_equal (size, sizeof drop);
    assert_memory_equal (data, drop, sizeof drop);
    data = t_example_encode (encoder, SLUICE_MSG_HANDBACK, &size);
    assert_int_equal (size, sizeof handback);
    assert_memory_equal (data, handback, sizeof handback);
    sluice_encoder_begin (encoder, SLUICE_MSG_TASKS, t_example_batch);
    data = sluice_encoder_data (encoder, &size);
    assert_int_equal (size, sizeof bare);
    assert_memory_equal (data, bare, sizeof bare);
    sluice_encoder_destroy (&encoder);
}

//  Every example decodes as the type it claims.
static void
test_examples_decode (void **state)
{
    (void) state;
    sluice_encoder_t *encoder = sluice_encoder_new ();
    for (int type = 1; type <= SLUICE_MSG_MAX; type++) {
        size_t size;
        const uint8_t *data = t_example_encode (encoder, type, &size);
        sluice_msg_t msg;
        const char *reason = NULL;
        if (sluice_msg_decode (&msg, data, size, &reason))
            fail_msg ("%s example rejected: %s", sluice_msg_type_name (type), reason);
        assert_int_equal (msg.type, type);
        assert_int_equal (msg.has_batch, type != SLUICE_MSG_CREDIT);
    }
    sluice_encoder_destroy (&encoder);
}

//  Every example's dump appears in docs/PROTOCOL.md under its name.
static void
test_doc_shows_every_example (void **state)
{
    (void) state;
    char *doc = t_read_doc ();
    if (!doc)
        fail_msg ("docs/PROTOCOL.md not found (set SLUICE_PROTOCOL_DOC)");
    assert_non_null (strstr (doc, "# sluice protocol 5.4\n"));
    sluice_encoder_t *encoder = sluice_encoder_new ();
    for (int type = 1; type <= SLUICE_MSG_MAX; type++) {
        size_t size;
        const uint8_t *data = t_example_encode (encoder, type, &size);
        char *dump = t_dump (data, size);
        char heading [64];
        snprintf (heading, sizeof heading, "%s (%d), %zu bytes",
                  sluice_msg_type_name (type), type, size);
        const char *at = strstr (doc, heading);
        if (!at)
            fail_msg ("docs/PROTOCOL.md lacks the example heading '%s'", heading);
        if (!strstr (at, dump))
            fail_msg ("docs/PROTOCOL.md: the %s example differs from the encoder's:\n%s",
                      sluice_msg_type_name (type), dump);
        free (dump);
    }
    sluice_encoder_destroy (&encoder);
    free (doc);
}

//  Print every example as it appears in docs/PROTOCOL.md.
static void
t_print_dumps (void)
{
    sluice_encoder_t *encoder = sluice_encoder_new ();
    for (int type = 1; type <= SLUICE_MSG_MAX; type++) {
        size_t size;
        const uint8_t *data = t_example_encode (encoder, type, &size);
        char *dump = t_dump (data, size);
        printf ("%s (%d), %zu bytes:\n\n```\n%s```\n\n", sluice_msg_type_name (type), type,
                size, dump);
        free (dump);
    }
    sluice_encoder_destroy (&encoder);
}

int
main (int argc, char *argv [])
{
    if (argc == 2 && streq (argv [1], "--dump")) {
        t_print_dumps ();
        return 0;
    }
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_tasks_example_bytes),
        cmocka_unit_test (test_results_example_bytes),
        cmocka_unit_test (test_credit_and_ack_example_bytes),
        cmocka_unit_test (test_stored_and_heartbeat_bytes),
        cmocka_unit_test (test_refuse_drop_handback_and_bare_tasks_bytes),
        cmocka_unit_test (test_receipt_bytes),
        cmocka_unit_test (test_examples_decode),
        cmocka_unit_test (test_args_tasks_bytes),
        cmocka_unit_test (test_doc_shows_every_example),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
