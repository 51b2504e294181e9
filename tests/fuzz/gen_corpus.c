/*  =========================================================================
    gen_corpus.c - writes the seed corpus of every fuzz target

    corpus-decode: one valid message of each type (the examples of
    docs/PROTOCOL.md), a few valid --msgpack input records, and a few
    malformed messages and records. File names carry the expectation that
    test_fuzz_corpus checks: valid-msg-* decode, bad-msg-* are rejected,
    valid-record-* parse, bad-record-* are invalid.
    corpus-reader, corpus-ledger, corpus-config: the cases each parser
    must get right, in the input layout its target's header describes;
    regress-* files are inputs a fuzzer once found a bug with.
    Run from the repository root (it writes into existing directories
    and creates missing ones; it never deletes a file):

      make fuzz-corpus          (tests/fuzz/gen_corpus tests/fuzz)
    =========================================================================
*/

#include "private.h"
#include "options.h"
#include "protocol_examples.h"

#include <ctype.h>
#include <sys/stat.h>

static void
t_write (const char *dir, const char *name, const void *data, size_t size)
{
    char path [512];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file)) {
        fprintf (stderr, "gen_corpus: cannot write %s\n", path);
        exit (1);
    }
}

#define T_LIT(s) s, sizeof (s) - 1

//  The directory of a target's corpus under root, created if missing
//  (static storage, until the next call).
static const char *
t_corpus (const char *root, const char *target)
{
    static char path [512];
    snprintf (path, sizeof path, "%s/corpus-%s", root, target);
    if (mkdir (path, 0777) && errno != EEXIST) {
        fprintf (stderr, "gen_corpus: cannot create %s\n", path);
        exit (1);
    }
    return path;
}

static void
t_decode_corpus (const char *dir)
{
    sluice_encoder_t *encoder = sluice_encoder_new ();
    for (int type = 1; type <= SLUICE_MSG_MAX; type++) {
        size_t size;
        const uint8_t *data = t_example_encode (encoder, type, &size);
        char name [64];
        snprintf (name, sizeof name, "valid-msg-%02d-%s", type, sluice_msg_type_name (type));
        for (char *p = name; *p; p++)
            *p = (char) tolower ((unsigned char) *p);
        t_write (dir, name, data, size);
        //  the same message cut one byte short
        if (type == SLUICE_MSG_TASKS || type == SLUICE_MSG_RESULTS || type == SLUICE_MSG_ACK) {
            snprintf (name, sizeof name, "bad-msg-truncated-%02d", type);
            t_write (dir, name, data, size - 1);
        }
    }
    sluice_encoder_destroy (&encoder);

    //  malformed messages
    t_write (dir, "bad-msg-empty", "", 0);
    t_write (dir, "bad-msg-not-array", T_LIT ("\x81\xa1k\xa1v"));
    t_write (dir, "bad-msg-signature", T_LIT ("\x94\xcd\x51\xcf\x01\x0e\xc0"));
    t_write (dir, "bad-msg-version", T_LIT ("\x94\xcd\x51\xce\x06\x0e\xc0"));
    t_write (dir, "bad-msg-protocol-4", T_LIT ("\x94\xcd\x51\xce\x04\x0e\xc4\x10" "0123456789abcdef"));
    t_write (dir, "bad-msg-protocol-3", T_LIT ("\x94\xcd\x51\xce\x03\x0e\xc4\x10" "0123456789abcdef"));
    t_write (dir, "bad-msg-protocol-2", T_LIT ("\x94\xcd\x51\xce\x02\x0e\xc4\x10" "0123456789abcdef"));
    t_write (dir, "bad-msg-protocol-1", T_LIT ("\x94\xcd\x51\xce\x01\x0e\xc4\x10" "0123456789abcdef"));
    t_write (dir, "bad-msg-type-0", T_LIT ("\x94\xcd\x51\xce\x05\x00\xc0"));
    t_write (dir, "bad-msg-type-19", T_LIT ("\x94\xcd\x51\xce\x05\x13\xc0"));
    t_write (dir, "bad-msg-huge-array", T_LIT ("\xdd\xff\xff\xff\xff\xcd\x51\xce"));
    t_write (dir, "bad-msg-huge-list",
             T_LIT ("\x96\xcd\x51\xce\x05\x01\xc4\x10"
                    "0123456789abcdef\xc0\xdd\xff\xff\xff\xff\x94\x01\x01"));
    t_write (dir, "bad-msg-huge-payload",
             T_LIT ("\x96\xcd\x51\xce\x05\x01\xc4\x10"
                    "0123456789abcdef\xc0\x91\x94\x01\x01\x00\xc6\xff\xff\xff\xff" "abc"));
    t_write (dir, "bad-msg-status-6",
             T_LIT ("\x96\xcd\x51\xce\x05\x02\xc4\x10"
                    "0123456789abcdef\xa1w\x91\x9a\x01\x01\x00\x06\x00\x00\xc4\x00\xc0\xc4\x00\x00"));
    t_write (dir, "bad-msg-nil-batch", T_LIT ("\x94\xcd\x51\xce\x05\x0e\xc0"));
    t_write (dir, "bad-msg-trailing",
             T_LIT ("\x94\xcd\x51\xce\x05\x0e\xc4\x10" "0123456789abcdef\xc0"));

    //  --msgpack input records: bin, str, a sink record, and a stream
    t_write (dir, "valid-record-bin", T_LIT ("\xc4\x05hello"));
    t_write (dir, "valid-record-str", T_LIT ("\xa5world"));
    t_write (dir, "valid-record-map",
             T_LIT ("\x83\xa2id\x01\xa6status\xa2ok\xa6output\xc4\x06HELLO\n"));
    t_write (dir, "valid-record-stream", T_LIT ("\xa1" "a\xc4\x01" "b\x81\xa6output\xa1" "c"));
    t_write (dir, "bad-record-no-output", T_LIT ("\x81\xa2id\x01"));
    t_write (dir, "bad-record-reserved", T_LIT ("\xc1"));
    t_write (dir, "bad-record-int", T_LIT ("\x2a"));
}

//  List messages of unsigned integers with several items, and items of
//  the wrong width (an ACK range of 2, a STORED range of 3).
static void
t_decode_lists (const char *dir)
{
    sluice_encoder_t *encoder = sluice_encoder_new ();
    size_t size;
    const uint8_t *data;
    uint64_t ack [3][3] = { { 1, 5, 0 }, { 7, 7, 1 }, { 9, (uint64_t) 1 << 40, 0 } };
    sluice_encoder_begin (encoder, SLUICE_MSG_ACK, t_example_batch);
    for (int i = 0; i < 3; i++)
        sluice_encoder_uints (encoder, 3, ack [i]);
    data = sluice_encoder_data (encoder, &size);
    t_write (dir, "list-ack-ranges", data, size);

    uint64_t stored [2][2] = { { 1, 100 }, { 200, 150 } };     //  the second one reversed
    sluice_encoder_begin (encoder, SLUICE_MSG_STORED, t_example_batch);
    for (int i = 0; i < 2; i++)
        sluice_encoder_uints (encoder, 2, stored [i]);
    data = sluice_encoder_data (encoder, &size);
    t_write (dir, "list-stored-ranges", data, size);

    sluice_encoder_begin (encoder, SLUICE_MSG_PROGRESS, t_example_batch);
    for (uint64_t id = 1; id <= 300; id += 37)
        sluice_encoder_uints (encoder, 1, &id);
    data = sluice_encoder_data (encoder, &size);
    t_write (dir, "list-progress-ids", data, size);

    //  an ACK item of two fields, a STORED item of three
    sluice_encoder_begin (encoder, SLUICE_MSG_ACK, t_example_batch);
    sluice_encoder_uints (encoder, 2, stored [0]);
    data = sluice_encoder_data (encoder, &size);
    t_write (dir, "bad-msg-ack-pair", data, size);
    sluice_encoder_begin (encoder, SLUICE_MSG_STORED, t_example_batch);
    sluice_encoder_uints (encoder, 3, ack [0]);
    data = sluice_encoder_data (encoder, &size);
    t_write (dir, "bad-msg-stored-triple", data, size);
    //  CREDIT with a negative (signed) credit, PROGRESS with an array item
    t_write (dir, "bad-msg-credit-negative", T_LIT ("\x96\xcd\x51\xce\x02\x03\xc0\xd0\xff\x00"));
    t_write (dir, "bad-msg-progress-array",
             T_LIT ("\x95\xcd\x51\xce\x02\x04\xc4\x10" "0123456789abcdef\x91\x91\x01"));
    sluice_encoder_destroy (&encoder);
}

//  A reader input: the header bytes (fuzz_reader.c), then the body.
static void
t_reader (const char *dir, const char *name, int format, int max_size, int inputs,
          int growth, int step, const void *body, size_t size)
{
    uint8_t *data = (uint8_t *) malloc (size + 2);
    data [0] = (uint8_t) (format | max_size << 2 | (inputs - 1) << 4 | growth << 6);
    data [1] = (uint8_t) step;
    memcpy (data + 2, body, size);
    t_write (dir, name, data, size + 2);
    free (data);
}

//  max-size choices of fuzz_reader.c: records of at most 512 bytes, 64M
#define T_1K 0
#define T_64M 3

static void
t_reader_corpus (const char *dir)
{
    char line [1100];
    t_reader (dir, "lines", 0, T_64M, 1, 0, 16, T_LIT ("one\ntwo\nthree\n"));
    t_reader (dir, "lines-unterminated", 0, T_64M, 1, 0, 16, T_LIT ("a\nb"));
    t_reader (dir, "lines-empty", 0, T_64M, 1, 0, 16, T_LIT ("\n\n\nx\n"));
    t_reader (dir, "lines-byte-by-byte", 0, T_64M, 1, 0, 0, T_LIT ("one\ntwo\n"));
    t_reader (dir, "lines-two-inputs", 0, T_64M, 2, 0, 16, T_LIT ("ab\ncd\nef"));
    t_reader (dir, "lines-four-inputs", 0, T_64M, 4, 0, 3, T_LIT ("a\nbb\nccc\ndddd\n"));
    t_reader (dir, "lines-past-a-pipe", 0, T_64M, 1, 2, 16, T_LIT ("0123456789\n"));
    t_reader (dir, "lines-many", 0, T_1K, 1, 1, 16, T_LIT ("abc\nde\n"));
    //  a line of exactly 512 bytes passes --max-size 1k, one of 513 does not
    memset (line, 'x', sizeof line);
    line [512] = '\n';
    t_reader (dir, "lines-at-max", 0, T_1K, 1, 0, 16, line, 513);
    line [512] = 'x';
    line [513] = '\n';
    t_reader (dir, "lines-over-max", 0, T_1K, 1, 0, 16, line, 514);
    t_reader (dir, "lines-over-max-unterminated", 0, T_1K, 1, 0, 16, line, 600);
    //  600 KB without a newline: skipped to its end, then refused; with
    //  --max-size 64M the buffer grows for it instead
    t_reader (dir, "lines-over-buffer", 0, T_1K, 1, 3, 16, T_LIT ("ab\ncd"));
    t_reader (dir, "lines-long-in-64m", 0, T_64M, 1, 3, 16, T_LIT ("ab\ncd"));
    t_reader (dir, "msgpack-long-in-64m", 2, T_64M, 1, 3, 16, T_LIT ("\xc6\x00\x09\x60\x00"));
    t_reader (dir, "nul", 1, T_64M, 1, 0, 16, T_LIT ("a\0b\nc\0d"));
    t_reader (dir, "nul-over-buffer", 1, T_1K, 2, 3, 16, T_LIT ("abc\ndef"));
    t_reader (dir, "msgpack-stream", 2, T_64M, 1, 0, 16,
              T_LIT ("\xa1" "a\xc4\x01" "b\x81\xa6output\xa1" "c\xd9\x01" "d"));
    t_reader (dir, "msgpack-sink-records", 2, T_64M, 1, 0, 5,
              T_LIT ("\x83\xa2id\x01\xa6status\xa2ok\xa6output\xc4\x06HELLO\n"
                     "\x83\xa2id\x02\xa6status\xa4" "exit\xa6output\xc4\x00"));
    t_reader (dir, "msgpack-two-inputs", 2, T_64M, 2, 0, 1, T_LIT ("\xa1" "a\xa1" "b"));
    t_reader (dir, "msgpack-truncated", 2, T_64M, 1, 0, 16, T_LIT ("\xc4\x05hel"));
    t_reader (dir, "msgpack-reserved", 2, T_64M, 1, 0, 16, T_LIT ("\xa1" "a\xc1"));
    t_reader (dir, "msgpack-no-output", 2, T_64M, 1, 0, 16, T_LIT ("\x81\xa2id\x01"));
    t_reader (dir, "msgpack-int", 2, T_64M, 1, 0, 16, T_LIT ("\x2a"));
    t_reader (dir, "msgpack-deep", 2, T_64M, 1, 0, 16,
              T_LIT ("\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
                     "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
                     "\x91\x91\x01"));
    //  a bin 16 of 600 bytes: over a 512-byte record
    uint8_t bin [603] = { 0xc5, 0x02, 0x58 };
    memset (bin + 3, 'y', 600);
    t_reader (dir, "msgpack-over-max", 2, T_1K, 1, 0, 16, bin, sizeof bin);
    //  a bin 32 claiming 1 MiB, given 600 KB: refused once it fills the buffer
    t_reader (dir, "msgpack-over-buffer", 2, T_1K, 1, 3, 16, T_LIT ("\xc6\x00\x10\x00\x00zz"));
    t_reader (dir, "msgpack-many", 2, T_1K, 1, 1, 200, T_LIT ("\xa3" "abc\xc4\x02" "de"));
}

static void
t_ledger_corpus (const char *dir)
{
#define T_HEX_A "000102030405060708090a0b0c0d0e0f"
#define T_HEX_B "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
    t_write (dir, "journal", T_LIT ("batch " T_HEX_A "\nack 1-5 7-9f\nack 6-6\ncomplete 9 3\n"));
    t_write (dir, "state", T_LIT ("batch " T_HEX_A " 1024\ncommit 120 1-3\ncommit 250 4-6f\n"
                                  "end 6\n"));
    t_write (dir, "torn-ack", T_LIT ("batch " T_HEX_A "\nack 1-3\nack 4-"));
    t_write (dir, "torn-commit", T_LIT ("batch " T_HEX_A " 8\ncommit 10 1-2\ncommit 2"));
    t_write (dir, "torn-batch", T_LIT ("batch " T_HEX_A "\nack 1-2\nbatch f0f1"));
    t_write (dir, "corrupt-lines", T_LIT ("batch zz\nack 1-\nack 0-3\nack 5-3\nack x\n"
                                          "complete 1\nend\nack -5\nack 1-2g\nfoo 1\n"));
    t_write (dir, "corrupt-batch", T_LIT ("batch " T_HEX_A "0\nbatch " T_HEX_A " 1 2\n"
                                          "batch " T_HEX_A " 1-2\nbatch\n"));
    t_write (dir, "old-ack", T_LIT ("batch " T_HEX_A "\nack 1 5 0\nack 6 9 1\nack 3 2 0\n"
                                    "ack 1 2 2\n"));
    t_write (dir, "overlapping", T_LIT ("ack 5-10 1-3 2-6f 20-30 25-25f 11-11\n"));
    t_write (dir, "two-batches", T_LIT ("batch " T_HEX_A "\nack 1-5\nend 5\n"
                                        "batch " T_HEX_B " 16\nack 2-3\n"));
    t_write (dir, "same-batch-twice", T_LIT ("batch " T_HEX_A "\nack 1-5\n"
                                             "batch " T_HEX_A "\nack 6-7\n"));
    t_write (dir, "commit-before-batch", T_LIT ("commit 50 1-9\nbatch " T_HEX_A "\n"
                                                "commit 80 1-2\n"));
    t_write (dir, "commit-kept-across-batches", T_LIT ("batch " T_HEX_A "\ncommit 80 1-2\n"
                                                       "batch " T_HEX_B "\n"));
    t_write (dir, "empty", "", 0);
    t_write (dir, "newline", T_LIT ("\n"));
    t_write (dir, "no-newline", T_LIT ("ack 1-3"));
    t_write (dir, "nul-bytes", T_LIT ("ack 1-3\0 4-5\n\0\0\0\nack 7-8\n"));
    t_write (dir, "crlf", T_LIT ("batch " T_HEX_A "\r\nack 1-3\r\n"));
    t_write (dir, "spaces", T_LIT ("  ack   1-3  5-6f \n\tack 8-9\n"));
    t_write (dir, "big-numbers", T_LIT ("ack 1-9999999999999999999\n"
                                        "ack 1-18446744073709551615\n"
                                        "end 9999999999999999999\n"
                                        "complete 99999999999999999999 0\n"));
    t_write (dir, "too-many-fields", T_LIT ("complete 1 2 3 4 5\nend 1 2\nack 1 2 0 4\n"));
    t_write (dir, "numbers-after-ranges", T_LIT ("ack 1-2 3\ncommit 1-2 5\n"));
}

//  A config input: the role, the topology file, then settings (an
//  option name and its value each).
static void
t_config (const char *dir, const char *name, sluice_role_t role, const char *file,
          const char *settings [])
{
    char data [2048];
    size_t size = 0;
    data [size++] = (char) role;
    size += (size_t) snprintf (data + size, sizeof data - size, "%s", file);
    for (size_t i = 0; settings && settings [i]; i += 2) {
        const sluice_option_t *opt = sluice_option_find (settings [i]);
        if (!opt) {
            fprintf (stderr, "gen_corpus: no option %s\n", settings [i]);
            exit (1);
        }
        data [size++] = 0;
        data [size++] = (char) (opt - sluice_option_at (0));
        size += (size_t) snprintf (data + size, sizeof data - size, "%s", settings [i + 1]);
    }
    t_write (dir, name, data, size);
}

static void
t_config_corpus (const char *dir)
{
    const char *topology =
        "#   a comment\n"
        "sluice\n"
        "    tasks = tcp://vent-host:5557\n"
        "    results = tcp://sink-host:5558\n"
        "    control = tcp://sink-host:5559\n"
        "    max-size = 64M\n";
    t_config (dir, "topology-ventilator", SLUICE_ROLE_VENTILATOR, topology, NULL);
    t_config (dir, "topology-worker", SLUICE_ROLE_WORKER, topology, NULL);
    t_config (dir, "topology-sink", SLUICE_ROLE_SINK, topology, NULL);
    t_config (dir, "every-key", SLUICE_ROLE_VENTILATOR,
              "sluice\n    window = 100\n    timeout = 1.5s\n    max-held = 2m\n"
              "    retries = 2\n    max-attempts = 3\n    jobs = 4\n    prefetch = auto\n"
              "    task-timeout = 250ms\n    grace = 1h\n    max-size = 1.5k\n", NULL);
    t_config (dir, "unknown-key", SLUICE_ROLE_SINK, "sluice\n    result = tcp://a:1\n", NULL);
    t_config (dir, "unknown-section", SLUICE_ROLE_SINK, "sluicе\n    tasks = tcp://a:1\n", NULL);
    t_config (dir, "bad-value", SLUICE_ROLE_VENTILATOR, "sluice\n    window = abc\n", NULL);
    t_config (dir, "short-timeout", SLUICE_ROLE_VENTILATOR, "sluice\n    timeout = 999ms\n", NULL);
    t_config (dir, "bad-endpoint", SLUICE_ROLE_WORKER, "sluice\n    tasks = tcp://host\n", NULL);
    t_config (dir, "quoted-list", SLUICE_ROLE_WORKER,
              "sluice\n    tasks = \"@tcp://*:7000, >tcp://w2:7000\"\n", NULL);
    t_config (dir, "two-space-indent", SLUICE_ROLE_WORKER, "sluice\n  tasks = tcp://a:1\n", NULL);
    t_config (dir, "tab-indent", SLUICE_ROLE_WORKER, "sluice\n\ttasks = tcp://a:1\n", NULL);
    t_config (dir, "key-without-value", SLUICE_ROLE_WORKER, "sluice\n    tasks\n", NULL);
    t_config (dir, "nested-too-deep", SLUICE_ROLE_WORKER,
              "sluice\n    tasks\n        x = 1\n", NULL);
    t_config (dir, "not-zpl", SLUICE_ROLE_WORKER, "sluice\n    = \n\"\n", NULL);
    t_config (dir, "crlf", SLUICE_ROLE_SINK, "sluice\r\n    results = tcp://*:1\r\n", NULL);
    t_config (dir, "duplicate-key", SLUICE_ROLE_SINK,
              "sluice\n    results = tcp://*:1\n    results = tcp://*:2\n"
              "sluice\n    control = tcp://*:3\n", NULL);
    const char *values [] = {
        "window", "0", "window", "1048577", "timeout", "999ms", "timeout", "0.0001s",
        "max-held", "1.5h", "max-size", "1e3", "max-size", "0x10", "max-size", "64MiB",
        "retries", " 5", "retries", "+5", "max-attempts", "-1", "jobs", "4097",
        "prefetch", "auto", "prefetch", "auto2", "format", "jsonl", "format", "json",
        "echo", "1", "exec", "", "exec", "gzip {}", "coproc", "cat", "null", "true",
        "msgpack", "yes", "verbose", "2", NULL
    };
    t_config (dir, "option-values", SLUICE_ROLE_VENTILATOR, "", values);
    const char *endpoints [] = {
        "tasks", ">tcp://a:1, @ipc:///x", "tasks", "tcp://a", "tasks", ",", "tasks", "",
        "results", "@", "results", ">@tcp://x:1", "control", "tcp://*:5559",
        "control", "inproc://x,,tcp://[::1]:5", "tasks", "://x", "tasks", "tcp://a:*", NULL
    };
    t_config (dir, "endpoints", SLUICE_ROLE_WORKER, "", endpoints);
    const char *numbers [] = {
        "grace", "99999999999999999999", "grace", "1000000000000h", "max-size", "1.G",
        "max-size", ".5k", "task-timeout", "1.", "timeout", "1.5.5s", "jobs", "007", NULL
    };
    t_config (dir, "numbers", SLUICE_ROLE_WORKER, "", numbers);
}

//  An output input: format (| 64: jsonl), input returned, status, then
//  the input, the worker identity and the output, whose first half is
//  also the stderr (fuzz_output.c).
static void
t_output (const char *dir, const char *name, int format, bool with_input, int status,
          const char *input, const char *worker, const void *output, size_t size)
{
    uint8_t data [512];
    size_t n = 0;
    data [n++] = (uint8_t) (format | (with_input? 4: 0) | status << 3);
    data [n++] = (uint8_t) strlen (input);
    data [n++] = (uint8_t) strlen (worker);
    memcpy (data + n, input, strlen (input));
    n += strlen (input);
    memcpy (data + n, worker, strlen (worker));
    n += strlen (worker);
    memcpy (data + n, output, size);
    t_write (dir, name, data, n + size);
}

static void
t_output_corpus (const char *dir)
{
    t_output (dir, "lines", 0, false, 0, "", "host:1", T_LIT ("HELLO"));
    t_output (dir, "lines-newline", 0, false, 0, "", "host:1", T_LIT ("a\nb\n"));
    t_output (dir, "lines-empty", 0, false, 0, "", "host:1", T_LIT (""));
    t_output (dir, "jsonl", 1, true, 0, "file.txt", "host:1", T_LIT ("HELLO\n"));
    t_output (dir, "jsonl-no-input", 1, false, 1, "", "host:1", T_LIT ("x"));
    t_output (dir, "jsonl-escapes", 1, true, 2, "a\"b\\c", "h\tt", T_LIT ("\x01\x1f\"\\\r\n\t\x7f"));
    t_output (dir, "jsonl-utf8", 1, true, 0, "caf\xc3\xa9", "h\xe2\x82\xac",
              T_LIT ("\xf0\x9f\x98\x80 \xe4\xb8\xad \xc2\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf"));
    t_output (dir, "jsonl-invalid-utf8", 1, true, 5, "\xff", "\xc0\xaf",
              T_LIT ("\x80 \xc3 \xe2\x82 \xf5\x80\x80\x80 \xfe"));
    //  overlong forms, surrogates and code points above U+10FFFF: RFC 3629
    //  invalid, so each byte is escaped
    t_output (dir, "regress-jsonl-overlong", 1, true, 0, "\xe0\x80\xaf", "\xf0\x80\x80\xaf",
              T_LIT ("\xe0\x9f\xbf"));
    t_output (dir, "regress-jsonl-surrogate", 1, false, 0, "", "host:1", T_LIT ("\xed\xa0\x80\xed\xbf\xbf"));
    t_output (dir, "regress-jsonl-above-max", 1, false, 0, "", "host:1", T_LIT ("\xf4\x90\x80\x80"));
    t_output (dir, "msgpack", 2, true, 0, "in", "host:1", T_LIT ("HELLO"));
    t_output (dir, "msgpack-empty", 2, false, 3, "", "host:1", T_LIT (""));
    //  raw (format 3): bytes kept as they are; jsonl of a binary output
    //  (a gzip header) is base64 (format 1 | 64)
    t_output (dir, "raw", 3, false, 0, "", "host:1", T_LIT ("no newline"));
    t_output (dir, "raw-binary", 3, true, 1, "x", "host:1", T_LIT ("\x1f\x8b\x08\x00\x00\n"));
    t_output (dir, "jsonl-binary", 1 | 64, true, 0, "\xe9", "host:1",
              T_LIT ("\x1f\x8b\x08\x00\xc3\xa9"));
}

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: gen_corpus DIR (the directory of the corpus-* directories)\n");
        return 2;
    }
    t_decode_corpus (t_corpus (argv [1], "decode"));
    t_decode_lists (t_corpus (argv [1], "decode"));
    t_reader_corpus (t_corpus (argv [1], "reader"));
    t_ledger_corpus (t_corpus (argv [1], "ledger"));
    t_config_corpus (t_corpus (argv [1], "config"));
    t_output_corpus (t_corpus (argv [1], "output"));
    return 0;
}
