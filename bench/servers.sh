# Sourced by bench scripts: start redis-server and apiaryd (release preset) on free loopback
# ports for the length of the script, and stop them however it ends.
#
#   . bench/servers.sh
#   bench_build_apiaryd                 # configure + build apiaryd (shared build lock)
#   bench_start_redis redis_port        # sets redis_port once the server answers PING
#   bench_start_apiaryd apiary_port bench [apiaryd flags...]
#
# Servers keep nothing on disk (redis: --save '' --appendonly no). Logs go to $bench_work.

bench_work="$(mktemp -d)"
bench_pids=()

bench_cleanup() {
  local pid
  for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$bench_work"
}
trap bench_cleanup EXIT
# A signal (Ctrl-C, a closed pipe) must not leave servers running.
trap 'bench_cleanup; trap - EXIT; exit 1' INT TERM HUP PIPE

bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

bench_build_apiaryd() {
  cmake --preset release >/dev/null
  flock /tmp/apiary-build.lock cmake --build --preset release --target apiaryd \
    >"$bench_work/build.log" 2>&1 || { cat "$bench_work/build.log" >&2; return 1; }
}

bench_wait_ping() {  # PORT
  local _
  for _ in $(seq 1 100); do redis-cli -p "$1" PING >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "no server answers on port $1" >&2
  return 1
}

# The start functions run in the caller's shell (not a subshell) so their pids are kept:
# call them as `bench_start_redis port_var`, which sets port_var.
bench_start_redis() {  # VAR
  local port
  port="$(bench_free_port)"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$bench_work" --logfile "$bench_work/redis-$port.log" &
  bench_pids+=($!)
  bench_wait_ping "$port"
  printf -v "$1" '%s' "$port"
}

bench_start_apiaryd() {  # VAR NAME [apiaryd flags...]
  local var=$1 name=$2 port
  shift 2
  port="$(bench_free_port)"
  build/release/apps/apiaryd/apiaryd --name "$name" --gossip-addr 127.0.0.1:0 \
    --bind 127.0.0.1 --port "$port" --log-level warn "$@" >"$bench_work/apiaryd-$name.log" 2>&1 &
  bench_pids+=($!)
  bench_wait_ping "$port"
  printf -v "$var" '%s' "$port"
}

# A cluster of COUNT apiaryd (N=3, W=2, R=1 unless flags say otherwise) whose Redis ports go
# into the array VAR, once every member sees all the others.
bench_start_cluster() {  # VAR COUNT [apiaryd flags...]
  local var=$1 count=$2 i gossip port seed="" alive _
  shift 2
  local -a started=()
  for i in $(seq 1 "$count"); do
    gossip="$(bench_free_port)"
    port="$(bench_free_port)"
    local -a args=(--name "node$i" --gossip-addr "127.0.0.1:$gossip" --bind 127.0.0.1
      --port "$port" --log-level warn --replicas 3 --write-quorum 2 --read-quorum 1 "$@")
    [ -n "$seed" ] && args+=(--seeds "$seed")
    build/release/apps/apiaryd/apiaryd "${args[@]}" >"$bench_work/apiaryd-node$i.log" 2>&1 &
    bench_pids+=($!)
    seed="${seed:-127.0.0.1:$gossip}"
    started+=("$port")
  done
  for port in "${started[@]}"; do bench_wait_ping "$port"; done
  for _ in $(seq 1 100); do
    alive=$(redis-cli -p "${started[-1]}" INFO cluster | tr -d '\r' |
      awk -F: '$1=="cluster_alive_members"{print $2}')
    [ "$alive" = "$count" ] && break
    sleep 0.1
  done
  eval "$var=(\"\${started[@]}\")"
}
