"""Train the draw classifier on the labelled ko/en messages and save its weights.

    python -m scripts.train_draw_classifier --profile offline [--cv]

Fits a logistic regression on the profile's sentence embeddings, using the
training split of data/draw_requests.jsonl (the held-out split is kept for
`python -m scripts.eval_draw`), and writes chatbot/data/draw_classifier_<profile>.json
(coefficients + intercept + the embedder's name: a few kB, committed).
`--cv` prints 5-fold cross-validation on the training split over the L2 penalty
and the threshold: the defaults (L2 0.1, DRAW_THRESHOLD) were picked from it.
"""

from __future__ import annotations

import argparse
import time

from chatbot.config import DRAW_THRESHOLD
from chatbot.output_projector import (
    DATA_FILE,
    DrawClassifier,
    explicit_request,
    fit_logistic,
    load_dataset,
    split_dataset,
)
from chatbot.profiles import classifier_path, embeddings_for_profile

DEFAULT_L2 = 0.1
CV_FOLDS = 5


def train(
    profile: str,
    data: str = str(DATA_FILE),
    l2: float = DEFAULT_L2,
    threshold: float = DRAW_THRESHOLD,
) -> DrawClassifier:
    train_rows, held = split_dataset(load_dataset(data))
    clf = DrawClassifier.train(
        train_rows, embeddings_for_profile(profile), profile=profile, l2=l2, threshold=threshold
    )
    clf.meta["held_out_size"] = len(held)
    return clf


def cross_validate(
    profile: str,
    data: str = str(DATA_FILE),
    l2s=(0.03, 0.1, 0.3, 1.0),
    thresholds=(0.4, 0.5, 0.6, 0.7),
) -> None:
    """Print precision/recall of the classifier alone and of the app (rules first) per setting."""
    import numpy as np

    rows = split_dataset(load_dataset(data))[0]
    X = DrawClassifier([], 0.0, embeddings_for_profile(profile)).embed([r["text"] for r in rows])
    y = np.array([r["draw"] for r in rows], dtype=bool)
    rules = [explicit_request(r["text"]) for r in rows]
    fold = np.arange(len(rows)) % CV_FOLDS

    def pr(pred):
        tp, fp, fn = (pred & y).sum(), (pred & ~y).sum(), (~pred & y).sum()
        return f"{tp / max(tp + fp, 1):.2f}/{tp / max(tp + fn, 1):.2f}"

    print(f"{CV_FOLDS}-fold CV on {len(rows)} training messages: precision/recall")
    for l2 in l2s:
        p = np.zeros(len(rows))
        for k in range(CV_FOLDS):
            coef, b = fit_logistic(X[fold != k], y[fold != k], l2=l2)
            p[fold == k] = 1 / (1 + np.exp(-(X[fold == k] @ coef + b)))
        cells = []
        for t in thresholds:
            app = np.array([r if r is not None else q >= t for r, q in zip(rules, p)], dtype=bool)
            cells.append(f"t={t}: classifier {pr(p >= t)} app {pr(app)}")
        print(f"l2={l2:<5} " + " | ".join(cells))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="offline", choices=["offline", "tiny", "hub"])
    ap.add_argument("--data", default=str(DATA_FILE))
    ap.add_argument("--l2", type=float, default=DEFAULT_L2, help="L2 penalty on the coefficients")
    ap.add_argument("--threshold", type=float, default=DRAW_THRESHOLD)
    ap.add_argument(
        "--out", default=None, help="default: chatbot/data/draw_classifier_<profile>.json"
    )
    ap.add_argument(
        "--cv", action="store_true", help="print cross-validation figures, save nothing"
    )
    args = ap.parse_args(argv)
    if args.cv:
        return cross_validate(args.profile, args.data)
    t0 = time.perf_counter()
    clf = train(args.profile, args.data, args.l2, args.threshold)
    path = clf.save(args.out or classifier_path(args.profile))
    print(
        f"trained on {clf.meta['train_size']} messages ({clf.meta['held_out_size']} held out) "
        f"with {clf.embedder} (dim {clf.meta['dim']}) in {time.perf_counter() - t0:.1f} s -> {path}"
    )


if __name__ == "__main__":
    main()
