/*  =========================================================================
    protocol_examples.h - the example messages of docs/PROTOCOL.md

    One example of each message type, built with the real encoder. Shared
    by test_protocol_examples.c (which checks the doc's hex dumps against
    them) and tests/fuzz/gen_corpus.c (which writes them as fuzz seeds).
    =========================================================================
*/

#ifndef SLUICE_PROTOCOL_EXAMPLES_H_INCLUDED
#define SLUICE_PROTOCOL_EXAMPLES_H_INCLUDED

#include "sluice.h"

//  The batch id of every example: bytes 00 01 02 ... 0f
static const uint8_t t_example_batch [SLUICE_BATCH_SIZE] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f
};

//  Encode the example of a message type (1..SLUICE_MSG_MAX) into encoder;
//  returns its bytes, valid until the encoder's next message.
static inline const uint8_t *
t_example_encode (sluice_encoder_t *encoder, int type, size_t *size)
{
    const uint8_t *batch = t_example_batch;
    uint32_t flags = SLUICE_FLAG_WANT_INPUT | SLUICE_FLAG_RETRYABLE;
    switch (type) {
        case SLUICE_MSG_TASKS: {
            sluice_command_t command = { SLUICE_COMMAND_EXEC, 0, "wc -c" };
            sluice_encoder_begin_tasks (encoder, batch, &command);
            sluice_encoder_task (encoder, 1, 1, flags, "hello", 5);
            sluice_encoder_task (encoder, 2, 1, flags, "world", 5);
            break;
        }
        case SLUICE_MSG_RESULTS: {
            sluice_encoder_begin_results (encoder, batch, "host:4242");
            sluice_result_t ok = {
                .id = 1, .attempt = 1, .flags = flags, .status = SLUICE_STATUS_OK,
                .code = 0, .elapsed_us = 1500,
                .output = (const uint8_t *) "HELLO\n", .output_size = 6,
                .input = (const uint8_t *) "hello", .input_size = 5
            };
            sluice_result_t failed = {
                .id = 2, .attempt = 1, .flags = flags, .status = SLUICE_STATUS_EXIT,
                .code = 2, .elapsed_us = 2500,
                .output = NULL, .output_size = 0,
                .input = (const uint8_t *) "world", .input_size = 5,
                .stderr_data = (const uint8_t *) "oops\n", .stderr_size = 5
            };
            sluice_encoder_result (encoder, &ok);
            sluice_encoder_result (encoder, &failed);
            break;
        }
        case SLUICE_MSG_CREDIT:
            sluice_encoder_credit (encoder, 256, false);
            break;
        case SLUICE_MSG_PROGRESS: {
            uint64_t ids [2] = { 1, 2 };
            sluice_encoder_begin (encoder, type, batch);
            sluice_encoder_uints (encoder, 1, &ids [0]);
            sluice_encoder_uints (encoder, 1, &ids [1]);
            break;
        }
        case SLUICE_MSG_BEGIN: {
            uint64_t args [3] = { 10000, 0, 5 };
            sluice_encoder_scalar (encoder, type, batch, 3, args);
            break;
        }
        case SLUICE_MSG_END: {
            uint64_t total = 2;
            sluice_encoder_scalar (encoder, type, batch, 1, &total);
            break;
        }
        case SLUICE_MSG_LOST:
            sluice_encoder_begin (encoder, type, batch);
            sluice_encoder_lost (encoder, 2, 5, "world", 5);
            break;
        case SLUICE_MSG_PING: {
            uint64_t acked = 1;
            sluice_encoder_scalar (encoder, type, batch, 1, &acked);
            break;
        }
        case SLUICE_MSG_ACK: {
            uint64_t first [3] = { 1, 1, 0 }, second [3] = { 2, 2, 1 };
            sluice_encoder_begin (encoder, type, batch);
            sluice_encoder_uints (encoder, 3, first);
            sluice_encoder_uints (encoder, 3, second);
            break;
        }
        case SLUICE_MSG_RETRY: {
            uint64_t retry [2] = { 2, 1 };
            sluice_encoder_begin (encoder, type, batch);
            sluice_encoder_uints (encoder, 2, retry);
            break;
        }
        case SLUICE_MSG_COMPLETE: {
            uint64_t args [2] = { 2, 1 };
            sluice_encoder_scalar (encoder, type, batch, 2, args);
            break;
        }
        case SLUICE_MSG_PONG: {
            uint64_t args [2] = { 0, 1 };
            sluice_encoder_scalar (encoder, type, batch, 2, args);
            break;
        }
        case SLUICE_MSG_STORED: {
            uint64_t range [2] = { 1, 2 };
            sluice_encoder_begin (encoder, type, batch);
            sluice_encoder_uints (encoder, 2, range);
            break;
        }
        case SLUICE_MSG_HANDBACK: {
            uint64_t id = 2;
            sluice_encoder_begin (encoder, type, batch);
            sluice_encoder_uints (encoder, 1, &id);
            break;
        }
        case SLUICE_MSG_REFUSE: {
            uint64_t reason = SLUICE_REFUSE_COMMAND;
            sluice_encoder_scalar (encoder, type, batch, 1, &reason);
            break;
        }
        default:                //  ABANDON, BYE, DROP: no arguments
            sluice_encoder_scalar (encoder, type, batch, 0, NULL);
            break;
    }
    return sluice_encoder_data (encoder, size);
}

#endif
