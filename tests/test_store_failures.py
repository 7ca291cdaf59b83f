"""The conversation store when the disk or the database fails: a corrupt database file, an
unwritable data folder, a failing file write or database write; each a clear error that changes
nothing. A test taking the db_url or store fixture (conftest.py) runs against SQLite and a real
PostgreSQL server."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from chatbot.conversation import Turn
from chatbot.store import Store, StoreError
from tests.storehelpers import (
    blob_files,
    comparable,
    exchange,
    statuses,
)


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
