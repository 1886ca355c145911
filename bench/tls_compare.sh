#!/usr/bin/env bash
# TLS on the Redis port: redis-benchmark SET/GET against one apiaryd and one redis-server,
# each with a plaintext port and a TLS port (certificates made here with openssl, clients
# authenticated with a certificate as tls-auth-clients yes asks), same machine, same run,
# same settings. Prints requests/s and p50 per server and port, the ratio apiary/redis on
# each port, and TLS/plain for each server (the issue asks that TLS not halve throughput).
#
#   bench/tls_compare.sh                  # -n 300000 -c 50, -P 1 and -P 16, 3 rounds
#   N=100000 ROUNDS=1 bench/tls_compare.sh   # shorter run
#
# Both servers keep nothing on disk (redis: --save '' --appendonly no; apiaryd without
# --dir). The apiaryd binary comes from the release preset (built if missing). The two
# servers take turns (who goes first alternates by round) and the medians of the rounds are
# shown, with each server's CPU time per request, which the machine's other load disturbs
# less than requests/s.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-300000}"
ROUNDS="${ROUNDS:-3}"
C="${C:-50}"
TESTS="${TESTS:-set,get}"
KEYSPACE="${KEYSPACE:-100000}"

cmake --preset release >/dev/null
flock /tmp/apiary-build.lock cmake --build --preset release --target apiaryd -j2 >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
work="$(mktemp -d)"
cleanup() {
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
  [ -n "${apiary_pid:-}" ] && kill "$apiary_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A CA, a server certificate for 127.0.0.1 and a client certificate.
(
  cd "$work"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=bench CA' -keyout ca.key \
    -out ca.crt 2>/dev/null
  for who in server client; do
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$who.ext"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout "$who.key" -out "$who.csr" \
      2>/dev/null
    openssl x509 -req -days 1 -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile "$who.ext" -out "$who.crt" 2>/dev/null
  done
)
tls_server=(--tls-cert-file "$work/server.crt" --tls-key-file "$work/server.key"
  --tls-ca-cert-file "$work/ca.crt")
tls_client=(--tls --cacert "$work/ca.crt" --cert "$work/client.crt" --key "$work/client.key")

redis_port="$(free_port)"; redis_tls="$(free_port)"
apiary_port="$(free_port)"; apiary_tls="$(free_port)"
redis-server --port "$redis_port" --tls-port "$redis_tls" "${tls_server[@]}" --bind 127.0.0.1 \
  --save '' --appendonly no --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
build/release/apps/apiaryd/apiaryd --name bench --gossip-addr 127.0.0.1:0 --bind 127.0.0.1 \
  --port "$apiary_port" --tls-port "$apiary_tls" "${tls_server[@]}" --log-level warn \
  >"$work/apiaryd.log" 2>&1 &
apiary_pid=$!
for port in "$redis_port" "$apiary_port"; do
  for _ in $(seq 1 100); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
done
for port in "$redis_tls" "$apiary_tls"; do
  redis-cli -p "$port" "${tls_client[@]}" PING | grep -q PONG || {
    echo "no TLS PONG on $port" >&2
    exit 1
  }
done

# bench PORT PIPELINE [TLS flags...] -> csv lines "test,rps,p50"
bench() {
  local port="$1" pipeline="$2"
  shift 2
  redis-benchmark -h 127.0.0.1 -p "$port" "$@" -t "$TESTS" -n "$N" -c "$C" -P "$pipeline" \
    -r "$KEYSPACE" --csv 2>/dev/null | tr -d '"' | awk -F, 'NR>1 {print $1","$2","$5}'
}
# CPU time of a process so far, in clock ticks (user + system).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"

# run SERVER PIPELINE MODE ROUND: one redis-benchmark run, its CPU ticks added up per cell.
run() {
  local server="$1" pipeline="$2" mode="$3" round="$4" port pid before
  if [ "$server" = redis ]; then pid="$redis_pid"; else pid="$apiary_pid"; fi
  case "$server-$mode" in
    redis-plain) port="$redis_port" ;; redis-tls) port="$redis_tls" ;;
    apiary-plain) port="$apiary_port" ;; apiary-tls) port="$apiary_tls" ;;
  esac
  redis-cli -p "$([ "$server" = redis ] && echo "$redis_port" || echo "$apiary_port")" \
    FLUSHALL >/dev/null
  before="$(ticks "$pid")"
  if [ "$mode" = plain ]; then
    bench "$port" "$pipeline" >>"$work/$server-$mode-$pipeline.csv"
  else
    bench "$port" "$pipeline" "${tls_client[@]}" >>"$work/$server-$mode-$pipeline.csv"
  fi
  echo "$(($(ticks "$pid") - before))" >>"$work/$server-$mode-$pipeline.ticks"
}

# Median requests/s and p50 per test, and server CPU microseconds per request.
summary() {
  local f="$work/$1-$2-$3"
  # The median round by requests/s, with that round's p50.
  sort -t, -k1,1 -k2,2n "$f.csv" | awk -F, '{rps[$1] = rps[$1] " " $2; p50[$1] = p50[$1] " " $3}
    END { for (t in rps) { n = split(rps[t], r, " "); split(p50[t], q, " ");
      printf "%s,%s,%s\n", t, r[int((n + 1) / 2)], q[int((n + 1) / 2)] } }' |
    sort >"$f.median"
  awk -v n="$N" -v tests="$(echo "$TESTS" | tr ',' '\n' | wc -l)" -v hz="$hz" \
    '{s += $1; k++} END {printf "%.1f\n", s / hz * 1e6 / (n * tests * k)}' "$f.ticks" >"$f.cpu"
}

echo "apiary $(git rev-parse --short HEAD), redis $(redis-server --version | awk '{print $3}' | cut -d= -f2), $(openssl version | awk '{print $1, $2}'), N=$N C=$C ROUNDS=$ROUNDS, $(nproc) CPUs"
for pipeline in 1 16; do
  for mode in plain tls; do
    for round in $(seq 1 "$ROUNDS"); do
      # Alternate who goes first: load from elsewhere on the machine hits both alike.
      if [ $((round % 2)) = 1 ]; then order="redis apiary"; else order="apiary redis"; fi
      for server in $order; do run "$server" "$pipeline" "$mode" "$round"; done
    done
    summary redis "$mode" "$pipeline"
    summary apiary "$mode" "$pipeline"
  done
done

printf '%-4s %3s %-5s %11s %11s %6s %9s %10s %11s %12s\n' test P port redis_rps apiary_rps \
  ratio redis_p50 apiary_p50 redis_us/req apiary_us/req
for pipeline in 1 16; do
  for mode in plain tls; do
    rc="$(cat "$work/redis-$mode-$pipeline.cpu")"; ac="$(cat "$work/apiary-$mode-$pipeline.cpu")"
    join -t, "$work/redis-$mode-$pipeline.median" "$work/apiary-$mode-$pipeline.median" |
      awk -F, -v p="$pipeline" -v m="$mode" -v rc="$rc" -v ac="$ac" \
        '{printf "%-4s %3s %-5s %11.0f %11.0f %6.2f %9s %10s %11s %12s\n",
          $1, p, m, $2, $4, ($2 > 0 ? $4 / $2 : 0), $3, $5, rc, ac}'
  done
done
echo "(median of $ROUNDS rounds; us/req: the server's CPU time per request, SET and GET together)"

echo
printf '%-4s %3s %16s %17s\n' test P redis_tls/plain apiary_tls/plain
for pipeline in 1 16; do
  for server in redis apiary; do
    join -t, "$work/$server-plain-$pipeline.median" "$work/$server-tls-$pipeline.median" |
      awk -F, '{print $1","($2 > 0 ? $4 / $2 : 0)}' >"$work/$server-ratio-$pipeline.csv"
  done
  join -t, "$work/redis-ratio-$pipeline.csv" "$work/apiary-ratio-$pipeline.csv" |
    awk -F, -v p="$pipeline" '{printf "%-4s %3s %16.2f %17.2f\n", $1, p, $2, $3}'
done
