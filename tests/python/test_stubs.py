"""The .pyi stubs describe the runtime API: same public names, and for
functions written in Python, the same parameters (names, kinds, defaults)."""
import ast
import inspect
import pathlib

import pytest

import unicache
import unicache.asgi
import unicache.decorators
import unicache.wsgi

PACKAGE = pathlib.Path(unicache.__file__).parent
STUB_ONLY = {"Key", "TTL", "Serializer", "SerializerName", "_D", "_F", "_T", "CacheArg",
             "KeySpec", "CachedFunction", "WSGIApplication", "ASGIApplication", "Scope",
             "Message", "Receive", "Send"}


# SWIG's -builtin base type gives every wrapped object these (ownership
# plumbing of the generated module); they are not part of unicache's API.
SWIG_OBJECT_PROTOCOL = {"this", "thisown", "own", "disown", "acquire", "append", "next"}


def stub(module):
    name = module.__name__.split(".")[-1]
    path = PACKAGE / ("__init__.pyi" if name == "unicache" else name + ".pyi")
    return ast.parse(path.read_text(), str(path))


def top_level(tree):
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            names[node.targets[0].id] = node
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = node
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname == alias.name:  # explicit re-export
                    names[alias.name] = node
    return names


def members(cls_node):
    out = {}
    for node in cls_node.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.setdefault(node.name, node)  # first overload
        elif isinstance(node, ast.AnnAssign):
            out[node.target.id] = node
    return out


def stub_params(fn):
    a = fn.args
    params = []
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    for arg, default in zip(positional, defaults):
        params.append((arg.arg, default is not None))
    if a.vararg:
        params.append(("*" + a.vararg.arg, False))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults):
        params.append((arg.arg, default is not None))
    if a.kwarg:
        params.append(("**" + a.kwarg.arg, False))
    return params


def runtime_params(obj, drop_self):
    params = []
    for p in inspect.signature(obj).parameters.values():
        name = p.name
        if p.kind is p.VAR_POSITIONAL:
            name = "*" + name
        elif p.kind is p.VAR_KEYWORD:
            name = "**" + name
        params.append((name, p.default is not p.empty))
    return params[1:] if drop_self else params


@pytest.mark.parametrize("module", [unicache, unicache.decorators, unicache.wsgi, unicache.asgi],
                         ids=lambda m: m.__name__)
def test_stub_names_match_runtime(module):
    names = set(top_level(stub(module))) - STUB_ONLY
    public = set(getattr(module, "__all__", []))
    if module is unicache:
        public |= {"__version__"}
    assert names == public


def test_cache_members_match_runtime():
    cls = top_level(stub(unicache))["Cache"]
    in_stub = {n for n in members(cls) if not n.startswith("_") or n in ("__init__",)}
    runtime = {n for n in dir(unicache.Cache) if not n.startswith("_")} | {"__init__"}
    runtime -= SWIG_OBJECT_PROTOCOL
    assert in_stub == runtime
    dunders = {n for n in members(cls) if n.startswith("__")}
    for name in dunders:
        assert hasattr(unicache.Cache, name), name


def test_python_functions_have_the_stubbed_parameters():
    checks = []
    stub_top = top_level(stub(unicache))
    cache_members = members(stub_top["Cache"])
    overloaded = {n.name for n in stub_top["Cache"].body
                  if isinstance(n, ast.FunctionDef) and n.decorator_list
                  and getattr(n.decorator_list[0], "id", "") == "overload"}
    for name, node in cache_members.items():
        if not isinstance(node, ast.FunctionDef) or name in overloaded:
            continue
        attr = inspect.getattr_static(unicache.Cache, name, None)
        if inspect.isfunction(attr) or inspect.ismethoddescriptor(attr):
            # Python functions, and C methods with a text signature.
            checks.append((name, node, getattr(unicache.Cache, name), True))
    # get() is overloaded in the stub: its last overload has every parameter.
    get_overloads = [n for n in stub_top["Cache"].body
                     if isinstance(n, ast.FunctionDef) and n.name == "get"]
    assert [p for p, _ in stub_params(get_overloads[-1])[1:]] == [
        p for p, _ in runtime_params(unicache.Cache.get, True)]
    for name in ("default_cache", "set_default_cache"):
        checks.append((name, stub_top[name], getattr(unicache, name), False))
    dec = top_level(stub(unicache.decorators))
    for name in unicache.decorators.__all__:
        node = dec[name]
        if isinstance(node, ast.ClassDef):
            node = members(node)["__init__"]
            checks.append((name, node, getattr(unicache.decorators, name).__init__, True))
        else:
            overloads = [n for n in stub(unicache.decorators).body
                         if isinstance(n, ast.FunctionDef) and n.name == name]
            checks.append((name, overloads[-1], getattr(unicache.decorators, name), False))
    shared = members(top_level(ast.parse((PACKAGE / "_http.pyi").read_text()))["Middleware"])
    for module in (unicache.wsgi, unicache.asgi):
        assert top_level(stub(module))["CacheMiddleware"].bases[0].id == "Middleware"
        checks.append((module.__name__, shared["__init__"], module.CacheMiddleware.__init__, True))
    assert len(checks) > 15
    for name, node, obj, method in checks:
        expected = stub_params(node)
        if method:
            expected = expected[1:]
        assert expected == runtime_params(obj, method), name
