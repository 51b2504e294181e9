#!/usr/bin/env bash
# 55-man: the man pages and the bash completion. Each page renders with
# `man -l` and groff without a warning; each section 1 page is what its
# program prints now (so `make` regenerated it), lists exactly the options
# its --help lists (names taken from --help, headings from the rendered
# OPTIONS section), every environment variable and topology key --help
# names, and the exit codes of README's table (sluice: of its --help).
# The completion, sourced in bash, offers each program's options, the
# --format choices, files for FILE, and sluice's subcommands. `make install`
# puts the pages and the completion where man and bash-completion look.
. "$(dirname "$0")/../lib.sh"
PROGRAMS="sluice ventilator worker sink"
export LC_ALL=C MANWIDTH=80
bin () { if [ "$1" = sluice ]; then echo "$T_ROOT/sluice/sluice"; else echo "$T_ROOT/$1/$1"; fi; }

for tool in man groff; do
    t_check "$tool is installed (scripts/deps.sh test)" which "$tool" > /dev/null
done

# --- every page renders without a warning -----------------------------------
for page in "$T_ROOT"/man/{sluice,ventilator,worker,sink}.1 "$T_ROOT/man/sluice.7"; do
    name=$(basename "$page")
    t_check "$name exists" test -s "$page"
    groff -man -ww -z "$page" 2> "$T_DIR/groff.err"
    t_eq "$name: groff -man -ww: no warning" "$(cat "$T_DIR/groff.err")" ""
    man --warnings -l "$page" > "$T_DIR/$name.txt" 2> "$T_DIR/man.err"
    t_eq "$name: man -l --warnings: exit 0" "$?" 0
    t_eq "$name: man -l --warnings: no warning" "$(cat "$T_DIR/man.err")" ""
done
for p in $PROGRAMS; do
    "$(bin "$p")" --help-man > "$T_DIR/$p.now.1"
    t_check "$p.1 is what '$p --help-man' prints now" cmp -s "$T_DIR/$p.now.1" "$T_ROOT/man/$p.1"
done
for section in NAME DESCRIPTION TOPOLOGY GUARANTEES PROTOCOL SECURITY "EXIT STATUS" "SEE ALSO"; do
    t_check "sluice.7 has $section" grep -qx "$section" "$T_DIR/sluice.7.txt"
done

# --- the options of --help, and only those ------------------------------------
# help_options: "-j --jobs ..." from --help's option lines ("  -j, --jobs N",
# "      --exec CMD"); page_options: the same from the rendered OPTIONS section
help_options () {
    grep -E '^  (-[[:alnum:]], |    )--' | sed -E 's/^ +//; s/,//; s/ [A-Z].*//; s/ {2,}.*//' |
        sed -E 's/^(-[[:alnum:]]) (--[a-z0-9-]+).*/\1 \2/; s/^(--[a-z0-9-]+).*/\1/' |
        tr ' ' '\n' | sort
}
page_options () {
    sed -n '/^OPTIONS$/,/^[A-Z]/p' | grep -E '^       -' |
        sed -E 's/^ +//; s/^(-[[:alnum:]]), (--[a-z0-9-]+).*/\1 \2/; s/^(--[a-z0-9-]+).*/\1/' |
        tr ' ' '\n' | sort
}
for p in $PROGRAMS; do
    "$(bin "$p")" --help > "$T_DIR/$p.help"
    help_options < "$T_DIR/$p.help" > "$T_DIR/$p.help.opts"
    page_options < "$T_DIR/$p.1.txt" > "$T_DIR/$p.page.opts"
    t_check "$p --help lists options ($(wc -l < "$T_DIR/$p.help.opts"))" \
        test "$(wc -l < "$T_DIR/$p.help.opts")" -ge 10
    t_eq "$p.1 OPTIONS: exactly the options of --help" \
        "$(diff "$T_DIR/$p.help.opts" "$T_DIR/$p.page.opts" | grep '^[<>]' | tr '\n' ' ')" ""
    # each option's default as --help shows it, "(default 30s)", is in the page
    grep -Eo '^  (-[[:alnum:]], |    )--[a-z0-9-]+.*\(default [^)]*\)' "$T_DIR/$p.help" |
        sed -E 's/^ +(-[[:alnum:]], )?(--[a-z0-9-]+).*\(default ([^)]*)\)$/\2 \3/' |
        while read -r opt def; do
            tr -s ' \n' ' ' < "$T_DIR/$p.1.txt" | grep -qF -- "Default: $def." || echo "$opt $def"
        done > "$T_DIR/$p.missing-defaults"
    t_eq "$p.1 shows every default of --help" "$(cat "$T_DIR/$p.missing-defaults")" ""
done

# --- environment variables and topology keys --help names ------------------
for p in ventilator worker sink; do
    vars=$(sed -n '/^Environment/,/\.$/p' "$T_DIR/$p.help" | grep -Eo 'SLUICE_[A-Z_]+' | sort -u)
    env_section=$(sed -n '/^ENVIRONMENT$/,/^[A-Z]/p' "$T_DIR/$p.1.txt")
    missing=$(for v in $vars; do grep -qx "       $v" <<< "$env_section" || echo "$v"; done)
    t_check "$p --help names environment variables" test -n "$vars"
    t_eq "$p.1 ENVIRONMENT: every variable of --help" "$missing" ""
    keys=$(sed -n '/^Topology file/,/\.$/p' "$T_DIR/$p.help" | sed 's/^Topology.*keys//' |
           tr ',.' '\n\n' | tr -d ' ' | grep . | sed -E '/\//!s|^|sluice/|')
    files_section=$(sed -n '/^FILES$/,/^[A-Z]/p' "$T_DIR/$p.1.txt")
    missing=$(for k in $keys; do grep -qx " *$k" <<< "$files_section" || echo "$k"; done)
    t_check "$p --help names topology keys" test -n "$keys"
    t_eq "$p.1 FILES: every topology key of --help" "$missing" ""
done

# --- exit codes --------------------------------------------------------------
# exit_section PAGE: "CODE meaning" lines from the rendered EXIT STATUS
exit_section () {
    sed -n '/^EXIT STATUS$/,/^[A-Z]/p' "$1" | sed '1d;$d' |
        awk '/^       [0-9][0-9-]* / { if (line) print line; line = $0; next }
             /^ +[^ ]/ { line = line " " $0 } END { if (line) print line }' |
        tr -s ' ' | sed 's/^ //'
}
column=1
for p in ventilator worker sink; do
    column=$((column + 1))
    # README "Exit codes": | code | ventilator | worker | sink |, "–" = not used
    want=$(sed -n '/^### Exit codes/,/^A usage/p' "$T_ROOT/README.md" | grep -E '^\| [0-9] \|' |
           awk -F ' \\| ' -v c="$column" '{ gsub(/^\| /, "", $1); gsub(/ \|$/, "", $c)
                                              if ($c != "–") print $1 " " $c }')
    t_check "README has $p's exit codes" test -n "$want"
    t_eq "$p.1 EXIT STATUS: README's table" "$(exit_section "$T_DIR/$p.1.txt")" "$want"
done
# sluice --help: "Exit (GNU parallel's): 0 all tasks succeeded, 1-100 that many failed (...), ..."
want=$(sed -n '/^Exit/,/\.$/p' "$T_DIR/sluice.help" | tr '\n' ' ' | sed "s/^Exit (GNU parallel's): //; s/\\. *\$//" |
       sed -E 's/, ([0-9][0-9-]*) /\n\1 /g')
t_eq "sluice.1 EXIT STATUS: its --help" "$(exit_section "$T_DIR/sluice.1.txt")" "$want"

# --- bash completion ----------------------------------------------------------
COMPLETION=$T_ROOT/completion/sluice
t_check "completion/sluice exists" test -s "$COMPLETION"
t_check "completion/sluice is bash" bash -n "$COMPLETION"
mkdir -p "$T_DIR/files" && touch "$T_DIR/files/tasks.txt" "$T_DIR/files/topo.zpl"
# complete WORDS...: what bash offers for the last word (may be ''), one per
# line, from the function `complete -p` names for the first word
complete_words () {
    bash -c '. "$1"; shift
             COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMPREPLY=()
             f=$(complete -p "$1" | awk "{ print \$3 }")
             "$f" 2> /dev/null; printf "%s\n" "${COMPREPLY[@]}"' _ "$COMPLETION" "$@" | sort
}
offers () {         # offers DESC WANT WORDS...: WANT is among the offers
    local desc=$1 want=$2; shift 2
    t_check "$desc" grep -qxF -- "$want" <(complete_words "$@")
}
offers "worker --ex<TAB> offers --exec" --exec worker --ex
t_eq "worker --ex<TAB> offers only --exec" "$(complete_words worker --ex)" "--exec"
t_eq "sink --format <TAB>: the four formats" "$(complete_words sink --format '' | tr '\n' ' ')" \
     "jsonl lines msgpack raw "
t_eq "sink --format=j<TAB>: jsonl" "$(complete_words sink --format = j)" "jsonl"
t_eq "sluice --format m<TAB>: msgpack" "$(complete_words sluice --format m)" "msgpack"
offers "sink -o <TAB> offers files" "$T_DIR/files/tasks.txt" sink -o "$T_DIR/files/t"
offers "ventilator FILE operands are files" "$T_DIR/files/tasks.txt" ventilator --window 8 "$T_DIR/files/t"
offers "worker -c <TAB> offers files" "$T_DIR/files/topo.zpl" worker -c "$T_DIR/files/to"
t_eq "worker -j <TAB>: nothing to offer" "$(complete_words worker -j '')" ""
offers "worker --prefetch <TAB> offers auto" auto worker --prefetch ''
offers "worker --exec <TAB> offers commands" gzip worker --exec gzi
for sub in ventilator worker sink keygen; do
    offers "sluice <TAB> offers $sub" "$sub" sluice ''
done
offers "sluice worker --ex<TAB> offers --exec" --exec sluice worker --ex
offers "sluice sink --format <TAB> offers jsonl" jsonl sluice sink --format ''
offers "sluice keygen --f<TAB> offers --force" --force sluice keygen --f
offers "sluice -j 4 gz<TAB> offers commands" gzip sluice -j 4 gz
offers "sluice -j 4 gzip <TAB> offers files" "$T_DIR/files/tasks.txt" sluice -j 4 gzip "$T_DIR/files/t"
t_eq "sluice -j 4 gzip -<TAB>: the command's options are not sluice's" \
     "$(complete_words sluice -j 4 gzip -)" ""
# every option of every --help, long and short, completes
for p in $PROGRAMS; do
    if [ "$p" = sluice ]; then words=(sluice -); else words=("$p" -); fi
    complete_words "${words[@]}" > "$T_DIR/$p.completes"
    t_eq "$p -<TAB>: every option of --help" \
        "$(comm -23 "$T_DIR/$p.help.opts" "$T_DIR/$p.completes" | tr '\n' ' ')" ""
done

# --- make install -------------------------------------------------------------
P=$T_DIR/prefix
t_check "make install PREFIX=... succeeds" \
    make -s -C "$T_ROOT" install PREFIX="$P" > "$T_DIR/install.out" 2>&1
for p in $PROGRAMS; do
    t_check "installed share/man/man1/$p.1" cmp -s "$P/share/man/man1/$p.1" "$T_ROOT/man/$p.1"
    t_check "installed completion for $p" test -f "$P/share/bash-completion/completions/$p"
done
t_check "installed share/man/man7/sluice.7" test -f "$P/share/man/man7/sluice.7"
t_eq "man -M finds sluice(7)" "$(man -M "$P/share/man" -w 7 sluice)" "$P/share/man/man7/sluice.7"
t_eq "man -M finds worker(1)" "$(man -M "$P/share/man" -w worker)" "$P/share/man/man1/worker.1"

t_done
