"""Vision-language models through transformers: vision encoder -> input projector -> LLM.

Works for any AutoModelForImageTextToText whose processor expands one image
placeholder into image tokens (LLaVA family with CLIP/SigLIP + MLP projector,
Idefics3/SmolVLM). Each image goes through the encoder and projector once per
conversation; later turns reuse the projected features from the conversation's cache.
"""

from __future__ import annotations

import time

from ..config import MAX_IMAGE_SIDE_CPU, MAX_IMAGE_SIDE_GPU, ModelConfig
from ..ingest.images import pixels
from .base import ImageEncoding, LocalBackend, Progress, load_kwargs

_PIXEL_KEYS = ("pixel_values", "pixel_attention_mask", "image_sizes")


def bounded(image, max_side: int):
    """Downscale so the longer side is at most max_side (bounds the image token cost)."""
    if max(image.size) <= max_side:
        return image
    image = image.copy()
    image.thumbnail((max_side, max_side))
    return image


class TransformersVLM(LocalBackend):
    kind = "vlm"
    sees_images = True

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.name = cfg.model

    def load(self, progress: Progress = lambda s: None) -> None:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        kwargs, self.device = load_kwargs(self.cfg)
        progress(f"processor for {self.name}")
        self.processor = AutoProcessor.from_pretrained(self.name)
        self.tokenizer = self.processor.tokenizer
        progress(f"weights of {self.name} ({kwargs['dtype']}, {self.device})")
        model = AutoModelForImageTextToText.from_pretrained(self.name, **kwargs)
        self.model = (model if "device_map" in kwargs else model.to(self.device)).eval()
        self.image_token = self.processor.image_token
        self.image_token_id = self.tokenizer.convert_tokens_to_ids(self.image_token)
        gpu = self.device != "cpu"
        self.max_side = self.cfg.max_image_side or (
            MAX_IMAGE_SIDE_GPU if gpu else MAX_IMAGE_SIDE_CPU
        )
        # Idefics3 tiles big images into many crops: great on a GPU, too many tokens for a CPU.
        split = self.cfg.image_splitting if self.cfg.image_splitting is not None else gpu
        ip = self.processor.image_processor
        self.proc_kwargs = (
            {"do_image_splitting": split} if hasattr(ip, "do_image_splitting") else {}
        )
        parts = dict(self.model.model.named_children())
        self.encoder_name = next(
            (type(m).__name__ for n, m in parts.items() if "vision" in n), "vision encoder"
        )
        self.projector_name = next(
            (
                type(m).__name__
                for n, m in parts.items()
                if any(w in n for w in ("projector", "connector", "merger"))
            ),
            "projector",
        )
        self.llm_name = next(
            (
                type(m).__name__
                for n, m in parts.items()
                if any(w in n for w in ("language", "text"))
            ),
            type(self.model).__name__,
        )
        if self.device == "cpu" and self.cfg.engine == "int8":
            self.quantize_encoder(parts, progress)

    def quantize_encoder(self, parts: dict, progress: Progress) -> None:
        """PyTorch dynamic int8 Linear layers in the vision encoder and the input projector: the
        photo turn on CPU is mostly the encoder's arithmetic (bench/bench_photo.py), and int8
        features stay close to fp32's (bench/RESULTS.md). The LLM keeps its dtype: a photo prompt
        is short."""
        import torch

        progress("int8 vision encoder and projector (PyTorch dynamic quantization)")
        for name, module in parts.items():
            if any(w in name for w in ("vision", "projector", "connector", "merger")):
                torch.ao.quantization.quantize_dynamic(
                    module, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
                )

    def encode_images(self, images, cache: dict) -> list[ImageEncoding]:
        return [self._encode(a, cache) for a in images]

    def _encode(self, att, cache: dict) -> ImageEncoding:
        key = (self.name, att.sha256)
        if key in cache:
            enc = cache[key]
            return ImageEncoding(enc.sha256, enc.n_tokens, 0.0, True, enc.features, enc.expansion)
        import torch

        t = time.perf_counter()
        inputs = self.processor(
            text=self.image_token,
            images=[bounded(pixels(att), self.max_side)],
            add_special_tokens=False,
            return_tensors="pt",
            **self.proc_kwargs,
        )
        pix = {k: v.to(self.device) for k, v in inputs.items() if k in _PIXEL_KEYS}
        pix["pixel_values"] = pix["pixel_values"].to(self.model.dtype)
        with torch.inference_mode():
            out = self.model.get_image_features(**pix)  # vision encoder + projector
        feats = getattr(out, "pooler_output", out)
        feats = torch.cat(list(feats)) if isinstance(feats, (list, tuple)) else feats
        feats = feats.reshape(-1, feats.shape[-1])  # [n_image_tokens, hidden]
        expansion = inputs["input_ids"][0].tolist()
        n = expansion.count(self.image_token_id)
        if n != feats.shape[0]:
            raise RuntimeError(
                f"{self.name}: processor made {n} image tokens but the projector "
                f"returned {feats.shape[0]} features"
            )
        enc = ImageEncoding(att.sha256, n, time.perf_counter() - t, False, feats, expansion)
        cache[key] = enc
        return enc

    def prompt(self, messages, encodings):
        import torch

        text = self.processor.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        pieces = text.split(self.image_token)
        if len(pieces) != len(encodings) + 1:
            raise RuntimeError(
                f"prompt has {len(pieces) - 1} image slots for {len(encodings)} images"
            )
        ids: list[int] = []
        bos = self.tokenizer.bos_token
        if bos and getattr(self.tokenizer, "add_bos_token", False) and not text.startswith(bos):
            ids.append(self.tokenizer.bos_token_id)
        for i, piece in enumerate(pieces):
            ids += self.tokenizer(piece, add_special_tokens=False)["input_ids"]
            if i < len(encodings):
                ids += encodings[i].expansion
        if not encodings:
            return ids, None
        feats = torch.cat([e.features for e in encodings])  # [all image tokens, hidden]
        embed = self.model.get_input_embeddings()

        def embed_from(start: int):
            # embeddings for ids[start:] with projected image features in the image slots
            part = torch.tensor(ids[start:], device=self.device)
            emb = embed(part)
            mask = part == self.image_token_id
            if mask.any():
                before = ids[:start].count(self.image_token_id)
                emb[mask] = feats[before : before + int(mask.sum())].to(emb.device, emb.dtype)
            return emb[None]

        return ids, embed_from

    def describe(self) -> str:
        return f"{self.encoder_name} → {self.projector_name} → {self.llm_name} ({self.name})"
