"""Hostile callers of the launched app (gradio_client and plain HTTP, as an outside tester would):
files are served and accepted only for their owner, bad /redraw requests never poison a
conversation, and a request still waiting in the queue can be stopped. Each case checks the
message, that the conversation goes on (the next picture and the next turn work) and that no
other owner's file is reached. Guards the findings of issue 13: any uploaded or generated file
downloadable by anyone with its URL, another session's upload path encoded into a stranger's
chat, and Stop ignored while the request was queued."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file

from chatbot.config import MAX_IMAGE_PROMPT_CHARS, MAX_SEED
from tests.browsing import open_page, send
from tests.helpers import make_photo, wait_for_tokens, wait_until

ALICE, BOB = "hostile-alice-secret-0123456789", "hostile-bob-secret-9876543210"


def client(app, secret=None) -> Client:
    """A client that keeps the server's file URLs instead of downloading them."""
    headers = {"Authorization": f"Bearer {secret}"} if secret else None
    return Client(app.url, verbose=False, headers=headers, download_files=False)


def chat(c, text, files=()):
    return c.predict(
        {"text": text, "files": [handle_file(str(f)) for f in files]}, api_name="/chat"
    )


def owner_cookie(app, secret) -> dict:
    """The cookie a browser of this owner holds: the token the page load hands out (signed with
    the key in the data folder; tests/test_hostile_api.py's browser test sets it for real)."""
    from chatbot.ui.files import OWNER_COOKIE, OwnerTokens
    from chatbot.ui.owners import owner_of

    key = (app.data_dir / "browser-state.key").read_text().strip()
    return {OWNER_COOKIE: OwnerTokens(key).sign(owner_of(secret))}


def fetch(app, path_or_url, secret=None, cookies=None) -> httpx.Response:
    url = path_or_url if "://" in path_or_url else f"{app.url}gradio_api/file={path_or_url}"
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    return httpx.get(url, headers=headers, cookies=cookies, timeout=30)


def store_path(app, sha256: str, ext: str = "png") -> str:
    return str(app.data_dir / "files" / sha256[:2] / f"{sha256[2:]}.{ext}")


@pytest.mark.app
def test_files_are_served_to_their_owner_only(tiny_app, tmp_path):
    alice, bob = client(tiny_app, ALICE), client(tiny_app, BOB)
    photo = make_photo(tmp_path / "alice-only.png", (10, 200, 30))
    _, files, info = chat(alice, "/imagine a green lantern like my photo", [photo])
    assert info["error"] is None and files
    drawn_url = files[0]["url"]  # in Gradio's cache, as handed to Alice
    (conv,) = alice.predict(api_name="/conversations")
    turns = alice.predict(conv["id"], api_name="/open")
    drawn_stored = next(f for t in turns for f in t["files"])  # the store's copy (/open names it)
    upload_stored = store_path(tiny_app, turns[0]["attachments"][0]["sha256"])
    original = photo.read_bytes()
    assert fetch(tiny_app, upload_stored, ALICE).content == original, "the owner gets her upload"
    assert fetch(tiny_app, upload_stored, cookies=owner_cookie(tiny_app, ALICE)).content == original
    for target in (drawn_url, drawn_stored, upload_stored):
        assert fetch(tiny_app, target, ALICE).status_code == 200, target
        assert fetch(tiny_app, target, cookies=owner_cookie(tiny_app, ALICE)).status_code == 200, (
            target
        )
        forged = {"chatbot-owner": owner_cookie(tiny_app, ALICE)["chatbot-owner"][:-4] + "AAAA"}
        for stranger in (
            {"secret": BOB},
            {"cookies": owner_cookie(tiny_app, BOB)},
            {},
            {"cookies": forged},
        ):
            answer = fetch(tiny_app, target, **stranger)
            assert answer.status_code == 404 and original not in answer.content, (target, stranger)
    guessed = store_path(tiny_app, "ab" + "c" * 62)
    assert fetch(tiny_app, guessed, ALICE).status_code == 404, (
        "a guessed name: 404, as for another's file"
    )
    assert fetch(tiny_app, drawn_stored[: -len(".png")] + ".jpg", ALICE).status_code == 404, (
        "her file, another name"
    )
    page = (
        tmp_path / "notes.html"
    )  # an uploaded page is served to its owner, but never runs script here
    page.write_text(
        "<html><body><h1>Notes</h1><script>alert(document.cookie)</script></body></html>"
    )
    _, _, info = chat(alice, "read my notes", [page])
    assert info["error"] is None
    turns = alice.predict(conv["id"], api_name="/open")
    served = fetch(
        tiny_app, store_path(tiny_app, turns[-2]["attachments"][0]["sha256"], "html"), ALICE
    )
    assert served.status_code == 200 and "sandbox" in served.headers["content-security-policy"]
    assert served.headers["x-content-type-options"] == "nosniff"
    # both conversations go on: the next picture and the next turn
    _, files, info = chat(alice, "/imagine the lantern at night")
    assert (
        info["error"] is None
        and files
        and fetch(tiny_app, files[0]["url"], ALICE).status_code == 200
    )
    text, _, info = chat(bob, "hello")
    assert text and info["error"] is None
    assert fetch(tiny_app, files[0]["url"], BOB).status_code == 404


@pytest.mark.app
def test_an_anonymous_client_still_downloads_what_it_is_shown(tiny_app):
    """Without a secret a client cannot prove who it is: its pictures are served by their
    unguessable URL (as in plain Gradio); gradio_client downloads them."""
    anon = tiny_app.client()
    _, files, info = anon.predict({"text": "/imagine a paper boat", "files": []}, api_name="/chat")
    assert (
        info["error"] is None and files and Path(files[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    )


@pytest.mark.app
def test_two_clients_without_a_secret_may_send_the_same_photo(tiny_app, tmp_path):
    """Gradio names an upload by a keyed hash of its bytes: two clients uploading the same
    photo share one path; each upload lets its sender use it."""
    photo = make_photo(tmp_path / "shared.png", (77, 77, 7))
    for c in (tiny_app.client(), tiny_app.client()):
        _, _, info = c.predict(
            {"text": "this one", "files": [handle_file(str(photo))]}, api_name="/chat"
        )
        assert info["error"] is None, info["error"]


def test_grants_and_owner_tokens_without_a_server(tmp_path):
    from chatbot.ui.files import Access, OwnerTokens

    tokens = OwnerTokens("key")
    assert tokens.owner(tokens.sign("o-alice")) == "o-alice"
    assert tokens.owner(OwnerTokens("other key").sign("o-alice")) is None
    assert (
        tokens.owner("o-alice.") is None and tokens.owner("") is None and tokens.owner(None) is None
    )
    access = Access(None, "key", cache_dir=tmp_path)
    upload = tmp_path / "h1" / "photo.png"
    upload.parent.mkdir()
    upload.write_bytes(b"x")
    access.grant(upload, "o-alice")
    assert (
        access.may_read(str(upload), {"o-alice"})
        and access.may_read(str(upload), {"o-bob"}) is False
    )
    assert (
        access.foreign("o-bob", [str(upload)]) == str(upload)
        and access.foreign("o-alice", [str(upload)]) is None
    )
    access.uploaded(
        upload
    )  # Bob uploads the same bytes without a secret: his next message may use it
    assert access.foreign("a-bob", [str(upload)]) is None and access.foreign(
        "o-carol", [str(upload)]
    ) == str(upload)
    outside = tmp_path.parent / "elsewhere.png"
    assert access.may_read(str(outside), set()) is None, "not ours to judge: Gradio's own rules"
    shown = access.show(str(upload), "a-dave", proven=False)
    assert access.may_read(shown, set()), "shown to a client without a secret: its URL is its key"


def test_files_outside_the_store_live_in_a_private_folder_of_this_process(tmp_path):
    import os
    import stat
    import subprocess
    import sys

    from chatbot.cleanup import RUN_PREFIX, run_dir, sweep_dead_runs
    from chatbot.generator import OUTPUT_DIR
    from chatbot.stages.cite import THUMBNAIL_DIR
    from chatbot.stages.listen import FRAME_DIR
    from chatbot.voice_out import SPEECH_DIR

    for folder in (OUTPUT_DIR, FRAME_DIR, THUMBNAIL_DIR, SPEECH_DIR):
        assert folder.parent == run_dir() and str(os.getpid()) in folder.parent.name
    assert stat.S_IMODE(run_dir().stat().st_mode) == 0o700, (
        "no other user reads or plants files there"
    )
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (tmp_path / f"{RUN_PREFIX}{dead.stdout.strip()}-x").mkdir()
    (tmp_path / f"{RUN_PREFIX}{os.getpid()}-y").mkdir()
    assert sweep_dead_runs(tmp_path) == 1 and (tmp_path / f"{RUN_PREFIX}{os.getpid()}-y").exists()


def send_path(c, monkeypatch, path):
    """A message naming a file on the server by its path, as a remote client would send one it
    never uploaded (gradio_client would upload it again from this machine's shared /tmp)."""
    from gradio_client.client import Endpoint

    with monkeypatch.context() as m:
        m.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)
        return c.predict(
            {
                "text": "describe my photo",
                "files": [{"path": path, "meta": {"_type": "gradio.FileData"}}],
            },
            api_name="/chat",
        )


@pytest.mark.app
def test_another_sessions_files_are_refused_as_input(tiny_app, tmp_path, monkeypatch):
    alice, bob = client(tiny_app, "input-" + ALICE), client(tiny_app, "input-" + BOB)
    anon = client(tiny_app)
    chat(alice, "my photo", [make_photo(tmp_path / "alice-private.png", (200, 0, 200))])
    _, box = alice.predict(api_name="/undo")
    upload = box["files"][0]["path"]  # Alice's upload, in Gradio's cache
    chat(alice, "my photo again", [make_photo(tmp_path / "alice-private.png", (200, 0, 200))])
    (conv,) = alice.predict(api_name="/conversations")
    stored = store_path(
        tiny_app, alice.predict(conv["id"], api_name="/open")[0]["attachments"][0]["sha256"]
    )
    chat(anon, "anonymous photo", [make_photo(tmp_path / "anon.png", (0, 90, 90))])
    anon_upload = anon.predict(api_name="/undo")[1]["files"][0]["path"]
    chat(bob, "first")
    for path in (upload, stored, anon_upload):
        _, _, info = send_path(bob, monkeypatch, path)
        assert "is not one of your files" in (info["error"] or ""), path
        assert not any(s["key"] == "encode" for s in info["steps"]), "nothing was encoded"
    (bob_conv,) = bob.predict(api_name="/conversations")
    turns = bob.predict(bob_conv["id"], api_name="/open")
    assert [t["text"] for t in turns if t["role"] == "user"] == ["first"], (
        "nothing was added to Bob's chat"
    )
    assert not any(t["attachments"] for t in turns)
    text, _, info = chat(bob, "still fine?")
    assert text and info["error"] is None
    _, _, info = chat(alice, "and my photo?")
    assert info["error"] is None and "alice-private.png" in next(
        s["detail"] for s in info["steps"] if s["key"] == "encode"
    ), "Alice keeps using her own file"


@pytest.mark.app
def test_bad_redraw_requests_one_after_another_leave_the_conversation_working(tiny_app):
    """The issue's list in one conversation: each refused with a message naming its limit, the
    stored image request never replaced, the next picture and the next turn still fine."""
    c = client(tiny_app, "hostile-redraw-owner-secret-1")
    _, files, info = chat(c, "/imagine a red kite over the sea")
    card = info["image_request"]
    assert files and card
    for request, needle in [
        ({**card, "seed": 2**64}, "MAX_SEED"),
        ({**card, "seed": "lots"}, "whole number"),
        ("not a dict", "JSON object"),
        (["prompt"], "JSON object"),
        ({**card, "width": 10**6}, "MAX_GENERATION_SIDE"),
        ({**card, "prompt": "x" * 100_000}, "MAX_IMAGE_PROMPT_CHARS"),
        ({**card, "steps": 0}, "MAX_GENERATION_STEPS"),
    ]:
        _, files, info = c.predict(request, api_name="/redraw")
        assert needle in (info["error"] or "") and not files, (str(request)[:80], info["error"])
    assert 100_000 > MAX_IMAGE_PROMPT_CHARS
    _, files, info = c.predict({**card, "seed": MAX_SEED}, api_name="/redraw")
    assert files and info["error"] is None and info["image_request"]["prompt"] == card["prompt"]
    _, files, info = chat(c, "/imagine the same kite at dusk")
    assert files and info["error"] is None and info["image_request"]["seed"] == MAX_SEED
    text, _, info = chat(c, "thanks!")
    assert text and info["error"] is None
    (conv,) = c.predict(api_name="/conversations")
    stored = [
        t["image_request"] for t in c.predict(conv["id"], api_name="/open") if t["image_request"]
    ]
    assert all(r["seed"] <= MAX_SEED and len(r["prompt"]) <= MAX_IMAGE_PROMPT_CHARS for r in stored)


def wait_in_queue(job):
    """Wait until the server has queued the job (Gradio's queue sent its place in line): from
    then on the app knows when it was sent, and a /stop sent afterwards reaches it."""
    wait_until(lambda: job.status().code.name == "IN_QUEUE", 30, what="the job to be queued")


@pytest.mark.app
def test_stop_reaches_a_request_still_waiting_in_the_queue(long_app):
    """One model slot: Bob's message waits behind Alice's long reply. Bob's /stop cancels it
    before it runs (no token), his conversation keeps the message marked stopped, and his next
    message is answered; Alice's reply is untouched by Bob's Stop."""
    alice, bob = (
        long_app.client("queue-alice-secret-0123"),
        long_app.client("queue-bob-secret-45678"),
    )
    first = alice.submit({"text": "tell me a very long story", "files": []}, api_name="/chat")
    wait_for_tokens(first)
    waiting = bob.submit({"text": "my turn?", "files": []}, api_name="/chat")
    wait_in_queue(waiting)
    assert waiting.status().code.name in ("IN_QUEUE", "STARTING", "JOINING_QUEUE"), waiting.status()
    bob.predict(api_name="/stop")
    streamed = len(first.outputs())  # Alice's reply streams on after Bob's Stop has returned
    wait_until(
        lambda: first.done() or len(first.outputs()) >= streamed + 3,
        what="Alice's reply to stream on after Bob's Stop, or to end",
    )
    assert not first.done(), "Bob's Stop does not stop Alice"
    alice.predict(api_name="/stop")
    _, _, alice_info = first.result(timeout=30)
    assert alice_info["stopped"] and alice_info["metrics"]["new_tokens"] > 0
    _, _, info = waiting.result(timeout=30)
    assert info["stopped"] and "waiting in the queue" in info["error"], info
    assert not info["metrics"] and not any(s["key"] == "llm" for s in info["steps"]), "no model ran"
    (conv,) = bob.predict(api_name="/conversations")
    turns = bob.predict(conv["id"], api_name="/open")
    assert (
        [t["role"] for t in turns] == ["user", "assistant"]
        and turns[1]["stopped"]
        and not turns[1]["text"]
    )
    nxt = bob.submit({"text": "now?", "files": []}, api_name="/chat")
    wait_for_tokens(nxt)
    bob.predict(api_name="/stop")
    _, _, info = nxt.result(timeout=30)
    assert info["error"] is None and info["metrics"]["new_tokens"] > 0


@pytest.mark.app
def test_cancelling_a_job_in_the_queue_or_while_it_runs(long_app):
    """gradio_client's job.cancel(): a queued job never runs (the conversation gains nothing);
    a running one stops the model at once (the slot is free for the next job) and its reply is
    kept, marked stopped, not left 'streaming'."""
    carol = long_app.client("cancel-carol-secret-0123")
    dave = long_app.client("cancel-dave-secret-45678")
    running = carol.submit({"text": "a long answer please", "files": []}, api_name="/chat")
    wait_for_tokens(running)
    queued = dave.submit({"text": "never run this", "files": []}, api_name="/chat")
    wait_in_queue(queued)
    queued.cancel()
    running.cancel()
    after = dave.submit({"text": "and this one?", "files": []}, api_name="/chat")
    wait_for_tokens(after, timeout=30)  # one model slot: it streams once the cancelled reply let go
    dave.predict(api_name="/stop")
    _, _, info = after.result(timeout=30)
    assert info["error"] is None
    (conv,) = dave.predict(api_name="/conversations")
    texts = [t["text"] for t in dave.predict(conv["id"], api_name="/open") if t["role"] == "user"]
    assert texts == ["and this one?"], "the cancelled queued job never ran"
    (conv,) = carol.predict(api_name="/conversations")
    turns = wait_until(
        lambda: (t := carol.predict(conv["id"], api_name="/open"))[-1]["stopped"] and t,
        30,
        what="Carol's cancelled reply to be stored, marked stopped",
    )
    assert turns[-1]["stopped"] and turns[-1]["text"], "the cancelled reply is kept, marked stopped"


@pytest.mark.browser
@pytest.mark.app
def test_a_browser_sees_its_own_pictures_and_nobody_else_does(tiny_app, browser, photos):
    """The real owner cookie: set by the page load, sent with every <img>; another browser (a
    new owner) gets 404 for the same URL, and the cookie is SameSite=Strict."""
    page = open_page(browser, tiny_app.url)
    send(page, "What is in this photo?", [photos[0]])
    page.wait_for_function(
        "[...document.querySelectorAll('.message.bot, [data-testid=\"bot\"]')]"
        ".some(e => e.innerText.trim().length > 5)",
        timeout=60_000,
    )
    page.locator("#conversation-list").get_by_text("What is in this photo?").first.wait_for(
        timeout=60_000
    )  # the sidebar lists the saved conversation
    page.reload(
        wait_until="domcontentloaded"
    )  # restored from the store: the photo is served from it
    page.wait_for_function(
        "[...document.querySelectorAll('img')].some(i => i.src.includes('/files/'))", timeout=30_000
    )
    page.wait_for_function(
        "[...document.querySelectorAll('img')].filter(i => i.src.includes('/gradio_api/file=')"
        ").every(i => i.complete && i.naturalWidth > 0)",
        timeout=30_000,
    )
    src = page.evaluate(
        "[...document.querySelectorAll('img')].map(i => i.src).find(s => s.includes('/files/'))"
    )
    cookie = next(c for c in page.context.cookies() if c["name"] == "chatbot-owner")
    assert cookie["sameSite"] == "Strict"
    assert page.request.get(src).status == 200
    other = browser.new_context()
    try:
        assert other.request.get(src).status == 404, "another browser: not found"
    finally:
        other.close()
        page.close()
