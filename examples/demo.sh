#!/usr/bin/env bash
# make demo: a real pipeline on this machine. A ventilator streams 2,000
# lines to three worker processes, which hash each line with sha256sum via
# --exec; the sink writes the results in input order. Everything runs on
# 127.0.0.1 free ports and is stopped by PID at the end.
set -u
cd "$(dirname "$0")/.."
dir=$(mktemp -d /tmp/sluice-demo.XXXXXX)
pids=()
cleanup () { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
port () { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
export SLUICE_TASKS=tcp://127.0.0.1:$(port)
export SLUICE_RESULTS=tcp://127.0.0.1:$(port)
export SLUICE_CONTROL=tcp://127.0.0.1:$(port)
echo "demo: tasks $SLUICE_TASKS, results $SLUICE_RESULTS, control $SLUICE_CONTROL"

seq 1 2000 | sed 's/^/the quick brown fox #/' > "$dir/input.txt"
sink/sink -k -q > "$dir/hashes.txt" 2> "$dir/sink.err" & sink=$!; pids+=("$sink")
for i in 1 2 3; do
    worker/worker -q -j 2 --exec 'h=$(printf %s {} | sha256sum); echo {} " ${h%% *}"' \
        2> "$dir/worker$i.err" & pids+=("$!")
done
start=$(date +%s.%N)
ventilator/ventilator "$dir/input.txt"; vent_rc=$?
wait "$sink"; sink_rc=$?
secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo "?")

echo "demo: first and last results (input order, -k):"
head -3 "$dir/hashes.txt"; echo "   ..."; tail -2 "$dir/hashes.txt"
lines=$(wc -l < "$dir/hashes.txt")
# check every hash against sha256sum run here, directly
bad=0
while IFS= read -r line; do
    input=${line%  *}; got=${line##*  }
    want=$(printf %s "$input" | sha256sum | cut -d' ' -f1)
    [ "$got" = "$want" ] || bad=$((bad + 1))
done < <(sed -n '1p;500p;1000p;2000p' "$dir/hashes.txt")
echo "demo: $lines results from 3 workers in ${secs}s; ventilator exit $vent_rc, sink exit $sink_rc; spot-checked hashes wrong: $bad"
[ "$vent_rc" = 0 ] && [ "$sink_rc" = 0 ] && [ "$lines" = 2000 ] && [ "$bad" = 0 ]
