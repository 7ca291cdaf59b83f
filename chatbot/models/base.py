"""What every LLM backend offers the pipeline, and the local (in-process) streaming shared by
them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

from .decoding import GenStats, PrefixCache, Sampling, stream_tokens

Progress = Callable[[str], None]


@dataclass
class ImageEncoding:
    """One image after the vision encoder and the input projector (or prepared for a server)."""

    sha256: str
    n_tokens: int  # LLM tokens this image costs
    seconds: float  # encoder + projector time (0 when served from the cache)
    cached: bool
    features: object = None  # [n_tokens, hidden] projected features (local VLM)
    expansion: list | None = None  # token ids that stand in for the image in the prompt
    data_url: str | None = None  # server backends send the picture itself


class Backend:
    """An LLM the pipeline can stream from. Subclasses fill in loading, images and prompts."""

    name = "?"  # model id or path, shown in the UI
    kind = "?"  # vlm | text | server
    sees_images = False  # False: photos are read by OCR and passed as text
    encoder_name: str | None = None
    projector_name: str | None = None

    def load(self, progress: Progress = lambda s: None) -> None: ...

    def encode_images(self, images, cache: dict) -> list[ImageEncoding]:
        return []

    def stream(
        self,
        messages: list[dict],
        encodings: list[ImageEncoding],
        *,
        key: str,
        sampling: Sampling,
        stop_event=None,
        stats: GenStats | None = None,
    ) -> Iterator[str]:
        raise NotImplementedError

    def complete(self, messages: list[dict], key: str, max_new_tokens: int = 128) -> str:
        """Whole reply at once for text-only OpenAI-style messages (the output projector's
        prompt writing uses it); `key` keeps its KV cache apart from the chat's."""
        parts = [
            {
                "role": m["role"],
                "content": [{"type": "text", "text": m["content"]}]
                if isinstance(m["content"], str)
                else m["content"],
            }
            for m in messages
        ]
        return "".join(
            self.stream(parts, [], key=key, sampling=Sampling(max_new_tokens=max_new_tokens))
        )

    def warm(self, system: str) -> None:
        """Prefill the system prompt conversations start with, before the first one needs it."""

    def forget(self, key: str) -> None:
        """Release per-conversation state (KV cache) when a conversation is cleared."""

    def describe(self) -> str:
        return self.name

    def process(self) -> dict | None:
        """The engine's own process, where it runs in one (the llama-server sidecar): pid, port,
        restarts, log. None for an engine inside this process or a remote server."""
        return None

    def close(self) -> None:
        """Stop what the backend started (the sidecar's process) when the app stops."""


def detokenize(tokenizer, token_ids: Iterator[int]) -> Iterator[str]:
    """Turn a token stream into text pieces; holds back half-written UTF-8 (Korean!) characters."""
    ids: list[int] = []
    sent = 0
    for tok in token_ids:
        ids.append(tok)
        text = tokenizer.decode(ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            continue
        if len(text) > sent:
            yield text[sent:]
            sent = len(text)


class LocalBackend(Backend):
    """transformers models run in this process: shared prompt-to-stream path."""

    tokenizer = None
    model = None

    def __init__(self):
        self.prefix = PrefixCache()

    def prompt(self, messages: list[dict], encodings: list[ImageEncoding]):
        """-> (token ids [T], embed_from or None)."""
        raise NotImplementedError

    def eos_ids(self) -> set[int]:
        ids = self.model.generation_config.eos_token_id
        ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
        for t in ("<|im_end|>", "<end_of_utterance>", "<|eot_id|>", "<|endoftext|>"):
            tid = self.tokenizer.convert_tokens_to_ids(t)
            if isinstance(tid, int) and tid != self.tokenizer.unk_token_id:
                ids.add(tid)
        ids.discard(None)
        return ids

    def stream(self, messages, encodings, *, key, sampling, stop_event=None, stats=None):
        ids, embed_from = self.prompt(messages, encodings)
        image = getattr(self, "image_token_id", None)
        shareable = ids.index(image) if image in ids else len(ids)  # text before the first photo
        tokens = stream_tokens(
            self.model,
            ids,
            embed_from,
            prefix=self.prefix,
            key=key,
            eos=self.eos_ids(),
            sampling=sampling,
            stop_event=stop_event,
            stats=stats,
            shareable=shareable,
        )
        yield from detokenize(self.tokenizer, tokens)

    def warm(self, system: str) -> None:
        """One token from the system prompt alone: its cache, kept like a conversation's, is where
        new conversations start (PrefixCache.shared)."""
        messages = [{"role": "system", "content": [{"type": "text", "text": system}]}]
        for _ in self.stream(
            messages, [], key="system-prompt", sampling=Sampling(max_new_tokens=1)
        ):
            pass

    def forget(self, key: str) -> None:
        self.prefix.drop(key)


def load_kwargs(cfg) -> tuple[dict, str]:
    """from_pretrained kwargs for a ModelConfig: device auto (cuda, mps, cpu), dtype auto,
    accelerate's device_map on CUDA, 4/8-bit through bitsandbytes when asked and possible."""
    import importlib.util

    from ..config import resolve_device, resolve_dtype

    device = resolve_device(cfg.device)
    kwargs: dict = {"dtype": resolve_dtype(cfg.dtype, device)}
    if device == "cuda":
        kwargs["device_map"] = "auto"
        if cfg.quantize:
            if importlib.util.find_spec("bitsandbytes") is None:
                raise RuntimeError(
                    f"--quantize {cfg.quantize} needs bitsandbytes (pip install bitsandbytes)"
                )
            from transformers import BitsAndBytesConfig

            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=cfg.quantize == "4bit",
                load_in_8bit=cfg.quantize == "8bit",
                bnb_4bit_compute_dtype=kwargs["dtype"],
            )
    elif cfg.quantize:
        raise RuntimeError(
            f"--quantize {cfg.quantize} needs a CUDA GPU; this machine runs on {device}"
        )
    return kwargs, device
