"""Training for the vision boxes: CLIP/SigLIP fine-tuning and LLaVA's projector stages.

    losses.py       clip_loss (symmetric InfoNCE), siglip_loss (pairwise sigmoid), make_loss_head
    data.py         folder + captions.jsonl / qa.jsonl, checked (DataError); held-out split;
                    synthetic shapes
    loop.py         TrainSettings, TrainReport, the step loop with tqdm and resumable checkpoints
    contrastive.py  train_contrastive(data, model, out, settings): recall@1 before/after
    projector.py    train_projector(stage, data, model, out, settings): choice/token accuracy
                    before/after
Commands: scripts/train_clip.py, scripts/train_projector.py. Imports are light until a trainer runs.
"""

from __future__ import annotations

from .data import DataError, Pair, load_pairs, split_pairs, write_synthetic
from .loop import TrainReport, TrainSettings

__all__ = [
    "DataError",
    "Pair",
    "load_pairs",
    "split_pairs",
    "write_synthetic",
    "TrainReport",
    "TrainSettings",
]
