#!/usr/bin/python3
"""inject.py - send malformed and foreign messages to a bound sluice socket.

Used by tests/integration/25-malformed.sh while a real batch runs; the
batch must still complete exactly, and the attacked program must count
the messages as dropped.

    inject.py results EP   DEALER to a sink's results ROUTER
    inject.py control EP   DEALER to a sink's control ROUTER
    inject.py tasks EP     DEALER to a ventilator's tasks ROUTER; with
                           --steal N, also announce credit for N tasks
                           (with reset), take what arrives, and vanish
    inject.py foreign EP   DEALER to a sink's control ROUTER acting as the
                           ventilator of another batch: well-formed PINGs
                           of a foreign batch every --pause seconds for
                           --duration seconds (the sink may answer them,
                           but must keep acknowledging its own ventilator)

Options: --rounds N (repeat the garbage N times, default 3), --pause S
(seconds between rounds, default 0.1), --seed N. Prints one JSON line on
stdout: {"sent": messages sent, "stolen": [task ids taken]}.

Every sluice message is one MessagePack array
[0x51CE, 5, type, batch (bin 16 or nil), ...] (lib/codec.c).
"""

import argparse
import json
import os
import random
import sys
import time

import msgpack
import zmq

from wire import (SIG, VERSION, TASKS, RESULTS, CREDIT, PROGRESS, BEGIN, END,  # noqa: F401
                  ABANDON, LOST, PING, ACK, RETRY, COMPLETE, PONG, BYE, TASKS_LEN,
                  TASKS_LIST, pack, result)


def garbage(rng):
    """Messages no sluice program may accept, for any socket."""
    foreign = bytes(rng.randrange(256) for _ in range(16))
    msgs = [
        b"",                                            # empty frame
        bytes(rng.randrange(256) for _ in range(1)),
        bytes(rng.randrange(256) for _ in range(37)),   # random bytes
        bytes(rng.randrange(256) for _ in range(4096)),
        b"hello, sluice\n",
        pack([1, 2, 3]),                                # msgpack, wrong shape
        pack({"id": 1, "output": b"x"}),
        pack("just a string"),
        pack(None),
        pack([SIG]),                                    # too short
        pack([0xBEEF, VERSION, RESULTS, foreign, b"w", []]),      # bad signature
        pack([SIG, 1, RESULTS, foreign, b"w", []]),               # protocol 1
        pack([SIG, 2, RESULTS, foreign, b"w", []]),               # protocol 2
        pack([SIG, 3, RESULTS, foreign, b"w", []]),               # protocol 3
        pack([SIG, VERSION, 99, foreign]),                        # unknown type
        pack([SIG, VERSION, RESULTS, b"short", b"w", []]),        # bad batch id
        pack([SIG, VERSION, CREDIT, None, "five", 1]),            # wrong field type
        pack([SIG, VERSION, CREDIT, None, 5]),                    # wrong field count
        pack([SIG, VERSION, END, foreign, 10]) + b"\x00",         # trailing byte
        b"\xdd\xff\xff\xff\xff" + pack(SIG) + pack(VERSION),      # huge array claim
        b"\x95\xcd\x51\xce\x04\x02\xc4\x10" + foreign + b"\xdd\xff\xff\xff\xff",
        b"\x96\xcd\x51\xce\x04\x02\xc4\x10" + foreign             # truncated RESULTS
        + b"\xa1w\x91\x9a\x01\x01\x00\x00\x00\x01\xc6\xff\xff\xff\xf0",
        pack([SIG, VERSION, RESULTS, foreign, b"w",               # malformed item
              [[1, 1, 0, 0, 0, 10]]]),
        pack([SIG, VERSION, RESULTS, foreign, b"w",               # status out of range
              [result(1, b"INJECTED", status=77, elapsed_us=10)]]),
        bytes([0xc1]) * 8,                                        # reserved byte
        pack([[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]),
    ]
    return msgs, foreign


def results_for_unknown_batch(foreign):
    """Valid RESULTS of a batch the sink does not serve: to be dropped."""
    items = [result(i, b"INJECTED-%d" % i, elapsed_us=10) for i in range(1, 6)]
    return [pack([SIG, VERSION, RESULTS, foreign, b"intruder", items])]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("target", choices=["results", "control", "tasks", "foreign"])
    ap.add_argument("endpoint")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pause", type=float, default=0.1)
    ap.add_argument("--steal", type=int, default=0)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("INJECT_SEED", "1")))
    args = ap.parse_args()
    rng = random.Random(args.seed)

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 2000)
    sock.setsockopt(zmq.SNDTIMEO, 2000)
    sock.connect(args.endpoint)
    sent = 0
    stolen = []

    def send(frames):
        nonlocal sent
        try:
            if isinstance(frames, list):
                sock.send_multipart(frames)
            else:
                sock.send(frames)
            sent += 1
        except zmq.Again:
            print("inject: send timed out", file=sys.stderr)

    if args.target == "foreign":
        foreign = bytes(rng.randrange(256) for _ in range(16))
        deadline = time.monotonic() + args.duration
        while time.monotonic() < deadline:
            send(pack([SIG, VERSION, PING, foreign, 0]))
            while sock.poll(0):
                sock.recv()             # PONGs for the foreign batch
            time.sleep(args.pause)
        args.rounds = 0

    for _ in range(args.rounds):
        msgs, foreign = garbage(rng)
        for m in msgs:
            send(m)
        send([pack([SIG, VERSION, PING, foreign, 0]), b"second frame"])  # multi-part
        if args.target == "results":
            for m in results_for_unknown_batch(foreign):
                send(m)
        elif args.target == "control":
            # types only the sink sends, and an ACK/COMPLETE it must not take
            send(pack([SIG, VERSION, ACK, foreign, [[1, 100, 0]]]))
            send(pack([SIG, VERSION, COMPLETE, foreign, 10, 0]))
            send(pack([SIG, VERSION, PONG, None, 1, 1]))
        else:
            # messages only the ventilator or sink send
            send(pack([SIG, VERSION, TASKS, foreign, None, [[1, 1, 0, b"x"]]]))
            send(pack([SIG, VERSION, ACK, foreign, [[1, 100, 0]]]))
            send(pack([SIG, VERSION, RESULTS, foreign, b"w", []]))
        time.sleep(args.pause)

    if args.target == "tasks" and args.steal:
        # ask for N tasks (reset), take what comes within a short while, then
        # disconnect without answering: the ventilator must re-send them
        send(pack([SIG, VERSION, CREDIT, None, args.steal, 1]))
        deadline = time.monotonic() + 3.0
        while len(stolen) < args.steal and time.monotonic() < deadline:
            if not sock.poll(100):
                continue
            try:
                msg = msgpack.unpackb(sock.recv(), raw=False)
            except Exception:
                continue
            if isinstance(msg, list) and len(msg) == TASKS_LEN and msg[2] == TASKS:
                stolen += [item[0] for item in msg[TASKS_LIST]]
        sock.setsockopt(zmq.LINGER, 0)

    sock.close()
    ctx.term()
    print(json.dumps({"sent": sent, "stolen": stolen}))


if __name__ == "__main__":
    main()
