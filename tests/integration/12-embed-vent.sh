#!/usr/bin/env bash
# An embedded ventilator (examples/embed_vent.c: try_submit from its own
# poll(2) loop on sluice_ventilator_fd) runs a batch against a real sink and
# a real worker: every task's result is written exactly once and it exits 0.
. "$(dirname "$0")/../lib.sh"
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
N=5000
EMBED="$T_ROOT/examples/embed_vent"   # built by make, like every example
t_start sink "$SINK" -q --results "@$R" --control "@$C"; sink=$T_LAST
t_start worker "$WORKER" -q --echo --tasks ">$T" --results ">$R"; worker=$T_LAST
t_eq "embedded ventilator exit code" "$(timeout 60 "$EMBED" "@$T" ">$C" "$N" 2> "$T_DIR/embed.err"; echo $?)" 0
t_eq "sink exit code" "$(t_wait "$sink" 20)" 0
seq "$N" | sed 's/^/task /' > "$T_DIR/want.txt"
t_same_set "every task's result, exactly once" "$T_DIR/sink.out" "$T_DIR/want.txt"
t_eq "usage error without N" "$("$EMBED" "@$T" ">$C" 2> /dev/null; echo $?)" 2
kill -TERM "$worker"; t_wait "$worker" 10 > /dev/null
t_done
