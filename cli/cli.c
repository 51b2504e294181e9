/*  =========================================================================
    cli.c - the command line of the three programs, driven by the option table

    getopt_long's long and short option tables are built from the rows the
    program's role takes. Each flag is checked as it comes (so a bad value
    is reported at once, naming the option as the user spelt it), then
    applied again after the topology file and the environment, so that
    flags win whatever the order of the layers in argv.
    =========================================================================
*/

#include "../lib/private.h"
#include "../lib/options.h"
#include "../lib/spawn.h"
#include "cli.h"

#include <getopt.h>

#define S_MAX_OPTIONS 64        //  rows one program takes, at most
#define S_FIRST_CODE 256        //  getopt codes of long options, above any letter

//  True if a shown value means "set": not empty, not "0".
static bool
s_truthy (const char *value)
{
    return value && *value && !streq (value, "0");
}

//  "-o FILE" or "--exec CMD": how --help and messages name an option.
static void
s_spelling (const sluice_option_t *opt, bool prefer_short, char *buf, size_t size)
{
    if (prefer_short && opt->letter)
        snprintf (buf, size, "-%c%s%s", opt->letter, opt->arg? " ": "", opt->arg? opt->arg: "");
    else
        snprintf (buf, size, "--%s%s%s", opt->name, opt->arg? " ": "", opt->arg? opt->arg: "");
}

//  "choose one of --echo, --exec CMD, --coproc CMD" for an option group.
static void
s_group_error (const sluice_cli_t *program, const char *group)
{
    char list [256] = "";
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        if (!opt->group || !streq (opt->group, group) || !sluice_option_for (opt, program->role))
            continue;
        char name [64];
        s_spelling (opt, false, name, sizeof name);
        size_t used = strlen (list);
        snprintf (list + used, sizeof list - used, "%s%s", used? ", ": "", name);
    }
    fprintf (stderr, "%s: choose one of %s\n", program->name, list);
}

//  One --help paragraph listing the topology-file keys (or the environment
//  variables) this role reads, wrapped at 78 columns.
static void
s_list (FILE *stream, sluice_role_t role, bool env, const char *lead)
{
    fprintf (stream, "%s", lead);
    size_t column = strlen (lead);
    const sluice_option_t *opt;
    bool first = true;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        //  keys of section 'sluice' by name, of others as section/key
        const char *name = env? opt->env
                         : !opt->zpl? NULL
                         : strncmp (opt->zpl, "sluice/", 7) == 0? opt->zpl + 7: opt->zpl;
        if (!name || !sluice_option_for (opt, role))
            continue;
        if (column + strlen (name) + 3 > 78) {      //  ", name,"
            fprintf (stream, "%s\n", first? "": ",");
            column = 0;
        }
        else
        if (!first)
            column += (size_t) fprintf (stream, ",");
        column += (size_t) fprintf (stream, "%s%s", column? " ": "", name);
        first = false;
    }
    fprintf (stream, ".\n");
}

static const char *s_security_help =
    "Security: without --keys, bound tcp sockets accept only loopback peers (and\n"
    "ipc peers): a connection from another address is refused and logged. Across\n"
    "hosts give every program --keys DIR (made once by 'sluice keygen DIR'), or\n"
    "accept chosen hosts with --allow ADDR[/BITS],..., or anyone with --insecure.\n"
    "See docs/SECURITY.md.\n";

void
sluice_cli_help (const sluice_cli_t *program, FILE *stream)
{
    fprintf (stream, "Usage: %s %s\n%s\n", program->name, program->synopsis, program->about);
    sluice_config_t *defaults = sluice_config_new (program->role);
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        if (!sluice_option_for (opt, program->role))
            continue;
        char left [64] = "    ";
        if (opt->letter)
            snprintf (left, sizeof left, "-%c, ", opt->letter);
        size_t used = strlen (left);
        s_spelling (opt, false, left + used, sizeof left - used);
        fprintf (stream, "  %-22s ", left);
        for (const char *p = opt->help; *p; p++) {
            fputc (*p, stream);
            if (*p == '\n')
                fprintf (stream, "%25s", "");
        }
        if (opt->def && opt->type != SLUICE_TYPE_BOOL && !strstr (opt->help, "default"))
            fprintf (stream, " (default %s)", sluice_config_get (defaults, opt->name));
        fputc ('\n', stream);
    }
    sluice_config_destroy (&defaults);
    fputc ('\n', stream);
    s_list (stream, program->role, false, "Topology file (-c): section 'sluice', keys");
    s_list (stream, program->role, true, "Environment (above the file, below flags):");
    fprintf (stream, "%s", s_security_help);
    fprintf (stream, "%s", program->epilogue);
}

const char *
sluice_cli_security_text (void)
{
    return s_security_help;
}

//  The hidden flags --help-man and --help-completion, which the Makefile
//  runs to make the man page and the bash completion: the program's rows
//  of the table as items, with the role's defaults, printed as a page.
static void
s_document (const sluice_cli_t *program, bool man, FILE *stream)
{
    sluice_config_t *defaults = sluice_config_new (program->role);
    sluice_cli_item_t items [S_MAX_OPTIONS];
    size_t count = 0;
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        if (!sluice_option_for (opt, program->role))
            continue;
        assert (count < S_MAX_OPTIONS);
        bool shown = opt->def && opt->type != SLUICE_TYPE_BOOL;
        items [count++] = (sluice_cli_item_t) {
            opt, opt->help, shown? sluice_config_get (defaults, opt->name): NULL
        };
    }
    sluice_cli_page_t page = {
        .name = program->name, .summary = program->summary,
        .synopsis = program->synopsis, .about = program->about,
        .items = items, .count = count, .exits = program->exits,
        .operands = program->operands? "file": NULL, .layers = true
    };
    if (man)
        sluice_cli_man (&page, stream);
    else
        sluice_cli_completion (&page, stream);
    sluice_config_destroy (&defaults);
}

//  Apply the layers under the flags, then the flags again (already checked),
//  then check what one option needs of another. Returns 0, or -1 after
//  printing a one-line error.
static int
s_layers (const sluice_cli_t *program, sluice_config_t *config, const char *file,
          const sluice_option_t **given, const char **values, size_t ngiven)
{
    char err [512];
    if ((file && sluice_config_load_file (config, file, err, sizeof err))
    ||  sluice_config_load_env (config, err, sizeof err)) {
        fprintf (stderr, "%s: %s\n", program->name, err);
        return -1;
    }
    for (size_t i = 0; i < ngiven; i++) {
        int rc = sluice_option_store (given [i], config, values [i], err, sizeof err);
        assert (rc == 0);           //  checked when parsed
    }
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        if (!opt->needs || !sluice_option_for (opt, program->role)
        ||  !s_truthy (sluice_config_get (config, opt->name))
        ||  s_truthy (sluice_config_get (config, opt->needs)))
            continue;
        char needed [64];
        s_spelling (sluice_option_find (opt->needs), true, needed, sizeof needed);
        fprintf (stderr, "%s: --%s needs %s\n", program->name, opt->name, needed);
        return -1;
    }
    if (sluice_config_check_rerun (config, err, sizeof err)) {
        fprintf (stderr, "%s: %s\n", program->name, err);
        return -1;
    }
    //  so is an --exec command with an unknown replacement string
    if (config->mode == SLUICE_MODE_EXEC
    &&  sluice_spawn_check (config->command, config, err, sizeof err)) {
        fprintf (stderr, "%s: %s\n", program->name, err);
        return -1;
    }
    //  keys that are missing or readable by others are a usage error
    if (sluice_security_check (config, err, sizeof err)) {
        fprintf (stderr, "%s: %s\n", program->name, err);
        return -1;
    }
    return 0;
}

//  Handle one option getopt returned. Returns -1 to go on, or an exit code.
static int
s_option (const sluice_cli_t *program, sluice_config_t *config, const sluice_option_t *opt,
          bool long_form, const char **file, const sluice_option_t **given,
          const char **values, size_t *ngiven)
{
    if (opt->cli) {
        if (streq (opt->name, "config")) {
            *file = optarg;
            return -1;
        }
        if (streq (opt->name, "help"))
            sluice_cli_help (program, stdout);
        else
            printf ("%s (sluice) %s\n", program->name, SLUICE_VERSION_STRING);
        return SLUICE_EXIT_OK;
    }
    for (size_t i = 0; opt->group && i < *ngiven; i++)
        if (given [i]->group && streq (given [i]->group, opt->group)) {
            s_group_error (program, opt->group);
            return SLUICE_EXIT_USAGE;
        }
    const char *value = opt->type == SLUICE_TYPE_BOOL? "1": optarg;
    char err [512];
    if (sluice_option_store (opt, config, value, err, sizeof err)) {
        //  the store's message may end with why ("...': shorter than 1s")
        const char *why = strstr (err, "': ");
        why = why? why + 1: "";
        if (opt->type == SLUICE_TYPE_ENDPOINT)
            fprintf (stderr, "%s: %s\n", program->name, err);
        else
        if (long_form)
            fprintf (stderr, "%s: invalid --%s value '%s'%s\n", program->name, opt->name,
                     value, why);
        else
            fprintf (stderr, "%s: invalid -%c value '%s'%s\n", program->name, opt->letter,
                     value, why);
        return SLUICE_EXIT_USAGE;
    }
    given [*ngiven] = opt;
    values [(*ngiven)++] = value;
    return -1;
}

sluice_config_t *
sluice_cli_parse (const sluice_cli_t *program, int argc, char *argv [], int *operand, int *rc)
{
    if (argc == 2
    && (streq (argv [1], "--help-man") || streq (argv [1], "--help-completion"))) {
        s_document (program, streq (argv [1], "--help-man"), stdout);
        *operand = argc;
        *rc = SLUICE_EXIT_OK;
        return NULL;
    }
    //  getopt's tables, from the rows this role takes
    const sluice_option_t *rows [S_MAX_OPTIONS];
    struct option longopts [S_MAX_OPTIONS + 1];
    char shortopts [2 * S_MAX_OPTIONS + 1];
    size_t count = 0, letters = 0;
    const sluice_option_t *opt;
    for (size_t i = 0; (opt = sluice_option_at (i)); i++) {
        if (!sluice_option_for (opt, program->role))
            continue;
        assert (count < S_MAX_OPTIONS);
        bool arg = opt->type != SLUICE_TYPE_BOOL;
        longopts [count] = (struct option) {
            opt->name, arg? required_argument: no_argument, NULL, S_FIRST_CODE + (int) count
        };
        rows [count++] = opt;
        if (opt->letter) {
            shortopts [letters++] = opt->letter;
            if (arg)
                shortopts [letters++] = ':';
        }
    }
    longopts [count] = (struct option) { NULL, 0, NULL, 0 };
    shortopts [letters] = 0;

    sluice_config_t *config = sluice_config_new (program->role);
    const sluice_option_t **given = calloc ((size_t) argc + 1, sizeof *given);
    const char **values = calloc ((size_t) argc + 1, sizeof *values);
    assert (given && values);
    size_t ngiven = 0;
    const char *file = NULL;
    *rc = -1;
    int code, index;
    while (*rc < 0
       && (index = -1, code = getopt_long (argc, argv, shortopts, longopts, &index)) != -1) {
        opt = NULL;
        if (code >= S_FIRST_CODE)
            opt = rows [code - S_FIRST_CODE];
        for (size_t i = 0; !opt && code != '?' && i < count; i++)
            if (rows [i]->letter == code)
                opt = rows [i];
        if (!opt)
            *rc = SLUICE_EXIT_USAGE;    //  getopt printed one line naming it
        else
            *rc = s_option (program, config, opt, index >= 0, &file, given, values, &ngiven);
    }
    if (*rc < 0 && !program->operands && optind < argc) {
        fprintf (stderr, "%s: unexpected argument '%s'\n", program->name, argv [optind]);
        *rc = SLUICE_EXIT_USAGE;
    }
    if (*rc < 0 && program->required) {
        bool found = false;
        for (size_t i = 0; i < ngiven; i++)
            found |= given [i]->group && streq (given [i]->group, program->required);
        if (!found) {
            s_group_error (program, program->required);
            *rc = SLUICE_EXIT_USAGE;
        }
    }
    if (*rc < 0 && s_layers (program, config, file, given, values, ngiven))
        *rc = SLUICE_EXIT_USAGE;
    free (given);
    free (values);
    *operand = optind;
    if (*rc >= 0)
        sluice_config_destroy (&config);
    return config;
}
