"""Bounded memory and whole-input limits: a conversation keeps each photo's encoding, not its
pixels (read again from the file, bounded, if ever needed); an animated image says that only its
first frame is read. Guards the 650 MB held by 40 full-size photos, and the silent first-frame
GIF."""

from __future__ import annotations

from PIL import Image

from chatbot.config import MAX_IMAGES_PER_CONVERSATION, MAX_KEPT_IMAGE_SIDE
from chatbot.conversation import Conversation
from chatbot.ingest.images import pixels
from tests.helpers import ask


def test_conversations_keep_encodings_not_pixels(pipe, tmp_path):
    conv = Conversation()
    n = MAX_IMAGES_PER_CONVERSATION + 2
    for i in range(0, n, 3):  # several photos a message, as people send them
        paths = []
        for j in range(i, min(i + 3, n)):
            Image.new("RGB", (2048, 1536), (j * 12 % 255, 90, 160)).save(tmp_path / f"big{j}.jpg")
            paths.append(tmp_path / f"big{j}.jpg")
        assert ask(pipe, conv, f"photos from {i}", paths).error is None
    photos = conv.images()
    assert len(photos) == n
    assert all(a.image is None for a in photos), (
        "after the turn the conversation keeps encodings, not pixels"
    )
    assert max(pixels(photos[-1]).size) <= MAX_KEPT_IMAGE_SIDE, "read again from the file, bounded"
    encoded = {k[1] for k in conv.image_cache}
    assert {a.sha256 for a in photos[-MAX_IMAGES_PER_CONVERSATION:]} <= encoded, (
        "the photos in context stay encoded"
    )
    assert ask(pipe, conv, "and the last one?").error is None


def test_an_animated_image_says_only_its_first_frame_is_read(pipe, tmp_path):
    frames = [Image.new("RGB", (64, 64), (i * 20, 0, 0)) for i in range(12)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    reply = ask(pipe, Conversation(), "what moves here?", [tmp_path / "anim.gif"])
    assert reply.error is None
    encoder = next(s for s in reply.steps if s.key == "encode")
    assert "only its first frame is used" in encoder.detail


def test_old_files_outside_the_store_are_swept(tmp_path):
    import os
    import time

    from chatbot.cleanup import sweep

    old, new = tmp_path / "old.png", tmp_path / "new.png"
    for p in (old, new):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    assert sweep([tmp_path], max_age_s=86400) == 1 and not old.exists() and new.exists()


def test_workbooks_are_limited_as_a_whole_and_huge_cells_are_cut(tmp_path, monkeypatch):
    """Guards 25 sheets that each pass the per-sheet limit (53 s and 730 MB for one upload), a
    30 MB stream from one cell, and a header that declares 2x2 while the sheet holds more."""
    import re
    import zipfile

    import pytest
    from openpyxl import Workbook

    from chatbot.ingest import documents, sheets
    from chatbot.messages import UserError

    wb = Workbook()
    for s in range(5):
        ws = wb.active if s == 0 else wb.create_sheet(f"s{s}")
        for r in range(50):
            ws.append([f"r{r}c{c}" for c in range(20)])
    wb.save(tmp_path / "many.xlsx")
    monkeypatch.setattr(sheets, "MAX_WORKBOOK_CELLS", 3_000)
    with pytest.raises(UserError, match="MAX_WORKBOOK_CELLS"):
        documents.ingest_document(str(tmp_path / "many.xlsx"))

    wb = Workbook()
    wb.active.append(["name", "notes"])
    wb.active.append(["a", "x" * 50_000])
    for r in range(300):
        wb.active.append([f"row{r}", "short"])
    wb.save(tmp_path / "cells.xlsx")
    with zipfile.ZipFile(tmp_path / "cells.xlsx") as z:  # a header that lies about the size
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:B2"', parts[sheet])
    with zipfile.ZipFile(tmp_path / "lying.xlsx", "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    doc = documents.ingest_document(str(tmp_path / "lying.xlsx"))
    table = doc.tables[0]
    assert table.shape == (301, 2), "every row is read, whatever the header declares"
    assert max(len(c) for row in table.rows for c in row) <= sheets.MAX_CELL_CHARS + 1
    assert "MAX_CELL_CHARS" in doc.pages[0].text
