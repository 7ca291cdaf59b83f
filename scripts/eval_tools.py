"""Precision and recall per vision tool (labels, find) of the tool decision, on labelled messages.

    python -m scripts.eval_tools                       # held-out split of data/tool_requests.jsonl
    python -m scripts.eval_tools --split all --errors  # every line, and the misses

Lines are {"text": ..., "tool": "labels"|"find"|null} with an optional "photos": 0 when the
conversation has no photo (then no tool can run). The held-out split is 1 line in 5 by a hash
of the text (chatbot.vision.tools.is_held_out), stable when lines are added.
"""

from __future__ import annotations

import argparse

from chatbot.vision.tools import DATA_FILE, TOOLS, decide, is_held_out, load_requests


def select(rows: list[dict], split: str) -> list[dict]:
    if split == "all":
        return rows
    return [r for r in rows if is_held_out(r["text"]) == (split == "held-out")]


def evaluate(rows: list[dict]) -> tuple[dict, list[tuple[dict, object]]]:
    """Per tool: tp, fp, fn; and the rows decided wrongly with their decisions."""
    counts = {t: {"tp": 0, "fp": 0, "fn": 0} for t in TOOLS}
    errors = []
    for row in rows:
        got = decide(row["text"], has_photos=row.get("photos", 1) > 0)
        want = row.get("tool")
        for t in TOOLS:
            if got.tool == t and want == t:
                counts[t]["tp"] += 1
            elif got.tool == t:
                counts[t]["fp"] += 1
            elif want == t:
                counts[t]["fn"] += 1
        if got.tool != want:
            errors.append((row, got))
    return counts, errors


def report(counts: dict) -> list[str]:
    lines = []
    for tool, c in counts.items():
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 0.0
        lines.append(
            f"{tool:<7} precision {p:.3f}  recall {r:.3f}  (tp={c['tp']} fp={c['fp']} fn={c['fn']})"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", default=str(DATA_FILE))
    ap.add_argument("--split", choices=["held-out", "train", "all"], default="held-out")
    ap.add_argument("--errors", action="store_true", help="print the messages decided wrongly")
    args = ap.parse_args(argv)
    rows = select(load_requests(args.data), args.split)
    counts, errors = evaluate(rows)
    print(
        f"{len(rows)} messages ({args.split} split of {args.data}); "
        f"{len(rows) - len(errors)} decided right, {len(errors)} wrong"
    )
    for line in report(counts):
        print(line)
    if args.errors:
        for row, got in errors:
            print(
                f"  want {row.get('tool')!s:<6} got {got.tool!s:<6} {row['text']!r}  ({got.reason})"
            )


if __name__ == "__main__":
    main()
