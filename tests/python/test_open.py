"""Opening a cache asks the server nothing it does not need: with
lazy_connect=true (Redis) and on memcached (which connects on first use),
Cache() returns at once even when the server accepts connections and never
answers. Runs once, with the memory run (it starts no real server)."""
import socket
import threading
import time

import unicache

TIMEOUT_MS = 3000
BOUND_S = 0.5  # far below the timeout a read at open would wait


class SilentServer:
    """Accepts TCP connections and never writes a byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.stopping = True
        self.sock.close()
        for conn in self.held:
            conn.close()


def _open_time(uri):
    start = time.monotonic()
    cache = unicache.Cache(uri)
    elapsed = time.monotonic() - start
    return cache, elapsed


def test_open_does_not_wait_for_a_silent_server():
    server = SilentServer()
    try:
        for uri, name in (("redis://127.0.0.1:%d/0?lazy_connect=true&timeout_ms=%d"
                           % (server.port, TIMEOUT_MS), "redis"),
                          ("memcached://127.0.0.1:%d?timeout_ms=%d" % (server.port, TIMEOUT_MS),
                           "memcached")):
            cache, elapsed = _open_time(uri)
            try:
                assert elapsed < BOUND_S, "%s open took %.2f s" % (name, elapsed)
                assert cache.backend == name
                assert not cache.closed
            finally:
                cache.close()
    finally:
        server.close()
