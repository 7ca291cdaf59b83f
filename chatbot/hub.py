"""What this machine can reach: the Hugging Face Hub (a model there, or in the local cache) and
a GPU. The resolver (profiles.py) asks once, at start; the loader asks again for the LLM, to
say clearly why it cannot load."""

from __future__ import annotations

import os
import socket
from pathlib import Path

HUB_CHECK_TIMEOUT_S = 5


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
        return (
            False,
            f"huggingface.co is unreachable ({type(exc).__name__}) and {model} is not cached",
        )


def check_hub_model(model: str) -> str | None:
    """Before loading a hub id: None if it can be loaded, else what is wrong and what to do, in a
    few seconds (huggingface_hub would otherwise retry every file for minutes)."""
    if Path(model).exists():
        return None
    ok, why = hub_status(model)
    if not ok:
        return (
            f"{model} cannot be loaded: {why}. Start with --profile offline, or fill the cache "
            "where the Hub is reachable and set HF_HUB_OFFLINE=1."
        )
    if "reachable" in why:
        try:
            from huggingface_hub import model_info

            model_info(model, timeout=HUB_CHECK_TIMEOUT_S)
        except Exception as exc:  # 404 (a typo), 401 (gated), or a timeout
            return (
                f"{model} is not available on the Hugging Face Hub ({type(exc).__name__}): "
                "check --model."
            )
    return None


def gpu_present() -> bool:
    """An NVIDIA driver is present: pick the GPU-sized defaults. Checked without importing
    torch (slow to import) so the page is served sooner; the loader still picks the real device."""
    return Path("/proc/driver/nvidia/version").exists() or bool(
        os.environ.get("CUDA_VISIBLE_DEVICES")
    )


def is_text_only(model: str) -> bool:
    try:
        from transformers import AutoConfig

        return not hasattr(AutoConfig.from_pretrained(model), "vision_config")
    except Exception:
        return False  # unknown: let the VLM loader report the real problem
