/*  =========================================================================
    ledger.c - the append-only journal and state file format

    Owns one line format (see ledger.h), its one parser and its writer:
    the batch id, acknowledged id ranges, commit offsets, end and complete
    records of a batch. Loading tolerates a torn last line (cut from the
    file) and counts corrupt lines; ranges are merged so lookups are a
    binary search and memory is bounded by the number of ranges written,
    not the number of tasks.
    =========================================================================
*/

#include "private.h"
#include "ledger.h"

#include <unistd.h>

#define S_MAX_FIELDS 4              //  scalar fields of a record at most

//  One parsed line
typedef struct {
    const char *verb;           //  "batch", "ack", "commit", "end", "complete"
    uint8_t batch [SLUICE_BATCH_SIZE];  //  batch: the id
    uint64_t field [S_MAX_FIELDS];      //  bare numbers, in order
    size_t fields;
    size_t first_range;         //  index in self->ranges of the line's first range
} s_record_t;

struct _sluice_ledger_t {
    FILE *file;                 //  open for appending
    char *path;                 //  for messages
    bool have_batch;            //  a batch line was read or written
    uint8_t batch [SLUICE_BATCH_SIZE];  //  last batch named
    uint64_t window;            //  its window, 0 if none
    sluice_range_t *ranges;     //  acknowledged ranges of the last batch
    size_t range_count;
    size_t range_capacity;
    bool have_end;              //  an end line was read
    uint64_t total;             //  its total
    bool have_commit;           //  a commit line was read
    uint64_t offset;            //  the last commit offset
    bool have_complete;         //  a complete line was read
    uint64_t complete_total;    //  its total
    uint64_t complete_failed;   //  its failed count
    uint64_t acked;             //  ids in ranges
    uint64_t failed;            //  failed ids in ranges
    size_t corrupt;             //  lines skipped
    size_t torn;                //  bytes of the torn last line
    sluice_range_t *pending;    //  ranges not written yet
    size_t pending_count;
    size_t pending_capacity;
};

//  Append a range to an array, growing it.
static void
s_range_push (sluice_range_t **array, size_t *count, size_t *capacity,
              uint64_t first, uint64_t last, bool failed)
{
    if (*count == *capacity) {
        *capacity = *capacity? *capacity * 2: 64;
        *array = (sluice_range_t *) realloc (*array, *capacity * sizeof **array);
        assert (*array);
    }
    (*array) [(*count)++] = (sluice_range_t) { first, last, failed };
}

//  Parse 32 hex digits into a batch id. Returns 0 or -1.
static int
s_parse_batch (const char *hex, uint8_t *batch)
{
    if (strlen (hex) != SLUICE_BATCH_SIZE * 2
    ||  strspn (hex, "0123456789abcdefABCDEF") != SLUICE_BATCH_SIZE * 2)
        return -1;
    for (int i = 0; i < SLUICE_BATCH_SIZE; i++) {
        char byte [3] = { hex [i * 2], hex [i * 2 + 1], 0 };
        batch [i] = (uint8_t) strtoul (byte, NULL, 16);
    }
    return 0;
}

//  Parse a decimal number filling the whole token. Returns 0 or -1.
static int
s_parse_uint (const char *token, uint64_t *value)
{
    if (!*token || strspn (token, "0123456789") != strlen (token) || strlen (token) > 19)
        return -1;
    *value = strtoull (token, NULL, 10);
    return 0;
}

//  Parse a range token "first-last" or "first-lastf" onto self->ranges.
//  Returns 0 or -1.
static int
s_parse_range (sluice_ledger_t *self, char *token)
{
    char *dash = strchr (token, '-');
    if (!dash)
        return -1;
    *dash = 0;
    char *last_str = dash + 1;
    size_t len = strlen (last_str);
    bool failed = len > 0 && last_str [len - 1] == 'f';
    if (failed)
        last_str [len - 1] = 0;
    uint64_t first, last;
    if (s_parse_uint (token, &first) || s_parse_uint (last_str, &last)
    ||  first < 1 || last < first)
        return -1;
    s_range_push (&self->ranges, &self->range_count, &self->range_capacity,
                  first, last, failed);
    return 0;
}

//  Split a line into its verb, batch, numbers and ranges (ranges go onto
//  self->ranges; the caller drops them if the line is rejected). Returns
//  0, or -1 if the line is not a valid record.
static int
s_parse_line (sluice_ledger_t *self, char *line, s_record_t *record)
{
    char *save = NULL;
    record->verb = strtok_r (line, " ", &save);
    record->fields = 0;
    record->first_range = self->range_count;
    if (!record->verb)
        return -1;
    bool is_batch = streq (record->verb, "batch");
    char *token = strtok_r (NULL, " ", &save);
    if (is_batch && (!token || s_parse_batch (token, record->batch)))
        return -1;
    if (is_batch)
        token = strtok_r (NULL, " ", &save);
    for (; token; token = strtok_r (NULL, " ", &save)) {
        if (strchr (token, '-')) {
            if (s_parse_range (self, token))
                return -1;
        }
        else
        if (self->range_count > record->first_range
        ||  record->fields == S_MAX_FIELDS
        ||  s_parse_uint (token, &record->field [record->fields++]))
            return -1;          //  numbers come before ranges
    }
    return 0;
}

//  Forget the ranges and counts of an earlier batch.
static void
s_forget_batch (sluice_ledger_t *self)
{
    self->range_count = 0;
    self->have_end = false;
    self->have_complete = false;
}

//  Apply a batch record. Returns 0 or -1 (wrong number of fields).
static int
s_apply_batch (sluice_ledger_t *self, const s_record_t *record)
{
    if (record->fields > 1 || self->range_count > record->first_range)
        return -1;
    if (self->have_batch && memcmp (self->batch, record->batch, SLUICE_BATCH_SIZE))
        s_forget_batch (self);
    memcpy (self->batch, record->batch, SLUICE_BATCH_SIZE);
    self->have_batch = true;
    self->window = record->fields? record->field [0]: 0;
    return 0;
}

//  Apply a parsed record to the loaded state. Returns 0, or -1 if its
//  fields do not fit its verb.
static int
s_apply (sluice_ledger_t *self, s_record_t *record)
{
    const char *verb = record->verb;
    size_t ranges = self->range_count - record->first_range;
    uint64_t *field = record->field;
    if (streq (verb, "batch"))
        return s_apply_batch (self, record);
    if (streq (verb, "ack") && record->fields == 3 && !ranges
    &&  field [0] >= 1 && field [1] >= field [0] && field [2] <= 1) {
        //  the journal's older line: ack FIRST LAST FAILED
        s_range_push (&self->ranges, &self->range_count, &self->range_capacity,
                      field [0], field [1], field [2] == 1);
        return 0;
    }
    if (streq (verb, "ack") && record->fields == 0 && ranges)
        return 0;
    if (streq (verb, "commit") && record->fields == 1 && !self->have_batch) {
        self->range_count = record->first_range;
        return 0;               //  belongs to no batch: ignored, offset too
    }
    if (streq (verb, "commit") && record->fields == 1) {
        self->have_commit = true;
        self->offset = field [0];
        return 0;
    }
    if (streq (verb, "end") && record->fields == 1 && !ranges) {
        self->have_end = true;
        self->total = field [0];
        return 0;
    }
    if (streq (verb, "complete") && record->fields == 2 && !ranges) {
        self->have_complete = true;
        self->complete_total = field [0];
        self->complete_failed = field [1];
        return 0;
    }
    return -1;
}

//  Order ranges by first id, then by last id, for qsort.
static int
s_range_cmp (const void *a, const void *b)
{
    const sluice_range_t *x = (const sluice_range_t *) a, *y = (const sluice_range_t *) b;
    return x->first < y->first? -1: x->first > y->first? 1:
           x->last < y->last? -1: x->last > y->last;
}

//  The union of the ranges (sorted by first) that agree with failed,
//  pushed onto out.
static void
s_union (const sluice_range_t *sorted, size_t count, bool failed, sluice_range_t **out,
         size_t *out_count, size_t *capacity)
{
    for (size_t i = 0; i < count; i++) {
        const sluice_range_t *range = &sorted [i];
        if (range->failed != failed)
            continue;
        sluice_range_t *last = *out_count? &(*out) [*out_count - 1]: NULL;
        if (last && range->first <= last->last + 1) {
            if (range->last > last->last)
                last->last = range->last;
        }
        else
            s_range_push (out, out_count, capacity, range->first, range->last, failed);
    }
}

sluice_range_t *
sluice_ranges_resolve (const sluice_range_t *ranges, size_t count, size_t *out_count)
{
    *out_count = 0;
    if (!count)
        return NULL;
    sluice_range_t *sorted = (sluice_range_t *) malloc (count * sizeof *sorted);
    assert (sorted);
    memcpy (sorted, ranges, count * sizeof *sorted);
    qsort (sorted, count, sizeof *sorted, s_range_cmp);
    sluice_range_t *ok = NULL, *bad = NULL, *out = NULL;
    size_t oks = 0, ok_cap = 0, bads = 0, bad_cap = 0, out_cap = 0;
    s_union (sorted, count, false, &ok, &oks, &ok_cap);
    s_union (sorted, count, true, &bad, &bads, &bad_cap);
    free (sorted);
    //  the failed ids no ok range holds, merged in order with the ok ranges
    size_t j = 0, k = 0;
    for (size_t i = 0; i < bads; i++) {
        uint64_t cur = bad [i].first;
        while (cur <= bad [i].last) {
            while (j < oks && ok [j].last < cur)
                j++;
            if (j < oks && ok [j].first <= cur) {
                cur = ok [j].last + 1;
                continue;
            }
            uint64_t end = j < oks && ok [j].first <= bad [i].last? ok [j].first - 1
                                                                  : bad [i].last;
            while (k < oks && ok [k].first < cur) {
                s_range_push (&out, out_count, &out_cap, ok [k].first, ok [k].last, false);
                k++;
            }
            s_range_push (&out, out_count, &out_cap, cur, end, true);
            cur = end + 1;
        }
    }
    for (; k < oks; k++)
        s_range_push (&out, out_count, &out_cap, ok [k].first, ok [k].last, false);
    free (ok);
    free (bad);
    //  touching ranges that agree on failed become one
    size_t merged = 0;
    for (size_t i = 0; i < *out_count; i++) {
        sluice_range_t *prev = merged? &out [merged - 1]: NULL;
        if (prev && prev->failed == out [i].failed && prev->last + 1 == out [i].first)
            prev->last = out [i].last;
        else
            out [merged++] = out [i];
    }
    *out_count = merged;
    return out;
}

const sluice_range_t *
sluice_ranges_find (const sluice_range_t *ranges, size_t count, uint64_t id)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ranges [mid].last < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < count && ranges [lo].first <= id? &ranges [lo]: NULL;
}

//  Resolve the loaded ranges (sluice_ranges_resolve: ok wins over failed)
//  and count them.
static void
s_merge (sluice_ledger_t *self)
{
    size_t count;
    sluice_range_t *resolved = sluice_ranges_resolve (self->ranges, self->range_count, &count);
    self->acked = self->failed = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t span = resolved [i].last - resolved [i].first + 1;
        self->acked += span;
        if (resolved [i].failed)
            self->failed += span;
    }
    free (self->ranges);
    self->ranges = resolved;        //  may hold more ranges than were loaded
    self->range_count = self->range_capacity = count;
}

//  Read every complete line of file; returns the offset where the
//  complete lines end.
static off_t
s_load (sluice_ledger_t *self, FILE *file)
{
    char *line = NULL;
    size_t size = 0;
    ssize_t len;
    off_t complete = 0;
    while ((len = getline (&line, &size, file)) > 0) {
        if (line [len - 1] != '\n') {
            self->torn = (size_t) len;
            break;              //  torn last line: the writer died mid-line
        }
        complete += len;
        line [len - 1] = 0;
        s_record_t record;
        size_t ranges_before = self->range_count;
        if (s_parse_line (self, line, &record) || s_apply (self, &record)) {
            self->range_count = ranges_before;
            self->corrupt++;
        }
    }
    free (line);
    return complete;
}

sluice_ledger_t *
sluice_ledger_open (const char *path, char *err, size_t errlen)
{
    sluice_ledger_t *self = (sluice_ledger_t *) calloc (1, sizeof *self);
    assert (self);
    self->path = strdup (path);
    FILE *file = fopen (path, "r");
    if (file) {
        off_t complete = s_load (self, file);
        fclose (file);
        s_merge (self);
        if (self->corrupt)
            zsys_warning ("%s: skipped %zu corrupt lines", path, self->corrupt);
        if (self->torn && truncate (path, complete)) {
            snprintf (err, errlen, "cannot truncate %s: %s", path, strerror (errno));
            sluice_ledger_destroy (&self);
            return NULL;
        }
    }
    self->file = fopen (path, "a");
    if (!self->file) {
        snprintf (err, errlen, "cannot open %s: %s", path, strerror (errno));
        sluice_ledger_destroy (&self);
    }
    return self;
}

void
sluice_ledger_destroy (sluice_ledger_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        sluice_ledger_t *self = *self_p;
        if (self->file) {
            sluice_ledger_flush (self);
            fclose (self->file);
        }
        free (self->ranges);
        free (self->pending);
        free (self->path);
        free (self);
        *self_p = NULL;
    }
}

bool
sluice_ledger_batch (sluice_ledger_t *self, uint8_t *batch, uint64_t *window)
{
    if (self->have_batch && batch)
        memcpy (batch, self->batch, SLUICE_BATCH_SIZE);
    if (self->have_batch && window)
        *window = self->window;
    return self->have_batch;
}

const sluice_range_t *
sluice_ledger_ranges (sluice_ledger_t *self, size_t *count)
{
    *count = self->range_count;
    return self->ranges;
}

bool
sluice_ledger_has (sluice_ledger_t *self, uint64_t id)
{
    return sluice_ranges_find (self->ranges, self->range_count, id) != NULL;
}

uint64_t
sluice_ledger_acked (sluice_ledger_t *self)
{
    return self->acked;
}

uint64_t
sluice_ledger_failed (sluice_ledger_t *self)
{
    return self->failed;
}

bool
sluice_ledger_end (sluice_ledger_t *self, uint64_t *total)
{
    if (self->have_end && total)
        *total = self->total;
    return self->have_end;
}

bool
sluice_ledger_committed (sluice_ledger_t *self, uint64_t *offset)
{
    if (self->have_commit && offset)
        *offset = self->offset;
    return self->have_commit;
}

bool
sluice_ledger_complete (sluice_ledger_t *self, uint64_t *total, uint64_t *failed)
{
    if (self->have_complete && total)
        *total = self->complete_total;
    if (self->have_complete && failed)
        *failed = self->complete_failed;
    return self->have_complete;
}

size_t
sluice_ledger_corrupt (sluice_ledger_t *self)
{
    return self->corrupt;
}

size_t
sluice_ledger_torn (sluice_ledger_t *self)
{
    return self->torn;
}

//  Flush the stdio buffer to the file. Returns 0 or -1.
static int
s_sync (sluice_ledger_t *self)
{
    if (fflush (self->file) == 0)
        return 0;
    zsys_warning ("cannot write %s: %s", self->path, strerror (errno));
    return -1;
}

int
sluice_ledger_write_batch (sluice_ledger_t *self, const uint8_t *batch, uint64_t window)
{
    char hex [SLUICE_BATCH_SIZE * 2 + 1];
    sluice_batch_str (batch, hex);
    if (self->have_batch && memcmp (self->batch, batch, SLUICE_BATCH_SIZE))
        s_forget_batch (self);
    memcpy (self->batch, batch, SLUICE_BATCH_SIZE);
    self->have_batch = true;
    self->window = window;
    if (window)
        fprintf (self->file, "batch %s %" PRIu64 "\n", hex, window);
    else
        fprintf (self->file, "batch %s\n", hex);
    return s_sync (self);
}

void
sluice_ledger_add_range (sluice_ledger_t *self, uint64_t first, uint64_t last, bool failed)
{
    assert (first >= 1 && last >= first);
    sluice_range_t *prev = self->pending_count? &self->pending [self->pending_count - 1]
                                              : NULL;
    if (prev && prev->failed == failed && prev->last + 1 == first)
        prev->last = last;
    else
        s_range_push (&self->pending, &self->pending_count, &self->pending_capacity,
                      first, last, failed);
}

//  Write the pending ranges after a line's head and end the line.
static void
s_write_ranges (sluice_ledger_t *self)
{
    for (size_t i = 0; i < self->pending_count; i++)
        fprintf (self->file, " %" PRIu64 "-%" PRIu64 "%s", self->pending [i].first,
                 self->pending [i].last, self->pending [i].failed? "f": "");
    fputc ('\n', self->file);
    self->pending_count = 0;
}

int
sluice_ledger_flush (sluice_ledger_t *self)
{
    if (self->pending_count) {
        fputs ("ack", self->file);
        s_write_ranges (self);
    }
    return s_sync (self);
}

int
sluice_ledger_commit (sluice_ledger_t *self, uint64_t offset)
{
    fprintf (self->file, "commit %" PRIu64, offset);
    s_write_ranges (self);
    return s_sync (self);
}

int
sluice_ledger_write_end (sluice_ledger_t *self, uint64_t total)
{
    fprintf (self->file, "end %" PRIu64 "\n", total);
    return s_sync (self);
}

int
sluice_ledger_write_complete (sluice_ledger_t *self, uint64_t total, uint64_t failed)
{
    fprintf (self->file, "complete %" PRIu64 " %" PRIu64 "\n", total, failed);
    return s_sync (self);
}
