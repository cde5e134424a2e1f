"""Real redis-server and memcached processes on 127.0.0.1:<free port>, for
the binding tests and the Python benchmark. A missing binary is an error
(MissingServer), never a reason to run less."""
import os
import shutil
import socket
import subprocess
import tempfile
import time


class MissingServer(RuntimeError):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, argv):
        if shutil.which(argv[0]) is None:
            raise MissingServer("%s is not installed (Debian: apt-get install %s); the binding "
                                "tests and benchmarks need a real server" % (argv[0], argv[0]))
        self.port = free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.proc = None
        self.log = tempfile.TemporaryFile()

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.log.seek(0)
        raise RuntimeError("%s did not start: %s" % (self.argv[0], self.log.read().decode()))

    def pause(self):
        self.proc.send_signal(19)  # SIGSTOP: accepts TCP, never answers

    def resume(self):
        self.proc.send_signal(18)  # SIGCONT

    def stop(self):
        if self.proc is None:
            return
        self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def redis_server():
    return ServerProcess(["redis-server", "--port", "{port}", "--bind", "127.0.0.1", "--save",
                          "", "--appendonly", "no", "--loglevel", "warning"])


def memcached_server():
    argv = ["memcached", "-l", "127.0.0.1", "-p", "{port}", "-U", "0", "-m", "128"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]
    return ServerProcess(argv)


STARTERS = {"redis": redis_server, "memcached": memcached_server}
