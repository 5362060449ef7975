"""Screenshots of the chat page and the widget, for docs/web.md: desktop (1280x800) and mobile
(375x740), light and dark, written to docs/screenshots/*.png.

    .venv/bin/python bench/screenshots.py [--index DIR] [--out docs/screenshots]

Serves the app with the real engine on a free 127.0.0.1 port (feedback goes to an in-memory
database, so nothing is written under var/) and drives Debian's Chromium through Playwright
(/usr/bin/chromium; `playwright install` is never used). Uses the built index (`qa build`), or
builds the corpus into a temporary folder when there is none.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from qa.server.app import create_app  # noqa: E402
from qa.engine import QAEngine  # noqa: E402
from qa.indexing.layout import current_build  # noqa: E402
from qa.settings import Settings  # noqa: E402
from tests.browser_support import UvicornThread, launch_chromium  # noqa: E402

QUESTION = "What is aHSCT for multiple sclerosis?"
WIDGET_QUESTION = "Are stem cell clinics abroad safe?"
EMERGENCY = "I had a stem cell infusion yesterday and now I have chest pain and cannot breathe"
# One chat each, named as its screenshot: page-<name>-<size>.png
CONVERSATIONS = {
    "emergency": (EMERGENCY,),
    "follow-up": (QUESTION, "is it safe?"),  # shows the "Answering: ..." line
    "misspelt": ("can stemcell therapy help lupis",),  # shows "Showing results for ..."
    "spanish": ("¿El trasplante de células madre cura la esclerosis múltiple?",),
}
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 740}
ANSWER_TIMEOUT_MS = 30_000


def engine_for(index_dir: Path | None) -> tuple[Settings, QAEngine]:
    from qa.encoders import embedder_from_settings

    settings = Settings(index_dir=index_dir) if index_dir else Settings()
    embedder = embedder_from_settings(settings)
    if current_build(settings.index_dir) is None:
        from qa.indexing.build import run_build

        folder = Path(tempfile.mkdtemp(prefix="qa-screenshots-"))
        settings = settings.model_copy(update={"index_dir": folder / "index",
                                               "corpus": [ROOT / "corpus"]})
        print(f"no index at the configured path: building {settings.index_dir}", file=sys.stderr)
        run_build(settings, embedder=embedder)
    return settings, QAEngine.from_settings(settings, embedder=embedder)


def ask(scope, question: str) -> None:
    answers = scope.locator("#transcript .answer")
    before = answers.count()
    scope.locator("#question").fill(question)
    scope.locator("#question").press("Enter")
    answers.nth(before).wait_for(timeout=ANSWER_TIMEOUT_MS)


def shoot(browser, origin: str, out: Path) -> list[Path]:
    written: list[Path] = []

    def context(viewport: dict, scheme: str = "light"):
        ctx = browser.new_context(viewport=viewport, color_scheme=scheme, reduced_motion="reduce",
                                  is_mobile=viewport is MOBILE, has_touch=viewport is MOBILE)
        ctx.set_default_timeout(20_000)
        return ctx

    def save(page, name: str) -> None:
        page.wait_for_timeout(300)
        path = out / name
        page.screenshot(path=str(path))
        written.append(path)

    for viewport, size in ((DESKTOP, "desktop"), (MOBILE, "mobile")):
        for scheme in ("light", "dark"):
            suffix = "" if scheme == "light" else "-dark"
            ctx = context(viewport, scheme)
            page = ctx.new_page()
            page.goto(origin + "/")
            if scheme == "light":
                save(page, f"page-start-{size}.png")
            ask(page, QUESTION)
            save(page, f"page-{size}{suffix}.png")
            ctx.close()

        for name, conversation in CONVERSATIONS.items():
            ctx = context(viewport)
            page = ctx.new_page()
            page.goto(origin + "/")
            for message in conversation:
                ask(page, message)
            save(page, f"page-{name}-{size}.png")
            ctx.close()

        for scheme in ("light", "dark"):
            suffix = "" if scheme == "light" else "-dark"
            ctx = context(viewport, scheme)
            page = ctx.new_page()
            page.goto(origin + "/demo")
            launcher = page.locator("[data-stemcell-qa] button.launcher")
            launcher.wait_for()
            if scheme == "light":
                save(page, f"widget-closed-{size}.png")
            launcher.click()
            frame = page.frame_locator("[data-stemcell-qa] iframe")
            frame.locator("#question").wait_for()
            ask(frame, WIDGET_QUESTION)
            save(page, f"widget-{size}{suffix}.png")
            ctx.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, help="Index directory (default: QA_INDEX_DIR).")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    settings, engine = engine_for(args.index)
    app = create_app(settings.model_copy(update={"feedback_db_url": "sqlite://"}), engine)
    server = UvicornThread(app).start()
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                for path in shoot(browser, server.origin, args.out):
                    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
            finally:
                browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
