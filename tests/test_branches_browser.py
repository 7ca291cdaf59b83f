"""The message tree in a real browser (Debian Chromium): the Chatbot's own Edit button makes a
new branch shown as ‹ 2/2 ›, the Alternatives dropdown switches back to ‹ 1/2 ›, and a 👍 with
a comment lands on the reply in the store. Waits on the store's rows (read-only), never on time."""

from __future__ import annotations

import sqlite3

import pytest

from tests.browsing import ARTIFACTS, open_page, send
from tests.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.app]


def rows(app, sql: str) -> list[tuple]:
    """A read-only look at the launched app's SQLite store."""
    db = sqlite3.connect(f"file:{app.data_dir / 'chatbot.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def done_turns(app, conversation_filter: str) -> int:
    return rows(
        app,
        "SELECT COUNT(*) FROM turns JOIN conversations c ON c.id = turns.conversation_id "
        f"WHERE turns.status = 'done' AND c.title = '{conversation_filter}'",
    )[0][0]


def test_edit_in_the_browser_then_switch_back_and_rate(tiny_app, browser):
    page = open_page(browser, tiny_app.url)
    send(page, "first words of the branch test")
    page.locator("#conversation-list").get_by_text("first words of the branch test").first.wait_for(
        timeout=60_000
    )
    title = "first words of the branch test"
    send(page, "second words")
    wait_until(lambda: done_turns(tiny_app, title) == 4, what="the second reply to be stored")

    page.locator('#chat button[aria-label="Edit"]').nth(1).click()  # the second user message
    page.locator("#chat textarea.edit-textarea").fill("second, edited")
    page.locator('#chat button[aria-label="Submit"]').click()
    wait_until(lambda: done_turns(tiny_app, title) == 6, what="the edit's reply to be stored")
    chat = page.locator("#chat")
    chat.get_by_text("‹ 2/2 ›").first.wait_for(timeout=30_000)
    assert "second, edited" in chat.inner_text() and "second words" not in chat.inner_text()

    page.locator("#branches input").click()
    page.locator("#branches li[role=option]").filter(has_text="‹ 1/2 ›").first.click()
    chat.get_by_text("‹ 1/2 ›").first.wait_for(timeout=30_000)
    wait_until(lambda: "second words" in chat.inner_text(), what="the old branch on screen")
    heads = rows(tiny_app, f"SELECT head FROM conversations WHERE title = '{title}'")
    assert heads == [(3,)], "the store shows the old branch next time too"

    page.locator("#comment textarea").fill("clear enough")
    page.locator('#chat button[aria-label="Like"]').last.click()
    wait_until(
        lambda: (
            rows(
                tiny_app,
                "SELECT rating, comment FROM turns WHERE rating IS NOT NULL AND conversation_id = "
                f"(SELECT id FROM conversations WHERE title = '{title}')",
            )
            == [("up", "clear enough")]
        ),
        what="the 👍 and its comment in the store",
    )
    liked = page.locator('#chat button[aria-label="Liked"]')  # a given 👍 is labelled so
    assert liked.count() == 1
    page.reload(wait_until="domcontentloaded")
    chat.get_by_text("‹ 1/2 ›").first.wait_for(timeout=30_000)  # the path the store keeps
    liked.first.wait_for(timeout=30_000)  # the stored 👍, shown again after the reload
    assert liked.count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser_branches.png"), full_page=True)
    page.close()
