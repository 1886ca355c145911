#!/usr/bin/python3
"""Drives an apiaryd node with redis-py (Debian's python3-redis), the way an application
would, and exits non-zero with a message on the first surprise. Usage: redis_py_check.py PORT"""
import sys
import time

import redis


def main() -> int:
    port = int(sys.argv[1])
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    assert r.ping() is True
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == b"hello"
    assert r.get("missing") is None
    assert r.set("greeting", "again", nx=True) is None
    assert r.incr("counter") == 1
    assert r.incrby("counter", 41) == 42
    assert r.mset({"a": "1", "b": "2"}) is True
    assert r.mget(["a", "b", "nope"]) == [b"1", b"2", None]
    assert r.expire("a", 100) is True
    assert 0 < r.ttl("a") <= 100
    assert r.delete("a", "b", "nope") == 2
    assert r.exists("a") == 0
    binary = bytes(range(256))
    r.set(b"bin\x00key", binary)
    assert r.get(b"bin\x00key") == binary
    r.set("short", "x", px=50)
    time.sleep(0.2)
    assert r.get("short") is None
    try:
        r.execute_command("NOSUCHCOMMAND")
        raise AssertionError("unknown command accepted")
    except redis.ResponseError as e:
        assert "unknown command" in str(e), str(e)
    try:
        r.incr("greeting")
        raise AssertionError("INCR of a non-integer accepted")
    except redis.ResponseError as e:
        assert "not an integer" in str(e), str(e)
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.set(f"p{i}", i)
    for i in range(100):
        pipe.get(f"p{i}")
    results = pipe.execute()
    assert results[:100] == [True] * 100
    assert results[100:] == [str(i).encode() for i in range(100)]
    # (redis-py 4.3 speaks RESP2 only; RESP3 is checked with raw bytes in resp_test.cpp.)
    info = r.info("server")
    assert "redis_version" in info
    print("redis-py: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
