#!/usr/bin/env bash
# CLIENT TRACKING invalidation latency, apiaryd against redis-server in the same run:
# bench/tracking_latency (a RESP3 reader with tracking on reads a key, a writer SETs it, time
# from the SET to the reader's `invalidate` push) against one redis-server (reader and writer on
# it) and a 3-node apiaryd cluster (N=3, W=2, R=1; reader on node 2, writer on node 1, so the
# invalidation follows the replicated write), then the same cluster with replicas 1 (node 2
# owns about a third of the keys; for the others the invalidation comes from the owner as a
# tracking message). Prints p50/p99/max in microseconds.
#
#   ROUNDS=2000 bench/tracking_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-2000}"
. bench/servers.sh
bench_build_apiaryd
cmake --build --preset release --target tracking_latency >/dev/null
probe=build/release/bench/tracking_latency

bench_start_redis redis_port
echo "redis-server (reader and writer on one server): $($probe "$redis_port" "$redis_port" "$ROUNDS")"

for replicas in 3 1; do
  bench_start_apiaryd a1 "tr${replicas}a" --replicas "$replicas" --write-quorum 1
  seed=""
  for _ in $(seq 1 100); do
    seed="$(grep -o 'gossip=[^ ]*' "$bench_work/apiaryd-tr${replicas}a.log" | head -1 | cut -d= -f2)"
    [ -n "$seed" ] && break
    sleep 0.1
  done
  bench_start_apiaryd a2 "tr${replicas}b" --replicas "$replicas" --write-quorum 1 --seeds "$seed"
  bench_start_apiaryd a3 "tr${replicas}c" --replicas "$replicas" --write-quorum 1 --seeds "$seed"
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$a1" INFO cluster | tr -d '\r' | grep '^cluster_alive_members:' | cut -d: -f2)" = 3 ] && break
    sleep 0.1
  done
  sleep 2  # the partition table settles
  echo "apiary 3 nodes, replicas $replicas (reader node 2, writer node 1): $($probe "$a2" "$a1" "$ROUNDS")"
done
