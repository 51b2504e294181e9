#!/usr/bin/env bash
# 64-pack: a worker --exec packs the results of quick commands into few
# RESULTS messages (each message is a RESULTS, a STORED and an ACK), and
# never holds a result back for a command that is still running long.
#   (a) 400 quick commands at -j 2 against a fake sink (tests/receipt.py):
#       every result exactly once, in at most 240 messages (the worker
#       before packing sent 336 here, this one 43)
#   (b) a 0.2 s command beside a 3 s one: the quick one's result comes in
#       a message of its own, before the slow one's
#   (c) the same 400 commands through the real sink: every line once
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
PEER="$T_ROOT/tests/receipt.py"
json () { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# (a)
T=$(t_ep ta); R=$(t_ep ra); C=$(t_ep ca)
seq 1 400 > "$T_DIR/in400"
t_start fakesink "$PY" "$PEER" sink "$R" --expect 400 --duration 60; fakesink=$T_LAST
t_start venta "$VENT" --tasks "@$T" --control ">$C" "$T_DIR/in400"; venta=$T_LAST
t_start worka "$WORKER" -j 2 --tasks ">$T" --results ">$R" --exec 'echo {}'; worka=$T_LAST
t_rc rc "$fakesink" 90
t_eq "(a) the fake sink ran to its end" "$rc" 0
t_eq "(a) every result exactly once" \
    "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["ids"] == list(range(1, 401)))' \
        "$T_DIR/fakesink.out")" True
n=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["messages"]))' \
        "$T_DIR/fakesink.out")
t_check "(a) 400 results came in at most 240 RESULTS messages (got $n)" [ "$n" -le 240 ]
kill "$venta" "$worka" 2>/dev/null

# (b)
T=$(t_ep tb); R=$(t_ep rb); C=$(t_ep cb)
printf '0.2\n3\n' > "$T_DIR/in2"
t_start fakeb "$PY" "$PEER" sink "$R" --expect 2 --duration 30; fakeb=$T_LAST
t_start ventb "$VENT" --tasks "@$T" --control ">$C" "$T_DIR/in2"; ventb=$T_LAST
t_start workb "$WORKER" -j 2 --tasks ">$T" --results ">$R" --exec 'sleep {}; echo {}'
workb=$T_LAST
t_rc rc "$fakeb" 40
t_eq "(b) the fake sink ran to its end" "$rc" 0
t_eq "(b) the quick result alone, then the slow one" "$(json "$T_DIR/fakeb.out" messages)" \
    "[[1], [2]]"
kill "$ventb" "$workb" 2>/dev/null

# (c)
T=$(t_ep tc); R=$(t_ep rc); C=$(t_ep cc)
t_start sinkc "$SINK" --results "@$R" --control "@$C"; sinkc=$T_LAST
t_start ventc "$VENT" --tasks "@$T" --control ">$C" "$T_DIR/in400"; ventc=$T_LAST
t_start workc "$WORKER" -j 2 --tasks ">$T" --results ">$R" --exec 'echo {}'; workc=$T_LAST
t_rc rc "$sinkc" 60; t_eq "(c) sink exit code" "$rc" 0
t_rc rc "$ventc" 20; t_eq "(c) ventilator exit code" "$rc" 0
t_same_set "(c) every line once" "$T_DIR/sinkc.out" "$T_DIR/in400"
kill "$workc" 2>/dev/null
t_done
