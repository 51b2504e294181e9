#!/usr/bin/python3
"""ackhandover.py - a fake ventilator and worker for
tests/integration/67-ack-handover.sh: the sink's acknowledgements after
its ventilator reconnects.

    ackhandover.py CONTROL_EP RESULTS_EP [--ids N]

Plays, against a real sink, what tests/hosts vent-down-8s once showed
(1 run in about 30): the ventilator's link is down for 8 s; the ACK the
sink sent just before is lost with the old connection; when the link
heals, a PING the ventilator had sent into that old connection arrives
late (TCP retransmission), a moment before the new connection's
handshake. The sink, after a gap, sends its remembered ACKs again - into
the old connection, which is dead at the ventilator's end. Then the new
connection takes over the ventilator's routing id. A sink that does not
send the ACKs again on the new connection leaves the ventilator holding
those tasks as unacknowledged, and it runs them again.

    1. DEALER A (routing id X) sends BEGIN; a fake worker sends RESULTS
       for ids 1..N; A reads the sink's ACKs and discards them (lost)
    2. 2.5 s of silence (the sink's gap is 2 s), then A sends PING: the
       sink sends its ACKs again, on A (also lost)
    3. DEALER B, the same routing id X, connects (A stays connected, as a
       dead peer's connection stays open at the sink) and sends a PING
       every 300 ms for 3 s: counts the ids the ACKs on B cover

Prints JSON: acked_on_a (ids of the first ACKs), resent_on_a (ids of the
ACKs after the gap, on A), acked_on_b (ids acknowledged on B), pongs_on_b.
"""

import argparse
import json
import os
import time

import zmq

from wire import SIG, VERSION, RESULTS, BEGIN, PING, ACK, PONG, decode, pack, result


def ack_ids(msg):
    ids = set()
    for first, last, _failed in msg[4]:
        ids.update(range(first, last + 1))
    return ids


def read_for(sock, secs, on_msg):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if sock.poll(20):
            msg = decode(sock.recv())
            if msg:
                on_msg(msg)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("control")
    ap.add_argument("results")
    ap.add_argument("--ids", type=int, default=10)
    args = ap.parse_args()
    ctx = zmq.Context()
    routing = b"\x80ackhandover" + os.urandom(4)
    batch = os.urandom(16)
    out = {"acked_on_a": [], "resent_on_a": [], "acked_on_b": [], "pongs_on_b": 0}

    a = ctx.socket(zmq.DEALER)
    a.setsockopt(zmq.ROUTING_ID, routing)
    a.setsockopt(zmq.LINGER, 0)
    a.setsockopt(zmq.RECONNECT_IVL, -1)     # never takes the id back from B
    a.connect(args.control)
    a.send(pack([SIG, VERSION, BEGIN, batch, 1024, 0, 5]))
    worker = ctx.socket(zmq.DEALER)
    worker.setsockopt(zmq.LINGER, 0)
    worker.connect(args.results)
    worker.send(pack([SIG, VERSION, RESULTS, batch, b"ackhandover.py",
                      [result(i, b"%d" % i) for i in range(1, args.ids + 1)]]))

    # 1. the first ACKs, lost
    acked = set()
    read_for(a, 1.0, lambda m: m[2] == ACK and acked.update(ack_ids(m)))
    out["acked_on_a"] = sorted(acked)
    # 2. a gap, then a late PING on the old connection
    time.sleep(2.5)
    resent = set()
    a.send(pack([SIG, VERSION, PING, batch, 1]))
    read_for(a, 0.5, lambda m: m[2] == ACK and resent.update(ack_ids(m)))
    out["resent_on_a"] = sorted(resent)
    # 3. the new connection, with the same routing id
    b = ctx.socket(zmq.DEALER)
    b.setsockopt(zmq.ROUTING_ID, routing)
    b.setsockopt(zmq.LINGER, 0)
    b.connect(args.control)
    on_b = set()

    def on_b_msg(m):
        if m[2] == ACK:
            on_b.update(ack_ids(m))
        elif m[2] == PONG:
            out["pongs_on_b"] += 1
    for _ in range(10):
        b.send(pack([SIG, VERSION, PING, batch, 1]))
        read_for(b, 0.3, on_b_msg)
    out["acked_on_b"] = sorted(on_b)
    for s in (a, b, worker):
        s.close()
    ctx.term()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
