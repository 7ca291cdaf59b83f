"""Sentence embeddings (retrieval and the draw classifier share them); which model is the config's."""

from __future__ import annotations

import contextlib
import functools
import threading

# transformers imports its classes lazily, and two threads importing at once (the model loader and a
# document's background embeddings) once failed with "ImportError: AutoModelForImageTextToText":
# the heavy first imports of those two threads take turns.
IMPORT_LOCK = threading.Lock()

# A new document's background embedding gives way while a turn is answered: on 2 cores the two would
# slow each other down, and BM25 serves the questions meanwhile. It waits at most EMBED_YIELD_S per
# batch, so embedding always gets on.
LLM_IDLE = threading.Event()
LLM_IDLE.set()
EMBED_YIELD_S = 15.0


_busy = [0]  # turns in progress (LLM_IDLE is set when none is)
_busy_lock = threading.Lock()


@contextlib.contextmanager
def llm_busy():
    with _busy_lock:
        _busy[0] += 1
        LLM_IDLE.clear()
    try:
        yield
    finally:
        with _busy_lock:
            _busy[0] -= 1
            if not _busy[0]:
                LLM_IDLE.set()


def yield_to_llm() -> None:
    LLM_IDLE.wait(EMBED_YIELD_S)


@functools.lru_cache(maxsize=4)
def load_embedder(model: str, device: str = "cpu"):
    """A SentenceTransformer, loaded once per process (read-only, safe to share)."""
    with IMPORT_LOCK:  # see IMPORT_LOCK
        from sentence_transformers import SentenceTransformer
    return SentenceTransformer(model, device=device)
