#!/usr/bin/env bash
# Replacement strings against GNU parallel itself: the same command, the
# same NUL-delimited tricky names, `parallel -0 -k` and `sluice -0 -k`,
# outputs compared byte for byte. Then what parallel cannot be compared
# on: {#} is the task id, {%} a slot within 1..-j, the SLUICE_* variables,
# unknown replacement strings as usage errors (exit 2, naming them).
. "$(dirname "$0")/../lib.sh"
S="$T_ROOT/sluice/sluice"
W="$T_ROOT/worker/worker"
export TMPDIR="$T_DIR/tmp"
mkdir -p "$TMPDIR"
O="$T_DIR/out"; P="$T_DIR/parallel"; E="$T_DIR/err"
if ! command -v parallel > /dev/null; then
    echo "ok - $T_NAME: skipped, GNU parallel is not installed"
    exit 0
fi
export PARALLEL_HOME="$T_DIR/parallel-home"     # no ~/.parallel, no citation
mkdir -p "$PARALLEL_HOME" && touch "$PARALLEL_HOME/will-cite"

# t_both DESC CMD [OPTIONS...] : CMD over $T_DIR/names both ways, compared
t_both () {
    local desc="$1" cmd="$2"; shift 2
    "$S" -q -0 -k -j 3 "$@" "$cmd" < "$T_DIR/names" > "$O" 2> "$E"
    local rc=$?
    parallel -0 -k -j 3 "$@" "$cmd" < "$T_DIR/names" > "$P" 2> /dev/null
    local prc=$?
    t_eq "$desc: exit code (parallel's: the number of failed tasks)" "$rc" "$prc"
    if cmp -s "$O" "$P"; then
        t_eq "$desc: the bytes parallel prints" ok ok
    else
        t_eq "$desc: the bytes parallel prints" "$(diff "$O" "$P" | head -6)" ""
    fi
}

# one name a record: every character a shell or a path edit cares about
printf '%s\0' 'plain' 'a b' "it's" "'" "''" "'lead" "end'" 'say "hi"' $'new\nline' \
    'ünïcødé.tär' '-n' '--dash' 'noext' 'dir/' 'dir/sub/' '.hidden' 'dir/.hidden' \
    'a.b/c' 'x.tar.gz' 'a.b.c.d' '/abs/path.txt' '/' '' '.' '..' 'dir.x/file' \
    $'tab\there' '*' '$HOME' 'a\b' '`id`' 'sp ace/fi le.t xt' $'nl/in\nside/x.y' \
    $'a.b\nc/d' 'multi//slash//f.e' 'a=b' '~user' '{}' '%' '#' > "$T_DIR/names"
N=$(tr -cd '\0' < "$T_DIR/names" | wc -c)

# the shell form: each value quoted as parallel quotes it
t_both "shell form, every string" 'printf "[%s]\n" {} {.} {/} {//} {/.} {#}'
t_both "shell form, inside double quotes (parallel's exact quoting shows)" \
    'printf "%s\n" "<{}>" "<{/.}>" x{.}y'
t_both "shell form, inside single quotes" "printf '%s\n' '{}' '{/}'"
t_both "no replacement string: the task appended" 'printf "[%s]\n"'

# the direct form: a word holding replacement strings is one argument
cat > "$T_DIR/show" <<'EOF'
#!/bin/sh
for a; do printf '[%s]\n' "$a"; done
EOF
chmod +x "$T_DIR/show"
t_both "direct form, every string" "$T_DIR/show {} {.} {/} {//} {/.} {#} x{}y{/.}z"
t_both "direct form, the task appended" "$T_DIR/show -x"
"$S" -v -q -0 "$T_DIR/show {/}" < "$T_DIR/names" > /dev/null 2> "$E"
t_eq "direct form: run without /bin/sh" "$(grep -c -- "--exec runs $T_DIR/show" "$E")" 1

# the first word holds one: the value is shell code, unquoted (as parallel)
printf '%s\0' 'echo one two' 'printf "%s\n" x; echo y' > "$T_DIR/code"
"$S" -q -0 -k '{}' < "$T_DIR/code" > "$O"
parallel -0 -k '{}' < "$T_DIR/code" > "$P"
t_eq "first word {}: run as shell code, as parallel" "$(cmp -s "$O" "$P" && echo same)" same

# --colsep: columns split at a regex, trimmed; one beyond the line is empty
printf '%s\0' ' a , b ,, c ' 'x,y' 'one' '' ',' 'p.q/r.s , t/u.v' > "$T_DIR/names"
t_both "--colsep ',': {1} {2} {3} {4} {-1}" \
    'printf "[%s]\n" {1} {2} {3} {4} {-1} {1.} {2/} {1//} {2/.}' --colsep ','
t_both "--colsep ',': {} is every column" 'printf "[%s]\n" {}' --colsep ','
t_both "--colsep: a regex" 'printf "[%s]\n" {1} {2} {3}' --colsep '[,;]+'
printf '%s\0' $'a\tb\tc' $'d\t\te' > "$T_DIR/names"
t_both "--colsep '\\t'" 'printf "[%s]\n" {3} {1}' --colsep '\t'
t_both "--colsep, direct form" "$T_DIR/show {3} x{1}y {4} x{4}y" --colsep '\t'

# several sources: each combination is a list of arguments, as parallel's
# (before, their values were joined into one: `cp ::: a ::: b` ran `cp 'a b'`)
# t_sources DESC CMD SOURCES... : sluice -k and parallel -k, same operands
t_sources () {
    local desc="$1" cmd="$2"; shift 2
    "$S" -q -k -j 3 "${OPTS[@]}" "$cmd" "$@" > "$O" 2> "$E"; local rc=$?
    parallel -k -j 3 "${OPTS[@]}" "$cmd" "$@" > "$P" 2> /dev/null; local prc=$?
    t_eq "$desc: exit code" "$rc" "$prc"
    if cmp -s "$O" "$P"; then
        t_eq "$desc: the bytes parallel prints" ok ok
    else
        t_eq "$desc: the bytes parallel prints" "$(diff "$O" "$P" | head -6)" ""
    fi
}
OPTS=()
t_sources "::: ::: appended: one argument each" "$T_DIR/show -x" ::: 'a b' "it's" '' ::: 1 '$HOME'
t_sources "::: ::: appended, shell form" 'printf "[%s]\n"' ::: 'a b' 'c' ::: 'x y' "'"
t_sources "::: ::: {1} {2} {-1} and their edits" \
    'printf "[%s]\n" {2} {1} {-1} {1.} {2/} {1//} {2/.} {3}' ::: dir/f.tar.gz 'a b/c.d' ::: x/y.z w
t_sources "::: ::: {} is every argument" 'printf "[%s]\n" {}' ::: 'a b' c ::: "it's" d
t_sources "::: ::: direct form" "$T_DIR/show {2} x{1}y {} {3}" ::: 'p q' r ::: s
t_sources "three sources" 'echo {3}{2}{1}' ::: a b ::: 1 2 ::: x y
printf '%s\n' 'f 1' f2 > "$T_DIR/file"
OPTS=(-a "$T_DIR/file")
t_sources "-a FILE and :::" "$T_DIR/show {1} {2}" ::: 'g h'
OPTS=(--tag)
t_sources "--tag: the arguments joined by spaces" 'echo {2}' ::: a 'b c' ::: 1

# {#} is the task id, 1..N; {%} a job slot within 1..-j, as $SLUICE_SLOT
seq 1 60 | "$S" -q -j 3 'echo {#} {} {%} $SLUICE_TASK_ID $SLUICE_SLOT' > "$O"
t_eq "{#}: the task id, 1..N" "$(awk '$1 != $2' "$O" | wc -l) $(wc -l < "$O")" "0 60"
t_eq "{%}: slots within 1..3" "$(awk '{print $3}' "$O" | sort -u | tr '\n' ' ')" "1 2 3 "
t_eq "SLUICE_TASK_ID and SLUICE_SLOT are {#} and {%}" \
    "$(awk '$1 != $4 || $3 != $5' "$O" | wc -l)" 0
seq 1 5 | "$S" -q 'echo $SLUICE_BATCH $SLUICE_ATTEMPT' > "$O"
t_eq "SLUICE_BATCH: 32 hex digits, one batch" \
    "$(awk '{print $1}' "$O" | grep -cE '^[0-9a-f]{32}$') $(awk '{print $1}' "$O" | sort -u | wc -l)" "5 1"
t_eq "SLUICE_ATTEMPT: 1 on the first run" "$(awk '{print $2}' "$O" | sort -u)" 1
echo x | "$S" -q --retries 2 'echo $SLUICE_ATTEMPT; [ "$SLUICE_ATTEMPT" -ge 2 ] # {}' > "$O"; rc=$?
t_eq "SLUICE_ATTEMPT: counts re-runs" "$rc $(cat "$O")" "0 2"
echo x | SLUICE_SLOT=99 "$S" -q -j 1 '/usr/bin/env TASK={}' > "$O"
t_eq "direct form: SLUICE_* in the environment, ours replaced" \
    "$(grep -c '^SLUICE_SLOT=1$' "$O") $(grep -c '^SLUICE_SLOT=' "$O") $(grep -c '^SLUICE_TASK_ID=1$' "$O")" "1 1 1"
echo x | "$S" -q -j 2 --pipe 'cat; echo " $SLUICE_TASK_ID"' > "$O"
t_eq "--pipe: SLUICE_TASK_ID too" "$(tr -d '\n' < "$O")" "x 1"

# --coproc: each copy has its own SLUICE_SLOT (1..-j), nothing per task
T=$(t_ep cop-t); R=$(t_ep cop-r); C=$(t_ep cop-c)
t_start cop-sink "$SINK" -q --results "$R" --control "$C"; sink=$T_LAST
t_start cop-w "$WORKER" -q --tasks "$T" --results "$R" -j 2 \
    --coproc 'while read -r l; do echo "$SLUICE_SLOT ${SLUICE_TASK_ID:-none}"; done'
worker=$T_LAST
seq 1 2000 | "$VENT" -q --tasks "$T" --control "$C"; rc=$?
t_wait "$sink" 30 > /dev/null; kill -TERM "$worker"; t_wait "$worker" 10 > /dev/null
t_eq "--coproc: SLUICE_SLOT per copy, no task id" \
    "$rc $(sort -u "$T_DIR/cop-sink.out" | tr '\n' ' ')" "0 1 none 2 none "

# unknown replacement strings: usage errors naming them, before any task
for bad in '{foo}' '{3}' '{1x}' '{0}' '{+/}' '{##}' '{=1 $_=uc=}'; do
    echo x | "$S" "echo $bad" > "$O" 2> "$E"; rc=$?
    t_eq "sluice 'echo $bad': exit 255 (usage) naming it" "$rc $(grep -cF -- "'$bad'" "$E") $(wc -c < "$O")" "255 1 0"
done
"$W" --exec 'echo {foo}' > /dev/null 2> "$E"; rc=$?
t_eq "worker --exec '{foo}': exit 2 naming it" "$rc $(grep -c "unknown replacement string '{foo}'" "$E")" "2 1"
"$W" --exec 'echo {2}' --colsep , --tasks ">ipc://$T_DIR/none" --results ">ipc://$T_DIR/none2" \
    --grace 0 > /dev/null 2> "$E" &
pid=$!; sleep 0.3; kill "$pid" 2> /dev/null; wait "$pid"; rc=$?
t_eq "worker: {2} with --colsep starts" "$rc" 0
"$W" --exec 'echo {}' --colsep '(' > /dev/null 2> "$E"; rc=$?
t_eq "worker: a bad --colsep is a usage error" "$rc $(grep -c "invalid --colsep value '('" "$E")" "2 1"
echo x | "$S" -q --colsep '(' echo > /dev/null 2> "$E"; rc=$?
t_eq "sluice: a bad --colsep is a usage error (255)" "$rc" 255

# braces that are no replacement string stay the shell's or the program's
echo x | "$S" -q "awk '{print \"<\" \$0 \">\"}' /dev/null; echo y | awk '{print}'; echo \${HOME:+h}" > "$O"; rc=$?
t_eq "awk '{print}', \${...}: left alone" "$rc $(tr '\n' ' ' < "$O")" "0 y h x "
t_eq "$N names compared" "$N" 40

t_done
