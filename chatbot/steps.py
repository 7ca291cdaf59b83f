"""Helpers for the reply's visible steps: progress from a worker thread, the retrieval step's
sources, the cited pages' thumbnails, and failure messages that say what to do."""

from __future__ import annotations

import threading

from .cleanup import private_dir
from .conversation import Step, Turn
from .messages import text

THUMBNAIL_DIR = private_dir(
    "pages"
)  # this process's own folder; named by content hash, never by file name
THUMBNAIL_DPI = 60  # readable when opened, small in the chat


def sources(passages, expansion=None, lang: str | None = None) -> str:
    """The Retrieval step's text: what went into the context, with citations, and the English
    terms a Korean question was searched with (query.Expansion), if any."""
    lines = [
        f"{p.cite()} ({p.kind}, score {p.score:.2f}): {p.text[:160].strip()}…" for p in passages
    ]
    if expansion is not None and expansion.added:
        lines.insert(0, text("step.query_expanded", lang, terms=expansion.describe()) + "\n")
    return "\n".join(lines)


def thumbnails(passages, index, limit: int = 2, quotes=()) -> list[str]:
    """PNG renders of the best-ranked PDF pages with the cited passage highlighted, so a citation
    is checked at a glance; with `quotes` (quotes.Quote), their pages with exactly the quoted
    sentence highlighted. Named by content hashes (document and highlighted text): two users'
    different 'report.pdf' never share a file."""
    import hashlib

    from .ingest.pdf import render_highlighted

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
            image.save(
                target
            )  # the supporting words marked on the page: the claim checks at a glance
        out.append(str(target))
    return out


def checkable(
    reply: str, question: str, passages, index, lang: str | None = None
) -> tuple[str, list[dict], list[str]]:
    """The reply's text with its Sources block (quotes.py), the quotes for API clients
    (info["sources"]), and the quoted pages' thumbnails with exactly those sentences highlighted."""
    from .quotes import sources_block, support_quotes

    quotes = support_quotes(reply, question, passages)
    files = thumbnails(passages, index, limit=max(2, len(quotes)), quotes=quotes)
    return reply + sources_block(quotes, lang), [q.info() for q in quotes], files


def with_progress(work, step: Step, fmt: str, reply: Turn):
    """Run work(report) in a thread; each report(*args) becomes step.detail = fmt.format(*args)
    and the reply is yielded, so long stages stream their progress. Returns work's result
    (use with `yield from`) or re-raises its exception."""
    import queue

    reports, result = queue.Queue(), {}

    def run():
        try:
            result["value"] = work(lambda *a: reports.put(a))
        except BaseException as exc:  # handed to the streaming side
            result["error"] = exc
        finally:
            reports.put(None)

    threading.Thread(target=run, daemon=True).start()
    while (item := reports.get()) is not None:
        step.detail = fmt.format(*item)
        yield reply
    if "error" in result:
        raise result["error"]
    return result["value"]


def explain_failure(exc: Exception, lang: str = "en") -> str:
    """A message that names the cause and what to do, in the reader's language."""
    import torch

    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return text("failure.oom", lang)
    return text("failure.model", lang, error=f"{type(exc).__name__}: {exc}")
