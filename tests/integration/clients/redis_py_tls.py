#!/usr/bin/python3
"""redis-py over TLS against apiaryd (tests/integration/tls_test.cpp).

  redis_py_tls.py cluster PORT[,PORT...] CA CERT KEY
      SET a key through every node's TLS port, GET each through every other node; prints ok.
  redis_py_tls.py reload PORT CA CERT KEY NEW_CERT NEW_KEY
      Opens a TLS connection, switches the node's certificate with CONFIG SET through that
      connection, checks the same connection still works, and prints the subject CN of the
      certificate a new connection sees: "old-connection-ok CN=<cn>".
"""
import socket
import ssl
import sys

import redis


def client(port, ca, cert, key):
    return redis.Redis(host="127.0.0.1", port=int(port), ssl=True, ssl_ca_certs=ca,
                       ssl_certfile=cert, ssl_keyfile=key, socket_timeout=10,
                       decode_responses=True)


def cluster(ports, ca, cert, key):
    nodes = [client(p, ca, cert, key) for p in ports.split(",")]
    for i, r in enumerate(nodes):
        for k in range(20):
            assert r.set(f"tls:{i}:{k}", f"value-{i}-{k}") is True
    for j, r in enumerate(nodes):
        for i in range(len(nodes)):
            for k in range(20):
                got = r.get(f"tls:{i}:{k}")
                assert got == f"value-{i}-{k}", (j, i, k, got)
    print("ok")


def reload(port, ca, cert, key, new_cert, new_key):
    r = client(port, ca, cert, key)
    old_id = r.client_id()
    r.execute_command("CONFIG", "SET", "tls-cert-file", new_cert, "tls-key-file", new_key)
    # The connection made with the old certificate keeps working (and is the same one).
    assert r.client_id() == old_id
    assert r.set("after-reload", "yes") is True and r.get("after-reload") == "yes"
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            subject = dict(x[0] for x in tls.getpeercert()["subject"])
    print(f"old-connection-ok CN={subject['commonName']}")


if __name__ == "__main__":
    if sys.argv[1] == "cluster":
        cluster(*sys.argv[2:7])
    elif sys.argv[1] == "reload":
        reload(*sys.argv[2:9])
    else:
        sys.exit("unknown mode " + sys.argv[1])
