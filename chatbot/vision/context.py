"""Labels and search results as marked text for the LLM: `<vision-results>...</vision-results>`.

The block says which model produced the numbers and how to read them (a softmax share
over N labels, an independent sigmoid, a cosine similarity), so the LLM can answer
"probably a cat (0.91 of the probability among 83 labels)" rather than invent certainty.
Labels typed by the user and photo ids are data, not instructions: tag-like text in them
is neutralised so they cannot close the block or open another.
"""

from __future__ import annotations

from .labels import LabelResult
from .search import SearchResult

OPEN, CLOSE = "<vision-results>", "</vision-results>"


def neutralise(text: str) -> str:
    """`<tag>` -> `‹tag›`: readable, but never markup the prompt builder or the LLM acts on."""
    return str(text).replace("<", "‹").replace(">", "›")


def render_labels(result: LabelResult) -> str:
    """One photo's labels, best first, with how the scores were computed."""
    how = (
        f"softmax over {result.candidates} labels (scores sum to 1 across them)"
        if result.scoring == "softmax"
        else f"independent sigmoid per label, {result.candidates} labels "
        f"(each 0-1, they need not sum to 1)"
    )
    lines = [
        f'labels for photo "{neutralise(result.photo_id)}" by {neutralise(result.model)}, '
        f"{result.label_set} label set, {how}:"
    ]
    for s in result.labels:
        name = s.name if s.name == s.label else f"{s.name} ({s.label})"
        lines.append(f"- {neutralise(name)}: {s.score:.3f}")
    if result.untranslated:
        lines.append(
            "note: no English name for "
            + ", ".join(map(neutralise, result.untranslated))
            + "; the model reads English, so these were scored as typed and may score low"
        )
    return "\n".join(lines)


def render_search(result: SearchResult) -> str:
    """A search's ranked photos with cosine similarities (and what the model read)."""
    what = (
        f'text "{neutralise(result.query)}"'
        if result.kind == "text"
        else f'photo "{neutralise(result.query)}"'
    )
    if result.kind == "text" and result.read_as != result.query:
        what += f' (read as "{neutralise(result.read_as)}")'
    lines = [
        f"photo search for {what} by {neutralise(result.model)} over {result.searched} photos, "
        f"cosine similarity (higher is closer; only the order is meaningful across models):"
    ]
    lines += [f"{h.rank}. {neutralise(h.id)}: {h.score:.3f}" for h in result.hits] or [
        "no photo matched"
    ]
    if result.untranslated:
        lines.append(
            "note: the query has Korean words with no English entry; the model reads English"
        )
    if result.skipped:
        lines.append(f"note: {result.skipped} photos beyond the search limit were not searched")
    return "\n".join(lines)


def render_vision_context(results: list[LabelResult | SearchResult]) -> str:
    """Every result in one marked block for the prompt ('' when there is none)."""
    parts = [render_labels(r) if isinstance(r, LabelResult) else render_search(r) for r in results]
    return f"{OPEN}\n" + "\n\n".join(parts) + f"\n{CLOSE}" if parts else ""
