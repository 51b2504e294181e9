#!/usr/bin/env bash
# 35-retries: re-runs of failed commands, graceful stop, abandoning a batch.
#   (f1) a command failing on its first run, succeeding on its second (state
#        in a file per task), --retries 1: all succeed, attempts 2, exit 0
#   (f2) the same with --retries 0: all fail, exit 1
#   (f3) a command that always fails, --retries 2: exactly 3 runs per task,
#        the final failure reported once per task on the sink's stderr
#   (f4) SIGTERM to a worker running a 2 s task: the task completes (its
#        result is written), the worker takes nothing more and exits 0
#   (f5) SIGINT to the ventilator mid-batch: the ventilator exits 4, and the
#        sink, told the batch is abandoned, exits 4
. "$(dirname "$0")/../lib.sh"

net () { TASKS=$(t_ep "$1-tasks"); RESULTS=$(t_ep "$1-results"); CONTROL=$(t_ep "$1-control"); }

# batch RUN N VENT_ARGS -- WORKER_ARGS : sink (jsonl) + 2 workers + ventilator
# over 1..N; sets VRC and SRC; results in $T_DIR/RUN-sink.out
batch () {
    local run=$1 n=$2; shift 2
    local vargs=() ws=()
    while [ "$1" != -- ]; do vargs+=("$1"); shift; done
    shift
    net "$run"
    t_start "$run-sink" "$SINK" --results "@$RESULTS" --control "@$CONTROL" --format jsonl
    local sink=$T_LAST
    for i in 1 2; do
        t_start "$run-w$i" "$WORKER" --tasks ">$TASKS" --results ">$RESULTS" "$@"
        ws+=("$T_LAST")
    done
    seq "$n" > "$T_DIR/$run.in"
    t_start "$run-vent" "$VENT" --tasks "@$TASKS" --control ">$CONTROL" "${vargs[@]}" "$T_DIR/$run.in"
    VRC=$(t_wait "$T_LAST" 30)
    SRC=$(t_wait "$sink" 5)
    kill -TERM "${ws[@]}"
    for w in "${ws[@]}"; do t_wait "$w" 10 > /dev/null; done
}
# summary RUN : "status attempts" counts of the jsonl results
summary () { jq -r '"\(.status) \(.attempts)"' "$T_DIR/$1-sink.out" | sort | uniq -c | awk '{ printf "%s ", $0 }'; }

FAIL_ONCE='f='"$T_DIR"'/$STATE.{}; if [ -e "$f" ]; then echo ok {}; else : > "$f"; echo first {}; exit 1; fi'

#  (f1)
STATE=f1 batch f1 10 --retries 1 -- -j 2 --exec "$FAIL_ONCE"
echo "# (f1) --retries 1: $(summary f1)"
t_eq "(f1) ventilator exit code" "$VRC" 0
t_eq "(f1) sink exit code" "$SRC" 0
t_eq "(f1) all ok on attempt 2" "$(summary f1)" "     10 ok 2 "
t_eq "(f1) outputs are the second runs'" \
    "$(jq -j .output "$T_DIR/f1-sink.out" | sort -k2n | tr '\n' ' ')" \
    "$(seq 10 | sed 's/^/ok /' | tr '\n' ' ')"
t_eq "(f1) no failure reported" "$(grep -c 'failed (' "$T_DIR/f1-sink.err")" 0

#  (f2)
STATE=f2 batch f2 10 --retries 0 -- -j 2 --exec "$FAIL_ONCE"
echo "# (f2) --retries 0: $(summary f2)"
t_eq "(f2) ventilator exit code" "$VRC" 1
t_eq "(f2) sink exit code" "$SRC" 1
t_eq "(f2) all failed on attempt 1" "$(summary f2)" "     10 exit 1 "
t_eq "(f2) failures reported on the sink's stderr" "$(grep -c 'failed (exit 1, attempt 1)' "$T_DIR/f2-sink.err")" 10

#  (f3)
batch f3 5 --retries 2 -- -j 2 --exec 'echo {} >> '"$T_DIR"'/f3.runs; exit 3'
RUNS=$(sort -n "$T_DIR/f3.runs" | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
echo "# (f3) always failing, --retries 2: runs per task $RUNS; $(summary f3)"
t_eq "(f3) ventilator exit code" "$VRC" 1
t_eq "(f3) sink exit code" "$SRC" 1
t_eq "(f3) runs per task" "$RUNS" "1:3 2:3 3:3 4:3 5:3 "
t_eq "(f3) results: failed on attempt 3" "$(summary f3)" "      5 exit 3 "
t_eq "(f3) final failure reported once per task" \
    "$(grep -o 'task [0-9]* failed (exit 3, attempt 3)' "$T_DIR/f3-sink.err" | sort | uniq -c | awk '{ print $1 }' | tr '\n' ' ')" \
    "1 1 1 1 1 "
t_eq "(f3) nothing else reported" "$(grep -c 'failed (' "$T_DIR/f3-sink.err")" 5

#  (f4) worker A takes 'a' (2 s), gets SIGTERM; B joins for the rest
net f4
t_start f4-sink "$SINK" --results "@$RESULTS" --control "@$CONTROL"
SINK_PID=$T_LAST
F4_CMD='echo {} $PPID >> '"$T_DIR"'/f4.runs; sleep 2; echo {}'
t_start f4-a "$WORKER" -j 1 --tasks ">$TASKS" --results ">$RESULTS" --exec "$F4_CMD"
A=$T_LAST
printf 'a\nb\nc\n' > "$T_DIR/f4.in"
t_start f4-vent "$VENT" --tasks "@$TASKS" --control ">$CONTROL" "$T_DIR/f4.in"
VENT_PID=$T_LAST
t_until 10 t_lines_ge "$T_DIR/f4.runs" 1
sleep 0.2
kill -TERM "$A"
STOPPED=$(t_now_ms)
ARC=$(t_wait "$A" 10)
A_MS=$(( $(t_now_ms) - STOPPED ))
t_start f4-b "$WORKER" -j 1 --tasks ">$TASKS" --results ">$RESULTS" --exec "$F4_CMD"
B=$T_LAST
VRC=$(t_wait "$VENT_PID" 30)
SRC=$(t_wait "$SINK_PID" 5)
kill -TERM "$B"; t_wait "$B" 10 > /dev/null
echo "# (f4) worker stopped ${A_MS} ms after SIGTERM; runs: $(awk '{ printf "%s ", $1 }' "$T_DIR/f4.runs")"
t_eq "(f4) worker exit code after SIGTERM" "$ARC" 0
t_check "(f4) it finished the task in hand first (${A_MS} ms)" [ "$A_MS" -ge 1000 ]
t_eq "(f4) tasks run by the stopped worker" "$(awk -v a="$A" '$2 == a { printf "%s ", $1 }' "$T_DIR/f4.runs")" "a "
t_eq "(f4) its result was written, once" "$(grep -cx a "$T_DIR/f4-sink.out")" 1
t_eq "(f4) every task ran once" "$(awk '{ print $1 }' "$T_DIR/f4.runs" | sort | tr '\n' ' ')" "a b c "
t_eq "(f4) ventilator exit code" "$VRC" 0
t_eq "(f4) sink exit code" "$SRC" 0

#  (f5) SIGINT to the ventilator while 40 x 0.2 s tasks run
net f5
t_start f5-sink "$SINK" --results "@$RESULTS" --control "@$CONTROL"
SINK_PID=$T_LAST
t_start f5-w "$WORKER" -j 2 --tasks ">$TASKS" --results ">$RESULTS" --exec 'sleep 0.2; echo {}'
W=$T_LAST
seq 40 > "$T_DIR/f5.in"
t_start f5-vent "$VENT" --tasks "@$TASKS" --control ">$CONTROL" "$T_DIR/f5.in"
VENT_PID=$T_LAST
t_until 10 t_lines_ge "$T_DIR/f5-sink.out" 4
kill -INT "$VENT_PID"
VRC=$(t_wait "$VENT_PID" 10)
SRC=$(t_wait "$SINK_PID" 10)
kill -TERM "$W"; WRC=$(t_wait "$W" 10)
echo "# (f5) interrupted with $(wc -l < "$T_DIR/f5-sink.out") of 40 results written"
t_eq "(f5) ventilator exit code after SIGINT" "$VRC" 4
t_eq "(f5) sink exit code (batch abandoned)" "$SRC" 4
t_check "(f5) sink says the batch was abandoned" grep -q 'abandoned' "$T_DIR/f5-sink.err"
t_check "(f5) the batch was cut short" [ "$(wc -l < "$T_DIR/f5-sink.out")" -lt 40 ]
t_eq "(f5) worker still exits 0 on SIGTERM" "$WRC" 0

t_done
