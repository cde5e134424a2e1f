"""The Python fault proxy against a real memcached, one check per fault."""
import socket
import time

import pytest

from fault_proxy import FaultProxy


@pytest.fixture
def proxy(servers):
    with FaultProxy(servers("memcached").port) as p:
        yield p


def ask(port, timeout=2.0):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    s.sendall(b"version\r\n")
    return s


def read_line(s):
    got = b""
    try:
        while b"\r\n" not in got:
            chunk = s.recv(256)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    return got


def test_pass_and_trickle(proxy):
    assert read_line(ask(proxy.port)).startswith(b"VERSION ")
    proxy.set_fault("trickle", 100)
    t0 = time.monotonic()
    assert read_line(ask(proxy.port, 5)).startswith(b"VERSION ")
    assert time.monotonic() - t0 >= 1.0  # 14+ bytes at 100 ms each


def test_drop_and_garbage(proxy):
    proxy.set_fault("drop")
    assert read_line(ask(proxy.port, 0.3)) == b""
    proxy.set_fault("garbage")
    got = read_line(ask(proxy.port, 0.3))
    assert got and not got.startswith(b"VERSION")


def test_reset_and_partial(proxy):
    s = ask(proxy.port)
    assert read_line(s).startswith(b"VERSION ")
    proxy.set_fault("reset")
    s.sendall(b"version\r\n")
    with pytest.raises(ConnectionResetError):
        s.recv(256)
    proxy.set_fault("partial")
    got = read_line(ask(proxy.port, 0.4))
    assert got.startswith(b"VERS") and b"\r\n" not in got
