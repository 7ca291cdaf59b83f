"""Ingestion speed and table recall: ours vs LangChain's PyMuPDFLoader, same PDFs, one run.

    .venv/bin/python bench/bench_ingest.py [--files 2] [--pages 20]

Both sides go from PDF file to embedded chunks with the same embedder (the bundled
all-MiniLM-L6-v2) and the same RecursiveCharacterTextSplitter settings:
  ours      ingest_document (text, ruled tables, OCR check) + DocumentIndex.add + embed()
  baseline  PyMuPDFLoader(path, mode="page", extract_tables="markdown").load()
            + splitter.split_documents + the embedder's encode
Table recall: a drawn table counts as found when its header row and every data row come
back as markdown table rows (cells compared after collapsing whitespace) on its page;
"rows only" ignores the header row; "stray rows" counts markdown rows that belong to no
drawn table (the PDFs also carry rulings that are not tables: heading rules, frames).
Default size: 2 PDFs x 20 pages (the baseline's layout model costs 0.1-0.6 s a page on 2
cores, so more pages would take this past ~3 minutes).

Time to the first search result (--first-pages, default 130; 0 skips it): upload to first
retrieved passages on one long generated PDF, parsing included, both ways:
  embed-all-first  ingest + add + embed() + search (what the pipeline did before)
  BM25-first       ingest + add + start_embedding() + search (keywords answer at once;
                   the dense vectors arrive in a background thread, timed until done)
and how often the BM25-first answer's top page is the hybrid answer's top page.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from docfixtures import make_synthetic_pdf  # noqa: E402

from bench.common import Lines, add_threads_option, apply_threads, record  # noqa: E402


def markdown_rows(text: str) -> list[list[str]]:
    """Rows of every markdown table in text (separator lines skipped)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")) or set(line) <= set("|-: "):
            continue
        cells = [" ".join(c.replace("\\|", "|").split()) for c in line[1:-1].split("|")]
        rows.append(cells)
    return rows


def recall(found: dict, drawn) -> tuple[float, float, int]:
    """(tables with header and all rows found, tables with all data rows found) / drawn,
    and how many found markdown rows belong to no drawn table (decoys taken for tables)."""
    full = rows_only = 0
    for page, header, rows in drawn:
        got = markdown_rows(found.get(page, ""))
        body = all(r in got for r in rows)
        rows_only += body
        full += body and header in got
    real = {(page, tuple(r)) for page, header, rows in drawn for r in [header] + rows}
    stray = sum(
        (page, tuple(r)) not in real for page, text in found.items() for r in markdown_rows(text)
    )
    return full / len(drawn), rows_only / len(drawn), stray


def run_ours(pdfs, embedder_path: str, embed: bool = True):
    from chatbot.ingest import documents
    from chatbot.retrieval import DocumentIndex

    documents.clear_cache()
    found, chunks, t_parse, t_embed = {}, 0, 0.0, 0.0
    for i, (path, _) in enumerate(pdfs):
        t = time.perf_counter()
        doc = documents.ingest_document(str(path), path.name)
        index = DocumentIndex(embedder_path)
        index.add(doc)
        t_parse += time.perf_counter() - t
        t = time.perf_counter()
        if embed:
            index.embed()
        t_embed += time.perf_counter() - t
        chunks += len(index.chunks)
        for page in doc.pages:
            found[(i, page.number)] = "\n\n".join(t.markdown for t in page.tables)
    return found, chunks, t_parse, t_embed


def run_baseline(pdfs, model):
    import warnings

    warnings.filterwarnings("ignore")  # langchain-community's deprecation notice
    from langchain_community.document_loaders import PyMuPDFLoader
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from chatbot.config import CHUNK_CHARS, CHUNK_OVERLAP_CHARS

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_CHARS, chunk_overlap=CHUNK_OVERLAP_CHARS
    )
    found, chunks, t_parse, t_embed = {}, 0, 0.0, 0.0
    for i, (path, _) in enumerate(pdfs):
        t = time.perf_counter()
        pages = PyMuPDFLoader(str(path), mode="page", extract_tables="markdown").load()
        pieces = splitter.split_documents(pages)
        t_parse += time.perf_counter() - t
        t = time.perf_counter()
        model.encode(
            [p.page_content for p in pieces],
            batch_size=32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        t_embed += time.perf_counter() - t
        chunks += len(pieces)
        for page in pages:
            found[(i, page.metadata["page"] + 1)] = page.page_content
    return found, chunks, t_parse, t_embed


def first_result(path: Path, embedder_path: str, questions: list[str]) -> dict:
    """Seconds from upload to the first search result, embed-all-first vs BM25-first."""
    from chatbot.ingest import documents
    from chatbot.retrieval import DocumentIndex

    out = {}
    for mode in ("embed-all-first", "bm25-first"):
        documents.clear_cache()
        t = time.perf_counter()
        index = DocumentIndex(embedder_path)
        index.add(documents.ingest_document(str(path), path.name))
        out[f"{mode} parse"] = time.perf_counter() - t
        if mode == "embed-all-first":
            index.embed()
        else:
            index.start_embedding()
        first = index.search(questions[0], k=1)
        out[mode] = (time.perf_counter() - t, index.last_mode)
        if mode == "bm25-first":
            keyword_top = [first[0].page] + [index.search(q, k=1)[0].page for q in questions[1:]]
            index.wait_embedded()
            out["embeddings done"] = (time.perf_counter() - t, "")
            hybrid_top = [index.search(q, k=1)[0].page for q in questions]
            out["same top page"] = sum(a == b for a, b in zip(keyword_top, hybrid_top)) / len(
                questions
            )
            out["chunks"] = len(index.chunks)
    return out


def page_questions(path: Path, n: int = 20) -> list[str]:
    """Questions made of the start of a sentence on n pages spread through the PDF."""
    from chatbot.ingest import documents

    pages = documents.ingest_document(str(path), path.name).pages
    picked = pages[:: max(len(pages) // n, 1)][:n]
    return [
        f"Which figure did {' '.join(p.text.split('. ')[1].split()[:7])} report?" for p in picked
    ]


def report_first_result(folder: Path, pages: int, embedder_path: str, out: Lines) -> None:
    path = folder / "long.pdf"
    make_synthetic_pdf(path, pages, seed=7)
    questions = page_questions(path)
    result = first_result(path, embedder_path, questions)
    slow, fast = result["embed-all-first"][0], result["bm25-first"][0]
    out.say(
        f"\ntime to first search result, {pages}-page PDF ({result['chunks']} chunks), "
        f"upload included:"
    )
    out.say(
        f"  embed-all-first  {slow:7.2f} s  ({result['embed-all-first'][1]}; parsing "
        f"{result['embed-all-first parse']:.2f} s of it)"
    )
    out.say(
        f"  BM25-first       {fast:7.2f} s  ({result['bm25-first'][1]}; parsing "
        f"{result['bm25-first parse']:.2f} s of it); background embeddings done at "
        f"{result['embeddings done'][0]:.2f} s"
    )
    out.say(
        f"  ratio {slow / fast:.1f}x faster first answer; BM25-first top page = hybrid top "
        f"page for {result['same top page']:.0%} of {len(questions)} questions"
    )


def print_rows(rows: list, n_pages: int, out: Lines) -> None:
    out.say(
        f"{'pipeline':36s} {'parse s':>8s} {'embed s':>8s} {'chunks':>7s} {'pages/s':>8s} "
        f"{'parse pages/s':>13s} {'table recall':>12s} {'rows only':>9s} {'stray rows':>10s}"
    )
    for name, parse_s, embed_s, n_chunks, full, body, stray in rows:
        end_to_end = "-" if embed_s != embed_s else f"{n_pages / (parse_s + embed_s):.1f}"
        embed = "-" if embed_s != embed_s else f"{embed_s:.2f}"
        out.say(
            f"{name:36s} {parse_s:8.2f} {embed:>8s} {n_chunks:7d} {end_to_end:>8s} "
            f"{n_pages / parse_s:13.1f} {full:12.3f} {body:9.3f} {stray:10d}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--pages", type=int, default=20, help="pages per PDF")
    parser.add_argument(
        "--first-pages",
        type=int,
        default=130,
        help="pages of the PDF for the time-to-first-result run (0: skip)",
    )
    parser.add_argument(
        "--only-first", action="store_true", help="only the time-to-first-result run"
    )
    add_threads_option(parser)
    args = parser.parse_args()
    print(f"torch threads: {apply_threads(args)}")

    from chatbot.embeddings import load_embedder
    from chatbot.ingest import pdf
    from chatbot.profiles import embeddings_for_profile

    folder = Path(tempfile.mkdtemp(prefix="bench_ingest_"))
    pdfs = []
    for i in range(args.files):
        path = folder / f"report_{i}.pdf"
        pdfs.append((path, make_synthetic_pdf(path, args.pages, seed=i)))
    drawn = [
        ((i, page), header, rows)
        for i, (_, tables) in enumerate(pdfs)
        for page, header, rows in tables
    ]
    n_pages = args.files * args.pages
    out = Lines()
    out.say(f"{args.files} PDFs x {args.pages} pages = {n_pages} pages, {len(drawn)} ruled tables")

    embedder_path = embeddings_for_profile("offline")
    model = load_embedder(embedder_path)
    model.encode(["warm up"] * 8)
    warm = folder / "warm.pdf"  # warm imports and models on both sides
    make_synthetic_pdf(warm, 2, seed=99)
    run_ours([(warm, [])], embedder_path)
    run_baseline([(warm, [])], model)

    if args.only_first:
        report_first_result(folder, args.first_pages, embedder_path, out)
        record("bench_ingest", out)
        return
    rows = []
    found, chunks, tp, te = run_ours(pdfs, embedder_path)
    rows.append(("ours (use_layout=False)", tp, te, chunks, *recall(found, drawn)))
    found, chunks, tpb, teb = run_baseline(pdfs, model)
    rows.append(("LangChain PyMuPDFLoader", tpb, teb, chunks, *recall(found, drawn)))
    pdf.TABLE_USE_LAYOUT = True  # what the layout model would add (parse only)
    try:
        found, chunks, tpl, _ = run_ours(pdfs, embedder_path, embed=False)
    finally:
        pdf.TABLE_USE_LAYOUT = False
    rows.append(
        ("ours (use_layout=True), parse only", tpl, float("nan"), chunks, *recall(found, drawn))
    )

    print_rows(rows, n_pages, out)
    ours_total, base_total = tp + te, tpb + teb
    out.say(
        f"ratio ours/baseline, end to end pages/s: {base_total / ours_total:.2f}x; "
        f"parse only: {tpb / tp:.1f}x; use_layout=False vs True parse: {tpl / tp:.1f}x"
    )
    if args.first_pages:
        report_first_result(folder, args.first_pages, embedder_path, out)
    record("bench_ingest", out)


if __name__ == "__main__":
    main()
