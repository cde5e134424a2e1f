"""The C library's log lines reach logging.getLogger("unicache"), at
WARNING by default, from calls that released the GIL too; set_log_level
changes what the library formats; no line holds the password or a value.
Runs once, with the memory run; it starts its own redis-server."""
import logging
import threading

import pytest

import unicache
from servers import ServerProcess

SECRET = "Pw-py-5e2a"
VALUE = "VALUE-py-90c1"


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self.mu = threading.Lock()

    def emit(self, record):
        with self.mu:
            self.records.append(record)

    def with_text(self, part):
        with self.mu:
            return [r for r in self.records if part in r.getMessage()]

    def assert_clean(self):
        with self.mu:
            for r in self.records:
                text = r.getMessage()
                assert SECRET not in text and "5e2a" not in text, text
                assert VALUE not in text, text


@pytest.fixture
def lines():
    handler = Lines()
    logger = logging.getLogger("unicache")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)
    unicache.set_log_level(logging.WARNING)


@pytest.fixture
def redis():
    server = ServerProcess(["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save",
                            "", "--appendonly", "no", "--requirepass", SECRET]).start()
    yield server
    server.stop()


def uri(server, params=""):
    return "redis://:%s@127.0.0.1:%d/0?%s" % (SECRET, server.port, params)


def test_warnings_by_default_without_the_password(lines, redis):
    cache = unicache.Cache(uri(redis, "max_retries=1&retry_delay_ms=5"))
    cache.set("k", VALUE)
    redis.stop()
    with pytest.raises(unicache.CacheUnavailable):
        cache.get("k")
    lost = lines.with_text("connection lost")
    assert len(lost) == 1, [r.getMessage() for r in lines.records]
    assert lost[0].levelno == logging.WARNING
    assert lost[0].name == "unicache"
    assert "redis 127.0.0.1:%d" % redis.port in lost[0].getMessage()
    # Retries are INFO: not even formatted at the default level.
    assert lines.with_text("retrying") == []
    redis.start()
    cache.set("k", VALUE)
    assert len(lines.with_text("connection restored")) == 1
    cache.close()
    lines.assert_clean()


def test_info_level_shows_retries(lines, redis):
    unicache.set_log_level(logging.INFO)
    cache = unicache.Cache(uri(redis, "max_retries=2&retry_delay_ms=5"))
    redis.stop()
    with pytest.raises(unicache.CacheUnavailable):
        cache.get("k")
    retries = lines.with_text("retrying in")
    assert [r.levelno for r in retries] == [logging.INFO, logging.INFO]
    cache.close()
    lines.assert_clean()


def test_off_and_level_names(lines, redis):
    unicache.set_log_level(None)
    cache = unicache.Cache(uri(redis, "max_retries=0"))
    redis.stop()
    with pytest.raises(unicache.CacheUnavailable):
        cache.get("k")
    assert lines.records == []
    unicache.set_log_level("warning")
    with pytest.raises(unicache.CacheUnavailable):
        cache.get("k")  # still down: no new "lost" line, the link was already down
    cache.close()


def test_bad_levels():
    with pytest.raises(ValueError):
        unicache.set_log_level("loud")
    with pytest.raises(TypeError):
        unicache.set_log_level(2.5)
    with pytest.raises(unicache.InvalidArgument):
        unicache._unicache._set_log_handler(42, 2)
    with pytest.raises(unicache.InvalidArgument):
        unicache._unicache._set_log_handler(print, 9)


def test_lines_from_many_threads_without_the_gil(lines, redis):
    unicache.set_log_level(logging.INFO)
    cache = unicache.Cache(uri(redis, "max_retries=1&retry_delay_ms=1"))
    redis.stop()
    errors = []

    def work():
        for _ in range(20):
            try:
                cache.get("k")
            except unicache.CacheUnavailable:
                pass
            except Exception as e:  # pragma: no cover - the assertion below shows it
                errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert len(lines.with_text("retrying in")) == 80
    cache.close()
    lines.assert_clean()


def test_a_raising_handler_does_not_break_the_call(redis, monkeypatch):
    seen = []
    monkeypatch.setattr("sys.unraisablehook", lambda u: seen.append(u.exc_value))

    def bad(level, message):
        raise RuntimeError("handler failed")

    unicache._unicache._set_log_handler(bad, 2)
    try:
        cache = unicache.Cache(uri(redis, "max_retries=0"))
        redis.stop()
        with pytest.raises(unicache.CacheUnavailable):
            cache.get("k")
        cache.close()
    finally:
        unicache.set_log_level(logging.WARNING)
    assert [str(e) for e in seen] == ["handler failed"]
