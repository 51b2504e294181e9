#!/usr/bin/env bash
# 23-chain: two stages chained in one shell pipeline. The first stage's sink
# writes --format msgpack straight into the second stage's ventilator
# --msgpack, so multi-line outputs stay one task each; then the same with
# plain lines (sink | ventilator).
. "$(dirname "$0")/../lib.sh"

# start_workers STAGE N TASKS RESULTS ARGS... : N workers, PIDs in WPIDS
WPIDS=()
start_workers () {
    local stage=$1 n=$2 tasks=$3 results=$4 i; shift 4
    for i in $(seq 1 "$n"); do
        t_start "$stage-worker$i" "$WORKER" --tasks "$tasks" --results "$results" "$@"
        WPIDS+=("$T_LAST")
    done
}

stop_workers () {
    local pid
    for pid in "${WPIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${WPIDS[@]}"; do t_wait "$pid" 10 > /dev/null; done
    WPIDS=()
}

# rc_of VAR PID SECS : t_wait run in this shell (not inside $(...)), its
# answer - exit code or "timeout" - stored in VAR
rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

# file_rc VAR FILE SECS : wait up to SECS for FILE (an exit code written by
# the chain's shell) and store its content, or "timeout", in VAR
file_rc () {
    local i=0
    while [ ! -s "$2" ]; do
        if [ "$i" -ge $(($3 * 20)) ]; then printf -v "$1" timeout; return; fi
        sleep 0.05
        i=$((i + 1))
    done
    read -r "$1" < "$2"
}

# chain NAME FORMAT COUNT SINK2_ARGS... : stage 1 reads `seq 1 COUNT` with
# workers S1_WORKER; its sink writes FORMAT into stage 2's ventilator;
# stage 2 runs S2_WORKER; stage 2's sink writes $T_DIR/NAME-sink2.out.
# Sets RC_V1 RC_S1 RC_V2 RC_S2.
chain () {
    local name=$1 format=$2 count=$3; shift 3
    local t1 r1 c1 t2 r2 c2 s2 d=$T_DIR/$name pid rc pids=() vent2_in=()
    t1=$(t_ep "$name-t1") r1=$(t_ep "$name-r1") c1=$(t_ep "$name-c1")
    t2=$(t_ep "$name-t2") r2=$(t_ep "$name-r2") c2=$(t_ep "$name-c2")
    [ "$format" = msgpack ] && vent2_in=(--msgpack)
    start_workers "$name-s1" 2 "$t1" "$r1" "${S1_WORKER[@]}"
    start_workers "$name-s2" 2 "$t2" "$r2" "${S2_WORKER[@]}"
    t_start "$name-sink2" "$SINK" --results "$r2" --control "$c2" "$@"
    s2=$T_LAST
    # The chain itself, one shell command line:
    #   seq | ventilator & sink --format F | ventilator [--msgpack]
    # Each program's PID goes to a file (for the kill on timeout), each exit
    # code to another; ( echo $BASHPID; exec ... ) gives a pipeline member's PID.
    (
        seq 1 "$count" | "$VENT" --tasks "$t1" --control "$c1" 2> "$d-vent1.err" & echo $! > "$d-vent1.pid"
        ( echo "$BASHPID" > "$d-sink1.pid"
          exec "$SINK" --format "$format" --results "$r1" --control "$c1" 2> "$d-sink1.err" ) |
        ( echo "$BASHPID" > "$d-vent2.pid"
          exec "$VENT" "${vent2_in[@]}" --tasks "$t2" --control "$c2" 2> "$d-vent2.err" )
        rc=("${PIPESTATUS[@]}")
        echo "${rc[0]}" > "$d-sink1.rc"
        echo "${rc[1]}" > "$d-vent2.rc"
        wait "$(cat "$d-vent1.pid")"
        echo $? > "$d-vent1.rc"
    ) &
    T_PIDS+=("$!")
    file_rc RC_V1 "$d-vent1.rc" 90
    file_rc RC_S1 "$d-sink1.rc" 20
    file_rc RC_V2 "$d-vent2.rc" 20
    rc_of RC_S2 "$s2" 20
    if [ "$RC_V1" = timeout ] || [ "$RC_S1" = timeout ] || [ "$RC_V2" = timeout ]; then
        for pid in "$d"-{vent1,sink1,vent2}.pid; do
            [ -s "$pid" ] && kill -KILL "$(cat "$pid")" 2>/dev/null
        done
    fi
    stop_workers
    if [ "$RC_V1/$RC_S1/$RC_V2/$RC_S2" != 0/0/0/0 ]; then
        for f in "$T_DIR/$name"-*.err; do echo "# $f:"; tail -n 5 "$f"; done
    fi
}

# 1. msgpack chain: stage 1 emits two lines per task (n and 3n), stage 2
#    reads both from stdin and prints their sum: 4n.
S1_WORKER=(-j 3 --exec 'n={}; echo $n; echo $((n * 3))')
S2_WORKER=(-j 3 --pipe --exec 'read a; read b; echo $((a + b))')
chain mp msgpack 2000
seq 1 2000 | awk '{ print $1 * 4 }' > "$T_DIR/mp.want"
t_eq "msgpack chain: exit codes vent1/sink1/vent2/sink2" "$RC_V1/$RC_S1/$RC_V2/$RC_S2" 0/0/0/0
t_same_set "msgpack chain: 2000 multi-line records arrive whole; final output is 4n" \
    "$T_DIR/mp-sink2.out" "$T_DIR/mp.want"
t_check "msgpack chain: stage 2 read 2000 tasks" grep -q '2000 tasks, 0 failed' "$T_DIR/mp-vent2.err"

# 1b. a command's output loses its trailing newline on the way into stage 2:
#    stage 2's tasks are x1..x300, not "x1\n" (which printed an empty line)
S1_WORKER=(-j 2 --exec 'echo x{}')
S2_WORKER=(-j 2 --exec 'printf "[%s]\n" {}')
chain nl msgpack 300
seq 1 300 | sed 's/.*/[x&]/' > "$T_DIR/nl.want"
t_eq "msgpack chain, one line each: exit codes" "$RC_V1/$RC_S1/$RC_V2/$RC_S2" 0/0/0/0
t_same_set "msgpack chain, one line each: stage 2's tasks hold no newline" \
    "$T_DIR/nl-sink2.out" "$T_DIR/nl.want"

# 2. lines chain: sink | ventilator, one line per result
S1_WORKER=(-j 3 --exec 'n={}; echo $((n * 3))')
S2_WORKER=(--echo)
chain lines lines 500 --format jsonl
seq 1 500 | awk '{ print $1 * 3 }' > "$T_DIR/lines.want"
t_eq "lines chain: exit codes vent1/sink1/vent2/sink2" "$RC_V1/$RC_S1/$RC_V2/$RC_S2" 0/0/0/0
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["input"] if r["input"] == r["output"] and r["status"] == "ok" else "BAD %r" % r)
' "$T_DIR/lines-sink2.out" > "$T_DIR/lines.got"
t_same_set "lines chain: final output is 3n for every n" "$T_DIR/lines.got" "$T_DIR/lines.want"

t_done
