"""The Python middleware's rules against the shared vectors of
tests/http_spec (the Ruby middleware passes the same file). Byte strings
in the vectors are latin-1 text, one code point per byte."""
import json
import pathlib

import pytest

from unicache import _http

SPEC = json.loads((pathlib.Path(__file__).resolve().parent.parent / "http_spec" / "vectors.json")
                  .read_text(encoding="ascii"))


def _bytes(text):
    return text.encode("latin-1")


@pytest.mark.parametrize("case", SPEC["canonical_path"], ids=repr)
def test_canonical_path(case):
    assert _http.canonical_path(_bytes(case["raw"]), decoded=case["decoded"]) == case["out"]


@pytest.mark.parametrize("case", SPEC["canonical_query"], ids=repr)
def test_canonical_query(case):
    assert _http.canonical_query(_bytes(case["raw"])) == case["out"]


@pytest.mark.parametrize("case", SPEC["host"], ids=repr)
def test_host(case):
    assert _http.normalize_host(case["value"], case["scheme"]) == case["out"]


@pytest.mark.parametrize("case", SPEC["base_key"], ids=repr)
def test_base_key(case):
    key = _http.base_key(case["prefix"], case["scheme"], case["host"], case["path"], case["query"])
    assert key == case["out"]


def _key(request):
    return _http.base_key("p:", "http", "example.org",
                          _http.canonical_path(_bytes(request["path"]), decoded=request["decoded"]),
                          _http.canonical_query(_bytes(request["query"])))


@pytest.mark.parametrize("group", SPEC["distinct_keys"], ids=repr)
def test_distinct_keys(group):
    assert len({_key(r) for r in group}) == len(group)


@pytest.mark.parametrize("group", SPEC["same_keys"], ids=repr)
def test_same_keys(group):
    assert len({_key(r) for r in group}) == 1


@pytest.mark.parametrize("case", SPEC["cache_control"], ids=repr)
def test_cache_control(case):
    assert [list(d) for d in _http.directives(case["value"])] == case["directives"]


@pytest.mark.parametrize("case", SPEC["lifetime"], ids=repr)
def test_lifetime(case):
    headers = [tuple(h) for h in case["headers"]]
    assert _http.response_lifetime(case["status"], headers, case["default_ttl"], case["now"],
                                   case["cache_set_cookie"]) == case["out"]


@pytest.mark.parametrize("case", SPEC["request"], ids=repr)
def test_request(case):
    get = case["headers"].get
    options = case["options"]
    host = _http.request_host(get, case["fallback"], case["scheme"],
                              options.get("trust_forwarded_host", False))
    assert host == case["host"]
    assert _http.request_decision(case["method"], get, host, options) == case["out"]


@pytest.mark.parametrize("case", SPEC["vary"], ids=repr)
def test_vary(case):
    names = _http.vary_names(_http.combine(case["vary"]))
    assert names == case["names"]
    assert _http.variant_suffix(names, case["request"].get) == case["suffix"]


def test_vary_values_that_differ_give_different_variants():
    suffixes = [c["suffix"] for c in SPEC["vary"]]
    assert len(set(suffixes[:6])) == 6
    assert suffixes[5] == suffixes[6]  # the same names, however written
    assert suffixes[7] == suffixes[8]  # "a,b" and "a, b"


@pytest.mark.parametrize("case", SPEC["entry"], ids=repr)
def test_entry(case):
    stored = _http.Stored([tuple(h) for h in case["headers"]], _bytes(case["body"]),
                          case["stored_at"], case["etag"])
    assert stored.encode() == _bytes(case["bytes"])
    back = _http.Stored.decode(_bytes(case["bytes"]))
    assert back == stored
