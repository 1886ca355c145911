#!/usr/bin/python3
"""Concurrent Redis clients (raw RESP over sockets, standard library only) checking that an
Apiary cluster keeps its single-server promises under contention, for consistency_test.cpp.

    consistency_client.py incr PORTS KEY COUNT
        One client per port (comma-separated), all started together, each pipelining COUNT
        `INCR KEY`. Prints one JSON line: replies, non-integer replies, the first of them,
        how many integer replies repeat a value another INCR already got ("duplicates";
        each INCR of one counter must hand out a distinct value), and the largest one.
    consistency_client.py hincrby PORTS KEY FIELD COUNT
        The same with `HINCRBY KEY FIELD 1`.
    consistency_client.py sadd PORTS KEY COUNT
        One client per port, all started together, each pipelining `SADD KEY cI:j` for
        j < COUNT. Then reads SCARD and SMEMBERS through every port until each holds exactly
        the members sent (at most 10 s). Prints one JSON line: replies, non-integer replies,
        members reported added, and per port the last SCARD and the members missing or extra.
    consistency_client.py setnx PORTS PREFIX COUNT
        One client per port, all started together, each pipelining `SET PREFIX:i cI NX` for
        i < COUNT (cI = its client id c0, c1, ...). Then reads every key through every port
        until each read gives the winner's value (at most 10 s). Prints one JSON line:
        keys with no winner, with several winners, other replies (neither OK nor nil), reads
        that gave a value no client won with ("wrong_reads", at any time), and keys still
        not read back as the winner's value through some port at the deadline ("unsettled").
    consistency_client.py storm PORTS KEY DIR WINDOW [sadd]
        One client per port sends `INCR KEY` (with `sadd`: `SADD KEY cI:n`, a new member each
        time, the acknowledged ones written to DIR/acked, one per line) in a loop with at most WINDOW in flight, until
        the file DIR/stop appears. Writes DIR/started once every client has an acknowledged
        increment. Every integer reply is acknowledged; every error reply, and every command
        whose reply never came (the connection broke or a reply took more than 5 s), is
        ambiguous (it may or may not have been applied). A client whose connection breaks
        reconnects once; when that fails (its node is gone) it stops. Prints one JSON line
        with the totals and each client's counts.
    consistency_client.py oracle PORT UNIX_SOCKET PREFIX COUNT pipelined|sequential
        Sends COUNT mixed SET/INCR/INCRBY/DECR/GET/APPEND/DEL/EXISTS/SET NX commands on 8
        keys PREFIX:0..7 (seeded, the same every run) to the node at PORT and to the redis-server
        listening on UNIX_SOCKET -- as one pipeline, or each once the previous reply arrived
        -- and compares the replies byte for byte. Prints one JSON line: commands,
        mismatches (in all, of reads (GET, EXISTS), of the other commands, and per command
        name), and the first few of them.

Exit status: 0 when every check held, 1 otherwise (the JSON line says what), 2 on bad usage.
"""
import json
import os
import random
import socket
import sys
import threading
import time


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Closed(Exception):
    """The connection broke (or timed out) before a whole reply arrived."""


class Conn:
    """A RESP2 connection: send raw requests, read whole replies (kept as raw bytes)."""

    def __init__(self, port=None, unix=None, timeout=10.0):
        if unix is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(unix)
        else:
            self.sock = socket.create_connection(("127.0.0.1", int(port)), timeout=timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Closed(f"send: {type(e).__name__}: {e}") from e

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except OSError as e:  # socket.timeout is an OSError
            raise Closed(f"recv: {type(e).__name__}: {e}") from e
        if not chunk:
            raise Closed("recv: connection closed by the server")
        if self.pos > 0:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += chunk

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = self.buf[self.pos:end]
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n + 2
        return data

    def reply_raw(self):
        """One whole reply, as the bytes the server sent."""
        line = self._line()
        kind = line[:1]
        out = line + b"\r\n"
        if kind == b"$":
            n = int(line[1:])
            if n >= 0:
                out += self._exact(n) + b"\r\n"
        elif kind == b"*":
            for _ in range(max(0, int(line[1:]))):
                out += self.reply_raw()
        return out


def integer(raw):
    """The value of an integer reply, or None."""
    return int(raw[1:-2]) if raw.startswith(b":") else None


def start_together(count, work):
    """Runs work(i) for i < count in threads that start together; returns their results."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def body(i):
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as e:  # noqa: BLE001 -- reported, not raised in a thread
            results[i] = {"exception": f"{type(e).__name__}: {e}"}

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def pipeline(conn, requests):
    """Sends every request (from a second thread, so a large pipeline never blocks both
    directions) and reads as many replies; returns them, or raises Closed."""
    payload = b"".join(requests)
    sent = {}

    def sender():
        try:
            conn.send(payload)
        except Closed as e:
            sent["error"] = str(e)

    t = threading.Thread(target=sender)
    t.start()
    try:
        return [conn.reply_raw() for _ in requests]
    finally:
        t.join()


def incr(ports, request, count):
    ports = ports.split(",")
    conns = [Conn(p) for p in ports]
    replies = start_together(len(ports), lambda i: pipeline(conns[i], [request] * count))
    stats = {"clients": len(ports), "replies": 0, "non_integer": 0, "first_non_integer": None,
             "duplicates": 0, "max": 0, "exceptions": []}
    seen = set()
    for r in replies:
        if isinstance(r, dict):
            stats["exceptions"].append(r["exception"])
            continue
        for raw in r:
            stats["replies"] += 1
            v = integer(raw)
            if v is None:
                stats["non_integer"] += 1
                if stats["first_non_integer"] is None:
                    stats["first_non_integer"] = raw.decode(errors="replace").strip()
                continue
            if v in seen:
                stats["duplicates"] += 1
            seen.add(v)
            stats["max"] = max(stats["max"], v)
    print(json.dumps(stats))
    ok = (not stats["exceptions"] and stats["non_integer"] == 0
          and stats["replies"] == count * len(ports))
    return 0 if ok else 1


def sadd(ports, key, count):
    ports = ports.split(",")
    conns = [Conn(p) for p in ports]

    def work(i):
        return pipeline(conns[i], [encode("SADD", key, f"c{i}:{j}") for j in range(count)])

    replies = start_together(len(ports), work)
    stats = {"replies": 0, "non_integer": 0, "first_non_integer": None, "added": 0,
             "exceptions": [], "ports": []}
    for r in replies:
        if isinstance(r, dict):
            stats["exceptions"].append(r["exception"])
            continue
        for raw in r:
            stats["replies"] += 1
            v = integer(raw)
            if v is None:
                stats["non_integer"] += 1
                if stats["first_non_integer"] is None:
                    stats["first_non_integer"] = raw.decode(errors="replace").strip()
            else:
                stats["added"] += v
    expected = {f"c{i}:{j}".encode() for i in range(len(ports)) for j in range(count)}
    ok = True
    for p, conn in enumerate(conns):
        deadline = time.monotonic() + 10
        while True:
            card = integer(one_at_a_time(conn, [encode("SCARD", key)])[0])
            conn.send(encode("SMEMBERS", key))
            raw = conn.reply_raw()
            members = set(raw.split(b"\r\n")[2::2]) if raw.startswith(b"*") else set()
            if (card == len(expected) and members == expected) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        missing, extra = expected - members, members - expected
        ok = ok and not missing and not extra and card == len(expected)
        stats["ports"].append({"port": ports[p], "scard": card, "missing": len(missing),
                               "extra": len(extra)})
    print(json.dumps(stats))
    ok = (ok and not stats["exceptions"] and stats["non_integer"] == 0
          and stats["replies"] == count * len(ports) and stats["added"] == len(expected))
    return 0 if ok else 1


def setnx(ports, prefix, count):
    ports = ports.split(",")
    conns = [Conn(p) for p in ports]

    def work(i):
        return pipeline(conns[i], [encode("SET", f"{prefix}:{k}", f"c{i}", "NX")
                                   for k in range(count)])

    replies = start_together(len(ports), work)
    stats = {"keys": count, "no_winner": 0, "several_winners": 0, "other_replies": 0,
             "first_other": None, "wrong_reads": 0, "first_wrong": None, "unsettled": 0,
             "first_unsettled": None, "exceptions": []}
    winners = [[] for _ in range(count)]
    for i, r in enumerate(replies):
        if isinstance(r, dict):
            stats["exceptions"].append(r["exception"])
            continue
        for k, raw in enumerate(r):
            if raw == b"+OK\r\n":
                winners[k].append(i)
            elif raw != b"$-1\r\n":
                stats["other_replies"] += 1
                if stats["first_other"] is None:
                    stats["first_other"] = f"c{i} {prefix}:{k}: {raw!r}"
    for k, w in enumerate(winners):
        if not w:
            stats["no_winner"] += 1
        elif len(w) > 1:
            stats["several_winners"] += 1
    # Every key reads back as its (single) winner's value through every node. A replica may
    # lag for a moment (R=1), so a missing value is retried; another client's value is not
    # a lag: no other SET ever succeeded.
    expected = {k: (b"$2\r\nc%d\r\n" % w[0]) for k, w in enumerate(winners) if len(w) == 1}
    todo = {(p, k) for p in range(len(ports)) for k in expected}
    deadline = time.monotonic() + 10
    while todo:
        for p in range(len(ports)):
            keys = sorted(k for (q, k) in todo if q == p)
            if not keys:
                continue
            got = pipeline(conns[p], [encode("GET", f"{prefix}:{k}") for k in keys])
            for k, raw in zip(keys, got):
                if raw == expected[k]:
                    todo.discard((p, k))
                elif raw != b"$-1\r\n":
                    stats["wrong_reads"] += 1
                    todo.discard((p, k))
                    if stats["first_wrong"] is None:
                        stats["first_wrong"] = (f"GET {prefix}:{k} through port {ports[p]}: "
                                                f"{raw!r}, winner {expected[k]!r}")
        if not todo or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    stats["unsettled"] = len(todo)
    if todo:
        p, k = min(todo)
        stats["first_unsettled"] = f"GET {prefix}:{k} through port {ports[p]} still empty"
    print(json.dumps(stats))
    ok = (not stats["exceptions"] and stats["no_winner"] == 0 and stats["several_winners"] == 0
          and stats["other_replies"] == 0 and stats["wrong_reads"] == 0 and not todo)
    return 0 if ok else 1


def storm(ports, key, directory, window, members=False):
    ports = ports.split(",")
    request = encode("INCR", key)
    acked_members = []
    stop_file = os.path.join(directory, "stop")
    lock = threading.Lock()
    started = set()

    def work(i):
        s = {"port": ports[i], "sent": 0, "acked": 0, "ambiguous": 0, "error_replies": 0,
             "unanswered": 0, "reconnects": 0, "first_error": None, "errors_by_kind": {},
             "max_reply": 0, "stopped_because": "stop file"}

        def note(text):
            if s["first_error"] is None:
                s["first_error"] = text

        conn = Conn(ports[i], timeout=5.0)
        broken_once = False
        in_flight = 0
        pending = []  # members of the SADDs in flight, in send order
        while True:
            stopping = os.path.exists(stop_file)
            try:
                if not stopping:
                    while in_flight < window:
                        if members:
                            pending.append(f"c{i}:{s['sent']}")
                            conn.send(encode("SADD", key, pending[-1]))
                        else:
                            conn.send(request)
                        s["sent"] += 1
                        in_flight += 1
                if in_flight == 0:
                    break
                raw = conn.reply_raw()
                in_flight -= 1
                member = pending.pop(0) if members else None
                v = integer(raw)
                if v is not None:
                    if member is not None:
                        with lock:
                            acked_members.append(member)
                    s["acked"] += 1
                    s["max_reply"] = max(s["max_reply"], v)
                    if s["acked"] == 1:
                        with lock:
                            started.add(i)
                            if len(started) == len(ports):
                                open(os.path.join(directory, "started"), "w").close()
                else:
                    s["ambiguous"] += 1
                    s["error_replies"] += 1
                    text = raw.decode(errors="replace").strip()
                    kind = text.split(" ", 1)[0]
                    s["errors_by_kind"][kind] = s["errors_by_kind"].get(kind, 0) + 1
                    note(text)
            except Closed as e:
                # Whatever was sent and not answered may or may not have run.
                s["ambiguous"] += in_flight
                s["unanswered"] += in_flight
                in_flight = 0
                pending.clear()
                note(str(e))
                conn.close()
                if stopping:
                    break
                if broken_once:
                    s["stopped_because"] = f"connection broke again: {e}"
                    break
                broken_once = True
                try:
                    conn = Conn(ports[i], timeout=5.0)
                    s["reconnects"] += 1
                except OSError as e2:
                    s["stopped_because"] = f"cannot reconnect: {e2}"
                    break
        conn.close()
        return s

    per_client = start_together(len(ports), work)
    if members:
        with open(os.path.join(directory, "acked"), "w") as f:
            f.write("".join(m + "\n" for m in acked_members))
    totals = {"sent": 0, "acked": 0, "ambiguous": 0, "max_reply": 0}
    exceptions = []
    for s in per_client:
        if "exception" in s:
            exceptions.append(s["exception"])
            continue
        for k in ("sent", "acked", "ambiguous"):
            totals[k] += s[k]
        totals["max_reply"] = max(totals["max_reply"], s["max_reply"])
    print(json.dumps({**totals, "exceptions": exceptions, "clients": per_client}))
    return 0 if not exceptions and totals["sent"] == totals["acked"] + totals["ambiguous"] else 1


def one_at_a_time(conn, requests):
    """Sends each request only once the reply of the one before it arrived."""
    out = []
    for r in requests:
        conn.send(r)
        out.append(conn.reply_raw())
    return out


def oracle(port, unix_socket, prefix, count, pipelined):
    rng = random.Random(11)
    keys = [f"{prefix}:{i}" for i in range(8)]
    requests = []
    for _ in range(count):
        k = rng.choice(keys)
        op = rng.random()
        if op < 0.30:
            requests.append(encode("INCR", k))
        elif op < 0.40:
            requests.append(encode("INCRBY", k, rng.randrange(-50, 50)))
        elif op < 0.45:
            requests.append(encode("DECR", k))
        elif op < 0.65:
            requests.append(encode("GET", k))
        elif op < 0.75:
            requests.append(encode("SET", k, rng.randrange(1000)))
        elif op < 0.79:
            requests.append(encode("APPEND", k, rng.choice(["0", "7", "x"])))
        elif op < 0.83:
            requests.append(encode("SET", k, rng.randrange(1000), "NX"))
        elif op < 0.87:
            requests.append(encode("DEL", k))
        elif op < 0.90:
            requests.append(encode("EXISTS", k))
        elif op < 0.95:
            requests.append(encode("INCR", k))
        else:
            requests.append(encode("GET", k))
    if pipelined:
        apiary = pipeline(Conn(port), requests)
        redis = pipeline(Conn(unix=unix_socket), requests)
    else:
        apiary = one_at_a_time(Conn(port), requests)
        redis = one_at_a_time(Conn(unix=unix_socket), requests)
    mismatches = []
    by_command = {}
    for i, (req, a, r) in enumerate(zip(requests, apiary, redis)):
        if a != r:
            name = req.split(b"\r\n")[2].decode()
            by_command[name] = by_command.get(name, 0) + 1
            mismatches.append({"index": i, "command": req.decode(errors="replace")
                               .replace("\r\n", " "), "apiary": a.decode(errors="replace"),
                               "redis": r.decode(errors="replace")})
    reads = sum(n for name, n in by_command.items() if name in ("GET", "EXISTS"))
    print(json.dumps({"commands": count, "mismatches": len(mismatches),
                      "read_mismatches": reads, "write_mismatches": len(mismatches) - reads,
                      "mismatches_by_command": by_command, "first_mismatches": mismatches[:5]}))
    return 0 if not mismatches else 1


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "incr" and len(sys.argv) == 5:
        return incr(sys.argv[2], encode("INCR", sys.argv[3]), int(sys.argv[4]))
    if mode == "hincrby" and len(sys.argv) == 6:
        return incr(sys.argv[2], encode("HINCRBY", sys.argv[3], sys.argv[4], 1), int(sys.argv[5]))
    if mode == "sadd" and len(sys.argv) == 5:
        return sadd(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    if mode == "setnx" and len(sys.argv) == 5:
        return setnx(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    if mode == "storm" and len(sys.argv) in (6, 7) and sys.argv[6:] in ([], ["sadd"]):
        return storm(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]),
                     members=sys.argv[6:] == ["sadd"])
    if mode == "oracle" and len(sys.argv) == 7 and sys.argv[6] in ("pipelined", "sequential"):
        return oracle(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]),
                      sys.argv[6] == "pipelined")
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
