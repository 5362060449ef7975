"""The browser scripts: valid modern JavaScript (no build step), and no HTML built from strings."""

import re
import shutil
import subprocess

import pytest

from qa.server.pages import STATIC_DIR

SCRIPTS = sorted(STATIC_DIR.glob("*.js"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse(script):
    node = shutil.which("node")
    assert node, "Node.js checks the scripts' syntax: install it (.ci/run does)"
    result = subprocess.run([node, "--check", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_use_es2017_and_no_html_sinks(script):
    source = script.read_text(encoding="utf-8")
    assert not re.search(r"\bvar\s", source), "use const/let"
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in source, sink
    assert '"use strict"' in source
