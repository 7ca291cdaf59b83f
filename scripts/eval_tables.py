"""Tables without rules on real PDFs: every detection written out, precision from labels.

    python -m scripts.eval_tables [--docs /tmp/realdocs] [--out /tmp/unruled_detections.jsonl]
    python -m scripts.eval_tables --labels data/realdocs/unruled_tables.jsonl
    python -m scripts.eval_tables --context data/realdocs/questions.jsonl   # tune split only

Runs the app's PDF table detection (chatbot.ingest.pdf.page_tables) page by page over the
real-document PDFs (scripts/build_realdocs.py) and writes one JSON line per table found
without rules: doc, page, bbox (PDF points), shape and its first rows. Labels are lines
{"doc", "page", "bbox", "is_table", "note"} judged by eye from that file (and the page);
a detection matches a label on the same page whose box overlaps it by more than half
(intersection over union). Prints detections per page, the time the unruled search adds
per page (words + chatbot.ingest.unruled.find_unruled) and of all table detection
(page_tables), both CPU time as the machine may be shared, and precision over the labelled
detections, with the count. --context: is the answer in what the model is given
(DocumentIndex.context), per question kind, without running the LLM.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

DOCS = ("fhs-3.0.pdf", "debian-reference.en.pdf", "R-intro.pdf", "R-FAQ-scan.pdf")
SHOW_ROWS = 4


def detect(path: Path) -> tuple[list[dict], int, float, float]:
    """(unruled detections, pages, CPU seconds of the unruled search, of all table work)."""
    import pymupdf

    from chatbot.ingest.pdf import page_tables
    from chatbot.ingest.unruled import find_unruled

    found, spent, whole = [], 0.0, 0.0
    with pymupdf.open(str(path)) as doc:
        for page in doc:
            unruled: list = []
            start = time.process_time()
            _, boxes = page_tables(page, page.number + 1, unruled)
            whole += time.process_time() - start
            ruled = [b for b in boxes if all(b != u for u, _ in unruled)]
            start = time.process_time()
            find_unruled(page.get_text("words"), ruled)
            spent += time.process_time() - start
            for bbox, table in unruled:
                found.append(
                    {
                        "doc": path.name,
                        "page": page.number + 1,
                        "bbox": [round(v) for v in bbox],
                        "shape": list(table.shape),
                        "caption": table.caption,
                        "rows": [table.header] + table.rows[: SHOW_ROWS - 1],
                    }
                )
        pages = doc.page_count
    return found, pages, spent, whole


def iou(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area > 0 else 0.0


def precision(detections: list[dict], labels: list[dict]) -> tuple[int, int, list[dict]]:
    """(true tables, labelled detections, detections without a label)."""
    true = judged = 0
    unlabelled = []
    for d in detections:
        label = next(
            (
                lb
                for lb in labels
                if lb["doc"] == d["doc"]
                and lb["page"] == d["page"]
                and iou(lb["bbox"], d["bbox"]) > 0.5
            ),
            None,
        )
        if label is None:
            unlabelled.append(d)
            continue
        judged += 1
        true += bool(label["is_table"])
    return true, judged, unlabelled


def context_figures(jsonl: str, docs_dir: str, profile: str = "offline") -> dict:
    """`answer in context` without the LLM, per question kind, on the tune split: each
    document indexed and embedded as the app does, then DocumentIndex.context(question)
    (what the model is given) checked for the answer string; hit@1 from its first passage."""
    from chatbot.ingest.documents import ingest_document
    from chatbot.profiles import embeddings_for_profile
    from chatbot.retrieval import DocumentIndex
    from scripts.eval_documents import answer_found, load_rows, unit_matches

    embedder, indexes, rows = embeddings_for_profile(profile), {}, []
    for row in load_rows(jsonl, "tune"):  # held-out stays aside
        if row["file"] not in indexes:
            indexes[row["file"]] = index = DocumentIndex(embedder)
            index.add(ingest_document(str(Path(docs_dir) / row["file"])))
            index.embed()
        _, given = indexes[row["file"]].context(row["question"])
        row = {
            **row,
            "in_context": any(answer_found(row["answer"], p.text) for p in given),
            "hit1": bool(given) and unit_matches(row["page"], given[0].cite().strip("[]")),
        }
        rows.append(row)
        print(
            f"{'X' if row['in_context'] else '.'}{'1' if row['hit1'] else '.'} {row['kind']:5} "
            f"{row['file']} {row['page']!s:.24}: {row['question'][:60]}",
            flush=True,
        )
    figures = {}
    for kind in ("table", "prose", "scan", "all"):
        chosen = [r for r in rows if kind == "all" or r["kind"] == kind]
        figures[kind] = (
            sum(r["in_context"] for r in chosen),
            sum(r["hit1"] for r in chosen),
            len(chosen),
        )
        print(
            f"{kind:6} n={len(chosen):>2}  answer in context {figures[kind][0]}  hit@1 "
            f"{figures[kind][1]}"
        )
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--docs", default="/tmp/realdocs", help="the folder scripts/build_realdocs.py wrote"
    )
    parser.add_argument("--out", default="/tmp/unruled_detections.jsonl")
    parser.add_argument("--labels", help="judged detections (JSONL): print precision")
    parser.add_argument(
        "--context",
        metavar="QUESTIONS_JSONL",
        help="instead: answer-in-context per question kind (tune split, no LLM)",
    )
    parser.add_argument("files", nargs="*", default=list(DOCS))
    args = parser.parse_args(argv)
    if args.context:
        context_figures(args.context, args.docs)
        return
    detections = []
    for name in args.files:
        path = Path(args.docs) / name
        if not path.exists():
            raise SystemExit(f"{path} is missing: run scripts/build_realdocs.py {args.docs}")
        found, pages, spent, whole = detect(path)
        detections += found
        print(
            f"{name}: {len(found)} unruled tables on {pages} pages "
            f"({len(found) / pages:.2f} per page), unruled search "
            f"{1000 * spent / pages:.1f} ms/page, all table detection "
            f"{1000 * whole / pages:.1f} ms/page (CPU time)"
        )
    Path(args.out).write_text(
        "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in detections), encoding="utf-8"
    )
    print(f"{len(detections)} detections written to {args.out}")
    if args.labels:
        labels = [
            json.loads(line)
            for line in Path(args.labels).read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        true, judged, unlabelled = precision(detections, labels)
        print(
            f"precision {true / judged:.2f} ({true} of {judged} labelled detections are tables; "
            f"{len(unlabelled)} detections unlabelled)"
            if judged
            else "no detection is labelled"
        )
        for d in unlabelled:
            print(f"  unlabelled: {d['doc']} p. {d['page']} {d['bbox']} {d['rows'][:2]}")


if __name__ == "__main__":
    main()
