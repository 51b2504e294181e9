#!/usr/bin/env bash
# 20-basic: the plain pipeline - exact result sets with one and three
# workers, --keep-order, several input files, NUL-delimited input, and an
# empty batch.
. "$(dirname "$0")/../lib.sh"

# rc_of VAR PID SECS : t_wait run in this shell (not inside $(...)), its
# answer - exit code or "timeout" - stored in VAR
rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

# with_stdin FILE CMD... : exec CMD reading FILE (for t_start, whose
# background commands otherwise read /dev/null)
with_stdin () { local file=$1; shift; exec "$@" < "$file"; }

# run_batch NAME NWORKERS "SINK ARGS" "WORKER ARGS" VENT_ARGS...
# Starts a sink and NWORKERS workers on fresh ipc endpoints, runs the
# ventilator with VENT_ARGS (stdin from the file $STDIN), and waits for
# both. Sets RC_V and RC_S; the sink's stdout is $T_DIR/NAME-sink.out.
run_batch () {
    local name=$1 nworkers=$2 sink_args=$3 worker_args=$4; shift 4
    local tasks results control i vent sink workers=()
    tasks=$(t_ep "$name-t") results=$(t_ep "$name-r") control=$(t_ep "$name-c")
    # shellcheck disable=SC2086
    t_start "$name-sink" "$SINK" --results "$results" --control "$control" $sink_args
    sink=$T_LAST
    for i in $(seq 1 "$nworkers"); do
        # shellcheck disable=SC2086
        t_start "$name-worker$i" "$WORKER" --tasks "$tasks" --results "$results" $worker_args
        workers+=("$T_LAST")
    done
    t_start "$name-vent" with_stdin "$STDIN" "$VENT" --tasks "$tasks" --control "$control" "$@"
    vent=$T_LAST
    rc_of RC_V "$vent" 60
    rc_of RC_S "$sink" 20
    for i in "${workers[@]}"; do kill -TERM "$i" 2>/dev/null; done
    for i in "${workers[@]}"; do t_wait "$i" 10 > /dev/null; done
    return 0
}

seq 1 10000 > "$T_DIR/in10k"
STDIN=/dev/null

# 1. one worker
run_batch one 1 "" "--echo" "$T_DIR/in10k"
t_eq "1 worker: ventilator exit" "$RC_V" 0
t_eq "1 worker: sink exit" "$RC_S" 0
t_same_set "1 worker: output set equals input set" "$T_DIR/one-sink.out" "$T_DIR/in10k"

# 2. three workers, input on stdin
STDIN=$T_DIR/in10k run_batch three 3 "" "--echo"
t_eq "3 workers: ventilator exit" "$RC_V" 0
t_eq "3 workers: sink exit" "$RC_S" 0
t_same_set "3 workers: output set equals input set" "$T_DIR/three-sink.out" "$T_DIR/in10k"

# 3. --keep-order with three workers: exactly seq order
run_batch ordered 3 "-k" "--echo" "$T_DIR/in10k"
t_eq "-k: ventilator exit" "$RC_V" 0
t_eq "-k: sink exit" "$RC_S" 0
t_check "-k: output is exactly the input, in order" cmp -s "$T_DIR/ordered-sink.out" "$T_DIR/in10k"

# 4. two FILE arguments, read in order (checked with -k)
seq 1 4000 > "$T_DIR/part1"
seq 4001 10000 > "$T_DIR/part2"
run_batch files 2 "-k" "--echo" "$T_DIR/part1" "$T_DIR/part2"
t_eq "two files: ventilator exit" "$RC_V" 0
t_eq "two files: sink exit" "$RC_S" 0
t_check "two files: both read, first file first" cmp -s "$T_DIR/files-sink.out" "$T_DIR/in10k"

# 4b. a last line without a newline is still a task; "-" means stdin
printf 'x1\nx2\nx3' > "$T_DIR/noeol"
printf 'y1\ny2\n' > "$T_DIR/stdin.in"
STDIN=$T_DIR/stdin.in run_batch dash 1 "" "--echo" "$T_DIR/noeol" -
printf 'x1\nx2\nx3\ny1\ny2\n' > "$T_DIR/dash.want"
t_eq "file + stdin: ventilator exit" "$RC_V" 0
t_eq "file + stdin: sink exit" "$RC_S" 0
t_same_set "file + stdin ('-'), unterminated last line" "$T_DIR/dash-sink.out" "$T_DIR/dash.want"

# 5. -0: NUL-delimited records, which may hold newlines and spaces
printf 'alpha beta\0line one\nline two\0\0tab\there\0last' > "$T_DIR/nul.in"
run_batch nul 2 "--format jsonl" "--echo" -0 "$T_DIR/nul.in"
t_eq "-0: ventilator exit" "$RC_V" 0
t_eq "-0: sink exit" "$RC_S" 0
/usr/bin/python3 - "$T_DIR/nul-sink.out" > "$T_DIR/nul.got" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
for r in sorted(recs, key=lambda r: r["id"]):
    print(r["id"], repr(r["output"]), r["status"])
EOF
cat > "$T_DIR/nul.want" <<'EOF'
1 'alpha beta' ok
2 'line one\nline two' ok
3 '' ok
4 'tab\there' ok
5 'last' ok
EOF
t_check "-0: five records, embedded newline and empty record kept" \
    cmp -s "$T_DIR/nul.got" "$T_DIR/nul.want"
cmp -s "$T_DIR/nul.got" "$T_DIR/nul.want" || diff "$T_DIR/nul.got" "$T_DIR/nul.want" | head

# 6. empty input: 0 tasks complete at once with exit 0 and empty output
run_batch empty 1 "" "--echo"
t_eq "empty input: ventilator exit" "$RC_V" 0
t_eq "empty input: sink exit" "$RC_S" 0
t_check "empty input: output is empty" test ! -s "$T_DIR/empty-sink.out"

t_done
