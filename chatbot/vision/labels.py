"""Zero-shot labels for a photo: CLIP compares the candidates (softmax, scores sum to 1),
SigLIP scores each candidate alone (sigmoid, several can be likely or none).

The result names the scoring it used, because the two read differently: 0.4 under a
softmax over 80 labels is a confident answer, 0.4 under a sigmoid is a maybe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import VISION_TOP_LABELS
from .encoder import Photo, VisionModel
from .labelsets import DEFAULT_LABEL_SET, LABEL_SETS, Label, is_korean, label_set, resolve_labels

# Averaged per label (CLIP's prompt ensembling): a few phrasings are steadier than one.
TEMPLATES = (
    "a photo of a {}.",
    "a blurry photo of a {}.",
    "a close-up photo of the {}.",
    "a photo of the large {}.",
    "a photo of the small {}.",
    "a good photo of a {}.",
    "art of the {}.",
)


@dataclass(frozen=True)
class LabelScore:
    label: str  # the English label the model read
    name: str  # what is shown: the Korean name for Korean users where there is one
    score: float  # probability: softmax share (clip) or independent sigmoid (siglip)


@dataclass(frozen=True)
class LabelResult:
    photo_id: str
    model: str
    scoring: str  # "softmax" (CLIP) | "sigmoid" (SigLIP)
    label_set: str  # "everyday", "imagenet", "typed" or "typed+everyday"
    candidates: int  # how many labels were scored
    labels: list[LabelScore]  # the top ones, best first
    untranslated: list[str] = field(default_factory=list)  # Korean labels scored as typed
    lang: str = "en"

    @property
    def best(self) -> LabelScore | None:
        return self.labels[0] if self.labels else None


def candidate_labels(labels: str | list[str] | None) -> tuple[list[Label], str]:
    """(candidates, the set's name). A shipped set by name, or typed labels; a single typed
    label is scored against the default set so that a softmax has something to compare."""
    if labels is None or isinstance(labels, str) and labels in LABEL_SETS:
        name = labels or DEFAULT_LABEL_SET
        return list(label_set(name)), name
    typed = resolve_labels([labels] if isinstance(labels, str) else list(labels))
    if len(typed) >= 2:
        return typed, "typed"
    seen = {lab.en.lower() for lab in typed}
    return typed + [
        lab for lab in label_set(DEFAULT_LABEL_SET) if lab.en.lower() not in seen
    ], f"typed+{DEFAULT_LABEL_SET}"


def display_lang(labels: str | list[str] | None) -> str:
    """Korean names are shown when the user typed Korean labels."""
    typed = [labels] if isinstance(labels, str) else list(labels or [])
    return "ko" if any(is_korean(t) for t in typed) else "en"


def label_photo(
    model: VisionModel,
    photo: Photo,
    labels: str | list[str] | None = None,
    *,
    cache: dict | None = None,
    lang: str | None = None,
    top: int | None = VISION_TOP_LABELS,
) -> LabelResult:
    """Zero-shot labels for one photo.

    labels: a shipped set's name ("everyday", "imagenet"), or labels typed by the user in
    English or Korean (see labelsets.parse_typed_labels); None: the everyday set.
    cache: the conversation's image cache (the photo is embedded once per model).
    lang: "ko" shows Korean names; by default Korean when the typed labels are Korean.
    top: how many labels to return (None: all, e.g. to check that a softmax sums to 1).
    """
    import torch

    cands, set_name = candidate_labels(labels)
    lang = lang or display_lang(labels)
    image, _ = model.photo_embeddings([photo], cache if cache is not None else {})
    text = model.prompt_embeddings([c.en for c in cands], TEMPLATES)
    scale, bias = model.scale_and_bias()
    logits = (image @ text.T)[0] * scale + bias
    probs = torch.sigmoid(logits) if model.scoring == "sigmoid" else torch.softmax(logits, dim=-1)
    order = torch.argsort(probs, descending=True).tolist()[:top]
    return LabelResult(
        photo_id=photo.id,
        model=model.name,
        scoring=model.scoring,
        label_set=set_name,
        candidates=len(cands),
        lang=lang,
        labels=[LabelScore(cands[i].en, cands[i].shown(lang), float(probs[i])) for i in order],
        untranslated=[c.ko for c in cands if c.ko and c.en == c.ko],
    )
