"""The final check, after every fault is healed: reads every tracked key through every node
until the replicas agree, then checks the history's invariants on what they agree on.

Replicas converged (copy_counts, polled without reading keys, so the checker's own R=2 reads
cannot repair anything before it is measured), all at once and on two polls in a row:
  * every node answers DBSIZE with the same count;
  * the nodes' own copies hold at least N copies of that keyspace between them: the sum of
    `INFO localkeyspace` keys >= N x DBSIZE (any surplus, copies left on a node that does not
    own them, is reported);
  * no node has a handoff pending or a partition still being caught up on.
Reads converged (Snapshot): every node answers GET of every tracked key, all five answers are
equal, and the number of tracked keys present equals DBSIZE.
Invariants (on the converged reads, or on the last reads if the deadline passed):
  * every acknowledged unique key reads its value (ambiguous ones: their value or nil);
  * every overwrite key reads its last acknowledged value or one whose SET was ambiguous
    (late_ambiguous() counts the keys where such a write superseded later acknowledged ones);
  * every counter c: acked <= value <= acked + ambiguous;
  * every set S: holds every acknowledged member whose removal was never attempted, none
    whose SREM answered 1, and nothing never sent;
  * every hash field H f: acked <= value <= acked + ambiguous.
Sets and hashes are read whole (SMEMBERS, HGETALL) and compared as sorted text.
"""
import time

import resp

BATCH = 500


def info_fields(conn, section):
    text = conn.call("INFO", section)
    if isinstance(text, resp.RespError):
        raise OSError(text.text)
    fields = {}
    for line in text.decode().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k] = v
    return fields


def read_command(key):
    """GET, or SMEMBERS / HGETALL for the workload's sets (S:) and hashes (H:)."""
    return ("SMEMBERS" if key.startswith("S:") else "HGETALL" if key.startswith("H:")
            else "GET", key)


def as_text(key, reply):
    """A reply as comparable text: a set's members or a hash's field=value pairs sorted and
    joined by commas, None for a missing key (an empty set or hash)."""
    if not isinstance(reply, list):
        return None if reply is None else reply.decode()
    items = [x.decode() for x in reply]
    if key.startswith("H:"):
        items = [f"{items[i]}={items[i + 1]}" for i in range(0, len(items) - 1, 2)]
    return ",".join(sorted(items)) if items else None


def read_all(conn, keys):
    out = {}
    for i in range(0, len(keys), BATCH):
        part = keys[i:i + BATCH]
        for k, r in zip(part, conn.pipeline([read_command(k) for k in part])):
            out[k] = r if isinstance(r, resp.RespError) else as_text(k, r)
    return out


class Snapshot:
    def __init__(self):
        self.reads = {}        # node -> {key: value}
        self.local_keys = {}   # node -> keys in its own store
        self.dbsize = {}       # node -> DBSIZE answer
        self.busy = {}         # node -> (handoff pending, partitions promoting)
        self.errors = []

    def problems(self, keys, replicas):
        out = list(self.errors)
        names = sorted(self.reads)
        for k in keys:
            values = {n: self.reads[n].get(k) for n in names}
            if any(isinstance(v, resp.RespError) for v in values.values()):
                out.append(f"{k}: error reply {values}")
            elif len(set(values.values())) > 1:
                out.append(f"{k}: nodes disagree {values}")
        sizes = set(self.dbsize.values())
        if len(sizes) != 1:
            out.append(f"DBSIZE differs between nodes: {self.dbsize}")
        else:
            size = sizes.pop()
            if sum(self.local_keys.values()) < replicas * size:
                out.append(f"local copies {self.local_keys} (sum "
                           f"{sum(self.local_keys.values())}) < {replicas} x DBSIZE {size}")
            for n in names:
                present = sum(1 for v in self.reads[n].values() if isinstance(v, str))
                if present != size:
                    out.append(f"{n}: {present} tracked keys read, DBSIZE {size}")
        for n, (handoff, promoting) in self.busy.items():
            if handoff or promoting:
                out.append(f"{n}: handoff pending {handoff}, promoting {promoting}")
        return out


def snapshot(nodes, keys, timeout=30.0):
    snap = Snapshot()
    for name, host, port in nodes:
        try:
            c = resp.Connection(host, port, timeout)
            try:
                snap.reads[name] = read_all(c, keys)
                local = info_fields(c, "localkeyspace").get("db0", "keys=0")
                snap.local_keys[name] = int(local.split(",")[0].split("=")[1])
                snap.dbsize[name] = c.call("DBSIZE")
                cl = info_fields(c, "cluster")
                snap.busy[name] = (int(cl.get("cluster_handoff_pending", 0)),
                                   int(cl.get("cluster_partitions_promoting", 0)))
            finally:
                c.close()
        except OSError as e:
            snap.errors.append(f"{name}: {e}")
            snap.reads[name] = {}
    return snap


def copy_counts(nodes):
    """INFO localkeyspace, DBSIZE and the busy flags of every node, and whether the copies
    add up: sum of local keys == N x DBSIZE, DBSIZE equal everywhere, nothing pending."""
    out = {"local": {}, "dbsize": {}, "busy": {}, "converged": False}
    replicas = None
    for name, host, port in nodes:
        try:
            c = resp.Connection(host, port, 10)
            try:
                local = info_fields(c, "localkeyspace").get("db0", "keys=0")
                out["local"][name] = int(local.split(",")[0].split("=")[1])
                out["dbsize"][name] = c.call("DBSIZE")
                cl = info_fields(c, "cluster")
                replicas = int(cl.get("cluster_replicas", 0))
                busy = (int(cl.get("cluster_handoff_pending", 0))
                        + int(cl.get("cluster_partitions_promoting", 0)))
                if busy:
                    out["busy"][name] = busy
            finally:
                c.close()
        except (OSError, ValueError) as e:
            out["busy"][name] = str(e)
    sizes = set(out["dbsize"].values())
    out["converged"] = (len(out["local"]) == len(nodes) and len(sizes) == 1
                        and all(isinstance(s, int) for s in sizes) and not out["busy"]
                        and sum(out["local"].values()) >= replicas * next(iter(sizes)))
    if out["converged"]:
        # Copies beyond N per key: entries left on a node that does not own them.
        out["surplus_copies"] = sum(out["local"].values()) - replicas * next(iter(sizes))
    return out


def wait_members(nodes, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = 0
        for _, host, port in nodes:
            try:
                c = resp.Connection(host, port, 5)
                try:
                    if int(info_fields(c, "cluster").get("cluster_alive_members", 0)) == count:
                        ok += 1
                finally:
                    c.close()
            except (OSError, ValueError):
                pass
        if ok == len(nodes):
            return True
        time.sleep(1)
    return False


def invariants(history, reads):
    """-> list of violations, judged on one node's reads (all nodes agree when converged)."""
    bad = []
    h = history
    for k, v in h.unique_acked.items():
        if reads.get(k) != v:
            bad.append(f"lost acknowledged write: {k} = {v!r}, read {reads.get(k)!r}")
    for k, v in h.unique_ambiguous.items():
        if reads.get(k) not in (None, v):
            bad.append(f"unique key {k}: read {reads.get(k)!r}, only {v!r} was sent")
    for k, floor in h.over_acked.items():
        got = reads.get(k)
        seq = int(got) if isinstance(got, str) and got.isdigit() else -1
        if seq != floor and seq not in h.over_ambiguous.get(k, ()):
            bad.append(f"overwrite {k}: read {got!r}, last acknowledged {floor}, last sent "
                       f"{h.over_attempted[k]}, ambiguous {sorted(h.over_ambiguous.get(k, ()))[-5:]}")
    for k, acked in h.counter_acked.items():
        amb = h.counter_ambiguous[k]
        got = reads.get(k)
        value = int(got) if isinstance(got, str) else 0
        if not acked <= value <= acked + amb:
            bad.append(f"counter {k}: {value}, acknowledged {acked}, ambiguous {amb}")
    for k in h.set_keys:
        got = reads.get(k)
        members = set(got.split(",")) if isinstance(got, str) else set()
        for m in h.member_acked[k] - h.removed_acked[k] - h.removed_maybe[k]:
            if m not in members:
                bad.append(f"lost acknowledged SADD: {k} {m}")
        for m in h.removed_acked[k] & members:
            bad.append(f"acknowledged SREM undone: {k} still holds {m}")
        for m in members - h.member_acked[k] - h.member_ambiguous[k]:
            bad.append(f"set {k} holds {m!r}, never added")
    fields = {}
    for k in h.hash_keys:
        got = reads.get(k)
        for pair in (got.split(",") if isinstance(got, str) else []):
            f, _, v = pair.partition("=")
            fields[(k, f)] = v
    for kf in set(h.field_acked) | set(h.field_ambiguous) | set(fields):
        acked, amb = h.field_acked.get(kf, 0), h.field_ambiguous.get(kf, 0)
        got = fields.get(kf, "0")
        if not got.isdigit() or not acked <= int(got) <= acked + amb:
            bad.append(f"hash field {kf}: {got!r}, acknowledged {acked}, ambiguous {amb}")
    return bad


def late_ambiguous(history, reads):
    """Overwrite keys whose final value is an ambiguous write older than an acknowledged one:
    allowed (the client was told the write may still run) but worth reporting."""
    out = []
    for k, floor in history.over_acked.items():
        got = reads.get(k)
        if isinstance(got, str) and got.isdigit() and int(got) < floor:
            out.append(f"{k}: {got} (ambiguous) over acknowledged {floor}")
    return out


def tracked_keys(history):
    return (list(history.unique_acked) + list(history.unique_ambiguous)
            + list(history.over_attempted) + list(history.counter_acked)
            + history.set_keys + history.hash_keys)
