#!/usr/bin/env bash
# 47-hostile-curve: the attacks of 43-hostile-control and forged results,
# against a batch that runs with CURVE keys (--keys), by a peer that knows the
# batch id and the servers' public keys but holds no key of the deployment
# (a fresh key pair). Each attack is one named test: the attacker gets
# nothing (no PONG, no task), nothing it sends reaches the programs (the
# sink ignores no foreign message: none arrives), every result is written
# exactly once, both exits are 0, and the refusals are counted. A last test
# runs every attack at once from a peer without any key.
#   ping_low_without_a_key            PING [batch, 2^62] on control
#   begin_without_a_key / end_without_a_key / bye_without_a_key /
#   abandon_without_a_key / lost_without_a_key
#   forged_results_without_a_key      RESULTS 1..N, output FORGED, on results
#   hog_without_a_key                 CREDIT and PROGRESS on tasks
#   every_attack_without_curve        all of them, NULL mechanism
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
HOSTILE=$T_ROOT/tests/hostile.py
N=10000
K=$T_DIR/keys
"$T_ROOT/sluice/sluice" keygen "$K" > /dev/null
seq 1 "$N" > "$T_DIR/want"

rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

# batch_start NAME : keyed sink, two keyed echo workers and a keyed
# ventilator (-v: its batch id) on loopback tcp; input paced over ~1 s
batch_start () {
    local name=$1
    TASKS=tcp://127.0.0.1:$(t_port) RESULTS=tcp://127.0.0.1:$(t_port) CONTROL=tcp://127.0.0.1:$(t_port)
    mkfifo "$T_DIR/$name.in"
    t_start "$name-pacer" awk -v n="$N" -v out="$T_DIR/$name.in" 'BEGIN {
        for (i = 1; i <= n; i++) {
            print i > out
            if (i % 500 == 0) { fflush (out); system ("sleep 0.05") }
        }
        close (out)
    }'
    t_start "$name-sink" "$SINK" --keys "$K" --results "@$RESULTS" --control "@$CONTROL"
    SINK_PID=$T_LAST
    t_start "$name-w1" "$WORKER" --keys "$K" --echo --tasks ">$TASKS" --results ">$RESULTS"
    W1=$T_LAST
    t_start "$name-w2" "$WORKER" --keys "$K" --echo --tasks ">$TASKS" --results ">$RESULTS"
    W2=$T_LAST
    t_start "$name-vent" "$VENT" --keys "$K" -v --tasks "@$TASKS" --control ">$CONTROL" \
        "$T_DIR/$name.in"
    VENT_PID=$T_LAST
    local i=0
    until [ -s "$T_DIR/$name-sink.out" ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i + 1)); done
    t_check "$name: the batch is running when the attack starts" test -s "$T_DIR/$name-sink.out"
}
batch_id () { grep -o 'batch [0-9a-f]\{32\}' "$T_DIR/$1-vent.err" | head -1 | cut -d' ' -f2; }

batch_end () {
    local name=$1 rc_v rc_s
    rc_of rc_v "$VENT_PID" 60
    rc_of rc_s "$SINK_PID" 10
    kill -TERM "$W1" "$W2" 2>/dev/null
    t_eq "$name: ventilator exit" "$rc_v" 0
    t_eq "$name: sink exit" "$rc_s" 0
    t_same_set "$name: output set is exactly 1..$N" "$T_DIR/$name-sink.out" "$T_DIR/want"
    t_check "$name: nothing forged reached the output" \
        bash -c "! grep -q FORGED '$T_DIR/$name-sink.out'"
    t_check "$name: no foreign message reached the sink's control handling" \
        bash -c "! grep -q 'from a peer other than' '$T_DIR/$name-sink.err'"
    for f in sink vent; do
        t_check "$name: $f: no assertion, sanitizer or crash report" \
            bash -c "! grep -qiE 'assert|AddressSanitizer|runtime error|core dumped|Segmentation' '$T_DIR/$name-$f.err'"
    done
}

# attack NAME [--curve-server FILE] CMD ARGS...
attack () {
    local name=$1; shift
    t_start "$name-attack" "$PY" "$HOSTILE" "$@" --repeat 2 --pause 0.5
    local rc
    rc_of rc "$T_LAST" 60
    cp "$T_DIR/$name-attack.out" "$T_DIR/$name.attack"
}
field () { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T_DIR/$1.attack" "$2" 2>/dev/null; }
refused () { grep -o '[0-9]* connections refused' "$T_DIR/$1-$2.err" | cut -d' ' -f1; }

# control NAME TYPE ARGS... : one control attack with a fresh key pair
control () {
    local t=$1 type=$2; shift 2
    batch_start "$t"
    attack "$t" "$type" "$CONTROL" --curve-server "$K/sink.cert" --batch "$(batch_id "$t")" "$@"
    t_eq "$t: the attacker got no answer at all" "$(field "$t" pong_batch)" none
    batch_end "$t"
    t_check "$t: the sink refused and counted it ($(refused "$t" sink))" \
        test "$(refused "$t" sink)" -ge 1
    t_check "$t: the sink logged the key" \
        grep -q "refused a connection from 127.0.0.1 on the control socket: CURVE key .* is not a ventilator key" "$T_DIR/$t-sink.err"
}
test_ping_low_without_a_key () { control ping_low_without_a_key ping --low $((1 << 62)); }
test_begin_without_a_key () { control begin_without_a_key begin --window $((1 << 40)); }
test_end_without_a_key () { control end_without_a_key end --count 5; }
test_bye_without_a_key () { control bye_without_a_key bye; }
test_abandon_without_a_key () { control abandon_without_a_key abandon; }
test_lost_without_a_key () { control lost_without_a_key lost --first 1 --last "$N"; }

test_forged_results_without_a_key () {
    local t=forged_results_without_a_key
    batch_start $t
    attack $t results "$RESULTS" --curve-server "$K/sink.cert" --batch "$(batch_id $t)" \
        --first 1 --last "$N"
    batch_end $t
    t_check "$t: the sink refused and logged the key" \
        grep -q "refused a connection from 127.0.0.1 on the results socket: CURVE key .* is not a worker key" "$T_DIR/$t-sink.err"
}

test_hog_without_a_key () {
    local t=hog_without_a_key
    batch_start $t
    attack $t hog "$TASKS" --curve-server "$K/ventilator.cert" --take 50 --duration 2
    t_eq "$t: the attacker took no task" "$(field $t taken)" "[]"
    batch_end $t
    t_check "$t: the ventilator refused and counted it ($(refused $t vent))" \
        test "$(refused $t vent)" -ge 1
}

test_every_attack_without_curve () {
    local t=every_attack_without_curve b
    batch_start $t
    b=$(batch_id $t)
    attack $t.ping ping "$CONTROL" --batch "$b" --low $((1 << 62))
    attack $t.lost lost "$CONTROL" --batch "$b" --first 1 --last "$N"
    attack $t.bye bye "$CONTROL" --batch "$b"
    attack $t.results results "$RESULTS" --batch "$b" --first 1 --last "$N"
    attack $t.hog hog "$TASKS" --take 50 --duration 1
    t_eq "$t: no answer to the PING" "$(field $t.ping pong_batch)" none
    t_eq "$t: no task taken" "$(field $t.hog taken)" "[]"
    batch_end $t
}

for t in ${T_ONLY:-ping_low_without_a_key begin_without_a_key end_without_a_key \
                   bye_without_a_key abandon_without_a_key lost_without_a_key \
                   forged_results_without_a_key hog_without_a_key every_attack_without_curve}; do
    "test_$t"
done
t_done
