#!/usr/bin/env python3
"""Rolling restart (and rolling upgrade) of a 3-node cluster under a checked client load.

Three apiaryd processes on loopback, each with a fixed --name, fixed ports and its own data
directory (--dir, --appendonly yes), N=3 W=2 R=2. Client threads (tests/chaos/workload.py)
send unique SETs, overwrites, INCRs, SADD/SREM and HINCRBY through all three nodes and
record what every reply proves. Then, one node at a time: SIGTERM (a graceful leave with
handoff), wait for the process to exit, start it again with the same name, ports and data
directory -- the first start uses --old-apiaryd, every restart --new-apiaryd -- and wait
until its GET /readyz answers 200 before the next node. After the last node the load stops
and the checker (tests/chaos/check.py) waits for the replicas to converge and reads every
tracked key through every node. --rounds N restarts every node N times over (default 2).

It fails (exit 1) when:
  * an acknowledged write is lost or a counter/hash field is outside [acked, acked+ambiguous]
    (check.invariants, on every node's reads);
  * a read during the run answered "missing": a GET of a key whose SET was acknowledged
    before the GET was sent returned nil (an error or a refused connection is not a missing
    read: the client goes on with another node), or a read returned a value never written;
  * a node did not exit within --exit-timeout after SIGTERM, did not turn ready within
    --ready-timeout after its restart, or exited on its own.

    python3 tests/ops/rolling.py                       # the build's apiaryd for everything
    python3 tests/ops/rolling.py --old-apiaryd /opt/apiary-0.9/bin/apiaryd \
        --new-apiaryd build/dev/apps/apiaryd/apiaryd   # a rolling upgrade old -> new

Needs Python 3's standard library only, no root. Logs (one per process start) and
summary.json go to --log-dir (a fresh temporary directory by default, kept on failure).
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "chaos"))

import check  # noqa: E402  (tests/chaos)
import resp  # noqa: E402
import workload  # noqa: E402

DEFAULT_APIARYD = os.path.join(HERE, "..", "..", "build", "dev", "apps", "apiaryd", "apiaryd")


def free_ports(count):
    """Distinct free loopback ports: every socket stays bound until all are chosen, so the
    kernel cannot hand the same port out twice."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def http_get(addr, path, timeout=3.0):
    """-> (status, body); status 0 when the port did not answer."""
    try:
        with urllib.request.urlopen(f"http://{addr}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (OSError, ValueError):
        return 0, ""


class Node:
    """One member: its name, ports and data directory stay the same across restarts."""

    def __init__(self, index, root, ports):
        self.name = f"r{index}"
        self.gossip = f"127.0.0.1:{ports[0]}"
        self.data = f"127.0.0.1:{ports[1]}"
        self.http = f"127.0.0.1:{ports[2]}"
        self.redis_port = ports[3]
        self.dir = os.path.join(root, self.name)
        self.proc = None
        self.starts = 0
        self.binary = None

    def endpoint(self):
        return (self.name, "127.0.0.1", self.redis_port)


class Cluster:
    def __init__(self, nodes, log_dir, extra_args):
        self.nodes = nodes
        self.log_dir = log_dir
        self.extra = extra_args
        self.expected_down = set()  # names the harness stopped on purpose

    def log_path(self, node):
        return os.path.join(self.log_dir, f"{node.name}.{node.starts}.log")

    def start(self, node, binary, seeds):
        node.starts += 1
        node.binary = binary
        cmd = [binary, "--name", node.name, "--gossip-addr", node.gossip,
               "--advertise-addr", node.gossip, "--data-addr", node.data,
               "--http-addr", node.http, "--bind", "127.0.0.1", "--port", str(node.redis_port),
               "--dir", node.dir, "--appendonly", "yes", *self.extra]
        if seeds:
            cmd += ["--seeds", ",".join(s.gossip for s in seeds)]
        with open(self.log_path(node), "w") as log:
            log.write(" ".join(cmd) + "\n")
            log.flush()
            node.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.expected_down.discard(node.name)

    def wait_ready(self, node, timeout):
        """Waits for GET /readyz 200; -> seconds taken, or raises."""
        began = time.monotonic()
        last = ""
        while time.monotonic() - began < timeout:
            if node.proc.poll() is not None:
                raise RuntimeError(f"{node.name} exited with {node.proc.returncode} while "
                                   f"starting (log {self.log_path(node)})")
            status, body = http_get(node.http, "/readyz")
            if status == 200:
                return time.monotonic() - began
            last = body or last
            time.sleep(0.1)
        raise RuntimeError(f"{node.name} not ready after {timeout} s: {last}")

    def terminate(self, node, timeout):
        """SIGTERM and wait for the exit; -> (seconds, exit code), or raises."""
        self.expected_down.add(node.name)
        began = time.monotonic()
        node.proc.send_signal(signal.SIGTERM)
        try:
            code = node.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{node.name} still running {timeout} s after SIGTERM")
        return time.monotonic() - began, code

    def crashed(self):
        return [(n.name, n.proc.returncode) for n in self.nodes
                if n.proc is not None and n.name not in self.expected_down
                and n.proc.poll() is not None]

    def stop_all(self):
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                n.proc.kill()
                try:
                    n.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass


class CheckedWorker(workload.Worker):
    """The chaos worker, with reads judged strictly: R + W > N, so a GET of a key whose SET
    was acknowledged before the GET was sent must find it. A nil answer is a missing read."""

    READ_WINDOW = 500

    def nil_after_ack(self, key, node):
        t = round(time.monotonic() - self.h.start, 3)
        with self.h.lock:
            self.h.missing_reads.append(f"{t} s: GET {key} through {node[0]} answered nil "
                                        f"after its SET was acknowledged")

    def older_value(self, key, node, seq, floor):
        t = round(time.monotonic() - self.h.start, 3)
        self.h.ops["stale_reads"] += 1
        self.h.stale.append(f"{t} s: GET {key} through {node[0]}: {seq}, acknowledged {floor}")


def preload(endpoints, history, count):
    """SETs `count` keys p:<i> (pipelined, spread over the nodes) before the load starts, so
    that every restarted node has a real amount of data to load and to be handed."""
    conns = [resp.Connection(host, port, 30) for _, host, port in endpoints]
    try:
        for start in range(0, count, 1000):
            batch = [("SET", f"p:{i}", f"v{i}") for i in range(start, min(count, start + 1000))]
            replies = conns[(start // 1000) % len(conns)].pipeline(batch)
            for (_, key, value), reply in zip(batch, replies):
                if reply == "OK":
                    history.unique_acked[key] = value
                else:
                    history.unique_ambiguous[key] = value
    finally:
        for c in conns:
            c.close()


def converge(endpoints, history, replicas, limit):
    """Waits for the copies to add up and every node to read the same; -> (seconds, reads
    of every node, problems left)."""
    began = time.monotonic()
    keys = check.tracked_keys(history)
    problems = ["not polled"]
    snap = None
    while time.monotonic() - began < limit:
        counts = check.copy_counts(endpoints)
        if counts["converged"]:
            snap = check.snapshot(endpoints, keys)
            problems = snap.problems(keys, replicas)
            if not problems:
                break
        else:
            problems = [f"copies not converged: {counts}"]
        time.sleep(1)
    if snap is None:
        snap = check.snapshot(endpoints, keys)
    return time.monotonic() - began, snap.reads, problems


def run(args):
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="apiary-rolling-")
    os.makedirs(log_dir, exist_ok=True)
    # Run copies: a rebuild of the tree's apiaryd during the run must not change (or remove)
    # the binary a restart executes.
    binaries = {}
    for role, path in (("old", args.old_apiaryd), ("new", args.new_apiaryd)):
        if path not in binaries:
            binaries[path] = os.path.join(log_dir, f"apiaryd.{role}")
            shutil.copy2(path, binaries[path])
            os.chmod(binaries[path], 0o755)
    old_apiaryd, new_apiaryd = binaries[args.old_apiaryd], binaries[args.new_apiaryd]
    data_root = os.path.join(log_dir, "data")
    ports = free_ports(12)
    nodes = [Node(i, data_root, ports[4 * (i - 1):4 * i]) for i in range(1, 4)]
    extra = ["--replicas", "3", "--write-quorum", str(args.write_quorum),
             "--read-quorum", str(args.read_quorum),
             "--partitions", str(args.partitions), *args.apiaryd_arg]
    cluster = Cluster(nodes, log_dir, extra)
    summary = {"log_dir": log_dir, "old_apiaryd": args.old_apiaryd,
               "new_apiaryd": args.new_apiaryd, "restarts": [], "failures": []}
    history = workload.History(args.workers, overwrite_keys=40, counter_keys=10)
    history.missing_reads = []
    history.stale = []
    stop = threading.Event()
    workers = []
    began = time.monotonic()
    try:
        cluster.start(nodes[0], old_apiaryd, [])
        cluster.wait_ready(nodes[0], args.ready_timeout)
        for n in nodes[1:]:
            cluster.start(n, old_apiaryd, [nodes[0]])
        for n in nodes:
            cluster.wait_ready(n, args.ready_timeout)
        endpoints = [n.endpoint() for n in nodes]
        preload(endpoints, history, args.preload)
        workers = [CheckedWorker(i, endpoints, history, args.rate, stop, args.seed)
                   for i in range(args.workers)]
        for w in workers:
            w.start()
        time.sleep(args.settle)
        for n in [n for _ in range(args.rounds) for n in nodes]:
            if cluster.crashed():
                break
            at = round(time.monotonic() - history.start, 1)
            took, code = cluster.terminate(n, args.exit_timeout)
            cluster.start(n, new_apiaryd, [m for m in nodes if m is not n])
            ready = cluster.wait_ready(n, args.ready_timeout)
            summary["restarts"].append({"node": n.name, "at_s": at, "exit_s": round(took, 2),
                                        "exit_code": code, "ready_s": round(ready, 2)})
            if code != 0:
                summary["failures"].append(f"{n.name} exited with {code} after SIGTERM")
            time.sleep(args.settle)
        stop.set()
        for w in workers:
            w.join(timeout=workload.OP_TIMEOUT + 5)
        if not check.wait_members(endpoints, 3, 60):
            summary["failures"].append("the three nodes do not all see 3 alive members")
        took, reads, problems = converge(endpoints, history, 3, args.converge_limit)
        summary["converge_s"] = round(took, 1)
        summary["failures"] += [f"not converged: {p}" for p in problems[:20]]
        for name, node_reads in sorted(reads.items()):
            bad = check.invariants(history, node_reads)
            summary["failures"] += [f"{name}: {b}" for b in bad[:20]]
    except (RuntimeError, OSError) as e:
        summary["failures"].append(f"{type(e).__name__}: {e}")
    finally:
        stop.set()
        crashed = cluster.crashed()
        summary["failures"] += [f"{name} exited on its own with {code}" for name, code in crashed]
        cluster.stop_all()
    summary["failures"] += history.missing_reads[:50]
    summary["failures"] += history.violations[:50]
    summary["missing_reads"] = len(history.missing_reads)
    summary["stale_overwrite_reads"] = history.stale[:20]
    summary["ops"] = history.ops
    errors = {}
    examples = []
    for t, key, _, node, outcome in history.write_log:
        if not outcome.startswith("ok"):
            text = " ".join(outcome.split()[:4])
            errors[text] = errors.get(text, 0) + 1
            examples.append(f"{t} s {node} {key}: {outcome}")
    summary["write_errors"] = errors  # overwrites and INCRs answered with an error / not at all
    summary["write_error_examples"] = examples[:30]
    summary["acknowledged"] = {
        "unique": len(history.unique_acked), "counters": sum(history.counter_acked.values()),
        "set_members": sum(len(m) for m in history.member_acked.values())}
    summary["seconds"] = round(time.monotonic() - began, 1)
    with open(os.path.join(log_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(log_dir, "writes.tsv"), "w") as f:  # overwrites and INCRs
        for row in history.write_log:
            f.write("\t".join(str(x) for x in row) + "\n")
    return summary


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--old-apiaryd", default=DEFAULT_APIARYD,
                   help="apiaryd for the first start of every node")
    p.add_argument("--new-apiaryd", default=None,
                   help="apiaryd for every restart (default: --old-apiaryd)")
    p.add_argument("--apiaryd-arg", action="append", default=[],
                   help="one more argument for every apiaryd start (repeatable)")
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--rate", type=float, default=40, help="operations/s per worker")
    p.add_argument("--partitions", type=int, default=128)
    p.add_argument("--preload", type=int, default=20000,
                   help="keys written before the load starts (checked like the others)")
    p.add_argument("--settle", type=float, default=1,
                   help="seconds of load before the first restart and after each")
    p.add_argument("--write-quorum", type=int, default=2)
    p.add_argument("--read-quorum", type=int, default=2,
                   help="R; with R + W <= 3 a read may miss a recent write by design "
                        "(eventual consistency), which this run still counts as a failure")
    p.add_argument("--rounds", type=int, default=2,
                   help="restart every node this many times (one after the other)")
    p.add_argument("--exit-timeout", type=float, default=60)
    p.add_argument("--ready-timeout", type=float, default=60)
    p.add_argument("--converge-limit", type=float, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--log-dir", default=None)
    args = p.parse_args()
    args.old_apiaryd = os.path.abspath(args.old_apiaryd)
    args.new_apiaryd = os.path.abspath(args.new_apiaryd or args.old_apiaryd)
    for path in (args.old_apiaryd, args.new_apiaryd):
        if not os.access(path, os.X_OK):
            print(f"rolling restart: FAIL: {path} is not an executable apiaryd")
            return 1
    summary = run(args)
    ok = not summary["failures"]
    print(json.dumps({k: v for k, v in summary.items() if k != "stale_overwrite_reads"},
                     indent=2))
    print("rolling restart: " + ("PASS" if ok else "FAIL") + f" (logs in {summary['log_dir']})")
    if ok and not args.log_dir:
        shutil.rmtree(summary["log_dir"], ignore_errors=True)
    else:  # keep the logs, not the copies of apiaryd
        for name in ("apiaryd.old", "apiaryd.new"):
            path = os.path.join(summary["log_dir"], name)
            if os.path.exists(path):
                os.remove(path)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
