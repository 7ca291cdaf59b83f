"""What every trainer shares: settings, device and bf16, deterministic batches, the step loop
with a progress bar, and resumable checkpoints.

Resuming gives the same run as not stopping: batches are drawn from (seed, step), not from
a running generator, and the checkpoint holds the trainable weights, the optimiser state and
the losses so far. Only trainable parameters are saved (a projector, LoRA adapters), so a
checkpoint of a 7B LLaVA's stage 1 is megabytes, not gigabytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..config import TRAIN_SAVE_EVERY, resolve_device

STATE_FILE = "training_state.pt"
REPORT_FILE = "train_report.json"


@dataclass
class TrainSettings:
    steps: int = 100
    batch_size: int = 16
    lr: float = 1e-4
    device: str = "auto"  # auto | cpu | cuda | mps
    bf16: bool | None = None  # None: on for CUDA GPUs that support it (autocast; weights stay fp32)
    save_every: int = TRAIN_SAVE_EVERY
    resume: bool = False  # continue from OUT/checkpoint/training_state.pt if it is there
    seed: int = 0
    eval_pairs: int = 64  # held-out pairs evaluated before and after
    progress: bool = True  # tqdm bar on stderr


@dataclass
class TrainReport:
    """What a run did, printed by the commands and saved as OUT/train_report.json."""

    task: str
    model: str
    out: str
    steps: int
    resumed_from: int
    train_pairs: int
    held_out_pairs: int
    losses: list[float] = field(default_factory=list)
    loss_before: float = 0.0  # on one fixed training batch, before and after training
    loss_after: float = 0.0
    eval_before: dict = field(default_factory=dict)
    eval_after: dict = field(default_factory=dict)
    seconds: float = 0.0
    pairs_per_s: float = 0.0
    device: str = "cpu"
    bf16: bool = False

    def save(self) -> Path:
        path = Path(self.out) / REPORT_FILE
        path.write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False))
        return path

    def summary(self) -> str:
        def fmt(d: dict) -> str:
            return ", ".join(
                f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in d.items()
            )

        return "\n".join(
            [
                f"{self.task}: {self.steps} steps ({self.resumed_from} resumed) "
                f"on {self.train_pairs} pairs, "
                f"{self.held_out_pairs} held out; {self.device}{' bf16' if self.bf16 else ''}",
                f"loss on a fixed training batch: {self.loss_before:.4f} -> {self.loss_after:.4f}",
                f"held out before: {fmt(self.eval_before)}",
                f"held out after:  {fmt(self.eval_after)}",
                f"{self.seconds:.1f} s, {self.pairs_per_s:.1f} pairs/s -> {self.out}",
            ]
        )


def pick_device(settings: TrainSettings) -> tuple[str, bool]:
    """(device, bf16). bf16 autocast only on CUDA GPUs that support it, unless told otherwise."""
    import torch

    device = resolve_device(settings.device)
    bf16 = settings.bf16
    if bf16 is None:
        bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    return device, bool(bf16 and device == "cuda")


def autocast(device: str, bf16: bool):
    import torch

    return (
        torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        if bf16
        else contextlib.nullcontext()
    )


def batch_indices(n: int, batch_size: int, step: int, seed: int) -> list[int]:
    """The step's batch: a function of (seed, step) only, so a resumed run sees the same batches."""
    rng = random.Random(f"{seed}:{step}")
    return rng.sample(range(n), min(batch_size, n))


def train_steps(
    params: dict,
    loss_at: Callable[[int], object],
    settings: TrainSettings,
    out: Path,
    device: str,
    bf16: bool,
    desc: str,
) -> tuple[list[float], int]:
    """Run steps [start, settings.steps) with AdamW over `params` (name -> Parameter).
    Returns (all losses, the step it resumed from). Saves a checkpoint every save_every
    steps and at the end."""
    import torch
    from tqdm.auto import tqdm

    opt = torch.optim.AdamW(list(params.values()), lr=settings.lr, weight_decay=0.0)
    start, losses = load_state(out, params, opt) if settings.resume else (0, [])
    bar = tqdm(
        range(start, settings.steps),
        initial=start,
        total=settings.steps,
        desc=desc,
        disable=not settings.progress,
        dynamic_ncols=True,
    )
    for step in bar:
        opt.zero_grad(set_to_none=True)
        with autocast(device, bf16):
            loss = loss_at(step)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
        if settings.save_every and (step + 1) % settings.save_every == 0:
            save_state(out, params, opt, step + 1, losses)
    if settings.steps > start:
        save_state(out, params, opt, settings.steps, losses)
    return losses, start


def checkpoint_path(out: Path) -> Path:
    return Path(out) / "checkpoint" / STATE_FILE


def save_state(out: Path, params: dict, opt, step: int, losses: list[float]) -> Path:
    """Trainable weights + optimiser + step + losses, written to a temporary file and renamed
    (a run killed while saving leaves the previous checkpoint intact)."""
    import torch

    path = checkpoint_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(
        {
            "step": step,
            "losses": losses,
            "optimizer": opt.state_dict(),
            "saved": time.time(),
            "params": {k: v.detach().cpu() for k, v in params.items()},
        },
        tmp,
    )
    os.replace(tmp, path)
    return path


def load_state(out: Path, params: dict, opt) -> tuple[int, list[float]]:
    """Restore a checkpoint into `params` and `opt`; (0, []) when there is none."""
    import torch

    path = checkpoint_path(out)
    if not path.exists():
        print(f"--resume: no checkpoint at {path}, starting at step 0")
        return 0, []
    state = torch.load(path, map_location="cpu", weights_only=True)
    missing = set(params) - set(state["params"])
    if missing:
        raise ValueError(f"{path} does not match this model: no weights for {sorted(missing)[:3]}")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(state["params"][name].to(p.device, p.dtype))
    opt.load_state_dict(state["optimizer"])
    print(f"resumed from {path} at step {state['step']}")
    return int(state["step"]), list(state["losses"])
