#!/usr/bin/env bash
# examples/embed_pipeline.c: one C program holds a ventilator and a sink,
# submits tasks with the non-blocking API and consumes every result itself,
# while real worker processes (one SIGKILLed mid-batch) do the work.
. "$(dirname "$0")/../lib.sh"
EX="$T_ROOT/examples/embed_pipeline"
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
t_start w1 "$WORKER" -q --echo --tasks ">$T" --results ">$R"; w1=$T_LAST
t_start w2 "$WORKER" -q --exec 'sleep 0.001; printf %s {}' -j 4 --tasks ">$T" --results ">$R"; w2=$T_LAST
t_start pipeline "$EX" 20000 "$T" "$R" "$C"; pl=$T_LAST
t_until 20 t_lines_ge "$T_DIR/pipeline.out" 2000
kill -KILL "$w2"
t_rc rc "$pl" 120; t_eq "embed_pipeline exit code" "$rc" 0
seq 1 20000 | awk '{ print $1 "\t" $1 }' > "$T_DIR/want.txt"
t_same_set "every result exactly once despite a SIGKILLed worker" "$T_DIR/pipeline.out" "$T_DIR/want.txt"
kill -TERM "$w1"; t_rc r1 "$w1" 10
t_eq "empty batch: exit code" "$("$EX" 0 "$(t_ep t0)" "$(t_ep r0)" "$(t_ep c0)" 2>/dev/null; echo $?)" 0
t_done
