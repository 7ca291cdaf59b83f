"""A real browser: Debian Chromium driven by Playwright uploads a photo and reads the streamed
reply."""

from __future__ import annotations

import pytest

from tests.browsing import ARTIFACTS, open_page, send
from tests.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.app]


def test_upload_a_photo_and_watch_the_reply_stream(tiny_app, browser, photos):
    page = open_page(browser, tiny_app.url)
    assert "tiny" in page.content(), "the header names the active profile"
    send(page, "What is in this photo?", [photos[0]])
    bot = page.locator(".message.bot, [data-testid='bot']")
    bot.first.wait_for(timeout=60_000)
    # the chain step appears as a collapsible thought, and the reply text arrives
    page.get_by_text("CLIPVisionModel → LlavaMultiModalProjector").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "[...document.querySelectorAll('.message.bot, [data-testid=\"bot\"]')]"
        ".some(e => e.innerText.trim().length > 5)",
        timeout=60_000,
    )
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser_chat.png"), full_page=True)
    assert page.locator("img").count() >= 1, "the uploaded photo is shown in the conversation"
    # a second turn in the same page keeps the first, and its encoder step says the photo was
    # cached; sent once the first exchange is done (the sidebar lists it then: the box ignores a
    # second Enter while an answer is still running)
    page.locator("#conversation-list").get_by_text("What is in this photo?").first.wait_for(
        timeout=60_000
    )
    send(page, "and again?")
    open_step_until(page, "🖼️ CLIPVisionModel → LlavaMultiModalProjector", index=1, text="cached")
    page.close()


def open_step_until(page, title, index, text, timeout_s=60):
    """Open the index-th step titled `title` the way a user would (a click on its title) until
    `text` shows in it. A finished step collapses and a pending one is open, so one click may
    close it: click again on the next round. No timing assumption: it waits for the app's state."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    def shown() -> bool:
        titles = page.get_by_text(title, exact=True)
        if titles.count() > index:
            titles.nth(index).click()
        try:
            page.get_by_text(text).first.wait_for(state="visible", timeout=5_000)
            return True
        except PlaywrightTimeout:
            return False

    wait_until(shown, timeout_s, what=f"{text!r} to show in step {index} titled {title!r}", every=0)


def test_a_requested_picture_appears_inline(tiny_app, browser):
    page = open_page(browser, tiny_app.url)
    send(page, "/imagine a lighthouse at night")
    page.wait_for_function(
        "[...document.querySelectorAll('.message.bot img, [data-testid=\"bot\"] img')].length > 0",
        timeout=90_000,
    )
    page.get_by_text("Output projector").first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "browser_picture.png"), full_page=True)
    page.close()


def test_a_pdf_upload_gets_a_cited_answer(tiny_app, browser, tmp_path):
    from tests import docfixtures as df

    page = open_page(browser, tiny_app.url)
    send(page, "What was the total revenue in 2023?", [df.make_report_pdf(tmp_path / "report.pdf")])
    page.wait_for_function(  # the cited page's thumbnail arrives with the finished answer
        "[...document.querySelectorAll('.message.bot img, [data-testid=\"bot\"] img')].length > 0",
        timeout=60_000,
    )
    page.get_by_text(
        "📚 Retrieval"
    ).first.click()  # the finished step is collapsed: one click shows the passages
    page.wait_for_function("document.body.innerText.includes('[p. ')", timeout=10_000)
    page.get_by_text("model ready").first.wait_for(timeout=10_000)  # the header follows the loader
    page.screenshot(path=str(ARTIFACTS / "browser_pdf.png"), full_page=True)
    page.close()


def test_the_ui_speaks_korean_to_a_korean_browser(tiny_app, browser):
    page = open_page(browser, tiny_app.url, locale="ko-KR")
    page.get_by_text("지우기").first.wait_for(timeout=15_000)
    page.screenshot(path=str(ARTIFACTS / "browser_korean.png"))
    page.close()


def test_a_conversation_survives_a_reload_and_delete_removes_it(tiny_app, browser):
    """The browser keeps its owner secret (BrowserState): a reload shows the same conversation and
    the sidebar lists it; Delete (confirmed) removes it, also after another reload."""
    context = browser.new_context(locale="en-US", viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(tiny_app.url, wait_until="domcontentloaded")
    page.wait_for_selector("#chat-box textarea", timeout=30_000)
    send(page, "remember the lighthouse keeper")
    listed = page.locator("#conversation-list").get_by_text("remember the lighthouse keeper")
    listed.first.wait_for(timeout=60_000)  # saved and listed once the reply is done
    page.reload(wait_until="domcontentloaded")
    page.locator("#conversation-list").get_by_text("remember the lighthouse keeper").first.wait_for(
        timeout=30_000
    )
    page.locator(".message.user, [data-testid='user']").get_by_text(
        "remember the lighthouse keeper"
    ).first.wait_for(timeout=30_000)  # the chat is back on screen
    page.screenshot(path=str(ARTIFACTS / "browser_reload.png"), full_page=True)
    page.get_by_text("Delete conversation").first.click()
    page.get_by_text("Delete for good").first.click()
    page.locator("#conversation-list").get_by_text("remember the lighthouse keeper").first.wait_for(
        state="detached", timeout=30_000
    )
    page.reload(wait_until="domcontentloaded")
    page.wait_for_selector("#chat-box textarea", timeout=30_000)
    page.locator("#conversation-list").wait_for(timeout=30_000)
    page.wait_for_function(
        "!document.body.innerText.includes('remember the lighthouse keeper')", timeout=30_000
    )
    context.close()


def test_a_video_clip_shows_its_frames_and_what_was_said(tiny_app, browser, tmp_path):
    from tests.mediafixtures import ENGLISH, make_video, speak

    clip = make_video(tmp_path / "clip.mp4", soundtrack=speak(ENGLISH, tmp_path / "voice.wav"))
    page = open_page(browser, tiny_app.url)
    send(page, "what happens in this video?", [clip])
    page.get_by_text("🎬 clip.mp4").first.wait_for(timeout=90_000)
    page.wait_for_function(
        "document.body.innerText.includes('[soundtrack of clip.mp4]')", timeout=90_000
    )
    page.screenshot(path=str(ARTIFACTS / "browser_video.png"), full_page=True)
    page.close()


def test_a_browser_finds_its_conversation_after_the_server_restarts(tiny_models, browser, tmp_path):
    """The owner secret lives in the browser's localStorage, encrypted with a key kept in the
    data folder: after a restart the same browser is still the same owner."""
    from tests.helpers import RunningApp

    app = RunningApp("--profile", "tiny", "--max-new-tokens", "4", data_dir=tmp_path / "data")
    context = browser.new_context(locale="en-US", viewport={"width": 1300, "height": 1000})
    try:
        page = context.new_page()
        page.goto(app.url, wait_until="domcontentloaded")
        page.wait_for_selector("#chat-box textarea", timeout=30_000)
        send(page, "the keeper's logbook")
        page.locator("#conversation-list").get_by_text("the keeper's logbook").first.wait_for(
            timeout=60_000
        )
        port = app.port
        app.stop()
        app = RunningApp(
            "--profile", "tiny", "--max-new-tokens", "4", data_dir=tmp_path / "data", port=port
        )
        page.reload(wait_until="domcontentloaded")
        page.locator("#conversation-list").get_by_text("the keeper's logbook").first.wait_for(
            timeout=30_000
        )
        page.locator(".message.user, [data-testid='user']").get_by_text(
            "the keeper's logbook"
        ).first.wait_for(timeout=30_000)
    finally:
        context.close()
        app.stop()
