#!/usr/bin/env bash
# A sink that is down for longer than --max-attempts leases must not make
# tasks "lost": while the sink is silent nothing can be acknowledged, so the
# ventilator renews leases instead of spending attempts. The sink comes back
# (--append) and every result is written exactly once, none reported lost.
. "$(dirname "$0")/../lib.sh"
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
OUT="$T_DIR/out.txt"
seq 1 2000 > "$T_DIR/in.txt"
t_start sink1 "$SINK" -q -o "$OUT" --append --results "@$R" --control "@$C"; sink=$T_LAST
t_start worker "$WORKER" -q -j 4 --exec 'sleep 0.01; echo {}' --tasks ">$T" --results ">$R"; worker=$T_LAST
t_start vent "$VENT" --timeout 1s --max-attempts 2 --tasks "@$T" --control ">$C" "$T_DIR/in.txt"; vent=$T_LAST
t_until 20 t_lines_ge "$OUT" 200
kill -KILL "$sink"; t_wait "$sink" 5 > /dev/null
sleep 6                                  #  the outage: 6 leases of 1 s, 3x max-attempts
t_start sink2 "$SINK" -q -o "$OUT" --append --results "@$R" --control "@$C"; sink=$T_LAST
t_eq "ventilator exit after the outage" "$(t_wait "$vent" 60)" 0
t_eq "sink exit after the outage" "$(t_wait "$sink" 30)" 0
t_exactly_once "output after a 6 s sink outage" "$OUT" 2000
t_check "no task reported lost" grep -q " 0 lost" "$T_DIR/vent.err"
t_check "the ventilator said the sink was gone" grep -q "sink not responding" "$T_DIR/vent.err"
kill -TERM "$worker"; t_wait "$worker" 10 > /dev/null
t_done
