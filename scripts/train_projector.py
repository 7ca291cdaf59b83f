"""Train a LLaVA-style VLM's input projector: stage 1 on captions, stage 2 on questions with LoRA.

    python -m scripts.train_projector --stage 1 --data DIR --model PATH --out DIR --steps N
    python -m scripts.train_projector --stage 2 --data DIR --model STAGE1_OUT --out DIR --steps N
    python -m scripts.train_projector --stage 1 --data /tmp/shapes --make-synthetic 200 \\
        --model tiny-llava --out /tmp/stage1 --steps 40 --lr 1e-2

Stage 1 freezes the vision encoder and the LLM and trains the multi_modal_projector on
DIR/captions.jsonl, with the loss on caption tokens only. Stage 2 trains the projector and
LoRA adapters on the LLM from DIR/qa.jsonl ({"image", "question", "answer"}) and merges them.
Prints caption (or answer) choice accuracy and token accuracy on the held-out pairs before and
after. --out is a plain checkpoint: `python app.py --profile hub --model OUT` serves it.
"""

from __future__ import annotations

import argparse

from chatbot.training.cli import add_train_arguments, prepare_inputs, settings_from
from chatbot.training.data import DataError

STAGE_LR = {1: 1e-3, 2: 2e-4}  # LLaVA's stage-1 rate; a LoRA rate for stage 2


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", type=int, choices=(1, 2), required=True)
    ap.add_argument("--lora-r", type=int, default=8, help="stage 2: LoRA rank")
    ap.add_argument("--lora-alpha", type=int, default=16, help="stage 2: LoRA alpha")
    add_train_arguments(ap, lr=0.0, batch_size=16, steps=100)
    args = ap.parse_args(argv)
    args.lr = args.lr or STAGE_LR[args.stage]
    from chatbot.training.projector import train_projector

    try:
        report = train_projector(
            args.stage,
            args.data,
            prepare_inputs(args),
            args.out,
            settings_from(args),
            lora_r=args.lora_r,
            lora_alpha=args.lora_alpha,
        )
    except DataError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(report.summary())


if __name__ == "__main__":
    main()
