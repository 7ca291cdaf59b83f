"""The launched app driven by the real gradio_client: one Client is one conversation."""

from __future__ import annotations

import threading

import pytest
from gradio_client import handle_file
from PIL import Image

from chatbot.config import MAX_FILES_PER_MESSAGE, MAX_MESSAGE_CHARS
from tests.helpers import RunningApp, make_photo, wait_for_tokens, wait_until

pytestmark = pytest.mark.app


def chat(client, text="", files=()):
    text_out, files_out, info = client.predict(
        {"text": text, "files": [handle_file(str(f)) for f in files]}, api_name="/chat"
    )
    return text_out, files_out, info


def step(info, key):
    """The reply's step from the box `key` (steps.KEYS): what API clients match on."""
    return next(s for s in info["steps"] if s["key"] == key)


def test_page_is_served_and_lists_the_chat_endpoint(tiny_app):
    api = tiny_app.client().view_api(print_info=False, return_format="dict")
    assert "/chat" in api["named_endpoints"] and "/stop" in api["named_endpoints"]


def test_text_then_two_photos_then_a_follow_up(tiny_app, photos):
    c = tiny_app.client()
    text, files, info = chat(c, "Hello, who are you?")
    assert text and info["error"] is None and step(info, "llm")["done"]
    text, _, info = chat(c, "Compare these", photos)
    enc = step(info, "encode")["detail"]
    assert "red.png" in enc and "blue.jpg" in enc and enc.count("encoded in") == 2
    text, _, info = chat(c, "What about the first photo?")
    assert step(info, "encode")["detail"].count("cached") == 2, "the encoder must not run again"
    assert "reused from this conversation's cache" in step(info, "llm")["detail"]


@pytest.mark.parametrize(
    "build,needle",
    [
        (lambda d: ("", []), "empty"),
        (lambda d: ("x" * (MAX_MESSAGE_CHARS + 10), []), "MAX_MESSAGE_CHARS"),
        (
            lambda d: (
                "many",
                [make_photo(d / f"{i}.png") for i in range(MAX_FILES_PER_MESSAGE + 1)],
            ),
            "MAX_FILES_PER_MESSAGE",
        ),
    ],
)
def test_bad_messages_over_the_api(tiny_app, tmp_path, build, needle):
    c = tiny_app.client()
    chat(c, "first")
    text, files, info = chat(c, *build(tmp_path))
    assert needle in info["error"] and needle in text
    ok, _, info = chat(c, "still alive?")
    assert ok and info["error"] is None


def test_bad_files_over_the_api(tiny_app, tmp_path):
    c = tiny_app.client()
    chat(c, "with a photo", [make_photo(tmp_path / "good.png")])
    renamed = tmp_path / "notes.jpg"
    renamed.write_text("plain text pretending to be a photo")
    broken = tmp_path / "broken.png"
    broken.write_bytes(make_photo(tmp_path / "src.png").read_bytes()[:50])
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.truncate(25 * 2**20)
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ")
    for f, needle in [
        (renamed, "not an image"),
        (broken, "corrupt"),
        (bomb, "pixels"),
        (big, "MAX_FILE_MB"),
        (exe, "not supported"),
    ]:
        _, _, info = chat(c, "look", [f])
        assert info["error"] and needle in info["error"], (f.name, info["error"])
    _, _, info = chat(c, "and the first photo?")
    assert info["error"] is None and step(info, "encode")["detail"].count("cached") == 1


def test_two_users_at_once_never_see_each_other(tiny_app, tmp_path):
    a, b = tiny_app.client(), tiny_app.client()
    pa, pb = (
        make_photo(tmp_path / "alice.png", (250, 0, 0)),
        make_photo(tmp_path / "bob.png", (0, 0, 250)),
    )
    results = {}

    def session(name, client, photo):
        chat(client, f"I am {name}", [photo])
        results[name] = chat(client, "what did I send?")

    threads = [
        threading.Thread(target=session, args=a_) for a_ in (("alice", a, pa), ("bob", b, pb))
    ]
    [t.start() for t in threads]
    [t.join(120) for t in threads]
    alice = step(results["alice"][2], "encode")["detail"]
    bob = step(results["bob"][2], "encode")["detail"]
    assert "alice.png" in alice and "bob.png" not in alice
    assert "bob.png" in bob and "alice.png" not in bob
    assert alice.count("photo ") == 1 and bob.count("photo ") == 1


def test_stop_really_stops_and_the_next_message_is_served(long_app):
    c = long_app.client()
    job = c.submit({"text": "a very long answer please", "files": []}, api_name="/chat")
    wait_for_tokens(job)
    c.predict(api_name="/stop")
    text, _, info = job.result(timeout=30)
    assert info["stopped"] and "stopped" in step(info, "llm")["detail"]
    assert 0 < info["metrics"]["new_tokens"] < 4000  # of 30,000: stopped where it was
    c.predict(api_name="/stop")  # a stale stop must not cut the next answer short
    job2 = c.submit({"text": "next", "files": []}, api_name="/chat")
    wait_until(job2.outputs, 30, what="the next message to start after Stop")
    c.predict(api_name="/stop")
    job2.result(timeout=30)


def test_a_picture_arrives_as_a_downloadable_file_and_redraws_identically(tiny_app):
    import numpy as np

    c = tiny_app.client()
    text, files, info = chat(c, "/imagine a red fox in the snow")
    assert info["error"] is None and len(files) == 1
    path = files[0] if isinstance(files[0], str) else files[0]["path"]
    img = Image.open(path)
    assert img.format == "PNG" and "chatbot:provenance" in img.info
    card = info["image_request"]
    assert card["prompt"] and step(info, "output_projector")["done"] and step(info, "draw")["done"]
    _, files2, info2 = c.predict(card, api_name="/redraw")
    path2 = files2[0] if isinstance(files2[0], str) else files2[0]["path"]
    assert np.array_equal(np.asarray(img), np.asarray(Image.open(path2))), (
        "same request + seed -> same image"
    )


def test_pdf_and_sheet_over_the_api(tiny_app, tmp_path):
    from tests import docfixtures as df

    c = tiny_app.client()
    pdf = df.make_text_pdf(
        tmp_path / "progress.pdf",
        [(f"Section {i}", f"Unique facts of section {i}.") for i in range(12)],
    )
    job = c.submit(
        {"text": "What is in section 7?", "files": [handle_file(str(pdf))]}, api_name="/chat"
    )
    job.result(timeout=60)
    states = [
        (s["done"], s["detail"])
        for out in job.outputs()
        for s in out[2]["steps"]
        if s["key"] == "documents"
    ]
    # the step streams while the file is read (a new step always goes out at once: paced; its
    # page-by-page progress is test_documents_chat's, this fast parse may finish between sends)
    assert states and not states[0][0] and states[-1][0], "ingestion progress streams to clients"
    assert "12 pages" in states[-1][1]
    text, files, info = chat(
        c, "What was the 2023 revenue?", [df.make_report_pdf(tmp_path / "report.pdf")]
    )
    assert info["error"] is None and "[report.pdf p. " in step(info, "retrieval")["detail"]
    assert step(info, "documents")["detail"] and files, "a cited page thumbnail arrives as a file"
    _, _, info = chat(c, "read this too", [df.make_encrypted_pdf(tmp_path / "locked.pdf")])
    assert "password" in info["error"].lower()
    _, _, info = chat(c, "and this sheet?", [df.make_csv(tmp_path / "cities.csv")])
    assert info["error"] is None and "Seoul" in step(info, "documents")["detail"]
    assert (
        "[report.pdf" in step(info, "retrieval")["detail"]
        or "[cities.csv" in step(info, "retrieval")["detail"]
    ), "with several files indexed, citations name the file"


def test_retry_undo_and_clear_edit_only_this_conversation(tiny_app, photos):
    def user_texts(history):  # Chatbot messages: content is a list of typed parts
        return [
            p.get("text")
            for m in history
            if m["role"] == "user"
            for p in m["content"]
            if p["type"] == "text"
        ]

    c = tiny_app.client()
    chat(c, "first", photos[:1])
    chat(c, "second")
    history = c.predict(api_name="/retry")
    assert user_texts(history) == ["first", "second"], (
        "retry answers the last message again, in place"
    )
    history, box = c.predict(api_name="/undo")
    assert box["text"] == "second", "undo puts the last message back in the box"
    assert user_texts(history) == ["first"]
    _, _, info = chat(c, "and the photo?")
    assert step(info, "encode")["detail"].count("cached") == 1, (
        "undo keeps earlier photos and their encodings"
    )
    history, box = c.predict(api_name="/clear")
    assert history == [] and not box["text"] and not box["files"]
    _, _, info = chat(c, "fresh start")
    assert not any(s["key"] == "encode" for s in info["steps"]), "clear forgets the photos"


def test_auto_profile_without_network_says_it_fell_back_to_offline_and_why():
    app = RunningApp("--profile", "auto")  # conftest sets HF_HUB_OFFLINE=1: no Hub here
    try:
        status = app.client().predict(api_name="/status")
        assert status["profile"] == "offline" and "offline because" in status["reason"]
        assert "smollm2" in status["llm"].lower() and status["generator"] is None
    finally:
        app.stop()
