"""Real HTTP servers for the middleware tests, from the standard library:
wsgiref for WSGI, and a small HTTP/1.1 server on asyncio streams for ASGI
(the standard library has no ASGI server). Both listen on 127.0.0.1 on a
free port in a background thread."""
import asyncio
import threading
import urllib.parse
import wsgiref.simple_server
from http import HTTPStatus


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class WsgiServer:
    def __init__(self, app):
        self.server = wsgiref.simple_server.make_server("127.0.0.1", 0, app,
                                                        handler_class=_QuietHandler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class AsgiServer:
    """Enough HTTP/1.1 for tests: one request per connection, no chunked
    request bodies, Content-Length on every response it writes."""

    def __init__(self, app):
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    async def _handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers.append((name.strip().lower().encode("latin-1"),
                                    value.strip().encode("latin-1")))
            length = int(dict(headers).get(b"content-length", b"0"))
            body = await reader.readexactly(length) if length else b""
            raw_path, _, query = target.partition("?")
            # As real ASGI servers do: path decoded (UTF-8), raw_path as received.
            path = urllib.parse.unquote(raw_path, errors="surrogateescape")
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                     "method": method, "scheme": "http", "path": path,
                     "raw_path": raw_path.encode("latin-1"),
                     "query_string": query.encode("latin-1"), "root_path": "",
                     "headers": headers, "server": ("127.0.0.1", self.port),
                     "client": writer.get_extra_info("peername")}
            received = False

            async def receive():
                nonlocal received
                if received:
                    await asyncio.Event().wait()
                received = True
                return {"type": "http.request", "body": body, "more_body": False}

            start = {}
            chunks = []

            async def send(message):
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))

            await self.app(scope, receive, send)
            payload = b"".join(chunks)
            status = start["status"]
            out = ["HTTP/1.1 %d %s" % (status, HTTPStatus(status).phrase)]
            names = set()
            for name, value in start.get("headers", []):
                names.add(name.lower())
                out.append("%s: %s" % (name.decode("latin-1"), value.decode("latin-1")))
            if b"content-length" not in names and status != 304:
                out.append("Content-Length: %d" % len(payload))
            out.append("Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            if method != "HEAD" and status != 304:
                writer.write(payload)
            await writer.drain()
        finally:
            writer.close()

    def stop(self):
        async def close():
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()
