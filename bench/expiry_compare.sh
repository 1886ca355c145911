#!/usr/bin/env bash
# Active expiry against redis-server: one apiaryd and one redis-server, same machine, same run.
#
#   bench/expiry_compare.sh              # everything (about 1.5 minutes)
#   PARTS=burst bench/expiry_compare.sh  # burst | load | throughput, comma-separated
#
# burst:      20,000 keys SET with PX 200, then INFO keyspace every 100 ms until none is left
#             (KEYS, TTL_MS); keys left 0.5 s / 1 s / 2 s after the last one expired.
# load:       RATE unique keys/s with PX LOAD_TTL_MS for LOAD_SECONDS, once with one TTL and
#             once with TTLs spread +-90% (SPREADS); the share of the keys present that have
#             expired but are not removed yet (mean, p90, worst).
# throughput: redis-benchmark requests/s (-n N -c 50 -P 16, KEYSPACE random keys) for SET,
#             SET ... PX 100 (keys expire all the time: the expiry cycle's cost) and GET;
#             ratio apiary/redis.
# bench/expiry_load.py is the client for burst and load; bench/servers.sh starts the servers
# (apiaryd from the release preset, built if missing, under the shared build lock).
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS="${PARTS:-burst,load,throughput}"
KEYS="${KEYS:-20000}"
TTL_MS="${TTL_MS:-200}"
RATE="${RATE:-20000}"
LOAD_TTL_MS="${LOAD_TTL_MS:-1000}"
LOAD_SECONDS="${LOAD_SECONDS:-10}"
SPREADS="${SPREADS:-0 0.9}"
N="${N:-1000000}"
KEYSPACE="${KEYSPACE:-100000}"

. bench/servers.sh
bench_build_apiaryd
bench_start_redis redis_port
bench_start_apiaryd apiary_port bench
echo "commit $(git rev-parse --short HEAD)$(git diff --quiet -- libnode || echo ' (libnode modified)')"

row_for() {  # MODE SERVER ARGS...
  local mode=$1 server=$2 port=$redis_port
  shift 2
  [ "$server" = apiary ] && port=$apiary_port
  bench/expiry_load.py "$mode" "$port" --row "$server" "$@"
  [ -z "${VERBOSE:-}" ] || bench/expiry_load.py "$mode" "$port" "$@"
}

if [[ ",$PARTS," == *,burst,* ]]; then
  echo
  echo "burst: $KEYS keys, PX $TTL_MS; keys present (INFO keyspace) after the last key expired"
  printf '%-8s %16s %16s %16s %16s %16s\n' server at_expiry "+0.5s" "+1s" "+2s" all_gone_after_s
  for server in redis apiary; do row_for burst "$server" --keys "$KEYS" --ttl-ms "$TTL_MS"; done
fi

if [[ ",$PARTS," == *,load,* ]]; then
  echo
  for spread in $SPREADS; do
    echo "load: $RATE keys/s, PX $LOAD_TTL_MS (+-$spread of it), ${LOAD_SECONDS}s;" \
      "expired-but-present share of keys present"
    printf '%-8s %16s %16s %16s %16s\n' server achieved_rate mean_pct p90_pct max_pct
    for server in redis apiary; do
      row_for load "$server" --rate "$RATE" --ttl-ms "$LOAD_TTL_MS" --seconds "$LOAD_SECONDS" \
        --spread "$spread"
    done
  done
fi

if [[ ",$PARTS," == *,throughput,* ]]; then
  echo
  echo "throughput: redis-benchmark -n $N -c 50 -P 16 -r $KEYSPACE (requests/s)"
  printf '%-22s %14s %14s %7s\n' test redis_rps apiary_rps ratio
  rps() {  # PORT ARGS... -> requests/s
    local port=$1
    shift
    redis-benchmark -h 127.0.0.1 -p "$port" -n "$N" -c 50 -P 16 -r "$KEYSPACE" --csv "$@" \
      2>/dev/null | tr -d '"' | awk -F, 'NR>1 {print $2; exit}'
  }
  row() {  # NAME ARGS...  (GET reads what the SET before it wrote)
    local name=$1
    shift
    if [ "$name" != GET ]; then
      redis-cli -p "$redis_port" FLUSHALL >/dev/null
      redis-cli -p "$apiary_port" FLUSHALL >/dev/null
    fi
    local r a
    r="$(rps "$redis_port" "$@")"
    a="$(rps "$apiary_port" "$@")"
    awk -v n="$name" -v r="$r" -v a="$a" 'BEGIN {printf "%-22s %14.0f %14.0f %7.2f\n", n, r, a, a / r}'
  }
  row "SET PX 100" SET "key:__rand_int__" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx PX 100
  row "SET" -t set
  row "GET" -t get
fi
