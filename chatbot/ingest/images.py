"""Uploaded photos -> bounded RGB images, with clear errors for everything else."""

from __future__ import annotations

from pathlib import Path

from ..config import MAX_IMAGE_PIXELS, MAX_KEPT_IMAGE_SIDE
from ..messages import UserError, msg

ANIMATED_NOTE = (
    "image.animated"  # a messages.py key: the encoder step says it in the reader's language
)


def pixels(att):
    """An attachment's image, from memory while its turn is being answered, else read again from
    its file (conversations keep encodings, not pixels: memory stays flat however many photos
    come)."""
    return att.image if att.image is not None else load_image(att.path, att.name)


def load_image(path: str, name: str):
    """The photo, checked and bounded (see open_image)."""
    return open_image(path, name)[0]


def open_image(path: str, name: str):
    """(RGB image bounded to MAX_KEPT_IMAGE_SIDE, note). Reads the header before decoding any
    pixels, so a 20000 x 20000 'decompression bomb' is refused without allocating it; an
    animated GIF/WebP gives its first frame and says so (no frame after it is decoded)."""
    note = ""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS:
                raise UserError(
                    "image.too_many_pixels", name=name, w=w, h=h, limit=MAX_IMAGE_PIXELS
                )
            if getattr(im, "is_animated", False):
                note = ANIMATED_NOTE
            im.load()
            rgb = im.convert("RGB")
    except UserError:
        raise
    except Image.DecompressionBombError:  # PIL's own guard fires first on the largest bombs
        raise UserError("image.far_too_many_pixels", name=name, limit=MAX_IMAGE_PIXELS) from None
    except UnidentifiedImageError:
        kind = msg("word.text") if _looks_like_text(path) else msg("word.unrecognised_data")
        raise UserError("image.not_image", name=name, kind=kind) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError("image.corrupt", name=name, error=exc) from None
    rgb.thumbnail((MAX_KEPT_IMAGE_SIDE, MAX_KEPT_IMAGE_SIDE))  # the original stays on disk
    return rgb, note


def _looks_like_text(path: str) -> bool:
    head = Path(path).read_bytes()[:512]
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
