/*  =========================================================================
    run.h - the sluice program: one command over a whole batch, on this host

    sluice reads tasks (stdin, -a FILE, ::: ARG...), runs COMMAND for each
    on -j local slots, and writes the results to stdout. It is the three
    roles wired together: the ventilator and the sink run in this process,
    driven by one poll(2) loop through the embedding API; the worker is
    the library's, served in a second thread (sluice_worker_serve), and
    the three meet on inproc:// endpoints private to the process.
    --tasks/--results bind tcp endpoints besides, for workers on other
    hosts.

    args.c parses the command line through the option table; sources.c
    turns the inputs into tasks; batch.c runs the batch and cleans up.
    =========================================================================
*/

#ifndef SLUICE_RUN_H_INCLUDED
#define SLUICE_RUN_H_INCLUDED

#include "../lib/private.h"

//  ---------------------------------------------------------------------
//  sources.c: where the tasks come from

typedef struct _sluice_sources_t sluice_sources_t;

//  Create an empty set of sources (then stdin is the only one).
sluice_sources_t *
    sluice_sources_new (void);

//  Destroy the sources, closing what they opened; nulls the pointer.
void
    sluice_sources_destroy (sluice_sources_t **self_p);

//  Add -a FILE ("-" is stdin), in command-line order.
void
    sluice_sources_add_file (sluice_sources_t *self, const char *path);

//  Add a ::: list; the values are borrowed (argv) and must outlive self.
void
    sluice_sources_add_list (sluice_sources_t *self, char **values, size_t count);

//  Open the files (and, with more than one source, read them all: the
//  tasks are their combinations). joined: a combination's values are
//  joined by one space (for --colsep to split), else separated by a NUL
//  byte (an argument list, ARGS). Returns
//  0, or -1 with "cannot open 'x': reason" or, for a value holding a NUL
//  byte that an argument list cannot carry, "'x' record N holds a NUL
//  byte" in err.
int
    sluice_sources_open (sluice_sources_t *self, bool nul, bool joined, char *err,
                         size_t errlen);

//  True if the tasks are combinations of several sources.
bool
    sluice_sources_combined (sluice_sources_t *self);

//  The descriptor the ventilator should read as its input, and its name,
//  when the tasks are the records of one stream (stdin or one -a FILE);
//  -1 when they come from sluice_sources_next.
int
    sluice_sources_fd (sluice_sources_t *self, const char **name);

//  The next task of a ::: list or of the sources' combinations (each
//  combination's values joined as sluice_sources_open says, the last
//  source varying fastest, as GNU parallel combines them). Returns 1 with the bytes
//  (owned by self, valid until the next call), 0 after the last.
int
    sluice_sources_next (sluice_sources_t *self, const char **data, size_t *size);

//  Go back one task: the next call returns the same one again (after the
//  ventilator's window refused it).
void
    sluice_sources_unget (sluice_sources_t *self);

//  ---------------------------------------------------------------------
//  args.c: the command line

//  One sluice invocation, parsed and checked.
typedef struct {
    sluice_config_t *vent;      //  the ventilator's options
    sluice_config_t *worker;    //  the local worker's (-j, --task-timeout, ...)
    sluice_config_t *sink;      //  the sink's (--format, -k, -o)
    char *command;              //  COMMAND ARG... joined by spaces
    char *tasks;                //  --tasks EP, or NULL
    char *results;              //  --results EP, or NULL
    bool nul;                   //  -0: NUL-delimited records
    sluice_sources_t *sources;  //  stdin, -a FILEs, ::: lists
} sluice_args_t;

//  Parse argv. Returns the invocation; or NULL after --help or --version
//  (*rc = 0) or after a one-line usage error naming the bad value (*rc = 2).
sluice_args_t *
    sluice_args_parse (int argc, char *argv [], int *rc);

//  Destroy an invocation; nulls the pointer.
void
    sluice_args_destroy (sluice_args_t **self_p);

//  Print --help to stream.
void
    sluice_args_help (FILE *stream);

//  ---------------------------------------------------------------------
//  cat.c: `sluice cat`

//  sluice cat [--format F] [FILE...]: a sink's msgpack stream as lines,
//  raw or jsonl (argv [0] is "cat"). Returns an exit code.
int
    sluice_cat_main (int argc, char *argv []);

//  ---------------------------------------------------------------------
//  batch.c: running it

//  sluice's exit codes are GNU parallel's (README "Exit codes"): 0 all
//  succeeded, 1-100 that many failed, 101 more; --halt's as parallel's.
//  The roles' other codes (2, 3, 4) would read as counts, so they map
//  above 101: parallel's 255 for a usage error or bad input, 254 for a
//  runtime error, 130 (128 + SIGINT, as a shell reports it) interrupted.
#define SLUICE_RUN_EXIT_INTERRUPTED 130
#define SLUICE_RUN_EXIT_RUNTIME 254
#define SLUICE_RUN_EXIT_USAGE 255

//  Run the batch: the ventilator and sink here, the worker as a child.
//  Returns the exit code (above).
int
    sluice_batch_run (sluice_args_t *args);

#endif
