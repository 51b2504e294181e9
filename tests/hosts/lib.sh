# tests/hosts/lib.sh - five hosts on one bridge, in network namespaces (source it)
#
# Topology (h_up): a "switch" namespace $H_P-sw holds bridge br0 and one veth
# port per host; each host namespace $H_P-NAME has eth0 with 10.77.0.X/24,
# no default route (nothing leaves the bridge), lo up, and its own
# /etc/netns/$H_P-NAME/hosts naming every host (vent-host, sink-host,
# w1-host...), so one topology file ($H_TOPO) serves every program.
#
#   h_up                     create the topology (removes stale leftovers first)
#   h_down                   remove it (always also run on exit, INT, TERM)
#   h_start NAME HOST CMD... run CMD inside HOST's namespace in the background;
#                            stdout/stderr to $H_DIR/NAME.out/.err; sets H_LAST
#                            (stdin from $H_STDIN if set, else /dev/null)
#   h_wait PID SECS          wait with a deadline; sets H_RC to its exit code
#                            or "timeout" (then kills it); not in $(...), so
#                            INT/TERM interrupt it at once
#   h_exit_ms PID            when PID exited (ms since epoch), after h_wait
#   h_link HOST down|up      the host's switch port down/up (carrier lost)
#   h_ifdown HOST down|up    the host's own eth0 down/up (its routes go too)
#   h_vanish HOST            delete the host's veth, then SIGKILL its processes
#   h_partition "A.." "B.."  drop every packet between host groups (both ways,
#                            on input, so senders see no local error)
#   h_heal_partition         remove the partition rules
#   h_shape DELAY JIT LOSS   delay/jitter (ms) and loss (%) on every host's
#                            input from the bridge (tests/hosts/nfdelay.c)
#   h_unshape                stop the injectors (prints their counters)
#   h_watch FILE             sample FILE's line count every 100 ms into
#                            $H_DIR/watch (lines "ms count") until h_unwatch
#   h_ms                     now, ms since epoch
# H_SECURITY, if set, is the body of the topology file's security section
# (e.g. '    keys = "/tmp/.../keys"'), written by h_up.
# Names are unique per run (slh<PID>-...), processes are killed by PID.

set -u
H_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENT="$H_ROOT/ventilator/ventilator"
WORKER="$H_ROOT/worker/worker"
SINK="$H_ROOT/sink/sink"
H_P="slh$$"
H_HOSTS="vent sink w1 w2 w3"
declare -A H_ADDR=([vent]=10.77.0.1 [sink]=10.77.0.2 [w1]=10.77.0.11 [w2]=10.77.0.12 [w3]=10.77.0.13)
H_DIR=$(mktemp -d /tmp/sluice-hosts.XXXXXX)
H_PIDS=()
H_SHAPERS=()
H_WATCH=""
H_TOPO="$H_DIR/topology.zpl"

h_ms () { date +%s%3N; }

# h_skip_unless_able: a visible SKIP (exit 0) when this machine cannot run it
h_skip_unless_able () {
    if [ "$(id -u)" != 0 ]; then echo "SKIP: tests/hosts needs root (ip netns)"; exit 0; fi
    if ! command -v ip > /dev/null || ! ip netns list > /dev/null 2>&1; then
        echo "SKIP: ip netns is unavailable"; exit 0
    fi
    if ! ip netns add "$H_P-probe" 2> /dev/null; then
        echo "SKIP: cannot create a network namespace here"; exit 0
    fi
    ip netns del "$H_P-probe"
}

# Remove everything of prefix $1 (this run's, or a dead run's)
h_remove_prefix () {
    local p=$1 ns pid
    for ns in $(ip netns list 2> /dev/null | awk '{print $1}' | grep "^$p-"); do
        for pid in $(ip netns pids "$ns" 2> /dev/null); do kill -KILL "$pid" 2> /dev/null; done
        ip netns del "$ns" 2> /dev/null
    done
    rm -rf /etc/netns/"$p"-* 2> /dev/null
}

h_down () {
    h_unwatch
    h_unshape > /dev/null 2>&1
    local pid
    for pid in "${H_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill -KILL "$pid" 2> /dev/null
    done
    H_PIDS=()
    h_remove_prefix "$H_P"
}

h_cleanup () {
    h_down
    wait 2> /dev/null
    [ -n "${H_KEEP:-}" ] || rm -rf "$H_DIR"
}
trap h_cleanup EXIT
trap 'exit 130' INT TERM

h_up () {
    local p ns h
    h_remove_prefix "$H_P"                 # a previous run with our PID
    for ns in $(ip netns list 2> /dev/null | awk '{print $1}' | grep -E '^slh[0-9]+-' ); do
        p=${ns%%-*}                         # a dead run's leftovers
        kill -0 "${p#slh}" 2> /dev/null || h_remove_prefix "$p"
    done
    ip netns add "$H_P-sw"
    ip -n "$H_P-sw" link set lo up
    ip -n "$H_P-sw" link add br0 type bridge
    ip -n "$H_P-sw" link set br0 up
    for h in $H_HOSTS; do
        ns="$H_P-$h"
        ip netns add "$ns"
        ip -n "$H_P-sw" link add "p-$h" type veth peer name eth0 netns "$ns"
        ip -n "$H_P-sw" link set "p-$h" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "${H_ADDR[$h]}/24" dev eth0
        ip -n "$ns" link set eth0 up
        mkdir -p "/etc/netns/$ns"
        {
            echo "127.0.0.1 localhost"
            local o
            for o in $H_HOSTS; do echo "${H_ADDR[$o]} $o-host"; done
        } > "/etc/netns/$ns/hosts"
    done
    cat > "$H_TOPO" <<'EOF'
#   The one topology file of tests/hosts, shared by all programs on all hosts
sluice
    tasks = tcp://vent-host:5557
    results = tcp://sink-host:5558
    control = tcp://sink-host:5559
EOF
    # the deployment's security section (tests/hosts/run: keys, allow, none)
    [ -n "${H_SECURITY:-}" ] && printf 'security\n%s\n' "$H_SECURITY" >> "$H_TOPO"
    # the bridge needs a moment to forward (no STP: forward delay 0 with stp off)
    ip netns exec "$H_P-vent" ping -q -c 1 -W 2 sink-host > /dev/null 2>&1 || true
}

h_ns () { echo "$H_P-$1"; }

h_start () {
    local name=$1 host=$2; shift 2
    local in=${H_STDIN:-/dev/null}
    rm -f "$H_DIR/$name.pid"
    (
        ip netns exec "$H_P-$host" "$@" < "$in" > "$H_DIR/$name.out" 2> "$H_DIR/$name.err" &
        child=$!
        echo "$child" > "$H_DIR/$name.pid.tmp" && mv "$H_DIR/$name.pid.tmp" "$H_DIR/$name.pid"
        wait "$child"
        rc=$?
        echo "$rc $(date +%s%3N)" > "$H_DIR/rc.$child.tmp" && mv "$H_DIR/rc.$child.tmp" "$H_DIR/rc.$child"
    ) 2> /dev/null &
    while [ ! -s "$H_DIR/$name.pid" ]; do sleep 0.01; done
    H_LAST=$(cat "$H_DIR/$name.pid")
    H_PIDS+=("$H_LAST")
}

h_wait () {
    local pid=$1 secs=$2 i=0
    while [ ! -f "$H_DIR/rc.$pid" ]; do
        if [ "$i" -ge $((secs * 20)) ]; then
            { echo "pid $pid at timeout: $(tr '\0' ' ' < "/proc/$pid/cmdline")";
              grep -E '^(State|SigPnd|ShdPnd|SigBlk|SigCgt)' "/proc/$pid/status"
              echo "wchan $(cat "/proc/$pid/wchan")"; cat "/proc/$pid/stack"
            } >> "$H_DIR/hung.txt" 2> /dev/null
            kill -KILL "$pid" 2> /dev/null
            H_RC=timeout
            return
        fi
        sleep 0.05
        i=$((i + 1))
    done
    H_RC=$(cut -d' ' -f1 "$H_DIR/rc.$pid")
}

h_exit_ms () { [ -f "$H_DIR/rc.$1" ] && cut -d' ' -f2 "$H_DIR/rc.$1" || echo 0; }

h_link () { ip -n "$H_P-sw" link set "p-$1" "$2"; }
h_ifdown () { ip -n "$H_P-$1" link set eth0 "$2"; }

h_vanish () {
    local pid
    ip -n "$H_P-sw" link del "p-$1"
    for pid in $(ip netns pids "$H_P-$1"); do kill -KILL "$pid" 2> /dev/null; done
}

h_partition () {
    local a b h
    for h in $1 $2; do
        ip netns exec "$H_P-$h" iptables -N SLHPART 2> /dev/null &&
            ip netns exec "$H_P-$h" iptables -I INPUT 1 -j SLHPART
    done
    for a in $1; do for b in $2; do
        ip netns exec "$H_P-$a" iptables -A SLHPART -s "${H_ADDR[$b]}" -j DROP
        ip netns exec "$H_P-$b" iptables -A SLHPART -s "${H_ADDR[$a]}" -j DROP
    done; done
}

h_heal_partition () {
    local h
    for h in $H_HOSTS; do ip netns exec "$H_P-$h" iptables -F SLHPART 2> /dev/null; done
    return 0
}

# The injector is built once per run into $H_DIR
h_injector () {
    [ -x "$H_DIR/nfdelay" ] && return 0
    cc -O2 -o "$H_DIR/nfdelay" "$H_ROOT/tests/hosts/nfdelay.c" -lnetfilter_queue -lnfnetlink
}

h_shape () {
    local delay=$1 jit=$2 loss=$3 h i=0
    h_injector || return 1
    for h in $H_HOSTS; do
        i=$((i + 1))
        h_start "nfdelay-$h" "$h" "$H_DIR/nfdelay" -q 0 -d "$delay" -j "$jit" -l "$loss" -s "$((i * 7919 + $$))"
        H_SHAPERS+=("$H_LAST:$h")
        local n=0
        until grep -q ready "$H_DIR/nfdelay-$h.err" 2> /dev/null; do
            sleep 0.02; n=$((n + 1)); [ $n -lt 250 ] || { echo "nfdelay did not start on $h" >&2; return 1; }
        done
        ip netns exec "$H_P-$h" iptables -A INPUT -i eth0 -j NFQUEUE --queue-num 0 -m comment --comment slh-shape
    done
}

h_unshape () {
    local s pid h
    for s in "${H_SHAPERS[@]:-}"; do
        [ -n "$s" ] || continue
        pid=${s%%:*}; h=${s#*:}
        ip netns exec "$H_P-$h" iptables -D INPUT -i eth0 -j NFQUEUE --queue-num 0 -m comment --comment slh-shape 2> /dev/null
        kill -TERM "$pid" 2> /dev/null
        h_wait "$pid" 4
        if [ "$H_RC" = timeout ]; then
            echo "$h: INJECTOR HUNG (no counters after SIGTERM; killed)"
        else
            echo "$h: $(tail -1 "$H_DIR/nfdelay-$h.err")"
        fi
    done
    H_SHAPERS=()
}

h_watch () {
    local file=$1
    : > "$H_DIR/watch"
    (
        while :; do
            echo "$(date +%s%3N) $(wc -l < "$file" 2> /dev/null || echo 0)"
            sleep 0.1
        done >> "$H_DIR/watch"
    ) &
    H_WATCH=$!
}

h_unwatch () {
    if [ -n "$H_WATCH" ]; then
        kill "$H_WATCH" 2> /dev/null
        wait "$H_WATCH" 2> /dev/null
        H_WATCH=""
    fi
}

# h_flow_after MS : ms from MS until the watched count first grew past its
# value at MS ("-" if it never did)
h_flow_after () {
    awk -v t="$1" '$1 < t { c = $2; next } $2 > c { print $1 - t; found = 1; exit }
                   END { if (!found) print "-" }' "$H_DIR/watch"
}

# h_recovered_after MS OUT : ms from MS until OUT held every id up to the
# largest id written by MS (so the tasks in flight at MS had all landed)
h_recovered_after () {
    local t=$1 out=$2
    awk -v t="$t" 'FNR == NR { if ($1 < t) c = $2; else { ts[++n] = $1; cs[n] = $2 }; next }
        FNR <= c { if ($1 > m) m = $1 }
        { seen[$1] = 1; while (lo + 1 <= m && ((lo + 1) in seen)) lo++
          if (FNR >= c && lo >= m) { k = FNR; exit } }
        END { if (!k) { print "-"; exit }
              for (i = 1; i <= n; i++) if (cs[i] >= k) { print ts[i] - t; exit }
              print "-" }' "$H_DIR/watch" "$out"
}
