#!/usr/bin/env bash
# tests/hosts/silent.sh - what each program prints today in issue 8's
# "silent failure" cases (item 5). Observations only, no assertions yet: the
# lead turns them into assertions once the warnings exist.
#
# Each case runs its programs for 6 s (timeout, then SIGTERM, then SIGKILL)
# and prints every line they wrote on stderr, with -v. As root, all cases run
# on the loopback of a private network namespace (slh<PID>-silent, removed
# on exit), where the "blackholed" case drops the results port with
# iptables; without root they run on this host's loopback with free ports
# and the blackholed case is skipped.
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
    rm -rf "$D"
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
    echo "silent.sh: not root (or no netns): host loopback, blackholed case skipped"
fi
port () {
    "${IN[@]}" python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
seq 1 100 > "$D/in.txt"

# run NAME CMD... : in the background for 6 s, stderr to $D/NAME.err
run () {
    local name=$1; shift
    "${IN[@]}" timeout -k 2 6 "$@" < /dev/null > "$D/$name.out" 2> "$D/$name.err" &
    PIDS+=("$!")
    NAMES+=("$name")
}
NAMES=()
finish () {
    local case=$1 p i rc; shift
    for i in "${!PIDS[@]}"; do
        wait "${PIDS[$i]}" 2> /dev/null; rc=$?
        case "$rc" in
            124) rc="still running at 6 s; exited on SIGTERM" ;;
            137) rc="still running at 6 s; did not exit within 2 s of SIGTERM, SIGKILLed" ;;
        esac
        echo "exit: $rc" > "$D/${NAMES[$i]}.rc"
    done
    PIDS=(); NAMES=()
    echo
    echo "== $case"
    for p in "$@"; do
        if [ -s "$D/$p.err" ]; then
            sed "s/^/   $p: /" "$D/$p.err"
        else
            echo "   $p: (nothing on stderr)"
        fi
        echo "   $p: [$(cat "$D/$p.rc" 2> /dev/null)]"
    done
    rm -f "$D"/*.err "$D"/*.out "$D"/*.rc
}

# 1. results endpoint refused: nothing listens on the sink's port
T=$(port); R=$(port); C=$(port)
run vent "$VENT" -v --tasks "@tcp://127.0.0.1:$T" --control ">tcp://127.0.0.1:$C" "$D/in.txt"
run worker "$WORKER" -v --echo --tasks ">tcp://127.0.0.1:$T" --results ">tcp://127.0.0.1:$R"
finish "worker, results endpoint refused (no sink on tcp://127.0.0.1:$R)" worker vent

# 2. results endpoint blackholed: SYNs to the port are dropped
if [ "$BLACKHOLE" = 1 ]; then
    T=$(port); R=$(port); C=$(port)
    "${IN[@]}" iptables -A INPUT -i lo -p tcp --dport "$R" -j DROP
    run vent "$VENT" -v --tasks "@tcp://127.0.0.1:$T" --control ">tcp://127.0.0.1:$C" "$D/in.txt"
    run worker "$WORKER" -v --echo --tasks ">tcp://127.0.0.1:$T" --results ">tcp://127.0.0.1:$R"
    finish "worker, results endpoint blackholed (iptables DROP of tcp://127.0.0.1:$R)" worker vent
    "${IN[@]}" iptables -F INPUT
fi

# 3. results host name that does not resolve
T=$(port); C=$(port)
run vent "$VENT" -v --tasks "@tcp://127.0.0.1:$T" --control ">tcp://127.0.0.1:$C" "$D/in.txt"
run worker "$WORKER" -v --echo --tasks ">tcp://127.0.0.1:$T" --results ">tcp://no-such-host.invalid:5558"
finish "worker, results host name unresolvable (no-such-host.invalid)" worker vent

# 4. worker's --tasks points at the sink's results port (swapped endpoints)
T=$(port); R=$(port); C=$(port)
run sink "$SINK" -v --results "@tcp://127.0.0.1:$R" --control "@tcp://127.0.0.1:$C"
run vent "$VENT" -v --tasks "@tcp://127.0.0.1:$T" --control ">tcp://127.0.0.1:$C" "$D/in.txt"
run worker "$WORKER" -v --echo --tasks ">tcp://127.0.0.1:$R" --results ">tcp://127.0.0.1:$R"
finish "worker --tasks at the sink's results port" worker vent sink

# 5. a ventilator (and sink) with no worker for 6 s
T=$(port); R=$(port); C=$(port)
run sink "$SINK" -v --results "@tcp://127.0.0.1:$R" --control "@tcp://127.0.0.1:$C"
run vent "$VENT" -v --tasks "@tcp://127.0.0.1:$T" --control ">tcp://127.0.0.1:$C" "$D/in.txt"
finish "ventilator with no worker connected for 6 s" vent sink

# 6. bind to a name that does not resolve
T=$(port); C=$(port)
run vent "$VENT" -v --tasks "@tcp://no-such-host.invalid:$T" --control ">tcp://127.0.0.1:$C" "$D/in.txt"
run sink "$SINK" -v --results "@tcp://no-such-host.invalid:5558" --control "@tcp://127.0.0.1:$C"
finish "bind to an unresolvable name (ventilator --tasks, sink --results)" vent sink
exit 0
