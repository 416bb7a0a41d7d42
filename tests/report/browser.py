"""Headless Chromium (Debian's `chromium`) as a person's browser: a screenshot and the DOM.

Run as root, so without its sandbox; a new empty profile per call, nothing
in the background reaching out (no QUIC, component updates, sync), and only
a file:// page to load.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

TIMEOUT_S = 90
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def chromium() -> str | None:
    return shutil.which("chromium")


def _run(page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=TIMEOUT_S)


def screenshot(page: Path, png: Path, width: int = 1200, height: int = 1600) -> Path:
    done = _run(page, f"--window-size={width},{height}", f"--screenshot={png}")
    assert png.exists() and png.stat().st_size > 0, f"no screenshot: {done.stderr[-2000:]}"
    return png


def dump_dom(page: Path) -> str:
    done = _run(page, "--dump-dom")
    assert "<html" in done.stdout, f"no DOM: {done.stderr[-2000:]}"
    return done.stdout


class Elements(HTMLParser):
    """Every element with an id: id -> (tag, attributes, its own text)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.by_id: dict[str, tuple[str, dict]] = {}
        self.text: dict[str, str] = {}
        self._open: list[str | None] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.by_id[a["id"]] = (tag, a)
            self.text[a["id"]] = ""
        self._open.append(a.get("id"))

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        for i in self._open:
            if i is not None:
                self.text[i] += data
