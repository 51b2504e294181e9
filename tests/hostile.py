#!/usr/bin/python3
"""hostile.py - a well-formed but hostile peer on a sluice control or tasks socket.

Used by tests/integration/43-hostile-control.sh while a real batch runs.
Unlike tests/inject.py (malformed bytes), every message here is valid
protocol 2; the attacker is simply not the batch's ventilator, or is a
worker that never lets go of its tasks.

    hostile.py ping EP                PING a random batch; report the PONG's batch
    hostile.py ping EP --batch HEX --low N
                                      PING [batch, low] from a foreign DEALER
    hostile.py begin EP --window N    BEGIN a random batch with that window
    hostile.py end EP --batch HEX --count N
    hostile.py bye|abandon EP --batch HEX
    hostile.py lost EP --batch HEX --first A --last B
    hostile.py hog EP --take N --duration S
                                      a worker on the tasks socket: CREDIT N
                                      (reset), take tasks, then send PROGRESS
                                      for them every 250 ms for S seconds
    hostile.py results EP --batch HEX --first A --last B
                                      forged RESULTS (output FORGED) on the
                                      sink's results socket

    --curve-server FILE               connect as a CURVE client with a fresh
                                      key pair (not the deployment's), to the
                                      server whose zcert public file is FILE
                                      (the attacker knows the public keys)

Each command repeats its message --repeat times (default 3), --pause S apart,
and prints one JSON line: {"sent": N, "pong_batch": hex or null or "none",
"taken": [ids]}.

Every sluice message is one MessagePack array
[0x51CE, 4, type, batch (bin 16 or nil), ...] (lib/codec.c).
"""

import argparse
import json
import os
import time

import msgpack
import zmq

from wire import (SIG, VERSION, TASKS, RESULTS, CREDIT, PROGRESS, BEGIN, END,  # noqa: F401
                  ABANDON, LOST, PING, ACK, RETRY, COMPLETE, PONG, BYE, TASKS_LEN,
                  TASKS_LIST, pack, result)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["ping", "begin", "end", "bye", "abandon", "lost", "hog",
                                        "results"])
    ap.add_argument("endpoint")
    ap.add_argument("--batch", help="batch id in hex (default: random)")
    ap.add_argument("--low", type=int, default=0)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--last", type=int, default=1)
    ap.add_argument("--take", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pause", type=float, default=0.2)
    ap.add_argument("--curve-server", help="zcert public certificate of the server")
    args = ap.parse_args()
    batch = bytes.fromhex(args.batch) if args.batch else os.urandom(16)

    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 2000)
    sock.setsockopt(zmq.SNDTIMEO, 2000)
    if args.curve_server:
        key = None
        for line in open(args.curve_server):
            line = line.strip()
            if line.startswith("public-key"):
                key = line.split("=", 1)[1].strip().strip('"').encode()
        public, secret = zmq.curve_keypair()
        sock.curve_serverkey = key
        sock.curve_publickey = public
        sock.curve_secretkey = secret
    sock.connect(args.endpoint)
    out = {"sent": 0, "pong_batch": "none", "taken": []}

    def send(obj):
        try:
            sock.send(pack(obj))
            out["sent"] += 1
        except zmq.Again:
            pass

    def read_pongs(wait):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not sock.poll(50):
                continue
            msg = msgpack.unpackb(sock.recv(), raw=False)
            if isinstance(msg, list) and len(msg) > 3 and msg[2] == PONG:
                out["pong_batch"] = msg[3].hex() if msg[3] is not None else None

    if args.command == "hog":
        send([SIG, VERSION, CREDIT, None, args.take, 1])
        deadline = time.monotonic() + args.duration
        next_progress = 0.0
        taken_batch = None
        while time.monotonic() < deadline:
            if sock.poll(50):
                msg = msgpack.unpackb(sock.recv(), raw=False)
                if isinstance(msg, list) and len(msg) == TASKS_LEN and msg[2] == TASKS:
                    taken_batch = msg[3]
                    out["taken"] += [item[0] for item in msg[TASKS_LIST]]
            if taken_batch is not None and time.monotonic() >= next_progress:
                send([SIG, VERSION, PROGRESS, taken_batch, out["taken"]])
                next_progress = time.monotonic() + 0.25
        out["sent"] = len(out["taken"])
    else:
        for _ in range(args.repeat):
            if args.command == "ping":
                send([SIG, VERSION, PING, batch, args.low])
            elif args.command == "begin":
                send([SIG, VERSION, BEGIN, batch, args.window, 0, 5])
            elif args.command == "end":
                send([SIG, VERSION, END, batch, args.count])
            elif args.command == "bye":
                send([SIG, VERSION, BYE, batch])
            elif args.command == "abandon":
                send([SIG, VERSION, ABANDON, batch])
            elif args.command == "results":
                items = [result(i, b"FORGED")
                         for i in range(args.first, args.last + 1)]
                send([SIG, VERSION, RESULTS, batch, b"attacker", items])
            elif args.command == "lost":
                items = [[i, 5, b"FORGED"] for i in range(args.first, args.last + 1)]
                send([SIG, VERSION, LOST, batch, items])
            read_pongs(args.pause)

    sock.setsockopt(zmq.LINGER, 0)
    sock.close()
    ctx.term()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
