#!/usr/bin/env bash
# sluice: one command over a batch on this host (stdin, -0, -a, :::, -k,
# jsonl, exit codes, usage errors), the three roles as subcommands, a
# worker on "another host" (127.0.0.1) joining over tcp, and nothing left
# behind: no file in TMPDIR, no process, after a run or an interruption.
. "$(dirname "$0")/../lib.sh"
S="$T_ROOT/sluice/sluice"
export TMPDIR="$T_DIR/tmp"          # every sluice here makes its directory in it
mkdir -p "$TMPDIR"
O="$T_DIR/out"; E="$T_DIR/err"
t_none () { ! pgrep -f "$1" > /dev/null; }   # no process whose command line matches
two_running () { [ "$(pgrep -f "$1" | wc -l)" -ge 2 ]; }
# only_children PID NAME: PID has children, and every one is a NAME (the
# local worker is a thread of sluice: its commands are sluice's children)
only_children () {
    local kids; kids=$(pgrep -P "$1") || return 1
    for k in $kids; do [ "$(cat "/proc/$k/comm" 2>/dev/null)" = "$2" ] || return 1; done
}

# lines from stdin, {} replaced
seq 1 1000 | "$S" -j 4 'echo x{}' > "$O" 2> "$E"; rc=$?
t_eq "lines: exit code" "$rc" 0
seq 1 1000 | sed 's/^/x/' > "$T_DIR/want"
t_same_set "lines: every result once" "$O" "$T_DIR/want"

# without {} the task is appended; COMMAND ARG... joined as parallel does
printf 'a\nb c\n' | "$S" -q echo pre > "$O"; rc=$?
t_eq "appended: exit code" "$rc" 0
t_eq "appended: one argument per task" "$(sort "$O" | tr '\n' '|')" "pre a|pre b c|"

# -0: NUL-delimited records, a newline inside one
printf 'a b\0c\nd\0' | "$S" -q -0 -j 2 'printf "[%s]\n" {}' > "$O"; rc=$?
t_eq "-0: exit code" "$rc" 0
printf '[a b]\n[c\nd]\n' > "$T_DIR/want"
t_same_set "-0: two records" "$O" "$T_DIR/want"

# -a FILE; -a twice combines (last varies fastest); ::: lists
seq 1 5 > "$T_DIR/f1"; printf 'p\nq\n' > "$T_DIR/f2"
"$S" -q -a "$T_DIR/f1" 'echo a{}' < /dev/null > "$O"; rc=$?
t_eq "-a: exit code" "$rc" 0
t_eq "-a: the file's lines" "$(sort "$O" | tr '\n' ' ')" "a1 a2 a3 a4 a5 "
"$S" -q -a "$T_DIR/f1" -a "$T_DIR/f2" echo < /dev/null > "$O"
t_eq "-a -a: every combination" "$(sort "$O" | tr '\n' ' ')" \
     "1 p 1 q 2 p 2 q 3 p 3 q 4 p 4 q 5 p 5 q "
"$S" -q echo ::: a b c > "$O"; rc=$?
t_eq "::: exit code" "$rc" 0
t_eq "::: one task per value" "$(sort "$O" | tr '\n' ' ')" "a b c "
"$S" -q -k echo ::: a b ::: 1 2 > "$O"
t_eq "::: ::: combinations, in order with -k" "$(tr '\n' ' ' < "$O")" "a 1 a 2 b 1 b 2 "
"$S" -q -k 'echo \<{}\>' ::: 'x y' "it's" > "$O"
t_eq "::: values are shell-quoted" "$(tr '\n' '|' < "$O")" "<x y>|<it's>|"
# several sources make a list of arguments, one per source (parallel's):
# `cp ::: SRC ::: DST` copies (it ran `cp 'SRC DST'`); {N} is source N
echo data > "$T_DIR/src file"
"$S" -q cp ::: "$T_DIR/src file" ::: "$T_DIR/dst file" 2> "$E"; rc=$?
t_eq "cp ::: SRC ::: DST: exit code" "$rc:$(cat "$E")" "0:"
t_eq "cp ::: SRC ::: DST: copied" "$(cat "$T_DIR/dst file" 2>&1)" data
t_eq "--dry-run: one argument per source" "$("$S" --dry-run cp ::: 'a b' c ::: d)" \
    "$(printf "%s\n" "cp 'a b' d" "cp c d")"
t_eq "{2} {1} without --colsep" "$("$S" -q -k 'echo {2}-{1}' ::: a b ::: 1)" "$(printf '1-a\n1-b')"
t_eq "--tag: the arguments joined by a space" "$("$S" -q -k --tag echo ::: a ::: 'b c')" \
    "$(printf 'a b c\ta b c')"
t_eq "jsonl input: the arguments joined by a space" \
    "$("$S" -q --format jsonl echo ::: a ::: b | grep -o '"input":"[^"]*"')" '"input":"a b"'
rm -rf "$T_DIR/rd"
"$S" -q --results "$T_DIR/rd" echo ::: a ::: 1 2 > /dev/null
t_eq "--results DIR: one level per source, as parallel (DIR/1/a/2/1)" \
    "$(cd "$T_DIR/rd" && find . -name stdout | sort | tr '\n' ' ')" "./1/a/2/1/stdout ./1/a/2/2/stdout "
"$S" -q -k --joblog "$T_DIR/jl" 'echo {2}' ::: a ::: 'b c' > /dev/null
t_eq "--joblog: Command as it ran" "$(tail -1 "$T_DIR/jl" | cut -f9)" "echo 'b c'"
t_eq "--pipe: several sources are one record on stdin, joined by a space" \
    "$("$S" -q -k --pipe cat ::: a b ::: 1)" "$(printf 'a 1\nb 1')"
t_eq "--colsep: several sources still joined by a space, for it to split" \
    "$("$S" -q --colsep ' ' 'echo {3}' ::: a ::: 'b c')" c
printf 'x\0y\n' > "$T_DIR/nul"
"$S" -q -a "$T_DIR/nul" echo ::: z > "$O" 2> "$E"; rc=$?
t_eq "a NUL byte in a combined record: exit 254, named, nothing run" \
    "$rc:$(grep -c "nul: record 1 holds a NUL byte" "$E"):$(wc -c < "$O")" "254:1:0"

# -k: input order although the first tasks finish last
seq 1 40 | "$S" -q -k -j 4 'n={}; [ "$n" -le 3 ] && sleep 0.3; echo $n' > "$O"; rc=$?
t_eq "-k: exit code" "$rc" 0
t_eq "-k: input order" "$(tr '\n' ' ' < "$O")" "$(seq 1 40 | tr '\n' ' ')"

# --format jsonl
echo hello | "$S" -q --format jsonl 'echo {}' > "$O"; rc=$?
t_eq "jsonl: exit code" "$rc" 0
t_eq "jsonl: the record" "$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read())
print(r["id"], r["input"], r["status"], r["exit_code"], repr(r["output"]))' "$O")" "1 hello ok 0 'hello\\n'"

# failing commands: exit 2 (the number failed), each failure reported once, the others written
seq 1 6 | "$S" -j 3 'n={}; echo $n; [ $((n % 3)) -ne 0 ]' > "$O" 2> "$E"; rc=$?
t_eq "failures: exit code 2 (failed)" "$rc" 2
t_eq "failures: reported on stderr" "$(grep -c 'failed (exit 1' "$E")" 2
seq 1 6 | "$S" -q -j 3 'n={}; echo $n; [ $((n % 3)) -ne 0 ]' > /dev/null 2> "$E.q"; rc=$?
t_eq "failures -q: exit code 2, no per-task line" "$rc/$(grep -c 'failed (exit 1' "$E.q")" 2/0
t_eq "failures: every output written" "$(sort -n "$O" | tr '\n' ' ')" "1 2 3 4 5 6 "

# one task; empty input; -o FILE
echo one | "$S" echo > "$O" 2> "$E"; rc=$?
t_eq "one task: exit code" "$rc" 0
t_eq "one task: output" "$(cat "$O")" "one"
t_eq "one task: one summary line on stderr" "$(grep -c '1 tasks, 0 failed' "$E")" 1
"$S" echo < /dev/null > "$O" 2>&1; rc=$?
t_eq "empty input: exit code" "$rc" 0
t_eq "empty input: output" "$(grep -vc 'tasks, 0 failed' "$O")" 0
seq 1 3 | "$S" -q -o "$T_DIR/o.txt" echo > "$O"; rc=$?
t_eq "-o: exit code, stdout empty" "$rc:$(wc -c < "$O")" "0:0"
t_eq "-o: the file" "$(sort "$T_DIR/o.txt" | tr '\n' ' ')" "1 2 3 "

# usage errors: one line naming the value, exit 255 (GNU parallel's "other error")
"$S" --bogus echo > "$O" 2> "$E"; rc=$?
t_eq "unknown option: exit 255" "$rc" 255
t_eq "unknown option: the message" "$(cat "$E")" "sluice: unknown option '--bogus'"
"$S" -j x echo < /dev/null 2> "$E"; rc=$?
t_eq "bad -j: exit 255 and message" "$rc:$(head -c 28 "$E")" "255:sluice: invalid -j value 'x'"
#  -j as GNU parallel reads it: +N, -N, N% of the cores (at least 1); the
#  slots {%} that tasks sleeping side by side take show how many ran at once
cores=$(nproc)
slots () { "$S" -q -j "$1" 'sleep 0.4; echo {%}' ::: $(seq 1 "$2") | sort -n | tr '\n' ' '; }
t_eq "-j +1: cores + 1 at once" "$(slots +1 $((cores + 1)))" "$(seq 1 $((cores + 1)) | tr '\n' ' ')"
less=$(( cores > 1? cores - 1: 1 )); half=$(( cores / 2 > 0? cores / 2: 1 ))
t_eq "-j -1: cores - 1 at once (at least 1)" "$(slots -1 "$less" | tr -s ' ')" "$(seq 1 "$less" | tr '\n' ' ')"
t_eq "-j 50%: half the cores (at least 1)" "$(slots 50% "$half")" "$(seq 1 "$half" | tr '\n' ' ')"
t_eq "-j -99: at least 1" "$(slots -99 2)" "1 1 "
#  -j 0, parallel's "as many as possible": the open-file limit's share, 4
#  descriptors a command (ulimit -n 256: 48 at once)
t_eq "-j 0: as many as the open-file limit allows" \
    "$(ulimit -n 256; "$S" -q -j 0 'sleep 0.5; echo {%}' ::: $(seq 1 60) | sort -n | tail -1)" 48
t_eq "-j 0: all at once when the limit allows" "$(slots 0 12)" "$(seq 1 12 | tr '\n' ' ')"
for bad in 0% 1x +4095 4097 ''; do
    "$S" -j "$bad" echo < /dev/null 2> "$E"; rc=$?
    t_eq "-j '$bad': exit 255 and message" "$rc:$(cat "$E")" "255:sluice: invalid -j value '$bad'"
done
"$S" --timeout abc echo < /dev/null 2> "$E"; rc=$?
t_eq "bad --timeout: exit 255 and message" "$rc:$(cut -c1-38 "$E")" "255:sluice: invalid --timeout value 'abc'"
"$S" --tasks tcp://127.0.0.1:99999 echo ::: a > "$O" 2> "$E"; rc=$?
t_eq "--tasks port above 65535: exit 255, one line, nothing run" "$rc:$(wc -l < "$E"):$(wc -c < "$O")" "255:1:0"
t_eq "--tasks port above 65535: the message" "$(cat "$E")" \
    "sluice: invalid tasks endpoint 'tcp://127.0.0.1:99999': the port is above 65535"
"$S" -q < /dev/null 2> "$E"; rc=$?
t_eq "no COMMAND: exit 255" "$rc:$(wc -l < "$E")" "255:1"
"$S" -a "$T_DIR/nosuch" echo 2> "$E"; rc=$?
t_eq "missing -a FILE: exit 254, named" "$rc:$(grep -c nosuch "$E")" "254:1"
t_check "--version" bash -c "'$S' --version | grep -q '^sluice (sluice) '"
t_check "--help documents -a, ::: and the roles" \
    bash -c "'$S' --help | grep -q -- '--arg-file' && '$S' --help | grep -q ':::' && '$S' --help | grep -q 'ventilator|worker|sink'"
# the options of a command are the command's: parsing stops at COMMAND
echo x | "$S" -q --pipe grep -c x > "$O"
t_eq "COMMAND's own options" "$(cat "$O")" "1"
# --pipe: each record on stdin whole, with its newline (NUL under -0), as
# GNU parallel --pipe -N1 passes it: wc -l counts it, read takes it
t_eq "--pipe: wc -l counts the record's line" "$(echo abc | "$S" -q --pipe wc -l)" "1"
t_eq "--pipe: the bytes, newline included" "$(printf 'a b\nc\n' | "$S" -q -k --pipe 'od -An -c' | tr -s ' ')" \
    "$(printf ' a b \\n\n c \\n')"
t_eq "--pipe -0: each record ends in NUL" "$(printf 'a\nb\0c\0' | "$S" -0 -q -k --pipe 'od -An -c' | tr -s ' ')" \
    "$(printf ' a \\n b \\0\n c \\0')"

# sluice ventilator|worker|sink are the three programs
for role in ventilator worker sink; do
    t_eq "sluice $role --help is $role --help" \
         "$("$S" $role --help | md5sum)" "$("$T_ROOT/$role/$role" --help | md5sum)"
done
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
t_start sink "$S" sink -q --results "@$R" --control "@$C"; sk=$T_LAST
t_start worker "$S" worker -q --exec 'echo w{}' -j 2 --tasks ">$T" --results ">$R"; wk=$T_LAST
seq 1 200 > "$T_DIR/in200"
t_start vent "$S" ventilator -q --tasks "@$T" --control ">$C" "$T_DIR/in200"; vt=$T_LAST
t_rc rc "$vt" 30; t_eq "subcommands: ventilator exit code" "$rc" 0
t_rc rc "$sk" 30; t_eq "subcommands: sink exit code" "$rc" 0
seq 1 200 | sed 's/^/w/' > "$T_DIR/want"
t_same_set "subcommands: every result once" "$T_DIR/sink.out" "$T_DIR/want"
kill -TERM "$wk"; t_rc rc "$wk" 10; t_eq "subcommands: worker stops cleanly" "$rc" 0

# a worker on another host joins the batch over tcp
P1=$(t_port); P2=$(t_port); while [ "$P2" = "$P1" ]; do P2=$(t_port); done
t_start remote "$WORKER" --exec 'sleep 0.05; echo r{}' -j 4 \
    --tasks "tcp://127.0.0.1:$P1" --results "tcp://127.0.0.1:$P2"; rw=$T_LAST
seq 1 60 | "$S" -q -j 1 --tasks "tcp://127.0.0.1:$P1" --results "tcp://127.0.0.1:$P2" \
    'sleep 0.05; echo r{}' > "$O" 2> "$E"; rc=$?
t_eq "remote worker: exit code" "$rc" 0
seq 1 60 | sed 's/^/r/' > "$T_DIR/want"
t_same_set "remote worker: every result once" "$O" "$T_DIR/want"
kill -TERM "$rw"; t_rc rc "$rw" 10
ran=$(grep -o '[0-9]* tasks run' "$T_DIR/remote.err" | cut -d' ' -f1)
t_check "remote worker ran some of the tasks (${ran:-none})" [ "${ran:-0}" -gt 0 ]

# a batch longer than the worker's 5 s "no ventilator" warning: its
# inproc connections are never down, so stderr holds the summary only
seq 1 4 | "$S" -j 1 'sleep 1.6; echo {}' > "$O" 2> "$E"; rc=$?
t_eq "a 6 s batch: exit code" "$rc" 0
t_eq "a 6 s batch: every result" "$(sort -n "$O" | tr '\n' ' ')" "1 2 3 4 "
t_eq "a 6 s batch: no warning, the summary alone" "$(grep -vc ' 4 tasks, 0 failed' "$E")" 0

# nothing left behind: after every run above, and after SIGTERM and SIGINT
t_eq "no file left in TMPDIR" "$(ls -A "$TMPDIR")" ""
for sig in TERM INT; do
    seq 1 20 > "$T_DIR/in20"
    t_start "int$sig" "$S" -q -j 2 -a "$T_DIR/in20" 'sleep 37.5{}'; pid=$T_LAST
    #  both slots running: a command being spawned is "sluice" until its exec
    t_until 10 two_running "^sleep 37\.5"
    t_check "SIG$sig: sluice's children are its commands, no worker process" \
        only_children "$pid" sleep
    #  the first signal lets the running tasks finish (37 s): the second stops them
    kill -$sig "$pid"; sleep 0.3; kill -$sig "$pid"
    t_rc rc "$pid" 10
    t_eq "SIG$sig: exit code 130" "$rc" 130
    t_check "SIG$sig: no command left" t_none "sleep 37\.5"
    t_eq "SIG$sig: no file left in TMPDIR" "$(ls -A "$TMPDIR")" ""
done
t_done
