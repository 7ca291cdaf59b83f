"""Photo search: rank the user's photos by a text ("which ones show the sea?") or by another
photo (image-to-image), with cosine similarities.

Every photo is embedded once per model: the embeddings live in the dict the caller passes
(the conversation's image_cache, keyed by model and sha256), so a second search over the
same photos only embeds the query and ranks cached vectors (bench/bench_vision.py; figures in
bench/RESULTS.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..config import MAX_SEARCH_PHOTOS, VISION_MIN_SCORE, VISION_SEARCH_TOP_K
from .encoder import Photo, VisionModel
from .labels import TEMPLATES
from .labelsets import to_english


@dataclass(frozen=True)
class Hit:
    id: str
    score: float  # cosine similarity between the query and the photo
    rank: int  # 1 = best


@dataclass(frozen=True)
class SearchResult:
    query: str  # as given (a text, or the query photo's id)
    read_as: str  # what the model read: the English text, or "photo <id>"
    kind: str  # "text" | "image"
    model: str
    hits: list[Hit]
    searched: int  # photos ranked
    embedded: int  # photos embedded by this call (the rest came from the cache)
    seconds: float
    untranslated: bool = False  # a Korean query the label map could not put into English
    skipped: int = 0  # photos beyond MAX_SEARCH_PHOTOS, not searched


def search_photos(
    model: VisionModel,
    photos: list[Photo],
    query: str | Photo,
    cache: dict,
    *,
    top_k: int = VISION_SEARCH_TOP_K,
    min_score: float = VISION_MIN_SCORE,
) -> SearchResult:
    """Rank `photos` by similarity to `query` (a text in English or Korean, or a Photo).

    cache: the caller's dict (e.g. Conversation.image_cache); photo embeddings are stored in it.
    An image query is not returned as its own best match (same sha256).
    """
    t0 = time.perf_counter()
    skipped = max(0, len(photos) - MAX_SEARCH_PHOTOS)
    photos = list(photos[:MAX_SEARCH_PHOTOS])
    if isinstance(query, Photo):
        kind, shown, read_as, untranslated = "image", query.id, f"photo {query.id}", False
        q, _ = model.photo_embeddings([query], cache)
        photos = [p for p in photos if p.sha256 != query.sha256]
    else:
        kind, shown = "text", " ".join(str(query).split())
        read_as, ok = to_english(shown)
        untranslated = not ok
        q = model.prompt_embeddings([read_as], TEMPLATES)
    if not photos:
        return SearchResult(
            shown,
            read_as,
            kind,
            model.name,
            [],
            0,
            0,
            time.perf_counter() - t0,
            untranslated,
            skipped,
        )
    emb, embedded = model.photo_embeddings(photos, cache)
    scores = (emb @ q[0]).tolist()
    order = sorted(range(len(photos)), key=lambda i: -scores[i])
    hits = [
        Hit(photos[i].id, scores[i], r + 1)
        for r, i in enumerate(order[:top_k])
        if scores[i] >= min_score
    ]
    return SearchResult(
        shown,
        read_as,
        kind,
        model.name,
        hits,
        len(photos),
        embedded,
        time.perf_counter() - t0,
        untranslated,
        skipped,
    )
