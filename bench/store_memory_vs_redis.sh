#!/usr/bin/env bash
# Bytes per key for 1M keys (16-byte keys, 32-byte values): redis-server (INFO memory
# used_memory, after minus before loading) versus the Apiary store (allocator heap delta and
# the store's own used_memory), measured in the same run.
#
#   bench/store_memory_vs_redis.sh [path/to/store_bench] [keys]
# store_bench defaults to build/release/bench/store_bench; build it first, e.g.
#   cmake --preset release && cmake --build build/release --target store_bench
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
bench="${1:-$here/build/release/bench/store_bench}"
keys="${2:-1000000}"
command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 1; }
[[ -x "$bench" ]] || { echo "store_bench not found at $bench" >&2; exit 1; }

# A free loopback port: bind port 0 and read what the kernel picked.
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
dir="$(mktemp -d)"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  --daemonize no --logfile "$dir/redis.log" &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done

used() { redis-cli -p "$port" info memory | tr -d '\r' | awk -F: '$1=="used_memory"{print $2}'; }
before="$(used)"
# The same keys and values as store_bench: key:%012d and value:%026d, sent as raw RESP.
python3 - "$keys" <<'PY' | redis-cli -p "$port" --pipe >/dev/null
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(n):
    k = b"key:%012d" % i
    v = b"value:%026d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$16\r\n" + k + b"\r\n$32\r\n" + v + b"\r\n")
PY
after="$(used)"
dbsize="$(redis-cli -p "$port" dbsize | tr -d '\r')"
redis_version="$(redis-server --version | awk '{print $3}')"

store_out="$("$bench" --memory-report "$keys")"
store_heap="$(awk '$1=="heap_bytes_per_key"{print $2}' <<<"$store_out")"
store_used="$(awk '$1=="used_memory_per_key"{print $2}' <<<"$store_out")"
redis_per_key="$(python3 -c "print(f'{($after-$before)/$dbsize:.1f}')")"

echo "keys: $dbsize (16-byte keys, 32-byte values)"
echo "redis-server $redis_version used_memory/key: $redis_per_key"
echo "apiary store heap/key:                $store_heap"
echo "apiary store used_memory/key:         $store_used"
python3 -c "print(f'ratio store heap / redis: {$store_heap/$redis_per_key:.2f}')"
