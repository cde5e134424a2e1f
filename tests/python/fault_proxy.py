"""FaultProxy: the Python twin of tests/support/fault_proxy.h. A TCP proxy on
127.0.0.1 (free port) in front of a real server whose replies misbehave on
demand, switched at run time and applied to open connections too:

    proxy = FaultProxy(server.port)
    proxy.set_fault("trickle", 200)   # one byte every 200 ms

Faults: pass, delay (hold each reply chunk `ms`), trickle (one byte every
`ms`), drop (black hole), reset (RST on the next request and at accept),
garbage (answer requests with random bytes), partial (forward half of the
next reply, then stall that connection for good)."""
import os
import select
import socket
import struct
import threading

FAULTS = ("pass", "delay", "trickle", "drop", "reset", "garbage", "partial")


def _rst(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class FaultProxy:
    def __init__(self, target_port):
        self.target_port = target_port
        self.fault, self.ms = "pass", 0
        self.accepted = 0
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._threads = []
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._accept_thread.start()

    def set_fault(self, fault, ms=0):
        if fault not in FAULTS:
            raise ValueError("unknown fault %r (one of %s)" % (fault, ", ".join(FAULTS)))
        self.fault, self.ms = fault, ms

    def close(self):
        self._stop.set()
        self._accept_thread.join()
        for t in self._threads:
            t.join()
        self._listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept_loop(self):
        while not self._stop.is_set():
            if not select.select([self._listener], [], [], 0.05)[0]:
                continue
            client, _ = self._listener.accept()
            self.accepted += 1
            if self.fault == "reset":
                _rst(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                _rst(client)
                continue
            t = threading.Thread(target=self._serve, args=(client, upstream), daemon=True)
            t.start()
            self._threads = [x for x in self._threads if x.is_alive()] + [t]

    def _reply(self, client, data, link):
        fault = self.fault
        if fault == "delay":
            if self._stop.wait(self.ms / 1000.0):
                return False
            client.sendall(data)
        elif fault == "trickle":
            for i in range(len(data)):
                if self._stop.wait(self.ms / 1000.0):
                    return False
                client.sendall(data[i:i + 1])
        elif fault == "partial":
            link["stalled"] = True
            client.sendall(data[:max(1, len(data) // 2)])
        elif fault not in ("drop", "garbage"):
            client.sendall(data)
        return True

    def _serve(self, client, upstream):
        link = {"stalled": False}
        rst = False
        try:
            while not self._stop.is_set():
                ready = select.select([client, upstream], [], [], 0.05)[0]
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        break
                    if self.fault == "reset":
                        rst = True
                        break
                    if self.fault == "garbage":
                        client.sendall(os.urandom(64))
                    elif self.fault != "drop" and not link["stalled"]:
                        upstream.sendall(data)
                if upstream in ready:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    if not link["stalled"] and not self._reply(client, data, link):
                        break
        except OSError:
            pass
        if rst:
            _rst(client)
        else:
            client.close()
        upstream.close()
