"""The apiaryd processes of a chaos run: start, kill -9 and restart, pause and resume, and
crash detection. Each node runs in its own namespace (netlab.NetLab) on fixed ports; a
restart reuses the --name and comes back with an empty store (there is no persistence yet).
"""
import os
import signal
import subprocess
import threading
import time

GOSSIP_PORT = 7946
DATA_PORT = 7947
REDIS_PORT = 6379


class Node:
    def __init__(self, index, addr, ns):
        self.index = index
        self.addr = addr
        self.ns = ns
        self.name = f"n{index}"
        self.proc = None
        self.generation = 0
        self.paused = False
        self.killed = False  # killed by the harness and not restarted yet
        self.crashes = []  # (generation, exit code, log path): exits the harness did not cause


class Cluster:
    def __init__(self, apiaryd, lab, nodes, log_dir, replicas, write_quorum, read_quorum,
                 extra_args=()):
        self.apiaryd = apiaryd
        self.lab = lab
        self.log_dir = log_dir
        self.args = ["--replicas", str(replicas), "--write-quorum", str(write_quorum),
                     "--read-quorum", str(read_quorum), *extra_args]
        self.nodes = [Node(i, lab.addr(i), lab.node_ns(i)) for i in range(1, nodes + 1)]
        self.lock = threading.Lock()

    def log_path(self, node):
        return os.path.join(self.log_dir, f"{node.name}.{node.generation}.log")

    def _spawn(self, node, seeds):
        node.generation += 1
        gossip = f"{node.addr}:{GOSSIP_PORT}"
        cmd = ["ip", "netns", "exec", node.ns, self.apiaryd, "--name", node.name,
               "--gossip-addr", gossip, "--advertise-addr", gossip,
               "--data-addr", f"{node.addr}:{DATA_PORT}", "--bind", node.addr,
               "--port", str(REDIS_PORT), *self.args]
        if seeds:
            cmd += ["--seeds", ",".join(f"{s.addr}:{GOSSIP_PORT}" for s in seeds)]
        log = open(self.log_path(node), "w")
        # `ip netns exec` execs apiaryd, so the pid is apiaryd's own.
        node.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        node.paused = False
        node.killed = False

    def wait_ready(self, node, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path(node)) as f:
                if "apiaryd ready" in f.read():
                    return
            if node.proc.poll() is not None:
                raise RuntimeError(f"{node.name} exited during start: {node.proc.returncode}")
            time.sleep(0.1)
        raise RuntimeError(f"{node.name} not ready after {timeout} s")

    def start(self):
        first = self.nodes[0]
        self._spawn(first, [])
        self.wait_ready(first)
        for node in self.nodes[1:]:
            self._spawn(node, [first])
        for node in self.nodes[1:]:
            self.wait_ready(node)

    def kill(self, node):
        with self.lock:
            self._check_exit(node)
            if node.proc.poll() is None:
                node.proc.send_signal(signal.SIGKILL)
                node.proc.wait()
            node.killed = True
            node.paused = False

    def restart(self, node):
        with self.lock:
            seeds = [n for n in self.nodes if n is not node]
            self._spawn(node, seeds)
        self.wait_ready(node)

    def pause(self, node):
        with self.lock:
            if node.proc.poll() is None and not node.killed:
                node.proc.send_signal(signal.SIGSTOP)
                node.paused = True

    def resume(self, node):
        with self.lock:
            if node.paused and node.proc.poll() is None:
                node.proc.send_signal(signal.SIGCONT)
            node.paused = False

    def _check_exit(self, node):
        if node.proc is None or node.killed:
            return
        code = node.proc.poll()
        if code is not None and not any(c[0] == node.generation for c in node.crashes):
            node.crashes.append((node.generation, code, self.log_path(node)))

    def check_crashes(self):
        """Records every process that exited without the harness killing it."""
        with self.lock:
            for node in self.nodes:
                self._check_exit(node)
            return [(n.name, *c) for n in self.nodes for c in n.crashes]

    def stop_all(self):
        for node in self.nodes:
            if node.proc is None or node.proc.poll() is not None:
                continue
            try:
                node.proc.send_signal(signal.SIGCONT)
                node.proc.send_signal(signal.SIGKILL)
                node.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
