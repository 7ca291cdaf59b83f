"""Every message a user can see, in English and Korean: errors, limits, step titles and details.

The templates live in data/messages.toml (one table per key, `en` and `ko`, named fields in
str.format syntax, the same fields in both). `text(key, lang, **fields)` renders one; a field may
itself be a `Msg`, rendered in the same language (e.g. the kind of file in "X is not a {what}").
The language is the browser's (gr.I18n picks the labels the same way); anything but Korean is
English, so API clients without an Accept-Language header read what they always read.
"""

from __future__ import annotations

import functools
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CATALOG_PATH = Path(__file__).parent / "data" / "messages.toml"
LANGUAGES = ("en", "ko")


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, dict[str, str]]:
    """key -> {"en": template, "ko": template}."""
    return tomllib.loads(CATALOG_PATH.read_text(encoding="utf-8"))


def normalise(lang: str | None) -> str:
    """ "ko" for Korean ("ko", "ko-KR", "Korean"), else "en"."""
    return "ko" if (lang or "").lower().startswith("ko") else "en"


def field_names(template: str) -> set[str]:
    return {
        name.split(".")[0].split("[")[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name
    }


@dataclass(frozen=True)
class Msg:
    """A message not rendered yet: a key and its fields, rendered in whichever language asks."""

    key: str
    fields: dict = field(default_factory=dict)

    def text(self, lang: str | None) -> str:
        return text(self.key, lang, **self.fields)


def msg(key: str, /, **fields) -> Msg:
    return Msg(key, fields)


def text(key: str, lang: str | None, /, **fields) -> str:
    """The message `key` in `lang` with its fields filled in. A key not in the catalog is taken
    as finished text (a subclass's own message, e.g. the training CLI's DataError)."""
    entry = catalog().get(key)
    if entry is None:
        return key
    lang = normalise(lang)
    values = {k: v.text(lang) if isinstance(v, Msg) else v for k, v in fields.items()}
    return entry[lang].format(**values)


class UserError(Exception):
    """A problem with the user's input: shown in the chat, the conversation keeps going.
    UserError(key, **fields) names a message of the catalog: str() is the English text
    (logs, tests), .text(lang) the one the user reads."""

    def __init__(self, key: str, /, **fields):
        self.key, self.fields = key, fields
        super().__init__(text(key, "en", **fields))

    def text(self, lang: str | None) -> str:
        return text(self.key, lang, **self.fields)


def reader_language(browser: str | None, message: str) -> str:
    """The language the user reads: the browser's when it sent one, else the message's."""
    from .prompts import language_of

    return normalise(browser) if browser else ("ko" if language_of(message) == "Korean" else "en")
