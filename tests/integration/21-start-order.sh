#!/usr/bin/env bash
# 21-start-order: the three programs may start in any order. Each of the six
# orders of (ventilator, worker, sink) runs 1,000 tasks; a short delay
# between starts only forces the order - nothing needs it. Two orders are
# repeated on loopback tcp, where connecting before the bind means retrying.
. "$(dirname "$0")/../lib.sh"

# rc_of VAR PID SECS : t_wait run in this shell (not inside $(...)), its
# answer - exit code or "timeout" - stored in VAR
rc_of () { t_wait "$2" "$3" > "$T_DIR/.rc_of"; read -r "$1" < "$T_DIR/.rc_of"; }

seq 1 1000 > "$T_DIR/in"

# run_order NAME ORDER TRANSPORT : ORDER is a string of v, w, s.
run_order () {
    local name=$1 order=$2 transport=$3 tasks results control role vent sink worker
    if [ "$transport" = tcp ]; then
        tasks=tcp://127.0.0.1:$(t_port)
        results=tcp://127.0.0.1:$(t_port)
        control=tcp://127.0.0.1:$(t_port)
    else
        tasks=$(t_ep "$name-t") results=$(t_ep "$name-r") control=$(t_ep "$name-c")
    fi
    local first=1
    for role in $(echo "$order" | fold -w1); do
        [ "$first" = 1 ] || sleep 0.3
        first=0
        case $role in
            v) t_start "$name-vent" "$VENT" --tasks "$tasks" --control "$control" "$T_DIR/in"
               vent=$T_LAST ;;
            w) t_start "$name-worker" "$WORKER" --echo --tasks "$tasks" --results "$results"
               worker=$T_LAST ;;
            s) t_start "$name-sink" "$SINK" --results "$results" --control "$control"
               sink=$T_LAST ;;
        esac
    done
    local rc_v rc_s
    rc_of rc_v "$vent" 60
    rc_of rc_s "$sink" 20
    kill -TERM "$worker" 2>/dev/null
    t_wait "$worker" 10 > /dev/null
    t_eq "$name ($transport, start order $order): ventilator exit" "$rc_v" 0
    t_eq "$name ($transport, start order $order): sink exit" "$rc_s" 0
    t_same_set "$name ($transport, start order $order): result set" "$T_DIR/$name-sink.out" "$T_DIR/in"
}

for order in vws vsw wvs wsv svw swv; do
    run_order "ipc-$order" "$order" ipc
done
run_order tcp-wvs wvs tcp
run_order tcp-svw svw tcp

t_done
