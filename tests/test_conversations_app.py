"""Conversations that last, through the launched app: kill -9 mid-stream, restart on the same
data folder, the same owner finds everything; other owners find nothing, even with the id."""

from __future__ import annotations

import zipfile

import pytest
from gradio_client import handle_file

from tests.helpers import RunningApp, make_photo, wait_for_tokens, wait_until

pytestmark = pytest.mark.app

ALICE, BOB = "alice-secret-0123456789", "bob-secret-9876543210"


def test_a_crash_mid_reply_loses_nothing_that_was_said(tiny_models, tmp_path):
    app = RunningApp("--profile", "tiny", "--max-new-tokens", "4000", data_dir=tmp_path / "data")
    try:
        alice = app.client(ALICE)
        photo = make_photo(tmp_path / "red.png")
        for text in ("what is in this photo?", "and the colour?"):
            files = [handle_file(str(photo))] if text.startswith("what") else []
            job = alice.submit({"text": text, "files": files}, api_name="/chat")
            wait_for_tokens(job)
            alice.predict(api_name="/stop")  # 4000 tokens: stop each reply once it streams
            job.result(timeout=60)
        (conv_id,) = [c["id"] for c in alice.predict(api_name="/conversations")]
        third = alice.submit({"text": "tell me a very long story", "files": []}, api_name="/chat")
        watcher = app.client(
            ALICE
        )  # the store shows the growing reply (saved every SAVE_PARTIAL_S)
        wait_until(
            lambda: (
                (t := watcher.predict(conv_id, api_name="/open")) and len(t) == 6 and t[5]["text"]
            ),
            every=0.2,
            what="the store to hold part of the third reply",
        )
        app.kill()
        del third
    finally:
        app.stop()

    app = RunningApp("--profile", "tiny", "--max-new-tokens", "8", data_dir=tmp_path / "data")
    try:
        alice = app.client(ALICE)
        assert [c["id"] for c in alice.predict(api_name="/conversations")] == [conv_id]
        turns = alice.predict(conv_id, api_name="/open")
        assert [t["role"] for t in turns] == ["user", "assistant"] * 3
        assert (
            turns[0]["text"] == "what is in this photo?"
            and turns[0]["attachments"][0]["name"] == "red.png"
        )
        assert (
            turns[1]["text"] and turns[3]["text"] and turns[1]["stopped"]
        )  # the two stopped replies, intact
        assert (
            turns[5]["text"] and turns[5]["stopped"] and "server stopped" in turns[5]["error"]
        )  # marked interrupted
        text, files, info = alice.predict({"text": "are you back?", "files": []}, api_name="/chat")
        assert info["error"] is None and info["metrics"]["new_tokens"] > 0
        assert any(s["key"] == "restored" for s in info["steps"]), (
            "the photo is reloaded and says so"
        )
        assert len(alice.predict(conv_id, api_name="/open")) == 8

        bob = app.client(BOB)
        assert bob.predict(api_name="/conversations") == []
        with pytest.raises(Exception, match="not found"):
            bob.predict(conv_id, api_name="/open")
    finally:
        app.stop()


def test_owners_see_only_their_own_conversations(tiny_app, tmp_path):
    alice, bob, anon = tiny_app.client(ALICE), tiny_app.client(BOB), tiny_app.client()
    alice.predict({"text": "alice's question", "files": []}, api_name="/chat")
    bob.predict({"text": "bob's question", "files": []}, api_name="/chat")
    mine = alice.predict(api_name="/conversations")
    theirs = bob.predict(api_name="/conversations")
    assert mine and theirs and not {c["id"] for c in mine} & {c["id"] for c in theirs}
    assert anon.predict(api_name="/conversations") == [], "no header: a fresh anonymous owner"
    target = theirs[0]["id"]
    for endpoint, args in (
        ("/open", (target,)),
        ("/export", (target,)),
        ("/delete", (target,)),
        ("/rename", (target, "mine now")),
    ):
        with pytest.raises(Exception, match="not found"):
            alice.predict(*args, api_name=endpoint)
        with pytest.raises(Exception, match="not found"):
            alice.predict("0" * 32, *args[1:], api_name=endpoint)  # a guessed id
    assert bob.predict(api_name="/conversations") == theirs, "bob's conversation is untouched"


def test_rename_export_and_delete_over_the_api(tiny_app, tmp_path):
    carol = tiny_app.client("carol-secret-55555555")
    carol.predict({"text": "keep this", "files": []}, api_name="/chat")
    (conv,) = carol.predict(api_name="/conversations")
    assert conv["title"] == "keep this", "titled from the first message"
    assert carol.predict(conv["id"], "Renamed", api_name="/rename")[0]["title"] == "Renamed"
    archive = carol.predict(conv["id"], api_name="/export")
    with zipfile.ZipFile(archive) as z:
        assert "conversation.json" in z.namelist()
    assert carol.predict(conv["id"], api_name="/delete") == []
    assert carol.predict(api_name="/conversations") == []


def test_a_corrupt_database_is_reported_and_the_app_stays_up(tiny_models, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "chatbot.db").write_bytes(b"this is not a database" * 100)
    app = RunningApp("--profile", "tiny", "--max-new-tokens", "4", data_dir=data)
    try:
        c = app.client(ALICE)
        status = c.predict(api_name="/status")
        assert "cannot be saved" in status["saving"] and "chatbot.db" in status["saving"]
        text, files, info = c.predict({"text": "still there?", "files": []}, api_name="/chat")
        assert info["error"] is None and info["metrics"]["new_tokens"] > 0
        assert (data / "chatbot.db").read_bytes() == b"this is not a database" * 100, (
            "never overwritten"
        )
    finally:
        app.stop()


def test_the_same_message_twice_is_stored_twice(tiny_app):
    """Turns are dataclasses (equal by content): the store position must be found by identity."""
    dave = tiny_app.client("dave-secret-77777777")
    for _ in range(2):
        text, files, info = dave.predict({"text": "same words", "files": []}, api_name="/chat")
        assert not any(s["key"] == "saving" for s in info["steps"])
    (conv,) = dave.predict(api_name="/conversations")
    turns = dave.predict(conv["id"], api_name="/open")
    assert [t["text"] for t in turns if t["role"] == "user"] == ["same words", "same words"]
    assert all(t["text"] for t in turns if t["role"] == "assistant")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_twenty_clients_five_turns_each_are_stored_once_in_order(
    database, tiny_models, tmp_path, request
):
    """20 owners talk at once (the model slot serialises the replies, the store sees every write
    interleaved): each owner ends with exactly its 10 turns, in order, nobody else's."""
    from concurrent.futures import ThreadPoolExecutor

    url = (
        request.getfixturevalue("postgres").create_database() if database == "postgresql" else None
    )
    app = RunningApp(
        "--profile",
        "tiny",
        "--max-new-tokens",
        "3",
        *(["--database-url", url] if url else []),
        data_dir=tmp_path / "data",
    )
    try:

        def talk(n: int) -> list:
            c = app.client(f"owner-{n}-secret-xxxxxxxx")
            for turn in range(5):
                c.predict({"text": f"owner {n} turn {turn}", "files": []}, api_name="/chat")
            (conv,) = c.predict(api_name="/conversations")
            return c.predict(conv["id"], api_name="/open")

        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(talk, range(20)))
        for n, turns in enumerate(results):
            assert [t["text"] for t in turns if t["role"] == "user"] == [
                f"owner {n} turn {i}" for i in range(5)
            ]
            assert [t["role"] for t in turns] == ["user", "assistant"] * 5
            assert all(t["text"] and not t["error"] for t in turns if t["role"] == "assistant")
    finally:
        app.stop()


def test_signed_in_users_own_their_conversations_from_any_client(tiny_models, tmp_path):
    """--auth: the user name is the owner, so a second client (another browser) of the same
    user sees the same conversations; another user sees none."""
    from gradio_client import Client

    users = tmp_path / "users.txt"
    users.write_text("# name:password\nerin:pw-erin-1\nfrank:pw-frank-2\n")
    app = RunningApp(
        "--profile", "tiny", "--max-new-tokens", "3", "--auth", str(users), data_dir=tmp_path / "d"
    )
    try:
        erin = Client(app.url, auth=("erin", "pw-erin-1"), verbose=False)
        erin.predict({"text": "erin's note", "files": []}, api_name="/chat")
        again = Client(app.url, auth=("erin", "pw-erin-1"), verbose=False)
        assert [c["title"] for c in again.predict(api_name="/conversations")] == ["erin's note"]
        frank = Client(app.url, auth=("frank", "pw-frank-2"), verbose=False)
        assert frank.predict(api_name="/conversations") == []
    finally:
        app.stop()
