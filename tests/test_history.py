"""The pipeline's write points into a real store (SQLite in a temp folder), restoring, and
what happens when a write fails. Guards: nothing that completed is lost; a failing disk never
breaks the chat; a restored conversation rebuilds its caches and says so."""

from __future__ import annotations

import errno

import pytest

from chatbot.conversation import Conversation
from chatbot.history import History
from chatbot.pipeline import Pipeline
from chatbot.store import Store
from tests import docfixtures as df
from tests.helpers import ask, make_photo


@pytest.fixture
def saving(pipe, tmp_path):
    """The tiny pipeline's models with a History on a fresh store."""
    store = Store.open(tmp_path / "data")
    p = Pipeline(pipe.cfg, pipe.sampling, history=History(store))
    p.models = pipe.models  # the loaded tiny models: only the store differs
    yield p
    store.close()


def test_each_turn_is_stored_as_it_ends_and_restores_with_its_caches_rebuilt(saving, tmp_path):
    conv = Conversation(owner="o-test")
    ask(saving, conv, "look at this", [make_photo(tmp_path / "red.png")])
    ask(saving, conv, "and this document?", [df.make_report_pdf(tmp_path / "report.pdf")])
    store = saving.history.store
    assert [t.role for t in store.turns("o-test", conv.id)] == ["user", "assistant"] * 2

    restored = saving.open("o-test", conv.id)
    assert restored.images()[0].image is None and restored.documents is None, (
        "caches are not stored"
    )
    reply = ask(saving, restored, "what was the total revenue in 2023?")
    assert (
        reply.error is None
        and reply.steps[0].key == "restored"
        and "1 photos reloaded" in reply.steps[0].detail
    )
    assert any(s.key == "documents" and "report.pdf" in s.title for s in reply.steps), (
        "the document is read again from the store"
    )
    assert any("restored from the store" in s.detail for s in reply.steps)
    assert restored.documents is not None and restored.documents.documents
    assert len(store.turns("o-test", conv.id)) == 6


def test_a_failing_write_is_shown_and_the_chat_goes_on(saving, monkeypatch):
    conv = Conversation(owner="o-disk")
    first = ask(saving, conv, "first")
    store = saving.history.store

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "add_turn", full_disk)
    monkeypatch.setattr(store, "update_turn", full_disk)
    second = ask(saving, conv, "second")
    assert second.error is None and second.text, "the reply itself is unharmed"
    assert any(s.key == "saving" and "No space left" in s.detail for s in second.steps)
    monkeypatch.undo()
    kept = store.turns("o-disk", conv.id)
    assert [t.text for t in kept] == ["first", first.text], "what was stored before is intact"


def test_undo_and_clear_reach_the_store(saving):
    conv = Conversation(owner="o-undo")
    ask(saving, conv, "one")
    ask(saving, conv, "two")
    store = saving.history.store
    assert saving.undo(conv).text == "two"
    assert [t.text for t in store.turns("o-undo", conv.id)][:1] == ["one"] and len(
        store.turns("o-undo", conv.id)
    ) == 2
    old_id = conv.id
    saving.forget(conv)
    assert store.list("o-undo") == [] and conv.id != old_id and not conv.turns


def test_retry_of_a_restored_photo_turn_sends_the_photo_again(saving, tmp_path):
    """Undo lets the store release the turn's photo; Retry (or the message put back) still has
    it."""
    conv = Conversation(owner="o-retry")
    ask(saving, conv, "first")
    ask(saving, conv, "what is this?", [make_photo(tmp_path / "red.png")])
    restored = saving.open("o-retry", conv.id)
    user = saving.undo(restored)
    assert [a.name for a in user.attachments] == ["red.png"]
    again = ask(saving, restored, user.text, [a.path for a in user.attachments])
    assert again.error is None and restored.turns[-2].attachments[0].name == "red.png"
    assert len(saving.history.store.turns("o-retry", conv.id)) == 4


def test_a_stored_file_is_accepted_only_from_its_owner(saving, tmp_path):
    """Guards another session sending someone's stored photo path as its own file."""
    alice = Conversation(owner="o-alice")
    ask(saving, alice, "my photo", [make_photo(tmp_path / "mine.png")])
    stored = saving.history.store.turns("o-alice", alice.id)[0].attachments[0].path
    bob = Conversation(owner="o-bob")
    reply = ask(saving, bob, "what is this?", [stored])
    assert "not one of your files" in reply.error and not bob.images()
    assert ask(saving, alice, "again", [stored]).error is None, "its owner may send it again"
