"""The README's quickstarts are the example files, and the Python one
(bindings/python/examples/quickstart.py) runs as written and prints what its
comments say (tests/ruby/test_quickstart.rb runs the Ruby one)."""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "bindings" / "python" / "examples" / "quickstart.py"
EXAMPLES = {"python": EXAMPLE, "ruby": ROOT / "bindings" / "ruby" / "examples" / "quickstart.rb"}


def quickstart_blocks(readme):
    """{language: code} of the blocks under "### Python quickstart" and
    "### Ruby quickstart"."""
    text = readme.read_text()
    found = {}
    for lang in EXAMPLES:
        m = re.search(r"^### %s quickstart\n\n```%s\n(.*?)^```$" % (lang.capitalize(), lang),
                      text, re.S | re.M)
        if m:
            found[lang] = m.group(1)
    return found


def test_bindings_readme_shows_the_examples():
    blocks = quickstart_blocks(ROOT / "bindings" / "README.md")
    assert set(blocks) == {"python", "ruby"}
    for lang, code in blocks.items():
        assert code == EXAMPLES[lang].read_text(), lang


def test_top_level_readme_shows_the_examples_when_it_has_them():
    # The top-level README takes the bindings section when it is merged; from
    # then on its quickstarts must stay the tested ones too.
    for lang, code in quickstart_blocks(ROOT / "README.md").items():
        assert code == EXAMPLES[lang].read_text(), lang


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
