#!/usr/bin/env bash
# Persistence figures, apiaryd against redis-server in the same run (docs/benchmarks.md,
# "Persistence"):
#  1. SET throughput of one node with the AOF off and with appendfsync no / everysec / always,
#     at -P 1 and -P 16, with redis-server under the same settings, and the ratio;
#  2. with KEYS keys (1,000,000 by default): how long BGSAVE takes and the longest pause a
#     client sees meanwhile (a PING loop), for both servers;
#  3. how long a restart takes to load those keys, from the AOF and from the snapshot (until
#     DBSIZE answers: redis-server answers -LOADING meanwhile).
#
#   bench/persistence_compare.sh               # N=200000 per throughput test, KEYS=1000000
#   N=50000 KEYS=200000 bench/persistence_compare.sh
#
# The apiaryd binary comes from the release preset (built if missing). Files go to a
# temporary directory on the machine's disk (TMPDIR), removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-200000}"
C="${C:-50}"
KEYS="${KEYS:-1000000}"

. bench/servers.sh
bench_build_apiaryd
APIARYD=build/release/apps/apiaryd/apiaryd
work="$bench_work"

# start_redis PORT DIR ARGS... ; start_apiary PORT DIR ARGS...  (pid in $started)
start_redis() {
  local port=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --dir "$dir" --logfile "$dir/redis.log" "$@" \
    >/dev/null 2>&1 &
  started=$!
  bench_pids+=("$started")
}
start_apiary() {
  local port=$1 dir=$2
  shift 2
  "$APIARYD" --name bench --gossip-addr 127.0.0.1:0 --bind 127.0.0.1 --port "$port" \
    --log-level warn --dir "$dir" "$@" >"$dir.log" 2>&1 &
  started=$!
  bench_pids+=("$started")
}
stop() { kill -9 "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# rps PORT PIPELINE -> "rps p99"
rps() {
  redis-benchmark -h 127.0.0.1 -p "$1" -t set -n "$N" -c "$C" -P "$2" -r 100000 --csv 2>/dev/null |
    tr -d '"' | awk -F, 'NR>1 {print $2, $7}'
}

echo "== SET throughput, one node, N=$N C=$C (redis and apiary with the same appendfsync)"
printf '%-10s %4s %12s %12s %7s %10s %10s\n' appendfsync P redis_rps apiary_rps ratio redis_p99 apiary_p99
for mode in off no everysec always; do
  rport=$(bench_free_port)
  aport=$(bench_free_port)
  if [ "$mode" = off ]; then
    start_redis "$rport" "$work/r-$mode" --appendonly no
    rpid=$started
    start_apiary "$aport" "$work/a-$mode"
    apid=$started
  else
    start_redis "$rport" "$work/r-$mode" --appendonly yes --appendfsync "$mode"
    rpid=$started
    start_apiary "$aport" "$work/a-$mode" --appendonly yes --appendfsync "$mode"
    apid=$started
  fi
  bench_wait_ping "$rport"
  bench_wait_ping "$aport"
  for p in 1 16; do
    read -r r r99 < <(rps "$rport" "$p")
    read -r a a99 < <(rps "$aport" "$p")
    awk -v m="$mode" -v p="$p" -v r="$r" -v a="$a" -v r99="$r99" -v a99="$a99" \
      'BEGIN { printf "%-10s %4s %12.0f %12.0f %7.2f %10s %10s\n", m, p, r, a, a / r, r99, a99 }'
  done
  stop "$rpid"
  stop "$apid"
done

# fill PORT: KEYS keys "key:<i>" with 32-byte values, pipelined.
fill() {
  python3 - "$KEYS" <<'EOF' | redis-cli -p "$1" --pipe >/dev/null
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
v = b"x" * 32
chunk = []
for i in range(n):
    k = b"key:%d" % i
    chunk.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%s\r\n" % (len(k), k, v))
    if len(chunk) == 10000:
        out.write(b"".join(chunk))
        chunk = []
out.write(b"".join(chunk))
EOF
}

# probe PORT COMMAND: runs COMMAND (BGSAVE), then PINGs in a loop until the save is over;
# prints "seconds max_pause_ms pings".
probe() {
  python3 - "$1" "$2" <<'EOF'
import socket, sys, time
port, command = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")
def call(*args):
    s.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
    line = f.readline()
    if line[:1] == b"$":
        n = int(line[1:])
        data = f.read(n + 2) if n >= 0 else b""
        return data[:-2]
    return line.strip()
def saving():
    info = call(b"INFO", b"persistence").decode()
    return "rdb_bgsave_in_progress:1" in info
start = time.monotonic()
call(command.encode())
worst, pings = 0.0, 0
while True:
    t = time.monotonic()
    call(b"PING")
    worst = max(worst, time.monotonic() - t)
    pings += 1
    if pings % 50 == 0 and not saving():
        break
print("%.2f %.1f %d" % (time.monotonic() - start, worst * 1000, pings))
EOF
}

echo
echo "== $KEYS keys: BGSAVE time and the longest PING round trip meanwhile"
printf '%-8s %10s %14s %8s\n' server save_s max_pause_ms pings
rport=$(bench_free_port)
aport=$(bench_free_port)
start_redis "$rport" "$work/r-big" --appendonly yes --appendfsync everysec
rpid=$started
start_apiary "$aport" "$work/a-big" --appendonly yes --appendfsync everysec
apid=$started
bench_wait_ping "$rport"
bench_wait_ping "$aport"
fill "$rport"
fill "$aport"
echo "keys: redis $(redis-cli -p "$rport" DBSIZE) apiary $(redis-cli -p "$aport" DBSIZE)"
read -r s m n < <(probe "$rport" BGSAVE)
printf '%-8s %10s %14s %8s\n' redis "$s" "$m" "$n"
read -r s m n < <(probe "$aport" BGSAVE)
printf '%-8s %10s %14s %8s\n' apiary "$s" "$m" "$n"
redis-cli -p "$rport" BGREWRITEAOF >/dev/null
redis-cli -p "$aport" BGREWRITEAOF >/dev/null
sleep 1
for _ in $(seq 1 600); do
  busy=$( (redis-cli -p "$rport" INFO persistence; redis-cli -p "$aport" INFO persistence) |
    grep -c 'aof_rewrite_in_progress:1' || true)
  [ "$busy" = 0 ] && break
  sleep 0.2
done
ls -l "$work/a-big" | awk 'NR>1 {print "apiary file:", $9, $5, "bytes"}'

# Until DBSIZE answers a number (redis-server answers -LOADING while it loads; apiaryd loads
# before it listens).
wait_loaded() {
  for _ in $(seq 1 1200); do
    redis-cli -p "$1" DBSIZE 2>/dev/null | grep -qE '^[0-9]+$' && return 0
    sleep 0.05
  done
  echo "server on port $1 did not load" >&2
  return 1
}
# restart ARGS... -> seconds until the node answers DBSIZE with its keys loaded
timed_start() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  wait_loaded "$port"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}
echo
echo "== restart with $KEYS keys: seconds until DBSIZE answers (kill -9, then start on the same files)"
stop "$rpid"
stop "$apid"
port=$rport
r_aof=$(timed_start start_redis "$rport" "$work/r-big" --appendonly yes)
rpid=$(pgrep -f "redis-server 127.0.0.1:$rport" | head -1)
echo "redis  from its AOF:      ${r_aof}s ($(redis-cli -p "$rport" DBSIZE) keys)"
port=$aport
a_aof=$(timed_start start_apiary "$aport" "$work/a-big" --appendonly yes)
apid=$(pgrep -f -- "--port $aport" | head -1)
echo "apiary from its AOF:      ${a_aof}s ($(redis-cli -p "$aport" DBSIZE) keys)"
kill -9 "$apid" 2>/dev/null || true
sleep 0.5
a_snap=$(timed_start start_apiary "$aport" "$work/a-big")
echo "apiary from its snapshot: ${a_snap}s ($(redis-cli -p "$aport" DBSIZE) keys)"
pkill -9 -f -- "--port $aport" || true
pkill -9 -f "redis-server 127.0.0.1:$rport" || true
