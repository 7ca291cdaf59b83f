"""scripts/export_feedback.py on a real store (SQLite and PostgreSQL): every rated reply becomes
one JSON line with the question it answered on its own branch, that question's files (copied
out with --files-to), the rating and the comment; unrated replies stay out."""

from __future__ import annotations

import json
from pathlib import Path

from chatbot.conversation import Attachment, Turn
from scripts.export_feedback import main
from tests.storehelpers import sha


def test_rated_replies_become_an_evaluation_set(store, db_url, tmp_path):
    photo = tmp_path / "cat.png"
    photo.write_bytes(b"\x89PNG a cat")
    cid = store.create("alice")
    store.add_turn(
        "alice",
        cid,
        Turn("user", "what is this?", [Attachment("image", "cat.png", str(photo), sha(b""))]),
    )
    good = Turn("assistant", "a cat", rating="up", comment="right")
    store.add_turn("alice", cid, good)
    store.add_turn("alice", cid, Turn("assistant", "a dog", rating="down"), parent=0)  # Retry
    store.add_turn("alice", cid, Turn("user", "what colour?"), parent=None)  # an edit
    store.add_turn("alice", cid, Turn("assistant", "unrated"))
    other = store.create("bob")
    store.add_turn("bob", other, Turn("user", "bob asks"))
    store.add_turn("bob", other, Turn("assistant", "bob's answer", rating="down"))
    url = ["--database-url", db_url] if db_url else []
    out, files = tmp_path / "feedback.jsonl", tmp_path / "files"
    data = ["--data-dir", str(store.data_dir), *url]
    assert main([*data, "--out", str(out), "--files-to", str(files)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(x["question"], x["reply"], x["rating"], x["comment"]) for x in lines] == [
        ("what is this?", "a cat", "up", "right"),
        ("what is this?", "a dog", "down", ""),
        ("bob asks", "bob's answer", "down", ""),
    ]
    (photo_entry,) = lines[0]["files"]
    assert photo_entry["name"] == "cat.png" and photo_entry["kind"] == "image"
    assert Path(photo_entry["path"]).parent == files
    assert Path(photo_entry["path"]).read_bytes() == photo.read_bytes()

    assert main([*data, "--out", str(out), "--rating", "down", "--owner", "alice"]) == 0
    (only,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert only["reply"] == "a dog" and only["files"][0]["path"].startswith(str(store.data_dir))
