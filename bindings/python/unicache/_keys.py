"""How a decorated function's arguments become a cache key.

The default key is ``"<module>.<qualname>:"`` followed by ``name=value``
for every parameter in signature order, the arguments bound to the
signature with defaults applied (so ``f(1)``, ``f(x=1)`` and ``f(1, 10)``
with a default ``y=10`` share one key), each value written by key_part():

- None, bool, int, float, str, bytes: repr() (``'x'``, ``b'x'``, ``1.5``);
- an object whose class has ``__cache_key__()``: str() of what it returns;
- tuple ``(a,b)``, list ``[a,b]``: their items' parts joined by commas;
- set, frozenset ``{a,b}``: the items' parts sorted; dict ``{k:v}``: sorted;
- anything else with its own __repr__: repr(); with object's default
  repr (``<Foo object at 0x...>``, which changes every run): TypeError.

A key over 200 characters becomes ``"<module>.<qualname>:#"`` plus the
SHA-256 (hex) of the ``name=value,...`` text. ``key="user:{user_id}"`` is a
str.format template over the bound arguments instead; ``key_builder``
is any callable(*args, **kwargs). These rules are a stored format: keys
written by one version are read by the next (tests/python/
test_decorator_keys.py pins them).

The same rules run in two places: here, for every shape, and in C
(unicache._fastpath.KeyMaker) for the shapes a hit sees most (a signature
without *args/**kwargs, a correct call, arguments of the types in the
first line), which hands everything else back to KeySpec.slow_key.
"""
import hashlib
import inspect

from . import _fastpath
from ._cache import _key_list

MAX_KEY = 200


def key_part(value):
    """The text of one argument value (see the module docstring)."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    method = getattr(type(value), "__cache_key__", None)
    if method is not None:
        return str(method(value))
    if isinstance(value, (tuple, list)):
        inner = ",".join(key_part(v) for v in value)
        return "(%s)" % inner if isinstance(value, tuple) else "[%s]" % inner
    if isinstance(value, (set, frozenset)):
        return "{%s}" % ",".join(sorted(key_part(v) for v in value))
    if isinstance(value, dict):
        items = sorted((key_part(k), key_part(v)) for k, v in value.items())
        return "{%s}" % ",".join("%s:%s" % kv for kv in items)
    if type(value).__repr__ is object.__repr__:
        raise TypeError("cannot build a cache key from a %s: its repr() changes every run; "
                        "give the class a __cache_key__() method or pass key=/key_builder="
                        % type(value).__qualname__)
    return repr(value)


def qualified_name(func):
    return "%s.%s" % (func.__module__, func.__qualname__)


def check_key_args(key, key_builder):
    if key is not None and key_builder is not None:
        raise TypeError("give key= or key_builder=, not both")
    if key is not None and not isinstance(key, str):
        raise TypeError("key must be a str template such as 'user:{user_id}', not %s; "
                        "use key_builder= for a callable" % type(key).__name__)
    if key_builder is not None and not callable(key_builder):
        raise TypeError("key_builder must be callable")


def check_spec(spec, what):
    """Checks a keys/patterns/tags spec at decoration time (see expand)."""
    if spec is None or isinstance(spec, (str, bytes)) or callable(spec):
        return
    try:
        items = list(spec)
    except TypeError:
        raise TypeError("%s must be a str, a callable or a list of those, not %s"
                        % (what, type(spec).__name__)) from None
    for item in items:
        if not isinstance(item, (str, bytes)) and not callable(item):
            raise TypeError("%s must be a str, a callable or a list of those; got a %s in it"
                            % (what, type(item).__name__))


class KeySpec:
    """The key rules for one decorated function.

    maker(*args, **kwargs) is the key of a call (the C fast path, which
    falls back to slow_key); maker.table_key(*args, **kwargs) is the key of
    that call in a memoize table."""

    def __init__(self, func, key=None, key_builder=None):
        check_key_args(key, key_builder)
        self.name = qualified_name(func)
        self.signature = inspect.signature(func)
        self.template = key
        self.builder = key_builder
        self.maker = self._make_maker()

    def _make_maker(self):
        params = list(self.signature.parameters.values())
        kinds = [p.kind for p in params]
        fast = (self.builder is None and inspect.Parameter.VAR_POSITIONAL not in kinds
                and inspect.Parameter.VAR_KEYWORD not in kinds)
        npos = sum(k in (inspect.Parameter.POSITIONAL_ONLY,
                         inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in kinds)
        nposonly = kinds.count(inspect.Parameter.POSITIONAL_ONLY)
        if not fast:  # the C side only calls slow_key
            params, npos, nposonly = [], 0, 0
        names = tuple(p.name for p in params)
        defaults = tuple(_fastpath.NoDefault if p.default is p.empty else p.default
                         for p in params)
        template = self.template.format if self.template is not None else None
        return _fastpath.KeyMaker(self.name + ":", names, defaults, npos, nposonly, fast,
                                  template, key_part, self.slow_key, self._long_key, MAX_KEY)

    def _long_key(self, text):
        return "%s:#%s" % (self.name,
                           hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())

    def arguments(self, args, kwargs):
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.arguments

    def slow_key(self, args, kwargs):
        """The key of any call, in Python (the definition the C side follows)."""
        if self.builder is not None:
            key = self.builder(*args, **kwargs)
            if not isinstance(key, (str, bytes)):
                raise TypeError("key_builder returned %s, not str or bytes"
                                % type(key).__name__)
            return key
        arguments = self.arguments(args, kwargs)
        if self.template is not None:
            return self.template.format(**arguments)
        text = ",".join("%s=%s" % (n, key_part(v)) for n, v in arguments.items())
        key = "%s:%s" % (self.name, text)
        if len(key) > MAX_KEY:
            key = self._long_key(text)
        return key

    def __call__(self, args, kwargs):
        return self.maker(*args, **kwargs)

    def expand(self, spec, args, kwargs):
        """Keys, patterns or tags from a spec: None, a str template, a
        callable(*args, **kwargs) returning one or many, or a list of those."""
        if spec is None:
            return []
        if isinstance(spec, (str, bytes)) or callable(spec):
            spec = [spec]
        out = []
        arguments = None
        for item in spec:
            if isinstance(item, str):
                if "{" in item:
                    if arguments is None:
                        arguments = self.arguments(args, kwargs)
                    item = item.format(**arguments)
                out.append(item)
            elif isinstance(item, bytes):
                out.append(item)
            elif callable(item):
                out.extend(_key_list(item(*args, **kwargs), "the callable's result"))
            else:
                raise TypeError("expected a str template, bytes or a callable, not %s"
                                % type(item).__name__)
        return out
