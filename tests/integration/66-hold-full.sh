#!/usr/bin/env bash
# 66-hold-full: a worker whose results cannot reach the sink sleeps. With
# the sink stopped (SIGSTOP) the worker's results hold fills and its
# credit policy declines every grant, the idle re-announce (CREDIT reset)
# included; before this test the re-announce stayed due, the service
# timeout was 0 and the worker spun at 100 % CPU until the sink came back
# (measured: 3,010 ms of CPU in 3 s). Asserts that it settles (a 2 s
# window using at most 400 ms of CPU within 30 s of the stop), and that
# after SIGCONT the batch completes exactly once with exit codes 0.
. "$(dirname "$0")/../lib.sh"
N=100000
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
OUT="$T_DIR/out.txt"
HZ=$(getconf CLK_TCK)
# cpu_ms PID : CPU (user + system) PID used so far
cpu_ms () { awk -v hz="$HZ" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"; }

t_start sink "$SINK" -q -o "$OUT" --results "@$R" --control "@$C"; sink=$T_LAST
t_start worker "$WORKER" --echo --tasks ">$T" --results ">$R"; worker=$T_LAST
t_until 10 [ -S "${R#ipc://}" ]
kill -STOP "$sink"
seq 1 "$N" > "$T_DIR/in.txt"
t_start vent "$VENT" --tasks "@$T" --control ">$C" "$T_DIR/in.txt"; vent=$T_LAST

# settled: some 2 s window within 30 s used at most 400 ms of CPU
settled=no least=
for _ in $(seq 15); do
    a=$(cpu_ms "$worker"); sleep 2; b=$(cpu_ms "$worker")
    used=$((b - a))
    [ -z "$least" ] || [ "$used" -lt "$least" ] && least=$used
    if [ "$used" -le 400 ]; then settled=yes; break; fi
done
echo "# the worker's least CPU in a 2 s window with the sink stopped: $least ms"
t_eq "the worker sleeps while its results cannot go (least CPU in 2 s: $least ms <= 400)" "$settled" yes
kill -CONT "$sink"
t_rc rc "$vent" 120
t_eq "ventilator exit code after the sink resumed" "$rc" 0
t_rc rc "$sink" 30
t_eq "sink exit code after it resumed" "$rc" 0
t_exactly_once "output" "$OUT" "$N"
kill -TERM "$worker"
t_rc rc "$worker" 15
t_eq "worker exit code" "$rc" 0
t_done
