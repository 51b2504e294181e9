#!/usr/bin/env python3
"""pipeline.py - submit tasks and read their results back in one program

A Ventilator and a Sink in the same process, workers anywhere. One
selectors loop feeds tasks while the window has room and takes results as
they arrive; every result comes back exactly once.

Run: pipeline.py COUNT TASKS-ENDPOINT RESULTS-ENDPOINT CONTROL-ENDPOINT
Prints "id<TAB>output" per result on stdout; exits with the batch's code.
"""

import selectors
import sys

import sluice


def run(count, tasks, results, control):
    vent = sluice.Ventilator(tasks="@" + tasks, control=">" + control)
    sink = sluice.Sink(results="@" + results, control="@" + control)
    selector = selectors.DefaultSelector()
    selector.register(vent.fileno(), selectors.EVENT_READ)
    selector.register(sink.fileno(), selectors.EVENT_READ)
    out = sys.stdout
    submitted, done = 0, False
    if count == 0:
        vent.close_input()
    while not done:
        while submitted < count:
            if vent.try_submit(b"%d" % (submitted + 1)) is None:
                break
            submitted += 1
            if submitted == count:
                vent.close_input()
        vent.service()
        sink.service()
        while True:
            try:
                result = sink.next()
            except StopIteration:
                done = True
                break
            if result is None:
                break
            out.write("%d\t%s\n" % (result.id, result.output.decode()))
        if not done:
            selector.select(min(vent.timeout(), sink.timeout()))
    # the sink has told the ventilator; let it see COMPLETE
    while vent.status() is None:
        vent.service()
        sink.service()
        selector.select(min(vent.timeout(), sink.timeout()))
    code = vent.status()
    sink.close()
    vent.close()
    return code


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: pipeline.py COUNT TASKS-ENDPOINT RESULTS-ENDPOINT CONTROL-ENDPOINT")
    sys.exit(run(int(sys.argv[1]), *sys.argv[2:]))


if __name__ == "__main__":
    main()
