#!/usr/bin/env bash
# 13-embed-sink: a sink embedded in its own poll(2) loop (examples/embed_sink.c,
# taking each result with sluice_sink_next) collects a batch from a real
# ventilator and two real `worker --echo`, exactly as the sink binary does.
#   (a) seq 1 2000: every "id<TAB>id" line exactly once; both exit 0
#   (b) the same while one worker is SIGKILLed mid-batch: the ventilator
#       re-sends its tasks and the set is still exact
#   (c) keep-order: the lines come in id order
. "$(dirname "$0")/../lib.sh"

EMBED="$T_ROOT/examples/embed_sink"   # built by make, like every example
t_check "examples/embed_sink.c builds" [ -x "$EMBED" ]

N=2000

#  run NAME INPUT [keep-order]: embedded sink, two echo workers, a
#  ventilator reading INPUT; sets VRC, SRC and WORKERS
run () {
    local name=$1 input=$2; shift 2
    local tasks results control
    tasks=$(t_ep "$name-tasks"); results=$(t_ep "$name-results"); control=$(t_ep "$name-control")
    t_start "$name-sink" "$EMBED" "$results" "$control" "$@"
    SINK_PID=$T_LAST
    WORKERS=()
    for i in 1 2; do
        t_start "$name-w$i" "$WORKER" -q --echo --tasks ">$tasks" --results ">$results"
        WORKERS+=("$T_LAST")
    done
    t_start "$name-vent" "$VENT" -q --tasks "@$tasks" --control ">$control" --timeout 1s "$input"
    VENT_PID=$T_LAST
}

#  finish NAME: wait for the ventilator and the embedded sink, stop workers
finish () {
    t_rc VRC "$VENT_PID" 60
    t_rc SRC "$SINK_PID" 15
    kill -TERM "${WORKERS[@]}" 2>/dev/null
    for w in "${WORKERS[@]}"; do t_wait "$w" 10 > /dev/null; done
    if [ "$VRC" != 0 ] || [ "$SRC" != 0 ]; then
        tail -n 3 "$T_DIR/$1-vent.err" "$T_DIR/$1-sink.err"
    fi
}

seq "$N" | awk '{ print $1 "\t" $1 }' > "$T_DIR/want.txt"

#  (a) a plain batch
seq "$N" > "$T_DIR/a.in"
run a "$T_DIR/a.in"
finish a
t_eq "(a) ventilator exit code" "$VRC" 0
t_eq "(a) embedded sink exit code" "$SRC" 0
t_same_set "(a) every result exactly once" "$T_DIR/a-sink.out" "$T_DIR/want.txt"
t_eq "(a) no duplicate id" "$(cut -f1 "$T_DIR/a-sink.out" | sort | uniq -d | wc -l)" 0

#  (b) a worker SIGKILLed mid-batch; input paced (100 lines every 50 ms,
#  about 1 s in all) so the batch is still running when it dies
mkfifo "$T_DIR/b.in"
t_start_paced b-gen "$T_DIR/b.in" "$N" 100 0.05
run b "$T_DIR/b.in"
exec 3>&2 2>/dev/null               #  no "Killed" notice
t_until 20 t_lines_ge "$T_DIR/b-sink.out" 300
kill -KILL "${WORKERS[0]}"
t_wait "${WORKERS[0]}" 5 > /dev/null
KILLED_AT=$(wc -l < "$T_DIR/b-sink.out")
exec 2>&3 3>&-
echo "# (b) worker SIGKILLed with $KILLED_AT results taken"
finish b
t_check "(b) the worker died mid-batch" [ "$KILLED_AT" -lt "$N" ]
t_eq "(b) ventilator exit code" "$VRC" 0
t_eq "(b) embedded sink exit code" "$SRC" 0
t_same_set "(b) every result exactly once" "$T_DIR/b-sink.out" "$T_DIR/want.txt"
t_eq "(b) no duplicate id" "$(cut -f1 "$T_DIR/b-sink.out" | sort | uniq -d | wc -l)" 0

#  (c) keep-order: the same lines, in id order
run c "$T_DIR/a.in" keep-order
finish c
t_eq "(c) ventilator exit code" "$VRC" 0
t_eq "(c) embedded sink exit code" "$SRC" 0
t_check "(c) results in id order" cmp -s "$T_DIR/c-sink.out" "$T_DIR/want.txt"

t_done
