"""The checked workload: client threads sending commands through every node and recording
what each reply proves.

Keys and what a reply records:
  u:<worker>:<seq>  unique keys, SET once with value "<seq>": +OK -> acknowledged; an error
                    or no reply -> ambiguous (may or may not exist, but only with that value)
  o:<k>             overwrites: key k is written by one worker only, values "<seq>" with seq
                    increasing; the final value must be the last acknowledged one or one
                    whose SET got an error or no reply (such a write may take effect at any
                    time after it was sent, even after later acknowledged ones: a forwarded
                    write that timed out can still arrive)
  c:<k>             counters shared by all workers, INCR only: :n -> acknowledged,
                    an error or no reply -> ambiguous; a refused connection sends nothing
  reads             GET of an acknowledged unique key or an owned overwrite key: a wrong value
                    is a violation at once; a missing or older value is counted as stale
                    (allowed while faults run: sloppy quorums can read replicas that missed
                    a write), and the final check is what must hold
  S:<k>             sets shared by all workers: SADD of members "<worker>:<seq>", each added
                    once (an integer reply acknowledges it); SREM by the worker that added a
                    member: 1 acknowledges the removal (the member must be gone at the end:
                    nobody adds it again, so no concurrent add can win), 0 or an error
                    proves nothing
  H:<k>             hashes shared by all workers, HINCRBY of the worker's own field f<worker>:
                    per field acked <= value <= acked + ambiguous, like the counters
"""
import random
import threading
import time

import resp

OP_TIMEOUT = 8.0  # longer than the node's own worst case (3 s forward + 1 s quorum)
NO_REPLY = object()  # sent, but the connection failed or timed out before a reply


class History:
    def __init__(self, workers, overwrite_keys, counter_keys, collection_keys=4):
        self.lock = threading.Lock()
        self.set_keys = [f"S:{k}" for k in range(collection_keys)]
        self.hash_keys = [f"H:{k}" for k in range(collection_keys)]
        self.member_acked = {k: set() for k in self.set_keys}      # SADD answered
        self.member_ambiguous = {k: set() for k in self.set_keys}  # SADD error / no reply
        self.removed_acked = {k: set() for k in self.set_keys}     # SREM answered 1
        self.removed_maybe = {k: set() for k in self.set_keys}     # SREM 0, error, no reply
        self.field_acked = {}      # (key, field) -> HINCRBY answered
        self.field_ambiguous = {}  # (key, field) -> HINCRBY error / no reply
        self.unique_acked = {}      # key -> value
        self.unique_ambiguous = {}  # key -> value
        self.over_acked = {}        # key -> highest acknowledged seq
        self.over_attempted = {}    # key -> highest seq sent
        self.over_ambiguous = {}    # key -> seqs answered with an error or not at all
        self.counter_acked = {f"c:{k}": 0 for k in range(counter_keys)}
        self.counter_ambiguous = {f"c:{k}": 0 for k in range(counter_keys)}
        self.overwrite_owner = {f"o:{k}": k % workers for k in range(overwrite_keys)}
        self.ops = {"set_ok": 0, "set_err": 0, "set_timeout": 0, "over_ok": 0, "over_err": 0,
                    "incr_ok": 0, "incr_err": 0, "get_ok": 0, "get_err": 0,
                    "stale_reads": 0, "refused": 0, "sadd_ok": 0, "sadd_err": 0,
                    "srem_ok": 0, "srem_zero": 0, "srem_err": 0, "hincrby_ok": 0,
                    "hincrby_err": 0}
        self.violations = []
        self.start = time.monotonic()
        self.write_log = []  # (t, key, value, node, outcome) of every overwrite and counter op

    def record(self, key, value, node, reply):
        if reply == "OK" or isinstance(reply, int):
            outcome = f"ok {reply}"
        elif isinstance(reply, resp.RespError):
            outcome = f"error {reply.text[:80]}"
        else:
            outcome = "no reply"
        self.write_log.append((round(time.monotonic() - self.start, 3), key, value, node,
                               outcome))

    def count(self, name):
        with self.lock:
            self.ops[name] += 1


class Worker(threading.Thread):
    # GETs of unique keys pick among the last READ_WINDOW this worker wrote.
    READ_WINDOW = 2000

    def nil_after_ack(self, key, node):
        """A GET answered nil although the key's write was acknowledged: under faults (R=1,
        a node cut off) that is a stale read, counted."""
        self.h.count("stale_reads")

    def older_value(self, key, node, seq, floor):
        """An overwrite key read below its last acknowledged value (history lock held)."""
        self.h.ops["stale_reads"] += 1

    def __init__(self, index, nodes, history, rate, stop, seed):
        super().__init__(daemon=True, name=f"worker{index}")
        self.index = index
        self.nodes = nodes  # list of (name, host, port)
        self.h = history
        self.interval = 1.0 / rate
        self.stop = stop
        self.rng = random.Random(seed * 1000 + index)
        self.conns = {}
        self.seq = 0
        self.my_keys = [k for k, w in history.overwrite_owner.items() if w == index]
        self.my_members = []  # (set key, member) this worker added and has not removed

    def _conn(self, node):
        c = self.conns.get(node[0])
        if c is None:
            c = resp.Connection(node[1], node[2], OP_TIMEOUT)
            self.conns[node[0]] = c
        return c

    def _drop(self, node):
        c = self.conns.pop(node[0], None)
        if c:
            c.close()

    def _call(self, node, *args):
        """-> (reply, sent): reply None with sent False when the command never left."""
        try:
            c = self._conn(node)
        except OSError:
            self.h.count("refused")
            return None, False
        try:
            return c.call(*args), True
        except OSError:
            self._drop(node)
            return NO_REPLY, True

    def run(self):
        next_at = time.monotonic()
        while not self.stop.is_set():
            node = self.rng.choice(self.nodes)
            op = self.rng.random()
            if op < 0.30:
                self.unique_set(node)
            elif op < 0.45 and self.my_keys:
                self.overwrite(node)
            elif op < 0.60:
                self.incr(node)
            elif op < 0.70:
                self.sadd(node)
            elif op < 0.73:
                self.srem(node)
            elif op < 0.80:
                self.hincrby(node)
            else:
                self.read(node)
            next_at += self.interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            else:
                next_at = time.monotonic()
        for c in self.conns.values():
            c.close()

    def unique_set(self, node):
        self.seq += 1
        key, value = f"u:{self.index}:{self.seq}", str(self.seq)
        reply, sent = self._call(node, "SET", key, value)
        if not sent:
            return
        with self.h.lock:
            if reply == "OK":
                self.h.unique_acked[key] = value
                self.h.ops["set_ok"] += 1
            else:
                self.h.unique_ambiguous[key] = value
                self.h.ops["set_timeout" if reply is NO_REPLY else "set_err"] += 1

    def overwrite(self, node):
        self.seq += 1
        key = self.rng.choice(self.my_keys)
        with self.h.lock:
            self.h.over_attempted[key] = self.seq
        reply, sent = self._call(node, "SET", key, str(self.seq))
        if not sent:
            return
        with self.h.lock:
            self.h.record(key, self.seq, node[0], reply)
            if reply == "OK":
                self.h.over_acked[key] = max(self.h.over_acked.get(key, 0), self.seq)
                self.h.ops["over_ok"] += 1
            else:
                self.h.over_ambiguous.setdefault(key, set()).add(self.seq)
                self.h.ops["over_err"] += 1

    def incr(self, node):
        key = f"c:{self.rng.randrange(len(self.h.counter_acked))}"
        reply, sent = self._call(node, "INCR", key)
        if not sent:
            return
        with self.h.lock:
            self.h.record(key, "+1", node[0], reply)
            if isinstance(reply, int):
                self.h.counter_acked[key] += 1
                self.h.ops["incr_ok"] += 1
            else:
                self.h.counter_ambiguous[key] += 1
                self.h.ops["incr_err"] += 1

    def sadd(self, node):
        self.seq += 1
        key = self.rng.choice(self.h.set_keys)
        member = f"{self.index}:{self.seq}"
        reply, sent = self._call(node, "SADD", key, member)
        if not sent:
            return
        with self.h.lock:
            if isinstance(reply, int):
                self.h.member_acked[key].add(member)
                self.h.ops["sadd_ok"] += 1
                self.my_members.append((key, member))
            else:
                self.h.member_ambiguous[key].add(member)
                self.h.ops["sadd_err"] += 1

    def srem(self, node):
        if not self.my_members:
            return
        key, member = self.my_members.pop(self.rng.randrange(len(self.my_members)))
        reply, sent = self._call(node, "SREM", key, member)
        with self.h.lock:
            if sent and reply == 1:
                self.h.removed_acked[key].add(member)
                self.h.ops["srem_ok"] += 1
            else:
                self.h.removed_maybe[key].add(member)
                self.h.ops["srem_zero" if reply == 0 else "srem_err"] += 1

    def hincrby(self, node):
        key = self.rng.choice(self.h.hash_keys)
        field = f"f{self.index}"
        reply, sent = self._call(node, "HINCRBY", key, field, 1)
        if not sent:
            return
        with self.h.lock:
            self.h.record(f"{key}/{field}", "+1", node[0], reply)
            if isinstance(reply, int):
                self.h.field_acked[(key, field)] = self.h.field_acked.get((key, field), 0) + 1
                self.h.ops["hincrby_ok"] += 1
            else:
                self.h.field_ambiguous[(key, field)] = (
                    self.h.field_ambiguous.get((key, field), 0) + 1)
                self.h.ops["hincrby_err"] += 1

    def read(self, node):
        with self.h.lock:
            if self.my_keys and self.rng.random() < 0.3:
                key = self.rng.choice(self.my_keys)
                floor = self.h.over_acked.get(key, 0)
                ceiling = self.h.over_attempted.get(key, 0)
                expect = None
            elif self.h.unique_acked:
                # The newest keys are the interesting ones: pick among the last READ_WINDOW.
                key = f"u:{self.index}:{max(1, self.seq - self.rng.randrange(self.READ_WINDOW))}"
                expect = self.h.unique_acked.get(key)
                if expect is None:
                    return
            else:
                return
        reply, sent = self._call(node, "GET", key)
        if not sent:
            return
        if reply is NO_REPLY or isinstance(reply, resp.RespError):
            self.h.count("get_err")
            return
        if reply is None:
            self.h.count("get_ok")
            if expect is not None or floor > 0:
                self.nil_after_ack(key, node)
            return
        self.h.count("get_ok")
        value = reply.decode()
        with self.h.lock:
            if expect is not None:
                if value != expect:
                    self.h.violations.append(f"read {key} through {node[0]}: {value!r}, "
                                             f"only {expect!r} was ever written")
            else:
                seq = int(value)
                if seq > ceiling or self.h.overwrite_owner[key] != self.index:
                    self.h.violations.append(f"read {key} through {node[0]}: {value!r} was "
                                             f"never written (highest sent {ceiling})")
                elif seq < floor:
                    self.older_value(key, node, seq, floor)
