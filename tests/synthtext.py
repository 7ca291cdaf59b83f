"""Plausible report prose and tables drawn from a seeded random.Random: the words of the
synthetic documents (docfixtures.make_synthetic_pdf writes them into PDFs for the benchmarks)."""

from __future__ import annotations

_NOUNS = [
    "warehouse",
    "turbine",
    "harvest",
    "budget",
    "clinic",
    "bridge",
    "library",
    "orchard",
    "reactor",
    "vessel",
    "school",
    "market",
    "pipeline",
    "satellite",
    "bakery",
    "museum",
]
_ADJS = [
    "northern",
    "renovated",
    "automated",
    "seasonal",
    "regional",
    "experimental",
    "municipal",
    "coastal",
    "temporary",
    "historic",
    "solar",
    "underground",
]
_VERBS = [
    "produced",
    "consumed",
    "shipped",
    "recorded",
    "inspected",
    "repaired",
    "funded",
    "delivered",
    "measured",
    "reported",
]
_UNITS = ["tonnes", "litres", "visitors", "kilowatt-hours", "crates", "permits", "samples"]
_PLACES = ["Daejeon", "Gwangju", "Incheon", "Suwon", "Lyon", "Porto", "Leeds", "Graz", "Kobe"]
_MONTHS = ["January", "March", "May", "July", "September", "November"]


def synthetic_title(rng) -> str:
    """A section heading's words ("municipal orchard")."""
    return f"{rng.choice(_ADJS)} {rng.choice(_NOUNS)}"


def synthetic_page_text(rng, sentences: int = 8) -> str:
    """Plausible report prose with numbers, so chunks and embeddings do real work."""
    out = []
    for _ in range(sentences):
        out.append(
            f"The {rng.choice(_ADJS)} {rng.choice(_NOUNS)} in {rng.choice(_PLACES)} "
            f"{rng.choice(_VERBS)} {rng.randint(10, 9999)} {rng.choice(_UNITS)} in "
            f"{rng.choice(_MONTHS)}, {rng.choice(['up', 'down'])} "
            f"{rng.randint(1, 40)} percent on the year before."
        )
    return " ".join(out)


def synthetic_table(rng, n_rows: int | None = None) -> tuple[list[str], list[list[str]]]:
    n_cols = rng.randint(3, 5)
    header = ["Site"] + [
        f"{m[:3]} {rng.choice(_UNITS)[:8]}" for m in rng.sample(_MONTHS, n_cols - 1)
    ]
    rows = [
        [f"{rng.choice(_PLACES)} {rng.choice(_NOUNS)} {i + 1}"]
        + [str(rng.randint(0, 99999)) for _ in range(n_cols - 1)]
        for i in range(n_rows or rng.randint(4, 12))
    ]
    return header, rows
