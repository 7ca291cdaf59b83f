"""Store: the conversations, turns and files of many owners, in one database and one folder.

Every method takes the owner first and answers NotFound for another owner's ids exactly as
for ids that do not exist. Each call runs in its own session and transaction, so one
Store is shared by all Gradio worker threads.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, exc, exists, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from chatbot.branches import children_of, path_to, subtree
from chatbot.conversation import Turn
from chatbot.messages import UserError

from ..config import StoreLimits
from .db import (
    WRITE,
    ConversationRow,
    ShareRow,
    TurnRow,
    as_utc,
    describe,
    make_engine,
    migrate,
    utcnow,
)
from .errors import NotFound, StoreError
from .file_methods import FileMethods
from .files import Blobs, prepare_dir, release
from .records import (
    INTERRUPTED_NOTE,
    check_owner,
    check_title,
    default_title,
    row_record,
    shas_of,
    turn_record,
)
from .shares import ShareMethods
from .transfer import Transfer
from .tree import CHAIN, TreeMethods

DB_NAME = "chatbot.db"
CONVERSATION_ID = re.compile(r"[0-9a-f]{32}")
EXPIRE_BATCH = 200  # conversations expire() deletes per transaction


@dataclass(frozen=True)
class ConversationInfo:
    """One line of the sidebar."""

    id: str
    title: str
    created: datetime
    updated: datetime


def info_of(row: ConversationRow) -> ConversationInfo:
    return ConversationInfo(row.id, row.title, as_utc(row.created), as_utc(row.updated))


def like_pattern(query: str) -> str:
    """A LIKE pattern matching query literally anywhere ('%' and '_' are not wildcards)."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", query) + "%"


class Store(FileMethods, TreeMethods, ShareMethods, Transfer):
    """Open with Store.open(data_dir, url=None); see the package docstring for the interface
    (the file methods are in file_methods.py, the message tree in tree.py, export and import
    in transfer.py)."""

    def __init__(self, data_dir: Path, engine: Engine, limits: StoreLimits | None = None):
        self.data_dir = Path(data_dir)
        self.engine = engine
        self.limits = limits or StoreLimits()  # what one owner may keep (config.StoreLimits)
        self.blobs = Blobs(self.data_dir / "files")
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(engine.execution_options(**WRITE), expire_on_commit=False)

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        url: str | None = None,
        limits: StoreLimits | None = None,
        recover: bool = True,
    ) -> "Store":
        """Create the folders, migrate the schema to head, then mark replies cut off by a crash
        (still "streaming") as "interrupted", keeping their partial text. recover=False skips
        that: a reader beside the running app (scripts/export_feedback.py)."""
        data_dir = Path(data_dir).expanduser().resolve()
        prepare_dir(data_dir)
        engine = make_engine(url or f"sqlite:///{data_dir / DB_NAME}")
        try:
            migrate(engine)
            store = cls(data_dir, engine, limits)
            store.blobs.prepare()
            if recover:
                store.interrupt_streaming()
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    @contextmanager
    def session(self, write: bool = False):
        """One transaction; database failures become a StoreError saying nothing was changed."""
        try:
            with (self._writes if write else self._reads)() as s, s.begin():
                yield s
        except exc.DBAPIError as e:
            reason = (
                str(e.orig).strip().splitlines()[0]
                if str(e.orig).strip()
                else type(e.orig).__name__
            )
            raise StoreError(
                f"The database {describe(self.engine)} failed: {reason}. This change was "
                f"not saved and nothing stored before was changed; check the disk "
                f"or the database server, then try again."
            ) from e

    def interrupt_streaming(self) -> int:
        """Replies left "streaming" by a crash become "interrupted" (their text is kept)."""
        with self.session(write=True) as s:
            done = s.execute(
                update(TurnRow)
                .where(TurnRow.status == "streaming")
                .values(status="interrupted", error=func.coalesce(TurnRow.error, INTERRUPTED_NOTE))
            )
        return done.rowcount

    # ---- conversations ---------------------------------------------------------------------
    def conversation(
        self, s: Session, owner: str, conversation_id: str, lock: bool = False
    ) -> ConversationRow:
        """The owner's conversation row (locked for update when asked), or NotFound."""
        check_owner(owner)
        valid = isinstance(conversation_id, str) and CONVERSATION_ID.fullmatch(conversation_id)
        row = s.get(ConversationRow, conversation_id, with_for_update=lock) if valid else None
        if row is None or row.owner != owner:
            raise NotFound()
        return row

    def create(self, owner: str, title: str = "") -> str:
        """A new empty conversation; its id is 128 random bits in hex."""
        title = check_title(title, self.limits.max_title_chars)
        with self.session(write=True) as s:
            return self.new_conversation(s, owner, title)

    def new_conversation(self, s: Session, owner: str, title: str) -> str:
        """Insert a conversation row within MAX_CONVERSATIONS_PER_OWNER."""
        check_owner(owner)
        count = s.scalar(select(func.count()).where(ConversationRow.owner == owner))
        if count >= self.limits.max_conversations_per_owner:
            raise UserError(
                "store.too_many_conversations",
                count=count,
                limit=self.limits.max_conversations_per_owner,
            )
        conversation_id, now = secrets.token_hex(16), utcnow()
        s.add(
            ConversationRow(id=conversation_id, owner=owner, title=title, created=now, updated=now)
        )
        return conversation_id

    def list(self, owner: str, query: str = "") -> list[ConversationInfo]:
        """The owner's conversations, newest first; query (case-insensitive) searches titles
        and the text of every turn."""
        check_owner(owner)
        stmt = select(ConversationRow).where(ConversationRow.owner == owner)
        if (query or "").strip():
            pattern = like_pattern(query.strip())
            in_turns = exists().where(
                TurnRow.conversation_id == ConversationRow.id,
                TurnRow.text.ilike(pattern, escape="\\"),
            )
            stmt = stmt.where(or_(ConversationRow.title.ilike(pattern, escape="\\"), in_turns))
        with self.session() as s:
            rows = s.scalars(
                stmt.order_by(ConversationRow.updated.desc(), ConversationRow.id)
            ).all()
        return [info_of(r) for r in rows]

    def info(self, owner: str, conversation_id: str) -> ConversationInfo:
        with self.session() as s:
            return info_of(self.conversation(s, owner, conversation_id))

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        """Set the title; an empty title goes back to the first user message."""
        title = check_title(title, self.limits.max_title_chars)
        with self.session(write=True) as s:
            conv = self.conversation(s, owner, conversation_id, lock=True)
            if not title:
                first = s.scalar(
                    select(TurnRow.text)
                    .where(TurnRow.conversation_id == conv.id, TurnRow.role == "user")
                    .order_by(TurnRow.position)
                    .limit(1)
                )
                title = default_title(first or "", self.limits.max_title_chars)
            conv.title, conv.updated = title, utcnow()

    def delete(self, owner: str, conversation_id: str) -> None:
        """Delete for real: the turns, and the files no other conversation of the owner uses."""
        with self.session(write=True) as s:
            conv = self.conversation(s, owner, conversation_id, lock=True)
            released = self.drop(s, owner, [conv.id])
        self.sweep(released)

    def expire(self, days: float) -> int:
        """Delete, for every owner, the conversations not updated for `days` days, with the
        files nothing else holds; returns how many. days <= 0 means off (the default)."""
        if days <= 0:
            return 0
        try:
            cutoff = utcnow() - timedelta(days=days)
        except OverflowError:  # before year 1: nothing is that old
            return 0
        expired = 0
        while True:
            with self.session(write=True) as s:
                rows = s.execute(
                    select(ConversationRow.id, ConversationRow.owner)
                    .where(ConversationRow.updated < cutoff)
                    .order_by(ConversationRow.id)
                    .limit(EXPIRE_BATCH)
                    .with_for_update()
                ).all()
                by_owner: dict[str, list[str]] = defaultdict(list)
                for conversation_id, owner in rows:
                    by_owner[owner].append(conversation_id)
                released = set().union(
                    *(self.drop(s, owner, ids) for owner, ids in by_owner.items())
                )
            self.sweep(released)
            expired += len(rows)
            if len(rows) < EXPIRE_BATCH:
                return expired

    def drop(self, s: Session, owner: str, conversation_ids: list[str]) -> set[tuple[str, str]]:
        """Delete these conversations of owner and their turns; returns the blobs released
        (sweep them after the commit)."""
        rows = s.scalars(select(TurnRow).where(TurnRow.conversation_id.in_(conversation_ids)))
        gone = set().union(*(shas_of(row_record(r)) for r in rows))
        links = s.scalars(select(ShareRow).where(ShareRow.conversation_id.in_(conversation_ids)))
        gone |= {sha for link in links for sha in link.files}  # its links go with it
        s.execute(delete(ShareRow).where(ShareRow.conversation_id.in_(conversation_ids)))
        s.execute(delete(TurnRow).where(TurnRow.conversation_id.in_(conversation_ids)))
        s.execute(delete(ConversationRow).where(ConversationRow.id.in_(conversation_ids)))
        return release(s, owner, gone)

    # ---- turns ----------------------------------------------------------------------------
    def turns(self, owner: str, conversation_id: str) -> list[Turn]:
        """The turns of the visible path, root first, rebuilt (Turn.node and Turn.parent set);
        attachment and file paths point into the file store (and end in the file's extension,
        so a photo shows inline). tree() has every branch."""
        return self.tree(owner, conversation_id).path

    def add_turn(
        self,
        owner: str,
        conversation_id: str,
        turn: Turn,
        status: str | None = None,
        parent: int | None | object = CHAIN,
        position: int | None = None,
    ) -> int:
        """Add a turn (its files are stored first) as the child of `parent` (a position; None: a
        first message; by default the visible path's last turn); it becomes the visible path's
        last turn. position: its id (the next free one when not given or already taken, e.g.
        by another tab on the same conversation; ids are never reused). Returns its position.
        status defaults to what the turn shows: "stopped", "failed" (error set) or "done"."""
        if turn.attachments or turn.files:
            self.info(owner, conversation_id)  # NotFound before storing any file
        record = turn_record(turn, status, self.keeper(owner))
        with self.session(write=True) as s:
            conv = self.conversation(s, owner, conversation_id, lock=True)
            parent = conv.head if parent is CHAIN else parent
            last = s.scalar(
                select(func.max(TurnRow.position)).where(TurnRow.conversation_id == conv.id)
            )
            if position is None or s.get(TurnRow, (conv.id, position)) is not None:
                position = (-1 if last is None else last) + 1  # taken: by another tab, say
            if parent is not None and s.get(TurnRow, (conv.id, parent)) is None:
                raise NotFound("turn")
            sibling = s.scalar(
                select(func.coalesce(func.max(TurnRow.sibling) + 1, 0)).where(
                    TurnRow.conversation_id == conv.id,
                    TurnRow.parent.is_(None) if parent is None else TurnRow.parent == parent,
                )
            )
            now = utcnow()
            s.add(
                TurnRow(
                    conversation_id=conv.id,
                    position=position,
                    parent=parent,
                    sibling=sibling,
                    created=now,
                    **record,
                )
            )
            if not conv.title and turn.role == "user":
                conv.title = default_title(turn.text, self.limits.max_title_chars)
            conv.head, conv.updated = position, now
        return position

    def update_turn(
        self, owner: str, conversation_id: str, position: int, turn: Turn, status: str | None = None
    ) -> None:
        """Replace the turn at position (a streaming reply as it grows, then its final state)."""
        if turn.attachments or turn.files:
            self.info(owner, conversation_id)  # NotFound before storing any file
        record = turn_record(turn, status, self.keeper(owner))
        with self.session(write=True) as s:
            conv = self.conversation(s, owner, conversation_id, lock=True)
            row = s.get(TurnRow, (conv.id, position))
            if row is None:
                raise NotFound("turn")
            before = shas_of(row_record(row))
            for key, value in record.items():
                setattr(row, key, value)
            conv.updated = utcnow()
            s.flush()
            released = release(s, owner, before - shas_of(record))
        self.sweep(released)

    def truncate(self, owner: str, conversation_id: str, n_turns: int) -> None:
        """Keep the first n_turns turns of the visible path (undo); the turns after them go, with
        every branch that grew from them, and the files only those turns used."""
        if n_turns < 0:
            raise ValueError("n_turns must be >= 0")
        with self.session(write=True) as s:
            conv = self.conversation(s, owner, conversation_id, lock=True)
            parents = self.parents(s, conv.id)
            path = path_to(conv.head, parents)
            if n_turns >= len(path):
                return
            doomed = subtree(path[n_turns], children_of(parents))
            rows = s.scalars(
                select(TurnRow).where(
                    TurnRow.conversation_id == conv.id, TurnRow.position.in_(doomed)
                )
            ).all()
            gone = set().union(*(shas_of(row_record(r)) for r in rows))
            s.execute(
                delete(TurnRow).where(
                    TurnRow.conversation_id == conv.id, TurnRow.position.in_(doomed)
                )
            )
            conv.head = path[n_turns - 1] if n_turns else None
            conv.updated = utcnow()
            released = release(s, owner, gone)
        self.sweep(released)
