"""The LLM box: one Backend interface, three ways to run it (chosen in profiles.build_config).

vlm.py      transformers image-text-to-text: vision encoder -> input projector -> LLM
text_lm.py  transformers causal LM, GGUF included (the offline profile)
llamacpp.py a GGUF text LM run by llama.cpp (--engine llama.cpp)
sidecar.py  a GGUF text LM served by llama-server, started by the app (--engine llama-server)
server.py   an OpenAI-compatible server (vLLM, TGI, llama.cpp server, Ollama)
"""

from __future__ import annotations

from ..config import ModelConfig
from .base import Backend


def create_backend(cfg: ModelConfig) -> Backend:
    if cfg.kind == "server":
        from .server import OpenAICompatible

        return OpenAICompatible(cfg)
    if cfg.kind == "text" and cfg.engine == "llama-server":
        from .sidecar import LlamaServerLM

        return LlamaServerLM(cfg)
    if cfg.kind == "text" and cfg.engine == "llama.cpp":
        from .llamacpp import LlamaCppLM

        return LlamaCppLM(cfg)
    if cfg.kind == "text":
        from .text_lm import TransformersLM

        return TransformersLM(cfg)
    from .vlm import TransformersVLM

    return TransformersVLM(cfg)
