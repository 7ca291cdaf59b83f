"""Content-addressed files: blobs on disk, ownership rows in the database.

A blob lives at <root>/ab/cdef….png: its sha256, split after two characters so no folder gets
huge, then the extension of the name it was first stored under (lower case, [a-z0-9]{1,8},
none if the name has no such suffix), because Gradio and browsers decide from the file name
whether to show a file inline. The files table keeps that extension per owner (files.ext), so
path(owner, sha256) needs no name; rows from before it (ext NULL) point to the blob without
one, where older versions wrote it. The same bytes stored by two owners under two extensions
are two blobs; one owner has one path per sha256. It is written to a private temporary file
(mkstemp: random name, O_EXCL) in <root>/tmp, flushed, then moved into place with os.replace,
so a crash leaves either the whole file or none. Blobs are shared by content; the files table
says which owner may read which, and a blob is removed once no owner has it any more.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from chatbot.messages import UserError

from .db import ConversationRow, FileRow, ShareRow, TurnRow, utcnow
from .errors import NotFound, StoreError

SHA256 = re.compile(r"[0-9a-f]{64}")
EXT = re.compile(r"[a-z0-9]{1,8}")
BLOB_NAME = re.compile(r"([0-9a-f]{62})(?:\.([a-z0-9]{1,8}))?")  # the part after ab/
CHUNK = 1 << 20
STALE_TEMP_S = 3600  # a temporary blob this old was left by a crash


def is_sha256(value) -> bool:
    return isinstance(value, str) and SHA256.fullmatch(value) is not None


def extension_of(name: str) -> str:
    """The extension a blob stored under this file name gets: 'png' for 'Photo.PNG', '' when
    the name has none, or one that is not 1-8 lower-case letters and digits."""
    ext = Path(name or "").suffix.lower()[1:]
    return ext if EXT.fullmatch(ext) else ""


@dataclass
class Staged:
    """A blob written to a temporary file, hashed, not yet in place."""

    temp: Path
    sha256: str
    size: int


class Blobs:
    """The blob folder. `lock` orders "blob in place + row added" against "no row left ->
    blob removed", so a blob another owner is just adding is never swept away."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.temp_dir = self.root / "tmp"
        self.lock = threading.Lock()

    def prepare(self) -> None:
        """Create the folders, and drop temporary files a crash left behind (only old ones:
        another process sharing the folder may be writing the recent ones)."""
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.temp_dir.glob("blob-*"):
            with contextlib.suppress(OSError):
                if time.time() - leftover.stat().st_mtime > STALE_TEMP_S:
                    leftover.unlink()

    def location(self, sha256: str, ext: str | None = "") -> Path:
        """Where the blob is: ext '' or None (a row from before extensions) -> no suffix."""
        return self.root / sha256[:2] / (sha256[2:] + (f".{ext}" if ext else ""))

    def sha_of(self, path: Path) -> str | None:
        """The sha256 of a path that is one of our blobs, else None (no hashing)."""
        try:
            rel = Path(path).resolve().relative_to(self.root.resolve())
        except ValueError:
            return None
        if len(rel.parts) != 2 or not re.fullmatch(r"[0-9a-f]{2}", rel.parts[0]):
            return None
        m = BLOB_NAME.fullmatch(rel.parts[1])
        return rel.parts[0] + m.group(1) if m else None

    def stage(self, source: str | Path | bytes | BinaryIO, limit: int | None = None) -> Staged:
        """Copy source into a fresh temporary file while hashing it. `limit` caps the bytes
        read (for untrusted streams); exceeding it raises ValueError."""
        fd, name = tempfile.mkstemp(prefix="blob-", dir=self.temp_dir)
        temp, digest, size = Path(name), hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in read_chunks(source):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise ValueError(f"more than {limit} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return Staged(temp, digest.hexdigest(), size)

    def commit(self, staged: Staged, ext: str | None = "") -> Path:
        """Move a staged blob into place (atomic); if the same content is there, keep that."""
        target = self.location(staged.sha256, ext)
        if target.is_file():
            staged.temp.unlink(missing_ok=True)
            return target
        target.parent.mkdir(exist_ok=True)
        os.replace(staged.temp, target)
        return target

    def remove(self, sha256: str, ext: str | None = "") -> None:
        self.location(sha256, ext).unlink(missing_ok=True)


def read_chunks(source):
    """Bytes, a path, or a binary file object, as chunks."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield bytes(source)
    elif isinstance(source, (str, Path)):
        with open(source, "rb") as f:
            yield from iter(lambda: f.read(CHUNK), b"")
    else:
        yield from iter(lambda: source.read(CHUNK), b"")


def write_failure(what: str, error: OSError) -> StoreError:
    """A failed disk write, in words: which file, why, and what to do."""
    reason = error.strerror or str(error)
    return StoreError(
        f"Could not store {what}: {reason} ({error.filename or 'data directory'}). "
        f"Nothing stored before was changed. Free some disk space or fix the "
        f"folder's permissions, then try again."
    )


def prepare_dir(data_dir: Path) -> None:
    """Create the data folders and prove they can be written, before touching any database."""
    try:
        for folder in (data_dir, data_dir / "files" / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise StoreError(
            f"The data directory {data_dir} cannot be written ({e.strerror or e}: "
            f"{e.filename or data_dir}). Choose another data directory, or make this one "
            f"writable by the user running the app."
        ) from e


# ---- ownership rows -----------------------------------------------------------------------
def register(
    session: Session, owner: str, sha256: str, name: str, size: int, quota_mb: float
) -> str:
    """Let owner read a blob; the owner's quota (quota_mb, MAX_STORED_MB_PER_OWNER) counts each
    of its files once. Returns the extension of the owner's blob: the one it already has, else
    the one of `name`."""
    row = session.get(FileRow, (owner, sha256))
    if row is not None:
        return row.ext or ""
    used = session.scalar(
        select(func.coalesce(func.sum(FileRow.size), 0)).where(FileRow.owner == owner)
    )
    cap = quota_mb * 2**20
    if used + size > cap:
        raise UserError(
            "store.quota",
            name=name,
            mb=size / 2**20,
            total=(used + size) / 2**20,
            limit=quota_mb,
        )
    ext = extension_of(name)
    session.add(
        FileRow(owner=owner, sha256=sha256, name=name, ext=ext, size=size, created=utcnow())
    )
    return ext


def owned(session: Session, owner: str, sha256: str) -> FileRow:
    row = session.get(FileRow, (owner, sha256)) if is_sha256(sha256) else None
    if row is None:
        raise NotFound("file")
    return row


def referenced(session: Session, owner: str) -> set[str]:
    """Every sha256 the owner's turns still point to (attachments and generated files), and
    the files of the owner's share links (a snapshot keeps what it showed)."""
    rows = session.execute(
        select(TurnRow.attachments, TurnRow.files)
        .join(ConversationRow, ConversationRow.id == TurnRow.conversation_id)
        .where(ConversationRow.owner == owner)
    )
    shared = session.scalars(select(ShareRow.files).where(ShareRow.owner == owner))
    return {
        sha
        for attachments, files in rows
        for sha in [a.get("sha256") for a in attachments] + list(files)
    } | {sha for files in shared for sha in files}


def extensions(session: Session, owner: str, shas: set[str]) -> dict[str, str]:
    """sha256 -> the extension of the owner's blob ('' for none), for those the owner has."""
    if not shas:
        return {}
    rows = session.execute(
        select(FileRow.sha256, FileRow.ext).where(FileRow.owner == owner, FileRow.sha256.in_(shas))
    )
    return {sha: ext or "" for sha, ext in rows}


def release(session: Session, owner: str, candidates: set[str]) -> set[tuple[str, str]]:
    """Drop the owner's rows for candidates no turn of theirs uses any more (call after the
    turns are deleted and flushed); returns the blobs released, as (sha256, ext)."""
    if not candidates:  # most updates (a growing reply): no owner-wide scan
        return set()
    unused = set(candidates) - referenced(session, owner)
    if not unused:
        return set()
    released = set(extensions(session, owner, unused).items())
    session.execute(delete(FileRow).where(FileRow.owner == owner, FileRow.sha256.in_(unused)))
    return released


def still_held(session: Session, candidates: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these blobs, (sha256, ext), some owner still has."""
    if not candidates:
        return set()
    rows = session.execute(
        select(FileRow.sha256, FileRow.ext).where(
            FileRow.sha256.in_({sha for sha, _ in candidates})
        )
    )
    return {(sha, ext or "") for sha, ext in rows} & set(candidates)
