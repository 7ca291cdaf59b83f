"""The index of one conversation's documents: chunks, BM25, and dense vectors computed in the
background. Its threading contract is in DocumentIndex's docstring."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..config import RetrievalConfig
from . import packing
from .chunks import chunk_document
from .keywords import Keywords
from .passages import Passage, safe_name

if TYPE_CHECKING:
    from ..embeddings import TurnGate
    from ..ingest.documents import Document


class DocumentIndex:
    """Documents of one conversation: whole when they fit, retrieved chunks otherwise.

    How the pipeline calls it, so that the first answer does not wait for embeddings:

        index.add(doc)                 # chunks at once (BM25 is built by the first search)
        index.start_embedding()        # dense vectors in a background thread, once the
                                       # documents are too big to go whole into the context
        text, passages = index.context(question)   # never waits for that thread:
        index.last_mode                # "whole" | "bm25" | "hybrid" | "dense": what served it
        index.embedding_progress       # (chunks embedded, chunks): for the step's detail

    A document that is not complete (a long PDF's text layer, ingest_text_first) is read in
    full in another background thread ("document-parsing", giving way to the turns like the
    embedding) and takes the draft's place when done; until then the pages a question
    retrieves are read in full first (their tables), and nothing of it is embedded.

    Until the background thread is done, search() ranks by BM25 keywords alone ("bm25");
    after, by cosine + BM25 ("hybrid"). A question sharing no keyword with any chunk meanwhile
    ("What is this manual about?") gets the documents' opening chunks ("opening"): waiting
    for the vectors of a long PDF would keep it a minute. An index without BM25 waits for the
    embeddings ("dense"); from then on the background thread no longer gives way to the turn
    being answered (the gate), since that turn is what waits for it. Once started,
    embedding restarts by itself for documents added later. Without start_embedding()
    the old contract holds: search() embeds whatever is missing first, and `embed()`
    pays up front in the caller's thread, with progress. Documents that always fit whole
    never pay for embedding at all.
    """

    def __init__(
        self,
        embedder_path: str,
        cfg: RetrievalConfig = RetrievalConfig(),
        gate: TurnGate | None = None,
    ):
        self.embedder_path = embedder_path
        self.cfg = cfg
        self.use_bm25 = cfg.use_bm25
        self.gate = gate  # background batches wait while a turn is answered (embeddings.TurnGate)
        self.last_mode = ""  # what served the last context()/search(), see above
        self._documents: list[Document] = []
        self._counts: list[int] = []  # chunks per document, in order
        self._chunks: list[Passage] = []
        self._parsing: dict[str, threading.Thread] = {}  # sha256 -> its full read (drafts)
        self.reading_progress: dict[str, tuple[int, int]] = {}  # sha256 -> (pages, of pages)
        self._read_pages: dict[str, set[int]] = {}  # sha256 -> a draft's pages read in full
        self.parse_error: Exception | None = None  # a full read that failed: the draft stays
        self._vectors = np.zeros((0, 0), dtype=np.float32)  # (n_embedded, dim), unit rows
        self._bm25 = None
        self._lock = threading.Lock()  # documents, chunks, vectors and BM25 together
        self._embed_lock = threading.Lock()  # one embedder at a time (held while encoding)
        self._thread: threading.Thread | None = None
        self._background = False  # start_embedding() was called
        self.embedding_error: Exception | None = None  # what stopped the background thread
        # a search waits for the vectors (no keyword matched): the turn being answered needs
        # them, so the background thread stops giving way to it
        self._wanted = threading.Event()

    @property
    def documents(self) -> list[Document]:
        return list(self._documents)

    @property
    def chunks(self) -> list[Passage]:
        return list(self._chunks)

    @property
    def embedding_progress(self) -> tuple[int, int]:
        """(chunks embedded, chunks indexed)."""
        with self._lock:
            return len(self._vectors), len(self._chunks)

    @property
    def embedded(self) -> bool:
        done, total = self.embedding_progress
        return done == total

    def document_for(self, passage: Passage) -> Document | None:
        """The document a passage cites (passages carry the file name as shown to the model)."""
        return next((d for d in self._documents if safe_name(d.name) == passage.file), None)

    def add(self, doc: Document) -> bool:
        """Index a document; False if the same content is already indexed (a re-upload)."""
        with self._lock:
            if any(d.sha256 == doc.sha256 for d in self._documents):
                return False
            self._documents.append(doc)
            chunks = chunk_document(doc)
            self._chunks += chunks
            self._counts.append(len(chunks))
            self._bm25 = None
            if not doc.complete:
                self._parsing[doc.sha256] = thread = threading.Thread(
                    target=self._read_in_full, args=(doc,), name="document-parsing", daemon=True
                )
                thread.start()
        if self._background:
            self.start_embedding()
        return True

    @property
    def reading(self) -> bool:
        """Is a document still being read in full (its draft serving meanwhile)?"""
        return bool(self._parsing)

    def _read_in_full(self, draft: Document) -> None:
        """The background read of a draft: the whole Document replaces it, then embeds."""
        from ..ingest.documents import ingest_document

        def give_way(done: int, total: int) -> None:
            self.reading_progress[draft.sha256] = (done, total)
            if self.gate is not None and not self._wanted.is_set():
                self.gate.wait_quiet(self._wanted)  # the turn being answered goes first

        give_way(0, len(draft.pages))  # before the file's checks, which read every page
        try:
            full = ingest_document(draft.path, draft.name, give_way)
        except Exception as e:  # the text layer, and the pages read for questions, go on serving
            self.parse_error = e
            with self._lock:
                full = next(d for d in self._documents if d.sha256 == draft.sha256)
            full = replace(full, complete=True)
        self._replace(replace(full, name=draft.name, path=draft.path))
        if self._background:
            self.start_embedding()

    def _replace(self, doc: Document) -> None:
        """Put doc where the document with its content was; its chunks follow (the vectors
        before them stay: nothing after a draft's first chunk is ever embedded)."""
        with self._lock:
            i = next(n for n, d in enumerate(self._documents) if d.sha256 == doc.sha256)
            chunks = chunk_document(doc)
            start = sum(self._counts[:i])
            self._chunks[start : start + self._counts[i]] = chunks
            self._documents[i], self._counts[i] = doc, len(chunks)
            self._vectors = self._vectors[:start]
            self._bm25 = None
            if doc.complete:
                self._parsing.pop(doc.sha256, None)

    def _embeddable(self) -> int:
        """How many chunks, from the first, may be embedded: those before a draft's."""
        end = 0
        for doc, count in zip(self._documents, self._counts):
            if doc.sha256 in self._parsing:
                break
            end += count
        return end

    def _pages_in_full(self, passages: list[Passage]) -> bool:
        """Read in full the draft pages these passages come from (their tables, OCR), in
        place of their text layer; True if any was."""
        from ..ingest.pdf import read_pdf_pages

        changed = False
        for doc in self.documents:
            done = self._read_pages.setdefault(doc.sha256, set())
            wanted = {p.page for p in passages if self.document_for(p) is doc} - done
            if doc.complete or not wanted:
                continue
            read = read_pdf_pages(doc.path, sorted(wanted))
            done |= wanted
            with self._lock:
                if not any(d is doc for d in self._documents):
                    continue  # the full read took its place meanwhile
            self._replace(replace(doc, pages=[read.get(p.number, p) for p in doc.pages]))
            changed = True
        return changed

    def start_embedding(self) -> threading.Thread | None:
        """Embed the missing chunks in a daemon thread; the thread, or None if none is needed:
        all embedded, a thread already at work (it picks up new chunks itself), or documents
        small enough to go whole into the context (a later add() starts it when they grow)."""
        self._background = True
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return None
            if (
                len(self._vectors) >= self._embeddable()  # the rest waits for a full read
                or sum(d.n_chars for d in self._documents) <= self.cfg.whole_document_chars
            ):
                return None
            self._thread = threading.Thread(
                target=self._embed_in_background, name="document-embedding", daemon=True
            )
            self._thread.start()
            return self._thread

    def wait_embedded(self, timeout: float | None = None) -> bool:
        """Block until the background reading and embedding are done; True if every chunk is
        embedded."""
        for reading in list(self._parsing.values()):
            reading.join(timeout)
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.embedded

    def _embed_in_background(self) -> None:
        try:
            self.embed(background=True)
        except Exception as e:  # searches go on with BM25; the pipeline may show this
            self.embedding_error = e

    def embed(
        self, progress: Callable[[int, int], None] | None = None, background: bool = False
    ) -> None:
        """Embed the chunks not embedded yet, in this thread (waits for a running one)."""
        with self._embed_lock:
            with self._lock:
                start = len(self._vectors)
                todo = self._chunks[start : self._embeddable()]
            if not todo:
                return
            from ..embeddings import load_embedder

            model = load_embedder(self.embedder_path)
            for offset in range(0, len(todo), self.cfg.embed_batch):
                if background and self.gate is not None and not self._wanted.is_set():
                    self.gate.wait_quiet(self._wanted)  # the turn being answered goes first
                batch = [c.text for c in todo[offset : offset + self.cfg.embed_batch]]
                vectors = model.encode(
                    batch,
                    batch_size=self.cfg.embed_batch,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                ).astype(np.float32)
                with self._lock:  # rows always match a prefix of the chunks
                    self._vectors = (
                        vectors if start + offset == 0 else np.vstack([self._vectors, vectors])
                    )
                if progress:
                    progress(min(offset + self.cfg.embed_batch, len(todo)), len(todo))
        with self._lock:
            more = len(self._vectors) < self._embeddable()
        if more:  # chunks added, or a document read in full, meanwhile
            self.embed(progress, background)

    def search(self, question: str, k: int | None = None) -> list[Passage]:
        """The k best chunks for the question, best first (self.last_mode says how)."""
        k = self.cfg.top_k if k is None else k
        if not self._chunks:
            return []
        if not self.embedded and self.use_bm25 and self._background:
            found = self._search_keywords(question, k)
            self.last_mode = "bm25" if found else "opening"
            return found or self._openings(k)
        if not self.embedded:
            self._wanted.set()  # the turn needs the vectors: reading and embedding go first
            for reading in list(self._parsing.values()):
                reading.join()
        self.embed()
        from ..embeddings import load_embedder

        query = (
            load_embedder(self.embedder_path)
            .encode(
                [question],
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )[0]
            .astype(np.float32)
        )
        with self._lock:  # an add() meanwhile must not leave chunks, vectors and BM25 apart
            n = len(self._vectors)
            dense = self._vectors @ query  # (n,) cosine
            scores, self.last_mode = dense, "dense"
            if self.use_bm25:
                keywords = self._keyword_scores(question)[:n]
                if keywords.max() > 0:  # no shared word at all: dense alone
                    scores = dense + self.cfg.keyword_weight * keywords / keywords.max()
                    self.last_mode = "hybrid"
            return self._best(scores, k)

    def _openings(self, k: int) -> list[Passage]:
        """The documents' first chunks, taking turns (title, abstract, contents: where a document
        says what it is about), best first."""
        with self._lock:
            starts = [sum(self._counts[:i]) for i in range(len(self._counts))]
            order = [
                start + n
                for n in range(max(self._counts, default=0))
                for start, count in zip(starts, self._counts)
                if n < count
            ][:k]
            scores = np.zeros(len(self._chunks), dtype=np.float32)
            scores[order] = np.linspace(1.0, 0.5, num=len(order), dtype=np.float32)
            return self._best(scores, len(order))

    def _search_keywords(self, question: str, k: int) -> list[Passage]:
        """BM25 alone over every chunk (scores scaled to the best, 1.0); [] if no word matches."""
        with self._lock:
            keywords = self._keyword_scores(question)
            if keywords.max() <= 0:
                return []
            return self._best(keywords / keywords.max(), k)

    def _best(self, scores: np.ndarray, k: int) -> list[Passage]:
        best = np.argsort(-scores, kind="stable")[:k]
        several = len(self._documents) > 1
        return [replace(self._chunks[i], score=float(scores[i]), show_file=several) for i in best]

    def _keyword_scores(self, question: str) -> np.ndarray:
        if self._bm25 is None:
            self._bm25 = Keywords([c.text for c in self._chunks])
        return self._bm25.scores(question)

    def context(self, question: str, budget_chars: int | None = None) -> tuple[str, list[Passage]]:
        """Fenced, citation-tagged document text for the prompt, and the passages in it.

        All documents whole when they fit in budget_chars (the config's whole_document_chars);
        otherwise the top_k chunks and their pages' tables (packing.py), as many as fit (at
        least one, cut).
        """
        budget = self.cfg.whole_document_chars if budget_chars is None else budget_chars
        if not self._documents:
            return "", []
        whole = packing.whole(self.documents, budget)
        if whole is not None:
            self.last_mode = "whole"
            return whole
        ranked = self.search(question, len(self._chunks))
        if self._pages_in_full(ranked[: self.cfg.top_k]):  # a draft's pages, tables now read
            ranked = self.search(question, len(self._chunks))
        return packing.fit(packing.with_page_tables(ranked, self.cfg.top_k), budget)
