#!/usr/bin/env bash
# 54-interrupt: Ctrl-C as GNU parallel users expect. Process counts after
# each case; timing bounds are loose (a shared 2-core machine).
#   (a) worker, first SIGINT: starts nothing more, the running `sleep`
#       tasks finish and their results are written, then it exits 0
#   (b) worker, second SIGINT: the running commands are stopped
#       (--termseq TERM,200,KILL) at once; no command is left
#   (c) sink SIGINT (sink | sort and Ctrl-C): the ventilator exits 4, the
#       workers drop the batch's running commands within about 1 s, stay
#       up, and serve the next batch at once
#   (d) sluice, one SIGINT: the running tasks finish, their output is
#       written, exit 130, no process left; two SIGINTs: stopped at once
#   (e) a command whose shell dies of TERM while its child ignores TERM
#       and holds none of the pipes (`(trap "" TERM; exec sleep >
#       /dev/null) & wait`: the shell is reaped at once): a command counts
#       as stopped only once its whole process group is gone, so the
#       --termseq goes on to KILL; no such child is left after two SIGINTs
#       to sluice, a DROP, or a --task-timeout (the old code left them all)
#   (f) Ctrl-C on a sink that no ventilator has spoken to yet: started
#       0.8 s after the ventilator, whose DEALER then retries its
#       connection up to a second apart, while the worker already runs
#       its tasks (CI's failures of (c) and 59 (a), where the sink was
#       slow to start: the old sink exited at once and told no one, and
#       the ventilator waited for a sink for ever); the ventilator is
#       told and exits 4, the worker drops the batch; a sink alone with
#       no peer, interrupted after 2 s, still exits at once, and one
#       interrupted at once waits for a peer until 1.5 s after its start
#   (g) SIGHUP (the terminal closed) is a stop, as the first SIGINT is
#       (GNU parallel: finish the running jobs, start no more): a worker
#       lets its running tasks finish, their results written, and exits
#       0 with no command left, and a second worker completes the batch
#       with every task run exactly once (before, the worker died of the
#       hangup, its commands ran on as orphans and their tasks ran again
#       elsewhere); sluice finishes its running tasks and exits 130 with
#       no command left; a sink hung up abandons the batch (both exit 4);
#       under nohup (SIGHUP ignored) sluice completes its batch
. "$(dirname "$0")/../lib.sh"
S="$T_ROOT/sluice/sluice"
export TMPDIR="$T_DIR/tmp"; mkdir -p "$TMPDIR"
count () { pgrep -f "^$1" | wc -l; }     # processes whose command line starts so
running () { [ "$(count "$1")" -ge "$2" ]; }  # for t_until: at least $2 of them
none () { [ "$(count "$1")" -eq 0 ]; }
elapsed_ms () { echo $(( $(t_now_ms) - $1 )); }

# batch NAME CMD-FOR-WORKER... : sink, ventilator (20 tasks x1..x20), one
# worker -j 2
batch () {
    local name=$1; shift
    local tasks results control
    tasks=$(t_ep "$name-tasks"); results=$(t_ep "$name-results"); control=$(t_ep "$name-control")
    seq 1 20 | sed 's/^/x/' > "$T_DIR/$name.in"
    t_start "$name-sink" "$SINK" -q --results "@$results" --control "@$control"; SINK_PID=$T_LAST
    t_start "$name-vent" "$VENT" -q --tasks "@$tasks" --control ">$control" "$T_DIR/$name.in"
    VENT_PID=$T_LAST
    t_start "$name-worker" "$WORKER" -j 2 --tasks ">$tasks" --results ">$results" "$@"
    WORKER_PID=$T_LAST
}

#  (a) first SIGINT: running tasks finish
batch a --exec 'sleep 1.51; echo {}'
t_until 10 running 'sleep 1.51' 2
start=$(t_now_ms)
kill -INT "$WORKER_PID"
t_rc rc "$WORKER_PID" 10; ms=$(elapsed_ms "$start")
t_eq "(a) worker exit code after one SIGINT" "$rc" 0
t_check "(a) it waited for its running tasks (${ms} ms, >= 900)" [ "$ms" -ge 900 ]
t_check "(a) ... and no longer than needed (${ms} ms, <= 6000)" [ "$ms" -le 6000 ]
t_check "(a) it said so" grep -q "stopping: 2 running tasks may finish" "$T_DIR/a-worker.err"
t_eq "(a) no command left" "$(count 'sleep 1.51')" 0
t_check "(a) the finished tasks' results were written" [ "$(wc -l < "$T_DIR/a-sink.out")" -ge 2 ]
kill -INT "$VENT_PID" "$SINK_PID"

#  (b) second SIGINT: stopped at once
batch b --exec 'sleep 31.52; true'
t_until 10 running 'sleep 31.52' 2
kill -INT "$WORKER_PID"; sleep 0.3
t_eq "(b) after one SIGINT the commands still run" "$(count 'sleep 31.52')" 2
start=$(t_now_ms)
kill -INT "$WORKER_PID"
t_rc rc "$WORKER_PID" 10; ms=$(elapsed_ms "$start")
t_check "(b) worker exits after the second SIGINT (rc $rc, ${ms} ms <= 1500)" [ "$ms" -le 1500 ]
t_eq "(b) no command left" "$(count 'sleep 31.52')" 0
t_check "(b) it said so" grep -q "stopping 2 running commands (--termseq" "$T_DIR/b-worker.err"
kill -INT "$VENT_PID" "$SINK_PID"

#  (c) Ctrl-C on the sink: the batch is dropped everywhere, the worker stays
batch c --exec 'case {} in x*) sleep 31.53;; esac; echo {}'
t_until 10 running 'sleep 31.53' 2
start=$(t_now_ms)
kill -INT "$SINK_PID"
t_rc rc "$VENT_PID" 10; ms=$(elapsed_ms "$start")
t_eq "(c) ventilator exit code 4" "$rc" 4
t_check "(c) ventilator stopped promptly (${ms} ms <= 1500)" [ "$ms" -le 1500 ]
t_rc rc "$SINK_PID" 10; t_eq "(c) sink exit code 4" "$rc" 4
t_until 3 none 'sleep 31.53'
ms=$(elapsed_ms "$start")
t_eq "(c) the worker's commands are gone" "$(count 'sleep 31.53')" 0
t_check "(c) within about 1 s of the Ctrl-C (${ms} ms <= 2000)" [ "$ms" -le 2000 ]
t_check "(c) the worker logged the drop" grep -q "the ventilator dropped batch .*: stopping 2 running commands" "$T_DIR/c-worker.err"
kill -0 "$WORKER_PID"; t_eq "(c) the worker stays up" "$?" 0
#  the next batch, on the same endpoints, starts at once on that worker
tasks=$(t_ep c-tasks); results=$(t_ep c-results); control=$(t_ep c-control)
t_start c2-sink "$SINK" -q --results "@$results" --control "@$control"; sk=$T_LAST
start=$(t_now_ms)
seq 1 10 | timeout 20 "$VENT" -q --tasks "@$tasks" --control ">$control" > /dev/null 2>&1
rc=$?; ms=$(elapsed_ms "$start")
t_eq "(c) next batch: exit code" "$rc" 0
t_check "(c) next batch ran at once (${ms} ms <= 2500)" [ "$ms" -le 2500 ]
t_rc rc "$sk" 10
t_eq "(c) next batch: every result" "$(wc -l < "$T_DIR/c2-sink.out")" 10
kill -TERM "$WORKER_PID"; t_rc rc "$WORKER_PID" 10

#  (d) sluice: one SIGINT lets the running tasks finish ...
seq 1 20 > "$T_DIR/d.in"
begun=$(t_now_ms)
t_start d1 "$S" -j 2 -a "$T_DIR/d.in" 'sleep 1.54; echo done{}'; pid=$T_LAST
t_until 10 running 'sleep 1.54' 2
kill -INT "$pid"
t_rc rc "$pid" 10; ms=$(elapsed_ms "$begun")
t_eq "(d) one SIGINT: exit code 130" "$rc" 130
t_check "(d) one SIGINT: the running tasks finished (${ms} ms since the start, 1500..7000)" [ "$ms" -ge 1500 -a "$ms" -le 7000 ]
done=$(grep -c '^done' "$T_DIR/d1.out")
t_check "(d) one SIGINT: their output was written, nothing started after ($done lines, 2..4)" [ "$done" -ge 2 -a "$done" -le 4 ]
t_check "(d) one SIGINT: it said so" grep -q "interrupted: starting no more tasks" "$T_DIR/d1.err"
t_eq "(d) one SIGINT: no command left" "$(count 'sleep 1.54')" 0
#  ... two stop them at once
t_start d2 "$S" -j 2 -a "$T_DIR/d.in" 'sleep 31.55'; pid=$T_LAST
t_until 10 running 'sleep 31.55' 2
kill -INT "$pid"; sleep 0.3
start=$(t_now_ms)
kill -INT "$pid"
t_rc rc "$pid" 10; ms=$(elapsed_ms "$start")
t_eq "(d) two SIGINTs: exit code 130" "$rc" 130
t_check "(d) two SIGINTs: stopped at once (${ms} ms <= 2000)" [ "$ms" -le 2000 ]
t_eq "(d) two SIGINTs: no command left" "$(count 'sleep 31.55')" 0
t_eq "(d) no file left in TMPDIR" "$(ls -A "$TMPDIR")" ""
#  (e) a child that ignores TERM outlives its shell: its group is stopped too
IGN='(trap "" TERM; exec sleep 31.6 > /dev/null 2>&1) & wait; : {}'
cleanup_e () { pkill -9 -f '^sleep 31.6' 2> /dev/null; }
t_start e1 "$S" -j 2 -a "$T_DIR/d.in" "$IGN"; pid=$T_LAST
t_until 10 running 'sleep 31.6' 2
kill -INT "$pid"; sleep 0.3; kill -INT "$pid"
t_rc rc "$pid" 10
t_eq "(e) two SIGINTs to sluice: exit code 130" "$rc" 130
t_until 3 none 'sleep 31.6'
t_eq "(e) two SIGINTs to sluice: no child left that ignored TERM" "$(count 'sleep 31.6')" 0
cleanup_e
batch e2 --exec "$IGN"
t_until 10 running 'sleep 31.6' 2
kill -INT "$SINK_PID"
t_rc rc "$VENT_PID" 10
t_until 3 none 'sleep 31.6'
t_eq "(e) a DROP: no child left that ignored TERM" "$(count 'sleep 31.6')" 0
kill -0 "$WORKER_PID"; t_eq "(e) a DROP: the worker stays up" "$?" 0
kill -TERM "$WORKER_PID"; t_rc rc "$WORKER_PID" 10
cleanup_e
batch e3 --task-timeout 0.5s --exec "$IGN"
t_until 10 running 'sleep 31.6' 2
t_until 6 grep -q "exceeded --task-timeout" "$T_DIR/e3-worker.err"
sleep 3
#  2 running, and at most 2 orphans within their --termseq (200 ms); the
#  old code kept every timed-out task's child: 2 more every 0.5 s
n=$(count 'sleep 31.6')
t_check "(e) --task-timeout: the timed-out tasks' children do not pile up ($n <= 4 after 3 s)" \
    [ "$n" -le 4 ]
kill -INT "$VENT_PID" "$SINK_PID"
kill -TERM "$WORKER_PID"; t_rc rc "$WORKER_PID" 10
cleanup_e
t_eq "(e) no file left in TMPDIR" "$(ls -A "$TMPDIR")" ""

#  (f) the sink is interrupted before the ventilator's DEALER has connected
tasks=$(t_ep f-tasks); results=$(t_ep f-results); control=$(t_ep f-control)
seq 1 20 | sed 's/^/x/' > "$T_DIR/f.in"
t_start f-vent "$VENT" -q --tasks "@$tasks" --control ">$control" "$T_DIR/f.in"; VENT_PID=$T_LAST
sleep 0.8
t_start f-sink "$SINK" -q --results "@$results" --control "@$control"; SINK_PID=$T_LAST
t_start f-worker "$WORKER" -j 2 --tasks ">$tasks" --results ">$results" --exec 'sleep 31.56; : {}'
WORKER_PID=$T_LAST
t_until 10 running 'sleep 31.56' 2
kill -INT "$SINK_PID"
t_rc rc "$SINK_PID" 10; t_eq "(f) sink exit code 4" "$rc" 4
t_rc rc "$VENT_PID" 10; t_eq "(f) the ventilator was told: exit code 4" "$rc" 4
t_check "(f) ... by the sink's ABANDON" grep -q "the sink abandoned the batch" "$T_DIR/f-vent.err"
t_until 3 none 'sleep 31.56'
t_eq "(f) the worker dropped the batch's commands" "$(count 'sleep 31.56')" 0
kill -TERM "$WORKER_PID"; t_rc rc "$WORKER_PID" 10
#  a sink with no peer at all waits for no one
t_start f2-sink "$SINK" -q --results "@$(t_ep f2-results)" --control "@$(t_ep f2-control)"
SINK_PID=$T_LAST
sleep 2
start=$(t_now_ms)
kill -INT "$SINK_PID"
t_rc rc "$SINK_PID" 10; ms=$(elapsed_ms "$start")
t_eq "(f) a sink alone: exit code 4" "$rc" 4
t_check "(f) a sink alone: at once (${ms} ms <= 700)" [ "$ms" -le 700 ]
#  ... and one interrupted 0.3 s after its start waits for a peer until
#  1.5 s after its start at most
t_start f3-sink "$SINK" -q --results "@$(t_ep f3-results)" --control "@$(t_ep f3-control)"
SINK_PID=$T_LAST
start=$(t_now_ms)
sleep 0.3
kill -INT "$SINK_PID"
t_rc rc "$SINK_PID" 10; ms=$(elapsed_ms "$start")
t_eq "(f) a young sink alone: exit code 4" "$rc" 4
t_check "(f) a young sink alone: gone 1.5 s after its start (${ms} ms <= 2500)" [ "$ms" -le 2500 ]
#  (g) SIGHUP: a stop, not a death
batch g --exec 'sleep 1.57; echo {}'
t_until 10 running 'sleep 1.57' 2
start=$(t_now_ms)
kill -HUP "$WORKER_PID"
t_rc rc "$WORKER_PID" 10; ms=$(elapsed_ms "$start")
t_eq "(g) worker exit code after SIGHUP" "$rc" 0
t_check "(g) it waited for its running tasks (${ms} ms, >= 900)" [ "$ms" -ge 900 ]
t_check "(g) it said so" grep -q "stopping: 2 running tasks may finish" "$T_DIR/g-worker.err"
t_eq "(g) no command left after the worker's SIGHUP" "$(count 'sleep 1.57')" 0
t_start g2-worker "$WORKER" -j 4 --tasks ">$(t_ep g-tasks)" --results ">$(t_ep g-results)" \
    --exec 'sleep 0.01; echo {}'
g2=$T_LAST
t_rc rc "$VENT_PID" 20; t_eq "(g) the second worker completed the batch" "$rc" 0
t_rc rc "$SINK_PID" 10
sed 's/^x//' "$T_DIR/g-sink.out" > "$T_DIR/g.ids"
t_exactly_once "(g) every task once, none run again after the SIGHUP" "$T_DIR/g.ids" 20
kill -TERM "$g2"; t_rc rc "$g2" 10
t_start g3 "$S" -j 2 -a "$T_DIR/d.in" 'sleep 1.58; echo done{}'; pid=$T_LAST
t_until 10 running 'sleep 1.58' 2
kill -HUP "$pid"
t_rc rc "$pid" 10
t_eq "(g) sluice after SIGHUP: exit code 130" "$rc" 130
done=$(grep -c '^done' "$T_DIR/g3.out")
t_check "(g) sluice after SIGHUP: the running tasks' output ($done lines, 2..4)" [ "$done" -ge 2 -a "$done" -le 4 ]
t_eq "(g) sluice after SIGHUP: no command left" "$(count 'sleep 1.58')" 0
batch g4 --exec 'sleep 31.59; : {}'
t_until 10 running 'sleep 31.59' 2
kill -HUP "$SINK_PID"
t_rc rc "$SINK_PID" 10; t_eq "(g) sink after SIGHUP: exit code 4" "$rc" 4
t_rc rc "$VENT_PID" 10; t_eq "(g) ... and the ventilator's 4" "$rc" 4
t_until 3 none 'sleep 31.59'
t_eq "(g) ... and the worker dropped the batch's commands" "$(count 'sleep 31.59')" 0
kill -TERM "$WORKER_PID"; t_rc rc "$WORKER_PID" 10
t_start g5 bash -c 'trap "" HUP; exec "$0" -j 3 "sleep 0.6; echo n{}" ::: 1 2 3 4 5 6' "$S"
pid=$T_LAST
t_until 10 running 'sleep 0.6' 3
kill -HUP "$pid"
t_rc rc "$pid" 15
t_eq "(g) under nohup, SIGHUP is ignored: exit code 0" "$rc" 0
t_eq "(g) ... and every task ran" "$(sort "$T_DIR/g5.out" | tr '\n' ' ')" "n1 n2 n3 n4 n5 n6 "
t_eq "(g) no file left in TMPDIR" "$(ls -A "$TMPDIR")" ""
t_done
