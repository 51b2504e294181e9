#!/usr/bin/python3
"""rawloop.py - the floor of a credit loop: raw libzmq, no sluice.

    rawloop.py vent ENDPOINT N WORKERS     hand out N tasks, print the time
    rawloop.py worker ENDPOINT DEPTH JOBS MS

The ventilator (ROUTER) sends a task to a worker for each credit it holds;
a worker (DEALER) grants DEPTH credits at the start and one more with each
result, and "runs" up to JOBS tasks at once, each for MS ms (a timer, no
process). Results and credit go back on the one connection, so this loop
is shorter than sluice's (no sink, no ACK, no CURVE): under the injector it
is a lower bound for a pipeline that holds DEPTH tasks per worker, which is
what --exec with a fixed --prefetch does (DEPTH = --jobs + --prefetch).
The ventilator prints "elapsed_ms=T" from the first credit to the last
result, then tells the workers to stop.
"""
import sys
import time

import zmq


def vent(endpoint, n, workers):
    ctx = zmq.Context()
    s = ctx.socket(zmq.ROUTER)
    s.bind(endpoint)
    credit, peers = {}, set()
    sent = done = 0
    t0 = None
    while done < n:
        ident, msg = s.recv_multipart()
        if t0 is None:
            t0 = time.time()
        peers.add(ident)
        kind, count = msg.split(b" ")
        if kind == b"done":
            done += 1
        credit[ident] = credit.get(ident, 0) + int(count)
        while sent < n and credit[ident] > 0:
            sent += 1
            credit[ident] -= 1
            s.send_multipart([ident, b"%d" % sent])
    print("elapsed_ms=%d" % ((time.time() - t0) * 1000))
    for p in peers:
        s.send_multipart([p, b"end"])
    time.sleep(0.5)
    s.close(linger=500)
    ctx.term()


def worker(endpoint, depth, jobs, ms):
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.connect(endpoint)
    s.send(b"credit %d" % depth)
    queue, running = [], []
    while True:
        now = time.time()
        while running and running[0] <= now:
            running.pop(0)
            s.send(b"done 1")
        while queue and len(running) < jobs:
            queue.pop(0)
            running.append(now + ms / 1000.0)
            running.sort()
        timeout = max(0, (running[0] - time.time()) * 1000) if running else 1000
        if s.poll(timeout):
            msg = s.recv()
            if msg == b"end":
                break
            queue.append(msg)
    s.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    if sys.argv[1] == "vent":
        vent(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
