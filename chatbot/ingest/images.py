"""Uploaded photos -> bounded RGB images, with clear errors for everything else."""
from __future__ import annotations

from pathlib import Path

from ..config import MAX_IMAGE_PIXELS, MAX_KEPT_IMAGE_SIDE
from ..conversation import UserError

ANIMATED_NOTE = "animated: only its first frame is used"


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
                raise UserError(f"'{name}' is {w}x{h} pixels, over the limit of {MAX_IMAGE_PIXELS:,} "
                                "pixels (MAX_IMAGE_PIXELS). Please resize it and upload it again.")
            if getattr(im, "is_animated", False):
                note = ANIMATED_NOTE
            im.load()
            rgb = im.convert("RGB")
    except UserError:
        raise
    except Image.DecompressionBombError:  # PIL's own guard fires first on the largest bombs
        raise UserError(f"'{name}' has far more than {MAX_IMAGE_PIXELS:,} pixels (MAX_IMAGE_PIXELS). "
                        "Please resize it and upload it again.") from None
    except UnidentifiedImageError:
        kind = "text" if _looks_like_text(path) else "unrecognised data"
        raise UserError(f"'{name}' is not an image (its content is {kind}); "
                        "please upload a PNG, JPEG, WebP or GIF file.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"'{name}' could not be read: the image file is corrupt or truncated ({exc}).") from None
    rgb.thumbnail((MAX_KEPT_IMAGE_SIDE, MAX_KEPT_IMAGE_SIDE))   # the original stays on disk
    return rgb, note


def _looks_like_text(path: str) -> bool:
    head = Path(path).read_bytes()[:512]
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False
