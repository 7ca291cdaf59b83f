"""Retrieval eval: does the right page come back for each question?

    python -m scripts.eval_retrieval FILE.jsonl --profile offline|tiny|hub [--no-bm25] [-v]

Each line: {"file": PATH relative to the JSONL's folder, "question": TEXT, "page": N (1-based)}.
Each file gets its own index (as in a chat about that file) and retrieval is forced
(no whole-document shortcut). hit@k: the right page is among the top k chunks.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from chatbot.config import RetrievalConfig
from chatbot.ingest.documents import ingest_document
from chatbot.profiles import embeddings_for_profile
from chatbot.retrieval import DocumentIndex


def evaluate(
    jsonl: str, profile: str = "offline", use_bm25: bool = True, verbose: bool = False
) -> dict:
    rows = [
        json.loads(line)
        for line in Path(jsonl).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    folder = Path(jsonl).parent
    embedder = embeddings_for_profile(profile)
    indexes: dict[str, DocumentIndex] = {}
    hits1 = hits3 = 0
    per_file: dict[str, list[int]] = {}  # file -> [hit@1, hit@3, n]
    started = time.perf_counter()
    search_s = 0.0
    for row in rows:
        path = str(folder / row["file"])
        if path not in indexes:
            index = DocumentIndex(embedder, RetrievalConfig(use_bm25=use_bm25))
            index.add(ingest_document(path, Path(path).name))
            index.embed()
            indexes[path] = index
        t = time.perf_counter()
        pages = [p.page for p in indexes[path].search(row["question"], k=3)]
        search_s += time.perf_counter() - t
        hit1, hit3 = pages[:1] == [row["page"]], row["page"] in pages
        hits1 += hit1
        hits3 += hit3
        counts = per_file.setdefault(row["file"], [0, 0, 0])
        counts[0] += hit1
        counts[1] += hit3
        counts[2] += 1
        if verbose or not hit3:
            mark = "ok  " if hit1 else ("top3" if hit3 else "MISS")
            print(f"{mark} {row['file']} p.{row['page']} got {pages}: {row['question']}")
    n = len(rows)
    result = {
        "n": n,
        "hit@1": hits1 / n if n else 0.0,
        "hit@3": hits3 / n if n else 0.0,
        "ms_per_question": 1000 * search_s / n if n else 0.0,
        "total_s": time.perf_counter() - started,
    }
    for file, (h1, h3, count) in per_file.items():
        print(f"  {file}: questions={count} hit@1={h1 / count:.3f} hit@3={h3 / count:.3f}")
    print(
        f"{Path(jsonl).name}: profile={profile} bm25={'on' if use_bm25 else 'off'} "
        f"questions={n} hit@1={result['hit@1']:.3f} hit@3={result['hit@3']:.3f} "
        f"search={result['ms_per_question']:.1f} ms/question total={result['total_s']:.1f} s"
    )
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("jsonl")
    parser.add_argument("--profile", default="offline", choices=["offline", "tiny", "hub"])
    parser.add_argument("--no-bm25", action="store_true", help="dense embeddings only")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every question")
    args = parser.parse_args(argv)
    evaluate(args.jsonl, args.profile, use_bm25=not args.no_bm25, verbose=args.verbose)


if __name__ == "__main__":
    main()
