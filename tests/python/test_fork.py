"""The fork and close matrix from Python, on every backend: a Cache opened
before os.fork() and used after it (fork idle, fork while other threads are
inside calls, close in the child, close in the parent first, exit without
close, a child that opens caches of its own), and close() while other
threads are inside calls. Each scenario is a fresh interpreter that forks
its own children, so a real interpreter shutdown runs in them; every
interpreter and every child is bounded in time, and a hang is a failure."""
import subprocess
import sys
import textwrap

import pytest

PRELUDE = r'''
import os, sys, threading, time
import unicache

URI = sys.argv[1]

def wait_child(pid, limit=10.0):
    """The child's exit status; kills it and fails when it hangs."""
    deadline = time.monotonic() + limit
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if not os.WIFEXITED(status):
                sys.exit("child %d died of signal %d" % (pid, os.WTERMSIG(status)))
            return os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            sys.exit("child %d hung (killed after %.0f s)" % (pid, limit))
        time.sleep(0.005)

def round_trips(c, who, n):
    for i in range(n):
        k = "%s:%d" % (who, i)
        c.set(k, "v-" + k, ttl=60000)
        assert c.get(k) == "v-" + k, (k, c.get(k))

def fork(body):
    """Runs body in a child that leaves through a normal interpreter exit."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            body()
        except BaseException as e:
            sys.stderr.write("child failed: %r\n" % (e,))
            code = 3
        sys.exit(code)
    return pid

class Hammer:
    """Threads that keep calling into the cache until stopped."""
    def __init__(self, c, n=3):
        self.stop = False
        self.calls = 0
        self.threads = [threading.Thread(target=self.run, args=(c, t)) for t in range(n)]
        for t in self.threads:
            t.start()
    def run(self, c, t):
        until = time.monotonic() + 30
        i = 0
        while not self.stop and time.monotonic() < until:
            k = "hammer%d:%d" % (t, i % 200)
            try:
                c.set(k, "x", ttl=1 + i % 5)
                c.get(k)
                c.incr("hammer-count")
            except unicache.CacheError:
                if not c.closed:
                    raise
                return
            self.calls += 3
            i += 1
    def join(self):
        self.stop = True
        for t in self.threads:
            t.join()
'''

SCENARIOS = {
    "fork_idle_close_in_child": r'''
c = unicache.Cache(URI)
c.set("before", "fork")
time.sleep(0.02)
def child():
    assert c.get("before") == "fork"
    round_trips(c, "child%d" % os.getpid(), 30)
    c.close()
assert wait_child(fork(child)) == 0
round_trips(c, "parent", 30)
c.close()
''',
    "exit_without_close": r'''
c = unicache.Cache(URI)
round_trips(c, "parent", 10)
time.sleep(0.02)
def child():
    round_trips(c, "child%d" % os.getpid(), 20)   # then sys.exit with c open
assert wait_child(fork(child)) == 0
round_trips(c, "parent-after", 10)
''',
    "close_in_parent_first": r'''
c = unicache.Cache(URI)
c.set("before", "fork")
r, w = os.pipe()
def child():
    assert os.read(r, 1) == b"g"       # the parent has closed its handle
    assert c.get("before") == "fork"
    round_trips(c, "child%d" % os.getpid(), 30)
    c.close()
pid = fork(child)
c.close()
os.write(w, b"g")
assert wait_child(pid) == 0
''',
    "child_opens_its_own": r'''
c = unicache.Cache(URI)
round_trips(c, "parent", 10)
def child():
    mine = unicache.Cache(URI)
    round_trips(mine, "own%d" % os.getpid(), 20)
    round_trips(c, "inherited%d" % os.getpid(), 20)
assert wait_child(fork(child)) == 0
c.close()
''',
    "fork_busy": r'''
c = unicache.Cache(URI)
c.set("before", "fork")
h = Hammer(c)
while h.calls < 300:
    time.sleep(0.001)
for n in range(6):
    def child():
        assert c.get("before") == "fork"
        round_trips(c, "child%d" % os.getpid(), 50)
        mine = unicache.Cache(URI)
        round_trips(mine, "own%d" % os.getpid(), 10)
        mine.close()
        if n % 2 == 0:
            c.close()
    assert wait_child(fork(child)) == 0
    time.sleep(0.003)
h.join()
round_trips(c, "parent", 20)
c.close()
''',
    "close_during_calls": r'''
c = unicache.Cache(URI)
h = Hammer(c, 4)
while h.calls < 300:
    time.sleep(0.001)
c.close()
h.join()
assert c.closed
''',
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_fork_and_close(uri, scenario):
    script = PRELUDE + textwrap.dedent(SCENARIOS[scenario])
    try:
        run = subprocess.run([sys.executable, "-c", script, uri], capture_output=True,
                             text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("%s on %s hung for 60 s" % (scenario, uri))
    assert run.returncode == 0, "%s on %s: exit %d\n%s" % (scenario, uri, run.returncode,
                                                            run.stderr)
