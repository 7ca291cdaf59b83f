"""The prompt writer: the conversation -> an ImageRequest with an English prompt.

The LLM writes the prompt as JSON (prompts/image_prompt.txt); when its reply is not
usable, a deterministic fallback strips the request words and translates Korean
through a small glossary (chatbot/data/ko_en_glossary.tsv).
"""

from __future__ import annotations

import functools
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..config import MAX_IMAGE_PROMPT_CHARS, GenerationSettings
from ..generator import ImageRequest
from ..messages import UserError
from ..prompts import sections
from .rules import EN_LEAD, IMG_NOUN, KO_IMG, KO_MAKE, START, strip_command
from .signal import first_json_object, parse_llm_signal

GLOSSARY_FILE = (
    Path(__file__).resolve().parent.parent / "data" / "ko_en_glossary.tsv"
)  # ko -> en words
PROMPT_HISTORY_TURNS = 6  # turns of conversation the prompt writer sees
PROMPT_HISTORY_CHARS = 300  # per turn: the prompt writer needs the gist, not whole answers


def _clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def prompt_messages(
    history: list[tuple[str, str]], user_text: str, previous: ImageRequest | None
) -> list[dict]:
    """The OpenAI-style messages asking the LLM for the JSON prompt."""
    system, user = sections("image_prompt")
    lines = []
    for role, text in history[-PROMPT_HISTORY_TURNS:]:
        text = parse_llm_signal(text)[0] if role == "assistant" else text
        lines.append(
            f"{'User' if role == 'user' else 'Assistant'}: {_clip(text, PROMPT_HISTORY_CHARS)}"
        )
    user = (
        user.replace("{history}", "\n".join(lines) or "(none)")
        .replace("{previous}", previous.prompt if previous else "(none)")
        .replace("{request}", user_text)
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


_PROMPT_FIELD = re.compile(r'"prompt"\s*:\s*"((?:[^"\\]|\\.)*)', re.S)
_NEG_FIELD = re.compile(r'"negative_prompt"\s*:\s*"((?:[^"\\]|\\.)*)"', re.S)


def usable_prompt(text) -> bool:
    """English-looking text a CLIP encoder can read; random-weight models fail this."""
    if not isinstance(text, str):
        return False
    t = text.strip()
    letters = [c for c in t if not c.isspace()]
    if len(t) < 3 or "<|" in t or "\ufffd" in t or not letters:
        return False
    ascii_share = sum(c.isascii() and (c.isalnum() or c in ",.-'()!&:;") for c in letters) / len(
        letters
    )
    words = re.findall(r"[A-Za-z]{2,}", t)
    return ascii_share >= 0.9 and len(words) >= 1 and sum(map(len, words)) >= 0.5 * len(letters)


def parse_prompt_reply(reply: str) -> dict | None:
    """{"prompt", "negative_prompt", "new_seed"} from the LLM's reply, or None if unusable.

    Tolerates code fences, text around the JSON, and a reply cut off before its
    closing brace (the prompt field is then read on its own).
    """
    reply = reply or ""
    obj = first_json_object(reply)
    if obj is None:
        m = _PROMPT_FIELD.search(reply)
        if not m:
            return None
        try:
            prompt = json.loads(f'"{m.group(1)}"')
        except ValueError:
            prompt = m.group(1)
        neg = _NEG_FIELD.search(reply)
        obj = {"prompt": prompt, "negative_prompt": neg.group(1) if neg else ""}
    prompt = obj.get("prompt")
    if not usable_prompt(prompt):
        return None
    negative = obj.get("negative_prompt")
    return {
        "prompt": _clip(prompt, MAX_IMAGE_PROMPT_CHARS),
        "negative_prompt": _clip(negative, MAX_IMAGE_PROMPT_CHARS)
        if usable_prompt(negative)
        else "",
        "new_seed": obj.get("new_seed") is True,
    }


# Follow-ups refer to the previous picture; these cue words say so (ko/en).
FOLLOWUP = re.compile(
    r"\b(?:same|again|another|instead|version|redo|it|its|him|her|them|more|less|background|"
    r"add|remove|change|zoom|one more|different)\b"
    r"|같은|이번엔|이번에는|다시|하나 더|좀 더|더 |대신|"
    r"바꿔|버전|그거|이거|그걸|이걸|배경|색을|색깔|으로 해|로 해",
    re.I,
)
NEW_SEED = re.compile(
    r"\b(?:new seed|different seed|another seed|random seed|another one|another version|"
    r"different version|new version|one more)\b"
    r"|다른\s*버전|다른\s*시드|새\s*시드|새로|하나 더|랜덤",
    re.I,
)
SEED = re.compile(r"(?:\bseed|시드)\s*[:=#]?\s*(\d{1,10})\b", re.I)

# Words a fallback prompt should not contain: the request itself, not the picture.
_STRIP_EN = re.compile(
    rf"{START}(?:(?:draw|paint|sketch|illustrate|doodle|render|generate|create|make|produce|design|"
    r"give|show|send|get|imagine|turn|redo|do|try)\b(?:\s+(?:me|us|it|this|that|the same))?\s*"
    rf"(?:(?:an?|the|some|one|another|new)\s+)?(?:{IMG_NOUN}\s*(?:of|for|with|showing|:)?)?)"
    rf"|\b(?:i want|i'd like|i would like|i need|can i (?:get|have))\s+(?:(?:an?|some|one)\s+)?"
    rf"(?:{IMG_NOUN}\s*(?:of|for|with|showing|where|:)?)?|^\s*(?:an?\s+)?{IMG_NOUN}\s+of\b"
    rf"|^\s*(?:{EN_LEAD}\b[\s,]*)+|\b(?:please|for me|thanks|thank you)\b"
    r"|\b(?:same\s+\w+\s*,?\s*)?but\b"
    r"|\b(?:(?:an?|the)\s+)?(?:version|another one|one more|with a different seed|again)\b"
    r"|\bseed\s*[:=#]?\s*\d+",
    re.I,
)
_STRIP_KO = re.compile(
    rf"(?:{KO_IMG}\s*(?:을|를|으로|로)?\s*)?(?:좀\s*|하나\s*|한\s*장\s*)*"
    rf"(?:{KO_MAKE}|다시\s*그려|그려)\s*(?:해\s*)?"
    r"(?:줘요|줘|주세요|주실\s*수\s*있나요|줄래요?|줄\s*수\s*있어|봐|달라)?"
    r"|부탁(?:해|해요|드려요|합니다)?|(?:으로|로)?\s*해\s*줘"
    r"|바꿔\s*줘|같은\s*\S+?(?:인데|이고|지만)|"
    r"이번엔|이번에는|[?!.~]+|시드\s*\d+"
)


@dataclass
class _Glossary:
    pairs: list[tuple[str, str]]

    @classmethod
    @functools.lru_cache(maxsize=1)
    def load(cls) -> "_Glossary":
        pairs = []
        if GLOSSARY_FILE.exists():
            for line in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines():
                if line.strip() and not line.startswith("#"):
                    ko, en = line.split("\t")
                    pairs.append((ko.strip(), en.strip()))
        return cls(sorted(pairs, key=lambda p: -len(p[0])))  # longest first: 파란색 before 파란

    def translate(self, text: str) -> list[str]:
        """English words for the Korean ones found, in the order they appear."""
        found, taken = [], [False] * len(text)
        for ko, en in self.pairs:
            for m in re.finditer(re.escape(ko), text):
                if not any(taken[m.start() : m.end()]):
                    taken[m.start() : m.end()] = [True] * (m.end() - m.start())
                    found.append((m.start(), en))
        return [en for _, en in sorted(found)]


def fallback_prompt(user_text: str, previous: ImageRequest | None = None) -> str:
    """A prompt without the LLM: the user's words minus the request words, translated
    through a small ko->en glossary where possible, appended to the previous prompt
    for follow-ups. Deterministic, so random-weight models still draw something sane.

    Korean the glossary cannot translate stays in a new prompt (the user sees it on
    the card and can edit it) but is dropped from a follow-up, which keeps the
    previous English prompt instead.
    """
    text = _STRIP_EN.sub(" ", strip_command(user_text))
    text = _STRIP_KO.sub(" ", text)
    text = " ".join(text.replace(" ,", ",").split()).strip(" ,.;:")
    if re.search(r"[가-힣]", text):
        english = _Glossary.load().translate(text) + re.findall(r"[A-Za-z][A-Za-z'-]+", text)
        text = ", ".join(english) if english else ("" if previous is not None else text)
    if previous is not None:
        text = f"{previous.prompt}, {text}" if text else previous.prompt
    return _clip(text, MAX_IMAGE_PROMPT_CHARS)


def write_prompt(
    complete: Callable[[list[dict]], str],
    history: list[tuple[str, str]],
    user_text: str,
    previous: ImageRequest | None,
    settings: GenerationSettings | None = None,
    signal: dict | None = None,
    init_image: str | None = None,
) -> ImageRequest:
    """The conversation -> an ImageRequest with an English prompt.

    `complete(messages) -> str` is the LLM (OpenAI-style messages in, whole reply out).
    A usable prompt from the LLM's <draw> signal is taken as is, without another call.
    Follow-ups ("same cat, but blue", "같은 고양이인데 파란색으로") keep the previous
    seed, size settings aside, unless the user asks for a new one; an explicit
    "seed 42" always wins. Raises UserError when there is nothing to draw.
    """
    settings = settings or GenerationSettings()
    text = strip_command(user_text)
    followup = previous is not None and bool(FOLLOWUP.search(text) or not text)
    parsed = None
    if signal and usable_prompt(signal.get("prompt")):
        parsed = parse_prompt_reply(json.dumps(signal))
    if parsed is None and text:
        parsed = parse_prompt_reply(complete(prompt_messages(history, text, previous)))
    if parsed is not None:
        prompt, negative, new_seed = parsed["prompt"], parsed["negative_prompt"], parsed["new_seed"]
    else:
        prompt = fallback_prompt(text, previous if followup else None)
        # "ok, draw it" / "yes, generate that image": the subject is in an earlier user turn
        for role, earlier in reversed(history):
            if prompt or previous is not None:
                break
            if role == "user" and earlier.strip() != user_text.strip():
                prompt = fallback_prompt(earlier)
        negative, new_seed = "", False
    if not prompt.strip():
        raise UserError("draw.nothing")
    negative = (
        negative or (previous.negative_prompt if followup else "") or settings.negative_prompt
    )

    if m := SEED.search(text):
        seed = int(m.group(1))
    elif followup and not (new_seed or NEW_SEED.search(text)):
        seed = previous.seed
    elif settings.seed is not None and not followup:
        seed = settings.seed
    else:
        seed = random.randrange(2**31)
    if init_image is None and followup:
        init_image = previous.init_image  # a variation of a photo stays one
    return ImageRequest(
        prompt=prompt,
        negative_prompt=negative,
        seed=seed,
        steps=settings.steps,
        guidance=settings.guidance,
        width=settings.width,
        height=settings.height,
        init_image=init_image,
        strength=settings.strength,
    )
