#!/usr/bin/python3
"""analyze.py - measurements of one tests/hosts scenario.

    analyze.py N SINK_JSONL WATCH [options]

SINK_JSONL is the sink's --format jsonl output, in write order. WATCH holds
"epoch_ms line_count" samples of it every 100 ms (lib.sh h_watch), which
date each result to within one sample. Options:
    --runs GLOB        per-copy run logs (coproc `tee -a`): one token per
                       execution; tasks run twice = executions - distinct
    --heal MS          time the fault was healed: flow = ms until the first
                       result written after MS (by --focus's worker if set)
    --focus PID        worker pid (the "worker" field is host:pid)
    --crash MS         time a worker died: worst wait = the largest, over
                       results written after MS, of landing - max(fed, MS)
    --fed T0:RATE      task i was fed at T0 + (i-1)/RATE*1000 ms
    --started FILE     "id worker_pid" per command started (the --exec
                       command appends it); with --crash and --focus
                       (the killed worker): rerun_ms = the largest, over
                       the tasks it started and never wrote, of landing
                       - MS, and rerun_tasks = how many; started_tasks
                       = how many it started in all
Prints key=value lines: set_ok, dup_results, ran_twice, runs, flow_ms,
worst_wait_ms, rerun_ms, rerun_tasks, started_tasks, last_ms.
"""
import argparse
import bisect
import glob
import json
import sys

ap = argparse.ArgumentParser()
ap.add_argument("n", type=int)
ap.add_argument("out")
ap.add_argument("watch")
ap.add_argument("--runs")
ap.add_argument("--heal", type=int)
ap.add_argument("--focus")
ap.add_argument("--crash", type=int)
ap.add_argument("--fed")
ap.add_argument("--started")
a = ap.parse_args()

recs = []
bad = 0
with open(a.out, errors="replace") as f:
    for line in f:
        try:
            recs.append(json.loads(line))
        except ValueError:
            bad += 1
outputs = [r.get("output", "").strip() for r in recs]
ids = [r.get("id") for r in recs]
expect = [str(i) for i in range(1, a.n + 1)]
set_ok = bad == 0 and sorted(outputs, key=lambda s: (len(s), s)) == expect \
    and sorted(ids) == list(range(1, a.n + 1))
dups = len(ids) - len(set(ids))
print("set_ok=%d" % set_ok)
print("dup_results=%d" % dups)

if a.runs:
    runs = {}
    total = 0
    for path in glob.glob(a.runs):
        with open(path, errors="replace") as f:
            for tok in f.read().split():
                runs[tok] = runs.get(tok, 0) + 1
                total += 1
    print("runs=%d" % total)
    print("ran_twice=%d" % sum(1 for c in runs.values() if c > 1))
else:
    print("runs=-")
    print("ran_twice=-")

samples = []
with open(a.watch) as f:
    for line in f:
        p = line.split()
        if len(p) == 2 and p[1].isdigit():
            samples.append((int(p[0]), int(p[1])))


times = [t for t, _ in samples]
counts = []
for _, c in samples:
    counts.append(max(c, counts[-1]) if counts else c)


def landed(k):
    """ms when line k (1-based) was first seen written"""
    i = bisect.bisect_left(counts, k)
    return times[i] if i < len(times) else None


def count_at(ms):
    i = bisect.bisect_right(times, ms)
    return counts[i - 1] if i else 0


if a.heal is not None:
    c = count_at(a.heal)
    flow = "-"
    for k in range(c + 1, len(recs) + 1):
        w = str(recs[k - 1].get("worker", ""))
        if a.focus is None or w.endswith(":" + a.focus):
            t = landed(k)
            if t is not None:
                flow = max(0, t - a.heal)
            break
    print("flow_ms=%s" % flow)

if a.crash is not None and a.fed:
    t0, rate = a.fed.split(":")
    t0, rate = int(t0), float(rate)
    c = count_at(a.crash)
    worst = 0
    for k in range(c + 1, len(recs) + 1):
        t = landed(k)
        if t is None:
            continue
        fed = t0 + (recs[k - 1]["id"] - 1) / rate * 1000
        worst = max(worst, t - max(fed, a.crash))
    print("worst_wait_ms=%d" % worst)

if a.crash is not None and a.started and a.focus:
    started = set()
    with open(a.started) as f:
        for line in f:
            p = line.split()
            if len(p) == 2 and p[1] == a.focus and p[0].isdigit():
                started.add(int(p[0]))
    worst, rerun = 0, 0
    for k in range(1, len(recs) + 1):
        r = recs[k - 1]
        if r.get("id") in started and not str(r.get("worker", "")).endswith(":" + a.focus):
            t = landed(k)
            if t is not None:
                rerun += 1
                worst = max(worst, t - a.crash)
    print("rerun_ms=%s" % (worst if rerun else "-"))
    print("rerun_tasks=%d" % rerun)
    print("started_tasks=%d" % len(started))

print("last_ms=%s" % (landed(len(recs)) if recs else "-"))
sys.exit(0)
