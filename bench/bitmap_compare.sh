#!/usr/bin/env bash
# Bitmaps and string ranges against redis-server, same machine, same run (docs/benchmarks.md,
# "Bitmaps and string ranges"): one apiaryd (release preset) and one redis-server, each
# started here on a free loopback port, get the same redis-benchmark runs at -P 1 and -P 16,
# one after the other; the script prints requests/s, p50/p99 latency and the ratio
# apiary/redis per test.
#
# The tests (names in COMMANDS below, run in the order given, each pipeline setting starting
# from empty servers). R is redis-benchmark's __rand_int__ over -r 1000 (-r 100000000 for
# setbit_new); its 12-digit zero-padded numbers are not integers to Redis or Apiary, so bit
# offsets are fixed:
#   setbit_new   SETBIT new:R 1023 1           nearly every one creates a 128-byte bitmap
#   setbit       SETBIT bits:R 8191 1          1,000 bitmaps of 1 KiB; after a key's first
#                                              SETBIT the bit is already set (no write, on
#                                              either server): the idempotent flag-setting case
#   getbit       GETBIT bits:R 8191
#   bitcount     BITCOUNT bits:R
#   bitpos       BITPOS bits:R 1
#   bitfield     BITFIELD bits:R INCRBY u8 #100 1 GET u16 #7   a write of a 1 KiB bitmap
#   setbit_big   SETBIT big 1048575 1          one bitmap of 128 KiB
#   bitcount_big BITCOUNT big
#   bitfield_big BITFIELD big INCRBY u8 #100 1  a write of the 128 KiB string every time
#                                              (not in the default list)
#   set          SET str:R <100 bytes>         1,000 strings, then
#   getrange     GETRANGE str:R 10 59
#   substr       SUBSTR str:R -20 -1
#
#   bench/bitmap_compare.sh                       # N=100000 requests per test
#   N=20000 TESTS="setbit bitcount" bench/bitmap_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-100000}"
C="${C:-50}"
. bench/servers.sh
# bench_build_apiaryd, two jobs at most (the machine is shared).
cmake --preset release >/dev/null
flock /tmp/apiary-build.lock cmake --build --preset release -j2 --target apiaryd \
  >"$bench_work/build.log" 2>&1 || { cat "$bench_work/build.log" >&2; exit 1; }
bench_start_redis redis_port
bench_start_apiaryd apiary_port single

value="$(printf 'v%.0s' $(seq 1 100))"
declare -A COMMANDS=(
  [setbit_new]="SETBIT new:__rand_int__ 1023 1"
  [setbit]="SETBIT bits:__rand_int__ 8191 1"
  [getbit]="GETBIT bits:__rand_int__ 8191"
  [bitcount]="BITCOUNT bits:__rand_int__"
  [bitpos]="BITPOS bits:__rand_int__ 1"
  [bitfield]="BITFIELD bits:__rand_int__ INCRBY u8 #100 1 GET u16 #7"
  [setbit_big]="SETBIT big 1048575 1"
  [bitcount_big]="BITCOUNT big"
  [bitfield_big]="BITFIELD big INCRBY u8 #100 1"
  [set]="SET str:__rand_int__ $value"
  [getrange]="GETRANGE str:__rand_int__ 10 59"
  [substr]="SUBSTR str:__rand_int__ -20 -1"
)
declare -A RANGE=([setbit_new]=100000000)
read -r -a ORDER <<<"${TESTS:-setbit_new setbit getbit bitcount bitpos bitfield setbit_big bitcount_big set getrange substr}"

# run PIPELINE NAME PORT -> "rps,p50,p99"
run() {
  local pipeline=$1 name=$2 port=$3
  # shellcheck disable=SC2086
  { redis-benchmark -h 127.0.0.1 -p "$port" -n "$N" -c "$C" -P "$pipeline" -r "${RANGE[$name]:-1000}" --csv \
    ${COMMANDS[$name]} 2>/dev/null || true; } | tr -d '"' |
    awk -F, 'NR>1 && !/needed to/ {print $2 "," $5 "," $7; exit}'
}

echo "redis-server $(redis-server --version | awk '{print $3}'), apiaryd at" \
  "$(git rev-parse --short HEAD), N=$N C=$C"
printf '%-13s %4s %12s %12s %7s %9s %9s %9s %9s\n' test P redis_rps apiary_rps ratio \
  redis_p50 apiary_p50 redis_p99 apiary_p99
for pipeline in 1 16; do
  redis-cli -p "$redis_port" FLUSHALL >/dev/null
  redis-cli -p "$apiary_port" FLUSHALL >/dev/null
  for name in "${ORDER[@]}"; do
    IFS=, read -r rr rp50 rp99 <<<"$(run "$pipeline" "$name" "$redis_port")"
    IFS=, read -r ar ap50 ap99 <<<"$(run "$pipeline" "$name" "$apiary_port")"
    awk -v t="$name" -v p="$pipeline" -v rr="${rr:-0}" -v ar="${ar:-0}" -v rp50="$rp50" \
      -v ap50="$ap50" -v rp99="$rp99" -v ap99="$ap99" 'BEGIN {
      printf "%-13s %4s %12.0f %12.0f %7.2f %9s %9s %9s %9s\n", t, p, rr, ar,
        (rr > 0 ? ar / rr : 0), rp50, ap50, rp99, ap99 }'
  done
done
# Both servers must hold the same big bitmap at the end (the same commands wrote it).
for cmd in "STRLEN big" "BITCOUNT big" "GETBIT big 1048575"; do
  # shellcheck disable=SC2086
  [ "$(redis-cli -p "$redis_port" $cmd)" = "$(redis-cli -p "$apiary_port" $cmd)" ] ||
    echo "warning: $cmd differs between the servers" >&2
done
