"""A random tiny Stable Diffusion pipeline, saved in the hub layout.

`AutoPipelineForText2Image.from_pretrained(path)` loads it through exactly the
code path a real checkpoint (sd-turbo) takes, so the generator is tested without
a download. Random weights draw noise: assert on shapes, seeds and flow only.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..config import cache_dir

TEXT_MAX_TOKENS = 77  # CLIP's context length; the pipeline pads prompts to it


def build_clip_tokenizer():
    """A real CLIPTokenizer over the byte-level alphabet, with no merges.

    Every byte character appears twice (inside a word and at its end, "a" and
    "a</w>"), so any text tokenizes without unknowns. The end-of-text token
    matters: CLIP pools at EOS, and without it every prompt embeds the same.
    """
    from tokenizers import pre_tokenizers
    from transformers import CLIPTokenizer

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokens = ["<|startoftext|>", "<|endoftext|>"] + alphabet + [c + "</w>" for c in alphabet]
    vocab = {t: i for i, t in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=TEXT_MAX_TOKENS)


def build_tiny_sd(path: Path, channels: tuple[int, ...] = (32, 64), seed: int = 0) -> Path:
    """UNet + VAE + CLIP text encoder + DDIM, random, saved with save_pretrained.

    `channels` sets both the UNet and the VAE widths: (32, 64) is the test model
    (64x64 in 2 steps, cheap enough for every test); the benchmark passes wider
    channels so that timing noise does not dominate.
    """
    import torch
    from diffusers import (
        AutoencoderKL,
        DDIMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    n = len(channels)
    tok = build_clip_tokenizer()
    text_dim = 32
    unet = UNet2DConditionModel(
        sample_size=32,
        in_channels=4,
        out_channels=4,
        layers_per_block=1,
        block_out_channels=channels,
        norm_num_groups=min(32, channels[0]),
        down_block_types=("DownBlock2D",) + ("CrossAttnDownBlock2D",) * (n - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (n - 1) + ("UpBlock2D",),
        cross_attention_dim=text_dim,
        attention_head_dim=8,
    )
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=channels,
        down_block_types=("DownEncoderBlock2D",) * n,
        up_block_types=("UpDecoderBlock2D",) * n,
        layers_per_block=1,
        norm_num_groups=min(32, channels[0]),
        sample_size=64,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=len(tok),
            hidden_size=text_dim,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=TEXT_MAX_TOKENS,
            bos_token_id=tok.bos_token_id,
            eos_token_id=tok.eos_token_id,
            pad_token_id=tok.pad_token_id,
            projection_dim=text_dim,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text.eval(),
        tokenizer=tok,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(path)
    return Path(path)


def tiny_sd_path(root: Path | None = None, name: str = "tiny-sd", **build_kwargs) -> Path:
    """Build the tiny pipeline once under root (default: the app cache) and return its folder.

    Built in a temporary sibling and renamed into place, so two test processes
    starting together never load a half-written folder.
    """
    path = Path(root or cache_dir() / "tiny") / name
    if (path / "model_index.json").exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=path.parent))
    try:
        build_tiny_sd(tmp, **build_kwargs)
        try:
            os.replace(tmp, path)
        except OSError:  # another process finished first: keep theirs
            if not (path / "model_index.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
