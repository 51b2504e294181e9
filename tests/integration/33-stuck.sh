#!/usr/bin/env bash
# 33-stuck: leases, progress, task timeouts and poison tasks.
#   (d1) a task running longer than its lease (--timeout 1s, 'sleep 4') is
#        not re-sent while its worker reports progress: it runs once
#   (d2) a worker SIGSTOPped (silent) holding a task: the task is re-sent
#        when its lease expires and completes on another worker
#   (d3) worker --task-timeout 1s on 'sleep 10': killed, reported failed
#        with status "timeout" (jsonl); ventilator and sink exit 1
#   (d4) a task that SIGKILLs its worker (sh -c is the worker's child, so
#        $PPID is the worker) every time: given up after --max-attempts 3
#        deliveries, reported lost; the rest of the batch completes; exit 1
. "$(dirname "$0")/../lib.sh"

# net RUN : endpoints for one run in TASKS, RESULTS, CONTROL
net () { TASKS=$(t_ep "$1-tasks"); RESULTS=$(t_ep "$1-results"); CONTROL=$(t_ep "$1-control"); }

#  (d1) lease 1 s, task 4 s, two idle workers that could take a re-send
net d1
t_start d1-sink "$SINK" --results "@$RESULTS" --control "@$CONTROL"
SINK_PID=$T_LAST
for i in 1 2; do
    t_start "d1-w$i" "$WORKER" -j 1 --tasks ">$TASKS" --results ">$RESULTS" \
        --exec 'echo run >> '"$T_DIR"'/d1.runs; sleep 4; echo {}'
    eval "W$i=\$T_LAST"
done
echo long > "$T_DIR/d1.in"
START=$(t_now_ms)
t_start d1-vent "$VENT" --tasks "@$TASKS" --control ">$CONTROL" --timeout 1s "$T_DIR/d1.in"
VRC=$(t_wait "$T_LAST" 20)
SRC=$(t_wait "$SINK_PID" 5)
echo "# (d1) 4 s task under a 1 s lease: $(wc -l < "$T_DIR/d1.runs") run(s), $(( $(t_now_ms) - START )) ms;" \
     "$(grep -o '[0-9]* re-sent' "$T_DIR/d1-vent.err")"
t_eq "(d1) ventilator exit code" "$VRC" 0
t_eq "(d1) sink exit code" "$SRC" 0
t_eq "(d1) result" "$(cat "$T_DIR/d1-sink.out")" long
t_eq "(d1) runs of the long task (progress renews the lease)" "$(wc -l < "$T_DIR/d1.runs")" 1
kill -TERM "$W1" "$W2"

#  (d2) worker A takes the task and is stopped; B joins; lease 2 s
net d2
t_start d2-sink "$SINK" --results "@$RESULTS" --control "@$CONTROL"
SINK_PID=$T_LAST
D2_CMD='echo $PPID >> '"$T_DIR"'/d2.runs; sleep 1; echo {}:$PPID'
t_start d2-a "$WORKER" -j 1 --tasks ">$TASKS" --results ">$RESULTS" --exec "$D2_CMD"
A=$T_LAST
echo task > "$T_DIR/d2.in"
START=$(t_now_ms)
t_start d2-vent "$VENT" --tasks "@$TASKS" --control ">$CONTROL" --timeout 2s "$T_DIR/d2.in"
VENT_PID=$T_LAST
t_until 10 t_lines_ge "$T_DIR/d2.runs" 1
kill -STOP "$A"
t_start d2-b "$WORKER" -j 1 --tasks ">$TASKS" --results ">$RESULTS" --exec "$D2_CMD"
B=$T_LAST
VRC=$(t_wait "$VENT_PID" 20)
SRC=$(t_wait "$SINK_PID" 5)
echo "# (d2) re-sent after the stopped worker's lease: done in $(( $(t_now_ms) - START )) ms"
t_eq "(d2) ventilator exit code" "$VRC" 0
t_eq "(d2) sink exit code" "$SRC" 0
t_eq "(d2) result came from the second worker" "$(cat "$T_DIR/d2-sink.out")" "task:$B"
t_eq "(d2) runs: stopped worker, then the second" "$(tr '\n' ' ' < "$T_DIR/d2.runs")" "$A $B "
kill -CONT "$A"; kill -TERM "$A" "$B"

#  (d3) --task-timeout 1s: 'sleep 10' is killed, the quick task succeeds
net d3
t_start d3-sink "$SINK" --results "@$RESULTS" --control "@$CONTROL" --format jsonl
SINK_PID=$T_LAST
t_start d3-w "$WORKER" -j 2 --task-timeout 1s --tasks ">$TASKS" --results ">$RESULTS" \
    --exec 'sleep {}; echo slept {}'
W=$T_LAST
printf '0\n10\n' > "$T_DIR/d3.in"
START=$(t_now_ms)
t_start d3-vent "$VENT" --tasks "@$TASKS" --control ">$CONTROL" "$T_DIR/d3.in"
VRC=$(t_wait "$T_LAST" 20)
SRC=$(t_wait "$SINK_PID" 5)
ELAPSED=$(( $(t_now_ms) - START ))
echo "# (d3) 'sleep 10' under --task-timeout 1s: batch done in $ELAPSED ms"
t_eq "(d3) ventilator exit code" "$VRC" 1
t_eq "(d3) sink exit code" "$SRC" 1
t_eq "(d3) slow task status" "$(jq -r 'select(.id == 2) | .status' "$T_DIR/d3-sink.out")" timeout
t_eq "(d3) quick task status" "$(jq -r 'select(.id == 1) | .status + " " + .output' "$T_DIR/d3-sink.out")" \
    "ok slept 0"
t_check "(d3) killed well before 10 s ($ELAPSED ms)" [ "$ELAPSED" -lt 6000 ]
t_eq "(d3) failure reported on the sink's stderr" "$(grep -c 'task 2 failed (timeout' "$T_DIR/d3-sink.err")" 1
kill -TERM "$W"

#  (d4) a poison task among 20: it kills whichever worker runs it
net d4
t_start d4-sink "$SINK" --results "@$RESULTS" --control "@$CONTROL" --format jsonl
SINK_PID=$T_LAST
D4_CMD='echo {} >> '"$T_DIR"'/d4.runs; case {} in poison) kill -9 $PPID; sleep 1;; esac; echo {}'
d4_worker () {
    t_start "d4-w$1.$2" "$WORKER" -j 2 --tasks ">$TASKS" --results ">$RESULTS" --exec "$D4_CMD"
}
WS=()
for i in 0 1 2; do d4_worker "$i" 0; WS[i]=$T_LAST; done
{ seq 1 10; echo poison; seq 11 20; } > "$T_DIR/d4.in"
t_start d4-vent "$VENT" --tasks "@$TASKS" --control ">$CONTROL" --timeout 1s \
    --max-attempts 3 "$T_DIR/d4.in"
VENT_PID=$T_LAST
RESTARTS=0
START=$(t_now_ms)
while kill -0 "$VENT_PID" 2>/dev/null && [ $(( $(t_now_ms) - START )) -lt 30000 ]; do
    for i in 0 1 2; do
        if ! kill -0 "${WS[i]}" 2>/dev/null; then
            RESTARTS=$((RESTARTS + 1))
            d4_worker "$i" "$RESTARTS"; WS[i]=$T_LAST
        fi
    done
    sleep 0.1
done
VRC=$(t_wait "$VENT_PID" 5)
SRC=$(t_wait "$SINK_PID" 5)
POISON_RUNS=$(grep -c '^poison$' "$T_DIR/d4.runs")
echo "# (d4) poison task: $POISON_RUNS runs, $RESTARTS workers restarted; ventilator:" \
     "$(grep -o '[0-9]* tasks, .*' "$T_DIR/d4-vent.err" | tail -1)"
t_eq "(d4) ventilator exit code" "$VRC" 1
t_eq "(d4) sink exit code" "$SRC" 1
t_eq "(d4) poison task runs (one per delivery)" "$POISON_RUNS" 3
t_eq "(d4) poison task reported" \
    "$(jq -r 'select(.status != "ok") | "\(.id) \(.status) \(.attempts) \(.input)"' "$T_DIR/d4-sink.out")" \
    "11 lost 3 poison"
t_eq "(d4) the other 20 tasks succeeded" \
    "$(jq -r 'select(.status == "ok") | .output' "$T_DIR/d4-sink.out" | sort -n | tr -d '\n' | md5sum)" \
    "$(seq 1 20 | tr -d '\n' | md5sum)"
t_eq "(d4) loss reported once on the sink's stderr" "$(grep -c 'task 11 failed (lost' "$T_DIR/d4-sink.err")" 1
kill -TERM "${WS[@]}" 2>/dev/null

t_done
