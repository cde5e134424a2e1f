"""pytest harness for the framework adapters (Django, Flask-Caching) and
unicache.aio, run once per backend like tests/python (UNICACHE_TEST_BACKENDS,
set by CMake). Redis and memcached are real servers started here; SQLite is a
fresh file per test."""
import itertools
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "python"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_settings")

from servers import STARTERS, MissingServer  # noqa: E402

BACKENDS = [b for b in os.environ.get("UNICACHE_TEST_BACKENDS", "memory").split(",") if b]
KNOWN = {"memory", "sqlite", "redis", "memcached"}
if not BACKENDS or set(BACKENDS) - KNOWN:
    raise RuntimeError("UNICACHE_TEST_BACKENDS must list some of %s, got %r"
                       % (sorted(KNOWN), BACKENDS))

_seq = itertools.count()


@pytest.fixture(scope="session")
def servers():
    started = {}

    def get(name):
        if name not in started:
            try:
                started[name] = STARTERS[name]().start()
            except MissingServer as e:
                pytest.fail(str(e), pytrace=False)
        return started[name]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def store_uri(backend, servers, tmp_path):
    """make(**params) -> a URI of a store no other test uses."""
    def make(**params):
        tag = "f%d-%d" % (os.getpid(), next(_seq))
        if backend == "memory":
            base = "memory://?name=" + tag
        elif backend == "sqlite":
            base = "sqlite://%s?busy_timeout_ms=5000" % (tmp_path / (tag + ".db"))
        elif backend == "redis":
            base = "redis://127.0.0.1:%d/0?prefix=%s:" % (servers("redis").port, tag)
        else:
            base = "memcached://127.0.0.1:%d?prefix=%s:" % (servers("memcached").port, tag)
        for k, v in params.items():
            base += "&%s=%s" % (k, v)
        return base
    return make


@pytest.fixture
def server(backend, servers):
    """The server process of a network backend (None for memory/sqlite)."""
    return servers(backend) if backend in ("redis", "memcached") else None
