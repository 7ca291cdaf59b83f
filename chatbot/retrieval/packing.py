"""What goes into the prompt: every document whole when it fits the budget, else the best
passages, each text passage followed by its page's table, as many as fit.

A retrieved page brings its table along: on the real-document set (data/realdocs), every table
question whose page was retrieved but whose answer was not in the model's context had the page's
prose chunks outranking its table chunk: a long table shares few words with a question about one
of its cells, and its embedding is an average over all its rows.
"""

from __future__ import annotations

from dataclasses import replace

from .chunks import whole_pages
from .fence import format_context
from .passages import Passage


def whole(documents: list, budget_chars: int) -> tuple[str, list[Passage]] | None:
    """Every document whole, page by page, when the fenced text fits budget_chars; else None."""
    if sum(d.n_chars for d in documents) > budget_chars:  # cheap test first
        return None
    several = len(documents) > 1
    passages = [replace(p, show_file=several) for d in documents for p in whole_pages(d)]
    text = format_context(passages)
    return (text, passages) if len(text) <= budget_chars else None


def fit(ranked: list[Passage], budget_chars: int) -> tuple[str, list[Passage]]:
    """The ranked passages (best first) that fit budget_chars once fenced, in order; at least
    one, cut to fit: the model never answers from nothing."""
    chosen: list[Passage] = []
    for passage in ranked:
        if len(format_context(chosen + [passage])) > budget_chars:
            if not chosen:
                room = max(budget_chars - len(format_context([replace(passage, text="")])), 0)
                chosen.append(replace(passage, text=passage.text[:room]))
            continue  # a smaller passage further down may still fit
        chosen.append(passage)
    return format_context(chosen), chosen


def with_page_tables(ranked: list, k: int) -> list:
    """The first k of `ranked` (passages, best first), each text passage followed by the
    best-ranked table chunk of its page when none of that page's tables is among them."""
    top = ranked[:k]
    out: list = []
    for passage in top:
        out.append(passage)
        if passage.kind != "text" or any(
            p.kind == "table" and p.page == passage.page and p.file == passage.file
            for p in top + out
        ):
            continue
        table = next(
            (
                p
                for p in ranked[k:]
                if p.kind == "table" and p.page == passage.page and p.file == passage.file
            ),
            None,
        )
        if table is not None:
            out.append(table)
    return out
