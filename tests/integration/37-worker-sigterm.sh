#!/usr/bin/env bash
# 37-worker-sigterm: a worker whose sink cannot be reached still honours
# SIGTERM within --grace. Its results wait in its outbox (never in a loop
# that waits for the sink), so the signal is seen at once; at grace end it
# exits with the results unsent and says how many.
#   (a) fed by a paced ventilator, results endpoint where nothing listens:
#       SIGTERM, exit 0 within grace + 1 s, the unsent count is logged
#   (b) the same, with a grace far too long to wait: a second signal stops
#       the worker at once (within 1 s)
. "$(dirname "$0")/../lib.sh"
GRACE=2

# stuck RUN GRACE_S : a ventilator fed slowly from a FIFO, a worker whose
# results go nowhere; waits until the worker has run tasks. Sets WORKER_PID.
stuck () {
    local run=$1 grace=$2 tasks control
    tasks=$(t_ep "$run-tasks"); control=$(t_ep "$run-control")
    mkfifo "$T_DIR/$run.fifo"
    t_start "$run-vent" "$VENT" -q --tasks "@$tasks" --control ">$control" "$T_DIR/$run.fifo"
    t_start_paced "$run-feed" "$T_DIR/$run.fifo" 1000000 20 0.01
    t_start "$run-worker" "$WORKER" -j 2 --grace "${grace}s" --exec 'echo {}' \
        --tasks ">$tasks" --results ">$(t_ep "$run-nobody")"
    WORKER_PID=$T_LAST
    sleep 3                              #  long enough to fill any outbox
}

# elapsed_ms START : milliseconds since START (t_now_ms)
elapsed_ms () { echo $(( $(t_now_ms) - $1 )); }

#  (a) SIGTERM with the sink unreachable
stuck a "$GRACE"
start=$(t_now_ms)
kill -TERM "$WORKER_PID"
t_rc rc "$WORKER_PID" $((GRACE + 10))
ms=$(elapsed_ms "$start")
t_eq "(a) worker exit code after SIGTERM" "$rc" 0
t_check "(a) worker exits within grace + 1 s (took $ms ms)" [ "$ms" -le $(( (GRACE + 1) * 1000 )) ]
t_check "(a) worker logs the unsent results" grep -q "unsent" "$T_DIR/a-worker.err"

#  (b) a second signal stops at once, long before the grace ends
stuck b 60
kill -TERM "$WORKER_PID"
sleep 0.5
start=$(t_now_ms)
kill -INT "$WORKER_PID"
t_rc rc "$WORKER_PID" 10
ms=$(elapsed_ms "$start")
t_check "(b) worker exits after a second signal (rc $rc)" [ "$rc" != timeout ]
t_check "(b) second signal stops at once (took $ms ms)" [ "$ms" -le 1000 ]
t_done
