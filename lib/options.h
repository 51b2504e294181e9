/*  =========================================================================
    options.h - the option table: every setting of the three programs

    One row per option: its long name (also its sluice_config_set name),
    short letter, the programs that take it, its type, default, environment
    variable, topology-file key and help text. getopt_long, the environment,
    ZPL topology files, --help and sluice_config_set/get are all driven by
    the table, so a new option is one row in options.c (plus its field in
    sluice_config_t). Iterate it with sluice_option_at for man pages and
    shell completion. Not part of the public API.
    =========================================================================
*/

#ifndef SLUICE_OPTIONS_H_INCLUDED
#define SLUICE_OPTIONS_H_INCLUDED

#include "private.h"

//  How a value is parsed, checked, stored and shown
typedef enum {
    SLUICE_TYPE_ENDPOINT,       //  endpoint list; items take the role's direction
    SLUICE_TYPE_DURATION,       //  "250ms", "2s", "5m", "1h"; stored in ms
    SLUICE_TYPE_SIZE,           //  "65536", "64k", "64M", "1G"; stored in bytes
    SLUICE_TYPE_COUNT,          //  decimal count
    SLUICE_TYPE_BOOL,           //  "1"/"0", "true"/"false"; a flag takes no argument
    SLUICE_TYPE_ENUM,           //  one of the row's choices; stored as its index
    SLUICE_TYPE_STRING          //  any text (a file name, a command)
} sluice_type_t;

//  Programs an option applies to (bits by sluice_role_t)
#define SLUICE_FOR_VENTILATOR (1u << SLUICE_ROLE_VENTILATOR)
#define SLUICE_FOR_WORKER (1u << SLUICE_ROLE_WORKER)
#define SLUICE_FOR_SINK (1u << SLUICE_ROLE_SINK)
#define SLUICE_FOR_ALL (SLUICE_FOR_VENTILATOR | SLUICE_FOR_WORKER | SLUICE_FOR_SINK)

typedef struct _sluice_option_t sluice_option_t;

//  A store or show function for a row that is not one plain field
typedef int (sluice_option_store_fn) (sluice_config_t *config, const sluice_option_t *opt,
                                      const char *value);
typedef char *(sluice_option_show_fn) (const sluice_config_t *config,
                                        const sluice_option_t *opt);

struct _sluice_option_t {
    const char *name;           //  long option, and the name sluice_config_set takes
    char letter;                //  short option, or 0
    unsigned roles;             //  SLUICE_FOR_* bits: programs whose command line takes it
    sluice_type_t type;         //  parser, checks and string form
    const char *def;            //  default, applied by sluice_config_new, or NULL
    const char *env;            //  environment variable, or NULL
    const char *zpl;            //  topology-file key ("sluice/tasks"), or NULL
    const char *arg;            //  argument name in --help ("N", "DUR")
    const char *help;           //  --help text; '\n' continues on an indented line
    bool cli;                   //  handled by the command line only (-c, --help)
    size_t offset;              //  field in sluice_config_t
    size_t width;               //  sizeof that field (1, 4 or 8 bytes)
    int64_t min, max;           //  accepted range (max 0: none); string: min length
    bool auto_ok;               //  count: "auto" is accepted (stored as SIZE_MAX)
    const char *choices;        //  enum: "lines|jsonl|msgpack"; value = index
    const char *group;          //  at most one option of a group per command line
    const char *needs;          //  an option that must be set when this one is
    sluice_option_store_fn *store;  //  for a row that is not one plain field
    sluice_option_show_fn *show;    //  ditto
    int choice;                 //  value the store function writes (mode, input)
};

//  Row at index, or NULL past the end: for (i = 0; (opt = sluice_option_at (i)); i++)
const sluice_option_t *
    sluice_option_at (size_t index);

//  Row of a long name, or NULL.
const sluice_option_t *
    sluice_option_find (const char *name);

//  Row of a topology-file key ("sluice/tasks"), or NULL.
const sluice_option_t *
    sluice_option_find_zpl (const char *key);

//  True if a section ("sluice") holds at least one topology-file key.
bool
    sluice_option_zpl_section (const char *section);

//  True if the program of this role takes the option on its command line.
bool
    sluice_option_for (const sluice_option_t *opt, sluice_role_t role);

//  Parse, check and store a value. Returns 0, or -1 with a one-line message
//  naming the value in err ("invalid window value '0'").
int
    sluice_option_store (const sluice_option_t *opt, sluice_config_t *config,
                         const char *value, char *err, size_t errlen);

//  The value in string form, one that sluice_option_store accepts back
//  (empty for an unset string). Returns a fresh string; the caller frees it.
char *
    sluice_option_show (const sluice_option_t *opt, const sluice_config_t *config);

//  Number of rows in the table.
size_t
    sluice_option_count (void);

#endif
