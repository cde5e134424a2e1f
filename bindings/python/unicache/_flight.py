"""Single flight: concurrent callers of one key in this process compute
once; the others wait for the first caller's result or exception."""
import asyncio
import threading


class SingleFlight:
    """One computation per key at a time; the others wait for its outcome."""

    class _Call:
        __slots__ = ("done", "value", "error")

        def __init__(self):
            self.done = threading.Event()
            self.value = None
            self.error = None

    def __init__(self):
        self._lock = threading.Lock()
        self._calls = {}
        self._futures = {}

    def run(self, key, compute):
        with self._lock:
            call = self._calls.get(key)
            leader = call is None
            if leader:
                call = self._calls[key] = self._Call()
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.value
        try:
            call.value = compute()
            return call.value
        except BaseException as e:
            call.error = e
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()

    async def run_async(self, key, compute):
        loop = asyncio.get_running_loop()
        slot = (loop, key)
        while True:
            future = self._futures.get(slot)
            if future is None:
                break
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                # The leader was cancelled (not us): compute it ourselves.
                if future.cancelled() and not asyncio.current_task().cancelling():
                    continue
                raise
        future = self._futures[slot] = loop.create_future()
        try:
            value = await compute()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._futures[slot]
