#!/usr/bin/env bash
# Gossip traffic of an idle 3-node apiaryd cluster with a cluster key, per node and second:
# messages sealed and opened (INFO cluster_key_gossip_*) and bytes sent (/metrics
# apiary_gossip_bytes_total), over a window after the cluster settled. With the seal+open cost
# from bench/keyring_bench this gives the CPU that encryption costs gossip (docs/benchmarks.md,
# "Encryption between nodes"). With WRITES=N, then redis-benchmark SET (N requests, 50
# clients) through node 1 of that cluster and of a second one without a key, twice each,
# alternating.
#
#   bench/cluster_key_gossip.sh [path/to/apiaryd] [seconds]
#   WRITES=200000 bench/cluster_key_gossip.sh build/release/apps/apiaryd/apiaryd 30
set -euo pipefail
APIARYD=${1:-build/release/apps/apiaryd/apiaryd}
SECONDS_WINDOW=${2:-30}
DIR=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$DIR"' EXIT

APIARY=${APIARY:-$(dirname "$APIARYD")/../apiary/apiary}
"$APIARY" keygen > "$DIR/keys"
chmod 600 "$DIR/keys"

start() {  # name, extra args...
  local name=$1
  shift
  "$APIARYD" --name "$name" --gossip-addr 127.0.0.1:0 --http-addr 127.0.0.1:0 --bind 127.0.0.1 \
    --port 0 --log-level warn "$@" > "$DIR/$name.log" 2>&1 &
  for _ in $(seq 100); do grep -q "apiaryd ready" "$DIR/$name.log" && break; sleep 0.1; done
}
field() { grep -o "$2=[^ ]*" "$DIR/$1.log" | head -1 | cut -d= -f2; }
KEY=(--cluster-key-file "$DIR/keys")
start n1 "${KEY[@]}"
SEED=$(field n1 gossip)
start n2 "${KEY[@]}" --seeds "$SEED"
start n3 "${KEY[@]}" --seeds "$SEED"
sleep 5

sample() {  # node -> "sealed opened bytes_sent"
  local port http
  port=$(field "$1" redis | cut -d: -f2)
  http=$(field "$1" http)
  local info
  info=$(redis-cli -p "$port" INFO cluster)
  echo "$(echo "$info" | grep cluster_key_gossip_sealed | cut -d: -f2 | tr -d '\r')" \
    "$(echo "$info" | grep cluster_key_gossip_opened | cut -d: -f2 | tr -d '\r')" \
    "$(curl -s "http://$http/metrics" | grep '^apiary_gossip_bytes_total{direction="sent"}' |
      awk '{print $2}')" \
    "$(echo "$info" | grep cluster_alive_members | cut -d: -f2 | tr -d '\r')"
}
declare -A before
for n in n1 n2 n3; do before[$n]=$(sample $n); done
sleep "$SECONDS_WINDOW"
printf "%-4s %14s %14s %16s %6s\n" node sealed/s opened/s bytes_sent/s alive
for n in n1 n2 n3; do
  read -r s0 o0 b0 _ <<< "${before[$n]}"
  read -r s1 o1 b1 alive <<< "$(sample $n)"
  awk -v n=$n -v s=$((s1 - s0)) -v o=$((o1 - o0)) -v b=$((b1 - b0)) -v t="$SECONDS_WINDOW" \
    -v a="$alive" 'BEGIN { printf "%-4s %14.1f %14.1f %16.1f %6s\n", n, s/t, o/t, b/t, a }'
done

[ -n "${WRITES:-}" ] || exit 0
start p1
SEED=$(field p1 gossip)
start p2 --seeds "$SEED"
start p3 --seeds "$SEED"
sleep 5
data_sealed() {  # sum of cluster_key_data_sealed over the keyed nodes
  local sum=0 port
  for n in n1 n2 n3; do
    port=$(field $n redis | cut -d: -f2)
    sum=$((sum + $(redis-cli -p "$port" INFO cluster | grep cluster_key_data_sealed | cut -d: -f2 | tr -d '\r')))
  done
  echo $sum
}
sealed_before=$(data_sealed)
for round in 1 2; do
  for n in n1 p1; do
    port=$(field $n redis | cut -d: -f2)
    rps=$(redis-benchmark -p "$port" -t set -n "$WRITES" -c 50 -r 100000 -q | grep -o '[0-9.]* requests' | cut -d' ' -f1)
    echo "round $round $([ $n = n1 ] && echo 'with key   ' || echo 'without key') SET $rps requests/s"
  done
done
echo "data messages sealed per SET (cluster-wide): $(awk -v d=$(( $(data_sealed) - sealed_before )) -v w="$WRITES" 'BEGIN { printf "%.2f", d / (2 * w) }')"
