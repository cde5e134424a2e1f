"""The password stays out of everything Python shows of a cache (repr,
str, stats, info) and of exception text, however the URI spells it:
percent-encoded parameter names (pass%77ord, %70assword) reach the server
as the password, so they must be redacted too. Runs once, with the memory
run; it starts its own password-protected redis-server and a memcached."""
import json
import traceback

import pytest

import unicache
from servers import ServerProcess, memcached_server

SECRET = "S3cret-py-4b1d"
SPELLINGS = ["pass%77ord", "%70assword", "%70%61%73%73%77%6F%72%64", "password"]


@pytest.fixture(scope="module")
def redis_port():
    server = ServerProcess(["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save",
                            "", "--appendonly", "no", "--requirepass", SECRET]).start()
    yield server.port
    server.stop()


@pytest.fixture(scope="module")
def memcached_port():
    server = memcached_server().start()
    yield server.port
    server.stop()


def hidden(text):
    return SECRET not in text and "S3cret" not in text and "4b1d" not in text


def opening_forms(port):
    base = "redis://127.0.0.1:%d/0" % port
    forms = []
    for name in SPELLINGS:
        forms.append("%s?%s=%s" % (base, name, SECRET))
        forms.append(json.dumps({"uri": "%s?%s=%s" % (base, name, SECRET)}))
    forms.append(json.dumps({"backend": "redis", "port": port, "password": SECRET}))
    return forms


def test_repr_str_stats_and_info_hide_the_password(redis_port):
    for uri in opening_forms(redis_port):
        with unicache.Cache(uri) as cache:
            cache.set("k", 1)  # the server took the password
            for shown in (repr(cache), str(cache), json.dumps(cache.stats()), cache.info()):
                assert hidden(shown), (uri, shown)
            assert "***" in repr(cache)


def _failures(redis_port, memcached_port):
    redis = "redis://127.0.0.1:%d/0" % redis_port
    mc = "memcached://127.0.0.1:%d" % memcached_port
    for name in SPELLINGS:
        p = "%s=%s" % (name, SECRET)
        yield "%s?%s&=x" % (redis, p)
        yield "%s?=x&%s" % (redis, p)
        yield "%s?%s&bogus=1" % (redis, p)
        yield json.dumps({"uri": "%s?%s&=x" % (redis, p)})
        yield "%s?%s" % (mc, p)
        yield "%s,127.0.0.1:%d?%s" % (mc, memcached_port, p)
    yield "memcached://user:%s@127.0.0.1:%d?bogus=1" % (SECRET, memcached_port)  # a login is valid
    yield json.dumps({"backend": "memcached", "port": memcached_port, "password": SECRET})
    yield "redis://%s@127.0.0.1:%d/0" % (SECRET, redis_port)


def test_exceptions_hide_the_password(redis_port, memcached_port):
    for uri in _failures(redis_port, memcached_port):
        with pytest.raises(unicache.InvalidArgument) as info:
            unicache.Cache(uri)
        text = "".join(traceback.format_exception_only(info.type, info.value))
        for shown in (str(info.value), repr(info.value), text):
            assert shown and hidden(shown), (uri, shown)


def test_a_wrong_password_is_refused_without_being_shown(redis_port):
    with pytest.raises(unicache.CacheError) as info:
        unicache.Cache("redis://127.0.0.1:%d/0?pass%%77ord=%s-wrong" % (redis_port, SECRET))
    assert hidden(str(info.value)) and hidden(repr(info.value))
