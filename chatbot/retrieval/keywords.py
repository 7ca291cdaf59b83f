"""The keyword side of retrieval (BM25): it rescues exact names and numbers, and Korean, which
an English-only embedder reads as noise (it sees only jamo)."""

from __future__ import annotations

import re

import numpy as np

_HANGUL = re.compile(r"[\uac00-\ud7a3]")


# English function words: they match every page and drown the one word that matters.
_STOPWORDS = frozenset(
    "a an the is are was were be been am of to in on at for and or with by from as it its "
    "this that these those what which who whom when where why how do does did can could "
    "should would will shall may might must i my me we our you your they their them there "
    "here than then so if not no".split()
)


def keyword_tokens(text: str) -> list[str]:
    """BM25 terms: lower-cased words without stopwords, plural -s dropped; Korean words
    become character bigrams (particles stick to words: 출장의, 출장에서 -> 출장)."""
    tokens = []
    for word in re.findall(r"\w+", text.lower()):
        if _HANGUL.search(word) and len(word) > 1:
            tokens += [word[i : i + 2] for i in range(len(word) - 1)]
        elif word not in _STOPWORDS:
            plural = len(word) > 3 and word.endswith("s") and not word.endswith("ss")
            tokens.append(word[:-1] if plural else word)
    return tokens


class Keywords:
    """BM25 over a list of passage texts, built on first use."""

    def __init__(self, texts: list[str]):
        from rank_bm25 import BM25Okapi

        self._bm25 = BM25Okapi([keyword_tokens(t) or ["_"] for t in texts])

    def scores(self, question: str) -> np.ndarray:
        """(n,) BM25 score of every passage for the question."""
        return np.asarray(self._bm25.get_scores(keyword_tokens(question)), dtype=np.float64)
