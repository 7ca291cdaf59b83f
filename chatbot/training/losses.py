"""Contrastive losses for image-text pairs: CLIP's symmetric InfoNCE and SigLIP's pairwise sigmoid.

CLIP (Radford et al. 2021): in a batch of N pairs, image i must pick text i among N texts
and text i image i among N images: the mean of the two cross-entropies over cosine
similarities times 1/temperature. 1/temperature is learned as a log and clamped to
CLIP_MAX_LOGIT_SCALE (100), as CLIP does, so training cannot sharpen it without bound.

SigLIP (Zhai et al. 2023): every (image, text) pair of the batch is its own binary
question, "do these match?", with a learned temperature t and bias b:
    loss = -1/N * sum_i sum_j log sigmoid(z_ij * (t * x_i . y_j + b)),  z_ij = 1 if i == j else -1.
No softmax over the batch, so the loss needs no all-gather and scores read alone. The
bias starts at -10 because nearly all N^2 pairs are negatives.
"""

from __future__ import annotations

import math

from ..config import CLIP_MAX_LOGIT_SCALE, SIGLIP_INIT_BIAS, SIGLIP_INIT_LOG_SCALE

CLIP_INIT_LOG_SCALE = math.log(1 / 0.07)  # CLIP's initial temperature 0.07


def clip_loss(image_emb, text_emb, log_scale):
    """Symmetric InfoNCE. image_emb, text_emb: [N, d] (normalised here); log_scale: log(1/tau),
    a scalar tensor, clamped so that 1/tau <= CLIP_MAX_LOGIT_SCALE."""
    import torch
    import torch.nn.functional as F

    img, txt = F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1)
    scale = log_scale.clamp(max=math.log(CLIP_MAX_LOGIT_SCALE)).exp()
    logits = scale * img @ txt.T  # [N images, N texts]
    target = torch.arange(len(img), device=img.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def siglip_loss(image_emb, text_emb, log_scale, bias):
    """Pairwise sigmoid loss, summed over the N x N pairs and divided by N (the paper's form)."""
    import torch
    import torch.nn.functional as F

    img, txt = F.normalize(image_emb, dim=-1), F.normalize(text_emb, dim=-1)
    logits = log_scale.exp() * img @ txt.T + bias
    z = (
        2 * torch.eye(len(img), device=img.device, dtype=logits.dtype) - 1
    )  # +1 diagonal, -1 elsewhere
    return -F.logsigmoid(z * logits).sum() / len(img)


def make_loss_head(kind: str):
    """A module holding the learnable temperature (and SigLIP's bias) for models without their
    own."""
    import torch

    class LossHead(torch.nn.Module):
        """CLIP: log(1/tau) starts at log(1/0.07). SigLIP: log t = ln 10, b = -10 (the papers'
        starts)."""

        def __init__(self):
            super().__init__()
            self.kind = kind
            start = SIGLIP_INIT_LOG_SCALE if kind == "siglip" else CLIP_INIT_LOG_SCALE
            self.log_scale = torch.nn.Parameter(torch.tensor(float(start)))
            self.bias = (
                torch.nn.Parameter(torch.tensor(SIGLIP_INIT_BIAS)) if kind == "siglip" else None
            )

        def forward(self, image_emb, text_emb):
            if self.kind == "siglip":
                return siglip_loss(image_emb, text_emb, self.log_scale, self.bias)
            return clip_loss(image_emb, text_emb, self.log_scale)

    if kind not in ("clip", "siglip"):
        raise ValueError(f"unknown loss kind {kind!r}: clip or siglip")
    return LossHead()


def model_loss(model, kind: str, image_emb, text_emb):
    """The loss with the checkpoint's own learned temperature (and bias), so that what is
    trained is what labels.py later reads from the saved model."""
    scale = model.logit_scale.reshape(())
    if kind == "siglip":
        return siglip_loss(image_emb, text_emb, scale, model.logit_bias.reshape(()))
    return clip_loss(image_emb, text_emb, scale)
