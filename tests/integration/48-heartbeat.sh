#!/usr/bin/env bash
# 48-heartbeat: a peer that stops answering is reported as a ZMTP heartbeat
# timeout, not as a message over --max-size, and is not counted as a
# dropped malformed message. libzmq closes such a connection itself after
# 5 s, as it does after an oversized frame; the monitor tells the two
# apart by how long the peer had been silent (tcp: TCP_INFO; ipc: our
# heartbeats left unread). 42-io-edges keeps the real over-size case.
#   (a) tcp: the sink stopped (SIGSTOP) for 7 s under two workers
#   (b) ipc: the same
#   (c) tcp: one worker stopped for 7 s: the ventilator says it left (its
#       2 s silence rule); the bound ROUTERs send no ZMTP PINGs (libzmq
#       4.3.4 can abort on their heartbeat timer, lib/socket.c), so neither
#       the ventilator nor the sink drops its connection, and the worker
#       carries on with it when it resumes
# Each asserts the exact output, exit 0, the heartbeat line, no max-size
# line and 0 malformed messages dropped in every summary.
. "$(dirname "$0")/../lib.sh"
STOP_S=7
N=6000

# run NAME TRANSPORT STOPPED : one paced --echo batch; STOPPED is sink or w1
run () {
    local name=$1 transport=$2 stopped=$3 t r c sink w1 w2 vent
    if [ "$transport" = tcp ]; then
        t="tcp://127.0.0.1:$(t_port)"; r="tcp://127.0.0.1:$(t_port)"; c="tcp://127.0.0.1:$(t_port)"
    else
        t=$(t_ep "$name-t"); r=$(t_ep "$name-r"); c=$(t_ep "$name-c")
    fi
    t_start "$name-sink" "$SINK" --results "@$r" --control "@$c"; sink=$T_LAST
    t_start "$name-w1" "$WORKER" -v --echo --tasks ">$t" --results ">$r"; w1=$T_LAST
    t_start "$name-w2" "$WORKER" --echo --tasks ">$t" --results ">$r"; w2=$T_LAST
    mkfifo "$T_DIR/$name.fifo"
    t_start "$name-vent" "$VENT" -v --tasks "@$t" --control ">$c" "$T_DIR/$name.fifo"; vent=$T_LAST
    #  6,000 tasks over about 12 s: the batch outlasts the stop
    t_start_paced "$name-feed" "$T_DIR/$name.fifo" "$N" 100 0.2
    t_until 20 t_lines_ge "$T_DIR/$name-sink.out" 300
    local pid=$sink; [ "$stopped" = w1 ] && pid=$w1
    kill -STOP "$pid"
    sleep "$STOP_S"
    kill -CONT "$pid"
    t_rc rc "$vent" 60
    t_eq "($name) ventilator exit code" "$rc" 0
    t_rc rc "$sink" 20
    t_eq "($name) sink exit code" "$rc" 0
    t_exactly_once "($name) output" "$T_DIR/$name-sink.out" "$N"
    kill -TERM "$w1" "$w2"
    t_rc rc "$w1" 15; t_eq "($name) worker 1 exit code" "$rc" 0
    t_rc rc "$w2" 15; t_eq "($name) worker 2 exit code" "$rc" 0
    local f
    for f in "$name-w1" "$name-w2" "$name-sink" "$name-vent"; do
        t_check "($name) $f logs no message over a size limit" \
            bash -c "! grep -q 'sent a message over' '$T_DIR/$f.err'"
    done
    t_eq "($name) worker 1: malformed messages dropped" \
        "$(grep -o '[0-9]* malformed messages dropped' "$T_DIR/$name-w1.err" | cut -d' ' -f1)" 0
    t_eq "($name) worker 2: malformed messages dropped" \
        "$(grep -o '[0-9]* malformed messages dropped' "$T_DIR/$name-w2.err" | cut -d' ' -f1)" 0
    t_eq "($name) sink: malformed messages dropped" \
        "$(grep -o '[0-9]* malformed or foreign messages dropped' "$T_DIR/$name-sink.err" | cut -d' ' -f1)" 0
    t_eq "($name) ventilator: dropped" "$(t_vent_field "$T_DIR/$name-vent.err" dropped)" 0
    if [ "$stopped" = sink ]; then
        #  both workers lose the sink; w1 (-v) is checked, w2 may reconnect
        #  through its own heartbeat a moment later
        t_check "($name) worker 1 names the sink's heartbeat timeout" \
            grep -q "no answer from the sink at .* for [0-9.]* s (heartbeat timeout); reconnecting" \
            "$T_DIR/$name-w1.err"
        t_check "($name) worker 1's line names the sink's endpoint" \
            grep -qF "no answer from the sink at $r for " "$T_DIR/$name-w1.err"
    else
        t_check "($name) the ventilator says the stopped worker left (silent)" \
            grep -q "worker [^ ]*:$w1:1 left (silent" "$T_DIR/$name-vent.err"
        t_check "($name) the ventilator did not drop the stopped worker's connection" \
            bash -c "! grep -q 'no answer from worker' '$T_DIR/$name-vent.err'"
        t_check "($name) the sink did not drop the stopped worker's connection" \
            bash -c "! grep -q 'no answer from worker' '$T_DIR/$name-sink.err'"
        t_check "($name) the resumed worker joined again (its second join)" \
            [ "$(grep -c "worker [^ ]*:$w1:1 joined" "$T_DIR/$name-vent.err")" -ge 2 ]
    fi
    grep -h "heartbeat timeout" "$T_DIR/$name"-*.err | sed "s/^/# ($name) /"
}

run a tcp sink
run b ipc sink
run c tcp w1
t_done
