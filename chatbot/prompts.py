"""Prompt templates live as plain text files in prompts/; this loads and fills them."""

from __future__ import annotations

import functools
import re

from .config import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")


@functools.lru_cache(maxsize=None)
def template(template_name: str) -> str:
    return (PROMPTS_DIR / f"{template_name}.txt").read_text(encoding="utf-8").strip()


def sections(template_name: str) -> tuple[str, str]:
    """(system, user) of a template written as `[system] ... [user] ...`."""
    system, _, user = template(template_name).partition("[user]")
    return system.replace("[system]", "", 1).strip(), user.strip()


def render(template_name: str, **values) -> str:
    return template(template_name).format(**values)


def language_of(text: str) -> str:
    """'Korean' when the text has Hangul, else 'English' (the two languages the UI speaks)."""
    return "Korean" if _HANGUL.search(text or "") else "English"
