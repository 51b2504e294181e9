#!/usr/bin/env python3
"""async_worker.py - a sluice worker on asyncio's own event loop

It upper-cases each task's payload. The loop watches the worker's file
descriptor with add_reader and schedules the next service with call_later;
nothing blocks, so the same loop could serve anything else beside it.

Run: async_worker.py TASKS-ENDPOINT RESULTS-ENDPOINT [JOBS]
Prints "served N" on stderr when stopped by SIGTERM or SIGINT.
"""

import asyncio
import signal
import sys

import sluice


async def serve(worker):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    wake = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(worker.fileno(), wake.set)
    served = 0
    while not stop.is_set():
        worker.service()
        task = worker.recv()
        while task is not None:
            worker.reply(task, task.payload.upper())
            served += 1
            task = worker.recv()
        wake.clear()
        timer = loop.call_later(worker.timeout(), wake.set)
        waiter = asyncio.ensure_future(wake.wait())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([waiter, stopper], return_when=asyncio.FIRST_COMPLETED)
        timer.cancel()
        waiter.cancel()
        stopper.cancel()
    loop.remove_reader(worker.fileno())
    worker.drain()
    worker.service()
    return served


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: async_worker.py TASKS-ENDPOINT RESULTS-ENDPOINT [JOBS]")
    jobs = sys.argv[3] if len(sys.argv) > 3 else "4"
    with sluice.Worker(tasks=sys.argv[1], results=sys.argv[2], jobs=jobs) as worker:
        served = asyncio.run(serve(worker))
    print("served %d" % served, file=sys.stderr)


if __name__ == "__main__":
    main()
