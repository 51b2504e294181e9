/*  =========================================================================
    gen_corpus.c - writes the seed corpus of fuzz_decode

    One valid message of each type (the examples of docs/PROTOCOL.md), a
    few valid --msgpack input records, and a few malformed messages and
    records. File names carry the expectation that test_fuzz_corpus checks:
    valid-msg-* decode, bad-msg-* are rejected, valid-record-* parse,
    bad-record-* are invalid. Run from the repository root:

      cc -std=c11 -Ilib -Itests/unit tests/fuzz/gen_corpus.c lib/libsluice.a \
          -o /tmp/gen_corpus $(pkg-config --libs libczmq libzmq msgpack)
      /tmp/gen_corpus tests/fuzz/corpus
    =========================================================================
*/

#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

#include "sluice.h"
#include "protocol_examples.h"

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

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    const char *dir = argv [1];
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
    t_write (dir, "bad-msg-version", T_LIT ("\x94\xcd\x51\xce\x04\x0e\xc0"));
    t_write (dir, "bad-msg-protocol-2", T_LIT ("\x94\xcd\x51\xce\x02\x0e\xc4\x10" "0123456789abcdef"));
    t_write (dir, "bad-msg-protocol-1", T_LIT ("\x94\xcd\x51\xce\x01\x0e\xc4\x10" "0123456789abcdef"));
    t_write (dir, "bad-msg-type-0", T_LIT ("\x94\xcd\x51\xce\x03\x00\xc0"));
    t_write (dir, "bad-msg-type-18", T_LIT ("\x94\xcd\x51\xce\x03\x12\xc0"));
    t_write (dir, "bad-msg-huge-array", T_LIT ("\xdd\xff\xff\xff\xff\xcd\x51\xce"));
    t_write (dir, "bad-msg-huge-list",
             T_LIT ("\x96\xcd\x51\xce\x03\x01\xc4\x10"
                    "0123456789abcdef\xc0\xdd\xff\xff\xff\xff\x94\x01\x01"));
    t_write (dir, "bad-msg-huge-payload",
             T_LIT ("\x96\xcd\x51\xce\x03\x01\xc4\x10"
                    "0123456789abcdef\xc0\x91\x94\x01\x01\x00\xc6\xff\xff\xff\xff" "abc"));
    t_write (dir, "bad-msg-status-6",
             T_LIT ("\x96\xcd\x51\xce\x03\x02\xc4\x10"
                    "0123456789abcdef\xa1w\x91\x98\x01\x01\x00\x06\x00\x00\xc4\x00\xc0"));
    t_write (dir, "bad-msg-nil-batch", T_LIT ("\x94\xcd\x51\xce\x03\x0e\xc0"));
    t_write (dir, "bad-msg-trailing",
             T_LIT ("\x94\xcd\x51\xce\x03\x0e\xc4\x10" "0123456789abcdef\xc0"));

    //  --msgpack input records: bin, str, a sink record, and a stream
    t_write (dir, "valid-record-bin", T_LIT ("\xc4\x05hello"));
    t_write (dir, "valid-record-str", T_LIT ("\xa5world"));
    t_write (dir, "valid-record-map",
             T_LIT ("\x83\xa2id\x01\xa6status\xa2ok\xa6output\xc4\x06HELLO\n"));
    t_write (dir, "valid-record-stream", T_LIT ("\xa1" "a\xc4\x01" "b\x81\xa6output\xa1" "c"));
    t_write (dir, "bad-record-no-output", T_LIT ("\x81\xa2id\x01"));
    t_write (dir, "bad-record-reserved", T_LIT ("\xc1"));
    t_write (dir, "bad-record-int", T_LIT ("\x2a"));
    return 0;
}
