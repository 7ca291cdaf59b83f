"""The toolkit as a stage of the reply: run the tool the message asked for over the conversation's
photos and return what the reply shows (a step), what the LLM reads (marked context) and the
gallery (the matching photos as files, best first)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ..ingest.images import pixels
from ..messages import text
from .context import render_vision_context
from .encoder import Photo
from .labels import label_photo
from .search import search_photos
from .tools import Decision

GALLERY_SIZE = 6  # matching photos returned as files


@dataclass
class ToolResult:
    title: str
    detail: str
    context: str = ""  # <vision-results> for the LLM
    files: list[str] = field(default_factory=list)  # the gallery, best first
    info: dict = field(default_factory=dict)  # scores for API clients (info["tools"])


def run_tool(decision: Decision, model, photos, cache: dict, lang: str) -> ToolResult:
    """photos: the conversation's image attachments with their pixels (oldest first)."""
    if not photos:
        return ToolResult(text("step.vision", lang), text("step.no_photos", lang))
    as_photo = {
        a.sha256: Photo(a.name, functools.partial(pixels, a), a.sha256) for a in photos
    }  # read only if not embedded yet
    if decision.tool == "labels":
        result = label_photo(
            model, as_photo[photos[-1].sha256], decision.labels or None, cache=cache, lang=lang
        )
        kind = (
            "softmax over the labels (CLIP)"
            if result.scoring == "softmax"
            else "each label scored alone, sigmoid (SigLIP)"
        )
        lines = "\n".join(f"{s.name}: {s.score:.2f}" for s in result.labels)
        return ToolResult(
            text("step.labels", lang, name=photos[-1].name),
            f"{result.model} · {kind} · {result.candidates} labels ({result.label_set})\n\n{lines}",
            render_vision_context([result]),
            info={
                "tool": "labels",
                "scoring": result.scoring,
                "labels": [{"label": s.name, "score": round(s.score, 4)} for s in result.labels],
            },
        )
    query = as_photo[photos[-1].sha256] if decision.similar else decision.query
    pool = [p for sha, p in as_photo.items() if not (decision.similar and sha == photos[-1].sha256)]
    result = search_photos(model, pool, query, cache, top_k=GALLERY_SIZE)
    by_id = {a.name: a.path for a in photos}
    lines = "\n".join(f"{h.rank}. {h.id}: {h.score:.3f}" for h in result.hits)
    return ToolResult(
        text("step.photo_search", lang, query=result.read_as),
        f"{result.model} · {result.searched} photos ranked by cosine similarity "
        f"({result.embedded} embedded now, the rest cached) in {result.seconds * 1000:.0f} ms"
        f"\n\n{lines}",
        render_vision_context([result]),
        files=[by_id[h.id] for h in result.hits if h.id in by_id],
        info={
            "tool": "find",
            "query": result.read_as,
            "hits": [{"photo": h.id, "score": round(h.score, 4)} for h in result.hits],
        },
    )
