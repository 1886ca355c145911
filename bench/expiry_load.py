#!/usr/bin/env python3
"""Active-expiry figures for one Redis-protocol server (used by bench/expiry_compare.sh).

  expiry_load.py burst PORT [--keys 20000] [--ttl-ms 200]
      Writes KEYS keys with PX TTL (pipelined), then reads INFO keyspace every 100 ms until
      no key is left. Prints one JSON line: when the last key expired, how many were left at
      +0.5 s / +1 s / +2 s after that, and when the count reached 0.
  expiry_load.py load PORT [--rate 20000] [--ttl-ms 1000] [--spread 0] [--seconds 10]
      Writes RATE unique keys per second with PX TTL (uniform in TTL * (1 +- SPREAD)) in
      10 ms batches for SECONDS, reading INFO keyspace every 100 ms from a second connection.
      Keys present minus keys whose TTL has not run out (known from when each batch was sent)
      are the expired-but-present ones; prints their mean, p90 and worst share of the keys
      present (once the longest TTL has passed), as JSON.

INFO keyspace (db0:keys=) counts keys not yet removed, expired or not, on both Redis and
apiaryd (apiaryd's DBSIZE leaves expired keys out, Redis's does not).
"""
import argparse
import heapq
import json
import random
import socket
import time


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, *commands):
        out = []
        for args in commands:
            out.append(b"*%d\r\n" % len(args))
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 20)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        raise RuntimeError("unexpected reply " + line.decode(errors="replace"))

    def call(self, *args):
        self.send(args)
        return self.reply()

    def keys_present(self):
        for line in self.call("INFO", "keyspace").split(b"\r\n"):
            if line.startswith(b"db0:"):
                return int(line.split(b"keys=")[1].split(b",")[0])
        return 0


def burst(port, keys, ttl_ms):
    c, probe = Client(port), Client(port)
    c.call("FLUSHALL")
    batch = 1000
    for start in range(0, keys, batch):
        n = min(batch, keys - start)
        c.send(*[("SET", "burst:%d" % i, "v", "PX", ttl_ms) for i in range(start, start + n)])
        for _ in range(n):
            c.reply()
    last_expiry = time.monotonic() + ttl_ms / 1000.0
    samples = []
    deadline = last_expiry + 30
    while time.monotonic() < deadline:
        now = time.monotonic()
        present = probe.keys_present()
        samples.append((now - last_expiry, present))
        if present == 0 and now > last_expiry:
            break
        time.sleep(0.1)

    def left_at(t):
        after = [p for (s, p) in samples if s >= t]
        return after[0] if after else 0  # sampling stops once none is left

    gone = next((s for (s, p) in samples if p == 0 and s > 0), None)
    return {
        "keys": keys, "ttl_ms": ttl_ms,
        "left_at_expiry": left_at(0.0), "left_0.5s": left_at(0.5), "left_1s": left_at(1.0),
        "left_2s": left_at(2.0), "all_gone_after_s": None if gone is None else round(gone, 2),
        "trace": [(round(s, 2), p) for (s, p) in samples],
    }


def load(port, rate, ttl_ms, seconds, spread):
    c, probe = Client(port), Client(port)
    c.call("FLUSHALL")
    per_batch = max(1, rate // 100)
    rng = random.Random(1)
    expiries = []  # heap of (send time + TTL) of the keys not yet expired
    shares = []
    start = time.monotonic()
    next_batch, next_probe, seq = start, start + 0.1, 0
    while True:
        now = time.monotonic()
        if now >= start + seconds:
            break
        if now >= next_probe:
            t0 = time.monotonic()
            present = probe.keys_present()
            t = (t0 + time.monotonic()) / 2
            while expiries and expiries[0] <= t:
                heapq.heappop(expiries)
            if t - start > ttl_ms * (1 + spread) / 1000.0 + 0.2 and present > 0:
                shares.append(max(0, present - len(expiries)) / present)
            next_probe += 0.1
        if now >= next_batch:
            sent = time.monotonic()
            ttls = [max(1, round(ttl_ms * (1 + spread * (2 * rng.random() - 1))))
                    for _ in range(per_batch)]
            c.send(*[("SET", "load:%d" % (seq + i), "v", "PX", ttls[i]) for i in range(per_batch)])
            for ttl in ttls:
                heapq.heappush(expiries, sent + ttl / 1000.0)
            for _ in range(per_batch):
                c.reply()
            seq += per_batch
            next_batch += 0.01
        else:
            time.sleep(max(0.0, min(next_batch, next_probe) - now))
    achieved = seq / (time.monotonic() - start)
    shares.sort()
    return {
        "rate": rate, "achieved_rate": round(achieved), "ttl_ms": ttl_ms, "spread": spread,
        "seconds": seconds, "samples": len(shares),
        "stale_mean_pct": round(100 * sum(shares) / len(shares), 2) if shares else None,
        "stale_p90_pct": round(100 * shares[int(0.9 * (len(shares) - 1))], 2) if shares else None,
        "stale_max_pct": round(100 * shares[-1], 2) if shares else None,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["burst", "load"])
    ap.add_argument("port", type=int)
    ap.add_argument("--keys", type=int, default=20000)
    ap.add_argument("--ttl-ms", type=int, default=None)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--spread", type=float, default=0.0,
                    help="load: TTLs uniform in ttl * (1 +- spread)")
    ap.add_argument("--row", metavar="NAME", help="print a table row, not JSON")
    a = ap.parse_args()
    if a.mode == "burst":
        out = burst(a.port, a.keys, a.ttl_ms or 200)
        cols = ["left_at_expiry", "left_0.5s", "left_1s", "left_2s", "all_gone_after_s"]
    else:
        out = load(a.port, a.rate, a.ttl_ms or 1000, a.seconds, a.spread)
        cols = ["achieved_rate", "stale_mean_pct", "stale_p90_pct", "stale_max_pct"]
    if a.row:
        print("%-8s" % a.row + "".join(" %16s" % out[c] for c in cols))
    else:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
