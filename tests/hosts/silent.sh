#!/usr/bin/env bash
# tests/hosts/silent.sh - issue 8's "silent failure" cases (item 5): each
# program must say what is wrong within about 5 s, naming the endpoint
# (README, "When something is wrong, it says so").
#
# Every case starts its programs at once (all cases run side by side, each
# on its own ports), lets them run 7 s (timeout, then SIGTERM, then SIGKILL
# 2 s later), and asserts the warning lines on their stderr (-v). Each
# assertion prints "ok - ..." or "FAIL - ..." (with the program's stderr);
# the exit status is 1 if any failed. As root, all cases run on the
# loopback of a private network namespace (slh<PID>-silent, removed on
# exit), where the "blackholed" cases drop a port with iptables; without
# root they run on this host's loopback with free ports and the blackholed
# cases are skipped (said so). About 10 s in all.
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
VENT="$ROOT/ventilator/ventilator"
WORKER="$ROOT/worker/worker"
SINK="$ROOT/sink/sink"
for b in "$VENT" "$WORKER" "$SINK"; do [ -x "$b" ] || { echo "FAIL: $b not built (make)"; exit 1; }; done
D=$(mktemp -d /tmp/sluice-silent.XXXXXX)
NS="slh$$-silent"
IN=()
PIDS=()
cleanup () {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -KILL "$p" 2> /dev/null; done
    if [ ${#IN[@]} -gt 0 ]; then
        for p in $(ip netns pids "$NS" 2> /dev/null); do kill -KILL "$p" 2> /dev/null; done
        ip netns del "$NS" 2> /dev/null
    fi
    wait 2> /dev/null
    [ -n "${H_KEEP:-}" ] || rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" = 0 ] && { ip netns del "$NS" 2> /dev/null; ip netns add "$NS" 2> /dev/null; }; then
    ip -n "$NS" link set lo up
    IN=(ip netns exec "$NS")
    BLACKHOLE=1
    echo "silent.sh: cases run on the loopback of namespace $NS"
else
    BLACKHOLE=0
    echo "silent.sh: not root (or no netns): host loopback, blackholed cases skipped"
fi
# free ports, all different (taken at once, so no two cases share one)
PORTS=($("${IN[@]}" python3 -c '
import socket
ss = [socket.socket() for _ in range(40)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))'))
NEXT=0
port () { P=${PORTS[$NEXT]}; NEXT=$((NEXT + 1)); }
seq 1 100 > "$D/in.txt"
L=127.0.0.1
BAD=no-such-host.invalid

# run NAME CMD... : in the background for 7 s; stderr to $D/NAME.err, exit
# status to $D/NAME.rc
run () {
    local name=$1; shift
    ( "${IN[@]}" timeout -k 2 7 "$@" < /dev/null > "$D/$name.out" 2> "$D/$name.err"
      echo $? > "$D/$name.rc" ) &
    PIDS+=("$!")
}
blackhole () { "${IN[@]}" iptables -A INPUT -i lo -p tcp --dport "$1" -j DROP; }

OK=0
FAILS=0
# expect NAME PROGRAM REGEX : PROGRAM's stderr has a line matching REGEX
expect () {
    if grep -Eq -- "$3" "$D/$2.err"; then
        echo "ok - $1"; OK=$((OK + 1))
    else
        echo "FAIL - $1: no line matching /$3/ in $2's stderr:"
        sed "s/^/    $2: /" "$D/$2.err"
        FAILS=$((FAILS + 1))
    fi
}
# expect_rc NAME PROGRAM CODE : PROGRAM exited with CODE
expect_rc () {
    local rc
    rc=$(cat "$D/$2.rc" 2> /dev/null)
    if [ "$rc" = "$3" ]; then
        echo "ok - $1"; OK=$((OK + 1))
    else
        echo "FAIL - $1: $2 exited ${rc:-?}, expected $3"; FAILS=$((FAILS + 1))
    fi
}

# Start every case (ports T tasks, R results, C control)
# 1. results refused: the ventilator runs, nothing listens on the sink's port
port; T1=$P; port; R1=$P; port; C1=$P
run vent1 "$VENT" -v --tasks "@tcp://$L:$T1" --control ">tcp://$L:$C1" "$D/in.txt"
run worker1 "$WORKER" -v --echo --tasks ">tcp://$L:$T1" --results ">tcp://$L:$R1"
# 2. results blackholed: SYNs to the sink's port are dropped
if [ "$BLACKHOLE" = 1 ]; then
    port; T2=$P; port; R2=$P; port; C2=$P
    blackhole "$R2"
    run vent2 "$VENT" -v --tasks "@tcp://$L:$T2" --control ">tcp://$L:$C2" "$D/in.txt"
    run worker2 "$WORKER" -v --echo --tasks ">tcp://$L:$T2" --results ">tcp://$L:$R2"
fi
# 3. results host name that does not resolve
port; T3=$P; port; C3=$P
run vent3 "$VENT" -v --tasks "@tcp://$L:$T3" --control ">tcp://$L:$C3" "$D/in.txt"
run worker3 "$WORKER" -v --echo --tasks ">tcp://$L:$T3" --results ">tcp://$BAD:5558"
# 4. the worker's --tasks points at the sink's results port (swapped endpoints)
port; T4=$P; port; R4=$P; port; C4=$P
run sink4 "$SINK" -v --results "@tcp://$L:$R4" --control "@tcp://$L:$C4"
run vent4 "$VENT" -v --tasks "@tcp://$L:$T4" --control ">tcp://$L:$C4" "$D/in.txt"
run worker4 "$WORKER" -v --echo --tasks ">tcp://$L:$R4" --results ">tcp://$L:$R4"
# 5. a ventilator (and sink) with no worker
port; T5=$P; port; R5=$P; port; C5=$P
run sink5 "$SINK" -v --results "@tcp://$L:$R5" --control "@tcp://$L:$C5"
run vent5 "$VENT" -v --tasks "@tcp://$L:$T5" --control ">tcp://$L:$C5" "$D/in.txt"
# 6. bind to a name that does not resolve
port; T6=$P; port; C6=$P; port; R6=$P; port; C6s=$P
run vent6 "$VENT" -v --tasks "@tcp://$BAD:$T6" --control ">tcp://$L:$C6" "$D/in.txt"
run sink6 "$SINK" -v --results "@tcp://$BAD:$R6" --control "@tcp://$L:$C6s"
# 7. no ventilator: its port refused (the sink is there)
port; T7=$P; port; R7=$P; port; C7=$P
run sink7 "$SINK" -v --results "@tcp://$L:$R7" --control "@tcp://$L:$C7"
run worker7 "$WORKER" -v --echo --tasks ">tcp://$L:$T7" --results ">tcp://$L:$R7"
# 8. no ventilator: its port blackholed
if [ "$BLACKHOLE" = 1 ]; then
    port; T8=$P; port; R8=$P
    blackhole "$T8"
    run worker8 "$WORKER" -v --echo --tasks ">tcp://$L:$T8" --results ">tcp://$L:$R8"
fi
# 9. the ventilator's host name does not resolve
port; R9=$P
run worker9 "$WORKER" -v --echo --tasks ">tcp://$BAD:5557" --results ">tcp://$L:$R9"

for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null; done
PIDS=()

# Assertions, case by case
expect "results refused: the worker names the sink's endpoint, refused" worker1 \
    "cannot reach the sink at >?tcp://$L:$R1 for 5 s: refused"
if [ "$BLACKHOLE" = 1 ]; then
    expect "results blackholed: the worker names the sink's endpoint, no answer" worker2 \
        "cannot reach the sink at >?tcp://$L:$R2 for 5 s: no answer"
else
    echo "skip - results blackholed (needs root)"
fi
expect "results host unresolvable: the worker says so" worker3 \
    "cannot reach the sink at >?tcp://$BAD:5558 for 5 s: cannot resolve host '$BAD'"
# without keys the ZMTP handshake succeeds (DEALER to ROUTER): the sink
# tells, and answers the CREDIT with a STORED of no range (protocol 5.4),
# so the worker tells too; with keys the worker's handshake fails and it
# says "peer ... is not a sluice ventilator (handshake failed: ...)"
expect "--tasks at the sink's results port: the sink names the mistake" sink4 \
    "tcp://$L:$R4: peer $L is not a sluice worker's results socket \(it sent CREDIT: its --tasks endpoint points here\)"
expect "--tasks at the sink's results port: the worker names the mistake" worker4 \
    "tcp://$L:$R4: peer $L is a sluice sink's results endpoint \(it answered STORED\), not a ventilator: --tasks points at the sink"
expect "--tasks at the sink's results port: the ventilator has no worker" vent4 \
    "no workers connected to tcp://$L:$T4 for 5 s \(100 tasks waiting\)"
expect "no worker: the ventilator says so, with the tasks waiting" vent5 \
    "no workers connected to tcp://$L:$T5 for 5 s \(100 tasks waiting\)"
expect "bind to an unresolvable name: the ventilator says so" vent6 \
    "cannot bind tcp://$BAD:$T6: cannot resolve host '$BAD'"
expect_rc "bind to an unresolvable name: the ventilator exits 3" vent6 3
expect "bind to an unresolvable name: the sink says so" sink6 \
    "cannot bind tcp://$BAD:$R6: cannot resolve host '$BAD'"
expect_rc "bind to an unresolvable name: the sink exits 3" sink6 3
expect "no ventilator (refused): the worker names its endpoint, refused" worker7 \
    "no ventilator at >?tcp://$L:$T7 for 5 s: refused"
if [ "$BLACKHOLE" = 1 ]; then
    expect "no ventilator (blackholed): the worker names its endpoint, no answer" worker8 \
        "no ventilator at >?tcp://$L:$T8 for 5 s: no answer"
else
    echo "skip - no ventilator (blackholed) (needs root)"
fi
expect "ventilator host unresolvable: the worker says so" worker9 \
    "no ventilator at >?tcp://$BAD:5557 for 5 s: cannot resolve host '$BAD'"

[ ${#IN[@]} -gt 0 ] && "${IN[@]}" iptables -F INPUT
echo "silent.sh: $OK ok, $FAILS failed"
[ "$FAILS" = 0 ]
