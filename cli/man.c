/*  =========================================================================
    man.c - man pages and bash completion, printed from the option table

    The Makefile runs each program with the hidden flag --help-man (and
    --help-completion) to make man/NAME.1 (and the completion script), so
    the pages list exactly the options --help lists, with the same help
    text and defaults, and a new row of the table appears in both at the
    next build. What a page shows comes in a sluice_cli_page_t (cli.h): the
    items are the program's rows of the table; the rest is what the program
    says about itself (summary, synopsis, exit codes).

    Everything from the table is escaped for roff here: a hyphen is \-
    (so options survive copy and paste), a backslash \e, and a line never
    starts with '.' or '\''.
    =========================================================================
*/

#include "../lib/private.h"
#include "../lib/options.h"
#include "cli.h"

//  Write text as roff. With join, a '\n' is a space (one filled line of
//  the table's hard-wrapped text); without, lines stay lines.
static void
s_roff (FILE *stream, const char *text, bool join)
{
    bool bol = true;
    for (const char *p = text; *p; p++) {
        if (bol && (*p == '.' || *p == '\''))
            fputs ("\\&", stream);
        bol = false;
        if (*p == '\\')
            fputs ("\\e", stream);
        else
        if (*p == '-')
            fputs ("\\-", stream);
        else
        if (*p == '\n' && join) {
            if (p [1])
                fputc (' ', stream);
        }
        else {
            fputc (*p, stream);
            bol = *p == '\n';
        }
    }
}

//  Text in a font: \fB...\fR (bold) or \fI...\fR (italic).
static void
s_font (FILE *stream, char font, const char *text)
{
    fprintf (stream, "\\f%c", font);
    s_roff (stream, text, true);
    fputs ("\\fR", stream);
}

//  One paragraph: its lines filled, but those indented by two spaces (a
//  table, an example) kept as they are, unfilled.
static void
s_paragraph (FILE *stream, char *text)
{
    fputs (".PP\n", stream);
    bool verbatim = false;
    for (char *line = text, *next; line; line = next) {
        next = strchr (line, '\n');
        if (next)
            *next++ = 0;
        bool indented = strncmp (line, "  ", 2) == 0;
        if (indented != verbatim)
            fputs (indented? ".nf\n": ".fi\n", stream);
        verbatim = indented;
        s_roff (stream, line, false);
        fputc ('\n', stream);
    }
    if (verbatim)
        fputs (".fi\n", stream);
}

//  Paragraphs of hard-wrapped text: a blank line starts the next.
static void
s_paragraphs (FILE *stream, const char *text)
{
    char *copy = strdup (text);
    assert (copy);
    char *rest = copy;
    while (rest && *rest) {
        char *end = strstr (rest, "\n\n");
        if (end)
            *end = 0;
        while (*rest == '\n')
            rest++;
        if (*rest && strspn (rest, " \n") < strlen (rest))
            s_paragraph (stream, rest);
        rest = end? end + 2: NULL;
    }
    free (copy);
}

//  "--exec CMD" or "-o, --output FILE", in fonts: an option's heading.
static void
s_heading (FILE *stream, const sluice_option_t *opt)
{
    if (opt->letter) {
        char letter [3] = { '-', opt->letter, 0 };
        s_font (stream, 'B', letter);
        fputs (", ", stream);
    }
    fputs ("\\fB\\-\\-", stream);
    s_roff (stream, opt->name, true);
    fputs ("\\fR", stream);
    if (opt->arg) {
        fputc (' ', stream);
        s_font (stream, 'I', opt->arg);
    }
    fputc ('\n', stream);
}

//  The topology-file key of a row, as the file spells it: "tasks" in
//  section "sluice", or "keys" in section "security".
static void
s_zpl_key (FILE *stream, const char *zpl)
{
    const char *slash = strchr (zpl, '/');
    assert (slash);
    char section [64];
    snprintf (section, sizeof section, "%.*s", (int) (slash - zpl), zpl);
    s_font (stream, 'B', slash + 1);
    fputs (" in section ", stream);
    s_font (stream, 'B', section);
}

//  True if help names every choice of "a|b|c".
static bool
s_lists_choices (const char *help, const char *choices)
{
    for (const char *p = choices; *p; ) {
        size_t length = strcspn (p, "|");
        char choice [64];
        snprintf (choice, sizeof choice, "%.*s", (int) length, p);
        if (!strstr (help, choice))
            return false;
        p += length + (p [length] == '|');
    }
    return true;
}

//  True if the page lists the option named name.
static bool
s_on_page (const sluice_cli_page_t *page, const char *name)
{
    for (size_t i = 0; i < page->count; i++)
        if (streq (page->items [i].opt->name, name))
            return true;
    return false;
}

//  One option: heading, help, then what else the table says of it.
static void
s_option (FILE *stream, const sluice_cli_page_t *page, const sluice_cli_item_t *item)
{
    const sluice_option_t *opt = item->opt;
    fputs (".TP\n", stream);
    s_heading (stream, opt);
    s_roff (stream, item->help, true);
    fputs (".\n", stream);
    if (opt->choices && !s_lists_choices (item->help, opt->choices)) {
        fputs ("One of ", stream);
        char choices [128];
        snprintf (choices, sizeof choices, "%s", opt->choices);
        for (char *c = strtok (choices, "|"), *next; c; c = next) {
            next = strtok (NULL, "|");
            s_font (stream, 'B', c);
            fputs (next? ", ": ".\n", stream);
        }
    }
    if (item->def) {
        fputs ("Default: ", stream);
        s_font (stream, 'B', *item->def? item->def: "\"\"");
        fputs (".\n", stream);
    }
    if (opt->needs && s_on_page (page, opt->needs)) {
        char needs [64];
        snprintf (needs, sizeof needs, "--%s", opt->needs);
        fputs ("Needs ", stream);
        s_font (stream, 'B', needs);
        fputs (".\n", stream);
    }
    if (page->layers && opt->env) {
        fputs ("Environment: ", stream);
        s_font (stream, 'B', opt->env);
        fputs (".\n", stream);
    }
    if (page->layers && opt->zpl) {
        fputs ("Topology file: ", stream);
        s_zpl_key (stream, opt->zpl);
        fputs (".\n", stream);
    }
}

//  What each type of argument accepts, for the types the page's options use.
static void
s_values (FILE *stream, const sluice_cli_page_t *page)
{
    static const struct {
        sluice_type_t type;
        const char *arg, *text;
    } s_types [] = {
        { SLUICE_TYPE_ENDPOINT, "EP",
          "A ZeroMQ endpoint (tcp://host:port, ipc://path) or a comma-separated "
          "list of them. @ binds, > connects; without either each program takes "
          "its natural direction (the ventilator binds tasks, the sink binds "
          "results and control, the others connect), so one value serves every "
          "program on every host. A bind to a host name binds the address it "
          "resolves to." },
        { SLUICE_TYPE_DURATION, "DUR",
          "A duration: 250ms, 2s, 5m, 1h; a bare number is seconds." },
        { SLUICE_TYPE_SIZE, "SIZE",
          "A size in bytes, or with a suffix k, M or G (KiB, MiB, GiB)." },
        { SLUICE_TYPE_COUNT, "N", "A decimal number" },
    };
    bool any = false;
    for (size_t t = 0; t < sizeof s_types / sizeof s_types [0]; t++) {
        bool used = false, auto_ok = false;
        for (size_t i = 0; i < page->count; i++)
            if (page->items [i].opt->type == s_types [t].type) {
                used = true;
                auto_ok |= page->items [i].opt->auto_ok;
            }
        if (!used)
            continue;
        if (!any)
            fputs (".SH VALUES\n", stream);
        any = true;
        fputs (".TP\n", stream);
        s_font (stream, 'I', s_types [t].arg);
        fputc ('\n', stream);
        s_roff (stream, s_types [t].text, true);
        if (s_types [t].type == SLUICE_TYPE_COUNT)
            fputs (auto_ok? ", or auto where the default is auto.\n": ".\n", stream);
        else
            fputc ('\n', stream);
    }
}

//  ENVIRONMENT: the variables of the page's options.
static void
s_environment (FILE *stream, const sluice_cli_page_t *page)
{
    bool any = false;
    for (size_t i = 0; page->layers && i < page->count; i++) {
        const sluice_option_t *opt = page->items [i].opt;
        if (!opt->env)
            continue;
        if (!any)
            fputs (".SH ENVIRONMENT\n"
                   "Each variable sets an option: a flag overrides it, and it\n"
                   "overrides the topology file (\\fB\\-c\\fR).\n", stream);
        any = true;
        fputs (".TP\n", stream);
        s_font (stream, 'B', opt->env);
        fputs ("\nas ", stream);
        s_heading (stream, opt);
    }
    if (page->environment) {
        if (!any)
            fputs (".SH ENVIRONMENT\n", stream);
        any = true;
        s_paragraphs (stream, page->environment);
    }
}

//  FILES: the topology file and its keys, and every FILE or DIR argument.
static void
s_files (FILE *stream, const sluice_cli_page_t *page)
{
    fputs (".SH FILES\n", stream);
    const sluice_cli_item_t *config = NULL;
    for (size_t i = 0; i < page->count; i++)
        if (streq (page->items [i].opt->name, "config"))
            config = &page->items [i];
    if (config && page->layers) {
        fputs (".TP\n", stream);
        s_heading (stream, config->opt);
        fputs ("A topology file in ZPL (CZMQ's zconfig format), the same on\n"
               "every host; below the environment and flags. An unknown key or\n"
               "section is a usage error naming the file and line. Its keys,\n"
               "as section/key:\n"
               ".RS\n", stream);
        for (size_t i = 0; i < page->count; i++) {
            const sluice_option_t *opt = page->items [i].opt;
            if (!opt->zpl)
                continue;
            fputs (".TP\n", stream);
            s_font (stream, 'B', opt->zpl);
            fputs ("\nas ", stream);
            s_heading (stream, opt);
        }
        fputs (".RE\n.IP\nFor example:\n.IP\n.nf\n"
               "sluice\n"
               "    tasks = tcp://vent\\-host:5557\n"
               "    results = tcp://sink\\-host:5558\n"
               "    control = tcp://sink\\-host:5559\n"
               "security\n"
               "    keys = /etc/sluice/keys\n"
               ".fi\n", stream);
    }
    for (size_t i = 0; i < page->count; i++) {
        const sluice_cli_item_t *item = &page->items [i];
        if (item == config || !item->opt->arg
        ||  (!streq (item->opt->arg, "FILE") && !streq (item->opt->arg, "DIR")))
            continue;
        fputs (".TP\n", stream);
        s_heading (stream, item->opt);
        s_roff (stream, item->help, true);
        fputs (".\n", stream);
    }
    if (page->files)
        s_paragraphs (stream, page->files);
}

//  Lines "name\tmeaning\n": one .TP per line, name in bold.
static void
s_table (FILE *stream, const char *lines, const char *prefix)
{
    char *copy = strdup (lines);
    assert (copy);
    for (char *line = strtok (copy, "\n"); line; line = strtok (NULL, "\n")) {
        char *tab = strchr (line, '\t');
        assert (tab);
        *tab = 0;
        fputs (".TP\n\\fB", stream);
        s_roff (stream, prefix, true);
        s_roff (stream, line, true);
        fputs ("\\fR\n", stream);
        s_roff (stream, tab + 1, true);
        fputc ('\n', stream);
    }
    free (copy);
}

void
sluice_cli_man (const sluice_cli_page_t *page, FILE *stream)
{
    fprintf (stream, ".\\\" %s(1): generated by '%s --help-man' from the option table\n",
             page->name, page->name);
    char upper [64];
    snprintf (upper, sizeof upper, "%s", page->name);
    for (char *c = upper; *c; c++)
        *c = (char) toupper ((unsigned char) *c);
    fprintf (stream, ".TH %s 1 \"\" \"sluice %s\" \"sluice manual\"\n.nh\n.ds AD l\n.ad l\n", upper,
             SLUICE_VERSION_STRING);
    fputs (".SH NAME\n", stream);
    s_roff (stream, page->name, true);
    fputs (" \\- ", stream);
    s_roff (stream, page->summary, true);
    fputs ("\n.SH SYNOPSIS\n", stream);
    char *synopsis = strdup (page->synopsis);
    assert (synopsis);
    for (char *line = strtok (synopsis, "\n"); line; line = strtok (NULL, "\n")) {
        s_font (stream, 'B', page->name);
        fputc (' ', stream);
        s_roff (stream, line, true);
        fputs ("\n.br\n", stream);
    }
    free (synopsis);
    fputs (".SH DESCRIPTION\n", stream);
    s_paragraphs (stream, page->about);
    if (page->more)
        s_paragraphs (stream, page->more);
    fputs (".PP\nSee\n.BR sluice (7)\nfor the guarantees, the protocol and security.\n",
           stream);
    if (page->subcommands) {
        fputs (".SH COMMANDS\n", stream);
        char prefix [64];
        snprintf (prefix, sizeof prefix, "%s ", page->name);
        s_table (stream, page->subcommands, prefix);
    }
    fputs (".SH OPTIONS\n", stream);
    for (size_t i = 0; i < page->count; i++)
        s_option (stream, page, &page->items [i]);
    s_values (stream, page);
    s_environment (stream, page);
    s_files (stream, page);
    fputs (".SH SECURITY\n", stream);
    const char *security = sluice_cli_security_text ();
    if (strncmp (security, "Security: ", 10) == 0)
        security += 10;
    s_paragraphs (stream, security);
    fputs (".SH EXIT STATUS\n", stream);
    for (int code = 0; code < SLUICE_CLI_EXITS; code++) {
        if (!page->exits [code])
            continue;
        if (page->exit_codes)
            fprintf (stream, ".TP\n.B %s\n", page->exit_codes [code]);
        else
            fprintf (stream, ".TP\n.B %d\n", code);
        s_roff (stream, page->exits [code], true);
        fputc ('\n', stream);
    }
    if (page->examples) {
        fputs (".SH EXAMPLES\n.nf\n", stream);
        s_roff (stream, page->examples, false);
        fputs (".fi\n", stream);
    }
    fputs (".SH SEE ALSO\n", stream);
    static const char *s_pages [] = { "sluice", "ventilator", "worker", "sink" };
    for (size_t i = 0; i < 4; i++)
        if (!streq (s_pages [i], page->name))
            fprintf (stream, ".BR %s (1),\n", s_pages [i]);
    fputs (".BR sluice (7)\n", stream);
}

//  --------------------------------------------------------------------------
//  Bash completion

//  The completion function's name: _sluice, _sluice_worker.
static void
s_function (char *buf, size_t size, const char *name)
{
    if (streq (name, "sluice"))
        snprintf (buf, size, "_sluice");
    else
        snprintf (buf, size, "_sluice_%s", name);
    for (char *c = buf; *c; c++)
        if (*c == '-')
            *c = '_';
}

//  "-o|--output": a case pattern naming an option both ways.
static void
s_pattern (FILE *stream, const sluice_option_t *opt)
{
    if (opt->letter)
        fprintf (stream, "-%c|", opt->letter);
    fprintf (stream, "--%s", opt->name);
}

//  How an option's value completes: its choices, files, directories,
//  commands; NULL for nothing to offer (a number, an endpoint).
static const char *
s_value_kind (const sluice_option_t *opt)
{
    if (opt->choices || opt->auto_ok)
        return "choices";
    if (streq (opt->arg, "FILE"))
        return "_sluice_compgen -f";
    if (streq (opt->arg, "DIR"))
        return "_sluice_compgen -d";
    if (streq (opt->arg, "CMD"))
        return "mapfile -t COMPREPLY < <(compgen -c -- \"$cur\")";
    return NULL;
}

//  The case $prev in ... esac of the options that take a value: one branch
//  per option with something to offer, one for all the others.
static void
s_value_cases (FILE *stream, const sluice_cli_page_t *page)
{
    fputs ("    case $prev in\n", stream);
    bool others = false;
    for (size_t i = 0; i < page->count; i++) {
        const sluice_option_t *opt = page->items [i].opt;
        if (opt->type == SLUICE_TYPE_BOOL)
            continue;
        const char *kind = s_value_kind (opt);
        if (!kind) {
            others = true;
            continue;
        }
        fputs ("        ", stream);
        s_pattern (stream, opt);
        fputs (")\n            ", stream);
        if (streq (kind, "choices")) {
            fputs ("mapfile -t COMPREPLY < <(compgen -W '", stream);
            for (const char *c = opt->choices? opt->choices: "auto"; *c; c++)
                fputc (*c == '|'? ' ': *c, stream);
            fputs ("' -- \"$cur\")\n", stream);
        }
        else
            fprintf (stream, "%s\n", kind);
        fputs ("            return 0 ;;\n", stream);
    }
    if (others) {
        fputs ("        ", stream);
        bool first = true;
        for (size_t i = 0; i < page->count; i++) {
            const sluice_option_t *opt = page->items [i].opt;
            if (opt->type == SLUICE_TYPE_BOOL || s_value_kind (opt))
                continue;
            if (!first)
                fputc ('|', stream);
            s_pattern (stream, opt);
            first = false;
        }
        fputs (")\n            COMPREPLY=()\n            return 0 ;;\n", stream);
    }
    fputs ("    esac\n", stream);
}

//  Subcommands' names, space-separated, from "name\tmeaning\n" lines.
static void
s_subcommand_names (FILE *stream, const char *lines, const char *separator)
{
    bool first = true;
    for (const char *p = lines; *p; ) {
        size_t length = strcspn (p, "\t");
        fprintf (stream, "%s%.*s", first? "": separator, (int) length, p);
        first = false;
        p = strchr (p, '\n');
        p = p? p + 1: "";
    }
}

void
sluice_cli_completion (const sluice_cli_page_t *page, FILE *stream)
{
    char function [80];
    s_function (function, sizeof function, page->name);
    fprintf (stream, "# %s: bash completion, generated by '%s --help-completion' from the\n"
                     "# option table\n", page->name, page->name);
    //  one shared helper: files or directories, with filename quoting
    fputs ("_sluice_compgen ()\n"
           "{\n"
           "    compopt -o filenames 2>/dev/null\n"
           "    mapfile -t COMPREPLY < <(compgen \"$1\" -- \"$cur\")\n"
           "}\n", stream);
    fprintf (stream, "%s ()\n{\n", function);
    fputs ("    local cur=${COMP_WORDS[COMP_CWORD]} prev=\n"
           "    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "    # --format=jsonl is three words: --format = jsonl\n"
           "    if [[ $cur == = ]]; then\n"
           "        cur=\n"
           "    elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then\n"
           "        prev=${COMP_WORDS[COMP_CWORD-2]}\n"
           "    fi\n", stream);
    if (page->subcommands) {
        fputs ("    if (( COMP_CWORD > 1 )); then\n"
               "        case ${COMP_WORDS[1]} in\n"
               "            ", stream);
        s_subcommand_names (stream, page->subcommands, "|");
        fputs (")\n"
               "                declare -F _sluice_${COMP_WORDS[1]} >/dev/null &&\n"
               "                    _sluice_${COMP_WORDS[1]}\n"
               "                return 0 ;;\n"
               "        esac\n"
               "    fi\n", stream);
    }
    if (page->operands && streq (page->operands, "command")) {
        //  after COMMAND every word is the command's: complete files
        fputs ("    local takes=' ", stream);
        for (size_t i = 0; i < page->count; i++) {
            const sluice_option_t *opt = page->items [i].opt;
            if (opt->type == SLUICE_TYPE_BOOL)
                continue;
            if (opt->letter)
                fprintf (stream, "-%c ", opt->letter);
            fprintf (stream, "--%s ", opt->name);
        }
        fputs ("' i=1 word\n"
               "    while (( i < COMP_CWORD )); do\n"
               "        word=${COMP_WORDS[i]}\n"
               "        if [[ $word == -- ]]; then\n"
               "            (( i + 1 < COMP_CWORD )) && { _sluice_compgen -f; return 0; }\n"
               "            mapfile -t COMPREPLY < <(compgen -c -- \"$cur\")\n"
               "            return 0\n"
               "        fi\n"
               "        [[ $word == -?* ]] || { _sluice_compgen -f; return 0; }\n"
               "        if [[ $takes == *\" $word \"* ]]; then\n"
               "            (( i++ ))\n"
               "            [[ ${COMP_WORDS[i]} == = ]] && (( i++ ))\n"
               "        fi\n"
               "        (( i++ ))\n"
               "    done\n", stream);
    }
    s_value_cases (stream, page);
    fputs ("    if [[ $cur == -* ]]; then\n"
           "        mapfile -t COMPREPLY < <(compgen -W '", stream);
    for (size_t i = 0; i < page->count; i++)
        fprintf (stream, "%s--%s", i? " ": "", page->items [i].opt->name);
    for (size_t i = 0; i < page->count; i++)
        if (page->items [i].opt->letter)
            fprintf (stream, " -%c", page->items [i].opt->letter);
    fputs ("' -- \"$cur\")\n"
           "        return 0\n"
           "    fi\n", stream);
    if (!page->operands)
        fputs ("    COMPREPLY=()\n", stream);
    else
    if (streq (page->operands, "file"))
        fputs ("    _sluice_compgen -f\n", stream);
    else
    if (streq (page->operands, "dir"))
        fputs ("    _sluice_compgen -d\n", stream);
    else {
        assert (streq (page->operands, "command"));
        fputs ("    # COMMAND, or at the first word one of the subcommands\n"
               "    local subcommands=\n"
               "    (( COMP_CWORD == 1 )) && subcommands='", stream);
        if (page->subcommands)
            s_subcommand_names (stream, page->subcommands, " ");
        fputs ("'\n"
               "    mapfile -t COMPREPLY < <(compgen -W \"$subcommands\" -- \"$cur\";"
               " compgen -c -- \"$cur\")\n", stream);
    }
    fputs ("    return 0\n}\n", stream);
    if (!page->subcommand)
        fprintf (stream, "complete -F %s %s\n", function, page->name);
}
