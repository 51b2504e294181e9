#!/usr/bin/env bash
# 59-coproc-stop: --coproc copies are stopped with the --termseq, as
# --exec commands are.
#   (a) DROP (Ctrl-C on the sink): each copy holding records of the batch
#       is stopped with the --termseq (here USR1,5000,KILL: the copy traps
#       USR1, logs it and exits, so an exit well under 5 s shows the
#       sequence was used), no process of the old copies is left, fresh
#       copies start, and the next batch on the same worker completes
#       with exact output
#   (b) second SIGINT on the worker, default --termseq TERM,200,KILL with a
#       copy that ignores TERM: it is killed at 200 ms, the worker exits,
#       no copy and none of their children is left
. "$(dirname "$0")/../lib.sh"
count () { pgrep -f "^$1" | wc -l; }
running () { [ "$(count "$1")" -ge "$2" ]; }
none () { [ "$(count "$1")" -eq 0 ]; }
# in_groups PGID...: processes in those process groups (a copy is the
# leader of its own: /bin/sh -c, the script it runs, their commands)
# (zombies are not counted: this host's init reaps orphans only every ~2 s)
in_groups () {
    local pids; pids=$(pgrep -g "$(echo "$@" | tr ' ' ,)" | paste -sd,)
    if [ -z "$pids" ]; then echo 0; else ps -o stat= -p "$pids" | grep -vc '^Z'; fi
}
none_in () { [ "$(in_groups "$@")" -eq 0 ]; }
children () { [ "$(pgrep -P "$WORKER_PID" | wc -l)" -ge "$1" ]; }
elapsed_ms () { echo $(( $(t_now_ms) - $1 )); }
export SIGLOG="$T_DIR/signals.log"; : > "$SIGLOG"

# the copy: one record in, one out; a record "slow..." first sleeps
cat > "$T_DIR/copy.sh" <<'SH'
#!/bin/sh
[ -n "$IGNORE_TERM" ] && trap '' TERM
trap 'echo "USR1 $$" >> "$SIGLOG"; exit 0' USR1
while read -r line; do
    case $line in slow*) sleep 30.59 & wait $! ;; esac
    echo "got $line"
done
SH
chmod +x "$T_DIR/copy.sh"

# batch NAME PREFIX WORKER-ARGS...: sink, ventilator with 20 tasks
# PREFIX1..PREFIX20, one --coproc worker -j 2 (unless WORKER_PID is set)
batch () {
    local name=$1 prefix=$2; shift 2
    seq 1 20 | sed "s/^/$prefix/" > "$T_DIR/$name.in"
    t_start "$name-sink" "$SINK" -q --results "@$R" --control "@$C"; SINK_PID=$T_LAST
    t_start "$name-vent" "$VENT" -q --tasks "@$T" --control ">$C" "$T_DIR/$name.in"
    VENT_PID=$T_LAST
    if [ -z "${WORKER_PID:-}" ]; then
        t_start "$name-worker" "$WORKER" -j 2 --tasks ">$T" --results ">$R" \
            --coproc "$T_DIR/copy.sh" "$@"
        WORKER_PID=$T_LAST
    fi
}

#  (a) DROP stops the copies holding the batch's records, with the --termseq
T=$(t_ep a-t); R=$(t_ep a-r); C=$(t_ep a-c); WORKER_PID=
batch a slow --termseq USR1,5000,KILL
t_until 10 running 'sleep 30.59' 2
old=$(pgrep -P "$WORKER_PID" | sort | tr '\n' ' ')
t_eq "(a) two copies before the DROP" "$(echo $old | wc -w)" 2
t_eq "(a) each copy runs the script and its sleep" "$(in_groups $old)" 6
start=$(t_now_ms)
kill -INT "$SINK_PID"
t_rc rc "$VENT_PID" 10; t_eq "(a) ventilator exit code 4" "$rc" 4
t_rc rc "$SINK_PID" 10; t_eq "(a) sink exit code 4" "$rc" 4
t_until 5 none_in $old
ms=$(elapsed_ms "$start")
t_eq "(a) no process of the old copies left" "$(in_groups $old)" 0
t_eq "(a) none of their commands left" "$(count 'sleep 30.59')" 0
t_check "(a) stopped within about 1 s of the Ctrl-C, not at the KILL (${ms} ms <= 2500)" [ "$ms" -le 2500 ]
t_eq "(a) each copy got the --termseq's USR1" "$(grep -c '^USR1 ' "$SIGLOG")" 2
t_eq "(a) the worker logged both stops" "$(grep -c 'records of a dropped batch: stopping it (--termseq USR1,5000,KILL)' "$T_DIR/a-worker.err")" 2
kill -0 "$WORKER_PID"; t_eq "(a) the worker stays up" "$?" 0
t_until 5 children 2
new=$(pgrep -P "$WORKER_PID" | sort | tr '\n' ' ')
t_eq "(a) two fresh copies" "$(echo $new | wc -w)" 2
t_eq "(a) ... none of them an old one" "$(comm -12 <(echo $old | tr ' ' '\n') <(echo $new | tr ' ' '\n') | wc -l)" 0
#  the next batch, same endpoints and worker: exact output, at once
start=$(t_now_ms)
batch a2 fast
t_rc rc "$VENT_PID" 20; ms=$(elapsed_ms "$start")
t_eq "(a) next batch: ventilator exit code" "$rc" 0
t_rc rc "$SINK_PID" 10; t_eq "(a) next batch: sink exit code" "$rc" 0
t_eq "(a) next batch: exact output" "$(sort "$T_DIR/a2-sink.out" | md5sum)" "$(sed 's/^/got /' "$T_DIR/a2.in" | sort | md5sum)"
t_check "(a) next batch ran at once (${ms} ms <= 3000)" [ "$ms" -le 3000 ]
t_eq "(a) nothing of the dropped batch in it" "$(grep -c slow "$T_DIR/a2-sink.out")" 0
kill -TERM "$WORKER_PID"; t_rc rc "$WORKER_PID" 10
t_eq "(a) the worker exits 0 on SIGTERM" "$rc" 0
t_eq "(a) no copy left after it" "$(in_groups $new)" 0

#  (b) second SIGINT: the default --termseq, TERM ignored, so KILL at 200 ms
T=$(t_ep b-t); R=$(t_ep b-r); C=$(t_ep b-c); WORKER_PID=
: > "$SIGLOG"
IGNORE_TERM=1 batch b slow
t_until 10 running 'sleep 30.59' 2
old=$(pgrep -P "$WORKER_PID" | sort | tr '\n' ' ')
kill -INT "$WORKER_PID"; sleep 0.3
t_eq "(b) after one SIGINT the copies still run" "$(in_groups $old)" 6
start=$(t_now_ms)
kill -INT "$WORKER_PID"
t_rc rc "$WORKER_PID" 10; ms=$(elapsed_ms "$start")
t_eq "(b) worker exit code after the second SIGINT" "$rc" 0
t_check "(b) it waited for the KILL at 200 ms (${ms} ms >= 190)" [ "$ms" -ge 190 ]
t_check "(b) ... and no longer (${ms} ms <= 1500)" [ "$ms" -le 1500 ]
t_check "(b) it said so" grep -q "stopping 2 --coproc copies with records in flight (--termseq TERM,200,KILL)" "$T_DIR/b-worker.err"
t_eq "(b) no process of the copies left" "$(in_groups $old)" 0
t_eq "(b) none of their commands left" "$(count 'sleep 30.59')" 0
t_eq "(b) no USR1 sent (not in this --termseq)" "$(wc -l < "$SIGLOG")" 0
kill -INT "$VENT_PID" "$SINK_PID"
t_rc rc "$VENT_PID" 10; t_rc rc "$SINK_PID" 10
t_done
