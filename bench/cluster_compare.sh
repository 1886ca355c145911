#!/usr/bin/env bash
# redis-benchmark against a 3-node Apiary cluster (N=3, W=2, R=1) and against one
# redis-server, in the same run, with the same total load: three redis-benchmark processes
# run at once, one per apiaryd node (clients spread over all nodes), and three at once
# against the redis-server. Prints the summed requests/s and the ratio apiary/redis.
#
#   bench/cluster_compare.sh              # -n 300000 per process, -c 17 per process (51 total)
#   N=100000 C=10 bench/cluster_compare.sh
#
# Every SET on Apiary is acknowledged by a second replica before it is answered (W=2), so
# the write figures include a node-to-node round trip; GETs are served from the local copy
# (R=1). The apiaryd binary comes from the release preset (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-300000}"
C="${C:-17}"
TESTS="${TESTS:-set,get,incr,mset}"
KEYSPACE="${KEYSPACE:-100000}"

cmake --preset release >/dev/null
cmake --build --preset release --target apiaryd >/dev/null
apiaryd=build/release/apps/apiaryd/apiaryd

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
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
for port in "$redis_port" "${ports[@]}"; do
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
for _ in $(seq 1 100); do
  alive=$(redis-cli -p "${ports[2]}" INFO cluster | tr -d '\r' | awk -F: '$1=="cluster_alive_members"{print $2}')
  [ "$alive" = 3 ] && break
  sleep 0.1
done

# bench PIPELINE PORT... -> "test,summed_rps,worst_p50,worst_p99" per test
bench() {
  local pipeline=$1
  shift
  local i=0 running=()
  for port in "$@"; do
    # An error reply (NOREPLICAS) makes redis-benchmark stop: the failure count below says so.
    { redis-benchmark -h 127.0.0.1 -p "$port" -t "$TESTS" -n "$N" -c "$C" -P "$pipeline" \
      -r "$KEYSPACE" --csv 2>/dev/null || true; } | tr -d '"' |
      awk -F, 'NR>1 {print $1","$2","$5","$7}' >"$work/part$i.csv" &
    running+=($!)
    i=$((i + 1))
  done
  for job in "${running[@]}"; do wait "$job"; done
  cat "$work"/part*.csv | awk -F, '{rps[$1]+=$2; if ($3>p50[$1]) p50[$1]=$3; if ($4>p99[$1]) p99[$1]=$4}
    END {for (t in rps) printf "%s,%.0f,%s,%s\n", t, rps[t], p50[t], p99[t]}' | sort
  rm -f "$work"/part*.csv
}

printf '%-22s %4s %14s %14s %7s %10s %10s %10s %10s\n' test P redis_rps apiary_rps ratio \
  redis_p50 apiary_p50 redis_p99 apiary_p99
for pipeline in 1 16; do
  redis-cli -p "$redis_port" FLUSHALL >/dev/null
  for port in "${ports[@]}"; do redis-cli -p "$port" FLUSHALL >/dev/null; done
  bench "$pipeline" "$redis_port" "$redis_port" "$redis_port" >"$work/redis.csv"
  bench "$pipeline" "${ports[@]}" >"$work/apiary.csv"
  join -t, "$work/redis.csv" "$work/apiary.csv" |
    awk -F, -v p="$pipeline" '{printf "%-22s %4s %14.0f %14.0f %7.2f %10s %10s %10s %10s\n",
      $1, p, $2, $5, ($2 > 0 ? $5 / $2 : 0), $3, $6, $4, $7}'
done
failures=0
for port in "${ports[@]}"; do
  f=$(redis-cli -p "$port" INFO cluster | tr -d '\r' | awk -F: '$1=="cluster_write_quorum_failures"{print $2}')
  failures=$((failures + f))
done
echo "write quorum failures during the run: $failures"
