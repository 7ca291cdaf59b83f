"""Sentence embeddings (retrieval and the draw classifier share them; which model is the
config's), and the gate that keeps background embedding out of the way of a turn."""

from __future__ import annotations

import contextlib
import functools
import threading
import time

# transformers imports its classes lazily, and two threads importing at once (the model loader and a
# document's background embeddings) once failed with "ImportError: AutoModelForImageTextToText":
# the heavy first imports of those two threads take turns.
IMPORT_LOCK = threading.Lock()

EMBED_YIELD_S = 15.0  # the longest a background batch waits for the turns being answered
WAKE_POLL_S = 0.05  # how often a waiting batch checks whether it is wanted after all


class TurnGate:
    """Counts the turns being answered. A new document's background embedding gives way while
    any is (on a small CPU the two would slow each other down, and BM25 serves the questions
    meanwhile), waiting at most yield_s per batch so that embedding always gets on.

    The pipeline holds one and answers each turn inside `answering()`; every DocumentIndex it
    creates waits on it with `wait_quiet()` between batches."""

    def __init__(self, yield_s: float = EMBED_YIELD_S):
        self.yield_s = yield_s
        self._quiet = threading.Event()
        self._quiet.set()
        self._turns = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def answering(self):
        with self._lock:
            self._turns += 1
            self._quiet.clear()
        try:
            yield
        finally:
            with self._lock:
                self._turns -= 1
                if not self._turns:
                    self._quiet.set()

    def wait_quiet(self, wake: threading.Event | None = None) -> bool:
        """Wait until no turn is being answered (at most yield_s), or until `wake` is set (the
        turn itself needs the work that gives way); True if no turn is."""
        deadline = time.monotonic() + self.yield_s
        while not self._quiet.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or (wake is not None and wake.is_set()):
                return False
            self._quiet.wait(min(left, WAKE_POLL_S))
        return True


@functools.lru_cache(maxsize=4)
def load_embedder(model: str, device: str = "cpu"):
    """A SentenceTransformer, loaded once per process (read-only, safe to share)."""
    with IMPORT_LOCK:  # see IMPORT_LOCK
        from sentence_transformers import SentenceTransformer
    return SentenceTransformer(model, device=device)
