#!/usr/bin/env bash
# An embedded ventilator (examples/embed_vent.c: try_submit from its own
# poll(2) loop on sluice_ventilator_fd) runs a batch against a real sink and
# a real worker: every task's result is written exactly once and it exits 0.
. "$(dirname "$0")/../lib.sh"
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
N=5000
EMBED="$T_ROOT/examples/embed_vent"
if [ ! -x "$EMBED" ] || [ "$EMBED" -ot "$T_ROOT/examples/embed_vent.c" ]; then
    #  until the Makefile builds it beside embed_worker
    EMBED="$T_DIR/embed_vent"
    SAN=""
    nm "$T_ROOT/lib/libsluice.a" 2>/dev/null | grep -q __asan_init && SAN="-fsanitize=address,undefined"
    nm "$T_ROOT/lib/libsluice.a" 2>/dev/null | grep -q __ubsan && SAN="${SAN:--fsanitize=undefined}"
    cc -std=c11 $SAN -I"$T_ROOT/lib" $(pkg-config --cflags libczmq libzmq msgpack 2>/dev/null) \
       -o "$EMBED" "$T_ROOT/examples/embed_vent.c" "$T_ROOT/lib/libsluice.a" \
       $(pkg-config --libs libczmq libzmq msgpack 2>/dev/null || echo -lczmq -lzmq -lmsgpackc) -lm
fi
t_start sink "$SINK" -q --results "@$R" --control "@$C"; sink=$T_LAST
t_start worker "$WORKER" -q --echo --tasks ">$T" --results ">$R"; worker=$T_LAST
t_eq "embedded ventilator exit code" "$(timeout 60 "$EMBED" "@$T" ">$C" "$N" 2> "$T_DIR/embed.err"; echo $?)" 0
t_eq "sink exit code" "$(t_wait "$sink" 20)" 0
seq "$N" | sed 's/^/task /' > "$T_DIR/want.txt"
t_same_set "every task's result, exactly once" "$T_DIR/sink.out" "$T_DIR/want.txt"
t_eq "usage error without N" "$("$EMBED" "@$T" ">$C" 2> /dev/null; echo $?)" 2
kill -TERM "$worker"; t_wait "$worker" 10 > /dev/null
t_done
