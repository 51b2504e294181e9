#!/usr/bin/env bash
# 31-sink-restart: `sink -o FILE --append` SIGKILLed mid-batch (three times)
# and restarted with the same arguments. It must resume the same batch from
# FILE.sluice-state, cut bytes it wrote but never committed, and the final
# FILE must hold every result exactly once with no torn line; the ventilator
# re-sends what the dead sink never acknowledged and exits 0.
#   (a) 50,000 --echo tasks, sink SIGKILLed at 1.2 s, 2.5 s, 3.7 s
#   (b) a crash between writing results and committing them, simulated:
#       the sink is killed, results are appended to FILE by hand (as if
#       written but not yet committed), then it restarts. (b1) after an
#       earlier commit; (b2) before the batch's first commit.
. "$(dirname "$0")/../lib.sh"

N=50000
TASKS=$(t_ep tasks); RESULTS=$(t_ep results); CONTROL=$(t_ep control)
OUT="$T_DIR/results.txt"
SINK_ARGS=(--results "@$RESULTS" --control "@$CONTROL" -o "$OUT" --append)

exec 3>&2 2>/dev/null               #  no "Killed" notices
t_start sink.0 "$SINK" "${SINK_ARGS[@]}"
SINK_PID=$T_LAST
WORKERS=()
for i in 1 2; do
    t_start "w$i" "$WORKER" --echo --tasks ">$TASKS" --results ">$RESULTS"
    WORKERS+=("$T_LAST")
done
#  50,000 tasks fed 500 every 50 ms: the batch lasts ~6 s
mkfifo "$T_DIR/in"
t_start_paced gen "$T_DIR/in" "$N" 500 0.05
STARTED=$(t_now_ms)
t_start vent "$VENT" --tasks "@$TASKS" --control ">$CONTROL" --timeout 2s "$T_DIR/in"
VENT_PID=$T_LAST

KILLS=0
for at in 1200 2500 3700; do
    while [ $(( $(t_now_ms) - STARTED )) -lt "$at" ]; do sleep 0.02; done
    kill -0 "$VENT_PID" 2>/dev/null || break
    kill -KILL "$SINK_PID" && KILLS=$((KILLS + 1))
    t_wait "$SINK_PID" 5 > /dev/null
    bytes=$(stat -c %s "$OUT")
    sleep 0.3
    t_start "sink.$KILLS" "$SINK" "${SINK_ARGS[@]}"
    SINK_PID=$T_LAST
    echo "# (a) sink SIGKILLed at ${at} ms with $bytes bytes in the output; restarted" >&3
done

VRC=$(t_wait "$VENT_PID" 60)
SRC=$(t_wait "$SINK_PID" 30)
kill -TERM "${WORKERS[@]}"
for w in "${WORKERS[@]}"; do t_wait "$w" 10 > /dev/null; done
exec 2>&3 3>&-
ELAPSED=$(( $(t_now_ms) - STARTED ))
echo "# (a) ventilator: $(grep -o '[0-9]* tasks, .*' "$T_DIR/vent.err" | tail -1)"
CUTS=$(cat "$T_DIR"/sink.*.err | grep -c 'cutting')
RESUMES=$(cat "$T_DIR"/sink.*.err | grep -c 'resuming batch')
echo "# (a) $KILLS sink kills, $RESUMES resumed with results already written," \
     "$CUTS cut unacknowledged bytes; ${ELAPSED} ms"

t_eq "(a) ventilator exit code" "$VRC" 0
t_eq "(a) last sink exit code" "$SRC" 0
t_eq "(a) sink killed three times mid-batch" "$KILLS" 3
t_check "(a) restarted sinks resumed the batch" [ "$RESUMES" -ge 1 ]
t_exactly_once "(a) output file" "$OUT" "$N"
t_eq "(a) output ends with a newline" "$(tail -c 1 "$OUT" | od -An -c | tr -d ' ')" '\n'
t_eq "(a) no torn or foreign line" "$(grep -cv '^[0-9][0-9]*$' "$OUT")" 0
t_check "(a) state file kept" [ -s "$OUT.sluice-state" ]
t_eq "(a) one batch in the state file" "$(grep -c '^batch ' "$OUT.sluice-state")" 1
if [ "$VRC" != 0 ] || [ "$SRC" != 0 ]; then
    tail -n 5 "$T_DIR/vent.err" "$T_DIR"/sink.*.err
fi


#  (b) simulated crash between write and commit. 20 tasks; phase 1 lets the
#  sink adopt the batch (and, in b1, write and commit results 1..10), then
#  kills it and appends "13" and "17" (b1) or "7" and "3" (b2) to the output
#  as a dead sink would have left them; the restarted sink must cut them.
uncommitted () {
    local run=$1 first=$2 tasks results control out
    tasks=$(t_ep "$run-tasks"); results=$(t_ep "$run-results"); control=$(t_ep "$run-control")
    out="$T_DIR/$run.txt"
    local sargs=(--results "@$results" --control "@$control" -o "$out" --append -q)
    local wargs=(--tasks ">$tasks" --results ">$results" -q)
    exec 3>&2 2>/dev/null
    t_start "$run-sink.0" "$SINK" "${sargs[@]}"
    local sink=$T_LAST worker=
    if [ "$first" -gt 0 ]; then
        #  tasks 1..first finish at once, the others hang
        t_start "$run-w0" "$WORKER" -j 20 "${wargs[@]}" \
            --exec 'if [ {} -le '"$first"' ]; then echo {}; else sleep 30; fi'
        worker=$T_LAST
    fi
    seq 20 > "$T_DIR/$run.in"
    t_start "$run-vent" "$VENT" --tasks "@$tasks" --control ">$control" --timeout 1s \
        --max-attempts 100 "$T_DIR/$run.in"
    local vent=$T_LAST
    t_until 10 grep -q '^end 20' "$out.sluice-state"
    if [ "$first" -gt 0 ]; then
        t_until 10 t_lines_ge "$out" "$first"
        sleep 0.3               #  the commit follows the write at once
    fi
    kill -KILL "$sink"; t_wait "$sink" 5 > /dev/null
    [ -n "$worker" ] && { kill -KILL "$worker"; t_wait "$worker" 5 > /dev/null; }
    local state_before
    state_before=$(tr '\n' ';' < "$out.sluice-state")
    if [ "$first" -gt 0 ]; then
        printf '13\n17\n' >> "$out"
    else
        printf '7\n3\n' >> "$out"
    fi
    t_start "$run-sink.1" "$SINK" "${sargs[@]}"
    sink=$T_LAST
    sleep 1.5       #  the ventilator pings the new sink first (see (c))
    t_start "$run-w1" "$WORKER" --echo "${wargs[@]}"
    worker=$T_LAST
    local vrc src
    vrc=$(t_wait "$vent" 15)
    src=$(t_wait "$sink" 5)
    kill -TERM "$worker"; t_wait "$worker" 10 > /dev/null
    exec 2>&3 3>&-
    echo "# ($run) state file when killed: $state_before"
    t_eq "($run) ventilator exit code" "$vrc" 0
    t_eq "($run) sink exit code" "$src" 0
    t_exactly_once "($run) output file" "$out" 20
}
uncommitted b1 10
uncommitted b2 0

#  (c) the restarted sink receives the last results before the ventilator
#  has spoken to it (the ventilator pings once a second; here it is held
#  with SIGSTOP for that moment). The sink writes them and, knowing the
#  batch total from its state file, completes: it must still tell the
#  ventilator (acks / COMPLETE), or the ventilator waits forever.
TASKS=$(t_ep c-tasks); RESULTS=$(t_ep c-results); CONTROL=$(t_ep c-control)
OUT="$T_DIR/c.txt"
SARGS=(--results "@$RESULTS" --control "@$CONTROL" -o "$OUT" --append)
exec 3>&2 2>/dev/null
t_start c-sink.0 "$SINK" "${SARGS[@]}"
SINK_PID=$T_LAST
t_start c-w "$WORKER" -j 20 --tasks ">$TASKS" --results ">$RESULTS" \
    --exec 'if [ {} -gt 10 ]; then sleep 2; fi; echo {}'
W_PID=$T_LAST
seq 20 > "$T_DIR/c.in"
t_start c-vent "$VENT" --tasks "@$TASKS" --control ">$CONTROL" "$T_DIR/c.in"
VENT_PID=$T_LAST
t_until 10 t_lines_ge "$OUT" 10
sleep 0.3
kill -STOP "$VENT_PID"              #  silent while the sink restarts
kill -KILL "$SINK_PID"; t_wait "$SINK_PID" 5 > /dev/null
t_start c-sink.1 "$SINK" "${SARGS[@]}"
SINK_PID=$T_LAST
t_until 10 t_lines_ge "$OUT" 20                 #  results 11..20 written
sleep 0.2
kill -CONT "$VENT_PID"
VRC=$(t_wait "$VENT_PID" 10)
SRC=$(t_wait "$SINK_PID" 5)
kill -TERM "$W_PID"; t_wait "$W_PID" 10 > /dev/null
exec 2>&3 3>&-
t_eq "(c) ventilator exit code" "$VRC" 0
t_eq "(c) sink exit code" "$SRC" 0
t_exactly_once "(c) output file" "$OUT" 20
if [ "$VRC" != 0 ]; then
    echo "# (c) ventilator: $(tail -2 "$T_DIR/c-vent.err" | tr '\n' ' ')"
    echo "# (c) sink: $(tail -2 "$T_DIR/c-sink.1.err" | tr '\n' ' ')"
fi

[ -n "${T_KEEP:-}" ] && cp -r "$T_DIR" "$T_KEEP"    #  keep the evidence
t_done
