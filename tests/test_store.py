"""The conversation store, every test against SQLite and a real PostgreSQL server.

PostgreSQL comes from Debian's `postgresql` package (scripts/install_system.sh); without
it the PostgreSQL half fails with a message saying so, it is never skipped.
"""

from __future__ import annotations

import errno
import os
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text, update

from chatbot.conversation import Attachment, Turn
from chatbot.messages import UserError
from chatbot.store import NotFound, Store, StoreError, api, limits
from chatbot.store.db import Base, ConversationRow, TurnRow, make_engine, migrate
from chatbot.store.records import INTERRUPTED_NOTE
from tests.storehelpers import (
    blob_files,
    comparable,
    edit_json,
    exchange,
    first_file,
    rewrite,
    run_threads,
    sha,
    statuses,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    """None (SQLite in the data folder) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    server = request.getfixturevalue("postgres")
    url = server.create_database()
    yield url
    server.drop_database(url)


@pytest.fixture
def store(tmp_path, db_url):
    s = Store.open(tmp_path / "data", db_url)
    yield s
    s.close()


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
    monkeypatch.setattr(limits, "MAX_TITLE_CHARS", 12)
    cid = store.create("alice")
    store.add_turn("alice", cid, Turn("user", "Draw   a lighthouse\nat night, please"))
    assert store.info("alice", cid).title == "Draw a ligh…"
    with pytest.raises(UserError, match="MAX_TITLE_CHARS"):
        store.rename("alice", cid, "a title that is far too long")
    store.rename("alice", cid, "Night")
    assert store.info("alice", cid).title == "Night"
    store.rename("alice", cid, "")
    assert store.info("alice", cid).title == "Draw a ligh…"

    monkeypatch.setattr(limits, "MAX_CONVERSATIONS_PER_OWNER", 2)
    store.create("alice")
    with pytest.raises(UserError, match="MAX_CONVERSATIONS_PER_OWNER"):
        store.create("alice")
    assert len(store.list("alice")) == 2 and store.create("bob")

    monkeypatch.setattr(limits, "MAX_STORED_MB_PER_OWNER", 1)
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


def test_database_from_revision_0001_opens_after_upgrade(tmp_path, db_url):
    import sqlalchemy as sa

    data = tmp_path / "data"
    data.mkdir()
    old = sha(b"old photo")  # a blob as 0001-era code wrote it: no extension
    (data / "files" / old[:2]).mkdir(parents=True)
    (data / "files" / old[:2] / old[2:]).write_bytes(b"old photo")
    engine = make_engine(db_url or f"sqlite:///{data / 'chatbot.db'}")
    migrate(engine, "0001")
    now = sa.func.now()
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
                "VALUES (:id, 'alice', 'Old one', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": "a" * 32},
        )
        conn.execute(
            turns.insert().values(
                conversation_id="a" * 32,
                position=0,
                role="user",
                text="from the old schema",
                status="done",
                created=now,
                steps=[],
                metrics={},
                files=[],
                attachments=[{"kind": "image", "name": "old.png", "sha256": old}],
            )
        )
        conn.execute(
            text(
                "INSERT INTO files (owner, sha256, name, size, created) "
                "VALUES ('alice', :sha, 'old.png', 9, CURRENT_TIMESTAMP)"
            ),
            {"sha": old},
        )
        assert {i["name"] for i in inspect(conn).get_indexes("conversations")} == {
            "ix_conversations_owner"
        }
    engine.dispose()
    with Store.open(data, db_url) as store:
        assert [(c.id, c.title) for c in store.list("alice")] == [("a" * 32, "Old one")]
        assert store.turns("alice", "a" * 32)[0].text == "from the old schema"
        assert (
            Path(store.turns("alice", "a" * 32)[0].attachments[0].path).read_bytes() == b"old photo"
        )
        assert store.path("alice", old) == data / "files" / old[:2] / old[2:]
        with store.engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0003"
            names = {i["name"] for i in inspect(conn).get_indexes("conversations")}
        assert names == {"ix_conversations_owner_updated"}


def test_migrations_build_exactly_the_models(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_database_from_newer_code_is_refused(tmp_path, db_url):
    with Store.open(tmp_path / "data", db_url) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="newer"):
        Store.open(tmp_path / "data", db_url)


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
        monkeypatch.setattr(limits, "MAX_ARCHIVE_MB", 0.001)
    else:
        bad.write_bytes(rewrite(good, change))
        monkeypatch.setattr(limits, "MAX_ARCHIVE_MB", 2)
    before = (store.list("alice"), blob_files(store))
    for owner in ("bob", "alice"):
        with pytest.raises(UserError, match="Nothing was imported") as caught:
            store.import_archive(owner, bad)
        assert "bad.zip" in str(caught.value) or "MAX_ARCHIVE_MB" in str(caught.value)
        assert store.list("bob") == [] and (store.list("alice"), blob_files(store)) == before
    assert not list((store.data_dir / "files" / "tmp").iterdir())


def test_corrupt_database_file_is_reported_and_left_alone(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    garbage = os.urandom(8192)
    (data / "chatbot.db").write_bytes(garbage)
    with pytest.raises(StoreError) as caught:
        Store.open(data)
    message = str(caught.value)
    assert str(data / "chatbot.db") in message and "Move it aside" in message
    assert (data / "chatbot.db").read_bytes() == garbage


def test_unwritable_data_dir_is_a_clear_error(tmp_path, db_url, monkeypatch):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(StoreError, match="cannot be written"):
        Store.open(tmp_path / "a-file" / "data", db_url)
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permission bits: fail the way a read-only disk does
        import tempfile

        real = tempfile.mkstemp

        def mkstemp(*args, dir=None, **kwargs):
            if dir is not None and Path(dir).is_relative_to(read_only):
                raise OSError(errno.EROFS, "Read-only file system", str(dir))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    with pytest.raises(StoreError, match=f"The data directory {read_only} cannot be written"):
        Store.open(read_only, db_url)


def test_failing_file_write_changes_nothing(store, tmp_path, monkeypatch):
    user, reply = exchange(tmp_path)
    cid = store.create("alice")
    store.add_turn("alice", cid, user)
    before = ([comparable(t) for t in store.turns("alice", cid)], blob_files(store))

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(StoreError, match="No space left on device"):
        store.add_turn("alice", cid, reply)
    monkeypatch.undo()
    assert ([comparable(t) for t in store.turns("alice", cid)], blob_files(store)) == before
    assert not list((store.data_dir / "files" / "tmp").iterdir())
    assert store.add_turn("alice", cid, reply) == 1


def test_failing_database_write_changes_nothing(store, tmp_path, monkeypatch):
    cid = store.create("alice")
    store.add_turn("alice", cid, Turn("user", "first"))
    before = (store.info("alice", cid), statuses(store, cid))
    dialect, real = store.engine.dialect, store.engine.dialect.do_execute

    def failing(cursor, statement, parameters, context=None):
        if statement.lstrip().upper().startswith("INSERT INTO TURNS"):
            raise dialect.loaded_dbapi.OperationalError("disk I/O error")
        return real(cursor, statement, parameters, context)

    monkeypatch.setattr(dialect, "do_execute", failing)
    with pytest.raises(StoreError, match="disk I/O error.*not saved"):
        store.add_turn("alice", cid, Turn("assistant", "lost"))
    monkeypatch.undo()
    assert (store.info("alice", cid), statuses(store, cid)) == before
    assert store.add_turn("alice", cid, Turn("assistant", "kept")) == 1


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
