"""Checkable answers: the sentences of the documents that support the reply, quoted under it
(quotes.py), the one that answers the question quoted above it where the model's words do not
state it, and the quoted pages rendered with exactly those sentences highlighted."""

from __future__ import annotations

import hashlib

from ..cleanup import private_dir

# this process's own folder; named by content hash, never by file name
THUMBNAIL_DIR = private_dir("pages")
THUMBNAIL_DPI = 60  # readable when opened, small in the chat


def thumbnails(passages, index, limit: int = 2, quotes=()) -> list[str]:
    """PNG renders of the best-ranked PDF pages with the cited passage highlighted, so a citation
    is checked at a glance; with `quotes` (quotes.Quote), their pages with exactly the quoted
    sentence highlighted. Named by content hashes (document and highlighted text): two users'
    different 'report.pdf' never share a file."""
    from ..ingest.pdfpages import render_highlighted

    out, pages = [], set()
    marks = [(q.passage, q.text) for q in quotes] or [(p, p.text) for p in passages]
    for passage, marked in marks:
        doc = index.document_for(passage)
        if doc is None or doc.kind != "pdf" or (doc.sha256, passage.page) in pages:
            continue
        if len(out) == limit:
            break
        pages.add((doc.sha256, passage.page))
        quote = hashlib.sha256(marked.encode()).hexdigest()[:12]
        target = THUMBNAIL_DIR / f"{doc.sha256[:24]}-p{passage.page}-{quote}.png"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            image, _ = render_highlighted(doc.path, passage.page, marked, dpi=THUMBNAIL_DPI)
            image.save(target)  # the supporting words marked on the page: checked at a glance
        out.append(str(target))
    return out


def checkable(
    reply: str, question: str, passages, index, lang: str | None = None
) -> tuple[str, list[dict], list[str]]:
    """The reply's text with its lead quote and Sources block (quotes.py), the quotes for API
    clients (info["sources"]; the lead one marked "lead"), and the quoted pages' thumbnails with
    exactly those sentences highlighted."""
    from ..query import expand_query
    from ..quotes import lead_block, lead_quote, sources_block, support_quotes

    # a Korean question about an English document names its words through the glossary
    lead = lead_quote(reply, expand_query(question).text, passages)
    quotes = support_quotes(reply, question, passages)
    shown = ([lead] if lead else []) + quotes
    files = thumbnails(passages, index, limit=max(2, len(shown)), quotes=shown)
    text = lead_block(lead, lang) + reply + sources_block(quotes, lang)
    info = [dict(lead.info(), lead=True)] if lead else []
    return text, info + [q.info() for q in quotes], files
