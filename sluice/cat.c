/*  =========================================================================
    cat.c - `sluice cat`: a msgpack result stream as lines, raw or jsonl

    A sink's --format msgpack stream keeps every byte and every field of
    each result, but nothing reads it but a program. `sluice cat [--format
    lines|raw|jsonl] [FILE...]` (stdin without FILE) parses each record
    back into its result (sluice_record_parse_result) and formats it with
    the sink's own output (lib/output.c), so the bytes are exactly those
    the sink would have written in that format.
    =========================================================================
*/

#include "run.h"
#include "../lib/output.h"

#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

#define S_READ_SIZE (256 * 1024)    //  bytes read at once
#define S_FLUSH_AT (64 * 1024)      //  write the output beyond this

//  Read fd to its end, formatting every record into out. Returns 0, or -1
//  after a message naming the file (unreadable, invalid or cut record).
static int
s_cat_fd (int fd, const char *name, sluice_output_t *out)
{
    uint8_t *data = NULL;
    size_t size = 0, capacity = 0, offset = 0;
    uint64_t records = 0;
    int rc = 0;
    while (true) {
        if (capacity - size < S_READ_SIZE) {
            capacity = capacity? capacity * 2: 2 * S_READ_SIZE;
            data = (uint8_t *) realloc (data, capacity);
            assert (data);
        }
        ssize_t n = read (fd, data + size, capacity - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            zsys_error ("cannot read %s: %s", name, strerror (errno));
            rc = -1;
            break;
        }
        size += (size_t) n;
        while (offset < size) {
            sluice_result_t r;
            const uint8_t *worker;
            size_t worker_size;
            long used = sluice_record_parse_result (data + offset, size - offset, &r,
                                                    &worker, &worker_size);
            if (used < 0) {
                zsys_error ("%s: record %" PRIu64 " (at byte %zu) is not a sink msgpack record",
                            name, records + 1, offset);
                rc = -1;
                break;
            }
            if (used == 0)
                break;
            sluice_output_record (out, &r, worker, worker_size);
            offset += (size_t) used;
            records++;
            if (sluice_output_size (out) >= S_FLUSH_AT && sluice_output_flush (out))
                rc = -1;
            if (rc)
                break;
        }
        if (rc)
            break;
        if (n == 0) {
            if (offset < size) {
                zsys_error ("%s: the last record is cut short (%zu bytes)", name,
                            size - offset);
                rc = -1;
            }
            break;
        }
        //  keep only the incomplete record's bytes
        memmove (data, data + offset, size - offset);
        size -= offset;
        offset = 0;
    }
    free (data);
    return rc;
}

//  Print the usage of sluice cat to stream.
static void
s_usage (FILE *stream)
{
    fprintf (stream,
             "Usage: sluice cat [--format lines|raw|jsonl|msgpack] [FILE...]\n"
             "Read the result records of a sink's --format msgpack output (FILE,\n"
             "or stdin) and write them as the sink would have in that format\n"
             "(default lines).\n");
}

int
sluice_cat_main (int argc, char *argv [])
{
    sluice_init_process ("sluice cat", 0);
    static const struct option options [] = {
        { "format", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    sluice_format_t format = SLUICE_FORMAT_LINES;
    static const char *names [] = { "lines", "jsonl", "msgpack", "raw" };
    int c;
    while ((c = getopt_long (argc, argv, "+f:h", options, NULL)) != -1) {
        if (c == 'h') {
            s_usage (stdout);
            return SLUICE_EXIT_OK;
        }
        if (c != 'f') {
            s_usage (stderr);
            return SLUICE_EXIT_USAGE;
        }
        size_t i = 0;
        while (i < 4 && !streq (optarg, names [i]))
            i++;
        if (i == 4) {
            fprintf (stderr, "sluice cat: invalid format value '%s' (lines, raw, jsonl, "
                             "msgpack)\n", optarg);
            return SLUICE_EXIT_USAGE;
        }
        format = (sluice_format_t) i;
    }
    sluice_output_t *out = sluice_output_new (STDOUT_FILENO, format);
    int rc = 0;
    if (optind == argc)
        rc = s_cat_fd (STDIN_FILENO, "stdin", out);
    for (int i = optind; rc == 0 && i < argc; i++) {
        int fd = streq (argv [i], "-")? STDIN_FILENO: open (argv [i], O_RDONLY);
        if (fd < 0) {
            zsys_error ("cannot open %s: %s", argv [i], strerror (errno));
            rc = -1;
            break;
        }
        rc = s_cat_fd (fd, argv [i], out);
        if (fd != STDIN_FILENO)
            close (fd);
    }
    if (sluice_output_flush (out))
        rc = -1;
    sluice_output_destroy (&out);
    return rc? SLUICE_EXIT_RUNTIME: SLUICE_EXIT_OK;
}
