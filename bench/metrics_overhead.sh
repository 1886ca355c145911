#!/usr/bin/env bash
# What observability costs: redis-benchmark SET/GET against one apiaryd with latency tracking
# on and a scraper fetching /metrics every second ("on"), and with latency tracking off and no
# scraper ("off"; the per-command counters cannot be turned off), with redis-server in the same
# run as the yardstick. Prints, per setup, requests/s, p50 and the server's CPU time per request
# (from /proc, less sensitive than throughput to other load on the machine) and the ratios
# on/off, off/redis, on/redis; then the size and time of one /metrics scrape.
#
#   bench/metrics_overhead.sh                 # -n 100000 -c 50, -P 1 and -P 16, 3 rounds
#   N=200000 ROUNDS=5 bench/metrics_overhead.sh
#   NO_BUILD=1 bench/metrics_overhead.sh      # the release apiaryd already built
#
# The setups alternate within each round (in reverse order every other round) and the median
# round is reported, so that load from other processes on the machine spreads over all three. Nothing is kept on disk. The apiaryd
# binary comes from the release preset (built if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-100000}"
C="${C:-50}"
ROUNDS="${ROUNDS:-3}"
TESTS="${TESTS:-set,get}"
KEYSPACE="${KEYSPACE:-100000}"

if [ -z "${NO_BUILD:-}" ]; then  # NO_BUILD=1: use the release binary as it is
  cmake --preset release >/dev/null
  cmake --build --preset release --target apiaryd >/dev/null
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
redis_port="$(free_port)"
apiary_port="$(free_port)"
http_port="$(free_port)"
cleanup() {
  [ -n "${scraper_pid:-}" ] && kill "$scraper_pid" 2>/dev/null || true
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
  --port "$apiary_port" --http-addr "127.0.0.1:$http_port" --log-level warn \
  >"$work/apiaryd.log" 2>&1 &
apiary_pid=$!
for port in "$redis_port" "$apiary_port"; do
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
metrics_url="http://127.0.0.1:$http_port/metrics"

# CPU time (user + system, in clock ticks) the process PID has used.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))

# bench PORT PID PIPELINE -> csv lines "test,rps,p50,server_cpu_us_per_request", one
# redis-benchmark run per test so that the server's CPU time is the test's own.
bench() {
  local test before after
  for test in ${TESTS//,/ }; do
    before=$(cpu_ticks "$2")
    redis-benchmark -h 127.0.0.1 -p "$1" -t "$test" -n "$N" -c "$C" -P "$3" -r "$KEYSPACE" \
      --csv 2>/dev/null | tr -d '"' | awk -F, 'NR>1 {printf "%s,%s,%s", $1, $2, $5}'
    after=$(cpu_ticks "$2")
    awk -v t="$((after - before))" -v us="$tick_us" -v n="$N" 'BEGIN {printf ",%.3f\n", t * us / n}'
  done
}

# setup NAME: latency tracking and the scraper as NAME wants them.
setup() {
  if [ -n "${scraper_pid:-}" ]; then
    kill "$scraper_pid" 2>/dev/null || true
    wait "$scraper_pid" 2>/dev/null || true
    scraper_pid=""
  fi
  case "$1" in
    on)
      redis-cli -p "$apiary_port" CONFIG SET latency-tracking yes >/dev/null
      (while :; do curl -s -o /dev/null "$metrics_url"; sleep 1; done) &
      scraper_pid=$!
      ;;
    off) redis-cli -p "$apiary_port" CONFIG SET latency-tracking no >/dev/null ;;
  esac
}

for pipeline in 1 16; do
  for round in $(seq 1 "$ROUNDS"); do
    order="redis off on"
    [ $((round % 2)) -eq 0 ] && order="on off redis"  # no setup always runs first
    for who in $order; do
      port="$apiary_port" pid="$apiary_pid"
      [ "$who" = redis ] && port="$redis_port" pid="$redis_pid"
      setup "$who"
      redis-cli -p "$port" FLUSHALL >/dev/null
      bench "$port" "$pid" "$pipeline" | sed "s/^/$pipeline,$round,$who,/" >>"$work/all.csv"
    done
  done
done
setup none

# Medians over the rounds per (pipeline, test, setup), each column on its own; then one line
# per (pipeline, test): requests/s, p50 (ms) and the server's CPU time per request (us).
printf '%-4s %3s %9s %9s %9s %7s %7s %7s %7s %7s %7s %8s %8s %8s %7s\n' test P redis_rps off_rps \
  on_rps on/off off/rd on/rd rd_p50 off_p50 on_p50 rd_cpu off_cpu on_cpu cpu_on/off
awk -F, '
  { key = $1 "," $4; who[$3] = 1; tests[key] = 1
    rps[key "," $3] = rps[key "," $3] " " $5; p50[key "," $3] = p50[key "," $3] " " $6
    cpu[key "," $3] = cpu[key "," $3] " " $7 }
  function median(list,   a, m, i, j, tmp) {
    m = split(list, a, " ")
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { tmp = a[i]; a[i] = a[j]; a[j] = tmp }
    return a[int((m + 1) / 2)] + 0
  }
  END {
    for (t in tests) {
      split(t, k, ",")
      r = median(rps[t ",redis"]); off = median(rps[t ",off"]); on = median(rps[t ",on"])
      rc = median(cpu[t ",redis"]); oc = median(cpu[t ",off"]); nc = median(cpu[t ",on"])
      printf "%-4s %3s %9.0f %9.0f %9.0f %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f %8.2f %8.2f %8.2f %7.3f\n",
        k[2], k[1], r, off, on, on / off, off / r, on / r,
        median(p50[t ",redis"]), median(p50[t ",off"]), median(p50[t ",on"]), rc, oc, nc,
        (oc > 0 ? nc / oc : 0)
    }
  }' "$work/all.csv" | sort -k2,2n -k1,1

# One scrape after the runs (every command's histogram filled): its size and time.
redis-cli -p "$apiary_port" CONFIG SET latency-tracking yes >/dev/null
redis-benchmark -h 127.0.0.1 -p "$apiary_port" -t set,get,incr,lpush,hset,sadd -n 10000 -q >/dev/null 2>&1
curl -s -o /dev/null "$metrics_url"
curl -s -o "$work/metrics.txt" -w '\n/metrics: %{size_download} bytes, %{time_total} s (curl time_total, one scrape)\n' "$metrics_url"
printf '/metrics: %d lines, %d samples\n' "$(wc -l <"$work/metrics.txt")" "$(grep -vc '^#' "$work/metrics.txt")"
