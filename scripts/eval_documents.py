"""End-to-end document QA eval: the app's own pipeline answers questions about real documents.

    python scripts/build_realdocs.py /tmp/realdocs                      # once (Debian packages)
    python -m scripts.eval_documents data/realdocs/questions.jsonl --docs /tmp/realdocs \
        --profile offline --split held-out [--out results.jsonl] [-v]

Each JSONL line: {"file", "question", "page", "answer", "kind", "split"[, "lang"]}.
"page" is the citation unit: a 1-based page number for PDFs, the section heading (the
reader's label) for EPUB/HTML/Word files. "answer": a short string a correct reply must
contain (case-insensitive); alternatives are separated by "|". "kind": prose, table or scan.

The pipeline is the app's (Pipeline(build_config(profile)).respond), in process. One
conversation per document: its first question uploads the file (ingestion, chunking and
embedding in the background exactly as in the chat: that question is usually served by
BM25 alone), then the script waits for the embeddings, and every later question is asked
in the same conversation without re-uploading. By default the earlier turns are dropped
before each question (the document index stays), so questions do not see each other's
answers; --keep-history asks them as one running chat.

Measures, per split and overall:
  answer      the answer string is in the reply text above its Sources block (the lead quote,
              where there is one, and the model's answer)
  own         the answer string is in the model's own words (the lead quote left out)
  lead        the reply was led by a quote from the document (quotes.lead_quote)
  cited       the reply text cites the right unit ("p. 12", or the section's heading)
  top         the top retrieved passage is from the right unit
  hit@1/@3    the right unit among the first 1/3 passages of the retrieval step
  in_context  the answer string is in the passages the LLM was given (a retrieval ceiling)
  table / scan  `answer` restricted to kind=table / kind=scan questions
  markup      the reply shows the prompt's markup (retrieval/fence.PROMPT_MARKUP; aim: never)

--no-guard: the same run with the fence guard off (what the model itself writes: the
"before" of the markup measure).

--lang ko|en: only the questions in that language.

--retrieval-only [--lang ko]: no LLM; each document indexed and embedded up front, then
hit@1/hit@3 for four rankings (see rank()): the app's hybrid, dense alone, BM25 alone, and
the hybrid whose dense side embeds only the non-Hangul part of a Korean question.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

from scripts.eval_documents_summary import print_summary, summarise

RETRIEVAL_LINE = re.compile(r"^\[(?P<cite>[^\]]*)\] \((?P<kind>\w+), score (?P<score>[-\d.]+)\)")


def load_rows(jsonl: str, split: str = "all") -> list[dict]:
    rows = [
        json.loads(line)
        for line in Path(jsonl).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [r for r in rows if split == "all" or r["split"] == split]


def answer_found(answer: str, text: str) -> bool:
    text = (text or "").lower()
    return any(alt.strip().lower() in text for alt in answer.split("|") if alt.strip())


def _norm_label(label: str) -> str:
    return " ".join(re.sub(r"[\[\]<>\"\n\r]", "_", str(label)).rstrip("…").split()).lower()


def unit_matches(gold, cite: str) -> bool:
    """Does a citation ('p. 12', '§ 7.1. Short name', 'file.pdf p. 12') name the gold unit?
    A section label the reader cut short ('5.6.10. Package …') matches its full heading."""
    cite = cite.strip()
    if isinstance(gold, int):
        m = re.search(r"(?:p\.|slide|sheet|§)\s*(\d+)$", cite)
        return bool(m) and int(m.group(1)) == gold
    m = re.search(r"§\s*(.+)$", cite)
    if not m:
        return False
    got, want = _norm_label(m.group(1)), _norm_label(gold)
    return bool(got) and (got == want or want.startswith(got) or got.startswith(want))


def cited_in_text(gold, text: str) -> bool:
    """The reply cites the gold unit: '[p. 12]' / 'p. 12' / 'page 12', or the section label."""
    text = text or ""
    if isinstance(gold, int):
        return re.search(rf"(?:\bp\.|\bpage|\bpp\.)\s*{gold}\b", text, re.IGNORECASE) is not None
    want = _norm_label(gold)
    number = want.split(" ")[0]  # "7.1." of "7.1. short name"
    flat = " ".join(text.split()).lower()
    return want in flat or (number[:-1].replace(".", "").isdigit() and f"§ {number}" in flat)


def retrieval_cites(reply) -> tuple[str, list[str]]:
    """(how retrieval was served, the citations of the passages in the Retrieval step)."""
    step = next((s for s in reply.steps if s.key == "retrieval"), None)
    if step is None:
        return "", []
    head, _, body = step.detail.partition("\n\n")
    cites = [m.group("cite") for m in map(RETRIEVAL_LINE.match, body.splitlines()) if m]
    served = (
        "whole"
        if "whole documents" in head
        else "bm25"
        if "while embeddings" in head
        else "hybrid"
        if "+ embeddings" in head
        else "dense"
        if "embeddings" in head
        else head.removeprefix("served by ")
    )
    return served, cites


def evaluate(
    jsonl: str,
    docs_dir: str,
    profile: str = "offline",
    split: str = "all",
    max_new_tokens: int = 96,
    keep_history: bool = False,
    out: str | None = None,
    verbose: bool = False,
    limit: int | None = None,
    guard: bool = True,
    lang: str | None = None,
) -> dict:
    from chatbot.conversation import Conversation
    from chatbot.pipeline import Pipeline
    from chatbot.profiles import build_config
    from chatbot.quotes import own_words, without_sources
    from chatbot.retrieval import DocumentIndex, fence

    if not guard:  # the model's own replies: nothing hidden, no stop at a copied context
        fence.unfenced, fence.copying = (lambda text, question="": text), (lambda text: None)
    rows = [r for r in load_rows(jsonl, split) if lang in (None, r.get("lang", "en"))][:limit]
    cfg = build_config(profile, max_new_tokens=max_new_tokens)
    pipeline = Pipeline(cfg)
    started = time.perf_counter()
    list(pipeline.models.wait())
    print(
        f"profile={cfg.profile} llm={pipeline.models.backend.describe()} "
        f"embeddings={cfg.embeddings.model} loaded in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    by_file: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_file[row["file"]].append(row)
    results = []
    sink = open(out, "w", encoding="utf-8") if out else None
    for file, questions in by_file.items():
        path = str(Path(docs_dir) / file)
        if not Path(path).exists():
            sys.exit(f"{path} is missing: run scripts/build_realdocs.py {docs_dir} first")
        conv = Conversation()
        # The pipeline makes this index itself on the first upload; making it here (the same
        # call) lets the script see the full passages the LLM got (`in_context`).
        conv.documents = DocumentIndex(cfg.embeddings.model)
        given: list = []
        original = conv.documents.context

        def context(question, *args, _original=original, _given=given, **kwargs):
            text, passages = _original(question, *args, **kwargs)
            _given[:] = passages
            return text, passages

        conv.documents.context = context

        for i, row in enumerate(questions):
            if i and not keep_history:
                conv.turns.clear()
            t = time.perf_counter()
            reply = list(pipeline.respond(conv, row["question"], [path] if i == 0 else []))[-1]
            seconds = time.perf_counter() - t
            if i == 0:  # from now on every question is served with the embeddings ready
                conv.documents.wait_embedded()
            served, cites = retrieval_cites(reply)
            gold = row["page"]
            result = {
                **row,
                "reply": reply.text,
                "error": reply.error,
                "served": served,
                "retrieved": cites,
                "seconds": round(seconds, 2),
                "new_tokens": reply.metrics.get("new_tokens"),
                "prompt_tokens": reply.metrics.get("prompt_tokens"),
                # what the reader sees above the Sources block (which quotes pages whatever the
                # answer was): the lead quote and the model's answer; and the model's words alone
                "answer_ok": answer_found(row["answer"], without_sources(reply.text)),
                "own_ok": answer_found(row["answer"], own_words(reply.text)),
                "lead": bool(reply.sources and reply.sources[0].get("lead")),
                "cited_ok": cited_in_text(gold, without_sources(reply.text)),
                "top_ok": bool(cites) and unit_matches(gold, cites[0]),
                "hit1": any(unit_matches(gold, c) for c in cites[:1]),
                "hit3": any(unit_matches(gold, c) for c in cites[:3]),
                "in_context": any(answer_found(row["answer"], p.text) for p in given),
                "markup": bool(fence.PROMPT_MARKUP.search(without_sources(reply.text))),
            }
            results.append(result)
            if sink:
                sink.write(json.dumps(result, ensure_ascii=False) + "\n")
                sink.flush()
            mark = "".join(
                k if result[f] else "."
                for k, f in (
                    ("A", "answer_ok"),
                    ("O", "own_ok"),
                    ("C", "cited_ok"),
                    ("T", "top_ok"),
                    ("3", "hit3"),
                    ("X", "in_context"),
                )
            )
            print(
                f"{mark} {row['split']:8} {row['kind']:5} {file} {gold!s:.28} "
                f"got {', '.join(cites[:3])[:70]} ({served}, {seconds:.1f} s): "
                f"{row['question'][:70]}",
                flush=True,
            )
            if verbose or reply.error:
                print(
                    f"      reply: {' '.join((reply.text or '').split())[:300]}"
                    + (f"\n      error: {reply.error}" if reply.error else ""),
                    flush=True,
                )
    if sink:
        sink.close()
    summary = summarise(results)
    print_summary(summary, profile, time.perf_counter() - started)
    return summary


# ---- retrieval alone (no LLM): which ranking finds the cited unit --------------------------

_HANGUL_RUN = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]+")


def latin_part(question: str) -> str:
    """The question without its Hangul: what an English-only embedder can read of it."""
    rest = " ".join(_HANGUL_RUN.sub(" ", question).split())
    return rest if re.search(r"[A-Za-z0-9]", rest) else question


def rank(index, question: str, variant: str, k: int = 3) -> list:
    """Top-k passages of one index under a ranking variant:
    hybrid       the app's DocumentIndex.search (cosine + BM25 scaled to the best)
    dense        cosine alone (RetrievalConfig(use_bm25=False) ranks the same way)
    bm25         keywords alone (what serves the first question while embeddings run)
    hybrid-latin the hybrid, but the dense side embeds only the non-Hangul part of the question
    Every variant searches with the app's query: a Korean question gets English terms (query.py).
    """
    import numpy as np

    from chatbot.embeddings import load_embedder
    from chatbot.query import expand_query

    question = expand_query(question).text
    if variant == "hybrid":
        return index.search(question, k)
    if variant == "bm25":
        return index._search_keywords(question, k)
    query = latin_part(question) if variant == "hybrid-latin" else question
    vector = (
        load_embedder(index.embedder_path)
        .encode([query], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[
            0
        ]
        .astype(np.float32)
    )
    scores = index._vectors @ vector
    if variant == "hybrid-latin":
        keywords = index._keyword_scores(question)
        if keywords.max() > 0:
            scores = scores + index.cfg.keyword_weight * keywords / keywords.max()
    return index._best(scores, k)


VARIANTS = ("hybrid", "dense", "bm25", "hybrid-latin")


def evaluate_retrieval(
    jsonl: str,
    docs_dir: str,
    profile: str = "offline",
    split: str = "all",
    lang: str | None = None,
    variants=VARIANTS,
    verbose: bool = False,
) -> dict:
    from chatbot.ingest.documents import ingest_document
    from chatbot.profiles import embeddings_for_profile
    from chatbot.retrieval import DocumentIndex

    rows = [r for r in load_rows(jsonl, split) if lang is None or r.get("lang", "en") == lang]
    embedder = embeddings_for_profile(profile)
    indexes = {}
    per_row = []  # (row, {variant: (hit@1, hit@3)})
    for row in rows:
        if row["file"] not in indexes:
            index = DocumentIndex(embedder)
            index.add(ingest_document(str(Path(docs_dir) / row["file"])))
            index.embed()
            indexes[row["file"]] = index
        hits = {}
        for variant in variants:
            cites = [
                p.cite().strip("[]") for p in rank(indexes[row["file"]], row["question"], variant)
            ]
            hits[variant] = (
                any(unit_matches(row["page"], c) for c in cites[:1]),
                any(unit_matches(row["page"], c) for c in cites[:3]),
            )
        per_row.append((row, hits))
        marks = "".join("1" if h1 else "3" if h3 else "." for h1, h3 in hits.values())
        if verbose or "." in marks:
            print(
                f"{marks} {row['split']:8} {row.get('lang', 'en')} {row['file']} "
                f"{row['page']!s:.28}: {row['question'][:70]}"
            )
    groups: dict[str, list] = {"all": per_row}
    for row, hits in per_row:
        for key in (
            f"split={row['split']}",
            f"lang={row.get('lang', 'en')}",
            f"lang={row.get('lang', 'en')} split={row['split']}",
        ):
            groups.setdefault(key, []).append((row, hits))
    print(
        f"{Path(jsonl).name}: profile={profile} split={split} lang={lang or 'all'} "
        f"questions={len(rows)} (marks per question in order {', '.join(variants)}: "
        f"1 hit@1, 3 hit@3)"
    )
    print(f"  {'group':24} {'n':>3}  " + "  ".join(f"{v:>16}" for v in variants))
    result = {}
    for name, members in sorted(groups.items()):
        n = len(members)
        result[name] = {
            v: {
                "hit@1": sum(h[v][0] for _, h in members) / n,
                "hit@3": sum(h[v][1] for _, h in members) / n,
            }
            for v in variants
        }
        print(
            f"  {name:24} {n:>3}  "
            + "  ".join(
                f"{result[name][v]['hit@1']:.2f} / {result[name][v]['hit@3']:.2f}    "
                for v in variants
            )
        )
    print("  (each cell: hit@1 / hit@3)")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("jsonl")
    parser.add_argument("--docs", required=True, help="folder written by scripts/build_realdocs.py")
    parser.add_argument("--profile", default="offline", choices=["offline", "tiny", "hub"])
    parser.add_argument("--split", default="all", choices=["all", "tune", "held-out"])
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument(
        "--keep-history", action="store_true", help="ask a document's questions as one running chat"
    )
    parser.add_argument("--out", help="write one JSON line per question (reply included)")
    parser.add_argument("--limit", type=int, help="only the first N questions (a smoke run)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every reply")
    parser.add_argument(
        "--retrieval-only",
        action="store_true",
        help="no LLM: hit@1/hit@3 of the ranking variants (hybrid, dense, bm25, hybrid-latin)",
    )
    parser.add_argument("--lang", choices=["en", "ko"], help="only questions in this language")
    parser.add_argument(
        "--no-guard", action="store_true", help="the fence guard off: the model's raw replies"
    )
    args = parser.parse_args(argv)
    if args.retrieval_only:
        evaluate_retrieval(
            args.jsonl, args.docs, args.profile, args.split, args.lang, verbose=args.verbose
        )
        return
    evaluate(
        args.jsonl,
        args.docs,
        args.profile,
        args.split,
        args.max_new_tokens,
        args.keep_history,
        args.out,
        args.verbose,
        args.limit,
        guard=not args.no_guard,
        lang=args.lang,
    )


if __name__ == "__main__":
    main()
