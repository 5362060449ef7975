"""The package works installed from its wheel, not only from the checkout: it builds an index and
serves the chat page and widget.js from its own copy of web/."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURE_CORPUS, ROOT
from tests.servers import free_port, wait_http_ready

pytestmark = pytest.mark.model  # the installed package loads the real model


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed. Its dependencies come from this
    environment's site-packages (added as a plain path, so this checkout's editable install is
    not visible there)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "-w", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    target = Path(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    (target / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    wheel = next((work / "dist").glob("stemcell_qa-*.whl"))
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return venv


def test_the_installed_wheel_serves_the_chat_page_and_widget(installed, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {
        "HF_HUB_OFFLINE": "1", "QA_INDEX_DIR": str(tmp_path / "index"),
        "QA_FEEDBACK_DB_URL": f"sqlite:///{tmp_path / 'feedback.db'}"}
    python = str(installed / "bin" / "python")
    where = subprocess.run([python, "-c", "import qa.server.pages as p; print(p.WEB_DIR)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(installed)  # the wheel's own copy of web/
    build = subprocess.run([python, "-m", "qa", "build", "--corpus", str(FIXTURE_CORPUS)],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    port = free_port()
    server = subprocess.Popen([python, "-m", "qa", "serve", "--port", str(port)], cwd=tmp_path,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http_ready(base, server)
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "<form" in page.text
        assert httpx.get(f"{base}/static/chat.css", timeout=10).status_code == 200
        widget = httpx.get(f"{base}/widget.js", timeout=10)
        assert widget.status_code == 200 and "attachShadow" in widget.text
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stderr.close()
