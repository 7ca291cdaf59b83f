"""Two tabs of one browser (Debian Chromium): the second tab opens the conversation whose reply
the first tab is receiving, watches it continue live, and its Stop stops it in both tabs.
Uses the long-reply app (30,000 tokens: only Stop ends a reply); waits on what the pages show."""

from __future__ import annotations

import pytest

from tests.browsing import send
from tests.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.app]


def chat_text(page) -> str:
    return page.locator("#chat").inner_text()


def test_a_second_tab_watches_the_reply_live_and_stops_it(long_app, browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1300, "height": 1000})
    first = context.new_page()
    first.goto(long_app.url, wait_until="domcontentloaded")
    first.wait_for_selector("#chat-box textarea", timeout=30_000)
    send(first, "tell me a very long story in two tabs")
    first.locator("#chat").get_by_text("tell me a very long story in two tabs").first.wait_for(
        timeout=30_000
    )
    sent = len(chat_text(first))
    wait_until(lambda: len(chat_text(first)) > sent + 20, what="the reply to stream in tab 1")
    second = context.new_page()  # same browser: the same owner
    second.goto(long_app.url, wait_until="domcontentloaded")
    second.locator("#chat").get_by_text("tell me a very long story in two tabs").first.wait_for(
        timeout=30_000
    )
    seen = len(chat_text(second))
    wait_until(lambda: len(chat_text(second)) > seen + 20, what="the second tab to stream on")
    second.get_by_text("⏹ Stop").first.click()
    wait_until(lambda: "⏹" in chat_text(first).replace("⏹ Stop", ""), what="the first tab stopped")
    wait_until(lambda: "⏹" in chat_text(second).replace("⏹ Stop", ""), what="the second too")
    context.close()


def test_a_reply_goes_on_through_a_reload_and_the_page_watches_it(long_app, browser):
    import sqlite3

    context = browser.new_context(locale="en-US", viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(long_app.url, wait_until="domcontentloaded")
    page.wait_for_selector("#chat-box textarea", timeout=30_000)
    send(page, "a very long story across a reload")
    page.locator("#chat").get_by_text("a very long story across a reload").first.wait_for(
        timeout=30_000
    )
    sent = len(chat_text(page))
    wait_until(lambda: len(chat_text(page)) > sent + 20, what="the reply to stream")
    page.reload(wait_until="domcontentloaded")
    page.locator("#chat").get_by_text("a very long story across a reload").first.wait_for(
        timeout=30_000
    )
    seen = len(chat_text(page))
    wait_until(lambda: len(chat_text(page)) > seen + 20, what="the reply to go on after reload")
    page.get_by_text("⏹ Stop").first.click()
    wait_until(lambda: "⏹" in chat_text(page).replace("⏹ Stop", ""), what="the reply stopped")

    def stored():
        db = sqlite3.connect(f"file:{long_app.data_dir / 'chatbot.db'}?mode=ro", uri=True)
        try:
            return db.execute(
                "SELECT t.role, t.status, length(t.text) FROM turns t JOIN conversations c "
                "ON c.id = t.conversation_id WHERE c.title = 'a very long story across a reload' "
                "ORDER BY t.position"
            ).fetchall()
        finally:
            db.close()

    rows = wait_until(lambda: (r := stored()) and r[-1][1] == "stopped" and r, what="saved")
    assert [r[0] for r in rows] == ["user", "assistant"] and rows[1][2] > 0, "stored once"
    context.close()
