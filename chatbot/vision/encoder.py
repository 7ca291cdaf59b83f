"""A CLIP or SigLIP dual encoder loaded by path or hub id: normalised text and image embeddings.

Both zero-shot labels and photo search read embeddings from here, so a photo embedded for
one is reused by the other: image embeddings go into the dict the caller passes (the
conversation's image_cache), keyed by (IMAGE_KEY_TAG, model, sha256); text embeddings of
label sets are kept on the model object because they do not depend on the conversation.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from ..config import VISION_EMBED_BATCH

IMAGE_KEY_TAG = "vision-embedding"  # keeps these apart from the VLM's (model, sha256) encodings


@dataclass
class Photo:
    """One photo to label or search: the caller's id (file name, attachment id), the image,
    and its content hash (computed from the pixels when not given)."""

    id: str
    image: object  # PIL.Image.Image, or a no-argument loader of one
    sha256: str = ""

    def __post_init__(self):
        if not self.sha256:
            self.sha256 = pixels_sha256(self.pixels())

    def pixels(self):
        """The image; a loader runs only here, so a photo whose embedding is cached is never
        read."""
        return self.image() if callable(self.image) else self.image


def pixels_sha256(image) -> str:
    """A content hash of the decoded pixels (mode, size, bytes): the same picture saved
    twice hashes alike, two different pictures never do."""
    h = hashlib.sha256(f"{image.mode}:{image.size}".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def image_key(model_name: str, sha256: str) -> tuple[str, str, str]:
    return (IMAGE_KEY_TAG, model_name, sha256)


@dataclass
class VisionModel:
    """A loaded dual encoder. `kind` is "clip" (scores compared by softmax over the candidates)
    or "siglip" (each candidate scored alone by a sigmoid), read from the checkpoint's config."""

    name: str
    model: object
    processor: object
    kind: str
    device: str = "cpu"
    text_cache: dict = field(default_factory=dict, repr=False)

    @property
    def scoring(self) -> str:
        return "sigmoid" if self.kind == "siglip" else "softmax"

    def scale_and_bias(self) -> tuple[float, float]:
        """exp(logit_scale) and the bias the checkpoint learned (CLIP has no bias: 0)."""
        scale = float(self.model.logit_scale.detach().float().exp())
        bias = getattr(self.model, "logit_bias", None)
        return scale, float(bias.detach().float()) if bias is not None else 0.0

    def text_kwargs(self) -> dict:
        """SigLIP was trained on texts padded to a fixed length and pools the last position,
        so its texts must be padded the same way; CLIP pools at the end-of-text token."""
        if self.kind == "siglip":
            tok = self.processor.tokenizer
            n = min(tok.model_max_length, self.model.config.text_config.max_position_embeddings)
            return {"padding": "max_length", "max_length": n, "truncation": True}
        return {"padding": True, "truncation": True}

    def embed_texts(self, texts: list[str]):
        """L2-normalised text embeddings, [len(texts), dim] float32 on the CPU."""
        import torch

        out = []
        for i in range(0, len(texts), VISION_EMBED_BATCH):
            inputs = self.processor.tokenizer(
                texts[i : i + VISION_EMBED_BATCH], return_tensors="pt", **self.text_kwargs()
            )
            inputs = {k: v.to(self.device) for k, v in inputs.items()}
            with torch.inference_mode():
                out.append(features(self.model.get_text_features(**inputs)))
        return normalise(torch.cat(out))

    def embed_images(self, images: list):
        """L2-normalised image embeddings, [len(images), dim] float32 on the CPU."""
        import torch

        out = []
        for i in range(0, len(images), VISION_EMBED_BATCH):
            batch = [im.convert("RGB") for im in images[i : i + VISION_EMBED_BATCH]]
            pix = self.processor.image_processor(images=batch, return_tensors="pt")["pixel_values"]
            with torch.inference_mode():
                out.append(
                    features(
                        self.model.get_image_features(
                            pixel_values=pix.to(self.device, self.model.dtype)
                        )
                    )
                )
        return normalise(torch.cat(out))

    def photo_embeddings(self, photos: list[Photo], cache: dict):
        """Embeddings of the photos, [n, dim]: from the cache where present, the rest computed
        in batches and stored. Returns (embeddings, how many were computed now)."""
        import torch

        missing = [
            p
            for p in dict((p.sha256, p) for p in photos).values()
            if image_key(self.name, p.sha256) not in cache
        ]
        if missing:
            for p, emb in zip(missing, self.embed_images([p.pixels() for p in missing])):
                cache[image_key(self.name, p.sha256)] = emb
        if not photos:
            return torch.zeros(0, 0), 0
        return torch.stack([cache[image_key(self.name, p.sha256)] for p in photos]), len(missing)

    def prompt_embeddings(self, labels: list[str], templates: tuple[str, ...]):
        """One embedding per label: the mean of its prompts' normalised embeddings ("a photo of
        a {}", ...), renormalised (CLIP's prompt ensembling). Kept per model, since label
        sets are embedded again for every photo otherwise."""
        import torch

        key = (tuple(labels), templates)
        if key not in self.text_cache:
            prompts = [t.format(label) for label in labels for t in templates]
            emb = self.embed_texts(prompts).reshape(len(labels), len(templates), -1).mean(1)
            if len(self.text_cache) > 64:
                self.text_cache.clear()
            self.text_cache[key] = normalise(emb)
        return torch.as_tensor(self.text_cache[key])


def features(out):
    """transformers 5 returns a ModelOutput whose pooler_output is the projected embedding;
    older versions return the tensor itself."""
    return getattr(out, "pooler_output", out).float().cpu()


def normalise(x):
    import torch

    return torch.nn.functional.normalize(x.float(), dim=-1)


def model_kind(config) -> str:
    """ "siglip" for SigLIP checkpoints (sigmoid scoring), else "clip"."""
    return "siglip" if str(getattr(config, "model_type", "")).startswith("siglip") else "clip"


@functools.lru_cache(maxsize=4)
def load_vision_model(name: str, device: str = "cpu") -> VisionModel:
    """Load a CLIP/SigLIP checkpoint once per process (hub id or local path, read-only after)."""
    from transformers import AutoModel, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(name)
    except ImportError as exc:  # SigLIP's SentencePiece tokenizer needs the sentencepiece package
        raise ImportError(
            f"the processor of {name} needs a package that is not installed: {exc}"
        ) from exc
    model = AutoModel.from_pretrained(name).to(device).eval()
    if not hasattr(model, "get_image_features") or not hasattr(model, "get_text_features"):
        raise ValueError(f"{name} is a {type(model).__name__}, not a CLIP/SigLIP dual encoder")
    return VisionModel(
        name=str(name),
        model=model,
        processor=processor,
        kind=model_kind(model.config),
        device=device,
    )
