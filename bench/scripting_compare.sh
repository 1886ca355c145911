#!/usr/bin/env bash
# Transactions and scripts: bench/tx_load (closed loop, CONNECTIONS connections) runs SET,
# MULTI/EXEC of 3 commands (multi3) and EVALSHA of a small script (evalsha), without
# pipelining and with 16 operations in flight per connection, against (a) one redis-server,
# (b) one apiaryd and (c) a 3-node apiaryd cluster (N=3, W=2, R=1; the connections spread
# round-robin over the three nodes), all in the same run. Prints ops/s, p50/p99/p99.9 in ms
# and the ratio apiary/redis for each; every row must show 0 errors.
#
#   bench/scripting_compare.sh                          # 10 s per test, 50 connections
#   SECONDS_PER_TEST=5 CONNECTIONS=50 bench/scripting_compare.sh
#
# One operation = one transaction (MULTI; INCR {k}a; SET {k}b v; GET {k}a; EXEC: 5 replies)
# or one call. On the cluster a transaction runs at its keys' coordinator as one replicated
# write (APIARY.EXEC), as does a script that writes. apiaryd and tx_load come from the release
# preset (built if missing, or always with BUILD=1).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TEST="${SECONDS_PER_TEST:-10}"
CONNECTIONS="${CONNECTIONS:-50}"
MODES="${MODES:-set multi3 evalsha}"
PIPELINES="${PIPELINES:-1 16}"
KEYSPACE="${KEYSPACE:-100000}"

apiaryd=build/release/apps/apiaryd/apiaryd
tx_load=build/release/bench/tx_load
if [ ! -x "$apiaryd" ] || [ ! -x "$tx_load" ] || [ -n "${BUILD:-}" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target apiaryd tx_load >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
pids=()
# SIGKILL: on SIGTERM each node hands its partitions off before leaving, and three loaded
# nodes leaving at once spend up to their 120 s leave timeout doing so; the data is thrown away.
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
single_port="$(free_port)"
"$apiaryd" --name single --gossip-addr 127.0.0.1:0 --bind 127.0.0.1 --port "$single_port" \
  --log-level warn >"$work/apiaryd-single.log" 2>&1 &
pids+=($!)
ports=()
seed=""
for i in 1 2 3; do
  gossip="$(free_port)"
  port="$(free_port)"
  args=(--name "bench$i" --gossip-addr "127.0.0.1:$gossip" --bind 127.0.0.1 --port "$port"
    --log-level warn --replicas 3 --write-quorum 2 --read-quorum 1)
  [ -n "$seed" ] && args+=(--seeds "$seed")
  "$apiaryd" "${args[@]}" >"$work/apiaryd$i.log" 2>&1 &
  pids+=($!)
  seed="${seed:-127.0.0.1:$gossip}"
  ports+=("$port")
done
for port in "$redis_port" "$single_port" "${ports[@]}"; do
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
for _ in $(seq 1 100); do
  alive=$(redis-cli -p "${ports[2]}" INFO cluster | tr -d '\r' | awk -F: '$1=="cluster_alive_members"{print $2}')
  [ "$alive" = 3 ] && break
  sleep 0.1
done
cluster_ports="$(IFS=,; echo "${ports[*]}")"

# load MODE PIPELINE PORTS -> "mode,ops_per_sec,p50_ms,p99_ms,p999_ms,errors"
load() {
  "$tx_load" --port "$3" --mode "$1" --pipeline "$2" --connections "$CONNECTIONS" \
    --seconds "$SECONDS_PER_TEST" --keys "$KEYSPACE" 2>>"$work/errors.txt" ||
    echo "$1,0,0,0,0,failed"
}

printf '%-8s %3s %10s %10s %10s %6s %6s %23s %23s %23s %s\n' mode P redis_ops single_ops \
  cluster_ops single cluster 'redis p50/p99/p99.9' 'single p50/p99/p99.9' \
  'cluster p50/p99/p99.9' errors
for pipeline in $PIPELINES; do
  for mode in $MODES; do
    for port in "$redis_port" "$single_port" "${ports[@]}"; do
      redis-cli -p "$port" FLUSHALL >/dev/null
    done
    r="$(load "$mode" "$pipeline" "$redis_port")"
    s="$(load "$mode" "$pipeline" "$single_port")"
    c="$(load "$mode" "$pipeline" "$cluster_ports")"
    echo "$r,$s,$c" | awk -F, -v p="$pipeline" '{
      printf "%-8s %3s %10.0f %10.0f %10.0f %6.2f %6.2f %23s %23s %23s %s/%s/%s\n",
        $1, p, $2, $8, $14, ($2 > 0 ? $8 / $2 : 0), ($2 > 0 ? $14 / $2 : 0),
        $3 "/" $4 "/" $5, $9 "/" $10 "/" $11, $15 "/" $16 "/" $17, $6, $12, $18 }'
  done
done
[ -s "$work/errors.txt" ] && { echo "errors:"; cat "$work/errors.txt"; }
failures=0
for port in "${ports[@]}"; do
  f=$(redis-cli -p "$port" INFO cluster | tr -d '\r' | awk -F: '$1=="cluster_write_quorum_failures"{print $2}')
  failures=$((failures + ${f:-0}))
done
echo "cluster write quorum failures during the run: $failures"
