"""Engine, schema and migrations.

SQLite by default (one file, WAL mode so readers never wait for the writer, a busy timeout
so writers queue instead of failing, write transactions begun IMMEDIATE so two writers
cannot deadlock on a lock upgrade); PostgreSQL by URL. The schema below is the head of
the Alembic history in migrations/; migrate() brings any older database up to it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    exc,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .errors import StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
STATUSES = ("done", "stopped", "failed", "streaming", "interrupted")
ROLES = ("user", "assistant")
BUSY_TIMEOUT_MS = 30_000  # how long a SQLite writer waits for another before giving up
WRITE = {"store_write": True}  # execution option: this transaction will write


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return (
        value.replace(tzinfo=timezone.utc)
        if value.tzinfo is None
        else value.astimezone(timezone.utc)
    )


class Base(DeclarativeBase):
    pass


class ConversationRow(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the last turn of the visible path (a turn's position; NULL: no turn shown), 0004
    head: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (Index("ix_conversations_owner_updated", "owner", "updated"),)


class TurnRow(Base):
    __tablename__ = "turns"
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    # the turn's id in its conversation: never reused, so a child's is larger than its parent's
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the message tree (0004): the parent turn's position (NULL: a first message) and the place
    # among the parent's children (0, 1, ...: the alternatives, in the order they were made)
    parent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sibling: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    steps: Mapped[list] = mapped_column(JSON)
    metrics: Mapped[dict] = mapped_column(JSON)
    card: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    attachments: Mapped[list] = mapped_column(JSON)
    files: Mapped[list] = mapped_column(JSON)
    # a reply's feedback (0005): "up" / "down" / NULL, and the comment that came with it
    rating: Mapped[str | None] = mapped_column(String(8), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(
            "status IN ('done', 'stopped', 'failed', 'streaming', 'interrupted')",
            name="ck_turns_status",
        ),
        CheckConstraint("role IN ('user', 'assistant')", name="ck_turns_role"),
        CheckConstraint("rating IS NULL OR rating IN ('up', 'down')", name="ck_turns_rating"),
    )


class FileRow(Base):
    """Which owner may read which blob (the blob itself is on disk, named by its sha256 and ext)."""

    __tablename__ = "files"
    owner: Mapped[str] = mapped_column(String(255), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    # the blob's extension ('png', '' for none); NULL: stored before 0003, blob has none
    ext: Mapped[str | None] = mapped_column(String(8), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_files_sha256", "sha256"),)


class ShareRow(Base):
    """A read-only snapshot of a conversation's visible path, behind an unguessable id (0006).
    Its files stay held for the owner while it exists (files.referenced counts them)."""

    __tablename__ = "shares"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    conversation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("conversations.id", ondelete="CASCADE")
    )
    title: Mapped[str] = mapped_column(Text, default="")
    turns: Mapped[list] = mapped_column(JSON)  # the path's records when it was shared
    files: Mapped[dict] = mapped_column(JSON)  # sha256 -> {"name", "ext"} of those records
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (Index("ix_shares_owner", "owner"),)


# ---- engine -------------------------------------------------------------------------------
def make_engine(url: str) -> Engine:
    """An engine with the per-connection settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, pool_size=5, max_overflow=20
        )
        event.listen(engine, "connect", sqlite_connect)
        event.listen(engine, "begin", sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=20)


def sqlite_connect(dbapi_connection, _record) -> None:
    """WAL, busy timeout, foreign keys; transactions are begun by sqlite_begin, not the driver."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def sqlite_begin(connection) -> None:
    """A writing transaction takes the write lock up front (BEGIN IMMEDIATE), so it waits its
    turn under busy_timeout instead of failing when it later tries to upgrade a read lock."""
    write = connection.get_execution_options().get("store_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def describe(engine: Engine) -> str:
    """The database as it should appear in a message: the file, or the URL without password."""
    if engine.dialect.name == "sqlite":
        return str(engine.url.database)
    return engine.url.render_as_string(hide_password=True)


# ---- migrations ---------------------------------------------------------------------------
def alembic_config() -> Config:
    """The Alembic configuration, built in code: no alembic.ini is needed at runtime."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` in one transaction; a database from newer code, a
    damaged file or an unreachable server becomes a StoreError that says what to do."""
    cfg = alembic_config()
    try:
        with engine.execution_options(**WRITE).begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    except CommandError as e:
        raise StoreError(
            f"The database {describe(engine)} has a schema this version does not know "
            f"({e}); it was probably written by newer code. Run the newer version, "
            f"or point --data-dir / the database URL elsewhere."
        ) from e
    except exc.DBAPIError as e:
        raise open_error(engine, e) from e


def open_error(engine: Engine, error: exc.DBAPIError) -> StoreError:
    """Explain why a database could not be opened, without touching it."""
    where, reason = describe(engine), str(error.orig).strip() or type(error.orig).__name__
    if engine.dialect.name != "sqlite":
        return StoreError(
            f"Cannot use the database {where}: {reason}. Check that the server is "
            f"running and the URL, user and password are right."
        )
    if "not a database" in reason or "malformed" in reason or "corrupt" in reason:
        return StoreError(
            f"The database file {where} is damaged or is not a SQLite database "
            f"({reason}). It was left untouched. Move it aside (for example to "
            f"{where}.corrupt) to start with an empty store, or restore a backup."
        )
    return StoreError(
        f"Cannot open the database file {where} ({reason}). Check that its folder "
        f"exists and is writable, and that the disk is not full."
    )
