"""unicache.contrib.flask.UnicacheCache in a real Flask app with
Flask-Caching, configured by CACHE_TYPE/CACHE_UNICACHE_URL, on every
backend: Flask-Caching's semantics (timeout 0 never expires), its decorators,
CACHE_DEFAULT_TIMEOUT and CACHE_KEY_PREFIX."""
import pickle
import time

import pytest
from flask import Flask
from flask_caching import Cache

import unicache
from unicache.contrib.flask import UnicacheCache


class Unpicklable:
    def __getstate__(self):
        raise pickle.PickleError()


def make_app(url, **config):
    app = Flask(__name__)
    app.config.update(CACHE_TYPE="unicache.contrib.flask.UnicacheCache",
                      CACHE_UNICACHE_URL=url, **config)
    cache = Cache(app)
    return app, cache


@pytest.fixture
def app_cache(store_uri):
    app, cache = make_app(store_uri(), CACHE_KEY_PREFIX="app1:")
    with app.app_context():
        yield app, cache
        cache.clear()


def test_the_configured_backend_is_ours(app_cache):
    app, cache = app_cache
    assert isinstance(cache.cache, UnicacheCache)


def test_get_set_add_delete(app_cache):
    _, cache = app_cache
    assert cache.get("missing") is None
    assert cache.set("k", {"a": [1, 2]}) is True
    assert cache.get("k") == {"a": [1, 2]}
    assert cache.add("k", "other") is False
    assert cache.add("new", "v") is True
    assert cache.get("new") == "v"
    assert cache.has("k") is True
    assert cache.delete("k") is True
    assert cache.delete("k") is False
    assert cache.has("k") is False


def test_many_forms(app_cache):
    _, cache = app_cache
    assert sorted(cache.set_many({"a": 1, "b": "two", "c": None})) == ["a", "b", "c"]
    assert cache.get_many("a", "b", "zz") == [1, "two", None]
    assert cache.get_dict("a", "b") == {"a": 1, "b": "two"}
    assert sorted(cache.delete_many("a", "b", "zz")) == ["a", "b", "zz"]
    assert cache.get_many("a", "b") == [None, None]


def test_timeout_zero_never_expires_and_positive_expires(app_cache, backend):
    _, cache = app_cache
    cache.set("forever", 1, timeout=0)
    cache.set("short", 1, timeout=1)
    assert cache.cache._cache.ttl("forever") == unicache.FOREVER
    time.sleep(2.2 if backend == "memcached" else 1.2)
    assert cache.get("forever") == 1
    assert cache.get("short") is None


def test_negative_timeout_stores_nothing(app_cache):
    _, cache = app_cache
    cache.set("k", "old")
    cache.set("k", "new", timeout=-1)
    assert cache.get("k") is None
    assert cache.add("k", "new", timeout=-1) is True
    assert cache.get("k") is None


def test_default_timeout_comes_from_the_config(store_uri):
    app, cache = make_app(store_uri(), CACHE_DEFAULT_TIMEOUT=123)
    with app.app_context():
        cache.set("k", 1)
        left = cache.cache._cache.ttl("k")
        assert 100 < left <= 123
        cache.clear()
    app, cache = make_app(store_uri(), CACHE_DEFAULT_TIMEOUT=0)
    with app.app_context():
        cache.set("k", 1)
        assert cache.cache._cache.ttl("k") == unicache.FOREVER
        cache.clear()


def test_key_prefix_separates_apps_and_clear_is_per_prefix(store_uri):
    url = store_uri()
    app1, cache1 = make_app(url, CACHE_KEY_PREFIX="one:")
    app2, cache2 = make_app(url, CACHE_KEY_PREFIX="two:")
    with app1.app_context():
        cache1.set("k", 1)
    with app2.app_context():
        assert cache2.get("k") is None
        cache2.set("k", 2)
    with app1.app_context():
        cache1.clear()
        assert cache1.get("k") is None
    with app2.app_context():
        assert cache2.get("k") == 2
        cache2.clear()


def test_inc_dec_start_from_zero_and_keep_integers_readable(app_cache):
    _, cache = app_cache
    assert cache.cache.inc("n") == 1
    assert cache.cache.inc("n", 5) == 6
    assert cache.cache.dec("n", 2) == 4
    cache.set("m", 10)
    assert cache.cache.inc("m") == 11
    assert cache.get("m") == 11
    assert cache.cache._cache.ttl("n") <= 300  # a new counter gets the default timeout


def test_unpicklable_values_raise(app_cache):
    _, cache = app_cache
    with pytest.raises(pickle.PickleError):
        cache.set("k", Unpicklable())


def test_cached_view_and_memoize(app_cache):
    app, cache = app_cache
    calls = {"view": 0, "memo": 0}

    @app.route("/v")
    @cache.cached(timeout=60)
    def view():
        calls["view"] += 1
        return "view %d" % calls["view"]

    @cache.memoize(60)
    def square(x):
        calls["memo"] += 1
        return x * x

    client = app.test_client()
    assert client.get("/v").data == b"view 1"
    assert client.get("/v").data == b"view 1"
    assert calls["view"] == 1
    assert square(3) == 9 and square(3) == 9 and square(4) == 16
    assert calls["memo"] == 2
    cache.delete_memoized(square, 3)
    assert square(3) == 9
    assert calls["memo"] == 3


def test_unknown_arguments_are_refused(store_uri):
    app = Flask(__name__)
    app.config.update(CACHE_TYPE="unicache.contrib.flask.UnicacheCache",
                      CACHE_UNICACHE_URL=store_uri(), CACHE_OPTIONS={"bogus": 1})
    with pytest.raises(TypeError, match="bogus"):
        Cache(app)


def test_bad_url_is_invalid_argument():
    app = Flask(__name__)
    app.config.update(CACHE_TYPE="unicache.contrib.flask.UnicacheCache",
                      CACHE_UNICACHE_URL="memory://?max_items=-5")
    with pytest.raises(unicache.InvalidArgument, match="max_items"):
        Cache(app)
