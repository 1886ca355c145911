#!/usr/bin/python3
"""Uses MULTI/EXEC and WATCH through an Apiary cluster with redis-py (Debian's python3-redis)
the way an application does: transactional pipelines through every node, optimistic locking
with WATCH from six threads on three nodes (the counter must come out exact), and transfers
between two accounts under one hash tag that never lose or create money. Prints the WATCH
retries, then "ok"; exits non-zero with a message on the first surprise.

Usage: redis_py_transactions.py [--locks] PORT [PORT...]
  --locks: also redis-py's Lock (acquire, extend, release), which runs Lua scripts (EVALSHA).
"""
import random
import sys
import threading
import time

import redis

THREADS_PER_NODE = 2
INCREMENTS = 100


def eventually(check, seconds=10.0):
    """check() until it holds (a replica may lag a moment behind the coordinator)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def pipelines(nodes):
    """A transactional pipeline through each node: every command's reply, in order."""
    for i, r in enumerate(nodes):
        p = r.pipeline()  # transaction=True: MULTI ... EXEC
        p.set(f"{{p}}:s{i}", "v").incr(f"{{p}}:n{i}").incrby(f"{{p}}:n{i}", 9)
        p.hset(f"{{p}}:h{i}", mapping={"a": 1, "b": 2}).hget(f"{{p}}:h{i}", "b")
        p.rpush(f"{{p}}:l{i}", "x", "y").lrange(f"{{p}}:l{i}", 0, -1)
        p.sadd(f"{{p}}:set{i}", "m").zadd(f"{{p}}:z{i}", {"m": 1.5}).zscore(f"{{p}}:z{i}", "m")
        p.get(f"{{p}}:s{i}")
        got = p.execute()
        want = [True, 1, 10, 2, b"2", 2, [b"x", b"y"], 1, 1, 1.5, b"v"]
        assert got == want, (i, got)
        # A runtime error is one element; the others still ran.
        p = r.pipeline()
        p.set(f"{{p}}:e{i}", "a").lpush(f"{{p}}:e{i}", "x").append(f"{{p}}:e{i}", "b")
        got = p.execute(raise_on_error=False)
        assert got[0] is True and got[2] == 2, got
        assert isinstance(got[1], redis.ResponseError) and str(got[1]).startswith("WRONGTYPE")
        # A transaction without keys runs on the node itself.
        assert r.pipeline().ping().echo("hi").execute() == [True, b"hi"]
    for r in nodes:
        for i in range(len(nodes)):
            assert eventually(lambda: r.get(f"{{p}}:s{i}") == b"v")


def counter(nodes):
    """WATCH/GET/MULTI/SET(value+1)/EXEC from two threads per node; the total is exact."""
    key = "{ctr}:value"
    nodes[0].set(key, 0)
    retries = [0]
    lock = threading.Lock()
    errors = []

    def worker(port):
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        mine = 0

        def increment(pipe):
            nonlocal mine
            mine += 1
            value = int(pipe.get(key))
            pipe.multi()
            pipe.set(key, value + 1)

        try:
            for _ in range(INCREMENTS):
                r.transaction(increment, key)
        except Exception as e:  # reported by the main thread
            errors.append(repr(e))
        with lock:
            retries[0] += mine - INCREMENTS

    threads = [threading.Thread(target=worker, args=(r.connection_pool.connection_kwargs["port"],))
               for r in nodes for _ in range(THREADS_PER_NODE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    want = INCREMENTS * THREADS_PER_NODE * len(nodes)
    for r in nodes:
        assert eventually(lambda: int(r.get(key)) == want), (r.get(key), want)
    print(f"counter: {want} increments, {retries[0]} WATCH retries")


def transfers(nodes):
    """Random transfers between two accounts through every node, WATCH-protected; snapshots
    read in a transaction always add up to the starting total."""
    a, b = "{acct}:alice", "{acct}:bob"
    nodes[0].mset({a: 1000, b: 1000})
    errors = []
    done = threading.Event()

    def transfer(port, seed):
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        rng = random.Random(seed)
        try:
            for _ in range(50):
                src, dst = (a, b) if rng.random() < 0.5 else (b, a)
                amount = rng.randint(1, 100)

                def move(pipe):
                    balance = int(pipe.get(src))
                    pipe.multi()
                    if balance >= amount:
                        pipe.decrby(src, amount)
                        pipe.incrby(dst, amount)

                r.transaction(move, src, dst)
        except Exception as e:
            errors.append(repr(e))

    def audit(port):
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        try:
            while not done.is_set():
                x, y = r.pipeline().get(a).get(b).execute()
                if int(x) + int(y) != 2000 or int(x) < 0 or int(y) < 0:
                    errors.append(f"snapshot {x} + {y}")
                    return
        except Exception as e:
            errors.append(repr(e))

    ports = [r.connection_pool.connection_kwargs["port"] for r in nodes]
    movers = [threading.Thread(target=transfer, args=(p, 7 * i + j))
              for i, p in enumerate(ports) for j in range(THREADS_PER_NODE)]
    auditors = [threading.Thread(target=audit, args=(p,)) for p in ports]
    for t in movers + auditors:
        t.start()
    for t in movers:
        t.join()
    done.set()
    for t in auditors:
        t.join()
    assert not errors, errors
    for r in nodes:
        x, y = r.pipeline().get(a).get(b).execute()
        assert int(x) + int(y) == 2000, (x, y)


def locks(nodes):
    """redis-py's Lock: acquire through one node, contended through another, extend, release."""
    holder = nodes[0].lock("{lock}:job", timeout=10, blocking_timeout=0)
    other = nodes[-1].lock("{lock}:job", timeout=10, blocking_timeout=0)
    assert holder.acquire()
    assert not other.acquire()
    assert holder.owned() and not other.owned()
    assert holder.extend(20)
    assert 10 < nodes[-1].pttl("{lock}:job") / 1000 <= 30
    try:
        other.release()
        raise AssertionError("released a lock it did not hold")
    except redis.exceptions.LockError:
        pass
    holder.release()
    assert other.acquire()
    other.release()
    # Released through the last node; the first one reads its own copy (R=1), which the
    # coordinator's replication reaches within moments, not before the release answers.
    deadline = time.monotonic() + 5
    while nodes[0].exists("{lock}:job") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert nodes[0].exists("{lock}:job") == 0


def main() -> int:
    args = sys.argv[1:]
    with_locks = "--locks" in args
    ports = [int(p) for p in args if p != "--locks"]
    nodes = [redis.Redis(host="127.0.0.1", port=p, socket_timeout=10) for p in ports]
    if with_locks:
        locks(nodes)
    else:
        pipelines(nodes)
        counter(nodes)
        transfers(nodes)
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
