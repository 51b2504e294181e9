#!/usr/bin/env bash
# An embedded worker (examples/embed_worker.c, driving libsluice from its own
# loop) serves a batch exactly as the worker binary does.
. "$(dirname "$0")/../lib.sh"
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
t_start sink "$SINK" -q --results "$R" --control "$C"; sink=$T_LAST
t_start embed "$T_ROOT/examples/embed_worker" ">$T" ">$R"; embed=$T_LAST
printf 'alpha\nbeta\ngamma delta\n' > "$T_DIR/in.txt"
t_eq "ventilator exit code" "$("$VENT" -q --tasks "$T" --control "$C" "$T_DIR/in.txt"; echo $?)" 0
t_eq "sink exit code" "$(t_wait "$sink" 20)" 0
printf 'ALPHA\nBETA\nGAMMA DELTA\n' > "$T_DIR/want.txt"
t_same_set "embedded worker output" "$T_DIR/sink.out" "$T_DIR/want.txt"
kill -TERM "$embed"
t_eq "embedded worker stops on SIGTERM" "$(t_wait "$embed" 10)" 0

# No sink listening: replies wait in the outbox, the program's own loop
# keeps turning (no library call blocks), and SIGTERM ends it within its
# 5 s grace; a second signal at once.
for signals in 1 2; do
    T=$(t_ep "nosink$signals-tasks"); C=$(t_ep "nosink$signals-control")
    mkfifo "$T_DIR/nosink$signals.fifo"
    t_start "nosink$signals-vent" "$VENT" -q --tasks "@$T" --control ">$C" "$T_DIR/nosink$signals.fifo"
    t_start_paced "nosink$signals-feed" "$T_DIR/nosink$signals.fifo" 100000 10 0.01
    t_start "nosink$signals-embed" "$T_ROOT/examples/embed_worker" ">$T" ">$(t_ep nobody$signals)"
    embed=$T_LAST
    sleep 2
    start=$(t_now_ms)
    kill -TERM "$embed"
    [ "$signals" = 2 ] && { sleep 0.2; kill -INT "$embed"; }
    t_rc rc "$embed" 15
    ms=$(( $(t_now_ms) - start ))
    limit=$([ "$signals" = 1 ] && echo 6000 || echo 1200)
    t_eq "no sink, $signals signal(s): embedded worker exit code" "$rc" 0
    t_check "no sink, $signals signal(s): stopped in $ms ms (at most $limit)" [ "$ms" -le "$limit" ]
done
t_done
