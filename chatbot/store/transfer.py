"""Export and import: Markdown, zip archives, and the checks an import makes first.

A mixin, Transfer, that Store inherits; it relies on Store's session(), conversation(),
new_conversation(), put(), sweep() and blobs.
"""

from __future__ import annotations

import zipfile
from contextlib import suppress
from pathlib import Path

from sqlalchemy import func, select

from chatbot.messages import UserError

from .archive import Archive, read_archive, to_markdown, visible, write_archive
from .db import ConversationRow, FileRow, TurnRow, as_utc, utcnow
from .errors import StoreError
from .files import release
from .records import check_owner, default_title, row_record, shas_of


class Transfer:
    """The export / import methods of Store."""

    def snapshot(
        self, owner: str, conversation_id: str
    ) -> tuple[ConversationRow, list[dict], dict[str, str], dict[str, str]]:
        """The conversation, its turn records (every branch, oldest first, each with its "id"
        and "parent"), its files' names and their blobs' extensions, read in one transaction."""
        with self.session() as s:
            conv = self.conversation(s, owner, conversation_id)
            rows = s.scalars(
                select(TurnRow).where(TurnRow.conversation_id == conv.id).order_by(TurnRow.position)
            ).all()
            records = [{"id": r.position, "parent": r.parent, **row_record(r)} for r in rows]
            shas = set().union(*(shas_of(r) for r in records))
            names, exts = {sha: sha for sha in shas}, {}
            if shas:
                for sha, name, ext in s.execute(
                    select(FileRow.sha256, FileRow.name, FileRow.ext).where(
                        FileRow.owner == owner, FileRow.sha256.in_(shas)
                    )
                ):
                    names[sha], exts[sha] = name, ext
        return conv, records, names, exts

    def export_markdown(self, owner: str, conversation_id: str) -> str:
        """The conversation as Markdown; files are linked as files/<sha256>.<ext>, the layout
        of export_archive, so the links work in an unpacked archive."""
        conv, records, names, _ = self.snapshot(owner, conversation_id)
        return to_markdown(conv.title, visible(records, conv.head), names)

    def export_archive(self, owner: str, conversation_id: str, dest_zip: str | Path) -> Path:
        """A zip with conversation.json, conversation.md and files/; import_archive reads it."""
        conv, records, names, exts = self.snapshot(owner, conversation_id)
        blobs = {
            sha: (self.blobs.location(sha, exts.get(sha)), name) for sha, name in names.items()
        }
        meta = {
            "title": conv.title,
            "head": conv.head,
            "created": as_utc(conv.created).isoformat(),
            "updated": as_utc(conv.updated).isoformat(),
        }
        try:
            return write_archive(Path(dest_zip), meta, records, blobs)
        except OSError as e:
            raise StoreError(f"Could not write the archive {dest_zip}: {e.strerror or e}.") from e

    def import_archive(self, owner: str, zip_path: str | Path) -> str:
        """A new conversation from an exported archive; returns its id. The archive is checked
        in full first: a malformed or oversized one raises UserError and changes nothing."""
        check_owner(owner)
        archive = read_archive(Path(zip_path), self.limits.max_archive_mb)
        new = self.check_room(owner, archive)
        stored: set[str] = set()
        try:
            with zipfile.ZipFile(archive.path) as z:
                for sha in new:
                    with z.open(archive.members[sha]) as f:
                        if self.put(f, owner, archive.names[sha]) != sha:
                            raise StoreError(f"{archive.path} changed while it was being imported.")
                    stored.add(sha)
            return self.insert_conversation(owner, archive)
        except BaseException:
            with suppress(StoreError):  # undo the files this import added; keep its error
                with self.session(write=True) as s:
                    released = release(s, owner, stored)
                self.sweep(released)
            raise

    def check_room(self, owner: str, archive: Archive) -> list[str]:
        """Both owner limits hold after the import; returns the files the owner lacks."""
        with self.session() as s:
            count = s.scalar(select(func.count()).where(ConversationRow.owner == owner))
            have = set(s.scalars(select(FileRow.sha256).where(FileRow.owner == owner)))
            used = s.scalar(
                select(func.coalesce(func.sum(FileRow.size), 0)).where(FileRow.owner == owner)
            )
        if count >= self.limits.max_conversations_per_owner:
            raise UserError(
                "import.too_many_conversations",
                count=count,
                limit=self.limits.max_conversations_per_owner,
            )
        new = sorted(set(archive.members) - have)
        total = used + sum(archive.sizes[sha] for sha in new)
        if total > self.limits.max_stored_mb_per_owner * 2**20:
            raise UserError(
                "import.quota", total=total / 2**20, limit=self.limits.max_stored_mb_per_owner
            )
        return new

    def insert_conversation(self, owner: str, archive: Archive) -> str:
        """The conversation and all its turns in one transaction."""
        first_user = next((r["text"] for r in archive.records if r["role"] == "user"), "")
        title = default_title(archive.title or first_user, self.limits.max_title_chars)
        siblings: dict = {}  # parent -> how many children so far
        with self.session(write=True) as s:
            conversation_id, now = self.new_conversation(s, owner, title), utcnow()
            s.flush()
            for node, parent, record in zip(archive.ids, archive.parents, archive.records):
                sibling = siblings[parent] = siblings.get(parent, -1) + 1
                s.add(
                    TurnRow(
                        conversation_id=conversation_id,
                        position=node,
                        parent=parent,
                        sibling=sibling,
                        created=now,
                        **record,
                    )
                )
            s.get(ConversationRow, conversation_id).head = archive.head
        return conversation_id
