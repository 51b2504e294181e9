#!/usr/bin/env bash
# 32-journal: `ventilator --journal J FILE` SIGKILLed mid-batch and re-run
# with the same arguments. The re-run reuses the batch id recorded in J,
# skips the tasks J records as acknowledged and re-sends the rest; the sink,
# which kept running, must write every result exactly once and both it and
# the second ventilator exit 0. The second ventilator must send fewer tasks
# than the batch holds, none of those the journal records (counted by a
# fresh pair of workers).
#
# Stdin: the journal identifies tasks by position (id = record number), and
# stores neither the input names nor a checksum of them. With stdin input
# (`seq 100 | ventilator --journal J`) a re-run fed the same records in the
# same order resumes exactly as with files; a re-run fed different records
# (another stream, or a file that changed) is not detected: records at
# acknowledged positions are silently skipped and the rest is sent under the
# old batch id. Part (b) checks the first half of that on stdin.
. "$(dirname "$0")/../lib.sh"

N=20000
TASKS=$(t_ep tasks); RESULTS=$(t_ep results); CONTROL=$(t_ep control)
JOURNAL="$T_DIR/journal"
seq "$N" > "$T_DIR/input"
VARGS=(--tasks "@$TASKS" --control ">$CONTROL" --timeout 2s --journal "$JOURNAL" "$T_DIR/input")
WARGS=(--echo --tasks ">$TASKS" --results ">$RESULTS")

#  the sink writes into a FIFO read 1,000 lines per 0.1 s, so the batch
#  lasts ~2 s and the ventilator can be killed with acknowledgements behind
mkfifo "$T_DIR/fifo"
t_start drain awk -v out="$T_DIR/results" '{ print > out }
    NR % 1000 == 0 { fflush (out); system ("sleep 0.1") }' "$T_DIR/fifo"
DRAIN=$T_LAST
t_start sink "$SINK" --results "@$RESULTS" --control "@$CONTROL" -o "$T_DIR/fifo"
SINK_PID=$T_LAST
t_start w1 "$WORKER" "${WARGS[@]}"; W1=$T_LAST
t_start w2 "$WORKER" "${WARGS[@]}"; W2=$T_LAST
t_start vent1 "$VENT" "${VARGS[@]}"
VENT1=$T_LAST

t_until 20 t_lines_ge "$T_DIR/results" 6000
kill -KILL "$VENT1" "$W1" "$W2"
for p in "$VENT1" "$W1" "$W2"; do t_wait "$p" 5 > /dev/null; done
WRITTEN=$(wc -l < "$T_DIR/results")
#  ack lines carry ranges FIRST-LAST, with an f suffix when failed (lib/ledger.h)
JACKED=$(awk '$1 == "ack" { for (i = 2; i <= NF; i++) { split ($i, r, "-"); n += r[2] - r[1] + 1 } }
    END { print n + 0 }' "$JOURNAL")
echo "# first ventilator SIGKILLed with $WRITTEN results written, $JACKED acknowledged in the journal"

#  a fresh pair of workers counts what the second ventilator sends
t_start w3 "$WORKER" "${WARGS[@]}"; W3=$T_LAST
t_start w4 "$WORKER" "${WARGS[@]}"; W4=$T_LAST
t_start vent2 "$VENT" "${VARGS[@]}"
VENT2=$T_LAST
VRC=$(t_wait "$VENT2" 30)
SRC=$(t_wait "$SINK_PID" 20)
t_wait "$DRAIN" 10 > /dev/null
kill -TERM "$W3" "$W4"
t_wait "$W3" 10 > /dev/null; t_wait "$W4" 10 > /dev/null
SENT=0
for w in w3 w4; do
    n=$(grep -o '[0-9]* tasks run' "$T_DIR/$w.err" | cut -d' ' -f1)
    SENT=$((SENT + ${n:-0}))
done
RESUMED=$(grep -o 'resuming batch, [0-9]* tasks' "$T_DIR/vent2.err" | grep -o '[0-9][0-9]*')
echo "# second ventilator: resumed with ${RESUMED:-?} acknowledged, sent $SENT tasks;" \
     "$(grep -o '[0-9]* tasks, .*' "$T_DIR/vent2.err" | tail -1)"

t_eq "second ventilator exit code" "$VRC" 0
t_eq "sink exit code" "$SRC" 0
t_exactly_once "sink output" "$T_DIR/results" "$N"
t_check "first ventilator journalled acknowledgements" [ "$JACKED" -gt 0 ]
t_eq "second ventilator resumed what the journal holds" "${RESUMED:-none}" "$JACKED"
t_check "second ventilator sent fewer tasks than the batch ($SENT < $N)" [ "$SENT" -lt "$N" ]
#  it may send fewer still: results the sink wrote after the first one died
#  are acknowledged to the second on sight (or the sink says COMPLETE)
t_check "second ventilator did not re-send journalled tasks ($SENT <= $((N - JACKED)))" \
    [ "$SENT" -le $((N - JACKED)) ]
t_eq "one batch line in the journal" "$(grep -c '^batch ' "$JOURNAL")" 1
t_check "journal records completion" grep -q '^complete ' "$JOURNAL"

#  (b) stdin: the same records fed again resume the batch the same way
TASKS=$(t_ep b-tasks); RESULTS=$(t_ep b-results); CONTROL=$(t_ep b-control)
JOURNAL="$T_DIR/b-journal"
t_start b-sink "$SINK" --results "@$RESULTS" --control "@$CONTROL"
SINK_PID=$T_LAST
#  phase 1: only tasks 1..50 can finish (the others sleep), then SIGKILL
t_start b-w1 "$WORKER" -j 100 --tasks ">$TASKS" --results ">$RESULTS" \
    --exec 'if [ {} -le 50 ]; then echo {}; else sleep 30; fi'
W1=$T_LAST
#  `seq 100 | ventilator ...`, as processes t_start can track: seq writes a
#  FIFO the ventilator has as its stdin
STDIN_RUN='f=$1; shift; exec "$@" < "$f"'
mkfifo "$T_DIR/b-in" "$T_DIR/b-in2"
t_start b-gen1 sh -c 'exec seq 100 > "$0"' "$T_DIR/b-in"
GEN=$T_LAST
t_start b-vent1 sh -c "$STDIN_RUN" sh "$T_DIR/b-in" \
    "$VENT" --tasks "@$TASKS" --control ">$CONTROL" --journal "$JOURNAL"
VENT1=$T_LAST
t_until 10 t_lines_ge "$T_DIR/b-sink.out" 50
sleep 0.3
kill -KILL "$VENT1" "$W1"
for p in "$VENT1" "$W1"; do t_wait "$p" 5 > /dev/null; done
t_start b-w2 "$WORKER" --echo --tasks ">$TASKS" --results ">$RESULTS"
W2=$T_LAST
t_start b-gen2 sh -c 'exec seq 100 > "$0"' "$T_DIR/b-in2"
t_start b-vent2 sh -c "$STDIN_RUN" sh "$T_DIR/b-in2" \
    "$VENT" --tasks "@$TASKS" --control ">$CONTROL" --journal "$JOURNAL"
VENT2=$T_LAST
VRC=$(t_wait "$VENT2" 20)
SRC=$(t_wait "$SINK_PID" 10)
kill -TERM "$W2"; t_wait "$W2" 10 > /dev/null
echo "# (b) stdin: $(grep -o 'resuming batch.*' "$T_DIR/b-vent2.err")"
t_eq "(b) stdin re-run: ventilator exit code" "$VRC" 0
t_eq "(b) stdin re-run: sink exit code" "$SRC" 0
t_check "(b) stdin re-run resumed the journal's batch" grep -q 'resuming batch, 50 tasks' "$T_DIR/b-vent2.err"
t_exactly_once "(b) stdin re-run: sink output" "$T_DIR/b-sink.out" 100
t_eq "(b) tasks run by the second worker" \
    "$(grep -o '[0-9]* tasks run' "$T_DIR/b-w2.err" | cut -d' ' -f1)" 50

[ -n "${T_KEEP:-}" ] && cp -r "$T_DIR" "$T_KEEP"    #  keep the evidence
t_done
