"""Open a report in headless Chromium (Debian's, driven by Playwright) and say what a reader
would meet: console errors, images that did not load, the tables."""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Rendered:
    errors: list[str]
    images: int
    broken_images: list[str]
    table_rows: list[int]
    title: str


def chromium() -> str:
    """The Chromium binary; skips without it or Playwright (fails under CI=true, where
    .ci/run installs Debian's chromium and the dev extra installs Playwright)."""
    binary = os.environ.get("N3FIT_CHROMIUM") or shutil.which("chromium")
    problem = None
    if importlib.util.find_spec("playwright") is None:
        problem = "no Playwright: pip install -e '.[dev]'"
    elif binary is None:
        problem = "no chromium: apt-get install chromium (or set N3FIT_CHROMIUM)"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    return binary


def render(page_file: Path) -> Rendered:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"failed request {r.url}"))
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.alt, e.complete && e.naturalWidth > 0])"
            )
            rows = page.eval_on_selector_all("table", "els => els.map(t => t.rows.length)")
            return Rendered(
                errors=errors,
                images=len(images),
                broken_images=[alt for alt, ok in images if not ok],
                table_rows=rows,
                title=page.title(),
            )
        finally:
            browser.close()
