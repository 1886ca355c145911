"""A tiny blocking RESP2 client: enough for the chaos workload and checker.

Replies come back as Python values: str for simple strings, bytes for bulk strings, int,
None for nil, list for arrays, and RespError (an instance, not raised) for error replies,
so a caller can tell "the node said no" from "the node did not answer" (an exception).
"""
import socket


class RespError:
    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return f"RespError({self.text!r})"


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Connection:
    """One TCP connection to a node. Any socket error or timeout raises OSError; the
    connection is then unusable (the caller drops it and may reconnect)."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def call(self, *args):
        self.sock.sendall(encode(*args))
        return self._read()

    def pipeline(self, commands):
        """Sends every command, then reads one reply per command, in order."""
        self.sock.sendall(b"".join(encode(*c) for c in commands))
        return [self._read() for _ in commands]

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            self._fill()

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("connection closed by the node")
        self.buf += chunk

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data = bytes(self.buf[:n])
            del self.buf[: n + 2]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"unexpected RESP reply {line[:40]!r}")
