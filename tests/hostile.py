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

    hostile.py churn EP --cycles N --procs P --duration S
                                      P processes, each over raw ZMTP: connect,
                                      handshake under a fresh random routing
                                      id, CREDIT [10, 1], close; N times each
                                      or for S seconds, whichever ends first
    hostile.py park EP --conns N --size BYTES --fraction F --duration S [--gap S]
                                      N raw ZMTP connections, each sending a
                                      frame header for BYTES and F of its
                                      body (--gap: S seconds after the header),
                                      then holding it for S seconds
    hostile.py idle EP --conns N --duration S
                                      N raw ZMTP connections that complete
                                      the handshake and say nothing
    hostile.py ahead EP --batch HEX --first A --last B --size BYTES
                                      a worker on the results socket: RESULTS
                                      for ids A..B with BYTES of output each

Each command repeats its message --repeat times (default 3), --pause S apart,
and prints one JSON line: {"sent": N, "pong_batch": hex or null or "none",
"taken": [ids]}.

Every sluice message is one MessagePack array
[0x51CE, 5, type, batch (bin 16 or nil), ...] (lib/codec.c).
"""

import argparse
import json
import os
import signal
import socket
import struct
import time

import msgpack
import zmq

from wire import (SIG, VERSION, TASKS, RESULTS, CREDIT, PROGRESS, BEGIN, END,  # noqa: F401
                  ABANDON, LOST, PING, ACK, RETRY, COMPLETE, PONG, BYE, TASKS_LEN,
                  TASKS_LIST, pack, result)


def raw_connect(endpoint):
    """A raw stream to a tcp:// or ipc:// endpoint."""
    if endpoint.startswith("ipc://"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(endpoint[6:])
    else:
        host, port = endpoint[6:].rsplit(":", 1)
        sock = socket.create_connection((host, int(port)))
    return sock


def zmtp_handshake(sock, identity=None):
    """ZMTP 3.0, NULL mechanism, as a DEALER (with that routing id, if
    given); False if the peer hung up."""
    greeting = b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\x00") \
        + b"\x00" + b"\x00" * 31
    props = b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"
    if identity:
        props += b"\x08Identity" + struct.pack(">I", len(identity)) + identity
    body = b"\x05READY" + props
    try:
        sock.sendall(greeting + b"\x04" + bytes([len(body)]) + body)
        got = b""
        sock.settimeout(5)
        while len(got) < 64:
            chunk = sock.recv(64 - len(got))
            if not chunk:
                return False
            got += chunk
        return True
    except OSError:
        return False


def raw_conns(args, out):
    """park / idle: hold N raw connections for --duration seconds."""
    conns = []
    chunk = b"\x00" * (1 << 20)
    for _ in range(args.conns):
        try:
            sock = raw_connect(args.endpoint)
        except OSError:
            out["refused"] = out.get("refused", 0) + 1
            continue
        if not zmtp_handshake(sock):
            out["refused"] = out.get("refused", 0) + 1
            sock.close()
            continue
        conns.append(sock)
        if args.command == "park":
            try:
                sock.sendall(b"\x02" + struct.pack(">Q", args.size))
                if args.gap:
                    time.sleep(args.gap)
                left = int(args.size * args.fraction)
                while left > 0:
                    n = sock.send(chunk[:min(left, len(chunk))])
                    left -= n
                out["sent"] += 1
            except OSError:
                out["cut"] = out.get("cut", 0) + 1
    out["held"] = len(conns)
    time.sleep(args.duration)
    for sock in conns:
        sock.close()


def churn(args, out):
    """churn: --procs processes, each joining and leaving as fast as it can.
    Each cycle completes the handshake (so the ventilator sees the peer),
    sends CREDIT and closes at once; the ventilator sends it tasks, finds it
    gone and must forget it. SIGTERM ends it early, still counting."""
    credit = pack([SIG, VERSION, CREDIT, None, 10, 1])
    frame = b"\x00" + bytes([len(credit)]) + credit
    deadline = time.monotonic() + args.duration
    kids = []
    for _ in range(args.procs):
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(rd)
            done = failed = 0
            stop = []
            signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
            while not stop and done < args.cycles and time.monotonic() < deadline:
                try:
                    sock = raw_connect(args.endpoint)
                    if zmtp_handshake(sock, os.urandom(16)):
                        sock.sendall(frame)
                        done += 1
                    else:
                        failed += 1
                    sock.close()
                except OSError:
                    failed += 1
            os.write(wr, json.dumps([done, failed]).encode())
            os._exit(0)
        os.close(wr)
        kids.append((pid, rd))
    signal.signal(signal.SIGTERM, lambda *_: [os.kill(pid, signal.SIGTERM) for pid, _ in kids])
    for pid, rd in kids:
        with os.fdopen(rd) as f:
            done, failed = json.loads(f.read() or "[0, 0]")
        os.waitpid(pid, 0)
        out["sent"] += done
        out["refused"] = out.get("refused", 0) + failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["ping", "begin", "end", "bye", "abandon", "lost", "hog",
                                        "results", "churn", "park", "idle", "ahead"])
    ap.add_argument("endpoint")
    ap.add_argument("--batch", help="batch id in hex (default: random)")
    ap.add_argument("--low", type=int, default=0)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--last", type=int, default=1)
    ap.add_argument("--take", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--conns", type=int, default=10)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--size", type=int, default=60 << 20)
    ap.add_argument("--fraction", type=float, default=0.98)
    ap.add_argument("--gap", type=float, default=0.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pause", type=float, default=0.2)
    ap.add_argument("--curve-server", help="zcert public certificate of the server")
    args = ap.parse_args()
    batch = bytes.fromhex(args.batch) if args.batch else os.urandom(16)

    out = {"sent": 0, "pong_batch": "none", "taken": []}
    if args.command in ("park", "idle"):
        raw_conns(args, out)
        print(json.dumps(out))
        return
    if args.command == "churn":
        churn(args, out)
        print(json.dumps(out))
        return
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
    elif args.command == "ahead":
        output = b"FORGED" + b"x" * max(0, args.size - 6)
        for _ in range(args.repeat):
            for i in range(args.first, args.last + 1):
                send([SIG, VERSION, RESULTS, batch, b"forger:1", [result(i, output)]])
            time.sleep(args.pause)
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
