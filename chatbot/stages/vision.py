"""The vision toolkit as a stage: zero-shot labels or photo search when the message asks for
them (vision/tools.py decides, vision/stage.py runs the tool)."""

from __future__ import annotations

from typing import Iterator

from .. import steps
from ..config import Choice
from ..conversation import Step


def vision_tools(
    decision, photos, choice: Choice, load_model, cache: dict, lang: str
) -> Iterator[Step]:
    """Yields the tool's step; returns vision.stage.ToolResult (context for the LLM, gallery
    files, scores) or None when the profile has no vision model (the step says so)."""
    from ..vision.stage import run_tool

    step = steps.vision(lang, decision)
    yield step
    if choice.model is None:  # the offline profile: say so, the LLM still answers
        step.detail, step.done = steps.unavailable(lang, choice.reason), True
        yield step
        return None
    result = yield from steps.with_progress(
        lambda report: run_tool(decision, load_model(), photos, cache, lang), step, "{}"
    )
    step.title, step.detail, step.done = result.title, result.detail, True
    yield step
    return result
