#!/usr/bin/env bash
# 43-hostile-control: well-formed but hostile peers (tests/hostile.py) on the
# sink's control socket and the ventilator's tasks socket, without keys, on
# loopback, each against a live 20,000-task batch. Every attack is one named
# test; each asserts the exact output set, honest exit codes, and the log
# line or count of what the attacked program ignored (docs/PROTOCOL.md,
# section 8, "Who may speak for a batch").
#   ping_for_another_batch_learns_nothing
#   ping_low_from_a_foreign_peer_deletes_nothing
#   begin_of_the_batch_from_a_foreign_peer_takes_nothing_over
#   begin_window_2_40_to_a_keep_order_sink
#   end_count_2_63_from_a_foreign_peer
#   bye_from_a_foreign_peer / abandon_from_a_foreign_peer /
#   lost_from_a_foreign_peer
#   progress_for_held_tasks_forever
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
HOSTILE=$T_ROOT/tests/hostile.py
N=20000
seq 1 "$N" > "$T_DIR/want"

# rc_of VAR PID SECS : t_wait in this shell, its answer stored in VAR
rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

# batch_start NAME [VENT OPTIONS...] : a sink (SINK_OPTS), two echo workers
# and a ventilator (-v, to log its batch id) on fresh ipc endpoints; the
# input arrives over about two seconds through a FIFO. Sets TASKS,
# CONTROL, SINK_PID, VENT_PID, W1, W2.
SINK_OPTS=()
batch_start () {
    local name=$1; shift
    TASKS=$(t_ep "$name-tasks") RESULTS=$(t_ep "$name-results") CONTROL=$(t_ep "$name-control")
    mkfifo "$T_DIR/$name.in"
    t_start "$name-pacer" awk -v n="$N" -v out="$T_DIR/$name.in" 'BEGIN {
        for (i = 1; i <= n; i++) {
            print i > out
            if (i % 500 == 0) { fflush (out); system ("sleep 0.05") }
        }
        close (out)
    }'
    t_start "$name-sink" "$SINK" "${SINK_OPTS[@]}" --results "@$RESULTS" --control "@$CONTROL"
    SINK_PID=$T_LAST
    [ -n "${BEFORE_VENT:-}" ] && $BEFORE_VENT
    t_start "$name-w1" "$WORKER" --echo --tasks ">$TASKS" --results ">$RESULTS"
    W1=$T_LAST
    t_start "$name-w2" "$WORKER" --echo --tasks ">$TASKS" --results ">$RESULTS"
    W2=$T_LAST
    t_start "$name-vent" "$VENT" -v "$@" --tasks "@$TASKS" --control ">$CONTROL" "$T_DIR/$name.in"
    VENT_PID=$T_LAST
    local i=0
    until [ -s "$T_DIR/$name-sink.out" ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i + 1)); done
    t_check "$name: the batch is running when the attack starts" test -s "$T_DIR/$name-sink.out"
}

# batch_id NAME : the ventilator's batch id, from its -v log
batch_id () { grep -o 'batch [0-9a-f]\{32\}' "$T_DIR/$1-vent.err" | head -1 | cut -d' ' -f2; }

# batch_end NAME SECS : wait for the batch; assert exits 0/0 and exact output
batch_end () {
    local name=$1 secs=$2 rc_v rc_s
    rc_of rc_v "$VENT_PID" "$secs"
    rc_of rc_s "$SINK_PID" 10
    kill -TERM "$W1" "$W2" 2>/dev/null
    t_eq "$name: ventilator exit" "$rc_v" 0
    t_eq "$name: sink exit" "$rc_s" 0
    t_same_set "$name: output set is exactly 1..$N" "$T_DIR/$name-sink.out" "$T_DIR/want"
    t_check "$name: nothing forged reached the output" \
        bash -c "! grep -q FORGED '$T_DIR/$name-sink.out'"
    for f in sink vent; do
        t_check "$name: $f: no assertion, sanitizer or crash report" \
            bash -c "! grep -qiE 'assert|AddressSanitizer|runtime error|core dumped|Segmentation' '$T_DIR/$name-$f.err'"
    done
}

# attack NAME CMD ARGS... : run hostile.py, wait for it; its JSON in NAME.attack
attack () {
    local name=$1; shift
    t_start "$name-attack" "$PY" "$HOSTILE" "$@"
    local rc
    rc_of rc "$T_LAST" 60
    cp "$T_DIR/$name-attack.out" "$T_DIR/$name.attack"
}
field () { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T_DIR/$1.attack" "$2" 2>/dev/null; }

# ignored NAME : the sink's count of control messages from other peers
ignored () {
    grep -o '[0-9]* control messages from a peer other than the ventilator ignored' \
        "$T_DIR/$1-sink.err" | cut -d' ' -f1
}

test_ping_for_another_batch_learns_nothing () {
    local t=ping_for_another_batch_learns_nothing
    batch_start $t
    attack $t ping "$CONTROL"
    t_eq "$t: the PONG to a foreign batch carries no batch id" "$(field $t pong_batch)" None
    t_check "$t: ... and not the batch's ($(batch_id $t))" test "$(batch_id $t)" != ""
    batch_end $t 60
    t_eq "$t: the sink counts the foreign PINGs" "$(ignored $t)" "$(field $t sent)"
}

test_ping_low_from_a_foreign_peer_deletes_nothing () {
    local t=ping_low_from_a_foreign_peer_deletes_nothing
    batch_start $t
    attack $t ping "$CONTROL" --batch "$(batch_id $t)" --low $((1 << 62))
    t_eq "$t: the PONG to a foreign peer carries no batch id" "$(field $t pong_batch)" None
    batch_end $t 60
    t_eq "$t: the sink counts the forged PINGs" "$(ignored $t)" "$(field $t sent)"
    t_check "$t: the sink logs them" grep -q "ignored PING from a peer other than" \
        "$T_DIR/$t-sink.err"
}

test_begin_of_the_batch_from_a_foreign_peer_takes_nothing_over () {
    local t=begin_of_the_batch_from_a_foreign_peer_takes_nothing_over
    batch_start $t
    attack $t begin "$CONTROL" --batch "$(batch_id $t)" --window 1024
    attack $t.2 ping "$CONTROL" --batch "$(batch_id $t)" --low $((1 << 62))
    t_eq "$t: the would-be ventilator gets no PONG to its BEGIN" "$(field $t pong_batch)" none
    t_eq "$t: ... and a PONG with no batch id to its PING" "$(field $t.2 pong_batch)" None
    batch_end $t 60
    t_eq "$t: the sink counts the BEGINs and PINGs" "$(ignored $t)" \
        "$(( $(field $t sent) + $(field $t.2 sent) ))"
}

s_begin_window_2_40 () {
    attack begin_window_2_40_to_a_keep_order_sink begin "$CONTROL" --window $((1 << 40)) --repeat 1
}
test_begin_window_2_40_to_a_keep_order_sink () {
    local t=begin_window_2_40_to_a_keep_order_sink
    SINK_OPTS=(-k)
    BEFORE_VENT=s_begin_window_2_40 batch_start $t
    batch_end $t 60
    t_check "$t: the sink logs the BEGIN it refused" grep -q "ignored BEGIN: window" \
        "$T_DIR/$t-sink.err"
    t_check "$t: output in input order" cmp -s "$T_DIR/$t-sink.out" "$T_DIR/want"
}

test_end_count_2_63_from_a_foreign_peer () {
    local t=end_count_2_63_from_a_foreign_peer
    batch_start $t
    attack $t end "$CONTROL" --batch "$(batch_id $t)" --count 9223372036854775808
    batch_end $t 60
    t_eq "$t: the sink counts the forged ENDs" "$(ignored $t)" "$(field $t sent)"
}

# forged NAME TYPE ARGS... : one forged batch message from a foreign DEALER
forged () {
    local t=${1}_from_a_foreign_peer type=$1; shift
    batch_start $t
    attack $t "$type" "$CONTROL" --batch "$(batch_id $t)" "$@"
    batch_end $t 60
    t_eq "$t: the sink counts the forged ${type^^}s" "$(ignored $t)" "$(field $t sent)"
    t_check "$t: the sink logs them" grep -q "ignored ${type^^} from a peer other than" \
        "$T_DIR/$t-sink.err"
}
test_bye_from_a_foreign_peer () { forged bye; }
test_abandon_from_a_foreign_peer () { forged abandon; }
test_lost_from_a_foreign_peer () { forged lost --first 15001 --last 17000; }

test_progress_for_held_tasks_forever () {
    local t=progress_for_held_tasks_forever
    batch_start $t --timeout 1s ${MAX_HELD---max-held 3s}
    attack $t hog "$TASKS" --take 50 --duration 40 &
    local hog=$!
    local start; start=$(t_now_ms)
    batch_end $t 60
    local secs=$(( ($(t_now_ms) - start) / 1000 ))
    wait $hog
    t_check "$t: the hog took tasks ($(field $t sent))" test "$(field $t sent)" -gt 0
    t_check "$t: the batch completed while the hog still held them (${secs} s < 30 s)" \
        test "$secs" -lt 30
    local over; over=$(grep -o '[0-9]* deliveries held past --max-held' "$T_DIR/$t-vent.err" | tail -1 | cut -d' ' -f1)
    t_check "$t: the ventilator re-sent the hogged tasks after --max-held (${over:-none})" \
        test "${over:-0}" -ge "$(field $t sent)"
}

for t in ${T_ONLY:-ping_for_another_batch_learns_nothing \
                   ping_low_from_a_foreign_peer_deletes_nothing \
                   begin_of_the_batch_from_a_foreign_peer_takes_nothing_over \
                   begin_window_2_40_to_a_keep_order_sink \
                   end_count_2_63_from_a_foreign_peer \
                   bye_from_a_foreign_peer abandon_from_a_foreign_peer lost_from_a_foreign_peer \
                   progress_for_held_tasks_forever}; do
    SINK_OPTS=()
    "test_$t"
done
t_done
