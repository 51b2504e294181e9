#!/usr/bin/python3
"""overcredit.py - a fake ventilator for tests/integration/65-overcredit.sh.

    overcredit.py excess TASKS_EP RESULTS_EP --extra K [--duration S]
        binds a ROUTER at TASKS_EP (and one at RESULTS_EP that answers
        every result with STORED), waits for a worker's first CREDIT, and
        sends it one TASKS message of credit + K tasks, ids 1..credit+K,
        each task's payload its id. Records HANDBACK ids and when they came
        (ms after the send), and the ids of the results. Prints JSON.

    overcredit.py outage TASKS_EP --down S [--duration S]
        binds a ROUTER at TASKS_EP, waits for a worker's first CREDIT,
        closes the socket for S seconds (the worker idles with no
        connection to its ventilator), binds again, and counts the CREDIT
        messages that come in the first 500 ms after the new connection,
        and how many of them are resets. Prints JSON.

Every sluice message is one MessagePack array
[0x51CE, 5, type, batch (bin 16 or nil), ...] (docs/PROTOCOL.md).
"""

import argparse
import json
import os
import time

import zmq

from wire import SIG, VERSION, TASKS, RESULTS, CREDIT, HANDBACK, STORED, decode, pack


def first_credit(sock, deadline):
    """The routing id and CREDIT fields of the first CREDIT to arrive."""
    while time.monotonic() < deadline:
        if not sock.poll(50):
            continue
        frames = sock.recv_multipart()
        msg = decode(frames[-1])
        if msg and msg[2] == CREDIT and len(msg) == 6:
            return frames[0], msg[4], msg[5]
    return None, 0, 0


def excess(args):
    ctx = zmq.Context()
    tasks = ctx.socket(zmq.ROUTER)
    tasks.setsockopt(zmq.LINGER, 0)
    tasks.bind(args.tasks)
    results = ctx.socket(zmq.ROUTER)
    results.setsockopt(zmq.LINGER, 0)
    results.bind(args.results)
    deadline = time.monotonic() + args.duration
    routing, credit, reset = first_credit(tasks, deadline)
    out = {"credit": credit, "reset": reset, "handback": [], "handback_ms": None,
           "results": []}
    if routing is None:
        print(json.dumps(out))
        return 1
    batch = os.urandom(16)
    n = credit + args.extra
    items = [[i, 1, 0, str(i).encode()] for i in range(1, n + 1)]
    tasks.send_multipart([routing, pack([SIG, VERSION, TASKS, batch, None, items])])
    sent = time.monotonic()
    poller = zmq.Poller()
    poller.register(tasks, zmq.POLLIN)
    poller.register(results, zmq.POLLIN)
    while time.monotonic() < deadline and len(out["results"]) < credit:
        for sock, _ in poller.poll(50):
            frames = sock.recv_multipart()
            msg = decode(frames[-1])
            if not msg:
                continue
            if sock is tasks and msg[2] == HANDBACK and msg[3] == batch:
                out["handback"] += msg[4]
                if out["handback_ms"] is None:
                    out["handback_ms"] = round((time.monotonic() - sent) * 1000)
            if sock is results and msg[2] == RESULTS and msg[3] == batch:
                ids = [item[0] for item in msg[5]]
                out["results"] += ids
                ranges = [[i, i] for i in ids]
                results.send_multipart([frames[0], pack([SIG, VERSION, STORED, batch, ranges])])
    out["results"].sort()
    print(json.dumps(out))
    return 0


def outage(args):
    ctx = zmq.Context()
    deadline = time.monotonic() + args.duration
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(args.tasks)
    routing, credit, reset = first_credit(sock, deadline)
    out = {"first": [credit, reset], "after": 0, "resets": 0}
    sock.close()
    time.sleep(args.down)
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(args.tasks)
    end = None
    while time.monotonic() < deadline and (end is None or time.monotonic() < end):
        if not sock.poll(20):
            continue
        msg = decode(sock.recv_multipart()[-1])
        if end is None:
            end = time.monotonic() + 0.5
        if msg and msg[2] == CREDIT and len(msg) == 6 and (msg[4] or msg[5]):
            out["after"] += 1
            out["resets"] += 1 if msg[5] else 0
    print(json.dumps(out))
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["excess", "outage"])
    parser.add_argument("tasks")
    parser.add_argument("results", nargs="?")
    parser.add_argument("--extra", type=int, default=2)
    parser.add_argument("--down", type=float, default=3.5)
    parser.add_argument("--duration", type=float, default=15)
    args = parser.parse_args()
    return excess(args) if args.mode == "excess" else outage(args)


if __name__ == "__main__":
    raise SystemExit(main())
