"""Documents -> parsed Documents, one step per file with page progress (ingest/documents.py
parses, and caches by content hash). The spine adds each to the conversation's index."""

from __future__ import annotations

from typing import Iterator

from .. import steps
from ..conversation import Attachment, Step
from ..limits import limited
from ..messages import text


def read_document(att: Attachment, lang: str) -> Iterator[Step]:
    """Parse one document, yielding its step as pages are read; returns (Document, its step)."""
    from ..ingest.documents import ingest_document

    step = steps.reading(lang, att.name)
    yield step
    doc = yield from steps.with_progress(
        limited("documents", lambda report: ingest_document(att.path, att.name, report), lang),
        step,
        text("step.page_progress", lang),
    )
    return doc, step
