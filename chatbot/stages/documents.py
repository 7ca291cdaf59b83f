"""Documents -> parsed Documents, one step per file with page progress (ingest/documents.py
parses, and caches by content hash; a long PDF's text layer comes first). The spine adds each
to the conversation's index."""

from __future__ import annotations

from typing import Iterator

from .. import steps
from ..conversation import Attachment, Step
from ..limits import limited
from ..messages import text


def read_document(
    att: Attachment, lang: str, text_first_chars: int | None = None
) -> Iterator[Step]:
    """Parse one document, yielding its step as pages are read; returns (Document, its step).
    With text_first_chars, a long PDF with more text than that comes back as its text layer
    alone (not complete: the index reads the rest in the background, ingest_text_first)."""
    from ..ingest.documents import ingest_document
    from ..ingest.pdf import ingest_text_first

    step = steps.reading(lang, att.name)
    yield step
    if text_first_chars is not None:
        draft = ingest_text_first(att.path, att.name, text_first_chars)
        if draft is not None:
            return draft, step
    doc = yield from steps.with_progress(
        limited("documents", lambda report: ingest_document(att.path, att.name, report), lang),
        step,
        text("step.page_progress", lang),
    )
    return doc, step
