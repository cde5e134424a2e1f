"""Handle.incr_ext, the binding of cache_incr_ext that the Django and Flask
adapters stand on, on every backend: results, the counter's TTL, and every
argument's wrong-type error."""
import threading

import pytest

import unicache


@pytest.fixture
def cache(store_uri):
    c = unicache.Cache(store_uri())
    yield c
    c.clear()
    c.close()


def test_existing_only_never_creates(cache):
    assert cache.incr_ext("n", 5, existing=True) is None
    assert cache.exists("n") is False
    cache.set("n", 40)
    assert cache.incr_ext("n", 2, existing=True) == 42
    assert cache.incr_ext("n", -50, existing=True) == -8
    assert cache.get("n") == -8


def test_ttl_applies_to_a_new_counter_only(cache):
    assert cache.incr_ext("c", 1, ttl=100) == 1
    assert 90 < cache.ttl("c") <= 100
    assert cache.incr_ext("c", 1, ttl=5000) == 2
    assert cache.ttl("c") <= 100
    assert cache.incr_ext("f", 1, ttl=unicache.FOREVER) == 1
    assert cache.ttl("f") == unicache.FOREVER


def test_not_a_number_and_overflow(cache):
    cache.set("s", "text")
    with pytest.raises(unicache.NotANumber):
        cache.incr_ext("s", 1, existing=True)
    cache.set("max", 2 ** 63 - 1)
    with pytest.raises(unicache.OutOfRange):
        cache.incr_ext("max", 1, existing=True)


def test_wrong_types(cache):
    with pytest.raises(TypeError, match="delta must be int"):
        cache.incr_ext("k", 1.5)
    with pytest.raises(TypeError, match="bool"):
        cache.incr_ext("k", 1, existing="yes")
    with pytest.raises(TypeError, match="ttl must be"):
        cache.incr_ext("k", 1, ttl="x")
    with pytest.raises(unicache.InvalidArgument, match="ttl must be > 0"):
        cache.incr_ext("k", 1, ttl=-3)
    with pytest.raises(unicache.InvalidArgument, match="empty key"):
        cache.incr_ext("", 1)
    with pytest.raises(OverflowError):
        cache.incr_ext("k", 2 ** 63)
    assert cache.exists("k") is False


def test_atomic_under_threads(cache):
    cache.set("ctr", 0)
    errors = []

    def work():
        try:
            for _ in range(200):
                cache.incr_ext("ctr", 1, existing=True)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.get("ctr") == 800
