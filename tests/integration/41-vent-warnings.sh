#!/usr/bin/env bash
# 41-vent-warnings: the ventilator's failures are never silent (issue 8 item 5).
#   (n1) the README's own example, `seq 1 1000 | ventilator & sink | sort -n`,
#        starts no worker: within ~6 s the ventilator warns, once, "no
#        workers connected to ENDPOINT for 5 s (1000 tasks waiting)", and
#        not again a few seconds later (repeats at most every 30 s)
#   (n2) -v: a worker's join and leave are logged with its identity; when
#        the last worker left with tasks waiting, the warning comes again;
#        a second worker finishes the batch; after the summary the tasks of
#        each worker are listed and add up to the batch
#   (n3) a bind to an unresolvable host name: "cannot bind tcp://
#        nosuch.invalid:P: cannot resolve host 'nosuch.invalid'", exit 3, for
#        the ventilator and the sink; a bind to an interface name still works
#   (n4) --timeout shorter than 1 s (4 progress intervals): a usage error
#        naming the value (exit 2), on the command line and in a config file
. "$(dirname "$0")/../lib.sh"

# rc_of VAR CMD... : run CMD (10 s bound, no stdin), its exit code in VAR,
# its stderr in $T_DIR/cmd.err
rc_of () {
    local __var=$1; shift
    timeout 10 "$@" > /dev/null 2> "$T_DIR/cmd.err" < /dev/null
    printf -v "$__var" '%s' $?
}
# count FILE PATTERN : lines of FILE matching the extended regex
count () { grep -Ec "$2" "$1" 2>/dev/null || true; }
warned () { [ "$(count "$1" 'no workers connected to')" -ge 1 ]; }

#  (n1) the README example on free ports (the endpoints come from the
#  environment, so the command line is the README's own), in a session of
#  its own so every process of the pipeline is killed afterwards
PT=$(t_port); PR=$(t_port); PC=$(t_port)
export SLUICE_TASKS="tcp://127.0.0.1:$PT" SLUICE_RESULTS="tcp://127.0.0.1:$PR" \
       SLUICE_CONTROL="tcp://127.0.0.1:$PC"
export PATH="$T_ROOT/ventilator:$T_ROOT/sink:$PATH"
START=$(t_now_ms)
t_start readme setsid bash -c 'seq 1 1000 | ventilator &  sink | sort -n' ; README=$T_LAST
t_until 10 warned "$T_DIR/readme.err"
WARN_MS=$(( $(t_now_ms) - START ))
sleep 4
kill -TERM -- "-$README" 2>/dev/null; t_wait "$README" 10 > /dev/null
kill -KILL -- "-$README" 2>/dev/null
unset SLUICE_TASKS SLUICE_RESULTS SLUICE_CONTROL
LINE=$(grep 'no workers connected to' "$T_DIR/readme.err" | head -1 | sed "s/.*(ventilator) [^ ]* //")
echo "# (n1) README example without a worker: warned after ${WARN_MS} ms: $LINE"
t_eq "(n1) the warning names the endpoint and the waiting tasks" "$LINE" \
    "no workers connected to tcp://127.0.0.1:$PT for 5 s (1000 tasks waiting)"
t_check "(n1) within ~6 s (${WARN_MS} ms)" [ "$WARN_MS" -lt 8000 ]
t_eq "(n1) said once in ~10 s (rate-limited)" "$(count "$T_DIR/readme.err" 'no workers connected')" 1

#  (n2) a worker joins, leaves; the warning; a second worker finishes
T=$(t_ep n2-tasks); R=$(t_ep n2-results); C=$(t_ep n2-control)
seq 60 > "$T_DIR/n2.in"
t_start n2-sink "$SINK" -o "$T_DIR/n2.out" --results "@$R" --control "@$C"; SINK_PID=$T_LAST
t_start n2-w1 "$WORKER" -j 1 --exec 'sleep 0.05; echo {}' --tasks ">$T" --results ">$R"; W1=$T_LAST
t_start n2-vent "$VENT" -v --tasks "@$T" --control ">$C" "$T_DIR/n2.in"; VENT_PID=$T_LAST
t_until 20 t_lines_ge "$T_DIR/n2.out" 10
kill -TERM "$W1"; t_wait "$W1" 10 > /dev/null; LEFT=$(t_now_ms)
t_until 10 warned "$T_DIR/n2-vent.err"
W2_MS=$(( $(t_now_ms) - LEFT ))
t_start n2-w2 "$WORKER" -j 2 --exec 'echo {}' --tasks ">$T" --results ">$R"; W2=$T_LAST
t_rc VRC "$VENT_PID" 30
t_rc SRC "$SINK_PID" 10
kill -TERM "$W2"; t_wait "$W2" 10 > /dev/null
E="$T_DIR/n2-vent.err"
ID1=$(grep -o 'worker [^ ]* joined' "$E" | head -1 | cut -d' ' -f2)
ID2=$(grep -o 'worker [^ ]* joined' "$E" | sed -n 2p | cut -d' ' -f2)
echo "# (n2) workers $ID1, $ID2; warned ${W2_MS} ms after the last one left;" \
     "$(grep -o "worker $ID1 left.*" "$E")"
echo "# (n2) per worker: $(grep -Eo 'worker [^ ]+: [0-9]+ tasks$' "$E" | tr '\n' ';')"
t_check "(n2) first worker's join logged with its identity" [ -n "$ID1" ]
t_check "(n2) its leave logged with the reason and the tasks reclaimed" \
    grep -Eq "worker $ID1 left \(disconnected\), [0-9]+ tasks reclaimed" "$E"
t_check "(n2) warned when the last worker left (${W2_MS} ms)" [ "$W2_MS" -lt 8000 ]
t_check "(n2) the warning counts the tasks waiting" \
    grep -Eq "no workers connected to $T for 5 s \([1-9][0-9]* tasks waiting\)" "$E"
t_check "(n2) a second worker joined" [ -n "$ID2" -a "$ID2" != "$ID1" ]
t_eq "(n2) ventilator exit code" "$VRC" 0
t_eq "(n2) sink exit code" "$SRC" 0
t_exactly_once "(n2) output" "$T_DIR/n2.out" 60
t_eq "(n2) per-worker counts after the summary add up to the batch" \
    "$(grep -Eo "worker ($ID1|$ID2): [0-9]+ tasks$" "$E" | awk '{ n += $3 } END { print NR, n }')" "2 60"

#  (n3) unresolvable bind host
P=$(t_port)
rc_of RC "$VENT" --tasks "@tcp://nosuch.invalid:$P" /dev/null
t_eq "(n3) ventilator exit code" "$RC" 3
t_eq "(n3) ventilator says why" "$(grep -o 'cannot bind.*' "$T_DIR/cmd.err")" \
    "cannot bind tcp://nosuch.invalid:$P: cannot resolve host 'nosuch.invalid'"
rc_of RC "$SINK" --results "@tcp://nosuch.invalid:$P" --control "@$(t_ep n3-control)"
t_eq "(n3) sink exit code" "$RC" 3
t_check "(n3) sink says why" grep -q "cannot resolve host 'nosuch.invalid'" "$T_DIR/cmd.err"
t_check "(n3) nobody says 'No such device'" [ "$(count "$T_DIR/cmd.err" 'No such device')" = 0 ]
t_start n3-lo "$VENT" --tasks "@tcp://lo:$P" --control ">$(t_ep n3-control)" /dev/null
sleep 1
t_check "(n3) a bind to an interface name (lo) still works" kill -0 "$T_LAST"
kill -KILL "$T_LAST"

#  (n4) --timeout below 1 s
rc_of RC "$VENT" --timeout 500ms /dev/null
t_eq "(n4) --timeout 500ms: exit code" "$RC" 2
t_check "(n4) the error names the value" grep -q "timeout value '500ms'" "$T_DIR/cmd.err"
printf 'sluice\n    timeout = "999ms"\n' > "$T_DIR/short.zpl"
rc_of RC "$VENT" -c "$T_DIR/short.zpl" /dev/null
t_eq "(n4) config timeout 999ms: exit code" "$RC" 2
t_check "(n4) the config error names the value and the bound" \
    grep -q "invalid timeout value '999ms': shorter than 1s (4 progress intervals of 250ms)" \
    "$T_DIR/cmd.err"
rc_of RC "$VENT" --timeout 1s --help
t_eq "(n4) --timeout 1s is accepted" "$RC" 0

t_done
