#!/usr/bin/env bash
# tests/rss.sh - peak resident memory of each program at 1M and 10M tasks.
# Not part of `make test`; run by hand: bash tests/rss.sh [N...]
# `seq N | ventilator`, two `worker --echo`, `sink > /dev/null`, over ipc://.
# Peak RSS is /usr/bin/time's %M for the ventilator and the sink (which exit
# by themselves) and VmHWM from /proc for the workers (read just before they
# are stopped). Prints a table and the ratio of the largest run to the first:
# with a bounded window the memory must not grow with the batch.
. "$(dirname "$0")/lib.sh"

SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1000000 10000000)
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "rss: needs GNU time at $TIME" >&2; exit 2; }

hwm () { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

declare -A KB SECS
for n in "${SIZES[@]}"; do
    TASKS=$(t_ep "t$n"); RESULTS=$(t_ep "r$n"); CONTROL=$(t_ep "c$n")
    t_start "sink$n" "$TIME" -f %M -o "$T_DIR/sink$n.kb" \
        "$SINK" -q --results "@$RESULTS" --control "@$CONTROL" -o /dev/null
    SINK_PID=$T_LAST
    WS=()
    for i in 1 2; do
        t_start "w$i-$n" "$WORKER" -q --echo --tasks ">$TASKS" --results ">$RESULTS"
        WS+=("$T_LAST")
    done
    mkfifo "$T_DIR/in$n"
    t_start "seq$n" sh -c 'exec seq "$1" > "$0"' "$T_DIR/in$n" "$n"
    START=$(t_now_ms)
    t_start "vent$n" sh -c 'f=$1; shift; exec "$@" < "$f"' sh "$T_DIR/in$n" \
        "$TIME" -f %M -o "$T_DIR/vent$n.kb" "$VENT" -q --tasks "@$TASKS" --control ">$CONTROL"
    VRC=$(t_wait "$T_LAST" 1800)
    SECS[$n]=$(awk -v t=$(( $(t_now_ms) - START )) 'BEGIN { printf "%.1f", t / 1000 }')
    SRC=$(t_wait "$SINK_PID" 30)
    W1=$(hwm "${WS[0]}"); W2=$(hwm "${WS[1]}")
    kill -TERM "${WS[@]}"
    for w in "${WS[@]}"; do t_wait "$w" 10 > /dev/null; done
    KB[vent$n]=$(tail -1 "$T_DIR/vent$n.kb"); KB[sink$n]=$(tail -1 "$T_DIR/sink$n.kb")
    KB[w1$n]=$W1; KB[w2$n]=$W2
    echo "# $n tasks: ${SECS[$n]} s, exit codes ventilator $VRC, sink $SRC" >&2
done

first=${SIZES[0]}; last=${SIZES[-1]}
printf '%-12s' "peak RSS KB"
for n in "${SIZES[@]}"; do printf '%14s' "$n tasks"; done
[ ${#SIZES[@]} -gt 1 ] && printf '%10s' "ratio"
echo
for p in vent w1 w2 sink; do
    case $p in vent) label=ventilator;; w1) label="worker 1";; w2) label="worker 2";; sink) label=sink;; esac
    printf '%-12s' "$label"
    for n in "${SIZES[@]}"; do printf '%14s' "${KB[$p$n]:-?}"; done
    if [ ${#SIZES[@]} -gt 1 ]; then
        awk -v a="${KB[$p$last]:-0}" -v b="${KB[$p$first]:-0}" \
            'BEGIN { if (b > 0) printf "%10.2f", a / b; else printf "%10s", "?" }'
    fi
    echo
done
printf '%-12s' "wall time s"
for n in "${SIZES[@]}"; do printf '%14s' "${SECS[$n]}"; done
echo
