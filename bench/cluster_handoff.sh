#!/usr/bin/env bash
# Data movement figures of a real cluster (release build, loopback):
#  1. handoff throughput: a 3-node cluster (N=3) holding KEYS keys; a 4th node joins; time
#     from its start until every node reports no pending handoff, and the bytes the old
#     owners streamed (MB/s and entries/s);
#  2. re-replication: one of the 4 nodes is killed with SIGKILL; time until every live node
#     sees it dead (detection), until the ring drops it (--dead-grace-ms) and until the
#     remaining owners have copied its partitions to their new owners (no handoff pending).
#
#   bench/cluster_handoff.sh                 # KEYS=1000000, 100-byte values
#   KEYS=200000 GRACE_MS=2000 bench/cluster_handoff.sh
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS="${KEYS:-1000000}"
VALUE_BYTES="${VALUE_BYTES:-100}"
GRACE_MS="${GRACE_MS:-5000}"
BUILD="${BUILD:-build/release}"

if [ ! -x "$BUILD/apps/apiaryd/apiaryd" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target apiaryd >/dev/null
fi
apiaryd="$BUILD/apps/apiaryd/apiaryd"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ports=()
seed=""
start_node() {  # start_node INDEX
  local gossip port
  gossip="$(free_port)"
  port="$(free_port)"
  local args=(--name "node$1" --gossip-addr "127.0.0.1:$gossip" --bind 127.0.0.1 --port "$port"
    --log-level warn --dead-grace-ms "$GRACE_MS")
  [ -n "$seed" ] && args+=(--seeds "$seed")
  "$apiaryd" "${args[@]}" >"$work/node$1.log" 2>&1 &
  pids+=($!)
  seed="${seed:-127.0.0.1:$gossip}"
  ports+=("$port")
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
}
field() { redis-cli -p "$1" INFO cluster | tr -d '\r' | awk -F: -v f="$2" '$1==f {print $2}'; }
now() { date +%s.%N; }
all_settled() {  # no pending handoff on any live node given as ports
  for p in "$@"; do [ "$(field "$p" cluster_handoff_pending)" = 0 ] || return 1; done
}
sum_field() {
  local f=$1 total=0
  shift
  for p in "$@"; do total=$((total + $(field "$p" "$f"))); done
  echo "$total"
}

for i in 1 2 3; do start_node "$i"; done
until [ "$(field "${ports[2]}" cluster_alive_members)" = 3 ]; do sleep 0.1; done

echo "loading $KEYS keys (${VALUE_BYTES}-byte values) through all three nodes ..."
t=$(now)
loaders=()
for part in 0 1 2 3; do
  python3 - "$KEYS" "$VALUE_BYTES" "$part" 4 <<'EOF' | redis-cli -p "${ports[$((part % 3))]}" --pipe >"$work/load$part.txt" &
import sys
n, size, part, parts = (int(a) for a in sys.argv[1:5])
value = b"x" * size
out = sys.stdout.buffer
for i in range(part, n, parts):
    key = b"key:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, size, value))
EOF
  loaders+=($!)
done
for p in "${loaders[@]}"; do wait "$p"; done
load_s=$(echo "$(now) - $t" | bc)
tail -q -n 1 "$work"/load*.txt
echo "loaded in ${load_s}s; node1 DBSIZE $(redis-cli -p "${ports[0]}" DBSIZE)"
until all_settled "${ports[@]}"; do sleep 0.2; done

# 1. Join.
bytes_before=$(sum_field cluster_handoff_bytes_sent "${ports[@]}")
t0=$(now)
start_node 4
until [ "$(field "${ports[3]}" cluster_handoff_entries_received)" -gt 0 ] 2>/dev/null; do sleep 0.05; done
until all_settled "${ports[@]}"; do sleep 0.05; done
t1=$(now)
bytes=$(($(sum_field cluster_handoff_bytes_sent "${ports[@]}") - bytes_before))
received=$(field "${ports[3]}" cluster_handoff_entries_received)
join_s=$(echo "$t1 - $t0" | bc)
echo "join: node4 received $received entries, $bytes bytes streamed in ${join_s}s" \
  "=> $(echo "scale=1; $bytes / 1048576 / $join_s" | bc) MB/s," \
  "$(echo "scale=0; $received / $join_s" | bc) entries/s;" \
  "node4 DBSIZE $(redis-cli -p "${ports[3]}" DBSIZE)"

# 2. Kill node2, watch the others.
live=("${ports[0]}" "${ports[2]}" "${ports[3]}")
copied_before=$(sum_field cluster_handoff_entries_sent "${live[@]}")
t2=$(now)
kill -9 "${pids[1]}"  # node2 (pids[0] is node1)
until [ "$(field "${live[0]}" cluster_alive_members)" = 3 ] &&
  [ "$(field "${live[1]}" cluster_alive_members)" = 3 ] &&
  [ "$(field "${live[2]}" cluster_alive_members)" = 3 ]; do sleep 0.05; done
t3=$(now)
sleep "$(echo "scale=3; $GRACE_MS / 1000" | bc)"
until [ "$(sum_field cluster_handoff_entries_sent "${live[@]}")" -gt "$copied_before" ]; do sleep 0.05; done
until all_settled "${live[@]}"; do sleep 0.05; done
t4=$(now)
copied=$(($(sum_field cluster_handoff_entries_sent "${live[@]}") - copied_before))
echo "kill -9: detected dead by every node after $(echo "$t3 - $t2" | bc)s;" \
  "re-replicated $copied entries; fully re-replicated $(echo "$t4 - $t2" | bc)s after the kill" \
  "(grace ${GRACE_MS} ms; copy phase $(echo "$t4 - $t3 - $GRACE_MS / 1000" | bc)s)"
for p in "${live[@]}"; do echo "  port $p DBSIZE $(redis-cli -p "$p" DBSIZE)"; done
