"""The C library's log lines, sent to logging.getLogger("unicache").

Installed at import at WARNING: connection lost and restored, breakers
opening and closing, servers dropped from a ring, slow operations. Lines
are never formatted by the library for levels that are off, so
set_log_level(logging.INFO) (retries, coherence flushes) or
set_log_level(logging.DEBUG) is needed to see more, not only the logger's
own level. set_log_level(None) turns the library's logging off.
"""
import atexit
import logging

from . import _unicache

logger = logging.getLogger("unicache")

# C level (CACHE_LOG_ERROR 1 .. CACHE_LOG_DEBUG 4) -> logging level.
_TO_PYTHON = {1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}


def _deliver(level, message):
    logger.log(_TO_PYTHON.get(level, logging.WARNING), "%s", message)


def _c_level(level):
    if level is None:
        return 0
    if isinstance(level, str):
        named = logging.getLevelName(level.upper())
        if not isinstance(named, int):
            raise ValueError("unknown log level %r" % (level,))
        level = named
    if isinstance(level, bool) or not isinstance(level, int):
        raise TypeError("level must be a logging level (int or name) or None, not %s"
                        % type(level).__name__)
    if level <= logging.DEBUG:
        return 4
    if level <= logging.INFO:
        return 3
    if level <= logging.WARNING:
        return 2
    if level <= logging.CRITICAL:
        return 1
    return 0  # above CRITICAL: nothing the library says


def set_log_level(level=logging.WARNING):
    """Send the library's lines at level and above to the "unicache" logger.

    level: a logging level (logging.INFO, "DEBUG", ...), or None for off.
    The logger's own level and handlers still apply on top.
    """
    c_level = _c_level(level)
    _unicache._set_log_handler(_deliver if c_level else None, c_level)


set_log_level(logging.WARNING)
# No delivery into an interpreter that is shutting down (the library's own
# threads may still be running then).
atexit.register(_unicache._set_log_handler, None, 0)
