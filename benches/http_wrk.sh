#!/usr/bin/env bash
# hyper's hello route under wrk: examples/http_server on gorun (`--serve`) and the
# same hyper server on tokio (`--serve --tokio`: hyper-util's TokioIo/TokioTimer),
# on loopback, at -c 50 and -c 500. Prints req/s, p99 latency and the server's CPU
# time per request (user + sys, from /proc: steadier than req/s on a busy machine)
# of each, and the gorun/tokio ratios (with ROUNDS > 1, the median of each).
#
#   benches/http_wrk.sh            # 5 s per run, one round
#   ROUNDS=9 DURATION=4 benches/http_wrk.sh   # nine alternating rounds, medians
#   DURATION=10 THREADS=4 benches/http_wrk.sh
#   SERVER_CPUS=0 WRK_CPUS=1 THREADS=1 benches/http_wrk.sh   # pinned (taskset)
#   APP=axum benches/http_wrk.sh              # an axum Router: gorun::http::serve
#   APP=axum ROUTE=/json benches/http_wrk.sh  #   against axum::serve's way on tokio
#
# wrk runs on the same machine as the server and competes with it for the cores,
# so compare the two runtimes within one run, not across machines. SERVER_CPUS and
# WRK_CPUS (taskset lists) give each its own cores; both runtimes size their worker
# pools from the CPUs they may run on.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
THREADS=${THREADS:-2}
CONNS=${CONNS:-"50 500"}
ROUNDS=${ROUNDS:-1}
APP=${APP:-hyper}
ROUTE=${ROUTE:-/}
GORUN_PORT=${GORUN_PORT:-18480}
TOKIO_PORT=${TOKIO_PORT:-18481}

if ! command -v wrk >/dev/null; then
    echo "wrk is not installed. On Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y wrk" >&2
    echo "(macOS: brew install wrk; elsewhere: https://github.com/wg/wrk)" >&2
    exit 1
fi

case "$APP" in
    hyper) cargo build --release --example http_server --features hyper
           BIN=target/release/examples/http_server ;;
    axum)  cargo build --release --example axum_server --features http
           BIN=target/release/examples/axum_server ;;
    *) echo "APP is hyper or axum" >&2; exit 1 ;;
esac

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -f "${RATIOS:-}"
}
trap cleanup EXIT

# Starts a server and waits (up to 10 s) until its port accepts.
start() { # port, extra args...
    local port=$1; shift
    if [ "$APP" = axum ]; then
        AXUM_SERVER_ADDR="127.0.0.1:$port" ${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} "$BIN" --bare "$@" >/dev/null &
    else
        ${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} "$BIN" --serve "127.0.0.1:$port" "$@" >/dev/null &
    fi
    PIDS+=($!)
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "server on port $port did not start" >&2
    exit 1
}

# wrk's latency (e.g. 850.00us, 3.21ms, 1.02s) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); print v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); print v + 0 }
        else if (v ~ /m$/) { sub(/m$/, "", v); print v * 60000 }
        else { sub(/s$/, "", v); print v * 1000 } }'
}

# CPU ticks (user + sys) a process has used.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# Runs wrk; prints "req/s p99_ms cpu_us_per_request errors".
bench() { # port, connections, server pid
    local out rps p99 errs t0 t1 n cpu
    t0=$(ticks "$3")
    out=$(${WRK_CPUS:+taskset -c "$WRK_CPUS"} wrk -t"$THREADS" -c"$2" -d"${DURATION}s" --latency "http://127.0.0.1:$1$ROUTE")
    t1=$(ticks "$3")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    cpu=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$n" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')
    errs=$(awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }' <<<"$out")
    echo "$rps $p99 $cpu ${errs:-none}"
}

start "$GORUN_PORT"
start "$TOKIO_PORT" --tokio
echo "$APP $ROUTE: wrk -t$THREADS -d${DURATION}s on $(nproc) cores, $ROUNDS round(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-6s %12s %10s %14s   %s\n' conns server "req/s" "p99 ms" "cpu us/req" errors
# One round: both servers at `$1` connections, in the order given; prints their lines
# and appends "req/s p99 cpu" ratios (gorun/tokio) to $RATIOS.
round() { # conns, first, second
    local c=$1 name rps p99 cpu err
    declare -A R P C
    for name in "$2" "$3"; do
        if [ "$name" = gorun ]; then
            read -r rps p99 cpu err <<<"$(bench "$GORUN_PORT" "$c" "${PIDS[0]}")"
        else
            read -r rps p99 cpu err <<<"$(bench "$TOKIO_PORT" "$c" "${PIDS[1]}")"
        fi
        printf '%-6s %-6s %12.0f %10.2f %14.2f   %s\n' "$c" "$name" "$rps" "$p99" "$cpu" "$err"
        R[$name]=$rps P[$name]=$p99 C[$name]=$cpu
    done
    awk -v gr="${R[gorun]}" -v tr="${R[tokio]}" -v gp="${P[gorun]}" -v tp="${P[tokio]}" \
        -v gc="${C[gorun]}" -v tc="${C[tokio]}" \
        'BEGIN { printf "%.4f %.4f %.4f\n", gr / tr, gp / tp, gc / tc }' >>"$RATIOS"
}
RATIOS=$(mktemp)
for c in $CONNS; do
    : >"$RATIOS"
    for r in $(seq "$ROUNDS"); do
        # Alternate who goes first, so a drift over the run does not favour one.
        if [ $((r % 2)) = 1 ]; then round "$c" gorun tokio; else round "$c" tokio gorun; fi
    done
    # The median of each ratio over the rounds (one round: its ratios).
    for col in 1 2 3; do sort -g -k"$col","$col" "$RATIOS" | awk -v k="$col" \
        '{ v[NR] = $k } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f ", m }'
    done | awk -v c="$c" -v n="$ROUNDS" '{
        printf "%-6s gorun/tokio (median of %d): req/s %.2fx, p99 %.2fx, cpu/req %.2fx\n", c, n, $1, $2, $3 }'
done
