"""The command-line options the training commands share, and what they turn into."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import TRAIN_SAVE_EVERY
from .loop import TrainSettings

TINY_MODELS = ("tiny-clip", "tiny-siglip", "tiny-llava")


def add_train_arguments(
    ap: argparse.ArgumentParser, lr: float, batch_size: int, steps: int
) -> None:
    ap.add_argument(
        "--data", required=True, help="folder with captions.jsonl (and qa.jsonl) and the images"
    )
    ap.add_argument(
        "--model", required=True, help=f"hub id or local folder; or one of {', '.join(TINY_MODELS)}"
    )
    ap.add_argument(
        "--out",
        required=True,
        help="folder for the trained model, checkpoints and train_report.json",
    )
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--batch-size", type=int, default=batch_size)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument(
        "--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda, mps"
    )
    ap.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on for CUDA GPUs that support it)",
    )
    ap.add_argument(
        "--save-every", type=int, default=TRAIN_SAVE_EVERY, help="steps between checkpoints"
    )
    ap.add_argument(
        "--resume", action="store_true", help="continue from OUT/checkpoint if there is one"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--eval-pairs", type=int, default=64, help="held-out pairs evaluated before and after"
    )
    ap.add_argument(
        "--make-synthetic",
        type=int,
        metavar="N",
        default=0,
        help="first write N synthetic shape images with en/ko captions into --data",
    )
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")


def settings_from(args) -> TrainSettings:
    return TrainSettings(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        device=args.device,
        bf16=args.bf16,
        save_every=args.save_every,
        resume=args.resume,
        seed=args.seed,
        eval_pairs=args.eval_pairs,
        progress=not args.no_progress,
    )


def prepare_inputs(args) -> str:
    """Write the synthetic set if asked, and build a tiny model if named; the model's path or id."""
    if args.make_synthetic:
        from .data import write_synthetic

        write_synthetic(args.data, n=args.make_synthetic, seed=args.seed)
        print(f"wrote {args.make_synthetic} synthetic images with captions to {args.data}")
    if args.model in TINY_MODELS:
        from ..models.tiny import tiny_model_path

        return str(tiny_model_path(args.model))
    return args.model if not Path(args.model).exists() else str(Path(args.model))
