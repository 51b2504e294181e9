#!/usr/bin/env bash
# 22-exec: worker --exec - {} substitution, appended payload, --pipe,
# payloads the shell must not interpret, multi-line, binary and large
# output, failing commands, and the jsonl record fields.
. "$(dirname "$0")/../lib.sh"

# rc_of VAR PID SECS : t_wait run in this shell (not inside $(...)), its
# answer - exit code or "timeout" - stored in VAR
rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }
PY=/usr/bin/python3

# run_batch NAME INPUT_FILE : one sink (args in SARGS), one worker (args in
# WARGS), ventilator (extra args in VARGS) reading INPUT_FILE. Sets RC_V,
# RC_S; outputs in $T_DIR/NAME-{sink,vent,worker}.{out,err}.
SARGS=() WARGS=() VARGS=()
run_batch () {
    local name=$1 input=$2 tasks results control vent sink worker
    tasks=$(t_ep "$name-t") results=$(t_ep "$name-r") control=$(t_ep "$name-c")
    t_start "$name-sink" "$SINK" --results "$results" --control "$control" "${SARGS[@]}"
    sink=$T_LAST
    t_start "$name-worker" "$WORKER" --tasks "$tasks" --results "$results" "${WARGS[@]}"
    worker=$T_LAST
    t_start "$name-vent" "$VENT" --tasks "$tasks" --control "$control" "${VARGS[@]}" "$input"
    vent=$T_LAST
    rc_of RC_V "$vent" 60
    rc_of RC_S "$sink" 20
    kill -TERM "$worker" 2>/dev/null
    t_wait "$worker" 10 > /dev/null
    if [ "$RC_V" = timeout ] || [ "$RC_S" = timeout ]; then
        for f in "$T_DIR/$name"-*.err; do echo "# $f:"; tail -n 5 "$f"; done
    fi
    SARGS=() WARGS=() VARGS=()
}

# 1. {} replaced by the quoted payload
printf '%s\n' a bb 'c c' '' > "$T_DIR/braces.in"
WARGS=(-j 4 --exec 'echo x{}y')
run_batch braces "$T_DIR/braces.in"
printf '%s\n' xay xbby 'xc cy' xy > "$T_DIR/braces.want"
t_eq "{}: exits" "$RC_V/$RC_S" 0/0
t_same_set "{}: replaced by the payload" "$T_DIR/braces-sink.out" "$T_DIR/braces.want"

# 2. without {} the payload is appended as the last argument
printf '%s\n' one two three > "$T_DIR/append.in"
WARGS=(-j 2 --exec 'printf "%s-"')
run_batch append "$T_DIR/append.in"
printf '%s\n' one- two- three- > "$T_DIR/append.want"
t_eq "appended: exits" "$RC_V/$RC_S" 0/0
t_same_set "appended: payload is the last argument" "$T_DIR/append-sink.out" "$T_DIR/append.want"

# 3. --pipe: payload on stdin, command used as is
printf '%s\n' hello 'Mixed Case' 'with {} braces' > "$T_DIR/pipe.in"
WARGS=(-j 2 --pipe --exec 'tr a-z A-Z')
run_batch pipe "$T_DIR/pipe.in"
printf '%s\n' HELLO 'MIXED CASE' 'WITH {} BRACES' > "$T_DIR/pipe.want"
t_eq "--pipe tr: exits" "$RC_V/$RC_S" 0/0
t_same_set "--pipe tr: payload on stdin" "$T_DIR/pipe-sink.out" "$T_DIR/pipe.want"

printf '%s\n' '' a abcdef "$(printf 'x%.0s' $(seq 1 100))" > "$T_DIR/wc.in"
WARGS=(-j 2 --pipe --exec 'wc -c')
SARGS=(-k)
run_batch wc "$T_DIR/wc.in"
printf '%s\n' 1 2 7 101 > "$T_DIR/wc.want"
t_eq "--pipe wc -c: exits" "$RC_V/$RC_S" 0/0
t_check "--pipe wc -c: the payload's bytes and its newline (GNU parallel --pipe -N1: the record whole)" \
    cmp -s <(tr -d ' ' < "$T_DIR/wc-sink.out") "$T_DIR/wc.want"
WARGS=(-j 2 --pipe --exec 'read -r line && echo "got $line"')
SARGS=()
run_batch read "$T_DIR/pipe.in"
t_eq "--pipe read: exits" "$RC_V/$RC_S" 0/0
sed 's/^/got /' "$T_DIR/pipe.in" > "$T_DIR/read.want"
t_same_set "--pipe read: read(1) takes each record (it ends in a newline)" "$T_DIR/read-sink.out" \
    "$T_DIR/read.want"

# 4. payloads the shell must not interpret: quotes, $(...), backticks, ;, globs
cd "$T_DIR" || exit 1
cat > "$T_DIR/evil.in" <<'EOF'
two  spaces   here
it's a "quoted" 'thing'
$(touch PWNED1)
`touch PWNED2`
; touch PWNED3
| touch PWNED4 && echo no
$HOME ${PATH} $1 $@ $$
back\slash \n \\ \'
* ? [a-z] ~
'"'"'
EOF
WARGS=(-j 4 --exec 'printf "%s\n" {}')
run_batch evil-braces "$T_DIR/evil.in"
t_eq "shell-special payloads with {}: exits" "$RC_V/$RC_S" 0/0
t_same_set "shell-special payloads with {}: output is the payload verbatim" \
    "$T_DIR/evil-braces-sink.out" "$T_DIR/evil.in"
WARGS=(-j 4 --exec 'printf "%s\n"')
run_batch evil-append "$T_DIR/evil.in"
t_eq "shell-special payloads appended: exits" "$RC_V/$RC_S" 0/0
t_same_set "shell-special payloads appended: output is the payload verbatim" \
    "$T_DIR/evil-append-sink.out" "$T_DIR/evil.in"
t_check "nothing in a payload was executed" \
    test -z "$(find "$T_DIR" / -maxdepth 1 -name 'PWNED*' 2>/dev/null)"
cd - > /dev/null || exit 1

# 5. multi-line output: one record per task, lines kept together with -k
printf '%s\n' 3 1 4 2 > "$T_DIR/multi.in"
WARGS=(-j 4 --exec 'seq {}')
SARGS=(-k)
run_batch multi "$T_DIR/multi.in"
{ seq 3; seq 1; seq 4; seq 2; } > "$T_DIR/multi.want"
t_eq "multi-line output: exits" "$RC_V/$RC_S" 0/0
t_check "multi-line output: every line, in task order" \
    cmp -s "$T_DIR/multi-sink.out" "$T_DIR/multi.want"

# 6. binary output (NUL and 0xff bytes) survives, checked via --format msgpack
printf '%s\n' ab cd ef > "$T_DIR/bin.in"
WARGS=(-j 2 --exec 'printf "%s\000\377\n" {}')
SARGS=(--format msgpack)
run_batch bin "$T_DIR/bin.in"
t_eq "binary output: exits" "$RC_V/$RC_S" 0/0
t_check "binary output: msgpack records hold the exact bytes" $PY - "$T_DIR/bin-sink.out" <<'EOF'
import msgpack, sys
recs = list(msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False))
got = sorted((r["id"], r["output"], r["status"]) for r in recs)
want = [(1, b"ab\x00\xff\n", "ok"), (2, b"cd\x00\xff\n", "ok"), (3, b"ef\x00\xff\n", "ok")]
if got != want:
    print("got", got, file=sys.stderr)
    sys.exit(1)
EOF

# 7. large output: 1 MiB from one task
printf '%s\n' 1048576 5 > "$T_DIR/big.in"
WARGS=(-j 2 --exec 'head -c {} /dev/zero | tr "\000" x')
SARGS=(-k -o "$T_DIR/big.out")
run_batch big "$T_DIR/big.in"
{ head -c 1048576 /dev/zero | tr '\000' x; echo; echo xxxxx; } > "$T_DIR/big.want"
t_eq "1 MiB output: exits" "$RC_V/$RC_S" 0/0
t_check "1 MiB output: written whole (-o FILE)" cmp -s "$T_DIR/big.out" "$T_DIR/big.want"
t_check "1 MiB output: nothing on stdout with -o" test ! -s "$T_DIR/big-sink.out"

# 8. failing commands: sink and ventilator exit 1, stderr names task and status
printf '%s\n' 0 3 0 7 > "$T_DIR/fail.in"
WARGS=(-j 2 --exec 'echo out{}; exit {}')
run_batch fail "$T_DIR/fail.in"
t_eq "failing commands: ventilator exit 1" "$RC_V" 1
t_eq "failing commands: sink exit 1" "$RC_S" 1
t_check "failing commands: sink stderr names task 2 and exit 3" \
    grep -Eq 'task 2 .*exit 3' "$T_DIR/fail-sink.err"
t_check "failing commands: sink stderr names task 4 and exit 7" \
    grep -Eq 'task 4 .*exit 7' "$T_DIR/fail-sink.err"
t_check "failing commands: successful tasks not reported as failed" \
    bash -c "! grep -Eq 'task [13] ' '$T_DIR/fail-sink.err'"
t_check "failing commands: summaries count 2 failed" \
    bash -c "grep -q '4 tasks, 2 failed' '$T_DIR/fail-sink.err' && grep -q '4 tasks, 2 failed' '$T_DIR/fail-vent.err'"

printf '%s\n' a > "$T_DIR/fail1.in"
WARGS=(--exec "sh -c 'exit 3'")
run_batch fail1 "$T_DIR/fail1.in"
t_eq "sh -c 'exit 3': exits 1/1" "$RC_V/$RC_S" 1/1
t_check "sh -c 'exit 3': sink stderr says task 1, exit 3" \
    grep -Eq 'task 1 .*exit 3' "$T_DIR/fail1-sink.err"

# 9. jsonl: every field, for successes and failures
printf '%s\n' 0 5 'he said "hi"' > "$T_DIR/json.in"
WARGS=(-j 3 --exec 'printf "[%s]\n" {}; case {} in 5) exit 5;; esac')
SARGS=(--format jsonl)
run_batch json "$T_DIR/json.in"
t_eq "jsonl: exits (one task fails)" "$RC_V/$RC_S" 1/1
t_check "jsonl: fields id, input, status, exit_code, attempts, worker, elapsed, output, stderr" \
    $PY - "$T_DIR/json-sink.out" <<'EOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
bad = []
want_keys = {"id", "input", "status", "exit_code", "attempts", "worker", "elapsed", "output",
             "stderr"}
for r in recs:
    if set(r) != want_keys: bad.append(("keys", sorted(r)))
    if not isinstance(r["elapsed"], (int, float)) or r["elapsed"] < 0: bad.append(("elapsed", r))
    if not isinstance(r["worker"], str) or not r["worker"]: bad.append(("worker", r))
    if r["attempts"] != 1: bad.append(("attempts", r))
got = sorted((r["id"], r["input"], r["status"], r["exit_code"], r["output"]) for r in recs)
want = [(1, "0", "ok", 0, "[0]\n"), (2, "5", "exit", 5, "[5]\n"),
        (3, 'he said "hi"', "ok", 0, '[he said "hi"]\n')]
if got != want: bad.append(("records", got))
for b in bad: print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF

t_done
