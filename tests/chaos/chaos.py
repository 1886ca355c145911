#!/usr/bin/env python3
"""Chaos on real processes: 5 apiaryd, each in its own network namespace, a checked workload
through every node, and a seeded schedule of kill -9 + restart, SIGSTOP pauses and
symmetric, one-way and bridge partitions. Afterwards everything is healed and the checker
waits for the replicas to converge and checks the history (check.py). Run as root:

    scripts/chaos [--minutes N] [--seed S]

Exit status 0 when every check passed; the seed printed at the start and the end replays the
fault schedule. docs/chaos.md describes the harness.
"""
import argparse
import json
import os
import random
import shutil
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check  # noqa: E402
import cluster as cluster_mod  # noqa: E402
import netlab  # noqa: E402
import schedule  # noqa: E402
import workload  # noqa: E402

NODES = 5
REPLICAS, WRITE_QUORUM, READ_QUORUM = 3, 2, 2


def log(start, msg):
    print(f"[{time.monotonic() - start:7.1f}s] {msg}", flush=True)


class FaultRunner(threading.Thread):
    def __init__(self, faults, lab, cl, start, stop):
        super().__init__(daemon=True, name="faults")
        self.lab, self.cl, self.start_time, self.stop = lab, cl, start, stop
        self.events = sorted([(f["start"], 1, "begin", f) for f in faults]
                             + [(f["start"] + f["duration"], 0, "end", f) for f in faults],
                             key=lambda e: (e[0], e[1]))
        self.done = 0
        self.begun = []
        self.error = None

    def run(self):
        try:
            for at, _, what, fault in self.events:
                delay = self.start_time + at - time.monotonic()
                if delay > 0 and self.stop.wait(delay):
                    return
                (self.begin if what == "begin" else self.end)(fault)
        except Exception as e:  # reported by the main thread; the run then fails
            self.error = repr(e)

    def node(self, i):
        return self.cl.nodes[i - 1]

    def begin(self, f):
        t, kind, fid = f["targets"], f["kind"], f["id"]
        log(self.start_time, f"fault  {schedule.describe(f)}")
        self.begun.append(kind)
        if kind == "kill":
            self.cl.kill(self.node(t["node"]))
        elif kind == "pause":
            self.cl.pause(self.node(t["node"]))
        elif kind == "partition":
            for a in t["a"]:
                self.lab.drop(fid, a, t["b"])
            for b in t["b"]:
                self.lab.drop(fid, b, t["a"])
        elif kind == "oneway":
            for s in t["from"]:
                self.lab.drop(fid, s, t["to"])
        else:
            self.lab.drop(fid, t["a"], [t["c"]])
            self.lab.drop(fid, t["c"], [t["a"]])

    def end(self, f):
        t, kind = f["targets"], f["kind"]
        if kind == "kill":
            self.cl.restart(self.node(t["node"]))
        elif kind == "pause":
            self.cl.resume(self.node(t["node"]))
        else:
            self.lab.heal(f["id"])
        self.done += 1
        log(self.start_time, f"healed #{f['id']} {kind}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10, help="length of the fault phase")
    p.add_argument("--seed", type=int, default=None, help="fault schedule seed (random)")
    p.add_argument("--apiaryd", default=None, help="apiaryd binary (build/release or dev)")
    p.add_argument("--workers", type=int, default=16,
                   help="client threads (many, so that commands waiting out a fault do not "
                        "stall the rest)")
    p.add_argument("--rate", type=float, default=12, help="operations/s per client thread")
    p.add_argument("--partitions", type=int, default=256,
                   help="apiaryd --partitions: anti-entropy visits one owned partition per "
                        "second per node, so this sets how long a restarted node takes to "
                        "refill (about partitions x 3/5 s)")
    p.add_argument("--converge-limit", type=float, default=300,
                   help="seconds the replicas may take to converge after the faults stop")
    p.add_argument("--log-dir", default=None, help="where apiaryd logs and the summary go")
    return p.parse_args()


def find_apiaryd(root):
    for preset in ("release", "dev"):
        path = os.path.join(root, "build", preset, "apps", "apiaryd", "apiaryd")
        if os.access(path, os.X_OK):
            return path
    sys.exit("no apiaryd: build it with cmake --build --preset release --target apiaryd")


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("chaos needs root (ip netns, nft)")
    for tool in ("ip", "nft"):
        if shutil.which(tool) is None:
            sys.exit(f"chaos needs `{tool}` (Debian packages iproute2, nftables)")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    apiaryd = os.path.abspath(args.apiaryd or find_apiaryd(root))
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    run_seconds = args.minutes * 60
    log_dir = args.log_dir or f"/tmp/apiary-chaos-{seed}-{int(time.time())}"
    os.makedirs(log_dir, exist_ok=True)
    faults = schedule.make_schedule(seed, run_seconds, NODES)
    print(f"chaos seed={seed} minutes={args.minutes} faults={len(faults)} logs={log_dir}",
          flush=True)
    print(f"replay: scripts/chaos --minutes {args.minutes:g} --seed {seed}", flush=True)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    lab = netlab.NetLab(f"apchaos{os.getpid()}", NODES)
    cl = cluster_mod.Cluster(apiaryd, lab, NODES, log_dir, REPLICAS, WRITE_QUORUM,
                             READ_QUORUM, ["--partitions", str(args.partitions)])
    stop = threading.Event()
    summary = {"seed": seed, "minutes": args.minutes, "partitions": args.partitions,
               "faults": faults}
    try:
        lab.setup()
        lab.enter_bridge_ns()
        cl.start()
        endpoints = [(n.name, n.addr, cluster_mod.REDIS_PORT) for n in cl.nodes]
        if not check.wait_members(endpoints, NODES, 60):
            raise RuntimeError("the cluster did not form")
        start = time.monotonic()
        log(start, f"cluster of {NODES} up (N={REPLICAS} W={WRITE_QUORUM} R={READ_QUORUM})")
        history = workload.History(args.workers, overwrite_keys=10 * args.workers,
                                   counter_keys=20)
        history.start = start
        workers = [workload.Worker(i, endpoints, history, args.rate, stop, seed)
                   for i in range(args.workers)]
        runner = FaultRunner(faults, lab, cl, start, stop)
        for w in workers:
            w.start()
        runner.start()
        next_report = 30
        while time.monotonic() - start < run_seconds:
            time.sleep(1)
            crashes = cl.check_crashes()
            if crashes:
                log(start, f"CRASH: {crashes}")
                break
            if time.monotonic() - start >= next_report:
                next_report += 30
                with history.lock:
                    log(start, f"ops {history.ops}")
        stop.set()
        runner.join(30)
        for w in workers:
            w.join(workload.OP_TIMEOUT + 5)
        if runner.error:
            raise RuntimeError(f"fault runner failed: {runner.error}")

        # Heal everything, then wait for the replicas to agree.
        lab.heal_all()
        for n in cl.nodes:
            cl.resume(n)
        for n in cl.nodes:
            if n.killed:
                cl.restart(n)
        healed = time.monotonic()
        log(start, "all faults healed; waiting for convergence")
        members_ok = check.wait_members(endpoints, NODES, 60)
        keys = check.tracked_keys(history)
        # Phase 1, passive: only INFO and DBSIZE, so the checker's own reads (which repair
        # replicas at R=2) do not help; this is the stated convergence time.
        replicas_after, counts, previous, previous_at = None, None, None, None
        while time.monotonic() - healed < args.converge_limit:
            counts = check.copy_counts(endpoints)
            same = previous is not None and previous == counts
            if counts["converged"] and same:
                replicas_after = previous_at - healed
                log(start, f"replica copies converged: {counts}")
                break
            if not same:
                previous, previous_at = counts, time.monotonic()
            if int(time.monotonic() - healed) % 30 < 3:
                log(start, f"copies not converged yet: {counts}")
            time.sleep(3)
        # Phase 2: every key through every node until all nodes agree.
        read_start = time.monotonic()
        converged_after, problems, snap = None, [], None
        while time.monotonic() - read_start < 120:
            snap = check.snapshot(endpoints, keys)
            problems = snap.problems(keys, REPLICAS)
            if not problems:
                converged_after = time.monotonic() - healed
                break
            log(start, f"not converged yet: {len(problems)} problems, e.g. {problems[:2]}")
            time.sleep(5)
        violations = list(history.violations)
        for name, reads in (snap.reads.items() if snap else []):
            for v in check.invariants(history, reads):
                violations.append(f"through {name}: {v}")
        crashes = cl.check_crashes()

        kinds = {k: runner.begun.count(k) for k in schedule.KINDS}
        summary.update({
            "faults_injected": len(runner.begun), "run_seconds": round(healed - start, 1), "faults_by_kind": kinds, "ops": history.ops,
            "unique_acked": len(history.unique_acked),
            "unique_ambiguous": len(history.unique_ambiguous),
            "overwrite_keys": len(history.over_acked),
            "counter_acked": sum(history.counter_acked.values()),
            "counter_ambiguous": sum(history.counter_ambiguous.values()),
            "set_members_acked": sum(len(v) for v in history.member_acked.values()),
            "set_removals_acked": sum(len(v) for v in history.removed_acked.values()),
            "hash_increments_acked": sum(history.field_acked.values()),
            "keys_checked": len(keys), "reads_checked": len(keys) * NODES,
            "members_rejoined": members_ok, "replicas_converged_after_s": replicas_after,
            "last_copy_counts": counts, "reads_agree_after_s": converged_after,
            "convergence_problems": problems[:20], "violations": violations[:50],
            "violation_count": len(violations), "crashes": crashes,
            "late_ambiguous_overwrites": check.late_ambiguous(
                history, next(iter(snap.reads.values()))) if snap and snap.reads else []})
        ok = (replicas_after is not None and converged_after is not None and not violations
              and not crashes)
        for name, generation, code, path in crashes:
            print(f"--- {name} (process {generation}) exited with {code}; last lines of {path}:")
            with open(path) as f:
                print("".join(f.readlines()[-30:]))
        summary["pass"] = ok
        with open(os.path.join(log_dir, "writes.tsv"), "w") as f:
            f.write("t\tkey\tvalue\tnode\toutcome\n")
            for row in history.write_log:
                f.write("\t".join(map(str, row)) + "\n")
        with open(os.path.join(log_dir, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1, default=str)
        print(json.dumps({k: v for k, v in summary.items() if k != "faults"}, indent=1,
                         default=str))
        print(f"chaos seed={seed}: {'PASS' if ok else 'FAIL'} (logs {log_dir})", flush=True)
        return 0 if ok else 1
    finally:
        # A second Ctrl-C or SIGTERM must not interrupt the cleanup.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop.set()
        cl.stop_all()
        lab.teardown()


if __name__ == "__main__":
    sys.exit(main())
