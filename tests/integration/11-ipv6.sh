#!/usr/bin/env bash
# IPv6 loopback endpoints work for every socket (libzmq needs ZMQ_IPV6 for
# them; sluice sets it when an endpoint names an IPv6 address).
. "$(dirname "$0")/../lib.sh"
if ! /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
    echo "ok - 11-ipv6: SKIPPED: this machine has no IPv6 loopback (::1)"
    t_done; exit
fi
p1=$(t_port); p2=$(t_port); p3=$(t_port)
t_start sink "$SINK" -q --results "@tcp://[::1]:$p2" --control "@tcp://[::1]:$p3"; sink=$T_LAST
t_start worker "$WORKER" -q --echo --tasks ">tcp://[::1]:$p1" --results ">tcp://[::1]:$p2"
seq 1 500 > "$T_DIR/in.txt"
t_eq "ventilator over ::1" "$("$VENT" -q --tasks "@tcp://[::1]:$p1" --control ">tcp://[::1]:$p3" "$T_DIR/in.txt"; echo $?)" 0
t_eq "sink over ::1" "$(t_wait "$sink" 20)" 0
t_same_set "all 500 results over ::1" "$T_DIR/sink.out" "$T_DIR/in.txt"
t_done
