#!/usr/bin/env bash
# 63-receipt: the receipt of protocol 5.1. A worker that a STORED leaves
# holding nothing tells the sink with an empty RESULTS; a finished sink
# then leaves at once, where it waited 100 ms after its last STORED (a
# worker's connection that closes loses the STORED it had not read, and
# the worker would hold those results in vain). A worker of 5.0 sends
# none and is served as before.
#   (a) a real worker against a fake sink (tests/receipt.py): it sends a
#       receipt of the batch after its last result is STORED, and only
#       then (its last message is the receipt)
#   (b) a real sink and ventilator with a fake 5.1 worker: the sink takes
#       the receipt (no wait, no "no receipt" line, nothing dropped)
#   (c) the same with a fake 5.0 worker: the same output, and the sink
#       says the worker sent no receipt (it waited)
#   (d) an empty RESULTS of another batch is not counted as dropped
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
PEER="$T_ROOT/tests/receipt.py"
json () { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# (a)
T=$(t_ep ta); R=$(t_ep ra); C=$(t_ep ca)
seq 1 3 > "$T_DIR/in3"
t_start fakesink "$PY" "$PEER" sink "$R" --expect 3; fakesink=$T_LAST
t_start venta "$VENT" --tasks "@$T" --control ">$C" "$T_DIR/in3"; venta=$T_LAST
t_start worka "$WORKER" -j 1 --tasks ">$T" --results ">$R" --exec 'echo {}'; worka=$T_LAST
t_rc rc "$fakesink" 20
t_eq "(a) the fake sink ran to its end" "$rc" 0
t_eq "(a) it got each of the 3 results" "$(json "$T_DIR/fakesink.out" ids)" "[1, 2, 3]"
t_check "(a) the worker sent a receipt, of the results' batch" \
    grep -q '"receipts": \[true' "$T_DIR/fakesink.out"
t_check "(a) ... every receipt of that batch" bash -c "! grep -q false '$T_DIR/fakesink.out'"
t_check "(a) ... and its last message was a receipt" \
    grep -Eq '"kinds": "r[re]*e"' "$T_DIR/fakesink.out"
kill "$venta" "$worka" 2>/dev/null

# (b) and (c): the real sink with a fake worker
for mode in receipt no-receipt; do
    tag=${mode%%-*}
    T=$(t_ep "t$tag"); R=$(t_ep "r$tag"); C=$(t_ep "c$tag")
    seq 1 5 > "$T_DIR/in5"
    t_start "sink$tag" "$SINK" -v --results "@$R" --control "@$C"; sink=$T_LAST
    t_start "vent$tag" "$VENT" --tasks "@$T" --control ">$C" "$T_DIR/in5"; vent=$T_LAST
    args=(); [ "$mode" = no-receipt ] && args=(--no-receipt)
    t_start "fake$tag" "$PY" "$PEER" worker "$T" "$R" --duration 6 "${args[@]}"; fake=$T_LAST
    t_rc rc "$sink" 20; t_eq "($mode) sink exit code" "$rc" 0
    t_rc rc "$vent" 20; t_eq "($mode) ventilator exit code" "$rc" 0
    t_eq "($mode) every result written once" \
        "$(sort -n "$T_DIR/sink$tag.out" | tr '\n' ' ')" "1 2 3 4 5 "
    t_check "($mode) nothing dropped" grep -Eq " 5 tasks, 0 failed" "$T_DIR/sink$tag.err"
    t_check "($mode) ... no drop line" bash -c "! grep -q dropped '$T_DIR/sink$tag.err'"
    t_rc rc "$fake" 15
    if [ "$mode" = receipt ]; then
        t_check "(b) the fake 5.1 worker sent a receipt" \
            [ "$(json "$T_DIR/fake$tag.out" receipts)" -ge 1 ]
        t_check "(b) the sink had every receipt it was owed" \
            bash -c "! grep -q 'sent no receipt' '$T_DIR/sink$tag.err'"
    else
        t_eq "(c) the fake 5.0 worker sent no receipt" "$(json "$T_DIR/fake$tag.out" receipts)" 0
        t_check "(c) the sink waited for it, and said so" \
            grep -q "1 workers sent no receipt for their last STORED" "$T_DIR/sink$tag.err"
    fi
done

# (d) an empty RESULTS of a batch the sink does not serve: a receipt for
# another sink, not a malformed message
T=$(t_ep td); R=$(t_ep rd); C=$(t_ep cd)
t_start sinkd "$SINK" --results "@$R" --control "@$C"; sinkd=$T_LAST
t_start ventd "$VENT" --tasks "@$T" --control ">$C" "$T_DIR/in5"; ventd=$T_LAST
$PY -c '
import sys, time, zmq
sys.path.insert(0, sys.argv[2])
from wire import SIG, VERSION, RESULTS, pack
ctx = zmq.Context(); s = ctx.socket(zmq.DEALER); s.setsockopt(zmq.LINGER, 1000)
s.connect(sys.argv[1]); time.sleep(0.3)
for _ in range(3):
    s.send(pack([SIG, VERSION, RESULTS, bytes(range(16)), b"other", []]))
time.sleep(0.3); s.close(); ctx.term()' "$R" "$T_ROOT/tests"
t_start workd "$WORKER" -j 2 --tasks ">$T" --results ">$R" --exec 'echo {}'
t_rc rc "$sinkd" 20; t_eq "(d) sink exit code" "$rc" 0
t_eq "(d) every result written once" "$(sort -n "$T_DIR/sinkd.out" | tr '\n' ' ')" "1 2 3 4 5 "
t_check "(d) the empty RESULTS of another batch were not counted as dropped" \
    bash -c "! grep -q dropped '$T_DIR/sinkd.err'"
t_done
