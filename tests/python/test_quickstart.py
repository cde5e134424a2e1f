"""The README's Python quickstart (bindings/python/examples/quickstart.py)
runs as written and prints what its comments say."""
import os
import pathlib
import subprocess
import sys

EXAMPLE = (pathlib.Path(__file__).resolve().parents[2]
           / "bindings" / "python" / "examples" / "quickstart.py")


def test_quickstart_runs_as_written():
    out = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                         timeout=60, env=dict(os.environ, UNICACHE_URL=""), check=True).stdout
    assert out.splitlines() == [
        "{'name': 'Ada', 'langs': ['en', 'fr']}",
        "absent",
        "1",
        "computing 12",
        "144 144",
        "invalid argument: empty key: a key must be 1 to 65536 bytes long",
    ]
