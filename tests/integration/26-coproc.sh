#!/usr/bin/env bash
# --coproc CMD: -j long-lived copies of CMD, one record in, one record out.
# A copy that dies fails only the task it was on (the others in flight on it
# run again on the restarted copy); a record holding the delimiter cannot
# be framed and is an error; --task-timeout kills a copy stuck on a task.
. "$(dirname "$0")/../lib.sh"

# run NAME TASKS_FILE VENT_ARGS -- WORKER_ARGS... : one batch with one
# --coproc worker; the sink writes jsonl to $T_DIR/NAME.out. Sets VRC, SRC.
run () {
    local name=$1 input=$2; shift 2
    local vargs=(); while [ "$1" != "--" ]; do vargs+=("$1"); shift; done; shift
    local T R C; T=$(t_ep "$name-t"); R=$(t_ep "$name-r"); C=$(t_ep "$name-c")
    t_start "$name" "$SINK" -q --format jsonl --results "$R" --control "$C"; local sink=$T_LAST
    t_start "$name-w" "$WORKER" -q --tasks "$T" --results "$R" "$@"; local worker=$T_LAST
    "$VENT" -q --tasks "$T" --control "$C" "${vargs[@]}" "$input" 2> "$T_DIR/$name.vent.err"
    VRC=$?
    SRC=$(t_wait "$sink" 60)
    kill -TERM "$worker"; t_wait "$worker" 10 > /dev/null
}
outputs () { /usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line); print(r["id"], r["status"], r["exit_code"], r["output"])' "$1" | sort -n; }

# 10,000 tasks through two copies of cat: every result, exactly once
seq 1 10000 > "$T_DIR/seq.txt"
run cat "$T_DIR/seq.txt" -- --coproc cat -j 2
t_eq "cat: ventilator exit" "$VRC" 0
t_eq "cat: sink exit" "$SRC" 0
/usr/bin/python3 -c 'import json,sys; [print(json.loads(l)["output"]) for l in open(sys.argv[1])]' "$T_DIR/cat.out" > "$T_DIR/cat.got"
t_same_set "cat: 10,000 results equal the inputs" "$T_DIR/cat.got" "$T_DIR/seq.txt"

# a line-buffered filter transforms each record
printf 'alpha\nbeta\ngamma\n' > "$T_DIR/words.txt"
run sed "$T_DIR/words.txt" -- --coproc "sed -u 's/^/<</; s/\$/>>/'" -j 1
t_eq "sed -u: exit codes" "$VRC $SRC" "0 0"
t_eq "sed -u: outputs" "$(outputs "$T_DIR/sed.out" | cut -d' ' -f4 | tr '\n' ' ')" "<<alpha>> <<beta>> <<gamma>> "

# -0: NUL-delimited records, so a record may hold a newline
printf 'one\ntwo\0three\0' > "$T_DIR/nul.txt"
run nul "$T_DIR/nul.txt" -0 -- --coproc cat -0 -j 1
t_eq "-0: exit codes" "$VRC $SRC" "0 0"
t_eq "-0: record with a newline comes back whole" \
     "$(/usr/bin/python3 -c 'import json,sys; print(sorted(json.loads(l)["output"] for l in open(sys.argv[1])))' "$T_DIR/nul.out")" \
     "['one\\ntwo', 'three']"

# a record holding the delimiter cannot be framed: an error, the rest go on
run delim "$T_DIR/nul.txt" -0 -- --coproc cat -j 1
t_eq "delimiter in a record: batch fails (exit 1, 1)" "$VRC $SRC" "1 1"
t_eq "delimiter in a record: statuses" "$(outputs "$T_DIR/delim.out" | cut -d' ' -f1-2 | tr '\n' ' ')" "1 error 2 ok "

# a copy that exits on task 13 fails task 13 only, and is restarted
seq 1 40 > "$T_DIR/forty.txt"
crash='while read l; do [ "$l" = 13 ] && exit 3; echo "$l"; done'
run crash "$T_DIR/forty.txt" -- --coproc "$crash" -j 2
t_eq "crashing copy: exit codes" "$VRC $SRC" "1 1"
t_eq "crashing copy: only task 13 failed" "$(outputs "$T_DIR/crash.out" | awk '$2 != "ok"' | tr '\n' ' ')" "13 exit 3  "
t_eq "crashing copy: the other 39 succeeded" "$(outputs "$T_DIR/crash.out" | awk '$2 == "ok"' | wc -l)" 39

# --retries re-runs it on a fresh copy; a copy that always dies still fails once
run retry "$T_DIR/forty.txt" --retries 1 -- --coproc "$crash" -j 2
t_eq "crashing copy with --retries 1: task 13 reported once, attempt 2" \
     "$(/usr/bin/python3 -c 'import json,sys; print([(r["id"], r["attempts"]) for r in map(json.loads, open(sys.argv[1])) if r["status"] != "ok"])' "$T_DIR/retry.out")" \
     "[(13, 2)]"

# --task-timeout kills a copy stuck on one task
stuck='while read l; do [ "$l" = 5 ] && sleep 30; echo "$l"; done'
seq 1 10 > "$T_DIR/ten.txt"
start=$(date +%s)
run stuck "$T_DIR/ten.txt" -- --coproc "$stuck" -j 1 --task-timeout 1s
t_eq "stuck copy: exit codes" "$VRC $SRC" "1 1"
t_eq "stuck copy: task 5 timed out, the rest ok" "$(outputs "$T_DIR/stuck.out" | awk '$2 != "ok" {print $1, $2}')" "5 timeout"
t_check "stuck copy: done well before the 30 s sleep" [ $(( $(date +%s) - start )) -lt 15 ]
t_done
