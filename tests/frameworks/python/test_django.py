"""unicache.contrib.django.UnicacheCache against Django's own contract: the
cases of Django's tests/cache/tests.py BaseCacheTests (ported: same calls,
same expected results), on every backend, through django.core.cache.caches
with a real settings module, plus the test client on cached views."""
import asyncio
import pickle
import threading
import time
import warnings
import zlib

import django
import pytest
from django.core.cache import CacheKeyWarning, caches
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.test.utils import override_settings

django.setup()

pytestmark = pytest.mark.filterwarnings(
    "ignore::django.core.cache.backends.base.CacheKeyWarning")

import unicache  # noqa: E402
from unicache.contrib.django import UnicacheCache  # noqa: E402


def custom_key_func(key, key_prefix, version):
    "A customized cache key function"
    return "CUSTOM-" + "-".join([key_prefix, str(version), key])


KEY_ERRORS_WITH_MEMCACHED_MSG = (
    "Cache key contains characters that will cause errors if used with memcached: %r")


class Unpicklable:
    def __getstate__(self):
        raise pickle.PickleError()


def f():
    return 42


class C:
    def m(n):
        return 24


def settings_for(location, **params):
    """Django's caches_setting_for_tests: the same aliases on one LOCATION."""
    base = {"BACKEND": "unicache.contrib.django.UnicacheCache", "LOCATION": location}
    base.update(params)
    aliases = {
        "default": {},
        "prefix": {"KEY_PREFIX": "cacheprefix"},
        "v2": {"VERSION": 2},
        "custom_key": {"KEY_FUNCTION": custom_key_func},
        "custom_key2": {"KEY_FUNCTION": "test_django.custom_key_func"},
        "cull": {"OPTIONS": {"MAX_ENTRIES": 30}},
        "zero_cull": {"OPTIONS": {"CULL_FREQUENCY": 0, "MAX_ENTRIES": 30}},
    }
    return {k: dict(base, **v) for k, v in aliases.items()}


@pytest.fixture
def location(store_uri):
    return store_uri()


@pytest.fixture
def cache(location):
    with override_settings(CACHES=settings_for(location)):
        c = caches["default"]
        yield c
        c.clear()


# ------------------------------------------------------------ BaseCacheTests

def test_simple(cache):
    cache.set("key", "value")
    assert cache.get("key") == "value"


def test_default_used_when_none_is_set(cache):
    cache.set("key_default_none", None)
    assert cache.get("key_default_none", default="default") is None


def test_add(cache):
    assert cache.add("addkey1", "value") is True
    assert cache.add("addkey1", "newvalue") is False
    assert cache.get("addkey1") == "value"


def test_prefix(cache):
    cache.set("somekey", "value")
    assert caches["prefix"].has_key("somekey") is False
    caches["prefix"].set("somekey", "value2")
    assert cache.get("somekey") == "value"
    assert caches["prefix"].get("somekey") == "value2"


def test_non_existent(cache):
    assert cache.get("does_not_exist") is None
    assert cache.get("does_not_exist", "bang!") == "bang!"


def test_get_many(cache):
    cache.set_many({"a": "a", "b": "b", "c": "c", "d": "d"})
    assert cache.get_many(["a", "c", "d"]) == {"a": "a", "c": "c", "d": "d"}
    assert cache.get_many(["a", "b", "e"]) == {"a": "a", "b": "b"}
    assert cache.get_many(iter(["a", "b", "e"])) == {"a": "a", "b": "b"}
    cache.set_many({"x": None, "y": 1})
    assert cache.get_many(["x", "y"]) == {"x": None, "y": 1}


def test_delete(cache):
    cache.set_many({"key1": "spam", "key2": "eggs"})
    assert cache.get("key1") == "spam"
    assert cache.delete("key1") is True
    assert cache.get("key1") is None
    assert cache.get("key2") == "eggs"


def test_delete_nonexistent(cache):
    assert cache.delete("nonexistent_key") is False


def test_has_key(cache):
    cache.set("hello1", "goodbye1")
    assert cache.has_key("hello1") is True
    assert cache.has_key("goodbye1") is False
    cache.set("no_expiry", "here", None)
    assert cache.has_key("no_expiry") is True
    cache.set("null", None)
    assert cache.has_key("null") is True


def test_in(cache):
    cache.set("hello2", "goodbye2")
    assert "hello2" in cache
    assert "goodbye2" not in cache
    cache.set("null", None)
    assert "null" in cache


def test_incr(cache):
    cache.set("answer", 41)
    assert cache.incr("answer") == 42
    assert cache.get("answer") == 42
    assert cache.incr("answer", 10) == 52
    assert cache.get("answer") == 52
    assert cache.incr("answer", -10) == 42
    with pytest.raises(ValueError):
        cache.incr("does_not_exist")
    with pytest.raises(ValueError):
        cache.incr("does_not_exist", -1)
    cache.set("null", None)
    with pytest.raises(TypeError):
        cache.incr("null")
    # The missing key was not created by the failed incr.
    assert cache.has_key("does_not_exist") is False


def test_decr(cache):
    cache.set("answer", 43)
    assert cache.decr("answer") == 42
    assert cache.get("answer") == 42
    assert cache.decr("answer", 10) == 32
    assert cache.get("answer") == 32
    assert cache.decr("answer", -10) == 42
    with pytest.raises(ValueError):
        cache.decr("does_not_exist")
    with pytest.raises(ValueError):
        cache.incr("does_not_exist", -1)
    cache.set("null", None)
    with pytest.raises(TypeError):
        cache.decr("null")


def test_incr_stores_decimal_text_other_clients_read(cache, location):
    """Integers are stored as decimal text, so incr works on what set stored
    and a plain unicache client reads the counter."""
    cache.set("n", 5)
    raw = unicache.Cache(caches["default"]._uri, serializer="raw")
    try:
        assert raw.get(cache.make_key("n")) == b"5"
        assert raw.incr(cache.make_key("n")) == 6
    finally:
        raw.close()
    assert cache.get("n") == 6


def test_incr_on_missing_key_is_atomic_under_concurrency(cache):
    """Threads incrementing while another deletes: no incr ever recreates the
    key (the old BaseCache get+set could), and every success is counted."""
    cache.set("ctr", 0, None)
    ok, misses = [0], [0]
    lock = threading.Lock()

    def work():
        for _ in range(100):
            try:
                cache.incr("ctr")
                with lock:
                    ok[0] += 1
            except ValueError:
                with lock:
                    misses[0] += 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert cache.get("ctr") == ok[0] == 400
    cache.delete("ctr")
    for _ in range(20):
        with pytest.raises(ValueError):
            cache.incr("ctr")
    assert cache.has_key("ctr") is False


def test_close(cache):
    assert hasattr(cache, "close")
    cache.close()
    # Django calls close() after every request: the cache keeps working.
    cache.set("after_close", 1)
    assert cache.get("after_close") == 1


def test_data_types(cache):
    tests = {
        "string": "this is a string",
        "int": 42,
        "bool": True,
        "list": [1, 2, 3, 4],
        "tuple": (1, 2, 3, 4),
        "dict": {"A": 1, "B": 2},
        "function": f,
        "class": C,
        "big int": 2 ** 80,
        "negative": -7,
        "float": 1.5,
    }
    for key, value in tests.items():
        cache.set(key, value)
        assert cache.get(key) == value, key
        assert type(cache.get(key)) is type(value), key


def test_expiration(cache, backend):
    cache.set("expire1", "very quickly", 1)
    cache.set("expire2", "very quickly", 1)
    cache.set("expire3", "very quickly", 1)
    time.sleep(2.2 if backend == "memcached" else 1.2)
    assert cache.get("expire1") is None
    assert cache.add("expire2", "newvalue") is True
    assert cache.get("expire2") == "newvalue"
    assert cache.has_key("expire3") is False


def test_touch(cache, backend):
    slack = 1.0 if backend == "memcached" else 0.3
    cache.set("expire1", "very quickly", timeout=1)
    assert cache.touch("expire1", timeout=3) is True
    time.sleep(1 + slack)
    assert cache.has_key("expire1") is True
    time.sleep(2 + slack)
    assert cache.has_key("expire1") is False
    cache.set("expire1", "very quickly", timeout=1)
    assert cache.touch("expire1") is True  # the default, 300 s
    time.sleep(1 + slack)
    assert cache.has_key("expire1") is True
    assert cache.touch("nonexistent") is False


def test_unicode(cache):
    stuff = {
        "ascii": "ascii_value",
        "unicode_ascii": "Iñtërnâtiônàlizætiøn1",
        "Iñtërnâtiônàlizætiøn": "Iñtërnâtiônàlizætiøn2",
        "ascii2": {"x": 1},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheKeyWarning)
        for key, value in stuff.items():
            cache.set(key, value)
            assert cache.get(key) == value
        for key, value in stuff.items():
            assert cache.delete(key) is True
            assert cache.add(key, value) is True
            assert cache.get(key) == value
        for key, value in stuff.items():
            assert cache.delete(key) is True
        cache.set_many(stuff)
        for key, value in stuff.items():
            assert cache.get(key) == value


def test_binary_string(cache):
    value = "value_to_be_compressed"
    compressed_value = zlib.compress(value.encode())
    cache.set("binary1", compressed_value)
    assert cache.get("binary1") == compressed_value
    assert zlib.decompress(cache.get("binary1")).decode() == value
    assert cache.add("binary1-add", compressed_value) is True
    assert cache.get("binary1-add") == compressed_value
    cache.set_many({"binary1-set_many": compressed_value})
    assert cache.get("binary1-set_many") == compressed_value


def test_set_many(cache):
    cache.set_many({"key1": "spam", "key2": "eggs"})
    assert cache.get("key1") == "spam"
    assert cache.get("key2") == "eggs"


def test_set_many_returns_empty_list_on_success(cache):
    assert cache.set_many({"key1": "spam", "key2": "eggs"}) == []


def test_set_many_returns_the_keys_it_could_not_store(cache, backend):
    # Each backend refuses some value size (memcached: 1 MB items).
    too_big = b"x" * (2 << 20) if backend == "memcached" else None
    if too_big is None:
        # A key over unicache's 64 KiB limit is refused on every backend.
        failed = cache.set_many({"ok": 1, "k" * 70000: 2})
        assert failed == ["k" * 70000]
    else:
        failed = cache.set_many({"ok": 1, "big": too_big})
        assert failed == ["big"]
    assert cache.get("ok") == 1


def test_set_many_expiration(cache, backend):
    cache.set_many({"key1": "spam", "key2": "eggs"}, 1)
    time.sleep(2.2 if backend == "memcached" else 1.2)
    assert cache.get("key1") is None
    assert cache.get("key2") is None


def test_set_many_empty_data(cache):
    assert cache.set_many({}) == []


def test_delete_many(cache):
    cache.set_many({"key1": "spam", "key2": "eggs", "key3": "ham"})
    cache.delete_many(["key1", "key2"])
    assert cache.get("key1") is None
    assert cache.get("key2") is None
    assert cache.get("key3") == "ham"


def test_delete_many_no_keys(cache):
    assert cache.delete_many([]) is None


def test_clear(cache):
    cache.set_many({"key1": "spam", "key2": "eggs"})
    cache.clear()
    assert cache.get("key1") is None
    assert cache.get("key2") is None


def test_long_timeout(cache):
    cache.set("key1", "eggs", 60 * 60 * 24 * 30 + 1)
    assert cache.get("key1") == "eggs"
    assert cache.add("key2", "ham", 60 * 60 * 24 * 30 + 1) is True
    assert cache.get("key2") == "ham"
    cache.set_many({"key3": "sausage", "key4": "lobster bisque"}, 60 * 60 * 24 * 30 + 1)
    assert cache.get("key3") == "sausage"
    assert cache.get("key4") == "lobster bisque"


def test_forever_timeout(cache, backend):
    cache.set("key1", "eggs", None)
    assert cache.get("key1") == "eggs"
    assert cache.add("key2", "ham", None) is True
    assert cache.get("key2") == "ham"
    assert cache.add("key1", "new eggs", None) is False
    assert cache.get("key1") == "eggs"
    cache.set_many({"key3": "sausage", "key4": "lobster bisque"}, None)
    assert cache.get("key3") == "sausage"
    assert cache.get("key4") == "lobster bisque"
    cache.set("key5", "belgian fries", timeout=1)
    assert cache.touch("key5", timeout=None) is True
    time.sleep(2.2 if backend == "memcached" else 1.2)
    assert cache.get("key5") == "belgian fries"


def test_zero_timeout(cache):
    cache.set("key1", "eggs", 0)
    assert cache.get("key1") is None
    assert cache.add("key2", "ham", 0) is True
    assert cache.get("key2") is None
    cache.set_many({"key3": "sausage", "key4": "lobster bisque"}, 0)
    assert cache.get("key3") is None
    assert cache.get("key4") is None
    cache.set("key5", "belgian fries", timeout=5)
    assert cache.touch("key5", timeout=0) is True
    assert cache.get("key5") is None


def test_zero_or_negative_timeout_removes_the_old_value(cache):
    cache.set("k", "old")
    cache.set("k", "new", 0)
    assert cache.get("k") is None
    cache.set("k", "old")
    cache.set("k", "new", -5)
    assert cache.get("k") is None
    cache.set("k", "old")
    assert cache.add("k", "new", 0) is False  # present: not added
    assert cache.get("k") == "old"


def test_timeout_setting_zero_and_none(location):
    with override_settings(CACHES={"default": {
            "BACKEND": "unicache.contrib.django.UnicacheCache", "LOCATION": location,
            "TIMEOUT": 0}}):
        caches["default"].set("k", 1)
        assert caches["default"].get("k") is None
    with override_settings(CACHES={"default": {
            "BACKEND": "unicache.contrib.django.UnicacheCache", "LOCATION": location,
            "TIMEOUT": None}}):
        c = caches["default"]
        c.set("k", 1)
        assert c._cache.ttl(c.make_key("k")) == unicache.FOREVER
        c.clear()


def test_float_timeout(cache):
    cache.set("key1", "spam", 100.2)
    assert cache.get("key1") == "spam"


def _perform_cull_test(cull_cache, initial_count, final_count):
    for i in range(1, initial_count):
        cull_cache.set("cull%d" % i, "value", 1000)
    count = sum(1 for i in range(1, initial_count) if cull_cache.has_key("cull%d" % i))
    assert count == final_count


def test_cull(cache, backend):
    if backend == "memcached":
        with pytest.raises(ImproperlyConfigured, match="MAX_ENTRIES"):
            caches["cull"].set("k", 1)
        return
    _perform_cull_test(caches["cull"], 50, 29)


def test_zero_cull(cache, backend):
    if backend == "memcached":
        with pytest.raises(ImproperlyConfigured, match="MAX_ENTRIES"):
            caches["zero_cull"].set("k", 1)
        return
    _perform_cull_test(caches["zero_cull"], 50, 19)


def test_cull_delete_when_store_empty(cache, backend):
    if backend == "memcached":
        return  # no culling there (test_cull checks the error)
    cull_cache = caches["cull"]
    old_max_entries = cull_cache._max_entries
    cull_cache._max_entries = -1
    try:
        cull_cache.set("force_cull_delete", "value", 1000)
        assert cull_cache.has_key("force_cull_delete") is True
    finally:
        cull_cache._max_entries = old_max_entries


def test_no_max_entries_means_no_bound(cache):
    """BaseCache's default of 300 entries does not apply unless asked for."""
    cache.set_many({"k%d" % i: i for i in range(400)})
    assert len(cache.get_many(["k%d" % i for i in range(400)])) == 400


def _perform_invalid_key_test(cache, key, expected_warning, key_func=None):
    def func(key, *args):
        return key

    old_func = cache.key_func
    cache.key_func = key_func or func
    tests = [
        ("add", [key, 1]),
        ("get", [key]),
        ("set", [key, 1]),
        ("incr", [key]),
        ("decr", [key]),
        ("touch", [key]),
        ("delete", [key]),
        ("get_many", [[key, "b"]]),
        ("set_many", [{key: 1, "b": 2}]),
        ("delete_many", [[key, "b"]]),
    ]
    try:
        for operation, args in tests:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                try:
                    getattr(cache, operation)(*args)
                except (ValueError, unicache.CacheError):
                    pass  # incr of a missing key; memcached refusing the key
            relevant = [x for x in w if issubclass(x.category, CacheKeyWarning)]
            assert relevant, operation
            assert str(relevant[0].message) == expected_warning, operation
    finally:
        cache.key_func = old_func


def test_invalid_key_characters(cache):
    key = "key with spaces and 清"
    _perform_invalid_key_test(cache, key, KEY_ERRORS_WITH_MEMCACHED_MSG % key)


def test_invalid_key_length(cache):
    key = ("a" * 250) + "清"
    expected_warning = ("Cache key will cause errors if used with memcached: "
                        "%r (longer than %s)" % (key, 250))
    _perform_invalid_key_test(cache, key, expected_warning)


def test_keys_with_spaces_work_on_every_backend(cache):
    """Django only warns; unicache stores such keys everywhere (memcached
    included: the backend hashes keys memcached would refuse)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheKeyWarning)
        cache.set("key with spaces\n", "v")
        assert cache.get("key with spaces\n") == "v"


def test_cache_versioning_get_set(cache):
    cache.set("answer1", 42)
    assert cache.get("answer1") == 42
    assert cache.get("answer1", version=1) == 42
    assert cache.get("answer1", version=2) is None
    assert caches["v2"].get("answer1") is None
    assert caches["v2"].get("answer1", version=1) == 42
    assert caches["v2"].get("answer1", version=2) is None
    cache.set("answer2", 42, version=2)
    assert cache.get("answer2") is None
    assert cache.get("answer2", version=1) is None
    assert cache.get("answer2", version=2) == 42
    assert caches["v2"].get("answer2") == 42
    assert caches["v2"].get("answer2", version=1) is None
    caches["v2"].set("answer3", 42)
    assert cache.get("answer3") is None
    assert cache.get("answer3", version=2) == 42
    caches["v2"].set("answer4", 42, version=1)
    assert cache.get("answer4") == 42
    assert caches["v2"].get("answer4") is None


def test_cache_versioning_add(cache):
    assert cache.add("answer1", 42, version=2) is True
    assert cache.get("answer1", version=1) is None
    assert cache.get("answer1", version=2) == 42
    assert cache.add("answer1", 37, version=2) is False
    assert cache.get("answer1", version=2) == 42
    assert cache.add("answer1", 37, version=1) is True
    assert cache.get("answer1", version=1) == 37
    assert caches["v2"].add("answer2", 42) is True
    assert cache.get("answer2", version=2) == 42
    assert caches["v2"].add("answer2", 37) is False
    assert caches["v2"].add("answer2", 37, version=1) is True
    assert cache.get("answer2", version=1) == 37


def test_cache_versioning_has_key(cache):
    cache.set("answer1", 42)
    assert cache.has_key("answer1") is True
    assert cache.has_key("answer1", version=1) is True
    assert cache.has_key("answer1", version=2) is False
    assert caches["v2"].has_key("answer1") is False
    assert caches["v2"].has_key("answer1", version=1) is True


def test_cache_versioning_delete(cache):
    cache.set("answer1", 37, version=1)
    cache.set("answer1", 42, version=2)
    assert cache.delete("answer1") is True
    assert cache.get("answer1", version=1) is None
    assert cache.get("answer1", version=2) == 42
    cache.set("answer2", 37, version=1)
    cache.set("answer2", 42, version=2)
    assert cache.delete("answer2", version=2) is True
    assert cache.get("answer2", version=1) == 37
    assert cache.get("answer2", version=2) is None


def test_cache_versioning_incr_decr(cache):
    cache.set("answer1", 37, version=1)
    cache.set("answer1", 42, version=2)
    assert cache.incr("answer1") == 38
    assert cache.get("answer1", version=1) == 38
    assert cache.get("answer1", version=2) == 42
    assert cache.decr("answer1") == 37
    cache.set("answer2", 37, version=1)
    cache.set("answer2", 42, version=2)
    assert cache.incr("answer2", version=2) == 43
    assert cache.get("answer2", version=1) == 37
    assert cache.decr("answer2", version=2) == 42


def test_cache_versioning_get_set_many(cache):
    cache.set_many({"ford1": 37, "arthur1": 42})
    assert cache.get_many(["ford1", "arthur1"]) == {"ford1": 37, "arthur1": 42}
    assert cache.get_many(["ford1", "arthur1"], version=1) == {"ford1": 37, "arthur1": 42}
    assert cache.get_many(["ford1", "arthur1"], version=2) == {}
    assert caches["v2"].get_many(["ford1", "arthur1"]) == {}
    cache.set_many({"ford2": 37, "arthur2": 42}, version=2)
    assert cache.get_many(["ford2", "arthur2"]) == {}
    assert caches["v2"].get_many(["ford2", "arthur2"]) == {"ford2": 37, "arthur2": 42}


def test_incr_version(cache):
    cache.set("answer", 42, version=2)
    assert cache.get("answer") is None
    assert cache.get("answer", version=2) == 42
    assert cache.incr_version("answer", version=2) == 3
    assert cache.get("answer", version=2) is None
    assert cache.get("answer", version=3) == 42
    caches["v2"].set("answer2", 42)
    assert caches["v2"].incr_version("answer2") == 3
    assert caches["v2"].get("answer2") is None
    assert caches["v2"].get("answer2", version=3) == 42
    with pytest.raises(ValueError):
        cache.incr_version("does_not_exist")
    cache.set("null", None)
    assert cache.incr_version("null") == 2


def test_decr_version(cache):
    cache.set("answer", 42, version=2)
    assert cache.decr_version("answer", version=2) == 1
    assert cache.get("answer") == 42
    assert cache.get("answer", version=2) is None
    caches["v2"].set("answer2", 42)
    assert caches["v2"].decr_version("answer2") == 1
    assert caches["v2"].get("answer2", version=1) == 42
    with pytest.raises(ValueError):
        cache.decr_version("does_not_exist", version=2)


def test_custom_key_func(cache):
    cache.set("answer1", 42)
    assert cache.get("answer1") == 42
    assert caches["custom_key"].get("answer1") is None
    assert caches["custom_key2"].get("answer1") is None
    caches["custom_key"].set("answer2", 42)
    assert cache.get("answer2") is None
    assert caches["custom_key"].get("answer2") == 42
    assert caches["custom_key2"].get("answer2") == 42


def test_cache_write_unpicklable_object(cache):
    with pytest.raises(pickle.PickleError):
        cache.set("unpicklable", Unpicklable())
    with pytest.raises(pickle.PickleError):
        cache.add("unpicklable", Unpicklable())
    with pytest.raises(pickle.PickleError):
        cache.set("unpicklable", Unpicklable(), 0)  # even when nothing is stored
    assert cache.has_key("unpicklable") is False


def test_get_or_set(cache):
    assert cache.get("projector") is None
    assert cache.get_or_set("projector", 42) == 42
    assert cache.get("projector") == 42
    assert cache.get_or_set("null", None) is None
    assert cache.get_or_set("null", "default") is None  # None is a value


def test_get_or_set_callable(cache):
    def my_callable():
        return "value"

    assert cache.get_or_set("mykey", my_callable) == "value"
    assert cache.get_or_set("mykey", my_callable()) == "value"


def test_get_or_set_version(cache):
    msg = "get_or_set\\(\\) missing 1 required positional argument: 'default'"
    assert cache.get_or_set("brian", 1979, version=2) == 1979
    with pytest.raises(TypeError, match=msg):
        cache.get_or_set("brian")
    with pytest.raises(TypeError, match=msg):
        cache.get_or_set("brian", version=1)
    assert cache.get("brian", version=1) is None
    assert cache.get_or_set("brian", 42, version=1) == 42
    assert cache.get_or_set("brian", 1979, version=2) == 1979
    assert cache.get("brian", version=3) is None


def test_get_or_set_racing(cache):
    # Another writer stores the key while the default is computed:
    # get_or_set returns its value and does not overwrite it.
    def ours():
        cache.set("key", "theirs")
        return "ours"

    assert cache.get_or_set("key", ours) == "theirs"
    assert cache.get("key") == "theirs"


def test_get_or_set_computes_once_across_threads(cache):
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return "v"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_set("herd", slow)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == ["v"] * 8
    assert len(calls) == 1


def test_get_or_set_with_a_zero_timeout_stores_nothing(cache):
    assert cache.get_or_set("now", lambda: "v", timeout=0) == "v"
    assert cache.get("now") is None


# --------------------------------------------- sharing, configuration, async

def test_caches_with_one_location_share_one_store(location):
    settings = {"a": {"BACKEND": "unicache.contrib.django.UnicacheCache",
                      "LOCATION": location},
                "b": {"BACKEND": "unicache.contrib.django.UnicacheCache",
                      "LOCATION": location}}
    with override_settings(CACHES=settings):
        caches["a"].set("shared", "yes")
        assert caches["b"].get("shared") == "yes"
        # Caches are per thread in Django; the store is not.
        seen = []
        t = threading.Thread(target=lambda: seen.append(caches["b"].get("shared")))
        t.start()
        t.join()
        assert seen == ["yes"]
        caches["a"].clear()


def test_plain_memory_locations_share_by_location():
    """LOCATION "memory://..." without a name becomes a named store: equal
    LOCATIONs share, different ones do not."""
    loc = "memory://?max_items=1000&x-test=%d" % id(object())
    settings = {
        "a": {"BACKEND": "unicache.contrib.django.UnicacheCache", "LOCATION": "memory://"},
        "b": {"BACKEND": "unicache.contrib.django.UnicacheCache", "LOCATION": "memory://"},
        "c": {"BACKEND": "unicache.contrib.django.UnicacheCache",
              "LOCATION": "memory://?max_items=1000"},
        "d": {"BACKEND": "unicache.contrib.django.UnicacheCache",
              "LOCATION": '{"backend":"memory"}'},
        "e": {"BACKEND": "unicache.contrib.django.UnicacheCache",
              "LOCATION": '{"backend":"memory"}'},
    }
    del loc
    with override_settings(CACHES=settings):
        caches["a"].set("k", 1)
        assert caches["b"].get("k") == 1
        assert caches["c"].get("k") is None
        caches["d"].set("k", 2)
        assert caches["e"].get("k") == 2
        assert caches["a"].get("k") == 1
        for alias in "acd":
            caches[alias].clear()


def test_unknown_options_are_improperly_configured(location):
    with override_settings(CACHES={"default": {
            "BACKEND": "unicache.contrib.django.UnicacheCache", "LOCATION": location,
            "OPTIONS": {"SERIALIZER": "json"}}}):
        with pytest.raises(ImproperlyConfigured, match="SERIALIZER"):
            caches["default"]


def test_bad_location_raises_unicache_error():
    with override_settings(CACHES={"default": {
            "BACKEND": "unicache.contrib.django.UnicacheCache",
            "LOCATION": "nosuch://x"}}):
        with pytest.raises(unicache.InvalidArgument, match="nosuch"):
            caches["default"].get("k")


def test_async_methods(cache, backend):
    async def main():
        await cache.aset("a", 1)
        assert await cache.aget("a") == 1
        assert await cache.aadd("a", 2) is False
        assert await cache.aincr("a", 5) == 6
        assert await cache.adecr("a") == 5
        with pytest.raises(ValueError):
            await cache.aincr("missing")
        assert await cache.ahas_key("a") is True
        assert await cache.aset_many({"b": "x", "c": "y"}) == []
        assert await cache.aget_many(["a", "b", "c", "d"]) == {"a": 5, "b": "x", "c": "y"}
        assert await cache.atouch("b", 100) is True
        await cache.adelete_many(["b", "c"])
        assert await cache.aget_or_set("c", "z") == "z"
        assert await cache.aincr_version("c") == 2
        assert await cache.adecr_version("c", version=2) == 1
        assert await cache.adelete("a") is True
        await cache.aclear()
        assert await cache.aget("c") is None
        await cache.aclose()

    asyncio.run(main())


def test_async_methods_do_not_block_the_loop_on_network_backends(cache, backend, server):
    if server is None:
        return  # memory answers inline; SQLite is covered by the aio tests
    cache.set("k", "v")
    server.pause()

    async def main():
        ticks = 0
        task = asyncio.ensure_future(cache.aget("k"))
        while not task.done() and ticks < 5:
            await asyncio.sleep(0.02)
            ticks += 1
        server.resume()
        assert await task == "v"
        return ticks

    try:
        assert asyncio.run(main()) == 5  # the loop kept running while get waited
    finally:
        server.resume()


# ------------------------------------------------------------ test client

def test_views_through_the_test_client(location):
    import django_settings
    settings = {"default": {"BACKEND": "unicache.contrib.django.UnicacheCache",
                            "LOCATION": location}}
    with override_settings(CACHES=settings):
        client = Client()
        assert [client.get("/counter").content for _ in range(3)] == [b"1", b"2", b"3"]
        django_settings.calls["page"] = 0
        first = client.get("/page")
        second = client.get("/page")
        assert first.status_code == second.status_code == 200
        assert first.content == second.content == b"page 1"  # served from the cache
        assert django_settings.calls["page"] == 1
        caches["default"].clear()
        assert client.get("/page").content == b"page 2"
        caches["default"].clear()
