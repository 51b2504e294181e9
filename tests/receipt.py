#!/usr/bin/python3
"""receipt.py - test peers for the receipt of protocol 5.1 (an empty RESULTS
a worker sends once a STORED leaves it holding nothing).

Used by tests/integration/63-receipt.sh and 64-pack.sh.

    receipt.py sink EP --expect N [--duration S]
        a sink's results ROUTER bound at EP: answers every RESULTS item with
        STORED at once, and once N results are STORED waits up to 2 s more
        for more messages. Prints JSON: the result ids, the receipts (empty
        RESULTS) and whether each was of the results' batch, and the kinds
        of the messages in arrival order ("r" results, "e" empty), and the
        ids of each RESULTS message in arrival order.

    receipt.py worker TASKS_EP RESULTS_EP [--no-receipt] [--duration S]
        a worker of protocol 5.0 or 5.1: CREDIT 4 (reset) to the ventilator
        at TASKS_EP, answers each task with its payload as output to the
        sink at RESULTS_EP, and after each STORED that leaves it holding
        nothing sends a receipt (not with --no-receipt, as a 5.0 worker).
        Stops after S seconds. Prints JSON: results sent, STOREDs read,
        receipts sent.
"""

import argparse
import json
import sys
import time

import zmq

from wire import SIG, VERSION, RESULTS, CREDIT, STORED, TASKS, TASKS_LEN, TASKS_LIST, \
    decode, pack, result


def sink(args):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 1000)
    sock.bind(args.endpoint)
    ids, kinds, receipts, batch, messages = [], [], [], None, []
    deadline = time.monotonic() + args.duration
    quiet_until = None
    while time.monotonic() < deadline:
        if quiet_until and time.monotonic() > quiet_until:
            break
        if not sock.poll(50):
            continue
        frames = sock.recv_multipart()
        msg = decode(frames[-1])
        if not msg or msg[2] != RESULTS or len(msg) != 6:
            continue
        items = msg[5]
        if not items:
            kinds.append("e")
            receipts.append(msg[3] == batch)
            continue
        kinds.append("r")
        batch = msg[3]
        ids += [item[0] for item in items]
        messages.append([item[0] for item in items])
        sock.send_multipart([frames[0], pack([SIG, VERSION, STORED, batch,
                                              [[item[0], item[0]] for item in items]])])
        if len(ids) >= args.expect and quiet_until is None:
            quiet_until = time.monotonic() + 2.0
    sock.close()
    ctx.term()
    print(json.dumps({"ids": sorted(ids), "receipts": receipts, "kinds": "".join(kinds),
                      "messages": messages}))


def worker(args):
    ctx = zmq.Context()
    tasks = ctx.socket(zmq.DEALER)
    results = ctx.socket(zmq.DEALER)
    for sock in (tasks, results):
        sock.setsockopt(zmq.LINGER, 1000)
    tasks.connect(args.tasks)
    results.connect(args.endpoint)
    tasks.send(pack([SIG, VERSION, CREDIT, None, 4, 1]))
    held = {}                   # id -> batch, until STORED
    counts = {"sent": 0, "stored": 0, "receipts": 0}
    poller = zmq.Poller()
    poller.register(tasks, zmq.POLLIN)
    poller.register(results, zmq.POLLIN)
    deadline = time.monotonic() + args.duration
    while time.monotonic() < deadline:
        for sock, _ in poller.poll(50):
            msg = decode(sock.recv())
            if not msg:
                continue
            if sock is tasks and msg[2] == TASKS and len(msg) == TASKS_LEN:
                items = [result(t[0], t[3], attempt=t[1], flags=t[2]) for t in msg[TASKS_LIST]]
                results.send(pack([SIG, VERSION, RESULTS, msg[3], b"receipt.py", items]))
                counts["sent"] += len(items)
                for t in msg[TASKS_LIST]:
                    held[t[0]] = msg[3]
                tasks.send(pack([SIG, VERSION, CREDIT, None, len(items), 0]))
            elif sock is results and msg[2] == STORED:
                counts["stored"] += 1
                before = len(held)
                for first, last in msg[4]:
                    for i in range(first, last + 1):
                        held.pop(i, None)
                if before and not held and not args.no_receipt:
                    results.send(pack([SIG, VERSION, RESULTS, msg[3], b"receipt.py", []]))
                    counts["receipts"] += 1
    tasks.close()
    results.close()
    ctx.term()
    print(json.dumps(counts))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("role", choices=["sink", "worker"])
    ap.add_argument("first")
    ap.add_argument("second", nargs="?")
    ap.add_argument("--expect", type=int, default=1)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--no-receipt", action="store_true")
    args = ap.parse_args()
    if args.role == "sink":
        args.endpoint = args.first
        sink(args)
    else:
        if not args.second:
            sys.exit("receipt.py worker TASKS_EP RESULTS_EP")
        args.tasks, args.endpoint = args.first, args.second
        worker(args)


if __name__ == "__main__":
    main()
