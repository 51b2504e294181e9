/*  =========================================================================
    fuzz_ledger.c - libFuzzer target for the journal and state file parser

    The input is the content of a ventilator journal or a sink state file
    (lib/ledger.c), torn and corrupt lines included. Opening it must
    succeed, and what it loads must be coherent: ranges sorted, disjoint,
    within 1..last, the counts their sum; a torn last line cut from the
    file (and only that); a commit only after a batch. Two more properties
    tie the parser to the writer:

      - opening the cut file again loads the same state, with nothing torn
        and the same corrupt lines;
      - writing the loaded state through the writer (batch, ranges,
        commit, end, complete) into a fresh file and loading that gives the
        same state back, with nothing corrupt.

    Build and run: `make fuzz`, or make tests/fuzz/fuzz_ledger and
    tests/fuzz/fuzz_ledger WORKDIR tests/fuzz/corpus-ledger.
    =========================================================================
*/

#include "fuzz.h"
#include "ledger.h"

#include <sys/stat.h>

//  Everything a ledger loaded, to compare two loads.
typedef struct {
    bool has_batch;
    uint8_t batch [SLUICE_BATCH_SIZE];
    uint64_t window;
    const sluice_range_t *ranges;
    size_t count;
    uint64_t acked, failed;
    bool has_end, has_commit, has_complete;
    uint64_t total, offset, complete_total, complete_failed;
    size_t corrupt, torn;
} t_state_t;

static void
t_state (sluice_ledger_t *ledger, t_state_t *state)
{
    memset (state, 0, sizeof *state);
    state->has_batch = sluice_ledger_batch (ledger, state->batch, &state->window);
    state->ranges = sluice_ledger_ranges (ledger, &state->count);
    state->acked = sluice_ledger_acked (ledger);
    state->failed = sluice_ledger_failed (ledger);
    state->has_end = sluice_ledger_end (ledger, &state->total);
    state->has_commit = sluice_ledger_committed (ledger, &state->offset);
    state->has_complete = sluice_ledger_complete (ledger, &state->complete_total,
                                                  &state->complete_failed);
    state->corrupt = sluice_ledger_corrupt (ledger);
    state->torn = sluice_ledger_torn (ledger);
}

//  The loaded state holds together.
static void
t_check_coherent (sluice_ledger_t *ledger, const t_state_t *state)
{
    uint64_t acked = 0, failed = 0;
    for (size_t i = 0; i < state->count; i++) {
        const sluice_range_t *r = &state->ranges [i];
        T_CHECK (r->first >= 1 && r->last >= r->first);
        if (i > 0) {
            const sluice_range_t *prev = &state->ranges [i - 1];
            T_CHECK (r->first > prev->last);
            //  adjacent ranges that agree are merged
            T_CHECK (r->first > prev->last + 1 || r->failed != prev->failed);
        }
        uint64_t span = r->last - r->first + 1;
        T_CHECK (acked + span >= acked);
        acked += span;
        if (r->failed)
            failed += span;
        T_CHECK (sluice_ledger_has (ledger, r->first) && sluice_ledger_has (ledger, r->last));
        T_CHECK (!sluice_ledger_has (ledger, r->first - 1)
              || (i > 0 && state->ranges [i - 1].last == r->first - 1));
    }
    T_CHECK (acked == state->acked && failed == state->failed);
    T_CHECK (!sluice_ledger_has (ledger, 0));
    T_CHECK (!state->has_commit || state->has_batch);
}

//  Two loads hold the same state (the corrupt and torn counts aside).
static void
t_check_same (const t_state_t *a, const t_state_t *b)
{
    T_CHECK (a->has_batch == b->has_batch);
    if (a->has_batch)
        T_CHECK (memcmp (a->batch, b->batch, SLUICE_BATCH_SIZE) == 0 && a->window == b->window);
    T_CHECK (a->count == b->count);
    for (size_t i = 0; i < a->count; i++)     //  field by field: structs have padding
        T_CHECK (a->ranges [i].first == b->ranges [i].first
              && a->ranges [i].last == b->ranges [i].last
              && a->ranges [i].failed == b->ranges [i].failed);
    T_CHECK (a->acked == b->acked && a->failed == b->failed);
    T_CHECK (a->has_end == b->has_end && (!a->has_end || a->total == b->total));
    T_CHECK (a->has_commit == b->has_commit && (!a->has_commit || a->offset == b->offset));
    T_CHECK (a->has_complete == b->has_complete);
    T_CHECK (!a->has_complete || (a->complete_total == b->complete_total
                               && a->complete_failed == b->complete_failed));
}

static sluice_ledger_t *
t_open (const char *path)
{
    char err [256] = "";
    sluice_ledger_t *ledger = sluice_ledger_open (path, err, sizeof err);
    if (!ledger)
        fprintf (stderr, "fuzz_ledger: %s\n", err);
    T_CHECK (ledger);
    return ledger;
}

//  Write a loaded state through the writer into path (a fresh file).
static void
t_write_state (const char *path, const t_state_t *state)
{
    unlink (path);
    sluice_ledger_t *ledger = t_open (path);
    if (state->has_batch)
        T_CHECK (sluice_ledger_write_batch (ledger, state->batch, state->window) == 0);
    for (size_t i = 0; i < state->count; i++)
        sluice_ledger_add_range (ledger, state->ranges [i].first, state->ranges [i].last,
                                 state->ranges [i].failed);
    if (state->has_commit)
        T_CHECK (sluice_ledger_commit (ledger, state->offset) == 0);
    else
        T_CHECK (sluice_ledger_flush (ledger) == 0);
    if (state->has_end)
        T_CHECK (sluice_ledger_write_end (ledger, state->total) == 0);
    if (state->has_complete)
        T_CHECK (sluice_ledger_write_complete (ledger, state->complete_total,
                                               state->complete_failed) == 0);
    sluice_ledger_destroy (&ledger);
}

static size_t
t_file_size (const char *path)
{
    struct stat info;
    T_CHECK (stat (path, &info) == 0);
    return (size_t) info.st_size;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    t_quiet_logs ();
    const char *path = t_scratch_path ("ledger");
    const char *copy = t_scratch_path ("ledger-copy");
    t_write_file (path, data, size);

    sluice_ledger_t *first = t_open (path);
    t_state_t loaded;
    t_state (first, &loaded);
    t_check_coherent (first, &loaded);
    //  only a torn last line is cut: it has no '\n' and ends the input
    T_CHECK (loaded.torn <= size);
    T_CHECK (t_file_size (path) == size - loaded.torn);
    if (loaded.torn)
        T_CHECK (!memchr (data + size - loaded.torn, '\n', loaded.torn));
    else
        T_CHECK (size == 0 || data [size - 1] == '\n');

    //  the cut file loads the same, with nothing more to cut
    sluice_ledger_t *again = t_open (path);
    t_state_t reloaded;
    t_state (again, &reloaded);
    t_check_same (&loaded, &reloaded);
    T_CHECK (reloaded.torn == 0 && reloaded.corrupt == loaded.corrupt);
    sluice_ledger_destroy (&again);

    //  what the writer writes of the state loads back as that state
    t_write_state (copy, &loaded);
    sluice_ledger_t *written = t_open (copy);
    t_state_t rewritten;
    t_state (written, &rewritten);
    t_check_same (&loaded, &rewritten);
    T_CHECK (rewritten.torn == 0 && rewritten.corrupt == 0);
    sluice_ledger_destroy (&written);
    sluice_ledger_destroy (&first);
    return 0;
}
