"""The conversation store's schema: a database from revision 0001 opens after the upgrade, the
migrations build exactly the models, and a database from newer code is refused. A test taking
the db_url or store fixture (conftest.py) runs against SQLite and a real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from chatbot.store import Store, StoreError
from chatbot.store.db import Base, make_engine, migrate
from tests.storehelpers import (
    sha,
)


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
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0006"
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
