#!/usr/bin/python3
"""A Redis client (redis-py) working against an Apiary cluster, for the integration tests.

    cluster_client.py write PORT COUNT PREFIX          SET PREFIX:i -> v:i for i < COUNT
    cluster_client.py check PORT COUNT PREFIX          every PREFIX:i reads v:i (or a later
                                                       workload value); prints what is missing
    cluster_client.py workload PORTS COUNT PREFIX SECONDS
        PORTS is comma-separated. Until SECONDS pass (or the file PREFIX.stop appears in the
        current directory), picks a random node and a random key among COUNT and either
        writes a new value or reads it. A read must never come back empty (every key was
        written before the workload started) and no command may fail. Prints one JSON line:
        {"ops":..,"writes":..,"reads":..,"errors":..,"missing":..,"first_error":..}

Exit status: 0 when nothing went wrong, 1 otherwise (the message says what).
"""
import json
import os
import random
import sys
import time

import redis


def connect(port):
    return redis.Redis(host="127.0.0.1", port=int(port), socket_timeout=10)


def write(port, count, prefix):
    r = connect(port)
    pipe = r.pipeline(transaction=False)
    for i in range(count):
        pipe.set(f"{prefix}:{i}", f"v:{i}")
        if i % 500 == 499:
            bad = [x for x in pipe.execute() if x is not True]
            if bad:
                print(f"SET failed: {bad[0]}")
                return 1
    bad = [x for x in pipe.execute() if x is not True]
    if bad:
        print(f"SET failed: {bad[0]}")
        return 1
    return 0


def check(port, count, prefix):
    r = connect(port)
    missing = []
    for start in range(0, count, 500):
        keys = [f"{prefix}:{i}" for i in range(start, min(count, start + 500))]
        for key, value in zip(keys, r.mget(keys)):
            if value is None or not value.startswith(b"v:"):
                missing.append(key)
    if missing:
        print(f"{len(missing)} of {count} keys missing, e.g. {missing[:5]}")
        return 1
    return 0


def workload(ports, count, prefix, seconds):
    clients = [connect(p) for p in ports.split(",")]
    rng = random.Random(7)
    stats = {"ops": 0, "writes": 0, "reads": 0, "errors": 0, "missing": 0, "first_error": None}
    deadline = time.monotonic() + seconds
    stop_file = f"{prefix}.stop"
    while time.monotonic() < deadline and not os.path.exists(stop_file):
        r = rng.choice(clients)
        key = f"{prefix}:{rng.randrange(count)}"
        stats["ops"] += 1
        try:
            if rng.random() < 0.5:
                stats["writes"] += 1
                if r.set(key, f"v:w{stats['ops']}") is not True:
                    raise RuntimeError("SET did not answer OK")
            else:
                stats["reads"] += 1
                if r.get(key) is None:
                    stats["missing"] += 1
                    if stats["first_error"] is None:
                        stats["first_error"] = f"GET {key} came back empty"
        except Exception as e:  # noqa: BLE001 -- every failure counts
            stats["errors"] += 1
            if stats["first_error"] is None:
                stats["first_error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(stats))
    return 0 if stats["errors"] == 0 and stats["missing"] == 0 else 1


def main():
    mode = sys.argv[1]
    if mode == "write":
        return write(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    if mode == "check":
        return check(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    if mode == "workload":
        return workload(sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
