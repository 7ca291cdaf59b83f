"""Time to the first token of a question sent with a fresh long PDF, through the launched app,
where it goes, and the raw work of the same answer in the same run.

    .venv/bin/python bench/bench_first_token.py [--pdf FILE] [--pages 134] [--repeats 2]

App: app.py --profile offline on a fresh data folder, one gradio_client per run, the question
with the PDF attached (a copy with new bytes each run, so no cache of the app helps). Measured
on the client: the first streamed output that holds reply text. Its split, from the reply:
  before the chain  client time - info["metrics"]["ttft_s"]: upload, queue, checks, hashing,
                    the store's copy of the file
  documents, retrieval   ttft_s - prefill_s: the parse (text, tables, OCR check), chunks, BM25
  prefill           prefill_s: the LLM's prompt to its first token
Raw, in this process, the best configuration of the same work: the text layer (ingest_text_first,
what the app reads first of a long PDF) + DocumentIndex.add + context() (BM25, and the retrieved
pages read in full) + llama.cpp's first token on a prompt of the app's length; and the whole
parse (ingest_document: tables, OCR checks), what the first answer waited for before.
Run it alone: two cores are easily saturated.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.common import Lines, record  # noqa: E402

QUESTION = "What is this manual about? Answer in one sentence."


def fresh_copy(pdf: Path, n: int) -> Path:
    """The PDF with one more comment at its end: other bytes (no cache hit), the same pages."""
    out = Path(tempfile.mkdtemp(prefix="bench-first-")) / f"manual-{n}.pdf"
    out.write_bytes(pdf.read_bytes() + f"\n% bench copy {n} {time.time()}\n".encode())
    return out


def through_app(pdf: Path, repeats: int) -> list[dict]:
    from gradio_client import handle_file
    from helpers import RunningApp, wait_until

    app = RunningApp("--profile", "offline", "--max-new-tokens", "16", timeout=300)
    runs = []
    try:
        client = app.client()
        wait_until(lambda: client.predict(api_name="/status")["progress"] == "ready", 300, "load")
        client.predict({"text": "hello", "files": []}, api_name="/chat")  # warm the model
        for n in range(repeats):
            copy = fresh_copy(pdf, n)
            client = app.client()  # a new conversation: nothing of the last one is reused
            t0, first = time.perf_counter(), None
            job = client.submit(
                {"text": QUESTION, "files": [handle_file(str(copy))]}, api_name="/chat"
            )
            for text, _files, _info in job:
                if first is None and text.strip():
                    first = time.perf_counter() - t0
            info = job.outputs()[-1][2]
            assert not info["error"], info["error"]
            m = info["metrics"]
            runs.append(
                {
                    "first": first,
                    "ttft": m["ttft_s"],
                    "prefill": m["prefill_s"],
                    "prompt_tokens": m["prompt_tokens"],
                }
            )
    finally:
        app.stop()
    return runs


def raw(pdf: Path, prompt_tokens: int) -> dict:
    """The same answer's work, in this process, without the app around it."""
    import pymupdf

    from bench.bench_app_engine import llama
    from bench.bench_engine import llamacpp_times
    from chatbot.config import RetrievalConfig
    from chatbot.ingest.documents import clear_cache, ingest_document
    from chatbot.ingest.pdf import ingest_text_first
    from chatbot.profiles import embeddings_for_profile
    from chatbot.retrieval import DocumentIndex

    clear_cache()
    with pymupdf.open(pdf) as doc:
        chars = sum(len(page.get_text()) for page in doc)
    t = time.perf_counter()
    draft = ingest_text_first(str(pdf), pdf.name, RetrievalConfig().whole_document_chars)
    text_layer = time.perf_counter() - t
    t = time.perf_counter()
    document = ingest_document(str(pdf), pdf.name)
    parse = time.perf_counter() - t
    t = time.perf_counter()
    index = DocumentIndex(embeddings_for_profile("offline"))
    index.add(draft or document)
    index.start_embedding()  # as the app does: keywords answer meanwhile
    index.context(QUESTION)
    keywords = time.perf_counter() - t
    index.wait_embedded()  # the prefill below gets both cores, as the app's best case
    llm, _ = llama()
    ids = [100 + (i * 7919) % 40000 for i in range(prompt_tokens)]
    prefill = min(llamacpp_times(llm, ids, 1)[0] for _ in range(2))
    pages = len(document.pages)
    return {
        "text_layer": text_layer,
        "parse": parse,
        "keywords": keywords,
        "prefill": prefill,
        "pages": pages,
        "chars": chars,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pdf", type=Path, help="a long PDF (default: a generated manual)")
    parser.add_argument("--pages", type=int, default=134, help="pages of the generated manual")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.pdf is None:
        from docfixtures import make_synthetic_pdf

        folder = Path(tempfile.mkdtemp(prefix="bench-first-"))
        args.pdf = folder / "manual.pdf"
        make_synthetic_pdf(args.pdf, args.pages)
    out = Lines()
    runs = through_app(args.pdf, args.repeats)
    app = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    base = raw(args.pdf, int(app["prompt_tokens"]))
    best = base["text_layer"] + base["keywords"] + base["prefill"]
    out.say(f"{args.pdf.name}: {base['pages']} pages, {base['chars']:,} characters of text")
    out.say(
        f"app   first token {app['first']:.2f} s = before the chain "
        f"{app['first'] - app['ttft']:.2f} + documents and retrieval "
        f"{app['ttft'] - app['prefill']:.2f} + prefill {app['prefill']:.2f} "
        f"({app['prompt_tokens']:.0f} prompt tokens; median of {len(runs)})"
    )
    out.say(
        f"raw   {best:.2f} s = text layer {base['text_layer']:.2f} + keywords and the "
        f"retrieved pages in full {base['keywords']:.2f} + prefill {base['prefill']:.2f}; "
        f"the whole parse (tables, OCR checks) {base['parse']:.2f}"
    )
    out.say(f"ratio app / raw {app['first'] / best:.2f}x")
    record("bench_first_token", out)


if __name__ == "__main__":
    main()
