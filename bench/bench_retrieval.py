"""Latency of one question over 1,000 ingested pages (two 500-page PDFs, the page limit).

    .venv/bin/python bench/bench_retrieval.py [--pages 1000] [--questions 30]

Pages are short (one fact sentence after one sentence of report prose, a ruled table every 25th
page) so that embedding all chunks with the bundled all-MiniLM-L6-v2 stays within minutes on a
small CPU. Per question it times DocumentIndex.search (query embedding + dense scores +
BM25 + top-k) and DocumentIndex.context (the same plus fencing), and checks hit@1 on the
page holding the fact. The first question also builds the BM25 index: reported apart.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from docfixtures import make_synthetic_pdf, synthetic_page_text  # noqa: E402

from bench.common import Lines, add_threads_option, apply_threads, record  # noqa: E402

_ITEMS = [
    "a cargo drone",
    "a bronze bell",
    "a tide gauge",
    "a seed vault",
    "a wind tunnel",
    "a glass kiln",
    "a radio mast",
    "a rope bridge",
    "a salt pan",
    "a night ferry",
]


def fact(number: int) -> tuple[str, str]:
    """A sentence only page `number` contains, and a question about it."""
    rng = random.Random(number)
    code = f"{rng.choice('BCDFGHKMPRTVX')}{rng.choice('BCDFGHKMPRTVX')}{rng.randint(1000, 9999)}"
    item = rng.choice(_ITEMS)
    return (
        f"Permit {code} was granted for {item} on page-specific grounds.",
        f"What was permit {code} granted for?",
    )


def write_archive(n_pages: int, per_file: int = 500) -> list[tuple[Path, int]]:
    """PDFs of synthetic pages, each page holding one numbered fact: [(path, first page offset)]."""
    folder = Path(tempfile.mkdtemp(prefix="bench_retrieval_"))
    files = []
    t = time.perf_counter()
    for i in range((n_pages + per_file - 1) // per_file):
        pages = min(per_file, n_pages - i * per_file)
        offset = i * per_file

        def text(rng, number, offset=offset):
            return f"{synthetic_page_text(rng, sentences=1)} {fact(offset + number)[0]}"

        path = folder / f"archive_{i}.pdf"
        make_synthetic_pdf(path, pages, seed=i, table_every=25, page_text=text)
        files.append((path, offset))
    print(f"wrote {n_pages} pages in {len(files)} PDFs in {time.perf_counter() - t:.1f} s")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=30)
    add_threads_option(parser)
    args = parser.parse_args()
    print(f"torch threads: {apply_threads(args)}")

    from chatbot.embeddings import load_embedder
    from chatbot.ingest.documents import ingest_document
    from chatbot.profiles import embeddings_for_profile
    from chatbot.retrieval import DocumentIndex

    files = write_archive(args.pages)

    embedder = embeddings_for_profile("offline")
    load_embedder(embedder).encode(["warm up"])
    index = DocumentIndex(embedder)
    t = time.perf_counter()
    for path, _ in files:
        index.add(ingest_document(str(path), path.name))
    t_ingest = time.perf_counter() - t
    t = time.perf_counter()
    index.embed()
    t_embed = time.perf_counter() - t
    out = Lines()
    out.say(
        f"ingest {t_ingest:.1f} s ({args.pages / t_ingest:.0f} pages/s), "
        f"embed {len(index.chunks)} chunks {t_embed:.1f} s"
    )

    rng = random.Random(0)
    asked = rng.sample(range(1, args.pages + 1), args.questions)
    model = load_embedder(embedder)
    search_ms, context_ms, encode_ms, hits = [], [], [], 0
    t = time.perf_counter()
    index.search(fact(asked[0])[1])
    first_ms = 1000 * (time.perf_counter() - t)
    for page in asked:
        question = fact(page)[1]
        t = time.perf_counter()
        model.encode([question], normalize_embeddings=True, show_progress_bar=False)
        encode_ms.append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        best = index.search(question)[0]
        search_ms.append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        text, passages = index.context(question)
        context_ms.append(1000 * (time.perf_counter() - t))
        file_offset = next(off for p, off in files if p.name == best.file)
        hits += file_offset + best.page == page
    q = statistics.quantiles
    out.say(f"{len(index.chunks)} chunks over {args.pages} pages; {args.questions} questions")
    out.say(f"first question (builds BM25): {first_ms:.0f} ms")
    out.say(
        f"search  median {statistics.median(search_ms):.1f} ms, p95 {q(search_ms, n=20)[-1]:.1f} ms"
    )
    out.say(f"  of which the query embedding: median {statistics.median(encode_ms):.1f} ms")
    out.say(
        f"context median {statistics.median(context_ms):.1f} ms, "
        f"p95 {q(context_ms, n=20)[-1]:.1f} ms  (context chars {len(text)})"
    )
    out.say(f"hit@1 on the fact's page: {hits / args.questions:.3f}")
    record("bench_retrieval", out)


if __name__ == "__main__":
    main()
