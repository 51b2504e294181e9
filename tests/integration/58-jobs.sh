#!/usr/bin/env bash
# GNU parallel's job options, compared with parallel 20221122 itself where
# it has one: --joblog (parsed by a reader of parallel's format, its
# columns against a real `parallel --joblog`), --retry-failed and
# --resume-failed (exactly the failed ids, with a command fixed between
# runs), --halt now/soon with fail=1, fail=N and fail=N% (started tasks
# bounded, exit codes), --dry-run, --tag -k, --results DIR (names and
# contents), --task-timeout/--timeout 200% on an outlier, and the exit
# code that counts the failures.
. "$(dirname "$0")/../lib.sh"
S="$T_ROOT/sluice/sluice"
V="$T_ROOT/ventilator/ventilator"
export TMPDIR="$T_DIR/tmp"
mkdir -p "$TMPDIR"
cd "$T_DIR" || exit 1
PAR=""
command -v parallel > /dev/null && PAR="parallel --will-cite"

# A reader of parallel's joblog format: header, then 9 tab-separated
# fields per line, typed as parallel writes them. Prints "seq exitval
# signal" per line, or fails naming the bad line.
cat > joblog.py <<'PY'
import sys
HEADER = ["Seq", "Host", "Starttime", "JobRuntime", "Send", "Receive", "Exitval", "Signal", "Command"]
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "no final newline"
assert lines[0].split("\t") == HEADER, "header %r" % lines[0]
for line in lines[1:-1]:
    f = line.split("\t", 8)
    assert len(f) == 9, "fields: %r" % line
    int(f[0]); float(f[2]); float(f[3]); int(f[4]); int(f[5]); int(f[6]); int(f[7])
    assert len(f[2].split(".")[1]) == 3 and len(f[3]) == 10 and len(f[3].split(".")[1]) == 3, line
    print(f[0], f[6], f[7])
PY
# shape LOG: each line's fields as classes (digits, float, text), for comparing layouts
shape () {
    awk -F '\t' '{ s = NF; for (i = 1; i <= NF; i++) { v = $i
        c = v ~ /^-?[0-9]+$/? "int": v ~ /^ *[0-9]+\.[0-9][0-9][0-9]$/? "f3": "text"
        if (i == 2 || i == 9) c = "text"; s = s " " c } print s }' "$1"
}

# --- --joblog -----------------------------------------------------------------
"$S" -q -k --joblog jl 'echo {}; exit {}' ::: 0 2 0 > /dev/null 2>&1; rc=$?
t_eq "joblog: exit code = failures" "$rc" 1
t_eq "joblog: parallel's reader reads it" "$(python3 joblog.py jl 2>&1 | sort -n | tr '\n' '|')" \
     "1 0 0|2 2 0|3 0 0|"
t_eq "joblog: Command and Receive" "$(cut -f 6,9 jl | sed 1d | sort | tr '\n' '|')" \
     "2	echo 0; exit 0|2	echo 0; exit 0|2	echo 2; exit 2|"
if [ -n "$PAR" ]; then
    $PAR --joblog pjl 'echo {}; exit {}' ::: 0 2 0 > /dev/null 2>&1
    t_eq "joblog: parallel's own joblog reads the same" "$(python3 joblog.py pjl | sort -n | tr '\n' '|')" \
         "1 0 0|2 2 0|3 0 0|"
    t_eq "joblog: column structure equals parallel's" "$(shape jl)" "$(shape pjl)"
fi

# --- --retry-failed, --resume-failed -----------------------------------------
# run 1 fails ids 2 and 4; the fixed command re-runs exactly those, same ids
"$S" -q -j 2 --journal jn 'test {} != b && test {} != d && echo run1 {}' ::: a b c d e \
    > out1 2> /dev/null; rc=$?
t_eq "retry: run 1 exit code = 2 failures" "$rc" 2
"$S" -q -j 2 --journal jn --retry-failed 'echo run2 {}' ::: a b c d e > out2 2> /dev/null; rc=$?
t_eq "retry-failed (journal): exit code" "$rc" 0
t_eq "retry-failed (journal): exactly the failed tasks" "$(sort out2 | tr '\n' '|')" "run2 b|run2 d|"
"$S" -q --journal jn --retry-failed 'echo run3 {}' ::: a b c d e > out3 2> /dev/null
t_eq "retry-failed again: nothing left to retry" "$(wc -l < out3)" 0
# from a joblog: the same, and the joblog's Seq are the same ids
"$S" -q --joblog jl2 'test {} != b && test {} != d' ::: a b c d e 2> /dev/null
"$S" -q -k --joblog jl2 --retry-failed 'echo fixed {}' ::: a b c d e > out4 2> /dev/null; rc=$?
t_eq "retry-failed (joblog): exit code" "$rc" 0
t_eq "retry-failed (joblog): exactly the failed tasks" "$(tr '\n' '|' < out4)" "fixed b|fixed d|"
t_eq "retry-failed (joblog): appended, same Seq" \
     "$(python3 joblog.py jl2 | head -5 | sort -n | tr '\n' '|')$(python3 joblog.py jl2 | tail -n +6 | sort -n | tr '\n' '|')" \
     "1 0 0|2 1 0|3 0 0|4 1 0|5 0 0|2 0 0|4 0 0|"
# resume-failed: the failed ones and the never-run ones (a halted run)
"$S" -q -j 1 --joblog jl3 --halt now,fail=1 'echo {}; test {} != 2' ::: 1 2 3 4 > /dev/null 2>&1
run_before=$(python3 joblog.py jl3 | cut -d' ' -f1 | sort -n | tr '\n' ' ')
"$S" -q -k --joblog jl3 --resume-failed 'echo again {}' ::: 1 2 3 4 > out5 2> /dev/null; rc=$?
t_eq "resume-failed: exit code" "$rc" 0
want=$(for i in 1 2 3 4; do case " $run_before" in *" $i "*) [ "$i" = 2 ] && echo "again $i";; *) echo "again $i";; esac; done | tr '\n' '|')
t_eq "resume-failed: the failed and the never run ($run_before ran)" "$(tr '\n' '|' < out5)" "$want"
t_check "--retry-failed needs a record" sh -c "! '$S' -q --retry-failed true ::: 1 2> /dev/null"
"$S" -q --retry-failed true ::: 1 2> err; rc=$?
t_eq "--retry-failed without --journal or --joblog: a usage error (255)" "$rc:$(grep -c 'needs --journal FILE or --joblog FILE' err)" "255:1"

# --- --halt -------------------------------------------------------------------
# -j 1: a task may already be on its way when the failure is acknowledged,
# so at most -j more tasks start than parallel starts
halt_case () {   # NAME HALT ARGS... : compares with parallel's lines and exit code
    local name=$1 halt=$2; shift 2
    "$S" -q -j 1 --halt "$halt" 'echo {}; exit {}' ::: "$@" > ho 2> /dev/null; hrc=$?
    if [ -n "$PAR" ]; then
        $PAR -j 1 --halt "$halt" 'echo {}; exit {}' ::: "$@" > po 2> /dev/null; prc=$?
        local ours theirs
        ours=$(wc -l < ho); theirs=$(wc -l < po)
        t_check "halt $name: started $ours, parallel $theirs (+ at most -j 1)" \
            test "$ours" -ge "$theirs" -a "$ours" -le $((theirs + 1))
        t_eq "halt $name: first lines as parallel's" "$(head -n "$theirs" ho)" "$(cat po)"
    fi
}
halt_case "now,fail=1" now,fail=1 0 3 0 0 0 0
t_eq "halt now,fail=1: exit code is the failed task's (parallel: 3)" "$hrc" 3
halt_case "soon,fail=2" soon,fail=2 0 3 4 5 0 0 0
t_eq "halt soon,fail=2: exit code = tasks failed" "$hrc" "$(grep -cv '^0$' ho)"
halt_case "soon,fail=50%" soon,fail=50% 0 0 1 1 1 1 1 1 0 0
t_eq "halt soon,fail=50%: exit code = percentage failed" "$hrc" "$(($(grep -c '^1$' ho) * 10))"
halt_case "soon,fail=30% (not reached)" soon,fail=30% 1 0 0 0 0 0 0 0 0 0
t_eq "halt soon,fail=30%: ran all, exit 10 (%), as parallel" "$hrc:$(wc -l < ho)" "10:10"
halt_case "soon,success=2" soon,success=2 1 0 0 5 5 5
t_eq "halt soon,success=2: exit 0, as parallel" "$hrc" 0
# now kills what runs: 4 slots, one fails at once, the others sleep 10 s
start=$(t_now_ms)
"$S" -q -j 4 --halt now,fail=1 'if [ {} = x ]; then exit 7; fi; sleep 10' ::: a b c x > /dev/null 2>&1; rc=$?
took=$(( $(t_now_ms) - start ))
t_eq "halt now: exit code 7" "$rc" 7
t_check "halt now: running tasks killed (took ${took} ms < 5000)" test "$took" -lt 5000
"$S" -q --halt later,fail=1 true ::: 1 2> err; rc=$?
t_eq "halt: a bad value is a usage error" "$rc:$(cat err)" "255:sluice: invalid --halt value 'later,fail=1'"

# --- --dry-run ----------------------------------------------------------------
dry () { "$S" -j 1 --dry-run "$@"; }
for c in "echo ::: a b" "echo {} x ::: 1 22" "wc -c ::: foo" "echo ::: 'b c' 'x\$y'"; do
    ours=$(eval "dry $c"); rc=$?
    t_eq "dry-run $c: exit 0" "$rc" 0
    [ -n "$PAR" ] && t_eq "dry-run $c: as parallel --dry-run (-j 1)" "$ours" "$(eval "$PAR -j 1 --dry-run $c")"
done
t_eq "dry-run: runs nothing" "$("$S" --dry-run 'touch {}' ::: made; ls made 2> /dev/null)" "touch made"
t_eq "ventilator --exec --dry-run: its input's lines" "$(printf 'a\nb c\n' | "$V" --exec 'echo {} x' --dry-run)" \
     "$(printf "echo a x\necho 'b c' x")"

# --- --tag ------------------------------------------------------------------
ours=$("$S" -q --tag -k 'printf "l1\nl2\n"; echo {}' ::: a 'b c')
t_eq "tag: input, tab, line" "$ours" "$(printf 'a\tl1\na\tl2\na\ta\nb c\tl1\nb c\tl2\nb c\tb c')"
[ -n "$PAR" ] && t_eq "tag -k: as parallel --tag -k" "$ours" \
    "$($PAR --tag -k 'printf "l1\nl2\n"; echo {}' ::: a 'b c')"

# --- --results DIR ------------------------------------------------------------
"$S" -q --results rs 'echo out {}' ::: a b 'c d' 'e/f' > /dev/null; rc=$?
t_eq "results: exit code" "$rc" 0
listing () { (cd "$1" && find . -type f | sort | while read -r f; do printf '%s=%s|' "$f" "$(cat "$f")"; done); }
t_eq "results: layout and contents" "$(listing rs)" \
     "./1/a/seq=1|./1/a/stderr=|./1/a/stdout=out a|./1/b/seq=2|./1/b/stderr=|./1/b/stdout=out b|./1/c d/seq=3|./1/c d/stderr=|./1/c d/stdout=out c d|./1/e\\_f/seq=4|./1/e\\_f/stderr=|./1/e\\_f/stdout=out e/f|"
if [ -n "$PAR" ]; then
    $PAR --results ps 'echo out {}' ::: a b 'c d' 'e/f' > /dev/null
    t_eq "results: as parallel --results (stderr empty here)" "$(listing rs)" \
         "$(listing ps | sed 's/stderr=[^|]*|/stderr=|/g')"
fi
t_check "results-dir: the sink's spelling" "$S" -q --results-dir rs2 true ::: 1
t_check "results-dir: seq written" test "$(cat rs2/1/1/seq)" = 1

# --- --timeout N% / --task-timeout N% ----------------------------------------
# 0.5 s tasks, not 0.2 s: with 0.2 s tasks a start delayed by 0.2 s on a
# busy machine is past 200 % of the median, and that task is killed too
# (a suspect for one CI failure of this script whose log was cut)
for spelling in --timeout --task-timeout; do
    "$S" -j 1 $spelling 200% 'sleep {}; echo {}' ::: 0.5 0.5 0.5 0.5 10 0.5 > to 2> err; rc=$?
    t_eq "$spelling 200%: the outlier killed, the rest ran" "$rc:$(tr '\n' ' ' < to)" "1:0.5 0.5 0.5 0.5 0.5 "
    t_eq "$spelling 200%: reported as a timeout" "$(grep -c 'task 5 failed (timeout' err)" 1
done
"$S" -q -j 1 --task-timeout 200% 'sleep {}' ::: 0.3 0.1 > /dev/null 2>&1; rc=$?
t_eq "--task-timeout N%: no median before 3 successes" "$rc" 0

# --- exit code = number of failures ------------------------------------------
"$S" -q 'exit {}' ::: 0 1 2 3 0 > /dev/null 2>&1; rc=$?
t_eq "exit code: 3 failures" "$rc" 3
seq 1 150 | "$S" -q false > /dev/null 2>&1; rc=$?
t_eq "exit code: more than 100 failures is 101" "$rc" 101
if [ -n "$PAR" ]; then
    $PAR 'exit {}' ::: 0 1 2 3 0 > /dev/null 2>&1; t_eq "exit code: parallel's is 3 too" "$?" 3
    seq 1 150 | $PAR false > /dev/null 2>&1; t_eq "exit code: parallel's is 101 too" "$?" 101
fi
t_done
