#!/usr/bin/env bash
# The Python binding (bindings/python, ctypes over libsluice.so) serves as a
# real peer: an asyncio worker beside C workers, and one Python program that
# submits 10,000 tasks and reads every result back.
. "$(dirname "$0")/../lib.sh"
PY=/usr/bin/python3
export PYTHONPATH="$T_ROOT/bindings/python" SLUICE_LIB="$T_ROOT/lib/libsluice.so"
EX="$T_ROOT/bindings/python/examples"
# a SANITIZE=... build: python3 is not instrumented, so the ASan runtime must
# be preloaded to load libsluice.so. Only python3's leak check is off: CPython
# does not free its heap at exit (hundreds of reports from the interpreter
# itself), and every stack runs through it, so no suppression could keep ours.
# Memory errors and UB stay fatal here; the C programs and unit tests check
# libsluice's own leaks.
PYCMD=("$PY")
ldd "$T_ROOT/lib/libsluice.so" | grep -q libasan \
    && PYCMD=(env "LD_PRELOAD=$(cc -print-file-name=libasan.so)"
              "ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0" "$PY")

# 1. an asyncio worker and a C worker share one batch
T=$(t_ep tasks); R=$(t_ep results); C=$(t_ep control)
t_start sink "$SINK" -q --results "$R" --control "$C"; sink=$T_LAST
t_start pyworker "${PYCMD[@]}" "$EX/async_worker.py" ">$T" ">$R" 4; pyw=$T_LAST
# the C worker runs a command per task (not --echo, which would take the
# whole batch in one credit before the Python worker has connected)
t_start cworker "$WORKER" -q --exec 'printf %s {}' -j 2 --tasks "$T" --results "$R"; cw=$T_LAST
# letters so the Python worker's upper-casing is visible: task i is "t<i>"
seq 1 5000 | sed 's/^/t/' > "$T_DIR/in.txt"
t_start vent "$VENT" -q --tasks "$T" --control "$C" "$T_DIR/in.txt"; vent=$T_LAST
t_rc vrc "$vent" 60; t_eq "asyncio worker: ventilator exit code" "$vrc" 0
t_rc src "$sink" 20; t_eq "asyncio worker: sink exit code" "$src" 0
# each line is t<i> (C worker) or T<i> (Python worker): fold case, compare
tr 'T' 't' < "$T_DIR/sink.out" > "$T_DIR/folded.txt"
t_same_set "asyncio worker: every task exactly once" "$T_DIR/folded.txt" "$T_DIR/in.txt"
py_served=$(grep -c '^T' "$T_DIR/sink.out")
t_check "asyncio worker served tasks ($py_served of 5000)" [ "$py_served" -gt 0 ]
t_check "C worker served tasks ($((5000 - py_served)) of 5000)" [ "$py_served" -lt 5000 ]
kill -TERM "$pyw"
t_rc prc "$pyw" 10; t_eq "asyncio worker stops on SIGTERM" "$prc" 0
t_check "asyncio worker reports what it served" grep -q "^served $py_served\$" "$T_DIR/pyworker.err"
kill -TERM "$cw"; t_rc crc "$cw" 10

# 2. one Python program submits 10,000 tasks and reads all results back
T2=$(t_ep tasks2); R2=$(t_ep results2); C2=$(t_ep control2)
t_start w1 "$WORKER" -q --echo --tasks ">$T2" --results ">$R2"; w1=$T_LAST
t_start w2 "$WORKER" -q --echo --tasks ">$T2" --results ">$R2"; w2=$T_LAST
t_start pipeline "${PYCMD[@]}" "$EX/pipeline.py" 10000 "$T2" "$R2" "$C2"; pl=$T_LAST
t_rc plrc "$pl" 60; t_eq "pipeline.py exit code" "$plrc" 0
seq 1 10000 | awk '{ print $1 "\t" $1 }' > "$T_DIR/want2.txt"
t_same_set "pipeline.py: every result exactly once" "$T_DIR/pipeline.out" "$T_DIR/want2.txt"
kill -TERM "$w1" "$w2"; t_rc r1 "$w1" 10; t_rc r2 "$w2" 10

# 3. a bad option is an Error naming it, not a crash
out=$("${PYCMD[@]}" -c 'import sluice; sluice.Worker(jobs="many")' 2>&1)
t_check "bad option raises sluice.Error naming the value" grep -q "sluice.Error: .*many" <<<"$out"
t_done
