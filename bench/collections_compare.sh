#!/usr/bin/env bash
# Hashes and sets against redis-server, same machine, same run (docs/benchmarks.md, "Hashes
# and sets"):
#  1. throughput of HSET, HGET, SADD and SISMEMBER on 1,000 hashes/sets of up to 1,000
#     elements, with redis-benchmark at -P 1 and -P 16: one apiaryd against one redis-server
#     (one redis-benchmark each), then a 3-node cluster (N=3, W=2, R=1; one redis-benchmark
#     per node) against one redis-server (three redis-benchmark processes);
#  2. memory per element of 10-element and 1,000-element hashes and sets (used_memory
#     before and after filling, per element), both servers;
#  3. replication bytes per HSET on a 100,000-field hash: the cluster's data bytes sent
#     during 10,000 HSETs of existing fields, divided by 10,000.
# PARTS=memory (or any comma-separated subset of throughput,memory,replication) runs only those;
# TESTS= picks the throughput tests (names in COMMANDS below, run in the order given):
# TESTS="zadd zrank zrange100" for sorted sets, TESTS="lpush rpush lrange lpop rpop" for lists
# (1,000 keys each); TESTS=builtin_lists runs redis-benchmark's own list tests, which use one
# key. KINDS="list" measures the memory of lists (default: hash set).
#
#   bench/collections_compare.sh          # N=200000 requests per redis-benchmark process
#   N=50000 bench/collections_compare.sh
#   TESTS="lpush rpush lrange lpop rpop zadd zrank zrange100" KINDS=list PARTS=throughput,memory \
#     N=150000 bench/collections_compare.sh     # docs/benchmarks.md, "Lists" and "Sorted sets"
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-200000}"
C="${C:-50}"
. bench/servers.sh
bench_build_apiaryd
bench_start_redis redis_port
bench_start_apiaryd single_port single
bench_start_cluster cluster_ports 3
PARTS=",${PARTS:-throughput,memory,replication},"
part() { [[ "$PARTS" == *,$1,* ]]; }

declare -A COMMANDS=(
  [hset]="HSET h:__rand_int__ f:__rand_int__ vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"
  [hget]="HGET h:__rand_int__ f:__rand_int__"
  [sadd]="SADD s:__rand_int__ m:__rand_int__"
  [sismember]="SISMEMBER s:__rand_int__ m:__rand_int__"
  [zadd]="ZADD z:__rand_int__ __rand_int__ m:__rand_int__"
  [zrank]="ZRANK z:__rand_int__ m:__rand_int__"
  [zrange]="ZRANGE z:__rand_int__ 0 9 WITHSCORES"
  [zrange100]="ZRANGE z:__rand_int__ 0 99"
  [lpush]="LPUSH l:__rand_int__ vvvvvvvvvvvvvvvv"
  [rpush]="RPUSH l:__rand_int__ vvvvvvvvvvvvvvvv"
  [lrange]="LRANGE l:__rand_int__ 0 99"
  [lpop]="LPOP l:__rand_int__"
  [rpop]="RPOP l:__rand_int__"
  # redis-benchmark's own tests, one row each: every one works on the single key "mylist"
  # (3-byte values); LRANGE_100 reads a list that an unreported LPUSH run of N first fills.
  [builtin_lists]="-t lpush,rpush,lpop,rpop,lrange_100"
)
# Writes come first in TESTS so that the reads after them find data (each setup starts empty).
read -r -a ORDER <<<"${TESTS:-hset hget sadd sismember}"

# run PIPELINE CLIENTS NAME PORT... -> "test,rps,worst_p50,worst_p99" per test, sorted, summed
# over one process per port. A custom command's row is named NAME; a built-in test's row by
# redis-benchmark's name in lower case (lpush, lrange_100), without the fill it reports.
run() {
  local pipeline=$1 clients=$2 name=$3
  shift 3
  local i=0 jobs=()
  for port in "$@"; do
    # shellcheck disable=SC2086
    { redis-benchmark -h 127.0.0.1 -p "$port" -n "$N" -c "$clients" -P "$pipeline" -r 1000 \
      --csv ${COMMANDS[$name]} 2>/dev/null || true; } | tr -d '"' |
      awk -F, -v name="$name" -v builtin="${COMMANDS[$name]:0:2}" 'NR>1 && !/needed to/ {
        split($1, w, " "); print (builtin == "-t" ? tolower(w[1]) : name) "," $2 "," $5 "," $7
      }' >"$bench_work/part$i.csv" &
    jobs+=($!)
    i=$((i + 1))
  done
  for job in "${jobs[@]}"; do wait "$job"; done
  cat "$bench_work"/part*.csv | awk -F, '{rps[$1]+=$2; if ($3>p50[$1]) p50[$1]=$3
      if ($4>p99[$1]) p99[$1]=$4}
    END {for (t in rps) printf "%s,%.0f,%s,%s\n", t, rps[t], p50[t], p99[t]}' | sort
  rm -f "$bench_work"/part*.csv
}

if part throughput; then
printf '%-8s %-10s %4s %12s %12s %7s %9s %9s %9s %9s\n' setup test P redis_rps apiary_rps \
  ratio redis_p50 apiary_p50 redis_p99 apiary_p99
compare() {  # SETUP PIPELINE CLIENTS REDIS_PORTS... -- APIARY_PORTS...
  local setup=$1 pipeline=$2 clients=$3
  shift 3
  local -a rports=() aports=()
  while [ "$1" != "--" ]; do rports+=("$1"); shift; done
  shift
  aports=("$@")
  redis-cli -p "$redis_port" FLUSHALL >/dev/null
  redis-cli -p "${aports[0]}" FLUSHALL >/dev/null
  for name in "${ORDER[@]}"; do
    run "$pipeline" "$clients" "$name" "${rports[@]}" >"$bench_work/redis.csv"
    run "$pipeline" "$clients" "$name" "${aports[@]}" >"$bench_work/apiary.csv"
    join -t, -a 1 -e 0 -o 0,1.2,2.2,1.3,2.3,1.4,2.4 "$bench_work/redis.csv" \
      "$bench_work/apiary.csv" | awk -F, -v s="$setup" -v p="$pipeline" '{
      printf "%-8s %-10s %4s %12.0f %12.0f %7.2f %9s %9s %9s %9s\n", s, $1, p, $2, $3,
        ($2 > 0 ? $3 / $2 : 0), $4, $5, $6, $7 }'
  done
}
for pipeline in 1 16; do
  compare single "$pipeline" "$C" "$redis_port" -- "$single_port"
done
for pipeline in 1 16; do
  compare cluster "$pipeline" "$((C / 3 + 1))" "$redis_port" "$redis_port" "$redis_port" -- \
    "${cluster_ports[@]}"
done
fi

# Memory per element.
mem() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}'; }
fill() {  # PORT TYPE KEYS ELEMENTS
  python3 - "$@" <<'PY' | redis-cli -p "$1" --pipe >/dev/null
import sys
port, kind, keys, elements = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        a = a.encode()
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
for k in range(keys):
    for e in range(0, elements, 100):
        batch = range(e, min(e + 100, elements))
        if kind == "hash":
            args = []
            for i in batch:
                args += [f"field:{i}", f"value:{i:08d}"]
            cmd("HSET", f"mem:{k}", *args)
        elif kind == "list":
            cmd("RPUSH", f"mem:{k}", *[f"value:{i:08d}" for i in batch])
        else:
            cmd("SADD", f"mem:{k}", *[f"member:{i}" for i in batch])
PY
}
if part memory; then
echo
printf '%-6s %9s %12s %12s %7s\n' type elements redis_B/el apiary_B/el ratio
for kind in ${KINDS:-hash set}; do
  for shape in "10000 10" "100 1000"; do
    read -r keys elements <<<"$shape"
    line=""
    for port in "$redis_port" "$single_port"; do
      redis-cli -p "$port" FLUSHALL >/dev/null
      before=$(mem "$port")
      fill "$port" "$kind" "$keys" "$elements"
      after=$(mem "$port")
      line="$line $(( (after - before) / (keys * elements) ))"
    done
    read -r rb ab <<<"$line"
    awk -v k="$kind" -v e="$elements" -v r="$rb" -v a="$ab" \
      'BEGIN {printf "%-6s %9s %12d %12d %7.2f\n", k, e, r, a, a / r}'
  done
done
fi

# Replication bytes per HSET on a 100,000-field hash (the cluster's data bytes, every node).
sent() {
  local total=0 port b
  for port in "${cluster_ports[@]}"; do
    b=$(redis-cli -p "$port" INFO cluster | tr -d '\r' | awk -F: '$1=="cluster_data_bytes_sent"{print $2}')
    total=$((total + b))
  done
  echo "$total"
}
if part replication; then
redis-cli -p "${cluster_ports[0]}" FLUSHALL >/dev/null
python3 - <<'PY' | redis-cli -p "${cluster_ports[0]}" --pipe >/dev/null
import sys
out = sys.stdout.buffer
for e in range(0, 100000, 500):
    args = []
    for i in range(e, e + 500):
        # redis-benchmark writes __rand_int__ as 12 digits: the HSETs below rewrite these.
        args += [f"field:{i:012d}", f"value:{i:08d}"]
    out.write(b"*%d\r\n$4\r\nHSET\r\n$3\r\nbig\r\n" % (len(args) + 2))
    for a in args:
        a = a.encode()
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
PY
sleep 1
before=$(sent)
redis-benchmark -h 127.0.0.1 -p "${cluster_ports[0]}" -n 10000 -c 1 -r 100000 \
  HSET big field:__rand_int__ newvalue >/dev/null 2>&1 || echo "redis-benchmark failed" >&2
sleep 1
after=$(sent)
echo
echo "replication: $(( (after - before) / 10000 )) data bytes sent per HSET on a 100,000-field hash" \
  "(fields $(redis-cli -p "${cluster_ports[1]}" HLEN big | tr -d '\r') through another node)"
fi
