#!/usr/bin/env python3
"""How late the asyncio event loop runs while coroutines hammer a cache,
with unicache.aio (calls in an executor; memory inline) beside the same
unicache.Cache called straight from the coroutines (every call blocks the
loop) and beside redis-py's own asyncio client (redis.asyncio, Debian
python3-redis) on the same real Redis server.

    /usr/bin/python3 bench/python_aio_lag.py [--build build] [--rounds 12]

A ticker coroutine asks to wake every 1 ms and records how late it wakes
(the loop's lag) while 16 worker coroutines run get() in a loop against
Redis (a local server started here) and SQLite (a file). Rounds alternate
(ours, theirs, theirs, ours, ...), each a fixed wall time; reported per
mode: the lag's p50/p99/max over all rounds, operations per second, and the
median over paired rounds of (their p99 lag / our p99 lag). One more run
stalls the Redis server for 200 ms (SIGSTOP) in the middle of each round:
that is where a blocking call freezes the loop.
"""
import argparse
import asyncio
import os
import pathlib
import statistics
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKERS = 16
ROUND_S = 0.5
TICK_S = 0.001


async def ticker(stop, lags):
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t = loop.time()
        await asyncio.sleep(TICK_S)
        lags.append(loop.time() - t - TICK_S)


async def one_round(get, keys, stall=None):
    """Lags (s) and operations done in ROUND_S of WORKERS coroutines."""
    stop = asyncio.Event()
    lags, ops = [], [0]

    async def worker(i):
        n = 0
        while not stop.is_set():
            await get(keys[(i * 7919 + n) % len(keys)])
            n += 1
            ops[0] += 1
            # A blocking call never yields by itself; real handlers yield
            # between requests, so every mode yields once per operation.
            await asyncio.sleep(0)

    tasks = [asyncio.ensure_future(worker(i)) for i in range(WORKERS)]
    tick = asyncio.ensure_future(ticker(stop, lags))
    if stall:
        # From a thread: a loop frozen by a blocking call could not resume
        # the server itself.
        def pause_then_resume():
            stall.pause()
            time.sleep(0.2)
            stall.resume()

        timer = threading.Timer(ROUND_S / 2, pause_then_resume)
        timer.start()
        await asyncio.sleep(ROUND_S + 0.2)
        timer.join()
    else:
        await asyncio.sleep(ROUND_S)
    stop.set()
    await asyncio.gather(tick, *tasks)
    return lags, ops[0]


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def compare(name, modes, keys, rounds, stall=None):
    """modes: [(label, get)], the first is ours."""
    lags = {m: [] for m, _ in modes}
    ops = {m: 0 for m, _ in modes}
    p99 = {m: [] for m, _ in modes}
    order = list(range(len(modes)))
    for r in range(rounds):
        seq = order if r % 2 == 0 else order[::-1]
        for i in seq:
            label, get = modes[i]
            round_lags, n = await one_round(get, keys, stall)
            lags[label] += round_lags
            ops[label] += n
            p99[label].append(pct(round_lags, 0.99))
    ours = modes[0][0]
    print("\n%s%s" % (name, " (server stalled 200 ms per round)" if stall else ""))
    print("  %-34s %9s %9s %9s %10s %12s" % ("mode", "p50 ms", "p99 ms", "max ms", "ops/s",
                                               "p99 vs ours"))
    for label, _ in modes:
        ratio = statistics.median(t / max(o, 1e-9) for t, o in zip(p99[label], p99[ours]))
        print("  %-34s %9.3f %9.3f %9.1f %10.0f %11.1fx" % (
            label, pct(lags[label], 0.5) * 1e3, pct(lags[label], 0.99) * 1e3,
            max(lags[label]) * 1e3, ops[label] / (rounds * ROUND_S), ratio))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()
    sys.path.insert(0, str(pathlib.Path(args.build) / "bindings" / "python"))
    sys.path.insert(0, str(ROOT / "tests" / "python"))
    import unicache
    import unicache.aio
    from servers import redis_server

    print("load average: %.2f %.2f %.2f (2 vCPUs shared with other work)" % os.getloadavg())
    print("%d workers, %.1f s rounds x %d per mode, ticker every %.0f ms"
          % (WORKERS, ROUND_S, args.rounds, TICK_S * 1e3))
    keys = ["key:%d" % i for i in range(1000)]
    server = redis_server().start()
    tmp = tempfile.TemporaryDirectory()
    try:
        async def run_all():
            redis_uri = "redis://127.0.0.1:%d/0" % server.port
            sqlite_uri = "sqlite://%s" % os.path.join(tmp.name, "lag.db")
            for uri, label in ((redis_uri, "redis"), (sqlite_uri, "sqlite")):
                sync = unicache.Cache(uri)
                sync.set_many({k: "v" * 100 for k in keys})
                acache = unicache.aio.Cache(sync)
                await acache.open()

                async def blocking(k, sync=sync):
                    return sync.get(k)

                modes = [("unicache.aio (executor)", acache.get),
                         ("unicache.Cache called in the loop", blocking)]
                if label == "redis":
                    import redis.asyncio
                    rp = redis.asyncio.Redis(host="127.0.0.1", port=server.port)
                    modes.append(("redis.asyncio (redis-py 4)", rp.get))
                await compare(label + " get", modes, keys, args.rounds)
                if label == "redis":
                    await compare(label + " get", modes, keys, max(2, args.rounds // 3), server)
                    await rp.close()
                sync.close()

        asyncio.run(run_all())
    finally:
        server.stop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
