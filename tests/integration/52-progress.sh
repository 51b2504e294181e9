#!/usr/bin/env bash
# --progress, --bar, --eta: drawn on stderr when it is a terminal (a
# pseudo-terminal from util-linux's script), with done/total, failed and
# the final state; the total shown only once the input end is reached; at
# most ~10 redraws a second; nothing drawn when stderr is not a terminal
# unless --progress-when always (or SLUICE_PROGRESS_WHEN=always); the same
# line from the ventilator.
. "$(dirname "$0")/../lib.sh"
S="$T_ROOT/sluice/sluice"
export TMPDIR="$T_DIR/tmp"
mkdir -p "$TMPDIR"
O="$T_DIR/out"; P="$T_DIR/screen"

# t_pty CMD : run CMD (a shell string) with stdin, stdout and stderr on a
# pseudo-terminal; what it drew goes to $P, its exit code to $T_DIR/pty.rc.
t_pty () {
    script -qfec "$1; echo \$? > $T_DIR/pty.rc" /dev/null < /dev/null > "$P" 2>&1
}
t_has () { grep -qF -- "$2" "$1"; }

# --progress: counts, then the final line left on screen
t_pty "seq 1 200 | $S -q -j 2 --progress 'echo {}' > $O"
t_eq "--progress: exit code" "$(cat "$T_DIR/pty.rc")" 0
t_eq "--progress: every result" "$(wc -l < "$O")" 200
t_check "--progress: done of total drawn" t_has "$P" "sluice: 200/200 done, 0 failed"
t_check "--progress: workers connected" t_has "$P" "1 worker"
final=$(tr '\r' '\n' < "$P" | grep -a 'sluice: ' | tail -1)
t_check "--progress: final line shows the elapsed time" \
    grep -qE 'sluice: 200/200 done, 0 failed, [0-9]+/s, 1 worker, [0-9.]+ s$' <<< "$final"
t_eq "--progress: final line left on screen (ends with a newline)" \
    "$(tail -c 3 "$P" | tr '\r\n' 'RN')" "sRN"
t_check "--progress: redrawn in place (CR, erase line)" grep -qaP '\r\e\[K' "$P"

# a log line written over the progress line (the summary, a warning)
# clears it first: the cursor is at its start, and a shorter log line left
# the progress line's tail on screen ("...0.61 sker")
t_pty "seq 1 6 | $S -j 2 --progress 'sleep 0.2; echo {}' > $O"
t_check "a log line over the progress line clears it first (CR, erase line, then the line)" \
    grep -qaP '\r\e\[KI: \(sluice\) .* 6 tasks, 0 failed' "$P"
t_eq "... every log line does" "$(tr '\r' '\n' < "$P" | grep -ac '^I: \|^W: ')" "0"

# failures are counted
t_pty "seq 1 50 | $S -q -j 2 --progress 'test {} -le 45' > $O"
t_eq "failed: exit code 5 (the number failed, as parallel)" "$(cat "$T_DIR/pty.rc")" 5
t_check "failed: final state" t_has "$P" "sluice: 50/50 done, 5 failed"

# the total is "?" until the input end is reached
t_pty "(seq 1 3; sleep 1; seq 4 6) | $S -q -j 2 --progress 'echo {}' > $O"
t_check "total unknown before the input end" t_has "$P" "sluice: 3/? done"
t_check "total once the input end is reached" t_has "$P" "sluice: 6/6 done"

# at most ~10 redraws a second: a 1.5 s run draws well under 30 lines
t_pty "seq 1 30 | $S -q -j 1 --progress 'sleep 0.05; echo {}' > $O"
draws=$(grep -aoP '\r\e\[K' "$P" | wc -l)
t_check "redraws at most ~10 a second ($draws in a 1.5 s run)" \
    test "$draws" -ge 5 -a "$draws" -le 25

# --eta: the estimate while running
t_pty "seq 1 40 | $S -q -j 2 --eta 'sleep 0.02; echo {}' > $O"
t_check "--eta: ETA shown" grep -qaE 'done, 0 failed, [0-9]+/s, 1 worker, ETA [0-9]+' "$P"
t_check "--eta: final state" t_has "$P" "sluice: 40/40 done, 0 failed"

# --bar: a bar with the percentage, erased at the end
t_pty "seq 1 40 | $S -q -j 2 --bar --pipe 'sleep 0.02' > $O"
t_check "--bar: a bar and a percentage" grep -qaE '\[#*\.*\] +[0-9]+% [0-9]+/40 done' "$P"
t_check "--bar: drawn at 100% before it is erased" \
    grep -qaE '\[#+\] 100% 40/40 done, 0 failed' "$P"
t_check "--bar: erased at the end" bash -c "tail -c 4 '$P' | od -c | grep -q '033   \['"

# not a terminal: nothing drawn; unless forced
seq 1 20 | "$S" -q --progress --bar --eta 'echo {}' > "$O" 2> "$T_DIR/err"
t_eq "not a terminal: nothing drawn" "$(cat "$T_DIR/err")" ""
seq 1 20 | "$S" -q --progress --progress-when always 'echo {}' > "$O" 2> "$T_DIR/err"
t_check "--progress-when always: drawn to a file" t_has "$T_DIR/err" "sluice: 20/20 done"
seq 1 20 | SLUICE_PROGRESS=1 SLUICE_PROGRESS_WHEN=always "$S" -q 'echo {}' > "$O" 2> "$T_DIR/err"
t_check "SLUICE_PROGRESS=1 SLUICE_PROGRESS_WHEN=always: drawn" t_has "$T_DIR/err" "20/20 done"
seq 1 20 | SLUICE_PROGRESS=1 SLUICE_PROGRESS_WHEN=always "$S" -q --progress-when never 'echo {}' \
    > "$O" 2> "$T_DIR/err"
t_eq "a flag wins over the environment" "$(cat "$T_DIR/err")" ""
seq 1 20 | SLUICE_PROGRESS_WHEN=sometimes "$S" -q 'echo {}' > "$O" 2> "$T_DIR/err"
t_eq "a bad SLUICE_PROGRESS_WHEN is a usage error (255)" "$?" 255
t_pty "seq 1 20 | $S -q --progress --progress-when never 'echo {}' > $O"
t_check "--progress-when never: nothing drawn on a terminal" bash -c "! grep -qa 'done,' '$P'"

# the ventilator draws the same line (its workers and sink elsewhere)
tasks=$(t_ep tasks); results=$(t_ep results); control=$(t_ep control)
t_start sink "$SINK" -q --results "$results" --control "$control"
sink=$T_LAST
t_start worker "$WORKER" -q --echo --tasks "$tasks" --results "$results"
seq 1 500 > "$T_DIR/in"
t_pty "$VENT -q --progress --tasks $tasks --control $control $T_DIR/in"
t_eq "ventilator --progress: exit code" "$(cat "$T_DIR/pty.rc")" 0
t_check "ventilator --progress: final state" t_has "$P" "sluice: 500/500 done, 0 failed"
t_check "ventilator --progress: workers connected" t_has "$P" "1 worker"
t_eq "ventilator: sink exit code" "$(t_wait "$sink" 10)" 0
"$VENT" --help | grep -q -- '--progress-when WHEN'
t_eq "ventilator --help lists --progress-when" "$?" 0
"$S" --help | grep -q -- '--bar'
t_eq "sluice --help lists --bar" "$?" 0
t_done
