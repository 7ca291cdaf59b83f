"""Korean questions about English documents: the search query gets English terms.

The offline profile's embedder reads only English (Hangul becomes noise to it) and BM25 matches
only the same letters, so "설치 디렉터리는 어디인가요?" finds an English manual through nothing
but the question's Latin words. A glossary of generic manual and question vocabulary
(chatbot/data/ko_en_documents.tsv) adds "install directory" to the text BM25 and the embedder
search with; the LLM still gets the question as asked. Deterministic, no model call.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

GLOSSARY_FILE = Path(__file__).resolve().parent / "data" / "ko_en_documents.tsv"
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass(frozen=True)
class Expansion:
    text: str  # the query for BM25 and the embedder
    added: tuple[tuple[str, str], ...]  # (Korean word, English terms added for it)

    def describe(self) -> str:
        """'설치 → install installation, 디렉터리 → directory' for the Retrieval step."""
        return ", ".join(f"{ko} → {en}" for ko, en in self.added)


@functools.lru_cache(maxsize=1)
def glossary() -> tuple[tuple[re.Pattern, str, str], ...]:
    """(pattern, Korean, English) pairs, longest Korean first so 'working directory' wins over
    'directory'; a space in an entry matches with or without one (운영 체제, 운영체제)."""
    pairs = []
    for line in GLOSSARY_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            ko, en = line.split("\t")
            pairs.append((re.compile(r"\s*".join(map(re.escape, ko.split()))), ko, en.strip()))
    return tuple(sorted(pairs, key=lambda p: -len(p[1].replace(" ", ""))))


def expand_query(question: str) -> Expansion:
    """The question with English terms for its Korean words appended; unchanged without Hangul.
    Terms already in the text are not added again, so expanding twice changes nothing."""
    if not _HANGUL.search(question):
        return Expansion(question, ())
    taken = [False] * len(question)
    present = set(re.findall(r"\w+", question.lower()))
    added = []
    for pattern, ko, en in glossary():
        spans = [
            m.span() for m in pattern.finditer(question) if not any(taken[m.start() : m.end()])
        ]
        for start, end in spans:
            taken[start:end] = [True] * (end - start)
        new = [w for w in en.split() if w.lower() not in present]
        if spans and new:
            added.append((spans[0][0], ko, " ".join(new)))
            present.update(w.lower() for w in new)
    if not added:
        return Expansion(question, ())
    added = [(ko, en) for _, ko, en in sorted(added)]  # in the question's order
    return Expansion(f"{question} {' '.join(en for _, en in added)}", tuple(added))
