#!/usr/bin/python3
"""py_chain.py - baseline benchmark: the raw_chain three-hop pipeline in
pyzmq + msgpack.  Each task is msgpack [id, payload]; the worker unpacks it
and packs a result [id, payload]; the sink unpacks every result.

    py_chain.py vent ENDPOINT N SIZE    PUSH bind, send N tasks of SIZE bytes,
                                        then hold until SIGTERM/SIGINT (*)
    py_chain.py work IN_EP OUT_EP       PULL connect, PUSH connect, forever
    py_chain.py sink ENDPOINT N         PULL bind, receive N results, print
                                        "tasks=N secs=S rate=R" (first->last)

(*) as in raw_chain.c: libzmq can drop the tail of a PUSH queue at context
termination despite LINGER -1 (libzmq issue #4660), so the vent waits to be
signalled by the driver once the sink has everything.
"""

import signal
import sys
import time

import msgpack
import zmq

HWM = 1000
HOLD_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def s_socket(ctx, kind, endpoint, bind):
    """Create a socket with HWM 1000 both ways, bind or connect it."""
    sock = ctx.socket(kind)
    sock.sndhwm = HWM
    sock.rcvhwm = HWM
    sock.linger = -1
    if bind:
        sock.bind(endpoint)
    else:
        sock.connect(endpoint)
    return sock


def s_vent(ctx, endpoint, n, size):
    """Send N msgpack-packed [id, payload] tasks of SIZE payload bytes."""
    push = s_socket(ctx, zmq.PUSH, endpoint, True)
    payload = b"x" * size
    packb = msgpack.packb
    send = push.send
    for i in range(n):
        send(packb([i, payload]))
    signal.sigwait(HOLD_SIGNALS)
    push.close(linger=0)


def s_work(ctx, in_ep, out_ep):
    """Unpack each task, repack [id, payload] as the result, forever."""
    pull = s_socket(ctx, zmq.PULL, in_ep, False)
    push = s_socket(ctx, zmq.PUSH, out_ep, False)
    packb, unpackb = msgpack.packb, msgpack.unpackb
    recv, send = pull.recv, push.send
    while True:
        task_id, payload = unpackb(recv())
        send(packb([task_id, payload]))


def s_sink(ctx, endpoint, n):
    """Receive and unpack N results; print the throughput line."""
    pull = s_socket(ctx, zmq.PULL, endpoint, True)
    unpackb = msgpack.unpackb
    recv = pull.recv
    unpackb(recv())
    first = time.monotonic()
    for _ in range(n - 1):
        unpackb(recv())
    secs = time.monotonic() - first
    rate = n / secs if secs > 0 else 0.0
    print(f"tasks={n} secs={secs:.6f} rate={rate:.0f}", flush=True)
    pull.close()


def main():
    """Dispatch on the role word in argv[1]."""
    argv = sys.argv[1:]
    if argv and argv[0] == "vent":
        signal.pthread_sigmask(signal.SIG_BLOCK, HOLD_SIGNALS)
    ctx = zmq.Context()
    try:
        if len(argv) == 4 and argv[0] == "vent":
            s_vent(ctx, argv[1], int(argv[2]), int(argv[3]))
        elif len(argv) == 3 and argv[0] == "work":
            s_work(ctx, argv[1], argv[2])
        elif len(argv) == 3 and argv[0] == "sink":
            s_sink(ctx, argv[1], int(argv[2]))
        else:
            sys.exit(__doc__)
    except KeyboardInterrupt:
        pass
    ctx.term()


if __name__ == "__main__":
    main()
