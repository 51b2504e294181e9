#!/usr/bin/env bash
# 65-overcredit: tasks that come beyond a worker's credit are handed back
# at once (HANDBACK, protocol 5.2), not dropped to wait out their 30 s
# lease; and an idle worker with no connection to its ventilator queues no
# credit resets for the reconnect. Seen in tests/hosts vent-down-8s: the
# worker had re-announced its credit (CREDIT reset) once a second while
# the link was down; libzmq delivered the resets together after the
# reconnect, the ventilator spent the first on tasks and the second reset
# its credit again, 2 tasks came beyond the worker's room and were
# dropped, and the batch waited 26 s for their leases.
#   (a) a fake ventilator (tests/overcredit.py) sends a worker of capacity
#       3 (-j 1 --prefetch 2) one TASKS of 5: the worker hands back ids
#       4 and 5 within 1 s, runs 1-3, and says so
#   (b) the fake ventilator goes away for 3.5 s while the worker idles,
#       and comes back: the worker sends one reset (its reconnect's), not
#       one per second of the outage as well, and did not spin meanwhile
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
PEER="$T_ROOT/tests/overcredit.py"
field () { $PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$1" "$2"; }

# (a)
T=$(t_ep ta); R=$(t_ep ra)
t_start fake "$PY" "$PEER" excess "$T" "$R" --extra 2; fake=$T_LAST
t_start w "$WORKER" -v -j 1 --prefetch 2 --tasks ">$T" --results ">$R" \
    --exec 'sleep 0.1; echo {}'; w=$T_LAST
t_rc rc "$fake" 20
t_eq "(a) the fake ventilator ran to its end" "$rc" 0
t_eq "(a) the worker's credit: its capacity, 3" "$(field "$T_DIR/fake.out" credit)" 3
t_eq "(a) the 2 tasks beyond it came back in a HANDBACK" "$(field "$T_DIR/fake.out" handback)" "[4, 5]"
ms=$(field "$T_DIR/fake.out" handback_ms)
t_check "(a) ... at once (${ms} ms <= 1000), not at their lease's end" [ "$ms" -le 1000 ]
t_eq "(a) the worker ran the 3 it had room for" "$(field "$T_DIR/fake.out" results)" "[1, 2, 3]"
t_check "(a) the worker said so" \
    grep -q "2 tasks came beyond the credit granted (3 held at most): handed back to the ventilator" "$T_DIR/w.err"
kill -TERM "$w"; t_rc rc "$w" 10
t_eq "(a) the worker's exit code" "$rc" 0
t_check "(a) its summary counts them as handed back, not as malformed" \
    grep -q "2 tasks came beyond the credit granted and were handed back" "$T_DIR/w.err"
t_check "(a) ... and drops no message" grep -q "0 malformed messages dropped" "$T_DIR/w.err"

# (b)
T=$(t_ep tb); R=$(t_ep rb)
t_start fakeb "$PY" "$PEER" outage "$T" --down 3.5; fakeb=$T_LAST
t_start wb "$WORKER" -j 1 --tasks ">$T" --results ">$R" --exec 'echo {}'; wb=$T_LAST
t_rc rc "$fakeb" 20
t_eq "(b) the fake ventilator ran to its end" "$rc" 0
t_eq "(b) credit messages in the first 500 ms after the reconnect" "$(field "$T_DIR/fakeb.out" after)" 1
t_eq "(b) ... of which resets" "$(field "$T_DIR/fakeb.out" resets)" 1
# CPU (user + system) the worker used so far: idle without a connection it
# must sleep, not spin on a re-announce it may not send
cpu_ms=$(awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$wb/stat")
t_check "(b) the worker slept through the outage (${cpu_ms} ms of CPU <= 1000)" [ "$cpu_ms" -le 1000 ]
kill -TERM "$wb"; t_rc rc "$wb" 10
t_eq "(b) the worker's exit code" "$rc" 0
t_done
