#!/usr/bin/env bash
# 60-handback: a worker's first SIGINT hands its prefetched tasks back at
# once (HANDBACK, protocol 5), so another worker runs them within about 1 s
# rather than when the stopping worker leaves or their 30 s lease ends.
#   worker A: -j 1 --prefetch 6, each task 3 s: it runs one, holds six
#   worker B: -j 12, each task 0.2 s: it takes the rest of the batch
#   SIGINT to A while its one task runs: A hands six back, B runs them at
#   once (A is still up for ~3 s, and the lease is 30 s: neither would
#   return them that soon), A's running task finishes and is written, A
#   exits 0; every task runs exactly once.
. "$(dirname "$0")/../lib.sh"
LOG="$T_DIR/starts.log"; : > "$LOG"; export LOG
lines () { [ "$(wc -l < "$LOG")" -ge "$1" ]; }
T=$(t_ep t); R=$(t_ep r); C=$(t_ep c)
seq 1 12 > "$T_DIR/in"
t_start sink "$SINK" -q --results "@$R" --control "@$C"; sink=$T_LAST
t_start vent "$VENT" --tasks "@$T" --control ">$C" "$T_DIR/in"; vent=$T_LAST
t_start a "$WORKER" -j 1 --prefetch 6 --tasks ">$T" --results ">$R" \
    --exec 'echo "{} A $(date +%s%3N)" >> "$LOG"; sleep 3.6; echo {}'; a=$T_LAST
t_until 10 lines 1
t_start b "$WORKER" -j 12 --tasks ">$T" --results ">$R" \
    --exec 'echo "{} B $(date +%s%3N)" >> "$LOG"; sleep 0.2; echo {}'; b=$T_LAST
t_until 10 lines 6
t_eq "before the SIGINT: A runs 1 task, B the 5 A does not hold" "$(grep -c ' A ' "$LOG") $(grep -c ' B ' "$LOG")" "1 5"
t0=$(t_now_ms)
kill -INT "$a"
t_rc rc "$vent" 20; ms=$(( $(t_now_ms) - t0 ))
t_eq "ventilator exit code" "$rc" 0
t_check "the batch ended with A's running task, not a lease (${ms} ms <= 6000)" [ "$ms" -le 6000 ]
t_rc rc "$sink" 10; t_eq "sink exit code" "$rc" 0
t_rc rc "$a" 10; t_eq "worker A exit code after one SIGINT" "$rc" 0
t_eq "every task ran exactly once" "$(awk '{print $1}' "$LOG" | sort -n | tr '\n' ' ')" "$(seq 1 12 | tr '\n' ' ')"
t_eq "every result written once" "$(sort -n "$T_DIR/sink.out" | tr '\n' ' ')" "$(seq 1 12 | tr '\n' ' ')"
t_eq "A ran only the task it had started" "$(grep -c ' A ' "$LOG")" 1
late=$(awk -v t0="$t0" '$2 == "B" && $3 >= t0 { n++; d = $3 - t0; if (d > max) max = d }
                        END { print n + 0, max + 0 }' "$LOG")
t_eq "B ran the 6 tasks A handed back" "${late% *}" 6
t_check "... all within about 1 s of the SIGINT (last started after ${late#* } ms <= 1000)" [ "${late#* }" -le 1000 ]
t_check "A said it handed 6 back" grep -q "stopping: 1 running tasks may finish within --grace .*, 6 queued tasks handed back" "$T_DIR/a.err"
t_check "the ventilator took them back" grep -q "is stopping: 6 tasks it had not started re-queued for other workers" "$T_DIR/vent.err"
t_check "no attempt spent: nothing re-sent or reclaimed" grep -q "12 tasks, 0 failed, 0 re-sent, 0 reclaimed, 0 lost" "$T_DIR/vent.err"
kill -TERM "$b"; t_rc rc "$b" 10; t_eq "worker B exit code on SIGTERM" "$rc" 0
t_eq "no command left" "$(pgrep -f '^sleep 3.6' | wc -l)" 0
t_done
