"""What the decorators accept: callables that can be cached, method
wrappers, TTL values."""
import inspect

from ._keys import qualified_name


def split_method_wrapper(func):
    """(function, rewrap) for classmethod/staticmethod objects."""
    if isinstance(func, (classmethod, staticmethod)):
        return func.__func__, type(func)
    return func, None


def check_plain_function(func, decorator):
    if not callable(func):
        raise TypeError("@%s decorates a function, not %s" % (decorator, type(func).__name__))
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        raise TypeError("@%s cannot cache a generator function (%s): its result is consumed "
                        "once" % (decorator, qualified_name(func)))


def is_ttl(value):
    return value is None or isinstance(value, (int, float)) or hasattr(value, "total_seconds")
