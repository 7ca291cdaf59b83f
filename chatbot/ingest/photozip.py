"""A zip of photos (a holiday folder, say) -> one image attachment per photo inside, in name order,
so they can be searched and labelled together. Limits are checked on the archive's directory
before anything is unpacked."""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..cleanup import private_dir
from ..config import IMAGE_EXTENSIONS, MAX_UNZIPPED_MB, MAX_ZIP_PHOTOS
from ..conversation import Attachment
from ..messages import UserError

UNPACK_DIR = private_dir(
    "zips"
)  # this process's own folder; named by content hash; swept by cleanup.py


def ingest_photo_zip(path: str) -> list[Attachment]:
    import hashlib

    from .images import open_image

    name = Path(path).name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError("zip.unreadable", name=name, error=exc) from None
    with archive:
        photos = sorted(
            (
                i
                for i in archive.infolist()
                if not i.is_dir()
                and "__MACOSX" not in i.filename
                and Path(i.filename).suffix.lower() in IMAGE_EXTENSIONS
            ),
            key=lambda i: i.filename,
        )
        if not photos:
            raise UserError("zip.no_photos", name=name, extensions=", ".join(IMAGE_EXTENSIONS))
        if len(photos) > MAX_ZIP_PHOTOS:
            raise UserError(
                "zip.too_many_photos", name=name, count=len(photos), limit=MAX_ZIP_PHOTOS
            )
        unpacked = sum(i.file_size for i in photos) / 2**20
        if unpacked > MAX_UNZIPPED_MB:
            raise UserError("zip.photos_too_big", name=name, mb=unpacked, limit=MAX_UNZIPPED_MB)
        UNPACK_DIR.mkdir(parents=True, exist_ok=True)
        out = []
        for info in photos:
            data = archive.read(info)
            sha = hashlib.sha256(data).hexdigest()
            target = UNPACK_DIR / f"{sha[:32]}{Path(info.filename).suffix.lower()}"
            if not target.exists():
                target.write_bytes(data)
            label = Path(info.filename).name
            image, note = open_image(str(target), label)
            out.append(Attachment("image", label, str(target), sha, image=image, note=note))
    return out
