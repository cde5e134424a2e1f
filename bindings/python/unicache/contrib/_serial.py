"""The serializer the framework adapters share: integers as ASCII decimal
(so that incr works on what set stored, and other languages read counters),
everything else pickled, as Django's and Flask-Caching's own backends do.

Pickle trusts whoever can write to the cache: unpickling runs code the
writer chose. Point these adapters only at caches that nobody but your
application can write to.
"""
import pickle

_INT64 = range(-(2 ** 63), 2 ** 63)


class IntOrPickle:
    """dumps/loads for unicache.Cache(serializer=...)."""

    __name__ = "int+pickle"

    @staticmethod
    def dumps(value):
        if type(value) is int and value in _INT64:
            return b"%d" % value
        # Protocol 2 and later start with b"\x80": never a digit or '-'.
        return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def loads(data):
        head = data[:1]
        if head.isdigit() or (head == b"-" and data[1:2].isdigit()):
            return int(data)
        return pickle.loads(data)
