"""Precision, recall and F1 of the draw decision as the app makes it (rules + classifier).

    python -m scripts.eval_draw data/draw_requests.jsonl --profile offline --split held-out

The classifier is the committed one for the profile (chatbot/data/draw_classifier_<profile>.json);
when there is none (e.g. the tiny profile) it is trained on the fly on the training split.
Also prints each stage alone, so a change to the rules or the classifier shows where it helps.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from chatbot.output_projector import (
    DrawClassifier,
    decide,
    explicit_request,
    load_dataset,
    split_dataset,
)
from chatbot.profiles import load_classifier


@dataclass
class Scores:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def line(self, name: str) -> str:
        n = self.tp + self.fp + self.fn + self.tn
        return (
            f"{name:<22} precision {self.precision:.3f}  recall {self.recall:.3f}  "
            f"F1 {self.f1:.3f}  (n={n}, tp={self.tp} fp={self.fp} fn={self.fn} tn={self.tn})"
        )


def classifier_for(profile: str, data: str) -> DrawClassifier:
    clf = load_classifier(profile)
    if clf is None:
        from scripts.train_draw_classifier import train

        clf = train(profile, data)
    return clf


def evaluate(rows: list[dict], clf: DrawClassifier) -> dict[str, Scores]:
    """Scores for: the app's decision, the rules alone, the classifier alone, per language."""
    out = {
        k: Scores() for k in ("app", "rules only", "classifier only", "app: English", "app: Korean")
    }
    probs = clf.probabilities([r["text"] for r in rows]) if rows else []
    for r, p in zip(rows, probs):
        d = decide(r["text"], classifier=clf)
        out["app"].add(d.draw, r["draw"])
        out["rules only"].add(bool(explicit_request(r["text"])), r["draw"])
        out["classifier only"].add(p >= clf.threshold, r["draw"])
        korean = any("\uac00" <= c <= "\ud7a3" for c in r["text"])
        out["app: Korean" if korean else "app: English"].add(d.draw, r["draw"])
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", help='JSONL lines {"text": ..., "draw": true|false}')
    ap.add_argument("--profile", default="offline", choices=["offline", "tiny", "hub"])
    ap.add_argument(
        "--split",
        default="all",
        choices=["all", "held-out", "train"],
        help="which part of the file to score (the split is by a hash of the text)",
    )
    ap.add_argument("--errors", action="store_true", help="print the messages the app gets wrong")
    args = ap.parse_args(argv)

    rows = load_dataset(args.file)
    if args.split != "all":
        rows = split_dataset(rows)[0 if args.split == "train" else 1]
    clf = classifier_for(args.profile, args.file)
    name = "/".join(clf.embedder.split("/")[-2:])
    print(f"{len(rows)} messages ({args.split}), classifier on {name}, threshold {clf.threshold}")
    for name, s in evaluate(rows, clf).items():
        print(s.line(name))
    if args.errors:
        for r in rows:
            d = decide(r["text"], classifier=clf)
            if d.draw != r["draw"]:
                print(
                    json.dumps(
                        {
                            "text": r["text"],
                            "draw": r["draw"],
                            "source": d.source,
                            "score": round(d.score, 3),
                        },
                        ensure_ascii=False,
                    )
                )


if __name__ == "__main__":
    main()
