"""Decorator keys are stable: the keys below were computed by the
decorators before their key building moved to C (the Signature.bind
version), and every later version must compute the same text for the same
arguments, so entries written by one release are found by the next (and by
other processes running another version against the same server)."""
import math

import pytest

import unicache

CACHE = unicache.Cache("memory://")


class Keyed:
    def __init__(self, n):
        self.n = n

    def __cache_key__(self):
        return "K<%s>" % self.n


class Reprs:
    def __repr__(self):
        return "R()"


class Opaque:
    pass


class Str(str):
    pass


class Int(int):
    pass


def pos(a, b, c=3):
    pass


def kwonly(a, *, b=2, c=None):
    pass


def posonly(a, b=2, /, c=3):
    pass


def star(a, *rest):
    pass


def starkw(a, **opts):
    pass


def both(a, b=1, *rest, k=0, **opts):
    pass


def none():
    pass


def one(x):
    pass


class Repo:
    def __cache_key__(self):
        return "repo"

    def find(self, item, depth=1):
        pass

    @classmethod
    def kind(cls, x):
        pass

    @staticmethod
    def double(x):
        pass


FUNCTIONS = [pos, kwonly, posonly, star, starkw, both, none, one]

# (function name, args, kwargs, the key the Signature.bind version built)
KEYS = [
    ('pos', (1, 2,), {},
     'test_decorator_keys.pos:a=1,b=2,c=3'),
    ('pos', (1,), {'b': 2},
     'test_decorator_keys.pos:a=1,b=2,c=3'),
    ('pos', (), {'a': 1, 'b': 2, 'c': 4},
     'test_decorator_keys.pos:a=1,b=2,c=4'),
    ('pos', (1, 2, 3,), {},
     'test_decorator_keys.pos:a=1,b=2,c=3'),
    ('pos', ('x', b'y',), {},
     "test_decorator_keys.pos:a='x',b=b'y',c=3"),
    ('pos', (None, True,), {'c': False},
     'test_decorator_keys.pos:a=None,b=True,c=False'),
    ('pos', (1.5, -0.0,), {'c': float('inf')},
     'test_decorator_keys.pos:a=1.5,b=-0.0,c=inf'),
    ('pos', (float('nan'), 1000000000000000000000000000000,), {},
     'test_decorator_keys.pos:a=nan,b=1000000000000000000000000000000,c=3'),
    ('pos', ('é☃\'"', 'a\nb',), {},
     'test_decorator_keys.pos:a=\'é☃\\\'"\',b=\'a\\nb\',c=3'),
    ('pos', ('\udc80',), {'b': b'\x00\xff'},
     "test_decorator_keys.pos:a='\\udc80',b=b'\\x00\\xff',c=3"),
    ('pos', ((1, (2, 3,),), [1, [2]],), {},
     'test_decorator_keys.pos:a=(1,(2,3)),b=[1,[2]],c=3'),
    ('pos', ({'b': 1, 'a': [1, (2,)]}, {1, 2, 3},), {},
     "test_decorator_keys.pos:a={'a':[1,(2)],'b':1},b={1,2,3},c=3"),
    ('pos', (frozenset({'b', 'a'}), (),), {'c': []},
     "test_decorator_keys.pos:a={'a','b'},b=(),c=[]"),
    ('pos', (Keyed(1), [Keyed(2)],), {'c': Reprs()},
     'test_decorator_keys.pos:a=K<1>,b=[K<2>],c=R()'),
    ('pos', ({}, set(),), {'c': (1,)},
     'test_decorator_keys.pos:a={},b={},c=(1)'),
    ('pos', (True, 1,), {'c': 1.0},
     'test_decorator_keys.pos:a=True,b=1,c=1.0'),
    ('pos', (Str('sub'), Int(7),), {'c': -1},
     "test_decorator_keys.pos:a='sub',b=7,c=-1"),
    ('pos', (1, 2,), {'c': 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'},
     "test_decorator_keys.pos:a=1,b=2,c='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"),
    ('kwonly', (1,), {},
     'test_decorator_keys.kwonly:a=1,b=2,c=None'),
    ('kwonly', (1,), {'c': 'z', 'b': 5},
     "test_decorator_keys.kwonly:a=1,b=5,c='z'"),
    ('kwonly', (), {'a': 0},
     'test_decorator_keys.kwonly:a=0,b=2,c=None'),
    ('posonly', (1,), {},
     'test_decorator_keys.posonly:a=1,b=2,c=3'),
    ('posonly', (1, 2,), {'c': 9},
     'test_decorator_keys.posonly:a=1,b=2,c=9'),
    ('posonly', (1,), {'c': 9},
     'test_decorator_keys.posonly:a=1,b=2,c=9'),
    ('star', (1,), {},
     'test_decorator_keys.star:a=1,rest=()'),
    ('star', (1, 2, 'x',), {},
     "test_decorator_keys.star:a=1,rest=(2,'x')"),
    ('starkw', (1,), {},
     'test_decorator_keys.starkw:a=1,opts={}'),
    ('starkw', (1,), {'z': 1, 'y': [2]},
     "test_decorator_keys.starkw:a=1,opts={'y':[2],'z':1}"),
    ('both', (1, 2, 3, 4,), {'k': 5, 'q': 6},
     "test_decorator_keys.both:a=1,b=2,rest=(3,4),k=5,opts={'q':6}"),
    ('both', (1,), {},
     'test_decorator_keys.both:a=1,b=1,rest=(),k=0,opts={}'),
    ('none', (), {},
     'test_decorator_keys.none:'),
    ('one', ('x' * 300,), {},
     'test_decorator_keys.one:#67e56c6657402d1b90950ff7bdf6aa330ca0f5acaa45c15a17c40bd00a83eb17'),
    ('one', ('y' * 180,), {},
     'test_decorator_keys.one:#d96498a8393d008d61d1c8fb599df942542e7eac2ccba1c4e1bf9bc248218a2d'),
    ('one', ('y' * 181,), {},
     'test_decorator_keys.one:#4bab67ea7f08310d060947e8e16ceb7d8655ceca655e39b7d8896d2a191fde50'),
    ('one', (list(range(100)),), {},
     'test_decorator_keys.one:#1e6440cb0154ec10233022583a27bc20871f93e45d90b7138d0fd17b25bab21f'),
    ('one', (-5,), {},
     'test_decorator_keys.one:x=-5'),
    ('one', (9223372036854775808,), {},
     'test_decorator_keys.one:x=9223372036854775808'),
    ('one', (bytearray(b'ab'),), {},
     "test_decorator_keys.one:x=bytearray(b'ab')"),
    ('one', ((1+2j),), {},
     'test_decorator_keys.one:x=(1+2j)'),
    ('one', (3.141592653589793,), {},
     'test_decorator_keys.one:x=3.141592653589793'),
    ('one', (range(0, 3),), {},
     'test_decorator_keys.one:x=range(0, 3)'),
    ('one', ('',), {},
     "test_decorator_keys.one:x=''"),
    ('one', (b'',), {},
     "test_decorator_keys.one:x=b''"),
    ('one', ('\udc80' * 100,), {},
     'test_decorator_keys.one:#46656e63f636d6aa2b7580f737154fd4619de8869bc86905fd4342b08232ecee'),
    ('one', (Keyed('longlonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglonglong'),), {},
     'test_decorator_keys.one:#24478006ed186b9f017edc68399d7ed491d5045de93454a363abd6919bead922'),
    ('one', (Keyed(None),), {},
     'test_decorator_keys.one:x=K<None>'),
    ('one', ('é' * 90,), {},
     "test_decorator_keys.one:x='éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé'"),
    ('Repo.find', (Repo(), 1,), {},
     'test_decorator_keys.Repo.find:self=repo,item=1,depth=1'),
    ('Repo.find', (Repo(),), {'depth': 2, 'item': 'i'},
     "test_decorator_keys.Repo.find:self=repo,item='i',depth=2"),

]

# (function name, args, kwargs): calls that raise TypeError
REFUSED = [
    ("pos", (1,), {}),                      # b missing
    ("pos", (1, 2, 3, 4), {}),              # too many
    ("pos", (1, 2), {"d": 4}),              # unknown name
    ("pos", (1, 2), {"a": 4}),              # a given twice
    ("posonly", (), {"a": 1}),              # positional-only by name
    ("kwonly", (1, 2), {}),                 # keyword-only by position
    ("one", (Opaque(),), {}),               # no stable repr
    ("one", ([Opaque()],), {}),
    ("one", ({1: Opaque()},), {}),
    ("none", (1,), {}),
]


def decorated(decorator):
    out = {f.__name__: decorator(f) for f in FUNCTIONS}
    out["Repo.find"] = decorator(Repo.find)
    return out


@pytest.mark.parametrize("decorator", ["cached", "memoize"])
def test_keys_are_unchanged(decorator):
    make = unicache.cached(cache=CACHE) if decorator == "cached" else unicache.memoize()
    functions = decorated(make)
    for name, args, kwargs, expected in KEYS:
        assert functions[name].cache_key(*args, **kwargs) == expected, (name, args, kwargs)


@pytest.mark.parametrize("decorator", ["cached", "memoize"])
def test_refused_arguments(decorator):
    make = unicache.cached(cache=CACHE) if decorator == "cached" else unicache.memoize()
    functions = decorated(make)
    for name, args, kwargs in REFUSED:
        with pytest.raises(TypeError):
            functions[name].cache_key(*args, **kwargs)
        with pytest.raises(TypeError):
            functions[name](*args, **kwargs)


def test_method_keys_and_templates():
    class Box:
        def __cache_key__(self):
            return "box"

        @unicache.cached(cache=CACHE)
        def find(self, item, depth=1):
            return item

        @unicache.cached(cache=CACHE)
        @classmethod
        def kind(cls, x):
            return x

        @unicache.cached(cache=CACHE, key="item:{item}:{depth}")
        def templated(self, item, depth=1):
            return item

    box = Box()
    prefix = "test_decorator_keys.test_method_keys_and_templates.<locals>.Box."
    assert Box.find.cache_key(box, 5) == prefix + "find:self=box,item=5,depth=1"
    assert box.find(5) == 5 and CACHE.get(prefix + "find:self=box,item=5,depth=1") == 5
    assert box.find(item=6, depth=2) == 6
    assert CACHE.get(prefix + "find:self=box,item=6,depth=2") == 6
    assert Box.kind(3) == 3 and box.kind(3) == 3
    assert Box.kind.cache_key(Box, 4) == prefix + "kind:cls=%r,x=4" % (Box,)
    assert box.templated(7) == 7 and CACHE.get("item:7:1") == 7
    assert box.templated(depth=3, item=8) == 8 and CACHE.get("item:8:3") == 8
    assert Box.templated.cache_key(box, 9) == "item:9:1"
