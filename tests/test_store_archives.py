"""The conversation store's exports: a JSON archive round trip gives identical turns, the Markdown
export is readable with its links, and a bad archive is refused and changes nothing. A test
taking the db_url or store fixture (conftest.py) runs against SQLite and a real PostgreSQL
server."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from chatbot.config import StoreLimits
from chatbot.conversation import Turn
from chatbot.messages import UserError
from tests.storehelpers import (
    blob_files,
    comparable,
    edit_json,
    exchange,
    first_file,
    rewrite,
    statuses,
)


def test_archive_round_trip_gives_identical_turns(store, tmp_path):
    user, reply = exchange(tmp_path)
    cid = store.create("alice", "Cats")
    store.add_turn("alice", cid, user)
    store.add_turn("alice", cid, reply)
    store.add_turn("alice", cid, Turn("assistant", "cut off", stopped=True))
    archive = store.export_archive("alice", cid, tmp_path / "cats.zip")
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        markdown = z.read("conversation.md").decode()
    assert {"conversation.json", "conversation.md"} < names and len(names) == 5
    for target in {
        line.split("](")[1].split(")")[0].split("#")[0]
        for line in markdown.splitlines()
        if "](files/" in line
    }:
        assert target in names
    for owner in ("bob", "alice"):
        new = store.import_archive(owner, archive)
        assert new != cid and store.info(owner, new).title == "Cats"
        assert [comparable(t) for t in store.turns(owner, new)] == [
            comparable(t) for t in store.turns("alice", cid)
        ]
        assert statuses(store, new) == ["done", "done", "stopped"]


def test_markdown_export_is_readable_with_links(store, tmp_path):
    user, reply = exchange(tmp_path)
    cid = store.create("alice")
    store.add_turn("alice", cid, user)
    store.add_turn("alice", cid, reply)
    md = store.export_markdown("alice", cid)
    cat, pdf = (a.sha256 for a in store.turns("alice", cid)[0].attachments)
    pic = Path(store.turns("alice", cid)[1].files[0])
    assert md.startswith("# What is in this photo and report.pdf?")
    assert f"![cat.png](files/{cat}.png)" in md
    assert f"[📎 report.pdf](files/{pdf}.pdf)" in md
    assert (
        f"[report.pdf p. 2](files/{pdf}.pdf#page=2)" in md
    )  # citations, in the text and the steps
    assert md.count(f"(files/{pdf}.pdf#page=2)") == 2
    assert f"files/{pic.parent.name}{pic.name}" in md and pic.suffix == ".png"
    assert "a cat in a space suit (seed 7)" in md


BAD_ARCHIVES = {
    "not a zip": None,
    "path traversal": lambda e: e.update({"../../evil.sh": b"rm -rf /"}),
    "no conversation.json": lambda e: e.pop("conversation.json"),
    "broken json": lambda e: e.update({"conversation.json": b'{"format": '}),
    "other format": edit_json(lambda d: d.update(format="something-else")),
    "future version": edit_json(lambda d: d.update(version=99)),
    "bad role": edit_json(lambda d: d["turns"][0].update(role="system")),
    "steps not a list": edit_json(lambda d: d["turns"][1].update(steps="many")),
    "bad sha in files": edit_json(lambda d: d["turns"][1].update(files=["../../etc/passwd"])),
    "file edited": lambda e: e.update({first_file(e): b"not what the hash says"}),
    "file missing": lambda e: e.pop(first_file(e)),
    "zip bomb": lambda e: e.update({first_file(e): b"\0" * 3_000_000}),
    "oversized": "oversized",
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_bad_archive_is_refused_and_changes_nothing(store, tmp_path, monkeypatch, case):
    user, reply = exchange(tmp_path)
    cid = store.create("alice")
    store.add_turn("alice", cid, user)
    store.add_turn("alice", cid, reply)
    good = store.export_archive("alice", cid, tmp_path / "good.zip")
    bad = tmp_path / "bad.zip"
    change = BAD_ARCHIVES[case]
    if change is None:
        bad.write_bytes(b"hello, not a zip")
    elif change == "oversized":
        bad.write_bytes(good.read_bytes())
        monkeypatch.setattr(store, "limits", StoreLimits(max_archive_mb=0.001))
    else:
        bad.write_bytes(rewrite(good, change))
        monkeypatch.setattr(store, "limits", StoreLimits(max_archive_mb=2))
    before = (store.list("alice"), blob_files(store))
    for owner in ("bob", "alice"):
        with pytest.raises(UserError, match="Nothing was imported") as caught:
            store.import_archive(owner, bad)
        assert "bad.zip" in str(caught.value) or "MAX_ARCHIVE_MB" in str(caught.value)
        assert store.list("bob") == [] and (store.list("alice"), blob_files(store)) == before
    assert not list((store.data_dir / "files" / "tmp").iterdir())
