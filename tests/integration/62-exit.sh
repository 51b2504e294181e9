#!/usr/bin/env bash
# 62-exit: a finished program exits at once. CZMQ's zsys_shutdown sleeps
# 200 ms when it finds one of its sockets still open at exit, and the ZAP
# handler's zactor closed its end of the pipe only after zactor_destroy had
# returned: 1 exit in 5 of a one-task job took ~230 ms instead of ~25 ms.
# The handler is now a thread that is joined. 30 one-task jobs; each must
# print its result and exit 0, and at most 2 may take 150 ms more than the
# median (the old code: about 6 of 30; a machine that is busy for a moment
# is allowed a few). SLUICE_BIN=path runs another sluice.
. "$(dirname "$0")/../lib.sh"
S=${SLUICE_BIN:-$T_ROOT/sluice/sluice}
export TMPDIR="$T_DIR/tmp"
mkdir -p "$TMPDIR"
runs=30 bad=0
: > "$T_DIR/ms"
for i in $(seq 1 "$runs"); do
    start=$(t_now_ms)
    echo "$i" | timeout 20 "$S" -q 'echo x{}' > "$T_DIR/out" 2> "$T_DIR/err"
    rc=$?
    echo $(( $(t_now_ms) - start )) >> "$T_DIR/ms"
    [ "$rc" = 0 ] && [ "$(cat "$T_DIR/out")" = "x$i" ] || bad=$((bad + 1))
done
t_eq "every one-task job printed its result and exited 0" "$bad" 0
median=$(sort -n "$T_DIR/ms" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
slow=$(awk -v m="$median" '$1 >= m + 150' "$T_DIR/ms" | wc -l)
echo "# one-task job ms: median $median; $(sort -n "$T_DIR/ms" | tr '\n' ' ')" >&2
t_check "at most 2 of $runs one-task jobs took 150 ms over the median $median ms ($slow did)" \
    test "$slow" -le 2
t_check "no file left in TMPDIR" test -z "$(ls -A "$TMPDIR")"
t_done
