"""Retrieval: page-cited passages for the question (chatbot/retrieval/). Keywords answer at once;
the dense vectors are computed in the background and join the ranking when they are ready."""

from __future__ import annotations

from typing import Iterator

from .. import steps
from ..conversation import Step


def retrieve(index, question: str, lang: str) -> Iterator[Step]:
    """Yields the retrieval step; returns (fenced context, passages)."""
    from ..query import expand_query

    step = steps.retrieval(lang)
    yield step
    index.start_embedding()  # dense vectors in the background: keywords answer meanwhile
    search = expand_query(question)  # Korean words + English terms, for BM25 and the embedder
    context, passages = yield from steps.with_progress(
        lambda report: index.context(search.text), step, "{}"
    )
    expansion = search if index.last_mode != "whole" else None
    step.detail = steps.retrieved(
        lang, index.last_mode, index.embedding_progress, passages, expansion, index.reading
    )
    step.done = True
    yield step
    return context, passages
