#!/usr/bin/env bash
# perf profile of a 3-node Apiary cluster (N=3, W=2, R=1) under one redis-benchmark test:
# starts the cluster as bench/cluster_compare.sh does, records every apiaryd with
# `perf record -g` while three redis-benchmark processes (one per node) run, and prints the
# top symbols (self time, all nodes together) plus the CPU seconds each node used.
#
#   TEST=set P=16 bench/cluster_profile.sh          # perf data kept in $OUT (default /tmp)
#   TEST=mset P=16 N=50000 TOP=40 bench/cluster_profile.sh
#   APIARYD=/tmp/apiaryd-old NOPERF=1 bench/cluster_profile.sh   # another build, CPU only
set -euo pipefail
cd "$(dirname "$0")/.."
TEST="${TEST:-set}"
P="${P:-16}"
N="${N:-100000}"
C="${C:-17}"
TOP="${TOP:-30}"
OUT="${OUT:-/tmp/apiary-profile}"
KEYSPACE="${KEYSPACE:-100000}"

if [ -z "${APIARYD:-}" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target apiaryd >/dev/null
fi
apiaryd="${APIARYD:-build/release/apps/apiaryd/apiaryd}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
mkdir -p "$OUT"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ports=()
seed=""
for i in 1 2 3; do
  gossip="$(free_port)"
  port="$(free_port)"
  args=(--name "prof$i" --gossip-addr "127.0.0.1:$gossip" --bind 127.0.0.1 --port "$port"
    --log-level warn --replicas 3 --write-quorum 2 --read-quorum 1)
  [ -n "$seed" ] && args+=(--seeds "$seed")
  LD_PRELOAD="${PRELOAD:-}" "$apiaryd" "${args[@]}" >"$work/apiaryd$i.log" 2>&1 &
  pids+=($!)
  seed="${seed:-127.0.0.1:$gossip}"
  ports+=("$port")
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
for _ in $(seq 1 100); do
  alive=$(redis-cli -p "${ports[2]}" INFO cluster | tr -d '\r' | awk -F: '$1=="cluster_alive_members"{print $2}')
  [ "$alive" = 3 ] && break
  sleep 0.1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
node_pids=("${pids[@]}")
before=()
for p in "${node_pids[@]}"; do before+=("$(cpu_ticks "$p")"); done
perf_pid=""
if [ -z "${NOPERF:-}" ]; then
  perf record -F "${FREQ:-499}" ${PERF_CALLGRAPH:--g} -o "$OUT/perf.data" \
    -p "$(IFS=,; echo "${node_pids[*]}")" 2>/dev/null &
  perf_pid=$!
fi
sleep 0.5
running=()
for port in "${ports[@]}"; do
  redis-benchmark -h 127.0.0.1 -p "$port" -t "$TEST" -n "$N" -c "$C" -P "$P" -r "$KEYSPACE" \
    -q 2>/dev/null | tr '\r' '\n' | tail -1 &
  running+=($!)
done
for job in "${running[@]}"; do wait "$job"; done
if [ -n "$perf_pid" ]; then
  kill -INT "$perf_pid"
  wait "$perf_pid" 2>/dev/null || true
fi
hz=$(getconf CLK_TCK)
total=0
for i in 0 1 2; do
  used=$(( $(cpu_ticks "${node_pids[$i]}") - before[i] ))
  total=$((total + used))
  echo "node $((i + 1)) cpu seconds: $(awk -v t="$used" -v hz="$hz" 'BEGIN{printf "%.2f", t/hz}')"
done
awk -v t="$total" -v hz="$hz" -v n="$N" 'BEGIN{printf "cpu microseconds per request (3 nodes, %d requests): %.1f\n", 3*n, 1e6*t/hz/(3*n)}'
for field in cluster_data_messages_sent cluster_data_envelopes_sent cluster_data_bytes_sent \
  cluster_commands_forwarded cluster_write_quorum_failures; do
  sum=0
  for port in "${ports[@]}"; do
    v=$(redis-cli -p "$port" INFO cluster | tr -d '\r' | awk -F: -v f="$field" '$1==f{print $2}')
    sum=$((sum + ${v:-0}))
  done
  echo "$field (3 nodes): $sum"
done
[ -n "$perf_pid" ] || exit 0
perf report -i "$OUT/perf.data" --no-children --sort symbol -g none --stdio 2>/dev/null |
  grep -E "^ +[0-9]" | cut -c1-140 | head -"$TOP"
