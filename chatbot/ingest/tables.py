"""Table building shared by every format: cells -> a Table (markdown for the LLM + DataFrame)."""

from __future__ import annotations

from .documents import Table


def cell_text(value) -> str:
    """One cell as single-line text (None -> '', wrapped cell text joined with spaces)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def to_markdown(header: list[str], rows: list[list[str]]) -> str:
    def md(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(md(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _unique(header: list[str]) -> list[str]:
    """Column names as pandas needs them: none empty, none repeated."""
    out, seen = [], {}
    for i, name in enumerate(header):
        name = name or f"column {i + 1}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def make_table(
    page: int,
    header: list,
    rows: list[list],
    title: str = "",
    values: list[list] | None = None,
    caption: str = "",
) -> Table:
    """A Table from header + rows of cells; `values` (typed cells) feed the DataFrame."""
    import pandas as pd

    header = _unique([cell_text(h) for h in header])
    width = len(header)
    text_rows = [([cell_text(c) for c in row] + [""] * width)[:width] for row in rows]
    if values is None:
        df = pd.DataFrame(text_rows, columns=header)
        for column in header:  # "1,234" -> 1234 when the whole column is numeric
            numbers = pd.to_numeric(df[column].str.replace(",", ""), errors="coerce")
            if numbers.notna().all():
                df[column] = numbers
    else:
        df = pd.DataFrame([(list(v) + [None] * width)[:width] for v in values], columns=header)
    return Table(
        page=page,
        markdown=to_markdown(header, text_rows),
        df=df,
        header=header,
        rows=text_rows,
        title=title,
        caption=caption,
    )


def carry_header(above: Table, below: Table) -> Table | None:
    """`below` read as the rest of `above`, a table cut by a page break: its first row
    (taken for a header) becomes data under `above`'s header. None when the column counts
    differ or that first row repeats the header (the continuation has its own)."""
    if len(above.header) != len(below.header):
        return None

    def norm(cells):
        return [" ".join(c.lower().split()) for c in cells]

    if norm(above.header) == norm(below.header):
        return None
    first = ["" if c == f"column {i + 1}" else c for i, c in enumerate(below.header)]
    caption = f"{above.caption} (continued)" if above.caption else ""
    return make_table(below.page, above.header, [first] + below.rows, caption=caption)
