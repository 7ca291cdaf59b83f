"""Sentence embeddings (retrieval and the draw classifier share them); which model is the config's."""
from __future__ import annotations

import functools
import threading

# transformers imports its classes lazily, and two threads importing at once (the model loader and a
# document's background embeddings) once failed with "ImportError: AutoModelForImageTextToText":
# the heavy first imports of those two threads take turns.
IMPORT_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def load_embedder(model: str, device: str = "cpu"):
    """A SentenceTransformer, loaded once per process (read-only, safe to share)."""
    with IMPORT_LOCK:   # see IMPORT_LOCK
        from sentence_transformers import SentenceTransformer
    return SentenceTransformer(model, device=device)
