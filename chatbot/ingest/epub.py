"""EPUB books -> one Page per section under a heading, chapter by chapter.

An EPUB is a zip of XHTML chapters; the package file (content.opf, found through
META-INF/container.xml) lists them in reading order (its spine). Each chapter is read
like a web page (web.py): its headings start sections ("[§ Chapter 3]"), its tables
are tables, and a new chapter always starts a new section. Books locked with DRM
(their chapters listed in META-INF/encryption.xml) cannot be read and say so.
PyMuPDF also opens EPUB, but only as laid-out pages: the HTML keeps headings and tables.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from urllib.parse import unquote

from ..messages import UserError, msg
from .documents import Page, Progress, short_error
from .sections import SectionBuilder, open_zip
from .web import add_html

_CONTENT_TYPES = ("application/xhtml+xml", "text/html")


def read_epub(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    """An EPUB -> sections; progress is reported per chapter."""
    archive = open_zip(data, name, msg("kind.epub"), "META-INF/container.xml", msg("save_as.epub"))
    chapters = spine(archive, name)
    if "META-INF/encryption.xml" in archive.namelist():
        locked = archive.read("META-INF/encryption.xml").decode("utf-8", "replace")
        if any(posixpath.basename(c) in locked for c in chapters):
            raise UserError("epub.drm", name=name)
    sections = SectionBuilder(name)
    for done, member in enumerate(chapters, start=1):
        sections.break_section()
        add_html(archive.read(member).decode("utf-8", "replace"), sections, name)
        if progress:
            progress(done, len(chapters))
    return sections.finish()


def spine(archive, name: str) -> list[str]:
    """Paths (inside the zip) of the book's chapters in reading order."""
    try:
        container = ET.fromstring(archive.read("META-INF/container.xml"))
        opf_path = next(e.get("full-path") for e in container.iter() if _local(e.tag) == "rootfile")
        package = ET.fromstring(archive.read(opf_path))
    except (StopIteration, KeyError, ET.ParseError) as e:
        raise UserError("epub.invalid", name=name, error=short_error(e)) from e
    base = posixpath.dirname(opf_path)
    items = {e.get("id"): e for e in package.iter() if _local(e.tag) == "item"}
    names = set(archive.namelist())
    chapters = []
    for ref in (e for e in package.iter() if _local(e.tag) == "itemref"):
        item = items.get(ref.get("idref"))
        if item is None or item.get("media-type") not in _CONTENT_TYPES:
            continue
        path = posixpath.normpath(posixpath.join(base, unquote(item.get("href", ""))))
        if path in names:
            chapters.append(path)
    if not chapters:
        raise UserError("epub.no_chapters", name=name)
    return chapters


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
