"""The vision toolkit beside the encoder: zero-shot labels and photo search with CLIP/SigLIP.

    load_vision_model(config.vision.model)     -> VisionModel (CLIP: softmax, SigLIP: sigmoid)
    label_photo(model, Photo(id, image, sha256), labels, cache=conv.image_cache) -> LabelResult
    search_photos(model, photos, "the sea" | Photo, cache=conv.image_cache)       -> SearchResult
    decide(text, has_photos, reply)            -> Decision(tool "labels"|"find"|None, query, reason)
    render_vision_context([results])           -> "<vision-results>...</vision-results>" for the LLM

Pure Python at import: torch and transformers are imported by the functions that run models.
"""

from __future__ import annotations

from .context import CLOSE, OPEN, render_labels, render_search, render_vision_context
from .encoder import IMAGE_KEY_TAG, Photo, VisionModel, image_key, load_vision_model, pixels_sha256
from .labels import TEMPLATES, LabelResult, LabelScore, label_photo
from .labelsets import (
    DEFAULT_LABEL_SET,
    LABEL_SETS,
    Label,
    label_set,
    parse_typed_labels,
    to_english,
)
from .search import Hit, SearchResult, search_photos
from .tools import Decision, decide, parse_tool_signal

__all__ = [
    "CLOSE",
    "OPEN",
    "render_labels",
    "render_search",
    "render_vision_context",
    "IMAGE_KEY_TAG",
    "Photo",
    "VisionModel",
    "image_key",
    "load_vision_model",
    "pixels_sha256",
    "TEMPLATES",
    "LabelResult",
    "LabelScore",
    "label_photo",
    "DEFAULT_LABEL_SET",
    "LABEL_SETS",
    "Label",
    "label_set",
    "parse_typed_labels",
    "to_english",
    "Hit",
    "SearchResult",
    "search_photos",
    "Decision",
    "decide",
    "parse_tool_signal",
]
