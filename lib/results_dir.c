/*  =========================================================================
    results_dir.c - --results DIR: a directory per task, as GNU parallel's

    Plain files written with write(2) as each result is final: a crash
    leaves at most the directory of the result being written incomplete,
    and a resumed batch writes it again.
    =========================================================================
*/

#include "private.h"
#include "results_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

struct _sluice_results_dir_t {
    char *dir;                  //  DIR
    bool args;                  //  inputs are NUL-separated arguments: DIR/1/a/2/b
    sluice_ratelimit_t limit;   //  warnings of files that cannot be written
};

//  mkdir -p: every missing directory of path. Returns 0 or -1 (errno).
static int
s_mkdirs (char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        int rc = mkdir (path, 0755);
        *p = '/';
        if (rc && errno != EEXIST)
            return -1;
    }
    return mkdir (path, 0755) && errno != EEXIST? -1: 0;
}

sluice_results_dir_t *
sluice_results_dir_new (const char *dir, bool args, char *err, size_t errlen)
{
    char *path = strdup (dir);
    assert (path);
    if (s_mkdirs (path)) {
        snprintf (err, errlen, "cannot create %s: %s", dir, strerror (errno));
        free (path);
        return NULL;
    }
    sluice_results_dir_t *self = (sluice_results_dir_t *) calloc (1, sizeof *self);
    assert (self);
    self->dir = path;
    self->args = args;
    return self;
}

void
sluice_results_dir_destroy (sluice_results_dir_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free ((*self_p)->dir);
        free (*self_p);
        *self_p = NULL;
    }
}

//  Write one file of size bytes. Returns 0 or -1 (errno).
static int
s_file (const char *dir, const char *name, const void *data, size_t size)
{
    char *path = zsys_sprintf ("%s/%s", dir, name);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    zstr_free (&path);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < size) {
        ssize_t n = write (fd, (const char *) data + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            close (fd);
            errno = saved;
            return -1;
        }
        done += (size_t) n;
    }
    return close (fd);
}

int
sluice_results_dir_write (sluice_results_dir_t *self, const sluice_result_t *r)
{
    //  DIR/1/<input, '/' as "\_">, or DIR/1/<first>/2/<second>...
    zchunk_t *name = zchunk_new (NULL, 64);
    zchunk_append (name, self->dir, strlen (self->dir));
    zchunk_append (name, "/1/", 3);
    unsigned source = 1;
    for (size_t i = 0; r->input && i < r->input_size; i++)
        if (r->input [i] == '/')
            zchunk_append (name, "\\_", 2);
        else
        if (r->input [i] == 0 && self->args) {
            char level [24];
            int n = snprintf (level, sizeof level, "/%u/", ++source);
            zchunk_append (name, level, (size_t) n);
        }
        else
            zchunk_append (name, &r->input [i], 1);
    zchunk_append (name, "", 1);
    char *dir = (char *) zchunk_data (name);
    char seq [24];
    snprintf (seq, sizeof seq, "%" PRIu64, r->id);
    int rc = s_mkdirs (dir);
    if (rc == 0)
        rc = s_file (dir, "seq", seq, strlen (seq));
    if (rc == 0)
        rc = s_file (dir, "stdout", r->output, r->output_size);
    //  the command's stderr as the worker captured it (up to --stderr-max)
    if (rc == 0)
        rc = s_file (dir, "stderr", r->stderr_data? (const void *) r->stderr_data: "",
                     r->stderr_size);
    if (rc)
        sluice_warn_ratelimited (&self->limit, "--results: cannot write %s: %s", dir,
                                 strerror (errno));
    zchunk_destroy (&name);
    return rc;
}
