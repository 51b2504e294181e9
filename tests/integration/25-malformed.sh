#!/usr/bin/env bash
# 25-malformed: tests/inject.py throws garbage at every bound socket - the
# sink's results ROUTER and control ROUTER, the ventilator's tasks ROUTER -
# while a 20,000-task batch runs; one injector also takes 5 tasks with a
# CREDIT reset and vanishes. The batch must complete exactly, exit 0, and
# each attacked program must report what it dropped. No crash.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
INJECT=$T_ROOT/tests/inject.py
N=20000

# rc_of VAR PID SECS : t_wait run in this shell (not inside $(...)), its
# answer - exit code or "timeout" - stored in VAR
rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

seq 1 "$N" > "$T_DIR/want"
tasks=$(t_ep tasks) results=$(t_ep results) control=$(t_ep control)

# the input arrives over about two seconds through a FIFO, so the batch is
# still running while the injectors work
mkfifo "$T_DIR/input"
t_start pacer awk -v n="$N" -v out="$T_DIR/input" 'BEGIN {
    for (i = 1; i <= n; i++) {
        print i > out
        if (i % 500 == 0) { fflush (out); system ("sleep 0.05") }
    }
    close (out)
}'
t_start sink "$SINK" --results "$results" --control "$control"
sink=$T_LAST
t_start worker1 "$WORKER" --echo --tasks "$tasks" --results "$results"
w1=$T_LAST
t_start worker2 "$WORKER" --echo --tasks "$tasks" --results "$results"
w2=$T_LAST
t_start vent "$VENT" --timeout 2s --tasks "$tasks" --control "$control" "$T_DIR/input"
vent=$T_LAST

# wait until results flow, then attack all three bound sockets at once
i=0
until [ -s "$T_DIR/sink.out" ] || [ $i -ge 200 ]; do sleep 0.05; i=$((i + 1)); done
t_check "the batch is running when the injectors start" test -s "$T_DIR/sink.out"
t_start inject-results "$PY" "$INJECT" results "$results" --seed 11
ir=$T_LAST
t_start inject-control "$PY" "$INJECT" control "$control" --seed 12
ic=$T_LAST
t_start inject-tasks "$PY" "$INJECT" tasks "$tasks" --seed 13 --steal 5
it=$T_LAST
for pid in "$ir" "$ic" "$it"; do rc_of rc "$pid" 30; done
lines_at_end_of_attack=$(wc -l < "$T_DIR/sink.out")

rc_of RC_V "$vent" 90
rc_of RC_S "$sink" 20
kill -TERM "$w1" "$w2" 2>/dev/null
rc_of RC_W1 "$w1" 10
rc_of RC_W2 "$w2" 10

t_check "injectors ran while the batch was incomplete ($lines_at_end_of_attack of $N written)" \
    test "$lines_at_end_of_attack" -lt "$N"
t_eq "ventilator exit" "$RC_V" 0
t_eq "sink exit" "$RC_S" 0
t_eq "workers stop cleanly (no crash)" "$RC_W1/$RC_W2" 0/0
t_same_set "output set is exactly 1..$N" "$T_DIR/sink.out" "$T_DIR/want"
t_check "no injected result reached the output" bash -c "! grep -q INJECTED '$T_DIR/sink.out'"

# the attacked programs say what they dropped, and count every injected
# message: none may be taken for a real one
sent_of () { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' "$1" 2>/dev/null; }
sent_results=$(sent_of "$T_DIR/inject-results.out")
sent_control=$(sent_of "$T_DIR/inject-control.out")
sent_tasks=$(sent_of "$T_DIR/inject-tasks.out")
t_check "sink stderr reports dropped messages" grep -q "dropped" "$T_DIR/sink.err"
sink_dropped=$(grep -o '[0-9]* malformed or foreign messages dropped' "$T_DIR/sink.err" | cut -d' ' -f1)
t_eq "sink summary: every injected message dropped (results + control)" \
    "${sink_dropped:-none}" "$((${sent_results:-0} + ${sent_control:-0}))"
t_check "ventilator stderr: dropped malformed messages from a worker" \
    grep -q "dropped malformed message from a worker" "$T_DIR/vent.err"
vent_dropped=$(grep -o '[0-9]* dropped' "$T_DIR/vent.err" | tail -1 | cut -d' ' -f1)
t_eq "ventilator summary: every injected message but the CREDIT dropped" \
    "${vent_dropped:-none}" "$((${sent_tasks:-0} - 1))"

# the tasks taken by the vanished injector were reclaimed (it disconnected
# or went silent) or re-sent after their lease, and done elsewhere
stolen=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["stolen"]))' \
    "$T_DIR/inject-tasks.out" 2>/dev/null)
resent=$(grep -o '[0-9]* re-sent' "$T_DIR/vent.err" | tail -1 | cut -d' ' -f1)
reclaimed=$(grep -o '[0-9]* reclaimed' "$T_DIR/vent.err" | tail -1 | cut -d' ' -f1)
t_eq "the injector took 5 tasks with its CREDIT reset" "${stolen:-?}" 5
t_check "the ventilator ran them again (re-sent ${resent:-?} + reclaimed ${reclaimed:-?} >= ${stolen:-?})" \
    test "$(( ${resent:-0} + ${reclaimed:-0} ))" -ge "${stolen:-1}"

for f in sink vent worker1 worker2; do
    t_check "$f: no assertion, sanitizer or crash report" \
        bash -c "! grep -qiE 'assert|AddressSanitizer|runtime error|core dumped|Segmentation' '$T_DIR/$f.err'"
done

# --- a foreign ventilator on the sink's control socket --------------------------
# Another batch's ventilator (well-formed PINGs of a batch this sink does not
# serve) talks to the sink during a whole batch. The sink may answer it, but
# its own ventilator must keep receiving acknowledgements: with the default
# 30 s lease nothing may need re-sending, and the batch must finish promptly.
tasks=$(t_ep tasks2) results=$(t_ep results2) control=$(t_ep control2)
mkfifo "$T_DIR/input2"
t_start pacer2 awk -v n="$N" -v out="$T_DIR/input2" 'BEGIN {
    for (i = 1; i <= n; i++) {
        print i > out
        if (i % 500 == 0) { fflush (out); system ("sleep 0.05") }
    }
    close (out)
}'
t_start sink2 "$SINK" --results "$results" --control "$control"
sink=$T_LAST
t_start worker2-1 "$WORKER" --echo --tasks "$tasks" --results "$results"
w1=$T_LAST
t_start foreign "$PY" "$INJECT" foreign "$control" --pause 0.02 --duration 60
foreign=$T_LAST
t_start vent2 "$VENT" --tasks "$tasks" --control "$control" "$T_DIR/input2"
vent=$T_LAST
rc_of RC_V "$vent" 20
rc_of RC_S "$sink" 10
kill -TERM "$w1" 2>/dev/null
kill -KILL "$foreign" 2>/dev/null
t_eq "foreign ventilator: batch completes within 20 s (ventilator exit)" "$RC_V" 0
t_eq "foreign ventilator: sink exit" "$RC_S" 0
t_same_set "foreign ventilator: output set is exactly 1..$N" "$T_DIR/sink2.out" "$T_DIR/want"
resent=$(grep -o '[0-9]* re-sent' "$T_DIR/vent2.err" | tail -1 | cut -d' ' -f1)
t_eq "foreign ventilator: no task re-sent (no acknowledgement lost)" "${resent:-none}" 0

t_done
