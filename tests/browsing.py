"""Helpers for the browser tests: Debian Chromium's flags, opening the app's page, sending a
message (the `browser` fixture itself is in conftest.py)."""

from __future__ import annotations

import shutil

from tests.helpers import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "artifacts"


def open_page(browser, url, locale="en-US"):
    page = browser.new_page(locale=locale, viewport={"width": 1100, "height": 1000})
    page.goto(url, wait_until="domcontentloaded")  # never networkidle: Gradio keeps a stream open
    page.wait_for_selector("#chat-box textarea", timeout=30_000)
    return page


def send(page, text, files=()):
    if files:
        page.locator("#chat-box input[type=file]").first.set_input_files([str(f) for f in files])
        page.wait_for_function(
            "document.querySelectorAll('.thumbnail-item, .thumbnail-image, img, .file-name, "
            ".thumbnail-wrapper').length > 0",
            timeout=15_000,
        )
    page.locator("#chat-box textarea").first.fill(text)  # the chat box, not the sidebar's search
    page.keyboard.press("Enter")
