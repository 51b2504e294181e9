#!/usr/bin/env bash
# 67-ack-handover: a sink owes its ventilator every remembered ACK again
# when a new control connection takes over the ventilator's routing id.
# Seen in tests/hosts vent-down-8s (1 run in about 30, 50 tasks run
# twice): the ACK for ids 2651-2700 died with the old connection when the
# ventilator's link went down; after the heal a PING the ventilator had
# sent into the old connection arrived late, 3 ms before the new
# connection's handshake, and the sink sent its ACKs again on the old one,
# dead at the other end; no later PING came after a gap, so none went on
# the new connection, and the ventilator re-sent 2651-2700 when their
# return lease ended. tests/ackhandover.py plays the ventilator (two
# DEALERs with one routing id) and a worker against a real sink and
# asserts that the ACKs come again on the new connection.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
N=10
R=$(t_ep results); C=$(t_ep control)
field () { $PY -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$1" "$2"; }
ALL=$($PY -c "import json; print(json.dumps(list(range(1, $N + 1))))")

t_start sink "$SINK" -v -o "$T_DIR/out.txt" --results "@$R" --control "@$C"; sink=$T_LAST
t_start fake "$PY" "$T_ROOT/tests/ackhandover.py" "$C" "$R" --ids "$N"; fake=$T_LAST
t_rc rc "$fake" 30
t_eq "the fake ventilator ran to its end" "$rc" 0
t_eq "the sink wrote the $N results" "$(sort -n "$T_DIR/out.txt" | tr '\n' ' ')" "$(seq "$N" | tr '\n' ' ')"
t_eq "the sink acknowledged them on the first connection" "$(field "$T_DIR/fake.out" acked_on_a)" "$ALL"
t_eq "after the gap it sent them again on that (dead) connection" \
    "$(field "$T_DIR/fake.out" resent_on_a)" "$ALL"
t_eq "the new connection was answered (PONG)" \
    "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["pongs_on_b"] > 0)' "$T_DIR/fake.out")" True
t_eq "the ACKs came again on the new connection" "$(field "$T_DIR/fake.out" acked_on_b)" "$ALL"
kill -TERM "$sink"
t_rc rc "$sink" 10
t_done
