"""Fine-tune CLIP or SigLIP on a folder of captioned images (contrastive: InfoNCE or pairwise
sigmoid).

    python -m scripts.train_clip --data DIR --model openai/clip-vit-base-patch32 --out DIR \\
        --steps 500
    python -m scripts.train_clip --data /tmp/shapes --make-synthetic 200 --model tiny-clip \\
        --out /tmp/clip --steps 60 --lr 1e-3

DIR/captions.jsonl has one {"image": FILE, "caption": TEXT} per line. Prints the loss on a fixed
training batch and recall@1 on the held-out images (1 in 5) before and after; the trained model
(with its processor) goes to --out and loads as the app's vision model by path.
"""

from __future__ import annotations

import argparse

from chatbot.training.cli import add_train_arguments, prepare_inputs, settings_from
from chatbot.training.data import DataError


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_train_arguments(ap, lr=1e-5, batch_size=32, steps=100)
    args = ap.parse_args(argv)
    from chatbot.training.contrastive import train_contrastive

    try:
        report = train_contrastive(args.data, prepare_inputs(args), args.out, settings_from(args))
    except DataError as exc:
        raise SystemExit(f"error: {exc}") from None
    print(report.summary())


if __name__ == "__main__":
    main()
