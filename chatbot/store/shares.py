"""Share links of Store: a read-only snapshot of a conversation's visible path, revocable.

A mixin, ShareMethods, that Store inherits; it relies on Store's session(), conversation(),
snapshot() (transfer.py), sweep() and blobs. A share copies the path's records when it is made,
so later turns, other branches and the owner's other conversations are never reachable through
it; its id is SHARE_ID_BYTES random bytes (URL-safe). Its files stay held while it exists
(files.referenced counts them). `shared()` and `shared_file()` are the only ways in for a link
holder, and answer NotFound for an id that is unknown, revoked or expired, and for any file the
snapshot does not show.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from chatbot.messages import UserError

from ..config import MAX_SHARE_DAYS, MAX_SHARES_PER_OWNER
from .archive import visible
from .db import ShareRow, as_utc, utcnow
from .errors import NotFound
from .files import is_sha256, release
from .records import check_owner, shas_of

SHARE_ID_BYTES = 32  # 256 random bits per link
SHARE_ID = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class Shared:
    """What a link holder sees: the title, the path's records, and the files they show."""

    id: str
    title: str
    records: list[dict]
    files: dict[str, dict]  # sha256 -> {"name", "ext"}
    created: str


class ShareMethods:
    """The share-link methods of Store."""

    def share(self, owner: str, conversation_id: str, days: float | None = None) -> str:
        """A new link to the conversation as it shows now; days: it expires then (None:
        until revoked; at most MAX_SHARE_DAYS). Returns its id."""
        if days is not None and not (isinstance(days, (int, float)) and 0 < days <= MAX_SHARE_DAYS):
            raise UserError("share.bad_days", days=str(days)[:20], limit=MAX_SHARE_DAYS)
        conv, records, names, exts = self.snapshot(owner, conversation_id)
        path = visible(records, conv.head)
        shas = set().union(*(shas_of(r) for r in path)) if path else set()
        files = {sha: {"name": names.get(sha, sha), "ext": exts.get(sha)} for sha in shas}
        share_id, now = secrets.token_urlsafe(SHARE_ID_BYTES), utcnow()
        with self.session(write=True) as s:
            self.conversation(s, owner, conversation_id, lock=True)
            count = s.scalar(select(func.count()).where(ShareRow.owner == owner))
            if count >= MAX_SHARES_PER_OWNER:
                raise UserError("share.too_many", count=count, limit=MAX_SHARES_PER_OWNER)
            s.add(
                ShareRow(
                    id=share_id,
                    owner=owner,
                    conversation_id=conv.id,
                    title=conv.title,
                    turns=path,
                    files=files,
                    created=now,
                    expires=now + timedelta(days=days) if days else None,
                )
            )
        return share_id

    def shares(self, owner: str) -> list[dict]:
        """The owner's links, newest first: {"id", "conversation", "title", "created",
        "expires"}."""
        check_owner(owner)
        with self.session() as s:
            rows = s.scalars(
                select(ShareRow).where(ShareRow.owner == owner).order_by(ShareRow.created.desc())
            ).all()
        return [
            {
                "id": r.id,
                "conversation": r.conversation_id,
                "title": r.title,
                "created": as_utc(r.created).isoformat(timespec="seconds"),
                "expires": as_utc(r.expires).isoformat(timespec="seconds") if r.expires else None,
            }
            for r in rows
        ]

    def unshare(self, owner: str, share_id: str) -> None:
        """Revoke a link for good (NotFound unless it is the owner's); its files go with it
        unless a turn still shows them."""
        check_owner(owner)
        with self.session(write=True) as s:
            row = self.share_row(s, share_id)
            if row is None or row.owner != owner:
                raise NotFound("share")
            shas = set(row.files)
            s.execute(delete(ShareRow).where(ShareRow.id == row.id))
            s.flush()
            released = release(s, owner, shas)
        self.sweep(released)

    def share_row(self, s, share_id) -> ShareRow | None:
        if not (isinstance(share_id, str) and SHARE_ID.fullmatch(share_id)):
            return None
        row = s.get(ShareRow, share_id)
        if row is not None and row.expires is not None and as_utc(row.expires) <= utcnow():
            return None
        return row

    def shared(self, share_id: str) -> Shared:
        """The snapshot behind a link (anyone holding it); NotFound if unknown, revoked or
        expired."""
        with self.session() as s:
            row = self.share_row(s, share_id)
            if row is None:
                raise NotFound("share")
            created = as_utc(row.created).isoformat(timespec="seconds")
            return Shared(row.id, row.title, list(row.turns), dict(row.files), created)

    def copy_shared(self, share_id: str, owner: str) -> str:
        """ "Continue as my own copy": a new conversation of owner holding the snapshot's turns
        and files (within the owner's limits); its id. NotFound for a link that is gone."""
        from .archive import Archive
        from .records import FIELDS

        snapshot = self.shared(share_id)
        records = [{k: r.get(k) for k in FIELDS} for r in snapshot.records]
        n = len(records)
        names = {sha: f.get("name") or sha for sha, f in snapshot.files.items()}
        stored: set[str] = set()
        try:
            for sha in sorted(snapshot.files):
                self.put(self.shared_file(share_id, sha), owner, names[sha])
                stored.add(sha)
            archive = Archive(
                None, snapshot.title, records, {}, names, {}, list(range(n)),
                [i - 1 if i else None for i in range(n)], n - 1 if n else None,
            )  # fmt: skip
            return self.insert_conversation(owner, archive)
        except BaseException:
            with self.session(write=True) as s:  # undo the files this copy added
                released = release(s, owner, stored)
            self.sweep(released)
            raise

    def shared_file(self, share_id: str, sha256: str) -> Path:
        """A file the snapshot shows, for a link holder; NotFound for any other."""
        snapshot = self.shared(share_id)
        if not is_sha256(sha256) or sha256 not in snapshot.files:
            raise NotFound("file")
        location = self.blobs.location(sha256, snapshot.files[sha256].get("ext"))
        if not location.is_file():
            raise NotFound("file")
        return location
