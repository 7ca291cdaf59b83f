"""Label sets shipped as data, the Korean->English label map, and labels typed in a message.

CLIP and SigLIP read English, so Korean labels are scored through their English name
(from the shipped sets, then chatbot/vision/data/ko_en.json) and shown in Korean.
A Korean word with no English entry is scored as typed and reported as untranslated,
so the caller can say why such a label scores poorly.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..config import MAX_LABEL_CHARS, MAX_TYPED_LABELS, MAX_VISION_LABELS

DATA_DIR = Path(__file__).resolve().parent / "data"
LABEL_SETS = ("everyday", "imagenet")
DEFAULT_LABEL_SET = "everyday"
HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


@dataclass(frozen=True)
class Label:
    """One candidate: `en` is what the model reads, `ko` the Korean name shown to Korean users."""

    en: str
    ko: str = ""

    def shown(self, lang: str) -> str:
        return self.ko if lang == "ko" and self.ko else self.en


def is_korean(text: str) -> bool:
    return bool(HANGUL.search(text or ""))


@functools.lru_cache(maxsize=8)
def label_set(name: str) -> tuple[Label, ...]:
    """A shipped label set by name (LABEL_SETS), read once."""
    if name not in LABEL_SETS:
        raise ValueError(f"unknown label set {name!r}: one of {', '.join(LABEL_SETS)}")
    data = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    labels = tuple(Label(d["en"], d.get("ko", "")) for d in data["labels"])
    return labels[:MAX_VISION_LABELS]


@functools.lru_cache(maxsize=1)
def ko_to_en() -> dict[str, str]:
    """Korean name -> English label: every shipped set's pairs, then the extra word map."""
    table = {lab.ko: lab.en for name in LABEL_SETS for lab in label_set(name) if lab.ko}
    table.update(json.loads((DATA_DIR / "ko_en.json").read_text(encoding="utf-8")))
    return table


@functools.lru_cache(maxsize=1)
def en_to_ko() -> dict[str, str]:
    table = {
        en: ko
        for ko, en in json.loads((DATA_DIR / "ko_en.json").read_text(encoding="utf-8")).items()
    }
    table.update({lab.en: lab.ko for name in LABEL_SETS for lab in label_set(name) if lab.ko})
    return table


# Particles and sentence endings that follow a noun in a question ("고양이야?", "개인지", "바다가").
_KO_ENDINGS = sorted(
    [
        "이야",
        "야",
        "이냐",
        "냐",
        "이니",
        "니",
        "인지",
        "이에요",
        "예요",
        "일까요",
        "일까",
        "인가요",
        "인가",
        "이지",
        "지",
        "이나",
        "나",
        "이랑",
        "랑",
        "하고",
        "와",
        "과",
        "이",
        "가",
        "은",
        "는",
        "을",
        "를",
        "도",
        "요",
        "의",
        "에",
        "에서",
        "로",
        "으로",
    ],
    key=len,
    reverse=True,
)


def strip_particle(word: str) -> str:
    """The noun in a Korean word: particles are removed only where what remains is a known
    name, or where the ending can only be grammar (야, 인지, 이에요...)."""
    known = ko_to_en()
    if word in known or not is_korean(word):
        return word
    for end in _KO_ENDINGS:
        if word.endswith(end) and len(word) > len(end) and word[: -len(end)] in known:
            return word[: -len(end)]
    for end in (
        "이야",
        "야",
        "인지",
        "이에요",
        "예요",
        "일까요",
        "일까",
        "인가요",
        "인가",
        "이냐",
        "냐",
    ):
        if word.endswith(end) and len(word) > len(end):
            return word[: -len(end)]
    return word


def to_english(text: str) -> tuple[str, bool]:
    """(English text, whether it could be translated). English passes through; Korean goes
    through the label map whole, then word by word; partly known Korean stays as typed."""
    text = " ".join((text or "").split())
    if not is_korean(text):
        return text, True
    known = ko_to_en()
    if text in known:
        return known[text], True
    words = [strip_particle(w) for w in text.split()]
    if all(w in known or not is_korean(w) for w in words):
        return " ".join(known.get(w, w) for w in words), True
    return text, False


def resolve_labels(typed: list[str]) -> list[Label]:
    """Typed labels (English or Korean) -> Labels: English for the model, Korean kept for
    display."""
    out, names = [], en_to_ko()
    for t in typed:
        if is_korean(t):
            en, ok = to_english(t)
            out.append(Label(en if ok else t, t))
        else:
            out.append(Label(t, names.get(t.lower(), "")))
    return list({lab.en.lower(): lab for lab in out}.values())


# ---- labels typed in a message: "is it a cat, a dog or a fox?", "고양이야 강아지야?" -------------
_EN_LEAD = re.compile(
    r"^.*?\b(?:is (?:it|this|that|the \w+)|it's|its|it is|this is|are (?:they|these|those|the \w+)|"
    r"could (?:it|this) be|can (?:it|this) be|might (?:it|this) be|would (?:it|this) be|"
    r"(?:does|do) (?:it|this|the (?:photo|picture|image)) (?:show|contain|have)|do you see|"
    r"(?:choose|pick|decide) (?:between|among|from)|between|among|one of|either|"
    r"labels?(?: it)?(?: as)?|"
    r"classify (?:it|this|the \w+) (?:as|into))[\s,]+",
    re.I,
)
_EN_SPLIT = re.compile(r"\s*(?:,|;|/|\bor\b|\band\b)\s*", re.I)
_EN_ARTICLE = re.compile(r"^(?:(?:a|an|the|some|either|maybe|perhaps|just)\s+)+", re.I)
_KO_CHOICE = re.compile(r"(.+?)\s*(?:중에서?|중)\s*(?:뭐|무엇|어느|어떤|하나|골라|택)")
_KO_ALT = re.compile(r"\s*(?:,|、|/|\s아니면\s|\s또는\s|\s혹은\s)\s*")
_KO_ASK = re.compile(r"(\S+(?:야|냐|니|인지|예요|이에요|일까요|일까|인가요|인가))(?=[\s?,.!~]|$)")
_QUESTION_WORDS = {
    "뭐",
    "무엇",
    "뭔",
    "뭘",
    "누구",
    "어디",
    "무슨",
    "어떤",
    "어느",
    "what",
    "which",
    "who",
    "where",
    "how",
    "why",
    "what is it",
    "which one",
    "which is it",
}
_WH_START = re.compile(r"^\s*(?:what|which|who|where|how|why)\b", re.I)
_KO_LEAD = re.compile(
    r"^(?:이거|이건|이게|이것은|이것이|그거|그건|저거|저건|이\s*사진(?:은|이|에)?|"
    r"사진(?:은|이|에)?|이\s*동물(?:은|이)?|동물(?:은|이)?)\s+"
)


def _clean(items: list[str], korean: bool) -> list[str]:
    out = []
    for item in items:
        item = item.strip(" \t?.!~:\"'")
        item = _KO_LEAD.sub("", item) if korean else _EN_ARTICLE.sub("", item)
        if korean:
            item = " ".join(strip_particle(w) for w in item.split())
        if (
            item
            and item.lower() not in _QUESTION_WORDS
            and len(item) <= MAX_LABEL_CHARS
            and len(item.split()) <= 5
        ):
            out.append(item.lower() if not korean else item)
    return list(dict.fromkeys(out))[:MAX_TYPED_LABELS]


def parse_typed_labels(text: str) -> list[str]:
    """Candidate labels typed in a message, English or Korean; [] when it names none.

    "/labels cat, dog, fox", "is it a cat, a dog or a fox?", "cat or dog?",
    "고양이야 강아지야 여우야?", "고양이, 강아지, 여우 중에 뭐야?", "고양이 아니면 여우?".
    A single label ("is it a cat?") is returned too: the caller adds a default set around it.
    """
    t = " ".join(re.sub(r"^\s*/labels?\b[\s:]*", "", text or "", flags=re.I).split())
    if not t:
        return []
    if is_korean(t):
        return _parse_korean(t)
    if ":" in t:
        t = t.rsplit(":", 1)[1]
    choice = re.search(r",|\bor\b", t)
    lead = _EN_LEAD.match(t)
    if _WH_START.match(t) and not choice:
        return []
    if lead:
        t = t[lead.end() :]
    elif _WH_START.match(t) or not choice:
        return []  # "what is this animal?", "which one is better, python or java?": no candidates
    return _clean(_EN_SPLIT.split(t), korean=False)


def _parse_korean(t: str) -> list[str]:
    if m := _KO_CHOICE.search(t):
        return _clean(_KO_ALT.split(m.group(1)), korean=True)
    parts = _KO_ALT.split(t)
    if len(parts) >= 2:
        return _clean(parts, korean=True)
    asked = _KO_ASK.findall(t)
    if len(asked) >= 2 or (asked and t.rstrip().endswith("?")):
        return _clean(asked, korean=True)
    return []
