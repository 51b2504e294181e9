#!/usr/bin/env bash
# 45-hostile-resources: attacks on memory and time (issue 9, item 4), each
# by tests/hostile.py against a live 20,000-task batch on loopback; each is
# one named test asserting the exact output set, honest exit codes, the
# peak RSS (/usr/bin/time %M) under 64 MiB plus the bound that applies, and
# the log line of the defence. Sizes are scaled down from the measured
# attacks, but stay well past what the old code held (OLD_BIN=dir runs the
# same tests against other binaries).
#   peers_that_join_and_leave_are_forgotten
#   half_sent_frames_on_the_tasks_port
#   half_sent_frames_on_the_control_port
#   idle_connections_past_max_peers
#   keep_order_results_far_ahead_are_dropped
#   one_huge_jsonl_result_is_written_in_pieces
. "$(dirname "$0")/../lib.sh"
if [ -n "${OLD_BIN:-}" ]; then
    VENT=$OLD_BIN/ventilator/ventilator WORKER=$OLD_BIN/worker/worker SINK=$OLD_BIN/sink/sink
fi
PY=/usr/bin/python3
HOSTILE=$T_ROOT/tests/hostile.py
TIME=/usr/bin/time
N=20000
MIB=1024
seq 1 "$N" > "$T_DIR/want"

rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

# batch_start NAME [VENT OPTIONS...]: a sink (SINK_OPTS), two echo workers
# (HOG first, if set) and a ventilator (-v), each measured by /usr/bin/time;
# input paced over about 2 s (PAUSE=0.25: 10 s; INPUT: a file instead).
SINK_OPTS=()
batch_start () {
    local name=$1; shift
    TASKS=$(t_ep "$name-tasks") RESULTS=$(t_ep "$name-results") CONTROL=$(t_ep "$name-control")
    local input=${INPUT:-$T_DIR/$name.in}
    if [ -z "${INPUT:-}" ]; then
        mkfifo "$input"
        t_start "$name-pacer" awk -v n="$N" -v out="$input" -v pause="${PAUSE:-0.05}" 'BEGIN {
            for (i = 1; i <= n; i++) {
                print i > out
                if (i % 500 == 0) { fflush (out); system ("sleep " pause) }
            }
            close (out)
        }'
    fi
    t_start "$name-sink" "$TIME" -f %M -o "$T_DIR/$name-sink.kb" \
        "$SINK" "${SINK_OPTS[@]}" --results "@$RESULTS" --control "@$CONTROL"
    SINK_PID=$T_LAST
    START=$(t_now_ms)
    t_start "$name-vent" "$TIME" -f %M -o "$T_DIR/$name-vent.kb" \
        "$VENT" -v "$@" --tasks "@$TASKS" --control ">$CONTROL" "$input"
    VENT_PID=$T_LAST
    #  the hog alone first: it takes the first tasks, the watermark stays
    [ -n "${HOG:-}" ] && { $HOG & HOG_PID=$!; sleep 0.7; }
    t_start "$name-w1" "$WORKER" --echo --tasks ">$TASKS" --results ">$RESULTS"
    W1=$T_LAST
    t_start "$name-w2" "$WORKER" --echo --tasks ">$TASKS" --results ">$RESULTS"
    W2=$T_LAST
}

batch_id () { grep -o 'batch [0-9a-f]\{32\}' "$T_DIR/$1-vent.err" | head -1 | cut -d' ' -f2; }

# batch_end NAME SECS: wait; exits 0/0, exact output (OUT_CHECK overrides)
batch_end () {
    local name=$1 secs=$2 rc_v rc_s
    rc_of rc_v "$VENT_PID" "$secs"
    ELAPSED=$(( $(t_now_ms) - START ))
    rc_of rc_s "$SINK_PID" 10
    kill -TERM "$W1" "$W2" 2>/dev/null
    t_eq "$name: ventilator exit" "$rc_v" 0
    t_eq "$name: sink exit" "$rc_s" 0
    if [ -n "${OUT_CHECK:-}" ]; then $OUT_CHECK "$name"
    else t_same_set "$name: output set is exactly 1..$N" "$T_DIR/$name-sink.out" "$T_DIR/want"
    fi
    t_check "$name: nothing forged reached the output" \
        bash -c "! grep -q FORGED '$T_DIR/$name-sink.out'"
    for f in sink vent; do
        t_check "$name: $f: no assertion, sanitizer or crash report" \
            bash -c "! grep -qiE 'assert|AddressSanitizer|runtime error|core dumped|Segmentation' '$T_DIR/$name-$f.err'"
    done
}

# peak NAME ROLE: peak RSS in KiB
peak () { tail -1 "$T_DIR/$1-$2.kb"; }
# under NAME ROLE MIB: peak RSS under 64 MiB plus MIB (the bound that applies)
# Under AddressSanitizer (make SANITIZE=...) every allocation carries
# shadow memory and freed blocks wait in a 256 MiB quarantine: the bound
# there is 4 x the target + 256 MiB, which still catches the gigabytes the
# old code reached; the target itself is checked by the plain build
SAN_RSS=0
ldd "$VENT" 2>/dev/null | grep -q libasan && SAN_RSS=1
under () {
    local kb; kb=$(peak "$1" "$2")
    local limit=$((64 + $3)) what="64 MiB + $3 MiB"
    if [ "$SAN_RSS" = 1 ]; then limit=$(( 4 * (64 + $3) + 256 )); what="$limit MiB (ASan: 4 x (64 + $3) + 256)"; fi
    echo "# $1: $2 peak RSS $((kb / 1024)) MiB (limit $limit MiB), batch ${ELAPSED} ms" >&2
    t_check "$1: $2 peak RSS $((kb / 1024)) MiB < $what" test "$kb" -lt $(( limit * MIB ))
}
attack () {
    local name=$1; shift
    t_start "$name-attack" "$PY" "$HOSTILE" "$@"
    ATTACK_PID=$T_LAST
}

# two processes join and leave over raw ZMTP as fast as they can (each
# cycle a fresh routing id and CREDIT [10, 1]) for the whole of a 10 s
# batch: the ventilator must forget each, the real workers must keep
# their places, and neither its memory nor the batch's time may grow
test_peers_that_join_and_leave_are_forgotten () {
    local t=peers_that_join_and_leave_are_forgotten
    PAUSE=0.25 batch_start $t.base
    batch_end $t.base 60
    local base=$ELAPSED
    PAUSE=0.25 batch_start $t
    attack $t churn "$TASKS" --procs "${PROCS:-2}" --duration 60 --cycles "${CYCLES:-1000000}"
    batch_end $t 120
    kill -TERM "$ATTACK_PID" 2>/dev/null
    local rc; rc_of rc "$ATTACK_PID" 20
    local cycles; cycles=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' \
                           "$T_DIR/$t-attack.out" 2>/dev/null || echo 0)
    echo "# $t: $cycles join/leave cycles during the batch (base ${base} ms)" >&2
    t_check "$t: the attack made at least 20,000 cycles ($cycles)" test "$cycles" -ge 20000
    under $t vent 0
    t_check "$t: the batch took ${ELAPSED} ms, at most 1.2 x ${base} ms + 1 s" \
        test "$ELAPSED" -le $(( base * 12 / 10 + 1000 ))
}

# frames NAME PORT ROLE CONNS GAP: half-sent 60 MiB frames on a port, the
# body GAP seconds after the header (then libzmq has read all there is when
# it drops the frame, and only the attacker's unread handshake is left: CI
# once saw that taken for a stopped peer)
frames () {
    local t=$1 port=$2 role=$3 conns=$4 gap=$5
    batch_start $t
    local ep=$TASKS; [ "$port" = control ] && ep=$CONTROL
    attack $t park "$ep" --conns "$conns" --size $((60 << 20)) --fraction 0.98 --duration 3 \
        --gap "$gap"
    batch_end $t 60
    local rc; rc_of rc "$ATTACK_PID" 60
    under $t "$role" 0
    t_check "$t: the $role logs the oversized frames" \
        grep -q "over --max-control-size" "$T_DIR/$t-$role.err"
    t_check "$t: the $role takes no attacker for a stopped peer" \
        bash -c "! grep -q 'heartbeat timeout' '$T_DIR/$t-$role.err'"
}
test_half_sent_frames_on_the_tasks_port () { frames half_sent_frames_on_the_tasks_port tasks vent 10 0.05; }
test_half_sent_frames_on_the_control_port () { frames half_sent_frames_on_the_control_port control sink 20 0; }

test_idle_connections_past_max_peers () {
    local t=idle_connections_past_max_peers
    batch_start $t
    attack $t idle "$TASKS" --conns 700 --duration 4
    batch_end $t 60
    local rc; rc_of rc "$ATTACK_PID" 60
    under $t vent 0
    t_check "$t: the ventilator logs the --max-peers limit" \
        grep -q "the --max-peers limit: refused" "$T_DIR/$t-vent.err"
}

# -k with a window of 1024: a hog takes tasks 1..20 and keeps them alive
# with PROGRESS (the watermark stays at 1 until --max-held, 6 s, takes
# them back), meanwhile a forger sends results 1100..2000 (512 KiB each,
# 450 MiB in all), every one at or past low + window, where no real task
# can be: each is dropped, never held, and the sink stays small. (A forged
# id INSIDE the window cannot be told from a real one without CURVE keys:
# README, "Resource bounds".)
s_hog () { $PY "$HOSTILE" hog "$TASKS" --take 20 --duration 8 > "$T_DIR/keep.hog" 2>&1; }
test_keep_order_results_far_ahead_are_dropped () {
    local t=keep_order_results_far_ahead_are_dropped
    SINK_OPTS=(-k)
    HOG=s_hog batch_start $t --window 1024 --timeout 1s --max-held 6s
    local i=0
    until [ -n "$(batch_id $t)" ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
    attack $t ahead "$RESULTS" --batch "$(batch_id $t)" --first 1100 --last 2000 \
        --size $((512 << 10)) --repeat 1 --pause 0
    local rc; rc_of rc "$ATTACK_PID" 60
    local forged_done=$(( $(t_now_ms) - START ))
    batch_end $t 90
    wait "$HOG_PID" 2>/dev/null
    t_check "$t: the hog held task 1 while the forger sent ($forged_done ms)" \
        grep -q '"taken": \[1,' "$T_DIR/keep.hog"
    under $t sink 0
    t_check "$t: output in input order" cmp -s "$T_DIR/$t-sink.out" "$T_DIR/want"
    t_check "$t: the sink logs the results it did not hold" \
        grep -q "far ahead of the window" "$T_DIR/$t-sink.err"
    t_check "$t: none was held up to --reorder-max" \
        bash -c "! grep -q 'the --reorder-max limit' '$T_DIR/$t-sink.err'"
}

# one 30 MiB input of 0xff bytes: --echo returns it, jsonl writes input and
# output as output_base64 and input_base64 (not UTF-8: 40 MiB each), in pieces
s_jsonl_check () {
    local t=$1
    t_check "$t: $((N + 1)) records, the big one whole" $PY -c '
import base64, json, sys
ids, big = set(), 0
for line in open(sys.argv[1], "rb"):
    r = json.loads(line)
    ids.add(r["id"])
    if "output_base64" in r and base64.b64decode(r["output_base64"]) == b"\xff" * (30 << 20) \
            and base64.b64decode(r["input_base64"]) == b"\xff" * (30 << 20):
        big += 1
sys.exit(0 if ids == set(range(1, int(sys.argv[2]) + 2)) and big == 1 else 1)
' "$T_DIR/$t-sink.out" "$N"
}
test_one_huge_jsonl_result_is_written_in_pieces () {
    local t=one_huge_jsonl_result_is_written_in_pieces
    { seq 1 "$N"; $PY -c 'import sys; sys.stdout.buffer.write(b"\xff" * (30 << 20) + b"\n")'; } \
        > "$T_DIR/$t.input"
    SINK_OPTS=(--format jsonl)
    INPUT=$T_DIR/$t.input OUT_CHECK=s_jsonl_check batch_start $t
    OUT_CHECK=s_jsonl_check batch_end $t 90
    under $t sink 64
}

for t in ${T_ONLY:-peers_that_join_and_leave_are_forgotten \
                   half_sent_frames_on_the_tasks_port half_sent_frames_on_the_control_port \
                   idle_connections_past_max_peers keep_order_results_far_ahead_are_dropped \
                   one_huge_jsonl_result_is_written_in_pieces}; do
    SINK_OPTS=() HOG=
    "test_$t"
done
t_done
