"""Sentence embeddings (retrieval and the draw classifier share them); which model is the config's."""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=4)
def load_embedder(model: str, device: str = "cpu"):
    """A SentenceTransformer, loaded once per process (read-only, safe to share)."""
    from sentence_transformers import SentenceTransformer
    return SentenceTransformer(model, device=device)
