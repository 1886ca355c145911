#!/usr/bin/env bash
# redis-benchmark against redis-server and a single apiaryd, same machine, same run, same
# settings; prints requests/s and p50/p99 latency for both and the ratio apiary/redis.
#
#   bench/redis_compare.sh                  # -n 1000000 -c 50, plain and -P 16
#   N=200000 bench/redis_compare.sh         # shorter run
#
# Both servers keep nothing on disk (redis: --save '' --appendonly no; apiaryd without
# --dir). The apiaryd binary comes from the release preset (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"
C="${C:-50}"
TESTS="${TESTS:-set,get,incr,mset}"
KEYSPACE="${KEYSPACE:-100000}"

cmake --preset release >/dev/null
cmake --build --preset release --target apiaryd >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
redis_port="$(free_port)"
apiary_port="$(free_port)"
cleanup() {
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
  [ -n "${apiary_pid:-}" ] && kill "$apiary_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
build/release/apps/apiaryd/apiaryd --name bench --gossip-addr 127.0.0.1:0 --bind 127.0.0.1 \
  --port "$apiary_port" --log-level warn >"$work/apiaryd.log" 2>&1 &
apiary_pid=$!
for port in "$redis_port" "$apiary_port"; do
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done

# bench PORT PIPELINE -> csv lines "test,rps,p50,p99"
bench() {
  redis-benchmark -h 127.0.0.1 -p "$1" -t "$TESTS" -n "$N" -c "$C" -P "$2" -r "$KEYSPACE" --csv 2>/dev/null |
    tr -d '"' | awk -F, 'NR>1 {print $1","$2","$5","$7}'
}

printf '%-22s %4s %14s %14s %7s %10s %10s %10s %10s\n' test P redis_rps apiary_rps ratio \
  redis_p50 apiary_p50 redis_p99 apiary_p99
for pipeline in 1 16; do
  redis-cli -p "$redis_port" FLUSHALL >/dev/null
  redis-cli -p "$apiary_port" FLUSHALL >/dev/null
  bench "$redis_port" "$pipeline" >"$work/redis.csv"
  bench "$apiary_port" "$pipeline" >"$work/apiary.csv"
  join -t, <(sort "$work/redis.csv") <(sort "$work/apiary.csv") |
    awk -F, -v p="$pipeline" '{printf "%-22s %4s %14.0f %14.0f %7.2f %10s %10s %10s %10s\n",
      $1, p, $2, $5, ($2 > 0 ? $5 / $2 : 0), $3, $6, $4, $7}'
done

# Memory per key after the same SET workload (-r keyspace of 16-byte keys, 32-byte values).
for port in "$redis_port" "$apiary_port"; do
  redis-cli -p "$port" FLUSHALL >/dev/null
  redis-benchmark -h 127.0.0.1 -p "$port" -t set -n "$((KEYSPACE * 3))" -r "$KEYSPACE" -d 32 \
    -c "$C" -P 16 -q >/dev/null 2>&1
done
mem() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}'; }
keys() { redis-cli -p "$1" DBSIZE | tr -d '\r'; }
redis_empty_note="(used_memory includes each server's fixed baseline)"
rm_=$(mem "$redis_port"); rk=$(keys "$redis_port"); am=$(mem "$apiary_port"); ak=$(keys "$apiary_port")
awk -v rm="$rm_" -v rk="$rk" -v am="$am" -v ak="$ak" -v note="$redis_empty_note" 'BEGIN {
  printf "\nmemory: redis %d keys %.1f B/key, apiary %d keys %.1f B/key, ratio %.2f %s\n",
    rk, rm / rk, ak, am / ak, (am / ak) / (rm / rk), note }'
