"""A passage: a piece of one page (or sheet, slide, section) with its citation."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Passage:
    file: str  # file name as shown to the model (sanitised)
    page: int  # 1-based page, or sheet number for spreadsheets
    text: str
    score: float = 0.0
    kind: str = "text"  # "text" | "table"
    show_file: bool = False  # several files indexed: the tag names the file
    unit: str = "p."  # Document.unit: "p.", "sheet", "slide" or "§" (a section)
    ocr: bool = False  # text read by OCR (may hold recognition errors)
    label: str = ""  # the page's label: a section's heading names it in citations

    def cite(self) -> str:
        """'[p. 12]', '[slide 3]', '[sheet 2]', '[§ Installation]' ('[§ 4]': a section
        without a heading); '[report.pdf p. 12]' when several files are indexed."""
        if self.unit == "§":
            where = f"§ {safe_name(self.label) if self.label else self.page}"
        else:
            where = f"{self.unit} {self.page}"
        return f"[{self.file} {where}]" if self.show_file else f"[{where}]"


def safe_name(name: str) -> str:
    """File names are user input too: keep them from breaking tags and citations."""
    return re.sub(r"[\[\]<>\"\n\r]", "_", name)
