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
t_done
