"""The message tree in the store, on SQLite and a real PostgreSQL (the store and db_url fixtures):
edits and retries are siblings, the head picks the visible path, undo takes a branch with it,
an old linear database becomes one branch, archives carry the tree (version 1 still imports),
and ratings travel with their turn. Guards: a branch that silently replaces the old answer, a
path that jumps to another branch after a restart, an export that loses the alternatives."""

from __future__ import annotations

import json
import zipfile

import pytest
from sqlalchemy import select, text

from chatbot.conversation import Turn
from chatbot.messages import UserError
from chatbot.store import NotFound, Store
from chatbot.store.db import TurnRow, alembic_config, make_engine, migrate
from tests.storehelpers import edit_json, rewrite


def texts(turns) -> list[str]:
    return [t.text for t in turns]


def shape(store: Store, conversation_id: str) -> list[tuple[int, int | None, int]]:
    """(position, parent, sibling) of every row."""
    with store.session() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(TurnRow.position, TurnRow.parent, TurnRow.sibling)
                .where(TurnRow.conversation_id == conversation_id)
                .order_by(TurnRow.position)
            )
        ]


def branched(store: Store, owner: str = "alice") -> str:
    """q1 a1 q2 a2, then a retry of q2 (a2b) and an edit of q2 (q2b a2c): the edit is shown."""
    cid = store.create(owner)
    for t in ("q1", "a1", "q2", "a2"):
        store.add_turn(owner, cid, Turn("user" if t[0] == "q" else "assistant", t))
    store.add_turn(owner, cid, Turn("assistant", "a2b"), parent=2)  # Retry: a sibling of a2
    store.add_turn(owner, cid, Turn("user", "q2b"), parent=1)  # Edit q2: a sibling of q2
    store.add_turn(owner, cid, Turn("assistant", "a2c"))  # its reply, under the new head
    return cid


def test_retry_and_edit_are_siblings_and_the_head_picks_the_path(store):
    cid = branched(store)
    assert shape(store, cid) == [
        (0, None, 0),
        (1, 0, 0),
        (2, 1, 0),
        (3, 2, 0),
        (4, 2, 1),
        (5, 1, 1),
        (6, 5, 0),
    ]
    assert texts(store.turns("alice", cid)) == ["q1", "a1", "q2b", "a2c"]
    tree = store.tree("alice", cid)
    assert tree.head == 6 and len(tree.nodes) == 7 and tree.nodes[4].parent == 2
    store.set_head("alice", cid, 3)
    assert texts(store.turns("alice", cid)) == ["q1", "a1", "q2", "a2"], "the old branch"
    store.set_head("alice", cid, 4)
    assert texts(store.turns("alice", cid)) == ["q1", "a1", "q2", "a2b"], "the retried reply"


def test_a_branch_that_does_not_exist_changes_nothing(store):
    cid = branched(store)
    before = (shape(store, cid), texts(store.turns("alice", cid)))
    for bad in (99, -1, "3"):
        with pytest.raises(NotFound):
            store.set_head("alice", cid, bad)
    with pytest.raises(NotFound):
        store.add_turn("alice", cid, Turn("user", "orphan"), parent=42)
    with pytest.raises(NotFound):  # someone else's conversation: as if it did not exist
        store.set_head("bob", cid, 3)
    with pytest.raises(NotFound):
        store.add_turn("bob", cid, Turn("user", "mine now"), parent=1)
    assert (shape(store, cid), texts(store.turns("alice", cid))) == before


def test_undo_takes_the_branches_that_grew_from_the_undone_turns(store):
    cid = branched(store)
    store.set_head("alice", cid, 3)  # q1 a1 q2 a2 (q2 also has the retry a2b)
    store.truncate("alice", cid, 2)  # undo the last exchange: q2, a2 and a2b go
    assert texts(store.turns("alice", cid)) == ["q1", "a1"]
    assert [p for p, _, _ in shape(store, cid)] == [0, 1, 5, 6], "the edit's branch stays"
    position = store.add_turn("alice", cid, Turn("user", "q3"))
    assert position == 7 and shape(store, cid)[-1] == (7, 1, 2), "ids are never reused"


def test_a_linear_database_from_0003_becomes_one_branch_and_downgrades_to_its_path(
    tmp_path, db_url
):
    import sqlalchemy as sa
    from alembic import command

    data = tmp_path / "data"
    data.mkdir()
    engine = make_engine(db_url or f"sqlite:///{data / 'chatbot.db'}")
    migrate(engine, "0003")
    turns = sa.table(
        "turns",
        *[
            sa.column(c)
            for c in ("conversation_id", "position", "role", "text", "status", "created")
        ],
        *[sa.column(c, sa.JSON) for c in ("steps", "metrics", "attachments", "files")],
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO conversations (id, owner, title, created, updated) "
                "VALUES (:id, 'alice', 'Old', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": "b" * 32},
        )
        for i, words in enumerate(("q1", "a1", "q2", "a2")):
            conn.execute(
                turns.insert().values(
                    conversation_id="b" * 32,
                    position=i,
                    role="user" if i % 2 == 0 else "assistant",
                    text=words,
                    status="done",
                    created=sa.func.now(),
                    steps=[],
                    metrics={},
                    files=[],
                    attachments=[],
                )
            )
    engine.dispose()
    with Store.open(data, db_url) as store:
        cid = "b" * 32
        assert shape(store, cid) == [(0, None, 0), (1, 0, 0), (2, 1, 0), (3, 2, 0)]
        assert texts(store.turns("alice", cid)) == ["q1", "a1", "q2", "a2"]
        assert store.tree("alice", cid).nodes[3].rating is None
        store.add_turn("alice", cid, Turn("assistant", "a2b"), parent=2)  # a retry
        store.set_head("alice", cid, 4)
        cfg = alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003")
        with store.engine.connect() as conn:
            kept = conn.execute(text("SELECT position, text FROM turns ORDER BY position")).all()
        assert [tuple(r) for r in kept] == [(0, "q1"), (1, "a1"), (2, "q2"), (4, "a2b")], (
            "older code gets the path that was shown"
        )


def test_archives_carry_the_tree_and_the_markdown_shows_the_visible_path(store, tmp_path):
    cid = branched(store)
    store.set_head("alice", cid, 4)  # q1 a1 q2 a2b
    reply = store.tree("alice", cid).nodes[4]
    reply.rating, reply.comment = "down", "too short"
    store.update_turn("alice", cid, 4, reply)
    archive = store.export_archive("alice", cid, tmp_path / "c.zip")
    with zipfile.ZipFile(archive) as z:
        doc = json.loads(z.read("conversation.json"))
        markdown = z.read("conversation.md").decode()
    assert doc["version"] == 2 and doc["head"] == 4
    assert [(t["id"], t["parent"]) for t in doc["turns"]][4:] == [(4, 2), (5, 1), (6, 5)]
    assert doc["turns"][4]["rating"] == "down" and doc["turns"][4]["comment"] == "too short"
    assert "a2b" in markdown and "q2b" not in markdown and "a2c" not in markdown
    assert "> 👎 too short" in markdown
    assert store.export_markdown("alice", cid) == markdown

    new = store.import_archive("bob", archive)
    assert shape(store, new) == shape(store, cid)
    assert texts(store.turns("bob", new)) == ["q1", "a1", "q2", "a2b"]
    back = store.tree("bob", new).nodes[4]
    assert (back.rating, back.comment) == ("down", "too short")


def test_a_version_1_archive_imports_as_one_branch(store, tmp_path):
    cid = branched(store)
    good = store.export_archive("alice", cid, tmp_path / "c.zip")

    def as_version_1(doc):
        doc["version"] = 1
        doc["turns"] = [t for t in doc["turns"] if t["id"] in (0, 1, 5, 6)]
        for t in doc["turns"]:
            del t["id"], t["parent"], t["rating"], t["comment"]
        del doc["head"]

    old = tmp_path / "old.zip"
    old.write_bytes(rewrite(good, edit_json(as_version_1)))
    new = store.import_archive("alice", old)
    assert shape(store, new) == [(0, None, 0), (1, 0, 0), (2, 1, 0), (3, 2, 0)]
    assert texts(store.turns("alice", new)) == ["q1", "a1", "q2b", "a2c"]


@pytest.mark.parametrize(
    "edit, why",
    [
        (lambda d: d["turns"][1].update(parent=5), "parent must be null or the id of an earlier"),
        (lambda d: d["turns"][2].update(id=0), "id must be a whole number above"),
        (lambda d: d.update(head=77), "head must be null or the id of a turn"),
        (lambda d: d["turns"][3].update(rating="meh"), "rating must be null"),
    ],
)
def test_an_archive_with_a_broken_tree_is_refused_and_changes_nothing(store, tmp_path, edit, why):
    cid = branched(store)
    good = store.export_archive("alice", cid, tmp_path / "c.zip")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(rewrite(good, edit_json(edit)))
    with pytest.raises(UserError) as caught:
        store.import_archive("carol", bad)
    assert why in caught.value.text("en")
    assert store.list("carol") == []


def test_remove_takes_exactly_those_turns_and_their_branches(store):
    cid = branched(store)  # q1 a1 [q2 a2 | a2b] [q2b a2c], head a2c
    store.remove("alice", cid, {2}, head=6)  # q2 with its replies a2 and a2b
    assert [p for p, _, _ in shape(store, cid)] == [0, 1, 5, 6]
    assert texts(store.turns("alice", cid)) == ["q1", "a1", "q2b", "a2c"]
    store.remove("alice", cid, {6, 99}, head=6)  # a head that is gone: no turn shown
    assert store.tree("alice", cid).head is None and len(store.tree("alice", cid).nodes) == 3
    with pytest.raises(NotFound):
        store.remove("bob", cid, {0}, head=None)
    assert len(store.tree("alice", cid).nodes) == 3
