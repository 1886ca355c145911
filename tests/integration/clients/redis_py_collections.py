#!/usr/bin/python3
"""Uses hashes and sets through an Apiary cluster with redis-py (Debian's python3-redis) the
way an application does -- an object cache in hashes, tag sets, set algebra on keys that share
a hash tag -- writing through one node and reading through every node. Exits non-zero with a
message on the first surprise. Usage: redis_py_collections.py PORT [PORT...]"""
import sys
import time

import redis


def eventually(check, seconds=10.0):
    """check() until it holds (replicas may lag a moment behind the coordinator, R=1)."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def main() -> int:
    nodes = [redis.Redis(host="127.0.0.1", port=int(p), socket_timeout=5) for p in sys.argv[1:]]
    w = nodes[0]

    # An object cache: one hash per user, partial updates, counters, field reads.
    for uid in range(50):
        w.hset(f"user:{uid}", mapping={"name": f"user {uid}", "email": f"u{uid}@example.org",
                                       "visits": 0})
    assert w.hset("user:7", "name", "Seven") == 0
    assert w.hincrby("user:7", "visits", 5) == 5
    assert w.hincrbyfloat("user:7", "score", 1.5) == 1.5
    assert w.hsetnx("user:7", "name", "other") == 0
    assert w.hdel("user:7", "email", "nope") == 1
    for r in nodes:
        assert eventually(lambda: r.hgetall("user:7") == {
            b"name": b"Seven", b"visits": b"5", b"score": b"1.5"}), r.hgetall("user:7")
        assert r.hget("user:3", "email") == b"u3@example.org"
        assert r.hmget("user:3", ["name", "missing"]) == [b"user 3", None]
        assert r.hlen("user:3") == 3
        assert r.hexists("user:3", "name") is True
        assert sorted(r.hkeys("user:3")) == [b"email", b"name", b"visits"]
        assert r.type("user:3") == b"hash"
    # A string command on a hash is refused as Redis refuses it.
    try:
        w.get("user:7")
        raise AssertionError("GET of a hash accepted")
    except redis.ResponseError as e:
        assert str(e).startswith("WRONGTYPE"), str(e)

    # Tag sets: add, remove, membership, cardinality.
    assert w.sadd("tag:python", "a1", "a2", "a3") == 3
    assert w.sadd("tag:python", "a3", "a4") == 1
    assert w.srem("tag:python", "a1") == 1
    for r in nodes:
        assert eventually(lambda: r.smembers("tag:python") == {b"a2", b"a3", b"a4"})
        assert r.sismember("tag:python", "a2") is True
        assert r.smismember("tag:python", ["a1", "a2"]) == [False, True]
        assert r.scard("tag:python") == 3

    # Set algebra: the keys share the hash tag {post}, so one node runs it whole.
    w.sadd("{post}:1:tags", "db", "cache", "c++")
    w.sadd("{post}:2:tags", "cache", "python")
    w.sadd("{post}:3:tags", "cache", "db")
    for r in nodes:
        assert eventually(lambda: r.sinter("{post}:1:tags", "{post}:2:tags", "{post}:3:tags")
                          == {b"cache"})
        assert r.sunion("{post}:1:tags", "{post}:2:tags") == {b"db", b"cache", b"c++",
                                                              b"python"}
        assert r.sdiff("{post}:1:tags", "{post}:3:tags") == {b"c++"}
    assert w.sinterstore("{post}:common", ["{post}:1:tags", "{post}:3:tags"]) == 2
    assert w.sunionstore("{post}:all", ["{post}:1:tags", "{post}:2:tags"]) == 4
    assert w.smove("{post}:all", "{post}:common", "python") is True
    for r in nodes:
        assert eventually(lambda: r.smembers("{post}:common") == {b"db", b"cache", b"python"})
    # (Keys in different partitions answer CROSSSLOT unless one node coordinates them all,
    # docs/cluster.md: which depends on the ring, so it is not asserted here.)

    # Expiry and deletion of whole collections.
    assert w.expire("user:1", 100) is True
    assert 0 < w.ttl("user:1") <= 100
    assert w.delete("user:2", "tag:python") == 2
    for r in nodes:
        assert eventually(lambda: r.exists("user:2", "tag:python") == 0)
    # SCAN by type and HSCAN/SSCAN iterate everything.
    hashes = set(w.scan_iter(match="user:*", _type="hash"))
    assert len(hashes) == 49, len(hashes)
    assert dict(w.hscan_iter("user:9")) == {b"name": b"user 9", b"email": b"u9@example.org",
                                            b"visits": b"0"}
    w.sadd("big", *[f"m{i}" for i in range(1000)])
    assert set(w.sscan_iter("big", count=50)) == {f"m{i}".encode() for i in range(1000)}
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
