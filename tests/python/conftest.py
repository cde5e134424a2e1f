"""pytest harness for the Python binding.

UNICACHE_TEST_BACKENDS (comma-separated, set by CMake from the
UNICACHE_WITH_* options) names the backends to run against. Redis and
memcached are real servers started here on a free 127.0.0.1 port and
stopped afterwards; a missing server binary fails the run. SQLite uses a
fresh file per test.
"""
import itertools
import os

import pytest

import unicache
from servers import STARTERS, MissingServer

BACKENDS = [b for b in os.environ.get("UNICACHE_TEST_BACKENDS", "memory").split(",") if b]
# "tiered": a memory:// L1 in front of a Redis L2, the one-line form.
KNOWN = {"memory", "sqlite", "redis", "memcached", "tiered"}
if not BACKENDS or set(BACKENDS) - KNOWN:
    raise RuntimeError("UNICACHE_TEST_BACKENDS must list some of %s, got %r"
                       % (sorted(KNOWN), BACKENDS))

# Tests that do not depend on the backend run once, with the memory run.
collect_ignore = ([] if "memory" in BACKENDS
                  else ["test_stubs.py", "test_quickstart.py", "test_leaks.py", "test_open.py",
                        "test_redaction.py", "test_http_spec.py", "test_log.py", "test_metrics.py"])
# The fault proxy's own test needs a memcached behind it.
if "memcached" not in BACKENDS:
    collect_ignore.append("test_fault_proxy.py")
# Cross-language tests need a store another process can see, and both bindings.
if BACKENDS == ["memory"] or "UNICACHE_RUBY_LIB" not in os.environ:
    collect_ignore.append("test_interop.py")


@pytest.fixture(scope="session")
def servers():
    """Servers started on first use, stopped at the end of the session."""
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
def uri(backend, servers, tmp_path):
    """A URI for the backend under test."""
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return "sqlite://" + str(tmp_path / "cache.db")
    if backend == "redis":
        return "redis://127.0.0.1:%d/0" % servers("redis").port
    if backend == "tiered":
        return "tiered+redis://127.0.0.1:%d/1?l1_max_items=10000" % servers("redis").port
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
