"""Markdown (.md) and plain text (.txt) -> one Page per section.

Headings start sections ("[§ Installation]"): "# Title" lines and underlined ones
(a line over "====" or "----"), in both formats, never inside a fenced code block.
Text without headings is cut at blank lines into sections of about SECTION_CHARS,
cited by number ("[§ 2]"). Markdown pipe tables (a header row, a |---| row, then rows)
become Tables; in a .txt file they stay text.
"""

from __future__ import annotations

import re

from ..messages import msg
from .documents import Page, Progress
from .sections import SectionBuilder, decode_text

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def read_markdown(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    return parse(decode_text(data, name, msg("kind.md")), name, tables=True)


def read_text(data: bytes, name: str, progress: Progress | None = None) -> list[Page]:
    return parse(decode_text(data, name, msg("kind.txt")), name, tables=False)


def parse(text: str, name: str, tables: bool) -> list[Page]:
    sections = SectionBuilder(name)
    lines = text.split("\n")
    paragraph: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _FENCE.match(line):  # a code block: text as it stands
            end = next(
                (
                    j
                    for j in range(i + 1, len(lines))
                    if lines[j].strip().startswith(_FENCE.match(line).group(1))
                ),
                len(lines),
            )
            _end_paragraph(sections, paragraph)
            sections.text("\n".join(lines[i : end + 1]))
            i = end + 1
            continue
        atx = _ATX.match(line)
        if atx or (
            line.strip() and not paragraph and _UNDERLINE.match(nxt) and not _UNDERLINE.match(line)
        ):
            _end_paragraph(sections, paragraph)
            sections.heading(atx.group(2) if atx else line)
            i += 1 if atx else 2
            continue
        if tables and "|" in line and _TABLE_RULE.match(nxt) and "|" in nxt:
            _end_paragraph(sections, paragraph)
            end = i + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            sections.table([split_row(row) for row in [line] + lines[i + 2 : end]])
            i = end
            continue
        if line.strip():
            paragraph.append(line)
        else:
            _end_paragraph(sections, paragraph)
        i += 1
    _end_paragraph(sections, paragraph)
    return sections.finish()


def _end_paragraph(sections: SectionBuilder, paragraph: list[str]) -> None:
    if paragraph:
        sections.text("\n".join(paragraph))
        paragraph.clear()
        sections.paragraph_break()


def split_row(line: str) -> list[str]:
    """'| a | b \\| c |' -> ['a', 'b | c']."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", line)]
