"""Tables without rules: columns of words that line up, told apart from prose.

Works on the page's words alone (page.get_text("words"): no rendering, no layout model; its
cost a page is in bench/RESULTS.md, eval_tables): words are grouped into visual lines, a line
is cut into cells wherever the gap between two words is wider than COLUMN_GAP times the text
height (spaces between words, even in justified lines, stay below 0.9 of it in the real
manuals measured), and consecutive lines whose cells leave the same vertical strips of white
("rivers") form a block. A block becomes a table only if it has at least MIN_ROWS lines of two
or more cells and does not read like prose: cells are short, few end a sentence, and the first
column is ragged (two justified text columns would end flush at the gutter).
Precision on real manuals: scripts/eval_tables.py and data/realdocs/unruled_tables.jsonl.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COLUMN_GAP = 1.0  # a gap at least this many text heights wide separates two cells
MIN_ROWS = 3  # lines with two or more cells that a table needs
LINE_SPACING = 2.2  # a block ends at a blank this many line heights tall
MAX_CELL_WORDS = 14  # a table's cells are short: mean words per cell above this is prose
MAX_SENTENCE_CELLS = 0.5  # share of cells that end a sentence ('.', '?', '!', ':') above which
# the block is prose; descriptions like "Utility to copy files" do not
MIN_FILLED = 0.6  # share of a block's lines that must fill two or more columns


@dataclass
class Line:
    words: list  # PyMuPDF word tuples, left to right
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def cells(self, gap: float) -> list[list]:
        """Runs of words separated by gaps wider than `gap` points."""
        runs = [[self.words[0]]]
        for prev, word in zip(self.words, self.words[1:]):
            if word[0] - prev[2] >= gap:
                runs.append([word])
            else:
                runs[-1].append(word)
        return runs


@dataclass
class Block:
    lines: list[Line] = field(default_factory=list)
    rivers: list[tuple[float, float]] = field(default_factory=list)  # white strips (x0, x1)


def visual_lines(words: list) -> list[Line]:
    """Words grouped into lines by vertical overlap (MuPDF's own lines stop at wide gaps)."""
    lines: list[Line] = []
    for word in sorted(words, key=lambda w: ((w[1] + w[3]) / 2, w[0])):
        x0, y0, x1, y1 = word[:4]
        middle = (y0 + y1) / 2
        line = lines[-1] if lines else None
        if line is not None and line.y0 <= middle <= line.y1:
            line.words.append(word)
            line.x0, line.x1 = min(line.x0, x0), max(line.x1, x1)
            line.y0, line.y1 = min(line.y0, y0), max(line.y1, y1)
        else:
            lines.append(Line([word], x0, y0, x1, y1))
    for line in lines:
        line.words.sort(key=lambda w: w[0])
    return lines


def _gaps(line: Line, width: float) -> list[tuple[float, float]]:
    """The line's white strips at least `width` wide, between its first and last word."""
    return [(a[2], b[0]) for a, b in zip(line.words, line.words[1:]) if b[0] - a[2] >= width]


def _narrow(rivers: list, line: Line, width: float) -> list:
    """Rivers kept white by this line too, cut to where the line leaves them white."""
    kept = []
    for x0, x1 in rivers:
        inside = [w for w in line.words if w[2] > x0 and w[0] < x1]
        if not inside:
            kept.append((x0, x1))
            continue
        # words inside the strip narrow it to its widest white part left
        edges = [x0] + [e for w in sorted(inside) for e in (w[0], w[2])] + [x1]
        parts = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
        best = max(parts, key=lambda p: p[1] - p[0])
        if best[1] - best[0] >= width:
            kept.append(best)
    return kept


def column_blocks(lines: list[Line]) -> list[Block]:
    """Runs of close lines that keep at least one common river of white."""
    blocks, current = [], None
    for line in lines:
        width = COLUMN_GAP * line.height
        if current is not None:
            last = current.lines[-1]
            rivers = (
                _narrow(current.rivers, line, width)
                if line.y0 - last.y1 <= LINE_SPACING * last.height
                else []
            )
            if rivers:
                current.lines.append(line)
                current.rivers = rivers
                continue
            blocks.append(current)
            current = None
        gaps = _gaps(line, width)
        if gaps:
            current = Block([line], gaps)
    if current is not None:
        blocks.append(current)
    return blocks


def block_rows(block: Block) -> list[list[str]]:
    """The block's lines as rows of cells (one per river + 1); a line that leaves the
    first column empty continues the row above (a wrapped cell)."""
    edges = [x0 for x0, _ in sorted(block.rivers)]
    rows: list[list[str]] = []
    for line in block.lines:
        cells = [[] for _ in range(len(edges) + 1)]
        for word in line.words:
            cells[sum(word[0] >= e for e in edges)].append(word[4])
        texts = [" ".join(c) for c in cells]
        if rows and not texts[0]:
            rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], texts)]
        else:
            rows.append(texts)
    return rows


_LEADER = re.compile(r"(?:\.\s?){4,}")  # dot leaders of a table of contents or an index
_SENTENCE_END = re.compile(r"[.!?:;]$")
_SENTENCE_BREAK = re.compile(r"[a-z)][.!?] [A-Z]")


def prose_reason(rows: list[list[str]]) -> str:
    """Why these rows are not a table ('' when they may be one)."""
    cells = [c for row in rows for c in row if c]
    filled = [row for row in rows if sum(bool(c) for c in row) >= 2]
    if len(filled) < MIN_ROWS or len(filled) < MIN_FILLED * len(rows):
        return "few rows fill two columns"
    if sum(bool(_LEADER.search(c)) for c in cells) * 4 >= len(rows):
        return "dot leaders (a table of contents or an index)"
    if sum(len(c.split()) for c in cells) > MAX_CELL_WORDS * len(cells):
        return "long cells"
    if sum(
        bool(_SENTENCE_END.search(c) or _SENTENCE_BREAK.search(c)) for c in cells
    ) > MAX_SENTENCE_CELLS * len(cells):
        return "sentences"
    for column in zip(*rows):
        texts = [c for c in column if c]
        if sum(c.startswith(("#", "//", "/*", "--")) for c in texts) * 2 >= len(texts):
            return "code with comments"
    if sum(row[0].startswith(("> ", "$ ", ">>> ")) for row in rows) * 4 >= len(rows):
        return "console session"
    return ""


def _trim(block: Block) -> Block:
    """Drop lines at the block's ends that fill the first column only (a heading or a
    footnote caught by the rivers), and lines after a jump in line spacing."""
    lines = block.lines
    edges = [x0 for x0, _ in block.rivers]

    def first_only(line: Line) -> bool:
        return all(w[0] < min(edges) for w in line.words)

    pitches = sorted(b.y0 - a.y0 for a, b in zip(lines, lines[1:]))
    if pitches:
        usual = pitches[len(pitches) // 2]
        for i in range(1, len(lines)):
            if lines[i].y0 - lines[i - 1].y0 > 1.6 * usual:
                lines = lines[:i]
                break
    while lines and first_only(lines[-1]):
        lines = lines[:-1]
    while lines and first_only(lines[0]):
        lines = lines[1:]
    return Block(lines, block.rivers)


def find_unruled(words: list, exclude: list = ()) -> list[tuple[tuple, list[list[str]]]]:
    """Tables without rules among the page's words: [(bbox, rows of cells)], first row
    first (usually the header). Words inside `exclude` boxes (ruled tables) are ignored."""

    def outside(word) -> bool:
        cx, cy = (word[0] + word[2]) / 2, (word[1] + word[3]) / 2
        return not any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in exclude)

    found = []
    for block in column_blocks(visual_lines([w for w in words if outside(w)])):
        block = _trim(block)
        if len(block.lines) < MIN_ROWS:
            continue
        rows = block_rows(block)
        if prose_reason(rows):
            continue
        bbox = (
            min(ln.x0 for ln in block.lines),
            block.lines[0].y0,
            max(ln.x1 for ln in block.lines),
            block.lines[-1].y1,
        )
        found.append((bbox, rows))
    return found


CAPTION_CHARS = 150  # a table's caption: the line above it (two when the first is short)


def caption_above(words: list, bbox, exclude: list = ()) -> str:
    """The text line just above the table (within three line heights), which usually says
    what the table is: 'The following commands ... are required in /bin:'."""
    top = bbox[1]
    above = [
        w
        for w in words
        if (w[1] + w[3]) / 2 < top
        and not any(
            x0 <= (w[0] + w[2]) / 2 <= x1 and y0 <= (w[1] + w[3]) / 2 <= y1
            for x0, y0, x1, y1 in exclude
        )
    ]
    lines = visual_lines(above)
    picked: list[Line] = []
    edge = top
    for line in reversed(lines):
        if edge - line.y1 > 3 * line.height or (picked and len(_text(picked)) >= 40):
            break
        picked.insert(0, line)
        edge = line.y0
    text = _text(picked)
    return text if len(text) <= CAPTION_CHARS else text[:CAPTION_CHARS].rsplit(" ", 1)[0] + "..."


def _text(lines: list[Line]) -> str:
    return " ".join(w[4] for line in lines for w in line.words)
