#!/usr/bin/python3
"""redis_py.py - baseline benchmark: the classic redis-py list queue, one
command per task, no pipelining.  Tasks and results are msgpack [id, payload].

    redis_py.py producer PORT N SIZE   LPUSH N tasks onto the tasks list
    redis_py.py worker PORT            BRPOP a task, echo it, LPUSH the result,
                                       forever
    redis_py.py collector PORT N       BRPOP N results; print
                                       "tasks=N secs=S rate=R" (first->last)

The redis-server is 127.0.0.1:PORT, started (and flushed) by bench/run.
"""

import sys
import time

import msgpack
import redis

TASKS = "bench:tasks"
RESULTS = "bench:results"


def s_client(port):
    """Connect to the bench redis-server on loopback."""
    return redis.Redis(host="127.0.0.1", port=port)


def s_producer(port, n, size):
    """LPUSH N msgpack-packed [id, payload] tasks, one command each."""
    r = s_client(port)
    payload = b"x" * size
    for i in range(n):
        r.lpush(TASKS, msgpack.packb([i, payload]))


def s_worker(port):
    """BRPOP each task, unpack, repack [id, payload], LPUSH it, forever."""
    r = s_client(port)
    while True:
        _key, raw = r.brpop(TASKS, timeout=0)
        task_id, payload = msgpack.unpackb(raw)
        r.lpush(RESULTS, msgpack.packb([task_id, payload]))


def s_collector(port, n):
    """BRPOP and unpack N results; print the throughput line."""
    r = s_client(port)
    msgpack.unpackb(r.brpop(RESULTS, timeout=0)[1])
    first = time.monotonic()
    for _ in range(n - 1):
        msgpack.unpackb(r.brpop(RESULTS, timeout=0)[1])
    secs = time.monotonic() - first
    rate = n / secs if secs > 0 else 0.0
    print(f"tasks={n} secs={secs:.6f} rate={rate:.0f}", flush=True)


def main():
    """Dispatch on the role word in argv[1]."""
    argv = sys.argv[1:]
    try:
        if len(argv) == 4 and argv[0] == "producer":
            s_producer(int(argv[1]), int(argv[2]), int(argv[3]))
        elif len(argv) == 2 and argv[0] == "worker":
            s_worker(int(argv[1]))
        elif len(argv) == 3 and argv[0] == "collector":
            s_collector(int(argv[1]), int(argv[2]))
        else:
            sys.exit(__doc__)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
