#!/usr/bin/env bash
# 24-cli: --help and --version, usage errors (exit 2, one line naming the
# value), runtime errors (exit 3), configuration precedence (file < env <
# flag) proven by pipelines where only the effective endpoint works, and a
# tcp bind given as a host name.
. "$(dirname "$0")/../lib.sh"

# rc_of VAR PID SECS : t_wait run in this shell (not inside $(...)), its
# answer - exit code or "timeout" - stored in VAR
rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

# run_cmd CMD... : run a command that should exit at once (bounded to 10 s);
# sets RC, OUT (stdout), ERR (stderr) and ERR_LINES.
run_cmd () {
    timeout 10 "$@" > "$T_DIR/cmd.out" 2> "$T_DIR/cmd.err" < /dev/null
    RC=$?
    OUT=$(cat "$T_DIR/cmd.out")
    ERR=$(cat "$T_DIR/cmd.err")
    ERR_LINES=$(wc -l < "$T_DIR/cmd.err")
}

# usage_error DESC VALUE CMD... : exit 2, exactly one line on stderr, and
# that line names VALUE
usage_error () {
    local desc=$1 value=$2; shift 2
    run_cmd "$@"
    t_eq "$desc: exit code" "$RC" 2
    t_eq "$desc: one line on stderr" "$ERR_LINES" 1
    t_check "$desc: stderr names '$value'" grep -qF -- "$value" "$T_DIR/cmd.err"
    t_check "$desc: nothing on stdout" test -z "$OUT"
}

# --- help and version -------------------------------------------------------
for prog in ventilator worker sink; do
    bin=$T_ROOT/$prog/$prog
    run_cmd "$bin" --help
    t_eq "$prog --help: exit 0" "$RC" 0
    t_check "$prog --help: usage on stdout" grep -q "^Usage: $prog" "$T_DIR/cmd.out"
    t_check "$prog --help: nothing on stderr" test -z "$ERR"
    run_cmd "$bin" --version
    t_eq "$prog --version: exit 0" "$RC" 0
    t_check "$prog --version: '$prog (sluice) X.Y.Z' on stdout" \
        grep -Eq "^$prog \(sluice\) [0-9]+\.[0-9]+\.[0-9]+$" "$T_DIR/cmd.out"
done

# --- usage errors: exit 2, one line naming the bad value ---------------------
usage_error "ventilator --window abc" abc "$VENT" --window abc
usage_error "ventilator --window 0" "'0'" "$VENT" --window 0
usage_error "ventilator --timeout 5x" 5x "$VENT" --timeout 5x
usage_error "ventilator --max-attempts -1" "'-1'" "$VENT" --max-attempts -1
usage_error "ventilator --max-size 1" "'1'" "$VENT" --max-size 1
usage_error "ventilator --resume-failed without a record" "--resume-failed" "$VENT" --resume-failed
usage_error "ventilator --retry-failed without a record" "--retry-failed" "$VENT" --retry-failed
usage_error "worker -j 0%" "'0%'" "$WORKER" --echo -j 0%
usage_error "worker -j x" "'x'" "$WORKER" --echo -j x
usage_error "worker --task-timeout 1y" 1y "$WORKER" --exec true --task-timeout 1y
usage_error "worker --max-size 1" "'1'" "$WORKER" --echo --max-size 1
usage_error "worker with no mode" "--echo" "$WORKER" --tasks ipc:///nonexistent
usage_error "worker with two modes" "--exec" "$WORKER" --echo --exec true
usage_error "worker --pipe without --exec" "--pipe" "$WORKER" --echo --pipe
usage_error "sink --format xml" xml "$SINK" --format xml
usage_error "sink --max-size 1" "'1'" "$SINK" --max-size 1
usage_error "sink --append without -o" "--append" "$SINK" --append
usage_error "sink unexpected argument" stray "$SINK" stray
usage_error "ventilator bad endpoint flag" "nonsense" "$VENT" --tasks nonsense
usage_error "worker bad endpoint (tcp without port)" "tcp://localhost" \
    "$WORKER" --echo --results tcp://localhost
# libzmq alone would bind port 34463 (99999 modulo 65536) and say nothing
usage_error "sink port above 65535" "'tcp://127.0.0.1:99999': the port is above 65535" \
    "$SINK" --results tcp://127.0.0.1:99999 --control "$(t_ep p-c)"
usage_error "ventilator port above 65535 (SLUICE_TASKS)" "SLUICE_TASKS: invalid tasks endpoint 'tcp://127.0.0.1:70000'" \
    env SLUICE_TASKS=tcp://127.0.0.1:70000 "$VENT" /dev/null
usage_error "worker connects to port 0" "port 0 cannot be connected to" \
    "$WORKER" --echo --tasks tcp://127.0.0.1:0
usage_error "sink bad SLUICE_RESULTS" "bogus" env SLUICE_RESULTS=bogus "$SINK"
usage_error "ventilator unknown option" "--bogus" "$VENT" --bogus
usage_error "worker unknown option" "--frobnicate" "$WORKER" --echo --frobnicate
usage_error "sink unknown short option" "Z" "$SINK" -Z

# --- runtime errors: exit 3 ------------------------------------------------------
# a port held by another process (python, listening) cannot be bound
port=$(t_port)
t_start holder /usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(5)
print("ready", flush=True); time.sleep(120)' "$port"
holder=$T_LAST
i=0
until grep -q ready "$T_DIR/holder.out" 2>/dev/null || [ $i -ge 200 ]; do sleep 0.05; i=$((i + 1)); done
run_cmd "$SINK" --results "tcp://127.0.0.1:$port" --control "$(t_ep busy-c)"
t_eq "sink on a port in use: exit 3" "$RC" 3
t_check "sink on a port in use: 'cannot bind ...: Address already in use'" \
    grep -q "cannot bind tcp://127.0.0.1:$port: Address already in use" "$T_DIR/cmd.err"
run_cmd "$VENT" --tasks "tcp://127.0.0.1:$port" --control "$(t_ep busy-c2)" /dev/null
t_eq "ventilator on a port in use: exit 3" "$RC" 3
t_check "ventilator on a port in use: 'cannot bind ...: Address already in use'" \
    grep -q "cannot bind tcp://127.0.0.1:$port: Address already in use" "$T_DIR/cmd.err"
kill -KILL "$holder" 2>/dev/null

# a first sink holds the control endpoint; a second one cannot bind it
port=$(t_port)
t_start first-sink "$SINK" --results "$(t_ep first-r)" --control "tcp://127.0.0.1:$port"
first=$T_LAST
i=0
until /usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
        "$port" 2>/dev/null || [ $i -ge 100 ]; do sleep 0.05; i=$((i + 1)); done
run_cmd "$SINK" --results "$(t_ep second-r)" --control "tcp://127.0.0.1:$port"
t_eq "second sink on the first's port: exit 3" "$RC" 3
t_check "second sink: 'Address already in use'" grep -q "Address already in use" "$T_DIR/cmd.err"
kill -KILL "$first" 2>/dev/null

# a missing input file: exit 3, named, before any socket is made
run_cmd "$VENT" --tasks "$(t_ep miss-t)" --control "$(t_ep miss-c)" "$T_DIR/no-such-file"
t_eq "ventilator with a missing input file: exit 3" "$RC" 3
t_check "ventilator with a missing input file: names it" grep -q "no-such-file" "$T_DIR/cmd.err"
t_check "ventilator with a missing input file: did not bind" test ! -e "$T_DIR/miss-t.sock"

# an invalid config file path: exit 2, one line naming it
for prog in ventilator worker sink; do
    extra=(); [ "$prog" = worker ] && extra=(--echo)
    usage_error "$prog -c missing file" "$T_DIR/nope.zpl" "$T_ROOT/$prog/$prog" "${extra[@]}" -c "$T_DIR/nope.zpl"
done

# --- topology files: every name is checked against the option table ---------------
# a misspelt key would leave its option at the default in silence (and every
# task lost): exit 2, one line naming the file, the line and the key
printf 'sluice\n    tasks = "tcp://vent:5557"\n    result = "tcp://sink:5558"\n' > "$T_DIR/topology.zpl"
for prog in ventilator worker sink; do
    extra=(); [ "$prog" = worker ] && extra=(--echo)
    usage_error "$prog -c with an unknown key" "topology.zpl:3: unknown key 'result'" \
        "$T_ROOT/$prog/$prog" "${extra[@]}" -c "$T_DIR/topology.zpl"
done
printf '#   misspelt\nsluce\n    tasks = "tcp://vent:5557"\n' > "$T_DIR/section.zpl"
usage_error "sink -c with a misspelt section" "section.zpl:2: unknown section 'sluce'" \
    "$SINK" -c "$T_DIR/section.zpl"
printf 'sluice\n    window = 0\n' > "$T_DIR/badval.zpl"
usage_error "ventilator -c with a bad window" "badval.zpl:2: sluice/window: invalid window value '0'" \
    "$VENT" -c "$T_DIR/badval.zpl"
# every key of the table is accepted by every program (the file is shared)
printf 'sluice\n    tasks = "ipc://%s/k-t.sock"\n    results = "ipc://%s/k-r.sock"\n    control = "ipc://%s/k-c.sock"\n    max-size = 1M\n    window = 64\n    timeout = 5s\n    retries = 1\n    max-attempts = 3\n    jobs = 2\n    prefetch = 4\n    task-timeout = 1m\n    grace = 2s\n' \
    "$T_DIR" "$T_DIR" "$T_DIR" > "$T_DIR/keys.zpl"
t_start keys-sink "$SINK" -q -c "$T_DIR/keys.zpl"; ksink=$T_LAST
t_start keys-worker "$WORKER" -q --echo -c "$T_DIR/keys.zpl"; kworker=$T_LAST
seq 1 100 > "$T_DIR/keys.in"
run_cmd "$VENT" -q -c "$T_DIR/keys.zpl" "$T_DIR/keys.in"
t_eq "every table key in one file: ventilator exit 0" "$RC" 0
rc_of RC_S "$ksink" 10
t_eq "every table key in one file: sink exit 0" "$RC_S" 0
t_same_set "every table key in one file: result set" "$T_DIR/keys-sink.out" "$T_DIR/keys.in"
kill -TERM "$kworker" 2>/dev/null
rc_of RC_W "$kworker" 10
t_eq "every table key in one file: worker exit 0" "$RC_W" 0

# --- precedence: flag > env > file > default ---------------------------------------
# Each layer names its own ipc endpoints (in its own directory). A pipeline
# completes only if each program uses the effective endpoint; binding the
# wrong one would also leave a socket file where none should be.
mkdir -p "$T_DIR/file" "$T_DIR/env" "$T_DIR/flag"
cat > "$T_DIR/topo.zpl" <<EOF
#   sluice topology shared by all programs
sluice
    tasks = "ipc://$T_DIR/file/t.sock"
    results = "ipc://$T_DIR/file/r.sock"
    control = "ipc://$T_DIR/file/c.sock"
EOF
seq 1 500 > "$T_DIR/prec.in"

# layered_run NAME ENVS VENT_FLAGS WORKER_FLAGS SINK_FLAGS SOCKETS... : a
# 500-task pipeline, every program with -c topo.zpl, the environment ENVS
# (space-separated VAR=value) and the given flags. The binders (sink,
# ventilator) start first; once the expected SOCKETS (e.g. file/t.sock)
# exist, the socket files present are recorded - each endpoint is bound
# once, so a wrong layer shows as a missing one and a stray one - and only
# then the worker starts. Sets RC_V, RC_S; checks the result set and sockets.
layered_run () {
    local name=$1 envs=$2 vflags=$3 wflags=$4 sflags=$5 vent sink worker i=0 sock ready
    shift 5
    # shellcheck disable=SC2086
    t_start "$name-sink" env $envs "$SINK" -c "$T_DIR/topo.zpl" $sflags
    sink=$T_LAST
    # shellcheck disable=SC2086
    t_start "$name-vent" env $envs "$VENT" -c "$T_DIR/topo.zpl" $vflags "$T_DIR/prec.in"
    vent=$T_LAST
    while [ $i -lt 100 ]; do
        ready=1
        for sock in "$@"; do [ -S "$T_DIR/$sock" ] || ready=0; done
        [ $ready = 1 ] && break
        sleep 0.05; i=$((i + 1))
    done
    local got want
    got=$(cd "$T_DIR" && ls file/*.sock env/*.sock flag/*.sock 2>/dev/null | sort | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sort | tr '\n' ' ')
    t_eq "$name: endpoints bound" "$got" "$want"
    # shellcheck disable=SC2086
    t_start "$name-worker" env $envs "$WORKER" --echo -c "$T_DIR/topo.zpl" $wflags
    worker=$T_LAST
    rc_of RC_V "$vent" 20
    rc_of RC_S "$sink" 10
    kill -TERM "$worker" 2>/dev/null
    t_wait "$worker" 10 > /dev/null
    t_eq "$name: exit codes" "$RC_V/$RC_S" 0/0
    t_same_set "$name: result set" "$T_DIR/$name-sink.out" "$T_DIR/prec.in"
    rm -f "$T_DIR"/{file,env,flag}/*.sock
}

# 1. the file alone
layered_run file-only "" "" "" "" file/c.sock file/r.sock file/t.sock

# 2. the environment beats the file
ENVS="SLUICE_TASKS=ipc://$T_DIR/env/t.sock SLUICE_RESULTS=ipc://$T_DIR/env/r.sock SLUICE_CONTROL=ipc://$T_DIR/env/c.sock"
layered_run env-over-file "$ENVS" "" "" "" env/c.sock env/r.sock env/t.sock

# 3. flags beat the environment
layered_run flag-over-env "$ENVS" \
    "--tasks ipc://$T_DIR/flag/t.sock --control ipc://$T_DIR/flag/c.sock" \
    "--tasks ipc://$T_DIR/flag/t.sock --results ipc://$T_DIR/flag/r.sock" \
    "--results ipc://$T_DIR/flag/r.sock --control ipc://$T_DIR/flag/c.sock" \
    flag/c.sock flag/r.sock flag/t.sock

# 4. mixed, key by key: tasks from a flag, control from env, results from file
layered_run mixed "SLUICE_CONTROL=ipc://$T_DIR/env/c.sock" \
    "--tasks ipc://$T_DIR/flag/t.sock" "--tasks ipc://$T_DIR/flag/t.sock" "" \
    env/c.sock file/r.sock flag/t.sock

# 5. only the effective endpoint works: the ventilator's layers say env, the
#    worker is told the file's endpoint explicitly - no task can reach it,
#    so the batch must not complete
t_start wrong-sink "$SINK" --results "ipc://$T_DIR/flag/r.sock" --control "ipc://$T_DIR/flag/c.sock"
wsink=$T_LAST
t_start wrong-worker "$WORKER" --echo --tasks "ipc://$T_DIR/file/t.sock" --results "ipc://$T_DIR/flag/r.sock"
wworker=$T_LAST
t_start wrong-vent env "SLUICE_TASKS=ipc://$T_DIR/env/t.sock" "$VENT" -c "$T_DIR/topo.zpl" \
    --control "ipc://$T_DIR/flag/c.sock" "$T_DIR/prec.in"
wvent=$T_LAST
rc_of RC_V "$wvent" 3
t_eq "worker on the overridden (file) endpoint gets nothing: batch cannot complete" "$RC_V" timeout
t_check "... and the sink wrote nothing" test ! -s "$T_DIR/wrong-sink.out"
kill -KILL "$wsink" "$wworker" 2>/dev/null
rm -f "$T_DIR"/{file,env,flag}/*.sock

# --- tcp bind with a host name -----------------------------------------------------
# --tasks tcp://localhost:PORT without @: the ventilator binds (its natural
# direction) to a host name, which libzmq alone cannot do
port=$(t_port)
t_start host-sink "$SINK" --results "$(t_ep host-r)" --control "$(t_ep host-c)"
hsink=$T_LAST
t_start host-worker "$WORKER" --echo --tasks "tcp://localhost:$port" --results "$(t_ep host-r)"
hworker=$T_LAST
t_start host-vent "$VENT" --tasks "tcp://localhost:$port" --control "$(t_ep host-c)" "$T_DIR/prec.in"
rc_of RC_V "$T_LAST" 20
rc_of RC_S "$hsink" 10
kill -TERM "$hworker" 2>/dev/null
t_eq "tcp://localhost:PORT bind: exit codes" "$RC_V/$RC_S" 0/0
t_same_set "tcp://localhost:PORT bind: result set" "$T_DIR/host-sink.out" "$T_DIR/prec.in"

t_done
