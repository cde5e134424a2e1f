"""pytest harness for the Python binding.

UNICACHE_TEST_BACKENDS (comma-separated, set by CMake from the
UNICACHE_WITH_* options) names the backends to run against. Redis and
memcached are real servers started here on a free 127.0.0.1 port and
stopped afterwards; a missing server binary fails the run. SQLite uses a
fresh file per test.
"""
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

import unicache

BACKENDS = [b for b in os.environ.get("UNICACHE_TEST_BACKENDS", "memory").split(",") if b]
KNOWN = {"memory", "sqlite", "redis", "memcached"}
if not BACKENDS or set(BACKENDS) - KNOWN:
    raise RuntimeError("UNICACHE_TEST_BACKENDS must list some of %s, got %r"
                       % (sorted(KNOWN), BACKENDS))

# Tests that do not depend on the backend run once, with the memory run.
collect_ignore = [] if "memory" in BACKENDS else ["test_stubs.py", "test_quickstart.py"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A real redis-server or memcached on 127.0.0.1:<free port>."""

    def __init__(self, argv):
        if shutil.which(argv[0]) is None:
            pytest.fail("%s is not installed (Debian: apt-get install %s); the binding tests "
                        "need a real server" % (argv[0], argv[0]), pytrace=False)
        self.port = free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.proc = None
        self.log = tempfile.TemporaryFile()

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.log.seek(0)
        raise RuntimeError("%s did not start: %s" % (self.argv[0], self.log.read().decode()))

    def pause(self):
        self.proc.send_signal(19)  # SIGSTOP: accepts TCP, never answers

    def resume(self):
        self.proc.send_signal(18)  # SIGCONT

    def stop(self):
        if self.proc is None:
            return
        self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def redis_server():
    return ServerProcess(["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save",
                          "", "--appendonly", "no", "--loglevel", "warning"])


def memcached_server():
    argv = ["memcached", "-l", "127.0.0.1", "-p", "{port}", "-U", "0", "-m", "128"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]
    return ServerProcess(argv)


@pytest.fixture(scope="session")
def servers():
    """Servers started on first use, stopped at the end of the session."""
    started = {}

    def get(name):
        if name not in started:
            started[name] = {"redis": redis_server, "memcached": memcached_server}[name]().start()
        return started[name]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def uri(backend, servers, tmp_path):
    """A URI for the backend under test."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return "sqlite://" + str(tmp_path / "cache.db")
    if backend == "redis":
        return "redis://127.0.0.1:%d/0" % servers("redis").port
    return "memcached://127.0.0.1:%d" % servers("memcached").port


_prefixes = itertools.count()


@pytest.fixture
def make_cache(uri):
    """make_cache(serializer=...) -> a Cache with a prefix of its own, so
    tests sharing a server never see each other's keys."""
    opened = []

    def make(**kwargs):
        kwargs.setdefault("prefix", "t%d-%d:" % (os.getpid(), next(_prefixes)))
        c = unicache.Cache(uri, **kwargs)
        opened.append(c)
        return c

    yield make
    for c in opened:
        if not c.closed:
            c.clear()
            c.close()


@pytest.fixture
def cache(make_cache):
    return make_cache()


@pytest.fixture
def raw(make_cache):
    return make_cache(serializer="raw")


def can_list_keys(backend):
    """memcached cannot enumerate keys: keys()/delete_pattern() raise NotSupported."""
    return backend != "memcached"
