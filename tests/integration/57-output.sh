#!/usr/bin/env bash
# 57-output: output that keeps every byte, and each task's stderr (protocol
# 4). --format raw round-trips a gzip stream (sink and sluice); jsonl is
# strict UTF-8, a field that is not as KEY_base64; task stderr is tagged,
# never interleaved, bounded (--stderr-max), in the jsonl, or inherited;
# a failure line says why; sluice cat of a msgpack stream equals the
# formats written directly; -q silences the per-task failure lines only.
. "$(dirname "$0")/../lib.sh"

SLUICE="$T_ROOT/sluice/sluice"
PY=/usr/bin/python3
rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

# run_batch NAME INPUT_FILE : sink (SARGS), worker (WARGS), ventilator
# reading INPUT_FILE. Sets RC_V, RC_S; $T_DIR/NAME-{sink,vent,worker}.{out,err}.
SARGS=() WARGS=()
run_batch () {
    local name=$1 input=$2 tasks results control vent sink worker
    tasks=$(t_ep "$name-t") results=$(t_ep "$name-r") control=$(t_ep "$name-c")
    t_start "$name-sink" "$SINK" --results "$results" --control "$control" "${SARGS[@]}"
    sink=$T_LAST
    t_start "$name-worker" "$WORKER" --tasks "$tasks" --results "$results" "${WARGS[@]}"
    worker=$T_LAST
    t_start "$name-vent" "$VENT" --tasks "$tasks" --control "$control" "$input"
    vent=$T_LAST
    rc_of RC_V "$vent" 60
    rc_of RC_S "$sink" 20
    kill -TERM "$worker" 2>/dev/null
    t_wait "$worker" 10 > /dev/null
    SARGS=() WARGS=()
}

# 1. a gzip -c stream through --format raw decompresses byte-identical
head -c 300000 /dev/urandom > "$T_DIR/blob"
gzip -c "$T_DIR/blob" > "$T_DIR/blob.direct.gz"
echo "$T_DIR/blob" > "$T_DIR/gz.in"
SARGS=(--format raw -o "$T_DIR/gz-sink.gz") WARGS=(--exec 'gzip -c')
run_batch gz "$T_DIR/gz.in"
t_eq "raw via sink: exits" "$RC_V/$RC_S" 0/0
t_check "raw via sink: the gzip stream is byte for byte gzip -c's" \
    cmp -s "$T_DIR/gz-sink.gz" "$T_DIR/blob.direct.gz"
t_check "raw via sink: it decompresses to the file" \
    cmp -s <(gzip -dc "$T_DIR/gz-sink.gz") "$T_DIR/blob"
"$SLUICE" --format raw gzip -c ::: "$T_DIR/blob" > "$T_DIR/gz-sluice.gz" 2> "$T_DIR/gz-sluice.err"
t_eq "raw via sluice: exits 0" "$?" 0
t_check "raw via sluice: decompresses byte-identical" \
    cmp -s <(gzip -dc "$T_DIR/gz-sluice.gz") "$T_DIR/blob"
"$SLUICE" --format lines gzip -c ::: "$T_DIR/blob" > "$T_DIR/gz-lines.gz" 2> /dev/null
t_check "lines still adds a newline (the damage raw avoids)" \
    [ "$(stat -c %s "$T_DIR/gz-lines.gz")" -gt "$(stat -c %s "$T_DIR/blob.direct.gz")" ]

# 2. jsonl: valid UTF-8 always; c3 a9 and e9 stay distinct; base64 round trip
"$SLUICE" -k --format jsonl printf ::: '\303\251' '\351' '\037\213\010\000' 'plain' \
    > "$T_DIR/utf.jsonl" 2> "$T_DIR/utf.err"
t_eq "jsonl of binary: exits 0" "$?" 0
check_utf () {
    "$PY" - "$T_DIR/utf.jsonl" <<'PYEOF'
import base64, json, sys
raw = open(sys.argv[1], "rb").read()
recs = [json.loads(line) for line in raw.decode("utf-8", errors="strict").splitlines()]
out = [r["output"].encode() if "output" in r else base64.b64decode(r["output_base64"])
       for r in recs]
assert out == [b"\xc3\xa9", b"\xe9", b"\x1f\x8b\x08\x00", b"plain"], out
assert "output" in recs[0] and "output_base64" in recs[1], recs
assert "output_base64" in recs[2] and recs[3]["output"] == "plain", recs
PYEOF
}
t_check "jsonl: strict UTF-8, é vs \\xe9 distinct, base64 decodes to the bytes" check_utf

# 3. task stderr: tagged, each task's lines together, though written slowly
#    by concurrent tasks
printf '%s\n' 'for i in 1 2 3 4; do echo "line $i of $1" >&2; sleep 0.05; done; echo done $1' \
    > "$T_DIR/slow.sh"
"$SLUICE" -j 4 --format jsonl sh "$T_DIR/slow.sh" ::: a b c d e f > "$T_DIR/slow.jsonl" 2> "$T_DIR/slow.err"
t_eq "slow stderr: exits 0" "$?" 0
check_grouped () {
    "$PY" - "$T_DIR/slow.err" "$T_DIR/slow.jsonl" <<'PYEOF'
import json, re, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.startswith("[task ")]
assert len(lines) == 24, lines
for k in range(0, 24, 4):
    m = re.match(r"\[task (\d+)\] line 1 of (\w)$", lines[k])
    assert m, lines[k]
    want = ["[task %s] line %d of %s" % (m[1], i, m[2]) for i in range(1, 5)]
    assert lines[k:k + 4] == want, (lines[k:k + 4], want)
recs = [json.loads(l) for l in open(sys.argv[2])]
assert len(recs) == 6
for r in recs:
    x = r["output"].split()[1]
    assert r["stderr"] == "".join("line %d of %s\n" % (i, x) for i in range(1, 5)), r
PYEOF
}
t_check "slow stderr: tagged [task N], never interleaved; in the jsonl as stderr" check_grouped

# 4. the bound: 1 MB of stderr is cut at --stderr-max and counted
printf '%s\n' 'head -c 1000000 /dev/zero | tr "\0" e >&2; echo ok' > "$T_DIR/big.sh"
"$SLUICE" --stderr-max 1K --format jsonl sh "$T_DIR/big.sh" ::: big > "$T_DIR/big.jsonl" 2> "$T_DIR/big.err"
t_eq "1 MB stderr: exits 0" "$?" 0
check_big () {
    "$PY" - "$T_DIR/big.jsonl" <<'PYEOF'
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["stderr"] == "e" * 1024 and r["stderr_dropped"] == 1000000 - 1024, r.keys()
assert r["output"] == "ok\n"
PYEOF
}
t_check "1 MB stderr: 1024 bytes kept, the rest counted in stderr_dropped" check_big
t_check "1 MB stderr: a truncation marker on sluice's stderr" \
    grep -q '^\[task 1\] ... stderr truncated: 998976 more bytes dropped' "$T_DIR/big.err"
t_check "1 MB stderr: sluice's stderr holds the kept part only" \
    [ "$(wc -c < "$T_DIR/big.err")" -lt 4096 ]

# 5. --stderr inherit: today's pass-through, untagged, not in the jsonl
echo 'echo plain-err >&2' > "$T_DIR/plain.sh"
"$SLUICE" --stderr inherit --format jsonl sh "$T_DIR/plain.sh" ::: x \
    > "$T_DIR/inherit.jsonl" 2> "$T_DIR/inherit.err"
t_check "--stderr inherit: the line passes through untagged" \
    grep -qx 'plain-err' "$T_DIR/inherit.err"
t_check "--stderr inherit: jsonl stderr is empty" grep -q '"stderr":""}' "$T_DIR/inherit.jsonl"

# 6. a failure line says why: exit code and the last line of its stderr
"$SLUICE" sha256sum ::: "$T_DIR/nofile" > /dev/null 2> "$T_DIR/fail.err"
t_eq "failure: exits 1" "$?" 1
t_check "failure: the line names the exit code and the reason" \
    grep -q "task 1 failed (exit 1, attempt 1): $T_DIR/nofile: sha256sum: $T_DIR/nofile: No such file or directory" "$T_DIR/fail.err"
SARGS=(--format jsonl) WARGS=(--exec 'sha256sum')
echo "$T_DIR/nofile" > "$T_DIR/sinkfail.in"
run_batch sinkfail "$T_DIR/sinkfail.in"
t_check "failure via the sink: the reason is on the sink's terminal" \
    grep -q "failed (exit 1, attempt 1): .*No such file or directory" "$T_DIR/sinkfail-sink.err"

# 7. sluice cat: a msgpack stream as lines, raw and jsonl, equal to the
#    formats written directly (-k: the same order; worker and elapsed of
#    jsonl differ between runs)
echo 'printf "$1"; echo "e $1" >&2' > "$T_DIR/mixed.sh"
CMD=(sh "$T_DIR/mixed.sh")
ARGS=('\303\251\n' '\351' 'two\nlines' '\037\213\010\000' '')
for f in msgpack lines raw jsonl; do
    "$SLUICE" -k --format "$f" "${CMD[@]}" ::: "${ARGS[@]}" > "$T_DIR/direct.$f" 2> /dev/null
done
"$SLUICE" cat "$T_DIR/direct.msgpack" > "$T_DIR/cat.lines"
t_eq "sluice cat: exits 0" "$?" 0
t_check "sluice cat: lines equal the lines format" cmp -s "$T_DIR/cat.lines" "$T_DIR/direct.lines"
"$SLUICE" cat --format raw < "$T_DIR/direct.msgpack" > "$T_DIR/cat.raw"
t_check "sluice cat --format raw (stdin): equals raw" cmp -s "$T_DIR/cat.raw" "$T_DIR/direct.raw"
"$SLUICE" cat --format jsonl "$T_DIR/direct.msgpack" > "$T_DIR/cat.jsonl"
same_jsonl () {
    "$PY" - "$T_DIR/cat.jsonl" "$T_DIR/direct.jsonl" <<'PYEOF'
import json, sys
def load(p):
    recs = [json.loads(l) for l in open(p, "rb").read().decode("utf-8").splitlines()]
    for r in recs:
        del r["worker"], r["elapsed"]
    return recs
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a == b and len(a) == 5, (a, b)
PYEOF
}
t_check "sluice cat --format jsonl: equals jsonl (but worker, elapsed)" same_jsonl
"$SLUICE" cat "$T_DIR/direct.msgpack" "$T_DIR/direct.msgpack" > "$T_DIR/cat2.lines"
t_check "sluice cat FILE FILE: both, in order" \
    cmp -s "$T_DIR/cat2.lines" <(cat "$T_DIR/direct.lines" "$T_DIR/direct.lines")
head -c 20 "$T_DIR/direct.msgpack" > "$T_DIR/cut.msgpack"
"$SLUICE" cat "$T_DIR/cut.msgpack" > /dev/null 2> "$T_DIR/cut.err"
t_eq "sluice cat of a cut stream: exits 3" "$?" 3

# 8. -q silences the per-task failure warnings; exit codes and jsonl unchanged
for i in 1 2 3 4 5; do echo "nothing here $i" > "$T_DIR/g$i"; done
"$SLUICE" -k --format jsonl grep -l needle ::: "$T_DIR"/g? > "$T_DIR/loud.jsonl" 2> "$T_DIR/loud.err"
RC_LOUD=$?
"$SLUICE" -q -k --format jsonl grep -l needle ::: "$T_DIR"/g? > "$T_DIR/quiet.jsonl" 2> "$T_DIR/quiet.err"
RC_QUIET=$?
t_eq "-q: exit codes unchanged (5 failed, as parallel)" "$RC_LOUD/$RC_QUIET" 5/5
t_eq "without -q: a warning per failed task" "$(grep -c 'failed (exit 1' "$T_DIR/loud.err")" 5
t_eq "-q: no per-task warning" "$(grep -c 'failed (exit 1' "$T_DIR/quiet.err")" 0
t_check "-q: jsonl unchanged (but worker, elapsed)" \
    "$PY" -c 'import json,sys
k=lambda p:[{x:v for x,v in json.loads(l).items() if x not in ("worker","elapsed")} for l in open(p)]
sys.exit(k(sys.argv[1])!=k(sys.argv[2]))' "$T_DIR/loud.jsonl" "$T_DIR/quiet.jsonl"
SARGS=(-q --format jsonl) WARGS=(--exec 'sha256sum')
run_batch sinkquiet "$T_DIR/sinkfail.in"
t_eq "sink -q: exit code unchanged" "$RC_S" 1
t_check "sink -q: no per-task warning" \
    bash -c "! grep -q 'failed (exit' '$T_DIR/sinkquiet-sink.err'"
t_check "sink -q: the failure is in the jsonl" grep -q '"status":"exit","exit_code":1' \
    "$T_DIR/sinkquiet-sink.out"

t_done
