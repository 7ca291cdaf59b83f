"""The conversation store: turns, owners, titles and limits, threads, files, deletion and expiry;
every test against SQLite and a real PostgreSQL server (the db_url and store fixtures in
conftest.py). Migrations, archives and failures: test_store_migrations.py,
test_store_archives.py, test_store_failures.py.

PostgreSQL comes from Debian's `postgresql` package (scripts/install_system.sh); without
it the PostgreSQL half fails with a message saying so, it is never skipped.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, update

from chatbot.conversation import Attachment, Turn
from chatbot.messages import UserError
from chatbot.store import NotFound, Store, StoreError, api
from chatbot.store.db import ConversationRow, TurnRow
from chatbot.store.records import INTERRUPTED_NOTE
from tests.storehelpers import (
    blob_files,
    comparable,
    exchange,
    run_threads,
    sha,
    statuses,
)


def test_round_trip_keeps_every_field(store, tmp_path):
    user, reply = exchange(tmp_path)
    cid = store.create("alice")
    assert store.add_turn("alice", cid, user) == 0
    assert store.add_turn("alice", cid, reply, status="done") == 1
    turns = store.turns("alice", cid)
    assert [comparable(t) for t in turns] == [comparable(user), comparable(reply)]
    files_dir = store.data_dir / "files"
    for a in turns[0].attachments:
        assert Path(a.path).parent.parent == files_dir and a.image is None
        assert (
            a.sha256
            == sha(Path(a.path).read_bytes())
            == Path(a.path).parent.name + Path(a.path).stem
        )
    assert [Path(a.path).suffix for a in turns[0].attachments] == [
        ".png",
        ".pdf",
    ]  # shown inline by name
    assert Path(turns[1].files[0]).is_relative_to(files_dir)
    assert store.list("alice")[0].title == user.text
    turns[1].text += " More."  # paths already in the store are kept, not copied
    store.update_turn("alice", cid, 1, turns[1])
    assert comparable(store.turns("alice", cid)[1])["text"].endswith("More.")
    assert len(blob_files(store)) == 3


def test_owners_cannot_reach_each_other(store, tmp_path):
    user, reply = exchange(tmp_path)
    cid = store.create("alice")
    store.add_turn("alice", cid, user)
    secret = store.put(b"alice's secret", "alice", "secret.txt")
    guessed = "0" * 32
    calls = [
        ("turns", ()),
        ("export_markdown", ()),
        ("export_archive", (tmp_path / "x.zip",)),
        ("rename", ("mine",)),
        ("truncate", (0,)),
        ("add_turn", (Turn("user", "hi"),)),
        ("update_turn", (0, Turn("user", "hi"))),
        ("info", ()),
        ("delete", ()),
    ]
    for conversation_id in (cid, guessed, "../x", ""):
        for method, args in calls:
            with pytest.raises(NotFound, match="^conversation not found$"):
                getattr(store, method)("bob", conversation_id, *args)
    for digest in (secret, "f" * 64, "../../etc/passwd"):
        with pytest.raises(NotFound, match="^file not found$"):
            store.path("bob", digest)
    assert store.list("bob") == [] and store.list("bob", "photo") == []
    assert [comparable(t) for t in store.turns("alice", cid)] == [comparable(user)]
    assert store.path("alice", secret).read_bytes() == b"alice's secret"
    assert not (tmp_path / "x.zip").exists()
    # the same bytes put by bob are bob's too; alice deleting hers leaves bob's
    assert store.put(b"alice's secret", "bob", "mine.txt") == secret
    store.delete("alice", cid)
    assert store.path("bob", secret).read_bytes() == b"alice's secret"


def test_crash_mid_reply_becomes_interrupted_with_partial_text(tmp_path, db_url):
    with Store.open(tmp_path / "data", db_url) as store:
        cid = store.create("alice")
        store.add_turn("alice", cid, Turn("user", "Tell me a story"))
        store.add_turn("alice", cid, Turn("assistant", "Once upon a ti"), status="streaming")
        store.add_turn("alice", cid, Turn("user", "still there?"))
    with Store.open(tmp_path / "data", db_url) as store:  # the restart after the crash
        turns = store.turns("alice", cid)
        assert statuses(store, cid) == ["done", "interrupted", "done"]
        assert turns[1].text == "Once upon a ti" and turns[1].stopped
        assert turns[1].error == INTERRUPTED_NOTE and turns[2].error is None
        store.update_turn("alice", cid, 1, Turn("assistant", "Once upon a time."), "done")
        assert statuses(store, cid)[1] == "done"


def test_truncate_drops_the_tail_and_files_only_it_used(store, tmp_path):
    keep, drop = (
        store.put(b"kept photo", "alice", "a.png"),
        store.put(b"dropped photo", "alice", "b.png"),
    )
    cid = store.create("alice")
    for i, digest in enumerate([keep, None, drop, None]):
        attachments = (
            [Attachment("image", "p.png", str(store.path("alice", digest)), digest)]
            if digest
            else []
        )
        store.add_turn(
            "alice", cid, Turn("user" if i % 2 == 0 else "assistant", f"t{i}", attachments)
        )
    store.truncate("alice", cid, 10)
    assert len(store.turns("alice", cid)) == 4
    dropped_blob = store.path("alice", drop)
    store.truncate("alice", cid, 2)
    assert [t.text for t in store.turns("alice", cid)] == ["t0", "t1"]
    assert not dropped_blob.exists() and store.path("alice", keep).exists()
    with pytest.raises(NotFound):
        store.path("alice", drop)
    assert store.add_turn("alice", cid, Turn("user", "again")) == 2
    store.truncate("alice", cid, 0)
    assert store.turns("alice", cid) == []
    with pytest.raises(ValueError):
        store.truncate("alice", cid, -1)


def test_list_is_newest_first_and_search_reads_titles_and_turns(store):
    c1 = store.create("alice", "Lighthouse drawing")
    c2, c3 = store.create("alice"), store.create("alice", "empty")
    store.add_turn("alice", c2, Turn("user", "Quarterly REPORT: 100%_done, 고양이 사진"))
    store.add_turn("alice", c2, Turn("assistant", "The revenue grew."))
    store.create("bob", "lighthouse of bob")
    assert [c.id for c in store.list("alice")] == [c2, c3, c1]
    found = {
        q: [c.id for c in store.list("alice", q)]
        for q in ("LIGHTHOUSE", "report", "Revenue", "100%_", "%", "_", "고양이", "nothing")
    }
    assert found == {
        "LIGHTHOUSE": [c1],
        "report": [c2],
        "Revenue": [c2],
        "100%_": [c2],
        "%": [c2],
        "_": [c2],
        "고양이": [c2],
        "nothing": [],
    }
    assert store.list("alice")[0].updated >= store.list("alice")[0].created


def test_titles_and_named_limits(store, monkeypatch, tmp_path):
    monkeypatch.setattr(store, "limits", replace(store.limits, max_title_chars=12))
    cid = store.create("alice")
    store.add_turn("alice", cid, Turn("user", "Draw   a lighthouse\nat night, please"))
    assert store.info("alice", cid).title == "Draw a ligh…"
    with pytest.raises(UserError, match="MAX_TITLE_CHARS"):
        store.rename("alice", cid, "a title that is far too long")
    store.rename("alice", cid, "Night")
    assert store.info("alice", cid).title == "Night"
    store.rename("alice", cid, "")
    assert store.info("alice", cid).title == "Draw a ligh…"

    monkeypatch.setattr(store, "limits", replace(store.limits, max_conversations_per_owner=2))
    store.create("alice")
    with pytest.raises(UserError, match="MAX_CONVERSATIONS_PER_OWNER"):
        store.create("alice")
    assert len(store.list("alice")) == 2 and store.create("bob")

    monkeypatch.setattr(store, "limits", replace(store.limits, max_stored_mb_per_owner=1))
    first = store.put(b"a" * 600_000, "alice", "a.bin")
    blobs = blob_files(store)
    with pytest.raises(UserError, match="MAX_STORED_MB_PER_OWNER"):
        store.put(b"b" * 600_000, "alice", "b.bin")
    assert blob_files(store) == blobs  # the refused file left nothing behind
    assert store.put(b"a" * 600_000, "alice", "again.bin") == first  # already counted
    photo = tmp_path / "big.png"
    photo.write_bytes(b"c" * 600_000)
    with pytest.raises(UserError, match="MAX_STORED_MB_PER_OWNER"):
        store.add_turn(
            "alice", cid, Turn("user", "look", [Attachment("image", "big.png", str(photo), "")])
        )
    assert len(store.turns("alice", cid)) == 1


def test_twenty_threads_each_owner_stores_every_turn_once_in_order(store):
    ids = {}

    def work(i):
        owner = f"owner-{i}"
        ids[i] = store.create(owner)
        for k in range(5):
            assert (
                store.add_turn(
                    owner, ids[i], Turn("user" if k % 2 == 0 else "assistant", f"{i}:{k}")
                )
                == k
            )

    run_threads(20, work)
    for i in range(20):
        assert [t.text for t in store.turns(f"owner-{i}", ids[i])] == [f"{i}:{k}" for k in range(5)]
        assert [c.id for c in store.list(f"owner-{i}")] == [ids[i]]
    with store.session() as s:
        assert len(s.scalars(select(TurnRow.position)).all()) == 100


def test_threads_adding_to_one_conversation_get_distinct_positions(store):
    cid, positions = store.create("alice"), {}

    def work(i):
        positions[i] = [store.add_turn("alice", cid, Turn("user", f"{i}:{k}")) for k in range(5)]

    run_threads(10, work)
    assert sorted(p for ps in positions.values() for p in ps) == list(range(50))
    texts = [t.text for t in store.turns("alice", cid)]
    for i, ps in positions.items():
        assert ps == sorted(ps) and [texts[p] for p in ps] == [f"{i}:{k}" for k in range(5)]


def test_put_is_content_addressed_and_atomic(store, tmp_path):
    source = tmp_path / "photo.jpg"
    source.write_bytes(b"jpeg bytes")
    digest = store.put(source, "alice", "photo.jpg")
    assert digest == sha(b"jpeg bytes") == store.put(b"jpeg bytes", "alice", "again.jpg")
    assert (
        store.path("alice", digest) == store.data_dir / "files" / digest[:2] / f"{digest[2:]}.jpg"
    )
    assert store.path("alice", digest).read_bytes() == b"jpeg bytes"
    assert not list((store.data_dir / "files" / "tmp").iterdir())
    with pytest.raises(StoreError, match="not a file"):
        store.put(tmp_path / "missing.png", "alice", "missing.png")
    with pytest.raises(ValueError, match="owner"):
        store.put(b"x", "", "x")


def test_delete_removes_turns_and_unshared_files(store, tmp_path):
    only, shared = store.put(b"only here", "alice", "a.png"), store.put(b"shared", "alice", "b.png")

    def photo(digest):
        return Attachment("image", "p.png", str(store.path("alice", digest)), digest)

    one, two = store.create("alice"), store.create("alice")
    store.add_turn("alice", one, Turn("user", "one", [photo(only), photo(shared)]))
    store.add_turn("alice", two, Turn("user", "two", [photo(shared)]))
    only_blob = store.path("alice", only)
    store.delete("alice", one)
    assert [c.id for c in store.list("alice")] == [two]
    assert not only_blob.exists() and store.path("alice", shared).exists()
    for call in (lambda: store.turns("alice", one), lambda: store.path("alice", only)):
        with pytest.raises(NotFound):
            call()
    with store.session() as s:
        assert s.scalars(select(TurnRow).where(TurnRow.conversation_id == one)).all() == []


def test_expire_deletes_old_conversations_of_every_owner_and_files_only_they_used(
    store, monkeypatch
):
    monkeypatch.setattr(api, "EXPIRE_BATCH", 1)  # several transactions, as with many
    old_only, shared = (
        store.put(b"old only", "alice", "a.png"),
        store.put(b"shared", "alice", "b.png"),
    )
    bobs = store.put(b"bob's photo", "bob", "c.png")

    def photo(owner, digest):
        return Attachment("image", "p.png", str(store.path(owner, digest)), digest)

    old, recent, old_empty = store.create("alice"), store.create("alice"), store.create("alice")
    store.add_turn(
        "alice", old, Turn("user", "old", [photo("alice", old_only), photo("alice", shared)])
    )
    store.add_turn("alice", recent, Turn("user", "recent", [photo("alice", shared)]))
    bob_old, bob_recent = store.create("bob"), store.create("bob")
    store.add_turn("bob", bob_old, Turn("user", "bob's old"))
    store.add_turn("bob", bob_recent, Turn("user", "bob's recent", [photo("bob", bobs)]))
    with store.session(write=True) as s:
        s.execute(
            update(ConversationRow)
            .where(ConversationRow.id.in_([old, old_empty, bob_old]))
            .values(updated=datetime.now(timezone.utc) - timedelta(days=40))
        )
    old_blob, before = store.path("alice", old_only), blob_files(store)
    for off in (0, -1, 1e9):  # off, and older than any date: nothing goes
        assert store.expire(off) == 0
    assert (
        len(store.list("alice")) == 3
        and len(store.list("bob")) == 2
        and blob_files(store) == before
    )
    assert store.expire(30) == 3
    assert [c.id for c in store.list("alice")] == [recent] and [
        c.id for c in store.list("bob")
    ] == [bob_recent]
    assert not old_blob.exists() and blob_files(store) == before - {old_blob}
    assert [t.text for t in store.turns("alice", recent)] == ["recent"]
    assert (
        Path(store.turns("bob", bob_recent)[0].attachments[0].path).read_bytes() == b"bob's photo"
    )
    for call in (
        lambda: store.turns("alice", old),
        lambda: store.turns("bob", bob_old),
        lambda: store.path("alice", old_only),
    ):
        with pytest.raises(NotFound):
            call()
    with store.session() as s:
        left = s.scalars(select(TurnRow.conversation_id)).all()
    assert sorted(left) == sorted([recent, bob_recent])
    assert store.expire(30) == 0
