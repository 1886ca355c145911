#!/usr/bin/env bash
# The embedding API against a Redis round trip, same machine, same run: bench/embedded_bench
# (release preset) with a redis-server started here as the yardstick. Prints Google
# Benchmark's table and the ratios embedded call time / redis-server round trip.
#
#   bench/embedded_compare.sh                 # 3 repetitions, medians
#   REPS=1 bench/embedded_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-3}"

cmake --preset release >/dev/null
cmake --build --preset release --target embedded_bench >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
redis_port="$(free_port)"
cleanup() {
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
for _ in $(seq 1 100); do redis-cli -p "$redis_port" PING >/dev/null 2>&1 && break; sleep 0.1; done

REDIS_PORT="$redis_port" build/release/bench/embedded_bench --benchmark_repetitions="$REPS" \
  --benchmark_report_aggregates_only=true --benchmark_format=json >"$work/out.json"
python3 - "$work/out.json" <<'PY'
import json, sys
rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") not in (None, "median"):
        continue
    name = b["run_name"]
    rows[name] = b["real_time"] * {"ns": 1e-3, "us": 1, "ms": 1e3}[b["time_unit"]]
for name, us in rows.items():
    print(f"{name:55s} {us:9.2f} us/call")
def ratio(a, b):
    if a in rows and b in rows and rows[b] > 0:
        print(f"{a} / {b}: {rows[a] / rows[b]:.2f}")
print()
ratio("BM_EmbeddedGet/single/real_time", "BM_RespGet/redis_server/real_time")
ratio("BM_EmbeddedSet/single/real_time", "BM_RespSet/redis_server/real_time")
ratio("BM_RespGet/apiary_single_over_resp/real_time", "BM_RespGet/redis_server/real_time")
ratio("BM_RespSet/apiary_single_over_resp/real_time", "BM_RespSet/redis_server/real_time")
ratio("BM_EmbeddedSet/cluster_n3_w2/real_time", "BM_RespSet/redis_server/real_time")
ratio("BM_EmbeddedSet/cluster_n3_w2/real_time", "BM_RespSet/apiary_cluster_over_resp/real_time")
PY
