"""A retrieved page brings its table along.

On the real-document set (data/realdocs), every table question whose page was retrieved
but whose answer was not in the model's context had the page's prose chunks outranking
its table chunk: a long table shares few words with a question about one of its cells,
and its embedding is an average over all its rows.
"""

from __future__ import annotations


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
