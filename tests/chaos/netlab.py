"""Network namespaces for the chaos harness: one per node plus one holding the bridge.

Layout (all of it exists only inside namespaces this module creates; nothing touches the
host's own interfaces, routes or firewall):

    <prefix>-br    bridge br0, address 10.77.0.254/24 (the harness's clients live here)
    <prefix>-n<i>  eth0 = 10.77.0.<i>/24, the other end of its veth pair is on br0

No namespace has a default route, so no packet can leave 10.77.0.0/24. Partitions are
nftables tables (one per fault) in the node namespaces that drop packets to the cut-off
peers in the output hook; healing deletes the table.
"""
import ctypes
import os
import subprocess

SUBNET = "10.77.0"
HARNESS_ADDR = f"{SUBNET}.254"
CLONE_NEWNET = 0x40000000


def run(*args, input=None, check=True):
    res = subprocess.run(args, input=input, capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {res.stderr.strip()}")
    return res


class NetLab:
    def __init__(self, prefix, nodes):
        self.prefix = prefix
        self.nodes = nodes
        self.bridge_ns = f"{prefix}-br"
        self.created = []
        self.tables = {}  # fault id -> namespaces holding its table

    def node_ns(self, i):
        return f"{self.prefix}-n{i}"

    @staticmethod
    def addr(i):
        return f"{SUBNET}.{i}"

    def _add_ns(self, name):
        run("ip", "netns", "add", name)
        self.created.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")

    def setup(self):
        self._add_ns(self.bridge_ns)
        br = self.bridge_ns
        run("ip", "-n", br, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", br, "addr", "add", f"{HARNESS_ADDR}/24", "dev", "br0")
        run("ip", "-n", br, "link", "set", "br0", "up")
        for i in range(1, self.nodes + 1):
            ns = self.node_ns(i)
            self._add_ns(ns)
            run("ip", "-n", br, "link", "add", f"v{i}", "type", "veth", "peer", "name", "eth0",
                "netns", ns)
            run("ip", "-n", br, "link", "set", f"v{i}", "master", "br0")
            run("ip", "-n", br, "link", "set", f"v{i}", "up")
            run("ip", "-n", ns, "addr", "add", f"{self.addr(i)}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")

    def enter_bridge_ns(self):
        """Moves this thread (and threads it starts later) into the bridge namespace, so the
        harness's sockets can only reach 10.77.0.0/24."""
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(f"/run/netns/{self.bridge_ns}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the bridge namespace failed")
        finally:
            os.close(fd)

    def drop(self, fault_id, src, dsts):
        """Drops every packet node `src` sends to the nodes `dsts` (one direction)."""
        ns = self.node_ns(src)
        table = f"chaos_{fault_id}"
        addrs = ", ".join(self.addr(d) for d in dsts)
        rules = (f"table ip {table} {{\n chain out {{\n  type filter hook output priority 0;"
                 f" policy accept;\n  ip daddr {{ {addrs} }} drop\n }}\n}}\n")
        run("ip", "netns", "exec", ns, "nft", "-f", "-", input=rules)
        self.tables.setdefault(fault_id, []).append(ns)

    def heal(self, fault_id):
        for ns in self.tables.pop(fault_id, []):
            run("ip", "netns", "exec", ns, "nft", "delete", "table", "ip", f"chaos_{fault_id}",
                check=False)

    def heal_all(self):
        for fault_id in list(self.tables):
            self.heal(fault_id)

    def teardown(self):
        for ns in reversed(self.created):
            run("ip", "netns", "del", ns, check=False)
        self.created = []
