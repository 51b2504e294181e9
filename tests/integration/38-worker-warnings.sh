#!/usr/bin/env bash
# 38-worker-warnings: a worker that cannot reach its peers says so, once,
# within 5 s, naming the endpoint and why (issue 8, item 5), and never
# counts as done what the sink did not store. On loopback:
#   (a) nothing listens on either port: "no ventilator at EP for 5 s" and
#       "cannot reach the sink at EP for 5 s: refused", each once in 11 s;
#       the summary says 0 results sent, 0 stored
#   (b) the results port accepts and never answers: "... no answer"
#       (a listener that accepts and reads, and says nothing)
#   (c) an unresolvable host name: "cannot resolve host 'nosuchhost.invalid'"
#   (d) a peer that speaks ZMTP as a PULL (what a protocol-1 sink binds):
#       "peer 127.0.0.1:P is not a sluice sink (handshake failed: wrong
#       socket type)"
#   (e) worker --tasks pointed at a sink's results port: the sink names the
#       peer ("is not a sluice worker's results socket"), and answers its
#       CREDIT with a STORED of no range, so the worker says it too ("is a
#       sluice sink's results endpoint"; it said nothing before)
. "$(dirname "$0")/../lib.sh"

# count FILE TEXT : lines of FILE containing TEXT
count () { grep -c -- "$2" "$1"; }

# a listener that accepts and never says a word, until killed
cat > "$T_DIR/silent.py" <<'PY'
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
PY
# a ZMTP 3.0 peer announcing itself as a PULL socket (a protocol-1 sink)
cat > "$T_DIR/pull.py" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
greeting = b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\x01" + b"\0" * 31
prop = b"\x0bSocket-Type" + (4).to_bytes(4, "big") + b"PULL"
ready = b"\x05READY" + prop
conns = []
while True:
    c, _ = s.accept(); conns.append(c)
    c.sendall(greeting + b"\x04" + bytes([len(ready)]) + ready)
PY

#  (a) refused on both sockets
P1=$(t_port); P2=$(t_port)
t_start a "$WORKER" --echo --tasks ">tcp://127.0.0.1:$P1" --results ">tcp://127.0.0.1:$P2"; A=$T_LAST
start=$(t_now_ms)
t_until 7 grep -q "cannot reach the sink" "$T_DIR/a.err"
echo "# (a) first warning after $(( $(t_now_ms) - start )) ms"
t_check "(a) no ventilator warned within 6.5 s" \
    t_until 2 grep -q "no ventilator at tcp://127.0.0.1:$P1 for 5 s" "$T_DIR/a.err"
t_check "(a) sink refused, named" grep -q "cannot reach the sink at tcp://127.0.0.1:$P2 for 5 s: refused" "$T_DIR/a.err"
sleep 5
kill -TERM "$A"; t_rc rc "$A" 10
t_eq "(a) exit code" "$rc" 0
t_eq "(a) one 'no ventilator' line in 11 s" "$(count "$T_DIR/a.err" "no ventilator")" 1
t_eq "(a) one 'cannot reach the sink' line in 11 s" "$(count "$T_DIR/a.err" "cannot reach the sink")" 1
t_check "(a) summary: results sent and stored, never done" \
    grep -q "0 tasks run, 0 results sent, 0 stored" "$T_DIR/a.err"
t_check "(a) the word 'done' is not in the summary" sh -c "! grep -q 'tasks done' '$T_DIR/a.err'"

#  (b) the sink port accepts and never answers
P3=$(t_port)
t_start silent /usr/bin/python3 "$T_DIR/silent.py" "$P3"
t_until 5 sh -c "ss -ltn | grep -q ':$P3 '"
t_start b "$WORKER" --echo --tasks ">tcp://127.0.0.1:$P1" --results ">tcp://127.0.0.1:$P3"; B=$T_LAST
t_check "(b) no answer from the sink, within 6.5 s" \
    t_until 7 grep -q "cannot reach the sink at tcp://127.0.0.1:$P3 for 5 s: no answer (connected, but no ZMTP handshake)" "$T_DIR/b.err"
grep "cannot reach" "$T_DIR/b.err" | sed 's/^/# (b) /'
kill -TERM "$B"; t_rc rc "$B" 10
t_eq "(b) exit code" "$rc" 0

#  (c) a host name that does not resolve
t_start c "$WORKER" --echo --tasks ">tcp://nosuchhost.invalid:$P1" --results ">tcp://nosuchhost.invalid:$P2"; C=$T_LAST
t_check "(c) sink host not resolved, within 6.5 s" \
    t_until 7 grep -q "cannot reach the sink at tcp://nosuchhost.invalid:$P2 for 5 s: cannot resolve host 'nosuchhost.invalid'" "$T_DIR/c.err"
t_check "(c) ventilator host not resolved" \
    t_until 1 grep -q "no ventilator at tcp://nosuchhost.invalid:$P1 for 5 s: cannot resolve host 'nosuchhost.invalid'" "$T_DIR/c.err"
kill -TERM "$C"; t_rc rc "$C" 10
t_eq "(c) exit code" "$rc" 0

#  (d) a PULL peer where the sink should be: the handshake fails
P4=$(t_port)
t_start pull /usr/bin/python3 "$T_DIR/pull.py" "$P4"
t_until 5 sh -c "ss -ltn | grep -q ':$P4 '"
t_start d "$WORKER" --echo --tasks ">tcp://127.0.0.1:$P1" --results ">tcp://127.0.0.1:$P4"; D=$T_LAST
t_check "(d) wrong peer named within 5 s" \
    t_until 5 grep -q "tcp://127.0.0.1:$P4: peer 127.0.0.1:$P4 is not a sluice sink (handshake failed: .*wrong socket type" "$T_DIR/d.err"
sleep 2
t_eq "(d) said once" "$(count "$T_DIR/d.err" "is not a sluice sink")" 1
grep "not a sluice" "$T_DIR/d.err" | sed 's/^/# (d) /'
kill -TERM "$D"; t_rc rc "$D" 10

#  (e) worker --tasks at the sink's results port
R=$(t_port); CT=$(t_port)
t_start e-sink "$SINK" --results "@tcp://127.0.0.1:$R" --control "@tcp://127.0.0.1:$CT"; ES=$T_LAST
t_start e "$WORKER" --echo --tasks ">tcp://127.0.0.1:$R" --results ">tcp://127.0.0.1:$R"; E=$T_LAST
t_check "(e) the sink names the misdirected worker within 5 s" \
    t_until 5 grep -q "tcp://127.0.0.1:$R: peer 127.0.0.1 is not a sluice worker's results socket" "$T_DIR/e-sink.err"
grep "not a sluice" "$T_DIR/e-sink.err" | sed 's/^/# (e) /'
sleep 1
t_eq "(e) said once" "$(count "$T_DIR/e-sink.err" "is not a sluice worker")" 1
t_check "(e) the worker says --tasks points at the sink" grep -q \
    "tcp://127.0.0.1:$R: peer 127.0.0.1 is a sluice sink's results endpoint (it answered STORED), not a ventilator: --tasks points at the sink" \
    "$T_DIR/e.err"
t_eq "(e) ... once" "$(count "$T_DIR/e.err" "is a sluice sink's results endpoint")" 1
kill -TERM "$E"; t_wait "$E" 10 > /dev/null
kill -TERM "$ES"; t_wait "$ES" 10 > /dev/null
t_done
