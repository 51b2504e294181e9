# tests/lib.sh - shared helpers for integration tests (source it)
#
# Each test script: `. "$(dirname "$0")/../lib.sh"`, then uses
#   t_start NAME CMD...     start a background process, remember its PID
#   t_wait PID SECS         wait for a process with a deadline; echo its rc
#   t_ep NAME               a fresh ipc:// endpoint in the test's temp dir
#   t_port                  a free loopback TCP port
#   t_check DESC COND...    assert; counts passes and failures
#   t_done                  print the summary, exit non-zero on failure
# Everything started with t_start is killed (by PID) and $T_DIR removed on
# exit, whatever happens (T_KEEP=1 in the environment keeps $T_DIR, to debug).

set -u
T_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENT="$T_ROOT/ventilator/ventilator"
WORKER="$T_ROOT/worker/worker"
SINK="$T_ROOT/sink/sink"
T_DIR=$(mktemp -d /tmp/sluice-test.XXXXXX)
T_PIDS=()
T_PASS=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)
# Sanitizer reports (make SANITIZE=...) go to $T_DIR/sanitizer.PID rather
# than to the program's stderr, so that none is lost to a 2>/dev/null or a
# $(...): t_done fails the script on any report (t_sanitizer_reports). GCC's
# UBSan ignores log_path beside ASan and writes to stderr: t_done also looks
# for its reports in every $T_DIR/*.err (and each one stops the program).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T_DIR/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T_DIR/sanitizer"
T_REPORTED=" "

t_cleanup () {
    for pid in "${T_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    # a report t_done could not see: a program that exited after it
    local late=0
    t_sanitizer_reports || late=1
    [ -n "${T_KEEP:-}" ] || rm -rf "$T_DIR"
    [ "$late" -eq 0 ] || exit 1
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# t_start NAME CMD... : run CMD in the background, stdout to $T_DIR/NAME.out,
# stderr to $T_DIR/NAME.err; sets T_LAST to its PID. A wrapper subshell
# waits for it and records its exit code in $T_DIR/rc.PID, so t_wait works
# even inside $(...), where bash cannot wait for the parent's children.
t_start () {
    local name=$1; shift
    rm -f "$T_DIR/$name.pid"
    (
        "$@" > "$T_DIR/$name.out" 2> "$T_DIR/$name.err" &
        child=$!
        echo "$child" > "$T_DIR/$name.pid.tmp" && mv "$T_DIR/$name.pid.tmp" "$T_DIR/$name.pid"
        wait "$child"
        echo $? > "$T_DIR/rc.$child.tmp" && mv "$T_DIR/rc.$child.tmp" "$T_DIR/rc.$child"
    ) 2>/dev/null &
    while [ ! -s "$T_DIR/$name.pid" ]; do sleep 0.01; done
    T_LAST=$(cat "$T_DIR/$name.pid")
    T_PIDS+=("$T_LAST")
}

# t_wait PID SECS : wait up to SECS for a process started by t_start;
# prints its exit code, or "timeout" (and kills it) if it did not exit in time.
t_wait () {
    local pid=$1 secs=$2 i=0
    while [ ! -f "$T_DIR/rc.$pid" ]; do
        if [ "$i" -ge $((secs * 20)) ]; then
            kill -KILL "$pid" 2>/dev/null
            echo timeout
            return
        fi
        sleep 0.05
        i=$((i + 1))
    done
    cat "$T_DIR/rc.$pid"
}

t_ep () { echo "ipc://$T_DIR/$1.sock"; }

t_port () {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# t_check DESC CMD... : run CMD; count a pass if it succeeds.
t_check () {
    local desc=$1; shift
    if "$@"; then
        T_PASS=$((T_PASS + 1))
        echo "ok - $T_NAME: $desc"
    else
        T_FAIL=$((T_FAIL + 1))
        echo "FAIL - $T_NAME: $desc"
    fi
}

# t_eq DESC GOT WANT : string equality check with a diff-friendly message.
t_eq () {
    if [ "$2" = "$3" ]; then
        T_PASS=$((T_PASS + 1))
        echo "ok - $T_NAME: $1"
    else
        T_FAIL=$((T_FAIL + 1))
        echo "FAIL - $T_NAME: $1: got '$2', want '$3'"
    fi
}

# t_same_set DESC FILE_GOT FILE_WANT : same lines, order ignored, duplicates count.
t_same_set () {
    if cmp -s <(sort "$2") <(sort "$3"); then
        T_PASS=$((T_PASS + 1))
        echo "ok - $T_NAME: $1"
    else
        T_FAIL=$((T_FAIL + 1))
        echo "FAIL - $T_NAME: $1: $(sort "$2" | wc -l) lines vs $(sort "$3" | wc -l) expected; first differences:"
        diff <(sort "$2") <(sort "$3") | head -5
    fi
}

# t_sanitizer_reports : print each sanitizer report written since the last
# call (ASan, LSan, UBSan: see ASAN_OPTIONS above) as a failure; false if any.
T_SANITIZER_RE=':[0-9]+:[0-9]+: runtime error: |ERROR: [A-Za-z]+Sanitizer'
t_sanitizer_reports () {
    local f rc=0
    for f in "$T_DIR"/sanitizer.* "$T_DIR"/*.err; do
        [ -f "$f" ] && [[ $T_REPORTED != *" $f "* ]] || continue
        [[ $f == *.err ]] && ! grep -qE "$T_SANITIZER_RE" "$f" && continue
        T_REPORTED+="$f "
        T_FAIL=$((T_FAIL + 1))
        rc=1
        echo "FAIL - $T_NAME: sanitizer report ${f##*/}:"
        if [[ $f == *.err ]]; then grep -m1 -A80 -E "$T_SANITIZER_RE" "$f"; else head -n 80 "$f"; fi \
            | sed 's/^/#   /'
    done
    return $rc
}

# t_show_logs : the last lines of each process's stderr ($T_DIR/*.err), so
# that a failure seen only on CI carries what the programs said
t_show_logs () {
    local f n=0
    for f in "$T_DIR"/*.err; do
        [ -s "$f" ] || continue
        n=$((n + 1)); [ "$n" -le 24 ] || { echo "#   (more logs not shown)"; break; }
        echo "#   --- ${f##*/} (last lines):"
        tail -n 12 "$f" | cut -c1-300 | sed 's/^/#   /'
    done
}

t_done () {
    t_sanitizer_reports
    [ "$T_FAIL" -eq 0 ] || t_show_logs
    echo "# $T_NAME: $T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" -eq 0 ]
}

# t_rc VAR PID SECS : like `VAR=$(t_wait PID SECS)`, but safe. Inside $(...)
# t_wait runs in a subshell, which cannot wait for this shell's children:
# for a process still running when it starts it reports -1, not the exit
# code. t_rc runs t_wait in this shell and stores its answer in VAR.
t_rc () {
    local __rc_file="$T_DIR/.rc.$2"
    t_wait "$2" "$3" > "$__rc_file"
    printf -v "$1" '%s' "$(cat "$__rc_file")"
}

# --- helpers used by tests/integration/3*.sh (appended; existing ones unchanged)

# t_now_ms : wall clock in milliseconds
t_now_ms () { date +%s%3N; }

# t_paced_seq N EVERY PAUSE [OUT] : print 1..N (to OUT, default stdout),
# flushing and sleeping PAUSE seconds after every EVERY lines, so a batch
# lasts long enough to disturb it.
T_PACED_AWK='BEGIN {
    for (i = 1; i <= n; i++) {
        print i > out
        if (i % k == 0) { fflush (out); system ("sleep " s) }
    }
    close (out)
}'
t_paced_seq () {
    awk -v n="$1" -v k="$2" -v s="$3" -v out="${4:-/dev/stdout}" "$T_PACED_AWK"
}

# t_start_paced NAME OUT N EVERY PAUSE : t_paced_seq in the background (an
# awk process started with t_start), e.g. into a FIFO the ventilator reads.
t_start_paced () {
    local name=$1 out=$2; shift 2
    t_start "$name" awk -v n="$1" -v k="$2" -v s="$3" -v out="$out" "$T_PACED_AWK"
}

# t_until SECS CMD... : poll (every 50 ms) until CMD succeeds; false on
# timeout. CMD is run as given each time: put a "$(...)" in a function.
t_until () {
    local secs=$1 i=0; shift
    until "$@"; do
        [ "$i" -ge $((secs * 20)) ] && return 1
        sleep 0.05
        i=$((i + 1))
    done
}

# t_lines_ge FILE N : FILE exists and has at least N lines (for t_until)
t_lines_ge () { [ -f "$1" ] && [ "$(wc -l < "$1")" -ge "$2" ]; }

# t_exactly_once DESC FILE N : FILE holds each of the lines 1..N exactly once
# and nothing else (no loss, no duplicate, no torn or stray line).
t_exactly_once () {
    local desc=$1 file=$2 n=$3 lines dups extra
    lines=$(wc -l < "$file")
    dups=$(sort "$file" | uniq -d | wc -l)
    extra=$(sort -u "$file" | comm -23 - <(seq "$n" | sort) | wc -l)
    t_eq "$desc: line count" "$lines" "$n"
    t_eq "$desc: duplicate lines" "$dups" 0
    t_eq "$desc: lines not in 1..$n" "$extra" 0
}

# t_vent_field ERRFILE WORD : a number from the ventilator's summary line
# ("N tasks, N failed, N re-sent, N lost, ..."), e.g. t_vent_field f re-sent
t_vent_field () {
    grep -o "[0-9]* $2" "$1" | tail -1 | cut -d' ' -f1
}
