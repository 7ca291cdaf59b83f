"""A share link in a real browser (Debian Chromium): the read-only page shows the conversation,
its "Continue as my own copy" opens the app with the copy as the browser's own conversation,
and a reload does not copy it again."""

from __future__ import annotations

import pytest

from tests.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.app]


def test_continue_a_shared_conversation_in_the_browser(tiny_app, browser):
    alice = tiny_app.client("alice-share-browser-0123456789")
    alice.predict({"text": "a question worth sharing", "files": []}, api_name="/chat")
    link = alice.predict("", None, api_name="/share")
    context = browser.new_context(locale="en-US", viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(tiny_app.url.rstrip("/") + link["page"], wait_until="domcontentloaded")
    assert "a question worth sharing" in page.inner_text("body")
    page.get_by_text("Continue as my own copy").click()
    page.wait_for_selector("#chat-box textarea", timeout=30_000)
    listed = page.locator("#conversation-list").get_by_text("a question worth sharing")
    listed.first.wait_for(timeout=30_000)
    page.locator("#chat").get_by_text("a question worth sharing").first.wait_for(timeout=30_000)
    wait_until(lambda: "copy=" not in page.url, what="the copy parameter to leave the URL")
    page.reload(wait_until="domcontentloaded")
    page.locator("#chat").get_by_text("a question worth sharing").first.wait_for(timeout=30_000)
    assert listed.count() == 1, "a reload makes no second copy"
    context.close()
