"""unicache.aio on every backend: every Cache method as a coroutine with the
same results and errors, memory inline, blocking backends off the loop,
cancellation that leaves every connection whole, and the async decorators."""
import asyncio
import inspect
import time

import pytest

import unicache
import unicache.aio


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_every_cache_method_is_a_coroutine_with_the_same_signature():
    for name in unicache.aio._METHODS:
        method = getattr(unicache.aio.Cache, name)
        assert inspect.iscoroutinefunction(method), name
        assert inspect.signature(method) == inspect.signature(getattr(unicache.Cache, name)), name


def test_the_whole_api(store_uri, backend):
    async def main():
        async with unicache.aio.Cache(store_uri()) as c:
            assert c.backend == backend
            await c.set("k", {"v": 1}, ttl=60)
            assert await c.get("k") == {"v": 1}
            assert await c.get("missing", "dflt") == "dflt"
            assert await c.add("k", 2) is False
            assert await c.exists("k") is True
            assert await c.incr("n", 5) == 5
            assert await c.decr("n") == 4
            assert await c.incr_ext("absent", 1, existing=True) is None
            assert await c.incr_ext("n", 1, existing=True) == 5
            assert await c.touch("k", 100) is True
            assert 90 < await c.ttl("k") <= 100
            await c.set_many({"a": 1, "b": 2})
            assert await c.get_many(["a", "b", "z"]) == {"a": 1, "b": 2}
            assert await c.delete_many(["a", "b", "z"]) == 2
            assert await c.expire_at("k", time.time() + 50) is True
            await c.set("t", 1, tags=["tag"])
            await c.invalidate_tags(["tag"])
            assert await c.get("t") is None
            if backend != "memcached":
                assert await c.keys("k*") == ["k"]
                assert await c.delete_pattern("n*") == 1
            assert await c.ping() is True
            assert (await c.stats())["backend"] == backend
            assert isinstance(await c.info(), str)
            assert await c.delete("k") is True
            await c.clear()
        assert c.closed

    run(main())


def test_errors_are_the_same_exceptions(store_uri, backend):
    async def main():
        async with unicache.aio.Cache(store_uri()) as c:
            with pytest.raises(unicache.InvalidArgument):
                await c.get("")
            await c.set("s", "text")
            with pytest.raises(unicache.NotANumber):
                await c.incr("s")
            with pytest.raises(TypeError):
                await c.set("k", object())
            if backend == "memcached":
                with pytest.raises(unicache.NotSupported):
                    await c.keys("*")

    run(main())


def test_methods_before_open_and_after_close_raise(store_uri):
    c = unicache.aio.Cache(store_uri())

    async def main():
        with pytest.raises(unicache.InvalidArgument, match="not open"):
            await c.get("k")
        await c.open()
        await c.close()
        with pytest.raises(unicache.InvalidArgument):
            await c.get("k")

    run(main())


def test_bad_uri_raises_when_opened():
    async def main():
        with pytest.raises(unicache.InvalidArgument):
            async with unicache.aio.Cache("nosuch://x"):
                pass

    run(main())


def test_memory_answers_inline_and_others_use_the_executor(store_uri, backend):
    calls = []

    class Recording:
        def submit(self, fn, *args):
            import concurrent.futures
            calls.append(fn)
            f = concurrent.futures.Future()
            f.set_result(fn(*args))
            return f

    async def main():
        async with unicache.aio.Cache(store_uri(), executor=Recording()) as c:
            before = len(calls)
            await c.set("k", 1)
            await c.get("k")
            return len(calls) - before

    used = run(main())
    assert used == (0 if backend == "memory" else 2)


def test_wrapping_an_open_cache_leaves_it_open(store_uri):
    sync = unicache.Cache(store_uri())

    async def main():
        async with unicache.aio.Cache(sync) as c:
            await c.set("k", 1)
        assert not sync.closed
        assert sync.get("k") == 1

    run(main())
    sync.clear()
    sync.close()


def test_a_stalled_server_never_stalls_the_loop(store_uri, server):
    if server is None:
        return  # memory and SQLite: nothing to stall (the bench measures SQLite)

    async def main():
        async with unicache.aio.Cache(store_uri()) as c:
            await c.set("k", "v")
            server.pause()
            try:
                task = asyncio.ensure_future(c.get("k"))
                ticks = 0
                while not task.done() and ticks < 10:
                    await asyncio.sleep(0.02)
                    ticks += 1
                assert ticks == 10  # the loop ran on while get waited
            finally:
                server.resume()
            assert await task == "v"

    run(main())


def test_cancellation_leaves_no_connection_half_used(store_uri, server, backend):
    """Cancel calls while they wait on a stalled server, then check that
    every later answer is the one asked for (a connection left with an
    unread reply would hand one call another's answer)."""
    if server is None:
        return

    async def main():
        async with unicache.aio.Cache(store_uri()) as c:
            await c.set_many({"k%d" % i: i for i in range(50)})
            server.pause()
            tasks = [asyncio.ensure_future(c.get("k%d" % i)) for i in range(20)]
            await asyncio.sleep(0.1)
            for t in tasks:
                t.cancel()
            server.resume()
            for t in tasks:
                with pytest.raises(asyncio.CancelledError):
                    await t
            for round_ in range(3):
                got = await asyncio.gather(*[c.get("k%d" % i) for i in range(50)])
                assert got == list(range(50)), round_

    try:
        run(main())
    finally:
        server.resume()


def test_async_decorators_work_with_an_aio_cache(store_uri):
    calls = []

    async def main():
        async with unicache.aio.Cache(store_uri()) as c:
            @unicache.cached(ttl=60, cache=c)
            async def double(x):
                calls.append(x)
                await asyncio.sleep(0)
                return 2 * x

            assert await double(2) == 4
            assert await double(2) == 4
            assert calls == [2]
            assert await c.get(double.cache_key(2)) == 4

    run(main())


def test_open_helper(store_uri):
    async def main():
        c = await unicache.aio.open(store_uri())
        await c.set("k", 1)
        assert await c.get("k") == 1
        await c.clear()
        await c.close()
        assert c.closed

    run(main())


def test_a_cache_that_failed_to_open_is_safe_to_inspect():
    """Tracebacks (pytest's, asyncio's) repr the half-made object; that used
    to crash the interpreter (the SWIG object had no handle)."""
    try:
        unicache.Cache("nosuch://")
    except unicache.InvalidArgument as e:
        tb = e.__traceback__
        while tb.tb_next:
            tb = tb.tb_next
        half_made = tb.tb_frame.f_locals["self"]
    assert half_made.closed is True
    assert repr(half_made) == "<unicache.Cache not opened>"


def test_the_stub_lists_every_coroutine():
    import ast
    import pathlib
    path = pathlib.Path(unicache.aio.__file__).with_suffix(".pyi")
    tree = ast.parse(path.read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Cache")
    stubbed = {n.name for n in cls.body if isinstance(n, ast.AsyncFunctionDef)}
    assert set(unicache.aio._METHODS) <= stubbed
    runtime = {n for n in dir(unicache.aio.Cache) if not n.startswith("_")}
    in_stub = {n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
               and not n.name.startswith("_")}
    assert in_stub == runtime
