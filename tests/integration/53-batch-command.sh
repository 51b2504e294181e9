#!/usr/bin/env bash
# 53-batch-command: one batch, one command (protocol 3, TASKS carries it).
#   (a) a worker with a fixed command refuses a batch that names another:
#       both sides log it, no task runs there, and the batch completes on
#       a matching worker that joins later
#   (b) a batch nobody can run fails with exit 3 and a clear error
#   (c) a --pool worker runs the batch's command over ipc and over tcp
#       loopback
#   (d) a --pool worker refuses the command of a ventilator on another host
#       without keys: tests/hosts/run ("security"), in network namespaces
#   (e) sluice always sends its command: a worker left from an earlier job
#       (--tasks tcp://...) refuses, sluice's own worker runs the batch
#   (f) a batch of several ::: sources (argument lists, the ARGS flag):
#       a worker on "another host" started with the same command joins
#       it, and a --pool worker too; each runs its tasks with one argument
#       per source (the fixed worker reads ARGS from the batch)
. "$(dirname "$0")/../lib.sh"
S="$T_ROOT/sluice/sluice"
export TMPDIR="$T_DIR/tmp"; mkdir -p "$TMPDIR"

# run NAME VENT-OPTS... : sink + ventilator over fresh ipc endpoints, input
# seq 1 20; sets TASKS, RESULTS and the pids SINK_PID, VENT_PID
pipeline () {
    local name=$1; shift
    TASKS=$(t_ep "$name-tasks"); RESULTS=$(t_ep "$name-results")
    local control; control=$(t_ep "$name-control")
    seq 1 20 > "$T_DIR/$name.in"
    t_start "$name-sink" "$SINK" -q --results "@$RESULTS" --control "@$control"; SINK_PID=$T_LAST
    t_start "$name-vent" "$VENT" --tasks "@$TASKS" --control ">$control" "$@" "$T_DIR/$name.in"
    VENT_PID=$T_LAST
}

#  (a) refuse, then complete on a matching worker
pipeline a --exec 'echo B{}'
t_start a-old "$WORKER" --exec 'echo A{}' -j 2 --tasks ">$TASKS" --results ">$RESULTS"
old=$T_LAST
t_until 10 grep -q "refused the batch" "$T_DIR/a-vent.err"
t_check "(a) ventilator logs the refusal" grep -q "worker .* refused the batch: it runs its own fixed command" "$T_DIR/a-vent.err"
t_check "(a) worker logs the refusal" grep -q "refused batch .*: it runs --exec 'echo B{}', this worker runs --exec 'echo A{}'" "$T_DIR/a-old.err"
t_start a-new "$WORKER" --exec 'echo B{}' -j 2 --tasks ">$TASKS" --results ">$RESULTS"
new=$T_LAST
t_rc rc "$VENT_PID" 20; t_eq "(a) ventilator exit code" "$rc" 0
t_rc rc "$SINK_PID" 10; t_eq "(a) sink exit code" "$rc" 0
seq 1 20 | sed 's/^/B/' > "$T_DIR/want"
t_same_set "(a) every result once, all from the matching command" "$T_DIR/a-sink.out" "$T_DIR/want"
t_check "(a) no attempt spent on the refusal" grep -q " 0 re-sent, 0 reclaimed, 0 lost" "$T_DIR/a-vent.err"
kill -TERM "$old" "$new"; t_rc rc "$old" 10
t_check "(a) the refusing worker ran nothing" grep -q "^.* 0 tasks run" "$T_DIR/a-old.err"

#  (b) nobody can run it: exit 3 within about 5 s
pipeline b --exec 'echo B{}'
t_start b-old "$WORKER" --exec 'echo A{}' --tasks ">$TASKS" --results ">$RESULTS"; old=$T_LAST
t_rc rc "$VENT_PID" 15; t_eq "(b) ventilator fails with exit 3" "$rc" 3
t_check "(b) and says why" grep -q "no worker can run this batch" "$T_DIR/b-vent.err"
t_rc rc "$SINK_PID" 10; t_eq "(b) sink: abandoned" "$rc" 4
t_check "(b) the worker dropped the batch and stays up" grep -q "dropped batch" "$T_DIR/b-old.err"
kill -0 "$old"; t_eq "(b) worker still running" "$?" 0
kill -TERM "$old"

#  (c) a pool worker runs the batch's command, over ipc ...
pipeline c --exec 'echo P{}'
t_start c-pool "$WORKER" --pool -j 2 --tasks ">$TASKS" --results ">$RESULTS"; pool=$T_LAST
t_rc rc "$VENT_PID" 20; t_eq "(c) ipc: ventilator exit code" "$rc" 0
t_rc rc "$SINK_PID" 10
seq 1 20 | sed 's/^/P/' > "$T_DIR/want"
t_same_set "(c) ipc: the batch's command ran" "$T_DIR/c-sink.out" "$T_DIR/want"
#  ... then the next batch, another command, on the same pool worker, over tcp loopback
P=$(t_port); control=$(t_ep c2-control)
t_start c2-sink "$SINK" -q --results "@$RESULTS.2" --control "@$control"; sk=$T_LAST
t_start c2-pool "$WORKER" --pool -j 2 --tasks ">tcp://127.0.0.1:$P" --results ">$RESULTS.2"; pool2=$T_LAST
seq 1 5 | "$VENT" -q --pipe --exec 'sed s/^/Q/' --tasks "@tcp://127.0.0.1:$P" --control ">$control"
t_eq "(c) tcp loopback, --pipe: ventilator exit code" "$?" 0
t_rc rc "$sk" 10
t_eq "(c) tcp loopback: the batch's command ran" "$(sort -V "$T_DIR/c2-sink.out" | tr '\n' ' ')" "Q1 Q2 Q3 Q4 Q5 "
kill -TERM "$pool" "$pool2"

#  (d) a --pool worker and a ventilator on another host without keys: in
#  tests/hosts/run (network namespaces), its "security" scenarios
#  (e) sluice sends its command: a leftover worker refuses, sluice's runs it
P1=$(t_port); P2=$(t_port); while [ "$P2" = "$P1" ]; do P2=$(t_port); done
t_start e-old "$WORKER" --exec 'echo OLD{}' -j 4 \
    --tasks "tcp://127.0.0.1:$P1" --results "tcp://127.0.0.1:$P2"; old=$T_LAST
seq 1 30 | "$S" -j 2 --tasks "tcp://127.0.0.1:$P1" --results "tcp://127.0.0.1:$P2" \
    'sleep 0.02; echo new{}' > "$T_DIR/e.out" 2> "$T_DIR/e.err"
t_eq "(e) sluice exit code" "$?" 0
seq 1 30 | sed 's/^/new/' > "$T_DIR/want"
t_same_set "(e) no output of the old command" "$T_DIR/e.out" "$T_DIR/want"
t_check "(e) sluice logs the refusal" grep -q "refused the batch" "$T_DIR/e.err"
kill -TERM "$old"

#  (f) several sources: other workers join, one argument per source
for kind in fixed pool; do
    P1=$(t_port); P2=$(t_port); while [ "$P2" = "$P1" ]; do P2=$(t_port); done
    #  a fixed command is checked when its worker starts, where {2} needs
    #  --colsep: it takes the appended form, the pool the batch's {2} {1}
    if [ $kind = fixed ]; then cmd="$T_DIR/args.sh"; else cmd="$T_DIR/args.sh {2} {1}"; fi
    if [ $kind = fixed ]; then how=(--exec "$cmd"); else how=(--pool); fi
    printf '#!/bin/sh\nsleep 0.05; printf "%%s|" "$@"; echo\n' > "$T_DIR/args.sh"; chmod +x "$T_DIR/args.sh"
    t_start "f-$kind" "$WORKER" "${how[@]}" -j 3 \
        --tasks ">tcp://127.0.0.1:$P1" --results ">tcp://127.0.0.1:$P2"; other=$T_LAST
    "$S" -q -j 1 --tasks "tcp://127.0.0.1:$P1" --results "tcp://127.0.0.1:$P2" \
        "$cmd" ::: 'a b' c d e f g ::: 1 '2 3' > "$T_DIR/f.out" 2> "$T_DIR/f.err"
    t_eq "(f) $kind worker: sluice exit code" "$?" 0
    for x in 'a b' c d e f g; do for y in 1 '2 3'; do
        if [ $kind = fixed ]; then echo "$x|$y|"; else echo "$y|$x|"; fi
    done; done > "$T_DIR/want"
    t_same_set "(f) $kind worker: one argument per source, every task once" "$T_DIR/f.out" "$T_DIR/want"
    kill -TERM "$other"; t_rc rc "$other" 10
    ran=$(grep -o '[0-9]* tasks run' "$T_DIR/f-$kind.err" | cut -d' ' -f1)
    t_check "(f) $kind worker: it ran some of them ($ran of 12)" [ "${ran:-0}" -ge 1 ]
done
t_done
