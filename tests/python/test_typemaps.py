"""Every SWIG typemap, with the types it takes and the ones it refuses
(exact exception classes), on every backend."""
import array
import datetime
import math
import time

import pytest

import unicache
from unicache import _unicache

KEY_FORMS = [
    ("str", "k-é"),
    ("bytes", "k-é".encode()),
    ("bytearray", bytearray("k-é".encode())),
    ("memoryview", memoryview("k-é".encode())),
]


# ------------------------------------------------------- (const void *, size_t)

@pytest.mark.parametrize("name,key", KEY_FORMS, ids=[n for n, _ in KEY_FORMS])
def test_key_forms_name_the_same_key(raw, name, key):
    raw.set(key, b"v")
    for _, other in KEY_FORMS:
        assert raw.get(other) == b"v"
        assert other in raw
    assert raw.delete("k-é".encode()) is True
    assert raw.get(key) is None


@pytest.mark.parametrize("bad", [1, 1.5, None, ["k"], object(), {"k": 1}])
def test_key_wrong_type_is_type_error(raw, bad):
    for call in (lambda: raw.get(bad), lambda: raw.set(bad, b"v"), lambda: raw.delete(bad),
                 lambda: raw.exists(bad), lambda: raw.incr(bad), lambda: raw.ttl(bad),
                 lambda: raw[bad], lambda: bad in raw, lambda: raw.touch(bad)):
        with pytest.raises(TypeError) as info:
            call()
        assert type(info.value) is TypeError
        assert "key must be str or a bytes-like object, not " + type(bad).__name__ in str(
            info.value)


def test_key_empty_is_invalid_argument(raw):
    with pytest.raises(unicache.InvalidArgument) as info:
        raw.set("", b"v")
    assert type(info.value) is unicache.InvalidArgument
    assert info.value.status == -1
    assert "empty key" in str(info.value)


def test_key_too_long_is_too_big(raw):
    raw.set("k" * 250, b"ok")  # long, but fine
    with pytest.raises(unicache.TooBig) as info:
        raw.set("k" * (_unicache.KEY_MAX + 1), b"v")
    assert info.value.status == -6
    assert "65537" in str(info.value)


def test_key_binary_bytes_and_surrogate_escapes(raw, backend):
    key = b"\xff\x00 k\r\n"
    raw.set(key, b"v")
    assert raw.get(key) == b"v"
    # keys() returns str; non-UTF-8 bytes come back as surrogate escapes,
    # and that str names the same key.
    if backend != "memcached":
        listed = [k for k in raw.keys() if k.startswith("\udcff")]
        assert listed == ["\udcff\x00 k\r\n"]
        assert raw.get(listed[0]) == b"v"
    assert raw.get("\udcff\x00 k\r\n") == b"v"


def test_key_lone_surrogate_that_is_not_an_escape(raw):
    with pytest.raises(UnicodeEncodeError):
        raw.get("\ud800")


def test_key_noncontiguous_buffer_is_refused(raw):
    view = memoryview(b"abcdef")[::2]
    with pytest.raises(BufferError):
        raw.get(view)


def test_key_buffer_of_other_item_types(raw):
    raw.set(array.array("b", b"arr"), b"v")
    assert raw.get(b"arr") == b"v"


# ------------------------------------------------------------------ values

@pytest.mark.parametrize("value", [b"\x00\xffbin", bytearray(b"ba"), memoryview(b"mv"),
                                   "text-é", b""])
def test_raw_values(raw, value):
    raw.set("k", value)
    got = raw.get("k")
    assert type(got) is bytes
    expected = value.encode() if isinstance(value, str) else bytes(value)
    assert got == expected


@pytest.mark.parametrize("bad", [1, None, 2.5, ["x"]])
def test_raw_value_wrong_type(raw, bad):
    with pytest.raises(TypeError) as info:
        raw.set("k", bad)
    assert type(info.value) is TypeError
    assert "value must be str or a bytes-like object" in str(info.value)


def test_value_with_lone_surrogate_is_refused(raw):
    with pytest.raises(UnicodeEncodeError):
        raw.set("k", "\udcff")  # values are strict UTF-8


def test_big_binary_value_round_trips(raw):
    value = bytes(range(256)) * 2048  # 512 KiB (memcached's items stop at 1 MiB)
    raw.set("big", value)
    assert raw.get("big") == value


# ---------------------------------------------------- cache_buf out-params

def test_get_into_fills_a_writable_buffer(raw):
    raw.set("k", b"twelve bytes")
    buf = bytearray(b"#" * 16)
    assert raw.get_into("k", buf) == 12
    assert bytes(buf) == b"twelve bytes####"
    exact = bytearray(12)
    assert raw.get_into("k", memoryview(exact)) == 12
    assert bytes(exact) == b"twelve bytes"
    short = bytearray(b"#" * 11)
    with pytest.raises(unicache.TooBig) as info:
        raw.get_into("k", short)
    assert "12 bytes" in str(info.value)
    assert bytes(short) == b"#" * 11
    assert raw.get_into("missing", buf) is None
    raw.set("empty", b"")
    assert raw.get_into("empty", bytearray()) == 0
    with pytest.raises(TypeError):
        raw.get_into("k", b"read-only bytes")
    with pytest.raises(TypeError):
        raw.get_into("k", None)


def test_out_buffers_are_bytes_and_none_on_miss(raw):
    assert raw.get("missing") is None
    assert raw.get("missing", b"dflt") == b"dflt"
    raw.set("k", b"")
    assert raw.get("k", b"dflt") == b""  # an empty value is a value
    assert raw._get_raw("k") == b""


def test_get_many_out_array(raw):
    raw.set("a", b"1")
    raw.set("c", b"3")
    assert raw._get_many(["a", "b", "c"]) == [b"1", None, b"3"]
    assert raw._get_many([]) == []


def test_stats_and_info_are_str(cache):
    assert isinstance(cache._stats_json(), str)
    assert isinstance(cache.info(), str)


# --------------------------------------------------------- cache_slice lists

@pytest.mark.parametrize("make", [list, tuple, iter, lambda ks: dict.fromkeys(ks)],
                         ids=["list", "tuple", "iterator", "dict"])
def test_key_lists_from_iterables(raw, make):
    raw.set_many({"a": b"1", "b": b"2"})
    assert raw.get_many(make(["a", "b", "zz"])) == {"a": b"1", "b": b"2"}
    assert raw.delete_many(make(["a", "zz"])) == 1


def test_key_list_wrong_types(raw):
    with pytest.raises(TypeError) as info:
        raw._get_many("abc")
    assert "not a single str" in str(info.value)
    with pytest.raises(TypeError) as info:
        raw.delete_many(5)
    assert type(info.value) is TypeError
    with pytest.raises(TypeError) as info:
        raw.delete_many(["a", 5])
    assert "keys[1] must be str or a bytes-like object, not int" in str(info.value)
    with pytest.raises(TypeError):
        raw._invalidate_tags([None])
    with pytest.raises(TypeError):
        raw._set_many(["a"], [1])


def test_set_many_needs_as_many_values_as_keys(raw):
    with pytest.raises(unicache.InvalidArgument) as info:
        raw._set_many(["a", "b"], [b"1"])
    assert "as many values as keys" in str(info.value)


def test_empty_key_in_a_list(raw):
    with pytest.raises(unicache.InvalidArgument):
        raw.set_many({"": b"x"})


# --------------------------------------------------------------------- TTL

@pytest.mark.parametrize("ttl", [1, 2.5, datetime.timedelta(seconds=3), None, unicache.FOREVER,
                                 10 ** 9])
def test_ttl_forms(cache, ttl):
    cache.set("k", 1, ttl=ttl)
    assert cache.get("k") == 1
    remaining = cache.ttl("k")
    if ttl is None or ttl is unicache.FOREVER:
        assert remaining == math.inf  # no default_ttl: never expires
    else:
        seconds = ttl.total_seconds() if hasattr(ttl, "total_seconds") else ttl
        assert 0 < remaining <= seconds


@pytest.mark.parametrize("bad", [0, -1, -0.5, float("nan"), float("-inf"), 1e13])
def test_ttl_bad_values(cache, bad):
    with pytest.raises(unicache.InvalidArgument) as info:
        cache.set("k", 1, ttl=bad)
    assert type(info.value) is unicache.InvalidArgument
    assert "ttl" in str(info.value)
    assert cache.get("k") is None


@pytest.mark.parametrize("bad", ["5", True, [1], object()])
def test_ttl_wrong_types(cache, bad):
    with pytest.raises(TypeError) as info:
        cache.set("k", 1, ttl=bad)
    assert type(info.value) is TypeError
    assert "ttl must be" in str(info.value)


def test_tiny_ttl_rounds_up_not_to_forever(cache):
    cache.set("k", 1, ttl=0.0001)  # 0.1 ms -> 1 ms, never 0 ("no expiry")
    time.sleep(0.05)
    assert cache.get("k") is None


def test_default_ttl_argument(make_cache):
    c = make_cache(default_ttl=100)
    c.set("k", 1)
    assert 99 < c.ttl("k") <= 100
    c.set("f", 1, ttl=unicache.FOREVER)
    assert c.ttl("f") == math.inf


# --------------------------------------------------------- integers, uri

def test_delta_typemap(cache):
    assert cache.incr("n") == 1
    assert cache.incr("n", 41) == 42
    assert cache.decr("n", delta=2) == 40
    with pytest.raises(TypeError):
        cache.incr("n", 1.5)
    with pytest.raises(TypeError):
        cache.incr("n", "1")
    with pytest.raises(OverflowError) as info:
        cache.incr("n", 2 ** 63)
    assert type(info.value) is OverflowError


def test_limit_typemap(cache, backend):
    if backend == "memcached":
        return  # keys() is NotSupported there; see test_cache
    for i in range(5):
        cache.set("k%d" % i, i)
    assert len(cache.keys("k*", 2)) == 2
    with pytest.raises(OverflowError):
        cache.keys("*", -1)
    with pytest.raises(TypeError):
        cache.keys("*", "2")


def test_uri_typemap(uri):
    with pytest.raises(TypeError) as info:
        unicache.Cache(5)
    assert "uri must be str or None, not int" in str(info.value)
    with pytest.raises(TypeError):
        unicache.Cache(uri.encode())
    with pytest.raises(unicache.InvalidArgument) as info:
        unicache.Cache("memory://\0?max_items=1")
    assert "NUL" in str(info.value)
    with pytest.raises(unicache.InvalidArgument) as info:
        unicache.Cache("nosuch://x")
    assert "nosuch" in str(info.value)


def test_prefix_typemap(uri, backend):
    with unicache.Cache(uri, prefix=b"pre:", serializer="raw") as a, \
            unicache.Cache(uri, prefix="pre:", serializer="raw") as same, \
            unicache.Cache(uri, serializer="raw") as b:
        a.set("k", b"v")
        assert a.get("k") == b"v"
        if backend != "memory":  # two memory:// handles are two stores
            assert same.get("k") == b"v"  # str and bytes prefixes agree
        if backend != "memory":  # the root handle sees the stored key as is
            assert b.get("pre:|k") == b"v"
        a.clear()
    with pytest.raises(TypeError):
        unicache.Cache(uri, prefix=5)


# ------------------------------------------------------ statuses -> errors

def test_error_classes():
    pairs = [
        (unicache.InvalidArgument, ValueError, -1),
        (unicache.CacheMemoryError, MemoryError, -2),
        (unicache.CacheUnavailable, ConnectionError, -3),
        (unicache.CacheTimeout, TimeoutError, -4),
        (unicache.NotSupported, None, -5),
        (unicache.TooBig, ValueError, -6),
        (unicache.NotANumber, ValueError, -7),
        (unicache.CacheIOError, OSError, -8),
        (unicache.CorruptStore, None, -9),
        (unicache.StoreVersionError, None, -10),
        (unicache.AuthenticationFailed, PermissionError, -11),
        (unicache.OutOfRange, OverflowError, -12),
        (unicache.InternalError, None, -13),
    ]
    for cls, builtin, status in pairs:
        assert issubclass(cls, unicache.CacheError)
        assert cls.status == status
        assert cls.__module__ == "unicache"
        if builtin is not None:
            assert issubclass(cls, builtin)
    assert issubclass(unicache.CacheError, Exception)


def test_not_a_number(cache):
    cache.set("s", "text")
    with pytest.raises(unicache.NotANumber) as info:
        cache.incr("s")
    assert info.value.status == -7
    assert "not a number" in str(info.value)


def test_out_of_range(cache):
    cache.set("big", 2 ** 63 - 1)
    with pytest.raises(unicache.OutOfRange):
        cache.incr("big")
    with pytest.raises(unicache.OutOfRange):
        cache.decr("x", -2 ** 63)


def test_closed_cache_raises_invalid_argument(make_cache):
    c = make_cache()
    c.close()
    c.close()  # twice is fine
    assert c.closed
    for call in (lambda: c.get("k"), lambda: c.set("k", 1), lambda: c["k"],
                 lambda: "k" in c, lambda: c.stats()):
        with pytest.raises(unicache.InvalidArgument) as info:
            call()
        assert "closed" in str(info.value)


def test_unreachable_server_is_unavailable():
    # A port nobody listens on: open or the first call must say so.
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for uri in ("redis://127.0.0.1:%d/0" % port, "memcached://127.0.0.1:%d" % port):
        try:
            c = unicache.Cache(uri)
        except unicache.NotSupported:
            continue  # that backend is not built in
        except unicache.CacheUnavailable as e:
            assert str(port) in str(e)
            continue
        with c, pytest.raises(unicache.CacheUnavailable):
            c.get("k")


def test_handle_without_init_is_closed():
    class Lazy(unicache.Cache):
        def __init__(self):  # forgets super().__init__
            pass

    with pytest.raises(unicache.InvalidArgument):
        Lazy().get("k")
