"""Share links in the store, on SQLite and a real PostgreSQL: a snapshot of the visible path
(later turns and other branches are not in it), its files readable through it and only those,
revocation and expiry (then NotFound, like a guessed id), the files kept while the link lives
even after Undo, and a deleted conversation taking its links with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from chatbot.conversation import Attachment, Turn
from chatbot.messages import UserError
from chatbot.store import NotFound
from chatbot.store.db import ShareRow, utcnow
from tests.storehelpers import blob_files, sha


def photo_turn(tmp_path, name="cat.png", data=b"\x89PNG cat"):
    path = tmp_path / name
    path.write_bytes(data)
    return Turn("user", f"look at {name}", [Attachment("image", name, str(path), sha(data))])


def test_a_link_shows_the_path_as_it_was_and_only_its_files(store, tmp_path):
    cid = store.create("alice")
    store.add_turn("alice", cid, photo_turn(tmp_path))
    store.add_turn("alice", cid, Turn("assistant", "a cat"))
    store.add_turn("alice", cid, Turn("assistant", "hidden retry"), parent=0)
    store.set_head("alice", cid, 1)
    link = store.share("alice", cid)
    assert len(link) == 43 and store.shares("alice")[0]["id"] == link
    store.add_turn("alice", cid, photo_turn(tmp_path, "dog.png", b"\x89PNG dog"))
    other = store.create("alice")
    store.add_turn("alice", other, Turn("user", "my other conversation"))

    shown = store.shared(link)
    assert [r["text"] for r in shown.records] == ["look at cat.png", "a cat"]
    cat, dog = sha(b"\x89PNG cat"), sha(b"\x89PNG dog")
    assert store.shared_file(link, cat).read_bytes() == b"\x89PNG cat"
    for bad in (dog, "0" * 64, "../etc"):
        with pytest.raises(NotFound):
            store.shared_file(link, bad)
    for guess in ("x" * 43, link[:-1] + ("A" if link[-1] != "A" else "B"), "", None):
        with pytest.raises(NotFound):
            store.shared(guess)


def test_revoked_and_expired_links_are_gone_and_only_the_owner_revokes(store, tmp_path):
    cid = store.create("alice")
    store.add_turn("alice", cid, photo_turn(tmp_path))
    link, brief = store.share("alice", cid), store.share("alice", cid, days=1)
    with pytest.raises(NotFound):
        store.unshare("bob", link)
    assert store.shared(link).title
    store.unshare("alice", link)
    with pytest.raises(NotFound):
        store.shared(link)
    with store.session(write=True) as s:
        s.execute(
            update(ShareRow).where(ShareRow.id == brief).values(expires=utcnow() - timedelta(1))
        )
    with pytest.raises(NotFound):
        store.shared(brief)
    for days in (0, -1, 10_000, "7"):
        with pytest.raises(UserError):
            store.share("alice", cid, days=days)
    with pytest.raises(NotFound):
        store.share("bob", cid)


def test_a_shared_file_outlives_undo_and_goes_with_the_link_or_the_conversation(store, tmp_path):
    cid = store.create("alice")
    store.add_turn("alice", cid, photo_turn(tmp_path))
    store.add_turn("alice", cid, Turn("assistant", "a cat"))
    link = store.share("alice", cid)
    store.truncate("alice", cid, 0)  # undo everything: only the link still shows the photo
    assert store.shared_file(link, sha(b"\x89PNG cat")).is_file()
    store.unshare("alice", link)
    assert blob_files(store) == set(), "revoked: nothing holds the photo any more"

    store.add_turn("alice", cid, photo_turn(tmp_path))
    link = store.share("alice", cid)
    store.truncate("alice", cid, 0)
    store.delete("alice", cid)
    with pytest.raises(NotFound):
        store.shared(link)
    assert store.shares("alice") == [] and blob_files(store) == set()


def test_continue_as_my_own_copy_gives_the_snapshot_to_another_owner(store, tmp_path):
    cid = store.create("alice")
    store.add_turn("alice", cid, photo_turn(tmp_path))
    store.add_turn("alice", cid, Turn("assistant", "a cat", rating="up"))
    link = store.share("alice", cid)
    store.add_turn("alice", cid, Turn("user", "later, private"))
    mine = store.copy_shared(link, "bob")
    assert [t.text for t in store.turns("bob", mine)] == ["look at cat.png", "a cat"]
    photo = store.turns("bob", mine)[0].attachments[0]
    assert store.owns("bob", photo.sha256) and open(photo.path, "rb").read() == b"\x89PNG cat"
    store.add_turn("bob", mine, Turn("user", "bob goes on"))
    assert len(store.turns("alice", cid)) == 3, "alice's conversation is untouched"
    store.unshare("alice", link)
    assert store.owns("bob", photo.sha256), "bob's copy keeps its files"
    with pytest.raises(NotFound):
        store.copy_shared(link, "carol")
    assert store.list("carol") == []
