#!/usr/bin/env bash
# The near cache in examples/lookup_service: three lookup_service members with one replica per
# key (replicas 1), so two keys in three of those a member serves are owned by another member.
# KEYS lookups are computed once (200 ms each) through member 1, then REQUESTS lookups of them
# (80 % on the first fifth) go to member 1 over one keep-alive HTTP connection, with the near
# cache on (--near-cache 10000) and off (--near-cache 0). Prints the latency percentiles of
# those requests and member 1's near-cache counters (GET /stats).
#
#   KEYS=30 REQUESTS=20000 bench/lookup_near_cache.sh
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS="${KEYS:-30}"
REQUESTS="${REQUESTS:-20000}"
cmake --preset release >/dev/null
flock /tmp/apiary-build.lock cmake --build --preset release --target lookup_service >/dev/null
bin=build/release/examples/lookup_service/lookup_service
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

run() {  # NEAR_CACHE_KEYS
  local near=$1 g1 h1 h2 h3
  g1="$(free_port)"
  h1="$(free_port)"; h2="$(free_port)"; h3="$(free_port)"
  "$bin" --name "lk${near}a" --gossip "127.0.0.1:$g1" --http "127.0.0.1:$h1" --replicas 1 \
    --ttl 3600 --near-cache "$near" --log-level warn >"$work/a.log" 2>&1 &
  pids+=($!)
  sleep 0.5
  "$bin" --name "lk${near}b" --gossip 127.0.0.1:0 --seed "127.0.0.1:$g1" --http "127.0.0.1:$h2" \
    --replicas 1 --ttl 3600 --near-cache "$near" --log-level warn >"$work/b.log" 2>&1 &
  pids+=($!)
  "$bin" --name "lk${near}c" --gossip 127.0.0.1:0 --seed "127.0.0.1:$g1" --http "127.0.0.1:$h3" \
    --replicas 1 --ttl 3600 --near-cache "$near" --log-level warn >"$work/c.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    [ "$(curl -s "http://127.0.0.1:$h1/members" | grep -c alive)" = 3 ] &&
      [ "$(curl -s "http://127.0.0.1:$h2/members" | grep -c alive)" = 3 ] &&
      [ "$(curl -s "http://127.0.0.1:$h3/members" | grep -c alive)" = 3 ] && break
    sleep 0.1
  done
  sleep 2  # the partition table settles
  python3 - "$h1" "$KEYS" "$REQUESTS" "$near" <<'PY'
import http.client, json, random, sys, time
port, keys, requests, near = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
c = http.client.HTTPConnection("127.0.0.1", port)
def get(path):
    c.request("GET", path)
    r = c.getresponse()
    return r.read()
for k in range(keys):  # computed once, cached in the cluster
    get(f"/lookup/k{k}")
rng = random.Random(42)
lat = []
recomputed = 0
for _ in range(requests):
    k = rng.randrange(keys // 5) if rng.random() < 0.8 else rng.randrange(keys)
    t = time.perf_counter()
    body = get(f"/lookup/k{k}")
    lat.append((time.perf_counter() - t) * 1e6)
    recomputed += b'"cached":false' in body  # the cluster lost it (a view change moved it)
lat.sort()
q = lambda p: lat[int(p * (len(lat) - 1))]
stats = dict(l.split(" ", 1) for l in get("/stats").decode().strip().splitlines())
hits, misses = int(stats["near_cache_hits"]), int(stats["near_cache_misses"])
rate = hits / (hits + misses) if hits + misses else 0.0
print(f"near-cache {near:>5}: p50 {q(0.5):.0f} us, p99 {q(0.99):.0f} us, mean {sum(lat)/len(lat):.0f} us; "
      f"near_cache_hits {hits} misses {misses} hit rate {rate:.2f} entries {stats['near_cache_entries']}; "
      f"recomputed {recomputed}")
PY
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

run 10000
run 0
