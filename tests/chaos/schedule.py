"""The fault schedule of a chaos run: a pure function of (seed, run length, node count), so
the seed printed by a run replays the same faults at the same offsets.

Kinds:
  kill       kill -9 one node, restart it (same --name, empty store) after 2-20 s
  pause      SIGSTOP one node, SIGCONT after 5-20 s
  partition  symmetric: a group of 1-2 nodes and the rest cannot reach each other
  oneway     asymmetric: packets from a group of 1-2 nodes to 1-3 others are dropped
             (the reverse direction passes)
  bridge     A and C cannot reach each other; both still reach B (and everyone else)

Faults start 2-15 s apart and last 5-30 s, so they run alone or overlap (at most two at a
time). Kills are spaced at least KILL_SPACING apart, and never overlap another process
fault on the same node.
"""
import random

KINDS = ["kill", "pause", "partition", "oneway", "bridge"]
WEIGHTS = [2, 2, 2, 2, 2]
MAX_ACTIVE = 2
KILL_SPACING = 60.0


def _targets(rng, kind, nodes):
    ids = list(range(1, nodes + 1))
    if kind in ("kill", "pause"):
        return {"node": rng.choice(ids)}
    if kind == "partition":
        side = rng.sample(ids, rng.choice([1, 2]))
        return {"a": sorted(side), "b": sorted(set(ids) - set(side))}
    if kind == "oneway":
        src = rng.sample(ids, rng.choice([1, 2]))
        rest = [i for i in ids if i not in src]
        dst = rng.sample(rest, rng.randint(1, len(rest)))
        return {"from": sorted(src), "to": sorted(dst)}
    a, b, c = rng.sample(ids, 3)
    return {"a": a, "b": b, "c": c}


def _duration(rng, kind):
    if kind == "kill":
        return round(rng.uniform(2, 20), 1)
    if kind == "pause":
        return round(rng.uniform(5, 20), 1)
    return round(rng.uniform(5, 30), 1)


def make_schedule(seed, run_seconds, nodes, warmup=10.0):
    rng = random.Random(seed)
    faults = []
    t = warmup
    last_kill = -KILL_SPACING
    while True:
        t += round(rng.uniform(2, 15), 1)
        kind = rng.choices(KINDS, WEIGHTS)[0]
        duration = _duration(rng, kind)
        targets = _targets(rng, kind, nodes)
        if t + duration > run_seconds:
            break
        active = [f for f in faults if f["start"] + f["duration"] > t]
        if len(active) >= MAX_ACTIVE:
            continue
        if kind == "kill" and t - last_kill < KILL_SPACING:
            continue
        if kind in ("kill", "pause"):
            busy = {f["targets"]["node"] for f in active if f["kind"] in ("kill", "pause")}
            if targets["node"] in busy:
                continue
        if kind == "kill":
            last_kill = t
        faults.append({"id": len(faults) + 1, "kind": kind, "start": round(t, 1),
                       "duration": duration, "targets": targets})
    return faults


def describe(fault):
    t = fault["targets"]
    kind = fault["kind"]
    if kind in ("kill", "pause"):
        what = f"n{t['node']}"
    elif kind == "partition":
        what = f"{t['a']} | {t['b']}"
    elif kind == "oneway":
        what = f"{t['from']} -> {t['to']} dropped"
    else:
        what = f"n{t['a']} x n{t['c']} (both reach n{t['b']})"
    return (f"#{fault['id']} {kind} {what} at {fault['start']:.1f}s for "
            f"{fault['duration']:.1f}s")
