"""The real-document eval set is well-formed (no downloads: the documents are not needed)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from scripts import build_realdocs, eval_documents

ROOT = Path(__file__).resolve().parent.parent / "data" / "realdocs"
ROWS = [
    json.loads(line)
    for line in (ROOT / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
PROVENANCE = (ROOT / "PROVENANCE.md").read_text(encoding="utf-8")
FIELDS = {"file", "question", "page", "answer", "kind", "split"}


def test_fields_and_values():
    assert 40 <= len(ROWS) <= 60
    for row in ROWS:
        assert FIELDS <= row.keys() <= FIELDS | {"lang"}, row
        assert row["kind"] in ("prose", "table", "scan"), row
        assert row["split"] in ("tune", "held-out"), row
        assert row.get("lang", "en") in ("en", "ko"), row
        assert row["question"].strip() and all(a.strip() for a in row["answer"].split("|")), row
        if row["file"].endswith(".pdf"):  # PDFs cite physical pages; other formats a heading
            assert isinstance(row["page"], int) and row["page"] >= 1, row
        else:
            assert isinstance(row["page"], str) and row["page"].strip(), row
    assert len({(r["file"], r["question"]) for r in ROWS}) == len(ROWS), "duplicate question"


def test_splits_kinds_and_languages_are_mixed():
    splits = Counter(r["split"] for r in ROWS)
    assert 0.25 <= splits["held-out"] / len(ROWS) <= 0.45, splits
    for kind in ("prose", "table", "scan"):  # each kind has questions on both sides
        assert {r["split"] for r in ROWS if r["kind"] == kind} == {"tune", "held-out"}, kind
    korean = [r for r in ROWS if r.get("lang") == "ko"]
    assert korean and all(re.search(r"[\uac00-\ud7a3]", r["question"]) for r in korean)
    assert {r["split"] for r in korean} == {"tune", "held-out"}


def test_every_file_is_built_and_recorded_in_provenance():
    built = {entry[0] for entry in build_realdocs.SOURCES} | {d[0] for d in build_realdocs.DERIVED}
    assert {r["file"] for r in ROWS} <= built
    for entry in build_realdocs.SOURCES + build_realdocs.INPUTS:
        name, package, version, member, sha = entry
        assert f"`{name}`" in PROVENANCE or member in PROVENANCE, name
        assert package in PROVENANCE and version in PROVENANCE and sha in PROVENANCE, name
    for name, source, sha in build_realdocs.DERIVED:
        assert f"`{name}`" in PROVENANCE and sha in PROVENANCE, name
    scans = {r["file"] for r in ROWS if r["kind"] == "scan"}
    assert scans == {"R-FAQ-scan.pdf"}


def test_a_fact_asked_twice_stays_in_one_split():
    """The same (file, page, answer) in both splits would leak held-out answers into tuning."""
    splits: dict[tuple, set] = {}
    for r in ROWS:
        splits.setdefault((r["file"], str(r["page"]), r["answer"].lower()), set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values()), splits


@pytest.mark.parametrize(
    "gold, cite, expected",
    [
        (12, "p. 12", True),
        (12, "p. 120", False),
        (12, "x.pdf p. 12", True),
        ("7.1. Short name", "§ 7.1. Short name", True),
        (
            "5.6.10. Package interrelationship fields: Depends , Pre-Depends",
            "§ 5.6.10. Package interrelationship fields: Depends ,…",
            True,
        ),
        ("7.1. Short name", "§ 7.1.1. Public domain", False),
    ],
)
def test_unit_matching(gold, cite, expected):
    assert eval_documents.unit_matches(gold, cite) is expected


def test_answer_and_citation_checks():
    assert eval_documents.answer_found("/var/run|/var/lock", "It is /VAR/LOCK [p. 9]")
    assert not eval_documents.answer_found("sync", "no idea")
    assert eval_documents.cited_in_text(9, "see [p. 9].")
    assert not eval_documents.cited_in_text(9, "see [p. 19].")
    assert eval_documents.cited_in_text("6.4. Exit status", "[§ 6.4. Exit status] zero")
    assert eval_documents.latin_part("sudo 패키지의 크기는?") == "sudo ?"
    assert eval_documents.latin_part("크기는?") == "크기는?"
