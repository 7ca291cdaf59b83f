"""The sentences that support a reply, quoted under it with their citations; and the one that
answers the question, quoted above the reply where the model's own words do not state it.

After the LLM has answered, each passage the reply cites (or, when a small model cites
nothing, the passages it was given) is split into sentences (table rows for tables), and the
sentence sharing the most words with the reply is quoted; with no shared word, the one sharing
the most with the question. Deterministic and cheap: word overlap, no second LLM call. The
quote is verbatim (whitespace aside), so the page thumbnail highlights exactly it.

A small model often cites the right page yet words the answer wrongly or not at all. So the
sentence (or table row, under its header) of the best passages that shares the most words
with the question leads the reply, labelled as the document's words, whenever the reply holds
less than LEAD_COVERED of what that sentence adds to the question (lead_quote); the model's
answer follows under its own label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .config import MAX_QUOTE_CHARS, MAX_QUOTES
from .retrieval import Passage, keyword_tokens

SOURCES_HEADING = "**Sources**"  # in Korean: "**출처**" (messages.toml reply.sources)
UNCITED_QUOTES = 2  # a reply without citations: quotes from this many of its passages
LEAD_PASSAGES = 2  # the lead quote comes from the best-ranked passages only
LEAD_COVERED = 0.5  # the reply holds this share of the lead sentence's new words: no lead
LEAD_MIN_SHARED = 2  # a lead sentence shares at least this many words with the question (one
# shared word, "revenue", picked "Revenue grew in every region" for "what was the total revenue?")
_CITATION = re.compile(r"\[[^\[\]]{0,120}\]")  # [p. 12], [report.pdf slide 3]: not words
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")
_HEADING_WORDS = 8  # a line this short without end punctuation, followed by a capital, is a heading


@dataclass(frozen=True)
class Quote:
    passage: Passage
    text: str  # a sentence (or a markdown table row) of the passage, verbatim
    matched: str  # "reply" | "question": what it shares words with

    def cite(self) -> str:
        """The citation with the file named, as the Sources block shows it: [manual.pdf p. 12]."""
        return replace(self.passage, show_file=True).cite()

    def info(self) -> dict:
        """For API clients (info["sources"])."""
        p = self.passage
        return {
            "file": p.file,
            "unit": p.unit,
            "page": p.page,
            "cite": self.cite(),
            "quote": self.text,
            "kind": p.kind,
            "matched": self.matched,
        }


def units(passage: Passage) -> list[str]:
    """The quotable pieces of a passage: its sentences, and its table rows (header and the
    synthetic caption left out: neither supports a claim)."""
    out, prose, header_done = [], [], False
    for line in passage.text.splitlines():
        line = line.strip()
        if line.startswith("|"):
            if header_done and set(line) - set("|-: "):
                out.append(line)
            header_done = True
            continue
        header_done = False
        if passage.kind == "table" or not line:  # a table chunk's other lines are its caption
            prose.append("")
            continue
        prose.append(line)
    return out + _sentences(prose)


def _sentences(lines: list[str]) -> list[str]:
    """Sentences of wrapped lines: blank lines and headings end one, so do . ! ? and 。"""
    blocks, current = [], []
    for i, line in enumerate(lines):
        if not line:
            blocks.append(current)
            current = []
            continue
        current.append(line)
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if (
            len(line.split()) <= _HEADING_WORDS
            and not line.endswith((".", ",", ";", ":", "?", "!"))
            and nxt[:1].isupper()
        ):
            blocks.append(current)
            current = []
    blocks.append(current)
    out = []
    for block in blocks:
        text = " ".join(" ".join(block).split())
        out += [s for s in _SENTENCE_END.split(text) if len(s.split()) >= 3 or _is_hangul(s)]
    return out


def _is_hangul(text: str) -> bool:
    return re.search(r"[\uac00-\ud7a3]", text) is not None and len(text) >= 8


def _overlap(sentence: str, words: set[str]) -> int:
    return len(set(keyword_tokens(sentence)) & words)


def best_sentence(passage: Passage, words: set[str]) -> tuple[int, str]:
    """(shared words, sentence) of the passage's best unit for these words; (0, "") if none shares
    one. Ties go to the shorter unit, then the earlier one."""
    scored = [(_overlap(u, words), -len(u), -i, u) for i, u in enumerate(units(passage))]
    best = max(scored, default=(0, 0, 0, ""))
    return (best[0], best[3]) if best[0] > 0 else (0, "")


def cited(reply: str, passages: list[Passage]) -> list[Passage]:
    """The passages whose citation the reply carries, with or without the file name."""
    found = []
    for p in passages:
        where = replace(p, show_file=False).cite()[1:-1]
        if re.search(r"\[(?:[^\[\]]*\s)?" + re.escape(where) + r"\]", reply):
            found.append(p)
    return found


def support_quotes(reply: str, question: str, passages: list[Passage]) -> list[Quote]:
    """At most MAX_QUOTES quotes, one per cited unit (page, slide, section, sheet), in the order
    the passages came (best first). A reply citing nothing gets UNCITED_QUOTES from the passages
    whose sentences share the most words with it."""
    reply_words = set(keyword_tokens(_CITATION.sub(" ", reply)))
    question_words = set(keyword_tokens(question))
    chosen = cited(reply, passages)
    limit = MAX_QUOTES if chosen else UNCITED_QUOTES
    candidates: dict[tuple, list[tuple[int, int, Quote]]] = {}
    for rank, p in enumerate(chosen or passages):
        for matched, words in (("reply", reply_words), ("question", question_words)):
            score, sentence = best_sentence(p, words)
            if score:
                quote = Quote(p, _shorten(sentence), matched)
                candidates.setdefault((p.file, p.unit, p.page), []).append(
                    (matched == "reply", score, -rank, quote)
                )
                break
    best = [max(options, key=lambda o: o[:3]) for options in candidates.values()]
    if not chosen:  # the passages that support the reply best, not merely the first ones
        best.sort(key=lambda o: o[:3], reverse=True)
    else:
        best.sort(key=lambda o: -o[2])
    return [o[3] for o in best[:limit]]


def lead_quote(reply: str, question: str, passages: list[Passage]) -> Quote | None:
    """The sentence or table row of the LEAD_PASSAGES best passages that shares the most words
    with the question, at least LEAD_MIN_SHARED (a row counts the words of the columns the
    question names, its header's; ties: the better-ranked passage, then the shorter unit),
    where the reply does not already state what it adds to the question; None where it does or
    none shares enough."""
    question_words = set(keyword_tokens(question))
    scored = []
    for rank, p in enumerate(passages[:LEAD_PASSAGES]):
        named = _overlap(_header(p), question_words)
        for i, unit in enumerate(units(p)):
            own = _overlap(unit, question_words)
            if own:
                scored.append(
                    (own + (named if unit.startswith("|") else 0), -rank, -len(unit), -i, p, unit)
                )
    best = max(scored, key=lambda s: s[:4], default=None)
    if best is None or best[0] < LEAD_MIN_SHARED:
        return None
    passage, sentence = best[4:]
    new = set(keyword_tokens(sentence)) - question_words
    said = set(keyword_tokens(_CITATION.sub(" ", reply)))
    if not new or len(new & said) >= LEAD_COVERED * len(new):
        return None
    return Quote(passage, _shorten(sentence), "question")


def _header(passage: Passage) -> str:
    """A table passage's header row ('| Region | Q1 | ... |'); '' for prose."""
    if passage.kind != "table":
        return ""
    return next((ln.strip() for ln in passage.text.splitlines() if ln.startswith("|")), "")


def lead_block(quote: Quote | None, lang: str | None = None) -> str:
    """The lead quote above the reply, labelled as the document's words (a table row under its
    header), then the label of the model's own answer; '' for none."""
    if quote is None:
        return ""
    from .messages import text

    body = quote.text
    if body.startswith("|") and _header(quote.passage):
        header = _header(quote.passage)
        columns = header.count("|") - 1
        body = "\n".join([header, "|" + "---|" * columns, body])
        body = "\n".join("> " + line for line in body.splitlines())
    else:
        body = f'> "{body}"'
    quoted = text("reply.document_says", lang, cite=quote.cite())
    return f"{quoted}\n\n{body}\n\n{text('reply.model_says', lang)}\n\n"


def own_words(text: str) -> str:
    """What the model itself wrote: the reply without its lead quote and Sources block."""
    from .messages import LANGUAGES
    from .messages import text as message

    text = without_sources(text)
    for lang in LANGUAGES:
        text = text.split(f"{message('reply.model_says', lang)}\n\n", 1)[-1]
    return text


def _shorten(sentence: str) -> str:
    if len(sentence) <= MAX_QUOTE_CHARS:
        return sentence
    return sentence[:MAX_QUOTE_CHARS].rsplit(" ", 1)[0] + " …"


def sources_block(quotes: list[Quote], lang: str | None = None) -> str:
    """The block appended to the reply: one quoted line per citation, '' for none; headed in the
    reader's language."""
    if not quotes:
        return ""
    from .messages import text

    lines = [f'> "{q.text}" — {q.cite()}' for q in quotes]
    return f"\n\n{text('reply.sources', lang)}\n\n" + "\n\n".join(lines)


def without_sources(text: str) -> str:
    """A reply's own words, the Sources block removed (for evaluations of what the LLM wrote)."""
    from .messages import LANGUAGES
    from .messages import text as message

    for lang in LANGUAGES:
        text = text.split(f"\n\n{message('reply.sources', lang)}\n\n", 1)[0]
    return text
