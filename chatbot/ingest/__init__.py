"""Uploads -> typed attachments. Checks that apply to every file live here."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..config import (
    AUDIO_EXTENSIONS,
    DOCUMENT_EXTENSIONS,
    IMAGE_EXTENSIONS,
    MAX_FILE_MB,
    MAX_FILES_PER_MESSAGE,
    VIDEO_EXTENSIONS,
)
from ..conversation import Attachment
from ..messages import UserError, msg


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_files(paths: list[str]) -> None:
    """Limits that need no parsing: count, size, type."""
    if len(paths) > MAX_FILES_PER_MESSAGE:
        raise UserError("files.too_many", count=len(paths), limit=MAX_FILES_PER_MESSAGE)
    for p in paths:
        name = Path(p).name
        ext = Path(p).suffix.lower()
        if (
            ext
            not in IMAGE_EXTENSIONS
            + DOCUMENT_EXTENSIONS
            + AUDIO_EXTENSIONS
            + VIDEO_EXTENSIONS
            + (".zip",)
        ):
            raise UserError(
                "files.unsupported",
                name=name,
                ext=ext or msg("word.none"),
                images=", ".join(IMAGE_EXTENSIONS),
                documents=", ".join(DOCUMENT_EXTENSIONS),
                audio=", ".join(AUDIO_EXTENSIONS),
                video=", ".join(VIDEO_EXTENSIONS),
            )
        mb = Path(p).stat().st_size / 2**20
        if mb > MAX_FILE_MB:
            raise UserError("files.too_big", name=name, mb=mb, limit=MAX_FILE_MB)


def ingest_file(path: str) -> list[Attachment]:
    """One upload -> its attachments: a photo, a zip of photos, a voice note or clip, a document."""
    if path.lower().endswith(".zip"):
        from .photozip import ingest_photo_zip

        return ingest_photo_zip(path)
    if is_image(path):
        return [ingest_image(path)]
    return [ingest_media(path) if media_kind(path) else ingest_document_file(path)]


def ingest_image(path: str) -> Attachment:
    from .images import open_image

    name = Path(path).name
    image, note = open_image(path, name)
    return Attachment("image", name, path, sha256_file(path), image=image, note=note)


def is_image(path: str) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def ingest_media(path: str) -> Attachment:
    """A voice note or a video clip, complete; decoded in the reply, where its progress shows."""
    return Attachment(media_kind(path), Path(path).name, path, sha256_file(path))


def media_kind(path: str) -> str | None:
    """ "video" or "audio" by extension (.webm is tried as a video first), None for anything
    else."""
    ext = Path(path).suffix.lower()
    return "video" if ext in VIDEO_EXTENSIONS else "audio" if ext in AUDIO_EXTENSIONS else None


def ingest_document_file(path: str) -> Attachment:
    """A document attachment, complete: parsing happens in the reply, where its progress shows."""
    return Attachment("document", Path(path).name, path, sha256_file(path))
