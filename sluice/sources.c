/*  =========================================================================
    sources.c - the tasks of a sluice batch: stdin, -a FILEs, ::: lists

    One stream (stdin, or a single -a FILE) is handed to the ventilator as
    its input, so it is read as the window allows and never held whole.
    One ::: list is submitted value by value. Several sources combine as
    in GNU parallel: every combination is one task, the last source
    varying fastest, its values the arguments of an argument list (NUL
    between them: {1} is the first source's value, and without a
    replacement string each is a word of its own), or under --colsep
    joined by one space; for that, -a FILEs are read into memory when
    opened.
    =========================================================================
*/

#include "run.h"

#include <fcntl.h>
#include <unistd.h>

//  One source: a file, or a list of values.
typedef struct {
    const char *path;           //  -a FILE, or NULL for a ::: list
    int fd;                     //  the open file, -1 before open (or stdin)
    char **values;              //  its values (a list's are borrowed)
    size_t *sizes;              //  their lengths
    size_t count;
    char *text;                 //  a file's contents, which values point into
} s_source_t;

struct _sluice_sources_t {
    s_source_t *items;          //  in command-line order
    size_t count;
    size_t *at;                 //  the next combination: an index per source
    bool ended;                 //  every combination was returned
    bool again;                 //  unget: return the last task again
    char separator;             //  between a combination's values: ' ' or NUL
    zchunk_t *task;             //  the last task's bytes
};

sluice_sources_t *
sluice_sources_new (void)
{
    sluice_sources_t *self = (sluice_sources_t *) calloc (1, sizeof *self);
    assert (self);
    self->task = zchunk_new (NULL, 256);
    return self;
}

void
sluice_sources_destroy (sluice_sources_t **self_p)
{
    assert (self_p);
    sluice_sources_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        s_source_t *source = &self->items [i];
        if (source->fd > STDIN_FILENO)
            close (source->fd);
        if (source->path) {
            free (source->values);
            free (source->text);
        }
        free (source->sizes);
    }
    free (self->items);
    free (self->at);
    zchunk_destroy (&self->task);
    free (self);
    *self_p = NULL;
}

//  Append a source; returns it.
static s_source_t *
s_add (sluice_sources_t *self)
{
    self->items = (s_source_t *) realloc (self->items, (self->count + 1) * sizeof *self->items);
    assert (self->items);
    s_source_t *source = &self->items [self->count++];
    memset (source, 0, sizeof *source);
    source->fd = -1;
    return source;
}

void
sluice_sources_add_file (sluice_sources_t *self, const char *path)
{
    s_add (self)->path = path;
}

void
sluice_sources_add_list (sluice_sources_t *self, char **values, size_t count)
{
    s_source_t *source = s_add (self);
    source->values = values;
    source->count = count;
    source->sizes = (size_t *) calloc (count + 1, sizeof (size_t));
    assert (source->sizes);
    for (size_t i = 0; i < count; i++)
        source->sizes [i] = strlen (values [i]);
}

//  Read a whole file and split it into records at each delimiter (a
//  final delimiter ends the last record, it does not start one). Returns
//  0, or -1 with errno.
static int
s_slurp (s_source_t *source, char delimiter)
{
    size_t size = 0, capacity = 65536;
    source->text = (char *) malloc (capacity);
    assert (source->text);
    while (true) {
        if (size == capacity) {
            capacity *= 2;
            source->text = (char *) realloc (source->text, capacity);
            assert (source->text);
        }
        ssize_t n = read (source->fd, source->text + size, capacity - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        size += (size_t) n;
    }
    size_t records = 0;
    for (size_t i = 0; i < size; i++)
        records += source->text [i] == delimiter || i + 1 == size;
    source->values = (char **) calloc (records + 1, sizeof (char *));
    source->sizes = (size_t *) calloc (records + 1, sizeof (size_t));
    assert (source->values && source->sizes);
    size_t start = 0;
    for (size_t i = 0; i < size; i++)
        if (source->text [i] == delimiter || i + 1 == size) {
            size_t end = source->text [i] == delimiter? i: i + 1;
            source->values [source->count] = source->text + start;
            source->sizes [source->count++] = end - start;
            start = i + 1;
        }
    return 0;
}

//  The name of a source, for messages.
static const char *
s_source_name (const s_source_t *source)
{
    return !source->path? ":::": streq (source->path, "-")? "stdin": source->path;
}

int
sluice_sources_open (sluice_sources_t *self, bool nul, bool joined, char *err,
                     size_t errlen)
{
    self->separator = joined? ' ': '\0';
    if (self->count == 0)
        sluice_sources_add_file (self, "-");
    for (size_t i = 0; i < self->count; i++) {
        s_source_t *source = &self->items [i];
        if (!source->path)
            continue;
        source->fd = streq (source->path, "-")? STDIN_FILENO
                   : open (source->path, O_RDONLY | O_CLOEXEC);
        if (source->fd < 0
        ||  (self->count > 1 && s_slurp (source, nul? '\0': '\n'))) {
            snprintf (err, errlen, "cannot open '%s': %s", source->path, strerror (errno));
            return -1;
        }
    }
    for (size_t i = 0; self->count > 1 && !joined && i < self->count; i++)
        for (size_t j = 0; j < self->items [i].count; j++)
            if (memchr (self->items [i].values [j], 0, self->items [i].sizes [j])) {
                snprintf (err, errlen, "%s: record %zu holds a NUL byte, which an argument "
                          "cannot carry (use -0, or --colsep)",
                          s_source_name (&self->items [i]), j + 1);
                return -1;
            }
    self->at = (size_t *) calloc (self->count, sizeof (size_t));
    assert (self->at);
    for (size_t i = 0; i < self->count; i++)
        self->ended |= self->items [i].count == 0 && !(self->count == 1 && self->items [i].path);
    return 0;
}

int
sluice_sources_fd (sluice_sources_t *self, const char **name)
{
    if (self->count != 1 || !self->items [0].path)
        return -1;
    *name = streq (self->items [0].path, "-")? "stdin": self->items [0].path;
    return self->items [0].fd;
}

int
sluice_sources_next (sluice_sources_t *self, const char **data, size_t *size)
{
    if (self->again) {
        self->again = false;
        *data = (const char *) zchunk_data (self->task);
        *size = zchunk_size (self->task);
        return 1;
    }
    if (self->ended)
        return 0;
    zchunk_set (self->task, NULL, 0);
    for (size_t i = 0; i < self->count; i++) {
        s_source_t *source = &self->items [i];
        if (i)
            zchunk_extend (self->task, &self->separator, 1);
        zchunk_extend (self->task, source->values [self->at [i]], source->sizes [self->at [i]]);
    }
    //  the next combination: the last source varies fastest
    size_t i = self->count;
    while (i > 0 && ++self->at [i - 1] == self->items [i - 1].count)
        self->at [--i] = 0;
    self->ended = i == 0;
    *data = (const char *) zchunk_data (self->task);
    *size = zchunk_size (self->task);
    return 1;
}

bool
sluice_sources_combined (sluice_sources_t *self)
{
    return self->count > 1;
}

void
sluice_sources_unget (sluice_sources_t *self)
{
    self->again = true;
}
