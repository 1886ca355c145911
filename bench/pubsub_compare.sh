#!/usr/bin/env bash
# Publish/subscribe: one redis-server and a 3-node Apiary cluster (release build), the same
# load (bench/pubsub_load.cpp) against both in the same run. On Apiary the publishers talk to
# node 1 and the subscribers are spread over nodes 2 and 3, so every message crosses the
# cluster; on Redis everything is on the one server. Prints one table with the ratios
# apiary/redis (throughput: above 1 is Apiary faster; latency: above 1 is Apiary slower).
#
#   bench/pubsub_compare.sh
#   M=50000 bench/pubsub_compare.sh          # fewer messages per load
#
# Loads (name: subscribers, publishers, pipeline depth, channels, messages):
#   fanout      8 subscribers of one channel, 4 publishers, depth 32
#   channels    8 subscribers of 8 channels (one each), 4 publishers, depth 32
#   unpipelined 2 subscribers of one channel, 1 publisher, depth 1 (latency)
set -euo pipefail
cd "$(dirname "$0")/.."
M="${M:-100000}"
PAYLOAD="${PAYLOAD:-64}"

. bench/servers.sh
bench_build_apiaryd
flock /tmp/apiary-build.lock cmake --build --preset release --target pubsub_load \
  >"$bench_work/build-load.log" 2>&1 || { cat "$bench_work/build-load.log" >&2; exit 1; }
load=build/release/bench/pubsub_load

bench_start_redis redis_port
bench_start_cluster apiary_ports 3

# run NAME SUBS PUBS PIPELINE CHANNELS MESSAGES SUB_ADDRS PUB_ADDRS -> the CSV line
run() {
  "$load" --subscribers "$2" --publishers "$3" --pipeline "$4" --channels "$5" \
    --messages "$6" --payload "$PAYLOAD" --sub "$7" --pub "$8" | tail -n 1 || true
}

redis="127.0.0.1:$redis_port"
node1="127.0.0.1:${apiary_ports[0]}"
others="127.0.0.1:${apiary_ports[1]},127.0.0.1:${apiary_ports[2]}"

printf '%-12s %11s %11s %6s %11s %11s %6s %17s %17s %17s\n' load redis_pub/s apiary_pub/s \
  ratio redis_del/s apiary_del/s ratio "p50 ms r/a" "p99 ms r/a" "p999 ms r/a"
while read -r name subs pubs depth channels messages; do
  r=$(run "$name" "$subs" "$pubs" "$depth" "$channels" "$messages" "$redis" "$redis")
  a=$(run "$name" "$subs" "$pubs" "$depth" "$channels" "$messages" "$others" "$node1")
  IFS=, read -r rpub rdel r50 r99 r999 _ _ rlost rerr <<<"$r"
  IFS=, read -r apub adel a50 a99 a999 _ _ alost aerr <<<"$a"
  printf '%-12s %11s %11s %6.2f %11s %11s %6.2f %8s/%-8s %8s/%-8s %8s/%-8s\n' "$name" \
    "$rpub" "$apub" "$(echo "$apub / $rpub" | bc -l)" "$rdel" "$adel" \
    "$(echo "$adel / $rdel" | bc -l)" "$r50" "$a50" "$r99" "$a99" "$r999" "$a999"
  if [ "$rlost$rerr$alost$aerr" != "0000" ]; then
    echo "  lost/errors: redis $rlost/$rerr, apiary $alost/$aerr" >&2
  fi
done <<EOF
fanout 8 4 32 1 $M
channels 8 4 32 8 $M
unpipelined 2 1 1 1 $((M / 5))
EOF
