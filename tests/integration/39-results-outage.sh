#!/usr/bin/env bash
# 39-results-outage: an outage between live workers and the sink re-runs
# nothing, and results flow again within 2 s of the link healing (issue 8,
# item 1; protocol 2's results hold, STORED and PROGRESS of held results).
# tests/proxy.py sits between the workers and the sink's results port; the
# control channel is direct, so the ventilator sees a live sink, and its
# lease is short (--timeout 2s): only PROGRESS for held results keeps the
# tasks from being re-sent during the 8 s cut.
#   (a) --echo, paced 20,000 tasks, the link blackholed for 8 s (no FIN, no
#       RST: ZMTP heartbeats give up after 5 s, the workers reconnect)
#   (b) the same, the link cut with every connection closed and refused
#   (c) --exec, 3,000 tasks, each appending its id to a log: every id once
#   (d) no proxy: the sink process stopped (SIGSTOP) for 8 s, then SIGCONT
# Each asserts the exact output, exit 0, "0 re-sent" in the ventilator's
# summary, and prints (and bounds at 2,000 ms) the time from the heal to
# the first result written after it.
. "$(dirname "$0")/../lib.sh"
PROXY=$T_ROOT/tests/proxy.py
CUT_S=8

# lines FILE : its line count (0 if absent)
lines () { [ -f "$1" ] && wc -l < "$1" || echo 0; }
# grew FILE N : FILE has more than N lines
grew () { [ "$(lines "$1")" -gt "$2" ]; }

# outage NAME KIND N EVERY PAUSE WORKER-ARGS... : one run; KIND is
# blackhole, refuse or stop. Sets HEAL_MS to the heal-to-flow time.
outage () {
    local name=$1 kind=$2 n=$3 every=$4 pause=$5; shift 5
    local t c b a sink proxy w1 w2 vent at heal
    t=$(t_port); c=$(t_port); b=$(t_port); a=$(t_port)
    t_start "$name-sink" "$SINK" --results "@tcp://127.0.0.1:$b" --control "@tcp://127.0.0.1:$c"
    sink=$T_LAST
    local results=$b
    if [ "$kind" != stop ]; then
        t_start "$name-proxy" /usr/bin/python3 "$PROXY" "$a" "$b" --mode "$kind"; proxy=$T_LAST
        t_until 5 grep -q listening "$T_DIR/$name-proxy.err"
        results=$a
    fi
    t_start "$name-w1" "$WORKER" "$@" --tasks ">tcp://127.0.0.1:$t" --results ">tcp://127.0.0.1:$results"
    w1=$T_LAST
    t_start "$name-w2" "$WORKER" "$@" --tasks ">tcp://127.0.0.1:$t" --results ">tcp://127.0.0.1:$results"
    w2=$T_LAST
    mkfifo "$T_DIR/$name.fifo"
    t_start "$name-vent" "$VENT" --timeout 2s --tasks "@tcp://127.0.0.1:$t" \
        --control ">tcp://127.0.0.1:$c" "$T_DIR/$name.fifo"; vent=$T_LAST
    t_start_paced "$name-feed" "$T_DIR/$name.fifo" "$n" "$every" "$pause"
    t_until 20 t_lines_ge "$T_DIR/$name-sink.out" $((n / 10))
    if [ "$kind" = stop ]; then kill -STOP "$sink"; else kill -USR1 "$proxy"; fi
    at=$(lines "$T_DIR/$name-sink.out")
    sleep "$CUT_S"
    at=$(lines "$T_DIR/$name-sink.out")         #  nothing got through during the cut
    if [ "$kind" = stop ]; then kill -CONT "$sink"; else kill -USR2 "$proxy"; fi
    heal=$(t_now_ms)
    t_until 10 grew "$T_DIR/$name-sink.out" "$at"
    HEAL_MS=$(( $(t_now_ms) - heal ))
    echo "# ($name) $kind for ${CUT_S} s with $at of $n written: results flowed again" \
         "${HEAL_MS} ms after the heal"
    t_rc rc "$vent" 90
    t_eq "($name) ventilator exit code" "$rc" 0
    t_rc rc "$sink" 20
    t_eq "($name) sink exit code" "$rc" 0
    t_exactly_once "($name) output" "$T_DIR/$name-sink.out" "$n"
    t_eq "($name) no task re-sent (ventilator summary)" \
        "$(t_vent_field "$T_DIR/$name-vent.err" re-sent)" 0
    t_check "($name) results flowed again within 2 s of the heal (${HEAL_MS} ms)" \
        [ "$HEAL_MS" -le 2000 ]
    kill -TERM "$w1" "$w2"
    t_rc rc "$w1" 15; t_eq "($name) worker 1 exit code" "$rc" 0
    t_rc rc "$w2" 15; t_eq "($name) worker 2 exit code" "$rc" 0
    grep -h "tasks run" "$T_DIR/$name-w1.err" "$T_DIR/$name-w2.err" | sed "s/^/# ($name) /"
    [ -n "${proxy:-}" ] && kill -TERM "$proxy"
    true
}

outage a blackhole 20000 200 0.05 --echo
outage b refuse 20000 200 0.05 --echo
LOG=$T_DIR/c-tasks.log
outage c refuse 3000 50 0.05 -j 2 --exec "echo {} >> $LOG; echo {}"
t_eq "(c) every task ran once (per-task log)" "$(sort "$LOG" | uniq -d | wc -l)/$(wc -l < "$LOG")" 0/3000
outage d stop 20000 200 0.05 --echo
t_done
